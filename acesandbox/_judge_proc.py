"""Judge processes: where test templates that could be costly and registered judges run.

The host evaluates a check's template itself only when its cost is bounded by the
values' size (``value == literal``, ``abs(value - x) < eps``; see
``_checks.host_safe``). Any other template (``sum(range(10**18)) == 0``,
``sorted(value)``, arithmetic a test or a program can make slow) runs in a judge
process: an interpreter in the namespace sandbox where the host can make one (see
``judge_argv``), with an empty environment, a memory cap and no file writes, that
rebuilds the values from the wire format itself and returns only a verdict. The host waits for it outside its GIL, under a deadline; a judge that runs
over is killed, and the check ends as ``error``. Judges are reused across checks, one
per host thread judging at a time.

Registered judges (:mod:`acesandbox.judges`) run only here: :func:`judge_calls` sends a
test's values as the raw wire text the host received, the judge's importable name and
options, and a digest of the test's arguments and expected values, which travel (and
are decoded, in a request of their own) once per judge process and stay cached there; the reply holds how many
calls passed, the first that did not and why, and the judge's bounded notes.

Protocol (pipes): 4-byte big-endian length + JSON, one request and one reply at a time.
Request ``{"source", "template", "holes", "lazy", "values"}`` (values in wire form);
reply ``{"ok": bool, "message": str}`` or ``{"error": [type name, message]}``.
``{"op": "load", "target"}`` imports a registered judge (reply ``{"loaded"}``);
``{"op": "spec", "key", "spec", "spec_bytes"}`` decodes and caches a test's arguments and
expected values under the host's own allowance, never a test's deadline (reply ``{"held",
"dropped": [keys evicted]}``); ``{"op": "call", "target", "key", "options", "start", "hole",
"values"}`` judges values in call order (reply ``{"n", "fail": null | [index, kind, message],
"notes"}``, or ``{"need": true}`` when the judge process no longer holds ``key``).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import functools
import hashlib
import json
import os
import select
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from ._checks import Check
from .errors import SandboxUnavailableError

__all__ = ["CallVerdict", "JudgeError", "JudgeTimeout", "judge_calls", "judge_in_process"]

MEMORY_BYTES = 1 << 30
"""Address space of a judge process."""
_MAX_REPLY = 1 << 20
_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_BOOT = ("import sys; sys.path[:0] = [{parent!r}]; sys.path += {site!r}; "
         "from acesandbox._judge_worker import main; main({paths!r})")
_JUDGE_MOUNT = "/opt/acesandbox-judges"

Roots = tuple[tuple[str, str], ...]
"""Registered judges' top-level packages: ``(name, path)`` of each folder (or module file)."""


@functools.lru_cache(maxsize=64)
def judge_argv(roots: Roots = ()) -> tuple[str, ...]:
    """How a judge process starts: inside the namespace sandbox (no network, a read-only
    filesystem, its own pids, the seccomp filter) where this host can make one, else as
    a plain process (an empty environment, its memory capped, no file writes). ``roots``:
    the packages of the registered judges it may load, bound read-only (only these)."""
    from ._harden import namespaces

    site = namespaces.site_dirs()
    if namespaces.probe() is None:
        argv = namespaces.bwrap_argv(16)
        end = len(argv) - 1 - argv[::-1].index("--")  # bubblewrap's own options end here
        binds: list[str] = []
        paths: list[str] = []
        for i, (name, path) in enumerate(roots):
            if name == "acesandbox" or any(path.startswith(d.rstrip("/") + "/") for d in site):
                continue  # already there: the package itself, or the interpreter's site folders
            folder = f"{_JUDGE_MOUNT}/{i}"
            binds += ["--ro-bind", path, f"{folder}/{os.path.basename(path)}"]
            paths.append(folder)
        at = argv.index("--remount-ro") if "--remount-ro" in argv[:end] else end  # binds before the root turns read-only
        argv = [*argv[:at], *binds, *argv[at:]]
        end += len(binds)
        parent = os.path.dirname(namespaces.PKG_MOUNT)
        boot = _BOOT.format(parent=parent, site=site, paths=tuple(paths))
        return (*argv[: end + 1], argv[end + 1], "-I", "-S", "-B", "-c", boot)
    dirs = tuple(dict.fromkeys(os.path.dirname(path) for _, path in roots))
    return (sys.executable, "-I", "-S", "-B", "-c", _BOOT.format(parent=_PARENT, site=site, paths=dirs))


