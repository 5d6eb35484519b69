"""Judge processes: where the host evaluates a test's template when it could be costly.

The host evaluates a check's template itself only when its cost is bounded by the
values' size (``value == literal``, ``abs(value - x) < eps``; see
``_checks.host_safe``). Any other template (``sum(range(10**18)) == 0``,
``sorted(value)``, arithmetic a test or a program can make slow) runs in a judge
process: an interpreter in the namespace sandbox where the host can make one (see
``judge_argv``), with an empty environment, a memory cap and no file writes, that
rebuilds the values from the wire format itself and returns only a verdict. The host waits for it outside its GIL, under a deadline; a judge that runs
over is killed, and the check ends as ``error``. Judges are reused across checks, one
per host thread judging at a time.

Protocol (pipes): 4-byte big-endian length + JSON, one request and one reply at a time.
Request ``{"source", "template", "holes", "lazy", "values"}`` (values in wire form);
reply ``{"ok": bool, "message": str}`` or ``{"error": [type name, message]}``.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import functools
import json
import os
import select
import struct
import subprocess
import sys
import threading
import time
from typing import Any

from ._checks import Check
from .errors import SandboxUnavailableError

__all__ = ["JudgeError", "JudgeTimeout", "judge_in_process"]

MEMORY_BYTES = 1 << 30
"""Address space of a judge process."""
_MAX_REPLY = 1 << 20
_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_BOOT = "import sys; sys.path[:0] = [{parent!r}]; sys.path += {site!r}; from acesandbox._judge_worker import main; main()"


@functools.lru_cache(maxsize=1)
def judge_argv() -> tuple[str, ...]:
    """How a judge process starts: inside the namespace sandbox (no network, a read-only
    filesystem, its own pids, the seccomp filter) where this host can make one, else as
    a plain process (an empty environment, its memory capped, no file writes)."""
    from ._harden import namespaces

    site = namespaces.site_dirs()
    if namespaces.probe() is None:
        argv = namespaces.bwrap_argv(16)
        end = len(argv) - 1 - argv[::-1].index("--")  # bubblewrap's own options end here
        parent = os.path.dirname(namespaces.PKG_MOUNT)
        return (*argv[: end + 1], argv[end + 1], "-I", "-S", "-B", "-c", _BOOT.format(parent=parent, site=site))
    return (sys.executable, "-I", "-S", "-B", "-c", _BOOT.format(parent=_PARENT, site=site))


class JudgeError(Exception):
    """The template raised in the judge (``kind`` names the exception type)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class JudgeTimeout(JudgeError):
    """The judge ran past its deadline (or died) and was killed."""


def _popen() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        judge_argv(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={},
        cwd="/",
        close_fds=True,
        start_new_session=True,
    )


class _Judge:
    """One judge process and its pipes."""

    def __init__(self) -> None:
        try:
            self.proc = self._start()
        except OSError as exc:  # the host is out of processes or memory: not the program's doing
            raise SandboxUnavailableError(f"could not start a judge process: {exc}") from exc
        self.buf = bytearray()
        self.owner = os.getpid()  # a forked host does not share its parent's judges

    @staticmethod
    def _start() -> subprocess.Popen[bytes]:
        # From one long-lived thread: bubblewrap's --die-with-parent fires when the
        # thread that started it exits, and a batch's worker threads come and go.
        return _SPAWNER.submit(_popen).result()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, request: dict[str, Any], deadline: float) -> dict[str, Any]:
        data = json.dumps(request, separators=(",", ":"), allow_nan=True).encode()
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(struct.pack(">I", len(data)) + data)
            stdin.flush()
        except OSError as exc:
            raise JudgeTimeout("JudgeDied", f"the judge process stopped reading: {exc}") from None
        self._fill(4, deadline)
        (n,) = struct.unpack(">I", self.buf[:4])
        if n > _MAX_REPLY:
            raise JudgeTimeout("JudgeDied", "oversized reply from the judge process")
        self._fill(4 + n, deadline)
        reply = json.loads(bytes(self.buf[4 : 4 + n]))
        del self.buf[: 4 + n]
        return reply  # type: ignore[no-any-return]

    def _fill(self, n: int, deadline: float) -> None:
        fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        while len(self.buf) < n:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise JudgeTimeout("Timeout", "judging took longer than its budget")
            ready, _, _ = select.select([fd], [], [], wait)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise JudgeTimeout("JudgeDied", f"the judge process exited (status {self.proc.poll()})")
                self.buf += chunk

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


_SPAWNER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="acesandbox-judge-spawn")
_idle: list[_Judge] = []
_lock = threading.Lock()


def judge_in_process(check: Check, values: Any, timeout_s: float) -> tuple[bool, str]:
    """Evaluate ``check`` over ``values`` (wire form) in a judge process.

    Returns ``(passed, message)`` like ``_checks.judge``; raises JudgeError when the
    template raised, JudgeTimeout when it ran past ``timeout_s`` (the judge is killed),
    SandboxUnavailableError when no judge process can be started.
    """
    with _lock:
        if _idle and _idle[0].owner != os.getpid():
            _idle.clear()  # inherited through fork: the parent's pipes, not ours to use
        judge = _idle.pop() if _idle else None
    if judge is not None and not judge.alive():
        judge.kill()
        judge = None
    if judge is None:
        judge = _Judge()
    request = {
        "source": check.source,
        "template": check.template,
        "holes": list(check.holes),
        "lazy": list(check.lazy),
        "values": values,
    }
    try:
        reply = judge.ask(request, time.monotonic() + timeout_s)
    except BaseException:
        judge.kill()
        raise
    with _lock:
        _idle.append(judge)
    if "error" in reply:
        kind, message = reply["error"]
        raise JudgeError(str(kind), str(message))
    return bool(reply["ok"]), str(reply["message"])


def _after_fork_in_child() -> None:
    """A forked host has no spawner thread and must not use its parent's judges."""
    global _SPAWNER, _lock
    _SPAWNER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="acesandbox-judge-spawn")
    _lock = threading.Lock()
    _idle.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_all() -> None:
    with _lock:
        judges, _idle[:] = [j for j in _idle if j.owner == os.getpid()], []
    for judge in judges:
        judge.kill()
