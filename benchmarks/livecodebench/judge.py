"""lcb_runner's comparison as the trusted acesandbox judge ``livecodebench`` (runs in acesandbox's judge process)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from acesandbox.judges import register_judge

from ..margins import SlowCalls
from .programs import MARK

__all__ = ["JUDGE", "PACK", "SLOW_CALLS", "compare_stdout", "compare_values", "judge", "slow_call_note", "truncate"]

JUDGE = "livecodebench"
"""Name of the trusted comparator (entry point ``acesandbox.judges``: ``livecodebench``)."""


def truncate(value: Any, length: int = 300) -> str:
    """The official metadata truncation: head and tail around a marker."""
    s = value if isinstance(value, str) else str(value)
    if len(s) <= length:
        return s
    return s[: length // 2] + "...(truncated) ..." + s[-length // 2 :]


def _stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(tok) for tok in line.split()]
    except Exception:  # noqa: BLE001 - not a line of numbers
        return None


def compare_stdout(actual: str, expected: str) -> tuple[bool, str]:
    """lcb_runner's stdout rule; on a mismatch, its error message."""
    got, want = _stripped_lines(actual), _stripped_lines(expected)
    if len(got) != len(want):
        return False, "Wrong answer: mismatched output length"
    for i, (a, e) in enumerate(zip(got, want)):
        if a == e:
            continue
        message = f"Wrong answer at output_line_idx={i}: {truncate(a)} != {truncate(e)}"
        da = _decimals(a)
        if da is None:
            return False, message
        de = _decimals(e)
        if de is None:
            return False, message
        if da == de:  # an sNaN raises here, as it does officially (a runtime error)
            continue
        return False, message
    return True, ""


def compare_values(value: Any, expected: Any) -> bool:
    """lcb_runner's call rule: a returned tuple counts as a list, then plain ``==``."""
    if isinstance(value, tuple):
        value = list(value)
    return bool(value == expected)  # a numpy array raises, as officially (a runtime error)


PACK = "lcb:"

SLOW_CALLS = SlowCalls()
"""Slow tests' times by job id (:mod:`benchmarks.margins`): filled here, read by the scorer."""


def judge(value: Any, expected: Any, *, args: tuple, atol: float,
          options: Mapping[str, Any]) -> tuple[bool, str] | tuple[bool, str, list[Any]]:
    """The trusted ``livecodebench`` judge: ``options["mode"]`` is ``"stdio"`` or ``"call"``.

    A failure's message is ``lcb:`` + JSON with the official ``error_message`` and
    ``output``, so that :meth:`LiveCodeBench.verdicts` can write the official metadata.
    With ``options["limit_s"]`` the program's calls go through the timing wrapper
    (:func:`~benchmarks.livecodebench.programs.timed`): ``args[0]`` is the test's index and a
    slow test's value (or a value shaped like one) comes as ``(MARK, job id, index, seconds, value)``;
    its time is returned as the note ``[job id, index, seconds, limit]`` (:func:`slow_call_note`).
    """
    ok, message, note = _judge(value, expected, args, options)
    return (ok, message) if note is None else (ok, message, note)


def slow_call_note(note: Any) -> None:
    """A judge's note, in the host: a slow test's time, kept only under the id of a job in flight."""
    if type(note) is list and len(note) == 4 and type(note[1]) is int and type(note[3]) is float:
        SLOW_CALLS.record(note[0], note[1], note[2], note[3])


def _judge(value: Any, expected: Any, args: tuple, options: Mapping[str, Any]) -> tuple[bool, str, Any]:
    limit_s = options.get("limit_s")
    note = None
    if limit_s is not None and type(value) is tuple and len(value) == 5 and type(value[0]) is str and value[0] == MARK:
        # the wrapper wraps every marker-shaped value, so one unwrapping gives the program's value;
        # its time travels as a note (JSON data only: another value is dropped on the way)
        note = [value[1], int(args[0]), value[3], float(limit_s)]
        value = value[4]
    if options.get("mode") == "stdio":
        if not isinstance(value, str):
            return False, PACK + json.dumps({"error_message": "Wrong Answer", "output": truncate(value)}), note
        ok, message = compare_stdout(value, expected)
    else:
        ok, message = compare_values(value, expected), "Wrong Answer"
        if isinstance(value, tuple):
            value = list(value)
    if ok:
        return True, "", note
    return False, PACK + json.dumps({"error_message": message, "output": truncate(value)}), note


register_judge(JUDGE, judge, notes=slow_call_note)
