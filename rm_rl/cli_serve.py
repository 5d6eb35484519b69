"""``acecoder serve``: the reward server for RL trainers (OpenRLHF ``--remote_rm_url``, TRL, anything HTTP).

    acecoder serve --dataset acecode.jsonl --port 5000
    acecoder serve --dataset TIGER-Lab/AceCode-87K --reward pass_rate --workers 16

Parsing and dispatch only; the server itself is :mod:`rm_rl.server`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from acesandbox.cli.options import add_job_options, add_sandbox_options, sandbox_from_args

__all__ = ["SUMMARY", "add_parser", "run"]

SUMMARY = "serve rule-based code rewards over HTTP (OpenRLHF --remote_rm_url, /score, /metrics)"
TOKEN_ENV = "ACECODER_SERVE_TOKEN"


def _configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    data = parser.add_argument_group("dataset (where a request's tests come from, by id or by question)")
    data.add_argument(
        "--dataset",
        metavar="PATH_OR_NAME",
        help="JSONL / JSON / parquet file or directory, or a Hugging Face hub name "
        "(rows with 'id', 'question' and 'test_cases' or 'tests', as AceCode-87K)",
    )
    data.add_argument(
        "--split", default=None, help="split of a dataset with splits (default: the only one, else train, else test)"
    )
    data.add_argument("--id-key", default="id", help="column holding a row's id (default: id)")
    data.add_argument("--tests-key", default=None, help="column holding the tests (default: tests, else test_cases)")
    data.add_argument(
        "--question-key",
        default=None,
        help="column holding the question matched against a query's user turn "
        "(default: question, else the user turn of context_messages)",
    )

    rew = parser.add_argument_group("reward")
    rew.add_argument(
        "--reward",
        choices=["binary", "pass_rate"],
        default="binary",
        help="binary: 1 iff all tests pass (the paper's best); pass_rate: passed/total (default: binary)",
    )
    from harness.config import ExecConfig

    scoring = ExecConfig()  # the one set of scoring defaults, shared with the data pipeline
    add_job_options(
        rew,
        defaults={"timeout_s": scoring.limits.timeout_s, "mode": scoring.mode, "compare": scoring.compare},
        only=("timeout_s", "mode", "compare"),
    )
    rew.add_argument("--no-code-reward", type=float, default=0.0, help="reward with no extractable code (default: 0)")
    rew.add_argument(
        "--format-weight",
        type=float,
        default=0.0,
        help="added for a well-formed '<think>...</think> answer' completion (default: 0, off)",
    )
    rew.add_argument("--max-chars", type=int, default=None, help="completions longer than this are not run")
    rew.add_argument("--overlong-reward", type=float, default=0.0, help="reward of an over-long completion")
    rew.add_argument(
        "--fallback",
        choices=["auto", "none", "text"],
        default="auto",
        help="without a fenced block: auto (bare code that defines a function), none, or "
        "text (the whole answer; base models)",
    )

    rm = parser.add_argument_group("reward model (model rewards on /get_reward, alone or mixed with the rule reward)")
    rm.add_argument("--rm", metavar="PATH", default=None,
                    help="answer /get_reward with this reward model's score (acecoder rm train output)")
    rm.add_argument("--rm-weight", type=float, default=1.0, help="weight of the model score (default: 1)")
    rm.add_argument("--rule-weight", type=float, default=0.0,
                    help="weight of the rule reward in a hybrid (default: 0: model only, no tests needed)")
    rm.add_argument("--rm-batch-size", type=int, default=32, help="most sequences per forward pass (default: 32)")
    rm.add_argument("--rm-batch-window-ms", type=float, default=5.0,
                    help="how long a batch waits for more requests (default: 5)")
    rm.add_argument("--rm-device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")

    sb = parser.add_argument_group("sandboxes")
    add_sandbox_options(sb, only=("backend", "workers", "memory_mb", "preload"))

    srv = parser.add_argument_group("server")
    srv.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: 127.0.0.1; 0.0.0.0 for all, which needs --token)",
    )
    srv.add_argument("--port", type=int, default=5000, help="port (default: 5000)")
    srv.add_argument(
        "--token",
        default=None,
        help=f"bearer token required on every endpoint but /health (which without it tells liveness only), "
        f"checked before the body is read "
        f"(default: ${TOKEN_ENV}, else none: loopback only)",
    )
    d = _server_defaults()

    def limit(name: str, what: str) -> None:  # an int limit of ServerConfig, flag spelled after it
        srv.add_argument("--" + name.replace("_", "-"), type=int, default=d[name], help=f"{what} (default: {d[name]})")

    limit("max_batch", "most completions per request; beyond, 413")
    limit("max_pending", "most completions queued across requests before 503")
    limit("max_tests_per_request", "most tests per request, across its completions (a 'calls' test counts its calls); beyond, 413")
    limit("max_pending_tests", "most tests queued across requests before 503")
    srv.add_argument(
        "--max-request-mb",
        type=float,
        default=d["max_request_bytes"] / 2**20,
        help=f"largest request body (default: {d['max_request_bytes'] / 2**20:g})",
    )
    limit("max_concurrent_requests", "most requests in flight at once before 503")
    srv.add_argument(
        "--max-connections",
        type=int,
        default=d["max_connections"],
        help="most connections open at once, idle ones included; beyond, 503 and closed. Needs as many open "
        "files: the soft limit is raised to fit, else the server refuses to start (default: 8192, or what the "
        "hard open-file limit leaves room for, with a warning)",
    )
    limit("max_connections_per_client", "most of those from one client address; beyond, 503 and closed")
    srv.add_argument(
        "--on-sandbox-error",
        choices=["null", "503"],
        default=d["on_sandbox_error"],
        help="a completion the sandbox could not judge: null reward (default), or 503 for the "
        "whole request so the trainer retries (use with OpenRLHF)",
    )
    srv.add_argument(
        "--graceful-timeout",
        type=float,
        default=d["graceful_timeout_s"],
        metavar="SECONDS",
        help=f"on SIGTERM, how long in-flight requests may finish (default: {d['graceful_timeout_s']:g})",
    )
    srv.add_argument(
        "--read-timeout",
        type=float,
        default=d["read_timeout_s"],
        metavar="SECONDS",
        help=f"longest a client may take to send its request headers, then its body, and to read an answer (default: {d['read_timeout_s']:g})",
    )
    srv.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return parser


def _server_defaults() -> dict[str, Any]:
    """ServerConfig's defaults: the flags' defaults are defined there once."""
    import dataclasses

    from .server.config import ServerConfig

    return {f.name: f.default for f in dataclasses.fields(ServerConfig) if f.default is not dataclasses.MISSING}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``serve`` on the ``acecoder`` command's subparsers."""
    parser = subparsers.add_parser("serve", help=SUMMARY, description=SUMMARY)
    return _configure(parser)


