"""``docker`` backend: each worker is a warm, hardened container whose pid 1 is our server.

A container is started once per worker and then serves job after job over its attached
stdin/stdout (the same length-prefixed protocol as every other backend), so a job costs
a fork inside the container, not a ``docker run``. The image only needs a ``python3``:
at start a short bootstrap reads the server's source from stdin, writes it to a tiny
tmpfs and execs it with an empty environment plus the allow-list, so an image never goes
stale when acesandbox changes and any image with Python works (``acecoder image build``
makes one offline). Hardening: :mod:`acesandbox._harden.container`.

A container that crashes or is OOM-killed makes its job raise SandboxCrashedError, and
the executor replaces it (and retries the job once); after ``max_jobs`` jobs a container
is replaced before the next one. Containers are removed on close, at exit and on Ctrl-C;
if this process is SIGKILLed, the attach connection drops, the container's stdin closes,
the server exits and Docker removes it (``auto_remove``). Every container carries the
label ``acesandbox.sandbox``; :func:`cleanup_containers` (``acecoder doctor --cleanup``)
removes those whose owning process is gone.

Talks to the engine with the ``docker`` SDK (``pip install 'acecoder-toolkit[docker]'``),
which reads ``DOCKER_HOST`` and friends like the ``docker`` CLI does.
"""

from __future__ import annotations

import atexit
import datetime
import json
import os
import select
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import docker
import docker.errors

from .._harden.container import HOST_CONFIG_EXTRA, SCRATCH, SHM, container_spec
from .._harden.env import sandbox_env
from .._result import Outcome, Report
from .._spec import Job, SandboxConfig
from ..errors import SandboxCrashedError, SandboxTimeoutError, SandboxUnavailableError
from ..images import (
    DEFAULT_IMAGE,
    PYTHON_LABEL,
    SERVER_LABEL,
    SERVER_ROOT,
    server_digest,
)
from ._server import ServerSession
from .base import Backend, Session

__all__ = [
    "DEFAULT_IMAGE",
    "LABEL",
    "DockerBackend",
    "DockerConfig",
    "cleanup_containers",
    "connect",
]

LABEL = "acesandbox.sandbox"
"""Label on every sandbox container (value ``1``); ``acesandbox.owner`` says who started it."""
OWNER_LABEL = "acesandbox.owner"

_STDOUT, _STDERR = 1, 2

# Runs inside the container as its first process: with the socket transport, connect
# twice to the host's Unix socket and make the connections stdin and stdout; load the
# namespace backend's seccomp filter (compiled by libseccomp on this host, stacked on
# Docker's own profile, which lets io_uring through on older engines); report the
# interpreter's site-packages on stdout (4-byte length + JSON); then become the server
# (same pid, so it is pid 1) with exactly the sandbox's environment (the image's own ENV
# does not reach it).
_BOOTSTRAP = """\
import os,sys,struct,json,site,socket
P=%r
if P:
    for fd in (0,1):
        s=socket.socket(socket.AF_UNIX,socket.SOCK_STREAM)
        s.connect(P)
        os.dup2(s.fileno(),fd)
        s.close()
F=%r
if F:
    import ctypes
    f=bytes.fromhex(F)
    g=ctypes.create_string_buffer(f,len(f))
    class Q(ctypes.Structure):_fields_=[('n',ctypes.c_ushort),('p',ctypes.c_void_p)]
    q=Q(len(f)//8,ctypes.cast(g,ctypes.c_void_p))
    c=ctypes.CDLL(None,use_errno=True)
    if c.prctl(38,1,0,0,0) or c.prctl(22,2,ctypes.byref(q),0,0):
        raise SystemExit('acesandbox: could not load the seccomp filter: errno %%d'%%ctypes.get_errno())
d=[x for x in site.getsitepackages() if os.path.isdir(x)]
b=json.dumps({'op':'boot','site':d,'python':sys.version.split()[0]}).encode()
os.write(1,struct.pack('>I',len(b))+b)
os.execve(sys.executable,[sys.executable,*%r,%r],json.loads(%r))
"""
_SOCKET_DIR = "/run/acesandbox"
_SOCKET_PATH = f"{_SOCKET_DIR}/s"


