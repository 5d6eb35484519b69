"""Regressions of the in-sandbox fork server, run on every real backend."""

from __future__ import annotations

import os

import pytest

from acesandbox import Limits, Status
from acesandbox.executor import make_job

LOOPS_ON_ONE = "def f(x):\n    while x == 1:\n        pass\n    return x\n"


def test_shared_mode_does_not_blame_a_fast_test_for_the_next_ones_hang(executor):
    # J runs on without waiting in shared mode: a test's end frame can arrive in the same
    # read as the previous step's, and must not be left waiting in the buffer.
    tests = ["assert f(0) == 0", "assert f(1) == 1"] * 2
    jobs = [(LOOPS_ON_ONE, tests)] * 6
    reports = executor.map(jobs, defaults={"limits": Limits(timeout_s=0.5), "mode": "shared"})
    expected = (Status.PASSED, Status.TIMEOUT) * 2
    assert [r.statuses for r in reports] == [expected] * 6


def test_isolated_and_shared_agree_on_independent_tests(executor):
    tests = ["assert f(0) == 0", "assert f(1) == 1", "assert f(2) == 3", "assert f(3) == 3"]
    limits = Limits(timeout_s=0.5)
    iso = executor.map([(LOOPS_ON_ONE, tests)], defaults={"limits": limits})[0]
    shared = executor.map([(LOOPS_ON_ONE, tests)], defaults={"limits": limits, "mode": "shared"})[0]
    assert iso.statuses == shared.statuses == (Status.PASSED, Status.TIMEOUT, Status.FAILED, Status.PASSED)


ADD = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"
FORGES = (
    "import os\n"
    "for fd in range(3, 64):\n"
    "    try:\n"
    "        os.write(fd, b'\\n[\"d\"]\\n{\"op\":\"end\",\"id\":1,\"results\":[]}\\n' * 50)\n"
    "    except OSError:\n"
    "        pass\n" + ADD
)


def _session(executor):
    return executor.backend.open_session(0)


def test_a_job_sent_ahead_gets_its_own_results(executor):
    # The hinted job goes to the server during the current one and starts without waiting
    # for the host: each job still gets exactly its own verdicts.
    a = make_job((ADD, ["assert add(1, 2) == 3"]), {})
    b = make_job((WRONG, ["assert add(1, 2) == 3", "assert add(2, 2) == 0"]), {})
    with _session(executor) as s:
        s.hint_next(b)
        assert s.run(a).statuses == (Status.PASSED,)
        assert s._ahead is not None and s._ahead[0] is b  # it really went ahead
        assert s.run(b).statuses == (Status.FAILED, Status.PASSED)


def test_a_job_sent_ahead_but_not_run_never_answers_another(executor):
    # The caller ran something else: the server's queued job must not be read as its results.
    a = make_job((ADD, ["assert add(1, 2) == 3"]), {})
    b = make_job((WRONG, ["assert add(1, 2) == 3"]), {})
    c = make_job((ADD, ["assert add(2, 2) == 4", "assert add(0, 0) == 0"]), {})
    with _session(executor) as s:
        s.hint_next(b)
        assert s.run(a).statuses == (Status.PASSED,)
        assert s.run(c).statuses == (Status.PASSED, Status.PASSED)
        assert s.run(b).statuses == (Status.FAILED,)


def test_a_forging_job_does_not_reach_the_job_sent_ahead(executor):
    # A program that floods every descriptor with forged frames ends its own job; the job
    # queued behind it in the same server is rerun on a fresh one, judged on its own results.
    forger = make_job((FORGES, ["assert add(1, 2) == 3"]), {})
    honest = make_job((WRONG, ["assert add(1, 2) == 3"]), {})
    with _session(executor) as s:
        s.hint_next(honest)
        s.run(forger)
        assert s.run(honest).statuses == (Status.FAILED,)


def test_batches_send_ahead_and_keep_every_verdict(executor):
    # map() hints each worker's next job; stop_on_failure's stop then lands while the
    # next job is already queued in the server: it must stop only its own job.
    jobs = []
    for i in range(30):
        program = (ADD, WRONG, FORGES)[i % 3]
        jobs.append({"program": program, "tests": ["assert add(1, 2) == 3", "assert add(2, 2) == 4"], "stop_on_failure": i % 2 == 0})
    reports = executor.map(jobs)
    for i, r in enumerate(reports):
        if i % 3 == 1:
            assert r.statuses == ((Status.FAILED, Status.SKIPPED) if i % 2 == 0 else (Status.FAILED, Status.FAILED))
        elif i % 3 == 0:
            assert r.statuses == (Status.PASSED, Status.PASSED)


