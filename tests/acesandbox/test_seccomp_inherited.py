"""What every J inherits from the server and the fork template (limits, nice value, CPU set,
policy): watched by the server on every backend (acesandbox/_sandbox/procs.py), a change
retires the sandbox; the namespace backend's seccomp filter refuses it first (test_seccomp.py)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from _support import require_backend
from acesandbox import Executor, Job, SandboxConfig, Status
from acesandbox._sandbox import procs
from acesandbox.conformance import inherited
from acesandbox.conformance._case import P

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux-only")


@pytest.fixture
def child() -> Iterator[int]:
    """A process started from this one: it holds what this process held at start."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.05)
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(autouse=True)
def _open_files_as_at_import() -> Iterator[None]:
    """The soft open-file limit this process had when it imported procs, for each test here:
    libraries the suite runs in this process raise it (``ray.init`` to the hard limit, a
    reward server to fit its connection cap), and these tests compare this process and its
    children with what procs recorded then. Put back after."""
    now = resource.getrlimit(resource.RLIMIT_NOFILE)
    then = procs.AT_START[0][resource.RLIMIT_NOFILE]
    if now != then:
        resource.setrlimit(resource.RLIMIT_NOFILE, then)
    try:
        yield
    finally:
        if now != then:
            resource.setrlimit(resource.RLIMIT_NOFILE, now)


def test_at_start_is_this_process_when_it_imported_procs():
    assert procs.AT_START == procs.inherited(0)
    limits, nice, cpus, policy, dump_filter = procs.AT_START
    assert len(limits) == 16 and limits[resource.RLIMIT_NOFILE] == resource.getrlimit(resource.RLIMIT_NOFILE)
    assert (nice, cpus, policy) == (os.getpriority(os.PRIO_PROCESS, 0), os.sched_getaffinity(0), os.sched_getscheduler(0))
    with open("/proc/self/coredump_filter", "rb") as f:
        assert dump_filter == f.read()


def test_an_untouched_process_is_unchanged(child):
    assert procs.inherited(child) == procs.AT_START
    assert procs.inherited_changed(child) is False
    assert procs.inherited_changed() is False


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


@pytest.mark.parametrize(
    "change",
    [
        lambda pid: resource.prlimit(pid, resource.RLIMIT_NOFILE, (6, 6)),
        lambda pid: resource.prlimit(pid, resource.RLIMIT_DATA, (200 << 20, 200 << 20)),
        lambda pid: resource.prlimit(pid, 10, (5, 5)),  # RLIMIT_LOCKS, which the resource module does not name
        lambda pid: os.setpriority(os.PRIO_PROCESS, pid, 19),
        lambda pid: os.sched_setscheduler(pid, os.SCHED_BATCH, os.sched_param(0)),
        lambda pid: _write(f"/proc/{pid}/coredump_filter", "0x1a5"),  # fork copies it: bits for every later J
    ],
    ids=["nofile", "data", "locks", "nice", "policy", "coredump_filter"],
)
def test_a_change_to_another_process_is_seen(child, change):
    change(child)
    assert procs.inherited_changed(child) is True
    assert procs.inherited_changed() is False  # ours is untouched


def test_a_raised_oom_score_is_seen(child):
    """Raising another process's OOM score needs no capability: above the template's 500 is a change."""
    with open(f"/proc/{child}/oom_score_adj", "w") as f:
        f.write(str(procs.TEMPLATE_OOM))
    assert procs.inherited_changed(child) is False
    with open(f"/proc/{child}/oom_score_adj", "w") as f:
        f.write("1000")
    assert procs.inherited_changed(child) is True


def test_the_servers_own_oom_score_and_autogroup_are_compared(monkeypatch):
    assert procs.RAISED_AT_START == procs.raised(0)
    assert procs.inherited_changed() is False
    oom, nice = procs.raised(0)
    monkeypatch.setattr(procs, "RAISED_AT_START", (oom - 1, nice))  # as if raised since the start
    assert procs.inherited_changed() is True
    if nice is not None:
        monkeypatch.setattr(procs, "RAISED_AT_START", (oom, nice - 1))
        assert procs.inherited_changed() is True


def test_an_empty_autogroup_file_is_no_autogroup(monkeypatch):
    """A process whose ancestors never called setsid (a CI runner's) has an empty autogroup
    file: no nice value to compare, and importing the module must not fail on it."""
    assert procs.autogroup_nice(b"/autogroup-12 nice -3\n") == -3
    assert procs.autogroup_nice(b"") is None
    with pytest.raises(ValueError):
        procs.autogroup_nice(b"/autogroup-12 weight 3\n")
    real = procs.read_proc
    monkeypatch.setattr(procs, "read_proc", lambda path: b"" if path.endswith("/autogroup") else real(path))
    oom, nice = procs.raised(0)
    assert nice is None and oom == int(real("/proc/self/oom_score_adj"))
    assert procs._raised_at_start() == (oom, None)


