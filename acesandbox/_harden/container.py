"""Hardening steps for a Docker container, one small function per mechanism.

Each step returns the ``docker`` SDK ``containers.create`` arguments it sets;
:func:`container_kwargs` applies them in a fixed order. A sandbox container has no
network (loopback only), its own pid, ipc and uts namespaces, a read-only root
filesystem (the server's own files in it, root-owned) with size-capped tmpfs mounts as
scratch and as /dev/shm (POSIX semaphores and shared memory: multiprocessing needs it; the
server wipes both after every test, as in the namespace backend), memory (no swap), pids
and CPU caps,
every capability dropped, no new privileges, an unprivileged user, and an empty
environment plus the allow-list (the in-container bootstrap starts the server with
exactly that environment, so the image's own ``ENV`` does not leak through either).
Its pid 1 is our fork server, fed over the attached stdin; the container is removed
when it exits, which it does as soon as its stdin closes (``stdin_once``), so a host
process killed with SIGKILL leaves nothing running.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from .env import sandbox_env

__all__ = ["HOST_CONFIG_EXTRA", "SCRATCH", "SHM", "container_spec"]

SCRATCH = "/tmp"
SHM = "/dev/shm"
SHM_MB = 64


def _namespaces() -> dict[str, Any]:
    return {
        "create": {"hostname": "sandbox"},
        # ipc "none": a private IPC namespace without Docker's own /dev/shm; ours is a
        # capped tmpfs (see _filesystem) that the server wipes after every test. As in the
        # namespace sandbox, the hostname resolves (127.0.1.1) and the loopback has IPv6
        # (::1), which Docker turns off: a correct program binding either erred here only.
        "host": {
            "network_mode": "none",
            "ipc_mode": "none",
            "init": False,
            "extra_hosts": {"sandbox": "127.0.1.1"},
            "sysctls": {"net.ipv6.conf.lo.disable_ipv6": "0"},
        },
    }


_EMPTY_RO = "ro,nosuid,nodev,noexec,size=4k,mode=0755"


def _filesystem(scratch_mb: int, uid: int, image_volumes: Sequence[str]) -> dict[str, Any]:
    # An image's VOLUMEs would be anonymous volumes, writable despite the read-only root:
    # on the host's disk, with no size cap, and kept from one job to the next. An empty
    # read-only tmpfs takes each one's place (Docker makes no volume where a tmpfs is).
    covered = {posixpath.normpath(v): _EMPTY_RO for v in image_volumes}
    return {
        "create": {"working_dir": SCRATCH},
        "host": {
            "read_only": True,
            # Owned by the sandbox user, as the server must be able to wipe it after each test.
            # "exec": Docker makes a tmpfs noexec unless told, and a correct program that
            # wrote a script to its scratch and ran it erred here but passed on namespace.
            "tmpfs": {
                **covered,  # ours below win where a VOLUME is one of them
                SCRATCH: f"rw,exec,nosuid,nodev,size={scratch_mb}m,mode=1777,uid={uid},gid={uid}",
                SHM: f"rw,nosuid,nodev,noexec,size={SHM_MB}m,mode=1777,uid={uid},gid={uid}",
                # Docker's devpts hidden (/dev/ptmx points into it): every devpts instance draws
                # on one pool of terminals for the whole host, which one program emptied for
                # every container and sandbox while it ran. Tests need no terminal.
                "/dev/pts": _EMPTY_RO,
                # Docker's mqueue hidden too (mode 1777): open(O_CREAT) there makes a POSIX
                # message queue past the filter's mq_open, and its name (255 bytes, 9 of them)
                # outlived the job in the container's IPC namespace, read by every later job.
                "/dev/mqueue": _EMPTY_RO,
            },
        },
    }


# HostConfig fields the docker SDK has no argument for, added to what create_host_config
# returns. ReadonlyPaths: Docker's own (it uses them when none are given) plus
# /proc/pressure, mode 0666 in a container: a program registered a PSI trigger on the
# host's root pressure group per descriptor it held (the namespace backend binds it
# read-only too). Reading it stays allowed.
HOST_CONFIG_EXTRA: dict[str, Any] = {
    "ReadonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", "/proc/pressure"],
}


def _limits(memory_mb: int, max_processes: int, cpus: float) -> dict[str, Any]:
    from docker.types import Ulimit

    memory = f"{memory_mb}m"
    return {
        "host": {
            "mem_limit": memory,
            "memswap_limit": memory,  # equal to mem_limit: no swap
            "pids_limit": max_processes,
            "nano_cpus": int(cpus * 1e9),
            "ulimits": [Ulimit(name="core", soft=0, hard=0)],
        }
    }


def _privileges(uid: int) -> dict[str, Any]:
    return {
        "create": {"user": f"{uid}:{uid}"},
        "host": {"cap_drop": ["ALL"], "security_opt": ["no-new-privileges"], "privileged": False},
    }


def _environment() -> dict[str, Any]:
    return {"create": {"environment": sandbox_env(home=SCRATCH)}}


def _lifecycle(labels: Mapping[str, str], attach_stdin: bool) -> dict[str, Any]:
    return {
        "create": {
            "labels": dict(labels),
            # With stdin attached (not detached) Docker sets StdinOnce: the attach connection
            # closing (we exited or died) closes the server's stdin and it exits.
            "stdin_open": attach_stdin,
            "detach": not attach_stdin,
            "tty": False,  # a tty would mangle the binary protocol
        },
        "host": {
            "auto_remove": True,
            "log_config": {"Type": "none", "Config": {}},  # protocol traffic must not go to disk
        },
    }


def _protocol_socket(socket_dir: str | None, target: str) -> dict[str, Any]:
    """The host directory holding the protocol's Unix socket, read-only, when one is used."""
    if socket_dir is None:
        return {}
    from docker.types import Mount

    return {"host": {"mounts": [Mount(target=target, source=socket_dir, type="bind", read_only=True)]}}


def container_spec(
    *,
    image: str,
    command: list[str],
    labels: Mapping[str, str],
    memory_mb: int,
    max_processes: int,
    cpus: float,
    scratch_mb: int,
    uid: int = 65534,
    runtime: str | None = None,
    attach_stdin: bool = True,
    socket_dir: str | None = None,
    socket_target: str = "/run/acesandbox",
    cgroup_parent: str | None = None,
    image_volumes: Sequence[str] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(create_container arguments, create_host_config arguments)`` of a sandbox container.

    The protocol runs over the attached stdin/stdout, or (``socket_dir``) over a Unix
    socket in that host directory, mounted read-only at ``socket_target`` with nothing
    else in it. ``image_volumes``: the paths the image declares as VOLUMEs (each covered).
    The steps are applied in a fixed order; pass them to the docker SDK's low-level API:
    ``api.create_container(**create, host_config={**api.create_host_config(**host), **HOST_CONFIG_EXTRA})``.
    """
    if uid <= 0:
        raise ValueError("a sandbox never runs as root: uid must be > 0")
    create: dict[str, Any] = {"image": image, "command": command}
    host: dict[str, Any] = {}
    for step in (
        _namespaces(),
        _filesystem(scratch_mb, uid, [v for v in image_volumes if posixpath.normpath(v) != socket_target]),
        _limits(memory_mb, max_processes, cpus),
        _privileges(uid),
        _environment(),
        _lifecycle(labels, attach_stdin),
        _protocol_socket(socket_dir, socket_target),
    ):
        create.update(step.get("create", {}))
        host.update(step.get("host", {}))
    if runtime:
        create["runtime"] = runtime
    if cgroup_parent:
        host["cgroup_parent"] = cgroup_parent
    return create, host
