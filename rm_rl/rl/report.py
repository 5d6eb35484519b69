"""The training report: one self-contained HTML page of curves (matplotlib, PNGs inline)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["CURVES", "write_report"]

CURVES: tuple[tuple[str, str], ...] = (
    ("reward", "reward mean (weighted sum)"),
    ("rule/pass_rate", "pass rate (tests passed / tests)"),
    ("completions/mean_length", "answer length (tokens)"),
    ("kl", "KL to the reference policy"),
    ("rule/unjudged_frac", "share of samples the sandbox could not judge"),
    ("time/reward_frac", "share of step time in reward scoring"),
)
"""(metric key, title) of each curve, in page order."""


def _png(steps: Sequence[float], values: Sequence[float], title: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 3.0), dpi=90)
    ax.plot(steps, values, marker="o", markersize=2.5, linewidth=1.2)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def write_report(
    metrics: Sequence[dict[str, Any]], path: str | Path, *, title: str = "RL training", warnings: Sequence[str] = ()
) -> Path:
    """Write the curves of ``metrics`` (rows of metrics.jsonl) to ``path``; a curve with no
    values says so instead of an empty plot. ``warnings``: the sandbox's, listed first (the
    rewards were judged under them: an unisolated backend, tests forgeable by the policy)."""
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<h1>{html.escape(title)}</h1><p>{len(metrics)} logged steps.</p>"]
    if warnings:
        parts.append("<h2>Sandbox warnings</h2><ul>")
        parts.extend(f"<li>{html.escape(w)}</li>" for w in warnings)
        parts.append("</ul>")
    for key, label in CURVES:
        points = [(r["step"], r[key]) for r in metrics if isinstance(r.get(key), (int, float))]
        parts.append(f"<h2>{html.escape(label)}</h2>")
        if not points:
            parts.append(f"<p>no values of <code>{html.escape(key)}</code> were logged (e.g. KL without a reference).</p>")
            continue
        png = _png([p[0] for p in points], [p[1] for p in points], label)
        parts.append(f"<img alt='{html.escape(key)}' src='data:image/png;base64,{png}'>")
        parts.append(f"<p>first {points[0][1]:.4g}, last {points[-1][1]:.4g}</p>")
    out = Path(path)
    out.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return out
