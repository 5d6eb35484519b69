"""Named trusted judges and the batch call kind: validation, registry, verdicts in a judge process."""

from __future__ import annotations

import json
import os
import time

import _judge_fns
import pytest

from acesandbox import CallBatchTest, CallTest, InvalidJobError, Job, Limits, Status
from acesandbox._spec import as_test
from acesandbox.judges import available_judges, get_judge, judge_target, register_judge

register_judge("test-set-equal", _judge_fns.set_equal)
register_judge("test-raises", _judge_fns.raises)
register_judge("test-where", _judge_fns.where)
register_judge("test-slow", _judge_fns.slow)
register_judge("test-huge", _judge_fns.huge)
register_judge("test-noted", _judge_fns.noted, notes=_judge_fns.NOTES.append)
register_judge("test-chatty", _judge_fns.chatty)
register_judge("test-lambda", lambda value, expected, **kw: True)


def _local_judge():
    def judge(value, expected, **kw):
        return True

    return judge


register_judge("test-local", _local_judge())


def test_batch_validation_names_the_field():
    with pytest.raises(InvalidJobError, match="expected has 1 values for 2 calls"):
        CallBatchTest("f", [(1,), (2,)], [1])
    with pytest.raises(InvalidJobError, match=r"calls\[1\]"):
        CallBatchTest("f", [(1,), 2], [1, 2])
    with pytest.raises(InvalidJobError, match="atol has 1 values"):
        CallBatchTest("f", [(1,), (2,)], [1, 2], atol=[0.1])
    with pytest.raises(InvalidJobError, match="call_timeout_s"):
        CallBatchTest("f", [(1,)], [1], call_timeout_s=0)
    with pytest.raises(InvalidJobError, match="fn"):
        CallBatchTest("not a name", [(1,)], [1])
    with pytest.raises(InvalidJobError, match="judge"):
        CallTest("f", (1,), 1, judge=3)


def test_batch_round_trips_through_json():
    test = CallBatchTest("f", [(1, [2]), (3, (4,))], [1, 2], atol=[0.0, 0.5], call_timeout_s=[1.0, 2.0], judge="x")
    job = Job("def f(*a): return 1", [test])
    back = Job.from_dict(json.loads(job.to_json()))
    got = back.tests[0]
    assert isinstance(got, CallBatchTest)
    assert got.calls[0] == (1, [2]) and got.atol_of(1) == 0.5 and got.timeout_of(0) == 1.0 and got.judge == "x"
    assert isinstance(as_test({"kind": "calls", "fn": "g", "calls": [[1]], "expected": [2]}), CallBatchTest)


def test_unknown_judge_is_an_invalid_job_naming_it(executor):
    report = executor.run(Job("def f(x): return x", [CallTest("f", (1,), 1, judge="no-such-judge")]))
    assert report.outcomes[0].status is Status.ERROR
    assert "no-such-judge" in report.outcomes[0].message
    with pytest.raises(InvalidJobError, match="choose one of"):
        get_judge("no-such-judge")
    assert "test-set-equal" in available_judges()


def test_named_judge_decides_in_a_judge_process(executor):
    program = "def f(x):\n    return list(reversed(x))\n"
    job = Job(
        program,
        [
            CallTest("f", ([1, 2, 3],), [3, 2, 1]),
            CallTest("f", ([1, 2, 3],), [1, 2, 3], judge="test-set-equal"),
            CallTest("f", ([1, 2, 3],), [1, 2], judge="test-set-equal", judge_options={"label": "multiset"}),
            CallTest("f", ([1],), [1], judge="test-raises"),
            CallBatchTest("f", [([1, 2],), ([3, 4],)], [[1, 2], [9]], judge="test-set-equal"),
        ],
    )
    report = executor.run(job)
    assert report.statuses == (Status.PASSED, Status.PASSED, Status.FAILED, Status.ERROR, Status.FAILED)
    assert "multiset differs" in report.outcomes[2].message
    assert report.outcomes[4].call_index == 1


def test_batch_first_failure_decides_and_is_named(executor):
    program = "def f(x):\n    if x == 4:\n        return -1\n    if x == 6:\n        raise KeyError(x)\n    return x * x\n"
    calls = [(i,) for i in range(8)]
    expected = [i * i for i in range(8)]
    report = executor.run(Job(program, [CallBatchTest("f", calls[:4], expected[:4]), CallBatchTest("f", calls, expected)]))
    assert report.outcomes[0].status is Status.PASSED and report.outcomes[0].call_index is None
    assert report.outcomes[1].status is Status.FAILED and report.outcomes[1].call_index == 4
    assert "call 4" in report.outcomes[1].message
    raised = executor.run(Job(program, [CallBatchTest("f", calls[5:], expected[5:])])).outcomes[0]
    assert raised.status is Status.ERROR and raised.call_index == 1 and "KeyError" in raised.message


