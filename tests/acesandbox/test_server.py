"""Regressions of the in-sandbox fork server, run on every real backend."""

from __future__ import annotations

from acesandbox import Limits, Status

LOOPS_ON_ONE = "def f(x):\n    while x == 1:\n        pass\n    return x\n"


def test_shared_mode_does_not_blame_a_fast_test_for_the_next_ones_hang(executor):
    # J runs on without waiting in shared mode: a test's end frame can arrive in the same
    # read as the previous step's, and must not be left waiting in the buffer.
    tests = ["assert f(0) == 0", "assert f(1) == 1"] * 2
    jobs = [(LOOPS_ON_ONE, tests)] * 6
    reports = executor.map(jobs, defaults={"limits": Limits(timeout_s=0.5), "mode": "shared"})
    expected = (Status.PASSED, Status.TIMEOUT) * 2
    assert [r.statuses for r in reports] == [expected] * 6


def test_isolated_and_shared_agree_on_independent_tests(executor):
    tests = ["assert f(0) == 0", "assert f(1) == 1", "assert f(2) == 3", "assert f(3) == 3"]
    limits = Limits(timeout_s=0.5)
    iso = executor.map([(LOOPS_ON_ONE, tests)], defaults={"limits": limits})[0]
    shared = executor.map([(LOOPS_ON_ONE, tests)], defaults={"limits": limits, "mode": "shared"})[0]
    assert iso.statuses == shared.statuses == (Status.PASSED, Status.TIMEOUT, Status.FAILED, Status.PASSED)
