"""``acecoder pipeline``: run synth -> filter -> sample -> pairs -> hard -> stats from one config file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["SUMMARY", "add_parser", "run"]

SUMMARY = "run the whole data pipeline (synth, filter, sample, pairs, hard, stats) from a TOML/JSON config"

_EPILOG = """\
The config is TOML (or JSON): top-level output_dir, seeds, [generators.NAME] tables,
[execution], and one table per stage with that stage's options (see docs/harness.md).
--demo runs the bundled config: the bundled seed set with recorded answers, offline.
Every stage resumes: rerun the same command after an interruption to continue.

exit codes: 0 done; 1 could not run; 2 bad config; 3 done, some items left for a rerun
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``pipeline`` and its options."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "pipeline",
        help=SUMMARY,
        description=SUMMARY,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("config", nargs="?", metavar="CONFIG", help="pipeline config (.toml or .json)")
    src.add_argument("--demo", action="store_true", help="run the bundled demo config (harness/data/pipeline.toml)")
    p.add_argument("-o", "--output-dir", default=None, help="override the config's output_dir")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one config value, parsed as JSON when it parses (e.g. sample.num_samples=4); repeatable",
    )
    p.add_argument("--stages", default=None, help="comma-separated stages to run (default: the config's, else all)")
    p.add_argument("--fresh", action="store_true", help="discard earlier outputs instead of resuming")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return p


def run(args: argparse.Namespace) -> int:
    import json

    from acesandbox import SandboxUnavailableError

    from ..pipeline import load_config, run_pipeline
    from ..text import terminal_safe
    from ._common import finish

    overrides = list(args.set)
    if args.output_dir:
        overrides.append(f"output_dir={json.dumps(args.output_dir)}")
    if args.stages:
        overrides.append(f"stages={json.dumps([s.strip() for s in args.stages.split(',') if s.strip()])}")
    if args.fresh:
        overrides.append("fresh=true")
    if args.no_progress:
        overrides.append("progress=false")
    path = args.config
    if args.demo:
        from ..data import bundled_path

        path = str(bundled_path("pipeline.toml"))
    try:
        config = load_config(path, overrides)
    except (OSError, ValueError, TypeError) as exc:
        print(f"acecoder pipeline: error: {terminal_safe(exc)}", file=sys.stderr)
        return 2
    try:
        result = run_pipeline(config, log=lambda m: print(terminal_safe(m), file=sys.stderr))
    except (SandboxUnavailableError, OSError, LookupError) as exc:
        print(f"acecoder pipeline: error: {terminal_safe(exc)}", file=sys.stderr)
        return 1
    code = 0
    for name, summary in result["stages"].items():
        if name == "stats":
            continue
        code = max(code, finish(name, summary, argparse.Namespace(json=False)))
    stats = result["stages"].get("stats")
    if stats:
        from pathlib import Path

        print(Path(stats["files"]["stats.md"]).read_text(), end="")
        print(f"acecoder pipeline: report written to {terminal_safe(stats['files']['report.html'])}", file=sys.stderr)
    return code
