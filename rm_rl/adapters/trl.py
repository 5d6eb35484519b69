"""TRL: ``GRPOTrainer(reward_funcs=[...])``.

The rewards of :mod:`rm_rl.rewards` already follow TRL's contract and can be passed
as they are (synchronous form). TRL runs ``async`` reward functions concurrently on
its own event loop; two async forms are provided:

- :func:`as_async` wraps a local reward so it scores in a thread while other async
  rewards run;
- :class:`RemoteReward` scores over HTTP on an ``acecoder serve`` server (sandboxes on
  another machine than the trainer).

Both are picklable callable classes, as TRL's async rollout workers require.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..dataset import TESTS_KEYS
from ..errors import ConfigError, RewardUnavailableError, TestsNotFoundError
from ..rewards import CodeReward

__all__ = ["AsyncReward", "RemoteReward", "as_async"]

_TRL_EXTRAS = ("trainer_state", "log_extra", "log_metric", "environments")


class AsyncReward:
    """An async form of a local reward: scores in a worker thread."""

    def __init__(self, reward: CodeReward) -> None:
        if not isinstance(reward, CodeReward):
            raise ConfigError(f"as_async() wraps an rm_rl reward, got {type(reward).__name__}")
        self.reward = reward
        self.__name__ = reward.__name__

    @property
    def stats(self) -> Any:
        return self.reward.stats

    async def __call__(
        self, completions: Sequence[Any], prompts: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float | None]:
        return await asyncio.to_thread(self.reward, completions, prompts, **kwargs)


def as_async(reward: CodeReward) -> AsyncReward:
    """The async form of ``reward`` for ``GRPOTrainer(reward_funcs=[...])``."""
    return AsyncReward(reward)


class RemoteReward:
    """An async reward that scores on an ``acecoder serve`` server (``POST /score``).

    Each completion is sent with its prompt and either its tests (from the ``tests``
    / ``test_cases`` column) or its row id (``id_column``; the server must have been
    started with ``--dataset``). The server's None rewards (sandbox failures) come back
    as None. ``reward``: ``"binary"`` or ``"pass_rate"``; None uses the server's.
    """

    def __init__(
        self,
        url: str,
        *,
        reward: str | None = None,
        token: str | None = None,
        timeout_s: float = 600.0,
        id_column: str = "id",
        tests_column: str | None = None,
        retries: int = 3,
        name: str | None = None,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"url must be an http(s) URL such as http://127.0.0.1:5000, got {url!r}")
        if reward not in (None, "binary", "pass_rate"):
            raise ConfigError(f"reward must be 'binary', 'pass_rate' or None (the server's), got {reward!r}")
        if not (isinstance(timeout_s, (int, float)) and math.isfinite(timeout_s) and timeout_s > 0):
            raise ConfigError(f"timeout_s must be a positive number, got {timeout_s!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"retries must be a non-negative integer, got {retries!r}")
        self.url = url.rstrip("/")
        self.reward = reward
        self.token = token
        self.timeout_s = float(timeout_s)
        self.id_column = id_column
        self.tests_column = tests_column
        self.retries = retries
        self.__name__ = name or f"remote_{reward or 'code'}_reward"

    def __repr__(self) -> str:
        return f"RemoteReward({self.url!r}, reward={self.reward!r})"

    def items(
        self, completions: Sequence[Any], prompts: Sequence[Any] | None, columns: Mapping[str, Any]
    ) -> list[dict]:
        """The request items for one batch: completion, prompt and tests or id."""
        names = (self.tests_column,) if self.tests_column else TESTS_KEYS
        column = next((k for k in names if columns.get(k) is not None), None)
        ids = columns.get(self.id_column)
        if column is None and ids is None:
            raise TestsNotFoundError(
                f"no tests: the dataset needs a {' or '.join(repr(n) for n in names)} column, "
                f"or an {self.id_column!r} column the server's --dataset knows"
            )
        out = []
        for i, completion in enumerate(completions):
            item: dict[str, Any] = {"completion": completion}
            if prompts is not None:
                item["prompt"] = prompts[i]
            if column is not None:
                tests = columns[column][i]
                item["tests"] = tests.tolist() if hasattr(tests, "tolist") else tests
            else:
                assert ids is not None
                item["id"] = str(ids[i])
            out.append(item)
        return out

    async def __call__(
        self, completions: Sequence[Any], prompts: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float | None]:
        import httpx

        body: dict[str, Any] = {"items": self.items(completions, prompts, kwargs)}
        if self.reward is not None:
            body["reward"] = self.reward
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        last: Exception | None = None
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            for attempt in range(self.retries + 1):
                try:
                    response = await client.post(f"{self.url}/score", json=body, headers=headers)
                except httpx.TransportError as exc:
                    last = exc
                else:
                    if response.status_code == 200:
                        results = response.json()["results"]
                        log_metric = kwargs.get("log_metric")
                        if callable(log_metric):
                            errors = sum(1 for r in results if r["outcome"] == "sandbox_error")
                            log_metric(f"{self.__name__}/sandbox_errors", float(errors))
                        return [r["reward"] for r in results]
                    if response.status_code not in (502, 503, 504):
                        raise RewardUnavailableError(
                            f"reward server {self.url} answered {response.status_code}: {response.text[:500]}"
                        )
                    last = RewardUnavailableError(f"reward server busy or shutting down ({response.status_code})")
                await asyncio.sleep(min(2.0**attempt, 10.0))
        raise RewardUnavailableError(f"reward server {self.url} unreachable after {self.retries + 1} tries: {last}")
