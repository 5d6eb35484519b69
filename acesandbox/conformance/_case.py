"""A conformance case, the capabilities a case may require, and the pieces cases share."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, replace
from typing import AbstractSet, Any, Callable, ContextManager, Mapping, Union

from .._result import Report, Status
from .._spec import Job, Limits, SandboxConfig

Expect = Union[Status, AbstractSet[Status]]
Verify = Callable[[Report, float, Mapping[str, Any]], list[str]]

CAPABILITIES = frozenset({"fs_isolation", "net_isolation", "pid_isolation", "no_nested_namespaces", "syscall_filter"})
"""What a backend may provide: a private read-only filesystem, no network, its own pid
namespace, no way for a program to create namespaces of its own (a nested user
namespace hands it every capability inside, and with them much of the kernel's attack
surface), and a system-call filter that refuses the kernel interfaces programs never need
(io_uring, keyring, userfaultfd, bpf, perf, the mount API...: :mod:`.kernel`)."""

_PROVIDES: dict[str, frozenset[str]] = {
    "namespace": CAPABILITIES,
    "docker": CAPABILITIES,
    "process": frozenset(),
    "fake": frozenset(),
}

SECRET_ENV = "ACESANDBOX_CONFORMANCE_SECRET"
SECRET_VALUE = "acesandbox-conformance-host-secret-5f2c9e"

SANDBOX = SandboxConfig(workers=1, memory_mb=256, max_processes=32, scratch_mb=32)
"""The per-sandbox settings the cases assume (:func:`conformance_executor` runs on them)."""

P, F, E, T, M, C, S = (
    Status.PASSED,
    Status.FAILED,
    Status.ERROR,
    Status.TIMEOUT,
    Status.MEMORY,
    Status.CRASHED,
    Status.SKIPPED,
)
BLOCKED = frozenset({F, E})
"""An attack written as ``assert attack() == True`` that did not work: False, or raised."""
NOT_PASSED = frozenset({F, E, T, M, C})
"""Any verdict a program can earn except ``passed``."""

FAST = Limits(
    timeout_s=1.0,
    wall_timeout_s=2.0,
    job_timeout_s=20.0,
    max_file_mb=8,
    output_bytes=4096,
)
HANG = replace(FAST, timeout_s=0.5, wall_timeout_s=1.0)
# Reaching a memory limit costs CPU time in the kernel's reclaim, a lot of it on a loaded
# host; a roomier CPU limit keeps ``memory`` from turning into ``timeout`` there.
MEM = replace(FAST, timeout_s=3.0, wall_timeout_s=6.0)


@dataclass(frozen=True)
class Case:
    """One conformance case: a job and the status each of its tests must end in.

    ``expect`` holds one entry per test: a Status, or a frozenset of acceptable ones
    where the exact status depends on the host (never ``passed`` in a set, never
    ``sandbox_error``). In a ``hostile`` case an exact ``passed`` marks a control test
    (the sandbox recovered within the job); every other test is an attack.
    ``host`` starts host-side fixtures and yields a context whose ``"@NAME@"`` string
    entries are substituted into the program and tests; ``verify`` adds checks of its
    own on the report, the elapsed seconds and that context. ``earlier``: a job run first
    on the same executor (one sandbox), every test of which must pass: what it leaves
    behind is what the case's program looks for.
    """

    name: str
    program: str
    tests: tuple[Any, ...]
    expect: tuple[Expect, ...]
    limits: Limits = FAST
    mode: str = "isolated"
    compare: str = "strict"
    stop_on_failure: bool = False
    requires: AbstractSet[str] = frozenset()
    hostile: bool = False
    host: Callable[[], ContextManager[Mapping[str, Any]]] | None = None
    verify: Verify | None = None
    earlier: Job | None = None
    why: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tests", tuple(self.tests))
        expect = tuple(e if isinstance(e, Status) else frozenset(e) for e in self.expect)
        object.__setattr__(self, "expect", expect)
        object.__setattr__(self, "requires", frozenset(self.requires))
        if len(self.expect) != len(self.tests):
            raise ValueError(f"case {self.name}: {len(self.expect)} expectations for {len(self.tests)} tests")
        unknown = self.requires - CAPABILITIES
        if unknown:
            raise ValueError(f"case {self.name}: unknown capabilities {sorted(unknown)}")
        for e in self.expect:
            accepted = allowed(e)
            if Status.SANDBOX_ERROR in accepted:
                raise ValueError(f"case {self.name}: a program must never be able to cause sandbox_error")
            if self.hostile and not isinstance(e, Status) and P in accepted:
                raise ValueError(f"case {self.name}: a hostile case never accepts passed")
        if self.hostile and all(e is P for e in self.expect):
            raise ValueError(f"case {self.name}: a hostile case needs at least one attacking test")


def allowed(e: Expect) -> frozenset[Status]:
    """The statuses an expectation accepts."""
    return frozenset({e}) if isinstance(e, Status) else frozenset(e)


# ------------------------------------------------------------ capabilities


def capabilities(backend: Any) -> frozenset[str]:
    """The capabilities a backend (object or name) provides."""
    declared = getattr(backend, "provides", None)
    if declared is not None:
        return frozenset(declared)
    name = backend if isinstance(backend, str) else getattr(backend, "name", "")
    return _PROVIDES.get(name, frozenset())


def applicable(case: Case, backend: Any) -> bool:
    """Whether ``backend`` provides everything ``case`` requires."""
    return case.requires <= capabilities(backend)


# ------------------------------------------------------- pieces cases share


def src(text: str) -> str:
    """Program text written indented in a case, dedented."""
    return textwrap.dedent(text).strip("\n") + "\n"


ADD = "def add(a, b):\n    return a + b\n"

# Writes ``data`` to every descriptor a result channel could be on.
SPRAY = src(
    """
    import os
    def _spray(data):
        for fd in range(3, 51):
            try:
                os.write(fd, data)
            except OSError:
                pass
    """
)

UNITTEST_PASS = src(
    """
    import unittest
    class TestAdd(unittest.TestCase):
        def test_add(self):
            self.assertEqual(add(1, 2), 3)
    """
)
UNITTEST_FAIL = src(
    """
    import unittest
    class TestAdd(unittest.TestCase):
        def test_add(self):
            self.assertEqual(add(1, 2), 4)
    """
)

IO_SUM = src(
    """
    a, b = map(int, input().split())
    print(a + b)
    """
)
