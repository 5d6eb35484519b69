"""Trusted comparators for call tests, chosen by name.

A benchmark whose evaluator compares outputs in its own way (EvalPlus's float and
special-case oracles, LiveCodeBench's rules) registers a *judge*; a :class:`CallTest`
or :class:`CallBatchTest` names it in ``judge``. Judges run in the trusted parent, on
values rebuilt from the safe wire format (builtins and numpy values), never inside the
sandbox, so a program cannot answer with an object that compares equal to anything.

A judge is ``fn(value, expected, *, args, atol, options) -> bool | (bool, message)``;
an exception it raises makes the test an ``error``, as a raising assert would.

Judges are found in this process's registry (:func:`register_judge`), then in the
entry points of the group ``acesandbox.judges`` (``name = "module:function"``), so a
job that travels to another process or machine finds the same judge there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import InvalidJobError
from .registry import Registry

__all__ = ["Judge", "available_judges", "get_judge", "register_judge"]

Judge = Callable[..., "bool | tuple[bool, str]"]

JUDGES: Registry[Judge] = Registry("judge", group="acesandbox.judges", error=InvalidJobError)


def register_judge(name: str, fn: Judge) -> None:
    """Register ``fn`` as the judge called ``name`` in this process."""
    if not callable(fn):
        raise TypeError(f"judge {name!r} must be callable, got {type(fn).__name__}")
    JUDGES.register(name, fn)


def available_judges() -> list[str]:
    """Judges registered here or installed as entry points."""
    return JUDGES.names()


def get_judge(name: str) -> Judge:
    """The judge called ``name``; InvalidJobError naming the known ones if there is none."""
    return JUDGES.load(name)


def run_judge(fn: Judge, value: Any, expected: Any, args: tuple[Any, ...], atol: float, options: Mapping[str, Any]) -> tuple[bool, str]:
    """Call a judge and normalise its answer to ``(passed, message)``."""
    answer = fn(value, expected, args=args, atol=atol, options=options)
    if isinstance(answer, tuple):
        ok, message = answer
        return bool(ok), str(message or "")
    return bool(answer), ""
