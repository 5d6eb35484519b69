"""Stage 5, the RL subset: questions that are hard for the policy but still learnable.

AceCoder's RL data keeps the questions whose mean pass rate is at or below the median
(hard), and of those the ones whose pass-rate spread is at or above the median of that
remainder (the samples disagree, so a reward separates them). The output keeps the
AceCode-87K schema, in input order.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from typing import Any

from .config import HardConfig
from .io import read_rows, write_records
from .pairs import Rejects, bad_pass_rate

__all__ = ["hard_subset", "question_stats", "select_hard"]


def question_stats(record: dict[str, Any], spread: str = "std") -> tuple[float, float]:
    """``(mean, spread)`` of a record's inference pass rates."""
    rates = [float(i["pass_rate"]) for i in record["inferences"]]
    mean = statistics.fmean(rates)
    width = statistics.pstdev(rates) if spread == "std" else max(rates) - min(rates)
    return mean, width


def select_hard(records: list[dict[str, Any]], spread: str = "std") -> list[dict[str, Any]]:
    """Keep mean <= median(mean), then spread >= median(spread) of those kept."""
    if not records:
        return []
    stats = [question_stats(r, spread) for r in records]
    mean_cut = statistics.median(m for m, _ in stats)
    first = [(r, s) for r, (m, s) in zip(records, stats) if m <= mean_cut]
    spread_cut = statistics.median(s for _, s in first)
    return [r for r, s in first if s >= spread_cut]


def hard_subset(config: HardConfig) -> dict[str, Any]:
    """Write the hard subset of ``config.input`` to ``config.output``; returns the summary."""
    t0 = time.monotonic()
    rejects = Rejects(config.output)
    run: Counter[str] = Counter()
    records = []
    for row in read_rows(config.input, limit=config.limit):
        run["rows"] += 1
        data = row.data
        if data is None:
            rejects.reject(f"row-{row.index + 1}", "bad_row", row.error or "")
            continue
        infs = data.get("inferences")
        if not isinstance(infs, list) or not infs or not all(isinstance(i, dict) and "pass_rate" in i for i in infs):
            rejects.reject(data.get("id", f"row-{row.index + 1}"), "no_inferences", "no inferences with a pass_rate")
            continue
        why = bad_pass_rate(infs)
        if why is not None:
            rejects.reject(data.get("id", f"row-{row.index + 1}"), "bad_pass_rate", f"{row.where}: {why}")
            continue
        records.append(data)
    kept = select_hard(records, config.spread)
    write_records(kept, config.output)
    summary = {
        "stage": "hard",
        "input": config.input,
        "output": config.output,
        "elapsed_s": round(time.monotonic() - t0, 3),
        "questions_in": len(records),
        "questions_out": len(kept),
        "spread": config.spread,
        "rejected_items": dict(rejects.counts),
        "this_run": dict(run),
    }
    rejects.finish(summary)
    return summary
