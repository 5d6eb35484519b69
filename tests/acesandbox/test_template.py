"""The fork template J comes from (acesandbox/_sandbox/template.py): J is the server's child,
and a program that kills or stops the template costs no other job anything."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest

from _support import require_backend
from acesandbox import Executor, Job, Limits, SandboxConfig, Status
from acesandbox._sandbox.template import Template, TemplateGone
from acesandbox.conformance.escape import _EARLIER, _MEMORY_SCAN

P, T = Status.PASSED, Status.TIMEOUT


def _report_j(start: int, fds: dict[str, int], cfg: dict[str, Any]) -> None:
    """A stand-in J body: writes its start index, pid, parent and the job's bytes."""
    job = os.pread(fds["job"], 100, 0)
    os.write(fds["res_w"], b"%d %d %d %s" % (start, os.getpid(), os.getppid(), job))


def _spawn(template: Template) -> tuple[int, bytes]:
    r, w = os.pipe()
    job = os.memfd_create("job")
    os.write(job, b"the job")
    try:
        pid, pidfd = template.spawn([w, w, w, w, job], 7)
        os.close(pidfd)
    finally:
        os.close(w)
        os.close(job)
    try:
        data = b""
        while chunk := os.read(r, 200):
            data += chunk
    finally:
        os.close(r)
    return pid, data


def test_j_is_the_callers_child_and_reads_its_job_from_the_memfd() -> None:
    template = Template.start({}, _report_j)
    try:
        pid, data = _spawn(template)
        assert data == b"7 %d %d the job" % (pid, os.getpid())
        assert os.waitpid(pid, 0) == (pid, 0)  # our child: its exit status is ours to read
        assert template.alive() and template.live_pids() == (template.pid,)
    finally:
        template.close()


def test_a_dead_template_is_gone_never_a_hang() -> None:
    template = Template.start({}, _report_j)
    os.kill(template.pid, signal.SIGKILL)
    with pytest.raises(TemplateGone):
        _spawn(template)
    assert not template.alive() and template.live_pids() == ()
    with pytest.raises(ChildProcessError):
        os.waitpid(template.pid, os.WNOHANG)  # reaped


def test_a_stopped_template_is_woken() -> None:
    template = Template.start({}, _report_j)
    try:
        os.kill(template.pid, signal.SIGSTOP)
        pid, data = _spawn(template)
        assert data.startswith(b"7 %d " % pid)
        os.waitpid(pid, 0)
    finally:
        template.close()


def _report_q(test: dict[str, Any], k: int, fds: dict[str, int], lim: dict[str, Any], cfg: dict[str, Any]) -> None:
    """A stand-in Q body: writes its test, index, limits, pid, parent and the code memfd's bytes."""
    code = os.pread(fds["codes"], 100, 0)
    os.write(fds["verdict"], b"%s %d %s %d %d %s" % (repr(test).encode(), k, repr(lim).encode(), os.getpid(), os.getppid(), code))


def test_a_test_process_comes_from_the_template_even_with_a_j_forked_ahead() -> None:
    """Q is forked by the template (the server's heap holds earlier jobs' data) and is the
    caller's child; a J asked for ahead is answered first and still taken by the next spawn."""
    template = Template.start({}, _report_j, _report_q)
    try:
        template.prefork()  # its answer is still unread when Q is asked for
        r, w = os.pipe()
        codes = os.memfd_create("codes")
        os.write(codes, b"the tests")
        try:
            qpid = template.spawn_q([w, w, codes], b'{"k": 3, "test": {"names": ["f"]}, "limits": {"timeout_s": 1}}')
        finally:
            os.close(w)
            os.close(codes)
        data = os.read(r, 500)
        os.close(r)
        assert data == b"{'names': ['f']} 3 {'timeout_s': 1} %d %d the tests" % (qpid, os.getpid())
        assert os.waitpid(qpid, 0) == (qpid, 0)
        ahead = template.ready
        assert ahead is not None and ahead[0] != qpid
        pid, data = _spawn(template)
        assert pid == ahead[0] and data == b"7 %d %d the job" % (pid, os.getpid())
        assert os.waitpid(pid, 0) == (pid, 0)
    finally:
        template.close()


