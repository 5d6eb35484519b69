"""Host side of the fork-server protocol, shared by every backend that runs our server.

A backend supplies the command that starts ``acesandbox/_sandbox/server.py`` inside its
isolation (bubblewrap, a plain process, ``docker exec``...); this class speaks the
protocol, enforces the host-side deadline and turns raw results into outcomes.
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import json
import os
import random
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from typing import Any, Callable

from .. import _wire
from .._kinds import Prepared, forgeable_warnings, outcome_from_raw, prepare_job
from .._result import Outcome, Report, Status
from .._spec import Job, Limits
from ..errors import InvalidJobError, SandboxCrashedError, SandboxTimeoutError, SandboxUnavailableError
from .base import Session

__all__ = ["OomCounter", "ServerSession"]

_MAX_MSG = 256 * 2**20
_F_GETPIPE_SZ = 1032
_MSG_DEPTH = 3 * _wire.DEFAULT_MAX_DEPTH + 16  # a message holds raw results: strings, a few levels
# bubblewrap's --die-with-parent (PR_SET_PDEATHSIG) fires when the *thread* that started
# it exits, so every sandbox is started from this one long-lived thread, never from a
# short-lived batch worker.
_SPAWNER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="acesandbox-spawn")


def _after_fork_in_child() -> None:
    """A forked host has no spawner thread (a submit would wait for one forever)."""
    global _SPAWNER
    _SPAWNER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="acesandbox-spawn")


os.register_at_fork(after_in_child=_after_fork_in_child)
_SKIPPED = Outcome(Status.SKIPPED, message="skipped after an earlier test did not pass")


def _compile_runtime() -> None:
    """Write the bytecode of the in-sandbox server's modules where the interpreter keeps it,
    once a host process, as an import would (not where ``sys.dont_write_bytecode`` says not
    to). The sandbox imports them read-only and with ``-B``, and the host never imports
    them: an install that never compiled them (an editable one) compiled them again at
    every sandbox start, about 27 ms of CPU each. Best effort: a read-only install only
    starts slower."""
    global _runtime_compiled
    if _runtime_compiled or sys.dont_write_bytecode:
        return
    _runtime_compiled = True
    import compileall

    from .._sandbox import FILES

    folder = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "_sandbox")
    for name in FILES:
        if name != "server.py":  # run as a script: never read from a cache
            try:
                compileall.compile_file(os.path.join(folder, name), quiet=2)
            except Exception:  # noqa: BLE001 - only slower without it
                pass


_runtime_compiled = False


class ServerSession(Session):
    """A running in-sandbox server, fed jobs over its stdin/stdout."""

    def __init__(
        self,
        argv: list[str],
        *,
        cfg: dict[str, Any],
        isolation: str,
        backend: str,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        start_timeout_s: float = 60.0,
        oom_kills: Callable[[], int] | None = None,
        sandbox_limits: dict[str, int] | None = None,
        on_close: Callable[[], None] | None = None,
        warnings: tuple[str, ...] = (),
    ) -> None:
        self.isolation = isolation
        self.backend = backend
        self.warnings = warnings
        self._oom_kills = oom_kills or (lambda: 0)
        self._sandbox_limits = dict(sandbox_limits or {})
        self._limits_cache: tuple[Limits, bytes] | None = None
        self._on_close = on_close
        self._closed = False
        self._owner = os.getpid()  # a forked child shares the pipes, never the sandbox
        self._busy = False  # a run is in progress (close() from another thread leaves it the descriptors)
        self._lock = threading.Lock()
        self._buf = bytearray()  # bytes read from the sandbox; those before _pos are parsed
        self._pos = 0
        self._argv, self._env, self._cwd, self._cfg = argv, env, cwd, cfg
        self._start_timeout_s = start_timeout_s
        self._base_warnings = warnings
        self._stale = False
        self._hint: Job | None = None
        # The job sent ahead (see hint_next): the job, its message id and its prepared tests.
        self._ahead: tuple[Job, int, list[Prepared | InvalidJobError]] | None = None
        # Message ids: a per-session counter from a random start, checked on every message.
        self._next_id = random.SystemRandom().randrange(1 << 30)
        self._start()

    def _start(self) -> None:
        """Start the sandbox and wait for its greeting (SandboxUnavailableError if it does not come)."""
        _compile_runtime()
        self._buf = bytearray()
        self._pos = 0
        argv = self._argv
        try:
            self.proc = self._spawn(argv, self._env, self._cwd)
        except OSError as exc:
            self._cleanup()
            raise SandboxUnavailableError(f"could not start the sandbox ({argv[0]}): {exc}") from exc
        self._in = self.proc.stdin.fileno()
        self._pipe_bytes = 0
        self._out = self.proc.stdout.fileno()
        os.set_blocking(self._out, False)
        # One read takes what the pipe holds: its capacity is the most a read can bring,
        # and a larger request costs a larger allocation every time (1 MiB: 7 us a read).
        try:
            self._read_bytes = min(max(fcntl.fcntl(self._out, _F_GETPIPE_SZ), 4096), 1 << 20)
        except OSError:
            self._read_bytes = 1 << 16
        try:
            self._send(self._cfg)
            hello = self._recv(time.monotonic() + self._start_timeout_s)
        except Exception as exc:  # noqa: BLE001 - any failure to start is the host's problem
            err = self._stderr_tail()
            self.close()
            raise SandboxUnavailableError(f"the sandbox did not start: {exc}; stderr: {err or '(empty)'}") from exc
        if hello.get("op") != "ready":
            self.close()
            raise SandboxUnavailableError(f"unexpected greeting from the sandbox: {hello!r}")
        self.pid = hello.get("pid")
        failed = hello.get("preload_failed") or ()
        self.warnings = self._base_warnings + tuple(f"preload failed: {m}" for m in failed)
        self._stale = False
        self._ahead = None  # a fresh server never saw it

    def _replace(self) -> None:
        """Discard this sandbox (it may hold a job's leftovers) and start a fresh one;
        a closed session never starts one (its owner is gone: Ctrl-C, the executor closed)."""
        if self._closed:
            raise SandboxCrashedError("session is closed")
        proc = getattr(self, "proc", None)
        if proc is not None:
            self._kill(proc)
            _close_streams(proc)
        self._start()

    def _spawn(self, argv: list[str], env: dict[str, str] | None, cwd: str | None) -> Any:
        """Start the sandbox and return its process handle (a subclass may start it another way).

        The handle needs what a Popen offers here: ``stdin`` and ``stdout`` with real file
        descriptors (the protocol), ``stderr`` (or None) and ``poll()``; ``_kill`` ends it.
        """
        return _SPAWNER.submit(
            subprocess.Popen,
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env if env is not None else {},
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        ).result()

    def _kill(self, proc: Any) -> None:
        """Kill the sandbox and everything in it (``close`` calls it once)."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            proc.kill()
        except OSError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    # ------------------------------------------------------------ framing
    def _send(self, obj: dict[str, Any]) -> None:
        self._send_raw(json.dumps(obj, separators=(",", ":")).encode())

    def _send_raw(self, data: bytes) -> None:
        """Send one length-prefixed message (``data`` is its JSON)."""
        # One write for header and body: one wake-up of the server, not two.
        self._send_frames(struct.pack(">I", len(data)) + data)

    def _send_frames(self, frames: bytes) -> None:
        """Write messages already length-prefixed."""
        try:
            view = memoryview(frames)
            while view:
                view = view[os.write(self._in, view) :]
        except OSError as exc:
            raise SandboxCrashedError(f"the sandbox stopped reading: {exc}") from exc

    def _read_more(self, deadline: float) -> None:
        """Append the sandbox's next bytes to the buffer: read at once when some are
        waiting, else wait for them (until ``deadline``)."""
        if self._pos:  # drop what was parsed, before the buffer grows
            del self._buf[: self._pos]
            self._pos = 0
        while True:
            if time.monotonic() >= deadline:
                raise SandboxTimeoutError("the sandbox stopped answering")
            try:
                chunk = os.read(self._out, self._read_bytes)
            except BlockingIOError:
                wait = deadline - time.monotonic()
                if wait > 0:
                    select.select([self._out], [], [], wait)
                continue
            except OSError as exc:
                raise SandboxCrashedError(f"reading from the sandbox failed: {exc}") from exc
            if not chunk:
                raise SandboxCrashedError(f"the sandbox exited (status {self.proc.poll()}): {self._stderr_tail()}")
            self._buf += chunk
            return

    def _recv(self, deadline: float) -> dict[str, Any]:
        """The next message, parsed from the bytes already read while they hold one
        whole (results that arrive together cost one wait and one read, not one each)."""
        while True:
            buf, pos = self._buf, self._pos
            have = len(buf) - pos
            if have >= 4:
                n = int.from_bytes(buf[pos : pos + 4], "big")
                if n > _MAX_MSG:
                    raise _Anomaly(f"the sandbox sent a message of {n} bytes, over the {_MAX_MSG}-byte limit")
                if have >= 4 + n:
                    break
            self._read_more(deadline)
        data = bytes(buf[pos + 4 : pos + 4 + n])
        self._pos = pos + 4 + n
        if self._pos == len(buf):
            buf.clear()
            self._pos = 0
        try:
            _wire.check_depth(data, _MSG_DEPTH)
            # Decoded here as UTF-8, what the server writes: given bytes, json.loads
            # would first guess their encoding.
            msg = json.loads(data.decode("utf-8", "surrogatepass"))
        except (ValueError, RecursionError) as exc:
            raise _Anomaly(f"malformed message from the sandbox ({type(exc).__name__})") from None
        if not isinstance(msg, dict):
            raise _Anomaly("malformed message from the sandbox (not an object)")
        return msg

    def _stderr_tail(self) -> str:
        try:
            err = self.proc.stderr
            if err is None:
                return ""
            os.set_blocking(err.fileno(), False)
            data = err.read() or b""
            return data[-2000:].decode(errors="replace").strip()
        except Exception:  # noqa: BLE001
            return ""

    # ---------------------------------------------------------------- run
    def run(self, job: Job, on_outcome: Callable[[int, Outcome], None] | None = None) -> Report:
        """Run one job; whatever its program does ends in its own outcomes.

        A message that breaks the protocol (malformed, oversized, another job's, out of
        order) can only come from what the program did: the job's unreported tests end
        ``crashed`` and the sandbox is replaced before the next job, so nothing left in
        the pipe is ever read as another job's result. A sandbox that dies or wedges
        mid-job is replaced and the job run once more; the second time it is the
        program's doing too. Only failing to start a sandbox is a SandboxError.
        """
        if self._owner != os.getpid():
            # Inherited through fork: both processes would read the one reply stream, with
            # the same message ids (each got the other's verdicts).
            raise SandboxUnavailableError(f"this sandbox belongs to process {self._owner}, not this forked one")
        with self._lock:
            if self._closed:
                raise SandboxCrashedError("session is closed")
            self._busy = True
        try:
            return self._run(job, on_outcome)
        finally:
            with self._lock:
                self._busy = False
                closed = self._closed
            if closed:  # closed by another thread meanwhile: what it left to us (see close)
                self._finish_close()

    def _run(self, job: Job, on_outcome: Callable[[int, Outcome], None] | None) -> Report:
        # Tests that cannot be prepared are the caller's error: reported as ``error``
        # outcomes while the rest of the job runs. ``prepared`` holds the runnable ones.
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] is not job:
            self._stale = True  # the server runs a job nobody reads now: start afresh
            ahead = None
        slots = ahead[2] if ahead is not None else prepare_job(job)
        index = [i for i, p in enumerate(slots) if isinstance(p, Prepared)]
        prepared = [p for p in slots if isinstance(p, Prepared)]
        t0 = time.monotonic()
        sent_as = ahead[1] if ahead is not None else None  # the message id it went ahead as
        for attempt in range(2):
            if self._stale:
                self._replace()
                sent_as = None  # it went ahead to the sandbox just discarded: send it again
            elif attempt:
                sent_as = None
            outcomes: list[Outcome | None] = [None] * len(prepared)
            delivered: list[int] = []

            def deliver(k: int, outcome: Outcome) -> None:
                delivered.append(k)
                if on_outcome is not None:
                    on_outcome(index[k], outcome)

            try:
                self._run_once(
                    job, prepared, outcomes, deliver, sent_as, on_outcome is not None
                )
                break
            except _Anomaly as exc:
                self._stale = True
                _fill(outcomes, Status.CRASHED, str(exc))
                break
            except (SandboxCrashedError, SandboxTimeoutError) as exc:
                self._stale = True
                if attempt == 1:
                    _fill(outcomes, Status.CRASHED, f"the sandbox failed twice running this job: {exc}")
                    break
                if delivered and on_outcome is not None:  # results already streamed: no second run
                    _fill(outcomes, Status.CRASHED, f"the sandbox failed running this job: {exc}")
                    break
            except BaseException:
                # Ctrl-C, or on_outcome raised: the job's messages are still on their way, and
                # the next job must not read them as its own. Start it on a fresh sandbox.
                self._stale = True
                raise
        final_list: list[Outcome] = []
        run = iter(outcomes)
        for slot in slots:
            if isinstance(slot, Prepared):
                o = next(run)
                final_list.append(o if o is not None else _SKIPPED)
            else:
                final_list.append(Outcome(Status.ERROR, message=str(slot)))
        return Report(
            outcomes=tuple(final_list),
            job_id=job.job_id,
            backend=self.backend,
            isolation=self.isolation,
            mode=job.mode,
            compare=job.compare,
            duration_s=time.monotonic() - t0,
            warnings=(*self.warnings, *forgeable_warnings(slots)),
        )

    def _run_once(
        self,
        job: Job,
        prepared: list[Prepared],
        outcomes: list[Outcome | None],
        deliver: Callable[[int, Outcome], None],
        sent_as: int | None = None,
        streamed: bool = False,
    ) -> None:
        """Send the job (unless it went ahead as message ``sent_as``) and judge its
        results as they come, in order, by message id."""
        lim = job.limits
        jid = sent_as if sent_as is not None else self._send_job(job, prepared, streamed)
        self._send_ahead()
        # The server bounds every step itself; this deadline only catches a wedged sandbox.
        deadline = time.monotonic() + lim.effective_job_timeout_s + lim.effective_wall_timeout_s * 2 + 30.0
        stopped = False
        self._oom_seen = self._oom_kills()
        self._oom_credit = 0
        expect = 0  # the next test index: results come in order, each exactly once
        while True:
            msg = self._recv(deadline)
            op = msg.get("op")
            if msg.get("id") != jid:
                raise _Anomaly("the sandbox sent a message of another job")
            if op == "end":
                batch = msg.get("results", [])
                if not isinstance(batch, list):
                    raise _Anomaly("malformed results from the sandbox")
            elif op == "test":
                batch = [msg]
            else:
                raise _Anomaly(f"unexpected message from the sandbox: {_short(op)}")
            for raw in batch:
                if not isinstance(raw, dict):
                    raise _Anomaly("malformed results from the sandbox")
                k = raw.get("k")
                if type(k) is not int or k != expect or k >= len(prepared):
                    raise _Anomaly(f"the sandbox reported test {_short(k)} where test {expect} was due")
                expect += 1
                stopped = self._take(raw, k, prepared, outcomes, job, jid, stopped, deliver)
            if op == "end":
                break
        if not stopped and expect != len(prepared):
            raise _Anomaly(f"the sandbox ended the job after {expect} of {len(prepared)} tests")

    def _job_message(self, job: Job, prepared: list[Prepared], streamed: bool = False) -> tuple[int, bytes]:
        """A fresh message id and the job message (the tests' JSON spliced in: a test
        shared by many jobs is serialized once), then the sources of the tests judged in a
        test process, if any, as a message of their own: both framed, ready to write.

        ``"stream"`` says whether the host acts on a test's result before the job ends:
        to stop at a failure, or to hand it to ``on_outcome`` (``streamed``). When it does
        not, a server may hold the results until the job ends and send them in one write,
        one wake-up of the host instead of one per test."""
        self._next_id = (self._next_id + 1) & 0x3FFFFFFF
        jid = self._next_id
        # Tests judged in a test process Q: their sources follow the job message as a message
        # of their own, which the server moves into a memfd unparsed (see _sandbox/loop.py).
        codes = {str(k): p.source for k, p in enumerate(prepared) if p.source is not None}
        tests = b",".join(p.payload_json() for p in prepared)
        # {"op","id","program","mode","limits","stream"[,"q"],"tests"}: spliced from parts,
        # as json.dumps(head, separators=(",", ":")) would write it.
        data = b'{"op":"job","id":%d,"program":%s,"mode":%s,"limits":%s,"stream":%s%s,"tests":[%s]}' % (
            jid,
            json.dumps(job.program).encode(),
            json.dumps(job.mode).encode(),
            self._limits_json(job.limits),
            b"true" if streamed or job.stop_on_failure else b"false",
            b',"q":true' if codes else b"",
            tests,
        )
        frames = struct.pack(">I", len(data)) + data
        if codes:
            blob = json.dumps(codes, separators=(",", ":")).encode()
            frames += struct.pack(">I", len(blob)) + blob
        return jid, frames

    def _limits_json(self, lim: Limits) -> bytes:
        """A job's limits as sent, with the sandbox-wide caps (its SandboxConfig's); kept
        for the last Limits value seen, which a batch's jobs share."""
        cached = self._limits_cache
        if cached is not None and cached[0] is lim:
            return cached[1]
        limits = {**lim.to_dict(), **self._sandbox_limits}
        limits["wall_timeout_s"] = lim.effective_wall_timeout_s
        limits["job_timeout_s"] = lim.effective_job_timeout_s
        data = json.dumps(limits, separators=(",", ":")).encode()
        self._limits_cache = (lim, data)
        return data

    def _send_job(self, job: Job, prepared: list[Prepared], streamed: bool = False) -> int:
        jid, frames = self._job_message(job, prepared, streamed)
        self._send_frames(frames)
        return jid

    def hint_next(self, job: Job | None) -> None:
        self._hint = job

    def _send_ahead(self) -> None:
        """Send the hinted next job now, if the pipe has room for all of it: the server
        queues it and starts it as soon as the current job ends, without waiting for us
        (a write that could block while the server blocks writing results to us never
        happens: only a message that fits in the pipe's free space goes ahead)."""
        job, self._hint = self._hint, None
        if job is None:
            return
        try:
            slots = prepare_job(job)
            prepared = [p for p in slots if isinstance(p, Prepared)]
            if not prepared:
                return
            jid, frames = self._job_message(job, prepared)
            if not self._pipe_bytes:  # the pipe's capacity: asked once per sandbox
                self._pipe_bytes = fcntl.fcntl(self._in, _F_GETPIPE_SZ)
            size = self._pipe_bytes
            queued = struct.unpack("i", fcntl.ioctl(self._in, termios.FIONREAD, b"\0\0\0\0"))[0]
        except Exception:  # noqa: BLE001 - a hint only: the job is sent when it runs
            return
        if queued + len(frames) > size:
            return
        self._send_frames(frames)
        self._ahead = (job, jid, slots)

    def _take(
        self,
        msg: dict[str, Any],
        k: int,
        prepared: list[Prepared],
        outcomes: list[Outcome | None],
        job: Job,
        jid: int,
        stopped: bool,
        deliver: Callable[[int, Outcome], None],
    ) -> bool:
        """Judge one raw test result; returns whether the job is now stopping."""
        oom = False
        wstatus = msg.get("wstatus", 0)
        killed = msg.get("end") == "exit" and type(wstatus) is int and (wstatus & 0x7F) == signal.SIGKILL
        if killed or msg.get("end") == "died" or msg.get("phase") == "load":
            # The cgroup counts OOM kills; the sandbox runs one test at a time, so each
            # kill counted since the job started explains one SIGKILLed test, in order.
            now_kills = self._oom_kills()
            self._oom_credit += now_kills - self._oom_seen
            self._oom_seen = now_kills
            oom = self._oom_credit > 0
            self._oom_credit -= 1 if oom else 0
        outcome = outcome_from_raw(prepared[k], msg, oom_killed=oom)
        if stopped:
            outcome = _SKIPPED
        outcomes[k] = outcome
        deliver(k, outcome)
        if job.stop_on_failure and not stopped and outcome.status is not Status.PASSED:
            stopped = True
            self._send({"op": "stop", "id": jid})
        return stopped

    # -------------------------------------------------------------- close
    def _cleanup(self) -> None:
        if self._on_close is not None:
            cb, self._on_close = self._on_close, None
            try:
                cb()
            except Exception:  # noqa: BLE001
                pass

    def close(self) -> None:
        if self._owner != os.getpid():
            self._closed = True  # the parent's sandbox (fork): still in use there, never killed here
            return
        with self._lock:
            if self._closed:
                return
            self._closed = True
            busy = self._busy
        if busy:
            # Another thread runs a job here (an interrupted batch, Executor.close): kill the
            # sandbox so that its run ends, and leave the rest to that run. Closed under it,
            # its pipes' numbers went to the next descriptors opened (another sandbox's pipes)
            # and its reads and writes to them; and a sandbox it started meanwhile, replacing
            # a crashed one, was never killed.
            proc = getattr(self, "proc", None)
            if proc is not None:
                self._kill(proc)
            return
        self._finish_close()

    def _finish_close(self) -> None:
        proc = getattr(self, "proc", None)
        if proc is not None:
            self._kill(proc)
            _close_streams(proc)
        self._cleanup()