def test_per_call_atol_and_timeout(executor):
    program = "def f(x):\n    while x < 0:\n        pass\n    return x + 0.01\n"
    ok = CallBatchTest("f", [(1,), (2,)], [1.0, 2.0], atol=[0.1, 0.1])
    tight = CallBatchTest("f", [(1,), (2,)], [1.0, 2.0], atol=[0.1, 0.001])
    stall = CallBatchTest("f", [(1,), (-1,)], [1.01, 0], call_timeout_s=[5.0, 0.2])
    report = executor.run(Job(program, [ok, tight, stall], limits=Limits(timeout_s=3), mode="shared"))
    assert report.statuses == (Status.PASSED, Status.FAILED, Status.TIMEOUT)
    assert report.outcomes[1].call_index == 1
    assert report.outcomes[2].call_index == 1, "a per-call timeout names its call"


def test_whole_test_timeout_has_no_call_index(executor):
    program = "import signal\ndef f(x):\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    while x:\n        pass\n    return x\n"
    test = CallBatchTest("f", [(0,), (1,)], [0, 1], call_timeout_s=0.2)
    outcome = executor.run(Job(program, [test], limits=Limits(timeout_s=0.5, wall_timeout_s=2), mode="shared")).outcomes[0]
    assert outcome.status is Status.TIMEOUT
    assert outcome.call_index is None


def test_wrong_value_before_a_hang_is_a_failure(executor):
    program = "def f(x):\n    while x == 2:\n        pass\n    return 0\n"
    test = CallBatchTest("f", [(0,), (1,), (2,)], [0, 1, 2])
    outcome = executor.run(Job(program, [test], limits=Limits(timeout_s=0.5, wall_timeout_s=2), mode="shared")).outcomes[0]
    assert outcome.status is Status.FAILED and outcome.call_index == 1


def test_a_judge_the_judge_process_cannot_import_is_refused_naming_the_fix(executor):
    for name in ("test-lambda", "test-local"):
        with pytest.raises(InvalidJobError, match="register a module-level function"):
            judge_target(name)
        report = executor.run(Job("def f(x): return x", [CallTest("f", (1,), 1, judge=name),
                                                        CallBatchTest("f", [(1,)], [1], judge=name)]))
        assert report.statuses == (Status.ERROR, Status.ERROR)
        assert all("register a module-level function" in o.message for o in report.outcomes)
    assert judge_target("test-set-equal") == "_judge_fns:set_equal"


def test_a_judge_runs_outside_the_host_without_its_environment(executor, monkeypatch):
    monkeypatch.setenv("ACESANDBOX_TEST_SECRET", "1")
    report = executor.run(Job("def f(x): return x", [CallTest("f", (1,), 1, judge="test-where"),
                                                    CallBatchTest("f", [(1,)], [1], judge="test-where")]))
    assert report.statuses == (Status.FAILED, Status.FAILED)
    for outcome in report.outcomes:
        assert f"pid={os.getpid()} " not in outcome.message and "pid=" in outcome.message
        assert "ACESANDBOX_TEST_SECRET" not in outcome.message and "pytest=False" in outcome.message


def test_a_judge_that_prints_does_not_garble_its_verdict(executor):
    report = executor.run(Job("def f(x): return x", [CallBatchTest("f", [(1,), (2,)], [1, 3], judge="test-chatty")]))
    assert report.statuses == (Status.FAILED,) and report.outcomes[0].call_index == 1


def test_notes_reach_the_host_callback(executor):
    _judge_fns.NOTES.clear()
    report = executor.run(Job("def f(x): return [x]", [CallBatchTest("f", [(1,), (2,)], [[1], [2]], judge="test-noted"),
                                                      CallBatchTest("f", [(3,)], [[4]], judge="test-noted")]))
    assert report.statuses == (Status.PASSED, Status.FAILED)
    assert _judge_fns.NOTES == [[1], [2], [3]]


