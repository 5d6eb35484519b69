"""``acecoder``: one command, one module per subcommand.

A subcommand is a module with ``add_parser(subparsers)``, ``run(args) -> int`` and a
one-line ``SUMMARY``. acesandbox's own are listed in :data:`SUBCOMMANDS`; other packages
(harness, benchmarks, rm_rl, or a user's) register theirs as entry points in the group
``acecoder.commands`` (``name = "package.module"``), so acesandbox never imports them
unless that command is run. Only the chosen subcommand's module is imported (with no
command, plugins are imported for their summary: keep their top level light).
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


def _plugins() -> list[Subcommand]:
    """Subcommands other packages registered under the ``acecoder.commands`` entry points."""
    from importlib.metadata import entry_points

    own = {s.name for s in SUBCOMMANDS}
    out = []
    for ep in sorted(entry_points(group="acecoder.commands"), key=lambda e: e.name):
        if ep.name not in own:
            out.append(Subcommand(ep.name, ep.value, ""))
    return out


def _summary(sub: Subcommand) -> str:
    if sub.summary:
        return sub.summary
    try:
        return str(getattr(importlib.import_module(sub.module), "SUMMARY", ""))
    except ImportError as exc:
        return f"(unavailable: {exc})"


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
    for sub in SUBCOMMANDS + _plugins():
        if sub.name == chosen:
            module = importlib.import_module(sub.module)
            sub_parser = module.add_parser(subparsers)
            sub_parser.set_defaults(_run=module.run)
        else:
            summary = _summary(sub) if chosen is None else sub.summary
            subparsers.add_parser(sub.name, help=summary, description=summary)
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
