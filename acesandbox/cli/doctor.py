"""``acecoder doctor``: say what isolation this host gives, and prove it with a smoke job.

A sandbox that silently falls back to weaker isolation is a security problem nobody
notices; this command makes the fallback, its cause and its fix visible. Each check is
``OK``, ``WARN`` (works, but weaker or slower than it could be) or ``FAIL`` (the
backend checked cannot run jobs), with the fix. Exit code 0 when the backend works.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Literal

from .options import add_sandbox_options, sandbox_from_args

__all__ = ["KEY_PACKAGES", "Check", "add_parser", "collect", "run", "sandbox_view"]

Level = Literal["OK", "WARN", "FAIL"]
_SMOKE_PROGRAM = "def f():\n    return 1\n"
_SMOKE_TESTS = ["assert f() == 1"]
_DOCKER_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Check:
    """One finding: a level, what was found, the fix when not OK, and machine-readable facts."""

    name: str
    status: Level
    detail: str
    fix: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``doctor`` and its options."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "doctor",
        help="explain what isolation this host supports and run a smoke job",
        description=(
            "Check this host: Python, platform, bubblewrap, user namespaces, cgroups, the backend that "
            "backend=None picks and its isolation, docker; then run a smoke job on that backend. "
            "Each check is OK, WARN (works but weaker) or FAIL (cannot run jobs), with the fix."
        ),
        epilog="exit codes: 0 the backend checked runs jobs; 1 it does not.",
    )
    p.add_argument("--json", action="store_true", help="print the checks as one JSON object instead of text")
    add_sandbox_options(p, only=("backend", "python"))
    p.add_argument(
        "--cleanup",
        action="store_true",
        help="instead of checking: remove stray sandbox containers left by killed runs (docker backend) and exit",
    )
    return p


# ------------------------------------------------------------------ checks


def _python() -> Check:
    version = platform.python_version()
    info = {"version": version, "implementation": platform.python_implementation(), "executable": sys.executable}
    if sys.version_info < (3, 10):
        return Check("python", "FAIL", f"Python {version} is too old", "use Python 3.10 or newer", info)
    return Check("python", "OK", f"{info['implementation']} {version} at {sys.executable}", None, info)


def _platform() -> Check:
    info = {"system": platform.system(), "release": platform.release(), "machine": platform.machine()}
    detail = platform.platform()
    if not sys.platform.startswith("linux"):
        return Check(
            "platform",
            "WARN",
            f"{detail}: the namespace backend needs Linux",
            "run on Linux for namespace isolation, or use backend='docker'",
            info,
        )
    return Check("platform", "OK", detail, None, info)


def _bubblewrap() -> Check:
    from .._harden.namespaces import bwrap_path

    path = bwrap_path()
    if path is None:
        return Check(
            "bubblewrap",
            "WARN",
            "bwrap not found: backend=None refuses to run jobs (the process backend runs only when named)",
            "install bubblewrap: apt-get install bubblewrap (or dnf/apk install bubblewrap)",
            {"path": None, "version": None},
        )
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5)
        version = (proc.stdout or proc.stderr).strip() or None
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("bubblewrap", "WARN", f"{path} does not run: {exc}", "reinstall bubblewrap", {"path": path, "version": None})
    return Check("bubblewrap", "OK", f"{path} ({version or 'unknown version'})", None, {"path": path, "version": version})


def _namespaces() -> Check:
    from .._harden import namespaces

    if namespaces.bwrap_path() is None:
        return Check("namespaces", "WARN", "not checked: bubblewrap is missing", "install bubblewrap", {"works": False})
    problem = namespaces.probe()
    if problem is not None:
        # probe()'s message ends with the fix.
        return Check(
            "namespaces", "WARN", problem, "the message names the fix; until then backend=None refuses to run jobs",
            {"works": False},
        )
    return Check("namespaces", "OK", "bubblewrap creates user, pid, net, mount, ipc, uts and cgroup namespaces", None, {"works": True})


def _seccomp() -> Check:
    from .._harden import seccomp

    info = seccomp.describe()
    problem = seccomp.problem()
    if problem is not None:
        return Check("seccomp", "FAIL", problem, "install the bindings; the namespace backend refuses to run without them", info)
    denied = sorted(info["families"])
    detail = (
        f"libseccomp ({info['library']}) filter, {info['instructions']} BPF instructions, for {', '.join(info['arches'])}: "
        f"EPERM/ENOSYS for {', '.join(denied)}"
    )
    if info["unknown"]:
        return Check("seccomp", "WARN", detail + f"; this libseccomp does not know {', '.join(info['unknown'])} (left out)",
                     "upgrade libseccomp (apt-get install libseccomp2)", info)
    return Check("seccomp", "OK", detail, None, info)


def _nested_namespaces() -> Check:
    from .._harden import namespaces, seccomp

    if namespaces.bwrap_path() is None or seccomp.problem() is not None:
        return Check("nested namespaces", "WARN", "not blocked: the namespace backend cannot run here",
                     "make the bubblewrap and seccomp checks above pass", {"blocked_by": []})
    blocked_by = namespaces.nested_userns_blocked_by()
    info = {"blocked_by": blocked_by}
    detail = "programs cannot create user or other namespaces: blocked by " + " and ".join(blocked_by)
    if "--disable-userns" not in blocked_by:
        detail += " (bubblewrap < 0.8 has no --disable-userns; the seccomp filter alone holds)"
    return Check("nested namespaces", "OK", detail, None, info)


KEY_PACKAGES = ("numpy", "pandas", "scipy", "sklearn", "matplotlib")
"""Packages ``sandbox view`` reports as importable or not inside the sandbox."""

_VIEW_PROGRAM = (
    "import importlib.util, json, os, sys\n"
    "def view(packages):\n"
    "    print(json.dumps({'executable': sys.executable, 'prefix': sys.prefix, 'version': sys.version.split()[0],\n"
    "                      'sys_path': [p for p in sys.path if p],\n"
    "                      'packages': {p: importlib.util.find_spec(p) is not None for p in packages}}))\n"
    "    return True\n"
)


def sandbox_view(name: str | None, python: str | None = None, packages: tuple[str, ...] = KEY_PACKAGES) -> Check:
    """What a program sees inside the sandbox: its interpreter, sys.path and which key packages import."""
    if name is None:
        return Check("sandbox view", "FAIL", "not run: no usable backend", "fix the backend check above", {})
    from .. import Job, SandboxConfig, run_batch

    job = Job(program=_VIEW_PROGRAM, tests=[f"assert view({tuple(packages)!r})"])
    try:
        [report] = run_batch([job], sandbox=SandboxConfig(backend=name, workers=1, python=python))
        outcome = report.outcomes[0]
        info = json.loads(outcome.stdout.strip().splitlines()[-1])
    except Exception as exc:  # noqa: BLE001 - any failure here is the finding
        return Check("sandbox view", "FAIL", f"could not look inside {name!r}: {type(exc).__name__}: {exc}", "see the checks above", {})
    missing: list[str] = []
    if name in ("namespace", "process"):
        from .._harden.namespaces import site_dirs

        missing = [d for d in site_dirs(python) if d not in info["sys_path"]]
    info["missing_site_dirs"] = missing
    found = [p for p, ok in info["packages"].items() if ok]
    detail = (
        f"Python {info['version']} at {info['executable']} (prefix {info['prefix']}); {len(info['sys_path'])} sys.path "
        f"entries; importable: {', '.join(found) or 'none'} of {', '.join(packages)}"
    )
    if missing:
        return Check("sandbox view", "WARN", detail + f"; the interpreter's {', '.join(missing)} is not on the sandbox's sys.path",
                     "report this as a bug: programs will not import what the host interpreter has", info)
    return Check("sandbox view", "OK", detail, None, info)


def _cgroup_version() -> str | None:
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return "v2"
    if os.path.isdir("/sys/fs/cgroup/memory"):
        return "v1"
    return None


def _cgroups() -> Check:
    from .._harden.cgroups import cgroup_support

    version = _cgroup_version()
    problem = cgroup_support()
    info = {"version": version, "usable": problem is None}
    if problem is None:
        return Check("cgroups", "OK", f"cgroup {version}: a memory+pids cgroup per sandbox caps all its processes together", None, info)
    return Check(
        "cgroups",
        "WARN",
        f"cgroup {version or 'not mounted'}: {problem}; memory is capped per process (RLIMIT_AS) and an OOM kill "
        "is reported as 'crashed' rather than 'memory'",
        "run as root, or start acecoder in a delegated cgroup with memory and pids controllers "
        "(e.g. systemd-run --user --scope -p Delegate=yes acecoder ...)",
        info,
    )


def _backend(requested: str | None) -> tuple[Check, str | None]:
    from ..backends.base import get_backend
    from ..errors import AcesandboxError
    from ..executor import default_backend_name

    try:
        name = requested or default_backend_name()
    except AcesandboxError as exc:  # fail closed: backend=None refuses, it does not fall back
        return Check("backend", "FAIL", str(exc), "see the message", {"name": None, "requested": None}), None
    how = f"backend={name!r}" if requested else f"backend=None picks {name!r}"
    try:
        backend = get_backend(name)
        backend.check()
    except AcesandboxError as exc:
        return Check("backend", "FAIL", f"{how}: {exc}", "see the message, or choose another backend", {"name": name}), None
    info = {"name": name, "isolation": backend.isolation, "requested": requested}
    if backend.isolation == "namespace":
        return Check("backend", "OK", f"{how} (isolation: {backend.isolation})", None, info), name
    if backend.isolation == "fake":
        return Check("backend", "WARN", f"{how}: runs no code, for consumers' unit tests only", "do not score real data with it", info), name
    return (
        Check(
            "backend",
            "WARN",
            f"{how} (isolation: {backend.isolation}): programs can read what this user can read and use the network",
            "make the namespace checks above pass (or use the docker backend)",
            info,
        ),
        name,
    )


def _docker() -> Check:
    path = shutil.which("docker")
    if path is None:
        return Check("docker", "OK", "not installed (only the docker backend needs it)", None, {"path": None, "reachable": False})
    try:
        proc = subprocess.run(
            [path, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=_DOCKER_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        proc = None
        why = f"`docker info` did not answer within {_DOCKER_TIMEOUT_S:.0f} s"
    except OSError as exc:
        proc = None
        why = str(exc)
    if proc is not None and proc.returncode == 0:
        version = proc.stdout.strip()
        return Check("docker", "OK", f"{path}: daemon reachable (server {version})", None, {"path": path, "reachable": True})
    if proc is not None:
        why = (proc.stderr.strip().splitlines() or ["`docker info` failed"])[-1]
    return Check(
        "docker",
        "WARN",
        f"{path} is installed but the daemon is not reachable: {why}",
        "start the docker daemon and check this user may use it (only the docker backend needs it)",
        {"path": path, "reachable": False},
    )


def _smoke(name: str | None) -> Check:
    if name is None:
        return Check("smoke job", "FAIL", "not run: no usable backend", "fix the backend check above", {"passed": False})
    from .. import Job, SandboxConfig, run_batch

    job = Job(program=_SMOKE_PROGRAM, tests=_SMOKE_TESTS)
    t0 = time.monotonic()
    try:
        [report] = run_batch([job], sandbox=SandboxConfig(backend=name, workers=1))
    except Exception as exc:  # noqa: BLE001 - any failure here is the finding
        elapsed = time.monotonic() - t0
        return Check(
            "smoke job", "FAIL", f"could not run on {name!r}: {type(exc).__name__}: {exc}", "see the checks above",
            {"passed": False, "elapsed_s": round(elapsed, 3)},
        )
    elapsed = time.monotonic() - t0
    info = {
        "passed": report.all_passed,
        "statuses": [str(s) for s in report.statuses],
        "isolation": report.isolation,
        "elapsed_s": round(elapsed, 3),
        "warnings": list(report.warnings),
    }
    if not report.all_passed:
        outcome = report.outcomes[0] if report.outcomes else None
        why = f"{outcome.status}: {outcome.message}" if outcome is not None else "no outcome"
        return Check("smoke job", "FAIL", f"`assert f() == 1` did not pass on {name!r} ({why})", "see the checks above", info)
    return Check(
        "smoke job", "OK", f"`assert f() == 1` passed on {name!r} in {elapsed:.2f} s (isolation: {report.isolation})", None, info
    )


def collect(backend: str | None = None, python: str | None = None) -> list[Check]:
    """Every check, in the order they are shown (``python``: the interpreter whose view the sandbox shows)."""
    simple: list[Callable[[], Check]] = [_python, _platform, _bubblewrap, _namespaces, _seccomp, _nested_namespaces, _cgroups]
    checks = [f() for f in simple]
    check, name = _backend(backend)
    checks += [check, _docker(), _smoke(name), sandbox_view(name, python)]
    return checks


# ------------------------------------------------------------------ command


def _cleanup() -> int:
    """Remove stray sandbox containers (whose owning process is gone); 0 unless Docker failed."""
    try:
        from ..backends.docker import cleanup_containers

        removed = cleanup_containers()
    except ImportError as exc:
        print(f"no docker SDK ({exc}): nothing to clean up (pip install 'acecoder-toolkit[docker]')")
        return 0
    except Exception as exc:  # noqa: BLE001 - the message names the fix
        print(f"could not clean up: {exc}", file=sys.stderr)
        return 1
    print(f"removed {len(removed)} stray sandbox container(s)" + (f": {', '.join(removed)}" if removed else ""))
    return 0


def run(args: argparse.Namespace) -> int:
    """Print the checks; 0 when the smoke job passed."""
    if getattr(args, "cleanup", False):
        return _cleanup()
    sandbox = sandbox_from_args(args)
    checks = collect(sandbox.backend, sandbox.python)
    smoke = next(c for c in checks if c.name == "smoke job")
    ok = smoke.status == "OK"
    if args.json:
        backend = next(c for c in checks if c.name == "backend")
        print(json.dumps({"ok": ok, "backend": backend.info.get("name"), "checks": [asdict(c) for c in checks]}, indent=2))
        return 0 if ok else 1
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"{c.status:<4}  {c.name:<{width}}  {c.detail}")
        if c.fix:
            print(f"{'':<4}  {'':<{width}}  fix: {c.fix}")
    warned = sum(c.status == "WARN" for c in checks)
    if ok:
        note = f" ({warned} warning{'s' if warned > 1 else ''} above)" if warned else ""
        print(f"\nthe backend works{note}.")
    else:
        print("\nthe backend cannot run jobs: see the FAIL lines above.")
    return 0 if ok else 1
