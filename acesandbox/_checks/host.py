"""Judging in the parent: evaluating a template over hole values, and which templates the host may evaluate itself."""

from __future__ import annotations

import ast
import builtins
import functools
import reprlib
import sys
from collections import Counter
from collections.abc import Sequence
from types import CodeType
from typing import Any

from .data import Check
from .names import _TRUSTED_BUILTINS, _TRUSTED_MODULES, _is_name
from ..syntax import parse as parse_ast


def _count_equal(first: Any, second: Any) -> bool:
    """assertCountEqual: the same elements, the same number of times, in any order."""
    a, b = list(first), list(second)
    try:
        return Counter(a) == Counter(b)
    except TypeError:  # unhashable elements: match pairwise
        rest = list(b)
        for x in a:
            for j, y in enumerate(rest):
                if x is y or x == y:
                    del rest[j]
                    break
            else:
                return False
        return not rest


def _almost_equal(first: Any, second: Any, places: int | None = None, delta: Any = None) -> bool:
    """assertAlmostEqual's rule: equal, or within ``delta``, or ``round(diff, places) == 0``."""
    if places is not None and delta is not None:
        raise TypeError("specify delta or places not both")
    if first == second:
        return True
    diff = abs(first - second)
    if delta is not None:
        return bool(diff <= delta)
    return bool(round(diff, 7 if places is None else places) == 0)


_TYPES: dict[str, type | tuple[type, ...]] = {"list": list, "tuple": tuple, "dict": dict, "set": (set, frozenset)}


def _typed_equal(first: Any, second: Any, kind: str) -> bool:
    """assertListEqual and friends: both of the type, and equal."""
    types = _TYPES[kind]
    return isinstance(first, types) and isinstance(second, types) and bool(first == second)


def _sequence_equal(first: Any, second: Any, seq_type: type | None = None) -> bool:
    """assertSequenceEqual: same length and pairwise-equal items (list vs tuple is fine)."""
    if seq_type is not None and not (isinstance(first, seq_type) and isinstance(second, seq_type)):
        return False
    try:
        return len(first) == len(second) and all(first[i] == second[i] for i in range(len(first)))
    except TypeError:  # not sequences
        return False


def _import_loaded(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
    """Only for C code (numpy) that imports through the current builtins: loaded modules only."""
    if level != 0 or name not in sys.modules:
        raise ImportError(f"cannot import {name!r} while judging")
    return builtins.__import__(name, globals, locals, fromlist, level)


_SAFE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in _TRUSTED_BUILTINS}
_SAFE_BUILTINS.update(isinstance=isinstance, __import__=_import_loaded)
_HELPERS: dict[str, Any] = {f.__name__: f for f in (_almost_equal, _count_equal, _sequence_equal, _typed_equal)}


@functools.lru_cache(maxsize=4096)
def _compile_template(template: str) -> CodeType:
    """Compile once; planning never puts underscore names other than holes and helpers in a template."""
    code = compile(template, "<check>", "eval", dont_inherit=True)
    for name in code.co_names:
        if name.startswith("_") and name not in _HELPERS and not (name[:2] == "_h" and name[2:].isdigit()):
            raise ValueError(f"template uses the forbidden name {name!r}")
    return code


# -- what the parent may evaluate itself ----------------------------------------------

# Templates whose cost is bounded by the size of the values and of the template itself:
# comparisons, truth tests, + and -, indexing, displays, and a few calls. Anything else
# (a sum over a range, sorting, repetition, powers, formatting...) runs in a judge
# process under a time budget (see ``_judge_proc``), never in the host.
_HOST_NODES = (
    ast.Expression, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.IfExp, ast.Constant, ast.Name, ast.Tuple,
    ast.List, ast.Set, ast.Dict, ast.Subscript, ast.Slice, ast.Call, ast.BinOp, ast.Attribute, ast.Load,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn, ast.And,
    ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Add, ast.Sub, ast.keyword,
)  # fmt: skip
_HOST_CALLS = frozenset({"abs", "bool", "isinstance", "len"})
_HOST_MATH = frozenset({"isclose", "isnan", "isinf", "isfinite", "fabs"})
_HOST_MAX_TEMPLATE = 4096
_HOST_MAX_INT_BITS = 1024
"""Largest int literal a host template may hold: ``literal in value`` compares it with every
element, and against a Decimal each comparison converts the int (super-linear in its size;
at 1,024 bits it costs about as much as decoding the Decimal did, at 13,000 bits 150 times
more). The size of ``_wire.DECIMAL_SAFE_INT_BITS``."""


