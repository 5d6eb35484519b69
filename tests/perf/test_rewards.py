"""The speed benchmark's workload and a miniature end-to-end run (speed is never asserted)."""

from __future__ import annotations

from collections import Counter

from rm_rl.bench import build_parser, build_workload, format_result, run
from acesandbox.extract import entry_points, extract_code


def test_workload_is_one_rl_step_of_the_paper_size():
    work = build_workload()
    assert len(work.rows) == 64 and len(work.completions) == 1024
    assert all(len(row["test_cases"]) == 16 for row in work.rows)
    variants = Counter(c.variant for c in work.completions)
    assert set(variants) == {"correct", "wrong", "raising", "late_wrong"}
    assert 0.4 < variants["correct"] / 1024 < 0.6
    assert build_workload().completions == work.completions  # deterministic


def test_completions_hold_the_programs_the_direct_path_runs():
    work = build_workload(problems=6, samples=4)
    tests = {row["id"]: row["test_cases"] for row in work.rows}
    for c in work.completions:
        assert extract_code(c.text, prompt=c.prompt, entry_points=entry_points(tests[c.row_id])) == c.program.strip(
            "\n"
        )


def test_correct_programs_pass_their_tests_in_process():
    work = build_workload(problems=6, samples=8)
    tests = {row["id"]: row["test_cases"] for row in work.rows}
    for c in work.completions:
        if c.variant == "correct":
            namespace: dict = {}
            exec(c.program, namespace)  # our own generated reference code
            for t in tests[c.row_id]:
                exec(t, namespace)


def test_miniature_run_over_http(sandbox):
    args = build_parser().parse_args(["--problems", "3", "--samples", "4", "--tests", "4", "--requests", "2",
                                      "--workers", "1", "--repeat", "1"])
    res = run(args)
    assert res["completions"] == 12 and res["requests"] == 2
    assert res["rewards_match"] is True
    text = format_result(res)
    assert "HTTP overhead vs run_batch" in text and ("MET" in text or "MISSED" in text)
