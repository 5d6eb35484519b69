"""Hardening step: one cgroup per sandbox, capping memory and process count together.

A cgroup caps all of the sandbox's processes as one (a fork bomb of small processes
hits the same wall as one big one) and tells us when the kernel's OOM killer struck,
so a SIGKILL can be reported as ``memory`` rather than ``crashed``. Works with cgroup
v1 (memory + pids hierarchies) and v2 (unified). Needs write access to the caller's
own cgroup (root, or a delegated subtree); without it backends fall back to rlimits
and say so in the report.
"""

from __future__ import annotations

import itertools
import os
import time

__all__ = ["Cgroup", "cgroup_support"]

_ROOT = "/sys/fs/cgroup"
_counter = itertools.count()


def _self_path(controller: str | None) -> str | None:
    """This process's cgroup path for a v1 controller, or the v2 path (controller None)."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        hid, ctrls, path = line.split(":", 2)
        if controller is None and hid == "0" and ctrls == "":
            return path
        if controller is not None and controller in ctrls.split(","):
            return path
    return None


def _layout() -> tuple[str, dict[str, str]] | None:
    """('v1'|'v2', {controller: parent directory}) where we can create child cgroups."""
    mem, pids = os.path.join(_ROOT, "memory"), os.path.join(_ROOT, "pids")
    if os.path.isfile(os.path.join(mem, "cgroup.procs")) or os.path.isdir(os.path.join(mem, "tasks")) or os.path.exists(os.path.join(mem, "memory.limit_in_bytes")):
        dirs = {}
        for name, base in (("memory", mem), ("pids", pids)):
            rel = _self_path(name)
            if rel is None:
                return None
            dirs[name] = os.path.join(base, rel.lstrip("/"))
        return "v1", dirs
    if os.path.exists(os.path.join(_ROOT, "cgroup.controllers")):
        rel = _self_path(None)
        if rel is None:
            return None
        parent = os.path.join(_ROOT, rel.lstrip("/"))
        try:
            with open(os.path.join(parent, "cgroup.subtree_control")) as f:
                enabled = f.read().split()
        except OSError:
            return None
        if "memory" not in enabled or "pids" not in enabled:
            return None
        return "v2", {"unified": parent}
    return None


def cgroup_support() -> str | None:
    """Why cgroups cannot be used here, or None when they can."""
    layout = _layout()
    if layout is None:
        return "no writable cgroup memory+pids controllers for this process"
    for parent in layout[1].values():
        if not os.access(parent, os.W_OK):
            return f"cgroup directory {parent} is not writable (run as root or delegate a cgroup subtree)"
    return None


class Cgroup:
    """A fresh cgroup (per sandbox) with memory and pids limits."""

    def __init__(self, memory_mb: int, max_processes: int) -> None:
        layout = _layout()
        if layout is None:
            raise OSError("cgroups unavailable")
        self.version, parents = layout
        name = f"acesandbox-{os.getpid()}-{next(_counter)}"
        self.dirs = {key: os.path.join(parent, name) for key, parent in parents.items()}
        for d in self.dirs.values():
            os.mkdir(d)
        self.memory_mb = -1
        self.set_memory(memory_mb)
        self.set_pids(max_processes)

    def _mem_dir(self) -> str:
        return self.dirs["memory" if self.version == "v1" else "unified"]

    def _pids_dir(self) -> str:
        return self.dirs["pids" if self.version == "v1" else "unified"]

    def set_memory(self, memory_mb: int) -> None:
        """Cap the whole sandbox (all its processes) at ``memory_mb``."""
        if memory_mb == self.memory_mb:
            return
        value = str(memory_mb << 20)
        if self.version == "v1":
            _write(os.path.join(self._mem_dir(), "memory.limit_in_bytes"), value)
            try:
                _write(os.path.join(self._mem_dir(), "memory.swappiness"), "0")
            except OSError:
                pass
            # v1 charges socket buffers to a cgroup only once it has a TCP limit (v2 always
            # does): without one, a program held GiBs of TCP buffers on its loopback outside
            # the memory limit, up to the host-wide net.ipv4.tcp_mem, past which every TCP
            # socket of the host is under memory pressure.
            try:
                _write(os.path.join(self._mem_dir(), "memory.kmem.tcp.limit_in_bytes"), value)
            except OSError:
                pass
        else:
            _write(os.path.join(self._mem_dir(), "memory.max"), value)
            try:
                _write(os.path.join(self._mem_dir(), "memory.swap.max"), "0")
            except OSError:
                pass
        self.memory_mb = memory_mb

    def set_pids(self, max_processes: int) -> None:
        if max_processes == getattr(self, "max_processes", None):
            return
        _write(os.path.join(self._pids_dir(), "pids.max"), str(max_processes))
        self.max_processes = max_processes

    def apply(self, memory_mb: int, max_processes: int) -> None:
        """Set a job's limits. The server and the job process live in the cgroup too,
        so it gets a little headroom over the program's own limits."""
        self.set_memory(memory_mb + 64)
        self.set_pids(max_processes + 8)

    def procs_files(self) -> list[str]:
        return [os.path.join(d, "cgroup.procs") for d in self.dirs.values()]

    def wrap_argv(self, argv: list[str]) -> list[str]:
        """argv that joins this cgroup before exec'ing ``argv`` (so every child starts inside)."""
        joins = " && ".join(f'echo $$ > "{p}"' for p in self.procs_files())
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "acesandbox-cgroup", *argv]

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer has killed in this cgroup."""
        name = "memory.oom_control" if self.version == "v1" else "memory.events"
        try:
            with open(os.path.join(self._mem_dir(), name)) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except OSError:
            pass
        return 0

    def remove(self) -> None:
        """Delete the cgroup once its processes are gone (they are killed by the backend)."""
        for d in self.dirs.values():
            pause = 0.001  # killed processes leave within milliseconds: poll fast, then back off
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    try:
                        with open(os.path.join(d, "cgroup.procs")) as f:
                            for pid in f.read().split():
                                try:
                                    os.kill(int(pid), 9)
                                except OSError:
                                    pass
                    except OSError:
                        pass
                    time.sleep(pause)
                    pause = min(pause * 2, 0.05)


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)
