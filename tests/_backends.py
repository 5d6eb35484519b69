"""Backends that need more than this host's kernel: a Docker Engine, a local Ray cluster.

Shared by the modules that test those backends and by the conformance suite, which runs
on every backend. Where one is missing its tests are skipped with the reason; in CI
(CI=true) that is a failure.

The Ray cluster is started here (``ray start --head`` and ``ray start --address`` with
the second node's own resources, each ``--block`` in its own process group, on
loopback, with their own ports and temp dir), so a test can kill the second node
mid-batch and start it again, and exactly those processes are stopped at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Any, Iterator

import pytest
from _support import IN_CI, require_backend

from acesandbox.errors import SandboxUnavailableError

# ------------------------------------------------------------------------ docker


def docker_unavailable() -> str | None:
    """Why the docker backend cannot run here (None if it can)."""
    try:
        import docker  # noqa: F401
    except ImportError:
        return "the docker SDK is not installed (pip install 'acecoder-toolkit[docker]')"
    from acesandbox.backends.docker import connect

    try:
        connect().close()
    except SandboxUnavailableError as exc:
        return str(exc)
    return None


def require_docker() -> None:
    """Skip where there is no engine (or no docker SDK); in CI that is a failure."""
    reason = docker_unavailable()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"docker backend unavailable in CI: {reason}")
    pytest.skip(f"docker backend unavailable: {reason}")


@contextlib.contextmanager
def docker_client() -> Iterator[Any]:
    """A client of the local engine, with a current sandbox image (built offline if missing or stale)."""
    require_docker()
    from acesandbox.backends.docker import connect
    from acesandbox.images import ensure_image

    c = connect()
    ensure_image(c)
    try:
        yield c
    finally:
        c.close()


# --------------------------------------------------------------------------- ray


SECOND = "acesandbox_test_second_node"


def require_ray() -> None:
    """Skip where Ray or its `ray` command is missing; in CI that is a failure."""
    reason = None
    try:
        import ray  # noqa: F401
    except ImportError:
        reason = "ray is not installed (pip install 'acecoder-toolkit[ray]')"
    if reason is None and shutil.which("ray") is None:
        reason = "the `ray` command is not on PATH"
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"ray backend unavailable in CI: {reason}")
    pytest.skip(f"ray backend unavailable: {reason}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def _env() -> dict[str, str]:
    env = dict(os.environ, **_RAY_ENV)
    env.pop("RAY_ADDRESS", None)
    return env


def _start_node(args: list[str], log: str) -> subprocess.Popen:
    """``ray start ... --block`` in its own process group (killing the group kills the node)."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            ["ray", "start", "--block", "--disable-usage-stats", "--node-ip-address", "127.0.0.1", *args],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=_env(),
        )


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except OSError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _alive_nodes() -> list[dict]:
    import ray

    return [n for n in ray.nodes() if n["Alive"]]


def wait_nodes(predicate, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate(_alive_nodes()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the Ray cluster did not reach the expected state: {_alive_nodes()}")
        time.sleep(0.5)


class Cluster:
    """The head's address and control of the second node."""

    def __init__(self, address: str, tmp: str) -> None:
        self.address, self.tmp = address, tmp
        self.second: subprocess.Popen | None = None

    def start_second(self) -> None:
        self.second = _start_node(
            ["--address", self.address, "--num-cpus", "1", "--resources", f'{{"{SECOND}": 1}}'], os.path.join(self.tmp, "second.log")
        )
        wait_nodes(lambda nodes: any(SECOND in n["Resources"] for n in nodes))

    def kill_second(self) -> None:
        assert self.second is not None
        _stop(self.second, signal.SIGKILL)


@contextlib.contextmanager
def ray_cluster() -> Iterator[Cluster]:
    """A head and a second node on loopback (skipped where Ray is missing); stopped on exit."""
    require_ray()
    require_backend("namespace")  # each node's sandboxes
    import ray

    tmp = tempfile.mkdtemp(prefix="acesandbox-ray-")
    saved = {k: os.environ.get(k) for k in (*_RAY_ENV, "RAY_ADDRESS")}
    os.environ.update(_RAY_ENV)  # the driver too: no token auth on this private cluster
    os.environ.pop("RAY_ADDRESS", None)
    port = _free_port()
    address = f"127.0.0.1:{port}"
    head = _start_node(
        ["--head", "--port", str(port), "--num-cpus", "1", "--include-dashboard=false", "--temp-dir", os.path.join(tmp, "ray")],
        os.path.join(tmp, "head.log"),
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            # Loopback only: the driver, like the nodes, never uses another interface.
            ray.init(address=address, logging_level="ERROR", log_to_driver=False, namespace="acesandbox-tests", _node_ip_address="127.0.0.1")
            break
        except Exception:
            if time.monotonic() > deadline or head.poll() is not None:
                raise
            time.sleep(1)
    c = Cluster(address, tmp)
    c.start_second()
    try:
        yield c
    finally:
        ray.shutdown()
        if c.second is not None:
            _stop(c.second)
        _stop(head)
        shutil.rmtree(tmp, ignore_errors=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

