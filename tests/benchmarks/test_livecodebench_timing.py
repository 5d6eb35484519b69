"""LiveCodeBench margins: each test timed alone against lcb_runner's per-test alarm (real sandbox)."""

from __future__ import annotations

import json

import pytest

from benchmarks import evaluate
from benchmarks.base import FAIL, PASS
from benchmarks.livecodebench import LiveCodeBench
from benchmarks.livecodebench.judge import SLOW_CALLS, judge, slow_call_note
from benchmarks.livecodebench.programs import MARK
from benchmarks.margins import NOISE_FACTOR, annotate, describe, margin
from benchmarks.output import detail_record, summary_dict

STDIO = {"question_title": "t", "question_content": "c", "platform": "atcoder", "question_id": "abc001_a",
         "contest_id": "c1", "contest_date": "2024-03-01T00:00:00", "starter_code": "", "difficulty": "easy",
         "public_test_cases": json.dumps([{"input": "1\n", "output": "1\n", "testtype": "stdin"},
                                          {"input": "2\n", "output": "2\n", "testtype": "stdin"}]),
         "private_test_cases": "[]", "metadata": "{}"}
CALL = dict(STDIO, question_id="3001", platform="leetcode", starter_code="class Solution:\n    def f(self, x: int) -> int:\n",
            public_test_cases=json.dumps([{"input": "1", "output": "1", "testtype": "functional"},
                                          {"input": "2", "output": "2", "testtype": "functional"}]),
            metadata=json.dumps({"func_name": "f"}))


@pytest.fixture(scope="module")
def problems(tmp_path_factory):
    path = tmp_path_factory.mktemp("lcb-timing") / "p.jsonl"
    path.write_text(json.dumps(STDIO) + "\n" + json.dumps(CALL) + "\n")
    bench = LiveCodeBench(timeout_s=1)
    return bench, {p.task_id: p for p in bench.load(str(path))}


def score(bench, bench_executor, prob, code):
    report = bench_executor.run(bench.jobs(prob, code)["pass"])
    return bench.verdicts(prob, {"pass": report})


def test_margin_of_each_verdict_and_the_ones_within_noise(problems, bench_executor):
    bench, probs = problems
    echo = "import time\nn = int(input())\n{}print(n)\n"
    p = probs["abc001_a"]
    samples = [{"task_id": p.task_id, "solution": echo.format(pause)}
               for pause in ("", "time.sleep(0.8 if n == 2 else 0)\n", "time.sleep(30 if n == 2 else 0)\n")]
    ev = evaluate(bench, [p], samples, executor=bench_executor, canary=False)
    fast, near, stopped = ev.results
    assert fast.verdicts["pass"] == PASS and fast.details["timing"]["pass"] == margin(None, None)
    t = near.details["timing"]["pass"]
    assert near.verdicts["pass"] == PASS and t["call"] == 1 and t["limit_s"] == 1.0
    assert 1 / NOISE_FACTOR <= t["ratio"] < 1 and t["within_noise"] is True and t["spent_s"] >= 0.8
    s = stopped.details["timing"]["pass"]
    assert stopped.verdicts["pass"] == FAIL and stopped.details["results"] == [True, -3]
    assert s == {"ratio": None, "call": 1, "spent_s": None, "limit_s": 1.0, "timed_out": True, "within_noise": None}
    assert describe(s) == "stopped at its 1 s limit (call 1)"
    counted = summary_dict(ev, [1])["time_limits"]  # the summary counts them, as for EvalPlus
    assert counted["within_noise_samples"] == ["abc001_a#1"] and counted["stopped_at_limit_samples"] == ["abc001_a#2"]
    assert json.loads(json.dumps(detail_record(near)))["timing"]["pass"]["within_noise"] is True


def test_call_based_tests_are_timed_and_a_forged_time_is_the_programs_own_value(problems, bench_executor):
    bench, probs = problems
    slow = ("import time\nclass Solution:\n    def f(self, x):\n        time.sleep(0.4 if x == 1 else 0)\n"
            "        return x\n")
    r = score(bench, bench_executor, probs["3001"], slow)
    assert r.verdicts["pass"] == PASS and r.details["timing"]["pass"]["call"] == 0
    assert 0.4 <= r.details["timing"]["pass"]["ratio"] < 1 / NOISE_FACTOR and not r.details["timing"]["pass"]["within_noise"]
    # a program that returns a marker-shaped tuple for another job is judged on that tuple (and fails):
    # the wrapper wraps it once more
    forged = f"class Solution:\n    def f(self, x):\n        return ({MARK!r}, 'abc001_a#0', 0, 0.9, x)\n"
    f = score(bench, bench_executor, probs["3001"], forged)
    assert f.verdicts["pass"] == FAIL and f.details["results"] == [-2]
    assert f.details["timing"]["pass"]["ratio"] is None and "abc001_a#0" not in SLOW_CALLS.times


