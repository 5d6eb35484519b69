"""One RL step at toy scale on CPU, split into generation, reward and update.

    python -m perf.rl                          # 1, 4, 16 prompts x 8 samples, 3 steps each
    python -m perf.rl --prompts 1 4 --steps 5 --completion-tokens 32

The policy is the demo's (``rm_rl.rl.demo``: the tiny offline model choosing code
fragments, up to ``--completion-tokens`` of them), trained by TRL's GRPOTrainer through
``rm_rl.rl.train.build_trainer``; every completion runs in the real sandbox (2 workers).
``--shape qwen2.5-coder-0.5b`` uses a randomly initialised model of that shape instead
(same fragment vocabulary; bf16 on a GPU), ``--vllm`` generates with vLLM (TRL's
colocate mode; GPU only), ``--layers N`` cuts the shape's depth for a quick check.
Per step: generation (the policy's ``generate``), reward (the reward functions) and
update (the rest of the step: log-probabilities, loss, backward, optimizer). The first
step (start-up) is left out; the median of the others is printed, and the reward's
share of the step, which must stay small as the batch grows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "measure"]


SHAPES: dict[str, dict[str, Any]] = {
    "qwen2.5-coder-0.5b": {"vocab_size": 151936, "hidden_size": 896, "intermediate_size": 4864,
                           "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
                           "max_position_embeddings": 32768, "rope_theta": 1000000.0, "tie_word_embeddings": True},
}
"""Model shapes (Hugging Face config values) a step can be timed with, randomly initialised."""


def _shaped(shape: str, layers: int | None, tokenizer: Any, path: str) -> tuple[Any, dict[str, Any]]:
    """A random model of ``shape`` that samples only the demo's fragments (and stops); saved at ``path``."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    values = dict(SHAPES[shape])
    if layers is not None:
        values["num_hidden_layers"] = layers
    cfg = Qwen2Config(**values, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    model = AutoModelForCausalLM.from_config(cfg, dtype=dtype)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    from rm_rl.rl.demo import FRAGMENTS

    allowed = {tokenizer.convert_tokens_to_ids(f) for f in FRAGMENTS} | {tokenizer.eos_token_id}
    return model, {"suppress_tokens": [i for i in range(cfg.vocab_size) if i not in allowed]}


def measure(
    prompts: int, samples: int, steps: int, completion_tokens: int, workdir: str, *,
    shape: str | None = None, layers: int | None = None, vllm: bool = False,
) -> dict[str, Any]:
    """Median seconds per step in generation, reward and update for ``prompts x samples``."""
    from dataclasses import replace

    from transformers import TrainerCallback

    from rm_rl.rl.demo import build_demo_policy, demo_config, demo_prompts
    from rm_rl.rl.rewards import RewardClock, RuleReward
    from rm_rl.rl.train import build_trainer

    out = os.path.join(workdir, f"p{prompts}")
    config = demo_config(out, [f"prompts_per_step={prompts}", f"samples_per_prompt={samples}",
                               f"micro_batch_size={samples * min(prompts, 4)}", f"max_steps={steps}",
                               f"max_completion_tokens={completion_tokens}", "save_steps=100000"])
    model, tokenizer, gen = build_demo_policy(os.path.join(out, "init"), seed=0)
    if shape is not None:
        model, gen = _shaped(shape, layers, tokenizer, os.path.join(out, "shaped"))
    if vllm:
        config = replace(config, use_vllm=True, model=os.path.join(out, "shaped"))
        model = None
    trainer, _, funcs = build_trainer(config, demo_prompts(), model=model, tokenizer=tokenizer,
                                      generation_kwargs=gen)
    model = trainer.model
    clock = RewardClock()
    for f in funcs:
        if isinstance(f, RuleReward):
            f.clock = clock  # this script's clock, read at every step's end
    generate_s = [0.0]
    if vllm:  # TRL generates through its vLLM engine, not model.generate
        engine = trainer.vllm_generation  # TRL 1.16: its VLLMGeneration.generate wraps the engine
        inner_vllm = engine.generate

        def timed_vllm(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner_vllm(*args, **kwargs)
            finally:
                generate_s[0] += time.perf_counter() - t0

        engine.generate = timed_vllm
    inner = model.generate

    def timed_generate(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            generate_s[0] += time.perf_counter() - t0

    model.generate = timed_generate  # type: ignore[method-assign]
    rows: list[dict[str, float]] = []

    class Split(TrainerCallback):  # type: ignore[misc]
        def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.t0 = time.perf_counter()
            generate_s[0] = 0.0
            clock.take()

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            step = time.perf_counter() - self.t0
            reward = clock.take()
            rows.append({"step_s": step, "generation_s": generate_s[0], "reward_s": reward,
                         "update_s": step - generate_s[0] - reward})

    trainer.add_callback(Split())
    trainer.train()
    kept = rows[1:] or rows
    med = {k: round(statistics.median(r[k] for r in kept), 4) for k in kept[0]}
    return {"prompts": prompts, "samples": samples, "completions": prompts * samples, **med,
            "reward_share": round(med["reward_s"] / med["step_s"], 3), "steps": rows}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m perf.rl", description=__doc__.split("\n\n")[0])
    p.add_argument("--prompts", type=int, nargs="+", default=[1, 4, 16], help="prompts per step (default 1 4 16)")
    p.add_argument("--samples", type=int, default=8, help="samples per prompt (default 8)")
    p.add_argument("--steps", type=int, default=3, help="steps per size, the first left out (default 3)")
    p.add_argument("--completion-tokens", type=int, default=16, help="fragments per answer at most (default 16)")
    p.add_argument("--shape", choices=sorted(SHAPES), default=None, help="a random model of this shape")
    p.add_argument("--layers", type=int, default=None, help="with --shape: this many layers (a quick check)")
    p.add_argument("--vllm", action="store_true", help="generate with vLLM (GPU)")
    p.add_argument("--json", default=None, help="write the result to this file")
    args = p.parse_args(argv)
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    print(f"device: {device}; model: {args.shape or 'the demo tiny policy'}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.prompts:
            res = measure(n, args.samples, args.steps, args.completion_tokens, tmp, shape=args.shape,
                          layers=args.layers, vllm=args.vllm)
            results.append(res)
            print(f"{n:>3} prompts x {args.samples}: step {res['step_s']:.2f} s = generation {res['generation_s']:.2f}"
                  f" + reward {res['reward_s']:.2f} + update {res['update_s']:.2f} "
                  f"(reward share {res['reward_share']:.0%})", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