TIME_WAIT = (
    "import socket\n"
    "def leave_time_wait():\n"
    "    srv = socket.socket()\n"
    "    srv.bind(('127.0.0.1', 12345))\n"
    "    srv.listen(1)\n"
    "    cli = socket.create_connection(('127.0.0.1', 12345))\n"
    "    conn, _ = srv.accept()\n"
    "    conn.close()  # the side that closes first keeps the port in TIME_WAIT\n"
    "    cli.close()\n"
    "    srv.close()\n"
    "    return True\n"
    "def bind_again():\n"
    "    s = socket.socket()\n"
    "    try:\n"
    "        s.bind(('127.0.0.1', 12345))\n"
    "        return True\n"
    "    except OSError:\n"
    "        return False\n"
    "    finally:\n"
    "        s.close()\n"
)


def test_tcp_state_a_job_leaves_never_reaches_the_next_job():
    # TIME_WAIT outlives the program's processes; in a network namespace that lasts as long
    # as the sandbox, the next job (a sibling completion) could not bind that port
    # (BigCodeBench/1040). A job that leaves TCP state retires its sandbox.
    from _support import require_backend

    from acesandbox import Executor, SandboxConfig

    require_backend("namespace")
    with Executor(SandboxConfig(backend="namespace", workers=1)) as ex:
        first = ex.run(make_job((TIME_WAIT, ["assert leave_time_wait() is True", "assert bind_again() is False"]), {"mode": "shared"}))
        second = ex.run(make_job((TIME_WAIT, ["assert bind_again() is True"]), {}))
        jobs = [(TIME_WAIT, ["assert leave_time_wait() is True"]), (TIME_WAIT, ["assert bind_again() is True"])] * 3
        batch = ex.map(jobs)  # with each next job sent ahead to the retiring sandbox
    assert first.statuses == (Status.PASSED, Status.PASSED)  # the state is real: the same job cannot rebind
    assert second.statuses == (Status.PASSED,)
    assert [r.statuses for r in batch] == [(Status.PASSED,)] * 6


DOUBLES = (
    "import sys\n"
    "def double(n):\n"
    "    print('called', n)\n"
    "    return 2 * n\n"
    "if __name__ == '__main__':\n"
    "    n = int(sys.stdin.readline())\n"
    "    print(double(n))\n"
    "    print('note', n, file=sys.stderr)\n"
)


def test_shared_mode_gives_each_stdin_test_its_own_output(executor):
    """J runs ahead in shared mode; with stdin/stdout tests it waits for pid 1 after each one,
    so no test's output is read as the next one's (all of them failed now and then before)."""
    from acesandbox import IOTest

    tests = [IOTest(f"{n}\n", f"called {n}\n{2 * n}\n") for n in range(8)] + ["assert double(2) == 4"] * 2
    tests += [IOTest("9\n", "called 9\n18\n")]
    reports = executor.map([(DOUBLES, tests)] * 5, defaults={"mode": "shared"})
    for report in reports:
        assert report.statuses == (Status.PASSED,) * 11
        io = report.outcomes[:8] + report.outcomes[10:]
        assert [o.stdout for o in io] == [f"called {n}\n{2 * n}\n" for n in (*range(8), 9)]
        assert [o.stderr for o in io] == [f"note {n}\n" for n in (*range(8), 9)]


def test_shared_mode_runs_each_unittest_test_that_reuses_a_class_name(executor):
    """BigCodeBench's tests all name their class TestCases: in shared mode the second one
    rebinds that name in the program's namespace, and must still run (not `NoTests`)."""
    from acesandbox import UnittestTest

    def case(method: str, arg: int, want: int) -> UnittestTest:
        return UnittestTest(
            f"import unittest\nclass TestCases(unittest.TestCase):\n    def {method}(self):\n        self.assertEqual(g({arg}), {want})\n"
        )

    for compare in ("strict", "compat"):
        job = make_job(("def g(x):\n    return 2 * x\n", [case("test_a", 1, 2), case("test_b", 2, 4), case("test_c", 3, 7)]),
                       {"mode": "shared", "compare": compare, "limits": Limits(timeout_s=5.0)})
        report = executor.run(job)
        assert report.statuses == (Status.PASSED, Status.PASSED, Status.FAILED), (compare, report.outcomes)


