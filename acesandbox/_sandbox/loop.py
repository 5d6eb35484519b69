"""The server: spawns J for each job, supervises every step, sends results to the host."""

from __future__ import annotations

import builtins
import errno
import fcntl
import json
import marshal
import os
import signal
import socket
import struct
import sys
import time
TYPE_CHECKING = False  # no typing at run time (see __init__.py)
if TYPE_CHECKING:
    from typing import Any

from . import scratch
from .framing import read_exact, recv, result_message, send, write_all
from .job import job_process
from .kinds import compile_test, lockstep
from .procs import cap_priority, cap_sigpending, inherited_changed, prctl, read_proc, rebase, sweep
from .supervise import close_j, supervise
from .template import Template, TemplateGone, serve_template
from .testproc import q_process

_SEALS = 0x0001 | 0x0002 | 0x0004 | 0x0008  # F_SEAL_SEAL, SHRINK, GROW, WRITE


class CodeCache:
    """The code objects of the latest ``entries`` planned tests, by source: J loads them
    from its job (marshal, several times faster than compiling). Only the host planner's
    code comes here (bounded by ``Limits.test_nodes``), never a program."""

    def __init__(self, entries: int = 1024, max_chars: int = 1 << 14) -> None:
        self.entries, self.max_chars = entries, max_chars
        self.codes: dict[str, Any] = {}  # the most recently used last

    def get(self, source: str) -> Any:
        """The code object of ``source``; None if it is longer than ``max_chars`` or does
        not compile (J compiles it again and reports what that raises)."""
        code = self.codes.pop(source, None)
        if code is None:
            if len(source) > self.max_chars:
                return None
            try:
                code = compile_test(source)
            except Exception:  # noqa: BLE001 - see above
                return None
            if len(self.codes) >= self.entries:
                del self.codes[next(iter(self.codes))]
        self.codes[source] = code
        return code


def _no_sockets_left(ours: frozenset[bytes]) -> bool:
    """Whether the sandbox's own network namespace holds no TCP, UDP or raw socket and no
    bound (named or abstract) unix socket but ``ours`` (:func:`named_unix_sockets` before
    any job). Every process of the job is dead by now: what is left is kernel state such
    as TIME_WAIT, or sockets a program put in flight in a socket pair's own queue
    (SCM_RIGHTS), which outlive it until the kernel's collector runs; either would hold a
    port or a name the next job binds. Read from the namespace's counters
    (/proc/net/sockstat: O(1); /proc/net/tcp walks the host's whole connection table,
    over a millisecond) and its unix socket table."""
    try:
        text = read_proc("/proc/net/sockstat") + read_proc("/proc/net/sockstat6")
        named = named_unix_sockets()
    except OSError:
        return True
    for line in text.split(b"\n"):
        if line.startswith(_SOCKSTAT_KINDS):
            words = line.split()[1:]
            counts = dict(zip(words[::2], words[1::2]))
            if counts.get(b"inuse", b"0") != b"0" or counts.get(b"tw", b"0") != b"0":
                return False
    return named <= ours


def _our_sockets() -> frozenset[bytes]:
    try:
        return named_unix_sockets()
    except OSError:
        return frozenset()


def named_unix_sockets() -> frozenset[bytes]:
    """The inodes of the bound unix sockets in this network namespace. The server's socket
    pairs have no name; the Docker backend's connections to the host do (an accepted socket
    carries its listener's path and lives in the connecting side's namespace)."""
    unix = read_proc("/proc/net/unix")
    # Num RefCount Protocol Flags Type St Inode [Path]: a named socket has the eighth field.
    return frozenset(fields[6] for fields in map(bytes.split, unix.split(b"\n")[1:]) if len(fields) >= 8)


_SOCKSTAT_KINDS = (b"TCP:", b"TCP6:", b"UDP:", b"UDP6:", b"UDPLITE:", b"UDPLITE6:", b"RAW:", b"RAW6:")


def _no_q(verdict_r: int, verdict_w: int, why: str) -> dict[str, Any]:
    """A test process that could not start: its verdict is the program's crash."""
    write_all(verdict_w, json.dumps({"v": "crashed", "msg": why}).encode())
    os.close(verdict_w)
    os.set_blocking(verdict_r, False)
    return {"pid": -1, "verdict": verdict_r, "buf": bytearray()}


