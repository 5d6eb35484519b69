"""``acecoder rl launch openrlhf|verl``: the paper's run on the frameworks' distributed engines.

:func:`plan_launch` writes the prompts in the framework's layout and returns the command
line for the framework version given (or installed): OpenRLHF's ``train_ppo_ray`` (its
flags became dotted names in 0.10.2: ``--actor.model_name_or_path`` for ``--pretrain``),
verl's ``main_ppo`` Hydra overrides (the reward settings moved under ``reward.`` in 0.8,
whose reward loop has per-item managers only: ``compute_score`` with ``naive`` there,
``compute_score_batch`` with the ``batch`` manager before).
Rewards come from the toolkit's adapter files (scored in the framework's reward process)
or, for OpenRLHF, a running reward server (``reward_server = "http://..."``).
"""

from __future__ import annotations

import importlib.metadata
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import ConfigError
from .config import RLConfig
from .data import RLPrompt, write_openrlhf, write_verl

__all__ = ["DEFAULT_VERSIONS", "Launch", "framework_version", "plan_launch"]

Framework = Literal["openrlhf", "verl"]

DEFAULT_VERSIONS: dict[str, str] = {"openrlhf": "0.11.2", "verl": "0.9.1"}
"""The version commands are written for when the framework is not installed here and none is given."""

OPENRLHF_DOTTED = (0, 10, 2)
VERL_REWARD_SECTION = (0, 8, 0)


@dataclass(frozen=True)
class Launch:
    """What :func:`plan_launch` wrote and the command that runs it."""

    framework: str
    version: str
    data_path: Path
    command: tuple[str, ...]
    script_path: Path

    def shell(self) -> str:
        """The command, one argument per line, ready to paste."""
        parts = [shlex.quote(a) for a in self.command]
        lines = [" ".join(parts[:3])]
        for part in parts[3:]:
            if lines[-1].startswith("--") and " " not in lines[-1] and not part.startswith("--"):
                lines[-1] += f" {part}"  # a flag and its value on one line
            else:
                lines.append(part)
        return " \\\n  ".join(lines) + "\n"


def _version_tuple(version: str) -> tuple[int, ...]:
    nums = re.findall(r"\d+", version.split("+")[0])[:3]
    if not nums:
        raise ConfigError(f"cannot read a version number from {version!r}")
    return tuple(int(n) for n in nums) + (0,) * (3 - len(nums))


def framework_version(framework: str, given: str | None = None) -> str:
    """``given``, else the installed version, else :data:`DEFAULT_VERSIONS`'s."""
    if given:
        _version_tuple(given)
        return given
    try:
        return importlib.metadata.version(framework)
    except importlib.metadata.PackageNotFoundError:
        return DEFAULT_VERSIONS[framework]


def _adapter(name: str) -> str:
    import importlib

    return str(Path(importlib.import_module(f"rm_rl.adapters.{name}").__file__ or "").resolve())


