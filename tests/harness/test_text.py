"""Hostile text on its way to people: CSV cells never open as formulas, no control character
reaches the terminal (the helpers every package's outputs use)."""

from __future__ import annotations

import csv
import re

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from harness.text import CSV_FORMULA_START, csv_cell, terminal_safe, terminal_text, write_csv

CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def _csv_rows(path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_write_csv_guards_text_cells_but_not_numbers(tmp_path):
    frame = pd.DataFrame({"name": ["-x", "@SUM(1)", "ok", "\tTAB", "\rCR", "+1"], "score": [-0.5, -3.0, 1.0, 0, 2, -1]},
                         index=pd.Index(["=1+1", "a", "b", "c", "d", "e"], name="+id"))
    frame.columns = ["name", "-score"]
    path = write_csv(frame, str(tmp_path / "t.csv"))
    rows = _csv_rows(path)
    assert rows[0] == ["'+id", "name", "'-score"]
    assert [r[0] for r in rows[1:]] == ["'=1+1", "a", "b", "c", "d", "e"]
    assert [r[1] for r in rows[1:]] == ["'-x", "'@SUM(1)", "ok", "'\tTAB", "'\rCR", "'+1"]
    assert [float(r[2]) for r in rows[1:]] == [-0.5, -3.0, 1.0, 0, 2, -1]
    assert rows[1][2] == "-0.5"
    back = pd.read_csv(path, index_col=0)
    assert back["'-score"].tolist() == [-0.5, -3.0, 1.0, 0, 2, -1]  # numbers read back as numbers


def test_write_csv_guards_a_multi_index(tmp_path):
    frame = pd.DataFrame({"v": [1, 2]}, index=pd.MultiIndex.from_tuples([("=a", "b"), ("c", "-d")], names=["@k", "j"]))
    rows = _csv_rows(write_csv(frame, str(tmp_path / "m.csv")))
    assert rows == [["'@k", "j", "v"], ["'=a", "b", "1"], ["c", "'-d", "2"]]


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.text()))
def test_csv_cell_guards_only_formula_text(value):
    guarded = csv_cell(value)
    if isinstance(value, str) and value[:1] in CSV_FORMULA_START:
        assert guarded == "'" + value
    else:
        assert guarded == value and type(guarded) is type(value)


@given(st.text())
def test_terminal_safe_leaves_no_control_character(text):
    shown = terminal_safe(text)
    assert not CONTROLS.search(shown)
    if not CONTROLS.search(text):
        assert shown == text


def test_terminal_safe_shows_controls_as_escapes():
    assert terminal_safe("a\x1b[2J\n\t\x7f\x9b\x00b") == "a\\x1b[2J\\n\\t\\x7f\\x9b\\x00b"
    assert terminal_safe("[red]é ✓ [/]") == "[red]é ✓ [/]"


def test_terminal_text_is_literal_and_escaped():
    text = terminal_text("[red]x\x1b[2J[/]", style="bold")
    assert text.plain == "[red]x\\x1b[2J[/]" and str(text.style) == "bold"


def test_benchmarks_output_re_exports_the_same_helpers():
    """One definition: benchmarks.output's names are harness.text's objects."""
    from benchmarks import output
    from harness import text

    for name in text.__all__:
        assert getattr(output, name) is getattr(text, name), name
        assert name in output.__all__, name
