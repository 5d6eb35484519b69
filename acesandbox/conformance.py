"""The conformance suite every backend must pass: behaviour cases and hostile programs.

A :class:`Case` is a program, its tests and the status each test must end in. Behaviour
cases pin down what each status means (a CPU loop is ``timeout``, a memory blow-up is
``memory``, tests do not see each other's globals or files...). Hostile cases attack
the sandbox: they exit, kill, fork, flood, forge result frames, monkey-patch the
runtime, try to read host secrets or reach the network. A hostile test is written so
that it ``passed`` only if the attack worked, so no hostile case may ever accept
``passed``; no case at all may accept ``sandbox_error`` (a program must never be able
to cause it). After every case the same executor must still pass a normal job: the
sandbox survives every attack.

Some cases need isolation a backend may not offer (``requires``); each backend
provides a set of capabilities (a ``provides`` class attribute, else the table below)
and a case only runs where its requirements are met. Running the ``pid_isolation`` or
``fs_isolation`` cases without that isolation would attack the host itself
(``kill(-1, SIGKILL)``, filling the host's disk), so :func:`run_case` refuses to.

>>> from acesandbox.conformance import run_conformance
>>> summary = run_conformance("process")  # doctest: +SKIP
>>> summary["conforms"], sorted(summary["failed"])  # doctest: +SKIP

Run cases on an executor from :func:`conformance_executor`: it sets the small
sandbox-wide limits the cases assume and plants the host secret they look for.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass, replace
from typing import AbstractSet, Any, Callable, ContextManager, Iterator, Mapping, Sequence, Union

from ._result import Report, Status
from ._spec import AssertTest, CallBatchTest, CallTest, IOTest, Job, Limits, UnittestTest, as_test

__all__ = [
    "CAPABILITIES",
    "CASES",
    "Case",
    "SECRET_ENV",
    "applicable",
    "capabilities",
    "conformance_executor",
    "run_case",
    "run_conformance",
]

Expect = Union[Status, AbstractSet[Status]]
Verify = Callable[[Report, float, Mapping[str, Any]], list]

CAPABILITIES = frozenset({"fs_isolation", "net_isolation", "pid_isolation", "no_nested_namespaces"})
"""What a backend may provide: a private read-only filesystem, no network, its own pid
namespace, and no way for a program to create namespaces of its own (a nested user
namespace hands it every capability inside, and with them much of the kernel's attack surface)."""

_PROVIDES: dict[str, frozenset] = {
    "namespace": CAPABILITIES,
    "docker": CAPABILITIES,
    "process": frozenset(),
    "fake": frozenset(),
}

SECRET_ENV = "ACESANDBOX_CONFORMANCE_SECRET"
_SECRET_VALUE = "acesandbox-conformance-host-secret-5f2c9e"

# Sandbox-wide settings the cases assume (conformance_executor passes them).
EXECUTOR_OPTIONS: dict[str, int] = {"memory_mb": 256, "max_processes": 32, "scratch_mb": 32}

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
    memory_mb=256,
    max_processes=32,
    max_file_mb=8,
    output_bytes=4096,
    scratch_mb=32,
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
    own on the report, the elapsed seconds and that context.
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
            allowed = _allowed(e)
            if Status.SANDBOX_ERROR in allowed:
                raise ValueError(f"case {self.name}: a program must never be able to cause sandbox_error")
            if self.hostile and not isinstance(e, Status) and P in allowed:
                raise ValueError(f"case {self.name}: a hostile case never accepts passed")
        if self.hostile and all(e is P for e in self.expect):
            raise ValueError(f"case {self.name}: a hostile case needs at least one attacking test")


def _allowed(e: Expect) -> frozenset[Status]:
    return frozenset({e}) if isinstance(e, Status) else frozenset(e)


# ------------------------------------------------------------ capabilities


def capabilities(backend: Any) -> frozenset:
    """The capabilities a backend (object or name) provides."""
    declared = getattr(backend, "provides", None)
    if declared is not None:
        return frozenset(declared)
    name = backend if isinstance(backend, str) else getattr(backend, "name", "")
    return _PROVIDES.get(name, frozenset())


def applicable(case: Case, backend: Any) -> bool:
    """Whether ``backend`` provides everything ``case`` requires."""
    return case.requires <= capabilities(backend)


# ------------------------------------------------------------ host fixtures


@contextlib.contextmanager
def _tcp_listener() -> Iterator[dict[str, Any]]:
    """A TCP server on the host's loopback that counts the connections it accepts."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.1)
    accepted = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            accepted.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield {"@PORT@": str(srv.getsockname()[1]), "accepted": lambda: len(accepted)}
    finally:
        stop.set()
        thread.join(timeout=2)
        srv.close()


def _host_dir() -> str:
    for d in ("/var/tmp", os.path.expanduser("~")):
        if os.path.isdir(d) and os.access(d, os.W_OK):
            return d
    return tempfile.gettempdir()


@contextlib.contextmanager
def _secret_file() -> Iterator[dict[str, Any]]:
    """A file holding the host secret, in a host directory no sandbox should see."""
    d = tempfile.mkdtemp(prefix="acesandbox-conformance-", dir=_host_dir())
    path = os.path.join(d, "secret.txt")
    with open(path, "w") as f:
        f.write(_SECRET_VALUE)
    try:
        yield {"@SECRET_PATH@": path, "@SECRET@": _SECRET_VALUE}
    finally:
        shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def _secret_value() -> Iterator[dict[str, Any]]:
    yield {"@SECRET@": _SECRET_VALUE}


@contextlib.contextmanager
def _marker() -> Iterator[dict[str, Any]]:
    """A unique string to find a case's processes by (in their command line)."""
    yield {"@MARKER@": f"acesandbox-conformance-{uuid.uuid4().hex}"}


def _processes_with(marker: str) -> list[int]:
    """Live (non-zombie) host processes whose command line contains ``marker``."""
    found = []
    needle = marker.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if needle not in f.read():
                    continue
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rfind(b")") + 2 :][:1] != b"Z":
            found.append(int(entry))
    return found


# ------------------------------------------------------------ verify hooks


def _verify_output_capped(report: Report, elapsed_s: float, ctx: Mapping[str, Any]) -> list[str]:
    problems = []
    cap = ctx["limits"].output_bytes
    for i, o in enumerate(report.outcomes):
        if not o.truncated:
            problems.append(f"test {i}: output exceeded output_bytes but truncated is False")
        for stream in ("stdout", "stderr"):
            size = len(getattr(o, stream).encode("utf-8", "surrogatepass"))
            if size > cap + 16:
                problems.append(f"test {i}: {stream} kept {size} bytes, more than output_bytes={cap}")
    return problems


