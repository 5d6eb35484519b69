"""perf.rewards: the workload, the result it reports and its table (speed is never asserted)."""

from __future__ import annotations

from collections import Counter

import pytest
from _support import require_backend

from acesandbox.extract import entry_points, extract_code
from perf.rewards import TARGET_OVERHEAD, TARGET_S, build_parser, build_workload, format_result, run


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


def _result(http_s: float, run_batch_s: float) -> dict:
    return {
        "completions": 12, "tests_per_completion": 4, "reward": "binary", "mode": "shared",
        "stop_on_failure": True, "requests": 2, "repeat": 2, "mean_reward": 0.5,
        "times_s": {"run_batch": [run_batch_s, run_batch_s + 1], "warm_executor": [1.0, 1.5], "http": [http_s, http_s + 1]},
        "host_cpu_s": {"direct_host": [0.5, 0.7], "server": [1.0, 1.2], "client": [0.1, 0.1]},
        "serving_cpu_overhead_s": 0.5, "run_batch_s": run_batch_s, "warm_executor_s": 1.0, "http_s": http_s,
        "overhead_vs_run_batch": http_s / run_batch_s - 1.0, "overhead_vs_warm_executor": http_s - 1.0,
        "median_overhead_vs_run_batch": 0.0, "rewards_match": True,
        "target_met": http_s <= TARGET_S and http_s / run_batch_s - 1.0 < TARGET_OVERHEAD,
    }  # fmt: skip


def test_table_reports_the_target_as_met_or_missed_from_the_numbers():
    met = format_result(_result(http_s=2.1, run_batch_s=2.0)).splitlines()
    assert met[0].startswith("workload: 12 completions x 4 asserts, binary reward, mode=shared")
    assert met[2].split() == ["run_batch", "(cold,", "direct)", "2.00", "s", "[", "2.00", "3.00]"]
    assert met[5].split()[:6] == ["HTTP", "overhead", "vs", "run_batch", "+5.0", "%"]
    assert met[-1].endswith(": MET") and "  rewards equal to direct:     True" in met
    slow = format_result(_result(http_s=30.0, run_batch_s=29.0)).splitlines()  # over 15 s
    costly = format_result(_result(http_s=3.0, run_batch_s=2.0)).splitlines()  # +50 % overhead
    assert slow[-1].endswith(": MISSED") and costly[-1].endswith(": MISSED")


@pytest.mark.slow
def test_miniature_run_over_http():
    pytest.importorskip("httpx")
    require_backend("namespace")
    args = build_parser().parse_args(
        ["--problems", "3", "--samples", "4", "--tests", "4", "--requests", "2", "--workers", "1", "--repeat", "2"]
    )
    res = run(args)
    assert (res["completions"], res["requests"], res["repeat"], res["reward"]) == (12, 2, 2, "binary")
    assert res["rewards_match"] is True
    # Binary reward: only the correct completions score 1 (late_wrong fails its last test).
    work = build_workload(problems=3, samples=4, tests_per_problem=4)
    correct = sum(c.variant == "correct" for c in work.completions)
    assert res["mean_reward"] == pytest.approx(correct / 12)
    assert all(len(v) == 2 and all(t > 0 for t in v) for v in res["times_s"].values())
    # The best round is reported (the listed rounds are rounded to milliseconds).
    assert res["http_s"] == pytest.approx(min(res["times_s"]["http"]), abs=1e-3)
    assert res["run_batch_s"] == pytest.approx(min(res["times_s"]["run_batch"]), abs=1e-3)
    assert res["target_met"] == (res["http_s"] <= TARGET_S and res["overhead_vs_run_batch"] < TARGET_OVERHEAD)
    assert format_result(res).splitlines()[-1].endswith(": MET" if res["target_met"] else ": MISSED")
