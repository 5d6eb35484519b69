"""The ASGI middleware in front of the app: bearer token, requests and body bytes in flight,
body size, and request/response counting."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from .responses import _plain
from .service import RewardService

_ROUTES = frozenset({"/get_reward", "/score", "/health", "/metrics", "/docs", "/openapi.json"})


def _authorized(token: str | None, headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether the request carries ``Authorization: Bearer <token>`` (always, for an open
    server), in exactly one such header (ASGI's raw header list: several are ambiguous,
    and code reading the first and code reading the last would disagree)."""
    if token is None:
        return True
    given = [value for name, value in headers if name.lower() == b"authorization"]
    if len(given) != 1:
        return False
    scheme, _, value = given[0].partition(b" ")
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
        if path == "/health":
            await self.app(scope, receive, counting_send)
            return
        if not _authorized(config.token, scope.get("headers") or ()):
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
            # The whole body must arrive by this deadline: a client trickling it a byte a second
            # would otherwise hold a request slot (and its bytes) for as long as it likes.
            deadline = asyncio.get_running_loop().time() + self.service.config.read_timeout_s
            try:
                chunks: list[bytes] = []
                while True:
                    try:
                        message = await asyncio.wait_for(receive(), deadline - asyncio.get_running_loop().time())
                    except asyncio.TimeoutError:
                        await _plain(counting_send, 408, "request body not received in time; send it faster")
                        return
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
