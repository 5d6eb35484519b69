"""Hardening step: Linux namespaces and a minimal read-only filesystem, via bubblewrap.

Each step is a small function returning bwrap arguments; ``bwrap_argv`` applies them in
a fixed order. The sandbox gets new user, pid, net, mount, ipc, uts and cgroup
namespaces (network: loopback only), a read-only view of the OS libraries and of this
interpreter with its site-packages, a private size-capped tmpfs as scratch, a fresh
/proc and a minimal /dev, no host home, secrets or sockets, an empty environment plus
an allow-list, every capability dropped and no new privileges (bwrap sets
PR_SET_NO_NEW_PRIVS). The server runs as pid 1, so programs cannot signal it.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from typing import Any

from ..errors import SandboxUnavailableError
from . import accounts, seccomp
from .env import sandbox_env

__all__ = ["PKG_MOUNT", "SERVER_FLAGS", "bwrap_argv", "bwrap_path", "probe", "server_flags", "site_dirs"]

PKG_MOUNT = "/opt/acesandbox/acesandbox"
SERVER_FLAGS = ("-I", "-S", "-B")  # isolated, no site (see server.main), no .pyc writes


def server_flags(hash_seed: int | None = None) -> tuple[str, ...]:
    """The server's interpreter flags. -I implies -E, which ignores PYTHONHASHSEED: with a fixed
    seed, -I's other parts (-P -s) stand in for it; the environment is still only the allow-list."""
    return SERVER_FLAGS if hash_seed is None else ("-P", "-s", "-S", "-B")

