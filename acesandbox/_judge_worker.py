"""The judge process's loop (see ``_judge_proc``): read a check, judge it, reply."""

from __future__ import annotations

import json
import resource
import struct
import sys
from typing import Any, BinaryIO


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


def _answer(request: dict[str, Any]) -> dict[str, Any]:
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
        try:
            text = str(exc)[:2000]
        except BaseException:  # noqa: BLE001
            text = "<unprintable>"
        return {"error": [type(exc).__name__, text]}
    return {"ok": ok, "message": message[:4000]}


def main() -> None:
    """Serve checks on stdin/stdout until end of input."""
    import acesandbox._checks  # noqa: F401 - import everything before the caps apply

    _limit()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            (n,) = struct.unpack(">I", _read(stdin, 4))
            request = json.loads(_read(stdin, n))
        except (EOFError, ValueError):
            return
        reply = json.dumps(_answer(request), separators=(",", ":")).encode()
        stdout.write(struct.pack(">I", len(reply)) + reply)
        stdout.flush()
