"""Framing: length-prefixed JSON to and from the host, JSON-line result frames from J and T_k."""

from __future__ import annotations

import json
import os
import struct
from typing import Any

_dumps = json.dumps
_write = os.write


def send(fd: int, obj: dict[str, Any]) -> None:
    data = _dumps(obj, separators=(",", ":")).encode()
    write_all(fd, struct.pack(">I", len(data)) + data)


MAX_MESSAGE = 192 << 20
"""Largest message to the host (its own cap is 256 MiB): a test's result is trimmed to fit."""


def result_message(obj: dict[str, Any]) -> bytes:
    """One test's result as a message; captured output that would not fit once escaped is dropped."""
    data = _dumps(obj, separators=(",", ":")).encode()
    if len(data) > MAX_MESSAGE:
        obj = dict(obj, out="", err="", lines=[], trunc=True, overflow=True)
        data = _dumps(obj, separators=(",", ":")).encode()
    return struct.pack(">I", len(data)) + data


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        n = _write(fd, view)
        view = view[n:]


def read_exact(fd: int, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def recv(fd: int) -> dict[str, Any]:
    return recv_raw(fd)[0]


def recv_raw(fd: int) -> tuple[dict[str, Any], bytes]:
    """A message and its bytes as they came (a job's go to its job process as they are)."""
    (n,) = struct.unpack(">I", read_exact(fd, 4))
    data = read_exact(fd, n)
    msg: dict[str, Any] = json.loads(data)
    return msg, data


def frame(fd: int, obj: list[Any]) -> None:
    write_all(fd, (_dumps(obj, separators=(",", ":"), allow_nan=True) + "\n").encode("utf-8", "surrogatepass"))

