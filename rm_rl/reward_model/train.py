"""Train a Bradley-Terry reward model with TRL's RewardTrainer.

The pairs are tokenised here (:func:`~.data.encode_pairs`) and handed to TRL already
tokenised (``chosen_ids``/``rejected_ids``), so TRL's own length filter, which drops
long pairs silently, never runs: the cutoff is applied and reported by
:class:`~.data.LengthReport`. Training resumes from the newest checkpoint in the
output folder; the final folder is a standard one-label
``AutoModelForSequenceClassification`` checkpoint plus its tokenizer, and
``acecoder_rm.json`` records the data, the split, the length report and the metrics.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DatasetError
from .config import DEMO_DATA, RewardModelConfig
from .data import LengthReport, PreferencePair, encode_pairs, load_pairs, pairs_from_samples, split_by_question

__all__ = ["EVAL_PAIRS_FILE", "SUMMARY_FILE", "TrainResult", "demo_pairs", "train_reward_model", "write_pairs"]

log = logging.getLogger("rm_rl.reward_model")

SUMMARY_FILE = "acecoder_rm.json"
EVAL_PAIRS_FILE = "eval_pairs.jsonl"
"""The held-out pairs of a run, in TRL's conversational layout (``acecoder rm eval DIR --data DIR/eval_pairs.jsonl``)."""


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced."""

    output_dir: str
    train_pairs: int
    eval_pairs: int
    train_questions: int
    eval_questions: int
    length: LengthReport
    eval_length: LengthReport | None
    metrics: dict[str, float]
    resumed_from: str | None
    elapsed_s: float


def demo_pairs(workdir: str | Path) -> list[PreferencePair]:
    """The bundled pipeline run (offline, recorded answers, the real sandbox), paired with pass rates."""
    from harness.data import bundled_path
    from harness.pipeline import load_config, run_pipeline

    workdir = Path(workdir)
    samples = workdir / "sample.jsonl"
    if not samples.exists():
        config = load_config(
            bundled_path("pipeline.toml"),
            [f"output_dir={json.dumps(str(workdir))}", 'stages=["synth","filter","sample"]', "progress=false"],
        )
        run_pipeline(config)
    return pairs_from_samples(str(samples))


def write_pairs(path: str | Path, pairs: Sequence[PreferencePair]) -> None:
    """Pairs as JSONL in TRL's conversational layout, with ``id``, ``source`` and any pass rates."""
    with open(path, "w", encoding="utf-8") as f:
        for p in pairs:
            row: dict[str, Any] = {
                "id": p.id,
                "source": p.source,
                "prompt": [dict(m) for m in p.prompt],
                "chosen": [{"role": "assistant", "content": p.chosen}],
                "rejected": [{"role": "assistant", "content": p.rejected}],
            }
            for key in ("chosen_pass_rate", "rejected_pass_rate", "margin"):
                if getattr(p, key) is not None:
                    row[key] = getattr(p, key)
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _pairs(config: RewardModelConfig) -> tuple[list[PreferencePair], list[PreferencePair]]:
    if not config.train_data:
        raise ConfigError("train_data is empty: give a pairs file or dataset ('@demo' for the bundled pairs)")
    if config.train_data == DEMO_DATA:
        pairs = demo_pairs(Path(config.output_dir) / "demo-data")
    else:
        pairs = load_pairs(config.train_data, limit=config.limit)
    if config.limit is not None:
        pairs = pairs[: config.limit]
    if config.eval_data:
        held = load_pairs(config.eval_data)
        overlap = {p.id for p in pairs} & {p.id for p in held}
        if overlap:
            raise DatasetError(
                f"{len(overlap)} question(s) are in both train_data and eval_data (e.g. {min(overlap)!r})"
            )
        return pairs, held
    return split_by_question(pairs, config.eval_fraction, config.split_seed)


def _base_model(config: RewardModelConfig) -> str:
    if config.model != "tiny":
        return config.model
    from ..tiny import build_tiny_model

    path = Path(config.output_dir) / "tiny-base"
    if not (path / "config.json").exists():
        build_tiny_model(path)
    return str(path)


