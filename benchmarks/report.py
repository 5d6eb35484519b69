"""Scores for people: a rich table on the terminal and one self-contained HTML report.

The terminal table reads the summary dicts that :func:`benchmarks.output.summary_dict`
writes (``STEM_summary.json``), so saved runs can be tabulated side by side; every string
in it is shown as written, control characters escaped (:func:`benchmarks.output.terminal_text`).

The HTML report is one file with nothing to fetch: tables rendered from pandas, plots
drawn with matplotlib's Agg canvas (no pyplot, no global backend switch) and embedded
as base64 PNGs, and no script. Every string that comes from data (task ids, run names,
warnings, meta) is escaped. Pass several runs keyed by name to compare them: the pass@k
tables are stacked and the heat map shows tasks x runs.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]
    from rich.table import Table

__all__ = ["NO_PLOTS", "print_summary_table", "render_html_report", "summary_table", "write_html_report"]

_STYLE = (
    "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "th{background:#f4f4f4}figure{display:inline-block;margin:1em}pre{background:#f8f8f8;padding:1em}"
    ".warnings li{color:#8a4b00}.note{color:#555}details{margin:1em 0}</style>"
)
NO_PLOTS = "plots left out: matplotlib is not installed (pip install 'acecoder-toolkit[benchmarks]')"
"""The note a report without plots carries (and the CLI prints)."""
_HEAT_LABELS_MAX = 60
"""Heat maps with more tasks than this show no task labels (they would not be readable)."""


# --------------------------------------------------------------------------- terminal


def _k_of(column: str) -> int:
    try:
        return int(column.split("@", 1)[1])
    except (IndexError, ValueError):
        return 1 << 30


def _percent(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * float(value):.1f}"


def summary_table(summaries: Mapping[str, Any] | Sequence[Mapping[str, Any]], *, title: str = "Scores") -> Table:
    """A rich Table of one or more run summaries (the dicts of ``STEM_summary.json``).

    One row per benchmark part: benchmark, part, pass@k (%), samples, tasks, sandbox
    errors and the canary (canonical solutions that passed). The title, headers and cells
    are :func:`~benchmarks.output.terminal_text`: a name with rich markup in it is shown as
    written, and its control characters escaped.
    """
    from rich.table import Table

    from .output import terminal_text as text

    runs = [summaries] if isinstance(summaries, Mapping) else list(summaries)
    columns = sorted({c for s in runs for row in s.get("pass_at_k", {}).values() for c in row}, key=_k_of)
    table = Table(title=text(title, style="table.title"))
    table.add_column("benchmark")
    table.add_column("part")
    for col in columns:
        table.add_column(text(col), justify="right")
    for name in ("samples", "tasks", "sandbox errors", "canary"):
        table.add_column(name, justify="right")
    for s in runs:
        errors = int(s.get("sandbox_errors", 0) or 0)
        canary = s.get("canary")
        if canary is None:
            canary_cell = text("off", style="dim")
        elif canary.get("passed") == canary.get("total"):
            canary_cell = text(f"ok {canary['passed']}/{canary['total']}", style="green")
        else:
            canary_cell = text(f"FAILED {canary.get('passed')}/{canary.get('total')}", style="bold red")
        tail = [
            text(s.get("samples", "-")),
            text(s.get("tasks", "-")),
            text(errors, style="yellow" if errors else ""),
            canary_cell,
        ]
        parts = s.get("pass_at_k", {}) or {"-": {}}
        for i, (part, row) in enumerate(parts.items()):
            first = i == 0
            table.add_row(
                text(s.get("benchmark", "") if first else ""),
                text(part),
                *(text(_percent(row.get(c))) for c in columns),
                *(tail if first else [text("")] * len(tail)),
            )
    table.caption = "pass@k in %; sandbox errors are left out of every denominator"
    return table


def print_summary_table(
    summaries: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    title: str = "Scores",
    file: Any = None,
    width: int = 120,
    show_warnings: bool = True,
) -> None:
    """Print :func:`summary_table` (to ``file``, default stdout), then each summary's warnings."""
    from rich.console import Console

    from .output import terminal_text

    console = Console(file=file, width=width)
    console.print(summary_table(summaries, title=title))
    if show_warnings:
        runs = [summaries] if isinstance(summaries, Mapping) else list(summaries)
        for s in runs:
            for warning in s.get("warnings", ()):
                console.print(terminal_text(f"warning: {warning}", style="yellow"))


# --------------------------------------------------------------------------- HTML


