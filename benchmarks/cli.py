"""``acecoder bench``: score a benchmark from samples or a model; list benchmarks; check fidelity.

    acecoder bench list
    acecoder bench NAME [--samples FILE | --model NAME --generator G] [--dataset PATH] [-k 1,10,100] [-o DIR]
    acecoder bench verify-official --data-dir DIR [--only evalplus,bigcodebench,livecodebench] [--limit N]

With neither ``--samples`` nor ``--model`` the canonical solutions are scored: a
ground-truth run that checks this host end to end (``acecoder bench humaneval`` works
offline on a fresh install).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from acesandbox.cli.options import add_sandbox_options

SUMMARY = "score HumanEval(+), MBPP(+), BigCodeBench or LiveCodeBench; 'bench list', 'bench verify-official'"

_OPTIONS = ("split", "subset", "release", "start_date", "end_date", "evalplus_release", "few_shot_dir")
_EVALPLUS = ("humaneval", "humaneval+", "mbpp", "mbpp+")

DATA_DIR_ENV = "ACECODER_SHARED_DATA"
"""Where ``verify-official`` finds the shared data folder without ``--data-dir`` (read here only)."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("bench", help=SUMMARY, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="benchmark name, 'list' or 'verify-official'")
    src = p.add_argument_group("what to score")
    src.add_argument("--samples", help="samples JSONL: {task_id, solution} or {task_id, completion}, one or many per task")
    src.add_argument("--model", help="generate samples with this model first")
    src.add_argument("--generator", default="vllm", help="generation backend: vllm, openai, transformers, replay (default: vllm)")
    src.add_argument("--gen-option", action="append", default=[], metavar="KEY=VALUE",
                     help="generation backend option (value parsed as JSON when it parses), e.g. base_url=http://127.0.0.1:8000/v1")
    src.add_argument("-n", type=int, default=1, help="samples per task when generating (default 1)")
    src.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0: greedy)")
    src.add_argument("--max-tokens", type=int, default=1024, help="most new tokens per sample (default 1024)")
    src.add_argument("--prompt-style", choices=("chat", "base"), default=None,
                     help="chat (instruct prompt, markdown answer) or base (continue the prompt); default: chat, "
                          "except base for the transformers backend")
    data = p.add_argument_group("benchmark")
    data.add_argument("--dataset", help="local file (.jsonl, .jsonl.gz, .json, .parquet) or hub name; default: the benchmark's")
    data.add_argument("--split", help="bigcodebench: complete or instruct")
    data.add_argument("--subset", help="bigcodebench: full or hard")
    data.add_argument("--release", help="livecodebench: release_v1 .. release_v6")
    data.add_argument("--start-date", dest="start_date", help="livecodebench: first contest date (YYYY-MM-DD)")
    data.add_argument("--end-date", dest="end_date", help="livecodebench: last contest date (YYYY-MM-DD)")
    data.add_argument("--few-shot-dir", dest="few_shot_dir", metavar="DIR",
                      help="livecodebench --prompt-style base: lcb_runner's few_shot_examples/generation folder, for "
                           "the official one-shot example (default: an example of ours in the same format)")
    data.add_argument("--bcb-env", dest="bcb_env", default="pinned", metavar="ENV",
                      help="bigcodebench: pinned (default: the official evaluation pins, built by `python -m "
                           "benchmarks.bcb_env DIR` at ~/.cache/acecoder/bigcodebench/pinned-venv), a pinned venv's "
                           "folder, or host (this interpreter's libraries: not the official environment)")
    data.add_argument("--evalplus-release", dest="evalplus_release", metavar="RELEASE",
                      help="humaneval+/mbpp+: score with the rules of this evalplus release (0.2.0, 2024-01-24, 2024-02, "
                           "2024-05, 0.3.1, latest), a run's date YYYY-MM-DD, or the *_eval_results.json to reproduce; "
                           "default: latest")
    data.add_argument("--limit", default=None, help="only the first N tasks (bench NAME); for verify-official, N or "
                      "family=N,... tasks per run")
    run = p.add_argument_group("scoring")
    run.add_argument("-k", default="1,10,100", help="pass@k values (default 1,10,100; those above n are dropped)")
    run.add_argument("-o", "--output", help="folder for the official result files, per-test details and report.html")
    run.add_argument("--scores", action="append", default=[], metavar="NAME=FILE",
                     help="best-of-N under a scorer: JSONL of {task_id, index, score} (e.g. a reward model's); repeatable")
    run.add_argument("--greedy", metavar="FILE",
                     help="with --scores: a greedy (temperature 0) sample per task, scored too, for the table's Greedy row")
    # --python: e.g. a venv with a benchmark's pinned libraries; verify-official uses it for bigcodebench.
    add_sandbox_options(run, only=("backend", "workers", "python"))
    run.add_argument("--no-canary", action="store_true", help="skip the canonical-solution run")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    vo = p.add_argument_group("verify-official")
    vo.add_argument("--data-dir", dest="data_dir", metavar="DIR",
                    help=f"shared data folder with the official runs (default: ${DATA_DIR_ENV})")
    vo.add_argument("--only", help="comma-separated families: evalplus, bigcodebench, livecodebench")
    return p


