"""The sandbox's processes, read from /proc: CPU time, descendants, sweeping leftovers,
and what every process they fork inherits (limits, priority, CPU set), watched for change."""

from __future__ import annotations

import os
import resource
import signal
TYPE_CHECKING = False  # no typing at run time (see __init__.py)
if TYPE_CHECKING:
    from typing import Any

_CLK = os.sysconf("SC_CLK_TCK")


def read_proc(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 1 << 16)
    finally:
        os.close(fd)


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            out.extend(int(x) for x in read_proc(f"/proc/{pid}/task/{tid}/children").split())
        except OSError:
            pass
    return out


def descendants(pid: int) -> list[int]:
    seen: list[int] = []
    stack = children(pid)
    while stack:
        p = stack.pop()
        seen.append(p)
        stack.extend(children(p))
    return seen


def stat(pid: int) -> list[bytes] | None:
    try:
        data = read_proc(f"/proc/{pid}/stat")
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :].split()


def cpu_s(pid: int) -> float:
    """CPU seconds of a process plus its reaped children."""
    st = stat(pid)
    if st is None:
        return 0.0
    return sum(int(x) for x in st[11:15]) / _CLK


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def others(me: int) -> list[int]:
    """Every process of the sandbox but the server: as pid 1 of its own pid namespace,
    /proc lists exactly those; otherwise walk our descendants (we are their subreaper)."""
    if me == 1:
        return [int(x) for x in os.listdir("/proc") if x.isdigit() and x != "1"]
    return descendants(me)


def _threads_left(pid: int) -> bool:
    """Whether a process whose /proc entry says zombie still runs threads: its leader ended
    alone (the exit system call, not exit_group) and the rest of the group lives on, which a
    SIGKILL to the pid ends. Unreadable: as if it did (fail closed; killing a zombie is a no-op)."""
    try:
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except FileNotFoundError:
        return False
    except OSError:
        return True


def sweep(keep: int | None, spare: tuple[int, ...] = ()) -> None:
    """SIGKILL every descendant of the server except ``keep`` and ``spare`` (the fork
    template and the J it forked ahead, which never ran program code), until none is left."""
    me = os.getpid()
    for _ in range(1000):
        victims = []
        for p in others(me):
            if p == keep or p in spare:
                continue
            st = stat(p)
            if st is not None and (st[0] != b"Z" or _threads_left(p)):
                victims.append((p, int(st[1])))
        if not victims:
            break
        for p, _ppid in victims:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        # Wait for our own children to die (promptly, they were SIGKILLed); theirs come
        # back to us as orphans (we are pid 1 or their subreaper) for the next round.
        for p, ppid in victims:
            if ppid == me:
                try:
                    os.waitpid(p, 0)
                except ChildProcessError:
                    pass
        reap()
    reap()


def prctl(option: int, arg: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, arg, 0, 0, 0)
    except Exception:  # noqa: BLE001 - best effort hardening; the backend reports its level
        pass


_OOM_ADJ = b"/proc/self/oom_score_adj"  # bytes: no path encoding in each test process


def oom_adj(value: int) -> None:
    """This process's oom_score_adj (best effort)."""
    try:
        fd = os.open(_OOM_ADJ, os.O_WRONLY)
        try:
            os.write(fd, b"%d" % value)
        finally:
            os.close(fd)
    except OSError:
        pass


