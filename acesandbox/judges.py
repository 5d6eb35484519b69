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

import importlib
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .errors import InvalidJobError

__all__ = ["Judge", "available_judges", "get_judge", "register_judge"]

Judge = Callable[..., "bool | tuple[bool, str]"]

_REGISTRY: dict[str, Judge] = {}
_LOCK = threading.Lock()


def register_judge(name: str, fn: Judge) -> None:
    """Register ``fn`` as the judge called ``name`` in this process."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a judge name must be a non-empty string, got {name!r}")
    if not callable(fn):
        raise TypeError(f"judge {name!r} must be callable, got {type(fn).__name__}")
    with _LOCK:
        _REGISTRY[name] = fn


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group="acesandbox.judges")}


def available_judges() -> list[str]:
    """Judges registered here or installed as entry points."""
    return sorted(set(_REGISTRY) | set(_entry_points()))


def get_judge(name: str) -> Judge:
    """The judge called ``name``; InvalidJobError naming the known ones if there is none."""
    fn = _REGISTRY.get(name)
    if fn is not None:
        return fn
    ep = _entry_points().get(name)
    if ep is None:
        raise InvalidJobError(f"unknown judge {name!r}; known judges: {available_judges()}")
    module_name, _, attr = ep.value.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidJobError(f"judge {name!r} ({ep.value}) cannot be loaded: {exc}") from None
    register_judge(name, fn)
    return fn


def run_judge(fn: Judge, value: Any, expected: Any, args: tuple, atol: float, options: Mapping[str, Any]) -> tuple[bool, str]:
    """Call a judge and normalise its answer to ``(passed, message)``."""
    answer = fn(value, expected, args=args, atol=atol, options=options)
    if isinstance(answer, tuple):
        ok, message = answer
        return bool(ok), str(message or "")
    return bool(answer), ""
