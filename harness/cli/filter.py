"""``acecoder filter``: keep the tests a strong model's solutions pass; drop questions left with too few."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["SUMMARY", "add_parser", "run"]

SUMMARY = "keep the tests a strong model's solutions pass; drop questions left with too few"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``filter`` and its options (generated from :class:`harness.config.FilterConfig`)."""
    from ..config import FilterConfig
    from ._common import add_stage_parser

    return add_stage_parser(
        subparsers,
        "filter",
        SUMMARY,
        FilterConfig,
        "Run one or more strong-model solutions per question against its tests in the sandbox: a test survives if some solution passes it; questions with fewer than --min-tests surviving tests are dropped.",
    )


def run(args: argparse.Namespace) -> int:
    from ..config import FilterConfig
    from ..filtering import filter_tests
    from ._common import run_stage

    return run_stage("filter", args, FilterConfig, filter_tests)
