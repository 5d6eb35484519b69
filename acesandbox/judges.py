"""Trusted comparators for call tests, chosen by name.

A benchmark whose evaluator compares outputs in its own way (EvalPlus's float and
special-case oracles, LiveCodeBench's rules) registers a *judge*; a :class:`CallTest`
or :class:`CallBatchTest` names it in ``judge``. Judges run in a judge process (see
:mod:`acesandbox._judge_proc`), never in the host and never in the sandbox: the host
sends the program's values in wire form, the expected values (cached there by digest)
and the judge's importable name; the judge process rebuilds the values, judges them and
returns only verdicts. A program can neither answer with an object that compares equal
to anything nor make a comparator stall or exhaust the host.

A judge is ``fn(value, expected, *, args, atol, options) -> bool | (bool, message)
| (bool, message, note)``; an exception it raises makes the test an ``error``, as a
raising assert would. A *note* is a small JSON value (a slow call's time, say) that
comes back to the host, where the ``notes`` callback given to :func:`register_judge`
receives it; notes of a judge with no callback are dropped.

Judges are found in this process's registry (:func:`register_judge`), then in the
entry points of the group ``acesandbox.judges`` (``name = "module:function"``). The
judge process imports the judge by that name, so a registered judge must be a
module-level function of an importable module (not a lambda, a local function or a
function of ``__main__``): a job naming any other is refused before it runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from .errors import InvalidJobError
from .registry import Registry

__all__ = ["Judge", "available_judges", "get_judge", "register_judge"]

Judge = Callable[..., "bool | tuple[bool, str] | tuple[bool, str, Any]"]

JUDGES: Registry[Judge] = Registry("judge", group="acesandbox.judges", error=InvalidJobError)

_TARGETS: dict[str, str | None] = {}
"""Registered judges' importable names (``module:qualname``); None for one that is not importable."""

_NOTES: dict[str, Callable[[Any], object]] = {}


def _key(name: str) -> str:
    return name.strip().lower()


def register_judge(name: str, fn: Judge, *, notes: Callable[[Any], object] | None = None) -> None:
    """Register ``fn`` as the judge called ``name``; ``notes`` receives, in the host, each
    note the judge returns (a bounded JSON value, checked by the callback)."""
    if not callable(fn):
        raise TypeError(f"judge {name!r} must be callable, got {type(fn).__name__}")
    JUDGES.register(name, fn)
    _TARGETS[_key(name)] = _importable_name(fn)
    if notes is not None:
        _NOTES[_key(name)] = notes
    else:
        _NOTES.pop(_key(name), None)


def available_judges() -> list[str]:
    """Judges registered here or installed as entry points."""
    return JUDGES.names()


def get_judge(name: str) -> Judge:
    """The judge called ``name``; InvalidJobError naming the known ones if there is none."""
    return JUDGES.load(name)


def judge_target(name: str) -> str:
    """The importable ``module:qualname`` of the judge called ``name``, which the judge
    process loads; InvalidJobError when there is no such judge or it cannot be imported."""
    get_judge(name)  # unknown: InvalidJobError naming the known ones
    key = _key(name)
    if key in _TARGETS:
        target = _TARGETS[key]
        if target is None:
            raise InvalidJobError(
                f"judge {name!r} is not importable (a lambda, a local function or a function of __main__), "
                "and judges run in a separate judge process: register a module-level function of an importable "
                "module, or install it as an entry point in the group 'acesandbox.judges'"
            )
        return target
    from importlib.metadata import entry_points

    for ep in entry_points(group="acesandbox.judges"):
        if _key(ep.name) == key:
            return str(ep.value)
    raise InvalidJobError(f"judge {name!r} has no importable name")  # pragma: no cover - registry and entry points agree


def judge_notes(name: str) -> Callable[[Any], object] | None:
    """The host's callback for the notes of the judge called ``name``, if one was registered."""
    return _NOTES.get(_key(name))


def _importable_name(fn: Any) -> str | None:
    """``module:qualname`` when importing that name gives back ``fn`` itself, else None."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or module == "__main__" or "<" in qualname:
        return None
    obj: Any = sys.modules.get(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return f"{module}:{qualname}" if obj is fn else None


def target_root(target: str) -> tuple[str, str] | None:
    """Where the judge process finds ``target``'s top-level package: ``(name, path)`` of the
    package folder (or module file) in this process, or None when it is not loaded here."""
    module = target.partition(":")[0]
    top = module.split(".")[0]
    mod = sys.modules.get(top)
    path = getattr(mod, "__file__", None)
    if not isinstance(path, str):
        return None
    if os.path.basename(path) == "__init__.py":
        path = os.path.dirname(path)
    return top, os.path.abspath(path)


def load_target(target: str) -> Judge:
    """Import ``module:qualname`` (in the judge process)."""
    import importlib

    module, _, qualname = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{target} is not callable")
    return obj  # type: ignore[no-any-return]


def run_judge(fn: Judge, value: Any, expected: Any, args: tuple[Any, ...], atol: float,
              options: Mapping[str, Any]) -> tuple[bool, str, Any]:
    """Call a judge and normalise its answer to ``(passed, message, note)``."""
    answer = fn(value, expected, args=args, atol=atol, options=options)
    if isinstance(answer, tuple):
        ok, message, *rest = answer
        return bool(ok), str(message or ""), (rest[0] if rest else None)
    return bool(answer), "", None
