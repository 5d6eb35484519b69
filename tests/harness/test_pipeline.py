"""End to end on the bundled demo, in the real sandbox: synth -> filter -> sample -> pairs -> hard -> stats."""

from __future__ import annotations

import csv
import json

import pytest

from acesandbox.cli import main
from harness.io import read_records

ARGS = ["--set", "sample.num_samples=4", "--set", "sample.limit=8", "--set", "execution.workers=2", "--no-progress"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    code = main(["pipeline", "--demo", "-o", str(out), *ARGS])
    return out, code


def test_the_demo_runs_end_to_end(demo_run, capsys):
    out, code = demo_run
    assert code == 0
    for name in ("synth", "filter", "sample", "pairs", "hard"):
        assert (out / f"{name}.jsonl").exists() and (out / f"{name}.summary.json").exists()
    summary = json.loads((out / "pipeline.summary.json").read_text())["stages"]
    # Every kind of bad input in the bundled set is counted with its reason.
    assert summary["synth"]["rejected_items"] == {"duplicate_question": 1, "malformed_answer": 1, "no_code": 1}
    assert summary["synth"]["rejected_tests"] == {
        "not_assert": 6,
        "duplicate_test": 6,
        "syntax_error": 6,
        "no_entry_point_call": 6,
    }
    assert summary["synth"]["questions"] == 30
    # Filtering removed the wrong expected values and dropped the question whose tests were mostly wrong.
    assert summary["filter"]["rejected_items"] == {"too_few_tests": 1}
    assert summary["filter"]["questions_after"] == 29
    assert summary["filter"]["avg_tests_after"] < summary["filter"]["avg_tests_before"] == 20.0


def test_sampled_records_are_scored_by_the_real_sandbox(demo_run):
    out, _ = demo_run
    rows = read_records(out / "sample.jsonl")
    assert len(rows) == 8
    for r in rows:
        assert list(r) == ["id", "source", "question", "test_cases", "inferences", "context_messages"]
        rates = [i["pass_rate"] for i in r["inferences"]]
        assert len(rates) == 4
        assert rates[0] == 1.0  # the recorded correct solution passes every kept test
        assert rates[3] == 0.0  # the recorded answer without code
        assert all(0.0 <= x <= 1.0 for x in rates)
    pairs = read_records(out / "pairs.jsonl")
    assert pairs and all(list(p) == ["instruction", "input", "chosen", "rejected", "id"] for p in pairs)


def test_the_stats_report_renders(demo_run):
    out, _ = demo_run
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4
    assert "Table 1" in html and "<table" in html
    with open(out / "stats.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:5] == ["source", "questions_synthesized", "questions", "avg_tests_before", "avg_tests_after"]
    assert rows[-1][:4] == ["total", "30", "29", "20.0"]


def test_a_rerun_resumes_without_redoing_or_duplicating(demo_run):
    out, _ = demo_run
    before = (out / "sample.jsonl").read_text()
    assert main(["pipeline", "--demo", "-o", str(out), *ARGS]) == 0
    summary = json.loads((out / "pipeline.summary.json").read_text())["stages"]
    assert summary["synth"]["this_run"]["skipped_done"] == 32  # 30 written + 2 rejected for good
    assert summary["filter"]["this_run"]["skipped_done"] == 30
    assert summary["sample"]["this_run"]["skipped_done"] == 8
    assert summary["synth"]["usage"]["prompts"] == 0 and summary["filter"]["usage"]["prompts"] == 0
    assert (out / "sample.jsonl").read_text() == before