class OomCounter:
    """A cgroup's count of OOM kills, read as ``Cgroup.oom_kills`` reads it but through
    one descriptor kept open: the session reads it at every job's start, and an open
    and close of a cgroup file cost several times the read (50 us a job under load)."""

    def __init__(self, cg: Any) -> None:
        v1 = cg.version == "v1"
        self.path = os.path.join(cg.dirs["memory" if v1 else "unified"], "memory.oom_control" if v1 else "memory.events")
        self._fd = -1
        self._lock = threading.Lock()

    def __call__(self) -> int:
        """The count now; 0 when the file cannot be read (as ``Cgroup.oom_kills``)."""
        with self._lock:
            try:
                if self._fd < 0:
                    self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
                data = os.pread(self._fd, 4096, 0)  # a kernel counters file: read afresh at offset 0
            except OSError:
                return 0
        for line in data.split(b"\n"):
            key, _, value = line.partition(b" ")
            if key == b"oom_kill":
                return int(value)
        return 0

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


def release(oom: OomCounter | None, cg: Any) -> None:
    """A sandbox's host-side resources after it ends: the OOM counter's descriptor, its cgroup."""
    if oom is not None:
        oom.close()
    if cg is not None:
        cg.remove()


class _Anomaly(Exception):
    """The sandbox's messages broke the protocol: only a program can have caused it."""


def _fill(outcomes: list[Outcome | None], status: Status, message: str) -> None:
    """Give every test not yet reported ``status``."""
    for k, o in enumerate(outcomes):
        if o is None:
            outcomes[k] = Outcome(status, message=message)


def _short(value: Any) -> str:
    return repr(value)[:60]


def _close_streams(proc: Any) -> None:
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
