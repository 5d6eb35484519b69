"""EvalPlus's output comparison, as a trusted acesandbox judge (runs in acesandbox's judge process, never in the sandbox).

EvalPlus compares a solution's output ``out`` with the canonical output ``exp`` for
each input, in this order (reimplemented here from its evaluator, not copied):

1. ``exact = out == exp``;
2. the special oracles of the dataset / entry point (MBPP ``are_equivalent`` always
   matches, ``sum_div`` also accepts 0, set-equality tasks, "output is not None" tasks,
   ``surface_Area`` / ``digit_distance_nums`` recomputed; HumanEval ``find_zero`` checks
   the polynomial at ``out``);
3. if ``atol == 0`` and ``exp`` "is floats", ``atol = 1e-6`` -- a reassignment that
   persists to the later inputs of the same check, so callers pass each call's
   *incoming* ``atol`` (see :func:`incoming_atols`);
4. if not ``exact`` and ``atol != 0``: numeric closeness (``np.testing.assert_allclose``
   before April 2024; ``np.allclose(rtol=1e-07)`` after, with type and length checks
   from May 2024); else ``exact`` must be true.

Which variant applies depends on the evalplus version that produced a verdict; the
flags live in :data:`PROFILES` and travel in ``judge_options``. Any exception while
comparing is a failure, as it is in EvalPlus (the acesandbox ``error`` status).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from . import timing as _timing

__all__ = [
    "DEFAULT_PROFILE",
    "DIGEST_PREFIX",
    "MBPP_OUTPUT_NOT_NONE_TASKS",
    "MBPP_OUTPUT_SET_EQ_TASKS",
    "PROFILES",
    "incoming_atols",
    "is_floats",
    "judge",
    "timing_note",
]

MBPP_OUTPUT_NOT_NONE_TASKS: frozenset[str] = frozenset({"check_str", "text_match_three", "text_starta_endb"})
"""Entry points whose canonical output is reduced to ``out is not None`` (a ``re.Match``)."""

MBPP_OUTPUT_SET_EQ_TASKS: frozenset[str] = frozenset(
    {"similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly",
     "larg_nnum", "intersection_array", "find_dissimilar", "Diff"}
)
"""Entry points judged by ``set(out) == set(exp)`` (evalplus >= 2024-04-12)."""

PROFILES: dict[str, dict[str, Any]] = {
    # ganler/evalplus docker image of mid-January 2024 (v0.2.0 + fixes up to 2023-12-22)
    "2024-01-v0.2.0": {
        "find_zero": "swapped", "allclose": "assert_allclose", "empty_is_floats": True,
        "not_none_bool": False, "set_eq": False, "extra_mbpp_oracles": False,
        "min_time_limit": 0.2, "timeout_cap": None,
    },
    # git 28d05f6 (2024-01-24): the not-None oracle honours a bool output; --min-time-limit 0.5
    "2024-01-28d05f6": {
        "find_zero": "swapped", "allclose": "assert_allclose", "empty_is_floats": True,
        "not_none_bool": True, "set_eq": False, "extra_mbpp_oracles": False,
        "min_time_limit": 0.5, "timeout_cap": None,
    },
    # git of 2024-02-12..03-25: new result format, --min-time-limit 1, 60 s cap per check
    "2024-02": {
        "find_zero": "swapped", "allclose": "assert_allclose", "empty_is_floats": True,
        "not_none_bool": True, "set_eq": False, "extra_mbpp_oracles": False,
        "min_time_limit": 1.0, "timeout_cap": 60.0,
    },
    # git of 2024-05-10..05-13 (de8c082): np.allclose with type/len checks, is_floats([]) False,
    # find_zero checks poly(out) <= atol (signed) and then still compares with the canonical root
    "2024-05": {
        "find_zero": "signed", "allclose": "allclose_typed", "empty_is_floats": False,
        "not_none_bool": True, "set_eq": True, "extra_mbpp_oracles": False,
        "min_time_limit": 1.0, "timeout_cap": 60.0,
    },
    # PyPI evalplus 0.3.1 (2024-10-20): find_zero's `continue` skips recording -> always fails
    "v0.3.1": {
        "find_zero": "abs_unrecorded", "allclose": "allclose_typed", "empty_is_floats": False,
        "not_none_bool": True, "set_eq": True, "extra_mbpp_oracles": True,
        "min_time_limit": 1.0, "timeout_cap": 60.0,
    },
    # evalplus master since 6eb1e19 (2024-11-01): |poly(out)| <= atol decides find_zero
    "latest": {
        "find_zero": "abs", "allclose": "allclose_typed", "empty_is_floats": False,
        "not_none_bool": True, "set_eq": True, "extra_mbpp_oracles": True,
        "min_time_limit": 1.0, "timeout_cap": 60.0,
    },
}
"""Comparison and time-limit variants by evalplus version (see :mod:`benchmarks.evalplus`)."""

DEFAULT_PROFILE = "latest"

DIGEST_PREFIX = "<evalplus: digest of "
"""An expected output kept as a digest (too large to send: :mod:`benchmarks.evalplus.ground_truth`)
starts with this; the solution's output of that call arrives digested the same way."""


