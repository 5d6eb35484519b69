"""``namespace`` backend (default on Linux): bubblewrap namespaces + a cgroup per sandbox.

Each worker is one long-lived bubblewrap sandbox (new user, pid, net, mount, ipc, uts
and cgroup namespaces; read-only OS and interpreter; private tmpfs scratch) whose pid 1
is our fork server. Namespaces are created once per worker, not per job; the server
wipes the scratch and kills leftovers after every test.
"""

from __future__ import annotations

import functools
import os
import sys

from .._harden import cgroups, namespaces
from ..errors import SandboxUnavailableError
from ._server import OomCounter, ServerSession, release
from .base import Backend, Session

__all__ = ["NamespaceBackend"]


class NamespaceBackend(Backend):
    name = "namespace"
    isolation = "namespace"

    @property
    def provides(self) -> frozenset[str]:
        """The conformance capabilities this sandbox really applies (see ``conformance.CAPABILITIES``):
        no nested namespaces only while something blocks them (the seccomp filter always does;
        bubblewrap's --disable-userns only from 0.8)."""
        caps = {"fs_isolation", "net_isolation", "pid_isolation", "syscall_filter"}  # seccomp: always (fail closed)
        if namespaces.nested_userns_blocked_by():
            caps.add("no_nested_namespaces")
        return frozenset(caps)

    def check(self) -> None:
        if not sys.platform.startswith("linux"):
            raise SandboxUnavailableError("the namespace backend needs Linux; use backend='process' or 'docker'")
        problem = namespaces.probe()
        if problem is not None:
            raise SandboxUnavailableError(problem + " (or choose backend='process', which is weaker)")

    def open_session(self, worker: int = 0) -> Session:
        config = self.config
        warnings: list[str] = []
        cg = None
        if cgroups.cgroup_support() is None:
            try:
                cg = cgroups.Cgroup(config.memory_mb + 64, config.max_processes + 8)
            except OSError as exc:
                warnings.append(f"cgroup unavailable ({exc}); memory is capped per process with RLIMIT_AS")
        else:
            warnings.append(f"{cgroups.cgroup_support()}; memory is capped per process with RLIMIT_AS")
        python = config.python
        argv = namespaces.bwrap_argv(config.scratch_mb, python, config.hash_seed)
        if cg is not None:
            argv = cg.wrap_argv(argv)
        cfg = {
            "scratch": namespaces.SCRATCH,
            "wipe": [namespaces.SCRATCH, namespaces.SHM],
            "net_private": True,  # its own network namespace: TCP state left by a job retires it
            "wipe_private": True,  # each a tmpfs of its own: empty after a job, or the sandbox retires
            "preload": list(config.preload),
            "site": namespaces.site_dirs(python),
            "rlimit_as": cg is None,
            "as_slack_mb": 256,
            # Without a pids cgroup, RLIMIT_NPROC is the fork-bomb guard; it counts every
            # process of the sandbox's host uid, so it is only exact for a dedicated uid.
            "rlimit_nproc": cg is None and os.getuid() != 0,
            "result_bytes": self.result_bytes,
        }
        oom = OomCounter(cg) if cg is not None else None
        return ServerSession(
            argv,
            cfg=cfg,
            isolation=self.isolation + ("+cgroup" if cg is not None else ""),
            backend=self.name,
            env={},
            start_timeout_s=self.start_timeout_s,
            oom_kills=oom,
            sandbox_limits=self.sandbox_limits(),
            on_close=functools.partial(release, oom, cg) if cg is not None else None,
            warnings=tuple(warnings),
        )
