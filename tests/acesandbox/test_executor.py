"""The executor: ordering, streaming with bounded read-ahead, retries, sandbox_error,
bad jobs in a batch, and clean shutdown (no sandbox outlives an interrupted batch)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import acesandbox
from acesandbox import Executor, Job, Limits, Report, SandboxConfig, Status
from acesandbox.backends.base import Backend, Session
from acesandbox.backends.fake import FakeBackend
from acesandbox.errors import SandboxCrashedError

PROG = "def add(a, b):\n    return a + b\n"


def _jobs(n):
    return [(PROG, [f"assert add({i}, 1) == {i + 1}", f"assert add({i}, 1) == {i}"]) for i in range(n)]


def test_run_batch_keeps_input_order(executor):
    reports = executor.map(_jobs(6))
    assert [r.statuses for r in reports] == [(Status.PASSED, Status.FAILED)] * 6
    assert all(r.isolation.startswith(executor.backend.name) for r in reports)


def test_run_batch_does_not_hold_workers_behind_one_slow_job():
    # Job 0 finishes only after 30 of the 40 later jobs have run: reading results in input order
    # with a read-ahead window (8 here) would leave the other worker idle, never done.
    done = threading.Semaphore(0)

    def script(job):
        if job.program.startswith("# slow"):
            for _ in range(30):
                assert done.acquire(timeout=10), "the other worker stopped getting jobs"
        else:
            done.release()
        return ["passed"]

    jobs = [("# slow\nx = 0", ["assert x == 0"])] + [(f"x = {i}", [f"assert x == {i}"]) for i in range(1, 41)]
    sandbox = FakeBackend(SandboxConfig(backend="fake", workers=2, options={"script": script}))
    reports = acesandbox.run_batch(jobs, sandbox=sandbox)
    assert [r.statuses for r in reports] == [(Status.PASSED,)] * 41


def test_iter_batch_unordered_yields_every_index_once():
    seen = sorted(i for i, _ in acesandbox.iter_batch(_jobs(5), sandbox=SandboxConfig(backend="process", workers=2), ordered=False))
    assert seen == [0, 1, 2, 3, 4]


def test_input_is_read_lazily_with_bounded_read_ahead(executor):
    pulled = 0

    def gen():
        nonlocal pulled
        for job in _jobs(10_000):
            pulled += 1
            yield job

    it = executor.imap(gen(), window=4)
    next(it)
    assert pulled <= 4 + 1
    it.close()


def test_bad_job_in_a_batch_is_reported_and_the_rest_run(executor):
    reports = executor.map([(PROG, ["assert add(1, 1) == 2"]), {"program": PROG}, (PROG, 5)])
    assert reports[0].statuses == (Status.PASSED,)
    assert reports[1].statuses == (Status.ERROR,) and "tests" in reports[1].outcomes[0].message
    assert reports[2].statuses == (Status.ERROR,)


class _Broken(Session):
    def run(self, job, on_outcome=None):  # noqa: ANN001
        raise SandboxCrashedError("boom")

    def close(self):
        pass


class _BrokenBackend(Backend):
    name = "broken"
    opened = 0

    def open_session(self, worker=0):  # noqa: ANN001
        type(self).opened += 1
        return _Broken()


def test_sandbox_failure_is_retried_once_then_sandbox_error():
    with Executor(_BrokenBackend(SandboxConfig(workers=1))) as ex:
        before = _BrokenBackend.opened
        report = ex.map([(PROG, ["assert add(1, 1) == 2", "assert True"])])[0]
    assert report.statuses == (Status.SANDBOX_ERROR, Status.SANDBOX_ERROR)
    assert "boom" in report.outcomes[0].message
    assert _BrokenBackend.opened - before == 1  # the retry used a fresh sandbox


def test_sandbox_killed_mid_job_is_retried_on_a_fresh_one(executor):
    # The harness failing (not the program) must be retried, never scored.
    job = Job(PROG, ["import time\ntime.sleep(0.5)\nassert add(1, 1) == 2"])
    session = executor._session(0)
    killed = []

    def kill() -> None:
        os.killpg(session.proc.pid, signal.SIGKILL)
        killed.append(session.proc.pid)

    killer = threading.Timer(0.2, kill)
    killer.start()
    report = executor.run(job)
    killer.join()
    assert killed, "the sandbox was not running the job when it was killed"
    assert report.statuses == (Status.PASSED,)
    assert executor._session(0).proc.pid != killed[0]  # a fresh sandbox ran the retry


def test_fake_backend_scripts_outcomes_for_consumers():
    backend = FakeBackend(SandboxConfig(workers=1, options={"script": lambda job: ["passed", "failed"]}))
    with Executor(backend) as ex:
        report = ex.map([(PROG, ["assert 1", "assert 2"])])[0]
    assert report.statuses == (Status.PASSED, Status.FAILED)


def test_run_tests_convenience_api():
    report = acesandbox.run_tests(PROG, ["assert add(1, 2) == 3", "assert add(1, 2) == 4"], timeout_s=2, sandbox="process")
    assert (report.passed, report.total, report.pass_rate) == (1, 2, 0.5)
    assert isinstance(report, Report)
    assert Report.from_json(report.to_json()) == report
    assert report.backend == "process"


def test_executor_takes_a_config_a_name_or_a_backend():
    with Executor(SandboxConfig(backend="fake", workers=3, memory_mb=256)) as ex:
        assert (ex.backend.name, ex.workers, ex.config.memory_mb) == ("fake", 3, 256)
        assert ex.backend.config is ex.config
    with Executor("fake") as ex:
        assert ex.config == SandboxConfig(backend="fake")
        assert ex.workers == ex.backend.default_workers()
    backend = FakeBackend(SandboxConfig(workers=2))
    with Executor(backend) as ex:
        assert ex.backend is backend and ex.workers == 2
    with pytest.raises(acesandbox.InvalidJobError, match="sandbox must be a SandboxConfig, a backend name or a Backend"):
        Executor(42)  # type: ignore[arg-type]


def test_run_tests_timeout_s_defaults_to_limits_own():
    seen: list[Limits] = []

    def script(job):
        seen.append(job.limits)
        return ["passed"]

    sandbox = FakeBackend(SandboxConfig(workers=1, options={"script": script}))
    acesandbox.run_tests(PROG, ["assert 1"], sandbox=sandbox)
    acesandbox.run_tests(PROG, ["assert 1"], sandbox=sandbox, limits=Limits(timeout_s=7.0, output_bytes=10))
    acesandbox.run_tests(PROG, ["assert 1"], sandbox=sandbox, timeout_s=2.5, limits=Limits(output_bytes=10))
    assert seen == [Limits(), Limits(timeout_s=7.0, output_bytes=10), Limits(timeout_s=2.5, output_bytes=10)]


def test_shared_executor_is_keyed_on_the_sandbox_config_value():
    from acesandbox.executor import shared_executor

    def one(job):
        return ["passed"] * len(job.tests)

    def two(job):
        return ["failed"] * len(job.tests)

    a = shared_executor(SandboxConfig(backend="fake", workers=1, options={"script": one}))
    assert shared_executor(SandboxConfig(backend="fake", workers=1, options={"script": one})) is a
    assert shared_executor(SandboxConfig(backend="fake", workers=1, options={"script": two})) is not a
    assert shared_executor("fake") is shared_executor(SandboxConfig(backend="fake"))


def test_options_a_backend_does_not_read_are_an_error():
    with pytest.raises(acesandbox.InvalidJobError, match=r"SandboxConfig.options \['image'\] mean nothing to the fake backend \(it reads: script\)"):
        FakeBackend(SandboxConfig(options={"image": "x:y"}))
    with pytest.raises(acesandbox.InvalidJobError, match=r"mean nothing to the process backend \(it reads: none\)"):
        Executor(SandboxConfig(backend="process", options={"address": "auto"}))


_HOG = "def hog(mb):\n    block = bytearray(mb << 20)\n    return len(block) > 0\n"


@pytest.mark.parametrize("backend", ["namespace", "process"])
def test_memory_cap_of_the_sandbox_config_is_the_one_enforced(backend):
    from _support import require_backend

    require_backend(backend)
    tests = ["assert hog(64)", "assert hog(400)"]
    with Executor(SandboxConfig(backend=backend, workers=1, memory_mb=200)) as ex:
        small = ex.run(Job(_HOG, tests, limits=Limits(timeout_s=5.0)))
    with Executor(SandboxConfig(backend=backend, workers=1, memory_mb=1024)) as ex:
        large = ex.run(Job(_HOG, tests, limits=Limits(timeout_s=5.0)))
    assert small.statuses == (Status.PASSED, Status.MEMORY)
    assert large.statuses == (Status.PASSED, Status.PASSED)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _tree(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        for tid in os.listdir(f"/proc/{p}/task") if os.path.exists(f"/proc/{p}/task") else []:
            try:
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                kids = []
            out.extend(kids)
            stack.extend(kids)
    return out


@pytest.mark.parametrize("backend", ["namespace", "process"])
def test_ctrl_c_kills_every_sandbox(backend):
    from _support import require_backend

    require_backend(backend)
    script = textwrap.dedent(
        f"""
        import signal
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a background shell may ignore it
        import acesandbox
        jobs = [("import time\\ndef f():\\n    time.sleep(30)\\n    return 1", ["assert f() == 1"] * 3)] * 8
        print("start", flush=True)
        acesandbox.run_batch(jobs, timeout_s=30, sandbox=acesandbox.SandboxConfig(backend={backend!r}, workers=2))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "start"
    deadline = time.monotonic() + 30
    tree: list[int] = []
    while time.monotonic() < deadline:  # wait until the sleeping tests are running
        tree = _tree(proc.pid)
        if len(tree) >= 6:
            break
        time.sleep(0.1)
    assert tree, "no sandbox processes started"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    time.sleep(0.5)
    survivors = [p for p in tree if _alive(p)]
    assert survivors == []


