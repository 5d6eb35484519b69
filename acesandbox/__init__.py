"""acesandbox: run untrusted Python against tests, with verdicts no program can forge.

>>> import acesandbox
>>> report = acesandbox.run_tests("def add(a, b): return a + b", ["assert add(1, 2) == 3"])
>>> report.pass_rate
1.0

Everything public is re-exported here; heavy parts (backends, the executor) are
imported on first use, so ``import acesandbox`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator, Iterable, Sequence

from ._result import Outcome, Report, Status
from ._spec import AssertTest, CallBatchTest, CallTest, IOTest, Job, Limits, SandboxConfig, UnittestTest
from .errors import (
    AcecoderError,
    AcesandboxError,
    BackendNotFoundError,
    InvalidJobError,
    SandboxCrashedError,
    SandboxError,
    SandboxTimeoutError,
    SandboxUnavailableError,
    TestSyntaxError,
)

if TYPE_CHECKING:
    from .backends.base import Backend
    from .executor import Executor

__version__ = "0.1.0"

__all__ = [
    "AcecoderError",
    "AcesandboxError",
    "AssertTest",
    "BackendNotFoundError",
    "CallBatchTest",
    "CallTest",
    "Executor",
    "IOTest",
    "InvalidJobError",
    "Job",
    "Limits",
    "Outcome",
    "Report",
    "SandboxConfig",
    "SandboxCrashedError",
    "SandboxError",
    "SandboxTimeoutError",
    "SandboxUnavailableError",
    "Status",
    "TestSyntaxError",
    "UnittestTest",
    "iter_batch",
    "run_batch",
    "run_tests",
]


def __getattr__(name: str) -> Any:
    if name == "Executor":
        from .executor import Executor

        return Executor
    raise AttributeError(f"module 'acesandbox' has no attribute {name!r}")


def _defaults(
    timeout_s: float | None,
    limits: Limits | None,
    mode: str,
    compare: str,
    stop_on_failure: bool,
) -> dict[str, Any]:
    from .executor import limits_from

    return {
        "limits": limits_from(timeout_s, limits),
        "mode": mode,
        "compare": compare,
        "stop_on_failure": stop_on_failure,
    }


_LEGACY_SANDBOX = ("backend", "workers", "memory_mb", "max_processes", "scratch_mb", "python", "preload")


def _legacy(
    where: str, sandbox: "SandboxConfig | str | Backend | None", timeout_s: float | None, legacy: dict[str, Any]
) -> tuple["SandboxConfig | str | Backend | None", float | None]:
    """Map the spellings of the first API (``timeout=``, ``workers=``, ``backend=``, ``memory_mb=`` ...)
    onto ``timeout_s`` and ``sandbox``, with a DeprecationWarning naming the new one; anything
    else is the TypeError Python would raise."""
    if not legacy:
        return sandbox, timeout_s
    import dataclasses
    import warnings

    from .backends.base import Backend as _Backend

    unknown = sorted(set(legacy) - {"timeout", *_LEGACY_SANDBOX})
    if unknown:
        raise TypeError(f"{where}() got an unexpected keyword argument {unknown[0]!r}")
    if "timeout" in legacy:
        if timeout_s is not None:
            raise TypeError(f"{where}() got both timeout= and timeout_s=; use timeout_s=")
        timeout_s = legacy.pop("timeout")
        warnings.warn(f"{where}(timeout=) is deprecated: use timeout_s=", DeprecationWarning, stacklevel=3)
    if legacy:
        if isinstance(sandbox, _Backend):
            raise TypeError(f"{where}(): {sorted(legacy)} cannot change a Backend instance; configure the Backend instead")
        from .executor import sandbox_config

        base = sandbox_config(sandbox)  # InvalidJobError naming what sandbox= takes, not replace()'s TypeError
        if isinstance(legacy.get("preload"), list):
            legacy["preload"] = tuple(legacy["preload"])  # a str is refused by SandboxConfig, never split
        sandbox = dataclasses.replace(base, **legacy)
        names = ", ".join(f"{k}=" for k in sorted(legacy))
        warnings.warn(f"{where}({names}) is deprecated: use sandbox=SandboxConfig({names}...)", DeprecationWarning, stacklevel=3)
    return sandbox, timeout_s


def run_tests(
    program: str,
    tests: Sequence[Any],
    *,
    timeout_s: float | None = None,
    limits: Limits | None = None,
    sandbox: "SandboxConfig | str | Backend | None" = None,
    mode: str = "isolated",
    compare: str = "strict",
    stop_on_failure: bool = False,
    **legacy: Any,
) -> Report:
    """Run ``tests`` against ``program`` in a sandbox and return the report.

    ``tests`` holds assert strings (AceCode format) or IOTest / CallTest / UnittestTest
    values. ``timeout_s`` replaces ``limits.timeout_s`` (each test's CPU-time limit)
    when given. ``sandbox``: a SandboxConfig (memory cap, preload, ...), a backend
    name, or a Backend; None means the namespace sandbox (refused, never replaced by
    the weak ``process`` backend, where it cannot run).
    Sandboxes are reused between calls with the same SandboxConfig. Raises
    InvalidJobError for bad arguments; a sandbox failure is retried once and then
    reported as ``sandbox_error`` outcomes.
    """
    from .executor import shared_executor

    sandbox, timeout_s = _legacy("run_tests", sandbox, timeout_s, legacy)
    job = Job(program=program, tests=tests, **_defaults(timeout_s, limits, mode, compare, stop_on_failure))
    return shared_executor(sandbox).run(job)


def iter_batch(
    jobs: Iterable[Any],
    *,
    timeout_s: float | None = None,
    limits: Limits | None = None,
    sandbox: "SandboxConfig | str | Backend | None" = None,
    mode: str = "isolated",
    compare: str = "strict",
    stop_on_failure: bool = False,
    ordered: bool = False,
    progress: bool = False,
    **legacy: Any,
) -> Generator[tuple[int, Report], None, None]:
    """Yield ``(index, report)`` as jobs complete (``ordered=True``: in input order).

    ``jobs`` items are Job values, ``(program, tests)`` pairs or dicts with ``program``
    and ``tests``; the iterable is read lazily, so it may be a generator of any size.
    The other arguments are :func:`run_tests`'s (``sandbox.workers`` sets the
    parallelism). Every sandbox is killed when the iterator ends, is closed, or on Ctrl-C.
    """
    from .executor import Executor

    sandbox, timeout_s = _legacy("iter_batch", sandbox, timeout_s, legacy)
    defaults = _defaults(timeout_s, limits, mode, compare, stop_on_failure)
    ex = Executor(sandbox)
    try:
        yield from ex.imap(jobs, ordered=ordered, progress=progress, defaults=defaults)
    finally:
        ex.close()


def run_batch(
    jobs: Iterable[Any],
    *,
    timeout_s: float | None = None,
    limits: Limits | None = None,
    sandbox: "SandboxConfig | str | Backend | None" = None,
    mode: str = "isolated",
    compare: str = "strict",
    stop_on_failure: bool = False,
    progress: bool = False,
    **legacy: Any,
) -> list[Report]:
    """Run every job in parallel and return the reports in input order (see :func:`iter_batch`)."""
    sandbox, timeout_s = _legacy("run_batch", sandbox, timeout_s, legacy)
    batch = iter_batch(
        jobs,
        timeout_s=timeout_s,
        limits=limits,
        sandbox=sandbox,
        mode=mode,
        compare=compare,
        stop_on_failure=stop_on_failure,
        progress=progress,
    )
    # Collected as they complete, then put in order: reading in order would hold every
    # worker back behind one slow job once the read-ahead window filled up behind it.
    reports: dict[int, Report] = dict(batch)
    return [reports[i] for i in range(len(reports))]
