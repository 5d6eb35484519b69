"""The harness subcommands of ``acecoder``, one module each.

Each module exposes ``SUMMARY``, ``add_parser(subparsers)`` and ``run(args) -> int`` and
is registered as an ``acecoder.commands`` entry point; :func:`acesandbox.cli.main` is the
one dispatcher (``acecoder synth ...``, or ``acesandbox.cli.main(["synth", ...])``).
"""

from __future__ import annotations

__all__ = ["COMMANDS"]

COMMANDS: dict[str, str] = {
    "synth": "harness.cli.synth",
    "filter": "harness.cli.filter",
    "sample": "harness.cli.sample",
    "pairs": "harness.cli.pairs",
    "hard": "harness.cli.hard",
    "stats": "harness.cli.stats",
    "pipeline": "harness.cli.pipeline",
}
"""Subcommand name -> module, as registered under ``acecoder.commands`` in pyproject.toml."""
