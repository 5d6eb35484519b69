"""``acecoder pairs``: build (chosen, rejected) preference pairs from scored completions."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["SUMMARY", "add_parser", "run"]

SUMMARY = "build (chosen, rejected) preference pairs from scored completions"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``pairs`` and its options (generated from :class:`harness.config.PairsConfig`)."""
    from ..config import PairsConfig
    from ._common import add_stage_parser

    return add_stage_parser(
        subparsers,
        "pairs",
        SUMMARY,
        PairsConfig,
        "(chosen, rejected) pairs with chosen pass rate >= --min-chosen, gap >= --min-gap and rejected > --rejected-above, de-duplicated by program text -> the AceCodePair schema or TRL's preference format.",
    )


def run(args: argparse.Namespace) -> int:
    from ..config import PairsConfig
    from ..pairs import pairs
    from ._common import run_stage

    return run_stage("pairs", args, PairsConfig, pairs)
