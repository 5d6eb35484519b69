"""Running the app: ``serve`` (the CLI's loop, graceful on SIGTERM) and :class:`RewardServer`
(a background thread on a loopback port), both refusing a public address without a token."""

from __future__ import annotations

import math
import signal
import socket
import threading
import time
from typing import Any

from ..errors import ConfigError
from .config import ServerConfig
from .service import RewardService


def _uvicorn_version() -> str:
    import uvicorn

    return str(getattr(uvicorn, "__version__", "?"))


def _header_deadline_protocol(read_timeout_s: float) -> type:
    """uvicorn's h11 protocol, closing a connection whose request headers take longer than
    ``read_timeout_s``: uvicorn itself waits for headers forever, so clients trickling them
    (no token needed: the app only sees complete headers) could hold every connection."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    if not all(hasattr(H11Protocol, name) for name in ("handle_events", "on_response_complete", "connection_made")):
        raise RuntimeError(f"uvicorn {_uvicorn_version()}: its h11 protocol changed; pin uvicorn<1 or update rm_rl/server/run.py")

    class _Protocol(H11Protocol):  # type: ignore[misc]
        _head_timer: Any = None

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(read_timeout_s, self._head_timeout)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timeout(self) -> None:
            self._head_timer = None
            waiting = self.cycle is None or self.cycle.response_complete  # no request being answered
            if waiting and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and not self.cycle.response_complete:
                self._disarm()  # headers complete: the app's own deadlines take over

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request's headers get the same deadline

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return _Protocol


def _uvicorn_config(
    app: Any, host: str, port: int, graceful_timeout_s: float, log_level: str, read_timeout_s: float = 60.0
) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=math.ceil(graceful_timeout_s) + 5,  # backstop; the app drains itself first
        access_log=False,
        http=_header_deadline_protocol(read_timeout_s),
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

    config = _uvicorn_config(
        app, host, port, service.config.graceful_timeout_s, log_level, service.config.read_timeout_s
    )
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
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = host, self._sock.getsockname()[1]
        config = _uvicorn_config(
            app, host, self.port, self.service.config.graceful_timeout_s, log_level,
            self.service.config.read_timeout_s,
        )
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
