"""The judge process's loop (see ``_judge_proc``): read a request, judge it, reply."""

from __future__ import annotations

import json
import os
import resource
import struct
import sys
from collections import OrderedDict
from typing import Any, BinaryIO

SPEC_CACHE_BYTES = 32 << 20
"""Expected values kept here (by their wire text's size), least recently used dropped first."""

MAX_NOTES = 64
NOTE_BYTES = 1024

_specs: OrderedDict[str, tuple[tuple[Any, ...], tuple[Any, ...], tuple[float, ...], int]] = OrderedDict()
_spec_bytes = 0
_judges: dict[str, Any] = {}


def _limit() -> None:
    from ._judge_proc import MEMORY_BYTES

    for res, value in ((resource.RLIMIT_AS, MEMORY_BYTES), (resource.RLIMIT_FSIZE, 0), (resource.RLIMIT_CORE, 0)):
        try:
            resource.setrlimit(res, (value, value))
        except (ValueError, OSError):
            pass


def _read(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise EOFError
    return data


def _error(exc: BaseException) -> dict[str, Any]:
    try:
        text = str(exc)[:2000]
    except BaseException:  # noqa: BLE001
        text = "<unprintable>"
    return {"error": [type(exc).__name__, text]}


def _check(request: dict[str, Any]) -> dict[str, Any]:
    from . import _wire
    from ._checks import Check, judge

    check = Check(
        source=request["source"],
        template=request["template"],
        holes=tuple(request["holes"]),
        lazy=tuple(request["lazy"]),
    )
    try:
        values = _wire.decode(request["values"])
        if not isinstance(values, tuple):
            raise _wire.WireFormatError("check values must be a tuple")
        ok, message = judge(check, values)
    except BaseException as exc:  # noqa: BLE001 - every failure is the check's verdict
        return _error(exc)
    return {"ok": ok, "message": message[:4000]}


def _load(request: dict[str, Any]) -> dict[str, Any]:
    from .judges import load_target

    target = request["target"]
    try:
        _judges[target] = load_target(target)
    except BaseException as exc:  # noqa: BLE001 - the host reports it as its own failure
        return _error(exc)
    return {"loaded": target}


def _spec(request: dict[str, Any]) -> dict[str, Any]:
    """Decode a test's arguments and expected values and keep them under their key; the
    reply names the keys dropped to make room, so the host knows what is held here."""
    global _spec_bytes
    from . import _wire

    key = request["key"]
    spec = request["spec"]
    args, expected = _wire.decode(spec["args"]), _wire.decode(spec["expected"])
    atols = tuple(float(a) for a in spec["atol"])
    if not (isinstance(args, tuple) and isinstance(expected, tuple) and len(args) == len(expected) == len(atols)):
        raise ValueError("malformed test spec")
    size = int(request.get("spec_bytes", 0))
    old = _specs.pop(key, None)
    if old is not None:
        _spec_bytes -= old[3]
    _specs[key] = (args, expected, atols, size)
    _spec_bytes += size
    dropped: list[str] = []
    while _spec_bytes > SPEC_CACHE_BYTES and len(_specs) > 1:
        gone, value = _specs.popitem(last=False)
        _spec_bytes -= value[3]
        dropped.append(gone)
    return {"held": key, "dropped": dropped}


def _call(request: dict[str, Any]) -> dict[str, Any]:
    """Judge a test's values in call order against its cached expected values; the first
    one that does not pass ends the request."""
    from . import _wire
    from .judges import run_judge

    spec = _specs.get(request["key"])
    if spec is None:
        return {"need": True}
    _specs.move_to_end(request["key"])
    fn = _judges.get(request["target"])
    if fn is None:
        return {"unloaded": True}
    args, expected, atols, _ = spec
    options = request["options"]
    start, hole = int(request["start"]), bool(request.get("hole"))
    notes: list[Any] = []
    passed = 0
    for k, wire in enumerate(request["values"]):
        i = start + k
        try:
            value = _wire.decode(wire)
            if hole:
                if not isinstance(value, tuple) or len(value) != 1:
                    raise _wire.WireFormatError("check values must be a 1-tuple")
                value = value[0]
        except BaseException as exc:  # noqa: BLE001 - the program's malformed value
            return {"n": passed, "fail": [i, "malformed", str(exc)[:500]], "notes": notes}
        if i >= len(expected):
            return {"n": passed, "fail": [i, "malformed", "more values than calls"], "notes": notes}
        try:
            ok, message, note = run_judge(fn, value, expected[i], args[i], atols[i], options)
        except BaseException as exc:  # noqa: BLE001 - the comparison raised, as an assert would
            err = _error(exc)["error"]
            return {"n": passed, "fail": [i, "error", f"{err[0]}: {err[1]}"], "notes": notes}
        if note is not None and len(notes) < MAX_NOTES:
            try:
                text = json.dumps(note, allow_nan=False)
            except (TypeError, ValueError):
                text = ""
            if text and len(text) <= NOTE_BYTES:
                notes.append(json.loads(text))
        if not ok:
            return {"n": passed, "fail": [i, "fail", message[:4000]], "notes": notes}
        passed += 1
    return {"n": passed, "fail": None, "notes": notes}


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    op = request.get("op", "check")
    try:
        if op == "call":
            return _call(request)
        if op == "load":
            return _load(request)
        if op == "spec":
            return _spec(request)
        return _check(request)
    except BaseException as exc:  # noqa: BLE001 - a malformed request or a failure in the cache
        return _error(exc)


def main(paths: tuple[str, ...] = ()) -> None:
    """Serve requests on stdin/stdout until end of input; ``paths``: folders that hold the
    registered judges' packages, put on ``sys.path``."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # numpy's thread pools would reserve address space
    sys.path.extend(p for p in paths if p not in sys.path)
    import acesandbox._checks
    import acesandbox.judges  # noqa: F401

    _limit()
    stdin = sys.stdin.buffer
    # replies go to a copy of the pipe; a judge that prints writes to stderr, not into the protocol
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    while True:
        try:
            (n,) = struct.unpack(">I", _read(stdin, 4))
            request = json.loads(_read(stdin, n).decode("utf-8", "surrogatepass"))
        except (EOFError, ValueError):
            return
        try:
            reply = json.dumps(_answer(request), separators=(",", ":")).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError) as exc:
            reply = json.dumps(_error(exc)).encode()
        stdout.write(struct.pack(">I", len(reply)) + reply)
        stdout.flush()
