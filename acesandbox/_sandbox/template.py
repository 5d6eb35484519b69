"""The fork template: where each job process J comes from, so J inherits no earlier job's data.

The server's heap holds remnants of every job that went through it (programs, call
arguments, result values, the next job sent ahead), freed but not erased; a J forked from
it could read them in /proc/self/mem. So at start, before it reads any job, the server
forks this small template, which never reads or holds job data. Asked (one byte), the
template forks a J with ``CLONE_PARENT``, so J is the server's own child (the server
waits for it, opens a pidfd on it and reads its exit status as before), and sends the
server J's pid and one end of a socket pair J waits on. The server hands J its pipe ends
and a sealed memfd holding the job (marshalled by the server) over that socket (SCM_RIGHTS), with the index
of the first test as the only payload; J loads its job from the memfd. The server asks
for the next J as soon as a job is swept, so the fork overlaps the time between jobs.
(Asking as soon as a J takes its job, so that the fork overlaps the job, cost 6% of
shared mode's throughput and 0.3 ms of CPU a job with 2 workers on 2 cores, the
yardstick: the fork then competes with the running job, and J is no more often ready.)

A J waiting for its job holds no job data, and the server knows it by the pidfd the
template made with it (``CLONE_PIDFD``: never a reused pid); sweeps spare it. A program
reaches it only as it reaches the template (same user; not dumpable, so no ptrace or
/proc/pid/mem), should one ever run beside it: it can kill it (the server takes
another), stop it (it is continued when it takes its job) or signal it (the template
blocks every signal, so J waits with them blocked and drops those pending when it takes
its job; no handler of ours runs program code). A SIGKILL still on its way when the job
is handed over would cost that job: that is why no J is forked while a program runs
(one answering once it had its job, so that such a J could be replaced, cost another
4% of throughput). What it passes on (limits, nice value, CPU set, policy) is
checked like the template's.

Each test process Q (testproc.py) comes from the template the same way (request ``q``):
it waits for its three descriptors and its test's settings (JSON) on its own socket pair,
so a test's code, like a program, finds no earlier job's data in its memory.

The template is single-threaded and never starts threads, so a raw ``clone`` (no glibc
fork handlers) is safe there; glibc's cached thread id in J keeps the template's value,
which only thread-directed calls on J's main thread by pthread handle would notice
(``pthread_kill`` and ``raise`` use the kernel's own). CPython's own fork hooks run
around it only where an at-fork hook was registered (a preloaded ``random`` reseeds
each child), as for T_k (``job.bare_fork``). A program can kill the template
(same user), or the OOM killer can: the server then starts a new one by exec (a fresh
interpreter, :meth:`Template.restart`), never by forking its own heap; a J that still
cannot be started is the program's crash, and the sandbox retires after that job.
"""

from __future__ import annotations

import ctypes
import errno
import os
import importlib
import json
import select
import signal
import socket
import sys
import time
TYPE_CHECKING = False  # no typing at run time (see __init__.py)
if TYPE_CHECKING:
    from typing import Any, Callable

    QBody = Callable[[dict[str, Any], int, dict[str, int], dict[str, Any], dict[str, Any]], None]
    """A test process's body: (test, k, fds by Q_FD_NAMES plus "null", limits, config)."""

from .procs import TEMPLATE_OOM, oom_adj, prctl

_CLONE_PARENT = 0x00008000
_CLONE_PIDFD = 0x00001000
# clone(2) by raw system call number. Its argument orders differ between architectures
# (CLONE_BACKWARDS), but parent_tid (where CLONE_PIDFD stores the pidfd) is the third in
# all of these; the other pointers are 0.
_SYS_CLONE = {"x86_64": 56, "aarch64": 220, "riscv64": 220, "ppc64le": 120, "ppc64": 120}
_REPLY_TIMEOUT_S = 30.0  # a fork takes milliseconds: past this the template is gone
# The C functions under signal's wrappers, which turn each signal number of their answer
# into an enum member: for the 64 of a full mask, about 60 pages of the template's
# memory that each child copied on write before it ran its work.
_raw_signal: Any = importlib.import_module("_signal")
_J_DEFAULT = (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE)  # the server ignores them; J must not
FD_NAMES = ("res_w", "out_w", "err_w", "ctrl_r", "job", "fdpass")
"""What the descriptors handed to J are, in order (``fdpass`` only for Q tests)."""
Q_FD_NAMES = ("verdict", "chan", "codes")
"""What the descriptors handed to a test process Q are, in order."""


