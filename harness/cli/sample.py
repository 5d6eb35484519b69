"""``acecoder sample``: sample N completions per question from policy models and score their pass rates."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["SUMMARY", "add_parser", "run"]

SUMMARY = "sample N completions per question from policy models and score their pass rates"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``sample`` and its options (generated from :class:`harness.config.SampleConfig`)."""
    from ..config import SampleConfig
    from ._common import add_stage_parser

    return add_stage_parser(
        subparsers,
        "sample",
        SUMMARY,
        SampleConfig,
        "N completions per question from policy models (the question and its first tests in the prompt), code extraction, pass rates from the sandbox -> the AceCode-87K schema.",
    )


def run(args: argparse.Namespace) -> int:
    from ..config import SampleConfig
    from ..sampling import sample
    from ._common import run_stage

    return run_stage("sample", args, SampleConfig, sample)
