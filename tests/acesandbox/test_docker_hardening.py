"""Issue 10, findings 7 and 9 on the docker backend (and their cross-backend cases).

Finding 9: a correct program using multiprocessing (a Queue with forked Processes, a
Pool) got ``error`` (FileNotFoundError from sem_open: the container had no /dev/shm)
under docker while namespace passed it. Legitimate programs get the same verdict on
every backend.

Finding 7: the socket transport made a 0755 directory and a 0666 socket and took the
first two connections without a peer check.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
import textwrap
import threading
import time

import pytest

from _support import require_backend
from acesandbox import Executor, Job, SandboxConfig, Status

MP_PROGRAM = textwrap.dedent(
    """
    import multiprocessing as mp

    def pool():
        with mp.get_context("fork").Pool(2) as p:
            return p.map(abs, range(0, -6, -1))

    def queue():
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        ps = [ctx.Process(target=q.put, args=(i,)) for i in range(3)]
        for p in ps:
            p.start()
        got = sorted(q.get(timeout=20) for _ in ps)
        for p in ps:
            p.join()
        return got

    def lock():
        ctx = mp.get_context("fork")
        with ctx.Lock():
            return True

    def shm_write():
        from multiprocessing import shared_memory
        s = shared_memory.SharedMemory(create=True, size=16, name="acesandbox_probe")
        s.buf[0] = 7
        s.close()  # left behind on purpose: the next test must not see it
        return True

    def shm_left():
        import os
        return sorted(os.listdir("/dev/shm"))
    """
)
MP_TESTS = [
    "assert pool() == [0, 1, 2, 3, 4, 5]",
    "assert queue() == [0, 1, 2]",
    "assert lock() is True",
    "assert shm_write() is True",
    "assert shm_left() == []",
]


def _docker_unavailable() -> str | None:
    try:
        from acesandbox.backends.docker import DockerBackend

        DockerBackend(SandboxConfig(backend="docker")).check()
    except Exception as exc:  # noqa: BLE001 - any reason is a skip reason
        return f"{type(exc).__name__}: {exc}"
    return None


def _require(name: str) -> None:
    if name == "docker":
        why = _docker_unavailable()
        if why is not None:
            pytest.skip(f"docker backend unavailable: {why}")
    else:
        require_backend(name)


@pytest.mark.parametrize("backend", ["namespace", "docker"])
def test_multiprocessing_passes_on_every_backend(backend):
    _require(backend)
    with Executor(SandboxConfig(backend=backend, workers=1)) as ex:
        report = ex.run(Job(program=MP_PROGRAM, tests=MP_TESTS))
    assert report.statuses == (Status.PASSED,) * len(MP_TESTS), [(o.status, o.message[-300:]) for o in report.outcomes]


# ------------------------------------------------------------- socket transport


@pytest.fixture
def docker_backend():
    _require("docker")
    from acesandbox.backends.docker import DockerBackend

    backend = DockerBackend(SandboxConfig(backend="docker", workers=1, options={"transport": "socket"}))
    backend.check()
    yield backend
    backend.close()


def test_socket_dir_and_socket_are_private():
    from acesandbox.backends.docker import _Listener

    if os.geteuid() != 0:
        pytest.skip("the socket is handed to the sandbox uid by chown, which needs root")
    listener = _Listener(65534)
    try:
        d = os.stat(listener.dir)
        s = os.stat(os.path.join(listener.dir, "s"))
        assert stat.S_IMODE(d.st_mode) == 0o700 and d.st_uid == 65534
        assert stat.S_ISSOCK(s.st_mode) and stat.S_IMODE(s.st_mode) == 0o600 and s.st_uid == 65534
    finally:
        listener.close()


def test_listener_refuses_a_connection_from_another_process():
    """Only the container's own process may become the sandbox's stdin/stdout."""
    from acesandbox.backends.docker import _Listener
    from acesandbox.errors import SandboxTimeoutError

    listener = _Listener(os.getuid())
    path = os.path.join(listener.dir, "s")
    intruders = []

    def intrude():
        for _ in range(2):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(path)
            intruders.append(c)

    t = threading.Thread(target=intrude)
    t.start()
    try:
        # This process is the peer here; the container's pid is another one.
        with pytest.raises(SandboxTimeoutError):
            listener.accept_two(time.monotonic() + 1.5, pid=os.getpid() + 10**6, uid=os.getuid())
        t.join()
        for c in intruders:  # the listener closed them: reading gives end of file
            c.settimeout(5)
            assert c.recv(1) == b""
    finally:
        for c in intruders:
            c.close()
        listener.close()


def test_listener_accepts_its_peer():
    from acesandbox.backends.docker import _Listener

    listener = _Listener(os.getuid())
    path = os.path.join(listener.dir, "s")
    peers = []

    def connect():
        for _ in range(2):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(path)
            peers.append(c)

    t = threading.Thread(target=connect)
    t.start()
    try:
        a, b = listener.accept_two(time.monotonic() + 10, pid=os.getpid(), uid=os.getuid())
        pid, uid, _gid = struct.unpack("3i", a.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        assert (pid, uid) == (os.getpid(), os.getuid())
        a.close()
        b.close()
    finally:
        t.join()
        for c in peers:
            c.close()
        listener.close()


def test_socket_transport_runs_jobs(docker_backend):
    assert docker_backend.transport() == "socket"
    with Executor(docker_backend) as ex:
        report = ex.run(Job(program="def f():\n    return 1\n", tests=["assert f() == 1"]))
    assert report.statuses == (Status.PASSED,)


def test_docker_stacks_the_seccomp_filter_on_its_own_profile():
    """Docker's default profile lets io_uring through on older engines; ours is loaded on top."""
    _require("docker")
    from acesandbox._harden import seccomp

    if seccomp.problem() is not None:
        pytest.skip(seccomp.problem())
    program = textwrap.dedent(
        """
        import ctypes
        def filters():
            for line in open("/proc/self/status"):
                if line.startswith("Seccomp_filters:"):
                    return int(line.split()[1])
        def io_uring_errno():
            libc = ctypes.CDLL(None, use_errno=True)
            params = ctypes.create_string_buffer(120)
            r = libc.syscall(425, 4, params)
            return 0 if r >= 0 else ctypes.get_errno()
        """
    )
    with Executor(SandboxConfig(backend="docker", workers=1)) as ex:
        report = ex.run(Job(program=program, tests=["assert filters() >= 2", "import errno; assert io_uring_errno() == errno.ENOSYS"]))
    assert report.statuses == (Status.PASSED, Status.PASSED), [(o.status, o.message[-300:]) for o in report.outcomes]
