"""What every later job inherits: the limits, priority and CPU set of the sandbox's own processes (issue 10).

The whole sandbox runs as one uid, so the kernel lets a program lower the server's limits
(``prlimit``), raise its nice value or pin it to one CPU, and the fork template's too: every
J forked later would inherit them, and correct programs would come out ``crashed``,
``memory`` or ``timeout`` for good. Each case's program makes one such change to the
server and its other children (found from the program: the oldest ancestor running the
same command, and that one's children; never a process outside the sandbox) in a job run
first (``earlier``), which passes whatever the kernel answered; the case itself, a correct
job on the same executor, must not see the change. A system-call filter may refuse the change; otherwise the
server sees it after the job and retires the sandbox (the host starts a fresh one).
"""

from __future__ import annotations

from .._spec import AssertTest, Job
from ._case import FAST, P, Case, src

_LIB = """
import os, resource

def _ppid(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        st = f.read()
    return int(st[st.rfind(b")") + 2 :].split()[1])

def _cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read()

def sandbox():
    server, mine = os.getpid(), _cmdline(os.getpid())
    while True:
        parent = _ppid(server)
        try:
            if parent <= 0 or _cmdline(parent) != mine:
                break
        except OSError:
            break
        server = parent
    others = []
    for tid in os.listdir(f"/proc/{server}/task"):
        with open(f"/proc/{server}/task/{tid}/children") as f:
            others += [int(x) for x in f.read().split()]
    return [server, *others]

def attack(change):
    hit = 0
    for pid in sandbox():
        try:
            change(pid)
            hit += 1
        except OSError:
            pass
    return hit
"""

# The later job's tests: each fails where the change reached it.
_NEXT = src(
    """
    import os, resource

    def data_mark():  # the attack's RLIMIT_DATA hard limits end in 1234 (mod 4096)
        return resource.getrlimit(resource.RLIMIT_DATA)[1] % 4096

    def nice():
        return os.getpriority(os.PRIO_PROCESS, 0)

    def cpus():
        return len(os.sched_getaffinity(0))

    def add(a, b):
        return a + b
    """
)


def _case(name: str, change: str, check: str, why: str) -> Case:
    attack = Job(program=_LIB + src(change), tests=(AssertTest("assert attack(change) >= 0"),), limits=FAST)
    return Case(name, _NEXT, (check, "assert add(1, 2) == 3"), (P, P), earlier=attack, why=why)


CASES: tuple[Case, ...] = (
    _case(
        "later_job_limits",
        """
        def change(pid):
            soft, hard = resource.prlimit(pid, resource.RLIMIT_DATA)
            top = 1 << 40 if hard == resource.RLIM_INFINITY else hard
            mark = (top // 4096 - 1) * 4096 + 1234
            resource.prlimit(pid, resource.RLIMIT_DATA, (mark if soft == resource.RLIM_INFINITY else min(soft, mark), mark))
        """,
        "assert data_mark() != 1234",
        "a limit lowered in the server or the fork template reaches every later job",
    ),
    _case(
        "later_job_priority",
        """
        def change(pid):
            if os.getpriority(os.PRIO_PROCESS, pid) < 17:
                os.setpriority(os.PRIO_PROCESS, pid, 17)
        """,
        "assert nice() != 17",
        "a nice value raised in the server or the fork template slows every later job",
    ),
    _case(
        "later_job_cpus",
        """
        def change(pid):
            cpus = os.sched_getaffinity(pid)
            if len(cpus) > 1:
                os.sched_setaffinity(pid, {max(cpus)})
        """,
        # Fails falsely only where the sandbox is given one CPU of several.
        "assert cpus() > 1 or os.cpu_count() == 1",
        "a CPU set narrowed in the server or the fork template puts every later job on one CPU",
    ),
)
