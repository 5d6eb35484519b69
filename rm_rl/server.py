"""The reward server: rule-based code rewards over HTTP (FastAPI + uvicorn).

One process holds one long-lived sandbox pool; every request's completions queue on
it, so concurrent requests share the sandboxes fairly. Endpoints:

- ``POST /get_reward``: OpenRLHF's ``--remote_rm_url`` request, ``{"query": [...],
  "prompts": [...], "labels": [...]}`` -> ``{"rewards": [...], "scores": [...],
  "extra_logs": {...}}``. ``query[i]`` is prompt plus response; ``labels[i]`` is a
  row id of the dataset, or the tests as a JSON list. With ``query`` alone (the
  AceCoder server's request) the tests are found by the question in the query's user
  turn.
- ``POST /score``: plain JSON, ``{"items": [{"completion": ..., "tests": [...] | "id":
  ..., "prompt": ...}], "reward": "binary" | "pass_rate", "details": false}`` ->
  ``{"results": [{"reward", "outcome", "pass_rate", "passed", "total", ...}]}``.
- ``GET /health`` (no token needed) and ``GET /metrics`` (throughput, latency, outcome
  and test-status counts, sandbox errors, queue depth).

A completion the sandbox could not judge gets ``null``, never 0 (or, with
``on_sandbox_error="503"``, the whole request is refused so the trainer retries it).
Requests over ``max_request_bytes`` get 413, over ``max_batch`` completions 413, and
when ``max_pending`` completions are already queued 503 with ``Retry-After``.

Concurrent requests are scored together: a request waits up to ``batch_window_ms`` for
others (or until ``batch_completions`` completions are gathered), then the whole batch
is planned at once and awaited with one wake-up, and each request gets its own
answer. An RL trainer that sends one sample per request (recent OpenRLHF: 2,048 at
once) then costs about what one batched request costs. Whatever goes wrong while
scoring is a 503 with ``Retry-After`` (the trainer retries), never a 500.
Shutdown (SIGTERM/SIGINT, or :meth:`RewardServer.stop`) stops accepting, lets
in-flight requests finish for ``graceful_timeout_s``, then answers the rest 503 and
kills the sandboxes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import signal
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from acesandbox import InvalidJobError, Report

from .dataset import ProblemIndex, coerce_tests, resolve_tests
from .errors import ConfigError, DatasetError, TestsNotFoundError
from acesandbox.extract import split_query
from .adapters.openrlhf import to_response
from .rewards import CodeReward, Plan, RewardConfig, RewardStats, Score, sandbox_warnings
from .runner import JobRunner

if TYPE_CHECKING:
    from acesandbox import Executor

    from .model_reward import ModelReward

__all__ = ["RewardServer", "RewardService", "ServerConfig", "create_app", "serve"]

log = logging.getLogger("rm_rl.server")


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class ServerConfig:
    """Everything the reward server is told at start-up."""

    reward: Literal["binary", "pass_rate"] = field(
        default="binary", metadata=_help("Reward of /get_reward, and of /score requests that name none.")
    )
    reward_options: Mapping[str, Any] = field(
        default_factory=dict, metadata=_help("RewardConfig options (timeout_s, mode, workers, ...) for both rewards.")
    )
    max_batch: int = field(default=16384, metadata=_help("Most completions in one request (413 beyond)."))
    max_pending: int = field(
        default=65536, metadata=_help("Most completions queued across requests; beyond, 503 with Retry-After.")
    )
    max_request_bytes: int = field(default=256 * 2**20, metadata=_help("Largest request body (413 beyond)."))
    max_concurrent_requests: int = field(
        default=4096,
        metadata=_help(
            "Most requests in flight at once, bodies included; beyond, 503 with Retry-After (/health exempt). "
            "Recent OpenRLHF sends one sample per request: a 256 x 8 rollout is 2,048 at once."
        ),
    )
    max_body_bytes_in_flight: int | None = field(
        default=None,
        metadata=_help(
            "Most request-body bytes held at once across requests; beyond, 503 with Retry-After. "
            "None: 1 GiB, or max_request_bytes if larger."
        ),
    )
    batch_window_ms: float = field(
        default=5.0,
        metadata=_help(
            "How long a request waits for concurrent ones to be scored with it (one plan, one wait); 0: no waiting."
        ),
    )
    batch_completions: int = field(
        default=1024, metadata=_help("A batch is scored at once when it holds this many completions.")
    )
    token: str | None = field(
        default=None,
        repr=False,
        metadata=_help(
            "Bearer token every request but /health must carry, checked before the body is read; "
            "None: open, and then only a loopback address may be bound."
        ),
    )
    on_sandbox_error: Literal["null", "503"] = field(
        default="null",
        metadata=_help(
            "A completion the sandbox could not judge: 'null' reward in the answer, or '503' refuses "
            "the whole request so the trainer's client retries it."
        ),
    )
    graceful_timeout_s: float = field(
        default=30.0, metadata=_help("On shutdown, how long in-flight requests may still finish before a 503.")
    )

    def __post_init__(self) -> None:
        if self.reward not in ("binary", "pass_rate"):
            raise ConfigError(f"reward must be 'binary' or 'pass_rate', got {self.reward!r}")
        for name in (
            "max_batch",
            "max_pending",
            "max_request_bytes",
            "max_concurrent_requests",
            "batch_completions",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        budget = self.max_body_bytes_in_flight
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 1):
            raise ConfigError(f"max_body_bytes_in_flight must be a positive integer or None, got {budget!r}")
        if self.body_budget_bytes < self.max_request_bytes:
            raise ConfigError(
                f"max_body_bytes_in_flight ({self.max_body_bytes_in_flight}) must be >= max_request_bytes "
                f"({self.max_request_bytes}), or a full-size request could never be admitted"
            )
        if self.max_pending < self.max_batch:
            raise ConfigError(
                f"max_pending ({self.max_pending}) must be >= max_batch ({self.max_batch}), "
                "or a full-size request could never be admitted"
            )
        if self.on_sandbox_error not in ("null", "503"):
            raise ConfigError(f"on_sandbox_error must be 'null' or '503', got {self.on_sandbox_error!r}")
        if not (
            isinstance(self.graceful_timeout_s, (int, float))
            and math.isfinite(self.graceful_timeout_s)
            and self.graceful_timeout_s >= 0
        ):
            raise ConfigError(f"graceful_timeout_s must be >= 0 seconds, got {self.graceful_timeout_s!r}")
        if not (
            isinstance(self.batch_window_ms, (int, float))
            and not isinstance(self.batch_window_ms, bool)
            and math.isfinite(self.batch_window_ms)
            and 0 <= self.batch_window_ms <= 1000
        ):
            raise ConfigError(f"batch_window_ms must be between 0 and 1000 ms, got {self.batch_window_ms!r}")
        if self.token is not None and (not isinstance(self.token, str) or not self.token):
            raise ConfigError("token must be a non-empty string (or None for an open server)")
        opts = dict(self.reward_options)
        if "kind" in opts or "on_sandbox_error" in opts:
            raise ConfigError("reward_options may not set kind or on_sandbox_error; use reward= / on_sandbox_error=")
        RewardConfig.build(self.reward, opts)  # fail now on a bad option

    @property
    def body_budget_bytes(self) -> int:
        """The request-body bytes the server holds at once (max_body_bytes_in_flight, or its default)."""
        if self.max_body_bytes_in_flight is not None:
            return self.max_body_bytes_in_flight
        return max(1024 * 2**20, self.max_request_bytes)

    @classmethod
    def options(cls) -> dict[str, str]:
        return {f.name: f.metadata.get("help", "") for f in fields(cls)}


_INLINE_PLAN = 8
"""Requests with at most this many completions are planned on the event loop itself."""


class HTTPError(Exception):
    """An answer other than 200, raised inside the service and rendered by the app."""

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


# -------------------------------------------------------------------- metrics


class Metrics:
    """Counters and recent latencies, read by ``GET /metrics``. Loop-thread only."""

    def __init__(self) -> None:
        self.started = time.time()
        self.requests: Counter[str] = Counter()
        self.responses: Counter[str] = Counter()
        self.scored = RewardStats()  # outcomes, test statuses, isolation and sandbox warnings of every request
        self.completions = 0
        self.rejected = 0
        self.batches = 0  # scoring batches (one plan, one wait) and the requests they held
        self.batched_requests = 0
        self.largest_batch = 0
        self.recent: deque[tuple[float, float, int]] = deque(maxlen=4096)  # (end, seconds, completions)

    def record(self, scores: Sequence[Score], seconds: float) -> None:
        self.completions += len(scores)
        for s in scores:
            self.scored.add(s)
        self.recent.append((time.time(), seconds, len(scores)))

    def snapshot(self) -> dict[str, Any]:
        now = time.time()
        uptime = max(now - self.started, 1e-9)
        lat = sorted(s for _, s, _ in self.recent)
        window = [(e, s, n) for e, s, n in self.recent if now - e <= 60.0]

        def pct(q: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(q * len(lat)))], 6) if lat else None

        scored = self.scored.snapshot()
        return {
            "uptime_s": round(uptime, 3),
            "requests": dict(self.requests),
            "responses": dict(self.responses),
            "completions": self.completions,
            "throughput": {
                "completions_per_s": round(self.completions / uptime, 3),
                "completions_per_s_last_60s": round(sum(n for _, _, n in window) / 60.0, 3),
            },
            "latency_s": {
                "p50": pct(0.50),
                "p90": pct(0.90),
                "p99": pct(0.99),
                "max": lat[-1] if lat else None,
                "window": len(lat),
            },
            "outcomes": scored["outcomes"],
            "sandbox_errors": scored["outcomes"]["sandbox_error"],
            "test_statuses": scored["test_statuses"],
            "isolation": scored["isolation"],
            "warnings": scored["warnings"],
            "rejected_busy": self.rejected,
            "batches": {
                "count": self.batches,
                "requests": self.batched_requests,
                "largest_requests": self.largest_batch,
            },
        }


# -------------------------------------------------------------------- batching

_Planned = tuple[list[Plan], dict[int, "Future[Report]"]]


def _unavailable(exc: BaseException, draining: bool) -> HTTPError:
    """An unexpected failure while scoring, as the 503 a trainer retries (logged with its traceback)."""
    if draining:
        return HTTPError(503, "server shutting down; retry elsewhere", {"Retry-After": "5"})
    log.error("scoring failed; answering 503", exc_info=(type(exc), exc, exc.__traceback__))
    return HTTPError(503, f"scoring failed ({type(exc).__name__}); retry the request", {"Retry-After": "1"})


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


# -------------------------------------------------------------------- service


class RewardService:
    """What the app does, apart from HTTP: admission, scoring, draining, metrics."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        problems: ProblemIndex | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.config = config
        self.problems = problems
        opts = dict(config.reward_options)
        base = RewardConfig.build("binary", opts)
        self.runner = JobRunner(base.execution.sandbox, executor=executor)
        self.rewards = {
            kind: CodeReward(RewardConfig.build(kind, opts), runner=self.runner) for kind in ("binary", "pass_rate")
        }
        self.metrics = Metrics()
        self.pending = 0
        self.in_flight = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._drain: asyncio.Event | None = None
        self._drain_deadline: float | None = None
        self._batchers: dict[str, _Batcher] = {}

    # ------------------------------------------------------------ lifecycle
    async def startup(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._drain = asyncio.Event()
        # Start the sandboxes now: a host that cannot sandbox fails at start-up, not at the first request.
        await asyncio.to_thread(self.runner.start)

    async def shutdown(self) -> None:
        self.begin_drain(0.0)
        await asyncio.to_thread(self.runner.close)

    @property
    def draining(self) -> bool:
        return self._drain_deadline is not None

    def begin_drain(self, timeout_s: float | None = None) -> None:
        """Stop admitting requests; in-flight ones get ``timeout_s`` more. Thread-safe."""
        timeout = self.config.graceful_timeout_s if timeout_s is None else timeout_s
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._start_drain, timeout)
        except RuntimeError:  # the loop closed meanwhile
            pass

    def _start_drain(self, timeout_s: float) -> None:
        assert self.loop is not None and self._drain is not None
        deadline = self.loop.time() + timeout_s
        if self._drain_deadline is None or deadline < self._drain_deadline:
            self._drain_deadline = deadline
        self._drain.set()

    # ------------------------------------------------------------ admission
    def admit(self, n: int) -> None:
        if self.draining:
            raise HTTPError(
                503, "server shutting down; send the request to another reward server", {"Retry-After": "5"}
            )
        if n > self.config.max_batch:
            raise HTTPError(
                413,
                f"{n} completions in one request; the limit is {self.config.max_batch} "
                "(--max-batch): split the request",
            )
        if self.pending + n > self.config.max_pending:
            self.metrics.rejected += 1
            raise HTTPError(
                503,
                f"server busy: {self.pending} completions queued (limit {self.config.max_pending}); retry shortly",
                {"Retry-After": "1"},
            )
        self.pending += n
        self.in_flight += 1

    def release(self, n: int) -> None:
        self.pending -= n
        self.in_flight -= 1

    # -------------------------------------------------------------- scoring
    def reward(self, kind: str | None) -> CodeReward:
        return self.rewards[kind or self.config.reward]

    async def score(
        self, reward: CodeReward, completions: Sequence[Any], tests: Sequence[Any], prompts: Sequence[Any] | None
    ) -> list[Score]:
        """Score a request's completions on the shared sandboxes, batched with concurrent
        requests; drain- and cancel-aware. Any failure is an :class:`HTTPError` (never a 500)."""
        n = len(completions)
        self.admit(n)
        t0 = time.perf_counter()
        try:
            scores = await self._batcher(reward).submit(_Entry(completions, tests, prompts))
        finally:
            self.release(n)
        self.metrics.record(scores, time.perf_counter() - t0)
        if self.config.on_sandbox_error == "503":
            failed = sum(1 for s in scores if s.outcome == "sandbox_error")
            if failed:
                raise HTTPError(
                    503,
                    f"the sandbox could not judge {failed} of {n} completions; retry the request",
                    {"Retry-After": "1"},
                )
        return scores

    def _batcher(self, reward: CodeReward) -> _Batcher:
        batcher = self._batchers.get(reward.config.kind)
        if batcher is None:
            batcher = self._batchers[reward.config.kind] = _Batcher(self, reward)
        return batcher

    async def score_batch(self, reward: CodeReward, entries: Sequence[_Entry]) -> None:
        """Plan every entry, wait for all their jobs at once, answer each entry's future."""
        self.metrics.batches += 1
        self.metrics.batched_requests += len(entries)
        self.metrics.largest_batch = max(self.metrics.largest_batch, len(entries))
        try:
            total = sum(len(e.completions) for e in entries)
            if total <= _INLINE_PLAN:  # a few completions plan in well under a millisecond: no thread hop
                planned = self._plan_entries(reward, entries)
            else:
                planned = await asyncio.to_thread(self._plan_entries, reward, entries)
            futures: dict[int, Future[Report]] = {}
            offsets: list[int] = []
            offset = 0
            for item in planned:
                offsets.append(offset)
                if isinstance(item, HTTPError):
                    continue
                for i, f in item[1].items():
                    futures[offset + i] = f
                offset += len(item[0])
            reports = await self._wait(futures)
            for entry, item, base in zip(entries, planned, offsets):
                if entry.answer.done():  # the request went away meanwhile
                    continue
                if isinstance(item, HTTPError):
                    entry.answer.set_exception(item)
                    continue
                plans = item[0]
                entry.answer.set_result([reward.finish(p, reports.get(base + p.index)) for p in plans])
        except BaseException as exc:  # every waiting request gets an answer, whatever happened
            error = exc if isinstance(exc, HTTPError) else _unavailable(exc, self.draining)
            for entry in entries:
                if not entry.answer.done():
                    entry.answer.set_exception(error)
            if not isinstance(exc, Exception):
                raise

    def _plan_entries(self, reward: CodeReward, entries: Sequence[_Entry]) -> list[_Planned | HTTPError]:
        out: list[_Planned | HTTPError] = []
        try:
            for entry in entries:
                try:
                    out.append(self._plan(reward, entry.completions, entry.tests, entry.prompts))
                except HTTPError as exc:  # this request's data is wrong: only it fails
                    out.append(exc)
                except Exception as exc:  # noqa: BLE001 - a failure of this request's plan fails it alone
                    out.append(_unavailable(exc, self.draining))
        except BaseException:
            for item in out:  # free the queue of the jobs already submitted
                if not isinstance(item, HTTPError):
                    for f in item[1].values():
                        f.cancel()
            raise
        return out

    def _plan(
        self, reward: CodeReward, completions: Sequence[Any], tests: Sequence[Any], prompts: Sequence[Any] | None
    ) -> _Planned:
        try:
            return reward.plan(completions, tests, prompts=prompts)
        except (DatasetError, TestsNotFoundError, ConfigError, InvalidJobError) as exc:
            raise HTTPError(422, str(exc)) from None

    async def _wait(self, futures: Mapping[int, Future[Report]]) -> dict[int, Report]:
        """Wait for every job (one event-loop wake-up, not one per job), or for the drain deadline."""
        if not futures:
            return {}
        assert self._drain is not None and self.loop is not None
        loop = self.loop
        all_done: asyncio.Future[None] = loop.create_future()
        remaining = [len(futures)]
        lock = threading.Lock()

        def settle() -> None:
            if not all_done.done():
                all_done.set_result(None)

        def one_done(_future: Future[Report]) -> None:
            with lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
                    loop.call_soon_threadsafe(settle)

        for f in futures.values():
            f.add_done_callback(one_done)
        drain: asyncio.Future[Any] = asyncio.ensure_future(self._drain.wait())
        try:
            done, _ = await asyncio.wait((all_done, drain), return_when=asyncio.FIRST_COMPLETED)
            if all_done not in done:
                left = max(0.0, (self._drain_deadline or 0.0) - loop.time())
                try:
                    await asyncio.wait_for(asyncio.shield(all_done), timeout=left)
                except asyncio.TimeoutError:
                    raise HTTPError(
                        503,
                        "server shutting down: this request was not finished; retry elsewhere",
                        {"Retry-After": "5"},
                    ) from None
            if any(f.cancelled() for f in futures.values()):  # the pool shut down under the request
                raise HTTPError(503, "the sandbox pool is restarting or shutting down; retry", {"Retry-After": "1"})
            return {i: f.result() for i, f in futures.items()}
        finally:
            drain.cancel()
            for f in futures.values():
                f.cancel()  # no-op for finished jobs; frees the queue of a cancelled or refused request

    def health(self) -> dict[str, Any]:
        return {
            "status": "draining" if self.draining else "ok",
            "reward": self.config.reward,
            "backend": self.runner.isolation if self.runner.started else None,
            "workers": self.runner.workers if self.runner.started else None,
            "dataset": None if self.problems is None else {"source": self.problems.source, "rows": len(self.problems)},
            "warnings": self.metrics.scored.snapshot()["warnings"],
        }

    def metrics_snapshot(self) -> dict[str, Any]:
        snap = self.metrics.snapshot()
        snap.update(
            queue={
                "pending_completions": self.pending,
                "in_flight_requests": self.in_flight,
                "pending_jobs": self.runner.pending,
            },
            workers=self.runner.workers if self.runner.started else None,
            reward=self.config.reward,
            draining=self.draining,
        )
        return snap


