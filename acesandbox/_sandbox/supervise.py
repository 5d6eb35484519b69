"""Supervising one step of J (its load or one test): time limits, output caps, the end frame."""

from __future__ import annotations

import json
import math
import os
import re
import select
import signal
import time
from .procs import children, cpu_s, descendants, sweep

TYPE_CHECKING = False  # no typing at run time (see __init__.py)
if TYPE_CHECKING:
    from typing import Any

    from .loop import Server

_READ = 1 << 16
_DRAIN_READS = 256  # reads of one pipe per wake-up (16 MiB): the rest waits for the next poll
_MAX_LINES = 10_000  # result frames one test may send (a flood is the program's error)
_MAX_END_FRAME = 1 << 16  # J's own step-end frames are short; a longer line is not one
_EXIT_FRAME = re.compile(rb'\["x",(0|[1-9][0-9]{0,9}),(0|[1-9][0-9]{0,5}),((?:0|[1-9][0-9]{0,9})\.[0-9]{1,9})\]')
_DONE_FRAME = re.compile(rb'\["t",(0|[1-9][0-9]{0,9})\]')
_PLAIN = bytes(b for b in range(0x20, 0x7F) if b not in b'"\\')


def _escaped_size(line: bytes) -> int:
    """At least the size of ``line`` as a JSON string in the message (ASCII-escaped): a
    control or non-ASCII byte takes up to 6 bytes there, quotes and backslashes 2."""
    return len(line) + 5 * len(line.translate(None, _PLAIN)) + 3


def _step_end(line: bytes, k: int | None, shared: bool) -> dict[str, Any] | None:
    """The end of step ``k`` if ``line`` is a well-formed end frame for it, else None.

    J is untrusted (it loaded the program), so such a line may be forged: anything
    malformed (nested deep, wrong types, too long) is passed on as garbage instead,
    and never raises here, in pid 1.
    """
    if len(line) > _MAX_END_FRAME:
        return None
    if not shared and k is not None:
        # J's own exit frame, as J writes it: read without the JSON parser (same values).
        m = _EXIT_FRAME.fullmatch(line)
        if m is not None:
            wstatus, cpu = int(m[2]), float(m[3])
            if int(m[1]) == k and wstatus <= 0xFFFF and cpu < 1e9:
                return {"end": "exit", "wstatus": wstatus, "cpu": cpu}
    elif shared and k is not None:
        # A shared-mode test's done frame, as J writes it: likewise (one a test).
        m = _DONE_FRAME.fullmatch(line)
        if m is not None:
            return {"end": "done"} if int(m[1]) == k else None
    try:
        frame = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if type(frame) is not list or not frame:
        return None
    tag = frame[0]
    if tag == "r" and k is None and len(frame) == 1:
        return {"end": "loaded"}
    if tag == "l" and k is None and len(frame) == 2 and type(frame[1]) is dict:
        return {"end": "load_failed", "info": frame[1]}
    if tag == "x" and not shared and len(frame) == 4 and type(frame[1]) is int and frame[1] == k:
        wstatus, cpu = frame[2], frame[3]
        if type(wstatus) is int and 0 <= wstatus <= 0xFFFF and type(cpu) in (int, float) and 0 <= cpu < 1e9:
            return {"end": "exit", "wstatus": wstatus, "cpu": cpu}
    if tag == "t" and shared and len(frame) == 2 and type(frame[1]) is int and frame[1] == k:
        return {"end": "done"}
    return None


def _counted(server: Any, j: dict[str, Any], q_pids: list[int]) -> list[int]:
    """The processes whose CPU time counts against the step: J (its threads and
    reaped children too) and its descendants, the test process, and every orphan of the program with
    its descendants: a process whose parent died is reparented to the server, out of J's
    tree, and a call that did its slow part in a double-forked grandchild passed a 1 s
    limit with 2.5 s of CPU (only the wall limit, 3x, bounded it). Zombies keep their
    times until a sweep reaps them. Read only at the step's CPU checks, never per test."""
    known = {j["pid"], *q_pids, *server.spare()}
    # J first: its times include its reaped children's, so a T_k reaped while we read is
    # counted once (in J, or in neither), never in both.
    pids = [j["pid"], *descendants(j["pid"]), *q_pids]
    for p in children(os.getpid()):
        if p not in known:
            pids.append(p)
            pids += descendants(p)
    return pids