SCRATCH = "/tmp"
SHM = "/dev/shm"
SHM_MB = 64
_OS_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
_ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives", "/etc/ssl/certs")
# Where the host runs bubblewrap as root, the sandbox's user is host uid 0 (without
# capabilities), and the kernel lets uid 0 write every root-owned /proc file that checks no
# capability: kernel.core_pattern (a pipe helper the kernel then runs as host root),
# sysrq-trigger, IRQ affinities, and the sandbox's own namespaces' sysctls (hostname, port
# ranges: they would outlive the job). bubblewrap protects /proc/sys only where the
# directory itself is writable, which it is not (0555). So these are bound read-only,
# and what lists the host's tasks, keys or kernel memory is hidden (Docker's defaults).
# /proc/pressure too: written, it registers triggers on the host's own pressure group (a
# kernel object of the whole host, one per descriptor, and code with a history of bugs).
_PROC_READONLY = ("sys", "sysrq-trigger", "irq", "bus", "fs", "asound", "acpi", "scsi", "pressure")
_PROC_MASKED = ("kcore", "keys", "key-users", "timer_list", "timer_stats", "sched_debug", "latency_stats", "kallsyms", "kpagecount", "kpageflags", "kpagecgroup")


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=None)
def _bwrap_supports(flag: str) -> bool:
    try:
        out = subprocess.run([bwrap_path() or "bwrap", "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return flag in out.stdout + out.stderr


def _namespaces() -> list[str]:
    # No nested user namespaces (they would regain capabilities): bubblewrap >= 0.8.
    nested = ["--disable-userns"] if _bwrap_supports("--disable-userns") else []
    return [
        "--unshare-all",
        "--unshare-user",
        *nested,
        "--die-with-parent",
        "--new-session",
        "--as-pid-1",
        "--hostname",
        "sandbox",
    ]


def _identity() -> list[str]:
    return ["--uid", "65534", "--gid", "65534", "--cap-drop", "ALL"]


def _syscalls() -> list[str]:
    """The seccomp filter (see :mod:`.seccomp`), read from the descriptor ``wrap_argv`` opens."""
    return ["--seccomp", str(seccomp.FD)]


def nested_userns_blocked_by() -> list[str]:
    """What keeps a program from creating user namespaces here: the seccomp filter always,
    and bubblewrap's ``--disable-userns`` where it has it (>= 0.8)."""
    return ["seccomp", *(["--disable-userns"] if _bwrap_supports("--disable-userns") else [])]


_PROBE = (
    "import json, os, site, sys, sysconfig\n"
    "print(json.dumps({'executable': os.path.realpath(sys.executable), 'prefixes': [sys.prefix, sys.base_prefix, "
    "sys.exec_prefix], 'paths': sysconfig.get_paths(), 'site': site.getsitepackages()}))\n"
)


@functools.lru_cache(maxsize=8)
def interpreter_info(python: str | None = None) -> dict[str, Any]:
    """Where an interpreter and its packages live: this one, or another (a venv with pinned libraries)."""
    if python is None:
        return {
            "executable": os.path.realpath(sys.executable),
            "prefixes": [sys.prefix, sys.base_prefix, sys.exec_prefix],
            "paths": sysconfig.get_paths(),
            "site": list(getattr(site, "getsitepackages", lambda: [])()),
        }
    try:
        out = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True)
        info: dict[str, Any] = json.loads(out.stdout)
        return info
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise SandboxUnavailableError(f"cannot use {python!r} as the sandbox's interpreter: {exc}") from None


def _python_dirs(python: str | None = None) -> list[str]:
    """Directories the interpreter and its packages live in (outside /usr)."""
    info = interpreter_info(python)
    dirs = set(info["prefixes"]) | {os.path.dirname(info["executable"])}
    paths = info["paths"]
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if key in paths:
            dirs.add(paths[key])
    dirs.update(info["site"])
    keep: list[str] = []
    for d in sorted(dirs):
        if not d or not os.path.isdir(d):
            continue
        if any(d == o or d.startswith(o + "/") for o in _OS_DIRS):
            continue
        if any(d.startswith(k + "/") for k in keep):
            continue
        keep.append(d)
    return keep


def site_dirs(python: str | None = None) -> list[str]:
    """site-packages directories the sandboxed interpreter should import from."""
    info = interpreter_info(python)
    dirs = list(info["site"])
    paths = info["paths"]
    dirs.extend(paths[k] for k in ("purelib", "platlib") if k in paths)
    out: list[str] = []
    for d in dirs:
        if os.path.isdir(d) and d not in out:
            out.append(d)
    return out


_HOSTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hosts")
"""A two-line /etc/hosts (localhost only): the host's own file would leak its names."""


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def _proc_guards() -> list[str]:
    """Bind the host-wide parts of the sandbox's /proc read-only and hide the listings (see
    ``_PROC_READONLY``); each only where this host's /proc has it."""
    args: list[str] = []
    for name in _PROC_READONLY:
        if os.path.exists(f"/proc/{name}"):
            args += ["--ro-bind", f"/proc/{name}", f"/proc/{name}"]
    for name in _PROC_MASKED:
        if os.path.isfile(f"/proc/{name}"):
            args += ["--ro-bind", "/dev/null", f"/proc/{name}"]
    return args


_DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")
_DEV_LINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"))


def _dev() -> list[str]:
    """A minimal /dev as bubblewrap's ``--dev`` makes it, less its devpts (/dev/pts, /dev/ptmx):
    every devpts instance draws on one host-wide pool of terminals (kernel.pty.max less the
    host's reserve), so a program that opened /dev/ptmx 3,000 times left none for other
    sandboxes and containers while it ran. Tests need no terminal."""
    args = ["--tmpfs", "/dev"]
    for name in _DEV_NODES:
        args += ["--dev-bind", f"/dev/{name}", f"/dev/{name}"]
    for name, target in _DEV_LINKS:
        args += ["--symlink", target, f"/dev/{name}"]
    return args


def _mounts(scratch_mb: int, python: str | None = None) -> list[str]:
    args: list[str] = []
    for d in _OS_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    for f in _ETC_FILES:
        args += ["--ro-bind-try", f, f]
    args += ["--ro-bind", _HOSTS, "/etc/hosts"]
    args += ["--symlink", "/tmp", "/var/tmp"]  # the scratch, wiped with it: where programs expect one
    for path, source in accounts.FILES.items():  # root and nobody, never the host's users
        args += ["--ro-bind", source, path]
    # The interpreter and its packages at their own paths, wherever they live; those under
    # the private /tmp or /dev/shm are bound after those tmpfs mounts, which would hide them.
    pydirs = _python_dirs(python)
    late = [d for d in pydirs if _under(d, SCRATCH) or _under(d, SHM)]
    for d in pydirs:
        if d not in late:
            args += ["--ro-bind", d, d]
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    args += ["--ro-bind", pkg, PKG_MOUNT]
    args += ["--proc", "/proc", *_proc_guards(), *_dev()]
    # /dev/shm (POSIX shared memory, multiprocessing) and the scratch are the only
    # writable places; both are wiped after every test. Everything else is read-only,
    # the root included, so nothing a test writes survives into the next job.
    args += ["--size", str(SHM_MB << 20), "--perms", "1777", "--tmpfs", SHM]
    args += ["--size", str(scratch_mb << 20), "--perms", "1777", "--tmpfs", SCRATCH]
    for d in late:
        args += ["--ro-bind", d, d]
    args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", SCRATCH]
    return args


def python_bin(python: str | None = None) -> str | None:
    """The ``bin`` folder of the interpreter's environment (a venv's own, where ``python``
    starts with its packages), if it has one outside the system folders."""
    info = interpreter_info(python)
    path = os.path.join(info["prefixes"][0], "bin")
    if os.path.isfile(os.path.join(path, "python")) and not any(_under(path, d) for d in _OS_DIRS):
        return path
    return None


def _environment(hash_seed: int | None = None, python: str | None = None) -> list[str]:
    args = ["--clearenv"]
    for key, value in sandbox_env(home=SCRATCH, hash_seed=hash_seed, python_bin=python_bin(python)).items():
        args += ["--setenv", key, value]
    return args


def bwrap_argv(scratch_mb: int, python: str | None = None, hash_seed: int | None = None) -> list[str]:
    """Full command line that starts the in-sandbox server under bubblewrap.

    ``python``: another interpreter to run programs with (e.g. a venv holding a
    benchmark's pinned libraries); default: this one."""
    bwrap = bwrap_path() or "bwrap"
    problem = seccomp.problem()
    if problem is not None:
        raise SandboxUnavailableError(problem)
    return seccomp.wrap_argv(
        [
            bwrap,
            *_namespaces(),
            *_identity(),
            *_syscalls(),
            *_mounts(scratch_mb, python),
            *_environment(hash_seed, python),
            "--",
            interpreter_info(python)["executable"],
            *server_flags(hash_seed),
            f"{PKG_MOUNT}/_sandbox/server.py",
        ]
    )


def probe() -> str | None:
    """None when bubblewrap can create every namespace here under the seccomp filter, else why not and the fix."""
    bwrap = bwrap_path()
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed; install it: apt-get install bubblewrap"
    problem = seccomp.problem()
    if problem is not None:
        return problem
    try:
        proc = subprocess.run(
            seccomp.wrap_argv(
                [bwrap, *_namespaces(), *_identity(), *_syscalls(), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
                 "--", "/bin/true"]
            ),
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start: {exc}"
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        hint = ""
        if "ermission" in err or "Operation not permitted" in err:
            hint = (
                "; unprivileged user namespaces look restricted: set sysctl kernel.unprivileged_userns_clone=1, "
                "or kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 24.04+), or user.max_user_namespaces>0"
            )
        return f"bubblewrap cannot create namespaces: {err}{hint}"
    return None
