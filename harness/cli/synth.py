"""``acecoder synth``: write LeetCode-style questions with ~20 assert tests from seed code with an LLM."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["SUMMARY", "add_parser", "run"]

SUMMARY = "write LeetCode-style questions with ~20 assert tests from seed code with an LLM"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``synth`` and its options (generated from :class:`harness.config.SynthConfig`)."""
    from ..config import SynthConfig
    from ._common import add_stage_parser

    return add_stage_parser(
        subparsers,
        "synth",
        SUMMARY,
        SynthConfig,
        "Seed code (a file or a hub dataset with a code column) -> {id, source, question, tests}: an LLM writes one self-contained function, its question and about 20 asserts, answered as JSON; answers are parsed leniently, tests validated and de-duplicated.",
    )


def run(args: argparse.Namespace) -> int:
    from ..config import SynthConfig
    from ..synth import synthesize
    from ._common import run_stage

    return run_stage("synth", args, SynthConfig, synthesize)
