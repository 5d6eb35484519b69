"""The host's trust boundary (issue 10, findings 2-6), attacked on every real backend.

The single-job attacks are conformance cases (:mod:`acesandbox.conformance.boundary`,
run on every backend by test_conformance.py); this module adds what a case cannot say:
that a job never reads the messages a previous job left behind, and that a garbled
raw result is always a status of its own test, never an exception in the host.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from _backends import docker_client
from _support import require_backend

from acesandbox import AssertTest, CallBatchTest, Executor, Job, SandboxConfig, Status
from acesandbox._kinds import outcome_from_raw, prepare_job
from acesandbox.conformance import conformance_executor, escape
from acesandbox.conformance._case import FAST, P
from acesandbox.conformance.boundary import CASES, FORGE_BAD_EXIT, _forging


def stale_message_jobs(forge: str) -> tuple[Job, Job]:
    """Two sibling jobs with the same streamed tests: a hostile one, then a wrong one."""
    tests = tuple(AssertTest(f"assert f({i}) == {i + 1}") for i in range(3))
    hostile = Job(program=_forging(forge, then="return args[0] + 1"), tests=tests, limits=FAST, stop_on_failure=True)
    wrong = Job(program="def f(x):\n    return 0\n", tests=tests, limits=FAST, stop_on_failure=True)
    return hostile, wrong


@pytest.fixture(scope="module", params=["namespace", "process", "docker"])
def executor(request: Any) -> Any:
    with contextlib.ExitStack() as stack:
        if request.param == "docker":
            stack.enter_context(docker_client())  # skips (or fails in CI) where docker cannot run
        else:
            require_backend(request.param)
        yield stack.enter_context(conformance_executor(request.param))


@pytest.mark.slow
def test_a_job_never_reads_the_previous_jobs_messages(executor: Any) -> None:
    """A program that breaks the host mid-job (streamed results) leaves later messages in
    the pipe; the next job on that worker (a sibling completion with the same tests, but
    wrong) must be judged on its own results only."""
    hostile, wrong = stale_message_jobs(FORGE_BAD_EXIT)
    first = executor.run(hostile)
    assert Status.SANDBOX_ERROR not in first.statuses, first.outcomes
    assert first.statuses[0] is Status.CRASHED, first.outcomes
    second = executor.run(wrong)
    assert second.statuses == (Status.FAILED, Status.SKIPPED, Status.SKIPPED), second.outcomes
    assert "returned 0" in second.outcomes[0].message


def test_stale_jobs_share_their_tests() -> None:
    hostile, wrong = stale_message_jobs(FORGE_BAD_EXIT)
    assert hostile.tests == wrong.tests and hostile.program != wrong.program
    assert hostile.stop_on_failure and wrong.stop_on_failure


def test_every_boundary_case_is_hostile_and_time_bounded() -> None:
    """A verdict after an hour is a frozen host: every case checks its elapsed time."""
    assert len(CASES) == 18
    for case in CASES:
        assert case.hostile and case.verify is not None, case.name
        assert all(P not in (e if isinstance(e, frozenset) else {e}) for e in case.expect), case.name


# -- a garbled raw result is the test's own status, whatever its fields hold --------------

_ASSERT = prepare_job(Job(program="", tests=(AssertTest("assert f(1) == 2"),)))[0]
_BATCH = prepare_job(Job(program="", tests=(CallBatchTest("f", [(1,)], [2]),)))[0]
_DONE = {"end": "exit", "wstatus": 0, "wall": 0.1, "cpu": 0.05, "out": "", "err": "", "trunc": False}


@pytest.mark.parametrize(
    "raw",
    [
        dict(_DONE, wstatus="abc", lines=['["c",0,{"$t":[2]}]', '["d"]']),
        dict(_DONE, wstatus=float("inf"), lines=['["c",0,{"$t":[2]}]', '["d"]']),
        dict(_DONE, wstatus=[1], lines=['["d"]']),
        dict(_DONE, cpu={"a": 1}, wall="x", out=5, err=None, trunc="yes", lines=['["e",{"type":[1],"tb":7}]']),
        dict(_DONE, lines=["[" * 100_000 + "]" * 100_000]),
        dict(_DONE, lines=['["c",0,' + "[" * 5000 + "]" * 5000 + "]", '["d"]']),
        dict(_DONE, lines=[5, None]),
        {"end": "load_failed", "phase": "load", "info": 5},
        {"end": "load_failed", "phase": "load", "info": {"status": ["crashed"], "msg": {"a": 1}}},
        {"end": "died", "wstatus": "9"},
        dict(_DONE, lines=['["c",0,{"$t":[{"$set":[' + ",".join(str(k * (2**61 - 1)) for k in range(1, 200)) + "]}]}]", '["d"]']),
    ],
    ids=["text-status", "inf-status", "list-status", "wrong-types", "deep-line", "deep-value", "non-text-lines",
         "load-info-int", "load-status-list", "died-text-status", "colliding-set"],
)  # fmt: skip
@pytest.mark.parametrize("prep", [_ASSERT, _BATCH], ids=["assert", "batch"])
def test_garbled_results_are_the_tests_own_non_passed_status(prep: Any, raw: dict[str, Any]) -> None:
    outcome = outcome_from_raw(prep, raw)
    assert outcome.status in (Status.CRASHED, Status.ERROR, Status.FAILED), outcome
    assert outcome.message
    assert isinstance(outcome.stdout, str) and isinstance(outcome.cpu_s, float)


@pytest.mark.parametrize(
    "lines, says",
    [
        (['["c",0,{"$t":[2]}]'] * 5000 + ['["d"]'], "twice"),  # a check's values again and again
        (['["zz",0]'] + ['["c",0,{"$t":[2]}]'] * 5000 + ['["d"]'], "result channel"),  # a frame of no kind
        (["not json"] + ['["c",0,{"$t":[2]}]'] * 5000 + ['["d"]'], "result channel"),  # not a frame
    ],
    ids=["repeated-check", "unknown-frame", "garbage-line"],
)
def test_a_flood_of_frames_is_decoded_only_up_to_the_first_that_decides(
    lines: list[str], says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A program that floods the result channel (to the per-test caps) costs the host a few
    decodes, not one per line: each check comes once, and the first line that is not a
    frame of a known kind ends the reading. It cost ~1.5 s of host CPU a test before."""
    import json as json_module

    from acesandbox import _kinds

    calls = {"n": 0}
    real = json_module.loads

    def counting(text: Any, *a: Any, **k: Any) -> Any:
        calls["n"] += 1
        return real(text, *a, **k)

    monkeypatch.setattr(_kinds.json, "loads", counting)
    outcome = outcome_from_raw(_ASSERT, dict(_DONE, lines=lines))
    assert outcome.status is Status.CRASHED and says in outcome.message, outcome
    assert calls["n"] <= 2


@pytest.mark.parametrize("mode", ["isolated", "shared"])
def test_a_program_finds_nothing_of_the_previous_job_in_its_memory(mode: str) -> None:
    """J is forked from the fork template, which never held a job's data, not from the
    server, whose heap holds what the earlier job (a sibling's solution) sent through it."""
    require_backend("namespace")
    # escape.earlier_job_in_memory's earlier job and scan (anonymous memory, read in place), in both modes
    scan = Job(program=escape._MEMORY_SCAN, tests=("assert remnants() == 0", "assert planted()"), mode=mode)
    with Executor(SandboxConfig(backend="namespace", workers=1)) as ex:  # one sandbox: both jobs on it
        reports = [ex.run(escape._EARLIER), ex.run(scan)]
    assert reports[0].statuses == (Status.PASSED,), reports[0].outcomes
    assert reports[1].statuses == (Status.PASSED, Status.PASSED), [o.message for o in reports[1].outcomes]
