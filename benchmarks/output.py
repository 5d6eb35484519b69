"""What a scoring run leaves behind: official result files, our per-test details, a summary and report.

Files in the output folder (``STEM`` = the benchmark label):

- the official result files of the benchmark (EvalPlus / BigCodeBench / LiveCodeBench shapes);
- ``STEM_details.jsonl``: one line per sample with every part's per-test statuses, timings and messages;
- ``STEM_summary.json``: pass@k per part, counts, the canary and every warning;
- ``STEM_report.html``: tables and plots (pass@k, per-task heat map); without matplotlib,
  the tables only, with a note (printed too): the results are never lost to a missing plot;
- ``samples.jsonl`` when the samples were generated here;
- ``STEM_best_of_n.csv`` with ``--scores``: the best-of-N table, for people (spreadsheets).

Task ids, run and model names and messages come from datasets, models and the programs they
wrote: hostile text. Every such string goes to the terminal through :func:`terminal_safe` or
:func:`terminal_text` (control characters escaped, rich markup never parsed) and into a CSV
through :func:`write_csv` (a text cell a spreadsheet would take as a formula starts with ``'``);
these live in :mod:`harness.text` (harness writes CSVs and prints data too) and are re-exported
here. The JSON files escape them themselves and the HTML report escapes them (:mod:`benchmarks.report`).
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from harness.text import CSV_FORMULA_START, csv_cell, terminal_safe, terminal_text, write_csv

from .base import Benchmark, SampleResult
from .extras import PLOTS, missing
from .runner import Evaluation
from .verify import RunAgreement

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

__all__ = [
    "CSV_FORMULA_START",
    "best_of_n",
    "csv_cell",
    "detail_record",
    "greedy_verdicts",
    "print_best_of_n",
    "print_summary",
    "print_verification",
    "summary_dict",
    "terminal_safe",
    "terminal_text",
    "write_csv",
    "write_outputs",
]


DETAIL_TEXT_CHARS = 2000
"""Most characters of a test's stdout, stderr or message kept in ``STEM_details.jsonl``: the
sandbox lets each test write 64 KiB of each, and a program that always does would make the
file ~130 KB per test (gigabytes for a run)."""


def _trimmed(key: str, value: Any) -> Any:
    if key in ("stdout", "stderr", "message") and isinstance(value, str) and len(value) > DETAIL_TEXT_CHARS:
        return value[:DETAIL_TEXT_CHARS] + f"... [{len(value) - DETAIL_TEXT_CHARS} more characters]"
    return value


def detail_record(result: SampleResult) -> dict[str, Any]:
    """Our rich per-sample record: verdicts plus every part's per-test outcomes (long
    outputs cut at :data:`DETAIL_TEXT_CHARS`)."""
    parts = {}
    for part, report in result.reports.items():
        parts[part] = {
            "duration_s": round(report.duration_s, 4),
            "isolation": report.isolation,
            "tests": [
                {
                    k: _trimmed(k, v)
                    for k, v in o.to_dict().items()
                    if not (v is None or v is False or v == "") or k == "status"
                }
                for o in report.outcomes
            ],
        }
    return {
        "task_id": result.task_id,
        "index": result.index,
        "verdicts": dict(result.verdicts),
        "fail_tests": {k: v for k, v in result.fail_tests.items() if v},
        **({"timing": result.details["timing"]} if result.details.get("timing") else {}),
        "parts": parts,
        "solution": result.solution,
    }


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def summary_dict(evaluation: Evaluation, ks: Sequence[int]) -> dict[str, Any]:
    """pass@k per part, counts, the canary and the warnings, as plain JSON data."""
    table = evaluation.pass_at_k(ks)
    pass_at_k = {
        str(part): {str(col): _clean(float(table.loc[part, col])) for col in table.columns}
        for part in table.index
    }
    tasks = len({r.task_id for r in evaluation.results})
    canary = evaluation.canary
    timing = _timing_counts(evaluation.results)
    return {
        "benchmark": evaluation.benchmark,
        "pass_at_k": pass_at_k,
        "samples": len(evaluation.results),
        "tasks": tasks,
        "sandbox_errors": evaluation.sandbox_errors,
        "canary": None if canary is None else {"total": canary.total, "passed": canary.passed,
                                               "failures": [list(f) for f in canary.failures]},
        "warnings": list(evaluation.warnings),
        **({"time_limits": timing} if timing else {}),
        "duration_s": round(evaluation.duration_s, 3),
        **{k: v for k, v in evaluation.meta.items() if isinstance(v, (str, int, float))},
    }


def _timing_counts(results: Sequence[SampleResult]) -> dict[str, Any]:
    """Samples whose verdict came near a time limit (a benchmark's ``details["timing"]``, per part)."""
    near: list[str] = []
    stopped: list[str] = []
    timed = 0
    for r in results:
        parts = r.details.get("timing") or {}
        if not parts:
            continue
        timed += 1
        label = f"{r.task_id}#{r.index}"
        if any(t.get("within_noise") for t in parts.values()):
            near.append(label)
        if any(t.get("timed_out") for t in parts.values()):
            stopped.append(label)
    if not timed:
        return {}
    return {"within_noise": len(near), "within_noise_samples": near[:50], "stopped_at_limit": len(stopped),
            "stopped_at_limit_samples": stopped[:50]}


def print_summary(evaluation: Evaluation, *, ks: Sequence[int], as_json: bool = False, file: Any = None) -> None:
    """The scores as a table on the terminal (or JSON), warnings to stderr."""
    summary = summary_dict(evaluation, ks)
    out = file or sys.stdout
    if as_json:
        print(json.dumps(summary, indent=2), file=out)
    else:
        from .report import print_summary_table

        print_summary_table(summary, title=f"{evaluation.benchmark} ({evaluation.duration_s:.1f} s)", file=out,
                            show_warnings=False)
    for warning in evaluation.warnings:
        print(f"warning: {terminal_safe(warning)}", file=sys.stderr)
    near = summary.get("time_limits", {}).get("within_noise", 0)
    if near:
        print(f"note: {near} sample(s) used at least 2/3 of a call's time limit: their verdicts are within timing "
              "noise (details: 'timing' in the *_details.jsonl)", file=sys.stderr)


def print_verification(
    runs: Sequence[RunAgreement], totals: dict[str, Any], *, as_json: bool = False, file: Any = None
) -> None:
    """Agreement per official run and overall, then every disagreement with its explanation."""
    if as_json:
        from dataclasses import asdict

        print(json.dumps({"totals": totals, "runs": [dict(asdict(r), rate=r.rate) for r in runs]}, indent=2), file=file)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file, width=160)
    table = Table(title="Agreement with the official evaluators")
    for col in ("benchmark", "run", "compared", "agreed", "agreement", "excluded", "explained", "unexplained"):
        table.add_column(col, justify="left" if col in ("benchmark", "run") else "right")
    for r in runs:
        table.add_row(*map(terminal_text, (
            r.benchmark, r.run, r.compared, r.agreed, f"{100 * r.rate:.2f}%", r.excluded,
            len(r.disagreements) - len(r.unexplained), len(r.unexplained))))
    table.add_row(*map(terminal_text, (
        "all", f"{totals['runs']} runs", totals["compared"], totals["agreed"], f"{100 * totals['rate']:.2f}%",
        totals["excluded"], totals["explained"], totals["unexplained"])), style="bold")
    console.print(table)
    for r in runs:
        for d in r.disagreements:
            why = d.explanation or "UNEXPLAINED"
            line = f"  {r.benchmark} {r.run} {d.task_id}: official {d.official}, ours {d.ours} -- {why}"
            console.print(terminal_text(line))
        for note in r.notes:
            console.print(terminal_text(f"  note: {r.benchmark} {r.run}: {note}"))