@dataclass(frozen=True)
class DockerConfig:
    """Docker-specific settings (sandbox-wide caps and ``python`` are SandboxConfig's).

    ``image``: the sandbox image (``acecoder image build`` makes ``acesandbox:latest``
    offline). ``cpus``: CPU cap of each container, in cores. ``max_jobs``: jobs a
    container serves before it is replaced by a fresh one (SandboxConfig.python names
    the interpreter in the image; default: its ``acesandbox.python`` label, else
    ``python3``). ``uid``: the unprivileged user (and group) the sandbox runs as; never 0.
    ``base_url``: the engine to talk to (default: ``DOCKER_HOST``, else the local
    socket). ``runtime``: an OCI runtime such as ``runsc`` (gVisor) for a stronger
    boundary. ``api_timeout_s``: how long one engine API call may take. ``transport``:
    how jobs and results travel: ``"socket"`` (a Unix socket bind-mounted read-only into
    the container: straight between the two processes, for an engine on this host),
    ``"attach"`` (the container's attach stream, through the engine: works with a remote
    engine, a little slower, much slower on a loaded host), ``"auto"`` (socket for a local
    Unix-socket engine on Linux, else attach). ``cgroup_parent``: the cgroup the
    containers' cgroups are made in (default: the engine's, e.g. ``/docker``). On a busy
    host all containers under one parent share that parent's CPU weight, which is one
    process's; with the cgroupfs driver, ``"/"`` gives each container the weight of one
    process, as a namespace sandbox has (with systemd, name a slice such as ``"acesandbox.slice"``).
    """

    image: str = DEFAULT_IMAGE
    cpus: float = 1.0
    max_jobs: int = 1000
    uid: int = 65534
    base_url: str | None = None
    runtime: str | None = None
    api_timeout_s: float = 60.0
    transport: str = "auto"
    cgroup_parent: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.image, str) or not self.image:
            raise ValueError("DockerConfig.image must name an image, e.g. 'acesandbox:latest'")
        if isinstance(self.cpus, bool) or not isinstance(self.cpus, (int, float)) or self.cpus <= 0:
            raise ValueError(f"DockerConfig.cpus must be a positive number of cores, got {self.cpus!r}")
        if isinstance(self.max_jobs, bool) or not isinstance(self.max_jobs, int) or self.max_jobs < 1:
            raise ValueError(f"DockerConfig.max_jobs must be a positive integer, got {self.max_jobs!r}")
        if isinstance(self.uid, bool) or not isinstance(self.uid, int) or self.uid <= 0:
            raise ValueError(f"DockerConfig.uid must be a non-root user id (> 0), got {self.uid!r}")
        if self.transport not in ("auto", "socket", "attach"):
            raise ValueError(f"DockerConfig.transport must be 'auto', 'socket' or 'attach', got {self.transport!r}")

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> DockerConfig:
        """The fields of ``options`` (a SandboxConfig's) that name DockerConfig fields."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in options.items() if k in names})


# ------------------------------------------------------------ engine access


def _translate(exc: BaseException, base_url: str | None) -> SandboxUnavailableError:
    """A docker SDK failure to reach the engine, as an error that names the fix."""
    where = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    text = str(exc)
    if isinstance(exc, PermissionError) or "Permission denied" in text or "PermissionError" in text:
        return SandboxUnavailableError(
            f"permission denied talking to the Docker daemon at {where}: add this user to the 'docker' group "
            "(sudo usermod -aG docker $USER, then log in again), or run as root"
        )
    if isinstance(exc, FileNotFoundError) or "No such file" in text or "Connection refused" in text or "Connection aborted" in text:
        return SandboxUnavailableError(
            f"the Docker daemon is not running or not reachable at {where}: start it "
            "(sudo systemctl start docker, or run dockerd), or point DOCKER_HOST at a running engine"
        )
    return SandboxUnavailableError(f"cannot talk to the Docker daemon at {where}: {text} (is dockerd running? see `docker info`)")


def connect(base_url: str | None = None, timeout_s: float = 60.0) -> docker.DockerClient:
    """A client for the engine at ``base_url`` (default: from the environment), checked alive."""
    try:
        if base_url:
            client = docker.DockerClient(base_url=base_url, timeout=int(timeout_s))
        else:
            client = docker.from_env(timeout=int(timeout_s))
        client.ping()
    except docker.errors.DockerException as exc:
        raise _translate(exc.__context__ or exc, base_url) from exc
    except OSError as exc:
        raise _translate(exc, base_url) from exc
    return client


def _proc_start(pid: int) -> str | None:
    """A process's start time in clock ticks (tells a live owner from a reused pid)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return data[data.rfind(b")") + 2 :].split()[19].decode()
    except (OSError, IndexError):
        return None


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_proc_start(os.getpid()) or '0'}"


