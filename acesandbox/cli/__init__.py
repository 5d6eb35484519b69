"""``acecoder``: one command, one module per subcommand.

A subcommand is a module (in any package) with ``add_parser(subparsers)`` and
``run(args) -> int``, listed once in :data:`SUBCOMMANDS`. Only the module of the
subcommand being run is imported (the others appear in ``acecoder --help`` by their
summary alone), so ``acecoder --help`` stays fast however heavy a subcommand is.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NamedTuple, Sequence

__all__ = ["SUBCOMMANDS", "Subcommand", "build_parser", "main"]


class Subcommand(NamedTuple):
    """A subcommand: its name, the module that implements it and a one-line summary."""

    name: str
    module: str
    summary: str


SUBCOMMANDS: list[Subcommand] = [
    Subcommand("run", "acesandbox.cli.run", "run a JSONL batch of jobs in sandboxes and write one report per line"),
    Subcommand("doctor", "acesandbox.cli.doctor", "explain what isolation this host supports and run a smoke job"),
]


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (the first argument not an option)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The ``acecoder`` parser; only the subcommand named in ``argv`` is imported."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="acecoder",
        description="Verifiable code RL toolkit. Run `acecoder COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    chosen = _chosen(argv)
    for sub in SUBCOMMANDS:
        if sub.name == chosen:
            module = importlib.import_module(sub.module)
            sub_parser = module.add_parser(subparsers)
            sub_parser.set_defaults(_run=module.run)
        else:
            subparsers.add_parser(sub.name, help=sub.summary, description=sub.summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``acecoder`` console script; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    run = getattr(args, "_run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(run(args))
    except KeyboardInterrupt:
        print(f"acecoder {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`acecoder run ... | head`): not an error of ours.
        _silence_stdout()
        return 141


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
