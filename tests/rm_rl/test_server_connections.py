"""The reward server's cap on open connections and what /health tells a stranger, against the
real uvicorn server: idle sockets cannot use up its file descriptors, and without the token
/health says only whether it is alive."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time

import httpx
import pytest

from rm_rl.errors import ConfigError
from rm_rl.server import RewardServer, ServerConfig, create_app

from .conftest import ADD_TESTS, GOOD_ADD

ITEM = {"completion": GOOD_ADD, "tests": ADD_TESTS}
TOKEN = "s3cret-token"


def serve_fake(fake, **config):
    _, ex = fake
    return RewardServer(create_app(ServerConfig(**config), executor=ex))


def _address(srv: RewardServer) -> tuple[str, int]:
    return srv.host, srv.port


def _wait_for(predicate, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _refused(url: str) -> bool:
    """Whether a new connection's /health is answered 503 (the cap is reached)."""
    try:
        r = httpx.get(f"{url}/health", timeout=5)
    except httpx.TransportError:
        return True
    return r.status_code == 503


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _read_all(s: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    s.settimeout(5)
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    return data


def test_idle_connections_beyond_the_cap_are_answered_503_and_closed(fake):
    """Sockets that never send a byte count: past max_connections a new connection gets a 503
    with Retry-After and is closed at once (its descriptor freed), /health included; once the
    idle ones close, /health and scoring answer again."""
    with serve_fake(fake, max_connections=4, read_timeout_s=60.0) as srv:
        idle = [socket.create_connection(_address(srv), timeout=5) for _ in range(4)]
        try:
            assert _wait_for(lambda: _refused(srv.url)), "a fifth connection was served"
            r = httpx.get(f"{srv.url}/health", timeout=5)
            assert r.status_code == 503 and r.headers["retry-after"] == "1", r.text
            assert "--max-connections" in r.json()["detail"]
            # More sockets beyond the cap are closed by the server, not held open.
            extra = [socket.create_connection(_address(srv), timeout=5) for _ in range(20)]
            for s in extra:
                answer = _read_all(s)  # returns only once the server has closed it
                assert answer.startswith(b"HTTP/1.1 503"), answer[:100]
                s.close()
        finally:
            for s in idle:
                s.close()
        assert _wait_for(lambda: _healthy(srv.url)), "/health never answered again after the idle sockets closed"
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            assert c.post("/score", json={"items": [ITEM]}).json()["results"][0]["reward"] == 1.0


def test_the_read_timeout_frees_connections_held_by_idle_clients(fake):
    """The cap and the header deadline work together: idle sockets that are never closed by
    their client are closed by the server after read_timeout_s, and the cap frees up."""
    with serve_fake(fake, max_connections=2, read_timeout_s=2.0) as srv:
        idle = [socket.create_connection(_address(srv), timeout=5) for _ in range(2)]
        try:
            assert _wait_for(lambda: _refused(srv.url), timeout_s=1.5), "a third connection was served"
            assert _wait_for(lambda: _healthy(srv.url)), "idle connections were never closed"
            for s in idle:
                assert _read_all(s) == b""  # closed by the server, without an answer
        finally:
            for s in idle:
                s.close()


def test_a_kept_alive_connection_counts_and_is_not_cut(fake):
    """A client's kept-alive connection takes a slot and keeps working at the cap."""
    with serve_fake(fake, max_connections=1) as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        assert c.get("/health").status_code == 200
        assert _refused(srv.url)  # the kept-alive one holds the only slot
        assert c.post("/score", json={"items": [ITEM]}).status_code == 200


def _connect_from(srv: RewardServer, source: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(_address(srv))
    return s


def _health_from(srv: RewardServer, source: str) -> bytes:
    """The raw answer to /health on a new connection from ``source`` (a loopback address), or
    the refusal the server sends unasked (the request is sent only when none comes: a
    request the server never reads would make its close a reset)."""
    s = _connect_from(srv, source)
    try:
        s.settimeout(0.5)
        try:
            first = s.recv(4096)
        except socket.timeout:
            s.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            first = b""
        return first + _read_all(s)
    finally:
        s.close()


def test_one_client_address_holds_at_most_its_share_of_connections(fake):
    """Past max_connections_per_client from one address, that address's new connection gets a
    503 naming the flag and is closed; another address is still served, and the first is once
    its idle sockets close."""
    with serve_fake(fake, max_connections=16, max_connections_per_client=3, read_timeout_s=60.0) as srv:
        idle = [_connect_from(srv, "127.0.0.1") for _ in range(3)]
        try:
            assert _wait_for(lambda: _health_from(srv, "127.0.0.1").startswith(b"HTTP/1.1 503"))
            answer = _health_from(srv, "127.0.0.1")
            assert b"--max-connections-per-client" in answer and b"retry-after: 1" in answer, answer
            assert _health_from(srv, "127.0.0.2").startswith(b"HTTP/1.1 200"), "another address was refused"
        finally:
            for s in idle:
                s.close()
        assert _wait_for(lambda: _health_from(srv, "127.0.0.1").startswith(b"HTTP/1.1 200"))


@pytest.mark.parametrize("name", ["max_connections", "max_connections_per_client"])
@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "8"])
def test_max_connections_is_validated(name, bad):
    with pytest.raises(ConfigError, match=name):
        ServerConfig(**{name: bad})