def _costly_literal(value: object) -> bool:
    """A long string (``lit in value`` scans) or an int a Decimal must convert to compare."""
    if isinstance(value, (str, bytes)):
        return len(value) > 1024
    return type(value) is int and value.bit_length() > _HOST_MAX_INT_BITS


@functools.lru_cache(maxsize=4096)
def host_safe(template: str) -> bool:
    """Whether the parent may evaluate ``template`` itself: every node is one whose cost
    is linear in the values and the template (``_h0 == [1, 2]``, ``abs(_h0 - 0.5) < 1e-6``,
    ``math.isclose(_h0, 2.0)``, ``len(_h0) == 3``), the template is short, its int literals
    are small (``_HOST_MAX_INT_BITS``: each comparison of one with a program's Decimal
    costs a conversion) and it holds one program value at most (two of them,
    ``_h0 == _h1``, may cost far more than their size)."""
    if len(template) > _HOST_MAX_TEMPLATE:
        return False
    try:
        tree = parse_ast(template, mode="eval")
    except SyntaxError:
        return False
    holes: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id[:2] == "_h" and node.id[2:].isdigit():
            holes.add(node.id)
            if len(holes) > 1:  # two program values meet (``_h0 == _h1``, ``_h0 in _h1``): Decimal vs a
                return False  # huge int, and the like, is super-linear; only a literal may face a value
        if not isinstance(node, _HOST_NODES):
            return False
        if isinstance(node, ast.Call):
            func = node.func
            named = isinstance(func, ast.Name) and func.id in _HOST_CALLS
            mathy = isinstance(func, ast.Attribute) and _is_name(func.value, "math") and func.attr in _HOST_MATH
            if not (named or mathy) or node.keywords and not mathy:
                return False
        elif isinstance(node, ast.Attribute):
            if not (_is_name(node.value, "math") and node.attr in _HOST_MATH):
                return False
        elif isinstance(node, ast.Constant) and _costly_literal(node.value):
            return False
    return True


@functools.lru_cache(maxsize=4096)
def _is_call(source: str) -> bool:
    try:
        return isinstance(parse_ast(source, mode="eval").body, ast.Call)
    except SyntaxError:
        return False


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 4, 120, 120, 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdict = 20
_MAX_REPR = 200


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def _short_repr(value: Any) -> str:
    try:
        return _clip(_REPR.repr(value))
    except ValueError:  # an int beyond the str-digits limit
        return f"<int of {value.bit_length()} bits>" if isinstance(value, int) else "<unprintable>"
    except Exception:  # noqa: BLE001 - a message must never fail the verdict
        return f"<unprintable {type(value).__name__}>"


def judge(check: Check, values: Sequence[object]) -> tuple[bool, str]:
    """Evaluate ``check.template`` over rebuilt hole values with real builtins only.

    Returns ``(passed, message)``; the message is empty on a pass. Exceptions raised by
    the template propagate: the caller reports them as an error, as Python would.
    """
    if len(values) != len(check.holes):
        raise ValueError(f"{check.source!r} has {len(check.holes)} holes but got {len(values)} values")
    env: dict[str, Any] = {"__builtins__": _SAFE_BUILTINS, **_TRUSTED_MODULES, **_HELPERS}
    shown: list[tuple[str, object]] = []
    lazy = set(check.lazy)
    for i, value in enumerate(values):
        if i in lazy:
            if type(value) is not tuple or len(value) > 1:
                raise ValueError(f"conditional hole {i} must come as a tuple of at most one value")
            if not value:
                continue  # it raised in the sandbox; unbound, so reaching it is a NameError
            value = value[0]
        env[f"_h{i}"] = value
        shown.append((check.holes[i], value))
    try:
        result = eval(_compile_template(check.template), env)
    except NameError as e:
        name = getattr(e, "name", None) or ""
        if name.startswith("_h") and name[2:].isdigit():
            raise RuntimeError(f"{check.holes[int(name[2:])]} raised an exception in the sandbox") from None
        raise
    if bool(result):
        return True, ""
    parts: list[str] = []
    for src, value in shown:
        part = f"{src} {'returned' if _is_call(src) else '='} {_short_repr(value)}"
        if part not in parts:
            parts.append(part)
    source = _clip(" ".join(check.source.split()) if "\n" in check.source else check.source)
    return False, f"{source} failed" + (": " + "; ".join(parts[:4]) if parts else "")
