"""The values planning produces: a :class:`Plan` of sandbox code and the :class:`Check` s it reports."""

from __future__ import annotations

from dataclasses import dataclass

CHECK_FUNCTION = "__ace_check__"
"""Name the sandbox runtime binds to the function that emits ``(ci, hole_values)``."""

@dataclass(frozen=True)
class Check:
    """One judged assertion: the parent evaluates ``template`` over the hole values."""

    source: str
    """The original assert statement (or unittest call), for messages."""
    template: str
    """A Python expression over ``_h0.._hN``, evaluated in the parent."""
    holes: tuple[str, ...]
    """Sandbox-side expression sources, in evaluation order."""
    lazy: tuple[int, ...] = ()
    """Holes the original would evaluate only conditionally (after ``and``/``or``/``if``).
    The sandbox evaluates them anyway but sends ``(value,)``, or ``()`` if they raised;
    the parent fails with an error only if its own evaluation reaches such a hole."""


@dataclass(frozen=True)
class Plan:
    """Rewritten test code for the sandbox plus the checks its ``__ace_check__`` calls report."""

    sandbox_code: str
    checks: tuple[Check, ...]
    required: tuple[int, ...] = ()
    """Checks every completed run must have reported: the asserts at the top level of
    the test (of each test method, for unittest). A test that claims to have finished
    without them was cut short by the program (a forged channel or patched runtime)."""
    last: int = -1
    """The check the sandbox code ends with, as its last top-level statement (-1: none):
    nothing of the test runs after it, so the sandbox writes its frame with the test's
    end frame, in one write."""
    forgeable: bool = False
    """Part of the verdict is reached in the program's process: a hole that holds test
    logic (a comparison, ``all(...)``, a library call), a statement that is neither an
    import, a definition nor a plain assignment (a loop, a call of a check function),
    or no check at all. A program that patches builtins, ``math`` or ``unittest`` at
    load could turn such a test into a pass, so in strict mode it is not run this way:
    the whole test runs in a test process instead (``acesandbox/_sandbox/testproc.py``)."""
