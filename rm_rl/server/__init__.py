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
- ``GET /health`` (liveness without the token; with it, or on an open server, also the
  backend, workers, dataset and sandbox warnings) and ``GET /metrics`` (throughput, latency, outcome
  and test-status counts, sandbox errors, queue depth).

A completion the sandbox could not judge gets ``null``, never 0 (or, with
``on_sandbox_error="503"``, the whole request is refused so the trainer retries it).
Requests over ``max_request_bytes`` get 413, over ``max_batch`` completions or
``max_tests_per_request`` tests 413, and when ``max_pending`` completions or
``max_pending_tests`` tests are already queued 503 with ``Retry-After``.

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

import importlib
from typing import TYPE_CHECKING, Any

from .config import ServerConfig

if TYPE_CHECKING:
    from .app import create_app
    from .run import RewardServer, _check_bind, _check_open_files, fit_open_files, serve
    from .service import RewardService

# The app and its runner need the ``serve`` extra (FastAPI, uvicorn): imported when first
# used, so ServerConfig (and the CLI's flags, whose defaults it defines) need neither.
_LAZY = {
    "create_app": ".app",
    "RewardServer": ".run",
    "_check_bind": ".run",
    "_check_open_files": ".run",
    "fit_open_files": ".run",
    "serve": ".run",
    "RewardService": ".service",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)


__all__ = ["RewardServer", "RewardService", "ServerConfig", "create_app", "serve"]
