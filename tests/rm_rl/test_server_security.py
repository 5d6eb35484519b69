"""The reward server's HTTP boundary (issue 10, finding 7), against the real uvicorn server.

The server runs code sent by clients, so: the token is checked before a byte of the body
is read, bodies and concurrent requests are capped, the API description needs the token,
and a server reachable beyond loopback without a token refuses to start.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest

from rm_rl.errors import ConfigError
from rm_rl.server import RewardServer, ServerConfig, create_app, serve

from .conftest import ADD_TESTS, GOOD_ADD

ITEM = {"completion": GOOD_ADD, "tests": ADD_TESTS}
TOKEN = "s3cret-token"


def serve_fake(fake, **config):
    _, ex = fake
    return RewardServer(create_app(ServerConfig(**config), executor=ex))


def _raw(url: str, head: bytes, timeout_s: float = 5.0) -> bytes:
    """Send request headers only (a body is announced but never sent); return what comes back."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout_s) as s:
        s.sendall(head)
        try:
            return s.recv(4096)
        except socket.timeout:
            return b""


def test_token_is_checked_before_the_body_is_read(fake):
    """A client without the token announcing a big body is answered 401 at once, body unread."""
    with serve_fake(fake, token=TOKEN) as srv:
        for auth in (b"", b"Authorization: Bearer wrong\r\n"):
            head = (
                b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + auth
                + b"Content-Length: 100000000\r\n\r\n"
            )
            t0 = time.monotonic()
            answer = _raw(srv.url, head)
            assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
            assert time.monotonic() - t0 < 4
        # The right token still gets to send its body.
        with httpx.Client(base_url=srv.url) as c:
            ok = c.post("/score", json={"items": [ITEM]}, headers={"Authorization": f"Bearer {TOKEN}"})
            assert ok.status_code == 200 and ok.json()["results"][0]["reward"] == 1.0


def test_chunked_body_over_the_cap_is_refused(fake):
    """No Content-Length (chunked) does not get around the body cap."""
    with serve_fake(fake, max_request_bytes=1024) as srv, httpx.Client(base_url=srv.url) as c:
        r = c.post("/score", content=iter([b"{" + b" " * 4000 + b"}"]), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "1024" in r.json()["detail"]
        r = c.post("/score", content=b"x" * 2000, headers={"Content-Type": "application/json"})
        assert r.status_code == 413


def test_api_description_needs_the_token(fake):
    with serve_fake(fake, token=TOKEN) as srv, httpx.Client(base_url=srv.url) as c:
        for path in ("/docs", "/openapi.json", "/redoc", "/docs/oauth2-redirect"):
            r = c.get(path)
            assert r.status_code == 401, (path, r.status_code)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert c.get("/openapi.json", headers=auth).status_code == 200
        assert c.get("/health").status_code == 200  # liveness stays open


def test_concurrent_requests_are_capped(fake):
    """Beyond max_concurrent_requests in flight, 503 with Retry-After, before the body is read."""
    script, _ = fake
    script.gate = threading.Event()
    with serve_fake(fake, max_concurrent_requests=2) as srv:
        outs: list[int] = []

        def post() -> None:
            with httpx.Client(base_url=srv.url, timeout=60) as c:
                outs.append(c.post("/score", json={"items": [ITEM]}).status_code)

        threads = [threading.Thread(target=post) for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(script.jobs) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        with httpx.Client(base_url=srv.url) as c:
            busy = c.post("/score", json={"items": [ITEM]})
            assert busy.status_code == 503 and busy.headers["retry-after"] == "1", busy.text
            assert "concurrent" in busy.json()["detail"]
            assert c.get("/health").status_code == 200  # never counted against the cap
        script.gate.set()
        for t in threads:
            t.join(30)
        assert outs == [200, 200]


def test_max_concurrent_requests_is_validated():
    with pytest.raises(ConfigError, match="max_concurrent_requests"):
        ServerConfig(max_concurrent_requests=0)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "example.org"])
def test_refuses_to_bind_beyond_loopback_without_a_token(fake, host):
    _, ex = fake
    app = create_app(ServerConfig(), executor=ex)
    with pytest.raises(ConfigError, match="token"):
        RewardServer(app, host=host)
    with pytest.raises(ConfigError, match="token"):
        serve(app, host=host, port=0)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_without_a_token_is_fine(fake, host):
    _, ex = fake
    with RewardServer(create_app(ServerConfig(), executor=ex), host=host) as srv, httpx.Client(base_url=srv.url) as c:
        assert c.get("/health").status_code == 200


def test_cli_refuses_a_public_address_without_a_token(capsys, monkeypatch):
    from acesandbox.cli import main as acecoder
    from rm_rl import cli_serve

    monkeypatch.delenv(cli_serve.TOKEN_ENV, raising=False)
    code = acecoder(["serve", "--host", "0.0.0.0", "--port", "0"])
    assert code == 2
    assert "token" in capsys.readouterr().err


def _closed(s: socket.socket) -> bool:
    """Whether the server has closed this connection (EOF or reset); a 408 answer counts."""
    s.settimeout(0.2)
    try:
        data = s.recv(4096)
    except TimeoutError:
        return False
    except OSError:
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 408")