def test_a_narrowed_cpu_set_is_seen(child):
    cpus = os.sched_getaffinity(0)
    if len(cpus) < 2:
        pytest.skip("one CPU")
    os.sched_setaffinity(child, {max(cpus)})
    assert procs.inherited_changed(child) is True


def test_a_dead_process_is_skipped(child):
    os.kill(child, 9)
    os.waitpid(child, 0)
    assert procs.inherited_changed(child, -1) is False


def test_the_check_is_cheap(child):
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        procs.inherited_changed(child)
    per_check_s = (time.perf_counter() - t0) / n
    assert per_check_s < 2e-3, per_check_s  # ~30 us idle: two processes, 19 reads each


def test_inherited_cases_each_attack_in_an_earlier_job():
    assert [c.name for c in inherited.CASES] == [
        "later_job_limits",
        "later_job_priority",
        "later_job_cpus",
        "later_job_oom_score",
        "later_job_coredump_filter",
        "later_job_sysctls",
        "later_job_scratch_attributes",
        "later_job_scratch_flags",
        "later_job_thread_of_a_dead_leader",
        "later_job_sockets_in_flight",
        "later_job_scratch_space",
        "later_job_scratch_times",
    ]
    assert all(c.earlier is not None and "def change(pid)" in c.earlier.program for c in inherited.CASES[:5])
    assert all(c.earlier is not None and "def leave()" in c.earlier.program for c in inherited.CASES[5:])
    assert all(c.expect == (P, P) for c in inherited.CASES)


# -- end to end: a program's own changes keep the sandbox, another's retire it

_SERVER = inherited._LIB + """
def server():  # its pid and start time (pid 1 in a pid namespace whichever server it is)
    pid = sandbox()[0]
    with open(f"/proc/{pid}/stat", "rb") as f:
        st = f.read()
    return pid * 10**15 + int(st[st.rfind(b")") + 2 :].split()[19])

def own():
    os.nice(3)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    return True

def others():
    def change(pid):
        os.setpriority(os.PRIO_PROCESS, pid, max(os.getpriority(os.PRIO_PROCESS, pid), 11))
    return attack(change)
"""


def _server_pid(ex: Executor, *tests: str) -> int:
    report = ex.run(Job(program=_SERVER, tests=(*tests, "assert server() == -1")))
    assert report.statuses[:-1] == (Status.PASSED,) * len(tests), report.outcomes
    return int(report.outcomes[-1].message.rsplit("returned ", 1)[1].split(";")[0])


@pytest.mark.parametrize("backend", ["process", "namespace"])
def test_own_changes_keep_the_sandbox_another_process_retires_it(backend):
    require_backend(backend)
    with Executor(SandboxConfig(backend=backend, workers=1)) as ex:
        first = _server_pid(ex)
        assert _server_pid(ex, "assert own()") == first  # a J's own limits die with it
        assert _server_pid(ex) == first
        _server_pid(ex, "assert others() >= 0")  # the server's nice value: refused (seccomp) or seen
        after = ex.run(Job(program=_SERVER + "def nice():\n    return os.getpriority(os.PRIO_PROCESS, 0)\n",
                           tests=("assert nice() != 11",)))
        assert after.statuses == (Status.PASSED,), after.outcomes
        # Where the filter refused the change the sandbox lives on; where it was made, it was retired.
        assert (_server_pid(ex) != first) == (backend == "process")


def test_cap_sigpending_lowers_and_never_raises():
    """The pending-signal quota is the host uid's (see procs.SIGPENDING): the server caps its own
    at start, every process of the sandbox inherits the cap, and a lower limit stays as it was."""
    script = (
        "import resource\n"
        "from acesandbox._sandbox import procs\n"
        "procs.cap_sigpending(); procs.rebase()\n"
        "first = resource.getrlimit(resource.RLIMIT_SIGPENDING)\n"
        "resource.setrlimit(resource.RLIMIT_SIGPENDING, (7, 9))\n"
        "procs.cap_sigpending()\n"
        "print(first, resource.getrlimit(resource.RLIMIT_SIGPENDING), procs.inherited_changed())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60).stdout.split(")")
    soft, hard = (procs.SIGPENDING if v == resource.RLIM_INFINITY else min(v, procs.SIGPENDING) for v in resource.getrlimit(resource.RLIMIT_SIGPENDING))
    assert out[0].strip() == f"({soft}, {hard}" and out[1].strip(" ,") == "(7, 9" and out[2].strip() == "True"