def is_floats(x: Any, *, empty_is_floats: bool = False) -> bool:
    """EvalPlus's test for a float output: a float, a list/tuple of floats, a float ndarray."""
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)):
        if not x and not empty_is_floats:
            return False
        return all(isinstance(i, float) for i in x)
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency of the benchmarks
        return False
    if isinstance(x, np.ndarray):
        return bool(x.dtype == np.float64 or x.dtype == np.float32)
    return False


def incoming_atols(atol: float, expected: Sequence[Any], *, empty_is_floats: bool = False) -> list[float]:
    """The ``atol`` each call of one check starts with: 1e-6 for good once a float output was seen."""
    out: list[float] = []
    current = float(atol)
    for exp in expected:
        out.append(current)
        if current == 0 and is_floats(exp, empty_is_floats=empty_is_floats):
            current = 1e-6
    return out


def _poly(*xs_and_x: Any) -> float:
    """HumanEval/32's ``poly(xs, x)``; called with unpacked values as evalplus did (a wrong count raises)."""
    xs, x = xs_and_x
    return sum([coeff * math.pow(x, i) for i, coeff in enumerate(xs)])


def _surface_area(base_edge: float, height: float) -> int:
    slant = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 4 * (base_edge * slant) / 2)


def _digit_distance(num1: int, num2: int) -> int:
    a, b = str(num1), str(num2)
    width = max(len(a), len(b))
    return sum(abs(int(x) - int(y)) for x, y in zip(a.zfill(width), b.zfill(width)))


def _close(out: Any, exp: Any, atol: float, how: str) -> bool:
    import numpy as np

    if how == "assert_allclose":
        try:
            np.testing.assert_allclose(out, exp, atol=atol)
        except AssertionError:
            return False
        return True
    if how == "never":  # what the 2024 official runs show (see benchmarks.evalplus.KNOWN_DIFFERENCES)
        return False
    if how == "allclose_typed":
        if type(out) is not type(exp):
            return False
        if isinstance(exp, (list, tuple)) and len(out) != len(exp):
            return False
    return bool(np.allclose(out, exp, rtol=1e-07, atol=atol))


