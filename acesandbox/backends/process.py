"""``process`` backend: for hosts without namespaces. Weaker, and reports say so.

The server runs as a plain child process: empty environment plus an allow-list, a new
session, a private scratch directory as cwd, rlimits on every job and test process,
leftover processes killed after each test (the server is their subreaper), and a
cgroup for memory and process count where the host allows one. There is no
filesystem, network or pid isolation: a program can read what the host user can
read and open network connections.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from .._harden import cgroups, namespaces
from .._harden.env import sandbox_env
from ._server import OomCounter, ServerSession, release
from .base import Backend, Session

__all__ = ["ProcessBackend"]

_WEAK = "process backend: no filesystem, network or pid isolation (use the namespace or docker backend)"


class ProcessBackend(Backend):
    name = "process"
    isolation = "process"

    def open_session(self, worker: int = 0) -> Session:
        config = self.config
        warnings = [_WEAK]
        if os.geteuid() == 0:
            warnings.append("process backend running as root: programs can do anything root can on this host")
        cg = None
        if cgroups.cgroup_support() is None:
            try:
                cg = cgroups.Cgroup(config.memory_mb + 64, config.max_processes + 8)
            except OSError as exc:
                warnings.append(f"cgroup unavailable ({exc}); memory is capped per process with RLIMIT_AS")
        scratch = tempfile.mkdtemp(prefix="acesandbox-")
        os.chmod(scratch, 0o700)
        server = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "_sandbox", "server.py")
        argv = [config.python or os.path.realpath(sys.executable), *namespaces.server_flags(config.hash_seed), server]
        if cg is not None:
            argv = cg.wrap_argv(argv)
        cfg = {
            "scratch": scratch,
            "preload": list(config.preload),
            "site": namespaces.site_dirs(config.python),
            "rlimit_as": cg is None,
            "as_slack_mb": 256,
            "rlimit_nproc": False,
            "result_bytes": self.result_bytes,
        }

        oom = OomCounter(cg) if cg is not None else None

        def cleanup() -> None:
            release(oom, cg)
            shutil.rmtree(scratch, ignore_errors=True)

        return ServerSession(
            argv,
            cfg=cfg,
            isolation=self.isolation + ("+cgroup" if cg is not None else ""),
            backend=self.name,
            env=sandbox_env(home=scratch, hash_seed=config.hash_seed, python_bin=namespaces.python_bin(config.python)),
            cwd=scratch,
            start_timeout_s=self.start_timeout_s,
            oom_kills=oom,
            sandbox_limits=self.sandbox_limits(),
            on_close=cleanup,
            warnings=tuple(warnings),
        )
