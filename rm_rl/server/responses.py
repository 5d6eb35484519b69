"""Answers other than 200: the error the service raises, the 503 for an unexpected
failure, and the raw ASGI JSON answer the middleware sends before the app runs."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

log = logging.getLogger("rm_rl.server")


class HTTPError(Exception):
    """An answer other than 200, raised inside the service and rendered by the app."""

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


def _unavailable(exc: BaseException, draining: bool) -> HTTPError:
    """An unexpected failure while scoring, as the 503 a trainer retries (logged with its traceback)."""
    if draining:
        return HTTPError(503, "server shutting down; retry elsewhere", {"Retry-After": "5"})
    log.error("scoring failed; answering 503", exc_info=(type(exc), exc, exc.__traceback__))
    return HTTPError(503, f"scoring failed ({type(exc).__name__}); retry the request", {"Retry-After": "1"})


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
