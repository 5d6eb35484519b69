"""The RL run's configuration: one frozen value, named presets, a flat TOML file.

Presets are named after what they reproduce; a config file or keyword names one and
overrides any field. ``paper-rule`` is AceCoder's rule-reward RL run (arXiv 2502.01718:
REINFORCE++ in OpenRLHF from a base coder model, binary test-pass reward, KL 0.01,
8 samples per prompt, lr 5e-7, prompt and answer 2,048 tokens, 80 steps).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from harness.config import parse_assignment, read_config_file
from harness.errors import ConfigError as _FileError

from ..errors import ConfigError

__all__ = ["PRESETS", "Preset", "RLConfig", "load_rl_config"]


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class RLConfig:
    """One RL run: policy, data, rewards and the estimator's settings (defaults: ``paper-rule``)."""

    preset: str = field(default="paper-rule", metadata=_help("preset whose values the other fields start from"))
    model: str = field(
        default="Qwen/Qwen2.5-Coder-7B",
        metadata=_help("policy to start from: a local folder or hub name ('tiny': the offline tiny model)"),
    )
    train_data: str = field(
        default="",
        metadata=_help("AceCode-87K-style rows (id, question, test_cases/tests): JSONL/JSON/parquet file, "
                       "datasets folder or hub name; the harness's `hard` output for the paper's subset"),
    )
    split: str | None = field(default=None, metadata=_help("split of a dataset with splits"))
    id_key: str = field(default="id", metadata=_help("column with the row id"))
    tests_key: str | None = field(default=None, metadata=_help("column with the tests (default: tests, else test_cases)"))
    question_key: str | None = field(default=None, metadata=_help("column with the question (default: question)"))
    limit: int | None = field(default=None, metadata=_help("use only the first N rows"))
    output_dir: str = field(default="acecoder-rl", metadata=_help("checkpoints, metrics.jsonl and report.html"))
    reward: Literal["rule", "model", "both"] = field(
        default="rule",
        metadata=_help("rule: the sandbox runs the tests; model: a reward-model checkpoint scores; both: weighted sum"),
    )
    rule: Literal["binary", "pass_rate"] = field(
        default="binary", metadata=_help("rule reward: 1 iff every test passes (the paper's), or passed / total")
    )
    reward_model: str | None = field(
        default=None, metadata=_help("reward-model folder (rm_rl.reward_model's output) for reward=model|both")
    )
    rule_weight: float = field(default=1.0, metadata=_help("weight of the rule reward (reward=both)"))
    model_weight: float = field(default=1.0, metadata=_help("weight of the reward-model score (reward=both)"))
    format_weight: float = field(
        default=0.0, metadata=_help("weight of an R1-style format reward ('<think>...</think> answer'); 0: off")
    )
    reward_options: Mapping[str, Any] = field(
        default_factory=dict, metadata=_help("rule-reward options (timeout_s, workers, mode, ...), as rm_rl.binary's")
    )
    learning_rate: float = field(default=5e-7, metadata=_help("policy learning rate (AdamW, constant)"))
    kl_coef: float = field(default=0.01, metadata=_help("KL coefficient against the reference policy (0: no reference)"))
    samples_per_prompt: int = field(default=8, metadata=_help("completions sampled per prompt (the group)"))
    prompts_per_step: int = field(default=256, metadata=_help("prompts per rollout (x samples_per_prompt completions)"))
    micro_batch_size: int = field(default=8, metadata=_help("completions per forward/backward pass per device"))
    max_prompt_tokens: int = field(default=2048, metadata=_help("prompt cutoff, in tokens"))
    max_completion_tokens: int = field(default=2048, metadata=_help("answer cutoff, in tokens"))
    temperature: float = field(default=1.0, metadata=_help("sampling temperature of the rollouts"))
    advantage_scaling: Literal["batch", "group", "none"] = field(
        default="batch",
        metadata=_help("reward minus the group mean, divided by the std of the whole batch (REINFORCE++ whitening), "
                       "of the group (GRPO), or not at all (Dr. GRPO); TRL's scale_rewards"),
    )
    loss_type: Literal["grpo", "dapo", "dr_grpo", "bnpo"] = field(
        default="dapo", metadata=_help("TRL's token aggregation of the loss (dapo: mean over the batch's tokens)")
    )
    max_steps: int = field(default=80, metadata=_help("optimizer steps (the paper: 80)"))
    save_steps: int = field(default=20, metadata=_help("checkpoint every N steps (resume from the newest)"))
    logging_steps: int = field(default=1, metadata=_help("log every N steps"))
    seed: int = field(default=42, metadata=_help("seed of sampling, shuffling and initialisation"))
    resume: bool = field(default=True, metadata=_help("continue from the newest checkpoint in output_dir"))
    use_vllm: bool = field(default=False, metadata=_help("generate with vLLM (TRL's colocate mode; GPU only)"))
    reward_server: str | None = field(
        default=None,
        metadata=_help("launch: URL of a running `acecoder serve` for OpenRLHF's remote reward; "
                       "default: the adapter file (rewards scored in OpenRLHF's process)"),
    )
    gpus_per_node: int = field(default=8, metadata=_help("launch: GPUs per node"))
    nodes: int = field(default=1, metadata=_help("launch: nodes"))

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ConfigError(f"unknown preset {self.preset!r}; choose from {', '.join(PRESETS)}")
        for name, allowed in (
            ("reward", ("rule", "model", "both")),
            ("rule", ("binary", "pass_rate")),
            ("advantage_scaling", ("batch", "group", "none")),
            ("loss_type", ("grpo", "dapo", "dr_grpo", "bnpo")),
        ):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        for name in ("samples_per_prompt", "prompts_per_step", "micro_batch_size", "max_prompt_tokens",
                     "max_completion_tokens", "max_steps", "save_steps", "logging_steps", "gpus_per_node", "nodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        for name in ("learning_rate", "kl_coef", "rule_weight", "model_weight", "format_weight", "temperature"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.samples_per_prompt < 2:
            raise ConfigError("samples_per_prompt must be at least 2: the group mean is the baseline")
        if self.reward in ("model", "both") and not self.reward_model:
            raise ConfigError(f"reward={self.reward!r} needs reward_model= (a reward-model folder)")
        if self.reward == "rule" and self.reward_model:
            raise ConfigError("reward_model is set but reward='rule': set reward='model' or 'both', or drop it")
        if self.limit is not None and (isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1):
            raise ConfigError(f"limit must be a positive integer or None, got {self.limit!r}")
        from ..rewards import RewardConfig

        RewardConfig.build(self.rule, dict(self.reward_options))  # fail now on a bad option

    @classmethod
    def options(cls) -> dict[str, str]:
        """Field name -> help text."""
        return {f.name: str(f.metadata.get("help", "")) for f in fields(cls)}

    @classmethod
    def from_preset(cls, name: str = "paper-rule", **overrides: Any) -> RLConfig:
        """The preset's values, then ``overrides``; an unknown name fails with the closest valid one."""
        if name not in PRESETS:
            raise ConfigError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
        known = {f.name for f in fields(cls)}
        for key in overrides:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"unknown RL config key {key!r}{hint}")
        return cls(**{**PRESETS[name].values, **overrides, "preset": name})

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["reward_options"] = dict(self.reward_options)
        return out


