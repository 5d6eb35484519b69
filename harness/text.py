"""Hostile text on its way to people: CSV cells that never open as formulas, terminal text that
cannot drive the terminal.

Task ids, questions, source and model names and messages come from datasets, models and the
programs they wrote. Every such string goes to the terminal through :func:`terminal_safe` or
:func:`terminal_text` (control characters escaped, rich markup never parsed) and into a CSV
through :func:`write_csv` / :func:`csv_cell` (a text cell a spreadsheet would take as a formula
starts with ``'``). Here, not in ``benchmarks``, so that harness's own outputs use them too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]
    from rich.text import Text

__all__ = ["CSV_FORMULA_START", "csv_cell", "terminal_safe", "terminal_text", "write_csv"]

_CONTROL_ESCAPES = {c: repr(chr(c))[1:-1] for c in (*range(0x20), *range(0x7F, 0xA0))}
"""Every C0 control, DEL and every C1 control -> its Python escape (``\\x1b``, ``\\n``, ``\\x9b``)."""

CSV_FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these opens as a formula in a spreadsheet (OWASP, CSV injection)."""


def terminal_safe(value: Any) -> str:
    """``str(value)`` with every control character (C0, DEL, C1) written as its escape, e.g. ``\\x1b``.

    A task id or message holding ``\\x1b]0;...`` or ``\\x1b[2J`` would otherwise retitle or clear
    the terminal; a newline would forge a line of output. Rich markup is left as it is: print the
    result with ``print`` or as :func:`terminal_text`, never as a rich markup string.
    """
    return str(value).translate(_CONTROL_ESCAPES)


def terminal_text(value: Any, style: str = "") -> Text:
    """``value`` as a rich ``Text``: shown as written (no markup, no emoji codes), controls escaped.

    Needs rich (an extra of ``benchmarks``, not of harness), imported on use.
    """
    from rich.text import Text

    return Text(terminal_safe(value), style=style)


def csv_cell(value: Any) -> Any:
    """``value`` for a CSV cell: a str that starts with a formula character gets a leading ``'``
    (shown as text by spreadsheets); numbers, even negative ones, and other text are unchanged."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_START):
        return "'" + value
    return value


def write_csv(frame: pd.DataFrame, path: str) -> str:
    """Write ``frame`` to ``path`` as CSV with every text cell, index label and header passed
    through :func:`csv_cell` and quoted, numbers bare; returns ``path``.

    Quoting every text cell keeps a carriage return in a name inside its cell (the csv module
    leaves a lone ``\\r`` unquoted, and spreadsheets start a row there). The file is for people:
    a guarded name reads back with its ``'`` (``pandas.read_csv`` reads the numbers as numbers).
    """
    import csv

    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].map(csv_cell)
    out.index = _guarded_labels(out.index)
    out.columns = _guarded_labels(out.columns)
    out.to_csv(path, quoting=csv.QUOTE_NONNUMERIC)
    return path


def _guarded_labels(index: pd.Index) -> pd.Index:
    import pandas as pd

    names = [csv_cell(n) for n in index.names]
    if isinstance(index, pd.MultiIndex):
        return pd.MultiIndex.from_tuples([tuple(csv_cell(v) for v in key) for key in index], names=names)
    return index.map(csv_cell).set_names(names)
