"""Time limits as evalplus derives them, and each verdict's margin to its limits (near ones flagged)."""

from __future__ import annotations

import json

import pytest

from benchmarks.evalplus import HumanEvalPlus
from benchmarks.evalplus.timing import NOISE_FACTOR
from benchmarks.output import detail_record, summary_dict
from benchmarks.runner import evaluate

HE_FILE = "humanevalplus/HumanEvalPlus-v0.1.9.jsonl.gz"


@pytest.fixture(scope="module")
def he0(shared_data, bench_executor, tmp_path_factory):
    bench = HumanEvalPlus(cache_dir=str(tmp_path_factory.mktemp("gt")))
    p = next(p for p in bench.load(str(shared_data / HE_FILE)) if p.task_id == "HumanEval/0")
    bench.prepare([p], executor=bench_executor)
    return bench, p


def _sleepy(p, seconds, on_call=0):
    """The canonical solution, sleeping on one base input (the one-call first test of the check)."""
    first = p.data["base_input"][on_call]
    return (p.prompt + p.data["canonical_solution"] + "\n_real = has_close_elements\nimport time\n"
            f"def has_close_elements(numbers, threshold):\n    if (list(numbers), threshold) == ({list(first[0])!r}, {first[1]!r}):\n"
            f"        time.sleep({seconds})\n    return _real(numbers, threshold)\n")


def test_limits_follow_the_ground_truth_of_this_machine(he0):
    bench, p = he0
    gt = bench.ground_truth_for(p)
    job = bench.check_job(p, p.canonical_solution, "base")
    limits = [c[2] for t in job.tests for c in t.calls]
    assert limits == [max(bench.min_time_limit, 4.0 * t) for t in gt["base_time"]]  # evalplus's rule
    assert all(c[0] == i for i, c in enumerate(c for t in job.tests for c in t.calls))


def test_margin_of_each_verdict_and_the_ones_within_noise(he0, bench_executor):
    bench, p = he0
    samples = [{"task_id": p.task_id, "solution": p.canonical_solution},
               {"task_id": p.task_id, "solution": _sleepy(p, 0.8)},  # 0.8 s of a 1 s limit: within noise
               {"task_id": p.task_id, "solution": _sleepy(p, 60)}]  # stopped at its limit
    ev = evaluate(bench, [p], samples, executor=bench_executor, canary=False)
    fast, near, stopped = ev.results
    assert fast.verdicts["base"] == "pass" and fast.details["timing"]["base"]["ratio"] is None  # never near
    assert fast.details["timing"]["base"]["within_noise"] is False
    t = near.details["timing"]["base"]
    assert near.verdicts["base"] == "pass" and t["call"] == 0 and t["limit_s"] == 1.0
    assert 1 / NOISE_FACTOR <= t["ratio"] < 1 and t["within_noise"] is True and t["spent_s"] >= 0.8
    s = stopped.details["timing"]["base"]
    assert stopped.verdicts["base"] == "fail" and s["timed_out"] and s["call"] == 0 and s["within_noise"] is None
    summary = summary_dict(ev, [1])
    assert summary["time_limits"]["within_noise"] == 1
    assert summary["time_limits"]["within_noise_samples"] == [f"{p.task_id}#1"]
    assert summary["time_limits"]["stopped_at_limit_samples"] == [f"{p.task_id}#2"]
    record = json.loads(json.dumps(detail_record(near)))
    assert record["timing"]["base"]["within_noise"] is True and record["timing"]["plus"]["within_noise"] is False



# ---- the timing side table takes records only for jobs in flight (red team finding 5)

_FORGED = '''
import uuid
def f(x):
    return ("<evalplus: timed call 5b0c9f>", uuid.uuid4().hex * 600, 0, 1e300, x + 1)
'''


def _forged_check(n):
    import acesandbox

    return acesandbox.CallBatchTest("__evalplus_call__", tuple((i, False, 1.0, i) for i in range(n)),
                                    tuple(i + 1 for i in range(n)), judge="evalplus",
                                    judge_options={"dataset": "humaneval", "entry_point": "f", "wrapped": True})


def test_a_forged_timing_record_is_neither_kept_nor_unwrapped():
    import uuid

    from _support import require_backend

    import acesandbox
    from benchmarks.evalplus import checks, timing

    require_backend("namespace")
    job_id = f"evalplus-{uuid.uuid4().hex}"
    timing.expect(job_id)
    program = _FORGED + checks._CALL_WRAPPER.format(job_id=job_id, entry="f", not_none=False,
                                                     slow=timing.SLOW_FRACTION, mark=timing.MARK)
    before = set(timing._TIMES)
    report = acesandbox.run_tests(program, [_forged_check(16)], sandbox=acesandbox.SandboxConfig(backend="namespace"))
    assert [o.status for o in report.outcomes] == [acesandbox.Status.FAILED]  # a tuple is not x + 1
    assert "evalplus: timed call" in report.outcomes[0].message
    assert set(timing._TIMES) == before and timing.pop(job_id) == []


def test_timing_records_only_jobs_in_flight_and_keeps_the_tightest():
    import uuid

    from benchmarks.evalplus import judge as ep_judge
    from benchmarks.evalplus import timing

    opts = {"dataset": "humaneval", "entry_point": "f", "wrapped": True}
    other = f"evalplus-{uuid.uuid4().hex}"
    # the judge (in the judge process) unwraps once, as the wrapper escapes every marker-shaped
    # value, and returns the time as a note; the host keeps it only under a job in flight
    ok, _, note = ep_judge.judge((timing.MARK, other, 0, 0.9, 1), 1, args=(0, False, 1.0, 0), atol=0, options=opts)
    assert ok is True and note == [other, 0, 0.9, 1.0]
    ep_judge.timing_note(note)
    assert other not in timing._TIMES  # not a job in flight: nothing kept
    job = f"evalplus-{uuid.uuid4().hex}"
    timing.expect(job)
    for call in range(3 * timing.MAX_RECORDS_PER_JOB):
        ok, _, note = ep_judge.judge((timing.MARK, job, call, 0.3 + call / 100, 7), 7, args=(call, False, 1.0, 0),
                                     atol=0, options=opts)
        assert ok is True
        ep_judge.timing_note(note)
    ep_judge.timing_note([job, "0", 0.9, 1.0])  # a malformed note is dropped
    assert ep_judge.judge((timing.MARK, job, 0, 10**400, 7), 7, args=(0, False, 1.0, 0), atol=0, options=opts)[0] is False
    kept = timing.pop(job)
    assert len(kept) == timing.MAX_RECORDS_PER_JOB and max(c for c, _, _ in kept) == 3 * timing.MAX_RECORDS_PER_JOB - 1
    assert timing.record(job, 0, 0.9, 1.0) is False  # popped: no longer in flight


def test_a_verify_difference_shows_the_check_closest_to_its_limit():
    from benchmarks.evalplus.verify import _part_margins
    from benchmarks.margins import annotate, margin

    timing = {"base": margin(0.1, 1.0, call=3), "plus": margin(0.9, 1.0, call=42)}
    assert annotate("base=pass plus=fail", "", _part_margins(timing)) == (
        "base=pass plus=fail [time: plus: used 0.90 of its 1 s limit (call 42), within noise]", "")
    stopped = {"base": margin(0.9, 1.0, call=1), "plus": margin(None, 1.0, call=7, timed_out=True)}
    assert _part_margins(stopped)["check"] == "plus" and _part_margins(None) is None
