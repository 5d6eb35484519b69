"""Streaming scoring: units finish as their jobs do; sandbox errors are rescored, never scored 0."""

from __future__ import annotations

import itertools

from acesandbox import SandboxCrashedError
from harness.scoring import ScoreStream, Unit, statuses_by_program


def test_units_come_back_whole_with_reports_in_program_order(fake_executor, by_program):
    stream = ScoreStream(fake_executor(by_program), {})
    units = [Unit(k, [f"# pass {k}", None, "# pass 0 1 2"], ["assert 1", "assert 2", "assert 3"]) for k in range(3)]
    got = {u.key: reports for u, reports in stream.run(units)}
    assert sorted(got) == [0, 1, 2]
    for k, reports in got.items():
        assert reports[1] is None  # no code: not run
        assert [o.status.value for o in reports[0].outcomes] == ["passed" if i == k else "failed" for i in range(3)]
        assert reports[2].passed == 3
    assert stream.timing.jobs == 6
    assert statuses_by_program(got[0], 3)[1] == ["error"] * 3


def test_a_unit_without_code_is_still_returned(fake_executor, by_program):
    stream = ScoreStream(fake_executor(by_program), {})
    out = list(stream.run([Unit("none", [None, None], ["assert 1"]), Unit("one", ["# pass 0"], ["assert 1"])]))
    assert sorted(u.key for u, _ in out) == ["none", "one"]


def test_sandbox_errors_are_rescored_then_left_unscored(fake_executor, by_program):
    calls = itertools.count()

    def flaky(job):
        # The first two attempts of this program fail in the sandbox (the executor retries once itself).
        if "# flaky" in job.program and next(calls) < 2:
            raise SandboxCrashedError("transient")
        return by_program(job)

    stream = ScoreStream(fake_executor(flaky, workers=1), {}, retries=1)
    units = [
        Unit("flaky", ["# flaky # pass 0"], ["assert 1"]),
        Unit("broken", ["# sandbox"], ["assert 1"]),
        Unit("fine", ["# pass 0"], ["assert 1"]),
    ]
    got = {u.key: r for u, r in stream.run(units)}
    assert got["flaky"] is not None and got["flaky"][0].passed == 1
    assert got["fine"][0].passed == 1
    assert got["broken"] is None  # unscored: never a 0
    assert stream.timing.rounds == 2 and stream.timing.unscored == 1