@pytest.mark.parametrize("judge,value", [("test-slow", 10**18), ("test-huge", 10**10)])
def test_a_value_that_makes_a_judge_hang_or_blow_up_ends_the_test_in_time(executor, judge, value):
    """A program value that makes a registered judge slow or huge costs the judge process
    its budget: the test ends as an error within the deadline, never sandbox_error or a stall."""
    program = f"def f(x):\n    return {value}\n"
    tests = [CallTest("f", (1,), 0, judge=judge), CallBatchTest("f", [(1,), (2,)], [0, 0], judge=judge)]
    start = time.monotonic()
    report = executor.run(Job(program, tests, limits=Limits(timeout_s=1.0), mode="shared"))
    assert time.monotonic() - start < 10
    assert report.statuses == (Status.ERROR, Status.ERROR), [o.message for o in report.outcomes]
    assert report.outcomes[1].call_index == 0
    if judge == "test-slow":
        assert "longer than its budget" in report.outcomes[0].message
    else:
        assert "MemoryError" in report.outcomes[0].message
    # the judge process that was killed is replaced: the next job is judged as usual
    again = executor.run(Job("def f(x): return [x]", [CallBatchTest("f", [(1,)], [[1]], judge="test-set-equal")]))
    assert again.statuses == (Status.PASSED,)


def test_expected_values_travel_once_per_judge_process(executor):
    from acesandbox import _judge_proc

    test = CallBatchTest("f", [(i,) for i in range(50)], [[i] for i in range(50)], judge="test-set-equal")
    for _ in range(3):
        assert executor.run(Job("def f(x): return [x]", [test])).statuses == (Status.PASSED,)
    key = _judge_proc.spec_key(test.__dict__["_ace_spec_json"])
    holders = [j for pool in _judge_proc._idle.values() for j in pool if key in j.specs]
    assert holders, "the spec is remembered as sent"


def test_returns_gives_the_values_back_unjudged(executor):
    test = CallBatchTest("f", [(1,), (2,)], [None, None], judge="test-lambda", returns=True)
    outcome = executor.run(Job("def f(x): return {x: [x]}", [test])).outcomes[0]
    assert outcome.status is Status.PASSED and outcome.values == ({1: [1]}, {2: [2]})
    with pytest.raises(InvalidJobError, match="returns must be a bool"):
        CallBatchTest("f", [(1,)], [None], returns=1)


def test_registered_judges_run_in_a_plain_judge_process_without_bubblewrap(monkeypatch):
    """Where the host cannot make a namespace sandbox, the judge process is a plain one
    (empty environment, memory cap) that still finds the registered judge's package."""
    from acesandbox import Executor, SandboxConfig, _judge_proc
    from acesandbox._harden import namespaces

    _judge_proc._close_all()
    _judge_proc.judge_argv.cache_clear()
    monkeypatch.setattr(namespaces, "probe", lambda: "no bubblewrap here (test)")
    try:
        roots = (("_judge_fns", os.path.abspath(_judge_fns.__file__)),)
        argv = _judge_proc.judge_argv(roots)
        assert "bwrap" not in argv[0] and os.path.dirname(_judge_fns.__file__) in argv[-1]
        with Executor(SandboxConfig(backend="process", workers=1)) as ex:
            report = ex.run(Job("def f(x): return [x, x]", [CallTest("f", (1,), [1], judge="test-set-equal"),
                                                           CallTest("f", (1,), 1, judge="test-where")]))
        assert report.statuses == (Status.PASSED, Status.FAILED)
        assert f"pid={os.getpid()} " not in report.outcomes[1].message and "env=[" in report.outcomes[1].message
    finally:
        _judge_proc._close_all()
        _judge_proc.judge_argv.cache_clear()


def test_the_host_never_calls_a_registered_judge(executor, monkeypatch):
    """Every registered judge's call happens in the judge process: in the host, the judge
    and the helper that calls judges may as well not exist."""
    import acesandbox.judges

    def never(*args, **kwargs):
        raise AssertionError("a registered judge ran in the host")

    monkeypatch.setattr(acesandbox.judges, "run_judge", never)
    monkeypatch.setattr(_judge_fns, "set_equal", never)
    report = executor.run(Job("def f(x): return list(reversed(x))", [
        CallTest("f", ([1, 2],), [1, 2], judge="test-set-equal"),
        CallBatchTest("f", [([1, 2],), ([3],)], [[2, 1], [4]], judge="test-set-equal"),
    ]))
    assert report.statuses == (Status.PASSED, Status.FAILED) and report.outcomes[1].call_index == 1


def _big_spec_test(width: int = 30000, calls: int = 20) -> CallBatchTest:
    """A registered-judge test whose arguments take the judge process about a second to
    decode (megabytes of them), made unique per call of this helper."""
    salt = time.monotonic_ns()
    return CallBatchTest("f", [([[i, str(i)] for i in range(width)], salt) for _ in range(calls)],
                         [[width]] * calls, judge="test-set-equal")


def _wire_text(value) -> bytes:
    from acesandbox import _wire

    return json.dumps(_wire.encode(value), separators=(",", ":")).encode()