def _verify_quick(limit_s: float) -> Verify:
    def verify(report: Report, elapsed_s: float, ctx: Mapping[str, Any]) -> list[str]:
        if elapsed_s > limit_s:
            return [f"the job took {elapsed_s:.1f}s, more than {limit_s:.1f}s"]
        return []

    return verify


def _verify_job_budget(report: Report, elapsed_s: float, ctx: Mapping[str, Any]) -> list[str]:
    budget = ctx["limits"].effective_job_timeout_s
    slack = 3.0
    if elapsed_s > budget + slack:
        return [f"job_timeout_s={budget}s but the job took {elapsed_s:.1f}s (allowed slack {slack}s)"]
    return []


def _verify_no_orphan(report: Report, elapsed_s: float, ctx: Mapping[str, Any]) -> list[str]:
    problems = []
    first = report.outcomes[0] if report.outcomes else None
    if first is not None and "alive" not in first.message:
        problems.append(f"the orphan never ran, so the case proved nothing: {first.message[:200]!r}")
    marker = ctx["@MARKER@"]
    deadline = time.monotonic() + 1.0
    left = _processes_with(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = _processes_with(marker)
    if left:
        problems.append(f"processes of the job outlived it: pids {left}")
        for pid in left:  # clean up after the failure, so later cases start clean
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
    return problems


def _verify_no_connection(report: Report, elapsed_s: float, ctx: Mapping[str, Any]) -> list[str]:
    n = ctx["accepted"]()
    return [f"the host's loopback server accepted {n} connection(s) from the sandbox"] if n else []


def _all(*hooks: Verify) -> Verify:
    def verify(report: Report, elapsed_s: float, ctx: Mapping[str, Any]) -> list[str]:
        return [p for hook in hooks for p in hook(report, elapsed_s, ctx)]

    return verify


# ------------------------------------------------------------------- cases


def _src(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


_ADD = "def add(a, b):\n    return a + b\n"

# Writes ``data`` to every descriptor a result channel could be on.
_SPRAY = _src(
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

_UNITTEST_PASS = _src(
    """
    import unittest
    class TestAdd(unittest.TestCase):
        def test_add(self):
            self.assertEqual(add(1, 2), 3)
    """
)
_UNITTEST_FAIL = _src(
    """
    import unittest
    class TestAdd(unittest.TestCase):
        def test_add(self):
            self.assertEqual(add(1, 2), 4)
    """
)

_IO_SUM = _src(
    """
    a, b = map(int, input().split())
    print(a + b)
    """
)


def _behaviour() -> list[Case]:
    return [
        Case("pass", _ADD, ("assert add(1, 2) == 3",), (P,)),
        Case("fail", _ADD, ("assert add(1, 2) == 4",), (F,)),
        Case("error", "def div(a, b):\n    return a / b\n", ("assert div(1, 0) == 1",), (E,)),
        Case(
            "load_error",
            "def f():\n    return 1\nraise ValueError('boom while loading')\n",
            ("assert f() == 1", "assert f() == 2"),
            (E, E),
            why="a program that fails to load fails every test with error",
        ),
        Case("syntax_error", "def f(:\n    return 1\n", ("assert f() == 1", "assert f() == 2"), (E, E)),
        Case("load_timeout", "while True:\n    pass\n", ("assert f() == 1", "assert f() == 2"), (T, T), limits=HANG),
        Case(
            "cpu_timeout",
            "def spin():\n    while True:\n        pass\n",
            ("assert spin() == 1",),
            (T,),
            limits=HANG,
        ),
        Case(
            "wall_timeout",
            "import time\ndef nap():\n    time.sleep(60)\n    return 1\n",
            ("assert nap() == 1",),
            (T,),
            limits=HANG,
            why="a sleeping test uses no CPU: the wall-time limit ends it",
        ),
        Case(
            "memory_list",
            "def grow():\n    chunks = []\n    while True:\n        chunks.append(bytearray(1 << 20))\n",
            ("assert grow() == 1",),
            (M,),
            limits=MEM,
        ),
        Case("memory_bytearray", "def big():\n    return len(bytearray(2**31))\n", ("assert big() == 1",), (M,), limits=MEM),
        Case(
            "globals_isolated",
            "calls = []\ndef bump():\n    calls.append(1)\n    return len(calls)\n",
            ("assert bump() == 1", "assert bump() == 1"),
            (P, P),
            why="isolated mode: each test starts from the freshly loaded program",
        ),
        Case(
            "globals_shared",
            "calls = []\ndef bump():\n    calls.append(1)\n    return len(calls)\n",
            ("assert bump() == 1", "assert bump() == 1"),
            (P, F),
            mode="shared",
            why="shared mode: tests run in one process, in order, as the reference harnesses do",
        ),
        Case(
            "scratch_isolated",
            _src(
                """
                import os
                def write():
                    with open("note.txt", "w") as f:
                        f.write("left by test 0")
                    return os.path.exists("note.txt")
                def seen():
                    return os.path.exists("note.txt")
                """
            ),
            ("assert write() == True", "assert seen() == False"),
            (P, P),
            why="files a test writes in its scratch directory are gone before the next test",
        ),
        Case(
            "stdout_truncated",
            "def chatty():\n    for _ in range(1000):\n        print('x' * 99)\n    return 1\n",
            ("assert chatty() == 1",),
            (P,),
            verify=_verify_output_capped,
        ),
        Case(
            "io_pass_fail",
            _IO_SUM,
            (IOTest("1 2\n", "3\n"), IOTest("1 2\n", "4\n")),
            (P, F),
        ),
        Case(
            "call_pass_fail",
            _src(
                """
                def double(x):
                    return 2 * x
                class Solution:
                    def twoSum(self, a, b):
                        return a + b
                """
            ),
            (
                CallTest("double", (2,), 4),
                CallTest("double", (2,), 5),
                CallTest("double", (), 6, kwargs={"x": 3}),
                CallTest("Solution.twoSum", (1, 2), 3),
                CallTest("twoSum", (1, 2), 3),
                CallTest("Solution.twoSum", (1, 2), 4),
            ),
            (P, F, P, P, P, F),
        ),
        Case(
            "call_batch",
            _src(
                """
                def double(x):
                    return 2 * x
                def halve(x):
                    if x == 3:
                        raise ValueError("three")
                    return x / 2
                def stall(x):
                    while x == 2:
                        pass
                    return x
                """
            ),
            (
                CallBatchTest("double", [(i,) for i in range(50)], [2 * i for i in range(50)]),
                CallBatchTest("double", [(1,), (2,), (3,)], [2, 5, 6]),
                CallBatchTest("halve", [(1,), (3,)], [0.5, 1.5]),
                CallBatchTest("halve", [(1,)], [0.5000001], atol=1e-3),
                CallBatchTest("stall", [(1,), (2,), (3,)], [1, 2, 3], call_timeout_s=0.3),
            ),
            (P, F, E, P, T),
            mode="shared",
            why="one process runs every call; the first call that does not pass decides",
        ),
        Case("unittest_pass_fail", _ADD, (UnittestTest(_UNITTEST_PASS), UnittestTest(_UNITTEST_FAIL)), (P, F)),
        Case(
            "stop_on_failure",
            _ADD,
            ("assert add(1, 2) == 3", "assert add(1, 2) == 4", "assert add(2, 2) == 4", "assert add(3, 2) == 5"),
            (P, F, S, S),
            stop_on_failure=True,
        ),
        Case(
            "hang_keeps_others",
            _ADD + "def spin():\n    while True:\n        pass\n",
            ("assert add(1, 2) == 3", "assert spin() == 1", "assert add(2, 2) == 4"),
            (P, T, P),
            limits=HANG,
            why="a test that hangs costs its own verdict, not the others'",
        ),
        Case(
            "shared_fast_then_hang",
            _ADD + "import time\ndef nap():\n    time.sleep(60)\n",
            ("assert add(1, 2) == 3", "assert add(2, 2) == 4", "assert nap() == 1", "assert add(3, 3) == 6"),
            (P, P, T, P),
            mode="shared",
            limits=HANG,
            why="shared mode: tests that finished before a hanging one keep their verdicts",
        ),
        Case(
            "shared_stop_mid_test",
            _ADD + "import time\ndef nap():\n    time.sleep(60)\n    return 1\n",
            ("assert add(1, 2) == 4", "assert nap() == 1", "assert add(2, 2) == 4"),
            (F, S, S),
            mode="shared",
            stop_on_failure=True,
            limits=replace(FAST, timeout_s=40.0, wall_timeout_s=40.0),
            verify=_verify_quick(20.0),
            why="stop_on_failure ends the test already running after a failure, not only the next ones",
        ),
        Case(
            "job_budget",
            "import time\ndef nap():\n    time.sleep(60)\n    return 1\n",
            tuple("assert nap() == 1" for _ in range(6)),
            (T,) * 6,
            limits=replace(HANG, job_timeout_s=2.0),
            verify=_verify_job_budget,
            why="job_timeout_s bounds a job whose every test hangs",
        ),
        Case(
            "invalid_utf8_output",
            _src(
                """
                import os
                def f():
                    os.write(1, b"\\xff\\xfe\\x80ok\\n")
                    os.write(2, b"\\xc3\\x28\\n")
                    return 1
                """
            ),
            ("assert f() == 1",),
            (P,),
            why="bytes that are not UTF-8 on stdout/stderr do not break the verdict",
        ),
        Case(
            "recursion_error",
            "def r(n):\n    return r(n + 1) + 1\n",
            ("assert r(0) == 1",),
            (E,),
        ),
    ]


def _hostile() -> list[Case]:
    cases = [
        # -------------------------------------------------- forging a batch of calls
        Case(
            "call_batch_forged",
            _src(
                """
                import os, signal, sys
                class Yes:
                    def __eq__(self, other):
                        return True
                def liar(x):
                    return Yes()
                def early_exit(x):
                    if x == 1:
                        os._exit(0)
                    return x
                def forger(x):
                    for fd in range(3, 64):
                        try:
                            os.write(fd, b'["c",1,1]\\n["c",2,2]\\n["d"]\\n')
                        except OSError:
                            pass
                    return x
                def no_timer(x):
                    signal.signal(signal.SIGALRM, signal.SIG_IGN)
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    while x == 1:
                        pass
                    return x
                def exits(x):
                    sys.exit(0)
                def double(x):
                    return 2 * x
                """
            ),
            (
                CallBatchTest("liar", [(0,)], [0]),
                CallBatchTest("early_exit", [(0,), (1,), (2,)], [0, 1, 2]),
                CallBatchTest("forger", [(0,), (1,), (2,)], [0, 1, 2]),
                CallBatchTest("no_timer", [(0,), (1,)], [0, 1], call_timeout_s=0.2),
                CallBatchTest("exits", [(0,)], [0]),
                CallBatchTest("double", [(1,)], [2]),
            ),
            (F, C, {F, C}, T, C, P),
            mode="shared",
            limits=HANG,
            hostile=True,
            why="a batch passes only when every call's value was judged outside, in order",
        ),
        # -------------------------------------------------- exiting and dying
        Case(
            "exit_in_test",
            _src(
                """
                import sys
                def f():
                    sys.exit(0)
                def g():
                    exit()
                def h():
                    raise SystemExit(0)
                """
            )
            + _ADD,
            ("assert f() == 1", "assert g() == 1", "assert h() == 1", "assert add(1, 2) == 3"),
            (C, C, C, P),
            hostile=True,
            why="a test that exits with status 0 has not passed",
        ),
        Case(
            "exit_at_load",
            "import sys\ndef f():\n    return 1\nsys.exit(0)\n",
            ("assert f() == 1", "assert f() == 1"),
            (C, C),
            hostile=True,
        ),
        Case(
            "os_exit_in_test",
            _ADD + "import os\ndef f():\n    os._exit(0)\ndef g():\n    os._exit(1)\n",
            ("assert f() == 1", "assert g() == 1", "assert add(1, 2) == 3"),
            (C, C, P),
            hostile=True,
        ),
        Case(
            "os_exit_at_load",
            "import os\ndef f():\n    return 1\nos._exit(0)\n",
            ("assert f() == 1", "assert f() == 1"),
            (C, C),
            hostile=True,
        ),
        Case(
            "atexit_exit",
            _src(
                """
                import atexit, os, sys
                atexit.register(os._exit, 0)
                def f():
                    atexit.register(os._exit, 0)
                    return 0
                def g():
                    sys.exit(0)
                """
            ),
            ("assert f() == 1", "assert g() == 1"),
            (F, C),
            hostile=True,
        ),
        Case(
            "kill_self",
            _ADD + "import os, signal\ndef k(sig):\n    os.kill(os.getpid(), sig)\n    return 1\n",
            (
                "assert k(9) == 1",
                "assert k(15) == 1",
                "import signal\nassert k(signal.SIGSEGV) == 1",
                "assert add(1, 2) == 3",
            ),
            (C, C, C, P),
            hostile=True,
        ),
        Case(
            "kill_parent",
            _ADD + "import os\ndef f():\n    os.kill(os.getppid(), 9)\n    return 1\n",
            ("assert f() == 1", "assert add(1, 2) == 3"),
            (C, P),
            hostile=True,
            why="the test kills the process that loaded the program; the next test gets a new one",
        ),
        Case(
            "stop_self_and_parent",
            _ADD
            + "import os, signal\ndef stop(pid):\n    os.kill(pid, signal.SIGSTOP)\n    return 1\n",
            (
                "import os\nassert stop(os.getpid()) == 1",
                "import os\nassert stop(os.getppid()) == 1",
                "assert add(1, 2) == 3",
            ),
            ({T, C}, {T, C}, P),
            limits=HANG,
            hostile=True,
        ),
        Case(
            "killpg",
            _ADD + "import os, signal\ndef f(sig):\n    os.killpg(0, sig)\n    return 1\n",
            ("assert f(9) == 1", "import signal\nassert f(signal.SIGTERM) == 1", "assert add(1, 2) == 3"),
            (C, C, P),
            hostile=True,
            why="signals to the test's process group must not reach the sandbox's server",
        ),
        Case(
            "kill_init",
            _src(
                """
                import os, signal
                def f():
                    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGSTOP):
                        try:
                            os.kill(1, sig)
                        except OSError:
                            pass
                    return 0
                """
            ),
            ("assert f() == 1", "assert f() == 1"),
            (F, F),
            requires={"pid_isolation"},
            hostile=True,
            why="pid 1 is the sandbox's server: it ignores every signal from inside",
        ),
        Case(
            "kill_everything",
            _ADD + "import os\ndef f():\n    os.kill(-1, 9)\n    return 1\n",
            ("assert f() == 1", "assert add(1, 2) == 3"),
            (C, P),
            requires={"pid_isolation"},
            hostile=True,
        ),
        Case(
            "kill_ancestors",
            _src(
                """
                import os
                def ancestors():
                    pid, out = os.getpid(), []
                    while pid > 1:
                        with open(f"/proc/{pid}/stat") as f:
                            stat = f.read()
                        pid = int(stat[stat.rfind(")") + 2 :].split()[1])
                        out.append(pid)
                    return out
                def f():
                    for pid in reversed(ancestors()):
                        try:
                            os.kill(pid, 9)
                        except OSError:
                            pass
                    return 1
                """
            )
            + _ADD,
            ("assert f() == 1", "assert add(1, 2) == 3"),
            (C, P),
            requires={"pid_isolation"},
            hostile=True,
        ),
        Case(
            "kill_server_at_load",
            "import os\nos.kill(os.getppid(), 9)\ndef f():\n    return 0\n",
            ("assert f() == 1",),
            (F,),
            requires={"pid_isolation"},
            hostile=True,
        ),
        # ------------------------------------------------ resource exhaustion
        Case(
            "fork_bomb",
            "import os\ndef bomb():\n    while True:\n        os.fork()\n",
            ("assert bomb() == 1",),
            ({E, C, T, M},),
            limits=HANG,
            hostile=True,
        ),
        Case(
            "fork_bomb_resilient",
            _src(
                """
                import os
                def bomb():
                    while True:
                        try:
                            os.fork()
                        except OSError:
                            pass
                """
            ),
            ("assert bomb() == 1",),
            ({E, C, T, M},),
            limits=HANG,
            hostile=True,
        ),
        Case(
            "thread_bomb",
            _src(
                """
                import threading, time
                def bomb():
                    while True:
                        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
                """
            ),
            ("assert bomb() == 1",),
            ({E, C, T, M},),
            limits=HANG,
            hostile=True,
        ),
        Case(
            "file_size_limit",
            _src(
                """
                def big():
                    with open("big.bin", "wb") as f:
                        for _ in range(64):
                            f.write(b"x" * (1 << 20))
                    return 1
                """
            ),
            ("assert big() == 1",),
            ({E, C},),
            hostile=True,
            why="one file may not exceed max_file_mb",
        ),
        Case(
            "disk_fill",
            _src(
                """
                import os
                def fill(where):
                    block = b"x" * (1 << 20)
                    for i in range(10_000):
                        with open(os.path.join(where, f"fill{i}.bin"), "wb") as f:
                            for _ in range(4):
                                f.write(block)
                    return 1
                def fresh():
                    with open("after.txt", "w") as f:
                        f.write("ok")
                    return [n for n in os.listdir(".") if n.startswith("fill")]
                """
            ),
            ("assert fill('.') == 1", "assert fill('/tmp') == 1", "assert fresh() == []"),
            ({E, C, M}, {E, C, M}, P),
            requires={"fs_isolation"},
            hostile=True,
            why="the scratch directory is size-capped and wiped after the test",
        ),
        Case(
            "scratch_sabotage",
            _src(
                """
                import os
                def sabotage():
                    os.makedirs("locked/deeper")
                    for path in ("locked/deeper/f", "locked/g"):
                        with open(path, "w") as f:
                            f.write("x")
                    os.symlink("/", "locked/root-link")
                    os.chmod("locked/deeper", 0)
                    os.chmod("locked", 0o500)
                    os.chmod(".", 0o500)
                    return "never"
                def fresh():
                    with open("new.txt", "w") as f:
                        f.write("ok")
                    return sorted(os.listdir("."))
                """
            ),
            (CallTest("sabotage", (), "done"), CallTest("fresh", (), ["new.txt"])),
            (F, P),
            hostile=True,
            why="a test that locks its scratch directory does not break the next test",
        ),
        Case(
            "fd_exhaustion",
            "def f():\n    files = []\n    while True:\n        files.append(open('/dev/null'))\n",
            ("assert f() == 1",),
            (E,),
            hostile=True,
        ),
        Case(
            "output_flood",
            _src(
                """
                import os, sys
                def flood():
                    chunk = "y" * (1 << 20)
                    for _ in range(50):
                        sys.stdout.write(chunk)
                        os.write(2, chunk.encode())
                    return 0
                """
            ),
            ("assert flood() == 1",),
            (F,),
            verify=_all(_verify_output_capped, _verify_quick(15.0)),
            hostile=True,
            why="1e8 bytes of output neither block the test nor bloat the host",
        ),
        Case(
            "output_flood_io",
            "import sys\nfor _ in range(100):\n    sys.stdout.write('3\\n' * (1 << 19))\n",
            (IOTest("", "3\n"),),
            (F,),
            verify=_all(_verify_output_capped, _verify_quick(15.0)),
            hostile=True,
        ),
        Case(
            "result_channel_flood",
            _SPRAY + "def f():\n    for _ in range(20):\n        _spray(b'[' * (1 << 20))\n    return 1\n",
            ("assert f() == 1",),
            ({E, C, T},),
            hostile=True,
            why="garbage on the result channel is the program's doing: never passed, never sandbox_error",
        ),
        Case(
            "result_channel_line_flood",
            _SPRAY + "def f():\n    for _ in range(8):\n        _spray(b'[1]\\n' * (1 << 16))\n    return 1\n",
            ("assert f() == 1",),
            ({E, C, T},),
            verify=_verify_quick(FAST.effective_wall_timeout_s + 5.0),
            hostile=True,
            why="2 MB of tiny lines on the result channel are dealt with in bounded time",
        ),
        # ------------------------------------------------------ forged results
        Case(
            "forged_done_frame",
            _SPRAY + "def f(x):\n    _spray(b'\\n[\"d\"]\\n')\n    os._exit(0)\n",
            ("assert f(1) == 3", CallTest("f", (1,), 3)),
            (C, C),
            hostile=True,
            why="a test that wrote 'finished' and exited before any check was judged has not passed",
        ),
        Case(
            "forged_check_then_exit",
            _SPRAY + "def f(x):\n    _spray(b'\\n[\"c\",0,{\"$t\":[3]}]\\n[\"d\"]\\n')\n    os._exit(0)\n",
            ("assert f(1) == 3\nassert f(2) == 5",),
            (NOT_PASSED,),
            hostile=True,
            why="forged check frames cannot skip the test's later asserts",
        ),
        Case(
            "forged_exit_frames_then_hang",
            _SPRAY
            + _src(
                """
                import time
                def f(x):
                    frames = b'\\n["c",0,{"$t":[3]}]\\n["d"]\\n'
                    for k in range(8):
                        frames += b'\\n["x",%d,0,0.0]\\n\\n["t",%d]\\n' % (k, k)
                    _spray(frames)
                    time.sleep(60)
                """
            ),
            ("assert f(1) == 4", "assert f(1) == 4"),
            (NOT_PASSED, NOT_PASSED),
            limits=HANG,
            hostile=True,
            why="only the sandbox itself may say that a test process exited",
        ),
        Case(
            "forged_frames_shared",
            _SPRAY
            + _src(
                """
                import time
                def f(x):
                    frames = b'\\n["d"]\\n'
                    for k in range(4):
                        frames += b'\\n["t",%d]\\n' % k
                    _spray(frames)
                    time.sleep(60)
                """
            ),
            ("assert f(1) == 3", "assert f(2) == 4"),
            (NOT_PASSED, NOT_PASSED),
            mode="shared",
            limits=HANG,
            hostile=True,
        ),
        Case(
            "forged_frames_from_loader_thread",
            _SPRAY
            + _src(
                """
                import sys, threading, time
                _MAIN = threading.main_thread().ident
                def _current():
                    # The loading process's main thread waits for test k's process to exit;
                    # its frame holds k and the result channel: forge exactly that test's end.
                    frame = sys._current_frames().get(_MAIN)
                    while frame is not None:
                        names = frame.f_locals
                        if isinstance(names.get("k"), int) and isinstance(names.get("res"), int):
                            return names["k"], names["res"]
                        frame = frame.f_back
                    return None, None
                def _forge():
                    forged = set()
                    while True:
                        k, res = _current()
                        if k is not None and k not in forged:
                            forged.add(k)
                            try:
                                os.write(res, b'\\n["d"]\\n\\n["x",%d,0,0.0]\\n' % k)
                            except OSError:
                                pass
                        elif k is None:
                            _spray(b'\\n["d"]\\n\\n["x",0,0,0.0]\\n')
                        time.sleep(0.005)
                threading.Thread(target=_forge, daemon=True).start()
                def f(x):
                    time.sleep(0.3)
                    return 0
                """
            ),
            ("assert f(1) == 3", "assert f(2) == 4"),
            (NOT_PASSED, NOT_PASSED),
            hostile=True,
            why="a thread the program left in the loading process forges 'test k exited' during every test",
        ),
        Case(
            "patched_runtime",
            _src(
                """
                import sys
                _rt = sys.modules.get("__main__")
                if _rt is not None and hasattr(_rt, "_run_test") and hasattr(_rt, "_frame"):
                    _rt._run_test = lambda test, g, code, fd, *a: _rt._frame(fd, ["d"])
                def f(x):
                    return 0
                """
            ),
            (
                "assert f(1) == 3",
                CallTest("f", (1,), 3),
                UnittestTest(_src(_UNITTEST_FAIL).replace("add(1, 2), 4", "f(1), 3")),
            ),
            (NOT_PASSED, NOT_PASSED, NOT_PASSED),
            hostile=True,
            why="the program, while loading, rewrites the sandbox runtime that runs its tests",
        ),
        Case(
            "patched_unittest_runner",
            _ADD
            + _src(
                """
                import unittest
                def _run(self, result=None):
                    result.testsRun += 1
                    return result
                unittest.TestCase.run = _run
                unittest.TestCase.__call__ = _run
                """
            ),
            (UnittestTest(_UNITTEST_FAIL),),
            (NOT_PASSED,),
            hostile=True,
        ),
        Case(
            "patched_os_at_load",
            "import os\nos._exit = lambda *a: None\nos.fork = lambda: 0\ndef f(x):\n    return 0\n",
            ("assert f(1) == 3", "assert f(2) == 4"),
            (NOT_PASSED, NOT_PASSED),
            hostile=True,
        ),
        Case(
            "reload_runtime",
            _src(
                """
                import importlib, os, sys
                def f():
                    os._exit = None
                    importlib.reload(os)
                    os._exit(0)
                def g():
                    importlib.reload(sys.modules["__main__"])
                    return 0
                """
            ),
            ("assert f() == 1", "assert g() == 1"),
            (C, NOT_PASSED),
            hostile=True,
        ),
        Case(
            "expected_value_hunt",
            _src(
                """
                import gc, re, sys
                def _strings(obj, depth=0):
                    if isinstance(obj, str):
                        yield obj
                    elif depth < 4 and isinstance(obj, dict):
                        for v in list(obj.values()):
                            yield from _strings(v, depth + 1)
                    elif depth < 4 and isinstance(obj, (list, tuple)):
                        for v in obj:
                            yield from _strings(v, depth + 1)
                def f(x):
                    seen = []
                    frame = sys._getframe(1)
                    while frame is not None:
                        seen += [c for c in frame.f_code.co_consts if isinstance(c, int) and c != x]
                        for s in _strings(dict(frame.f_locals)):
                            seen += [int(n) for n in re.findall(r"==\\s*(-?\\d+)", s)]
                        frame = frame.f_back
                    for obj in gc.get_objects():
                        if isinstance(obj, dict) and "code" in obj:
                            for s in _strings(obj):
                                seen += [int(n) for n in re.findall(r"==\\s*(-?\\d+)", s)]
                    big = [n for n in seen if abs(n) > 1000]
                    return max(big, default=0)
                if __name__ == "__main__":
                    print(f(1))
                """
            ),
            ("assert f(1) == 987654321", CallTest("f", (1,), 987654321), IOTest("", "987654321\n")),
            (F, F, F),
            hostile=True,
            why="strict mode never sends the expected value into the sandbox, so the program cannot find it",
        ),
        Case(
            "fake_markers",
            _src(
                """
                import sys
                def f():
                    print("PASSED")
                    print("All tests passed")
                    print('{"status": "passed", "passed": true}')
                    print("OK", file=sys.stderr)
                    return 0
                if __name__ == "__main__":
                    f()
                """
            ),
            ("assert f() == 1", IOTest("", "3\n")),
            (F, F),
            hostile=True,
        ),
        # ------------------------------------------------ lying values (strict)
        Case(
            "always_equal",
            _src(
                """
                class AlwaysEqual:
                    def __eq__(self, other):
                        return True
                    def __ne__(self, other):
                        return False
                    def __bool__(self):
                        return True
                    __hash__ = object.__hash__
                def f():
                    return AlwaysEqual()
                """
            ),
            ("assert f() == 3", "assert f() == [1, 2]", "assert f()", CallTest("f", (), 3)),
            (F, F, F, F),
            hostile=True,
            why="strict mode judges values outside the sandbox: a lying __eq__ is not a value",
        ),
        Case(
            "lying_subclasses",
            _src(
                """
                class Int(int):
                    def __eq__(self, other):
                        return True
                    __hash__ = int.__hash__
                class Str(str):
                    def __eq__(self, other):
                        return True
                    __hash__ = str.__hash__
                class List(list):
                    def __eq__(self, other):
                        return True
                def i():
                    return Int(5)
                def s():
                    return Str("no")
                def l():
                    return List([0])
                """
            ),
            ("assert i() == 3", "assert s() == 'yes'", "assert l() == [1, 2]", CallTest("i", (), 3)),
            (F, F, F, F),
            hostile=True,
        ),
        Case(
            "patched_builtins",
            _src(
                """
                import builtins, math, operator
                builtins.sorted = lambda *a, **k: [1, 2, 3]
                builtins.all = lambda *a: True
                builtins.abs = lambda x: 5
                math.isclose = lambda *a, **k: True
                operator.eq = lambda a, b: True
                def f():
                    return [3, 1]
                def g():
                    return -4.0
                def z():
                    return [0]
                """
            ),
            (
                "assert sorted(f()) == [1, 2, 3]",
                "assert sorted(f())[1] == 2",
                "assert all(z())",
                "assert abs(g()) == 5",
                "import math\nassert math.isclose(g(), 1.0)",
                "import operator\nassert operator.eq(f(), 7)",
            ),
            (BLOCKED,) * 6,
            hostile=True,
            why="builtins the program patched while loading must not decide a comparison",
        ),
        Case(
            "patched_core_builtins",
            _src(
                """
                import builtins
                builtins.len = lambda obj: 3
                builtins.isinstance = lambda *a: True
                builtins.type = lambda *a: int
                def f():
                    return [3, 1]
                """
            ),
            ("assert len(f()) == 3", "assert isinstance(f(), dict)", CallTest("f", (), 3)),
            (NOT_PASSED,) * 3,
            hostile=True,
            why="builtins the sandbox runtime itself relies on, patched while loading",
        ),
        Case(
            "patched_unittest_asserts",
            _ADD
            + _src(
                """
                import unittest
                unittest.TestCase.assertEqual = lambda *a, **k: None
                unittest.TestCase.assertTrue = lambda *a, **k: None
                """
            ),
            (
                UnittestTest(_UNITTEST_FAIL),
                UnittestTest(_UNITTEST_FAIL.replace("assertEqual(add(1, 2), 4)", "assertTrue(add(1, 1) == 3)")),
            ),
            (BLOCKED, BLOCKED),
            hostile=True,
        ),
        Case(
            "bad_dunder_methods",
            _src(
                """
                import os
                class Bad:
                    def __repr__(self):
                        raise RuntimeError("no repr")
                    def __eq__(self, other):
                        raise RuntimeError("no eq")
                    def __del__(self):
                        os._exit(0)
                    __hash__ = object.__hash__
                class BadError(Exception):
                    def __str__(self):
                        raise RuntimeError("no str")
                class ExitingError(Exception):
                    def __str__(self):
                        os._exit(0)
                def f():
                    return Bad()
                def g():
                    raise BadError()
                def h():
                    raise ExitingError()
                """
            ),
            ("assert f() == 3", "assert g() == 3", "assert h() == 3"),
            (NOT_PASSED, {E, C}, {E, C}),
            hostile=True,
        ),
        Case(
            "huge_recursion",
            _src(
                """
                import sys
                sys.setrecursionlimit(10**6)
                def deep(n=0):
                    return sum(map(deep, [n + 1]))  # every level goes through C: the C stack overflows
                """
            ),
            ("assert deep() == 1",),
            ({C, E, M},),
            hostile=True,
            why="a C stack overflow kills the test, not the sandbox",
        ),
        Case(
            "close_all_fds",
            "import os\ndef f():\n    os.closerange(0, 256)\n    return 1\n",
            ("assert f() == 1",),
            ({C, E},),
            hostile=True,
        ),
        Case(
            "daemon_orphan",
            _src(
                """
                import os, sys, time
                MARKER = "@MARKER@"
                def orphan_alive():
                    for p in os.listdir("/proc"):
                        if p.isdigit():
                            try:
                                with open(f"/proc/{p}/cmdline", "rb") as f:
                                    if MARKER.encode() in f.read():
                                        return True
                            except OSError:
                                pass
                    return False
                def spawn():
                    pid = os.fork()
                    if pid == 0:
                        try:
                            os.setsid()
                            if os.fork() == 0:
                                code = "import signal as s, time\\ns.signal(15, s.SIG_IGN)\\nwhile 1: time.sleep(1)"
                                os.execv(sys.executable, [sys.executable, "-c", code, MARKER])
                        finally:
                            os._exit(0)
                    os.waitpid(pid, 0)
                    for _ in range(300):
                        if orphan_alive():
                            return "alive"
                        time.sleep(0.01)
                    return "dead"
                """
            ),
            (CallTest("spawn", (), "never"), "assert orphan_alive() == True"),
            (F, F),
            host=_marker,
            verify=_verify_no_orphan,
            hostile=True,
            why="a double-forked, setsid'd daemon does not outlive its test",
        ),
        # ------------------------------------------------------- host secrets
        Case(
            "env_secret",
            _src(
                """
                import os
                SECRET = "@SECRET@"
                def leaked():
                    if any(SECRET in v for v in os.environ.values()):
                        return True
                    with open("/proc/self/environ", "rb") as f:
                        return SECRET.encode() in f.read()
                """
            ),
            ("assert leaked() == True",),
            (F,),
            host=_secret_value,
            hostile=True,
            why="the sandbox starts from an empty environment",
        ),
        Case(
            "host_environ_via_proc",
            _src(
                """
                import os
                SECRET = "@SECRET@"
                def leaked():
                    for p in os.listdir("/proc"):
                        if p.isdigit():
                            try:
                                with open(f"/proc/{p}/environ", "rb") as f:
                                    if SECRET.encode() in f.read():
                                        return True
                            except OSError:
                                pass
                    return False
                """
            ),
            ("assert leaked() == True",),
            (F,),
            host=_secret_value,
            requires={"pid_isolation"},
            hostile=True,
        ),
        Case(
            "host_files",
            _src(
                """
                import os, sys
                SECRET = "@SECRET@"
                def readable(path):
                    try:
                        with open(path, "rb") as f:
                            return f.read(1 << 16)
                    except OSError:
                        return None
                def leaked():
                    data = readable("@SECRET_PATH@")
                    if data is not None and SECRET.encode() in data:
                        return "secret file"
                    for path in ("/etc/shadow", "/etc/gshadow", "/root/.bash_history", "/root/.ssh/id_rsa"):
                        if readable(path):
                            return path
                    # Host directories may show only the path down to the mounted interpreter.
                    mounted = {sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path}
                    for d in ("/root", "/home", os.path.dirname("@SECRET_PATH@")):
                        try:
                            entries = os.listdir(d)
                        except OSError:
                            continue
                        for e in entries:
                            p = os.path.join(d, e)
                            if not any(m == p or m.startswith(p + "/") for m in mounted):
                                return p
                    return False
                """
            ),
            ("assert leaked() == False", "assert leaked()"),
            (P, F),
            host=_secret_file,
            requires={"fs_isolation"},
            hostile=True,
            why="no host home, secrets or temporary files are mounted",
        ),
        Case(
            "proc_root_escape",
            _src(
                """
                import os
                SECRET = "@SECRET@"
                def leaked():
                    for root in ("/proc/self/root", "/proc/1/root", "/proc/1/cwd", "/proc/self/cwd/.."):
                        for path in ("@SECRET_PATH@", "/etc/shadow"):
                            try:
                                with open(root + path, "rb") as f:
                                    if f.read(1 << 16):
                                        return root + path
                            except OSError:
                                pass
                    return False
                """
            ),
            ("assert leaked() == False", "assert leaked()"),
            (P, F),
            host=_secret_file,
            requires={"fs_isolation"},
            hostile=True,
        ),
        Case(
            "state_outside_scratch",
            _src(
                """
                import os
                PLACES = ("/", "/etc", "/dev", "/dev/shm", "/root", "/opt", "/usr", "/var/tmp", "/run", "/home")
                NAME = "acesandbox-left-behind"
                def plant():
                    made = []
                    for d in PLACES:
                        try:
                            with open(os.path.join(d, NAME), "w") as f:
                                f.write("from an earlier test")
                            made.append(d)
                        except OSError:
                            pass
                    return made
                def left_behind():
                    return [d for d in PLACES if os.path.exists(os.path.join(d, NAME))]
                """
            ),
            (CallTest("plant", (), "never"), "assert left_behind() == []"),
            (F, P),
            requires={"fs_isolation"},
            hostile=True,
            why="nothing a test writes anywhere survives into the next test (or the next job)",
        ),
        Case(
            "write_outside_scratch",
            _src(
                """
                import os, sys
                def writable():
                    runtime = getattr(sys.modules.get("__main__"), "__file__", None) or "/usr/bin/python3"
                    for path in (runtime, "/usr/acesandbox-probe", "/etc/acesandbox-probe", "/acesandbox-probe",
                                 os.path.join(os.path.dirname(runtime), "probe.py"), os.__file__):
                        try:
                            with open(path, "a"):
                                return path
                        except OSError:
                            pass
                    return False
                """
            ),
            ("assert writable() == False", "assert writable()"),
            (P, F),
            requires={"fs_isolation"},
            hostile=True,
            why="everything but the scratch directory is read-only, the sandbox's own code included",
        ),
        Case(
            "nested_user_namespace",
            _src(
                """
                import ctypes, os
                def unshare_works():
                    libc = ctypes.CDLL(None, use_errno=True)
                    pid = os.fork()
                    if pid == 0:
                        os._exit(0 if libc.unshare(0x10000000) == 0 else 1)  # CLONE_NEWUSER
                    return os.waitpid(pid, 0)[1] == 0
                """
            ),
            ("assert unshare_works() == True",),
            (F,),
            requires={"no_nested_namespaces"},
            hostile=True,
        ),
        Case(
            "ptrace_server",
            _src(
                """
                import ctypes, os
                def attack():
                    for pid in (1, os.getppid()):
                        try:
                            with open(f"/proc/{pid}/mem", "rb") as f:
                                return f"read /proc/{pid}/mem"
                        except OSError:
                            pass
                        libc = ctypes.CDLL(None, use_errno=True)
                        if libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
                            return f"attached to {pid}"
                    return False
                """
            ),
            ("assert attack()",),
            (F,),
            requires={"pid_isolation"},
            hostile=True,
        ),
        # -------------------------------------------------------------- network
        Case(
            "network_host_loopback",
            _src(
                """
                import socket
                def connect():
                    try:
                        socket.create_connection(("127.0.0.1", @PORT@), timeout=0.5).close()
                        return True
                    except OSError:
                        return False
                """
            ),
            ("assert connect() == True",),
            (F,),
            host=_tcp_listener,
            verify=_verify_no_connection,
            requires={"net_isolation"},
            hostile=True,
        ),
        Case(
            "network_external",
            _src(
                """
                import socket
                def dns():
                    try:
                        return bool(socket.getaddrinfo("example.com", 80))
                    except OSError:
                        return False
                def connect():
                    try:
                        socket.create_connection(("1.1.1.1", 53), timeout=0.5).close()
                        return True
                    except OSError:
                        return False
                """
            ),
            ("assert dns() == True", "assert connect() == True"),
            (F, F),
            requires={"net_isolation"},
            hostile=True,
        ),
        Case(
            "compat_mode_exit",
            "import sys, os\ndef f():\n    sys.exit(0)\ndef g():\n    os._exit(0)\n",
            ("f()", "g()"),
            (C, C),
            compare="compat",
            hostile=True,
            why="compat mode lets the sandbox judge, but an exit is still not a pass",
        ),
    ]
    return cases


CASES: tuple[Case, ...] = tuple(_behaviour() + _hostile())

# The job run after every case: the sandbox must still work normally.
_CANARY = Job(
    program=_ADD + "if __name__ == '__main__':\n    a, b = map(int, input().split())\n    print(add(a, b))\n",
    tests=(AssertTest("assert add(1, 2) == 3"), IOTest("2 2\n", "4\n")),
    limits=FAST,
)


# ------------------------------------------------------------------ running


def _substitute(value: Any, ctx: Mapping[str, Any]) -> Any:
    subs = {k: v for k, v in ctx.items() if k.startswith("@") and isinstance(v, str)}
    if not subs:
        return value

    def sub(text: str) -> str:
        for key, v in subs.items():
            text = text.replace(key, v)
        return text

    if isinstance(value, str):
        return sub(value)
    if isinstance(value, AssertTest):
        return AssertTest(sub(value.source))
    if isinstance(value, UnittestTest):
        return UnittestTest(sub(value.source))
    if isinstance(value, IOTest):
        return replace(value, stdin=sub(value.stdin))
    return value


def _describe(e: Expect) -> str:
    if not isinstance(e, Status):
        return "one of {" + ", ".join(sorted(s.value for s in e)) + "}"
    return e.value


def _check_statuses(case: Case, report: Report) -> list[str]:
    problems = []
    if len(report.outcomes) != len(case.tests):
        return [f"{len(report.outcomes)} outcomes for {len(case.tests)} tests"]
    for i, (o, e) in enumerate(zip(report.outcomes, case.expect, strict=True)):
        if o.status in _allowed(e):
            continue
        what = "the attack worked: " if case.hostile and o.status is P else ""
        if o.status is Status.SANDBOX_ERROR:
            what = "the program caused a sandbox error: "
        problems.append(f"test {i}: {what}expected {_describe(e)}, got {o.status.value} ({o.message[:300]!r})")
    return problems


def run_case(case: Case, executor: Any) -> list[str]:
    """Run one case on ``executor`` and return the problems found (empty: it conforms).

    Raises ValueError for a case the executor's backend is not isolated enough to run
    safely (see :func:`applicable`).
    """
    missing = case.requires - capabilities(executor.backend)
    if missing:
        raise ValueError(f"case {case.name} needs {sorted(missing)}, which backend {executor.backend.name!r} lacks")
    host = case.host() if case.host is not None else contextlib.nullcontext({})
    problems: list[str] = []
    with host as fixture:
        ctx = dict(fixture, limits=case.limits)
        job = Job(
            program=_substitute(case.program, ctx),
            tests=tuple(_substitute(as_test(t), ctx) for t in case.tests),
            limits=case.limits,
            mode=case.mode,  # type: ignore[arg-type]
            compare=case.compare,  # type: ignore[arg-type]
            stop_on_failure=case.stop_on_failure,
            job_id=f"conformance:{case.name}",
        )
        t0 = time.monotonic()
        try:
            report = executor.run(job)
        except Exception as exc:  # noqa: BLE001 - the executor must turn failures into outcomes
            return [f"executor.run raised {type(exc).__name__}: {exc}"]
        elapsed = time.monotonic() - t0
        problems += _check_statuses(case, report)
        if case.verify is not None:
            problems += case.verify(report, elapsed, ctx)
    problems += _survives(executor)
    return problems


def _survives(executor: Any) -> list[str]:
    try:
        report = executor.run(_CANARY)
    except Exception as exc:  # noqa: BLE001
        return [f"the sandbox did not survive: a normal job raised {type(exc).__name__}: {exc}"]
    if report.statuses != (P, P):
        details = "; ".join(f"{o.status.value}: {o.message[:200]!r}" for o in report.outcomes)
        return [f"the sandbox did not survive: a normal job then got {details}"]
    return []


@contextlib.contextmanager
def conformance_executor(backend: Any, **options: Any) -> Iterator[Any]:
    """An Executor (one worker) set up as the cases assume, with the host secret planted.

    The secret goes into this process's environment while the executor lives, so every
    sandbox it starts (restarts included) could inherit it if the backend let it through.
    """
    from .executor import Executor

    previous = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = _SECRET_VALUE
    try:
        with Executor(backend, workers=1, **dict(EXECUTOR_OPTIONS, **options)) as ex:
            yield ex
    finally:
        if previous is None:
            os.environ.pop(SECRET_ENV, None)
        else:
            os.environ[SECRET_ENV] = previous


def run_conformance(backend: Any, cases: Sequence[Case] | None = None) -> dict[str, Any]:
    """Run every applicable case on one fresh executor of ``backend`` and summarise.

    Returns ``{"backend", "capabilities", "conforms", "passed": [names], "failed":
    {name: [problems]}, "not_applicable": {name: [missing capabilities]}, "duration_s"}``.
    """
    cases = CASES if cases is None else tuple(cases)
    t0 = time.monotonic()
    passed: list[str] = []
    failed: dict[str, list[str]] = {}
    skipped: dict[str, list[str]] = {}
    with conformance_executor(backend) as ex:
        caps = capabilities(ex.backend)
        for case in cases:
            missing = case.requires - caps
            if missing:
                skipped[case.name] = sorted(missing)
                continue
            problems = run_case(case, ex)
            if problems:
                failed[case.name] = problems
            else:
                passed.append(case.name)
        name = ex.backend.name
    return {
        "backend": name,
        "capabilities": sorted(caps),
        "conforms": not failed,
        "passed": passed,
        "failed": failed,
        "not_applicable": skipped,
        "duration_s": round(time.monotonic() - t0, 2),
    }
