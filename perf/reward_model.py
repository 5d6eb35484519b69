"""Reward-model speed: training pairs/s and tokens/s, scoring completions/s.

    python -m perf.reward_model                          # the tiny model, CPU
    python -m perf.reward_model --shape qwen2.5-coder-0.5b --device cuda   # 0.5B shape, random weights, GPU

The workload is synthetic and deterministic: ``--pairs`` preference pairs whose chosen
and rejected answers are code of about ``--tokens`` tokens each, under a one-turn
prompt. Training runs through the public API (``RewardModelConfig``,
``train_reward_model``: TRL's RewardTrainer), scoring through ``RewardModel.score``.
Reported: training pairs/s and tokens/s (prompt + answer, both sides, per optimizer
pass over the data, from TRL's ``train_runtime``), scoring completions/s and tokens/s,
and on a GPU the peak memory and the model FLOPs utilisation (6 x parameters x
training tokens/s, and 2 x parameters x scoring tokens/s, over the card's dense bf16
peak given by ``--peak-tflops``). Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rm_rl.reward_model import PreferencePair, RewardModel, RewardModelConfig, train_reward_model
from rm_rl.tiny import TinyModelConfig, build_tiny_model

__all__ = ["SHAPES", "Result", "build_parser", "format_result", "main", "run", "workload"]

SHAPES: dict[str, dict[str, int]] = {
    "tiny": {},
    # Qwen2.5-Coder-0.5B's shape (config.json of the release), randomly initialised
    "qwen2.5-coder-0.5b": {
        "hidden_size": 896,
        "intermediate_size": 4864,
        "num_hidden_layers": 24,
        "num_attention_heads": 14,
        "num_key_value_heads": 2,
        "vocab_size": 151936,
    },
}


@dataclass(frozen=True)
class Result:
    """One run's figures."""

    shape: str
    device: str
    parameters: int
    pairs: int
    mean_tokens: float
    train_s: float
    train_pairs_per_s: float
    train_tokens_per_s: float
    score_completions: int
    score_s: float
    score_completions_per_s: float
    score_tokens_per_s: float
    peak_memory_gib: float | None
    train_mfu: float | None
    score_mfu: float | None
    host: str


def workload(pairs: int, tokens: int, seed: int = 0) -> list[PreferencePair]:
    """Deterministic pairs of code answers, about ``tokens`` tokens each (one question per 4 pairs)."""
    rng = random.Random(seed)
    out = []
    for i in range(pairs):
        lines = [f"def f{i}(xs):", "    total = 0"]
        while len(lines) * 16 < tokens:
            lines.append(f"    total += xs[{rng.randrange(100)}] * {rng.randrange(1000)}")
        good = "```python\n" + "\n".join(lines + ["    return total"]) + "\n```"
        bad = good.replace("return total", "return -total")
        prompt = ({"role": "user", "content": f"Write f{i}(xs): the weighted sum of some items of xs."},)
        out.append(PreferencePair(f"q{i // 4}", prompt, good, bad, source="perf"))
    return out


def _base(shape: str, folder: Path) -> Path:
    """The tiny model, or a random model of a named shape with the tiny tokenizer."""
    path = build_tiny_model(folder / "tiny", TinyModelConfig())
    if shape == "tiny":
        return path
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, Qwen2Config

    tiny = AutoConfig.from_pretrained(path)
    shape_kwargs: dict[str, Any] = dict(SHAPES[shape])
    config = Qwen2Config(
        **shape_kwargs,
        max_position_embeddings=32768,
        tie_word_embeddings=True,
        pad_token_id=tiny.pad_token_id,
        eos_token_id=tiny.eos_token_id,
        bos_token_id=None,
    )
    config.num_labels = 1
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(config, dtype=torch.float32)
    out = folder / shape
    model.save_pretrained(out)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        if (path / name).exists():
            (out / name).write_bytes((path / name).read_bytes())
    return out


