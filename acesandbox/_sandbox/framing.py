"""Framing: length-prefixed JSON to and from the host, JSON-line result frames from J and T_k."""

from __future__ import annotations

import json
import os
import struct
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
TYPE_CHECKING = False  # no typing at run time (see __init__.py)
if TYPE_CHECKING:
    from typing import Any, Callable

_write = os.write


def send(fd: int, obj: dict[str, Any]) -> None:
    data = _compact(obj)
    write_all(fd, struct.pack(">I", len(data)) + data)


MAX_MESSAGE = 192 << 20
"""Largest message to the host (its own cap is 256 MiB): a test's result is trimmed to fit."""


def result_message(obj: dict[str, Any]) -> bytes:
    """One test's result as a message; captured output that would not fit once escaped is dropped."""
    data = _compact(obj)
    if len(data) > MAX_MESSAGE:
        obj = dict(obj, out="", err="", lines=[], trunc=True, overflow=True)
        data = _compact(obj)
    return struct.pack(">I", len(data)) + data


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    n = _write(fd, data)  # all of it, nearly always: no view made (in a test process, each
    if n >= len(data):  # new object can copy a page of J's)
        return
    view = memoryview(data)[n:]
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
    """One length-prefixed JSON message."""
    (n,) = struct.unpack(">I", read_exact(fd, 4))
    msg: dict[str, Any] = json.loads(read_exact(fd, n))
    return msg


def _frame_encoder() -> Callable[[Any, Any], Any]:
    """One compact JSON encoder for every frame, made once: ``json.dumps`` with options
    builds a new encoder per call, a third of a test process's own work (the pages its
    first call writes are copied from J's)."""
    options = json.JSONEncoder(separators=(",", ":"), allow_nan=True, check_circular=False)
    if c_make_encoder is None:
        return options.iterencode
    key_sep, item_sep = ":", ","
    return c_make_encoder(None, options.default, encode_basestring_ascii, None, key_sep, item_sep, False, False, True)  # type: ignore[no-any-return]


_encode_frame = _frame_encoder()


def _compact(obj: Any) -> bytes:
    """``json.dumps(obj, separators=(",", ":")).encode()`` for our own acyclic values."""
    return "".join(_encode_frame(obj, 0)).encode("ascii")


def frame_line(obj: list[Any]) -> bytes:
    """One result frame's bytes: compact JSON (ASCII, NaN kept) on a line."""
    return ("".join(_encode_frame(obj, 0)) + "\n").encode("ascii")


def frame(fd: int, obj: list[Any]) -> None:
    """Write one result frame (:func:`frame_line`)."""
    write_all(fd, frame_line(obj))

