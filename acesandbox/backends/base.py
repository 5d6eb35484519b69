"""The Backend interface: one small ABC, implementations registered by name.

A backend knows how to start *sessions*: long-lived sandboxes, one per worker, each
running jobs one at a time. The executor owns the pool, the streaming and the
retries; a backend only says how a sandbox is started and what isolation it gives.
Backends are imported lazily (``"module:Class"`` strings), so ``import acesandbox``
never imports docker or ray.
"""

from __future__ import annotations

import abc
from dataclasses import replace
from typing import Any, Callable, ClassVar

from .._result import Outcome, Report
from .._spec import Job, SandboxConfig
from ..errors import BackendNotFoundError, InvalidJobError
from ..registry import Registry

__all__ = ["Backend", "Session", "available_backends", "get_backend", "register_backend"]


class Session(abc.ABC):
    """One long-lived sandbox. ``run`` raises SandboxError when the sandbox fails."""

    isolation: str = ""

    @abc.abstractmethod
    def run(self, job: Job, on_outcome: Callable[[int, Outcome], None] | None = None) -> Report:
        """Run one job to completion and return its report."""

    @abc.abstractmethod
    def close(self) -> None:
        """Kill the sandbox and everything in it; safe to call twice."""

    def hint_next(self, job: Job | None) -> None:
        """``job`` is the one this session runs next (None: not known): a session may send
        it ahead during the current ``run``, so the sandbox starts it without waiting for
        the host. A hint only: ``run`` must work whatever was hinted."""

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Backend(abc.ABC):
    """Starts sandboxes of one kind, each capped as its :class:`SandboxConfig` says.

    ``config.preload``: modules imported once by each sandbox's fork server (e.g.
    ``numpy``), so tests that import them pay nothing; each one makes every fork
    costlier, so keep it short. ``result_bytes``: the most result data one test may
    send back; ``start_timeout_s``: how long a sandbox may take to start.
    """

    name: ClassVar[str] = ""
    isolation: ClassVar[str] = ""
    result_bytes: ClassVar[int] = 16 * 2**20
    start_timeout_s: ClassVar[float] = 60.0
    option_names: ClassVar[frozenset[str]] = frozenset()
    """The ``SandboxConfig.options`` keys this backend reads; any other key is an error."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config if config is not None else SandboxConfig(backend=self.name or None)
        unknown = sorted(set(self.config.options) - self.option_names)
        if unknown:
            known = ", ".join(sorted(self.option_names)) or "none"
            raise InvalidJobError(
                f"SandboxConfig.options {unknown} mean nothing to the {self.name or type(self).__name__} backend "
                f"(it reads: {known}); drop them or choose the backend they are for"
            )

    def sandbox_limits(self) -> dict[str, int]:
        """The sandbox-wide caps every job of this backend runs under (sent with each job)."""
        return {"memory_mb": self.config.memory_mb, "max_processes": self.config.max_processes}

    def check(self) -> None:
        """Raise SandboxUnavailableError (naming the fix) if this host cannot run it."""

    @abc.abstractmethod
    def open_session(self, worker: int = 0) -> Session:
        """Start one sandbox (may take tens of milliseconds to seconds)."""

    def default_workers(self) -> int:
        import os

        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))

    def close(self) -> None:
        """Release backend-wide resources (no-op by default)."""


BACKENDS: Registry[type[Backend]] = Registry(
    "backend",
    {
        "namespace": "acesandbox.backends.namespace:NamespaceBackend",
        "process": "acesandbox.backends.process:ProcessBackend",
        "fake": "acesandbox.backends.fake:FakeBackend",
        "docker": "acesandbox.backends.docker:DockerBackend",
        "ray": "acesandbox.backends.ray:RayBackend",
    },
    extras={"docker": "docker", "ray": "ray"},
    error=BackendNotFoundError,
)


def register_backend(name: str, target: str) -> None:
    """Register a backend class under ``name`` as a ``"module:Class"`` string."""
    BACKENDS.register(name, target)


def available_backends() -> list[str]:
    """Names of the registered backends."""
    return BACKENDS.names()


def get_backend(name: str, config: SandboxConfig | None = None) -> Backend:
    """Instantiate the backend registered as ``name`` (imported only now) with ``config``.

    A Ray cluster address also names the ray backend: ``"ray://head:10001"``, or
    ``"ray:auto"`` / ``"ray:10.0.0.1:6379"`` (the part after ``ray:``).
    """
    base = config if config is not None else SandboxConfig()
    if isinstance(name, str) and name.startswith("ray:"):
        address = name if name.startswith("ray://") else name[len("ray:") :]
        base = replace(base, options={**base.options, "address": address})
        name = "ray"
    cls = BACKENDS.load(name)
    return cls(replace(base, backend=cls.name or name))
