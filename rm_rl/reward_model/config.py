"""The reward-model training configuration: one frozen value, the paper's settings by default.

AceCoder (arXiv 2502.01718) trains its RMs with a full fine-tune of
Qwen2.5-Coder-Instruct: lr 1e-5, cosine schedule, warm-up 0.1, 1 epoch, effective batch
128, cutoff 2048 tokens (7B), bf16. :meth:`RewardModelConfig.demo` is the preset that
trains the tiny model (:mod:`rm_rl.tiny`) on the bundled pairs on a CPU in minutes.
A config file (TOML or JSON) holds the same fields, flat.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.config import read_config_file
from harness.errors import ConfigError as _FileError

from ..errors import ConfigError

__all__ = ["DEMO_DATA", "RewardModelConfig", "load_rm_config"]

DEMO_DATA = "@demo"
"""``train_data`` of the demo: the harness pipeline's bundled run, paired with pass rates."""


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class RewardModelConfig:
    """How to train a Bradley-Terry reward model with TRL's RewardTrainer (defaults: the paper's)."""

    model: str = field(
        default="Qwen/Qwen2.5-Coder-7B-Instruct",
        metadata=_help("base model: a local folder or hub name (a causal LM gets a new one-label head); "
                       "'tiny' builds the tiny offline model"),
    )
    train_data: str = field(
        default="", metadata=_help("pairs: JSONL/JSON/parquet file, datasets folder or hub name; '@demo': bundled")
    )
    output_dir: str = field(default="acecoder-rm", metadata=_help("where checkpoints and the final model go"))
    eval_data: str | None = field(
        default=None, metadata=_help("held-out pairs; default: eval_fraction of train_data's questions")
    )
    eval_fraction: float = field(
        default=0.05, metadata=_help("share of questions held out for eval (whole questions; 0: none)")
    )
    split_seed: int = field(default=0, metadata=_help("seed of the question split"))
    limit: int | None = field(default=None, metadata=_help("read only the first N pairs"))
    max_length_tokens: int = field(default=2048, metadata=_help("token cutoff of prompt + answer (paper: 2048 for 7B)"))
    overlong: Literal["truncate", "drop"] = field(
        default="truncate",
        metadata=_help("pairs over the cutoff (always counted and reported): truncate (keep the start and the "
                       "final token) or drop"),
    )
    margin: Literal["none", "pass_rate_gap"] = field(
        default="none",
        metadata=_help("none: plain Bradley-Terry; pass_rate_gap: loss -log sigmoid(r_c - r_r - m) with m from "
                       "the data's margin or margin_scale * pass-rate gap"),
    )
    margin_scale: float = field(default=1.0, metadata=_help("m = margin_scale * (chosen - rejected pass rate)"))
    learning_rate: float = field(default=1e-5, metadata=_help("peak learning rate (AdamW)"))
    lr_scheduler: str = field(default="cosine", metadata=_help("transformers scheduler name"))
    warmup_fraction: float = field(default=0.1, metadata=_help("share of the steps spent warming up"))
    num_epochs: float = field(default=1.0, metadata=_help("passes over the training pairs"))
    max_steps: int = field(default=-1, metadata=_help("stop after this many optimizer steps (-1: num_epochs)"))
    effective_batch_size: int = field(
        default=128, metadata=_help("pairs per optimizer step (per-device batch x accumulation x devices)")
    )
    per_device_batch_size: int = field(default=1, metadata=_help("pairs per forward pass per device"))
    precision: Literal["auto", "bf16", "fp32"] = field(
        default="auto", metadata=_help("auto: bf16 where the device supports it, else fp32")
    )
    gradient_checkpointing: bool = field(default=True, metadata=_help("trade compute for memory"))
    logging_steps: int = field(default=10, metadata=_help("log every N optimizer steps"))
    save_steps: int = field(default=200, metadata=_help("checkpoint every N optimizer steps"))
    save_total_limit: int | None = field(default=2, metadata=_help("checkpoints kept (older ones deleted)"))
    resume: bool = field(default=True, metadata=_help("continue from the newest checkpoint in output_dir"))
    report_to: str = field(default="none", metadata=_help("transformers integrations: none, tensorboard, wandb, ..."))
    seed: int = field(default=42, metadata=_help("training seed"))
    use_cpu: bool = field(default=False, metadata=_help("train on the CPU even where an accelerator exists"))
    progress: bool = field(default=True, metadata=_help("show TRL's progress bar"))

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigError("model is empty: name a folder or hub model, or 'tiny'")
        if self.overlong not in ("truncate", "drop"):
            raise ConfigError(f"overlong must be 'truncate' or 'drop', got {self.overlong!r}")
        if self.margin not in ("none", "pass_rate_gap"):
            raise ConfigError(f"margin must be 'none' or 'pass_rate_gap', got {self.margin!r}")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ConfigError(f"precision must be auto, bf16 or fp32, got {self.precision!r}")
        if not 0 <= self.eval_fraction < 1:
            raise ConfigError(f"eval_fraction must be in [0, 1), got {self.eval_fraction}")
        if not 0 <= self.warmup_fraction < 1:
            raise ConfigError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}")
        if self.max_length_tokens < 2:
            raise ConfigError(f"max_length_tokens must be at least 2, got {self.max_length_tokens}")
        for name in ("effective_batch_size", "per_device_batch_size", "logging_steps", "save_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.effective_batch_size % self.per_device_batch_size:
            raise ConfigError(
                f"effective_batch_size ({self.effective_batch_size}) must be a multiple of per_device_batch_size "
                f"({self.per_device_batch_size}); change one of them"
            )
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate}")

    @classmethod
    def demo(cls, output_dir: str = "acecoder-rm-demo", **changes: Any) -> RewardModelConfig:
        """The tiny model on the bundled pairs: a few minutes on a CPU, no download."""
        preset: dict[str, Any] = dict(
            model="tiny",
            train_data=DEMO_DATA,
            output_dir=output_dir,
            eval_fraction=0.2,
            max_length_tokens=512,
            learning_rate=1e-3,
            warmup_fraction=0.1,
            num_epochs=4.0,
            effective_batch_size=8,
            per_device_batch_size=8,
            precision="fp32",
            gradient_checkpointing=False,
            logging_steps=5,
            save_steps=20,
            use_cpu=True,
        )
        preset.update(changes)
        return cls(**preset)

    @classmethod
    def options(cls) -> dict[str, str]:
        """Field name -> help text (for ``--help`` and the docs)."""
        return {f.name: f.metadata["help"] for f in dataclasses.fields(cls)}


def load_rm_config(path: str | Path, **overrides: Any) -> RewardModelConfig:
    """A config from a TOML or JSON file of flat fields (or an ``[rm]`` table), with ``overrides`` on top."""
    try:
        data: Mapping[str, Any] = read_config_file(path)
    except _FileError as exc:
        raise ConfigError(str(exc)) from None
    if "rm" in data and isinstance(data["rm"], Mapping):
        data = data["rm"]
    names = {f.name for f in dataclasses.fields(RewardModelConfig)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}; valid: {sorted(names)}")
    return RewardModelConfig(**{**data, **overrides})
