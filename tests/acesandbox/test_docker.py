"""The docker backend on a real Docker Engine: hardening, lifecycle, errors.

Skipped with the reason where there is no engine (or no docker SDK); in CI (CI=true) a
skip is a failure, so the backend is tested on every submission. The image is built
offline from this host's Python when it is missing or stale (a few seconds). The
conformance suite runs on docker from tests/acesandbox/test_conformance.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest
from _backends import docker_client

from acesandbox import Executor, Job, Limits, SandboxConfig, Status
from acesandbox.errors import SandboxUnavailableError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    with docker_client() as c:
        yield c


@pytest.fixture(scope="module")
def executor(client):
    with Executor(SandboxConfig(backend="docker", workers=1)) as ex:
        yield ex


def _sandbox_containers(client, owner_pid: int | None = None) -> list[str]:
    """Ids of the sandbox containers (of one owner process), from one list call (no races)."""
    from acesandbox.backends.docker import LABEL, OWNER_LABEL

    found = client.api.containers(all=True, filters={"label": LABEL})
    if owner_pid is not None:
        found = [c for c in found if (c.get("Labels") or {}).get(OWNER_LABEL, "").split(":")[1:2] == [str(owner_pid)]]
    return [c["Id"] for c in found]


def _wait_until(predicate, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


# -------------------------------------------------------------------- hardening


def test_container_is_hardened(client, executor):
    executor.run(Job(program="x = 1", tests=["assert x == 1"]))
    session = executor._sessions[0]
    attrs = client.api.inspect_container(session.container_id)
    host, cfg = attrs["HostConfig"], attrs["Config"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd")
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["Privileged"] is False
    assert host["IpcMode"] == "none"
    assert host["Memory"] == (1024 + 64) << 20 and host["MemorySwap"] == host["Memory"]
    assert host["PidsLimit"] == 64 + 8
    assert host["NanoCpus"] == 1_000_000_000
    assert host["AutoRemove"] is True
    assert "/tmp" in host["Tmpfs"] and "size=256m" in host["Tmpfs"]["/tmp"]
    assert cfg["User"] == "65534:65534"
    assert cfg["Labels"]["acesandbox.sandbox"] == "1"
    assert not cfg["Tty"]
    # The protocol's socket directory: read-only, and gone from the host once connected.
    [mount] = attrs["Mounts"]
    assert mount["Destination"] == "/run/acesandbox" and mount["RW"] is False
    assert not os.path.exists(mount["Source"])


def test_inside_the_container(executor):
    program = textwrap.dedent(
        """
        import os, socket
        def uid():
            return os.getuid(), os.getgid()
        def interfaces():
            return sorted(name for _, name in socket.if_nameindex())
        def root_writable():
            try:
                open("/probe", "w")
                return True
            except OSError:
                return False
        def env():
            return sorted(os.environ)
        def pid1():
            with open("/proc/1/cmdline", "rb") as f:
                return b"server.py" in f.read()
        """
    )
    tests = [
        "assert uid() == (65534, 65534)",
        "assert interfaces() == ['lo']",
        "assert root_writable() == False",
        "assert 'HOSTNAME' not in env() and 'PYTHON_VERSION' not in env() and 'HOME' in env()",
        "assert pid1() == True",
    ]
    report = executor.run(Job(program=program, tests=tests))
    assert report.statuses == (Status.PASSED,) * len(tests), [o.message for o in report.outcomes]
    assert report.backend == "docker" and report.isolation == "docker"


def test_the_protocol_socket_cannot_be_reached_again(executor):
    program = textwrap.dedent(
        """
        import os, socket
        def listing():
            return os.listdir("/run/acesandbox")
        def reconnect():
            s = socket.socket(socket.AF_UNIX)
            s.connect("/run/acesandbox/s")
            return True
        """
    )
    report = executor.run(Job(program=program, tests=["assert listing() == []", "assert reconnect() == True"]))
    assert report.statuses == (Status.PASSED, Status.ERROR), [o.message for o in report.outcomes]


@pytest.mark.parametrize("transport", ["socket", "attach"])
def test_both_transports(client, transport):
    """Large messages both ways, many jobs, and recovery from a killed container."""
    from acesandbox.backends.docker import DockerBackend, DockerConfig

    blob = "x" * (3 << 20)
    program = f"BLOB = {blob!r}\ndef size():\n    return len(BLOB)\ndef big():\n    return 'y' * (1 << 20)\n"
    backend = DockerBackend(SandboxConfig(workers=2), DockerConfig(transport=transport))
    assert backend.transport() == transport
    with Executor(backend) as ex:
        report = ex.run(Job(program=program, tests=[f"assert size() == {len(blob)}", "assert len(big()) == 1048576"]))
        assert report.statuses == (Status.PASSED, Status.PASSED)
        reports = ex.map([(f"def f():\n    return {i}\n", [f"assert f() == {i}", f"assert f() == {i + 1}"]) for i in range(40)])
        assert all(r.statuses == (Status.PASSED, Status.FAILED) for r in reports)
        old = ex._sessions[0].container_id
        client.api.kill(old)
        assert ex.run(Job(program="x = 1", tests=["assert x == 1"])).all_passed


def test_large_messages(executor):
    blob = "x" * (3 << 20)
    program = f"BLOB = {blob!r}\ndef size():\n    return len(BLOB)\ndef big():\n    return 'y' * (1 << 20)\n"
    report = executor.run(Job(program=program, tests=[f"assert size() == {len(blob)}", "assert len(big()) == 1048576"]))
    assert report.statuses == (Status.PASSED, Status.PASSED)


def test_preload_and_numpy_in_the_image(client):
    with Executor(SandboxConfig(backend="docker", workers=1, preload=("numpy",))) as ex:
        report = ex.run(Job(program="import numpy as np\ndef f():\n    return np.arange(4).sum()\n", tests=["assert f() == 6"]))
    assert report.statuses == (Status.PASSED,), report.outcomes[0].message
    assert not any("preload failed" in w for w in report.warnings)


# -------------------------------------------------------------------- lifecycle


def test_replaced_after_max_jobs(client):
    from acesandbox.backends.docker import DockerBackend

    backend = DockerBackend(SandboxConfig(workers=1, options={"max_jobs": 2}))
    with Executor(backend) as ex:
        seen = []
        for _ in range(5):
            assert ex.run(Job(program="x = 1", tests=["assert x == 1"])).all_passed
            seen.append(ex._sessions[0].container_id)
        assert len(set(seen)) == 3 and seen[0] == seen[1] != seen[2] == seen[3] != seen[4]
        assert _wait_until(lambda: seen[0] not in _sandbox_containers(client))


def test_crashed_container_is_replaced_and_the_job_retried(client, executor):
    import threading

    executor.run(Job(program="x = 1", tests=["assert x == 1"]))
    old = executor._sessions[0].container_id
    killer = threading.Timer(1.5, lambda: client.api.kill(old))
    killer.start()
    report = executor.run(Job(program="import time\ndef f():\n    time.sleep(3)\n    return 1\n", tests=["assert f() == 1"]))
    killer.join()
    assert report.statuses == (Status.PASSED,), report.outcomes[0].message
    assert executor._sessions[0].container_id != old
    assert _wait_until(lambda: old not in _sandbox_containers(client))


def test_container_oom_is_memory_and_the_sandbox_survives(executor):
    program = "def hog():\n    xs = []\n    while True:\n        xs.append(bytearray(16 << 20))\n"
    report = executor.run(Job(program=program, tests=["assert hog() == 1", "assert 1 == 1"], limits=Limits(timeout_s=5)))
    assert report.statuses == (Status.MEMORY, Status.PASSED), [o.message for o in report.outcomes]


def test_container_memory_cap_is_the_sandbox_configs(client):
    program = "def hog(mb):\n    block = bytearray(mb << 20)\n    return len(block) > 0\n"
    with Executor(SandboxConfig(backend="docker", workers=1, memory_mb=200)) as ex:
        report = ex.run(Job(program=program, tests=["assert hog(64)", "assert hog(400)"], limits=Limits(timeout_s=5)))
        info = client.api.inspect_container(ex._sessions[0].container_id)
    assert report.statuses == (Status.PASSED, Status.MEMORY), [o.message for o in report.outcomes]
    assert info["HostConfig"]["Memory"] == (200 + 64) << 20


def test_cgroup_parent(client):
    from acesandbox.backends.docker import DockerBackend, DockerConfig

    if client.info().get("CgroupDriver") != "cgroupfs":
        pytest.skip("cgroup_parent='/' is for the cgroupfs driver (systemd wants a slice)")
    backend = DockerBackend(SandboxConfig(workers=1, memory_mb=128), DockerConfig(cgroup_parent="/"))
    with Executor(backend) as ex:
        program = "def hog():\n    xs = []\n    while True:\n        xs.append(bytearray(16 << 20))\n"
        report = ex.run(Job(program=program, tests=["assert hog() == 1"]))
        assert report.statuses == (Status.MEMORY,), report.outcomes[0].message
        cid = ex._sessions[0].container_id
        assert client.api.inspect_container(cid)["HostConfig"]["CgroupParent"] == "/"


def test_containers_are_removed_on_close(client):
    ex = Executor(SandboxConfig(backend="docker", workers=2))
    ex.map([("x = 1", ["assert x == 1"])] * 4)
    ids = [s.container_id for s in ex._sessions if s is not None]
    assert ids and set(ids) <= set(_sandbox_containers(client))
    ex.close()
    assert _wait_until(lambda: not set(ids) & set(_sandbox_containers(client)))


_CHILD = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # a background shell (nohup ... &) ignores it
from acesandbox import SandboxConfig, iter_batch
jobs = [("import time\\ndef f():\\n    time.sleep(30)\\n    return 1\\n", ["assert f() == 1"])] * 8
print("ready", flush=True)
for _ in iter_batch(jobs, sandbox=SandboxConfig(backend="docker", workers=2)):
    pass
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_no_container_outlives_its_process(client, sig):
    child = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert _wait_until(lambda: len(_sandbox_containers(client, child.pid)) == 2, 30), "the sandboxes did not start"
        time.sleep(1.0)  # jobs are running
        child.send_signal(sig)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    # Ctrl-C: the executor removes them. SIGKILL: the attach connection drops, the server
    # reads end of file and exits, and Docker removes the container (auto_remove).
    assert _wait_until(lambda: not _sandbox_containers(client, child.pid), 30), _sandbox_containers(client, child.pid)
    # A socket directory of a process killed while starting a container goes with the next sweep.
    from acesandbox.backends.docker import _sweep_socket_dirs

    _sweep_socket_dirs()
    assert not [n for n in os.listdir(tempfile.gettempdir()) if n.startswith(f"acesandbox-docker-{child.pid}-")]


def test_cleanup_removes_strays_only(client):
    import socket

    from acesandbox.backends.docker import (
        LABEL,
        OWNER_LABEL,
        _owner,
        cleanup_containers,
    )
    from acesandbox.images import DEFAULT_IMAGE

    def start(owner: str) -> str:
        c = client.containers.run(
            DEFAULT_IMAGE, ["python3", "-c", "import time; time.sleep(120)"], detach=True, auto_remove=True,
            network_mode="none", labels={LABEL: "1", OWNER_LABEL: owner},
        )
        return c.id

    stray = start(f"{socket.gethostname()}:999999999:1")
    mine = start(_owner())
    try:
        removed = cleanup_containers()
        assert any(stray.startswith(r) for r in removed)
        assert not any(mine.startswith(r) for r in removed)
        assert _wait_until(lambda: stray not in _sandbox_containers(client))
        assert mine in _sandbox_containers(client)
    finally:
        for cid in (stray, mine):
            try:
                client.api.remove_container(cid, force=True)
            except Exception:  # noqa: BLE001
                pass


def test_doctor_cleanup(client, capsys):
    from acesandbox.cli import main

    assert main(["doctor", "--cleanup"]) == 0
    assert "stray sandbox container" in capsys.readouterr().out


# ----------------------------------------------------------------------- errors


def test_missing_daemon_names_the_fix(monkeypatch):
    pytest.importorskip("docker")
    from acesandbox.backends.docker import DockerBackend, DockerConfig

    backend = DockerBackend(docker_config=DockerConfig(base_url="unix:///nonexistent/docker.sock"))
    with pytest.raises(SandboxUnavailableError, match="not running or not reachable.*start it"):
        backend.check()


def test_permission_problem_names_the_fix():
    pytest.importorskip("docker")
    from acesandbox.backends.docker import _translate

    err = _translate(PermissionError(13, "Permission denied"), None)
    assert "docker' group" in str(err) and "usermod" in str(err)


def test_missing_image_names_the_fix(client):
    from acesandbox.backends.docker import DockerBackend, DockerConfig

    backend = DockerBackend(docker_config=DockerConfig(image="acesandbox-test-missing:none"))
    with pytest.raises(SandboxUnavailableError, match="acecoder image build --tag acesandbox-test-missing:none"):
        backend.check()


def test_stale_and_foreign_images_are_refused(client):
    from acesandbox.backends.docker import DockerBackend, DockerConfig
    from acesandbox.images import DEFAULT_IMAGE, build_from_dockerfile, image_state

    # The Dockerfile recipe on a local base (no registry needed), then a stale copy of it.
    result = build_from_dockerfile(client, "acesandbox-test:dockerfile", base=DEFAULT_IMAGE)
    try:
        assert image_state(client, result.tag) == "current"
        with Executor(DockerBackend(SandboxConfig(workers=1), docker_config=DockerConfig(image=result.tag))) as ex:
            assert ex.run(Job(program="x = 1", tests=["assert x == 1"])).all_passed
        client.images.build(
            fileobj=__import__("io").BytesIO(f"FROM {result.tag}\nLABEL acesandbox.server=0000\n".encode()),
            tag="acesandbox-test:stale",
            rm=True,
        )
        assert image_state(client, "acesandbox-test:stale") == "stale"
        with pytest.raises(SandboxUnavailableError, match="different version of the sandbox server.*acecoder image build"):
            DockerBackend(docker_config=DockerConfig(image="acesandbox-test:stale")).check()
    finally:
        for tag in ("acesandbox-test:stale", "acesandbox-test:dockerfile"):
            try:
                client.images.remove(tag, force=True)
            except Exception:  # noqa: BLE001
                pass


def test_config_is_validated():
    pytest.importorskip("docker")
    from acesandbox.backends.docker import DockerConfig

    with pytest.raises(ValueError, match="uid"):
        DockerConfig(uid=0)
    with pytest.raises(ValueError, match="cpus"):
        DockerConfig(cpus=0)
    with pytest.raises(ValueError, match="max_jobs"):
        DockerConfig(max_jobs=0)
    with pytest.raises(ValueError, match="transport"):
        DockerConfig(transport="carrier-pigeon")
    assert DockerConfig.from_options({"image": "x:y", "memory_mb": 5}).image == "x:y"


def test_importing_acesandbox_does_not_import_docker():
    code = "import sys, acesandbox; acesandbox.Executor; print('docker' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=dict(os.environ))
    assert out.stdout.strip() == "False"


def test_the_image_loads_the_server_from_bytecode(client, executor):
    """A host-built image carries the server's bytecode (the sandbox writes none): a
    container start imports it instead of compiling the server each time."""
    from acesandbox.images import DEFAULT_IMAGE, SERVER_ROOT

    probe = (
        "import importlib, sys, types; root = types.ModuleType('_acesandbox_rt'); root.__path__ = [sys.argv[1]]; "
        "sys.modules['_acesandbox_rt'] = root; importlib.import_module('_acesandbox_rt._sandbox.loop')"
    )
    err = client.containers.run(
        DEFAULT_IMAGE, ["python3", "-I", "-S", "-B", "-v", "-c", probe, f"{SERVER_ROOT}/acesandbox"],
        network_mode="none", remove=True, stdout=False, stderr=True,
    ).decode()
    for module in ("_sandbox/__pycache__/loop", "_sandbox/__pycache__/kinds", "__pycache__/_wire"):
        assert f"code object from '{SERVER_ROOT}/acesandbox/{module}.cpython-" in err, module