try:
    _CPUS = max(1, len(os.sched_getaffinity(0)))
except (AttributeError, OSError):
    _CPUS = os.cpu_count() or 1
"""CPUs this sandbox's processes may run on: a step's CPU time is at most its wall time times this."""

_CALL_SLACK = 2.0
_CALL_MARGIN_S = 0.5
"""How much longer than its limit a call may take, by the server's clock (``limit * 2 +
0.5 s``: its clock starts before the test process is forked, and a loaded machine is slow
to deliver frames), before the server ends it; the call's own timer, in the program's
process, ends an honest call at its limit."""


def _call_deadline(limits: Any, i: int, start: float) -> float:
    """When call ``i`` of a CallBatchTest, started at ``start``, is over its time for good.

    The per-call timer runs in the program's process, which can cancel it (setitimer(0),
    a blocked SIGALRM): a slow call then passed within the test's CPU limit. The server
    keeps its own deadline from the frames it sees, with slack, so an honest call is ended
    by its own timer first. Infinity without a limit."""
    t: Any = limits
    if type(limits) is list:  # one per call (past the last: none)
        t = limits[i] if i < len(limits) else None
    if type(t) not in (int, float) or not 0 < t < 1e9:
        return math.inf
    return start + float(t) * _CALL_SLACK + _CALL_MARGIN_S


