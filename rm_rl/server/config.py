"""The reward server's start-up configuration, checked when built."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from ..errors import ConfigError
from ..rewards import RewardConfig


def _help(text: str) -> dict[str, str]:
    return {"help": text}


DEFAULT_MAX_CONNECTIONS = 8192
"""The connection cap when none is given and the open-file limit allows it."""


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
    max_tests_per_request: int = field(
        default=1_000_000,
        metadata=_help(
            "Most tests in one request, across its completions (a 'calls' test counts its calls); 413 beyond. "
            "Real rows hold tens (AceCode) to hundreds (LiveCodeBench) of tests; each costs the server ~0.25 KiB "
            "and ~10 us however small it is (a 4-byte test: 65x its bytes), so the body cap alone is no bound."
        ),
    )
    max_pending_tests: int = field(
        default=4_000_000,
        metadata=_help("Most tests queued across requests; beyond, 503 with Retry-After."),
    )
    max_request_bytes: int = field(default=256 * 2**20, metadata=_help("Largest request body (413 beyond)."))
    max_concurrent_requests: int = field(
        default=4096,
        metadata=_help(
            "Most requests in flight at once, bodies included; beyond, 503 with Retry-After (/health exempt). "
            "Recent OpenRLHF sends one sample per request: a 256 x 8 rollout is 2,048 at once."
        ),
    )
    max_connections: int | None = field(
        default=None,
        metadata=_help(
            "Most connections open at once, idle or not; beyond, a new one is answered 503 with Retry-After "
            "and closed before a byte is read, so idle sockets cannot use up the server's file descriptors. "
            "Needs this many open files (and some spare) under RLIMIT_NOFILE, raised at start-up if allowed: "
            f"a value given that cannot fit is refused; by default {DEFAULT_MAX_CONNECTIONS:,}, or as many as the "
            "hard limit leaves room for, with a warning."
        ),
    )
    max_connections_per_client: int = field(
        default=4096,
        metadata=_help(
            "Most of those connections from one client address; beyond, its new one is answered 503 and "
            "closed the same way, so one stranger cannot hold every slot (no token is needed to connect)."
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
            "Bearer token every request but /health must carry, checked before the body is read (/health "
            "without it answers liveness only); "
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
    read_timeout_s: float = field(
        default=60.0,
        metadata=_help(
            "Longest a client may take to send a request's headers, then its body, and to read an answer once "
            "it is ready; slower: the connection is closed (408 for a body), so trickling or never-reading "
            "clients cannot hold connections or request slots forever."
        ),
    )

    def __post_init__(self) -> None:
        if self.reward not in ("binary", "pass_rate"):
            raise ConfigError(f"reward must be 'binary' or 'pass_rate', got {self.reward!r}")
        for name in (
            "max_batch",
            "max_pending",
            "max_tests_per_request",
            "max_pending_tests",
            "max_request_bytes",
            "max_concurrent_requests",
            "max_connections_per_client",
            "batch_completions",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        cap = self.max_connections
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ConfigError(f"max_connections must be a positive integer or None, got {cap!r}")
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
        if self.max_pending_tests < self.max_tests_per_request:
            raise ConfigError(
                f"max_pending_tests ({self.max_pending_tests}) must be >= max_tests_per_request "
                f"({self.max_tests_per_request}), or a full-size request could never be admitted"
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
            isinstance(self.read_timeout_s, (int, float))
            and not isinstance(self.read_timeout_s, bool)
            and math.isfinite(self.read_timeout_s)
            and self.read_timeout_s > 0
        ):
            raise ConfigError(f"read_timeout_s must be > 0 seconds, got {self.read_timeout_s!r}")
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