class TemplateGone(Exception):
    """The template died or stopped answering (a program killed it, or the OOM killer)."""


class Template:
    """The server's handle on its fork template."""

    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid = pid
        self.sock = sock
        try:
            self.pidfd = os.pidfd_open(pid)
        except OSError:
            self.pidfd = -1
        self.gone = False
        self.asked = False  # a J ahead was asked for and its answer not read yet
        self.ready: tuple[int, socket.socket, int] | None = None  # a J ahead already answered

    @classmethod
    def start(
        cls, cfg: dict[str, Any], job_body: Callable[[int, dict[str, int], dict[str, Any]], None], q_body: QBody | None = None
    ) -> Template:
        """Fork the template from the server (call before reading any job)."""
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            try:
                parent.close()
                serve_template(child, cfg, job_body, q_body)
            finally:
                os._exit(0)
        child.close()
        return cls(pid, parent)

    @classmethod
    def restart(cls, cfg: dict[str, Any]) -> Template:
        """A new template for one that died: a fresh interpreter (``server.py --template``,
        exec'd, so it inherits nothing of the server's heap), the server's config sent first."""
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        server = os.path.join(os.path.dirname(os.path.abspath(__file__)), "server.py")
        argv = getattr(sys, "orig_argv", None) or [sys.executable, "-I", "-S", "-B", server]
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(child.fileno(), 0)
                os.closerange(3, 65536)
                os.execve(sys.executable, [sys.executable, *argv[1:], "--template"], os.environ)
            finally:
                os._exit(127)
        child.close()
        template = cls(pid, parent)
        try:
            parent.send(json.dumps(cfg).encode())
        except OSError:
            template._lost()
        return template

    def spawn(self, fds: list[int], start: int) -> tuple[int, int]:
        """Hand ``fds`` (see FD_NAMES) and ``start`` to a J the template forked ahead; J's
        pid and a pidfd on it (the caller's to close). Call only where no program process
        runs (all swept).

        TemplateGone if the template is dead or does not answer; OSError if it could not
        fork (its errno: EAGAIN or ENOMEM when processes or memory ran out)."""
        for _ in range(3):  # a J waiting ahead that a program killed: take the next
            pid, sock, pidfd = self._take_ahead()
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGCONT)  # a program may have stopped it
                if select.select([pidfd], [], [], 0)[0]:
                    raise ProcessLookupError(errno.ESRCH, "exited while it waited")
                socket.send_fds(sock, [b"%d" % start], fds)
            except OSError:
                _end(pid, pidfd)
                continue
            finally:
                sock.close()
            return pid, pidfd
        raise TemplateGone("the job processes forked ahead keep dying")

    def warm(self) -> None:
        """Ask for a J ahead and wait for it, so that the next job finds it ready (call
        between jobs, after a restart: the new interpreter's start is then no job's time)."""
        self.prefork()
        if self.asked:
            try:
                self.ready = self._read_answer()
            except (OSError, TemplateGone):
                pass  # the next spawn asks again, or restarts it

    def prefork(self) -> None:
        """Have the template fork the next J now, unless one waits or was asked for (call
        where no program process runs until the next :meth:`spawn`)."""
        if self.ready is None:
            self._ask()

    def close(self) -> None:
        """End the template and the J it forked ahead (reaping both)."""
        if self.asked and not self.gone:
            try:
                self.ready = self._read_answer()
            except (OSError, TemplateGone):
                pass
        self._lost()

    def _ask(self) -> None:
        """Ask the template for a J ahead (its answer is read when it is needed)."""
        if self.asked or self.gone:
            return
        try:
            self._signal(signal.SIGCONT)  # a program may have stopped it (it is swept by now)
            self.sock.send(b"f")
        except OSError:
            self._lost()
            return
        self.asked = True

    def spawn_q(self, fds: list[int], header: bytes, within_s: float = _REPLY_TIMEOUT_S) -> int:
        """Have the template fork a test process Q (see Q_FD_NAMES) and hand it ``fds`` and
        ``header`` (its test's own settings, JSON); Q's pid. Q comes from the template, so
        it inherits none of the server's heap (earlier jobs' programs, tests and results).

        TemplateGone (also when no answer comes within ``within_s``: the program running
        beside keeps the template stopped) or OSError as :meth:`spawn`."""
        if self.asked:  # a J ahead is on its way: its answer comes first, kept for spawn()
            try:
                self.ready = self._read_answer(within_s)
            except OSError:
                pass  # it could not fork (the program used up the processes): spawn asks again
        if self.gone:
            raise TemplateGone("the fork template is gone")
        try:
            self._signal(signal.SIGCONT)
            self.sock.send(b"q")
        except OSError as exc:
            self._lost()
            raise TemplateGone(f"the fork template is gone ({exc})") from exc
        pid, sock, pidfd = self._read_answer(within_s)
        try:
            signal.pidfd_send_signal(pidfd, signal.SIGCONT)
            socket.send_fds(sock, [header], fds)
        except OSError:
            pass  # killed while waiting (by the program): Q's pipe ends with no verdict
        finally:
            sock.close()
            os.close(pidfd)
        return pid

    def _take_ahead(self) -> tuple[int, socket.socket, int]:
        """The J forked ahead (pid, its socket, a pidfd), waiting for the template's answer."""
        if self.ready is not None:
            ready, self.ready = self.ready, None
            return ready
        if self.asked and not self.gone:
            try:
                return self._read_answer()
            except OSError:
                pass  # asked while a program ran, which may have used up the processes: ask again
        self._ask()
        return self._read_answer()

    def _read_answer(self, within_s: float = _REPLY_TIMEOUT_S) -> tuple[int, socket.socket, int]:
        """The template's answer to the request in flight: the child's pid, its socket, a pidfd.

        While it has not come, the template is woken every 50 ms: a program still running
        (a test process is asked for during a test) may keep stopping it. No answer within
        ``within_s``: TemplateGone."""
        if self.gone:
            raise TemplateGone("the fork template is gone")
        deadline = time.monotonic() + within_s
        try:
            while True:
                ready = select.select([self.sock], [], [], max(0.0, min(0.05, deadline - time.monotonic())))[0]
                if ready or time.monotonic() >= deadline:
                    break
                self._signal(signal.SIGCONT)
            msg, got, _flags, _addr = socket.recv_fds(self.sock, 64, 2) if ready else (b"", [], 0, None)
        except OSError as exc:
            self._lost()
            raise TemplateGone(f"the fork template is gone ({exc})") from exc
        self.asked = False
        if not msg:
            for fd in got:
                os.close(fd)
            self._lost()
            raise TemplateGone("the fork template is gone")
        pid = int(msg)
        if pid < 0 or len(got) != 2:
            for fd in got:
                os.close(fd)
            raise OSError(-pid if pid < 0 else errno.EPROTO, os.strerror(-pid if pid < 0 else errno.EPROTO))
        # The pidfd comes from the fork itself (CLONE_PIDFD): it names this child even if
        # the child died and its pid was reused before this answer was read.
        return pid, socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET, 0, fileno=got[0]), got[1]

    def alive(self) -> bool:
        """Whether the template still runs (and is not stopped)."""
        if self.gone:
            return False
        if self.pidfd >= 0 and select.select([self.pidfd], [], [], 0)[0]:
            self._lost()
            return False
        try:
            self._signal(signal.SIGCONT)
        except OSError:
            self._lost()
            return False
        return True

    def live_pids(self) -> tuple[int, ...]:
        """The pids sweeps spare: the template's and the J forked ahead's, while they live
        (by their pidfds: a dead one's pid may be reused). A J whose answer has not come
        yet is not spared: a sweep kills it, and :meth:`spawn` takes another."""
        if self.gone:
            return ()
        watch = [fd for fd in (self.sock.fileno() if self.asked else -1, self.pidfd, self.ready[2] if self.ready is not None else -1) if fd >= 0]
        ready: list[int] = select.select(watch, [], [], 0)[0] if watch else []
        if self.asked and self.sock.fileno() in ready:
            try:
                self.ready = self._read_answer()  # there: read at once
            except OSError:
                pass  # it could not fork (a program used up the processes): spawn asks again
            except TemplateGone:
                return ()
            if self.ready is not None and select.select([self.ready[2]], [], [], 0)[0]:
                ready.append(self.ready[2])
        pids = [] if self.pidfd in ready else [self.pid]
        if self.ready is not None and self.ready[2] not in ready:
            pids.append(self.ready[0])
        return tuple(pids)

    def _signal(self, sig: int) -> None:
        """Signal it through its pidfd where there is one: its pid may be reused once
        a sweep reaped it, by J among others."""
        if self.pidfd >= 0:
            signal.pidfd_send_signal(self.pidfd, sig)
        else:
            os.kill(self.pid, sig)

    def _lost(self) -> None:
        """Kill and reap it: a template that stopped answering is never asked again."""
        if self.gone:
            return
        self.gone = True
        self.asked = False
        if self.ready is not None:
            _end(self.ready[0], self.ready[2])
            self.ready[1].close()
            self.ready = None
        try:
            self._signal(signal.SIGKILL)
        except OSError:
            pass
        try:
            if self.pidfd >= 0:
                os.waitid(os.P_PIDFD, self.pidfd, os.WEXITED)
            else:
                os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
        self.sock.close()