def supervise(
    server: Server,
    j: dict[str, Any],
    k: int | None,
    lim: dict[str, Any],
    job_deadline: float,
    shared: bool,
    cap_out: int,
    q: dict[str, Any] | None = None,
    call_limits: Any = None,
) -> dict[str, Any]:
    # k None: J's load step; its CPU time is J's own, as in shared mode.
    # call_limits: a CallBatchTest's per-call timeouts (one number, or one per call).
    """Wait for J's end-of-step frame, enforcing time limits; returns the raw result."""
    t0 = time.monotonic()
    timeout_s = lim["timeout_s"]
    wall_deadline = min(t0 + lim["wall_timeout_s"], job_deadline)
    check_at = t0 + timeout_s
    # A test process's CPU time counts against the test's limit, as when test code ran in J.
    q_pids = [q["pid"]] if q is not None and q["pid"] > 0 else []
    lines: list[str] = []
    out, err = bytearray(), bytearray()
    trunc = False
    result_bytes = 0  # raw bytes read from the result channel
    escaped = 0  # bytes the relayed lines take in the message to the host
    overflow = False
    cap_err = lim["output_bytes"]
    end: dict[str, Any] | None = None
    poller, fdmap = _poller(server, j)
    buf = j["buf"]
    calls_seen = 0
    call_deadline = _call_deadline(call_limits, 0, t0)

    def drain(key: str) -> bool:
        """Read what is there (at most _DRAIN_READS reads: writers that keep a pipe full
        must not hold us from the time limits); False at end of file."""
        nonlocal buf, trunc, result_bytes, overflow
        fd = j[key]
        for _ in range(_DRAIN_READS):
            try:
                chunk = os.read(fd, _READ)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            short = len(chunk) < _READ  # a pipe's read returns all it holds: it is empty now
            if key == "res":
                result_bytes += len(chunk)
                if result_bytes > server.cfg["result_bytes"]:
                    overflow = True
                else:
                    buf += chunk
            elif key == "out":
                room = cap_out - len(out)
                if room > 0:
                    out.extend(chunk[:room])
                if len(chunk) > room:
                    trunc = True
            else:
                room = cap_err - len(err)
                if room > 0:
                    err.extend(chunk[:room])
                if len(chunk) > room:
                    trunc = True
            if short:
                return True
        return True

    def take_lines() -> dict[str, Any] | None:
        """Split complete lines off ``buf``; return the step's end frame if one came."""
        nonlocal buf, overflow, escaped, calls_seen, call_deadline
        # Line by line from the front: in shared mode J runs ahead, so ``buf`` may hold the
        # frames of many later tests, which each step must not split and join again.
        pos = 0
        while True:
            nl = buf.find(b"\n", pos)
            if nl < 0:
                del buf[:pos]
                return None
            line = bytes(buf[pos:nl])
            pos = nl + 1
            if not line:
                continue
            if line.startswith((b'["x",', b'["t",', b'["r"]', b'["l",')):
                end = _step_end(line, k, shared)
                if end is not None:
                    del buf[:pos]
                    return end
            elif call_limits is not None and line.startswith(b'["c",'):
                calls_seen += 1  # the next call's time starts now
                call_deadline = _call_deadline(call_limits, calls_seen, time.monotonic())
            # Anything else (a frame out of place included) goes to the host as is,
            # counted at its size once JSON-escaped in the message (up to 6 bytes a byte).
            if overflow or len(lines) >= _MAX_LINES:
                overflow = True
                continue
            escaped += _escaped_size(line)
            if escaped > server.cfg["result_bytes"]:
                overflow = True
                continue
            lines.append(line.decode("utf-8", "replace"))

    # Frames that arrived with the previous step's (shared mode: J runs on without
    # waiting for us) may already end this one. J's CPU time is read where the step is
    # to be waited for (a step that has already ended needs no baseline): microseconds
    # after the step's start, which in shared mode is where we start to watch it anyway.
    end = take_lines()
    # J's own time counts in every step: in isolated mode a thread the program started at
    # load time runs on in J while J waits for T_k, and did a test's slow work there (T_k
    # sleeping on shared memory for it) with no limit but the wall time (3x).
    watched = end is None
    cpu0 = cpu_s(j["pid"]) if watched else 0.0

    def used() -> float:  # CPU seconds the step's processes have used since it began
        return sum(cpu_s(p) for p in _counted(server, j, q_pids)) - cpu0

    while end is None:
        now = time.monotonic()
        wait_s = max(0.0, min(wall_deadline, check_at, call_deadline) - now)
        if server.streaming:
            server.flush()  # about to wait: the results held so far go now
        events = poller.poll(wait_s * 1000.0)
        for fd, _ev in events:
            if fd == server.hin:
                server._host_message()
                if server.current_id in server.stop_requested:
                    # The host has judged enough (an earlier test failed): end J now
                    # rather than at the next test boundary.
                    end = {"end": "stopped"}
                    break
                continue
            key = fdmap[fd]
            if key == "pidfd":
                # J exited: collect what it wrote, then decide.
                for kk in ("res", "out", "err"):
                    drain(kk)
                end = take_lines()
                if end is None:
                    end = {"end": "died", "wstatus": wait_j(j)}
                break
            if not drain(key):
                poller.unregister(fd)
            if key == "res":
                end = take_lines()
                if end is not None:
                    break
        if end is not None:
            break
        now = time.monotonic()
        if now >= wall_deadline:
            end = {"end": "timeout", "reason": "job" if now >= job_deadline else "wall"}
        elif now >= call_deadline:
            end = {"end": "timeout", "reason": "call"}
        elif now >= check_at:
            spent = used()
            if spent >= timeout_s:
                end = {"end": "timeout", "reason": "cpu"}
            else:
                check_at = now + max(timeout_s - spent, 0.02)
    if end["end"] in ("exit", "done", "loaded") and watched and (time.monotonic() - t0) * _CPUS >= timeout_s:
        # The checks above start at timeout_s of wall time: a step that spread its work over
        # several processes and ended sooner used up to _CPUS times its limit unseen. J has
        # reaped T_k (or J is idle after its load; in shared mode J has just begun the next
        # test): their time is in J's now.
        if used() >= timeout_s:
            end = {"end": "timeout", "reason": "cpu"}
    if end["end"] == "done":
        # J flushed the test's output before its done frame: what is in the pipes now is
        # this test's (and, where J ran ahead, later tests': their output has no bearing
        # on their verdicts unless they are stdin/stdout tests, and then J waits for us).
        for kk in ("out", "err"):
            drain(kk)
    if q is not None:
        # Q's verdict, from its own pipe: after a normal end Q has finished or is about
        # to (the program's side ends when Q closes the channel); otherwise take what is there.
        end.update(finish_q(q, wall_deadline if end["end"] in ("exit", "done") else 0.0))
    wall = time.monotonic() - t0
    if end["end"] == "exit":
        sweep(keep=j["pid"], spare=server.spare())
        for kk in ("res", "out", "err"):
            drain(kk)
        take_lines()
        if buf:
            lines.append(buf.decode("utf-8", "replace"))
            buf = bytearray()
    elif end["end"] in ("timeout", "died", "stopped"):
        if end["end"] == "timeout":
            end["cpu"] = used()
        sweep(keep=None, spare=server.spare())
        for kk in ("res", "out", "err"):
            drain(kk)
        take_lines()
        if buf:
            lines.append(buf.decode("utf-8", "replace"))
            buf = bytearray()
        close_j(j)
    j["buf"] = buf
    end.update(
        lines=lines,
        out=out.decode("utf-8", "replace"),
        err=err.decode("utf-8", "replace"),
        trunc=trunc,
        overflow=overflow,
        wall=wall,
    )
    return end