# ------------------------------------------------------------------------ app


_ROUTES = frozenset({"/get_reward", "/score", "/health", "/metrics", "/docs", "/openapi.json"})


def _authorized(token: str | None, headers: Mapping[bytes, bytes]) -> bool:
    """Whether the request carries ``Authorization: Bearer <token>`` (always, for an open server)."""
    if token is None:
        return True
    scheme, _, value = headers.get(b"authorization", b"").partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(value.strip(), token.encode())


class _Guard:
    """ASGI middleware, before any body is read: the token (every path but /health, the API
    description included), the cap on requests in flight, the body size; then counting."""

    def __init__(self, app: Any, service: RewardService) -> None:
        self.app = app
        self.service = service
        self.in_flight = 0
        self.body_bytes = 0  # request bodies held right now, across requests

    async def __call__(
        self, scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        metrics = self.service.metrics
        path = scope["path"]
        metrics.requests[path if path in _ROUTES else "other"] += 1  # bounded: no key per unknown path
        status_seen: list[int] = []

        async def counting_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
                metrics.responses[str(message["status"])] += 1
            await send(message)

        config = self.service.config
        headers = dict(scope.get("headers") or [])
        if path == "/health":
            await self.app(scope, receive, counting_send)
            return
        if not _authorized(config.token, headers):
            await _plain(counting_send, 401, "missing or wrong bearer token", [(b"www-authenticate", b"Bearer")])
            return
        if self.in_flight >= config.max_concurrent_requests:
            await _plain(
                counting_send, 503, f"{self.in_flight} concurrent requests already in flight (--max-concurrent-requests)",
                [(b"retry-after", b"1")],
            )
            return
        self.in_flight += 1
        try:
            await self._admitted(scope, receive, counting_send)
        finally:
            self.in_flight -= 1

    async def _admitted(
        self, scope: dict, receive: Callable[[], Awaitable[dict]], counting_send: Callable[[dict], Awaitable[None]]
    ) -> None:
        limit = self.service.config.max_request_bytes
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                await _plain(counting_send, 400, "invalid Content-Length")
                return
            if too_big:
                await _plain(counting_send, 413, f"request body over {limit} bytes (--max-request-mb)")
                return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            size = 0
            try:
                chunks: list[bytes] = []
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    self.body_bytes += len(chunk)
                    if size > limit:
                        await _plain(counting_send, 413, f"request body over {limit} bytes (--max-request-mb)")
                        return
                    if self.body_bytes > self.service.config.body_budget_bytes:
                        await _plain(
                            counting_send, 503, "too many request bytes in flight; retry shortly",
                            [(b"retry-after", b"1")],
                        )
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
                body = b"".join(chunks)
                del chunks
                await self._forward(scope, receive, counting_send, body)
            finally:
                self.body_bytes -= size
            return
        await self.app(scope, receive, counting_send)

    async def _forward(
        self,
        scope: dict,
        receive: Callable[[], Awaitable[dict]],
        counting_send: Callable[[dict], Awaitable[None]],
        body: bytes,
    ) -> None:
        """Pass the request on with its body already read (replayed once to the app)."""
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, counting_send)