def _num(value: float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def openrlhf_command(config: RLConfig, data: Path, version: str) -> list[str]:
    """``python3 -m openrlhf.cli.train_ppo_ray ...`` in the flag style of ``version``."""
    dotted = _version_tuple(version) >= OPENRLHF_DOTTED
    if config.reward == "both":
        raise ConfigError("OpenRLHF takes one reward: use reward='rule' or 'model' (or `acecoder rl train` for both)")
    grpo = config.advantage_scaling == "group"
    out = Path(config.output_dir)
    n_gpus = config.gpus_per_node
    settings: list[tuple[str, str, str | None]] = [  # (underscore name, dotted name, value; None: a switch)
        ("pretrain", "actor.model_name_or_path", config.model),
        ("prompt_data", "data.prompt_dataset", str(data)),
        ("input_key", "data.input_key", "prompt"),
        ("label_key", "data.label_key", "tests"),
        ("apply_chat_template", "data.apply_chat_template", None),
        ("advantage_estimator", "algo.advantage.estimator", "group_norm" if grpo else "reinforce_baseline"),
        ("init_kl_coef", "algo.kl.init_coef", _num(config.kl_coef)),
    ]
    if grpo:  # GRPO puts the KL in the loss with the k3 estimator
        settings += [("use_kl_loss", "algo.kl.use_loss", None), ("kl_estimator", "algo.kl.estimator", "k3")]
    if config.reward == "rule":
        settings.append(("remote_rm_url", "reward.remote_url", config.reward_server or _adapter("openrlhf")))
    else:
        settings.append(("reward_pretrain", "reward.model_name_or_path", str(config.reward_model)))
    settings += [
        ("n_samples_per_prompt", "rollout.n_samples_per_prompt", str(config.samples_per_prompt)),
        ("actor_learning_rate", "actor.adam.lr", _num(config.learning_rate)),
        ("max_len", "data.max_len", str(config.max_prompt_tokens + config.max_completion_tokens)),
        ("max_new_tokens", "rollout.max_new_tokens", str(config.max_completion_tokens)),
        ("rollout_batch_size", "rollout.batch_size", str(config.prompts_per_step)),
        ("train_batch_size", "train.batch_size", str(config.prompts_per_step * config.samples_per_prompt)),
        ("micro_rollout_batch_size", "rollout.micro_batch_size", str(config.micro_batch_size)),
        ("micro_train_batch_size", "train.micro_batch_size", str(config.micro_batch_size)),
        ("max_epochs", "train.max_epochs", "1"),
        ("num_episodes", "train.num_episodes", "1"),
        ("temperature", "rollout.temperature", _num(config.temperature)),
        ("seed", "train.seed", str(config.seed)),
        ("save_path", "ckpt.output_dir", str(out / "final")),
        ("ckpt_path", "ckpt.path", str(out / "checkpoints")),
        ("save_steps", "ckpt.save_steps", str(config.save_steps)),
        ("logging_steps", "logger.logging_steps", str(config.logging_steps)),
        ("zero_stage", "ds.zero_stage", "3"),
        ("param_dtype", "ds.param_dtype", "bf16"),
        ("gradient_checkpointing", "actor.gradient_checkpointing_enable", None),
        ("actor_num_nodes", "actor.num_nodes", str(config.nodes)),
        ("actor_num_gpus_per_node", "actor.num_gpus_per_node", str(n_gpus)),
        ("ref_num_nodes", "ref.num_nodes", str(config.nodes)),
        ("ref_num_gpus_per_node", "ref.num_gpus_per_node", str(n_gpus)),
        ("vllm_num_engines", "vllm.num_engines", str(n_gpus * config.nodes)),
        ("vllm_tensor_parallel_size", "vllm.tensor_parallel_size", "1"),
        ("colocate_all_models", "train.colocate_all", None),
        ("vllm_enable_sleep", "vllm.enable_sleep", None),
        ("deepspeed_enable_sleep", "ds.enable_sleep", None),
    ]
    if config.resume:
        settings.append(("load_checkpoint", "ckpt.load_enable", None))
    cmd = ["python3", "-m", "openrlhf.cli.train_ppo_ray"]
    for old, new, value in settings:
        cmd.append(f"--{new if dotted else old}")
        if value is not None:
            cmd.append(value)
    return cmd


def verl_command(config: RLConfig, data: Path, version: str) -> list[str]:
    """``python3 -m verl.trainer.main_ppo key=value ...`` for ``version``'s config schema."""
    section = _version_tuple(version) >= VERL_REWARD_SECTION
    if config.reward == "both":
        raise ConfigError("the verl launch takes one reward: use reward='rule' or 'model' (or `acecoder rl train`)")
    grpo = config.advantage_scaling == "group"
    micro = str(config.micro_batch_size)
    overrides: list[tuple[str, str]] = [
        ("data.train_files", str(data)),
        ("data.val_files", str(data)),
        ("data.prompt_key", "prompt"),
        ("data.max_prompt_length", str(config.max_prompt_tokens)),
        ("data.max_response_length", str(config.max_completion_tokens)),
        ("data.train_batch_size", str(config.prompts_per_step)),
        ("actor_rollout_ref.model.path", config.model),
        ("actor_rollout_ref.actor.optim.lr", _num(config.learning_rate)),
        ("actor_rollout_ref.actor.ppo_mini_batch_size", str(config.prompts_per_step)),
        ("actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu", micro),
        ("actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu", micro),
        ("actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu", micro),
        ("actor_rollout_ref.rollout.name", "vllm"),
        ("actor_rollout_ref.rollout.n", str(config.samples_per_prompt)),
        ("actor_rollout_ref.rollout.temperature", _num(config.temperature)),
        ("algorithm.adv_estimator", "grpo" if grpo else "reinforce_plus_plus_baseline"),
    ]
    if grpo:  # GRPO: KL as a loss term (k3, "low_var_kl"), none in the reward
        overrides += [
            ("algorithm.use_kl_in_reward", "False"),
            ("actor_rollout_ref.actor.use_kl_loss", "True"),
            ("actor_rollout_ref.actor.kl_loss_coef", _num(config.kl_coef)),
            ("actor_rollout_ref.actor.kl_loss_type", "low_var_kl"),
        ]
    else:  # REINFORCE++: the KL penalty is subtracted from the reward
        overrides += [
            ("algorithm.use_kl_in_reward", "True"),
            ("algorithm.kl_ctrl.kl_coef", _num(config.kl_coef)),
            ("actor_rollout_ref.actor.use_kl_loss", "False"),
        ]
    if config.reward == "rule" and section:  # verl's reward loop: per-item managers only (no "batch")
        overrides += [
            ("reward.custom_reward_function.path", _adapter("verl")),
            ("reward.custom_reward_function.name", "compute_score"),
            ("reward.reward_manager.name", "naive"),
        ]
    elif config.reward == "rule":
        overrides += [
            ("custom_reward_function.path", _adapter("verl")),
            ("custom_reward_function.name", "compute_score_batch"),
            ("reward_model.reward_manager", "batch"),
        ]
    elif section:
        overrides += [("reward.reward_model.enable", "True"), ("reward.reward_model.model_path", str(config.reward_model))]
    else:
        overrides += [("reward_model.enable", "True"), ("reward_model.model.path", str(config.reward_model))]
    overrides += [
        ("trainer.total_training_steps", str(config.max_steps)),
        ("trainer.save_freq", str(config.save_steps)),
        ("trainer.test_freq", "-1"),
        ("trainer.val_before_train", "False"),
        ("trainer.default_local_dir", str(Path(config.output_dir) / "checkpoints")),
        ("trainer.resume_mode", "auto" if config.resume else "disable"),
        ("trainer.n_gpus_per_node", str(config.gpus_per_node)),
        ("trainer.nnodes", str(config.nodes)),
        ("trainer.logger", "[console]"),
        ("trainer.project_name", "acecoder"),
        ("trainer.experiment_name", config.preset),
    ]
    return ["python3", "-m", "verl.trainer.main_ppo", *(f"{k}={v}" for k, v in overrides)]


def plan_launch(
    framework: str, config: RLConfig, prompts: list[RLPrompt], *, version: str | None = None
) -> Launch:
    """Write the data and ``launch.sh`` under ``output_dir``; the command is returned, not run."""
    if framework not in ("openrlhf", "verl"):
        raise ConfigError(f"framework must be 'openrlhf' or 'verl', got {framework!r}")
    found = framework_version(framework, version)
    out = Path(config.output_dir)
    if framework == "openrlhf":
        data = write_openrlhf(prompts, out / "data" / "prompts.jsonl")
        command = openrlhf_command(config, data, found)
    else:
        data = write_verl(prompts, out / "data" / "train.parquet")
        command = verl_command(config, data, found)
    launch = Launch(framework, found, data, tuple(command), out / f"launch-{framework}.sh")
    launch.script_path.write_text(
        f"#!/bin/sh\n# {framework} {found}, preset {config.preset}: written by `acecoder rl launch`\n"
        + launch.shell(),
        encoding="utf-8",
    )
    return launch
