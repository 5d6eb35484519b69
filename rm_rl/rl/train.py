"""``acecoder rl train``: TRL's GRPOTrainer with the toolkit's rewards, resumable, logged.

Every logging step appends one line to ``output_dir/metrics.jsonl`` with TRL's metrics
(``reward``, ``kl``, ``completions/mean_length``, ...) and the run's own:
``rule/pass_rate``, ``rule/unjudged_frac`` (share of samples the sandbox could not
judge; their reward is None and TRL leaves them out), ``time/reward_frac`` (share of
the step's wall time spent scoring) and ``time/step_s``. At the end
``output_dir/report.html`` draws those curves. A run whose ``output_dir`` holds a
checkpoint continues from the newest one (``resume = false`` starts over).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..rewards import CodeReward, RewardConfig
from .config import RLConfig
from .data import RLPrompt, load_prompts
from .rewards import FormatReward, RewardClock, RuleReward

__all__ = ["TrainResult", "build_trainer", "grpo_args", "read_metrics", "train"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """Where the run went and how it ended."""

    output_dir: Path
    steps: int
    resumed_from: str | None
    metrics: list[dict[str, Any]] = field(default_factory=list)
    report: Path | None = None

    def summary(self) -> str:
        last = self.metrics[-1] if self.metrics else {}
        reward = last.get("reward")
        shown = f"{reward:.3f}" if isinstance(reward, (int, float)) else "n/a"
        return (
            f"{self.steps} steps in {self.output_dir}"
            + (f" (resumed from {self.resumed_from})" if self.resumed_from else "")
            + f"; last reward mean {shown}; report {self.report}"
        )


def grpo_args(config: RLConfig, **extra: Any) -> Any:
    """The ``trl.GRPOConfig`` of ``config`` (one optimizer step per rollout of
    ``prompts_per_step x samples_per_prompt`` completions)."""
    import torch
    from trl import GRPOConfig

    total = config.prompts_per_step * config.samples_per_prompt
    micro = min(config.micro_batch_size, total)
    if total % micro or micro % config.samples_per_prompt and config.samples_per_prompt % micro:
        raise ConfigError(
            f"micro_batch_size ({micro}) must divide prompts_per_step x samples_per_prompt ({total}) and be a "
            f"multiple or divisor of samples_per_prompt ({config.samples_per_prompt})"
        )
    cuda = torch.cuda.is_available()
    values: dict[str, Any] = {
        "output_dir": config.output_dir,
        "per_device_train_batch_size": micro,
        "gradient_accumulation_steps": total // micro,
        "num_generations": config.samples_per_prompt,
        "learning_rate": config.learning_rate,
        "lr_scheduler_type": "constant",
        "warmup_steps": 0,
        "beta": config.kl_coef,
        "scale_rewards": config.advantage_scaling,
        "loss_type": config.loss_type,
        "num_iterations": 1,
        "max_completion_length": config.max_completion_tokens,
        "temperature": config.temperature,
        "max_steps": config.max_steps,
        "save_steps": config.save_steps,
        "save_strategy": "steps",
        "logging_steps": config.logging_steps,
        "seed": config.seed,
        "data_seed": config.seed,
        "use_vllm": config.use_vllm,
        "report_to": "none",
        "bf16": cuda and torch.cuda.is_bf16_supported(),
        "use_cpu": not cuda,
        "disable_tqdm": True,
        "remove_unused_columns": False,
    }
    if config.use_vllm:
        values["vllm_mode"] = "colocate"
    values.update(extra)
    return GRPOConfig(**values)


def _rewards(config: RLConfig, clock: RewardClock, executor: Any = None) -> tuple[list[Any], list[float]]:
    funcs: list[Any] = []
    weights: list[float] = []
    if config.reward in ("rule", "both"):
        reward = CodeReward(RewardConfig.build(config.rule, dict(config.reward_options)), executor=executor)
        funcs.append(RuleReward(reward, clock))
        weights.append(config.rule_weight if config.reward == "both" else 1.0)
    if config.reward in ("model", "both"):
        funcs.append(str(config.reward_model))  # TRL loads it as a one-label sequence classifier
        weights.append(config.model_weight if config.reward == "both" else 1.0)
    if config.format_weight:
        funcs.append(FormatReward())
        weights.append(config.format_weight)
    return funcs, weights


def _dataset(prompts: list[RLPrompt], tokenizer: Any, max_prompt_tokens: int, min_rows: int) -> Any:
    from datasets import Dataset

    rows = []
    dropped = 0
    for p in prompts:
        ids = tokenizer.apply_chat_template(p.messages(), add_generation_prompt=True, tokenize=True)
        if hasattr(ids, "keys"):
            ids = ids["input_ids"]
        if len(ids) > max_prompt_tokens:
            dropped += 1
            continue
        rows.append({"prompt": p.messages(), "tests": json.dumps(list(p.tests)), "id": p.id})
    if dropped:
        log.warning("%d prompts over max_prompt_tokens=%d left out", dropped, max_prompt_tokens)
    if not rows:
        raise ConfigError(f"no prompt fits max_prompt_tokens={max_prompt_tokens}")
    if len(rows) < min_rows:  # fewer prompts than one step takes: repeat them (an epoch must hold a step)
        rows = rows * -(-min_rows // len(rows))
    return Dataset.from_list(rows)


class _Log:
    """A TrainerCallback that times steps and appends every log to metrics.jsonl."""

    def __init__(self, path: Path, clock: RewardClock) -> None:
        self.path = path
        self.clock = clock
        self.step_s = 0.0
        self.steps = 0
        self.reward_s = 0.0
        self._t0 = 0.0

    def callback(self) -> Any:
        from transformers import TrainerCallback

        outer = self

        class Callback(TrainerCallback):  # type: ignore[misc]
            def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                outer._t0 = time.perf_counter()

            def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                outer.step_s += time.perf_counter() - outer._t0
                outer.steps += 1
                outer.reward_s += outer.clock.take()

            def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
                if not logs or "reward" not in logs:
                    return
                row = {"step": state.global_step, **{k: v for k, v in logs.items() if isinstance(v, (int, float))}}
                if outer.steps:
                    row["time/step_s"] = outer.step_s / outer.steps
                    row["time/reward_frac"] = outer.reward_s / outer.step_s if outer.step_s else 0.0
                outer.step_s = outer.reward_s = 0.0
                outer.steps = 0
                with outer.path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")

        return Callback()


def build_trainer(
    config: RLConfig,
    prompts: list[RLPrompt],
    *,
    model: Any = None,
    tokenizer: Any = None,
    generation_kwargs: dict[str, Any] | None = None,
    executor: Any = None,
) -> tuple[Any, _Log, list[Any]]:
    """A ready ``GRPOTrainer`` (not started), its metrics logger and its reward functions."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOTrainer

    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    source = config.model
    if source == "tiny" and (model is None or tokenizer is None):  # the offline tiny policy (rm_rl.tiny)
        from ..tiny import TinyModelConfig, build_tiny_model

        source = str(build_tiny_model(out / "tiny-init", TinyModelConfig(head="causal-lm", seed=config.seed)))
    if tokenizer is None:
        tokenizer = AutoTokenizer.from_pretrained(source)
    if model is None:
        model = AutoModelForCausalLM.from_pretrained(source)
    clock = RewardClock()
    funcs, weights = _rewards(config, clock, executor)
    extra: dict[str, Any] = {"reward_weights": weights}
    if generation_kwargs:
        extra["generation_kwargs"] = generation_kwargs
    args = grpo_args(config, **extra)
    logger = _Log(out / "metrics.jsonl", clock)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=args,
        train_dataset=_dataset(prompts, tokenizer, config.max_prompt_tokens, 4 * config.prompts_per_step),
        processing_class=tokenizer,
        callbacks=[logger.callback()],
    )
    return trainer, logger, funcs