def test_malformed_requests_are_logged_once_per_interval(fake):
    """uvicorn logs every malformed request (no token needed to send one): its warnings pass
    once per 10 s, the next saying how many it held back."""
    import logging

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("uvicorn.error")
    with serve_fake(fake) as srv:
        logger.addHandler(handler)  # once uvicorn has configured its loggers (which drops handlers)
        throttle = next(f for f in logger.filters if type(f).__name__ == "_Throttle")
        throttle.last.clear()  # one per process: forget what earlier tests' servers logged
        throttle.held.clear()
        try:
            for _ in range(30):
                s = socket.create_connection(_address(srv), timeout=5)
                s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                assert _read_all(s).startswith(b"HTTP/1.1 400")
                s.close()
        finally:
            logger.removeHandler(handler)
    invalid = [r for r in records if "Invalid HTTP request" in r.getMessage()]
    assert len(invalid) == 1, [r.getMessage() for r in records]
    assert sum(throttle.held.values()) >= 29


def _with_open_files(soft: int, hard: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return limit


def test_serve_refuses_a_cap_over_the_hard_open_file_limit():
    """`acecoder serve` refuses, before loading anything, a cap the process could not hold,
    naming both fixes."""
    proc = subprocess.run(
        [sys.executable, "-m", "acesandbox.cli", "serve", "--port", "0", "--max-connections", "4096"],
        check=False, capture_output=True, text=True, timeout=120, preexec_fn=_with_open_files(1024, 1024),
        env={k: v for k, v in os.environ.items() if k != "ACECODER_SERVE_TOKEN"},
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "max_connections (4096)" in proc.stderr and "ulimit -n 4608" in proc.stderr, proc.stderr
    assert "--max-connections" in proc.stderr and "512 or less" in proc.stderr, proc.stderr


def _python_with_open_files(code: str, soft: int, hard: int) -> subprocess.CompletedProcess[str]:
    """``python -c code`` under that RLIMIT_NOFILE, with no server token in its environment."""
    return subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120,
        preexec_fn=_with_open_files(soft, hard), env={k: v for k, v in os.environ.items() if k != "ACECODER_SERVE_TOKEN"},
    )


def test_the_soft_open_file_limit_is_raised_to_fit_the_cap():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1512:
        pytest.skip(f"the hard open-file limit ({hard}) is too low for this test")
    code = (
        "import resource\n"
        "from rm_rl.server import RewardServer, ServerConfig, create_app\n"
        "RewardServer(create_app(ServerConfig(max_connections=1000)))._sock.close()\n"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    proc = _python_with_open_files(code, 256, hard)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == 1512


def test_the_default_cap_fits_a_low_hard_open_file_limit():
    """With no cap given, a hard open-file limit of 1,024 (a service manager's default) lowers
    the default to what fits, with a warning, and the server serves; a cap given explicitly
    that cannot fit is still refused (above). `acecoder serve` settles the cap once, before
    it loads anything (fit_open_files), and the server it starts finds that it fits: one
    warning, not two."""
    code = (
        "import logging, httpx\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "from rm_rl.server import RewardServer, ServerConfig, create_app\n"
        "from rm_rl.server.run import _check_open_files, fit_open_files\n"
        "config = fit_open_files(ServerConfig())\n"
        "print(config.max_connections, _check_open_files(config))\n"
        "with RewardServer(create_app(config)) as srv:\n"
        "    print(httpx.get(srv.url + '/health', timeout=30).status_code)\n"
    )
    proc = _python_with_open_files(code, 1024, 1024)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["512", "512", "200"], proc.stdout + proc.stderr
    assert proc.stderr.count("leaves room for 512 connections") == 1, proc.stderr
    assert "ulimit -n 8704" in proc.stderr, proc.stderr


def test_health_tells_a_stranger_only_liveness(fake):
    """With a token configured, /health without it (or with a wrong one) answers liveness
    only: no backend, dataset or sandbox warnings. With the token: everything."""
    with serve_fake(fake, token=TOKEN) as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert c.post("/score", json={"items": [ITEM]}, headers=auth).status_code == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            r = c.get("/health", headers=headers)
            assert r.status_code == 200 and r.json() == {"status": "ok"}, (headers, r.text)
        full = c.get("/health", headers=auth).json()
        assert full["status"] == "ok" and full["reward"] == "binary"
        assert {"backend", "workers", "dataset", "warnings"} <= full.keys()
        # Two Authorization headers are ambiguous, whichever comes first: refused on every route.
        for pair in ([auth["Authorization"], "Bearer wrong"], ["Bearer wrong", auth["Authorization"]]):
            both = [("authorization", v) for v in pair]
            assert c.get("/health", headers=both).json() == {"status": "ok"}, pair
            assert c.get("/metrics", headers=both).status_code == 401, pair
            assert c.post("/score", json={"items": [ITEM]}, headers=both).status_code == 401, pair


def test_health_of_an_open_server_tells_everything(fake):
    """Without a configured token (loopback only) /health keeps its full answer."""
    with serve_fake(fake) as srv:
        body = httpx.get(f"{srv.url}/health").json()
        assert body["status"] == "ok" and {"backend", "workers", "dataset", "warnings"} <= body.keys()


def test_health_hides_the_weak_backend_warning_without_the_token():
    """The process backend's warning (how weak the sandbox is) goes only to token holders."""
    from acesandbox import Executor, SandboxConfig

    with Executor(SandboxConfig(backend="process", workers=1)) as ex:
        app = create_app(ServerConfig(token=TOKEN, reward_options={"timeout_s": 2.0}), executor=ex)
        with RewardServer(app) as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
            auth = {"Authorization": f"Bearer {TOKEN}"}
            assert c.post("/score", json={"items": [ITEM]}, headers=auth).json()["results"][0]["reward"] == 1.0
            stranger, holder = c.get("/health").text, c.get("/health", headers=auth).json()
    assert stranger == '{"status":"ok"}'
    assert any(w.startswith("process backend") for w in holder["warnings"]), holder


def _unread(srv: RewardServer, request: bytes) -> socket.socket:
    """A connection that sends ``request`` and never reads a byte of the answer."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the answer backs up at once
    s.connect(_address(srv))
    s.sendall(request)
    return s


@pytest.mark.parametrize("close", [False, True])
def test_a_client_that_never_reads_its_answer_is_cut_after_the_read_timeout(fake, close):
    """An answer left unread on a full socket used to hold its connection (and its slot under
    the cap, and its task) forever: uvicorn waits for the write to drain, and close() waits for
    the client to read. Now it gets read_timeout_s, then the connection is cut."""
    program = GOOD_ADD.removesuffix("```") + ("# " + "x" * 1000 + "\n") * 8000 + "```"  # an 8 MB answer
    body = json.dumps({"items": [{"completion": program, "tests": ADD_TESTS}], "details": True}).encode()
    head = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    head += b"Connection: close\r\n\r\n" if close else b"\r\n"
    with serve_fake(fake, max_connections=1, read_timeout_s=1.0) as srv:
        s = _unread(srv, head + body)
        try:
            assert _wait_for(lambda: _healthy(srv.url), timeout_s=15), "the unread answer held the only slot"
            assert _wait_for(lambda: not srv._server.server_state.tasks), "the unread answer's task never ended"
        finally:
            s.close()