def _end(pid: int, pidfd: int) -> None:
    """Kill and reap a J forked ahead that could not take its job (a program killed it)."""
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        os.waitid(os.P_PIDFD, pidfd, os.WEXITED)
    except OSError:
        pass
    os.close(pidfd)


def serve_template(
    sock: socket.socket, cfg: dict[str, Any], job_body: Callable[[int, dict[str, int], dict[str, Any]], None], q_body: QBody | None = None
) -> None:
    """The template's loop: for each request (``f``: a J, ``q``: a test process Q), fork a
    child that waits on a socket pair of its own for its descriptors and settings, and send
    the server the child's pid and the other end of that pair; never returns."""
    me = sock.fileno()
    os.closerange(3, me)  # the host's pipes and anything else of the server's
    os.closerange(me + 1, 65536)
    prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: never outlive the server
    # Every signal blocked (SIGKILL and SIGSTOP cannot be): each child is forked with them
    # blocked, so none a program sends it while it waits can act before it is handed its work.
    signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    # J's dispositions, set once here (blocked, none of these acts on the template; a
    # test process Q sets its own, see _wait_for_q).
    for sig in _J_DEFAULT:
        signal.signal(sig, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDWR)
    # What every J sets up the same, done once here: sys.stdin on fd 0 (J puts /dev/null
    # there before the program runs), and the OOM killer's preference (J goes before the
    # server; the template, if it goes, is restarted).
    if me != 0:
        os.dup2(null, 0)
    sys.stdin = open(0, closefd=False)
    # A non-dumpable process's /proc files are root's, which the sandbox's uid is not under
    # Docker: the score stayed 0, the server's too, and the OOM killer took the server (the
    # container's pid 1) when a program held memory outside its own RSS. Dumpable for this
    # one write: no program process is alive when a template starts (at the server's start,
    # or restarted after a sweep), so none can open this process's memory meanwhile.
    prctl(4, 1)  # PR_SET_DUMPABLE
    oom_adj(TEMPLATE_OOM)
    prctl(4, 0)
    fork = _clone_parent()
    # What J and Q inherit is os's own function again (server.py wrapped it to count calls).
    os.register_at_fork = getattr(os.register_at_fork, "register", os.register_at_fork)
    while True:
        try:
            msg = sock.recv(64)
        except OSError:
            os._exit(0)
        if not msg:
            os._exit(0)
        _discard_pending()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            pid, pidfd = fork()
        except OSError as exc:
            pid, pidfd = -(exc.errno or errno.EAGAIN), -1
        if pid == 0:
            sock.close()  # the server sees the template's end only while the template lives
            theirs.close()
            if msg == b"q" and q_body is not None:
                _wait_for_q(ours, null, cfg, q_body)
            _wait_for_job(ours, null, cfg, job_body)
        ours.close()
        try:
            socket.send_fds(sock, [b"%d" % pid], [theirs.fileno(), pidfd] if pid > 0 else [])
        except OSError:
            os._exit(0)
        theirs.close()
        if pidfd >= 0:
            os.close(pidfd)


