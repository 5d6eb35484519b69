"""Stage 6, statistics: the paper's Table 1 for any run, as a table and an HTML report.

Table 1 per source (and in total): questions synthesized, questions kept by filtering,
average tests before and after filtering, completions and their mean pass rate, and
preference pairs. The report adds histograms (tests per question before/after,
pass rates, pairs per question) as PNGs embedded in one self-contained HTML file, and
every stage's rejection counts and token usage from its summary file.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

from .checkpoint import stem_of
from .config import StatsConfig
from .io import read_rows
from .text import write_csv

__all__ = ["collect", "run_stats", "table1"]

TOTAL = "total"
_STYLE = (
    "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "th{background:#f4f4f4}figure{display:inline-block;margin:1em}pre{background:#f8f8f8;padding:1em}</style>"
)


def _malformed(record: dict[str, Any]) -> str | None:
    """Why a record's counted fields cannot be counted (a wrong type), or None."""
    for name in ("tests", "inferences"):
        if name in record and not isinstance(record[name], list):
            return f"field {name!r} must be a list, got {type(record[name]).__name__}"
    before = record.get("num_tests_before")
    if before is not None and (isinstance(before, bool) or not isinstance(before, int)):
        return f"field 'num_tests_before' must be an integer, got {type(before).__name__}"
    for i, inf in enumerate(record.get("inferences", ())):
        rate = inf.get("pass_rate", 0.0) if isinstance(inf, dict) else None
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            return f"inferences[{i}] must be an object with a 'pass_rate' in [0, 1]"
    return None


def _records(path: str | None, skipped: list[str] | None = None) -> list[dict[str, Any]]:
    """The records of ``path``; one with a wrong-typed field is left out, and named in ``skipped``
    (``path: line N: why``), so one bad row neither stops the table nor skews it."""
    if not path or not (os.path.exists(path) or os.path.exists(path + ".ckpt.jsonl")):
        return []
    if not os.path.exists(path):
        path = path + ".ckpt.jsonl"
    out = []
    for r in read_rows(path):
        if r.data is None:
            continue
        why = _malformed(r.data)
        if why is not None:
            if skipped is not None:
                skipped.append(f"{r.where or path}: {why}")
            continue
        out.append(r.data)
    return out


def _summary(path: str | None) -> dict[str, Any] | None:
    if not path:
        return None
    p = Path(stem_of(path) + ".summary.json")
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text())
    except ValueError:
        return None


def _paths(config: StatsConfig) -> dict[str, str | None]:
    base = config.run_dir

    def pick(given: str | None, name: str) -> str | None:
        return given or (os.path.join(base, name) if base else None)

    return {
        "synth": pick(config.synth, "synth.jsonl"),
        "filter": pick(config.filtered, "filter.jsonl"),
        "sample": pick(config.sample, "sample.jsonl"),
        "pairs": pick(config.pairs, "pairs.jsonl"),
    }


def collect(config: StatsConfig) -> dict[str, Any]:
    """Every stage's records and summaries for the run."""
    paths = _paths(config)
    skipped: list[str] = []
    return {
        "paths": paths,
        "synth": _records(paths["synth"], skipped),
        "filter": _records(paths["filter"], skipped),
        "sample": _records(paths["sample"], skipped),
        "pairs": _records(paths["pairs"], skipped),
        "summaries": {k: _summary(v) for k, v in paths.items()},
        "skipped": skipped,
    }