STOPS_READING_CTRL = '''
import array, fcntl, os, sys, termios, time
job = sys.modules.get("_acesandbox_rt._sandbox.job")
if job is not None:
    for fd in range(3, 64):  # the control pipe (pid 1's lines to J): one page
        try:
            if fcntl.fcntl(fd, fcntl.F_GETFL) & 3 == os.O_RDONLY and os.fstat(fd).st_mode & 0o170000 == 0o010000:
                fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ
        except OSError:
            pass
    real, state = job._read_line, []
    def read_line(fd):  # the first line read; then each one waited for (FIONREAD), never read
        if not state:
            state[:] = [int(real(fd)), 0]
            return b"%d" % state[0]
        state[0] += 1
        state[1] += len(b"%d\\n" % state[0])
        buf = array.array("i", [0])
        while True:
            fcntl.ioctl(fd, termios.FIONREAD, buf, True)
            if buf[0] >= state[1]:
                return b"%d" % state[0]
            time.sleep(0.0005)
    job._read_line = read_line
def f(x):
    return x
'''


def test_a_program_that_stops_reading_its_control_pipe_never_blocks_the_server(executor):
    # pid 1 wrote each test's number with a blocking write: once a page of them sat unread
    # (~1,040 tests) it blocked for good, and the host ended the sandbox after its deadline
    # (twice: the job came out crashed after minutes). Its writes are non-blocking now.
    n = 1100
    limits = Limits(timeout_s=1.0, job_timeout_s=60.0)
    [report] = executor.map([(STOPS_READING_CTRL, [f"assert f({i}) == {i}" for i in range(n)])], defaults={"limits": limits})
    assert Status.CRASHED not in report.statuses
    assert report.statuses.count(Status.PASSED) >= n - 2


RT_PROBE = (
    "import acesandbox, sys\n"
    "prog = 'import resource\\ndef limits():\\n    return [resource.getrlimit(r) for r in (resource.RLIMIT_RTPRIO, resource.RLIMIT_NICE)]\\n'\n"
    "r = acesandbox.run_tests(prog, ['assert limits() == [(0, 0), (0, 0)]'], sandbox=sys.argv[1])\n"
    "print(r.statuses[0].value)\n"
)


@pytest.mark.parametrize("backend", ["namespace", "process"])
def test_a_host_with_real_time_priority_allowed_hands_none_to_programs(backend):
    """A host running with RLIMIT_RTPRIO and RLIMIT_NICE raised (systemd's LimitRTPRIO=,
    docker's --ulimit) handed them to every program, which took SCHED_FIFO or nice -20
    ahead of every host process: the server lowers both to 0 at its start."""
    import resource
    import subprocess
    import sys

    probe = "import resource as r; r.setrlimit(r.RLIMIT_RTPRIO, (50, 50)); r.setrlimit(r.RLIMIT_NICE, (40, 40))"
    if subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode != 0:
        pytest.skip("this host cannot raise RLIMIT_RTPRIO and RLIMIT_NICE (needs CAP_SYS_RESOURCE)")

    def raise_limits():
        resource.setrlimit(resource.RLIMIT_RTPRIO, (50, 50))
        resource.setrlimit(resource.RLIMIT_NICE, (40, 40))

    out = subprocess.run([sys.executable, "-c", RT_PROBE, backend], capture_output=True, text=True, timeout=120,
                         preexec_fn=raise_limits)
    assert out.stdout.strip().splitlines()[-1] == "passed", out.stderr[-2000:]


def test_the_code_cache_compiles_each_planned_test_once_and_keeps_the_latest() -> None:
    from acesandbox._sandbox.loop import CodeCache

    cache = CodeCache(entries=2, max_chars=40)
    first = cache.get("__ace_check__(0, (f(1),))")
    assert first is not None and first.co_filename == "<test>"
    assert cache.get("__ace_check__(0, (f(1),))") is first  # a hit: the same code object
    cache.get("x = 2")
    cache.get("__ace_check__(0, (f(1),))")  # used last: "x = 2" is now the oldest
    cache.get("y = 3")
    assert list(cache.codes) == ["__ace_check__(0, (f(1),))", "y = 3"]
    # Longer than max_chars, or code that does not compile: J compiles it and reports.
    assert cache.get("z = 1  # " + "." * 40) is None
    assert cache.get("def (") is None
    assert len(cache.codes) == 2

