"""``ray`` backend: jobs spread over a Ray cluster, one sandbox pool per node.

One actor per alive node runs an ordinary :class:`~acesandbox.Executor` there (the
``namespace`` backend by default, or ``docker``) with that node's CPUs as workers. On
the driver, the executor's usual machinery does the rest: each of its worker threads
holds a session that sends one job at a time to the least loaded actor, so results
stream back in input order and at most ``window`` jobs are in flight (memory stays flat
for any batch size).

Failures: when an actor or its node dies, every job it was running is re-run alone on
another actor (or a fresh one), so jobs that merely shared the actor are judged again
and lose nothing; a job whose actor dies again while it runs alone killed it twice and
is reported as ``sandbox_error`` for that job only. New nodes get an actor the next time
a session is opened. Ray is imported only when this backend is chosen
(``pip install 'acecoder-toolkit[ray]'``), and must be importable on every node, as must
acesandbox itself (same versions).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import ray
import ray.exceptions
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from .._result import Outcome, Report
from .._spec import Job, SandboxConfig
from ..errors import SandboxCrashedError, SandboxUnavailableError
from .base import Backend, Session

__all__ = ["RayBackend", "RayConfig"]

# A job with this id makes the actor running it exit (only when RayConfig.crash_hook is on):
# the way tests play a job that kills its actor, which a sandboxed program cannot do.
CRASH_JOB_ID = "__acesandbox_crash_actor__"


class _NoAnswer(Exception):
    """The actor did not answer within the job's budget plus the margin."""


_ACTOR_LOST = (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError, ray.exceptions.NodeDiedError, _NoAnswer)


@dataclass(frozen=True)
class RayConfig:
    """Ray-specific settings (sandbox-wide caps and preload are SandboxConfig's).

    ``address``: the cluster (``"auto"``, ``"ray://host:10001"``, ``"10.0.0.1:6379"``);
    None uses ``RAY_ADDRESS`` or the cluster ``ray start`` left on this machine, else
    starts a local one. ``inner``: the backend each node runs (``"namespace"``,
    ``"docker"``; None: namespace, refusing where the node cannot run it). ``workers_per_node``:
    sandboxes per node (None: the node's CPUs). ``job_margin_s``: how long past a job's
    own time budget the driver waits for its result before giving the actor up.
    ``runtime_env``: passed to the actors (e.g. to ship a working directory).
    ``crash_hook``: tests only (see ``CRASH_JOB_ID``).
    """

    address: str | None = None
    inner: str | None = "namespace"
    workers_per_node: int | None = None
    job_margin_s: float = 120.0
    runtime_env: Mapping[str, Any] | None = None
    namespace: str = "acesandbox"
    crash_hook: bool = False
    inner_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        w = self.workers_per_node
        if w is not None and (isinstance(w, bool) or not isinstance(w, int) or w < 1):
            raise ValueError(f"RayConfig.workers_per_node must be a positive integer or None, got {w!r}")
        if self.inner == "ray":
            raise ValueError("RayConfig.inner cannot be 'ray'; choose 'namespace' or 'docker'")

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RayConfig:
        """The fields of ``options`` (a SandboxConfig's) that name RayConfig fields."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in options.items() if k in names})


class _NodePool:
    """The actor on one node: an Executor of the inner backend, one job per call."""

    def __init__(self, sandbox: SandboxConfig, crash_hook: bool) -> None:
        from acesandbox.executor import Executor

        self.crash_hook = crash_hook
        # Ray runs workers at niceness 15 (its worker_niceness), which every sandbox would
        # inherit: on a busy node they would get a sliver of the CPU and time out.
        self.niceness = _normal_priority()
        self.executor = Executor(sandbox)
        self.warnings: tuple[str, ...] = ()
        if self.niceness > 0:
            self.warnings = (
                f"Ray runs this node's sandboxes at niceness {self.niceness} (it could not be reset to 0: give the "
                "Ray workers CAP_SYS_NICE or a RLIMIT_NICE, or start Ray with RAY_worker_niceness=0)",
            )

    def describe(self) -> dict[str, Any]:
        b = self.executor.backend
        return {
            "backend": b.name,
            "isolation": b.isolation,
            "workers": self.executor.workers,
            "pid": os.getpid(),
            "niceness": self.niceness,
        }

    def run(self, job: Job) -> Report:
        if self.crash_hook and job.job_id == CRASH_JOB_ID:
            os._exit(1)
        _normal_priority(all_threads=False)  # this call's thread judges the results
        report = self.executor.run(job)
        return replace(report, warnings=report.warnings + self.warnings) if self.warnings else report

    def close(self) -> None:
        self.executor.close()


def _normal_priority(all_threads: bool = True) -> int:
    """Set niceness 0 on this thread (or every thread of the process); the niceness left."""
    tids = [0]
    if all_threads:
        try:
            tids = [int(t) for t in os.listdir("/proc/self/task")]
        except OSError:
            pass
    for tid in tids:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, 0)
        except OSError:
            pass
    return os.getpriority(os.PRIO_PROCESS, 0)


@dataclass
class _Actor:
    node_id: str
    handle: Any
    workers: int
    backend: str = ""
    isolation: str = ""
    busy: int = 0
    solo: bool = False
    alive: bool = True


class _RaySession(Session):
    """One executor worker's connection to the cluster: one job at a time, on any actor."""

    isolation = "ray"

    def __init__(self, backend: RayBackend) -> None:
        self._backend = backend
        self._closed = False

    def run(self, job: Job, on_outcome: Callable[[int, Outcome], None] | None = None) -> Report:
        if self._closed:
            raise SandboxCrashedError("session is closed")
        backend = self._backend
        lost = 0
        while True:
            # After an actor died under this job, run it alone, so a second death is its own.
            with backend.lease(solo=lost > 0) as actor:
                try:
                    report = backend.call(actor, job)
                    break
                except _ACTOR_LOST as exc:
                    backend.lost(actor, exc)
                    lost += 1
                    if lost >= 2:
                        from ..executor import sandbox_error_report

                        return sandbox_error_report(
                            job, "ray", f"the Ray actor running this job died twice, the second time running it alone: {exc}"
                        )
        if on_outcome is not None:
            for i, o in enumerate(report.outcomes):
                on_outcome(i, o)
        return replace(report, backend="ray")

    def close(self) -> None:
        self._closed = True


