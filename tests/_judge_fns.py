"""Module-level judges for the tests: the judge process imports them by name (a lambda or
a local function could not be found there)."""

from __future__ import annotations

import os
from typing import Any


def set_equal(value: Any, expected: Any, *, args: tuple, atol: float, options: dict) -> tuple[bool, str]:
    ok = isinstance(value, (list, tuple, set)) and set(value) == set(expected)
    return ok, "" if ok else f"{options.get('label', 'set')} differs"


def raises(value: Any, expected: Any, **kw: Any) -> bool:
    return bool(1 / 0)


def where(value: Any, expected: Any, **kw: Any) -> tuple[bool, str]:
    """Fails with where it ran: its pid, and whether it sees the host's environment and modules."""
    return False, f"pid={os.getpid()} env={sorted(os.environ)} pytest={'pytest' in __import__('sys').modules}"


def slow(value: Any, expected: Any, **kw: Any) -> bool:
    """As slow as the program's value makes it: ``sum(range(value))``."""
    return sum(range(value)) == expected


def huge(value: Any, expected: Any, **kw: Any) -> bool:
    """As large as the program's value makes it: ``[0] * value``."""
    return len([0] * value) == expected


def noted(value: Any, expected: Any, **kw: Any) -> tuple[bool, str, Any]:
    """Passes on equality and sends the value back as a note."""
    return value == expected, "", value


NOTES: list[Any] = []


def chatty(value: Any, expected: Any, **kw: Any) -> bool:
    """Prints, as a careless judge might: its output must not reach the judge's protocol."""
    print("judging", value)
    return bool(value == expected)