class JudgeError(Exception):
    """The template raised in the judge (``kind`` names the exception type)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class JudgeTimeout(JudgeError):
    """The judge ran past its deadline (or died) and was killed."""


def _popen(roots: Roots = ()) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        judge_argv(roots),
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

    def __init__(self, roots: Roots = ()) -> None:
        try:
            self.proc = self._start(roots)
        except OSError as exc:  # the host is out of processes or memory: not the program's doing
            raise SandboxUnavailableError(f"could not start a judge process: {exc}") from exc
        self.roots = roots
        self.buf = bytearray()
        self.owner = os.getpid()  # a forked host does not share its parent's judges
        self.loaded: set[str] = set()
        self.specs: set[str] = set()  # test specs sent (the process may have dropped some since)

    @staticmethod
    def _start(roots: Roots) -> subprocess.Popen[bytes]:
        # From one long-lived thread: bubblewrap's --die-with-parent fires when the
        # thread that started it exits, and a batch's worker threads come and go.
        return _SPAWNER.submit(_popen, roots).result()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, request: dict[str, Any] | bytes, deadline: float) -> dict[str, Any]:
        if isinstance(request, bytes):
            data = request
        else:
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
_idle: dict[Roots, list[_Judge]] = {}
_lock = threading.Lock()


def _take(roots: Roots = ()) -> _Judge:
    """An idle judge process that can load ``roots``' judges, or a new one."""
    with _lock:
        pool = _idle.setdefault(roots, [])
        if pool and pool[0].owner != os.getpid():
            _idle.clear()  # inherited through fork: the parent's pipes, not ours to use
            pool = _idle.setdefault(roots, [])
        judge = pool.pop() if pool else None
    if judge is not None and not judge.alive():
        judge.kill()
        judge = None
    return judge if judge is not None else _Judge(roots)


def _give(judge: _Judge) -> None:
    with _lock:
        _idle.setdefault(judge.roots, []).append(judge)


def judge_in_process(check: Check, values: Any, timeout_s: float) -> tuple[bool, str]:
    """Evaluate ``check`` over ``values`` (wire form) in a judge process.

    Returns ``(passed, message)`` like ``_checks.judge``; raises JudgeError when the
    template raised, JudgeTimeout when it ran past ``timeout_s`` (the judge is killed),
    SandboxUnavailableError when no judge process can be started.
    """
    judge = _take()
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
    _give(judge)
    if "error" in reply:
        kind, message = reply["error"]
        raise JudgeError(str(kind), str(message))
    return bool(reply["ok"]), str(reply["message"])


LOAD_TIMEOUT_S = 120.0
"""Time a judge process may take to import a registered judge (numpy included, on a loaded
host): the host's own cost, never counted against a test."""


@dataclass(frozen=True)
class CallVerdict:
    """A registered judge's answer on a test's values: how many passed, in call order, and
    the first that did not as ``(call index, "fail" | "error" | "malformed", message)``."""

    passed: int
    failed: tuple[int, str, str] | None = None


def spec_key(spec_json: bytes) -> str:
    """The digest under which a judge process keeps a test's arguments and expected values."""
    return hashlib.blake2b(spec_json, digest_size=16).hexdigest()


SPEC_TIMEOUT_S = 120.0
"""Time a judge process may take to receive and decode a test's arguments and expected
values (megabytes of them, on a loaded host): the host's own cost, never counted against a
test's judging deadline."""


