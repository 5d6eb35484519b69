"""``acecoder stats``: the paper's Table 1 for a run, as CSV/Markdown and an HTML report with plots."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["SUMMARY", "add_parser", "run"]

SUMMARY = "Table 1 of a run (questions, tests before/after filtering, pairs per source) and an HTML report"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``stats`` and its options (generated from :class:`harness.config.StatsConfig`)."""
    from ..config import StatsConfig, add_config_arguments

    p: argparse.ArgumentParser = subparsers.add_parser(
        "stats",
        help=SUMMARY,
        description="Write stats.csv, stats.md, stats.json and report.html (plots embedded) for a pipeline run.",
    )
    add_config_arguments(p, StatsConfig)
    return p


def run(args: argparse.Namespace) -> int:
    from ..config import StatsConfig, config_from_args
    from ..stats import run_stats
    from ..text import terminal_safe

    try:
        config = config_from_args(StatsConfig, args)
    except (ValueError, TypeError) as exc:
        print(f"acecoder stats: error: {terminal_safe(exc)}", file=sys.stderr)
        return 2
    summary = run_stats(config)
    from pathlib import Path

    print(Path(summary["files"]["stats.md"]).read_text(), end="")
    print(f"acecoder stats: report written to {terminal_safe(summary['files']['report.html'])}", file=sys.stderr)
    return 0