def _no_j(k: int, why: str) -> dict[str, Any]:
    """Test ``k``'s result when its job process could not start: the program's crash."""
    info = {"status": "crashed", "msg": f"the job process could not start: {why}"}
    return {"k": k, "end": "load_failed", "phase": "load", "info": info, "lines": [], "out": "", "err": "",
            "trunc": False, "overflow": False, "wall": 0.0, "cpu": 0.0}


class Server:
    def __init__(self, hin: int, hout: int, cfg: dict[str, Any], template: Template) -> None:
        self.hin, self.hout, self.cfg = hin, hout, cfg
        self.template = template  # forks every J (see template.py)
        self.job_fd = -1  # the current job's message in a sealed memfd, once a J needs it
        self.retire = False  # this sandbox ends after the current job (no J could start)
        self.no_j_why = ""
        self.null = os.open(os.devnull, os.O_RDWR)
        self.stop_requested: set[int | None] = set()
        self.current_id: int | None = None
        self.codes = -1  # the current job's test code for Q processes (a memfd), or -1
        self.pending: list[dict[str, Any]] = []  # host messages read during a job, not yet served
        self.out = bytearray()  # results not yet written to the host (see queue)
        self.streaming = True  # the host acts on each result as it comes (see run_job)
        self.compiled = CodeCache()  # planned test code -> its code object
        self.sockets_at_start = _our_sockets() if cfg.get("net_private") else frozenset()
        self.scratch_at_start = scratch.usage(cfg["wipe"]) if cfg.get("wipe_private") else None

    # -- results to the host
    def queue(self, data: bytes) -> None:
        """Hold a result message until we would wait (``flush``, while ``streaming``) or the
        job ends: results that are ready together reach the host in one write, one
        wake-up of its reader."""
        self.out += data
        if len(self.out) >= 1 << 20:
            self.flush()

    def flush(self) -> None:
        if self.out:
            data, self.out = bytes(self.out), bytearray()
            write_all(self.hout, data)

    def spare(self) -> tuple[int, ...]:
        """The pids sweeps leave alive: the template's and the J it forked ahead's."""
        return self.template.live_pids()

    # -- one J
    def _job_memfd(self, job: dict[str, Any]) -> int:
        """The job as parsed (marshal: J is this interpreter, forked from the template; it
        loads several times faster than the host's JSON), in a sealed memfd that every J
        of this job reads (made once per job)."""
        if self.job_fd < 0:
            # Planned tests go compiled: jobs repeat them (every completion of a prompt has
            # the same ones), and compiling them cost J 0.5 ms of a job's CPU.
            for test in job["tests"]:
                if test.get("k") == "plan" and type(test.get("code")) is str:
                    code = self.compiled.get(test["code"])
                    if code is not None:
                        test["_code"] = code
            fd = os.memfd_create("acesandbox-job", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
            try:
                write_all(fd, marshal.dumps(job))
                fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
            except BaseException:
                os.close(fd)
                raise
            self.job_fd = fd
        return self.job_fd

    def _spawn(self, job: dict[str, Any], start: int) -> dict[str, Any] | None:
        """Have the template fork J for tests ``start``..; a dead template is restarted
        (by exec). None if J still could not start (no process or memory left): the
        program's crash, and this sandbox retires after the job."""
        try:
            try:
                return self._fork_j(job, start)
            except TemplateGone:  # killed (by a program of this job or the OOM killer)
                # It may have forked J before it died (J killing it first): none may run on.
                sweep(keep=None)
                self.template = Template.restart(self.cfg)
                return self._fork_j(job, start)
        except (TemplateGone, OSError) as exc:
            if not isinstance(exc, TemplateGone) and exc.errno not in (errno.EAGAIN, errno.ENOMEM):
                raise  # this platform cannot fork J so: the sandbox's failure, not the program's
            sweep(keep=None, spare=self.spare())
            self.retire = True
            self.no_j_why = str(exc)
            return None

    def _fork_j(self, job: dict[str, Any], start: int) -> dict[str, Any]:
        """One J from the template, on fresh pipes (TemplateGone, OSError: none, pipes closed)."""
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        ctrl_r, ctrl_w = os.pipe()
        # Tests judged in a test process Q: each gets a fresh socket pair when it starts,
        # its program end handed to J (or T_k) over this socket (SCM_RIGHTS); Q gets the other.
        fdpass = fdpass_j = None
        if any(t["k"] == "q" for t in job["tests"][start:]):
            fdpass, fdpass_j = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            fdpass.setblocking(False)  # the program may never read: pid 1 must not block
        fds = [res_w, out_w, err_w, ctrl_r, self._job_memfd(job)]
        if fdpass_j is not None:
            fds.append(fdpass_j.fileno())
        try:
            pid, pidfd = self.template.spawn(fds, start)
        except BaseException:
            for fd in (res_r, out_r, err_r, ctrl_w):
                os.close(fd)
            if fdpass is not None:
                fdpass.close()
            raise
        finally:
            for fd in (res_w, out_w, err_w, ctrl_r):
                os.close(fd)
            if fdpass_j is not None:
                fdpass_j.close()
        # ctrl too: a program that stops reading its lines (J runs it) and shrinks the pipe
        # to a page filled it after ~1,000 tests, and pid 1 blocked in write() for good.
        for fd in (res_r, out_r, err_r, ctrl_w):
            os.set_blocking(fd, False)
        return {"pid": pid, "res": res_r, "out": out_r, "err": err_r, "ctrl": ctrl_w, "pidfd": pidfd, "buf": bytearray(), "fdpass": fdpass}

    def _start_q(self, test: dict[str, Any], k: int, j: dict[str, Any], lim: dict[str, Any], job_deadline: float) -> dict[str, Any]:
        """Start the test process Q for test ``k``: forked by the template (never by a
        program process, and never from the server's heap, which holds earlier jobs' data)."""
        verdict_r, verdict_w = os.pipe()
        try:
            chan, program_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError:
            return _no_q(verdict_r, verdict_w, "no descriptor left for the test process's channel")
        try:
            socket.send_fds(j["fdpass"], [b"%d\n" % k], [program_end.fileno()])
        except OSError:
            pass  # the program filled the socket or closed it: Q finds no one to call (its crash)
        program_end.close()
        header = json.dumps(
            {"k": k, "test": {"names": test.get("names", []), "unittest": bool(test.get("unittest"))}, "limits": lim}
        ).encode()
        try:
            if self.codes < 0:
                raise OSError(errno.EBADF, "no test code")
            pid = self.template.spawn_q([verdict_w, chan.fileno(), self.codes], header, within_s=max(0.05, min(lim["wall_timeout_s"], job_deadline - time.monotonic())))
        except (TemplateGone, OSError) as exc:
            # The program used up the processes or memory, or killed the template: its failure, never ours.
            chan.close()
            return _no_q(verdict_r, verdict_w, f"the test process could not start ({exc})")
        os.close(verdict_w)
        chan.close()  # Q holds the only end: when Q dies, the program's side sees EOF
        os.set_blocking(verdict_r, False)
        return {"pid": pid, "verdict": verdict_r, "buf": bytearray()}

    def _recv_codes(self) -> int:
        """The job's test code for Q, straight from the host into a memfd (returned): it
        never lands in the server's heap, so no J forked later can find it in its
        inherited memory. It follows its job message at once, wherever that is read."""
        (n,) = struct.unpack(">I", read_exact(self.hin, 4))
        fd = os.memfd_create("acesandbox-tests")
        buf = bytearray(1 << 16)
        view = memoryview(buf)
        try:
            while n > 0:
                got = os.readv(self.hin, [view[: min(n, len(buf))]])
                if got <= 0:
                    raise EOFError
                write_all(fd, view[:got])
                n -= got
        finally:
            view[:] = bytes(len(buf))
            view.release()
        return fd

    def _job_codes(self, msg: dict[str, Any]) -> None:
        """Read the sources that follow a job message with Q tests (fd in ``msg["codes"]``)."""
        if msg.get("op") == "job" and msg.get("q") is True:
            try:
                msg["codes"] = self._recv_codes()
            except (EOFError, OSError, struct.error):
                sweep(keep=None)
                os._exit(0)

    def _wipe(self, final: bool = False) -> None:
        """Empty the scratch; if the program left something that cannot be removed, this
        sandbox ends here (the host starts a fresh one: nothing reaches the next job).
        ``final``: the job has ended and none of its processes is left, so the scratch must
        hold what it held at the start (see :func:`scratch.settle`)."""
        paths = self.cfg.get("wipe", [self.cfg["scratch"]])
        try:
            clean = all([scratch.wipe(path) for path in paths])
            if final and clean:
                clean = scratch.settle(paths, self.scratch_at_start)
        except BaseException:  # noqa: BLE001 - whatever the program left, pid 1 must not raise
            clean = False
        if not clean:
            sweep(keep=None)
            try:
                self.flush()  # the results so far are the program's, not lost with us
            except OSError:
                pass
            os._exit(3)

    def _kill_all(self, j: dict[str, Any] | None) -> None:
        sweep(keep=None, spare=self.spare())
        if j is not None:
            close_j(j)

    # -- supervision of one step (a load or a test)
    def _host_message(self) -> None:
        try:
            msg = self._recv()
        except (EOFError, OSError, ValueError):
            sweep(keep=None)
            os._exit(0)
        if msg.get("op") == "stop":
            self.stop_requested.add(msg.get("id"))
        else:  # a job sent ahead (or exit): served in order once this job ends
            self._job_codes(msg)
            self.pending.append(msg)

    # -- one job
    def run_job(self, job: dict[str, Any]) -> None:
        jid = job["id"]
        self.current_id = jid
        # A stop only ever names the job running when it was sent: any other is stale.
        self.stop_requested.clear()
        lim = job["limits"]
        tests = job["tests"]
        shared = job["mode"] == "shared"
        in_step = lockstep(job)  # J waits for a line before each test but its first
        # A host that acts on no result before the job ends ("stream": false) gets them all
        # with the job's end, in one write (stops, timeouts and deadlines are ours anyway).
        self.streaming = job.get("stream") is not False
        k = 0
        n = len(tests)
        # The first J before the job's clock starts: a template that a program killed is
        # restarted there (an exec and its preloads), which is no job's time.
        j: dict[str, Any] | None = self._spawn(job, 0) if n else None
        spawned = n > 0
        t_start = time.monotonic()
        job_deadline = t_start + lim["job_timeout_s"]
        # Results stream back one message per test, each within the host's message cap
        # (sizes counted after JSON escaping); the host judges each as it arrives.
        results: list[dict[str, Any]] = []

        def emit(result: dict[str, Any]) -> None:
            self.queue(result_message(dict(result, op="test", id=jid)))

        while k < n:
            if jid in self.stop_requested:
                break
            if time.monotonic() >= job_deadline:
                for kk in range(k, n):
                    emit({"k": kk, "end": "timeout", "reason": "job", "lines": [], "out": "", "err": "", "trunc": False, "overflow": False, "wall": 0.0, "cpu": 0.0})
                break
            if not spawned:
                j = self._spawn(job, k)
            spawned = False
            if j is None:
                for kk in range(k, n):
                    emit(_no_j(kk, self.no_j_why))
                k = n
                break
            load = supervise(self, j, None, lim, job_deadline, shared=False, cap_out=lim["output_bytes"])
            if load["end"] != "loaded":
                self._kill_all(j)
                for kk in range(k, n):
                    emit(dict(load, k=kk, phase="load"))
                k = n
                break
            self._wipe()
            if shared:  # J waits for this: nothing the tests write is wiped under them
                try:
                    write_all(j["ctrl"], b"go\n")
                except OSError:
                    pass
            first = k
            while k < n:
                if jid in self.stop_requested:
                    break
                test = tests[k]
                cap = test.get("cap", lim["output_bytes"])
                if not shared or in_step and k > first:
                    try:
                        write_all(j["ctrl"], b"%d\n" % k if not shared else b"go\n")
                    except OSError:
                        pass
                q = self._start_q(test, k, j, lim, job_deadline) if test["k"] == "q" else None
                r = supervise(self, j, k, lim, job_deadline, shared=shared, cap_out=cap, q=q,
                              call_limits=test.get("tl") if test["k"] == "calls" else None)
                if not shared:
                    self._wipe()
                if r["end"] == "stopped":  # the host no longer wants this test's result
                    j = None
                    k = n
                    break
                emit(dict(r, k=k))
                k += 1
                if r["end"] in ("timeout", "died"):
                    j = None
                    break
            if j is not None:
                break
        # Results first: the host judges them while we clean up, before the next job.
        self.queue(result_message({"op": "end", "id": jid, "results": results}))
        self.flush()
        self._kill_all(j)
        if self.template.alive():
            self.template.prefork()  # the next job's J forks while we clean up and wait
        else:
            # A program killed it: its successor starts now, between jobs, never within the
            # next job's time (an exec of the server and its preloads, up to seconds).
            # Nothing of the job may be alive while it starts (it is dumpable for a moment:
            # see serve_template), not even a process that took a spared pid.
            sweep(keep=None)
            self.template = Template.restart(self.cfg)
            self.template.warm()
        self._wipe(final=True)
        # No J could be started, even from a restarted template; or a program changed the limits,
        # nice value or CPU set that every later J inherits (from us, the template or a J it forked).
        if self.retire or inherited_changed(*self.template.live_pids()):
            sweep(keep=None)
            os._exit(3)
        if self.cfg.get("net_private") and not _no_sockets_left(self.sockets_at_start):
            # Sockets outlive the program (TIME_WAIT, or sockets in flight: a port or name the
            # next job could not bind): this sandbox's network ends here (the host starts a fresh one).
            sweep(keep=None)
            os._exit(3)
        self.stop_requested.clear()

    def _recv(self) -> dict[str, Any]:
        """The host's next message."""
        return recv(self.hin)

    def serve(self) -> None:
        self.template.prefork()
        send(
            self.hout,
            {"op": "ready", "pid": os.getpid(), "python": sys.version.split()[0], "preload_failed": self.cfg.get("preload_failed", [])},
        )
        while True:
            if self.pending:
                msg = self.pending.pop(0)
            else:
                try:
                    msg = self._recv()
                except (EOFError, OSError):
                    sweep(keep=None)
                    os._exit(0)
            op = msg.get("op")
            if op == "job":
                if "codes" not in msg:
                    self._job_codes(msg)
                self.codes = msg.pop("codes", -1)
                try:
                    self.run_job(msg)
                finally:
                    if self.codes >= 0:
                        os.close(self.codes)
                        self.codes = -1
                    if self.job_fd >= 0:
                        os.close(self.job_fd)
                        self.job_fd = -1
            elif op == "exit":
                sweep(keep=None)
                os._exit(0)
            elif op == "stop":
                pass  # the job already ended


ALWAYS_PRELOADED = ("typing",)
"""Modules the template holds whatever the configuration: programs import typing most of
all (HumanEval's prompts do), and its import cost every job's J 6 ms here."""


def _interpreter(cfg: dict[str, Any]) -> list[str]:
    """The setup the server and a restarted template share (both started with -S): add
    site-packages (.pth hooks are not run) and the exit()/quit() builtins programs
    expect, enter the scratch, become non-dumpable (programs in the sandbox cannot
    ptrace us), preload the configured modules; the modules that failed to import."""
    for d in cfg.get("site", []):
        if d not in sys.path:
            sys.path.append(d)
    import _sitebuiltins

    builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")
    builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")
    os.makedirs(cfg["scratch"], exist_ok=True)
    os.chdir(cfg["scratch"])
    prctl(4, 0)  # PR_SET_DUMPABLE 0
    failed = []
    for name in (*ALWAYS_PRELOADED, *cfg.get("preload", [])):
        try:
            __import__(name)
        except BaseException as exc:  # noqa: BLE001 - reported to the host as a warning
            failed.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
    return failed


def _freeze() -> None:
    import gc

    from .job import bare_fork
    from .kinds import warm_up

    warm_up()  # the test paths' bytecode specialised once, here, not in every test process
    bare_fork()  # T_k's fork, made once here rather than in every J
    gc.collect()
    gc.freeze()  # keep refcount/GC writes from touching shared pages after fork


def _quiet() -> None:
    """Stdin and stdout on /dev/null (the channels were dup'ed off them first), and the
    signals a terminal or the host's process group sends ignored."""
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)


