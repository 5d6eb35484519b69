"""Running the app: ``serve`` (the CLI's loop, graceful on SIGTERM) and :class:`RewardServer`
(a background thread on a loopback port), both refusing a public address without a token
and a connection cap the open-file limit cannot hold."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import signal
import socket
import threading
import time
from typing import Any

from ..errors import ConfigError
from .config import DEFAULT_MAX_CONNECTIONS, ServerConfig
from .service import RewardService

log = logging.getLogger("rm_rl.server")


def _uvicorn_version() -> str:
    import uvicorn

    return str(getattr(uvicorn, "__version__", "?"))


def _over_capacity_answer(detail: str) -> bytes:
    """The raw 503 a connection over a connection cap gets before it is closed."""
    body = json.dumps({"detail": detail}).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


def _cancel(timer: Any) -> None:
    """Cancel ``timer``, an event loop's TimerHandle, or nothing when it is None."""
    if timer is not None:
        timer.cancel()


def _guarded_protocol(read_timeout_s: float, max_connections: int, per_client: int) -> type:
    """uvicorn's h11 protocol with the guards uvicorn lacks.

    Request headers must arrive within ``read_timeout_s`` or the connection is closed: uvicorn
    waits for them forever, so clients trickling them (no token needed: the app only sees
    complete headers) could hold every connection. And beyond ``max_connections`` open
    connections a new one is answered 503 and closed at once, before a byte is read: uvicorn's
    ``limit_concurrency`` keeps such a connection open until its request arrives, so idle
    sockets would still use up the process's file descriptors. One client address may hold
    at most ``per_client`` of them, refused the same way beyond.

    Answers must be taken within ``read_timeout_s`` too: a client that never reads them (say,
    pipelined /health requests, no token needed) would leave a response waiting on a full
    socket forever, and the connection, its slot under the cap and its task with it.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    if not all(hasattr(H11Protocol, name) for name in ("handle_events", "on_response_complete", "connection_made")):
        raise RuntimeError(f"uvicorn {_uvicorn_version()}: its h11 protocol changed; pin uvicorn<1 or update rm_rl/server/run.py")
    refusal = _over_capacity_answer(f"{max_connections} connections already open (--max-connections); retry shortly")
    client_refusal = _over_capacity_answer(
        f"{per_client} connections already open from this address (--max-connections-per-client); retry shortly"
    )
    refused = {"count": 0.0, "logged_at": -math.inf}
    open_from: dict[str, int] = {}  # connections open per client address (none kept at 0)

    class _Protocol(H11Protocol):  # type: ignore[misc]
        _head_timer: Any = None
        _write_timer: Any = None
        _client: str | None = None  # the address counted in open_from for this connection

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(read_timeout_s, self._head_timeout)

        def _disarm(self) -> None:
            _cancel(self._head_timer)
            self._head_timer = None

        def _head_timeout(self) -> None:
            self._head_timer = None
            waiting = self.cycle is None or self.cycle.response_complete  # no request being answered
            if (waiting or self.transport.is_closing()) and self.transport.get_write_buffer_size():
                # An answer not taken in read_timeout_s: close() would wait for the client to read
                # it, holding the connection (and its slot under the cap) for as long as it likes.
                self.transport.abort()
            elif waiting and not self.transport.is_closing():
                self.transport.close()

        def pause_writing(self) -> None:
            super().pause_writing()
            if self._write_timer is None:  # the client is not reading its answer: it gets read_timeout_s
                self._write_timer = self.loop.call_later(read_timeout_s, self._write_timeout)

        def resume_writing(self) -> None:
            self._cancel_write_timer()
            super().resume_writing()

        def _cancel_write_timer(self) -> None:
            _cancel(self._write_timer)
            self._write_timer = None

        def _write_timeout(self) -> None:
            self._write_timer = None
            self.transport.abort()  # connection_lost follows: the response's task ends, the slot frees

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:  # uvicorn has just counted this one
                self._refuse(refusal, "--max-connections")
                return
            peer = transport.get_extra_info("peername")
            client = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
            if open_from.get(client, 0) >= per_client:
                self._refuse(client_refusal, "--max-connections-per-client")
                return
            open_from[client] = open_from.get(client, 0) + 1
            self._client = client
            self._arm()

        def _refuse(self, answer: bytes, cap: str) -> None:
            self.connections.discard(self)  # closing: no longer counted against the cap
            self.transport.write(answer)
            self.transport.close()
            refused["count"] += 1
            now = self.loop.time()
            if now - refused["logged_at"] >= 10:  # a flood of them: one line per 10 s, not one each
                refused["logged_at"] = now
                log.warning("a new connection over %s answered 503 and closed (%d so far)", cap, refused["count"])

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and not self.cycle.response_complete:
                self._disarm()  # headers complete: the app's own deadlines take over

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # The next request's headers get the same deadline; a closing connection gets it to
            # take its last answer (close() waits for the client to read it).
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            self._cancel_write_timer()
            if self._client is not None:
                left = open_from.pop(self._client) - 1
                if left:
                    open_from[self._client] = left
                self._client = None
            super().connection_lost(exc)

    return _Protocol


class _Throttle(logging.Filter):
    """Lets each warning through once per ``every_s``, saying how many like it it held back:
    uvicorn logs every malformed request, and sending those needs no token."""

    _KEYS = 256  # distinct messages tracked (uvicorn's are constants; past this, forget them all)

    def __init__(self, every_s: float = 10.0) -> None:
        super().__init__()
        self.every_s = every_s
        self.last: dict[str, float] = {}
        self.held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        key, now = str(record.msg), time.monotonic()
        if now - self.last.get(key, -math.inf) < self.every_s:
            self.held[key] = self.held.get(key, 0) + 1
            return False
        if len(self.last) >= self._KEYS:
            self.last.clear()
            self.held.clear()
        self.last[key] = now
        held = self.held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} ({held} more like it in the last {self.every_s:g} s, not logged)"
        return True


def _throttle_uvicorn_warnings() -> None:
    """Throttle uvicorn's own warnings (:class:`_Throttle`), once per process."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _Throttle) for f in logger.filters):
        logger.addFilter(_Throttle())