def test_a_dead_template_starts_no_test_process() -> None:
    template = Template.start({}, _report_j, _report_q)
    os.kill(template.pid, signal.SIGKILL)
    r, w = os.pipe()
    try:
        with pytest.raises(TemplateGone):
            template.spawn_q([w, w, w], b"{}")
    finally:
        os.close(r)
        os.close(w)


def _children() -> set[int]:
    me = os.getpid()
    return {int(p) for t in os.listdir(f"/proc/{me}/task") for p in open(f"/proc/{me}/task/{t}/children").read().split()}


def test_a_j_forked_ahead_that_was_killed_is_replaced() -> None:
    template = Template.start({}, _report_j)
    try:
        before = _children()
        template.prefork()
        deadline = time.monotonic() + 10
        while not _children() - before and time.monotonic() < deadline:
            time.sleep(0.01)
        (ahead,) = _children() - before  # waiting for its job, our child (CLONE_PARENT)
        os.kill(ahead, signal.SIGKILL)
        while open(f"/proc/{ahead}/stat").read().split()[2] != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)  # dead, not just signalled
        pid, data = _spawn(template)
        assert pid != ahead and data == b"7 %d %d the job" % (pid, os.getpid())
        assert os.waitpid(pid, 0) == (pid, 0)
        with pytest.raises(ChildProcessError):
            os.waitpid(ahead, os.WNOHANG)  # reaped when it could not take the job
    finally:
        template.close()


def _ahead(template: Template) -> int:
    """The pid of the J the template forked ahead, once its answer came."""
    deadline = time.monotonic() + 10
    while len(template.live_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert template.ready is not None
    return template.ready[0]


def test_a_j_forked_ahead_is_spared_by_sweeps_and_takes_the_next_job() -> None:
    template = Template.start({}, _report_j)
    try:
        pid, _ = _spawn(template)
        os.waitpid(pid, 0)
        template.prefork()
        ahead = _ahead(template)
        assert ahead != pid and template.live_pids() == (template.pid, ahead)
        assert ahead in _children()  # ours (CLONE_PARENT): waiting for its job
        nxt, data = _spawn(template)
        assert nxt == ahead and data == b"7 %d %d the job" % (ahead, os.getpid())
        os.waitpid(nxt, 0)
    finally:
        template.close()


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGTERM, signal.SIGALRM, signal.SIGSTOP])
def test_a_signal_sent_to_the_j_ahead_never_reaches_its_job(sig: int) -> None:
    """Should a program signal the J waiting for the next job (same user): that J blocks
    every signal while it waits and drops them with its job (or is continued), so the next
    job runs whole and J exits normally."""
    template = Template.start({}, _report_j)
    try:
        first, _ = _spawn(template)
        os.waitpid(first, 0)
        template.prefork()
        ahead = _ahead(template)
        os.kill(ahead, sig)
        pending = time.monotonic() + 10
        while time.monotonic() < pending:  # the signal is pending (or the J stopped), not lost in flight
            status = open(f"/proc/{ahead}/status").read()
            if "\nState:\tT" in status or any(line.startswith(("SigPnd:", "ShdPnd:")) and int(line.split()[1], 16) for line in status.splitlines()):
                break
            time.sleep(0.01)
        pid, data = _spawn(template)
        assert pid == ahead and data == b"7 %d %d the job" % (ahead, os.getpid())
        assert os.waitpid(pid, 0) == (pid, 0)  # exited normally, not by the signal
    finally:
        template.close()


