"""The per-test fast paths of the sandbox runtime give what the general ones give: J's exit
frame read without the JSON parser, frames and messages from the one shared encoder, and
the server's warm-up leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import struct

import pytest

from acesandbox._sandbox import framing, kinds
from acesandbox._sandbox.supervise import _step_end


def _json_only(line: bytes, k: int) -> dict[str, object] | None:
    """``_step_end`` through its JSON branch: the same frame with a space the regex refuses."""
    return _step_end(line.replace(b",", b", ", 1), k, shared=False)


@pytest.mark.parametrize(
    "line, k",
    [
        (b'["x",0,0,0.000000]', 0),
        (b'["x",7,256,0.001234]', 7),
        (b'["x",12,65535,1.5]', 12),
        (b'["x",3,9,999999999.999999]', 3),
    ],
)
def test_exit_frame_fast_path_gives_the_json_result(line: bytes, k: int) -> None:
    fast = _step_end(line, k, shared=False)
    frame = json.loads(line)
    assert fast == {"end": "exit", "wstatus": frame[2], "cpu": frame[3]}
    assert fast == _json_only(line, k)


@pytest.mark.parametrize(
    "line, k",
    [
        (b'["x",01,0,0.1]', 1),  # not JSON
        (b'["x",1,0,0.1]', 2),  # another step's
        (b'["x",1,65536,0.1]', 1),  # not a wait status
        (b'["x",1,0,1000000000.0]', 1),  # not a CPU time
        (b'["x",1,0,.1]', 1),  # not JSON
        (b'["x",1,-1,0.1]', 1),
        (b'["x",1,0,0.1,5]', 1),
    ],
)
def test_malformed_exit_frames_are_not_step_ends(line: bytes, k: int) -> None:
    assert _step_end(line, k, shared=False) is None
    assert _step_end(line, k, shared=True) is None


@pytest.mark.parametrize(
    "line, k",
    [
        (b'["t",0]', 0),
        (b'["t",7]', 7),
        (b'["t",7]', 8),  # another step's
        (b'["t",4294967296]', 4294967296),
        (b'["t",01]', 1),  # not JSON
        (b'["t",1.0]', 1),
        (b'["t",true]', 1),
        (b'["t",1,2]', 1),
        (b'["t"]', 0),
        (b'["t",-1]', -1),
    ],
)
def test_done_frame_fast_path_gives_the_json_result(line: bytes, k: int) -> None:
    """A shared-mode test's done frame read without the JSON parser, and the same frame
    with a space (which only the JSON branch reads), end the step exactly alike."""
    fast = _step_end(line, k, shared=True)
    assert fast == _step_end(line.replace(b",", b", ", 1), k, shared=True)
    frame = json.loads(line) if line != b'["t",01]' else None
    ok = frame is not None and len(frame) == 2 and type(frame[1]) is int and frame[1] == k
    assert fast == ({"end": "done"} if ok else None)
    assert _step_end(line, k, shared=False) is None  # never an isolated step's end


def test_shared_steps_never_end_on_an_exit_frame() -> None:
    assert _step_end(b'["x",1,0,0.1]', 1, shared=True) is None
    assert _step_end(b'["t",1]', 1, shared=True) == {"end": "done"}


VALUES = [
    ["c", 0, [True, None, 1.5, -0.0, float("nan"), float("inf"), -float("inf"), 10**30]],
    ["e", {"type": "X", "msg": '\x00"\\\u00e9\U0001f600\ud800', "tb": "line\n"}],
    ["d"],
    ["c", 3, {"$t": [[], {}, "", {"1": 2}]}],
]


@pytest.mark.parametrize("obj", VALUES)
def test_frames_match_json_dumps(obj: list[object]) -> None:
    r, w = os.pipe()
    try:
        framing.frame(w, obj)
        got = os.read(r, 1 << 16)
    finally:
        os.close(r)
        os.close(w)
    want = (json.dumps(obj, separators=(",", ":"), allow_nan=True) + "\n").encode("utf-8", "surrogatepass")
    assert got == want


def test_result_message_matches_json_dumps() -> None:
    obj = {"op": "test", "id": 3, "k": 1, "lines": ['["c",0,[1]]', "\u00e9"], "out": "x\ny", "wall": 0.25, "cpu": float("nan")}
    data = framing.result_message(obj)
    body = json.dumps(obj, separators=(",", ":")).encode()
    assert data == struct.pack(">I", len(body)) + body


def test_write_all_writes_everything_through_a_small_pipe() -> None:
    r, w = os.pipe()
    data = bytes(range(256)) * 1024  # more than a pipe holds: written in parts
    pid = os.fork()
    if pid == 0:
        os.close(r)
        framing.write_all(w, data)
        os._exit(0)
    os.close(w)
    got = bytearray()
    while chunk := os.read(r, 1 << 16):
        got += chunk
    os.close(r)
    os.waitpid(pid, 0)
    assert bytes(got) == data


def test_warm_up_leaves_no_descriptor_handler_or_output() -> None:
    before_fds = sorted(os.listdir("/proc/self/fd"))
    before_alarm = signal.getsignal(signal.SIGALRM)
    r, w = os.pipe()
    saved = os.dup(1)
    os.dup2(w, 1)
    try:
        kinds.warm_up(rounds=2)
        kinds.flush_std()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(w)
    os.set_blocking(r, False)
    try:
        leaked = os.read(r, 1 << 16)
    except BlockingIOError:
        leaked = b""
    os.close(r)
    assert leaked == b""
    assert sorted(os.listdir("/proc/self/fd")) == before_fds
    assert signal.getsignal(signal.SIGALRM) is before_alarm


def _writes(test: dict[str, object], g: dict[str, object], tail: bytes = b"") -> list[bytes]:
    """What run_test writes, one element per write (a SEQPACKET socket keeps their bounds)."""
    import socket

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours, theirs:
        kinds.run_test(test, g, compile("", "<program>", "exec"), theirs.fileno(), tail)
        theirs.shutdown(socket.SHUT_WR)
        packets = []
        while True:
            packet = ours.recv(1 << 16)
            if not packet:
                return packets
            packets.append(packet)


def test_the_final_check_travels_with_the_end_frame_in_one_write() -> None:
    g: dict[str, object] = {"f": lambda x: x + 1}
    code = "__ace_check__(0, (f(1),))\n__ace_check__(1, (f(2),))"
    assert _writes({"k": "plan", "code": code, "last": 1}, g, b'\n["t",4]\n') == [
        b'["c",0,{"$t":[2]}]\n',
        b'["c",1,{"$t":[3]}]\n["d"]\n\n["t",4]\n',
    ]
    # Without "last" (a test that goes on after its checks), every frame goes when made.
    assert _writes({"k": "plan", "code": code}, g) == [b'["c",0,{"$t":[2]}]\n', b'["c",1,{"$t":[3]}]\n', b'["d"]\n']


def test_a_held_check_frame_is_written_before_an_exception_report() -> None:
    # A program's finalizer or signal handler could raise after the final check: its frame
    # still goes first, then the error, then the tail.
    g: dict[str, object] = {"f": lambda x: x}
    code = "__ace_check__(0, (f(1),))"
    packets = _writes({"k": "plan", "code": code + "\nraise ValueError('late')", "last": 0}, g, b"T")
    assert packets[0] == b'["c",0,{"$t":[1]}]\n'
    assert packets[1].startswith(b'["e",') and b"late" in packets[1]
    assert packets[-1] == b"T"


class _Int(int):
    pass


_PLAIN = [(True,), (False,), (None,), (0,), (-5,), (10**3999,), (1 - 10**4000,), (1.5,), (-0.0,), (1e300,),
          (float("nan"),), (float("inf"),), (float("-inf"),), ("",), ('a"\\\n\u00e9\ud800\x00',), ("x" * 4096,),
          (True, 1, "a", None, 2.5), ()]  # fmt: skip
_NOT_PLAIN = [(10**4000,), (-(10**4000),), ("x" * 4097,), ([1],), ((2,),), ({1: 2},), (_Int(1),), (b"a",), (1j,),
              ("x" * 4000,) * 300]  # fmt: skip


@pytest.mark.parametrize(
    ("values", "plain"), [(v, True) for v in _PLAIN] + [(v, False) for v in _NOT_PLAIN], ids=lambda v: repr(v)[:40]
)
def test_plain_check_frames_are_the_wire_encodings_frames(values: tuple[object, ...], plain: bool) -> None:
    """A check's frame written without the wire encoder is byte for byte the one it makes;
    any value of another type, or beyond its size limits, goes through the encoder."""
    from acesandbox import _wire

    line = kinds._plain_frame(3, values)
    if plain:
        assert line == framing.frame_line(["c", 3, _wire.encode(values)])
    else:
        assert line is None
