"""``acecoder rm``: train, check, use and convert code reward models.

    acecoder rm train --demo -o rm-demo                       # tiny model, bundled pairs, CPU, minutes
    acecoder rm train --config rm.toml                        # the paper's settings unless the file says
    acecoder rm train --model Qwen/Qwen2.5-Coder-7B-Instruct --train-data pairs.jsonl -o rm-7b
    acecoder rm eval rm-demo --data rm-demo/eval_pairs.jsonl  # pairwise accuracy, ties, margin, per source
    acecoder rm eval rm-demo --rm-bench code.json             # RM-Bench easy / normal / hard
    acecoder bench humaneval --model M --generator vllm -n 16 --temperature 1.0 -o run   # run/samples.jsonl
    acecoder rm score rm-demo --samples run/samples.jsonl --prompts HumanEvalPlus.jsonl.gz -o scores.jsonl
    acecoder bench humaneval --samples run/samples.jsonl --scores RM=scores.jsonl   # Average/Oracle/RM@N
    acecoder rm convert --from acecoder AceCodeRM-7B -o AceCodeRM-7B-standard

Parsing and dispatch only; the work is in :mod:`rm_rl.reward_model`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from collections.abc import Sequence
from typing import Any

__all__ = ["SUMMARY", "add_parser", "build_parser", "main", "run"]

SUMMARY = "reward models: train (TRL RewardTrainer) / eval (pairwise, RM-Bench) / score (best-of-N) / convert"


def _train_flags(parser: argparse.ArgumentParser) -> None:
    from .reward_model.config import RewardModelConfig

    parser.add_argument("--config", metavar="FILE", help="TOML or JSON file of the fields below (flags override it)")
    parser.add_argument(
        "--demo", action="store_true", help="the demo preset: the tiny offline model on the bundled pairs, on CPU"
    )
    hints = typing.get_type_hints(RewardModelConfig)
    group = parser.add_argument_group("training options (default: the AceCoder paper's settings)")
    for f in dataclasses.fields(RewardModelConfig):
        flag = "--" + f.name.replace("_", "-")
        names = [flag, "-o"] if f.name == "output_dir" else [flag]
        kind = hints[f.name]
        default = f.default
        text = f"{f.metadata['help']} (default: {default})"
        if kind is bool:
            group.add_argument(*names, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=text)
            continue
        args = typing.get_args(kind)
        choices = args if typing.get_origin(kind) is typing.Literal else None
        base = next((a for a in args if a is not type(None)), kind) if choices is None else str
        convert = base if base in (int, float, str) else str
        group.add_argument(*names, dest=f.name, type=convert, choices=choices, default=None, help=text)


def _model_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="reward model folder (a standard one-label checkpoint) or hub name")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per forward pass (default: 16)")
    parser.add_argument(
        "--max-length-tokens", type=int, default=None,
        help="cut longer texts to this (default: the training cutoff in acecoder_rm.json, else no cut)"
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")


def _configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    sub = parser.add_subparsers(dest="rm_command", metavar="ACTION", required=True)
    train = sub.add_parser("train", help="train a Bradley-Terry reward model with TRL's RewardTrainer")
    _train_flags(train)
    ev = sub.add_parser("eval", help="pairwise accuracy (ties wrong), mean margin, per source; or RM-Bench")
    _model_flags(ev)
    src = ev.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="pairs (AceCodePair, TRL layouts; a file, folder or hub name)")
    src.add_argument("--rm-bench", metavar="FILE", help="a local RM-Bench file (chosen/rejected lists per prompt)")
    ev.add_argument("--split", default=None, help="split of a dataset with splits")
    ev.add_argument("--limit", type=int, default=None, help="only the first N pairs")
    ev.add_argument("--json", action="store_true", help="print the report as JSON")
    ev.add_argument("--report", metavar="FILE", help="also write the report as JSON here")
    sc = sub.add_parser("score", help="score N samples per task into the file `acecoder bench --scores` reads")
    _model_flags(sc)
    sc.add_argument("--samples", required=True, help="samples JSONL: task_id, completion (or solution), "
                    "optional index and prompt")
    sc.add_argument("--prompts", metavar="FILE",
                    help="records with task_id and prompt for samples without a prompt, e.g. the benchmark's own "
                         "data file (HumanEval / EvalPlus .jsonl or .jsonl.gz carry both)")
    sc.add_argument("-o", "--output", required=True, help="scores JSONL: {task_id, index, score} per sample")
    cv = sub.add_parser("convert", help="convert between the standard, AceCoder (v_head) and OpenRLHF head layouts")
    cv.add_argument("source", help="checkpoint folder to read")
    cv.add_argument("-o", "--output", required=True, help="folder to write")
    cv.add_argument("--from", dest="from_layout", choices=("standard", "acecoder", "openrlhf"), default="standard",
                    help="layout of SOURCE (default: standard)")
    cv.add_argument("--to", dest="to_layout", choices=("standard", "acecoder", "openrlhf"), default="standard",
                    help="layout to write (default: standard)")
    cv.add_argument("--value-head-prefix", default="value_head",
                    help="OpenRLHF head name when writing that layout (default: value_head; current OpenRLHF: score)")
    return parser


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``rm`` on the ``acecoder`` command's subparsers."""
    parser = subparsers.add_parser("rm", help=SUMMARY, description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    return _configure(parser)


def build_parser() -> argparse.ArgumentParser:
    """A standalone parser (``python -m rm_rl.cli_rm``)."""
    return _configure(argparse.ArgumentParser(prog="acecoder rm", description=__doc__,
                                              formatter_class=argparse.RawDescriptionHelpFormatter))


def _train(args: argparse.Namespace) -> int:
    import logging

    from .reward_model.config import RewardModelConfig, load_rm_config
    from .reward_model.train import EVAL_PAIRS_FILE, train_reward_model

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(RewardModelConfig)
             if getattr(args, f.name) is not None}
    if args.demo:
        config = RewardModelConfig.demo(**given)
    elif args.config:
        config = load_rm_config(args.config, **given)
    else:
        config = RewardModelConfig(**given)
    result = train_reward_model(config)
    print(f"acecoder rm train: {result.train_pairs} train pairs ({result.train_questions} questions), "
          f"{result.eval_pairs} eval pairs ({result.eval_questions} questions)")
    print(f"acecoder rm train: length: {result.length.summary()}")
    if "eval_accuracy" in result.metrics:
        print(f"acecoder rm train: eval accuracy {result.metrics['eval_accuracy']:.4f}, "
              f"eval margin {result.metrics.get('eval_margin', float('nan')):.4f}")
    print(f"acecoder rm train: model written to {result.output_dir}"
          + (f"; held-out pairs in {result.output_dir}/{EVAL_PAIRS_FILE}" if result.eval_pairs else ""))
    return 0


