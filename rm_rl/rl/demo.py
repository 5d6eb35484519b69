"""The toy RL task of ``acecoder rl train --demo``: a tiny policy learns to pass tests.

A randomly initialised tiny causal LM (:mod:`rm_rl.tiny`, built offline) answers
"Set x to 3." with up to three code fragments, each one token: ``x = 1``, ``x = 2``,
``x = 3``, ``x += 1``, ``x *= 2``, ``1 / 0`` (a crash), or it stops. The answer runs
in the real sandbox against ``assert x == 3``; the binary reward is 1 iff it passes.
A uniformly random policy passes 9.0% of the time (counted over all fragment
sequences); GRPO drives the policy to the fragments that work. :func:`policy_reward`
measures a policy's mean reward by sampling, before and after training.

One target, not several: with two ("Set x to 2.", "Set x to 4.") the tiny policy
collapsed within the demo's budget to one program for both prompts (mean 0.5).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .config import RLConfig, load_rl_config
from .data import RLPrompt

__all__ = [
    "DemoResult",
    "FRAGMENTS",
    "TARGETS",
    "build_demo_policy",
    "demo_config",
    "demo_prompts",
    "policy_reward",
    "run_demo",
]

FRAGMENTS: tuple[str, ...] = ("x = 1\n", "x = 2\n", "x = 3\n", "x += 1\n", "x *= 2\n", "1 / 0\n")
TARGETS: tuple[int, ...] = (3,)


def demo_prompts() -> list[RLPrompt]:
    """One prompt per target value, each judged by one assert."""
    return [RLPrompt(f"x{n}", f"Set x to {n}.", (f"assert x == {n}",)) for n in TARGETS]


def build_demo_policy(path: str | Path, seed: int = 0) -> tuple[Any, Any, dict[str, Any]]:
    """The tiny causal LM with one token per fragment; ``(model, tokenizer, generation_kwargs)``
    where the generation kwargs let it sample only fragments and the end of turn."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..tiny import TinyModelConfig, build_tiny_model

    texts = [p.question for p in demo_prompts()] * 8 + list(FRAGMENTS) * 8
    folder = build_tiny_model(path, TinyModelConfig(head="causal-lm", vocab_size=300, seed=seed), texts=texts)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.add_tokens(list(FRAGMENTS))
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(folder)
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    allowed = {tokenizer.convert_tokens_to_ids(f) for f in FRAGMENTS} | {tokenizer.eos_token_id}
    suppress = [i for i in range(len(tokenizer)) if i not in allowed]
    return model, tokenizer, {"suppress_tokens": suppress}


def policy_reward(
    model: Any, tokenizer: Any, generation_kwargs: dict[str, Any], *, samples: int = 64, seed: int = 0,
    max_new_tokens: int = 3, executor: Any = None,
) -> float:
    """Mean binary sandbox reward of ``samples`` sampled answers per demo prompt."""
    import torch

    from ..rewards import binary

    prompts = demo_prompts()
    completions: list[str] = []
    tests: list[Any] = []
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for p in prompts:
            ids = tokenizer.apply_chat_template(p.messages(), add_generation_prompt=True, return_tensors="pt",
                                                return_dict=True)
            with torch.no_grad():
                out = model.generate(
                    **ids, do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=max_new_tokens,
                    num_return_sequences=samples, pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=tokenizer.eos_token_id, **generation_kwargs,
                )
            prompt_len = ids["input_ids"].shape[1]
            completions += tokenizer.batch_decode(out[:, prompt_len:], skip_special_tokens=True)
            tests += [list(p.tests)] * samples
    finally:
        torch.random.set_rng_state(generator_state)
    with binary(timeout_s=1.0, workers=2, fallback="text", executor=executor) as reward:
        rewards = reward(completions, tests=tests)
    judged = [r for r in rewards if r is not None]
    return sum(judged) / max(1, len(judged))


@dataclass(frozen=True)
class DemoResult:
    """Mean reward of the policy before and after, and the training run."""

    before: float
    after: float
    output_dir: Path
    steps: int
    report: Path | None

    def summary(self) -> str:
        return (
            f"demo: mean sandbox reward {self.before:.3f} before, {self.after:.3f} after {self.steps} steps "
            f"(a uniformly random policy: 0.09); report {self.report}"
        )


def demo_config(output_dir: str | Path, overrides: Sequence[str] = ()) -> RLConfig:
    return load_rl_config(None, overrides, preset="demo", output_dir=str(output_dir))


def run_demo(
    output_dir: str | Path = "acecoder-rl-demo", *, overrides: Sequence[str] = (), samples: int = 64,
    executor: Any = None,
) -> DemoResult:
    """Build the tiny policy, measure it, train it with GRPO on the toy task, measure it again."""
    from .train import train

    config = demo_config(output_dir, overrides)
    out = Path(config.output_dir)
    model, tokenizer, gen = build_demo_policy(out / "policy-init", seed=config.seed)
    before = policy_reward(model, tokenizer, gen, samples=samples, seed=config.seed,
                           max_new_tokens=config.max_completion_tokens, executor=executor)
    result = train(config, prompts=demo_prompts(), model=model, tokenizer=tokenizer, generation_kwargs=gen,
                   executor=executor)
    after = policy_reward(model, tokenizer, gen, samples=samples, seed=config.seed + 1,
                          max_new_tokens=config.max_completion_tokens, executor=executor)
    (out / "demo.json").write_text(json.dumps({"before": before, "after": after, "steps": result.steps}) + "\n")
    return DemoResult(before, after, out, result.steps, result.report)
