"""Model rewards for the reward server: a trained reward model, alone or mixed with rule rewards.

``acecoder serve --rm PATH`` answers OpenRLHF's ``/get_reward`` with the reward model's
score of each query, or with a hybrid ``rule_weight * rule_reward + model_weight *
model_score``. Requests arriving together are batched onto the model by one worker
thread (:class:`ModelScorer`): a batch closes when it holds ``batch_size`` sequences or
``batch_window_ms`` after its first one, so many small requests share forward passes
and the event loop never blocks on the model.

A query is split into prompt and response as the rule rewards split it
(:func:`acesandbox.extract.split_query`); the prompt's chat turns are re-encoded with
the reward model's own chat template, as in training. In a hybrid, a completion the
sandbox could not judge (rule reward None) gets None: the rule part is unknown, so the
sum is too.
"""

from __future__ import annotations

import asyncio
import math
import queue
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from acesandbox.extract import parse_chat, split_query

from .errors import ConfigError

__all__ = ["ModelReward", "ModelRewardConfig", "ModelScorer", "combine", "query_parts"]


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class ModelRewardConfig:
    """A reward model served next to (or instead of) the rule rewards."""

    path: str = field(metadata=_help("reward model folder: a standard one-label checkpoint (acecoder rm train)"))
    model_weight: float = field(default=1.0, metadata=_help("weight of the model's score in the reward"))
    rule_weight: float = field(
        default=0.0, metadata=_help("weight of the rule reward (binary / pass_rate); 0: model only, no sandbox work")
    )
    batch_size: int = field(default=32, metadata=_help("most sequences per forward pass"))
    batch_window_ms: float = field(default=5.0, metadata=_help("how long a batch waits for more requests"))
    device: str | None = field(default=None, metadata=_help("cpu, cuda, cuda:1 ... (default: cuda if available)"))
    max_length_tokens: int | None = field(default=None, metadata=_help("cut texts as training did (None: no cut)"))

    def __post_init__(self) -> None:
        if not self.path:
            raise ConfigError("path is empty: give the reward model's folder")
        for name in ("model_weight", "rule_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ConfigError(f"{name} must be a finite number, got {value!r}")
        if self.model_weight == 0:
            raise ConfigError("model_weight is 0: serve without --rm for rule rewards only")
        if self.batch_size < 1 or self.batch_window_ms < 0:
            raise ConfigError("batch_size must be at least 1 and batch_window_ms at least 0")

    @property
    def hybrid(self) -> bool:
        """True when rule rewards are part of the answer (and tests are needed)."""
        return self.rule_weight != 0


def query_parts(query: str, prompt: str | None = None) -> tuple[tuple[Mapping[str, str], ...], str]:
    """(prompt messages, response) of an OpenRLHF query, for the reward model's own template."""
    head, response = split_query(query, prompt)
    messages = [m for m in parse_chat(head) if m["content"].strip() or m["role"] != "assistant"]
    if not messages and head.strip():
        messages = [{"role": "user", "content": head}]
    return tuple(messages), response


def combine(
    model_scores: Sequence[float], rule_rewards: Sequence[float | None] | None, config: ModelRewardConfig
) -> list[float | None]:
    """``model_weight * model + rule_weight * rule``; None where the rule reward is None."""
    if rule_rewards is None or not config.hybrid:
        return [config.model_weight * s for s in model_scores]
    if len(rule_rewards) != len(model_scores):
        raise ConfigError(f"{len(rule_rewards)} rule rewards for {len(model_scores)} model scores")
    return [
        None if r is None else config.model_weight * s + config.rule_weight * r
        for s, r in zip(model_scores, rule_rewards)
    ]


class ModelScorer:
    """One worker thread that batches every caller's sequences onto one :class:`~rm_rl.reward_model.RewardModel`."""

    def __init__(self, model: Any, *, batch_size: int = 32, batch_window_ms: float = 5.0) -> None:
        self.model = model
        self.batch_size = batch_size
        self.window_s = batch_window_ms / 1000.0
        self.batches = 0
        self.sequences = 0
        self._queue: queue.Queue[tuple[list[list[int]], Future[list[float]]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="rm-scorer", daemon=True)
        self._thread.start()

    def submit(self, prompts: Sequence[Any], completions: Sequence[str]) -> Future[list[float]]:
        """Scores of (prompt, completion) pairs, later; encoding happens here, in the caller's thread."""
        from .reward_model.scoring import as_prompt

        if len(prompts) != len(completions):
            raise ConfigError(f"{len(prompts)} prompts for {len(completions)} completions")
        future: Future[list[float]] = Future()
        ids = [self.model.encode(as_prompt(p), c) for p, c in zip(prompts, completions)]
        if not ids:
            future.set_result([])
        else:
            self._queue.put((ids, future))
        return future

    async def score(self, prompts: Sequence[Any], completions: Sequence[str]) -> list[float]:
        """:meth:`submit`, awaited."""
        return await asyncio.wrap_future(self.submit(prompts, completions))

    def close(self) -> None:
        """Stop the worker once the queued requests are scored."""
        self._queue.put(None)
        self._thread.join(timeout=60)

    def _work(self) -> None:
        import time

        stop = False
        while not stop:
            item = self._queue.get()
            if item is None:
                return
            pending = [item]
            size = len(item[0])
            deadline = time.monotonic() + self.window_s
            while size < self.batch_size:
                wait = deadline - time.monotonic()
                try:
                    more = self._queue.get(timeout=max(wait, 0)) if wait > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                pending.append(more)
                size += len(more[0])
            self._run(pending)

    def _run(self, pending: list[tuple[list[list[int]], Future[list[float]]]]) -> None:
        live = [(ids, f) for ids, f in pending if f.set_running_or_notify_cancel()]
        flat = [seq for ids, _ in live for seq in ids]
        try:
            scores = self.model.score_ids(flat) if flat else []
        except BaseException as exc:  # noqa: BLE001 - every waiting request learns why
            for _, f in live:
                f.set_exception(exc)
            return
        self.batches += 1
        self.sequences += len(flat)
        start = 0
        for ids, f in live:
            f.set_result(scores[start : start + len(ids)])
            start += len(ids)


class ModelReward:
    """The server's model reward: the scorer plus the weights; ``answer`` builds OpenRLHF's reply."""

    def __init__(self, config: ModelRewardConfig, model: Any = None) -> None:
        if model is None:
            from .reward_model.scoring import RewardModel

            try:
                model = RewardModel.load(
                    config.path,
                    device=config.device,
                    batch_size=config.batch_size,
                    max_length_tokens=config.max_length_tokens,
                )
            except (OSError, ValueError) as exc:
                raise ConfigError(f"{config.path}: cannot load the reward model ({exc})") from None
        self.config = config
        self.scorer = ModelScorer(model, batch_size=config.batch_size, batch_window_ms=config.batch_window_ms)

    async def model_scores(self, queries: Sequence[str], prompts: Sequence[str] | None = None) -> list[float]:
        """The model's score of each query."""
        parts = [query_parts(q, prompts[i] if prompts else None) for i, q in enumerate(queries)]
        return await self.scorer.score([p for p, _ in parts], [r for _, r in parts])

    def answer(
        self, model_scores: Sequence[float], rule_rewards: Sequence[float | None] | None = None
    ) -> dict[str, Any]:
        """OpenRLHF's result shape: ``rewards``, ``scores`` and ``extra_logs`` with both parts."""
        rewards = combine(model_scores, rule_rewards, self.config)
        extra: dict[str, list[float]] = {"model_reward": [float(s) for s in model_scores]}
        if rule_rewards is not None and self.config.hybrid:
            extra["rule_reward"] = [0.0 if r is None else float(r) for r in rule_rewards]
            extra["rule_abstained"] = [1.0 if r is None else 0.0 for r in rule_rewards]
        return {"rewards": rewards, "scores": list(rewards), "extra_logs": extra}

    def close(self) -> None:
        self.scorer.close()