def run(
    *,
    shape: str = "tiny",
    pairs: int = 64,
    tokens: int = 256,
    batch: int = 8,
    device: str = "cpu",
    score_n: int = 256,
    peak_tflops: float | None = None,
) -> Result:
    import torch

    data = workload(pairs, tokens)
    cuda = device.startswith("cuda")
    with tempfile.TemporaryDirectory() as tmp:
        base = _base(shape, Path(tmp))
        config = RewardModelConfig.demo(
            str(Path(tmp) / "out"),
            model=str(base),
            eval_fraction=0.0,
            num_epochs=1.0,
            effective_batch_size=batch,
            per_device_batch_size=batch,
            max_length_tokens=max(2 * tokens + 128, 512),
            precision="bf16" if cuda else "fp32",
            use_cpu=not cuda,
            save_steps=10**6,
            progress=False,
            resume=False,
            logging_steps=10**6,
        )
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        result = train_reward_model(config, train_pairs=data)
        train_s = result.metrics["train_runtime"]
        model = RewardModel.load(config.output_dir, device=device, batch_size=batch * 2)
        parameters = sum(p.numel() for p in model.model.parameters())
        prompts = [p.prompt for p in data] * (score_n // len(data) + 1)
        answers = [p.chosen for p in data] * (score_n // len(data) + 1)
        prompts, answers = prompts[:score_n], answers[:score_n]
        model.score(prompts[:batch], answers[:batch])  # warm-up
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        model.score(prompts, answers)
        if cuda:
            torch.cuda.synchronize()
        score_s = time.perf_counter() - t0
        score_tokens = sum(len(model.encode(p, a)) for p, a in zip(prompts, answers))
        peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    train_tokens = 2 * result.length.mean_tokens * result.train_pairs
    train_tps = train_tokens / train_s
    score_tps = score_tokens / score_s
    peak_flops = peak_tflops * 1e12 if peak_tflops else None
    return Result(
        shape=shape,
        device=torch.cuda.get_device_name() if cuda else f"cpu ({torch.get_num_threads()} threads)",
        parameters=parameters,
        pairs=result.train_pairs,
        mean_tokens=result.length.mean_tokens,
        train_s=round(train_s, 3),
        train_pairs_per_s=round(result.train_pairs / train_s, 2),
        train_tokens_per_s=round(train_tps, 1),
        score_completions=score_n,
        score_s=round(score_s, 3),
        score_completions_per_s=round(score_n / score_s, 2),
        score_tokens_per_s=round(score_tps, 1),
        peak_memory_gib=None if peak is None else round(peak, 2),
        train_mfu=None if peak_flops is None else round(6 * parameters * train_tps / peak_flops, 4),
        score_mfu=None if peak_flops is None else round(2 * parameters * score_tps / peak_flops, 4),
        host=f"{platform.node()} {platform.machine()} python {platform.python_version()}",
    )


def format_result(r: Result) -> str:
    """A markdown table of one run."""
    rows = [
        ("shape", f"{r.shape} ({r.parameters / 1e6:.2f} M parameters)"),
        ("device", r.device),
        ("pairs x mean tokens per side", f"{r.pairs} x {r.mean_tokens}"),
        ("training pairs/s", f"{r.train_pairs_per_s}"),
        ("training tokens/s", f"{r.train_tokens_per_s}"),
        ("scoring completions/s", f"{r.score_completions_per_s} ({r.score_completions} in {r.score_s} s)"),
        ("scoring tokens/s", f"{r.score_tokens_per_s}"),
    ]
    if r.peak_memory_gib is not None:
        rows.append(("peak GPU memory", f"{r.peak_memory_gib} GiB"))
    if r.train_mfu is not None:
        rows.append(("MFU training / scoring", f"{r.train_mfu:.1%} / {r.score_mfu:.1%}"))
    return "\n".join(["| measure | value |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in rows)])


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m perf.reward_model", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", choices=sorted(SHAPES), default="tiny", help="model shape (default: tiny)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--pairs", type=int, default=64, help="training pairs (default: 64)")
    p.add_argument("--tokens", type=int, default=256, help="about this many tokens per answer (default: 256)")
    p.add_argument("--batch", type=int, default=8, help="pairs per step (default: 8)")
    p.add_argument("--score-n", type=int, default=256, help="completions scored (default: 256)")
    p.add_argument("--peak-tflops", type=float, default=None,
                   help="the card's dense bf16 peak for MFU (H100 SXM: 989; H200: 989)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = run(shape=args.shape, pairs=args.pairs, tokens=args.tokens, batch=args.batch, device=args.device,
                 score_n=args.score_n, peak_tflops=args.peak_tflops)
    print(json.dumps(asdict(result), indent=2) if args.json else format_result(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
