"""benchmarks.margins: the one margin shape every family reports, its store of slow calls, BigCodeBench's margin."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acesandbox import Outcome, Report, Status
from benchmarks.bigcodebench import BigCodeBench
from benchmarks.evalplus import timing as evalplus_timing
from benchmarks.margins import NOISE_FACTOR, SLOW_FRACTION, SlowCalls, annotate, describe, margin


def test_margin_of_a_call_near_far_and_stopped():
    assert margin(4.5, 6.0, call=2) == {"ratio": 0.75, "call": 2, "spent_s": 4.5, "limit_s": 6.0, "timed_out": False,
                                        "within_noise": True}
    assert margin(1.0, 6.0)["within_noise"] is False and margin(1.0, 6.0)["ratio"] == pytest.approx(1 / 6, abs=1e-4)
    assert margin(None, None) == {"ratio": None, "call": None, "spent_s": None, "limit_s": None, "timed_out": False,
                                  "within_noise": False}
    stopped = margin(7.0, 6.0, timed_out=True)
    assert stopped["ratio"] is None and stopped["within_noise"] is None and stopped["spent_s"] == 7.0


@given(st.floats(0, 100), st.floats(0.01, 100))
def test_within_noise_is_exactly_a_ratio_past_one_over_the_noise_factor(spent, limit):
    m = margin(spent, limit)
    assert m["within_noise"] is (m["ratio"] >= 1 / NOISE_FACTOR)


def test_describe_says_which_call_and_how_close():
    assert describe(margin(5.5, 6.0, call=0)) == "used 0.92 of its 6 s limit (call 0), within noise"
    assert describe({**margin(None, 1.0, call=42, timed_out=True), "check": "plus"}) == \
        "plus: stopped at its 1 s limit (call 42)"
    assert describe(margin(None, None)) == f"every call under {SLOW_FRACTION:g} of its limit"
    assert annotate("pass", "", None) == ("pass", "")


def test_slow_calls_keep_only_jobs_in_flight_and_their_tightest_calls():
    calls = SlowCalls(max_open_jobs=2, max_records_per_job=2)
    assert calls.record("nobody", 0, 0.9, 1.0) is False and calls.times == {}
    calls.expect("a")
    assert calls.record("a", 0, 0.1, 1.0) is True and calls.times == {}  # under SLOW_FRACTION: nothing kept
    for call, spent in enumerate((0.3, 0.9, 0.5)):
        assert calls.record("a", call, spent, 1.0)
    assert sorted(c for c, _, _ in calls.times["a"]) == [1, 2]  # the two tightest
    assert calls.record("a", 0, float("nan"), 1.0) is False and calls.record("a", 0, "0.9", 1.0) is False
    calls.expect("b")
    calls.expect("c")  # the oldest open job, a, is forgotten
    assert "a" not in calls.times and calls.record("a", 0, 0.9, 1.0) is False


def test_evalplus_timing_is_the_shared_store():
    assert evalplus_timing.NOISE_FACTOR == NOISE_FACTOR and evalplus_timing.SLOW_FRACTION == SLOW_FRACTION
    assert evalplus_timing.record.__self__ is evalplus_timing._CALLS and evalplus_timing._TIMES is evalplus_timing._CALLS.times


def _suite(status: Status, seconds: float) -> Report:
    return Report((Outcome(status, duration_s=seconds),), job_id="BigCodeBench/0", duration_s=seconds + 0.5)


def test_bigcodebench_margin_is_the_suite_against_the_official_task_limit():
    bench = BigCodeBench(gt_times={"BigCodeBench/1": 300.0})
    assert bench.margin(_problem("BigCodeBench/0"), _suite(Status.PASSED, 200.8)) == margin(200.8, 241.0)
    assert bench.margin(_problem("BigCodeBench/0"), _suite(Status.PASSED, 200.8))["within_noise"] is True
    assert bench.margin(_problem("BigCodeBench/1"), _suite(Status.PASSED, 30.1))["limit_s"] == 301.0  # gt time binds
    stopped = bench.margin(_problem("BigCodeBench/0"), _suite(Status.TIMEOUT, 241.0))
    assert stopped["timed_out"] is True and stopped["within_noise"] is None and stopped["limit_s"] == 241.0


def _problem(task_id: str):
    from benchmarks.base import Problem

    return Problem(task_id=task_id, prompt="", entry_point="task_func", canonical_solution="", data={"test": ""})
