"""``acecoder rl``: RL with the toolkit's rewards, here (TRL) or on a cluster (OpenRLHF, verl).

    acecoder rl train --demo                                 # the toy run, on CPU, in a minute or two
    acecoder rl train rl.toml                                # TRL GRPOTrainer, resumable, report.html
    acecoder rl launch openrlhf rl.toml --dry-run            # data + the train_ppo_ray command
    acecoder rl launch verl rl.toml --framework-version 0.7.0

Parsing and dispatch only; the work is in :mod:`rm_rl.rl`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["SUMMARY", "add_parser", "build_parser", "main", "run"]

SUMMARY = "RL with sandbox rewards: train here with TRL, or launch OpenRLHF / verl"


def _configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    sub = parser.add_subparsers(dest="rl_command", required=True, metavar="{train,launch}")
    train = sub.add_parser("train", help="train with TRL's GRPOTrainer (a config file, or --demo)")
    train.add_argument("config", nargs="?", help="TOML/JSON RL config (preset = ... plus any RLConfig field)")
    train.add_argument("--demo", action="store_true", help="the toy run: a tiny policy learns to pass tests, on CPU")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    train.add_argument("--output-dir", default=None, help="where checkpoints, metrics and report.html go")
    launch = sub.add_parser("launch", help="write the data and run (or print) an OpenRLHF / verl command")
    launch.add_argument("framework", choices=["openrlhf", "verl"])
    launch.add_argument("config", help="TOML/JSON RL config")
    launch.add_argument("--dry-run", action="store_true", help="write the data and print the command; run nothing")
    launch.add_argument(
        "--framework-version", default=None,
        help="write flags for this version (default: the installed one, else the newest known)",
    )
    launch.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    return parser


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``rl`` on the ``acecoder`` command's subparsers."""
    return _configure(subparsers.add_parser("rl", help=SUMMARY, description=SUMMARY))


def build_parser() -> argparse.ArgumentParser:
    return _configure(argparse.ArgumentParser(prog="acecoder rl", description=SUMMARY))


def run(args: argparse.Namespace) -> int:
    from acesandbox import AcecoderError

    try:
        return _train(args) if args.rl_command == "train" else _launch(args)
    except AcecoderError as exc:
        print(f"acecoder rl: error: {exc}", file=sys.stderr)
        return 2


def _train(args: argparse.Namespace) -> int:
    from .errors import ConfigError
    from .rl.config import load_rl_config

    if args.demo == bool(args.config):
        raise ConfigError("give a config file or --demo (not both)")
    extra = {"output_dir": args.output_dir} if args.output_dir else {}
    if args.demo:
        from .rl.demo import run_demo

        print(run_demo(output_dir=args.output_dir or "acecoder-rl-demo", overrides=args.set).summary())
        return 0
    from .rl.train import train

    print(train(load_rl_config(args.config, args.set, **extra)).summary())
    return 0


def _launch(args: argparse.Namespace) -> int:
    from .rl.config import load_rl_config
    from .rl.data import load_prompts
    from .rl.launch import plan_launch

    config = load_rl_config(args.config, args.set)
    launch = plan_launch(args.framework, config, load_prompts(config), version=args.framework_version)
    print(f"# {launch.framework} {launch.version}: data {launch.data_path}, script {launch.script_path}")
    print(launch.shell(), end="")
    if args.dry_run:
        return 0
    return subprocess.call(list(launch.command))


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