_FILL = (
    "import os\n"
    "def fill(mb):\n"
    "    with open('blob', 'wb') as f:\n"
    "        for _ in range(mb):\n"
    "            f.write(b'x' * (1 << 20))\n"
    "    return os.path.getsize('blob')\n"
)


def test_scratch_size_of_the_sandbox_config_is_the_one_enforced():
    from _support import require_backend

    require_backend("namespace")
    tests = ["assert fill(8) == 8 << 20", "assert fill(32) == 32 << 20"]
    with Executor(SandboxConfig(backend="namespace", workers=1, scratch_mb=16)) as ex:
        small = ex.run(Job(_FILL, tests))
    with Executor(SandboxConfig(backend="namespace", workers=1, scratch_mb=64)) as ex:
        large = ex.run(Job(_FILL, tests))
    assert small.statuses == (Status.PASSED, Status.ERROR)
    assert "No space left on device" in small.outcomes[1].message
    assert large.statuses == (Status.PASSED, Status.PASSED)


_SPAWN = (
    "import threading\n"
    "def spawn(n):\n"
    "    stop = threading.Event()\n"
    "    threads = [threading.Thread(target=stop.wait) for _ in range(n)]\n"
    "    try:\n"
    "        for t in threads:\n"
    "            t.start()\n"
    "        return True\n"
    "    finally:\n"
    "        stop.set()\n"
)