def read_metrics(output_dir: str | Path) -> list[dict[str, Any]]:
    """metrics.jsonl's rows, one per step (a resumed run's later row for a step wins)."""
    path = Path(output_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    by_step: dict[int, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            by_step[int(row["step"])] = row
    return [by_step[k] for k in sorted(by_step)]


def train(
    config: RLConfig,
    *,
    prompts: list[RLPrompt] | None = None,
    model: Any = None,
    tokenizer: Any = None,
    generation_kwargs: dict[str, Any] | None = None,
    executor: Any = None,
) -> TrainResult:
    """Train with GRPOTrainer; resume from ``output_dir``'s newest checkpoint if there is one."""
    from transformers.trainer_utils import get_last_checkpoint

    from .report import write_report

    if prompts is None:
        prompts = load_prompts(config)
    out = Path(config.output_dir)
    last = get_last_checkpoint(str(out)) if config.resume and out.is_dir() else None
    if last is None and (out / "metrics.jsonl").exists():
        (out / "metrics.jsonl").unlink()  # a fresh run: no curves of an older one
    trainer, _logger, funcs = build_trainer(
        config, prompts, model=model, tokenizer=tokenizer, generation_kwargs=generation_kwargs, executor=executor
    )
    (out / "rl_config.json").write_text(json.dumps(config.to_dict(), indent=2, default=str), encoding="utf-8")
    try:
        trainer.train(resume_from_checkpoint=last)
    finally:
        for f in funcs:
            if isinstance(f, RuleReward):
                f.close()
    warnings = [w for f in funcs if isinstance(f, RuleReward) for w in f.reward.stats.snapshot()["warnings"]]
    trainer.save_model(str(out / "final"))
    metrics = read_metrics(out)
    report = write_report(metrics, out / "report.html", title=f"acecoder rl train: {config.preset}", warnings=warnings)
    return TrainResult(out, int(trainer.state.global_step), last, metrics, report)