def test_a_trickled_body_does_not_hold_a_request_slot(fake):
    """A client sending its body a byte at a time is cut off at read_timeout_s (408), and its
    request slot is freed: slow clients cannot lock the trainer out with 503s."""
    with serve_fake(fake, max_concurrent_requests=2, read_timeout_s=1.0) as srv:
        host, port = srv.url.removeprefix("http://").rsplit(":", 1)
        slow = []
        for _ in range(2):
            s = socket.create_connection((host, int(port)), timeout=5)
            s.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{")
            slow.append(s)
        time.sleep(0.3)
        with httpx.Client(base_url=srv.url) as c:
            assert c.post("/score", json={"items": [ITEM]}).status_code == 503  # both slots held
            deadline = time.monotonic() + 10
            answers = []
            while len(answers) < 2 and time.monotonic() < deadline:
                for s in slow:
                    try:
                        s.send(b" ")  # a byte now and then: still too slow
                    except OSError:
                        pass
                answers = [s for s in slow if _closed(s)]
            assert len(answers) == 2
            r = c.post("/score", json={"items": [ITEM]})
            assert r.status_code == 200, r.text
        for s in slow:
            s.close()


def test_trickled_headers_are_cut_off_without_a_token(fake):
    """Clients trickling request headers (no token: the app never sees them) are
    disconnected at read_timeout_s, on a fresh connection and on a kept-alive one."""
    with serve_fake(fake, token=TOKEN, read_timeout_s=1.0) as srv:
        host, port = srv.url.removeprefix("http://").rsplit(":", 1)
        fresh = socket.create_connection((host, int(port)), timeout=5)
        fresh.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\n")
        kept = socket.create_connection((host, int(port)), timeout=5)
        kept.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert kept.recv(4096).startswith(b"HTTP/1.1 200")
        kept.sendall(b"POST /score HTTP/1.1\r\n")  # the next request's headers, never finished
        deadline = time.monotonic() + 10
        pending = [fresh, kept]
        while pending and time.monotonic() < deadline:
            for s in list(pending):
                try:
                    s.send(b"X-Slow: 1\r\n")
                except OSError:
                    pending.remove(s)
                    continue
                if _closed(s):
                    pending.remove(s)
        assert not pending, "a header-trickling connection was never closed"
        fresh.close()
        kept.close()


def test_read_timeout_is_validated():
    for bad in (0, -1.0, float("inf"), True):
        with pytest.raises(ConfigError, match="read_timeout_s"):
            ServerConfig(read_timeout_s=bad)


def test_deeply_nested_tests_are_refused_not_retried(fake):
    """Tests JSON nested past the parser's depth is the request's fault: 422, not a 503 the
    trainer would retry forever (with a traceback logged each time)."""
    deep = "[" * 100_000 + "]" * 100_000
    with serve_fake(fake) as srv, httpx.Client(base_url=srv.url) as c:
        r = c.post("/score", json={"items": [{"completion": GOOD_ADD, "tests": deep}]})
        assert r.status_code == 422 and "items[0].tests" in r.json()["detail"], r.text
        r = c.post("/get_reward", json={"query": ["q"], "labels": [deep]})
        assert r.status_code == 422 and "labels[0]" in r.json()["detail"], r.text


def test_a_request_with_many_tests_is_planned_off_the_event_loop(fake, monkeypatch):
    """One completion may bring a body's worth of tests (~0.1 ms each to parse): planning
    them on the event loop would stall every other request and /health for minutes."""
    from rm_rl.server.service import RewardService

    threads: list[str] = []
    plan = RewardService._plan_entries

    def recording(self, reward, entries):
        threads.append(threading.current_thread().name)
        return plan(self, reward, entries)

    monkeypatch.setattr(RewardService, "_plan_entries", recording)
    with serve_fake(fake) as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        loop_thread = srv._thread.name
        assert c.post("/score", json={"items": [ITEM]}).status_code == 200
        many = {"completion": GOOD_ADD, "tests": ["assert add(1, 2) == 3"] * 2000}
        assert c.post("/score", json={"items": [many]}).status_code == 200
        big = {"completion": GOOD_ADD + "\n# " + "x" * 400_000, "tests": ADD_TESTS}
        assert c.post("/score", json={"items": [big]}).status_code == 200
    assert threads[0] == loop_thread  # a small request: no thread hop
    assert threads[1] != loop_thread and threads[2] != loop_thread


def test_a_lone_surrogate_echoed_in_details_is_answered_not_503(fake):
    """A completion with a lone surrogate (valid in a JSON string, not in UTF-8) used to fail
    the response's rendering with details on: a 503, so the trainer retried it forever."""
    program = GOOD_ADD.replace("a + b", "a + b  # \ud800")
    body = json.dumps({"items": [{"completion": program, "tests": ADD_TESTS}], "details": True})  # as \\ud800
    with serve_fake(fake) as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        r = c.post("/score", content=body.encode(), headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        result = json.loads(r.content)["results"][0]
        assert result["reward"] == 1.0 and "\ud800" in result["program"]