def open_oom_adj() -> tuple[int, bytes]:
    """This process's oom_score_adj file, open for reading and writing, and the score it
    holds; (-1, b"") if either fails (J keeps it to change its own score around each fork)."""
    try:
        fd = os.open(_OOM_ADJ, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return -1, b""
    try:
        score = os.pread(fd, 16, 0).strip()
        int(score)
    except (OSError, ValueError):
        os.close(fd)
        return -1, b""
    return fd, score


def write_oom_adj(fd: int, value: bytes) -> None:
    """Set the score through a descriptor from :func:`open_oom_adj` (best effort, as :func:`oom_adj`)."""
    if fd >= 0:
        try:
            os.write(fd, value)
        except OSError:
            pass


# -- what every J inherits: a program must not change it for later jobs (issue 10)

# Every RLIMIT_* the module names (RLIMIT_OFILE is NOFILE), and RLIMIT_LOCKS (10) it does not.
_RLIMITS = tuple(sorted({getattr(resource, n) for n in dir(resource) if n.startswith("RLIMIT_")} | {10}))


def inherited(pid: int) -> tuple[Any, ...]:
    """What process ``pid`` (0: this one) passes on to what it forks: every limit, the nice
    value, the CPU set, the scheduling policy and the core dump filter. Read only: prlimit
    without a new limit (which seccomp lets through), getpriority, sched_getaffinity,
    sched_getscheduler, /proc/PID/coredump_filter (which the same uid may write, no system
    call a filter sees: fork copies it, so it carried a program's bits to every later J)."""
    return (
        tuple(resource.prlimit(pid, r) for r in _RLIMITS),
        os.getpriority(os.PRIO_PROCESS, pid),
        os.sched_getaffinity(pid),
        os.sched_getscheduler(pid),
        read_proc(f"/proc/{pid or 'self'}/coredump_filter") if _COREDUMP_FILTER else None,
    )


_COREDUMP_FILTER = os.path.exists("/proc/self/coredump_filter")
"""Whether this kernel has the file (without it, reading it would fail every check open)."""


SIGPENDING = 256
"""The sandbox's RLIMIT_SIGPENDING: signals queued on its processes. The kernel counts them per
uid in each user namespace and again for the host uid above it, against which the host's own
processes and every other sandbox of that uid are checked: a program that queued the host's
limit (about 100000 real-time signals) made timer_create and sigqueue fail with EAGAIN for all
of them while it ran. Capped, a sandbox holds at most this many of them."""


def cap_sigpending() -> None:
    """Lower this process's RLIMIT_SIGPENDING to :data:`SIGPENDING` (never raise it); every
    process of the sandbox inherits it, and none can raise it again. Call before
    :func:`rebase`, at the server's start."""
    now = resource.getrlimit(resource.RLIMIT_SIGPENDING)
    soft, hard = (SIGPENDING if v == resource.RLIM_INFINITY else min(v, SIGPENDING) for v in now)
    try:
        resource.setrlimit(resource.RLIMIT_SIGPENDING, (soft, hard))
    except (OSError, ValueError):
        pass


def cap_priority() -> None:
    """Lower RLIMIT_RTPRIO and RLIMIT_NICE to 0 (never raise them), at the server's start:
    a host that runs with them raised (systemd's LimitRTPRIO=, docker's --ulimit) handed
    them to every program, which took SCHED_FIFO or nice -20 ahead of every host process."""
    for res in (resource.RLIMIT_RTPRIO, resource.RLIMIT_NICE):
        try:
            resource.setrlimit(res, (0, 0))
        except (OSError, ValueError):
            pass


TEMPLATE_OOM = 500
"""The OOM score the fork template sets itself (and every J inherits): see template.py."""


def raised(pid: int) -> tuple[int, int | None]:
    """What a program of the sandbox's uid can raise in another of its processes through
    /proc, where no system-call filter sees it: the OOM score (``oom_score_adj``: the OOM
    killer would take the server or the template first) and the nice value of its
    scheduler autogroup (None where the kernel has none)."""
    where = f"/proc/{pid or 'self'}"
    oom = int(read_proc(f"{where}/oom_score_adj"))
    try:
        nice = autogroup_nice(read_proc(f"{where}/autogroup"))
    except FileNotFoundError:
        nice = None
    return oom, nice


def autogroup_nice(line: bytes) -> int | None:
    """The nice value in a ``/proc/PID/autogroup`` line (``/autogroup-N nice V``). The file
    is empty for a process in no autogroup (one whose ancestors never called setsid, as
    under a CI runner, or a kernel booted with ``noautogroup``): None, as for no file."""
    fields = line.split()
    if not fields:
        return None
    if len(fields) != 3 or fields[1] != b"nice":
        raise ValueError(f"unexpected autogroup line {line[:80]!r}")
    return int(fields[2])


def _at_start() -> tuple[Any, ...] | None:
    try:
        return inherited(0)
    except OSError:
        return None


AT_START = _at_start()
"""This process's :func:`inherited` when it imported this module: in the server, before any
job (the fork template, a fork or an exec of the server, starts with the same)."""


def _raised_at_start() -> tuple[int, int | None] | None:
    try:
        return raised(0)
    except (OSError, ValueError):
        return None


RAISED_AT_START = _raised_at_start()
"""This process's :func:`raised` when it imported this module (the server's, before any job)."""


def rebase() -> None:
    """Take :data:`AT_START` anew: the server's own settings once it has set them
    (:func:`cap_sigpending`), before it forks the template."""
    global AT_START
    AT_START = _at_start()


def inherited_changed(*pids: int) -> bool:
    """Whether this process (the server) or any of ``pids`` (the fork template; a pid < 1 or
    one that is gone is skipped) no longer holds what the server started with: a program
    lowered a limit, the priority or the CPU set that every later job would inherit, or
    raised an OOM score or the autogroup's nice value (:func:`raised`)."""
    if AT_START is None:
        return False
    for pid in (0, *(p for p in pids if p > 0)):
        try:
            if inherited(pid) != AT_START:
                return True
            if RAISED_AT_START is not None:
                # The server's own OOM score and autogroup (the template shares it), and the
                # template's (and the J ahead's) OOM score, which the template sets: only
                # raising either needs no capability.
                oom, nice = raised(pid)
                if pid == 0 and (oom, nice) != RAISED_AT_START or pid != 0 and oom > TEMPLATE_OOM:
                    return True
        except (ProcessLookupError, FileNotFoundError):
            continue  # the template died: it is restarted (an exec of the server) elsewhere
        except (OSError, ValueError):
            return True  # unreadable: fail closed
    return False
