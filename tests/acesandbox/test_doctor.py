"""``acecoder doctor``'s view of the sandbox, and the interpreter's packages wherever they live.

A venv under /tmp used to lose its site-packages in the namespace sandbox (its private
/tmp hid them), so every program importing from it was scored ``error``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from _support import require_backend
from acesandbox import Executor, Job, SandboxConfig, Status
from acesandbox.cli import doctor


@pytest.fixture(scope="module")
def tmp_venv(tmp_path_factory):
    """A venv under /tmp holding one tiny package that nothing else has."""
    root = tmp_path_factory.mktemp("venv-under-tmp")
    assert str(root).startswith("/tmp/"), root
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()
    pkg = os.path.join(site, "hf_tinypkg")
    os.makedirs(pkg)
    with open(os.path.join(pkg, "__init__.py"), "w") as f:
        f.write("ANSWER = 42\n")
    return str(python), site


def test_venv_under_tmp_keeps_its_packages(tmp_venv):
    require_backend("namespace")
    python, site = tmp_venv
    program = textwrap.dedent(
        """
        import hf_tinypkg, os, sys
        def answer():
            return hf_tinypkg.ANSWER
        def where():
            return hf_tinypkg.__file__
        def scratch_is_private():
            return not os.path.exists(os.path.join(os.path.dirname(sys.prefix), "..", "host-marker"))
        """
    )
    with Executor(SandboxConfig(backend="namespace", workers=1, python=python)) as ex:
        report = ex.run(
            Job(
                program=program,
                tests=[
                    "assert answer() == 42",
                    f"assert where().startswith({site!r})",
                    # The scratch still works, and is wiped between tests, around the mount.
                    "open('/tmp/x', 'w').write('1')",
                    "import os; assert not os.path.exists('/tmp/x')",
                ],
            )
        )
    assert report.statuses == (Status.PASSED,) * 4, report.outcomes


def test_venv_under_tmp_is_read_only_in_the_sandbox(tmp_venv):
    require_backend("namespace")
    python, site = tmp_venv
    program = textwrap.dedent(
        f"""
        import os
        def tamper():
            try:
                with open(os.path.join({site!r}, "hf_tinypkg", "__init__.py"), "a") as f:
                    f.write("ANSWER = 0\\n")
                return True
            except OSError:
                return False
        """
    )
    with Executor(SandboxConfig(backend="namespace", workers=1, python=python)) as ex:
        report = ex.run(Job(program=program, tests=["assert tamper() == False", "import hf_tinypkg; assert hf_tinypkg.ANSWER == 42"]))
    assert report.statuses == (Status.PASSED, Status.PASSED), report.outcomes
    with open(os.path.join(site, "hf_tinypkg", "__init__.py")) as f:
        assert f.read() == "ANSWER = 42\n"


def _doctor_json(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "acesandbox.cli", "doctor", "--json", *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_doctor_lists_the_seccomp_filter():
    require_backend("namespace")
    out = _doctor_json("--sandbox", "namespace")
    check = next(c for c in out["checks"] if c["name"] == "seccomp")
    assert check["status"] == "OK"
    families = check["info"]["families"]
    assert {"io_uring", "keyring", "userfaultfd", "bpf", "perf", "mount", "namespaces", "ptrace"} <= set(families)
    assert "io_uring_setup" in families["io_uring"] and "clone3" in families["namespaces"]
    assert "io_uring" in check["detail"] and "EPERM" in check["detail"]


def test_doctor_says_what_blocks_nested_user_namespaces():
    require_backend("namespace")
    check = next(c for c in doctor.collect("namespace") if c.name == "nested namespaces")
    assert check.status == "OK"
    assert check.info["blocked_by"][0] == "seccomp"
    assert "seccomp" in check.detail


def test_doctor_shows_what_the_sandbox_sees(tmp_venv):
    require_backend("namespace")
    python, site = tmp_venv
    check = doctor.sandbox_view("namespace", python=python, packages=("hf_tinypkg", "numpy"))
    assert check.name == "sandbox view" and check.status == "OK", check
    assert site in check.info["sys_path"]
    assert check.info["executable"] == os.path.realpath(python) or check.info["prefix"] == os.path.dirname(os.path.dirname(python))
    assert check.info["packages"]["hf_tinypkg"] is True


def test_nested_user_namespaces_stay_blocked_without_disable_userns(monkeypatch):
    """bubblewrap < 0.8 has no --disable-userns: the seccomp filter alone must hold."""
    require_backend("namespace")
    from acesandbox._harden import namespaces

    real = namespaces._bwrap_supports
    monkeypatch.setattr(namespaces, "_bwrap_supports", lambda flag: False if flag == "--disable-userns" else real(flag))
    argv = namespaces.bwrap_argv(32)
    assert "--disable-userns" not in argv and "--seccomp" in argv
    program = textwrap.dedent(
        """
        import ctypes, os
        def unshare_errno():
            libc = ctypes.CDLL(None, use_errno=True)
            pid = os.fork()
            if pid == 0:
                r = libc.unshare(0x10000000)  # CLONE_NEWUSER
                os._exit(0 if r == 0 else ctypes.get_errno())
            return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        """
    )
    with Executor(SandboxConfig(backend="namespace", workers=1)) as ex:
        report = ex.run(Job(program=program, tests=["import errno; assert unshare_errno() == errno.EPERM"]))
    assert report.statuses == (Status.PASSED,), report.outcomes


def test_capabilities_follow_what_is_applied(monkeypatch):
    """The claim of no nested namespaces rests on what really blocks them, not on the bwrap version."""
    from acesandbox._harden import namespaces
    from acesandbox.backends.namespace import NamespaceBackend
    from acesandbox.conformance import CAPABILITIES, capabilities

    assert capabilities(NamespaceBackend()) == CAPABILITIES
    monkeypatch.setattr(namespaces, "nested_userns_blocked_by", lambda: [])
    assert capabilities(NamespaceBackend()) == CAPABILITIES - {"no_nested_namespaces"}


def test_doctor_cli_shows_a_venv_under_tmp(tmp_venv):
    """`acecoder doctor --python VENV/bin/python` shows that interpreter's view from inside the sandbox."""
    require_backend("namespace")
    python, site = tmp_venv
    out = _doctor_json("--sandbox", "namespace", "--python", python)
    view = next(c for c in out["checks"] if c["name"] == "sandbox view")
    assert view["status"] == "OK" and site in view["info"]["sys_path"], view
