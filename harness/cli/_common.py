"""What every harness subcommand shares: building its config, running it, exit codes.

Exit codes: 0 done; 1 the stage could not run (no sandbox, unreadable input); 2 a bad
option or config; 3 done, but some items are left for a rerun (a sandbox error or a
generation failure: rerunning the same command retries exactly those).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["EPILOG", "add_stage_parser", "finish", "run_stage"]

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
    print(f"acecoder {name}: {shown}", file=sys.stderr)
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

    try:
        config = config_from_args(config_cls, args)
    except (ValueError, TypeError) as exc:
        print(f"acecoder {name}: error: {exc}", file=sys.stderr)
        return 2
    try:
        summary = fn(config)
    except (SandboxUnavailableError, OSError, LookupError) as exc:
        print(f"acecoder {name}: error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, TypeError) as exc:
        print(f"acecoder {name}: error: {exc}", file=sys.stderr)
        return 2
    return finish(name, summary, args)
