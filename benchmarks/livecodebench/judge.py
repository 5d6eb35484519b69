"""lcb_runner's comparison as the trusted acesandbox judge ``livecodebench`` (runs in the parent)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from acesandbox.judges import register_judge

__all__ = ["JUDGE", "PACK", "compare_stdout", "compare_values", "judge", "truncate"]

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


def judge(value: Any, expected: Any, *, args: tuple, atol: float, options: Mapping[str, Any]) -> tuple[bool, str]:
    """The trusted ``livecodebench`` judge: ``options["mode"]`` is ``"stdio"`` or ``"call"``.

    A failure's message is ``lcb:`` + JSON with the official ``error_message`` and
    ``output``, so that :meth:`LiveCodeBench.verdicts` can write the official metadata.
    """
    if options.get("mode") == "stdio":
        if not isinstance(value, str):
            return False, PACK + json.dumps({"error_message": "Wrong Answer", "output": truncate(value)})
        ok, message = compare_stdout(value, expected)
    else:
        ok, message = compare_values(value, expected), "Wrong Answer"
        if isinstance(value, tuple):
            value = list(value)
    if ok:
        return True, ""
    return False, PACK + json.dumps({"error_message": message, "output": truncate(value)})


register_judge(JUDGE, judge)