def finish_q(q: dict[str, Any], deadline: float) -> dict[str, Any]:
    """Read Q's verdict until Q closes its pipe or ``deadline``; then end Q and reap it."""
    from .testproc import MAX_VERDICT

    fd, buf = q["verdict"], q["buf"]
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    eof = False
    while not eof:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            wait_s = deadline - time.monotonic()
            if wait_s <= 0:
                break
            poller.poll(wait_s * 1000.0)
            continue
        except OSError:
            break
        if not chunk:
            eof = True
        elif len(buf) + len(chunk) <= MAX_VERDICT:
            buf += chunk
    os.close(fd)
    qw = -1
    if q["pid"] > 0:  # -1: Q never started (never kill(-1): that is every process)
        try:
            os.kill(q["pid"], signal.SIGKILL)
        except OSError:
            pass
        try:
            _, qw = os.waitpid(q["pid"], 0)
        except ChildProcessError:
            qw = -1
    return {"q": buf.decode("utf-8", "replace") if eof else "", "qw": qw}


def _poller(server: Server, j: dict[str, Any]) -> tuple[Any, dict[int, str]]:
    """J's poll set, made once per J (a descriptor at end of file leaves it for good)."""
    if "poller" not in j:
        poller = select.poll()
        fdmap: dict[int, str] = {}
        for key in ("res", "out", "err", "pidfd"):
            if j[key] >= 0:
                poller.register(j[key], select.POLLIN)
                fdmap[j[key]] = key
        poller.register(server.hin, select.POLLIN)
        j["poller"], j["fdmap"] = poller, fdmap
    return j["poller"], j["fdmap"]


def close_j(j: dict[str, Any]) -> None:
    if j.get("fdpass") is not None:
        j["fdpass"].close()
        j["fdpass"] = None
    for key in ("res", "out", "err", "ctrl", "pidfd"):
        if j.get(key, -1) >= 0:
            try:
                os.close(j[key])
            except OSError:
                pass
            j[key] = -1


def wait_j(j: dict[str, Any]) -> int:
    try:
        _, status = os.waitpid(j["pid"], 0)
        return status
    except ChildProcessError:
        return -1
