"""``acecoder hard``: select the RL subset: questions at or below the median mean pass rate, then at or above the median spread."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["SUMMARY", "add_parser", "run"]

SUMMARY = "select the RL subset: questions at or below the median mean pass rate, then at or above the median spread"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``hard`` and its options (generated from :class:`harness.config.HardConfig`)."""
    from ..config import HardConfig
    from ._common import add_stage_parser

    return add_stage_parser(
        subparsers,
        "hard",
        SUMMARY,
        HardConfig,
        "Keep the questions whose mean pass rate is at or below the median, then of those the ones whose pass-rate spread is at or above the median (AceCoder's RL data).",
    )


def run(args: argparse.Namespace) -> int:
    from ..config import HardConfig
    from ..hard import hard_subset
    from ._common import run_stage

    return run_stage("hard", args, HardConfig, hard_subset)
