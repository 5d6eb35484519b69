"""``openai``: any OpenAI-compatible HTTP endpoint (OpenAI, vLLM serve, SGLang, TGI...).

Chat prompts go to ``/chat/completions``, text prompts to ``/completions``. Requests run
on ``concurrency`` threads sharing one httpx client; a rate limiter spaces request
starts to ``requests_per_minute``; a 429, a 5xx or a network failure is retried with
exponential backoff (honouring ``Retry-After``), any other 4xx is the prompt's error.
When a server returns fewer than ``n`` choices (some ignore ``n``), more requests are
made until there are ``n``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import GeneratorNotFoundError
from .base import Completion, Generator, Prompt, SamplingParams

__all__ = ["OpenAIGenerator", "RateLimiter"]

_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class RateLimiter:
    """Spaces events at least ``60 / per_minute`` seconds apart (thread-safe).

    ``clock`` and ``sleep`` are injectable so the limiter is tested without waiting.
    """

    def __init__(
        self,
        per_minute: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute is not None and not per_minute > 0:
            raise ValueError(f"requests_per_minute must be positive, got {per_minute!r}")
        self.interval_s = 60.0 / per_minute if per_minute else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if not self.interval_s:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval_s
        if start > now:
            self._sleep(start - now)


def _parse(data: Any, wanted: int) -> tuple[list[str], int, int]:
    """``(texts, prompt tokens, completion tokens)`` of a completions or chat response."""
    choices = data.get("choices") or []
    if not choices:
        raise ValueError("no choices")
    texts = []
    for choice in choices[:wanted]:
        text = choice["message"].get("content") if "message" in choice else choice.get("text")
        texts.append(text or "")
    usage = data.get("usage") or {}
    return texts, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)


class _Fatal(Exception):
    """A response that retrying cannot fix (a 4xx other than 429)."""


class OpenAIGenerator(Generator):
    """A client of an OpenAI-compatible endpoint.

    ``base_url`` ends in ``/v1``. The API key is ``api_key`` or, when that is None, the
    environment variable named by ``api_key_env`` (read once, here); none is sent if
    neither is set (local servers).
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str = "https://api.openai.com/v1",
        *,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        max_retries: int = 6,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        requests_per_minute: float | None = None,
        timeout_s: float = 300.0,
        chat_text_prompts: bool = False,
        extra_body: dict[str, Any] | None = None,
        price_per_1m_prompt_usd: float = 0.0,
        price_per_1m_completion_usd: float = 0.0,
        transport: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            model=model,
            price_per_1m_prompt_usd=price_per_1m_prompt_usd,
            price_per_1m_completion_usd=price_per_1m_completion_usd,
        )
        try:
            import httpx
        except ImportError as exc:  # pragma: no cover - httpx is a harness dependency
            raise GeneratorNotFoundError(f"the openai backend needs httpx: pip install httpx ({exc})") from exc
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if api_key is None:
            import os

            api_key = os.environ.get(api_key_env) or None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.chat_text_prompts = chat_text_prompts
        self.extra_body = dict(extra_body or {})
        self._limiter = RateLimiter(requests_per_minute, sleep=sleep)
        self._sleep = sleep
        self._httpx = httpx
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 30.0)),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            transport=transport,
        )
        self._counts = threading.local()

    # ------------------------------------------------------------ requests
    def _body(self, prompt: Prompt, params: SamplingParams, n: int) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "model": self.model,
            "n": n,
            "temperature": params.temperature,
            "max_tokens": params.max_tokens,
            "top_p": params.top_p,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        body.update(self.extra_body)
        if isinstance(prompt, str) and not self.chat_text_prompts:
            body["prompt"] = prompt
            return "/completions", body
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [dict(m) for m in prompt]
        body["messages"] = messages
        return "/chat/completions", body

    def _delay(self, attempt: int, response: Any) -> float:
        if response is not None:
            after = response.headers.get("retry-after")
            if after:
                try:
                    return min(float(after), self.max_backoff_s)
                except ValueError:
                    pass
        base = min(self.backoff_s * (2**attempt), self.max_backoff_s)
        return base * (0.5 + random.random() / 2)

    def _post(self, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], int, int]:
        """``(json, requests, retries)``; raises _Fatal or the last transient error."""
        httpx = self._httpx
        last = ""
        for attempt in range(self.max_retries + 1):
            self._limiter.acquire()
            response = None
            try:
                response = self._client.post(self.base_url + path, json=body)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    try:
                        return response.json(), attempt + 1, attempt
                    except ValueError:
                        last = "the server answered 200 with a body that is not JSON"
                elif response.status_code in _RETRY_STATUS:
                    last = f"HTTP {response.status_code}: {response.text[:200]}"
                else:
                    raise _Fatal(f"HTTP {response.status_code}: {response.text[:500]}")
            if attempt < self.max_retries:
                self._sleep(self._delay(attempt, response))
        raise _Fatal(f"gave up after {self.max_retries + 1} attempts; last: {last}")

    def _one(self, prompt: Prompt, params: SamplingParams) -> tuple[Completion, int, int]:
        texts: list[str] = []
        prompt_tokens = completion_tokens = requests = retries = 0
        try:
            while len(texts) < params.n:
                path, body = self._body(prompt, params, params.n - len(texts))
                data, made, retried = self._post(path, body)
                requests += made
                retries += retried
                try:
                    got, p_tokens, c_tokens = _parse(data, params.n - len(texts))
                except (AttributeError, TypeError, ValueError, KeyError) as exc:
                    raise _Fatal(f"malformed response ({exc}): {str(data)[:200]}") from None
                texts.extend(got)
                # A prompt sent again for missing choices is counted once.
                prompt_tokens = prompt_tokens or p_tokens
                completion_tokens += c_tokens
        except _Fatal as exc:
            return Completion(tuple(texts), prompt_tokens, completion_tokens, error=str(exc)), requests, retries
        return Completion(tuple(texts), prompt_tokens, completion_tokens), requests, retries

    def _complete(self, prompts: list[Prompt], params: SamplingParams) -> tuple[list[Completion], int, int]:
        if len(prompts) == 1 or self.concurrency == 1:
            results = [self._one(p, params) for p in prompts]
        else:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(prompts))) as pool:
                results = list(pool.map(lambda p: self._one(p, params), prompts))
        return [r[0] for r in results], sum(r[1] for r in results), sum(r[2] for r in results)

    def close(self) -> None:
        self._client.close()