def test_judge_keeps_only_times_of_jobs_in_flight():
    """The judge (in the judge process) unwraps and returns the time as a note; the host's
    callback keeps it only under a job in flight."""
    SLOW_CALLS.expect("job-a")
    ok, _, note = judge((MARK, "job-a", 3, 0.9, 5), 5, args=(3, 5), atol=0, options={"mode": "call", "limit_s": 1.0})
    assert ok is True and note == ["job-a", 3, 0.9, 1.0]
    slow_call_note(note)
    assert SLOW_CALLS.tightest("job-a")["ratio"] == 0.9
    assert SLOW_CALLS.tightest("job-a")["call"] == 3  # asked again (a deduplicated copy): same answer
    # a job no longer in flight (rescored after its verdict): its value is unwrapped, its time not kept
    ok, _, note = judge((MARK, "job-a", 1, 0.95, 5), 5, args=(1, 5), atol=0, options={"mode": "call", "limit_s": 1.0})
    slow_call_note(note)
    assert ok is True and "job-a" not in SLOW_CALLS.times and SLOW_CALLS.tightest("job-a")["call"] == 3
    assert judge((MARK, "job-b", 3, 0.9, 5), 5, args=(3, 5), atol=0, options={"mode": "call"}) == (False, _wrong(MARK))
    slow_call_note(["job-b", "3", 0.9, 1.0])  # a malformed note is dropped
    assert "job-b" not in SLOW_CALLS.times


def _wrong(mark):
    return "lcb:" + json.dumps({"error_message": "Wrong Answer", "output": str([mark, "job-b", 3, 0.9, 5])})


def test_annotate_keeps_an_unexplained_difference_unexplained():
    t = margin(0.93, 6.0, call=2)
    assert annotate("fail", "", t) == ("fail [time: used 0.15 of its 6 s limit (call 2), clear of noise]", "")
    ours, why = annotate("fail", "timing: slow", margin(5.5, 6.0, call=0))
    assert ours == "fail" and why == "timing: slow (this rescoring: used 0.92 of its 6 s limit (call 0), within noise)"


def test_a_job_rescored_after_its_verdict_is_judged_the_same(problems, bench_executor):
    """verify-official rescores a disagreeing job after its margin was taken: slow tests still pass."""
    bench, probs = problems
    job = bench.jobs(probs["abc001_a"], "import time\nn = int(input())\ntime.sleep(0.4)\nprint(n)\n")["pass"]
    first = bench.verdicts(probs["abc001_a"], {"pass": bench_executor.run(job)})
    again = bench.verdicts(probs["abc001_a"], {"pass": bench_executor.run(job)})
    assert first.verdicts["pass"] == again.verdicts["pass"] == PASS
    assert again.details["timing"]["pass"] == first.details["timing"]["pass"] and first.details["timing"]["pass"]["ratio"] >= 0.4


def test_an_int_past_the_digit_limit_is_a_runtime_error_as_officially(problems, bench_executor):
    """lcb_runner writes a wrong value into its metadata with str(), which raises past 50,000 digits
    (O1-mini's LeetCode 3414 returned 2 ** 134217727): -4, not a wrong answer."""
    bench, probs = problems
    r = score(bench, bench_executor, probs["3001"], "class Solution:\n    def f(self, x):\n        return 2 ** (x * 200_000)\n")
    assert r.verdicts["pass"] == FAIL and r.details["results"] == [-4]
    assert r.details["metadata"]["error"].startswith("ValueError('Exceeds the limit (50000 digits) for integer string")
    small = score(bench, bench_executor, probs["3001"], "class Solution:\n    def f(self, x):\n        return 2 ** 1000\n")
    assert small.details["results"] == [-2]  # a wrong int of ordinary length: a wrong answer
