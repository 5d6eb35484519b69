"""The reward server's HTTP boundary (issue 10, finding 7), against the real uvicorn server.

The server runs code sent by clients, so: the token is checked before a byte of the body
is read, bodies and concurrent requests are capped, the API description needs the token,
and a server reachable beyond loopback without a token refuses to start.
"""

from __future__ import annotations

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