def main() -> None:
    hin, hout = os.dup(0), os.dup(1)
    _quiet()
    cfg = recv(hin)
    os.makedirs(cfg["scratch"], exist_ok=True)
    for path in cfg.get("wipe", [cfg["scratch"]]):  # a fresh server after a discarded one
        if not scratch.wipe(path):
            os._exit(3)
    prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: orphans come back to us, so sweeps find them
    cap_sigpending()  # a quota of the whole host uid (see procs.SIGPENDING)
    cap_priority()  # no real-time or raised priority, whatever the host allows
    rebase()
    if cfg.get("rlimit_nproc"):
        cfg["rlimit_nproc_base"] = 1  # the fork template
    cfg["preload_failed"] = _interpreter(cfg)
    _freeze()
    # Before any job is read: the template that forks every J holds no job's data.
    template = Template.start(cfg, job_process, q_process)
    Server(hin, hout, cfg, template).serve()


def template_main() -> None:
    """A fork template restarted by exec (``server.py --template``): its socket to the
    server on stdin, the server's config as its first message."""
    fd = os.dup(0)
    _quiet()
    sock = socket.socket(fileno=fd)
    try:
        cfg = json.loads(sock.recv(1 << 20))
    except (OSError, ValueError):
        os._exit(0)
    _interpreter(cfg)
    _freeze()
    serve_template(sock, cfg, job_process, q_process)