def _owner_alive(owner: str) -> bool | None:
    """True/False when ``owner`` is (not) a live process of this host; None for another host."""
    host, _, rest = owner.partition(":")
    pid, _, start = rest.partition(":")
    if host != socket.gethostname():
        return None
    if not pid.isdigit():
        return False
    now = _proc_start(int(pid))
    return now is not None and (not start or start == "0" or now == start)


def cleanup_containers(*, everything: bool = False, base_url: str | None = None) -> list[str]:
    """Remove stray sandbox containers; return their short ids.

    A stray is a container labelled ``acesandbox.sandbox`` whose owning process (on this
    host) is gone, e.g. after a run was killed. ``everything=True`` removes every sandbox
    container on the engine, also those of live runs and of other hosts.
    """
    _sweep_socket_dirs()
    client = connect(base_url)
    removed = []
    try:
        # The low-level list: one call, no per-container inspect racing with removals.
        for c in client.api.containers(all=True, filters={"label": LABEL}):
            alive = _owner_alive((c.get("Labels") or {}).get(OWNER_LABEL, ""))
            if not everything and alive is not False:
                continue
            try:
                client.api.remove_container(c["Id"], force=True)
                removed.append(c["Id"][:12])
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                if "already in progress" not in str(exc):
                    raise
    finally:
        client.close()
    return removed


# Containers this process started and has not removed yet (removed at exit).
_LIVE: dict[str, docker.DockerClient] = {}
_LIVE_LOCK = threading.Lock()


@atexit.register
def _remove_live() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE.items())
        _LIVE.clear()
    for cid, client in live:
        try:
            client.api.remove_container(cid, force=True)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def _forget(cid: str) -> None:
    with _LIVE_LOCK:
        _LIVE.pop(cid, None)


# --------------------------------------------------------------- one container


def _frame(obj: Mapping[str, Any]) -> bytes:
    data = json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack(">I", len(data)) + data


def _seccomp_hex() -> str:
    """The seccomp filter's BPF program in hex for the bootstrap, or "" where libseccomp is missing."""
    from .._harden import seccomp

    return seccomp.bpf_program().hex() if seccomp.problem() is None else ""


def _bootstrap(socket_path: str | None, hash_seed: int | None = None) -> str:
    server = f"{SERVER_ROOT}/acesandbox/_sandbox/server.py"
    from .._harden.namespaces import server_flags

    flags = server_flags(hash_seed)
    return _BOOTSTRAP % (socket_path or "", _seccomp_hex(), flags, server,
                         json.dumps(sandbox_env(home=SCRATCH, hash_seed=hash_seed)))


_SOCKET_PREFIX = "acesandbox-docker-"
_swept = False