def _bf16(config: RewardModelConfig) -> bool:
    if config.precision != "auto":
        return config.precision == "bf16"
    import torch

    return not config.use_cpu and torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def _last_checkpoint(output_dir: str) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None


def trl_config(config: RewardModelConfig, *, has_eval: bool, world_size: int = 1) -> Any:
    """The ``trl.RewardConfig`` for this run (``max_length=None``: the cutoff was applied already)."""
    from trl import RewardConfig

    per_step = config.per_device_batch_size * world_size
    if config.effective_batch_size % per_step:
        raise ConfigError(
            f"effective_batch_size {config.effective_batch_size} is not a multiple of per_device_batch_size x "
            f"devices = {per_step}"
        )
    return RewardConfig(
        output_dir=config.output_dir,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_fraction,
        num_train_epochs=config.num_epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.per_device_batch_size,
        per_device_eval_batch_size=config.per_device_batch_size,
        gradient_accumulation_steps=config.effective_batch_size // per_step,
        bf16=_bf16(config),
        activation_checkpointing=config.gradient_checkpointing,
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        eval_strategy="epoch" if has_eval else "no",
        report_to=config.report_to,
        seed=config.seed,
        use_cpu=config.use_cpu,
        disable_tqdm=not config.progress,
        max_length=None,
        dataset_num_proc=None,
    )


def train_reward_model(
    config: RewardModelConfig,
    *,
    train_pairs: Sequence[PreferencePair] | None = None,
    eval_pairs: Sequence[PreferencePair] | None = None,
    callbacks: Sequence[Any] = (),
) -> TrainResult:
    """Train and save a reward model; pairs given here replace ``config.train_data``/``eval_data``."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import RewardTrainer

    t0 = time.monotonic()
    if train_pairs is None:
        train, held = _pairs(config)
    else:
        train, held = list(train_pairs), list(eval_pairs or ())
    if not train:
        raise DatasetError("no training pairs")
    base = _base_model(config)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    margin = config.margin_scale if config.margin == "pass_rate_gap" else None
    rows, length = encode_pairs(tokenizer, train, config.max_length_tokens, config.overlong, margin_scale=margin)
    log.info("train: %s", length.summary())
    if length.over_cutoff:
        log.warning("train: %s", length.summary())
    if not rows:
        raise DatasetError(f"every training pair was dropped: {length.summary()}")
    eval_rows: list[dict[str, Any]] = []
    eval_length = None
    if held:
        eval_rows, eval_length = encode_pairs(
            tokenizer, held, config.max_length_tokens, config.overlong, margin_scale=margin
        )
        log.info("eval: %s", eval_length.summary())
    args = trl_config(config, has_eval=bool(eval_rows))
    trainer = RewardTrainer(
        model=base,
        args=args,
        train_dataset=Dataset.from_list(rows),
        eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None,
        processing_class=tokenizer,
        callbacks=list(callbacks) or None,
    )
    resume = _last_checkpoint(config.output_dir) if config.resume else None
    if resume:
        log.info("resuming from %s", resume)
    output = trainer.train(resume_from_checkpoint=resume)
    metrics: dict[str, float] = {k: float(v) for k, v in output.metrics.items() if isinstance(v, (int, float))}
    if eval_rows:
        metrics.update({k: float(v) for k, v in trainer.evaluate().items() if isinstance(v, (int, float))})
    trainer.save_model(config.output_dir)
    tokenizer.save_pretrained(config.output_dir)
    result = TrainResult(
        output_dir=config.output_dir,
        train_pairs=len(rows),
        eval_pairs=len(eval_rows),
        train_questions=len({p.id for p in train}),
        eval_questions=len({p.id for p in held}),
        length=length,
        eval_length=eval_length,
        metrics=metrics,
        resumed_from=resume,
        elapsed_s=round(time.monotonic() - t0, 3),
    )
    if held:
        write_pairs(Path(config.output_dir) / EVAL_PAIRS_FILE, held)
    summary = {"config": dataclasses.asdict(config), "result": dataclasses.asdict(result)}
    Path(config.output_dir, SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return result
