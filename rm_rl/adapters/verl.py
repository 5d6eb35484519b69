"""verl: a custom reward function, per item or batched.

Point verl at this file and pick the function::

    custom_reward_function.path=$(python -c 'import rm_rl.adapters.verl as m; print(m.__file__)')
    custom_reward_function.name=compute_score          # or compute_score_batch with
    reward_model.reward_manager=batch                  # ... the batch reward manager

``ground_truth`` (the dataset's ``reward_model.ground_truth``) carries the tests: a list
of asserts, its JSON encoding, or ``{"tests": [...]}``. Options go in
``custom_reward_function.reward_kwargs`` (``reward: binary | pass_rate``, ``prefill``
for AceCoder-style prompts, and any :class:`~rm_rl.rewards.RewardConfig` field such as
``timeout_s``); verl passes them to every call. verl needs a number for every item, so
a completion the sandbox could not judge raises :class:`~rm_rl.errors.RewardUnavailableError`
instead of becoming 0.
"""

from __future__ import annotations

# Absolute imports: the framework loads this file by path, outside the rm_rl package.
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from rm_rl.dataset import resolve_tests
from rm_rl.errors import ConfigError
from acesandbox.extract import ACECODER_PREFILL
from rm_rl.rewards import CodeReward, RewardConfig, Score

__all__ = ["compute_score", "compute_score_batch", "reward_for", "to_result"]

_rewards: dict[tuple, CodeReward] = {}
_lock = threading.Lock()


def reward_for(options: Mapping[str, Any]) -> CodeReward:
    """The process-wide reward for these options (sandboxes shared across calls)."""
    opts = dict(options)
    kind = opts.pop("reward", "binary")
    opts.pop("prefill", None)
    if opts.setdefault("on_sandbox_error", "raise") != "raise":
        raise ConfigError("verl needs a number for every completion: on_sandbox_error must be 'raise' here")
    if "preload" in opts:
        opts["preload"] = tuple(opts["preload"])
    key = (kind, tuple(sorted(opts.items())))
    with _lock:
        reward = _rewards.get(key)
        if reward is None:
            reward = CodeReward(RewardConfig.build(kind, opts))
            _rewards[key] = reward
        return reward


def to_result(score: Score) -> dict[str, float]:
    """verl's per-item result: ``score`` plus numeric extras (same keys for every item)."""
    assert score.reward is not None
    return {
        "score": float(score.reward),
        "pass_rate": float(score.passed / score.total) if score.total else 0.0,
        "executed": 1.0 if score.outcome == "executed" else 0.0,
        "no_code": 1.0 if score.outcome == "no_code" else 0.0,
    }


def _prompt(extra_info: Any, prefill: Any) -> str | None:
    if prefill:
        return ACECODER_PREFILL if prefill is True or prefill == "acecoder" else str(prefill)
    if isinstance(extra_info, Mapping) and isinstance(extra_info.get("prompt"), str):
        return extra_info["prompt"]
    return None


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: Any = None,
    **options: Any,
) -> dict[str, float]:
    """Score one response (verl's naive reward manager calls this once per item)."""
    reward = reward_for(options)
    tests = resolve_tests(ground_truth, None, None, where="ground_truth")
    [score] = reward.score([solution_str], [tests], prompts=[_prompt(extra_info, options.get("prefill"))])
    return to_result(score)


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Any] | None = None,
    **options: Any,
) -> list[dict[str, float]]:
    """Score a whole batch in parallel (verl's ``batch`` reward manager)."""
    reward = reward_for(options)
    tests = [resolve_tests(g, None, None, where=f"ground_truths[{i}]") for i, g in enumerate(ground_truths)]
    infos = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
    prompts = [_prompt(info, options.get("prefill")) for info in infos]
    return [to_result(s) for s in reward.score(list(solution_strs), tests, prompts=prompts)]
