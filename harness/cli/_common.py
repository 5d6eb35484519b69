"""What every harness subcommand shares: building its config, running it, exit codes.

The five stage commands (synth, filter, sample, pairs, hard) are rows of
:data:`STAGE_COMMANDS`; each ``harness.cli.<name>`` module only exposes its row, so the
``acecoder.commands`` entry points keep naming a module.

Exit codes: 0 done; 1 the stage could not run (no sandbox, unreadable input); 2 a bad
option or config; 3 done, but some items are left for a rerun (a sandbox error or a
generation failure: rerunning the same command retries exactly those).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..text import terminal_safe

__all__ = ["EPILOG", "STAGE_COMMANDS", "StageCommand", "add_stage_parser", "finish", "run_stage"]

EPILOG = """\
Resumable: the output is written item by item; rerunning the same command skips what is
done (use --fresh to start over). Rejected items go to <output stem>.rejects.jsonl with
their reason; a summary (counts, reasons, token usage) to <output stem>.summary.json.

exit codes: 0 done; 1 could not run; 2 bad options; 3 done, some items left for a rerun
"""


def add_stage_parser(
    subparsers: Any, name: str, summary: str, config_cls: type, description: str
) -> argparse.ArgumentParser:
    from ..config import add_config_arguments

    p: argparse.ArgumentParser = subparsers.add_parser(
        name, help=summary, description=description, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_config_arguments(p, config_cls)
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    return p


def finish(name: str, summary: dict[str, Any], args: argparse.Namespace) -> int:
    """Print the summary; 3 when items were left for a rerun, else 0."""
    if getattr(args, "json", False):
        print(json.dumps(summary, indent=2, sort_keys=True, default=str))
    keys = (
        "questions",
        "questions_before",
        "questions_after",
        "avg_tests_before",
        "avg_tests_after",
        "completions",
        "mean_pass_rate",
        "pairs",
        "questions_in",
        "questions_out",
        "rejected_items",
        "rejected_tests",
    )
    shown = ", ".join(f"{k}={summary[k]}" for k in keys if k in summary)
    print(f"acecoder {name}: {terminal_safe(shown)}", file=sys.stderr)
    rejects = summary.get("rejected_items") or {}
    pending = sum(v for k, v in rejects.items() if k in ("sandbox_error", "generation_failed"))
    if pending:
        print(
            f"acecoder {name}: {pending} items left unscored or unanswered; rerun the same command to retry them",
            file=sys.stderr,
        )
        return 3
    return 0


def run_stage(name: str, args: argparse.Namespace, config_cls: type, fn: Callable[[Any], dict[str, Any]]) -> int:
    """Build the config from ``args``, run ``fn`` and report (see the module docstring for exit codes)."""
    from acesandbox import SandboxUnavailableError

    from ..config import config_from_args
    from ..errors import DataError

    try:
        config = config_from_args(config_cls, args)
    except (ValueError, TypeError) as exc:
        print(f"acecoder {name}: error: {terminal_safe(exc)}", file=sys.stderr)
        return 2
    try:
        summary = fn(config)
    except (SandboxUnavailableError, DataError, OSError, LookupError) as exc:
        print(f"acecoder {name}: error: {terminal_safe(exc)}", file=sys.stderr)
        return 1
    except (ValueError, TypeError) as exc:
        print(f"acecoder {name}: error: {terminal_safe(exc)}", file=sys.stderr)
        return 2
    return finish(name, summary, args)


@dataclass(frozen=True)
class StageCommand:
    """One stage subcommand: its config class and stage function (``"module:name"``, imported on use)."""

    name: str
    config: str
    function: str
    summary: str
    description: str

    def _config_cls(self) -> type:
        from .. import config

        cls: type = getattr(config, self.config)
        return cls

    def add_parser(self, subparsers: Any) -> argparse.ArgumentParser:
        """Register the subcommand; its options are generated from the config's fields."""
        return add_stage_parser(subparsers, self.name, self.summary, self._config_cls(), self.description)

    def run(self, args: argparse.Namespace) -> int:
        module, _, attr = self.function.partition(":")
        fn = getattr(importlib.import_module(module), attr)
        return run_stage(self.name, args, self._config_cls(), fn)

    def parts(self) -> tuple[str, Callable[[Any], argparse.ArgumentParser], Callable[[argparse.Namespace], int]]:
        """``(SUMMARY, add_parser, run)``: what a subcommand module exposes."""
        return self.summary, self.add_parser, self.run


STAGE_COMMANDS: dict[str, StageCommand] = {
    "synth": StageCommand(
        "synth",
        "SynthConfig",
        "harness.synth:synthesize",
        "write LeetCode-style questions with ~20 assert tests from seed code with an LLM",
        "Seed code (a file or a hub dataset with a code column) -> {id, source, question, tests}: an LLM writes one self-contained function, its question and about 20 asserts, answered as JSON; answers are parsed leniently, tests validated and de-duplicated.",
    ),
    "filter": StageCommand(
        "filter",
        "FilterConfig",
        "harness.filtering:filter_tests",
        "keep the tests a strong model's solutions pass; drop questions left with too few",
        "Run one or more strong-model solutions per question against its tests in the sandbox: a test survives if some solution passes it; questions with fewer than --min-tests surviving tests are dropped.",
    ),
    "sample": StageCommand(
        "sample",
        "SampleConfig",
        "harness.sampling:sample",
        "sample N completions per question from policy models and score their pass rates",
        "N completions per question from policy models (the question and its first tests in the prompt), code extraction, pass rates from the sandbox -> the AceCode-87K schema.",
    ),
    "pairs": StageCommand(
        "pairs",
        "PairsConfig",
        "harness.pairs:build_pairs",
        "build (chosen, rejected) preference pairs from scored completions",
        "(chosen, rejected) pairs with chosen pass rate >= --min-chosen, gap >= --min-gap and rejected > --rejected-above, de-duplicated by program text -> the AceCodePair schema or TRL's preference format.",
    ),
    "hard": StageCommand(
        "hard",
        "HardConfig",
        "harness.hard:hard_subset",
        "select the RL subset: questions at or below the median mean pass rate, then at or above the median spread",
        "Keep the questions whose mean pass rate is at or below the median, then of those the ones whose pass-rate spread is at or above the median (AceCoder's RL data).",
    ),
}