def test_the_template_holds_no_descriptor_but_its_socket_and_devnull() -> None:
    extra = os.open(os.devnull, os.O_RDONLY)  # one of ours it must not keep
    template = Template.start({}, _report_j)
    try:
        pid, _ = _spawn(template)
        os.waitpid(pid, 0)
        deadline = time.monotonic() + 10
        while len(template.live_pids()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # the next J, forked ahead: once it answered, the template is in its loop
        while True:  # and closed its own copies of that J's socket and pidfd
            links = sorted(os.readlink(f"/proc/{template.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{template.pid}/fd") if int(fd) > 2)
            if len(links) <= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert len(links) == 2 and links[0] == os.devnull and links[1].startswith("socket:"), links
    finally:
        os.close(extra)
        template.close()


_KILL_TEMPLATE = """\
import os, signal, time
def others():
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid())]
def kill_others(sig=signal.SIGKILL):
    for pid in others():
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    return True
def spin():
    while True:
        pass
"""

_NORMAL = Job(program="def f(x):\n    return x + 1\n", tests=("assert f(1) == 2", "assert f(2) == 3"))


@pytest.mark.parametrize("mode", ["isolated", "shared"])
def test_a_program_that_kills_the_template_costs_only_its_own_job(mode: str) -> None:
    require_backend("namespace")
    attack = Job(
        program=_KILL_TEMPLATE + "kill_others()\n",  # at load: J itself, the template its sibling
        tests=("assert kill_others()", "assert 1 + 1 == 2"),
        mode=mode,  # type: ignore[arg-type]
    )
    with Executor(SandboxConfig(backend="namespace", workers=1)) as ex:
        first = ex.run(attack)
        assert first.statuses == (P, P), first.outcomes
        for _ in range(2):  # the sandbox retired after the attack; its successor serves normally
            assert ex.run(_NORMAL).statuses == (P, P)


@pytest.mark.parametrize("mode", ["isolated", "shared"])
def test_a_program_that_signals_every_process_costs_the_next_job_nothing(mode: str) -> None:
    """A fatal signal a program sends the template (and any J it forked) is blocked there
    and dropped with the next job, never delivered to it; the template lives on."""
    require_backend("namespace")
    attack = Job(
        program=_KILL_TEMPLATE,
        tests=("assert kill_others(signal.SIGUSR1)", "assert kill_others(signal.SIGTERM)", "assert kill_others(signal.SIGALRM)"),
        mode=mode,  # type: ignore[arg-type]
    )
    with Executor(SandboxConfig(backend="namespace", workers=1)) as ex:
        assert ex.run(_NORMAL).statuses == (P, P)  # the template has answered: a J waits ahead
        for _ in range(2):
            report = ex.run(attack)
            assert report.statuses[0] == P, report.outcomes  # J's own signal kills it only after the frame
            after = ex.run(_NORMAL)
            assert after.statuses == (P, P), after.outcomes


_SIGNAL_STATE = """\
import signal
def masks():
    fields = dict(line.split(":\\t") for line in open("/proc/self/status").read().splitlines() if line.startswith("Sig"))
    return int(fields["SigBlk"], 16), int(fields["SigIgn"], 16)
def bit(sig):
    return 1 << (sig - 1)
"""


@pytest.mark.parametrize("mode", ["isolated", "shared"])
def test_the_program_runs_with_no_signal_blocked_and_the_usual_ones_at_their_defaults(mode: str) -> None:
    """The template blocks every signal and J waits so: the program gets none of that
    (an alarm() timeout in a program must still fire), and SIGINT, SIGTERM and SIGPIPE
    act as they do in a plain interpreter's child (SIGHUP stays ignored, as before)."""
    require_backend("namespace")
    job = Job(
        program=_SIGNAL_STATE,
        tests=(
            "assert masks()[0] == 0",
            "assert masks()[1] & (bit(signal.SIGINT) | bit(signal.SIGTERM) | bit(signal.SIGPIPE)) == 0",
            "assert masks()[1] & bit(signal.SIGHUP)",
            "signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError()))\ntry:\n    signal.setitimer(signal.ITIMER_REAL, 0.01)\n    while True: pass\nexcept TimeoutError: pass",
        ),
        mode=mode,  # type: ignore[arg-type]
    )
    with Executor(SandboxConfig(backend="namespace", workers=1)) as ex:
        for _ in range(2):  # the first J and one forked ahead
            report = ex.run(job)
            assert report.statuses == (P, P, P, P), report.outcomes


def test_a_killed_template_is_restarted_by_exec_within_the_job() -> None:
    """Isolated mode starts a new J after a timeout: with the template killed by the
    program, the server execs a fresh one (never a fork of its own heap), and the rest of
    the job runs; a scan of the new J's memory finds nothing of the earlier job."""
    require_backend("namespace")
    limits = Limits(timeout_s=0.5, wall_timeout_s=1.0)
    attack = Job(
        program=_KILL_TEMPLATE + _MEMORY_SCAN,
        tests=("assert kill_others() and spin()", "assert remnants() == 0", "assert planted() > 0"),
        limits=limits,
    )
    with Executor(SandboxConfig(backend="namespace", workers=1)) as ex:
        assert ex.run(_EARLIER).statuses == (P,)
        report = ex.run(attack)
        assert report.statuses == (T, P, P), report.outcomes
        assert ex.run(_NORMAL).statuses == (P, P)


def test_a_program_that_stops_the_template_costs_the_next_job_nothing() -> None:
    require_backend("namespace")
    attack = Job(program=_KILL_TEMPLATE, tests=("assert kill_others(signal.SIGSTOP)",))
    with Executor(SandboxConfig(backend="namespace", workers=1)) as ex:
        assert ex.run(attack).statuses == (P,)
        assert ex.run(_NORMAL).statuses == (P, P)


_Q_TEST = "import random\nfor x in random.sample(range(10), 3):\n    assert f(x) == x + 1\n"  # judged whole in Q


@pytest.mark.parametrize("mode", ["isolated", "shared"])
def test_a_test_process_needs_the_template_a_program_killed_is_that_tests_crash(mode: str) -> None:
    """With the template killed by the program, the job's Q test cannot start: its crash,
    never a test process forked from the server's heap; the next job gets a restarted template."""
    require_backend("namespace")
    C = Status.CRASHED
    attack = Job(
        program=_KILL_TEMPLATE + "def f(x):\n    return x + 1\n",
        tests=("assert kill_others()", _Q_TEST),
        mode=mode,  # type: ignore[arg-type]
    )
    with Executor(SandboxConfig(backend="namespace", workers=1)) as ex:
        report = ex.run(attack)
        assert report.statuses == (P, C), report.outcomes
        assert "test process could not start" in report.outcomes[1].message
        for _ in range(2):
            assert ex.run(Job(program=_NORMAL.program, tests=(_Q_TEST, "assert f(1) == 2"))).statuses == (P, P)


_STOP_ALL = """\
import os, signal, threading
def _stop_everyone():
    me = os.getpid()
    while True:
        for p in os.listdir("/proc"):
            if p.isdigit() and int(p) not in (1, me):
                try:
                    os.kill(int(p), signal.SIGSTOP)
                except OSError:
                    pass
threading.Thread(target=_stop_everyone, daemon=True).start()
def f(x):
    return x + 1
"""


@pytest.mark.parametrize("mode", ["isolated", "shared"])
def test_a_program_that_keeps_stopping_the_template_gets_no_pass_and_no_hang(mode: str) -> None:
    """A test process is asked for while the program runs: a program stopping the template
    (and every other process) in a loop holds the server at most the test's wall time."""
    require_backend("namespace")
    limits = Limits(timeout_s=0.5, wall_timeout_s=1.0)
    attack = Job(program=_STOP_ALL, tests=(_Q_TEST,), limits=limits, mode=mode)  # type: ignore[arg-type]
    with Executor(SandboxConfig(backend="namespace", workers=1)) as ex:
        t0 = time.monotonic()
        report = ex.run(attack)
        assert time.monotonic() - t0 < 10
        assert report.statuses[0] in (T, Status.CRASHED), report.outcomes
        assert ex.run(Job(program=_NORMAL.program, tests=(_Q_TEST, "assert f(1) == 2"))).statuses == (P, P)


def _queued(pid: int) -> int:
    """How many signals are queued on process ``pid`` (its shared pending set's bits)."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("ShdPnd:"):
            return bin(int(line.split()[1], 16)).count("1")
    raise AssertionError("no ShdPnd line")


def test_signals_queued_on_the_template_are_discarded_at_its_next_request() -> None:
    """The template blocks every signal: a program that queues real-time signals on it
    (up to the uid's RLIMIT_SIGPENDING, shared by every later program) loses them at the
    template's next request, which comes after the job is swept."""
    template = Template.start({}, _report_j)
    try:
        pid, _ = _spawn(template)  # in its loop: every signal blocked
        os.waitpid(pid, 0)
        for i in range(64):
            os.kill(template.pid, signal.SIGRTMIN + i % 8)
        os.kill(template.pid, signal.SIGUSR1)
        assert _queued(template.pid) == 9  # still alive, all nine kinds queued
        pid, data = _spawn(template)
        assert data.startswith(b"7 %d " % pid)
        os.waitpid(pid, 0)
        assert _queued(template.pid) == 0 and template.alive()
    finally:
        template.sock.close()
        os.waitpid(template.pid, 0)


def test_a_killed_template_is_restarted_between_jobs_not_within_the_next_one() -> None:
    """With heavy preloads a restart takes a good part of a second: it happens once the
    killer's job has ended, so a tight next job still has its whole budget."""
    require_backend("namespace")
    pytest.importorskip("pandas")
    tight = Limits(timeout_s=0.3, wall_timeout_s=0.3, job_timeout_s=0.3)
    killer = Job(program=_KILL_TEMPLATE + "kill_others()\ndef f(x):\n    return x + 1\n", tests=("assert f(1) == 2",))
    honest = Job(program=_NORMAL.program, tests=("assert f(1) == 2",), limits=tight)
    with Executor(SandboxConfig(backend="namespace", workers=1, preload=("numpy", "pandas"))) as ex:
        assert ex.run(honest).statuses == (P,)
        for _ in range(2):
            assert ex.run(killer).statuses == (P,)
            report = ex.run(honest)
            assert report.statuses == (P,), report.outcomes


def test_fork_hooks_are_counted_and_the_template_keeps_them_when_it_cannot_tell(monkeypatch: pytest.MonkeyPatch) -> None:
    from acesandbox._sandbox.server import ForkHooks
    from acesandbox._sandbox.template import fork_hooks_registered

    assert fork_hooks_registered()  # os's own function: no count, so hooks are kept
    hooks = ForkHooks(os.register_at_fork)
    monkeypatch.setattr(os, "register_at_fork", hooks)
    assert not fork_hooks_registered()
    seen: list[int] = []
    os.register_at_fork(after_in_child=lambda: seen.append(1))  # forwarded to os's own
    assert hooks.ace_calls == 1 and fork_hooks_registered()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if seen == [1] else 1)
    assert os.waitpid(pid, 0)[1] == 0


@pytest.mark.parametrize("preload", [(), ("random",)])
def test_every_job_draws_other_random_numbers_whether_random_is_preloaded_or_not(preload: tuple[str, ...]) -> None:
    """Preloaded, ``random`` registers its reseed as an at-fork hook: the template then
    forks each J with CPython's hooks, and no two jobs draw the same numbers (without them
    every J would start from the template's state). Not preloaded, the template forks
    without hooks and each J seeds ``random`` when its program imports it."""
    require_backend("namespace")
    job = Job(program="import random\nX = random.random()\n", tests=("assert X == 0.5",))
    with Executor(SandboxConfig(backend="namespace", workers=1, preload=preload)) as ex:
        drawn = {ex.run(job).outcomes[0].message for _ in range(4)}
    assert len(drawn) == 4, drawn