def judge(value: Any, expected: Any, *, args: tuple, atol: float,
          options: Mapping[str, Any]) -> tuple[bool, str] | tuple[bool, str, list[Any]]:
    """One EvalPlus comparison. ``options``: ``dataset`` ("humaneval"/"mbpp"), ``entry_point``,
    ``profile`` (a :data:`PROFILES` key, default ``latest``) or the individual flags.

    With ``options["wrapped"]`` the value comes through the check's call wrapper; a slow
    call's ``(MARK, job id, call, seconds, value)`` is unwrapped and its time returned as
    the note ``[job id, call, seconds, limit]`` (kept, in the host, only under the id of a
    job in flight: :func:`timing_note`)."""
    flags = dict(PROFILES[str(options.get("profile", DEFAULT_PROFILE))])
    flags.update({k: v for k, v in options.items() if k in flags})
    note = None
    if options.get("wrapped"):  # the check's call wrapper: (call, digested, limit_s, *args)
        call, _digested, limit_s, args = args[0], args[1], args[2], tuple(args)[3:]
        if type(value) is tuple and len(value) == 5 and type(value[0]) is str and value[0] == _timing.MARK:
            spent = value[3]
            if type(value[1]) is str and _finite(spent):
                note = [value[1], int(call), spent, float(limit_s)]
                value = value[4]
    ok, message = _compare(value, expected, args, atol, options, flags)
    return (ok, message) if note is None else (ok, message, note)


def _finite(x: Any) -> bool:
    if type(x) not in (int, float):
        return False
    try:
        return math.isfinite(float(x))
    except OverflowError:
        return False


def timing_note(note: Any) -> None:
    """A judge's note, in the host: a slow call's time, kept under its job's id if in flight."""
    if type(note) is list and len(note) == 4 and type(note[1]) is int and type(note[3]) is float:
        _timing.record(note[0], note[1], note[2], note[3])


def _compare(value: Any, expected: Any, args: tuple, atol: float, options: Mapping[str, Any],
             flags: Mapping[str, Any]) -> tuple[bool, str]:
    if isinstance(expected, str) and expected.startswith(DIGEST_PREFIX):
        ok = value == expected  # equal canonical forms (no tolerance: see DIGEST_FLOATS_BYTES)
        return ok, "" if ok else f"returned {_short(value)}, expected {expected} (compared by digest)"
    dataset = options.get("dataset", "")
    entry = options.get("entry_point", "")
    out, exp = value, expected
    exact = out == exp

    if dataset == "mbpp":
        if entry == "are_equivalent":
            exact = True
        elif entry == "sum_div":
            exact = exact or out == 0
        elif flags["extra_mbpp_oracles"] and entry == "surface_Area":
            exact = exact or abs(out - _surface_area(*args)) <= atol
        elif flags["extra_mbpp_oracles"] and entry == "digit_distance_nums":
            exact = exact or out == _digit_distance(*args)
        elif flags["set_eq"] and entry in MBPP_OUTPUT_SET_EQ_TASKS:
            exact = set(out) == set(exp)
        elif entry in MBPP_OUTPUT_NOT_NONE_TASKS:
            if flags["not_none_bool"] and isinstance(out, bool):
                exact = out == exp
            else:
                exact = exp == (out is not None)
    elif dataset == "humaneval" and entry == "find_zero":
        mode = flags["find_zero"]
        if mode == "swapped":  # evalplus < 2024-03-26 called _poly(*out, inp)
            if not _poly(*out, args) <= atol:
                return False, "find_zero: polynomial check failed"
        elif mode == "signed":
            if not _poly(*args, out) <= atol:
                return False, f"find_zero: poly(xs, {out!r}) > {atol}"
        elif mode == "abs":
            ok = abs(_poly(*args, out)) <= atol
            return ok, "" if ok else f"find_zero: |poly(xs, {out!r})| > {atol}"
        elif mode == "abs_unrecorded":
            ok = abs(_poly(*args, out)) <= atol
            return False, "find_zero: evalplus 0.3.1 never records a find_zero input as passed" if ok else (
                f"find_zero: |poly(xs, {out!r})| > {atol}")

    if atol == 0 and is_floats(exp, empty_is_floats=flags["empty_is_floats"]):
        atol = 1e-6
    if not exact and atol != 0:
        ok = _close(out, exp, atol, flags["allclose"])
        return ok, "" if ok else f"not close (atol={atol}): {_short(out)} vs expected {_short(exp)}"
    ok = bool(exact)
    return ok, "" if ok else f"returned {_short(out)}, expected {_short(exp)}"


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
