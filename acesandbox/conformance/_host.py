"""Host-side fixtures a case starts (a listener, a secret, a marker) and checks a case adds."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from typing import Any, Iterator, Mapping

from .._result import Report
from ._case import SECRET_VALUE, Verify

@contextlib.contextmanager
def tcp_listener() -> Iterator[dict[str, Any]]:
    """A TCP server on the host's loopback that counts the connections it accepts."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.1)
    accepted = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            accepted.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield {"@PORT@": str(srv.getsockname()[1]), "accepted": lambda: len(accepted)}
    finally:
        stop.set()
        thread.join(timeout=2)
        srv.close()


def _host_dir() -> str:
    for d in ("/var/tmp", os.path.expanduser("~")):
        if os.path.isdir(d) and os.access(d, os.W_OK):
            return d
    return tempfile.gettempdir()


@contextlib.contextmanager
def secret_file() -> Iterator[dict[str, Any]]:
    """A file holding the host secret, in a host directory no sandbox should see."""
    d = tempfile.mkdtemp(prefix="acesandbox-conformance-", dir=_host_dir())
    path = os.path.join(d, "secret.txt")
    with open(path, "w") as f:
        f.write(SECRET_VALUE)
    try:
        yield {"@SECRET_PATH@": path, "@SECRET@": SECRET_VALUE}
    finally:
        shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def secret_value() -> Iterator[dict[str, Any]]:
    yield {"@SECRET@": SECRET_VALUE}


@contextlib.contextmanager
def marker() -> Iterator[dict[str, Any]]:
    """A unique string to find a case's processes by (in their command line)."""
    yield {"@MARKER@": f"acesandbox-conformance-{uuid.uuid4().hex}"}


def _processes_with(marker: str) -> list[int]:
    """Live (non-zombie) host processes whose command line contains ``marker``."""
    found = []
    needle = marker.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if needle not in f.read():
                    continue
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rfind(b")") + 2 :][:1] != b"Z":
            found.append(int(entry))
    return found


def verify_output_capped(report: Report, elapsed_s: float, ctx: Mapping[str, Any]) -> list[str]:
    problems = []
    cap = ctx["limits"].output_bytes
    for i, o in enumerate(report.outcomes):
        if not o.truncated:
            problems.append(f"test {i}: output exceeded output_bytes but truncated is False")
        for stream in ("stdout", "stderr"):
            size = len(getattr(o, stream).encode("utf-8", "surrogatepass"))
            if size > cap + 16:
                problems.append(f"test {i}: {stream} kept {size} bytes, more than output_bytes={cap}")
    return problems


def verify_quick(limit_s: float) -> Verify:
    def verify(report: Report, elapsed_s: float, ctx: Mapping[str, Any]) -> list[str]:
        if elapsed_s > limit_s:
            return [f"the job took {elapsed_s:.1f}s, more than {limit_s:.1f}s"]
        return []

    return verify


def verify_job_budget(report: Report, elapsed_s: float, ctx: Mapping[str, Any]) -> list[str]:
    budget = ctx["limits"].effective_job_timeout_s
    slack = 3.0
    if elapsed_s > budget + slack:
        return [f"job_timeout_s={budget}s but the job took {elapsed_s:.1f}s (allowed slack {slack}s)"]
    return []


def verify_no_orphan(report: Report, elapsed_s: float, ctx: Mapping[str, Any]) -> list[str]:
    problems = []
    first = report.outcomes[0] if report.outcomes else None
    if first is not None and "alive" not in first.message:
        problems.append(f"the orphan never ran, so the case proved nothing: {first.message[:200]!r}")
    marker = ctx["@MARKER@"]
    deadline = time.monotonic() + 1.0
    left = _processes_with(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = _processes_with(marker)
    if left:
        problems.append(f"processes of the job outlived it: pids {left}")
        for pid in left:  # clean up after the failure, so later cases start clean
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
    return problems


def verify_no_connection(report: Report, elapsed_s: float, ctx: Mapping[str, Any]) -> list[str]:
    n = ctx["accepted"]()
    return [f"the host's loopback server accepted {n} connection(s) from the sandbox"] if n else []


def all_of(*hooks: Verify) -> Verify:
    def verify(report: Report, elapsed_s: float, ctx: Mapping[str, Any]) -> list[str]:
        return [p for hook in hooks for p in hook(report, elapsed_s, ctx)]

    return verify