def print_best_of_n(table: pd.DataFrame, part: str, *, file: Any = None) -> None:
    """The best-of-N table (in %) as plain text, scorer names with their controls escaped."""
    shown = (100 * table).round(1)
    shown.index = shown.index.map(terminal_safe)
    shown.columns = shown.columns.map(terminal_safe)
    out = file or sys.stdout
    print(f"\nbest-of-N ({terminal_safe(part)}, % of tasks):", file=out)
    print(shown.to_string(), file=out)


def best_of_n(
    evaluation: Evaluation,
    scores: Mapping[str, str],
    part: str | None = None,
    greedy: Mapping[str, bool | None] | None = None,
) -> Any:
    """The AceCoder best-of-N table for these results, one row per score file (``name -> JSONL path``).

    Correctness is the headline part (the last one: ``plus`` for HumanEval+); score files
    hold ``{"task_id", "index", "score"}`` lines, e.g. a reward model's scores. ``greedy``
    (task -> the greedy sample's verdict, see :func:`greedy_verdicts`) adds the Greedy row.
    """
    from .metrics import best_of_n_table, read_scores_jsonl, sample_correctness

    correct = sample_correctness(list(evaluation.results), part or evaluation.parts[-1])
    per_scorer = {name: read_scores_jsonl(path) for name, path in scores.items()}
    return best_of_n_table(correct, per_scorer, greedy=greedy)


