"""perf.evalplus: the official runs it scores and its arguments (the timed comparison itself is run by hand)."""

from __future__ import annotations

import os
import pathlib
from collections import Counter

import pytest

from perf import evalplus as perf_evalplus

SHARED_DATA = pathlib.Path(
    os.environ.get("ACECODER_SHARED_DATA") or pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"
)


def test_the_data_folder_is_required(monkeypatch, capsys):
    monkeypatch.delenv("ACECODER_SHARED_DATA", raising=False)
    with pytest.raises(SystemExit) as exc:
        perf_evalplus.main(["--skip-official"])
    assert exc.value.code == 2
    assert "no shared data folder given; pass --data-dir" in capsys.readouterr().err


def test_the_twenty_official_runs_are_found_with_their_dataset():
    if not (SHARED_DATA / "evalplus_samples").is_dir():
        pytest.skip(f"no official EvalPlus runs under {SHARED_DATA} (set ACECODER_SHARED_DATA)")
    runs = perf_evalplus._runs(SHARED_DATA)
    assert len(runs) == 20 and len({run for run, _, _ in runs}) == 20
    assert set(Counter(kind for _, kind, _ in runs)) == {"humaneval+", "mbpp+"}
    assert all(samples.is_file() and samples.name.endswith(".jsonl") for _, _, samples in runs)


def test_ground_truth_rows_give_the_ratio_per_dataset_and_withhold_it_when_loaded():
    ours, official = {"humaneval+": 10.0, "mbpp+": 30.0}, {"humaneval+": 15.0, "mbpp+": 30.0}
    rows = perf_evalplus.ground_truth_rows(ours, official, busy=False)
    assert rows == [
        "ground truth, humaneval+, empty cache: ours 10.0 s, evalplus get_groundtruth 15.0 s, speed-up 1.50x",
        "ground truth, mbpp+, empty cache: ours 30.0 s, evalplus get_groundtruth 30.0 s, speed-up 1.00x",
        "ground truth, both, empty cache: ours 40.0 s, evalplus get_groundtruth 45.0 s, speed-up 1.12x",
    ]
    assert all(row.endswith("speed-up n/a (loaded)") for row in perf_evalplus.ground_truth_rows(ours, official, busy=True))


def test_the_official_ground_truth_is_evalplus_own_function():
    # the script the evalplus interpreter runs calls get_groundtruth itself, timed around that call alone
    src = perf_evalplus._OFFICIAL_GT
    assert "from evalplus.evaluate import get_groundtruth" in src
    assert "get_groundtruth(problems, dataset_hash, not_none)" in src
    compile(src, "<official-gt>", "exec")


def test_official_results_are_read_in_both_evalplus_formats():
    """0.2.0 wrote {"base": [[status, ...]]} with success/failed, 0.3 a list of rows with pass/fail:
    the steady-state row's agreement needs both (the installed evalplus is 0.3.1)."""
    if not (SHARED_DATA / "evalplus_samples").is_dir():
        pytest.skip(f"no official EvalPlus runs under {SHARED_DATA} (set ACECODER_SHARED_DATA)")
    folder = SHARED_DATA / "evalplus_samples"
    old = perf_evalplus.official_statuses("old", folder / "tyfann" / "phi_1_samples_eval_results.json")
    new = perf_evalplus.official_statuses("new", folder / "llama3-exp" / "70-bad" / "samples_eval_results.json")
    assert len(old) == len(new) == 164
    assert Counter(base for base, _ in old.values())["pass"] == 78  # phi_1: 78 base successes (SOURCE.md)
    assert Counter(base for base, _ in new.values())["pass"] == 112  # 70-bad: 112/100
    assert Counter(plus for base, plus in new.values() if base == "pass")["pass"] == 100
    assert {s for pair in [*old.values(), *new.values()] for s in pair} <= {"pass", "fail", "timeout"}
    assert ("new", "HumanEval/0", 0) in new


def test_ours_judges_with_the_rules_of_the_installed_evalplus():
    assert perf_evalplus.profile_for("0.2.0") == "2024-01-v0.2.0"
    assert perf_evalplus.profile_for("0.3.1") == "v0.3.1"
    assert perf_evalplus.profile_for("9.9") == "latest"
    runs = [("a/x", "humaneval+", pathlib.Path("x")), ("b/y", "mbpp+", pathlib.Path("y"))]
    assert perf_evalplus.select_runs(runs, []) == runs
    assert perf_evalplus.select_runs(runs, ["b/"]) == runs[1:]
    with pytest.raises(ValueError, match="no official run matches zzz; runs: a/x, b/y"):
        perf_evalplus.select_runs(runs, ["zzz"])
