"""The ray backend on a real local Ray cluster: a head and a second node on this machine.

This module starts the cluster itself (``ray start --head`` and ``ray start --address``
with the second node's own resources, each ``--block`` in its own process group, on
loopback, with their own ports and temp dir), so a test can kill the second node
mid-batch and start it again, and stops exactly those processes at the end. Ray is slow
to start: everything shares one cluster. Skipped with the reason where Ray is missing;
in CI (CI=true) that is a failure.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from _support import IN_CI, require_backend

from acesandbox import Executor, Job, Limits, SandboxConfig, Status

pytestmark = pytest.mark.slow

SECOND = "acesandbox_test_second_node"


def _require_ray() -> None:
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


def _wait_nodes(predicate, timeout_s: float = 90.0) -> None:
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
        _wait_nodes(lambda nodes: any(SECOND in n["Resources"] for n in nodes))

    def kill_second(self) -> None:
        assert self.second is not None
        _stop(self.second, signal.SIGKILL)


@pytest.fixture(scope="module")
def cluster():
    _require_ray()
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
    yield c
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


def _sleepy(n: int, sleep_s: float = 0.3) -> list[tuple[str, list[str]]]:
    program = f"import time\ndef f(x):\n    time.sleep({sleep_s})\n    return x * 2\n"
    return [(program, [f"assert f({i}) == {2 * i}", f"assert f({i}) == {2 * i + 1}"]) for i in range(n)]


# ------------------------------------------------------------------- behaviour


def test_results_stream_in_input_order_from_both_nodes(cluster):
    from acesandbox.backends.ray import RayBackend

    with Executor("ray") as ex:
        assert isinstance(ex.backend, RayBackend)
        nodes = ex.backend.nodes()
        assert len(nodes) == 2 and ex.workers == sum(n["workers"] for n in nodes), nodes
        assert {n["backend"] for n in nodes} == {"namespace"}
        seen = []
        for index, report in ex.imap(_sleepy(12), ordered=True):
            seen.append(index)
            assert report.statuses == (Status.PASSED, Status.FAILED), report
            assert report.backend == "ray" and report.isolation.startswith("namespace")
        assert seen == list(range(12))
        served = [n["busy"] for n in ex.backend.nodes()]
        assert served == [0, 0]


def test_backpressure_reads_the_input_lazily(cluster):
    pulled = itertools.count()

    def jobs():
        for i in itertools.count():
            next(pulled)
            yield ("def f():\n    return 1\n", ["assert f() == 1"])

    with Executor("ray") as ex:
        it = ex.imap(jobs(), ordered=True)
        for _ in range(20):
            _index, report = next(it)
            assert report.all_passed
        ahead = next(pulled) - 1 - 20
        it.close()
    assert ahead <= 4 * ex.workers + ex.workers, f"read {ahead} jobs ahead of the results"


def test_a_job_that_kills_its_actor_twice_is_sandbox_error_alone(cluster):
    from acesandbox.backends.ray import CRASH_JOB_ID, RayBackend, RayConfig

    backend = RayBackend(SandboxConfig(), RayConfig(crash_hook=True))
    jobs = [Job(program="def f():\n    return 1\n", tests=["assert f() == 1"], job_id=f"ok{i}") for i in range(8)]
    jobs.insert(3, Job(program="import time\ndef f():\n    return 1\n", tests=["assert f() == 1", "assert f() == 1"], job_id=CRASH_JOB_ID))
    with Executor(backend) as ex:
        reports = ex.map(jobs)
    assert reports[3].statuses == (Status.SANDBOX_ERROR, Status.SANDBOX_ERROR)
    assert "died twice" in reports[3].outcomes[0].message
    assert all(r.statuses == (Status.PASSED,) for i, r in enumerate(reports) if i != 3), [r.statuses for r in reports]


def test_node_killed_mid_batch_loses_no_result(cluster):
    """Every result arrives exactly once, in order, judged as usual, when a node dies."""
    n = 30
    with Executor("ray") as ex:
        assert len(ex.backend.nodes()) == 2
        killer = threading.Timer(2.5, cluster.kill_second)
        killer.start()
        got: dict[int, object] = {}
        t0 = time.monotonic()
        for index, report in ex.imap(_sleepy(n, 0.4), ordered=True):
            assert index not in got
            got[index] = report
        killer.join()
        elapsed = time.monotonic() - t0
        assert sorted(got) == list(range(n))
        for index, report in got.items():
            assert report.statuses == (Status.PASSED, Status.FAILED), (index, report)
        assert len(ex.backend.nodes()) == 1
    assert elapsed < 120
    cluster.start_second()  # later tests get two nodes again


def test_new_node_gets_an_actor(cluster):
    with Executor("ray") as ex:
        _wait_nodes(lambda nodes: len(nodes) == 2)
        ex.backend.refresh()
        assert len(ex.backend.nodes()) == 2


def test_sandboxes_run_at_normal_priority(cluster):
    """Ray's workers run at niceness 15; a node's sandboxes must not inherit it."""
    with Executor("ray") as ex:
        report = ex.run(Job(program="import os\ndef nice():\n    return os.nice(0)\n", tests=["assert nice() == 0"]))
    assert report.statuses == (Status.PASSED,), report.outcomes[0].message
    assert not report.warnings


def test_limits_and_verdicts_pass_through(cluster):
    with Executor(SandboxConfig(backend="ray", memory_mb=256)) as ex:
        report = ex.run(
            Job(
                program="def hog():\n    return len(bytearray(1 << 30))\ndef spin():\n    while True:\n        pass\n",
                tests=["assert hog() == 1", "assert spin() == 1"],
                # Reaching the memory cap costs CPU time in the kernel's reclaim, a lot of it
                # on a loaded host: a roomier CPU limit keeps `memory` from reading `timeout`
                # (as the conformance suite's MEM limits).
                limits=Limits(timeout_s=3.0),
            )
        )
    assert report.statuses == (Status.MEMORY, Status.TIMEOUT), [o.message for o in report.outcomes]


# ------------------------------------------------------------------ conformance


@pytest.fixture(scope="module")
def conf_executor(cluster):
    from acesandbox.conformance import conformance_executor

    with conformance_executor("ray") as ex:
        yield ex


def _cases():
    from acesandbox.conformance import CASES

    return CASES


@pytest.mark.parametrize("case", _cases(), ids=[c.name for c in _cases()])
def test_conformance(conf_executor, case):
    from acesandbox.conformance import applicable, capabilities, run_case

    if not applicable(case, conf_executor.backend):
        missing = sorted(case.requires - capabilities(conf_executor.backend))
        pytest.skip(f"backend 'ray' lacks {', '.join(missing)}")
    problems = run_case(case, conf_executor)
    assert not problems, f"{case.name} ({case.why or 'see acesandbox/conformance.py'}):\n  " + "\n  ".join(problems)


# -------------------------------------------------------------------- no cluster


def test_config_is_validated():
    pytest.importorskip("ray")
    from acesandbox.backends.ray import RayConfig

    with pytest.raises(ValueError, match="workers_per_node"):
        RayConfig(workers_per_node=0)
    with pytest.raises(ValueError, match="inner"):
        RayConfig(inner="ray")
    assert RayConfig.from_options({"address": "auto", "memory_mb": 1}).address == "auto"


def test_a_ray_address_names_the_backend():
    pytest.importorskip("ray")
    from acesandbox.backends.base import get_backend
    from acesandbox.backends.ray import RayBackend

    for name, address in (("ray://head:10001", "ray://head:10001"), ("ray:auto", "auto"), ("ray:10.1.2.3:6379", "10.1.2.3:6379")):
        backend = get_backend(name)
        assert isinstance(backend, RayBackend) and backend.ray.address == address


def test_importing_acesandbox_does_not_import_ray():
    code = "import sys, acesandbox; acesandbox.Executor; import acesandbox.executor; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