def table1(data: dict[str, Any]) -> Any:
    """The run's Table 1 as a pandas DataFrame, one row per source plus ``total``."""
    import pandas as pd  # type: ignore[import-untyped]

    source_of: dict[str, str] = {}
    rows: dict[str, Counter[str]] = {}

    def row(source: str) -> Counter[str]:
        return rows.setdefault(source, Counter())

    for r in data["synth"]:
        src = str(r.get("source", ""))
        source_of[str(r.get("id"))] = src
        row(src)["questions_synth"] += 1
        row(src)["tests_synth"] += len(r.get("tests", ()))
    for r in data["filter"]:
        src = str(r.get("source", source_of.get(str(r.get("id")), "")))
        source_of.setdefault(str(r.get("id")), src)
        c = row(src)
        c["questions"] += 1
        c["tests_before"] += int(r.get("num_tests_before", len(r.get("tests", ()))))
        c["tests_after"] += len(r.get("tests", ()))
    for r in data["sample"]:
        src = str(r.get("source", source_of.get(str(r.get("id")), "")))
        c = row(src)
        c["questions_sampled"] += 1
        for inf in r.get("inferences", ()):
            c["completions"] += 1
            c["pass_rate_sum_x1e6"] += round(float(inf.get("pass_rate", 0.0)) * 1e6)
    for p in data["pairs"]:
        row(source_of.get(str(p.get("id")), ""))["pairs"] += 1

    total: Counter[str] = Counter()
    for c in rows.values():
        total.update(c)
    table = []
    for source, c in sorted(rows.items()) + [(TOTAL, total)]:
        q = c["questions"]
        table.append(
            {
                "source": source,
                "questions_synthesized": c["questions_synth"],
                "questions": q,
                "avg_tests_before": round(c["tests_before"] / q, 2) if q else float("nan"),
                "avg_tests_after": round(c["tests_after"] / q, 2) if q else float("nan"),
                "completions": c["completions"],
                "mean_pass_rate": round(c["pass_rate_sum_x1e6"] / 1e6 / c["completions"], 4)
                if c["completions"]
                else float("nan"),
                "pairs": c["pairs"],
            }
        )
    return pd.DataFrame(table).set_index("source")


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(data: dict[str, Any]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: list[tuple[str, str]] = []
    before = [int(r.get("num_tests_before", len(r.get("tests", ())))) for r in data["filter"]] or [
        len(r.get("tests", ())) for r in data["synth"]
    ]
    after = [len(r.get("tests", ())) for r in data["filter"]]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    top = max(before + after + [1])
    bins = [b - 0.5 for b in range(top + 2)]  # one bar per count, centred on it
    ax.hist(before, bins=bins, alpha=0.6, label="before filtering")
    if after:
        ax.hist(after, bins=bins, alpha=0.6, label="after filtering")
    ax.set_xlabel("tests per question")
    ax.set_ylabel("questions")
    ax.legend()
    out.append(("Tests per question, before and after filtering", _png(fig)))
    plt.close(fig)

    rates = [float(i.get("pass_rate", 0.0)) for r in data["sample"] for i in r.get("inferences", ())]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist(rates, bins=[i / 20 for i in range(21)], color="tab:green")
    ax.set_xlabel("pass rate of a completion")
    ax.set_ylabel("completions")
    out.append(("Pass rates of sampled completions", _png(fig)))
    plt.close(fig)

    means = []
    for r in data["sample"]:
        infs = r.get("inferences", ())
        if infs:
            means.append(sum(float(i.get("pass_rate", 0.0)) for i in infs) / len(infs))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist(means, bins=[i / 20 for i in range(21)], color="tab:purple")
    ax.set_xlabel("mean pass rate of a question")
    ax.set_ylabel("questions")
    out.append(("Mean pass rate per question", _png(fig)))
    plt.close(fig)

    per_q = Counter(str(p.get("id")) for p in data["pairs"])
    counts = [per_q.get(str(r.get("id")), 0) for r in data["sample"]] or list(per_q.values())
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist(counts, bins=[b - 0.5 for b in range(max([*counts, 1]) + 2)], color="tab:orange")
    ax.set_xlabel("preference pairs of a question")
    ax.set_ylabel("questions")
    out.append(("Pairs per question", _png(fig)))
    plt.close(fig)
    return out


def _html(config: StatsConfig, table: Any, plots: list[tuple[str, str]], data: dict[str, Any]) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(config.title)}</title>",
        _STYLE,
        "</head><body>",
        f"<h1>{html.escape(config.title)}</h1>",
        "<h2>Table 1</h2>",
        table.to_html(na_rep="–", float_format=lambda x: f"{x:.4g}"),
        "<h2>Plots</h2>",
    ]
    for title, b64 in plots:
        parts.append(
            f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{b64}'>"
            f"<figcaption>{html.escape(title)}</figcaption></figure>"
        )
    if data.get("skipped"):
        parts.append(f"<h2>Records left out ({len(data['skipped'])})</h2><ul>")
        parts.extend(f"<li>{html.escape(why)}</li>" for why in data["skipped"][:100])
        parts.append("</ul>")
    parts.append("<h2>Stages</h2>")
    for stage, summary in data["summaries"].items():
        if not summary:
            continue
        shown = {
            k: summary[k]
            for k in ("rejected_items", "rejected_tests", "invalid_tests", "usage", "elapsed_s")
            if k in summary
        }
        parts.append(
            f"<h3>{html.escape(stage)}</h3><pre>{html.escape(json.dumps(shown, indent=2, sort_keys=True))}</pre>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def run_stats(config: StatsConfig) -> dict[str, Any]:
    """Write ``stats.csv``, ``stats.md``, ``stats.json`` and ``report.html``; returns the summary."""
    data = collect(config)
    table = table1(data)
    out_dir = Path(config.output_dir or config.run_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(table, str(out_dir / "stats.csv"))  # source names are data: no cell opens as a formula
    (out_dir / "stats.md").write_text(_markdown(table))
    plots = _plots(data)
    (out_dir / "report.html").write_text(_html(config, table, plots, data), encoding="utf-8")
    summary = {
        "stage": "stats",
        "table": json.loads(table.reset_index().to_json(orient="records")),
        "files": {name: str(out_dir / name) for name in ("stats.csv", "stats.md", "report.html")},
        "plots": len(plots),
        "skipped": data["skipped"],
    }
    (out_dir / "stats.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _md(value: Any) -> str:
    """A Markdown table cell from data (a source name): one line, no ``|``, no control
    characters (``acecoder stats`` prints the table to a terminal)."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    return text.replace("|", "\\|")


def _markdown(table: Any) -> str:
    """Table 1 as a Markdown table (no ``tabulate`` needed)."""
    frame = table.reset_index()
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for _, r in frame.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            cells.append(
                "–" if isinstance(v, float) and math.isnan(v) else (f"{v:.4g}" if isinstance(v, float) else _md(v))
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
