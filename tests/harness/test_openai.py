"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytest.importorskip("httpx")

from harness.generation import get_generator
from harness.generation.openai import RateLimiter


class Server:
    """A tiny OpenAI-compatible server: /v1/chat/completions and /v1/completions.

    ``faults`` is a list of HTTP statuses answered (in order) before real answers;
    ``max_choices`` caps the choices per response (servers that ignore ``n``).
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.faults: list[int] = []
        self.max_choices = 100
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.gate: threading.Barrier | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with owner.lock:
                    owner.requests.append(body)
                    owner.headers.append(dict(self.headers))
                    fault = owner.faults.pop(0) if owner.faults else None
                    owner.in_flight += 1
                    owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
                try:
                    if owner.gate is not None:
                        try:
                            owner.gate.wait(timeout=5)
                        except threading.BrokenBarrierError:
                            pass
                    if fault == 299:  # a 200 whose body is not a completion
                        self._send(200, ["not", "an", "object"])
                        return
                    if fault is not None:
                        self._send(fault, {"error": {"message": f"injected {fault}"}}, {"Retry-After": "0"})
                        return
                    if self.path == "/v1/chat/completions":
                        text = body["messages"][-1]["content"]
                        choices = [
                            {"index": i, "message": {"role": "assistant", "content": f"chat:{text}:{i}"}}
                            for i in range(min(body.get("n", 1), owner.max_choices))
                        ]
                    elif self.path == "/v1/completions":
                        choices = [
                            {"index": i, "text": f"text:{body['prompt']}:{i}"}
                            for i in range(min(body.get("n", 1), owner.max_choices))
                        ]
                    else:
                        self._send(404, {"error": "no such route"})
                        return
                    usage = {
                        "prompt_tokens": 7,
                        "completion_tokens": 3 * len(choices),
                        "total_tokens": 7 + 3 * len(choices),
                    }
                    self._send(200, {"choices": choices, "usage": usage})
                finally:
                    with owner.lock:
                        owner.in_flight -= 1

            def _send(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def make(server: Server, **kwargs: Any) -> Any:
    kwargs.setdefault("sleep", lambda s: None)  # no real waiting between retries
    return get_generator("openai", model="test-model", base_url=server.url, **kwargs)


def test_chat_and_text_prompts_use_their_endpoints(server):
    gen = make(server, api_key="sk-test", price_per_1m_prompt_usd=1.0, price_per_1m_completion_usd=2.0)
    out = gen.generate(
        [[{"role": "user", "content": "hi"}], "def f():"], n=2, temperature=0.7, max_tokens=32, stop=["\n\n"], seed=3
    )
    assert out == [["chat:hi:0", "chat:hi:1"], ["text:def f()::0", "text:def f()::1"]]
    bodies = sorted(server.requests, key=lambda b: "prompt" in b)
    assert bodies[0]["messages"] == [{"role": "user", "content": "hi"}]
    assert bodies[1]["prompt"] == "def f():"
    for b in bodies:
        assert (b["model"], b["n"], b["temperature"], b["max_tokens"], b["stop"], b["seed"]) == (
            "test-model",
            2,
            0.7,
            32,
            ["\n\n"],
            3,
        )
    assert all(h.get("Authorization") == "Bearer sk-test" for h in server.headers)
    u = gen.usage
    assert (u.requests, u.prompt_tokens, u.completion_tokens, u.completions) == (2, 14, 12, 4)
    assert u.cost_usd == pytest.approx((14 * 1.0 + 12 * 2.0) / 1e6)
    gen.close()


def test_text_prompts_can_go_to_chat(server):
    gen = make(server, chat_text_prompts=True)
    assert gen.generate(["hello"]) == [["chat:hello:0"]]


def test_api_key_comes_from_the_named_environment_variable(server, monkeypatch):
    monkeypatch.setenv("MY_KEY", "from-env")
    make(server, api_key_env="MY_KEY").generate(["x"])
    assert server.headers[-1]["Authorization"] == "Bearer from-env"


def test_no_key_sends_no_authorization(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    make(server).generate(["x"])
    assert "Authorization" not in server.headers[-1]


def test_transient_errors_are_retried_with_backoff(server):
    server.faults = [429, 500, 503]
    slept: list[float] = []
    gen = make(server, max_retries=5, sleep=slept.append)
    assert gen.generate(["x"]) == [["text:x:0"]]
    assert len(server.requests) == 4
    assert len(slept) == 3
    assert gen.usage.retries == 3 and gen.usage.requests == 4


def test_giving_up_is_a_per_prompt_error_not_an_exception(server):
    server.faults = [500] * 3
    gen = make(server, max_retries=2, concurrency=1)
    done = gen.complete(["a", "b"])
    assert "gave up after 3 attempts" in (done[0].error or "")
    assert done[1].ok  # the other prompt still got its answer
    assert gen.usage.failures == 1


def test_a_client_error_is_not_retried(server):
    server.faults = [400]
    gen = make(server, max_retries=5)
    done = gen.complete(["a"])
    assert "HTTP 400" in (done[0].error or "")
    assert len(server.requests) == 1


def test_missing_choices_are_requested_again(server):
    server.max_choices = 1  # a server that ignores n
    gen = make(server)
    out = gen.generate(["p"], n=3)
    assert len(out[0]) == 3
    assert [b["n"] for b in server.requests] == [3, 2, 1]
    assert gen.usage.prompt_tokens == 7  # the prompt is counted once


def test_requests_run_concurrently_up_to_the_limit(server):
    server.gate = threading.Barrier(3)  # each request waits until three are in flight
    gen = make(server, concurrency=3)
    out = gen.generate([f"p{i}" for i in range(6)])
    assert [o[0] for o in out] == [f"text:p{i}:0" for i in range(6)]
    assert server.max_in_flight == 3


def test_unreachable_server_is_a_prompt_error(server):
    url = server.url
    server.close()
    gen = get_generator("openai", model="m", base_url=url, max_retries=1, sleep=lambda s: None, timeout_s=2.0)
    assert "gave up" in (gen.complete(["x"])[0].error or "")


def test_rate_limiter_spaces_requests_without_real_waiting():
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)

    limiter = RateLimiter(60, clock=lambda: now[0], sleep=sleep)  # one per second
    for _ in range(3):
        limiter.acquire()
    assert slept == [1.0, 2.0]
    now[0] += 10
    limiter.acquire()
    assert slept == [1.0, 2.0]
    assert RateLimiter(None).interval_s == 0
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_a_malformed_response_is_the_prompts_error(server):
    server.faults = [299]
    done = make(server).complete(["a"])
    assert "malformed response" in (done[0].error or "")
