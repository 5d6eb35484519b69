"""The harness subcommands of ``acecoder``, one module each.

Each module exposes ``SUMMARY``, ``add_parser(subparsers)`` and ``run(args) -> int`` and
is registered as an ``acecoder.commands`` entry point. :func:`main` runs them without
the registration (``python -m harness.cli synth ...``), for tests and development.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["COMMANDS", "main"]

COMMANDS: dict[str, str] = {
    "synth": "harness.cli.synth",
    "filter": "harness.cli.filter",
    "sample": "harness.cli.sample",
    "pairs": "harness.cli.pairs",
    "hard": "harness.cli.hard",
    "stats": "harness.cli.stats",
    "pipeline": "harness.cli.pipeline",
}


def main(argv: Sequence[str] | None = None) -> int:
    """``acecoder``-style dispatch over the harness subcommands only; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="acecoder", description="AceCoder data pipeline commands.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS.values():
        module = importlib.import_module(module_name)
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    args = parser.parse_args(args_list)
    run = getattr(args, "_run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(run(args))
    except KeyboardInterrupt:
        print(f"acecoder {args.command}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