def greedy_verdicts(evaluation: Evaluation, part: str | None = None) -> dict[str, bool | None]:
    """task -> the verdict of its one greedy sample (None: the sandbox could not judge it)."""
    from .metrics import sample_correctness

    correct = sample_correctness(list(evaluation.results), part or evaluation.parts[-1])
    many = sorted(t for t, verdicts in correct.items() if len(verdicts) != 1)
    if many:
        raise ValueError(f"--greedy holds one sample per task; task {many[0]!r} has several")
    return {t: verdicts[0] for t, verdicts in correct.items()}


_JSON_DEL_C1 = {c: f"\\u{c:04x}" for c in range(0x7F, 0xA0)}
"""DEL and C1 controls, which ``json.dumps(ensure_ascii=False)`` writes raw, as JSON escapes."""


def _write_jsonl(path: str, records: Iterable[dict[str, Any]]) -> None:
    # backslashreplace: a lone surrogate in a sample (a valid JSON escape) is written as its \uXXXX
    # escape, which reads back the same, instead of failing the run after scoring. No raw control
    # character reaches the file (json escapes C0; DEL and C1 here: they only occur inside strings),
    # so `cat` or `less -R` on it cannot drive the terminal; the records read back the same.
    with open(path, "w", encoding="utf-8", errors="backslashreplace") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False).translate(_JSON_DEL_C1) + "\n")


def write_outputs(
    bench: Benchmark,
    evaluation: Evaluation,
    out_dir: str,
    *,
    ks: Sequence[int],
    samples: Sequence[dict[str, Any]] | None = None,
    best_of_n_table: Any = None,
) -> list[str]:
    """Write every output file of a scoring run; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    stem = evaluation.benchmark.replace("+", "plus").replace("/", "_")
    paths = list(bench.write_official(list(evaluation.results), out_dir, stem))
    details = os.path.join(out_dir, f"{stem}_details.jsonl")
    _write_jsonl(details, (detail_record(r) for r in evaluation.results))
    paths.append(details)
    summary_path = os.path.join(out_dir, f"{stem}_summary.json")
    with open(summary_path, "w") as f:
        json.dump(summary_dict(evaluation, ks), f, indent=2)
    paths.append(summary_path)
    if samples:
        sample_path = os.path.join(out_dir, "samples.jsonl")
        _write_jsonl(sample_path, samples)
        paths.append(sample_path)
    if best_of_n_table is not None:
        bon = os.path.join(out_dir, f"{stem}_best_of_n.csv")
        write_csv(best_of_n_table, bon)
        paths.append(bon)
    html = os.path.join(out_dir, f"{stem}_report.html")
    plots = not missing(PLOTS)
    if not plots:
        from .report import NO_PLOTS

        print(f"note: {stem}_report.html: {NO_PLOTS}", file=sys.stderr)
    _html(evaluation, html, ks, best_of_n_table, plots=plots)
    paths.append(html)
    return paths


def _html(evaluation: Evaluation, path: str, ks: Sequence[int], best_of_n: Any = None, *, plots: bool = True) -> None:
    from .metrics import per_task_table
    from .report import write_html_report

    write_html_report(
        path,
        title=f"{evaluation.benchmark}",
        pass_at_k=evaluation.pass_at_k(ks),
        per_task=per_task_table(list(evaluation.results)),
        best_of_n=best_of_n,
        warnings=list(evaluation.warnings),
        meta=summary_dict(evaluation, ks),
        plots=plots,
    )
