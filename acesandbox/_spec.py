"""Immutable values: sandbox settings, job limits, test kinds and jobs.

Units live in field names. Defaults are the secure ones. Every value here is plain
data that round-trips through JSON (``to_dict`` / ``from_dict``), so a remote backend
(Docker, Ray) needs no API change.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, Mapping, Sequence, Union

from .errors import InvalidJobError

__all__ = [
    "AssertTest",
    "CallBatchTest",
    "CallTest",
    "IOTest",
    "Job",
    "Limits",
    "SandboxConfig",
    "Test",
    "UnittestTest",
    "as_test",
]

Mode = Literal["isolated", "shared"]
CompareMode = Literal["strict", "compat"]


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidJobError(f"field {name!r} must be true or false, got {value!r}")
    return value


_MAX_SECONDS = 7 * 86400
"""The longest time limit: a week. Past about 24 days (2**31 ms) the sandbox's and the
host's waits overflow, and a correct program would end ``crashed``."""


def _positive(name: str, value: float | int | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InvalidJobError(f"Limits.{name} must be a positive number, got {value!r}")
    if value > _MAX_SECONDS:
        raise InvalidJobError(f"Limits.{name} must be at most {_MAX_SECONDS} seconds (a week), got {value!r}")


def _help(text: str) -> dict[str, str]:
    return {"help": text}


def _positive_int(owner: str, name: str, value: Any, fix: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidJobError(f"{owner}.{name} must be a positive integer, got {value!r}{fix}")


@dataclass(frozen=True)
class Limits:
    """Per-job limits, enforced from outside the sandbox.

    ``timeout_s`` bounds each test's CPU time; a test may take up to ``wall_timeout_s``
    of wall time (default ``3 * timeout_s + 1``) so that a loaded machine does not turn
    a correct program into a timeout. ``job_timeout_s`` bounds a whole job (default
    ``max(10 * timeout_s, 30)``): once spent, the remaining tests are ``timeout``.
    Sandbox-wide caps (memory, processes, scratch) are :class:`SandboxConfig`'s.
    """

    timeout_s: float = field(default=5.0, metadata=_help("CPU-time limit of each test, in seconds"))
    wall_timeout_s: float | None = field(
        default=None, metadata=_help("wall-time limit of each test, in seconds (default: 3 * timeout_s + 1)")
    )
    job_timeout_s: float | None = field(
        default=None, metadata=_help("wall-time budget of a whole job, in seconds (default: max(10 * timeout_s, 30))")
    )
    max_file_mb: int = field(default=64, metadata=_help("largest file a test may write, in MiB"))
    max_open_files: int = field(default=256, metadata=_help("file descriptors a test may hold open"))
    output_bytes: int = field(default=64 * 1024, metadata=_help("stdout/stderr a test may write, in bytes"))
    test_source_bytes: int = field(
        default=128 * 1024,
        metadata=_help(
            "largest assert or unittest test source the host parses and plans, in UTF-8 bytes; "
            "a larger test is refused (invalid job), so no client-supplied test can stall the host"
        ),
    )
    test_nodes: int = field(
        default=10_000,
        metadata=_help(
            "most syntax-tree nodes the host plans for one assert or unittest test, the copies that "
            "unrolling and literal folding make included (about 35 us each); past it the test is "
            "refused, past it in copies they are not made"
        ),
    )

    def __post_init__(self) -> None:
        _positive("timeout_s", self.timeout_s)
        _positive("wall_timeout_s", self.wall_timeout_s, allow_none=True)
        _positive("job_timeout_s", self.job_timeout_s, allow_none=True)
        for name in ("max_file_mb", "max_open_files", "output_bytes", "test_source_bytes", "test_nodes"):
            _positive_int("Limits", name, getattr(self, name))
        if self.max_file_mb > 2**40:  # in bytes, past the rlimit's 2**63: the program could not even load
            raise InvalidJobError(f"Limits.max_file_mb must be at most {2**40} (1 EiB), got {self.max_file_mb}")
        if self.wall_timeout_s is not None and self.wall_timeout_s < self.timeout_s:
            raise InvalidJobError("Limits.wall_timeout_s must be >= timeout_s (it bounds wall time, timeout_s CPU time)")

    @property
    def effective_wall_timeout_s(self) -> float:
        """Wall-time bound of one test."""
        return self.wall_timeout_s if self.wall_timeout_s is not None else 3.0 * self.timeout_s + 1.0

    @property
    def effective_job_timeout_s(self) -> float:
        """Wall-time budget of a whole job."""
        return self.job_timeout_s if self.job_timeout_s is not None else max(10.0 * self.timeout_s, 30.0)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Limits":
        moved = sorted(set(data) & _SANDBOX_WIDE)
        if moved:
            raise InvalidJobError(
                f"Limits field(s) {moved} moved to SandboxConfig: they cap a whole sandbox, not one job; "
                f"set them as SandboxConfig({moved[0]}=...) (CLI: --{moved[0].replace('_', '-')})"
            )
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidJobError(f"unknown Limits field(s): {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)


_SANDBOX_WIDE = frozenset({"memory_mb", "max_processes", "scratch_mb"})


def _freeze(value: Any) -> Any:
    """A hashable stand-in for an option value (mappings and lists by content)."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return value


@dataclass(frozen=True)
class SandboxConfig:
    """Per-sandbox settings: which backend, how many sandboxes, and the caps of each.

    Every sandbox of an executor gets the same caps; a job's own limits are
    :class:`Limits`. ``options`` holds backend-specific settings (docker ``image``,
    ray ``address``, ...), read by the backend that is chosen.
    """

    backend: str | None = field(
        default=None,
        metadata=_help("isolation backend: namespace, process, docker, ray or fake (default: namespace; refuses, naming the fix, where it cannot run: never a silent fallback)"),
    )
    workers: int | None = field(default=None, metadata=_help("sandboxes run in parallel (default: one per CPU core)"))
    memory_mb: int = field(default=1024, metadata=_help("memory cap of each sandbox, all its processes together, in MiB (at least 64)"))
    max_processes: int = field(default=64, metadata=_help("processes and threads each sandbox may hold at once"))
    scratch_mb: int = field(
        default=256,
        metadata=_help(
            "size of each sandbox's writable scratch directory (a tmpfs), in MiB; the process backend's is a "
            "host directory that only max_file_mb bounds"
        ),
    )
    python: str | None = field(
        default=None, metadata=_help("interpreter the sandboxed programs run under (default: this one)")
    )
    preload: tuple[str, ...] = field(
        default=(), metadata=_help("modules each sandbox imports once, so tests that import them start fast")
    )
    options: Mapping[str, Any] = field(
        default_factory=dict, metadata=_help("backend-specific settings, e.g. docker image or ray address")
    )
    hash_seed: int | None = field(
        default=None,
        metadata=_help(
            "PYTHONHASHSEED of every sandbox, 0 to 4294967295, so str/bytes hashes (and set iteration order) "
            "agree across sandboxes, as in one forked evaluator process; default: random per sandbox"
        ),
    )

    def __post_init__(self) -> None:
        if self.hash_seed is not None and (
            type(self.hash_seed) is not int or not 0 <= self.hash_seed <= 4294967295
        ):
            raise InvalidJobError(f"SandboxConfig.hash_seed must be an int from 0 to 4294967295 or None, got {self.hash_seed!r}")
        if self.backend is not None and (not isinstance(self.backend, str) or not self.backend):
            raise InvalidJobError(
                f"SandboxConfig.backend must be a backend name such as 'namespace', or None for namespace (fail closed); got {self.backend!r}"
            )
        if self.workers is not None:
            _positive_int("SandboxConfig", "workers", self.workers, " (or None: one per CPU core)")
        for name in ("memory_mb", "max_processes", "scratch_mb"):
            _positive_int("SandboxConfig", name, getattr(self, name))
        if self.memory_mb < 64:
            raise InvalidJobError(
                f"SandboxConfig.memory_mb must be at least 64 (an interpreter needs it), got {self.memory_mb}"
            )
        if self.python is not None and (not isinstance(self.python, str) or not self.python):
            raise InvalidJobError(f"SandboxConfig.python must be a path to an interpreter or None, got {self.python!r}")
        if isinstance(self.preload, str) or not isinstance(self.preload, (tuple, list)):
            raise InvalidJobError(
                f"SandboxConfig.preload must be a list of module names, got {self.preload!r}; e.g. preload=('numpy',)"
            )
        for module in self.preload:
            if not isinstance(module, str) or not all(p.isidentifier() for p in module.split(".")):
                raise InvalidJobError(f"SandboxConfig.preload: {module!r} is not a module name")
        object.__setattr__(self, "preload", tuple(self.preload))
        if not isinstance(self.options, Mapping):
            raise InvalidJobError(
                f"SandboxConfig.options must be a mapping of backend settings, got {type(self.options).__name__}"
            )
        object.__setattr__(self, "options", dict(self.options))

    def __hash__(self) -> int:
        return hash(tuple(_freeze(getattr(self, f.name)) for f in fields(self)))

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["preload"] = list(self.preload)
        out["options"] = dict(self.options)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SandboxConfig":
        if not isinstance(data, Mapping):
            raise InvalidJobError(f"a SandboxConfig must be a mapping, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidJobError(f"unknown SandboxConfig field(s): {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)


@dataclass(frozen=True)
class AssertTest:
    """Python statements ending in (or containing) ``assert``: the AceCode test format."""

    source: str
    kind: Literal["assert"] = field(default="assert", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.source, str):
            raise InvalidJobError(f"AssertTest.source must be a string, got {type(self.source).__name__}")


@dataclass(frozen=True)
class IOTest:
    """A stdin/stdout test: the program runs as ``__main__`` with ``stdin``.

    ``match``: ``"exact"`` compares bytes as text; ``"lines"`` (default, LiveCodeBench's
    rule) compares line by line with surrounding whitespace stripped and trailing empty
    lines ignored; ``"tokens"`` compares whitespace-separated tokens, numbers within
    ``float_tol``.
    """

    stdin: str
    expected_stdout: str
    match: Literal["exact", "lines", "tokens"] = "lines"
    float_tol: float = 0.0
    kind: Literal["io"] = field(default="io", init=False)

    def __post_init__(self) -> None:
        for name in ("stdin", "expected_stdout"):
            if not isinstance(getattr(self, name), str):
                raise InvalidJobError(f"IOTest.{name} must be a string, got {type(getattr(self, name)).__name__}")
        if self.match not in ("exact", "lines", "tokens"):
            raise InvalidJobError(f"IOTest.match must be 'exact', 'lines' or 'tokens', got {self.match!r}")


@dataclass(frozen=True)
class CallTest:
    """Call ``fn(*args, **kwargs)`` and compare with ``expected`` outside the sandbox.

    ``fn`` names a top-level function, or a method as ``"Class.method"`` (the class is
    instantiated with no arguments, LeetCode style). A bare method name also resolves
    to ``Solution().name`` when the program defines no such function. ``atol`` > 0
    compares floats (also nested in lists/tuples) within that absolute tolerance.
    """

    fn: str
    args: tuple[Any, ...] = ()
    expected: Any = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    atol: float = 0.0
    judge: str = ""
    """Name of a registered trusted comparator (:mod:`acesandbox.judges`); "" = equality / ``atol``."""
    judge_options: Mapping[str, Any] = field(default_factory=dict)
    kind: Literal["call"] = field(default="call", init=False)

    def __post_init__(self) -> None:
        _check_fn(self.fn, "CallTest")
        if not isinstance(self.args, (tuple, list)):
            raise InvalidJobError(f"CallTest.args must be a tuple or list, got {type(self.args).__name__}")
        object.__setattr__(self, "args", tuple(self.args))
        if not isinstance(self.kwargs, Mapping):
            raise InvalidJobError(f"CallTest.kwargs must be a mapping, got {type(self.kwargs).__name__}")
        _check_judge(self.judge, self.judge_options, "CallTest")
        _check_atol(self.atol, "CallTest.atol")


def _check_fn(fn: Any, owner: str) -> None:
    if not isinstance(fn, str) or not fn or not all(p.isidentifier() for p in fn.split(".")):
        raise InvalidJobError(f"{owner}.fn must be a name like 'f' or 'Solution.f', got {fn!r}")


def _check_judge(judge: Any, options: Any, owner: str) -> None:
    if not isinstance(judge, str):
        raise InvalidJobError(f"{owner}.judge must be a judge name (a string), got {type(judge).__name__}")
    if not isinstance(options, Mapping):
        raise InvalidJobError(f"{owner}.judge_options must be a mapping, got {type(options).__name__}")


def _check_atol(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InvalidJobError(f"{name} must be a number >= 0, got {value!r}")


def _per_call(value: Any, n: int, name: str, *, allow_none: bool = False) -> Any:
    """A scalar, or one value per call (checked for length)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise InvalidJobError(f"{name} has {len(value)} values for {n} calls")
        return tuple(value)
    return value


@dataclass(frozen=True)
class CallBatchTest:
    """Many calls of one function in one test, judged one by one in the parent, in order.

    The EvalPlus way of testing: the program is loaded once and ``fn(*calls[i])`` runs for
    each ``i`` in the same process; each return value is judged against ``expected[i]``
    (equality, ``atol``, or the named ``judge``). ``call_timeout_s`` (one value, or one
    per call) bounds each call's wall time with a timer inside the sandbox; the job's
    ``Limits.timeout_s`` bounds the whole test. The first call that does not pass decides
    the outcome, and :attr:`Outcome.call_index` names it; the sandbox stops at the first
    call that raises or times out.

    ``returns=True`` asks for the values instead of judging them (a trusted reference
    solution's outputs, say): they come back in :attr:`Outcome.values`, rebuilt from the
    wire in call order, ``expected`` and ``judge`` are ignored, and the test passes when
    every call returned.
    """

    fn: str
    calls: tuple[tuple[Any, ...], ...]
    expected: tuple[Any, ...]
    atol: float | tuple[float, ...] = 0.0
    judge: str = ""
    judge_options: Mapping[str, Any] = field(default_factory=dict)
    call_timeout_s: float | tuple[float, ...] | None = None
    returns: bool = False
    kind: Literal["calls"] = field(default="calls", init=False)

    if TYPE_CHECKING:  # the generated __init__ takes lists too and stores tuples

        def __init__(
            self,
            fn: str,
            calls: Sequence[Sequence[Any]],
            expected: Sequence[Any],
            atol: float | Sequence[float] = ...,
            judge: str = ...,
            judge_options: Mapping[str, Any] = ...,
            call_timeout_s: float | Sequence[float] | None = ...,
            returns: bool = ...,
        ) -> None: ...

    def __post_init__(self) -> None:
        _check_fn(self.fn, "CallBatchTest")
        if isinstance(self.calls, (str, bytes)) or not isinstance(self.calls, Sequence):
            raise InvalidJobError(f"CallBatchTest.calls must be a list of argument lists, got {type(self.calls).__name__}")
        calls = []
        for i, args in enumerate(self.calls):
            if not isinstance(args, (tuple, list)):
                raise InvalidJobError(f"CallBatchTest.calls[{i}] must be a tuple or list of arguments, got {type(args).__name__}")
            calls.append(tuple(args))
        object.__setattr__(self, "calls", tuple(calls))
        if isinstance(self.expected, (str, bytes)) or not isinstance(self.expected, Sequence):
            raise InvalidJobError(f"CallBatchTest.expected must be a list with one value per call")
        object.__setattr__(self, "expected", tuple(self.expected))
        n = len(self.calls)
        if len(self.expected) != n:
            raise InvalidJobError(f"CallBatchTest.expected has {len(self.expected)} values for {n} calls")
        object.__setattr__(self, "atol", _per_call(self.atol, n, "CallBatchTest.atol"))
        for a in self.atol if isinstance(self.atol, tuple) else (self.atol,):
            _check_atol(a, "CallBatchTest.atol")
        timeouts = _per_call(self.call_timeout_s, n, "CallBatchTest.call_timeout_s", allow_none=True)
        object.__setattr__(self, "call_timeout_s", timeouts)
        for t in timeouts if isinstance(timeouts, tuple) else (() if timeouts is None else (timeouts,)):
            _positive("call_timeout_s", t)
        _check_judge(self.judge, self.judge_options, "CallBatchTest")
        if not isinstance(self.returns, bool):
            raise InvalidJobError(f"CallBatchTest.returns must be a bool, got {type(self.returns).__name__}")

    def atol_of(self, i: int) -> float:
        return self.atol[i] if isinstance(self.atol, tuple) else self.atol

    def timeout_of(self, i: int) -> float | None:
        t = self.call_timeout_s
        return t[i] if isinstance(t, tuple) else t


@dataclass(frozen=True)
class UnittestTest:
    """unittest source defining ``TestCase`` classes; passes iff every test method passes.

    ``self.assert*`` calls are rewritten so that their operands are judged outside the
    sandbox; the rest of the test code runs inside it.
    """

    source: str
    kind: Literal["unittest"] = field(default="unittest", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.source, str):
            raise InvalidJobError(f"UnittestTest.source must be a string, got {type(self.source).__name__}")


Test = Union[AssertTest, IOTest, CallTest, CallBatchTest, UnittestTest]
TestLike = Union[Test, str, Mapping[str, Any]]
"""What a job's tests may be given as: a test value, an assert string or a test's dict form."""
_KINDS: dict[str, type[Test]] = {
    "assert": AssertTest,
    "io": IOTest,
    "call": CallTest,
    "calls": CallBatchTest,
    "unittest": UnittestTest,
}


def as_test(item: Any, *, where: str = "test") -> Test:
    """Coerce a user-supplied test (a string, a test value or its dict form) to a test value."""
    if isinstance(item, (AssertTest, IOTest, CallTest, CallBatchTest, UnittestTest)):
        return item
    if isinstance(item, str):
        return AssertTest(item)
    if isinstance(item, Mapping):
        kind = item.get("kind", "assert")
        cls = _KINDS.get(kind) if isinstance(kind, str) else None  # a list kind: not a TypeError
        if cls is None:
            raise InvalidJobError(f"{where}: unknown test kind {kind!r}; expected one of {sorted(_KINDS)}")
        data = {k: v for k, v in item.items() if k != "kind"}
        try:
            return cls(**data)
        except (TypeError, InvalidJobError) as exc:
            raise InvalidJobError(f"{where}: {exc}") from None
    raise InvalidJobError(
        f"{where}: expected an assert string, IOTest, CallTest, CallBatchTest or UnittestTest, got {type(item).__name__}"
    )


def test_to_dict(test: Test) -> dict[str, Any]:
    """Plain-JSON form of a test value (``kind`` plus its fields)."""
    out: dict[str, Any] = {"kind": test.kind}
    for f in fields(test):
        if f.name != "kind":
            value = getattr(test, f.name)
            if isinstance(value, Mapping):
                value = dict(value)
            elif f.name == "calls":
                value = [list(args) for args in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
    return out


@dataclass(frozen=True)
class Job:
    """One program and its tests, with limits and execution options.

    ``mode``: ``"isolated"`` (default) runs each test in its own fork of the loaded
    program; ``"shared"`` runs all tests in order in one process with shared globals,
    as the reference AceCode harnesses do. ``compare``: ``"strict"`` (default) judges
    every verdict outside the sandbox on safely serialized values; ``"compat"`` lets
    the sandbox judge as the reference harnesses do (needed for values such as custom
    objects or DataFrames). ``stop_on_failure`` stops at the first non-passing test
    (the rest are ``skipped``, and a test already running is cut short): enough for a
    binary reward, and much cheaper.
    """

    program: str = field(metadata=_help("the Python source under test"))
    tests: tuple[Test, ...] = field(metadata=_help("the tests, run in order"))
    limits: Limits = field(default_factory=Limits, metadata=_help("per-job limits"))
    mode: Mode = field(
        default="isolated",
        metadata=_help(
            "isolated: each test in its own fork of the loaded program; shared: all tests in one process with "
            "shared globals, as the reference AceCode harnesses do"
        ),
    )
    compare: CompareMode = field(
        default="strict",
        metadata=_help(
            "strict: verdicts judged outside the sandbox on safely serialized values; compat: judged inside, "
            "as the reference harnesses do, for values such as custom objects"
        ),
    )
    stop_on_failure: bool = field(
        default=False,
        metadata=_help("stop each job at its first non-passing test; the rest are 'skipped' (enough for a binary reward)"),
    )
    job_id: str | None = field(default=None, metadata=_help("echoed back in the report"))

    if TYPE_CHECKING:  # the generated __init__ coerces ``tests``; this is the signature it accepts

        def __init__(
            self,
            program: str,
            tests: Sequence[TestLike],
            limits: Limits = ...,
            mode: Mode = ...,
            compare: CompareMode = ...,
            stop_on_failure: bool = ...,
            job_id: str | None = ...,
        ) -> None: ...

    def __post_init__(self) -> None:
        if not isinstance(self.program, str):
            raise InvalidJobError(f"Job.program must be a string of Python source, got {type(self.program).__name__}")
        if isinstance(self.tests, (str, bytes)) or not isinstance(self.tests, Sequence):
            raise InvalidJobError(f"Job.tests must be a list of tests, got {type(self.tests).__name__}")
        object.__setattr__(
            self, "tests", tuple(as_test(t, where=f"Job.tests[{i}]") for i, t in enumerate(self.tests))
        )
        if not isinstance(self.limits, Limits):
            raise InvalidJobError(f"Job.limits must be a Limits, got {type(self.limits).__name__}")
        if self.mode not in ("isolated", "shared"):
            raise InvalidJobError(f"Job.mode must be 'isolated' or 'shared', got {self.mode!r}")
        if self.compare not in ("strict", "compat"):
            raise InvalidJobError(f"Job.compare must be 'strict' or 'compat', got {self.compare!r}")
        _flag(self.stop_on_failure, "stop_on_failure")  # "no" would be truthy: stop at the first failure

    def to_dict(self) -> dict[str, Any]:
        return {
            "program": self.program,
            "tests": [test_to_dict(t) for t in self.tests],
            "limits": self.limits.to_dict(),
            "mode": self.mode,
            "compare": self.compare,
            "stop_on_failure": self.stop_on_failure,
            "job_id": self.job_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Job":
        if not isinstance(data, Mapping):
            raise InvalidJobError(f"a job must be a JSON object, got {type(data).__name__}")
        for required in ("program", "tests"):
            if required not in data:
                raise InvalidJobError(f"missing field {required!r}")
        limits = data.get("limits") or {}
        if not isinstance(limits, Mapping):
            raise InvalidJobError("field 'limits' must be an object")
        return cls(
            program=data["program"],
            tests=data["tests"],
            limits=Limits.from_dict(limits),
            mode=data.get("mode", "isolated"),
            compare=data.get("compare", "strict"),
            stop_on_failure=_flag(data.get("stop_on_failure", False), "stop_on_failure"),
            job_id=None if data.get("job_id") is None else str(data["job_id"]),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict())
