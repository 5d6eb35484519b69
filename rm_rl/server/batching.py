"""The micro-batcher: concurrent requests for one reward are gathered and scored together."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from acesandbox import Report

from ..rewards import CodeReward, Plan, Score

if TYPE_CHECKING:
    from .service import RewardService

_Planned = tuple[list[Plan], dict[int, "Future[Report]"]]


class _Entry:
    """One request waiting in a batch: its inputs and the future its answer goes to."""

    __slots__ = ("answer", "completions", "prompts", "tests")

    def __init__(self, completions: Sequence[Any], tests: Sequence[Any], prompts: Sequence[Any] | None) -> None:
        self.completions = completions
        self.tests = tests
        self.prompts = prompts
        self.answer: asyncio.Future[list[Score]] = asyncio.get_running_loop().create_future()


class _Batcher:
    """Gathers concurrent requests for one reward: a batch is scored when ``batch_window_ms``
    has passed since its first request, or when it holds ``batch_completions``. Loop-thread only."""

    def __init__(self, service: RewardService, reward: CodeReward) -> None:
        self.service = service
        self.reward = reward
        self.entries: list[_Entry] = []
        self.size = 0
        self.timer: asyncio.TimerHandle | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def submit(self, entry: _Entry) -> list[Score]:
        config = self.service.config
        self.entries.append(entry)
        self.size += len(entry.completions)
        if self.size >= config.batch_completions or config.batch_window_ms <= 0:
            self.flush()
        elif self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(config.batch_window_ms / 1000.0, self.flush)
        try:
            return await entry.answer
        finally:
            entry.answer.cancel()  # no-op once answered; a cancelled request is skipped by its batch

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        entries = [e for e in self.entries if not e.answer.done()]
        self.entries, self.size = [], 0
        if not entries:
            return
        task = asyncio.get_running_loop().create_task(self.service.score_batch(self.reward, entries))
        self.tasks.add(task)  # keep a reference until it finishes
        task.add_done_callback(self.tasks.discard)
