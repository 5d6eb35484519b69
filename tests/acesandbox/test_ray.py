"""The ray backend on a real local Ray cluster: a head and a second node on this machine.

The cluster comes from ``_backends.ray_cluster`` (a test can kill the second node
mid-batch and start it again). Ray is slow to start: everything here shares one
cluster. Skipped with the reason where Ray is missing; in CI (CI=true) that is a
failure. The conformance suite runs on ray from tests/acesandbox/test_conformance.py.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time

import pytest
from _backends import ray_cluster, wait_nodes

from acesandbox import Executor, Job, Limits, SandboxConfig, Status

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    with ray_cluster() as c:
        yield c


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
        wait_nodes(lambda nodes: len(nodes) == 2)
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