def _uvicorn_config(app: Any, host: str, port: int, config: ServerConfig, log_level: str, max_connections: int) -> Any:
    import uvicorn

    _throttle_uvicorn_warnings()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=math.ceil(config.graceful_timeout_s) + 5,  # backstop; the app drains itself first
        access_log=False,
        http=_guarded_protocol(config.read_timeout_s, max_connections, config.max_connections_per_client),
    )


def _service(app: Any) -> RewardService:
    return app.state.service


def _is_loopback(host: str) -> bool:
    """A literal loopback address, or ``localhost``; anything else (a name, 0.0.0.0, ::) may be reachable."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_bind(host: str, config: ServerConfig) -> None:
    """Refuse (ConfigError) to serve beyond loopback without a token: anyone reaching it could run code."""
    if config.token is None and not _is_loopback(host):
        raise ConfigError(
            f"refusing to serve on {host!r} without a token: anyone who can reach it could run code in the "
            "sandboxes; set a token (--token or $ACECODER_SERVE_TOKEN, ServerConfig(token=...)) or bind 127.0.0.1"
        )


# File descriptors the server needs besides its connections: the listening socket, the
# sandbox pool's pipes and processes, the dataset, logs. A generous guess, not a count.
_SPARE_FILES = 512


def _check_open_files(config: ServerConfig) -> int:
    """The connection cap, with room made for it under RLIMIT_NOFILE; or refuse (ConfigError).

    Past the soft limit accept() fails and so does starting a sandbox, whatever the cap says.
    The soft limit is raised up to the hard one when short (the sandboxes set their own, far
    lower, limit); above the hard limit only the operator can help. A cap given that does
    not fit is refused; with none given, the default is lowered to fit, with a warning.
    """
    import resource

    wanted = config.max_connections or DEFAULT_MAX_CONNECTIONS
    needed = wanted + _SPARE_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
        else:
            log.info("raised the open-file limit from %d to %d for %d connections", soft, target, wanted)
            soft = target
    fits = soft - _SPARE_FILES
    if fits >= wanted:
        return wanted
    if config.max_connections is None and fits >= 1:
        log.warning(
            "the open-file limit (%d, hard %s) leaves room for %d connections: --max-connections is %d, not "
            "%d (`ulimit -n %d` before starting gives the default)",
            soft, "unlimited" if hard == resource.RLIM_INFINITY else hard, fits, fits, wanted, needed,
        )
        return fits
    raise ConfigError(
        f"max_connections ({wanted}) needs about {needed} open files, but this process may "
        f"open {soft} (hard limit {'unlimited' if hard == resource.RLIM_INFINITY else hard}): raise the limit "
        f"(`ulimit -n {needed}` in the shell, LimitNOFILE={needed} in a systemd unit, --ulimit nofile={needed} "
        f"for docker) or lower --max-connections (ServerConfig(max_connections=...)) to {max(fits, 1)} or less"
    )


def fit_open_files(config: ServerConfig) -> ServerConfig:
    """``config`` with the connection cap that :func:`_check_open_files` settles on made
    explicit: checked once (a CLI checks before it loads anything), it is not lowered, nor
    warned about, again when the server starts."""
    cap = _check_open_files(config)
    return config if config.max_connections == cap else dataclasses.replace(config, max_connections=cap)


def serve(app: Any, *, host: str = "127.0.0.1", port: int = 5000, log_level: str = "info") -> None:
    """Serve ``app`` until SIGINT/SIGTERM, then drain gracefully (the CLI's loop).

    In-flight requests get ``graceful_timeout_s`` to finish, the rest are answered 503;
    then the sandboxes are killed. After SIGTERM the process exits 0.
    """
    import uvicorn

    service = _service(app)
    _check_bind(host, service.config)

    class _Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            service.begin_drain()
            super().handle_exit(sig, frame)

    def _drained(_sig: int, _frame: Any) -> None:
        raise SystemExit(0)

    cap = _check_open_files(service.config)
    config = _uvicorn_config(app, host, port, service.config, log_level, cap)
    server = _Server(config)
    # uvicorn re-raises SIGTERM after its graceful shutdown; a drained server exits 0 instead.
    previous = signal.signal(signal.SIGTERM, _drained)
    try:
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not server.started:
        raise SystemExit(1)


class RewardServer:
    """Run the app in a background thread on a loopback port (tests, notebooks, benchmarks).

    >>> with RewardServer(create_app()) as srv:
    ...     url = srv.url          # http://127.0.0.1:PORT
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> None:
        import uvicorn

        self.app = app
        self.service = _service(app)
        _check_bind(host, self.service.config)
        cap = _check_open_files(self.service.config)
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = host, self._sock.getsockname()[1]
        config = _uvicorn_config(app, host, self.port, self.service.config, log_level, cap)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout_s: float = 60.0) -> RewardServer:
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the reward server failed to start (see the log above)")
            if time.monotonic() > deadline:
                raise TimeoutError("the reward server did not start in time")
            time.sleep(0.02)
        return self

    def stop(self, graceful_timeout_s: float | None = None) -> None:
        """Stop accepting, let in-flight requests finish (or answer 503), kill sandboxes."""
        self.service.begin_drain(graceful_timeout_s)
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
        self._sock.close()

    def __enter__(self) -> RewardServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