def test_loading_a_tests_expected_values_is_never_charged_to_its_judging_deadline():
    """Shipping and decoding a test's cached spec happens in a request of its own under the
    host's allowance: a correct value is judged within a deadline far shorter than that."""
    from acesandbox._kinds import _judge_registered, _registered

    test = _big_spec_test()
    reg = _registered(test, "tests[0]")
    assert len(reg.spec_json) > 8_000_000
    values = [_wire_text([30000])] * 20
    verdict = _judge_registered(reg, values, 0, False, 0.25)
    assert (verdict.passed, verdict.failed) == (20, None)
    wrong = _judge_registered(reg, [*values[:3], _wire_text([1])], 0, False, 0.25)
    assert wrong.passed == 3 and wrong.failed is not None and wrong.failed[:2] == (3, "fail")


def test_a_value_that_times_out_its_judge_costs_the_next_job_nothing():
    """A hostile value whose decoding runs past its own deadline kills the judge process and
    its cache; the next test's correct values are still judged within a short deadline."""
    from acesandbox._judge_proc import JudgeTimeout
    from acesandbox._kinds import _judge_registered, _registered

    reg = _registered(_big_spec_test(), "tests[0]")
    values = [_wire_text([30000])] * 20
    assert _judge_registered(reg, values, 0, False, 60.0).passed == 20  # a generous budget warms the cache
    assert _judge_registered(reg, values, 0, False, 0.25).passed == 20
    hostile = b"[" + b",".join([b"[0]"] * 1_500_000) + b"]"  # cheap to write, seconds to decode
    with pytest.raises(JudgeTimeout, match="longer than its budget"):
        _judge_registered(reg, [hostile], 0, False, 0.25)
    after = _judge_registered(reg, values, 0, False, 0.25)
    assert (after.passed, after.failed) == (20, None)


_FLOOD = r'''
import os
def g():
    for fd in range(3, 64):
        try:
            flags = int(open(f"/proc/self/fdinfo/{fd}").read().split("flags:")[1].split()[0], 8)
            if flags & 3 == 1 and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                os.write(fd, b'["c",0,{"$t":[[3]]}]\n' * 50)
                break
        except (OSError, IndexError, ValueError):
            continue
    return [3]
'''


def test_a_calls_value_sent_twice_is_forged_not_judged_again(executor):
    """A CallTest's value comes once: repeated value frames (each would cost a judge-process
    round trip) end the test as crashed, with or without a registered judge."""
    report = executor.run(Job(_FLOOD, [CallTest("g", (), [3], judge="test-set-equal"), CallTest("g", (), [3])]))
    assert report.statuses == (Status.CRASHED, Status.CRASHED), [o.message for o in report.outcomes]
    assert all("a check's values twice" in o.message for o in report.outcomes)
    honest = executor.run(Job("def g():\n    return [3]\n", [CallTest("g", (), [3], judge="test-set-equal")]))
    assert honest.statuses == (Status.PASSED,)


def test_the_judge_process_names_the_specs_it_evicts(monkeypatch):
    """The spec cache's reply lists what it dropped for room, so the host's record of what a
    judge process holds stays exact (the least recently used goes first)."""
    from acesandbox import _judge_worker, _wire

    monkeypatch.setattr(_judge_worker, "_specs", type(_judge_worker._specs)())
    monkeypatch.setattr(_judge_worker, "_spec_bytes", 0)
    monkeypatch.setattr(_judge_worker, "SPEC_CACHE_BYTES", 250)
    spec = {"args": _wire.encode(((1,),)), "expected": _wire.encode((1,)), "atol": [0.0]}
    replies = [_judge_worker._spec({"key": k, "spec": spec, "spec_bytes": 100}) for k in ("a", "b", "c")]
    assert [r["dropped"] for r in replies] == [[], [], ["a"]] and replies[2]["held"] == "c"
    assert _judge_worker._call({"key": "a", "target": "x"}) == {"need": True}
    assert list(_judge_worker._specs) == ["b", "c"] and _judge_worker._spec_bytes == 200


def test_a_spec_the_judge_process_lost_is_loaded_again_not_charged():
    """Where the host believes a judge process holds a spec it does not, the judge asks for
    it, gets it under the host's allowance and judges within the test's short deadline."""
    from acesandbox import _judge_proc
    from acesandbox._kinds import _judge_registered, _registered

    reg = _registered(_big_spec_test(), "tests[0]")
    judge = _judge_proc._take(reg.roots)
    judge.specs.add(reg.spec_key)  # the host's record drifted from the process's cache
    _judge_proc._give(judge)
    verdict = _judge_registered(reg, [_wire_text([30000])] * 20, 0, False, 0.25)
    assert (verdict.passed, verdict.failed) == (20, None)
    assert reg.spec_key in judge.specs and judge.alive()