def _sweep_socket_dirs() -> None:
    """Remove socket directories left by processes killed while starting a container."""
    root = tempfile.gettempdir()
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        pid = name[len(_SOCKET_PREFIX) :].split("-", 1)[0]
        if name.startswith(_SOCKET_PREFIX) and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def _descends_from(pid: int, ancestor: int) -> bool:
    """Whether ``pid`` is ``ancestor`` or one of its descendants (walking /proc's parent links)."""
    for _ in range(64):
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                data = f.read()
            pid = int(data[data.rfind(b")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


class _Listener:
    """The Unix socket a container's bootstrap connects to (socket transport).

    Private to the sandbox's uid: a 0700 directory holding a 0600 socket, both handed to
    that uid (which needs root here; otherwise the transport is ``attach``). Each
    connection's peer (SO_PEERCRED) must be the container's own process and uid; any
    other is closed and not counted."""

    def __init__(self, uid: int) -> None:
        global _swept
        if not _swept:
            _swept = True
            _sweep_socket_dirs()
        self.dir = tempfile.mkdtemp(prefix=f"{_SOCKET_PREFIX}{os.getpid()}-")  # 0700
        path = os.path.join(self.dir, "s")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # No umask games (other threads create files too): the 0700 directory keeps
            # everyone out until the socket is 0600 and handed over.
            self.sock.bind(path)
            os.chmod(path, 0o600)
            if uid != os.geteuid():
                os.chown(path, uid, uid)
                os.chown(self.dir, uid, uid)
            self.sock.listen(2)
        except OSError:
            self.close()
            raise

    def accept_two(self, deadline: float, *, pid: int, uid: int) -> tuple[socket.socket, socket.socket]:
        """The bootstrap's two connections, in order: its stdin, then its stdout.

        Only connections whose peer is process ``pid`` (or one of its descendants) running
        as ``uid`` count; others are closed."""
        conns: list[socket.socket] = []
        while len(conns) < 2:
            wait = deadline - time.monotonic()
            if wait <= 0:
                for c in conns:
                    c.close()
                raise SandboxTimeoutError("the sandbox container did not connect in time")
            self.sock.settimeout(wait)
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            peer_pid, peer_uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
            if peer_uid != uid or not _descends_from(peer_pid, pid):
                conn.close()
                continue
            conns.append(conn)
        return conns[0], conns[1]

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def _close_listener(listener: _Listener | None) -> None:
    if listener is not None:
        listener.close()


def _v1_memory_dir(pid: int, cid: str) -> str | None:
    """The directory of container ``cid``'s v1 memory cgroup on this host, found from its
    process ``pid``; None on cgroup v2, or where that cgroup's path does not name the
    container (a remote engine's pid is some other process here)."""
    mounts = []
    try:
        with open("/proc/self/mountinfo") as f:
            for row in f:
                pre, _, post = row.partition(" - ")
                post_fields, pre_fields = post.split(), pre.split()
                if len(post_fields) >= 3 and post_fields[0] == "cgroup" and "memory" in post_fields[2].split(","):
                    mounts.append((pre_fields[3], pre_fields[4]))  # (root within the hierarchy, mount point)
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except (OSError, IndexError):
        return None
    for line in lines:
        _hid, ctrls, path = line.split(":", 2)
        if "memory" not in ctrls.split(",") or cid not in path:
            continue
        for root, point in mounts:
            rel = os.path.relpath(path, root)
            if not rel.startswith(".."):
                d = os.path.normpath(os.path.join(point, rel))
                if os.path.isdir(d):
                    return d
    return None


def _limit_tcp_buffers(pid: int, cid: str, limit_bytes: int) -> None:
    """Give the container's v1 memory cgroup a TCP limit equal to its memory limit.

    v1 charges socket buffers to a cgroup only once it has one (v2 always does): without
    it a program held ~776 MiB of TCP buffers on its own loopback outside a 320 MiB
    container. Docker's KernelMemoryTCP reaches the OCI spec but runc >= 1.0 ignores it,
    so the file is written from here, after the bootstrap and before any job (sockets made
    earlier would stay uncharged). Best effort, like the namespace backend's cgroup."""
    d = _v1_memory_dir(pid, cid)
    if d is None:
        return
    try:
        with open(os.path.join(d, "memory.kmem.tcp.limit_in_bytes"), "w") as f:
            f.write(str(limit_bytes))
    except OSError:
        pass


def _container_cgroup(pid: int) -> Callable[[], int] | None:
    """A counter of OOM kills in the container's memory cgroup, when this host can read it."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _hid, ctrls, path = line.split(":", 2)
        if "memory" in ctrls.split(","):
            name = os.path.join("/sys/fs/cgroup/memory", path.lstrip("/"), "memory.oom_control")
        elif ctrls == "" and _hid == "0" and not os.path.isdir("/sys/fs/cgroup/memory"):
            name = os.path.join("/sys/fs/cgroup", path.lstrip("/"), "memory.events")
        else:
            continue
        if not os.access(name, os.R_OK):
            continue

        def oom_kills(name: str = name) -> int:
            try:
                with open(name) as f:
                    for row in f:
                        key, _, value = row.partition(" ")
                        if key == "oom_kill":
                            return int(value)
            except OSError:
                pass
            return 0

        return oom_kills
    return None


class _Attached:
    """A started container seen as a process handle: what ServerSession needs of a Popen.

    Two transports carry the protocol. ``socket`` (a local engine): the bootstrap connects
    twice to a Unix socket this process listens on, bind-mounted read-only into the
    container, and makes the connections its stdin and stdout, so jobs and results go
    straight between the two processes, as a pipe would. ``attach`` (any engine): stdin
    and stdout travel on the container's attach stream through the engine. Either way
    Docker multiplexes what it attaches in frames (8-byte header: stream, 0, 0, 0,
    big-endian length); a pump thread keeps the last bytes of stderr for error messages
    and, with ``attach``, writes the stdout payload into a pipe that is ``stdout``. When
    the container ends, ``stdout`` reaches end of file, as a child's would.
    """

    def __init__(self, client: Any, cid: str, sockio: Any, conns: tuple[socket.socket, socket.socket] | None = None) -> None:
        self.client = client
        self.cid = cid
        self.pid = None
        self._sockio = sockio
        self.sock: socket.socket = getattr(sockio, "_sock", sockio)
        self.sock.settimeout(None)
        self._out_w = -1
        if conns is not None:
            conn_in, conn_out = conns
            conn_in.settimeout(None)
            conn_out.settimeout(None)
            self.stdin = os.fdopen(conn_in.detach(), "wb", buffering=0)
            self.stdout = os.fdopen(conn_out.detach(), "rb", buffering=0)
        else:
            self.stdin = os.fdopen(os.dup(self.sock.fileno()), "wb", buffering=0)
            r, self._out_w = os.pipe()
            self.stdout = os.fdopen(r, "rb", buffering=0)
        self.stderr = None
        self.err = bytearray()
        self._pump = threading.Thread(target=self._demux, name=f"acesandbox-docker-{cid[:12]}", daemon=True)
        self._pump.start()

    def _demux(self) -> None:
        raw = bytearray()
        try:
            while True:
                try:
                    # 64 KiB: a 1 MiB request costs its allocation on every call (7 us), small results or not.
                    chunk = self.sock.recv(1 << 16)
                except InterruptedError:
                    continue
                if not chunk:
                    return
                raw += chunk
                while len(raw) >= 8:
                    (size,) = struct.unpack(">I", raw[4:8])
                    if len(raw) < 8 + size:
                        break
                    kind, payload = raw[0], bytes(raw[8 : 8 + size])
                    del raw[: 8 + size]
                    if kind == _STDOUT and self._out_w >= 0:
                        view = memoryview(payload)
                        while view:
                            view = view[os.write(self._out_w, view) :]
                    elif kind == _STDERR:
                        self.err += payload
                        del self.err[:-4000]
        except OSError:
            return
        finally:
            if self._out_w >= 0:
                try:
                    os.close(self._out_w)
                except OSError:
                    pass

    def read_frame(self, deadline: float) -> dict[str, Any]:
        """One length-prefixed JSON message from stdout (used before the session takes over)."""
        fd = self.stdout.fileno()
        buf = b""
        need = 4
        while True:
            while len(buf) < need:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    raise SandboxTimeoutError("the sandbox container did not answer in time")
                if not select.select([fd], [], [], wait)[0]:
                    continue
                chunk = os.read(fd, need - len(buf))
                if not chunk:
                    raise SandboxCrashedError(f"the sandbox container exited{self.exit_reason()}: {self.stderr_tail() or '(no stderr)'}")
                buf += chunk
            if need == 4:
                need = 4 + struct.unpack(">I", buf)[0]
                continue
            message: dict[str, Any] = json.loads(buf[4:])
            return message

    def poll(self) -> int | None:
        try:
            state = self.client.api.inspect_container(self.cid)["State"]
        except Exception:  # noqa: BLE001 - removed already (auto_remove)
            return -1
        return None if state.get("Running") else int(state.get("ExitCode", -1))

    def exit_reason(self) -> str:
        try:
            state = self.client.api.inspect_container(self.cid)["State"]
        except Exception:  # noqa: BLE001 - removed already (auto_remove)
            return ""
        if state.get("OOMKilled"):
            return " (OOM-killed)"
        return "" if state.get("Running") else f" (exit code {state.get('ExitCode')})"

    def stderr_tail(self) -> str:
        return bytes(self.err[-2000:]).decode(errors="replace").strip()

    def kill(self) -> None:
        """Close the connections (the server sees end of file) and remove the container."""
        for closer in (lambda: self.sock.shutdown(socket.SHUT_RDWR), self.sock.close, self._sockio.close):
            try:
                closer()
            except OSError:
                pass
        try:
            self.client.api.remove_container(self.cid, force=True)
        except Exception:  # noqa: BLE001 - gone already, or the engine went away: it exits on its own
            pass
        _forget(self.cid)
        self._pump.join(timeout=5)


class _Container(ServerSession):
    """A ServerSession whose sandbox is a container (``_spawn``/``_kill`` replaced)."""

    def __init__(self, backend: DockerBackend, worker: int) -> None:
        self._backend_obj = backend
        self._worker = worker
        self._client = backend.client()
        self._oom: Callable[[], int] | None = None
        dcfg = backend.docker
        config = backend.config
        self._memory_mb = config.memory_mb + 64
        self._pids = config.max_processes + 8
        self._cfg: dict[str, Any] = {
            "scratch": SCRATCH,
            "wipe": [SCRATCH, SHM],
            "net_private": True,  # its own network namespace: TCP state left by a job retires it
            "wipe_private": True,  # each a tmpfs of its own: empty after a job, or the sandbox retires
            "preload": list(config.preload),
            "site": [],
            "rlimit_as": False,
            "as_slack_mb": 256,
            "rlimit_nproc": False,
            "result_bytes": backend.result_bytes,
        }
        self._deadline = time.monotonic() + backend.start_timeout_s
        super().__init__(
            ["docker", dcfg.image],
            cfg=self._cfg,
            isolation=backend.isolation + (f"+{dcfg.runtime}" if dcfg.runtime else ""),
            backend=backend.name,
            start_timeout_s=backend.start_timeout_s,
            oom_kills=lambda: self._oom() if self._oom is not None else 0,
            sandbox_limits=backend.sandbox_limits(),
        )
        if self._oom is None:
            self.warnings += ("the container's memory cgroup is not readable here; memory is capped per process with RLIMIT_AS",)

    @property
    def cid(self) -> str:
        proc = getattr(self, "proc", None)
        return proc.cid if proc is not None else ""

    def _spawn(self, argv: list[str], env: dict[str, str] | None, cwd: str | None) -> _Attached:
        backend, dcfg = self._backend_obj, self._backend_obj.docker
        self._deadline = time.monotonic() + backend.start_timeout_s  # a replaced sandbox starts afresh
        labels = {
            LABEL: "1",
            OWNER_LABEL: _owner(),
            "acesandbox.worker": str(self._worker),
            "acesandbox.started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        listener = _Listener(dcfg.uid) if backend.transport() == "socket" else None
        create, host = container_spec(
            image=dcfg.image,
            command=[backend.python(), "-I", "-S", "-B", "-c", _bootstrap(_SOCKET_PATH if listener else None, backend.config.hash_seed)],
            labels=labels,
            memory_mb=self._memory_mb,
            max_processes=self._pids,
            cpus=float(dcfg.cpus),
            scratch_mb=backend.config.scratch_mb,
            uid=dcfg.uid,
            runtime=dcfg.runtime,
            attach_stdin=listener is None,
            socket_dir=listener.dir if listener else None,
            socket_target=_SOCKET_DIR,
            cgroup_parent=dcfg.cgroup_parent,
            image_volumes=backend.image_volumes(),
        )
        api = self._client.api
        try:
            host_config = api.create_host_config(**host)
            host_config.update(HOST_CONFIG_EXTRA)
            cid = api.create_container(**create, host_config=host_config)["Id"]
        except docker.errors.ImageNotFound as exc:
            _close_listener(listener)
            raise SandboxUnavailableError(backend.missing_image_message()) from exc
        except docker.errors.APIError as exc:
            _close_listener(listener)
            raise SandboxUnavailableError(f"Docker could not create the sandbox container: {exc.explanation or exc}") from exc
        except docker.errors.DockerException as exc:
            _close_listener(listener)
            raise _translate(exc.__context__ or exc, dcfg.base_url) from exc
        with _LIVE_LOCK:
            _LIVE[cid] = self._client
        handle: _Attached | None = None
        try:
            params = {"stdin": int(listener is None), "stdout": int(listener is None), "stderr": 1, "stream": 1, "logs": 0}
            sockio = api.attach_socket(cid, params=params)
            if listener is None:
                handle = _Attached(self._client, cid, sockio)
                api.start(cid)
            else:
                api.start(cid)
                main_pid = int(api.inspect_container(cid)["State"]["Pid"] or 0)
                conns = listener.accept_two(self._deadline, pid=main_pid, uid=dcfg.uid)
                handle = _Attached(self._client, cid, sockio, conns)
            boot = handle.read_frame(self._deadline)
            if boot.get("op") != "boot":
                raise SandboxCrashedError(f"unexpected greeting from the bootstrap: {boot!r}")
            self._cfg["site"] = list(boot.get("site") or [])
            pid = int(api.inspect_container(cid)["State"]["Pid"] or 0)
            self._oom = _container_cgroup(pid) if pid > 0 else None
            if pid > 0:
                _limit_tcp_buffers(pid, cid, self._memory_mb << 20)
            # Without the container's cgroup an OOM kill would look like a crash: cap each
            # process's address space instead, so a big allocation is a MemoryError.
            self._cfg["rlimit_as"] = self._oom is None
        except docker.errors.APIError as exc:
            self._abandon(handle, cid)
            raise SandboxUnavailableError(
                f"the sandbox container did not start: {exc.explanation or exc}; the image {dcfg.image!r} needs a "
                f"Python interpreter at {backend.python()!r} (rebuild it with `acecoder image build`)"
            ) from exc
        except Exception as exc:
            err = handle.stderr_tail() if handle is not None else ""
            self._abandon(handle, cid)
            raise SandboxUnavailableError(f"the sandbox container did not start: {exc}; stderr: {err or '(empty)'}") from exc
        finally:
            # Nothing else may ever connect: the socket file and its directory go away now.
            _close_listener(listener)
        return handle

    def _abandon(self, handle: _Attached | None, cid: str) -> None:
        if handle is not None:
            handle.kill()
            for stream in (handle.stdin, handle.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        else:
            try:
                self._client.api.remove_container(cid, force=True)
            except Exception:  # noqa: BLE001
                pass
            _forget(cid)

    def _kill(self, proc: Any) -> None:
        proc.kill()

    def _stderr_tail(self) -> str:
        proc = getattr(self, "proc", None)
        return proc.stderr_tail() if proc is not None else ""


class _DockerSession(Session):
    """One worker's container, replaced by a fresh one after ``max_jobs`` jobs."""

    def __init__(self, backend: DockerBackend, worker: int) -> None:
        self._backend = backend
        self._worker = worker
        self._served = 0
        self._next: Job | None = None
        self._container: _Container | None = _Container(backend, worker)
        self.isolation = self._container.isolation

    @property
    def container_id(self) -> str:
        return self._container.cid if self._container is not None else ""

    def run(self, job: Job, on_outcome: Callable[[int, Outcome], None] | None = None) -> Report:
        if self._container is None:
            raise SandboxCrashedError("session is closed")
        if self._served >= self._backend.docker.max_jobs:
            old, self._container = self._container, None
            old.close()
            self._served = 0
            self._container = _Container(self._backend, self._worker)
        self._served += 1
        # The next job goes to this container only if it will still serve it.
        self._container.hint_next(self._next if self._served < self._backend.docker.max_jobs else None)
        return self._container.run(job, on_outcome)

    def hint_next(self, job: Job | None) -> None:
        self._next = job

    def close(self) -> None:
        c, self._container = self._container, None
        if c is not None:
            c.close()


class DockerBackend(Backend):
    """Sandboxes in hardened Docker containers (see the module docstring)."""

    name = "docker"
    isolation = "docker"
    option_names = frozenset(f.name for f in fields(DockerConfig))

    @property
    def provides(self) -> frozenset[str]:
        """The conformance capabilities applied: all, the system-call filter only where this host
        can compile ours (Docker's default profile alone lets io_uring through on older engines)."""
        from .._harden import seccomp

        caps = {"fs_isolation", "net_isolation", "pid_isolation", "no_nested_namespaces"}
        return frozenset(caps | ({"syscall_filter"} if seccomp.problem() is None else set()))

    def __init__(self, config: SandboxConfig | None = None, docker_config: DockerConfig | None = None) -> None:
        super().__init__(config)
        self.docker = docker_config or DockerConfig.from_options(self.config.options)
        self._client: docker.DockerClient | None = None
        self._python: str | None = self.config.python
        self._volumes: list[str] | None = None
        self._client_lock = threading.Lock()

    def client(self) -> docker.DockerClient:
        with self._client_lock:
            if self._client is None:
                self._client = connect(self.docker.base_url, self.docker.api_timeout_s)
            return self._client

    def missing_image_message(self) -> str:
        return (
            f"the Docker image {self.docker.image!r} does not exist on this engine: build it with "
            f"`acecoder image build --tag {self.docker.image}` (works offline), or choose another image "
            "with DockerConfig(image=...)"
        )

    def check(self) -> None:
        client = self.client()
        try:
            image = client.images.get(self.docker.image)
        except docker.errors.ImageNotFound as exc:
            raise SandboxUnavailableError(self.missing_image_message()) from exc
        except docker.errors.APIError as exc:
            raise SandboxUnavailableError(f"could not inspect the Docker image {self.docker.image!r}: {exc}") from exc
        labels = image.labels or {}
        digest = labels.get(SERVER_LABEL)
        rebuild = f"rebuild it with `acecoder image build --tag {self.docker.image}`"
        if digest is None:
            raise SandboxUnavailableError(
                f"the Docker image {self.docker.image!r} was not built by `acecoder image build` (it holds no "
                f"sandbox server); {rebuild}, or --base {self.docker.image} to build on top of it"
            )
        if digest != server_digest():
            raise SandboxUnavailableError(
                f"the Docker image {self.docker.image!r} holds a different version of the sandbox server than this "
                f"acesandbox ({labels.get('acesandbox.built-by', 'unknown version')}); {rebuild}"
            )
        if self._python is None:
            self._python = labels.get(PYTHON_LABEL) or "python3"

    def transport(self) -> str:
        """``socket`` or ``attach`` (see DockerConfig.transport).

        The socket is private to the sandbox's uid, so this process must be able to hand
        it over (root, or the same uid); ``auto`` takes ``attach`` otherwise, and with an
        OCI runtime of its own (whose processes are not the container's on this host)."""
        can_hand_over = os.geteuid() in (0, self.docker.uid)
        if self.docker.transport == "socket" and not can_hand_over:
            raise SandboxUnavailableError(
                f"DockerConfig(transport='socket') needs root to hand the socket to the sandbox's uid "
                f"{self.docker.uid}: run as root, set DockerConfig(uid={os.geteuid()}), or use transport='attach'"
            )
        if self.docker.transport != "auto":
            return self.docker.transport
        url = self.docker.base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        local = sys.platform.startswith("linux") and url.startswith("unix://")
        return "socket" if local and can_hand_over and not self.docker.runtime else "attach"

    def python(self) -> str:
        if self._python is None:
            self.check()
        return self._python or "python3"

    def image_volumes(self) -> list[str]:
        """The paths the image declares as VOLUMEs (each covered, see container_spec)."""
        if self._volumes is None:
            try:
                config = self.client().api.inspect_image(self.docker.image).get("Config") or {}
            except docker.errors.ImageNotFound:
                return []  # creating the container says so, naming the fix
            self._volumes = sorted(config.get("Volumes") or {})
        return self._volumes

    def open_session(self, worker: int = 0) -> Session:
        return _DockerSession(self, worker)

    def close(self) -> None:
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001
                pass