def _ks(text: str) -> list[int]:
    try:
        ks = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise SystemExit(f"error: -k must be comma-separated integers, got {text!r}") from None
    if not ks or ks[0] < 1:
        raise SystemExit(f"error: -k values must be positive, got {text!r}")
    return ks


def _gen_options(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: --gen-option must be KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def run(args: argparse.Namespace) -> int:
    name = args.name.lower()
    if name == "list":
        return _list()
    if name in ("verify-official", "verify"):
        return _verify(args)
    return _score(args)


def _list() -> int:
    from .base import available_benchmarks
    from .output import terminal_safe

    for name in available_benchmarks():
        print(terminal_safe(name))
    return 0


def _score(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .base import BenchmarkError, get_benchmark
    from .extras import SCORING, require
    from .io import read_samples
    from .output import print_best_of_n, print_summary, terminal_safe
    from .runner import evaluate

    if args.samples and args.model:
        raise SystemExit("error: give --samples or --model, not both")
    ks = _ks(args.k)
    try:  # before any work: a missing extra must not cost a finished run
        require(SCORING, f"acecoder bench {args.name}")
    except BenchmarkError as exc:
        print(f"error: {terminal_safe(exc)}", file=sys.stderr)
        return 2
    options = {k: getattr(args, k) for k in _OPTIONS if getattr(args, k, None) is not None}
    environment = None
    if args.name.lower().startswith("bigcodebench"):
        from .bigcodebench.environment import resolve_environment

        if args.python:
            print("error: bigcodebench scores in --bcb-env (pinned, a pinned venv's folder, or host), not --python",
                  file=sys.stderr)
            return 2
        try:
            environment = resolve_environment(args.bcb_env)
        except BenchmarkError as exc:
            print(f"error: {terminal_safe(exc)}", file=sys.stderr)
            return 2
        options.update(environment=environment, python=environment.python)
    elif args.python:
        options["python"] = args.python
    if args.few_shot_dir and args.name.lower() != "livecodebench":
        print(f"error: --few-shot-dir applies to livecodebench, not {terminal_safe(args.name)}", file=sys.stderr)
        return 2
    if args.evalplus_release and args.name.lower() not in _EVALPLUS:
        print(f"error: --evalplus-release applies to {', '.join(_EVALPLUS)}, not {terminal_safe(args.name)}",
              file=sys.stderr)
        return 2
    try:
        bench = get_benchmark(args.name, **options)
        problems = bench.load(args.dataset)
    except BenchmarkError as exc:
        print(f"error: {terminal_safe(exc)}", file=sys.stderr)
        return 2
    if args.output and environment is not None:  # before any work: never a mixed folder
        from .bigcodebench.environment import check_output_dir

        try:
            check_output_dir(args.output, bench.label.replace("+", "plus").replace("/", "_"), environment)
        except BenchmarkError as exc:
            print(f"error: {terminal_safe(exc)}", file=sys.stderr)
            return 2
    if bench.scoring_rules():
        print(f"rules: {terminal_safe(bench.scoring_rules())}", file=sys.stderr)
    if args.limit:
        problems = problems[: int(args.limit)]
    warnings: list[str] = []
    samples: list[dict[str, Any]] = []
    if args.samples:
        try:
            samples = read_samples(args.samples)
        except BenchmarkError as exc:
            print(f"error: {terminal_safe(exc)}", file=sys.stderr)
            return 2
    elif args.model:
        from .generate import generate_samples

        style = args.prompt_style or ("base" if args.generator == "transformers" else "chat")
        samples, gen_warnings = generate_samples(
            bench, problems, backend=args.generator, model=args.model, n=args.n, temperature=args.temperature,
            max_tokens=args.max_tokens, chat=style == "chat", options=_gen_options(args.gen_option),
        )
        warnings.extend(gen_warnings)
    if not samples and not args.model:
        # Ground-truth run: the canonical solutions are the samples (and the canary).
        samples = [{"task_id": p.task_id, "solution": p.canonical_solution} for p in problems]
        warnings.append("no --samples or --model: scored the canonical solutions (a ground-truth check of this host)")
        canary = False
    else:
        canary = not args.no_canary
    evaluation = evaluate(
        bench, problems, samples, backend=args.sandbox, workers=args.workers, canary=canary,
        progress=not args.no_progress,
    )
    evaluation = replace(evaluation, warnings=tuple(warnings) + evaluation.warnings)
    table = None
    if args.greedy and not args.scores:
        print("error: --greedy goes with --scores (it adds the Greedy row of the best-of-N table)", file=sys.stderr)
        return 2
    if args.scores:
        from .output import best_of_n, greedy_verdicts

        try:
            greedy = None
            if args.greedy:
                greedy_eval = evaluate(
                    bench, problems, read_samples(args.greedy), backend=args.sandbox, workers=args.workers,
                    canary=False, progress=not args.no_progress,
                )
                greedy = greedy_verdicts(greedy_eval)
            table = best_of_n(evaluation, dict(_pair(s, "--scores") for s in args.scores), greedy=greedy)
        except (BenchmarkError, ValueError) as exc:
            print(f"error: --scores: {terminal_safe(exc)}", file=sys.stderr)
            return 2
    if args.output:
        from .output import write_outputs

        for path in write_outputs(bench, evaluation, args.output, ks=ks, samples=samples if args.model else None,
                                  best_of_n_table=table):
            print(f"wrote {terminal_safe(path)}", file=sys.stderr)
    print_summary(evaluation, ks=ks, as_json=args.json)
    if table is not None and not args.json:
        print_best_of_n(table, evaluation.parts[-1])
    return 0


def _pair(text: str, option: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise SystemExit(f"error: {option} must be NAME=FILE, got {text!r}")
    return name, value


def _verify(args: argparse.Namespace) -> int:
    import dataclasses

    from acesandbox import Executor

    from .errors import DataDirError
    from .output import print_verification, terminal_safe
    from .verify import require_data_dir, summarise, verify_all

    try:
        root = require_data_dir(args.data_dir or os.environ.get(DATA_DIR_ENV))
    except DataDirError as exc:
        print(f"error: {terminal_safe(exc)}: pass --data-dir DIR or set {DATA_DIR_ENV}", file=sys.stderr)
        return 2
    limit: int | None = None
    limits: dict[str, int | None] = {}
    for part in (args.limit or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if sep:
            limits[key.strip()] = int(value)
        else:
            limit = int(key)
    families = [f.strip() for f in args.only.split(",")] if args.only else None
    import importlib

    from .verify import VERIFIERS

    runs = []
    for family in families or list(VERIFIERS):
        if family not in VERIFIERS:
            print(f"error: unknown family {family!r}; choose from {sorted(VERIFIERS)}", file=sys.stderr)
            return 2
        module = importlib.import_module(VERIFIERS[family])
        sandbox = dataclasses.replace(module.SANDBOX, backend=args.sandbox, workers=args.workers)
        if family == "bigcodebench" and args.python:
            sandbox = dataclasses.replace(sandbox, python=args.python)
        with Executor(sandbox) as executor:
            runs += verify_all(root, executor, families=[family], limit=limit, limits=limits,
                               progress=not args.no_progress)
    totals = summarise(runs)
    print_verification(runs, totals, as_json=args.json)
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        path = os.path.join(args.output, "verify_official.json")
        with open(path, "w") as f:
            json.dump({"totals": totals, "runs": [_run_dict(r) for r in runs]}, f, indent=2)
        print(f"wrote {terminal_safe(path)}", file=sys.stderr)
    return 1 if totals["unexplained"] else 0


def _run_dict(run: Any) -> dict[str, Any]:
    from dataclasses import asdict

    d = asdict(run)
    d["rate"] = run.rate
    return d