def _reward_options(args: argparse.Namespace) -> dict[str, Any]:
    sandbox = sandbox_from_args(args)
    options: dict[str, Any] = {
        "timeout_s": args.timeout_s,
        "memory_mb": sandbox.memory_mb,
        "mode": args.mode,
        "compare": args.compare,
        "no_code_reward": args.no_code_reward,
        "format_weight": args.format_weight,
        "overlong_reward": args.overlong_reward,
        "fallback": args.fallback,
        "preload": sandbox.preload,
    }
    if args.max_chars is not None:
        options["max_chars"] = args.max_chars
    for name in ("workers", "backend"):
        if getattr(sandbox, name) is not None:
            options[name] = getattr(sandbox, name)
    return options


def run(args: argparse.Namespace) -> int:
    """Load the dataset, start the sandboxes and serve until SIGINT/SIGTERM."""
    from acesandbox import AcesandboxError

    from .errors import RmRlError
    from .server import ServerConfig, _check_bind, create_app, fit_open_files, serve

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = ServerConfig(
            reward=args.reward,
            reward_options=_reward_options(args),
            max_batch=args.max_batch,
            max_pending=args.max_pending,
            max_tests_per_request=args.max_tests_per_request,
            max_pending_tests=args.max_pending_tests,
            max_request_bytes=int(args.max_request_mb * 2**20),
            max_concurrent_requests=args.max_concurrent_requests,
            max_connections=args.max_connections,
            max_connections_per_client=args.max_connections_per_client,
            token=args.token or os.environ.get(TOKEN_ENV) or None,
            on_sandbox_error=args.on_sandbox_error,
            graceful_timeout_s=args.graceful_timeout,
            read_timeout_s=args.read_timeout,
        )
        _check_bind(args.host, config)  # before any dataset is loaded or sandbox started
        config = fit_open_files(config)  # the cap that fits, once: serve() finds it fits
        model_reward = None
        if args.rm:
            from .model_reward import ModelReward, ModelRewardConfig

            model_reward = ModelReward(
                ModelRewardConfig(
                    path=args.rm,
                    model_weight=args.rm_weight,
                    rule_weight=args.rule_weight,
                    batch_size=args.rm_batch_size,
                    batch_window_ms=args.rm_batch_window_ms,
                    device=args.rm_device,
                )
            )
        problems = None
        if args.dataset:
            from .dataset import load_problems

            problems = load_problems(
                args.dataset,
                split=args.split,
                id_key=args.id_key,
                tests_key=args.tests_key,
                question_key=args.question_key,
            )
            logging.getLogger("rm_rl.server").info("loaded %d problems from %s", len(problems), args.dataset)
        app = create_app(config, problems=problems, model_reward=model_reward)
    except (RmRlError, AcesandboxError) as exc:
        print(f"acecoder serve: {exc}", file=sys.stderr)
        return 2
    try:
        serve(app, host=args.host, port=args.port, log_level=args.log_level)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