@pytest.mark.parametrize("backend", ["namespace", "process"])
def test_process_cap_of_the_sandbox_config_is_the_one_enforced(backend):
    from _support import require_backend

    require_backend(backend)
    tests = ["assert spawn(4)", "assert spawn(40)"]
    with Executor(SandboxConfig(backend=backend, workers=1, max_processes=8)) as ex:
        small = ex.run(Job(_SPAWN, tests))
    with Executor(SandboxConfig(backend=backend, workers=1, max_processes=64)) as ex:
        large = ex.run(Job(_SPAWN, tests))
    assert small.statuses == (Status.PASSED, Status.ERROR)
    assert "can't start new thread" in small.outcomes[1].message
    assert large.statuses == (Status.PASSED, Status.PASSED)


def test_an_executor_never_closed_removes_its_cgroups_at_exit():
    """The owner forgot close(): exiting the process still kills the sandboxes and removes their cgroups."""
    import glob
    import subprocess
    import sys

    from _support import require_backend

    require_backend("namespace")
    code = (
        "import os, acesandbox; from acesandbox import Executor, SandboxConfig, Job; "
        "ex = Executor(SandboxConfig(backend='namespace', workers=2)); "
        "print(os.getpid(), ex.run(Job('def f(): return 1', ['assert f() == 1'])).pass_rate)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    pid, rate = out.stdout.split()
    assert rate == "1.0"
    left = glob.glob(f"/sys/fs/cgroup/*/acesandbox-{pid}-*") + glob.glob(f"/sys/fs/cgroup/acesandbox-{pid}-*")
    assert left == []


def test_the_default_sandbox_is_probed_once_per_executor():
    from _support import require_backend

    require_backend("namespace")
    # A fresh interpreter: choosing the default backend is remembered per process.
    script = textwrap.dedent(
        """
        from acesandbox._harden import namespaces
        calls = []
        probe = namespaces.probe
        namespaces.probe = lambda: calls.append(1) or probe()
        import acesandbox
        for _ in range(2):
            report = acesandbox.run_batch([("x = 1", ["assert x == 1"])], timeout_s=1.0)[0]
            print(len(calls), report.statuses[0].value, report.backend)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    # The first executor's choice of the default checked the host; the second checks again.
    assert out.stdout.split("\n")[:2] == ["1 passed namespace", "2 passed namespace"]


def test_a_job_cut_short_on_the_host_never_gives_its_results_to_the_next(executor):
    # on_outcome raising (or Ctrl-C) leaves the job's results in the pipe: the next job
    # read them as "a message of another job" and ended crashed.
    session = executor._session(0)
    job = Job("import time\ndef f(x):\n    time.sleep(0.05)\n    return x\n", [f"assert f({i}) == {i}" for i in range(4)])

    def boom(i, outcome):
        raise ValueError("a bug in the caller's callback")

    with pytest.raises(ValueError):
        session.run(job, on_outcome=boom)
    assert session.run(Job(PROG, ["assert add(1, 1) == 2"])).statuses == (Status.PASSED,)


def test_the_longest_time_limits_allowed_run(executor):
    # Past Limits' bound (a week) select() and the sandbox's poll() overflowed: OverflowError, crashed.
    week = 7 * 86400
    report = executor.run(Job(PROG, ["assert add(1, 1) == 2"], limits=Limits(timeout_s=week, wall_timeout_s=week, job_timeout_s=week)))
    assert report.statuses == (Status.PASSED,)
    report = executor.run(Job(PROG, ["assert add(1, 1) == 2"], limits=Limits(timeout_s=week)))  # wall: 3 weeks
    assert report.statuses == (Status.PASSED,)


def test_a_dict_job_keeps_its_own_limits():
    from acesandbox.executor import make_job

    job = make_job({"program": PROG, "tests": [], "limits": {"timeout_s": 0.5}}, {"limits": Limits()})
    assert job.limits.timeout_s == 0.5  # was dropped: the batch's limits ran instead
    assert make_job({"program": PROG, "tests": [], "limits": Limits(timeout_s=2)}, {}).limits.timeout_s == 2
    with pytest.raises(acesandbox.InvalidJobError, match="field 'limits'"):
        make_job({"program": PROG, "tests": [], "limits": 3}, {})


def test_a_test_kind_that_is_not_a_string_is_one_jobs_error():
    # An unhashable kind raised TypeError out of run_batch: every other job's result lost.
    sandbox = FakeBackend(SandboxConfig(backend="fake", workers=1))
    reports = acesandbox.run_batch([(PROG, [{"kind": ["io"]}]), (PROG, ["assert add(1, 1) == 2"])], sandbox=sandbox)
    assert reports[0].statuses == (Status.ERROR,) and "unknown test kind" in reports[0].outcomes[0].message
    assert reports[1].statuses == (Status.PASSED,)


def test_a_closed_executor_says_so_instead_of_sandbox_errors():
    ex = Executor(FakeBackend(SandboxConfig(backend="fake", workers=1)))
    ex.close()
    with pytest.raises(acesandbox.SandboxUnavailableError, match="closed"):
        ex.map([(PROG, ["assert add(1, 1) == 2"])])
    with pytest.raises(acesandbox.SandboxUnavailableError, match="closed"):
        ex.run(Job(PROG, ["assert add(1, 1) == 2"]))


def test_an_abandoned_batch_kills_only_its_own_sandboxes():
    # Closing one imap killed every sandbox: another thread's run ended sandbox_error.
    long_job = Job("import time\ndef f():\n    time.sleep(1.5)\n    return 1\n", ["assert f() == 1"])
    short = ("import time\ndef f():\n    time.sleep(0.2)\n    return 1\n", ["assert f() == 1"])
    with Executor(SandboxConfig(backend="process", workers=2)) as ex:
        out = []
        other = threading.Thread(target=lambda: out.append(ex.run(long_job)))
        other.start()
        time.sleep(0.3)
        batch = ex.imap([short] * 5)
        assert next(batch)[1].statuses == (Status.PASSED,)
        batch.close()
        other.join()
    assert out[0].statuses == (Status.PASSED,), out[0].outcomes[0].message


class _Gated(Session):
    """A session whose jobs wait on the test's events: ``hold`` runs until killed, ``quick``
    until the interrupted batch starts killing, ``other`` until the batch is over."""

    def __init__(self, gates: dict[str, threading.Event], killed: list[str]) -> None:
        self.gates, self.killed = gates, killed
        self.current: str | None = None
        self.closed = threading.Event()

    def run(self, job, on_outcome=None):  # noqa: ANN001
        self.current = job.job_id
        try:
            self.gates[f"{job.job_id} started"].set()
            if job.job_id == "hold":
                self.closed.wait(10)
            elif job.job_id == "quick":
                self.gates["killing"].wait(10)
            else:
                self.gates["batch over"].wait(10)
            if self.closed.is_set():
                raise SandboxCrashedError(f"killed while running {job.job_id}")
            return Report(outcomes=(acesandbox.Outcome(Status.PASSED),), job_id=job.job_id, backend="gated")
        finally:
            self.current = None

    def close(self):
        if self.current is not None and self.current != "quick":
            self.killed.append(self.current)
        if self.current == "hold":
            # The interrupted batch is between choosing the sandboxes to kill and killing
            # them: its quick job ends meanwhile and another caller takes that slot.
            self.gates["killing"].set()
            self.gates["other started"].wait(5)
        self.closed.set()


class _GatedBackend(Backend):
    name = "gated"

    def __init__(self, config=None):  # noqa: ANN001
        super().__init__(config)
        self.gates = {k: threading.Event() for k in ("hold started", "quick started", "other started", "killing", "batch over")}
        self.killed: list[str] = []

    def open_session(self, worker=0):  # noqa: ANN001
        return _Gated(self.gates, self.killed)


def test_an_interrupted_batch_never_kills_a_slot_it_gave_back_meanwhile():
    # The batch listed its slots, then killed them one by one: a slot its worker gave back
    # in between (its job done) was taken by another caller, whose sandbox it then killed.
    backend = _GatedBackend(SandboxConfig(workers=2))
    gates = backend.gates
    out: list[Report] = []
    with Executor(backend) as ex:
        other = threading.Thread(target=lambda: out.append(ex.run(Job(PROG, ["assert True"], job_id="other"))))

        def jobs():
            yield Job(PROG, ["assert True"], job_id="hold")  # slot 0: no other worker has a job yet
            assert gates["hold started"].wait(5)
            yield Job(PROG, ["assert True"], job_id="quick")  # slot 1
            assert gates["quick started"].wait(5)
            other.start()  # waits for a free slot
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            list(ex.imap(jobs()))
        gates["batch over"].set()
        other.join(10)
    assert gates["other started"].is_set()
    assert backend.killed == ["hold"]  # the batch's own running job, not the other caller's
    assert out and out[0].statuses == (Status.PASSED,), out


def test_batches_sharing_an_executor_never_deadlock():
    # Each batch worker kept its slot while waiting for more of its own batch's input: with
    # more batches than slots, every batch's last job waited for a slot that another batch's
    # idle worker held, for ever.
    def script(job):
        time.sleep(0.001)
        return ["passed"]

    with Executor(FakeBackend(SandboxConfig(backend="fake", workers=2, options={"script": script}))) as ex:
        for _round in range(15):
            done: list[int] = []
            jobs = [(f"x = {i}", [f"assert x == {i}"]) for i in range(40)]
            threads = [
                threading.Thread(target=lambda d=done, j=jobs: d.append(len(ex.map(j))), daemon=True) for _ in range(3)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            assert done == [40, 40, 40], "batches sharing the executor deadlocked"


def test_an_item_whose_validation_raises_anything_is_that_jobs_error():
    # Limits(timeout_s=10**400) raised OverflowError, not InvalidJobError: the whole batch
    # ended with it and every other job's report was lost. Errors name the item's index.
    items = [
        ("x = 1", ["assert x == 1"]),
        {"program": "x = 1", "tests": ["assert x == 1"], "limits": {"timeout_s": 10**400}, "job_id": "big"},
        ("x = 1", 5),
        ("x = 1", ["assert x == 1"]),
    ]
    reports = acesandbox.run_batch(items, sandbox=FakeBackend(SandboxConfig(backend="fake", workers=2)))
    assert [r.statuses for r in reports] == [(Status.PASSED,), (Status.ERROR,), (Status.ERROR,), (Status.PASSED,)]
    assert reports[1].outcomes[0].message.startswith("job 1: OverflowError")
    assert reports[1].job_id == "big"
    assert reports[2].outcomes[0].message.startswith("job 2: ")


def test_an_input_that_raises_reports_the_jobs_read_before_it():
    # The generator's error killed the sandboxes running the jobs already read from it:
    # their reports were lost. They are reported first, then the error is raised.
    def jobs():
        for i in range(5):
            yield (f"x = {i}", [f"assert x == {i}"])
        raise ValueError("the reader failed")

    seen = []
    with pytest.raises(ValueError, match="the reader failed"):
        for i, report in acesandbox.iter_batch(jobs(), sandbox=FakeBackend(SandboxConfig(backend="fake", workers=2))):
            seen.append((i, report.statuses))
    assert sorted(seen) == [(i, (Status.PASSED,)) for i in range(5)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_neither_uses_nor_kills_its_parents_sandboxes():
    # The child shared the parent's sandbox pipes with the same message ids (each process got
    # the other's verdicts), and a child ending normally killed them at exit.
    from acesandbox.errors import SandboxUnavailableError
    from acesandbox.executor import _close_shared

    config = SandboxConfig(backend="process", workers=1)
    assert acesandbox.run_tests(PROG, ["assert add(1, 1) == 2"], sandbox=config).all_passed
    mine = Executor(config)
    parent_pid = mine._sessions[0].proc.pid
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            try:
                mine.run(Job(PROG, ["assert add(1, 1) == 2"]))
            except SandboxUnavailableError:
                report = acesandbox.run_tests(PROG, ["assert add(1, 1) == 3"], sandbox=config)
                code = 0 if report.statuses == (Status.FAILED,) else 2
            _close_shared()  # what a child that exits normally runs at exit
        finally:
            os.write(w, bytes([code]))
            os._exit(0)
    os.close(w)
    code = os.read(r, 1)
    os.close(r)
    os.waitpid(pid, 0)
    try:
        assert code == b"\0", "the child could not run its own job on a sandbox of its own"
        assert mine._sessions[0].proc.poll() is None, "the child killed the parent's sandbox"
        assert mine.run(Job(PROG, ["assert add(1, 1) == 2"])).statuses == (Status.PASSED,)
        assert mine._sessions[0].proc.pid == parent_pid
    finally:
        mine.close()


def test_a_session_closed_while_it_replaces_its_sandbox_kills_the_new_one():
    # close() from another thread (an interrupted batch, Executor.close) killed the process it
    # saw and closed its pipes under the running thread; a sandbox that thread started
    # meanwhile, replacing a crashed one, ran the job and was never killed.
    from _support import require_backend

    from acesandbox.backends.base import get_backend
    from acesandbox.errors import SandboxError

    require_backend("namespace")  # the process backend's start needs what close() removes
    session = get_backend("namespace", SandboxConfig(backend="namespace", workers=1)).open_session(0)
    spawn = session._spawn

    def spawn_after_a_close(*args):  # noqa: ANN002
        closer = threading.Thread(target=session.close)
        closer.start()
        closer.join(10)
        return spawn(*args)

    session._stale = True  # the last job crashed it: this run starts a fresh sandbox
    session._spawn = spawn_after_a_close
    try:
        session.run(Job(PROG, ["assert add(1, 1) == 2"]))
    except SandboxError:
        pass
    assert session.proc.poll() is not None, "the sandbox started after close() outlived it"
    assert session.proc.stdout.closed, "its pipes were left open"


class _Counted(Session):
    def __init__(self, closed):  # noqa: ANN001
        self.closed = closed

    def run(self, job, on_outcome=None):  # noqa: ANN001
        raise AssertionError("not run")

    def close(self):
        self.closed.append(self)


class _InterruptedStartBackend(Backend):
    name = "interrupted-start"

    def __init__(self, config=None):  # noqa: ANN001
        super().__init__(config)
        self.opened: list[Session] = []
        self.closed: list[Session] = []

    def open_session(self, worker=0):  # noqa: ANN001
        if worker == 1:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the sandboxes start
            time.sleep(0.3)
        s = _Counted(self.closed)
        self.opened.append(s)
        return s


def test_ctrl_c_while_an_executor_starts_closes_every_sandbox_it_started():
    # The sandboxes still starting were never stored: they ran on until the host exited.
    backend = _InterruptedStartBackend(SandboxConfig(workers=2))
    with pytest.raises(KeyboardInterrupt):
        Executor(backend)
    deadline = time.monotonic() + 5
    while len(backend.opened) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    assert len(backend.opened) == 2 and sorted(map(id, backend.closed)) == sorted(map(id, backend.opened))
