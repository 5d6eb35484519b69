"""The sandbox's interpreter: this one by default, or another (a venv with pinned libraries)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from _support import require_backend

from acesandbox import Executor, Job, SandboxConfig, SandboxUnavailableError, Status

PROBE = "import sys\ntry:\n    import numpy\n    HAS_NUMPY = True\nexcept ImportError:\n    HAS_NUMPY = False\n"


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory):
    """A venv with no packages (numpy, installed here, must not be importable from it)."""
    path = tmp_path_factory.mktemp("venv") / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path / "bin" / "python"


def test_another_interpreter_sees_only_its_own_packages(bare_venv):
    require_backend("namespace")
    pytest.importorskip("numpy")
    with Executor(SandboxConfig(backend="namespace", workers=1, python=str(bare_venv))) as ex:
        assert ex.run(Job(PROBE, ["assert HAS_NUMPY is False"])).statuses == (Status.PASSED,)
    with Executor(SandboxConfig(backend="namespace", workers=1)) as ex:
        assert ex.run(Job(PROBE, ["assert HAS_NUMPY is True"])).statuses == (Status.PASSED,)


def test_a_missing_interpreter_is_a_clear_error(tmp_path):
    require_backend("namespace")
    with pytest.raises(SandboxUnavailableError, match="sandbox's interpreter"):
        with Executor(SandboxConfig(backend="namespace", workers=1, python=str(tmp_path / "nope" / "python"))) as ex:
            ex.run(Job("x = 1", ["assert x == 1"]))


def test_localhost_resolves_but_host_names_do_not_leak(executor):
    if executor.backend.name == "process":
        pytest.skip("the process backend shares the host's /etc")
    program = "import socket\nLOCAL = socket.gethostbyname('localhost')\nHOSTS = open('/etc/hosts').read()\n"
    names = {"127.0.0.1", "::1", "127.0.1.1", "localhost", "ip6-localhost", "ip6-loopback", "sandbox"}
    report = executor.run(Job(program, ["assert LOCAL == '127.0.0.1'", f"assert set(HOSTS.split()) <= {names!r}"]))
    assert report.statuses == (Status.PASSED, Status.PASSED), [o.message for o in report.outcomes]


SUBPROCESS_PYTHON = (
    "import subprocess, sys\n"
    "def child_prefix():\n"
    "    out = subprocess.run(['python', '-c', 'import sys; print(sys.prefix)'], capture_output=True, text=True)\n"
    "    return out.stdout.strip()\n"
)


@pytest.mark.parametrize("backend", ["namespace", "process"])
def test_python_on_path_is_the_sandboxed_interpreter(backend, bare_venv):
    # `subprocess.run(['python', ...])` (BigCodeBench/1101) finds the interpreter the program
    # runs under, with its packages: the host's venv by default, or the one asked for.
    require_backend(backend)
    for python in (None, str(bare_venv)):
        with Executor(SandboxConfig(backend=backend, workers=1, max_processes=16, python=python)) as ex:
            expected = str(bare_venv.parent.parent) if python else sys.prefix
            report = ex.run(Job(SUBPROCESS_PYTHON, [f"assert child_prefix() == {expected!r}"]))
            assert report.statuses == (Status.PASSED,), [o.message for o in report.outcomes]
