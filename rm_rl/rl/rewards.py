"""The reward functions an RL run hands to TRL: rule (sandbox), model (a reward-model
checkpoint), format (R1-style), each TRL-contract callables that also count what the
run logs: pass rate, share of samples the sandbox could not judge, seconds spent."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from acesandbox.extract import has_think_format

from ..rewards import CodeReward

__all__ = ["FormatReward", "RewardClock", "RuleReward"]


class RewardClock:
    """Seconds spent in reward functions since the last :meth:`take`; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds = 0.0

    def add(self, seconds: float) -> None:
        with self._lock:
            self._seconds += seconds

    def take(self) -> float:
        with self._lock:
            seconds, self._seconds = self._seconds, 0.0
            return seconds


class RuleReward:
    """The sandbox's verdict as a TRL reward; logs ``pass_rate`` and ``unjudged_frac``."""

    def __init__(self, reward: CodeReward, clock: RewardClock | None = None) -> None:
        self.reward = reward
        self.clock = clock or RewardClock()
        self.__name__ = reward.__name__

    def __call__(
        self, completions: Sequence[Any], prompts: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float | None]:
        t0 = time.perf_counter()
        try:
            tests = self.reward.tests_for(len(completions), prompts, kwargs)
            scores = self.reward.score(
                completions, tests, prompts=prompts, completion_ids=kwargs.get("completion_ids")
            )
        finally:
            self.clock.add(time.perf_counter() - t0)
        log_metric: Callable[[str, float], Any] | None = kwargs.get("log_metric")
        if callable(log_metric):
            n = max(1, len(scores))
            rates = [s.pass_rate if s.pass_rate is not None else 0.0 for s in scores if s.outcome != "sandbox_error"]
            log_metric("rule/pass_rate", sum(rates) / len(rates) if rates else 0.0)
            log_metric("rule/all_passed_frac", sum(1 for s in scores if s.reward and s.pass_rate == 1.0) / n)
            log_metric("rule/unjudged_frac", sum(1 for s in scores if s.outcome == "sandbox_error") / n)
        return [s.reward for s in scores]

    def close(self) -> None:
        self.reward.close()


class FormatReward:
    """1.0 for a ``<think>...</think> answer`` completion, else 0.0 (DeepSeek-R1's format reward)."""

    __name__ = "format_reward"

    def __call__(
        self, completions: Sequence[Any], prompts: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float | None]:
        return [
            1.0 if has_think_format(c, prompt=prompts[i] if prompts is not None else None) else 0.0
            for i, c in enumerate(completions)
        ]