def _load(args: argparse.Namespace) -> Any:
    from .reward_model.scoring import RewardModel

    return RewardModel.load(args.model, device=args.device, batch_size=args.batch_size,
                            max_length_tokens=args.max_length_tokens)


def _eval(args: argparse.Namespace) -> int:
    from .reward_model.data import load_pairs
    from .reward_model.evaluate import load_rm_bench, pairwise_report, rm_bench_report, write_report

    model = _load(args)
    if args.rm_bench:
        bench = rm_bench_report(model, load_rm_bench(args.rm_bench))
        if args.report:
            write_report(args.report, bench)
        if args.json:
            print(json.dumps(bench.as_dict(), indent=2))
        else:
            print(f"RM-Bench: {bench.items} prompts  easy {bench.easy:.4f}  normal {bench.normal:.4f}  "
                  f"hard {bench.hard:.4f}  average {bench.average:.4f}")
            for domain, levels in bench.per_domain.items():
                print(f"  {domain}: " + "  ".join(f"{k} {v:.4f}" for k, v in levels.items()))
        return 0
    report = pairwise_report(model, load_pairs(args.data, split=args.split, limit=args.limit))
    if args.report:
        write_report(args.report, report)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    print("| source | pairs | accuracy | ties | mean margin |")
    print("| --- | --- | --- | --- | --- |")
    for source, s in report.per_source.items():
        print(f"| {source} | {s['pairs']:.0f} | {s['accuracy']:.4f} | {s['ties']:.0f} | {s['mean_margin']:.4f} |")
    print(f"| total | {report.pairs} | {report.accuracy:.4f} | {report.ties} | {report.mean_margin:.4f} |")
    if report.ties:
        print(f"acecoder rm eval: {report.ties} tie(s), counted wrong", file=sys.stderr)
    return 0


def _score(args: argparse.Namespace) -> int:
    from harness.io import read_records

    from .reward_model.scoring import write_scores

    prompts = None
    if args.prompts:
        prompts = {str(r["task_id"]): r["prompt"] for r in read_records(args.prompts)}
    scored = write_scores(_load(args), args.samples, args.output, prompts=prompts)
    tasks = len({s.task_id for s in scored})
    print(f"acecoder rm score: {len(scored)} samples of {tasks} tasks scored -> {args.output}")
    print(f"  next: acecoder bench NAME --samples {args.samples} --scores RM={args.output}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    import tempfile

    from .reward_model import convert

    if args.from_layout == args.to_layout:
        print("acecoder rm convert: --from and --to name the same layout", file=sys.stderr)
        return 2
    readers = {"acecoder": convert.from_acecoder, "openrlhf": convert.from_openrlhf}
    with tempfile.TemporaryDirectory() as tmp:
        standard = args.source
        if args.from_layout != "standard":
            target = args.output if args.to_layout == "standard" else tmp
            report = readers[args.from_layout](args.source, target)
            standard = target
        if args.to_layout == "acecoder":
            report = convert.to_acecoder(standard, args.output)
        elif args.to_layout == "openrlhf":
            report = convert.to_openrlhf(standard, args.output, value_head_prefix=args.value_head_prefix)
    print(f"acecoder rm convert: {args.from_layout} -> {args.to_layout}: {report.tensors} tensors written to "
          f"{args.output}" + (f" (score_bias {report.score_bias:g})" if report.score_bias else ""))
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch ``acecoder rm ACTION``; library errors are one line and exit 2."""
    from acesandbox.errors import AcecoderError

    action = {"train": _train, "eval": _eval, "score": _score, "convert": _convert}[args.rm_command]
    try:
        return action(args)
    except AcecoderError as exc:
        print(f"acecoder rm {args.rm_command}: {exc}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rm_rl.cli_rm ARGS``: the same as ``acecoder rm ARGS``."""
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