async def _plain(
    send: Callable[[dict], Awaitable[None]], status: int, detail: str, extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class OpenRLHFRequest(BaseModel):
    """OpenRLHF's remote reward request (``prompts`` and ``labels`` optional)."""

    model_config = ConfigDict(extra="ignore")
    query: list[str]
    prompts: list[str] | None = None
    labels: list[Any] | None = None


class ScoreItem(BaseModel):
    """One completion of a ``/score`` request, with its tests or its dataset id."""

    model_config = ConfigDict(extra="forbid")
    completion: str | list[dict[str, Any]]
    tests: list[str | dict[str, Any]] | str | None = None
    id: str | int | None = None
    prompt: str | list[dict[str, Any]] | None = None


class ScoreRequest(BaseModel):
    """The plain ``/score`` request."""

    model_config = ConfigDict(extra="forbid")
    items: list[ScoreItem]
    reward: Literal["binary", "pass_rate"] | None = None
    details: bool = False


def create_app(
    config: ServerConfig | None = None,
    *,
    problems: ProblemIndex | None = None,
    executor: Executor | None = None,
    model_reward: ModelReward | None = None,
) -> FastAPI:
    """The reward server's ASGI app (serve it with uvicorn, or :class:`RewardServer`).

    ``problems``: the dataset whose rows' tests requests refer to by id or question.
    ``executor``: an ``acesandbox.Executor`` to score on (e.g. a fake one in tests);
    by default the app starts its own at start-up and kills it at shutdown.
    ``model_reward``: a reward model (:mod:`rm_rl.model_reward`) that ``/get_reward``
    answers with, alone or mixed with the rule reward; closed at shutdown.
    """
    config = config or ServerConfig()
    service = RewardService(config, problems=problems, executor=executor)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await service.startup()
        try:
            yield
        finally:
            await service.shutdown()
            if model_reward is not None:
                model_reward.close()

    app = FastAPI(
        title="acecoder reward server",
        summary="Rule-based code rewards from a hardened sandbox; None (null), never 0, when the sandbox fails.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.service = service

    def authorize(request: Request) -> None:
        token = config.token
        if token is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            raise HTTPError(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(HTTPError)
    async def _http_error(_request: Request, exc: HTTPError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        error = _unavailable(exc, service.draining)  # logged with its traceback; the trainer retries
        return JSONResponse({"detail": error.detail}, status_code=error.status, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"detail": "request body is not valid JSON"}, status_code=400)
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        detail = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid request"))
        slim = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors[:20]]
        return JSONResponse({"detail": detail, "errors": slim}, status_code=422)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness and what is being served (no token needed)."""
        return service.health()

    @app.get("/metrics", dependencies=[Depends(authorize)])
    async def metrics() -> dict[str, Any]:
        """Throughput, latency percentiles, outcome and test-status counts, sandbox errors, queue depth."""
        return service.metrics_snapshot()

    @app.post("/get_reward", dependencies=[Depends(authorize)])
    async def get_reward(body: OpenRLHFRequest) -> dict[str, Any]:
        """OpenRLHF ``--remote_rm_url`` (and the AceCoder server's) request."""
        n = len(body.query)
        for name in ("prompts", "labels"):
            value = getattr(body, name)
            if value is not None and len(value) != n:
                raise HTTPError(422, f"{name} has {len(value)} entries for {n} queries")
        if model_reward is not None and not model_reward.config.hybrid:
            return model_reward.answer(await model_reward.model_scores(body.query, body.prompts))
        pairs = [split_query(q, body.prompts[i] if body.prompts else None) for i, q in enumerate(body.query)]
        tests = []
        for i in range(n):
            label = body.labels[i] if body.labels else None
            try:
                tests.append(resolve_tests(label, pairs[i][0] or body.query[i], service.problems, where=f"labels[{i}]"))
            except (TestsNotFoundError, DatasetError) as exc:
                raise HTTPError(422, str(exc)) from None
        reward = service.reward(None)
        rule = service.score(reward, [r for _, r in pairs], tests, [p for p, _ in pairs])
        if model_reward is not None:  # a hybrid: both at once
            model, scores = await asyncio.gather(model_reward.model_scores(body.query, body.prompts), rule)
            answer = model_reward.answer(model, [s.reward for s in scores])
            return {**answer, "warnings": sandbox_warnings(scores)}
        scores = await rule
        return {**to_response(scores, as_tensors=False), "warnings": sandbox_warnings(scores)}

    @app.post("/score", dependencies=[Depends(authorize)])
    async def score(body: ScoreRequest) -> dict[str, Any]:
        """Plain JSON: each item brings its completion and its tests (or a dataset id)."""
        tests = []
        for i, item in enumerate(body.items):
            if item.tests is not None:
                try:
                    tests.append(coerce_tests(item.tests, where=f"items[{i}].tests"))
                except (DatasetError, TestsNotFoundError) as exc:
                    raise HTTPError(422, str(exc)) from None
            elif item.id is not None:
                if service.problems is None:
                    raise HTTPError(422, f"items[{i}]: an id needs a dataset (start the server with --dataset)")
                try:
                    tests.append(service.problems[str(item.id)])
                except TestsNotFoundError as exc:
                    raise HTTPError(422, f"items[{i}]: {exc}") from None
            else:
                raise HTTPError(422, f"items[{i}]: give 'tests' or an 'id' of the dataset")
        reward = service.reward(body.reward)
        prompts = [item.prompt for item in body.items]
        scores = await service.score(reward, [item.completion for item in body.items], tests, prompts)
        return {
            "reward": reward.config.kind,
            "results": [s.to_dict(details=body.details) for s in scores],
            "sandbox_errors": sum(1 for s in scores if s.outcome == "sandbox_error"),
            "isolation": sorted({s.isolation for s in scores if s.isolation}),
            "warnings": sandbox_warnings(scores),
        }

    app.add_middleware(_Guard, service=service)
    return app


# ---------------------------------------------------------------- run servers


def _uvicorn_config(app: Any, host: str, port: int, graceful_timeout_s: float, log_level: str) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=math.ceil(graceful_timeout_s) + 5,  # backstop; the app drains itself first
        access_log=False,
    )


def _service(app: Any) -> RewardService:
    return app.state.service


def _is_loopback(host: str) -> bool:
    """A literal loopback address, or ``localhost``; anything else (a name, 0.0.0.0, ::) may be reachable."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_bind(host: str, config: ServerConfig) -> None:
    """Refuse (ConfigError) to serve beyond loopback without a token: anyone reaching it could run code."""
    if config.token is None and not _is_loopback(host):
        raise ConfigError(
            f"refusing to serve on {host!r} without a token: anyone who can reach it could run code in the "
            "sandboxes; set a token (--token or $ACECODER_SERVE_TOKEN, ServerConfig(token=...)) or bind 127.0.0.1"
        )


def serve(app: Any, *, host: str = "127.0.0.1", port: int = 5000, log_level: str = "info") -> None:
    """Serve ``app`` until SIGINT/SIGTERM, then drain gracefully (the CLI's loop).

    In-flight requests get ``graceful_timeout_s`` to finish, the rest are answered 503;
    then the sandboxes are killed. After SIGTERM the process exits 0.
    """
    import uvicorn

    service = _service(app)
    _check_bind(host, service.config)

    class _Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            service.begin_drain()
            super().handle_exit(sig, frame)

    def _drained(_sig: int, _frame: Any) -> None:
        raise SystemExit(0)

    config = _uvicorn_config(app, host, port, service.config.graceful_timeout_s, log_level)
    server = _Server(config)
    # uvicorn re-raises SIGTERM after its graceful shutdown; a drained server exits 0 instead.
    previous = signal.signal(signal.SIGTERM, _drained)
    try:
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not server.started:
        raise SystemExit(1)


class RewardServer:
    """Run the app in a background thread on a loopback port (tests, notebooks, benchmarks).

    >>> with RewardServer(create_app()) as srv:
    ...     url = srv.url          # http://127.0.0.1:PORT
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> None:
        import uvicorn

        self.app = app
        self.service = _service(app)
        _check_bind(host, self.service.config)
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = host, self._sock.getsockname()[1]
        config = _uvicorn_config(app, host, self.port, self.service.config.graceful_timeout_s, log_level)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout_s: float = 60.0) -> RewardServer:
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the reward server failed to start (see the log above)")
            if time.monotonic() > deadline:
                raise TimeoutError("the reward server did not start in time")
            time.sleep(0.02)
        return self

    def stop(self, graceful_timeout_s: float | None = None) -> None:
        """Stop accepting, let in-flight requests finish (or answer 503), kill sandboxes."""
        self.service.begin_drain(graceful_timeout_s)
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
        self._sock.close()

    def __enter__(self) -> RewardServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
