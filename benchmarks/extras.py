"""Optional dependencies of ``benchmarks``, checked before the work starts, never after it.

Scoring needs numpy, pandas and rich (pass@k tables and the summary); the HTML report's
plots need matplotlib. All come with the ``benchmarks`` extra. A command checks
:data:`SCORING` before it judges anything (:func:`require` raises
:class:`~benchmarks.errors.MissingExtraError` naming the install command), and a report
without matplotlib is written without its plots, with a note (:func:`missing`).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable

from .errors import MissingExtraError

__all__ = ["INSTALL", "PLOTS", "SCORING", "missing", "require"]

INSTALL = "pip install 'acecoder-toolkit[benchmarks]'"
"""The command that installs every optional dependency of ``benchmarks``."""

SCORING: tuple[str, ...] = ("numpy", "pandas", "rich")
"""Modules every scoring run needs (pass@k tables, the summary table)."""

PLOTS: tuple[str, ...] = ("matplotlib",)
"""Modules the HTML report's plots need."""


def _importable(name: str) -> bool:
    if name in sys.modules:
        return sys.modules[name] is not None  # None: imports of it are blocked
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def missing(modules: Iterable[str]) -> list[str]:
    """The modules of ``modules`` that cannot be imported here, in order."""
    return [name for name in modules if not _importable(name)]


def require(modules: Iterable[str], purpose: str) -> None:
    """Raise :class:`MissingExtraError` naming what is missing and :data:`INSTALL`, before any work."""
    absent = missing(modules)
    if absent:
        raise MissingExtraError(f"{purpose} needs {', '.join(absent)}, which is not installed: {INSTALL}")