def _wait_for_job(sock: socket.socket, null: int, cfg: dict[str, Any], job_body: Callable[[int, dict[str, int], dict[str, Any]], None]) -> None:
    """A J forked ahead: wait for its descriptors, then become the job process; never returns."""
    try:
        msg, fds, _flags, _addr = socket.recv_fds(sock, 64, len(FD_NAMES))
        if not msg:
            os._exit(0)
        sock.close()
        _drop_pending_signals()
        named = dict(zip(FD_NAMES, fds))
        named["null"] = null
        job_body(int(msg), named, cfg)
    finally:
        os._exit(0)


def _wait_for_q(sock: socket.socket, null: int, cfg: dict[str, Any], q_body: QBody) -> None:
    """A test process Q: wait for its descriptors and its test's settings, then run; never returns."""
    try:
        msg, fds, _flags, _addr = socket.recv_fds(sock, 1 << 16, len(Q_FD_NAMES))
        sock.close()
        if not msg or len(fds) != len(Q_FD_NAMES):
            os._exit(0)
        _drop_pending_signals(ignore=_J_DEFAULT)  # Q ignores them, as the server does
        named = dict(zip(Q_FD_NAMES, fds))
        named["null"] = null
        header = json.loads(msg)
        q_body(header["test"], header["k"], named, header["limits"], cfg)
    finally:
        os._exit(0)


