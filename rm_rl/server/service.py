"""What the app does, apart from HTTP: admission, batched scoring, draining, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from acesandbox import InvalidJobError, Report
from acesandbox.extract import completion_text

from ..dataset import ProblemIndex
from ..errors import ConfigError, DatasetError, TestsNotFoundError
from ..rewards import CodeReward, Plan, RewardConfig, Score
from ..runner import JobRunner
from .batching import _Batcher, _Entry, _Planned
from .config import ServerConfig
from .metrics import Metrics
from .responses import HTTPError, _unavailable

if TYPE_CHECKING:
    from acesandbox import Executor

_T = TypeVar("_T")

_INLINE_PLAN = 8
"""Requests with at most this many completions are planned on the event loop itself."""
_INLINE_PLAN_TESTS = 256
"""... and at most this many tests: parsing tests costs ~0.1 ms each, and one completion
may bring a request body's worth of them (minutes on the loop, every request stalled)."""
_INLINE_PLAN_CHARS = 256 * 1024
"""... and at most this many characters of completions (code extraction is ~1 s per MiB)."""


def count_tests(tests: Any) -> int:
    """The test cases in one completion's tests: one per entry, a ``calls`` test's calls each.

    Linear in the entries but cheap (~40 ns for a string): it is run on the event loop,
    before the request's tests are planned.
    """
    if not isinstance(tests, (list, tuple)):
        return 1
    n = 0
    for t in tests:
        if type(t) is str:
            n += 1
            continue
        # a dict, or a test value (a CallBatchTest holds a tuple of calls)
        field = t.get if isinstance(t, Mapping) else lambda name, t=t: getattr(t, name, None)
        calls = field("calls") if field("kind") == "calls" else None
        n += max(1, len(calls)) if isinstance(calls, (list, tuple)) else 1
    return n


def _inline(completions: int, tests: int, chars: int = 0) -> bool:
    """Whether work on this much is cheap enough for the event loop (well under a millisecond)."""
    return completions <= _INLINE_PLAN and tests <= _INLINE_PLAN_TESTS and chars <= _INLINE_PLAN_CHARS


async def _sized(fn: Callable[[], _T], completions: int, tests: int, chars: int = 0) -> _T:
    """``fn()`` on the event loop when the work is small (no thread hop), else in a thread."""
    return fn() if _inline(completions, tests, chars) else await asyncio.to_thread(fn)


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
        self.pending_tests = 0
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
    def check_tests(self, tests: int) -> None:
        """413 if a request holds more than ``max_tests_per_request`` tests (``tests`` may be a
        lower bound, counted before the request's tests are parsed)."""
        limit = self.config.max_tests_per_request
        if tests > limit:
            raise HTTPError(
                413,
                f"{tests} tests in one request; the limit is {limit} "
                "(max_tests_per_request, --max-tests-per-request): split the request",
            )

    def admit(self, n: int, tests: int = 0) -> None:
        """Take ``n`` completions and their ``tests`` into the queue, or refuse the request;
        :meth:`release` gives them back."""
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
        self.check_tests(tests)
        if self.pending + n > self.config.max_pending:
            self.metrics.rejected += 1
            raise HTTPError(
                503,
                f"server busy: {self.pending} completions queued (limit {self.config.max_pending}); retry shortly",
                {"Retry-After": "1"},
            )
        if self.pending_tests + tests > self.config.max_pending_tests:
            self.metrics.rejected += 1
            raise HTTPError(
                503,
                f"server busy: {self.pending_tests} tests queued (limit {self.config.max_pending_tests}, "
                "--max-pending-tests); retry shortly",
                {"Retry-After": "1"},
            )
        self.pending += n
        self.pending_tests += tests
        self.in_flight += 1

    def release(self, n: int, tests: int = 0) -> None:
        self.pending -= n
        self.pending_tests -= tests
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
        n_tests = sum(count_tests(t) for t in tests)
        self.admit(n, n_tests)
        t0 = time.perf_counter()
        try:
            scores = await self._batcher(reward).submit(_Entry(completions, tests, prompts))
        finally:
            self.release(n, n_tests)
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
            tests = sum(count_tests(t) for e in entries for t in e.tests)
            chars = sum(len(completion_text(c)) for e in entries for c in e.completions) if total <= _INLINE_PLAN else 0
            inline = _inline(total, tests, chars)  # well under a millisecond: no thread hop
            if inline:
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
            todo = [(e, item[0], base) for e, item, base in zip(entries, planned, offsets)
                    if not e.answer.done() and not isinstance(item, HTTPError)]  # done: the request went away
            if inline:
                results = self._finish_entries(reward, todo, reports)
            else:  # ~0.6 s per million tests
                results = await asyncio.to_thread(self._finish_entries, reward, todo, reports)
            for (entry, _, _), scores in zip(todo, results):
                if not entry.answer.done():
                    entry.answer.set_result(scores)
            for entry, item in zip(entries, planned):
                if isinstance(item, HTTPError) and not entry.answer.done():
                    entry.answer.set_exception(item)
        except BaseException as exc:  # every waiting request gets an answer, whatever happened
            error = exc if isinstance(exc, HTTPError) else _unavailable(exc, self.draining)
            for entry in entries:
                if not entry.answer.done():
                    entry.answer.set_exception(error)
            if not isinstance(exc, Exception):
                raise

    @staticmethod
    def _finish_entries(
        reward: CodeReward, todo: Sequence[tuple[_Entry, list[Plan], int]], reports: Mapping[int, Report]
    ) -> list[list[Score]]:
        return [[reward.finish(p, reports.get(base + p.index)) for p in plans] for _, plans, base in todo]

    async def respond(self, scores: Sequence[Score], build: Callable[[], _T]) -> _T:
        """``build()`` (a response from ``scores``) on the event loop for a small answer, in a
        thread for a big one (a million tests' statuses and warnings take a second or more)."""
        tests = sum(len(s.statuses) + len(s.warnings) for s in scores)
        chars = sum(len(s.program or "") for s in scores) if len(scores) <= _INLINE_PLAN else 0
        return await _sized(build, len(scores), tests, chars)

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
                "pending_tests": self.pending_tests,
                "in_flight_requests": self.in_flight,
                "pending_jobs": self.runner.pending,
            },
            workers=self.runner.workers if self.runner.started else None,
            reward=self.config.reward,
            draining=self.draining,
        )
        return snap
