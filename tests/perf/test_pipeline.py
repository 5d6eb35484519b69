"""perf.pipeline: its workload and a small run through the real filter and sample stages (speed never asserted)."""

from __future__ import annotations

import json

from _support import require_backend

from perf.pipeline import TESTS_PER_QUESTION, build_workload, main


def test_workload_chunks_hold_the_questions_and_their_tests(tmp_path):
    chunks = build_workload(tmp_path, 40, seed=0, chunks=4)
    assert len(chunks) == 4 and sum(len(c["filter"]) for c in chunks) == 40
    filter_jobs = [job for c in chunks for job in c["filter"]]
    score_jobs = [job for c in chunks for job in c["score"]]
    assert all(len(tests) == TESTS_PER_QUESTION and program for program, tests in filter_jobs)
    # A question with a wrong expected value keeps the other 15 tests for scoring.
    assert {len(tests) for _, tests in score_jobs} <= {TESTS_PER_QUESTION - 1, TESTS_PER_QUESTION}
    wrong = sum(len(tests) == TESTS_PER_QUESTION - 1 for _, tests in score_jobs)
    assert 0 < wrong < 40
    synth = [json.loads(line) for k in range(4) for line in (tmp_path / f"synth-{k}.jsonl").read_text().splitlines()]
    assert [r["id"] for r in synth] == [f"bench-{i}" for i in range(40)]
    assert build_workload(tmp_path, 40, seed=0, chunks=4) == chunks  # deterministic


def test_a_small_run_scores_every_question_both_ways(tmp_path, capsys):
    require_backend("namespace")
    out = tmp_path / "bench.json"
    argv = ["--questions", "12", "--mode", "shared", "--workers", "1", "--sandbox", "namespace", "--json", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("perf.pipeline: 12 questions x 16 tests, mode=shared, backend=namespace, workers=1")
    result = json.loads(out.read_text())
    assert (result["questions"], result["chunks"], result["backend"], result["workers"]) == (12, 10, "namespace", 1)
    runnable = sum(program is not None for c in build_workload(tmp_path, 12, 0, 10) for program, _ in c["score"])
    filt, score = result["passes"]["filter"], result["passes"]["score"]
    assert (filt["questions"], filt["jobs"]) == (12, 12)
    assert (score["questions"], score["jobs"]) == (12, runnable) and runnable < 12  # answers without code do not run
    for p in (filt, score):
        assert p["executor_only_s"] > 0 and p["pipeline_s"] > 0
        assert 0 < p["pipeline_cpu_share"] < 1 and 0 < p["main_thread_outside_executor_share"] < 1
    assert "exec-only q/s" in printed
