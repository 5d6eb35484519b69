"""The host's trust boundary (issue 10, findings 2-6), attacked on every real backend.

Each case is a program (and tests) that attacks the host side: crafted result frames,
values that are cheap to send and expensive to rebuild or compare, oversized results,
test templates that reach for host memory or CPU. Whatever the program does, its job
must end in a non-passed status of its own (never ``sandbox_error``, never an
exception), quickly, and the next job on the same worker must be judged on its own
results only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Any, Callable

import pytest

from _support import require_backend
from acesandbox import AssertTest, Executor, Job, Limits, Report, SandboxConfig, Status
from acesandbox._checks import plan_assert_test
from acesandbox._kinds import outcome_from_raw, prepare_job

BACKENDS = ["namespace", "process", "docker"]

C, E, F, T, M, P, S = (
    Status.CRASHED,
    Status.ERROR,
    Status.FAILED,
    Status.TIMEOUT,
    Status.MEMORY,
    Status.PASSED,
    Status.SKIPPED,
)
ANOMALY = frozenset({C, E})
"""What a broken result channel earns: crashed, or error with a message."""
BLOCKED = frozenset({F, E})
NOT_PASSED = frozenset({F, E, T, M, C})
SECRET_ENV = "ACESANDBOX_TRUST_SECRET"
_SECRET = "acesandbox-trust-boundary-host-secret-7d1e"
FAST = Limits(timeout_s=1.0, wall_timeout_s=2.0, job_timeout_s=20.0, max_file_mb=8, output_bytes=4096)
Verify = Callable[[Report, float, Any], list]


@dataclasses.dataclass(frozen=True)
class Case:
    """One attack: a job and the status each test must end in (a scratch twin of the
    conformance suite's Case, moved there once the suite is a package)."""

    name: str
    program: str
    tests: tuple[Any, ...]
    expect: tuple[Any, ...]
    limits: Limits = FAST
    mode: str = "isolated"
    hostile: bool = True
    verify: Verify | None = None
    why: str = ""


def run_case(case: Case, executor: Any) -> list[str]:
    job = Job(program=case.program, tests=tuple(AssertTest(t) for t in case.tests), limits=case.limits, mode=case.mode)
    t0 = time.monotonic()
    try:
        report = executor.run(job)
    except Exception as exc:  # noqa: BLE001 - the executor must turn failures into outcomes
        return [f"executor.run raised {type(exc).__name__}: {exc}"]
    elapsed = time.monotonic() - t0
    problems = []
    for i, (o, e) in enumerate(zip(report.outcomes, case.expect, strict=True)):
        allowed = e if isinstance(e, frozenset) else {e}
        if o.status not in allowed:
            problems.append(f"test {i}: expected {sorted(s.value for s in allowed)}, got {o.status.value}: {o.message[:300]!r}")
    if case.verify is not None:
        problems += case.verify(report, elapsed, {})
    canary = Job(program="def f(x):\n    return x + 1\n", tests=(AssertTest("assert f(1) == 2"), AssertTest("assert f(2) == 3")), limits=FAST)
    after = executor.run(canary)
    if after.statuses != (Status.PASSED, Status.PASSED):
        problems.append(f"the next job on this worker got {[(o.status.value, o.message[:100]) for o in after.outcomes]}")
    return problems


@pytest.fixture(scope="module", params=["namespace", "process", "docker"])
def executor(request: Any) -> Any:
    if request.param == "docker":
        reason = _docker_unavailable()
        if reason is not None:
            pytest.skip(f"docker backend unavailable: {reason}")
    else:
        require_backend(request.param)
    previous = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = _SECRET
    try:
        config = SandboxConfig(backend=request.param, workers=1, memory_mb=512, max_processes=32, scratch_mb=64)
        with Executor(config) as ex:
            yield ex
    finally:
        if previous is None:
            os.environ.pop(SECRET_ENV, None)
        else:
            os.environ[SECRET_ENV] = previous
_P61 = 2**61 - 1  # ints k * _P61 all hash alike

# Writes ``data`` to every descriptor a result channel could be on.
_SPRAY = (
    "import os\n"
    "def _spray(data):\n"
    "    for fd in range(3, 51):\n"
    "        try:\n"
    "            os.write(fd, data)\n"
    "        except OSError:\n"
    "            pass\n"
)


def _quick(limit_s: float) -> Verify:
    def verify(report: Report, elapsed_s: float, ctx: Any) -> list[str]:
        if elapsed_s > limit_s:
            return [f"the host took {elapsed_s:.1f} s over this job (limit {limit_s} s): it was frozen"]
        return []

    return verify


def _forging(frames: str, *, then: str = "os._exit(0)") -> str:
    """A program whose ``f`` writes the bytes expression ``frames`` to the result channel."""
    return _SPRAY + f"def f(*args):\n    _spray({frames})\n    {then}\n"


def _check_frame(value_json: str) -> str:
    """Bytes expression: a forged value frame for check 0, then 'finished'."""
    return f"b'\\n[\"c\",0,{{\"$t\":[' + {value_json} + b']}}]\\n[\"d\"]\\n'"


_DEEP = "b'[' * 100000 + b']' * 100000"
FORGE_BAD_EXIT = "b''.join(b'\\n[\"d\"]\\n[\"x\",%d,\"abc\",0.5]\\n' % k for k in range(8))"

TRUST_CASES: list[Case] = [
    # -- finding 2: malformed frames end the job as the program's, never the sandbox's
    Case(
        "frame_nested_100k_deep",
        _forging(f"b'\\n' + {_DEEP} + b'\\n'"),
        ("assert f(1) == 3",),
        (ANOMALY,),
        hostile=True,
        verify=_quick(30),
        why="a result line nested 100,000 deep is garbage on the channel, not a sandbox failure",
    ),
    Case(
        "frame_exit_status_not_a_number",
        _forging(FORGE_BAD_EXIT, then="return 3"),
        ("assert f(1) == 3", "assert f(2) == 3"),
        (ANOMALY, ANOMALY),
        hostile=True,
        verify=_quick(30),
        why="a forged 'test exited' frame with a text status",
    ),
    Case(
        "frame_exit_fields_wrong_types",
        _forging(
            "b''.join(b'\\n[\"d\"]\\n[\"x\",%d,1e999,{\"cpu\":1}]\\n' % k for k in range(8))",
            then="return 3",
        ),
        ("assert f(1) == 3", "assert f(2) == 3"),
        (ANOMALY, ANOMALY),
        hostile=True,
        verify=_quick(30),
        why="a forged 'test exited' frame with an infinite status and an object for CPU seconds",
    ),
    Case(
        "frame_error_info_wrong_types",
        _forging("b'\\n[\"e\",{\"type\":[1],\"msg\":{\"a\":1},\"tb\":7}]\\n'"),
        ("assert f(1) == 3",),
        (ANOMALY,),
        hostile=True,
        verify=_quick(30),
        why="an exception frame whose fields are not strings",
    ),
    Case(
        "load_frame_not_a_dict",
        _SPRAY + "_spray(b'\\n[\"l\",5]\\n')\nos._exit(0)\n",
        ("assert f(1) == 3", "assert f(2) == 3"),
        (ANOMALY, ANOMALY),
        hostile=True,
        verify=_quick(30),
        why="a forged 'load failed' frame whose payload is not an object",
    ),
    Case(
        "load_frame_unhashable_status",
        _SPRAY + "_spray(b'\\n[\"l\",{\"status\":[\"crashed\"],\"msg\":1}]\\n')\nos._exit(0)\n",
        ("assert f(1) == 3",),
        (ANOMALY,),
        hostile=True,
        verify=_quick(30),
        why="a forged 'load failed' frame whose status is a list",
    ),
    # -- finding 3: crashing the in-sandbox server
    Case(
        "exit_frame_nested_100k_deep",
        _forging(f"b'\\n[\"x\",' + {_DEEP} + b']\\n'"),
        ("assert f(1) == 3", "assert f(2) == 3"),
        (ANOMALY, ANOMALY),
        hostile=True,
        verify=_quick(30),
        why="the server parses frames that look like its own: deep nesting must not crash pid 1",
    ),
    Case(
        "scratch_chain_1200_deep",
        "import os\n"
        "def f(x):\n"
        "    fd = os.open('.', os.O_RDONLY)\n"
        "    for i in range(1200):\n"
        "        os.mkdir('d', 0o700, dir_fd=fd)\n"
        "        nfd = os.open('d', os.O_RDONLY, dir_fd=fd)\n"
        "        os.close(fd)\n"
        "        fd = nfd\n"
        "    return 0\n",
        ("assert f(1) == 3", "assert f(2) == 3"),
        (F, F),
        hostile=True,
        verify=_quick(60),
        why="a directory chain deeper than the recursion limit in the scratch directory",
    ),
    # -- finding 4: results are counted after escaping, and stream per test
    Case(
        "results_grow_when_escaped",
        _forging("b'\\x01' * (15 << 20) + b'\\n'", then="return 3"),
        ("assert f(1) == 3", "assert f(2) == 3", "assert f(3) == 3"),
        (ANOMALY, ANOMALY, ANOMALY),
        hostile=True,
        verify=_quick(60),
        why="15 MiB of control bytes per test is 90 MiB once JSON-escaped",
    ),
    # -- finding 5: values that are cheap to send and expensive to rebuild or use
    Case(
        "range_huge_membership",
        "def f():\n    return range(10**18)\n",
        ("assert 0.5 in f()",),
        (NOT_PASSED,),
        hostile=True,
        verify=_quick(20),
        why="'in' walks a range of 10**18 for a float",
    ),
    Case(
        "range_huge_forged",
        _forging(_check_frame("b'{\"$range\":[0,1000000000000000000,1]}'")),
        ("assert 0.5 in f()",),
        (ANOMALY,),
        hostile=True,
        verify=_quick(20),
        why="a forged range of 10**18 elements",
    ),
    Case(
        "fraction_huge_forged",
        _forging(
            _check_frame("b'{\"$frac\":[{\"$int\":\"0x' + os.urandom(1 << 20).hex().encode() + b'\"},{\"$int\":\"0x' + os.urandom(1 << 20).hex().encode() + b'\"}]}'")
        ),
        ("assert f() == 1",),
        (ANOMALY,),
        hostile=True,
        verify=_quick(20),
        why="a Fraction of 8 Mbit costs a quadratic gcd to normalise",
    ),
    Case(
        "set_of_colliding_ints_forged",
        _forging(_check_frame(f"b'{{\"$set\":[' + b','.join(b'%d' % (k * {_P61}) for k in range(1, 60001)) + b']}}'")),
        ("assert f() == set()",),
        (ANOMALY,),
        hostile=True,
        verify=_quick(20),
        why="60,000 distinct ints with one hash make building the set quadratic",
    ),
    Case(
        "dict_of_colliding_keys_forged",
        _forging(_check_frame(f"b'{{\"$d\":[' + b','.join(b'[%d,0]' % (k * {_P61}) for k in range(1, 60001)) + b']}}'")),
        ("assert f() == {}",),
        (ANOMALY,),
        hostile=True,
        verify=_quick(20),
        why="60,000 distinct keys with one hash make building the dict quadratic",
    ),
    Case(
        "decimal_huge_exponent",
        "from decimal import Decimal\ndef f():\n    return Decimal('1E+100000000')\n",
        ("assert int(f()) == 0",),
        (NOT_PASSED,),
        hostile=True,
        verify=_quick(20),
        why="int() of Decimal('1E+100000000') computes 10**10**8",
    ),
    # -- finding 6: test templates never reach host memory or freeze the host
    Case(
        "template_reads_host_environment",
        "def f():\n    return 0\n",
        (
            'assert "{0.__self__.__loader__.find_spec.__func__.__globals__[sys].modules[os].environ'
            f'[ACESANDBOX_TRUST_SECRET]}}".format(abs) == "{_SECRET}"',
            'assert (f() or "{0.__self__.__loader__.find_spec.__func__.__globals__[sys].modules[os].environ'
            f'[ACESANDBOX_TRUST_SECRET]}}").format(abs) == "{_SECRET}"',
        ),
        (BLOCKED, BLOCKED),
        hostile=True,
        verify=_quick(20),
        why="str.format walks attributes: from a builtin to the host's os.environ",
    ),
    Case(
        "template_sums_a_huge_range",
        "def f():\n    return 0\n",
        ("assert sum(range(10**18)) == 0", "assert f() == 7 ** 7 ** 10"),
        (NOT_PASSED, NOT_PASSED),
        hostile=True,
        verify=_quick(30),
        why="a test's own constant expression must not hold the host's CPU",
    ),
]


def stale_message_jobs(forge: str) -> tuple[Job, Job]:
    """Two sibling jobs with the same streamed tests: a hostile one, then a wrong one."""
    tests = tuple(AssertTest(f"assert f({i}) == {i + 1}") for i in range(3))
    hostile = Job(program=_forging(forge, then="return args[0] + 1"), tests=tests, limits=FAST, stop_on_failure=True)
    wrong = Job(program="def f(x):\n    return 0\n", tests=tests, limits=FAST, stop_on_failure=True)
    return hostile, wrong


def _docker_unavailable() -> str | None:
    try:
        from acesandbox.backends.docker import DockerBackend

        DockerBackend().check()
    except Exception as exc:  # noqa: BLE001 - any reason docker cannot run here
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("case", TRUST_CASES, ids=[c.name for c in TRUST_CASES])
def test_trust_case(executor: Any, case: Any) -> None:
    problems = run_case(case, executor)
    assert not problems, f"{case.name} ({case.why}):\n  " + "\n  ".join(problems)


@pytest.mark.slow
def test_a_job_never_reads_the_previous_jobs_messages(executor: Any) -> None:
    """A program that breaks the host mid-job (streamed results) leaves later messages in
    the pipe; the next job on that worker (a sibling completion with the same tests, but
    wrong) must be judged on its own results only."""
    hostile, wrong = stale_message_jobs(FORGE_BAD_EXIT)
    first = executor.run(hostile)
    assert Status.SANDBOX_ERROR not in first.statuses, first.outcomes
    assert first.statuses[0] is Status.CRASHED, first.outcomes
    second = executor.run(wrong)
    assert second.statuses == (Status.FAILED, Status.SKIPPED, Status.SKIPPED), second.outcomes
    assert "returned 0" in second.outcomes[0].message


def test_every_case_is_hostile_and_never_accepts_passed() -> None:
    for case in TRUST_CASES:
        assert case.hostile, case.name
        assert all(Status.PASSED not in (e if isinstance(e, frozenset) else {e}) for e in case.expect), case.name


def test_stale_jobs_share_their_tests() -> None:
    hostile, wrong = stale_message_jobs(FORGE_BAD_EXIT)
    assert isinstance(hostile, Job) and isinstance(wrong, Job)
    assert hostile.tests == wrong.tests and hostile.program != wrong.program
    assert hostile.stop_on_failure and wrong.stop_on_failure


def test_quick_cases_have_a_time_bound() -> None:
    """Every cost attack checks its elapsed time: a verdict after an hour is a frozen host."""
    unbounded = [c.name for c in TRUST_CASES if c.verify is None]
    assert unbounded == [], unbounded