def _runs(frames: pd.DataFrame | Mapping[str, pd.DataFrame], what: str) -> dict[str, pd.DataFrame]:
    """``{run name: frame}``; a single frame is the run ``""``."""
    import pandas as pd

    if isinstance(frames, pd.DataFrame):
        return {"": frames}
    if isinstance(frames, Mapping) and all(isinstance(f, pd.DataFrame) for f in frames.values()):
        return {str(name): f for name, f in frames.items()}
    raise TypeError(f"{what} must be a DataFrame or a mapping of run name to DataFrame, got {type(frames).__name__}")


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _stack_pass_at_k(runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    if list(runs) == [""]:
        return runs[""]
    columns = sorted({c for f in runs.values() for c in f.columns}, key=_k_of)
    return pd.concat({name: f.reindex(columns=columns) for name, f in runs.items()}, names=["run"])


def _row_label(key: Any) -> str:
    return " · ".join(str(k) for k in key) if isinstance(key, tuple) else str(key)


def _literal(text: Any) -> str:
    """``text`` for a matplotlib label, shown as written: a ``$`` pair would be parsed as
    mathtext, and a task id or run name such as ``$\\frac$`` would fail the whole report;
    control characters (no glyph) are shown as their escapes."""
    from .output import terminal_safe

    return terminal_safe(text).replace("$", r"\$")


def _pass_at_k_plot(table: pd.DataFrame) -> str:
    import numpy as np

    columns = list(table.columns)
    labels = [_literal(_row_label(k)) for k in table.index]
    fig = _figure(max(5.0, 1.0 + 0.9 * len(labels) * max(1, len(columns)) / 2), 3.4)
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    width = 0.8 / max(1, len(columns))
    for j, col in enumerate(columns):
        values = 100 * table[col].to_numpy(dtype=float)
        bars = ax.bar(x + (j - (len(columns) - 1) / 2) * width, np.nan_to_num(values), width, label=_literal(col))
        ax.bar_label(bars, labels=["-" if math.isnan(v) else f"{v:.1f}" for v in values], fontsize=7)
    ax.set_xticks(x, labels, rotation=20 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center")
    ax.set_ylabel("pass@k (%)")
    ax.set_ylim(0, 108)
    if columns:
        ax.legend(fontsize=8, ncols=len(columns), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return _png(fig)


def _heat_frame(runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Pass rate per task (rows, first-seen order) and part, or run (· part), in columns."""
    import pandas as pd

    pieces = []
    for name, frame in runs.items():
        missing = [c for c in ("task_id", "part", "pass_rate") if c not in frame.columns]
        if missing:
            who = f"per_task[{name!r}]" if name else "per_task"
            raise ValueError(f"{who} has no column {missing[0]!r} (expected per_task_table's columns)")
    parts = {p for f in runs.values() for p in f["part"].unique()} if runs else set()
    for name, frame in runs.items():
        wide = frame.pivot_table(index="task_id", columns="part", values="pass_rate", aggfunc="mean", sort=False)
        if name:
            wide.columns = [name if len(parts) == 1 else f"{name} · {p}" for p in wide.columns]
        pieces.append(wide)
    order = list(dict.fromkeys(t for f in runs.values() for t in f["task_id"]))
    heat = pd.concat(pieces, axis=1) if pieces else pd.DataFrame()
    return heat.reindex(index=order)


def _heat_map_plot(heat: pd.DataFrame) -> str:
    import matplotlib

    tasks, cols = heat.shape
    fig = _figure(max(4.0, 1.6 + 1.1 * cols), min(10.0, max(2.5, 0.18 * tasks + 1.0)))
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad="#d0d0d0")
    image = ax.imshow(heat.to_numpy(dtype=float), aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(range(cols), [_literal(c) for c in heat.columns], rotation=20 if cols > 3 else 0)
    if tasks <= _HEAT_LABELS_MAX:
        ax.set_yticks(range(tasks), [_literal(t) for t in heat.index], fontsize=7)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{tasks} tasks")
    fig.colorbar(image, ax=ax, label="pass rate (grey: not judged)")
    return _png(fig)


def _best_of_n_plot(table: pd.DataFrame) -> str:
    from .metrics import AVERAGE, GREEDY, ORACLE

    styles = {ORACLE: ("k", "--"), AVERAGE: ("grey", ":"), GREEDY: ("tab:brown", "-.")}
    fig = _figure(6.0, 3.6)
    ax = fig.add_subplot()
    ns = [int(n) for n in table.columns]
    for name, row in table.iterrows():
        color, line = styles.get(str(name), (None, "-"))
        ax.plot(ns, 100 * row.to_numpy(dtype=float), line, color=color, marker="o", markersize=3, label=_literal(name))
    if len(ns) > 1 and ns[0] > 0:
        ax.set_xscale("log", base=2)
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.set_xlabel("N (samples per task)")
    ax.set_ylabel("accuracy (%)")
    ax.legend(fontsize=8)
    return _png(fig)


def _figure_html(title: str, b64: str) -> str:
    t = html.escape(title, quote=True)
    return f"<figure><img alt='{t}' src='data:image/png;base64,{b64}'><figcaption>{t}</figcaption></figure>"


def _table_html(frame: pd.DataFrame, *, percent: bool = False, index: bool = True) -> str:
    shown = frame * 100 if percent else frame
    return str(
        shown.to_html(
            na_rep="–", escape=True, index=index, float_format=lambda x: f"{x:.1f}" if percent else f"{x:.4g}"
        )
    )


def _meta_html(meta: Mapping[str, Any]) -> str:
    rows = []
    for key, value in meta.items():
        if key in ("pass_at_k", "warnings"):
            continue  # shown in their own sections
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
        rows.append(f"<tr><th>{html.escape(str(key))}</th><td style='text-align:left'>{html.escape(text)}</td></tr>")
    return "<table>" + "".join(rows) + "</table>" if rows else ""


def render_html_report(
    *,
    title: str,
    pass_at_k: pd.DataFrame | Mapping[str, pd.DataFrame],
    per_task: pd.DataFrame | Mapping[str, pd.DataFrame],
    best_of_n: pd.DataFrame | None = None,
    warnings: Sequence[str] = (),
    meta: Mapping[str, Any] | None = None,
    plots: bool = True,
) -> str:
    """The report of :func:`write_html_report` as a string (``plots=False``: tables only, with a note)."""
    pass_runs = _runs(pass_at_k, "pass_at_k")
    task_runs = _runs(per_task, "per_task")
    from .metrics import left_out_warnings

    stacked = _stack_pass_at_k(pass_runs)
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        _STYLE,
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if warnings:
        out.append("<h2>Warnings</h2><ul class='warnings'>")
        out.extend(f"<li>{html.escape(str(w))}</li>" for w in warnings)
        out.append("</ul>")

    if not plots:
        out.append(f"<p class='note'>{html.escape(NO_PLOTS)}</p>")
    out.append("<h2>pass@k (%)</h2>")
    out.append(_table_html(stacked, percent=True))
    for name, frame in pass_runs.items():
        for note in left_out_warnings(frame):  # counts kept in the table's attrs
            who = f"{name}: " if name else ""
            out.append(f"<p class='note'>{html.escape(who + note)}</p>")
    if plots and stacked.shape[1] and len(stacked):
        out.append(_figure_html("pass@k", _pass_at_k_plot(stacked)))

    heat = _heat_frame(task_runs)
    out.append("<h2>Per task</h2>")
    if plots and heat.size:
        caption = "pass rate per task and " + ("part" if list(task_runs) == [""] else "run")
        out.append(_figure_html(caption, _heat_map_plot(heat)))
    if list(task_runs) == [""]:
        tasks_table = task_runs[""]
    else:
        import pandas as pd

        tasks_table = pd.concat([f.assign(run=name) for name, f in task_runs.items()], ignore_index=True)
        tasks_table = tasks_table[["run", *[c for c in tasks_table.columns if c != "run"]]]
    out.append(f"<details><summary>{len(heat)} tasks</summary>")
    out.append(_table_html(tasks_table, index=False))
    out.append("</details>")

    if best_of_n is not None:
        out.append("<h2>Best-of-N (%)</h2>")
        out.append(_table_html(best_of_n, percent=True))
        left = {n: c for n, c in best_of_n.attrs.get("left_out", {}).items() if c}
        if left:
            shown = ", ".join(f"N={n}: {c}" for n, c in left.items())
            out.append(f"<p class='note'>Tasks left out for a sandbox error among the first N samples: {html.escape(shown)}.</p>")
        if plots and best_of_n.shape[1] and len(best_of_n):
            out.append(_figure_html("best-of-N accuracy", _best_of_n_plot(best_of_n)))

    if meta:
        out.append("<h2>Run</h2>")
        out.append(_meta_html(meta))
    out.append("</body></html>")
    return "\n".join(out)


def write_html_report(
    path: str,
    *,
    title: str,
    pass_at_k: pd.DataFrame | Mapping[str, pd.DataFrame],
    per_task: pd.DataFrame | Mapping[str, pd.DataFrame],
    best_of_n: pd.DataFrame | None = None,
    warnings: Sequence[str] = (),
    meta: Mapping[str, Any] | None = None,
    plots: bool = True,
) -> str:
    """Write one self-contained HTML report to ``path``; returns ``path``.

    ``pass_at_k`` (from :func:`~benchmarks.metrics.pass_at_k_table`) and ``per_task``
    (from :func:`~benchmarks.metrics.per_task_table`) are DataFrames, or mappings of run
    name to DataFrame to compare several runs (models) in one report. ``best_of_n`` comes
    from :func:`~benchmarks.metrics.best_of_n_table`; ``meta`` is shown as key/value rows.
    ``plots=False`` leaves the plots out (matplotlib not installed) and says so.
    """
    text = render_html_report(
        title=title, pass_at_k=pass_at_k, per_task=per_task, best_of_n=best_of_n, warnings=warnings, meta=meta,
        plots=plots,
    )
    with open(path, "w", encoding="utf-8", errors="backslashreplace") as f:  # a lone surrogate in a task id
        f.write(text)
    return path