class RayBackend(Backend):
    """Sandbox pools on every node of a Ray cluster (see the module docstring)."""

    name = "ray"
    isolation = "ray"
    option_names = frozenset(f.name for f in fields(RayConfig))

    def __init__(self, config: SandboxConfig | None = None, ray_config: RayConfig | None = None) -> None:
        super().__init__(config)
        self.ray = ray_config or RayConfig.from_options(self.config.options)
        self._actors: dict[str, _Actor] = {}
        self._cond = threading.Condition()
        self._started_ray = False
        self._tag = uuid.uuid4().hex[:8]
        self._closed = False
        self._inner_caps: frozenset[str] | None = None
        self._ids = itertools.count()
        self._solo_waiting = 0

    # ------------------------------------------------------------- cluster
    def _connect(self) -> None:
        if ray.is_initialized():
            return
        try:
            ray.init(address=self.ray.address, namespace=self.ray.namespace, logging_level=logging.ERROR, log_to_driver=False)
        except ConnectionError as exc:
            raise SandboxUnavailableError(
                f"no Ray cluster at {self.ray.address!r}: {exc}; start one with `ray start --head` "
                "(and `ray start --address HEAD:6379` on other nodes), or leave address=None for a local one"
            ) from exc
        except Exception as exc:
            raise SandboxUnavailableError(f"could not connect to Ray ({self.ray.address or 'local'}): {exc}") from exc
        self._started_ray = True

    def _inner_config(self, workers: int) -> SandboxConfig:
        """Each node's own sandboxes: this config's caps, the inner backend and its options."""
        return replace(self.config, backend=self.ray.inner, workers=workers, options=dict(self.ray.inner_options))

    def _spawn(self, node: Mapping[str, Any]) -> _Actor:
        node_id = node["NodeID"]
        cpus = int(node.get("Resources", {}).get("CPU", 1) or 1)
        workers = self.ray.workers_per_node or max(1, cpus)
        cls = ray.remote(_NodePool).options(
            num_cpus=0,
            max_concurrency=workers * 4 + 4,
            max_restarts=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
            name=f"acesandbox-{self._tag}-{node_id[:12]}-{uuid.uuid4().hex[:4]}",
            runtime_env=dict(self.ray.runtime_env) if self.ray.runtime_env else None,
        )
        handle = cls.remote(self._inner_config(workers), self.ray.crash_hook)
        return _Actor(node_id=node_id, handle=handle, workers=workers)

    def _alive_nodes(self) -> list[Mapping[str, Any]]:
        nodes: list[Mapping[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]  # ray ships no annotation here
        return [n for n in nodes if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]

    def refresh(self) -> None:
        """Give every alive node without an actor a new one, and wait until they are ready."""
        self._connect()
        with self._cond:
            have = {a.node_id for a in self._actors.values() if a.alive}
        new = [self._spawn(n) for n in self._alive_nodes() if n["NodeID"] not in have]
        ready = []
        err: BaseException | None = None
        for actor in new:
            try:
                info = ray.get(actor.handle.describe.remote(), timeout=self.start_timeout_s)
            except Exception as exc:  # noqa: BLE001 - a node that cannot run sandboxes is left out
                self._kill(actor)
                err = exc
                continue
            actor.backend, actor.isolation, actor.workers = info["backend"], info["isolation"], info["workers"]
            ready.append(actor)
        with self._cond:
            for actor in ready:
                self._actors[f"{actor.node_id}/{next(self._ids)}"] = actor
            self._cond.notify_all()
            if not any(a.alive for a in self._actors.values()):
                why = f": {err}" if new and not ready else ""
                raise SandboxUnavailableError(f"no Ray node could start a sandbox pool{why}")

    def check(self) -> None:
        self.refresh()
        inner = {a.backend for a in self._actors.values() if a.alive}
        from ..conformance import capabilities

        caps = [capabilities(name) for name in sorted(inner)]
        self._inner_caps = frozenset.intersection(*caps) if caps else frozenset()

    @property
    def provides(self) -> frozenset[str] | None:
        """What every node's sandboxes isolate (the weakest node counts); None before check()."""
        return self._inner_caps

    def default_workers(self) -> int:
        if not self._actors:
            self.refresh()
        with self._cond:
            return max(1, sum(a.workers for a in self._actors.values() if a.alive))

    def nodes(self) -> list[dict[str, Any]]:
        """The actors in use: node id, inner backend, isolation, workers, busy."""
        with self._cond:
            return [
                {"node_id": a.node_id, "backend": a.backend, "isolation": a.isolation, "workers": a.workers, "busy": a.busy}
                for a in self._actors.values()
                if a.alive
            ]

    # -------------------------------------------------------------- leases
    def _pick(self, solo: bool) -> _Actor | None:
        """The least loaded usable actor. A solo lease needs an idle actor and keeps it to
        itself; while one waits, no new normal lease starts, so some actor drains."""
        if not solo and self._solo_waiting:
            return None
        best, load = None, None
        for a in self._actors.values():
            if not a.alive or a.solo or (solo and a.busy):
                continue
            if not solo and a.busy >= a.workers * 4:
                continue
            score = a.busy / a.workers
            if load is None or score < load:
                best, load = a, score
        return best

    def lease(self, solo: bool = False) -> _Lease:
        return _Lease(self, solo)

    def _acquire(self, solo: bool) -> _Actor:
        deadline = time.monotonic() + self.start_timeout_s * 5
        refreshed = False
        with self._cond:
            self._solo_waiting += solo
            try:
                while True:
                    if self._closed:
                        raise SandboxUnavailableError("the Ray backend is closed")
                    actor = self._pick(solo)
                    if actor is not None:
                        actor.busy += 1
                        actor.solo = solo
                        return actor
                    if not any(a.alive for a in self._actors.values()) and not refreshed:
                        self._cond.release()
                        try:
                            self.refresh()
                        finally:
                            self._cond.acquire()
                        refreshed = True
                        continue
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        raise SandboxUnavailableError("no Ray actor became free to run the job")
                    self._cond.wait(min(wait, 1.0))
            finally:
                self._solo_waiting -= solo
                self._cond.notify_all()

    def _release(self, actor: _Actor) -> None:
        with self._cond:
            actor.busy -= 1
            actor.solo = False
            self._cond.notify_all()

    def call(self, actor: _Actor, job: Job) -> Report:
        lim = job.limits
        timeout = lim.effective_job_timeout_s + 2 * lim.effective_wall_timeout_s + self.ray.job_margin_s
        ref = actor.handle.run.remote(job)
        try:
            report: Report = ray.get(ref, timeout=timeout)
            return report
        except ray.exceptions.GetTimeoutError as exc:
            raise _NoAnswer(f"no result within {timeout:.0f} s") from exc
        except ray.exceptions.RayTaskError as exc:
            raise SandboxCrashedError(f"the Ray actor failed running the job: {exc}") from exc

    def lost(self, actor: _Actor, exc: BaseException) -> None:
        """An actor died (or stopped answering): stop using it; its node gets a new one later."""
        with self._cond:
            was_alive, actor.alive = actor.alive, False
            self._cond.notify_all()
        if was_alive:
            self._kill(actor)
            threading.Thread(target=self._replace_quietly, daemon=True).start()

    def _replace_quietly(self) -> None:
        try:
            self.refresh()
        except Exception:  # noqa: BLE001 - the next lease retries
            pass

    def _kill(self, actor: _Actor) -> None:
        try:
            ray.kill(actor.handle, no_restart=True)
        except Exception:  # noqa: BLE001 - gone already
            pass

    # ------------------------------------------------------------ sessions
    def open_session(self, worker: int = 0) -> Session:
        if not self._actors:
            self.refresh()
        return _RaySession(self)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            actors, self._actors = list(self._actors.values()), {}
            self._cond.notify_all()
        for a in actors:
            if a.alive:
                try:
                    ray.get(a.handle.close.remote(), timeout=30)
                except Exception:  # noqa: BLE001
                    pass
                self._kill(a)
        if self._started_ray and ray.is_initialized():
            ray.shutdown()


class _Lease:
    def __init__(self, backend: RayBackend, solo: bool) -> None:
        self.backend, self.solo = backend, solo

    def __enter__(self) -> _Actor:
        self.actor = self.backend._acquire(self.solo)
        return self.actor

    def __exit__(self, *exc: object) -> None:
        self.backend._release(self.actor)
