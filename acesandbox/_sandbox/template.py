"""The fork template: where each job process J comes from, so J inherits no earlier job's data.

The server's heap holds remnants of every job that went through it (programs, call
arguments, result values, the next job sent ahead), freed but not erased; a J forked from
it could read them in /proc/self/mem. So at start, before it reads any job, the server
forks this small template, which never reads or holds job data. For each J the server
writes the job message into a sealed memfd and hands the template J's pipe ends and that
memfd over a Unix socket (SCM_RIGHTS), with the index of the first test as the only
payload; the template forks J with ``CLONE_PARENT``, so J is the server's own child (the
server waits for it, opens a pidfd on it and reads its exit status as before), and
replies with J's pid. J reads and parses its job from the memfd.

The template is single-threaded and never starts threads, so a raw ``clone`` (no glibc
fork handlers) is safe there; glibc's cached thread id in J keeps the template's value,
which only thread-directed calls on J's main thread by pthread handle would notice
(``pthread_kill`` and ``raise`` use the kernel's own). A program can kill the template
(same user), or the OOM killer can: the server then starts a new one by exec (a fresh
interpreter, :meth:`Template.restart`), never by forking its own heap; a J that still
cannot be started is the program's crash, and the sandbox retires after that job.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import json
import select
import signal
import socket
import sys
from typing import Any, Callable

from .procs import prctl

_CLONE_PARENT = 0x00008000
# clone(2) by raw system call number; with every pointer argument 0 the architectures'
# different argument orders (CLONE_BACKWARDS) do not matter.
_SYS_CLONE = {"x86_64": 56, "aarch64": 220, "riscv64": 220, "ppc64le": 120, "ppc64": 120}
_REPLY_TIMEOUT_S = 30.0  # a fork takes milliseconds: past this the template is gone
FD_NAMES = ("res_w", "out_w", "err_w", "ctrl_r", "job", "fdpass")
"""What the descriptors handed to the template are, in order (``fdpass`` only for Q tests)."""


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

    @classmethod
    def start(cls, cfg: dict[str, Any], job_body: Callable[[int, dict[str, int], dict[str, Any]], None]) -> Template:
        """Fork the template from the server (call before reading any job)."""
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            try:
                parent.close()
                serve_template(child, cfg, job_body)
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

    def spawn(self, fds: list[int], start: int) -> int:
        """Have the template fork J with ``fds`` (see FD_NAMES); J's pid.

        TemplateGone if it is dead or does not answer; OSError if it could not fork (its
        errno: EAGAIN or ENOMEM when processes or memory ran out)."""
        if self.gone:
            raise TemplateGone("the fork template is gone")
        try:
            self._signal(signal.SIGCONT)  # a program may have stopped it (it is swept by now)
            socket.send_fds(self.sock, [b"%d" % start], fds)
            ready = select.select([self.sock], [], [], _REPLY_TIMEOUT_S)[0]
            reply = self.sock.recv(64) if ready else b""
        except OSError as exc:
            self._lost()
            raise TemplateGone(f"the fork template is gone ({exc})") from exc
        if not reply:
            self._lost()
            raise TemplateGone("the fork template is gone")
        pid = int(reply)
        if pid < 0:
            raise OSError(-pid, os.strerror(-pid))
        return pid

    def alive(self) -> bool:
        """Whether the template still runs (and is not stopped): checked between jobs."""
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

    def live_pid(self) -> int:
        """The template's pid for sweeps to spare, or -1 once it died (its pid may be reused)."""
        if self.gone or (self.pidfd >= 0 and select.select([self.pidfd], [], [], 0)[0]):
            return -1
        return self.pid

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


def serve_template(sock: socket.socket, cfg: dict[str, Any], job_body: Callable[[int, dict[str, int], dict[str, Any]], None]) -> None:
    """The template's loop: receive J's descriptors, fork J, answer its pid; never returns."""
    me = sock.fileno()
    os.closerange(3, me)  # the host's pipes and anything else of the server's
    os.closerange(me + 1, 65536)
    prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: never outlive the server
    null = os.open(os.devnull, os.O_RDWR)
    fork = _clone_parent()
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(sock, 64, len(FD_NAMES))
        except OSError:
            os._exit(0)
        if not msg:
            os._exit(0)
        try:
            pid = fork()
        except OSError as exc:
            pid = -(exc.errno or errno.EAGAIN)
        if pid == 0:
            named = dict(zip(FD_NAMES, fds))
            named["null"] = null
            try:
                job_body(int(msg), named, cfg)
            finally:
                os._exit(0)
        for fd in fds:
            os.close(fd)
        try:
            sock.send(b"%d" % pid)
        except OSError:
            os._exit(0)


def _clone_parent() -> Callable[[], int]:
    """``fork()`` whose child is the caller's parent's child (``CLONE_PARENT``), done
    as ``os.fork`` does it: the GIL held (PyDLL) and CPython's fork hooks around it."""
    number = _SYS_CLONE.get(platform.machine())
    api = ctypes.pythonapi
    libc = ctypes.PyDLL(None, use_errno=True)
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    syscall.argtypes = [ctypes.c_long] * 6
    before, child, parent = api.PyOS_BeforeFork, api.PyOS_AfterFork_Child, api.PyOS_AfterFork_Parent
    for fn in (before, child, parent):
        fn.restype, fn.argtypes = None, []
    flags = _CLONE_PARENT | signal.SIGCHLD

    def fork() -> int:
        if number is None:
            raise OSError(errno.ENOSYS, f"no clone system call number for {platform.machine()}")
        before()
        pid = syscall(number, flags, 0, 0, 0, 0, 0)
        if pid == 0:
            child()
            return 0
        err = ctypes.get_errno()
        parent()
        if pid < 0:
            raise OSError(err, os.strerror(err))
        return int(pid)

    return fork
