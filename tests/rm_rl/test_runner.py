"""JobRunner: lazy start, FIFO dispatch, failures as sandbox_error, pickling, closing."""

from __future__ import annotations

import pickle
import threading

from acesandbox import Job, SandboxConfig, Status
from rm_rl import JobRunner


def job(program="x = 1", n=2):
    return Job(program=program, tests=["assert x == 1"] * n)


def test_given_executor_is_used_and_never_closed(fake):
    script, ex = fake
    runner = JobRunner(executor=ex)
    reports = runner.run([job(), job(n=3)])
    assert [r.total for r in reports] == [2, 3] and all(r.all_passed for r in reports)
    runner.close()
    assert runner.run([job()])[0].all_passed  # the given executor still works
    assert len(script.jobs) == 3


def test_an_unexpected_failure_is_a_sandbox_error(fake):
    script, ex = fake

    def answer(j):
        raise RuntimeError("harness bug")

    script.answer = answer
    [report] = JobRunner(executor=ex).run([job(n=3)])
    assert report.statuses == (Status.SANDBOX_ERROR,) * 3 and report.sandbox_error
    assert "RuntimeError: harness bug" in report.outcomes[0].message


def test_pending_counts_and_close_cancels_queued_jobs(fake):
    script, ex = fake
    script.gate = threading.Event()
    runner = JobRunner(executor=ex)
    futures = [runner.submit(job()) for _ in range(6)]
    assert script.started.wait(10)
    assert runner.pending == 6
    runner.close()  # queued ones are cancelled; the two running ones finish
    script.gate.set()
    cancelled = sum(f.cancelled() for f in futures)
    assert cancelled == 4
    assert all(f.result().all_passed for f in futures if not f.cancelled())


def test_pickles_without_its_sandboxes(fake):
    _, ex = fake
    sandbox = SandboxConfig(workers=3, preload=("json",))
    runner = JobRunner(sandbox, executor=ex)
    runner.run([job()])
    copy = pickle.loads(pickle.dumps(runner))
    assert not copy.started and copy._given is None and copy.sandbox == sandbox


def test_own_executor_lifecycle(sandbox):
    runner = JobRunner(SandboxConfig(backend="namespace", workers=1))
    assert not runner.started
    assert runner.run([job()])[0].all_passed
    assert runner.started and runner.workers == 1 and runner.isolation == "namespace"
    runner.close()
    assert not runner.started
    assert runner.run([job()])[0].all_passed  # starts again on demand
    runner.close()