def _hold_spec(judge: _Judge, key: str, spec_json: bytes) -> None:
    """Load a test's spec into ``judge``'s cache in a request of its own, under the host's
    allowance (:data:`SPEC_TIMEOUT_S`): the test's deadline starts only after it."""
    request = (b'{"op":"spec","key":"' + key.encode() + b'","spec":' + spec_json
               + b',"spec_bytes":' + str(len(spec_json)).encode() + b"}")
    try:
        reply = judge.ask(request, time.monotonic() + SPEC_TIMEOUT_S)
    except JudgeTimeout as exc:
        raise SandboxUnavailableError(f"the judge process could not load a test's expected values: {exc}") from None
    if "error" in reply or reply.get("held") != key:
        kind, message = reply.get("error") or ("?", "malformed reply")
        raise SandboxUnavailableError(f"the judge process refused a test's expected values: {kind}: {message}")
    for gone in reply.get("dropped") or ():
        judge.specs.discard(gone)
    judge.specs.add(key)


def judge_calls(
    target: str,
    roots: Roots,
    options_json: bytes,
    spec_json: bytes,
    values: list[bytes],
    *,
    start: int,
    hole: bool,
    timeout_s: float,
    notes: Any = None,
    key: str | None = None,
) -> CallVerdict:
    """Judge ``values`` (raw wire text, calls ``start``, ``start + 1``, ...) with the
    registered judge ``target`` in a judge process; the first value that does not pass ends.

    ``spec_json``: ``{"args", "expected", "atol"}`` of every call of the test, in wire form,
    sent (in a request of its own, under :data:`SPEC_TIMEOUT_S`) only when that judge process
    does not hold it yet. ``notes``: called here with
    each note the judge returned. Raises JudgeTimeout when judging ran past ``timeout_s``
    (the judge process is killed), SandboxUnavailableError when the judge cannot be
    started or loaded there. ``key``: :func:`spec_key` of ``spec_json``, if known.
    """
    key = key or spec_key(spec_json)
    judge = _take(roots)
    try:
        if target not in judge.loaded:
            reply = judge.ask({"op": "load", "target": target}, time.monotonic() + LOAD_TIMEOUT_S)
            if "error" in reply:
                kind, message = reply["error"]
                raise SandboxUnavailableError(f"the judge process cannot load the judge {target}: {kind}: {message}")
            judge.loaded.add(target)
        if key not in judge.specs:
            _hold_spec(judge, key, spec_json)
        request = (b'{"op":"call","target":' + json.dumps(target).encode() + b',"key":"' + key.encode()
                   + b'","options":' + options_json + b',"start":' + str(int(start)).encode()
                   + b',"hole":' + (b"true" if hole else b"false") + b',"values":[' + b",".join(values) + b"]}")
        reply = judge.ask(request, time.monotonic() + timeout_s)
        if reply.get("need"):  # not held after all (the host's bookkeeping): load it, then judge afresh
            judge.specs.discard(key)
            _hold_spec(judge, key, spec_json)
            reply = judge.ask(request, time.monotonic() + timeout_s)
    except BaseException:
        judge.kill()
        raise
    _give(judge)
    if "error" in reply:  # a malformed request: the host's doing
        kind, message = reply["error"]
        raise SandboxUnavailableError(f"the judge process refused a request: {kind}: {message}")
    if notes is not None:
        for note in reply.get("notes") or ():
            try:
                notes(note)
            except Exception:  # noqa: BLE001 - a note is data the callback checks; a bad one is dropped
                pass
    failed = reply.get("fail")
    n = reply.get("n")
    if type(n) is not int or not 0 <= n <= len(values):
        raise SandboxUnavailableError("malformed reply from the judge process")
    if failed is None:
        return CallVerdict(n)
    return CallVerdict(n, (int(failed[0]), str(failed[1]), str(failed[2])))


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
        judges = [j for pool in _idle.values() for j in pool if j.owner == os.getpid()]
        _idle.clear()
    for judge in judges:
        judge.kill()
