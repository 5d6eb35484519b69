"""Time limits are judged on CPU time: a loaded machine must not change any verdict."""

from __future__ import annotations

import multiprocessing
import os

import pytest

import acesandbox

# ~0.25 s of CPU per call: well under the 1 s limit, but several times over it in wall
# time once the machine is oversubscribed.
PROGRAM = """
def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total
"""


def _burn(stop) -> None:  # noqa: ANN001
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _batch():
    jobs = []
    for j in range(4):
        n = 1_500_000 + j
        expected = sum(i * i for i in range(n))
        tests = [f"assert work({n}) == {expected}", f"assert work({n}) == {expected + 1}"]
        jobs.append((PROGRAM, tests + (["while True: pass"] if j == 0 else [])))
    return jobs


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["namespace", "process"])
def test_verdicts_identical_idle_and_oversubscribed(backend):
    from _support import require_backend

    require_backend(backend)
    jobs = _batch()
    idle = acesandbox.run_batch(jobs, timeout_s=1.0, sandbox=acesandbox.SandboxConfig(backend=backend, workers=1))
    cores = len(os.sched_getaffinity(0))
    stop = multiprocessing.Event()
    burners = [multiprocessing.Process(target=_burn, args=(stop,), daemon=True) for _ in range(2 * cores)]
    for p in burners:
        p.start()
    try:
        loaded = acesandbox.run_batch(jobs, timeout_s=1.0, sandbox=acesandbox.SandboxConfig(backend=backend, workers=2 * cores))
    finally:
        stop.set()
        for p in burners:
            p.join(timeout=10)
    assert [r.statuses for r in idle] == [r.statuses for r in loaded]
    assert idle[0].statuses == (acesandbox.Status.PASSED, acesandbox.Status.FAILED, acesandbox.Status.TIMEOUT)
