"""The host's side of the server protocol: reading frames and writing job messages.

A real pipe stands in for the sandbox's stdout, so these run without a sandbox; what a
real server sends is covered by the conformance suite (forged and broken frames)."""

from __future__ import annotations

import json
import os
import struct
import threading
import time

import pytest

from acesandbox import Job, Limits
from acesandbox._kinds import Prepared, prepare_job
from acesandbox.backends import _server
from acesandbox.backends._server import ServerSession
from acesandbox.errors import SandboxCrashedError, SandboxTimeoutError


def _frame(obj: object) -> bytes:
    data = json.dumps(obj).encode()
    return struct.pack(">I", len(data)) + data


class _Exited:
    """What the session asks of the process handle once its pipe closes."""

    stderr = None

    def poll(self) -> int:
        return 0


@pytest.fixture
def reader():
    """A session reading a pipe's far end; yields (session, write end)."""
    r, w = os.pipe()
    os.set_blocking(r, False)
    s = ServerSession.__new__(ServerSession)
    s._buf, s._pos, s._out, s.proc, s._read_bytes = bytearray(), 0, r, _Exited(), 1 << 16
    yield s, w
    os.close(r)
    try:
        os.close(w)
    except OSError:
        pass


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def _soon() -> float:
    return time.monotonic() + 5.0


def test_messages_that_arrive_together_are_each_read_in_order(reader):
    s, w = reader
    os.write(w, _frame({"op": "test", "k": 0}) + _frame({"op": "test", "k": 1}) + _frame({"op": "end", "k": "é"}))
    assert [s._recv(_soon()) for _ in range(3)] == [{"op": "test", "k": 0}, {"op": "test", "k": 1}, {"op": "end", "k": "é"}]
    assert (bytes(s._buf), s._pos) == (b"", 0)  # nothing parsed is kept


def test_a_message_split_across_reads_is_reassembled(reader):
    s, w = reader
    frame = _frame({"op": "end", "results": list(range(1000))})
    os.write(w, _frame({"op": "a"}) + frame[:3])
    assert s._recv(_soon()) == {"op": "a"}
    os.write(w, frame[3:100])
    with pytest.raises(SandboxTimeoutError):  # the rest never comes in time
        s._recv(time.monotonic() + 0.05)
    os.write(w, frame[100:])
    assert s._recv(_soon()) == {"op": "end", "results": list(range(1000))}


def test_a_message_larger_than_the_pipe_arrives_whole(reader):
    s, w = reader
    big = {"op": "end", "results": ["x" * 1000] * 1000}  # about 1 MB: many reads
    writer = threading.Thread(target=lambda: os.write(w, _frame(big) + _frame({"op": "next"})))
    writer.start()
    try:
        assert s._recv(_soon()) == big
        assert s._recv(_soon()) == {"op": "next"}
    finally:
        writer.join()


@pytest.mark.parametrize(
    "payload, message",
    [
        (struct.pack(">I", _server._MAX_MSG + 1), "over the"),
        (struct.pack(">I", 5) + b"{oops", "malformed message"),
        (struct.pack(">I", 2) + b"\xff}", "malformed message"),
        (_frame([1, 2]), "not an object"),
        (_frame({"a": _nested(40)}), "malformed message"),
    ],
)
def test_a_frame_that_breaks_the_protocol_is_an_anomaly(reader, payload, message, monkeypatch):
    s, w = reader
    monkeypatch.setattr(_server, "_MSG_DEPTH", 32)  # the deep frame above is 41 levels
    os.write(w, payload)
    with pytest.raises(_server._Anomaly, match=message):
        s._recv(_soon())


def test_a_sandbox_that_exits_mid_frame_is_a_crash(reader):
    s, w = reader
    os.write(w, _frame({"op": "x"})[:6])
    os.close(w)
    with pytest.raises(SandboxCrashedError, match="exited"):
        s._recv(_soon())


def _reference_message(s: ServerSession, job: Job, prepared: list[Prepared], jid: int, stream: bool) -> bytes:
    """The job message as json.dumps writes it (what _job_message splices by hand)."""
    lim = job.limits
    limits = {**lim.to_dict(), **s._sandbox_limits}
    limits["wall_timeout_s"] = lim.effective_wall_timeout_s
    limits["job_timeout_s"] = lim.effective_job_timeout_s
    head = {"op": "job", "id": jid, "program": job.program, "mode": job.mode, "limits": limits, "stream": stream}
    codes = {str(k): p.source for k, p in enumerate(prepared) if p.source is not None}
    if codes:
        head["q"] = True
    head["tests"] = [p.payload for p in prepared]
    data = json.dumps(head, separators=(",", ":")).encode()
    frames = struct.pack(">I", len(data)) + data
    if codes:
        blob = json.dumps(codes, separators=(",", ":")).encode()
        frames += struct.pack(">I", len(blob)) + blob
    return frames


def test_the_job_message_is_the_json_of_its_fields():
    s = ServerSession.__new__(ServerSession)
    s._next_id, s._sandbox_limits, s._limits_cache = 41, {"memory_mb": 512, "max_processes": 64}, None
    shared = Limits(timeout_s=2.5, output_bytes=1000)
    jobs = [
        Job('x = "\\u00e9 \u4e2d \U0001f600 \\"q\\""\n', ["assert x", "import os\nassert os.getpid() > 0"], limits=shared),
        Job("x = 1", ["assert x == 1"], limits=shared, mode="shared", stop_on_failure=True),  # the same Limits: reused
        Job("x = 1", ["assert x == 1"], limits=Limits(wall_timeout_s=7.0, job_timeout_s=9.0)),  # a new one
    ]
    with_q = 0
    for job in jobs:
        prepared = [p for p in prepare_job(job) if isinstance(p, Prepared)]
        with_q += any(p.source is not None for p in prepared)
        for streamed in (False, True):
            jid, frames = s._job_message(job, prepared, streamed)
            # Results are wanted test by test only to stop at a failure or for on_outcome.
            assert frames == _reference_message(s, job, prepared, jid, streamed or job.stop_on_failure)
    assert with_q >= 1  # the splice with a test process's sources is covered
    assert s._limits_cache is not None and s._limits_cache[0] is jobs[2].limits
    (n,) = struct.unpack(">I", frames[:4])
    assert json.loads(frames[4 : 4 + n])["limits"]["job_timeout_s"] == 9.0