def _discard_pending() -> None:
    """Discard the signals queued on this process, keeping them blocked and their
    dispositions as they were (setting a signal to SIG_IGN drops it, POSIX). The template
    does it at each request: it blocks them all, so each would stay queued for good,
    counted in the uid's RLIMIT_SIGPENDING that every later program shares (a program that
    filled it made timer_create and sigqueue fail for later jobs)."""
    for sig in _raw_signal.sigpending():
        try:
            old = signal.signal(sig, signal.SIG_IGN)
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        except (OSError, ValueError):
            pass


def _drop_pending_signals(ignore: tuple[int, ...] = ()) -> None:
    """Discard the signals sent while this child waited, then unblock them all: none sent
    before reaches its work. The signals in ``ignore`` stay ignored."""
    for sig in ignore:
        signal.signal(sig, signal.SIG_IGN)
    _discard_pending()
    _raw_signal.pthread_sigmask(signal.SIG_SETMASK, ())


def fork_hooks_registered() -> bool:
    """Whether any at-fork hook was registered in this interpreter (``os.register_at_fork``,
    by our imports or a preloaded module); True when it cannot tell (``server.py`` counts
    them from before anything is imported: see :data:`server.ForkHooks`)."""
    calls = getattr(os.register_at_fork, "ace_calls", None)
    return calls is None or calls > 0


def _clone_parent() -> Callable[[], tuple[int, int]]:
    """``fork()`` whose child is the caller's parent's child (``CLONE_PARENT``), the GIL
    held (PyDLL); (pid, a pidfd on the child) in the parent, (0, -1) in the child.

    CPython's fork hooks go around it, as ``os.fork`` does, only where an at-fork hook was
    registered (a preloaded module's: ``random`` reseeds each child). Otherwise the
    template, which runs one thread and holds no lock or signal another could leave
    behind, has nothing for them to mend, and they cost each J and test process 0.2 ms of
    CPU and about 40 pages copied on write, out of some 2 ms of its start."""
    number = _SYS_CLONE.get(os.uname().machine)
    api = ctypes.pythonapi
    libc = ctypes.PyDLL(None, use_errno=True)
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    syscall.argtypes = [ctypes.c_long] * 7
    hooks = api.PyOS_BeforeFork, api.PyOS_AfterFork_Child, api.PyOS_AfterFork_Parent
    for fn in hooks:
        fn.restype, fn.argtypes = None, []
    before, child, parent = hooks if fork_hooks_registered() else (_no_hook, _no_hook, _no_hook)
    flags = _CLONE_PARENT | _CLONE_PIDFD | signal.SIGCHLD
    pidfd = ctypes.c_int(-1)

    def fork() -> tuple[int, int]:
        if number is None:
            raise OSError(errno.ENOSYS, f"no clone system call number for {os.uname().machine}")
        pidfd.value = -1
        before()
        pid = syscall(number, flags, 0, ctypes.addressof(pidfd), 0, 0, 0)
        if pid == 0:
            child()
            return 0, -1
        err = ctypes.get_errno()
        parent()
        if pid < 0:
            raise OSError(err, os.strerror(err))
        return int(pid), pidfd.value

    return fork


def _no_hook() -> None:
    pass
