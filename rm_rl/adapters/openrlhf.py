"""OpenRLHF: ``--remote_rm_url`` as a Python file, ``reward_func(queries, prompts, labels)``.

OpenRLHF loads the file given to ``--remote_rm_url`` (when it ends in ``.py``) and calls
its module-level ``reward_func``. This module is such a file (binary reward, tests
from ``--label_key`` labels)::

    --remote_rm_url $(python -c 'import rm_rl.adapters.openrlhf as m; print(m.__file__)') --label_key tests

For other options write a two-line file::

    from rm_rl.adapters.openrlhf import make_reward_func
    reward_func = make_reward_func(reward="pass_rate", dataset="acecode.jsonl", timeout_s=3)

``labels[i]`` holds the tests (a list or its JSON), or a row id of ``dataset``; without
labels the prompt's user turn is looked up in ``dataset``. ``queries[i]`` is the prompt
plus the response. OpenRLHF cannot take a None reward, so a completion the sandbox
could not judge raises :class:`~rm_rl.errors.RewardUnavailableError` (recent OpenRLHF
then leaves that sample unrewarded) instead of scoring 0. The HTTP form of
``--remote_rm_url`` is the reward server, ``acecoder serve``.
"""

from __future__ import annotations

# Absolute imports: the framework loads this file by path, outside the rm_rl package.
import threading
from collections.abc import Callable, Sequence
from typing import Any

from rm_rl.dataset import ProblemIndex, load_problems, resolve_tests
from rm_rl.errors import ConfigError
from acesandbox.extract import split_query
from rm_rl.rewards import CodeReward, RewardConfig, Score

__all__ = ["OpenRLHFReward", "make_reward_func", "reward_func", "to_response"]


def to_response(scores: Sequence[Score], *, as_tensors: bool) -> dict[str, Any]:
    """OpenRLHF's result: ``rewards``, ``scores`` (for dynamic filtering) and ``extra_logs``."""
    rewards = [s.reward for s in scores]
    rates = [s.passed / s.total if s.total else 0.0 for s in scores]
    extra = {
        "pass_rate": rates,
        "executed": [1.0 if s.outcome == "executed" else 0.0 for s in scores],
        "sandbox_error": [1.0 if s.outcome == "sandbox_error" else 0.0 for s in scores],
    }
    out: dict[str, Any] = {"rewards": rewards, "scores": list(rewards), "extra_logs": extra}
    if as_tensors:
        import torch

        out = {
            "rewards": torch.tensor(rewards, dtype=torch.float32),
            "scores": torch.tensor(rewards, dtype=torch.float32),
            "extra_logs": {k: torch.tensor(v, dtype=torch.float32) for k, v in extra.items()},
        }
    return out


class OpenRLHFReward:
    """``reward_func(queries, prompts, labels)`` backed by an rm_rl reward; picklable.

    ``dataset``: a path or hub name loaded on first use, for labels that are row ids
    or for finding tests by the prompt's question.
    """

    def __init__(self, reward: CodeReward, *, dataset: str | None = None, tensors: bool = True) -> None:
        if reward.config.on_sandbox_error != "raise":
            raise ConfigError(
                "OpenRLHF needs a number for every sample: build the reward with on_sandbox_error='raise'"
            )
        self.reward = reward
        self.dataset = dataset
        self.tensors = tensors
        self._index: ProblemIndex | None = None
        self._lock = threading.Lock()

    def index(self) -> ProblemIndex | None:
        if self.dataset is None:
            return None
        with self._lock:
            if self._index is None:
                self._index = load_problems(self.dataset)
            return self._index

    def __call__(
        self,
        queries: Sequence[str],
        prompts: Sequence[str] | None = None,
        labels: Sequence[Any] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        index = self.index()
        pairs = [split_query(q, prompts[i] if prompts else None) for i, q in enumerate(queries)]
        tests = [
            resolve_tests(labels[i] if labels else None, pairs[i][0] or queries[i], index, where=f"labels[{i}]")
            for i in range(len(queries))
        ]
        scores = self.reward.score([r for _, r in pairs], tests, prompts=[p for p, _ in pairs])
        return to_response(scores, as_tensors=self.tensors and _torch_available())

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_index=None, _lock=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def make_reward_func(*, reward: str = "binary", dataset: str | None = None, **options: Any) -> Callable[..., dict]:
    """A module-level-style ``reward_func`` for an OpenRLHF reward file.

    Returns a plain function (OpenRLHF may wrap it with ``ray.remote``, which takes
    functions, not callable objects). ``options``: :class:`~rm_rl.rewards.RewardConfig`
    fields.
    """
    options.setdefault("on_sandbox_error", "raise")
    scorer = OpenRLHFReward(CodeReward(RewardConfig.build(reward, options)), dataset=dataset)

    def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any], **kwargs: Any) -> dict:
        return scorer(queries, prompts, labels, **kwargs)

    reward_func.scorer = scorer  # type: ignore[attr-defined]
    return reward_func


# Built at import (cheap: no sandbox starts before the first call). A plain module global
# without locks, so the function below also survives cloudpickle by value (ray.remote).
_DEFAULT = OpenRLHFReward(CodeReward(RewardConfig(kind="binary", on_sandbox_error="raise")))


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any], **kwargs: Any) -> dict:
    """The default OpenRLHF reward: binary, tests from the labels."""
    return _DEFAULT(queries, prompts, labels, **kwargs)
