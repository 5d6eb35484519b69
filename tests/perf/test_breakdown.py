"""perf.breakdown: the experiments differ in the one thing they measure, the fit is right, and a
tiny run reports every phase (speed is measured by the script, never asserted here)."""

from __future__ import annotations

import pytest

from acesandbox import Status
from acesandbox._checks import host_safe
from perf import breakdown
from perf.breakdown import _PHASES, fit, fork_cost_ms


def test_fit_recovers_a_line():
    assert fit([(1, 5.0), (4, 11.0), (16, 35.0)]) == pytest.approx((3.0, 2.0))
    assert fit([(2, 7.0), (2, 9.0)]) == (8.0, 0.0)


def test_judge_experiment_differs_only_in_where_the_template_runs():
    """The host judges ``_h0 == [1, 2, 3]`` itself and hands ``sorted(_h0) == ...`` to a judge process."""
    assert host_safe("_h0 == [1, 2, 3]") is True
    assert host_safe("sorted(_h0) == [1, 2, 3]") is False


def test_fork_cost_is_measured_in_milliseconds():
    ms = fork_cost_ms(20)
    assert 0.0 < ms < 1000.0


def test_tiny_breakdown_reports_every_phase():
    from acesandbox import SandboxUnavailableError

    try:
        result = breakdown.run_breakdown(3, rounds=1)
    except SandboxUnavailableError as exc:
        pytest.skip(f"no sandbox here: {exc}")
    names = [m["name"] for m in result["measures"]]
    assert names == [
        "isolated 1 tests", "isolated 4 tests", "isolated 16 tests", "shared 1 tests", "shared 4 tests",
        "shared 16 tests", "host-judged 4 tests", "judge-process 4 tests", "result 10 ints", "result 10000 ints",
        "result 100000 ints",
    ]  # fmt: skip
    # Every experiment's tests pass: a failing test would measure an error path instead.
    for m in result["measures"]:
        assert set(m["statuses"]) == {Status.PASSED.value}, m
        assert m["statuses"][Status.PASSED.value] == m["jobs"] * m["tests_per_job"], m  # one round, warm-up not counted
        assert m["wall_ms_per_job"] > 0 and m["host_cpu_ms_per_job"] >= 0
    for metric in ("wall_ms", "host_cpu_ms", "sandbox_cpu_ms"):
        assert set(result["phases"][metric]) == {k for k, _ in _PHASES}
    text = breakdown.format_breakdown(result)
    assert "the per-test fork (isolated - shared)" in text and "fork + waitpid" in text


def test_workload_runner_counts_tests_and_mismatches(tmp_path):
    from acesandbox import SandboxUnavailableError

    path = tmp_path / "w.jsonl"
    rows = [
        {"program": "def f(x):\n    return x + 1\n", "tests": ["assert f(1) == 2", "assert f(2) == 4"], "expected": ["passed", "failed"]},
        {"program": "def f(x):\n    return x\n", "tests": ["assert f(1) == 1"], "expected": ["failed"]},  # deliberately wrong
    ]
    path.write_text("".join(__import__("json").dumps(r) + "\n" for r in rows))
    try:
        result = breakdown.run_workload(str(path), mode="shared", workers=1, rounds=2)
    except SandboxUnavailableError as exc:
        pytest.skip(f"no sandbox here: {exc}")
    assert (result["jobs"], result["tests"], result["target"]) == (2, 3, "acesandbox-shared")
    assert result["statuses"] == {"failed": 1, "passed": 2}
    assert result["binary_mismatch_vs_expected"] == 1
    assert result["tests_per_s"] > 0
    # One entry per round, the first's figures repeated at the top (the yardstick's cold run).
    assert len(result["rounds"]) == 2
    first = result["rounds"][0]
    assert (result["wall_s"], result["host_cpu_ms_per_job"]) == (first["wall_s"], first["host_cpu_ms_per_job"])
    for r in result["rounds"]:
        assert r["host_cpu_ms_per_job"] > 0
        assert r["host_cpu_ms_per_job"] == pytest.approx(r["host_user_ms_per_job"] + r["host_sys_ms_per_job"], abs=0.002)