@dataclass(frozen=True)
class Preset:
    """A named starting point: what it reproduces and the fields it sets."""

    summary: str
    values: Mapping[str, Any]
    versus_reinforce_pp: str


PRESETS: dict[str, Preset] = {
    "paper-rule": Preset(
        "AceCoder's rule-reward RL: binary test-pass reward, KL 0.01, 8 samples, lr 5e-7, 2048 + 2048 tokens",
        {"reward": "rule", "rule": "binary", "kl_coef": 0.01, "samples_per_prompt": 8, "learning_rate": 5e-7,
         "max_prompt_tokens": 2048, "max_completion_tokens": 2048, "advantage_scaling": "batch",
         "loss_type": "dapo", "max_steps": 80},
        "Same baseline (the group's mean reward), divided by the std of the batch's rewards where REINFORCE++ "
        "whitens the advantages themselves (batch mean out, divided by their std); the KL (k3, 0.01) is a loss "
        "term as in GRPO, whereas OpenRLHF's REINFORCE++ subtracts a per-token k1 KL from the reward before the "
        "advantage; one PPO-clipped update per rollout (TRL num_iterations=1).",
    ),
    "grpo": Preset(
        "plain GRPO (DeepSeekMath): group mean and group std, KL 0.04 as a loss, per-sequence length mean",
        {"reward": "rule", "rule": "binary", "kl_coef": 0.04, "samples_per_prompt": 8, "learning_rate": 1e-6,
         "advantage_scaling": "group", "loss_type": "grpo"},
        "Divides by the group's std, not the batch's (a prompt whose samples agree gets larger advantages); "
        "KL k3 in the loss; the loss is averaged per sequence, then over sequences.",
    ),
    "paper-model": Preset(
        "AceCoder's reward-model RL: the paper-rule estimator with a reward-model checkpoint as the reward",
        {"reward": "model", "kl_coef": 0.01, "samples_per_prompt": 8, "learning_rate": 5e-7,
         "max_prompt_tokens": 2048, "max_completion_tokens": 2048, "advantage_scaling": "batch",
         "loss_type": "dapo", "max_steps": 80},
        "As paper-rule (batch whitening, KL in the loss rather than in the reward); the reward is the RM's "
        "score of prompt + answer instead of the sandbox's verdict.",
    ),
    "demo": Preset(
        "the toy run of `acecoder rl train --demo`: a tiny offline policy on CPU, fragment vocabulary",
        {"model": "tiny", "reward": "rule", "rule": "binary", "kl_coef": 0.0, "samples_per_prompt": 8,
         "prompts_per_step": 2, "micro_batch_size": 16, "learning_rate": 0.01, "max_prompt_tokens": 64,
         "max_completion_tokens": 3, "advantage_scaling": "group", "loss_type": "dapo", "max_steps": 25,
         "save_steps": 10, "reward_options": {"timeout_s": 1.0, "workers": 2, "fallback": "text"}},
        "As grpo but without KL (no reference model) and a learning rate a tiny model needs.",
    ),
}


def load_rl_config(path: str | Path | None = None, overrides: Sequence[str] = (), **values: Any) -> RLConfig:
    """Read a flat TOML or JSON RL config (``preset = "..."`` plus any field), then
    ``overrides`` (``key=value``, value as JSON when it parses), then ``values``."""
    data: dict[str, Any] = {}
    try:
        if path is not None:
            data = read_config_file(path)
        for item in overrides:
            key, value = parse_assignment(item)
            data[key] = value
    except _FileError as exc:
        raise ConfigError(str(exc)) from None
    data.update(values)
    preset = data.pop("preset", "paper-rule")
    return RLConfig.from_preset(preset, **data)
