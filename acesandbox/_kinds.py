"""Test kinds on the trusted side: what each test sends into the sandbox, and how the
sandbox's raw result becomes an :class:`Outcome`.

The program's processes only ever compute values; every ``passed`` is decided here, on
values rebuilt from the safe wire format, with real builtins, when the check's cost is
bounded by the values' size; in a judge process (:mod:`._judge_proc`) for a costlier
template and for every registered judge (the values go there as the raw wire text the
host received, and are never rebuilt here); or, for a test the splitter cannot take
apart, by that test's own code in a test process that the sandbox's server forks and no
program process can reach (its verdict read here, bounded). A result channel that is
forged, garbled, closed or silent can only end in a non-passed status.
"""

from __future__ import annotations

import dataclasses
import decimal
import functools
import json
import math
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from . import _wire
from ._checks import Check, _clip, _short_repr, host_safe, judge, plan_assert_test, plan_unittest
from ._judge_proc import JudgeError, JudgeTimeout, Roots, judge_calls, judge_in_process, spec_key
from ._qtests import program_names, q_death, q_verdict
from ._result import Outcome, Status
from ._spec import AssertTest, CallBatchTest, CallTest, IOTest, Job, Test, UnittestTest
from .errors import InvalidJobError, SandboxError
from .judges import judge_notes, judge_target, target_root

__all__ = ["FORGEABLE", "Prepared", "compare_io", "forgeable_warnings", "outcome_from_raw", "prepare_job"]

# RL batches score many programs against the same tests: plan each test source once.
_plan_assert = functools.lru_cache(maxsize=1 << 16)(plan_assert_test)
_plan_unittest = functools.lru_cache(maxsize=1 << 12)(plan_unittest)


@dataclass(frozen=True)
class Registered:
    """A call test's registered judge, resolved when the job is prepared: what the judge
    process needs to find it, the test's options and spec (arguments, expected values)."""

    target: str
    roots: Roots
    options_json: bytes
    spec_json: bytes
    notes: Callable[[Any], object] | None = None

    @functools.cached_property
    def spec_key(self) -> str:
        """The digest the judge process keeps the spec under."""
        return spec_key(self.spec_json)


@dataclass(frozen=True)
class Prepared:
    """One test made ready: its sandbox payload and what the parent needs to judge it."""

    test: Test
    payload: dict[str, Any]
    checks: tuple[Check, ...] = ()
    required: tuple[int, ...] = ()
    output_bytes: int = 0
    """Reported stdout is trimmed to this (IO tests capture more, to compare it whole)."""
    judge: Registered | None = None
    """The named judge of a call test, resolved when the job is prepared."""
    judge_timeout_s: float = 1.0
    """Time one check may take in a judge process (the test's CPU limit, at least 1 s)."""
    forgeable: bool = False
    """Part of the verdict is reached in the program's process (see ``Plan.forgeable``)."""
    source: str | None = None
    """A test judged whole in a test process Q: its source, sent to the sandbox apart
    from the job (never where a program process can read it)."""

    def payload_json(self) -> bytes:
        """``payload`` as compact JSON; a CallBatchTest's is kept on the test value (it
        depends on nothing else), so a test shared by many jobs is serialized once, and
        every other test's on this value (an assert or unittest test's is shared by the
        jobs that run the same test: :func:`_prepare_assert`)."""
        owner = self.test if isinstance(self.test, CallBatchTest) else self
        cached: bytes | None = owner.__dict__.get("_ace_payload_json")
        if cached is None:
            cached = json.dumps(self.payload, separators=(",", ":")).encode()
            object.__setattr__(owner, "_ace_payload_json", cached)
        return cached


def _call_target(fn: str) -> str:
    if "." in fn:
        cls, _, meth = fn.rpartition(".")
        return f"{cls}().{meth}"
    return f"(globals()[{fn!r}] if {fn!r} in globals() else Solution().{fn})"


def _call_code(fn: str) -> str:
    return f"__ace_check__(0, ({_call_target(fn)}(*__ace_args__, **__ace_kwargs__),))\n"


def _encoded_calls(test: CallBatchTest) -> Any:
    """The calls' wire form, computed once per test value (benchmarks reuse one test per task)."""
    cached = test.__dict__.get("_ace_wire_calls")
    if cached is None:
        cached = _wire.encode(test.calls)
        object.__setattr__(test, "_ace_wire_calls", cached)
    return cached


def _prepare_test(test: Test, job: Job, index: int) -> Prepared:
    compat = job.compare == "compat"
    budget = max(1.0, job.limits.timeout_s)
    if isinstance(test, (AssertTest, UnittestTest)):
        _source_size_check(test.source, job.limits.test_source_bytes)
        if not compat and isinstance(test, AssertTest):
            return _prepare_assert(test, job.limits.test_nodes, budget)
        if not compat and isinstance(test, UnittestTest):
            return _prepare_unittest(test, job.limits.test_nodes, budget)
    return _prepare_other(test, job, index, compat, budget)


@functools.lru_cache(maxsize=1 << 16)  # as many as the plans kept (_plan_assert)
def _prepare_assert(test: AssertTest, test_nodes: int, budget: float) -> Prepared:
    """A strict assert test, prepared once for every job that runs an equal test under
    the same limits (RL batches score many programs against the same tests): its plan,
    payload and payload JSON (a Prepared is never changed once made)."""
    plan = _plan_assert(test.source, test_nodes)
    if plan.forgeable:
        return _in_q(test, test.source, unittest=False)
    return Prepared(
        test,
        {"k": "plan", "code": plan.sandbox_code, "last": plan.last} if plan.last >= 0 else {"k": "plan", "code": plan.sandbox_code},
        plan.checks,
        plan.required,
        judge_timeout_s=budget,
        forgeable=plan.forgeable,
    )


@functools.lru_cache(maxsize=1 << 12)  # as many as the plans kept (_plan_unittest): these are larger
def _prepare_unittest(test: UnittestTest, test_nodes: int, budget: float) -> Prepared:
    """A strict unittest test, prepared once for equal tests and limits (see :func:`_prepare_assert`)."""
    plan = _plan_unittest(test.source, test_nodes)
    if plan.forgeable:
        return _in_q(test, test.source, unittest=True)
    payload = {"k": "plan", "code": plan.sandbox_code, "unittest": True}
    return Prepared(test, payload, plan.checks, plan.required, judge_timeout_s=budget, forgeable=plan.forgeable)


def _prepare_other(test: Test, job: Job, index: int, compat: bool, budget: float) -> Prepared:
    """Every test but a strict assert or unittest one (:func:`_prepare_assert`, :func:`_prepare_unittest`)."""
    where = f"tests[{index}]"
    if isinstance(test, AssertTest):  # compat: run as written, judged in the program's process
        _syntax_check(test.source, where)
        return Prepared(test, {"k": "compat", "code": test.source}, forgeable=True)
    if isinstance(test, UnittestTest):
        _syntax_check(test.source, where)
        return Prepared(test, {"k": "compat", "code": test.source, "unittest": True}, forgeable=True)
    if isinstance(test, CallTest):
        try:
            args = _wire.encode(tuple(test.args))
            kwargs = _wire.encode(dict(test.kwargs))
        except _wire.UnserializableValue as exc:
            raise InvalidJobError(f"{where}: CallTest arguments must be plain data: {exc}") from None
        check = Check(source=f"{test.fn}(...) == expected", template="_h0", holes=(test.fn,))
        return Prepared(
            test,
            {"k": "plan", "code": _call_code(test.fn), "call": True, "args": args, "kwargs": kwargs, "last": 0},
            (check,),
            (0,),
            judge=_registered(test, where) if test.judge else None,
            judge_timeout_s=budget,
        )
    if isinstance(test, CallBatchTest):
        try:
            calls = _encoded_calls(test)
        except _wire.UnserializableValue as exc:
            raise InvalidJobError(f"{where}: CallBatchTest arguments must be plain data: {exc}") from None
        timeouts = test.call_timeout_s
        payload = {
            "k": "calls",
            "code": f"__ace_fn__ = {_call_target(test.fn)}\n",
            "calls": calls,
            "tl": list(timeouts) if isinstance(timeouts, tuple) else timeouts,
        }
        reg = _registered(test, where) if test.judge and not test.returns else None
        return Prepared(test, payload, judge=reg, judge_timeout_s=budget)
    if isinstance(test, IOTest):
        # Room for the expected output and then some, rounded up to a power of two so the
        # cap the sandbox sees says little about the expected output's length.
        need = 2 * len(test.expected_stdout.encode()) + 4096
        cap = max(job.limits.output_bytes, 1 << (need - 1).bit_length())
        return Prepared(test, {"k": "io", "stdin": test.stdin, "cap": cap}, output_bytes=job.limits.output_bytes)
    raise InvalidJobError(f"{where}: unsupported test {test!r}")


def _registered(test: CallTest | CallBatchTest, where: str) -> Registered:
    """Resolve a call test's named judge: refused here, before the job runs, when the judge
    process could not import it or the test's values cannot travel to it."""
    target = judge_target(test.judge)
    notes = judge_notes(test.judge)
    cached = test.__dict__.get("_ace_registered")
    if cached is not None and cached.target == target and cached.notes is notes:
        return cached  # type: ignore[no-any-return]
    root = target_root(target)
    try:
        options_json = json.dumps(dict(test.judge_options), separators=(",", ":"), allow_nan=True).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidJobError(f"{where}: judge_options must be JSON data: {exc}") from None
    reg = Registered(target, (root,) if root else (), options_json, _spec_json(test, where), notes)
    object.__setattr__(test, "_ace_registered", reg)  # a test shared by many jobs resolves its judge once
    return reg


def _spec_json(test: CallTest | CallBatchTest, where: str) -> bytes:
    """The arguments, expected values and tolerances a judge process caches for a test, as
    JSON (computed once per test value: benchmarks share one test across a task's samples)."""
    cached = test.__dict__.get("_ace_spec_json")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    try:
        if isinstance(test, CallBatchTest):
            args = _encoded_calls(test)
            expected = _wire.encode(test.expected)
            atols = [test.atol_of(i) for i in range(len(test.calls))]
        else:
            args = _wire.encode((tuple(test.args),))
            expected = _wire.encode((test.expected,))
            atols = [test.atol]
    except _wire.UnserializableValue as exc:
        raise InvalidJobError(f"{where}: a judged test's arguments and expected values must be plain data: {exc}") from None
    spec = {"args": args, "expected": expected, "atol": atols}
    data = json.dumps(spec, separators=(",", ":"), allow_nan=True).encode()
    object.__setattr__(test, "_ace_spec_json", data)
    return data


def _raw_value(line: str, frame: list[Any]) -> bytes:
    """A result frame ``["c", i, value]``'s value as the raw text received (re-encoded only
    when the line is not in the sandbox's compact form)."""
    if line.startswith('["c",'):
        start, end = line.find(",", 5), line.rfind("]")
        if 0 < start < end:
            return line[start + 1 : end].encode("utf-8", "surrogatepass")
    return json.dumps(frame[2], separators=(",", ":"), allow_nan=True).encode("utf-8", "surrogatepass")


def _judge_registered(reg: Registered, values: list[bytes], start: int, hole: bool, timeout_s: float) -> Any:
    return judge_calls(reg.target, reg.roots, reg.options_json, reg.spec_json, values, start=start, hole=hole,
                       timeout_s=timeout_s, notes=reg.notes, key=reg.spec_key)


def _in_q(test: Test, source: str, *, unittest: bool) -> Prepared:
    """A test judged whole in a test process Q: the sandbox gets only the names it reads
    from the program; its source travels apart (:attr:`Prepared.source`)."""
    payload = {"k": "q", "names": list(program_names(source)), "unittest": unittest}
    return Prepared(test, payload, source=source)


def _source_size_check(source: str, limit_bytes: int) -> None:
    """Refuse a test source the host should not parse: parsing and planning cost time on
    the host thread in proportion to it (a 2 MB test took over a minute to plan)."""
    if len(source) > limit_bytes or len(source.encode("utf-8", "surrogatepass")) > limit_bytes:
        raise InvalidJobError(
            f"test source is over {limit_bytes:,} bytes, the most parsed on the host "
            "(Limits.test_source_bytes): split it into several tests, or raise the limit"
        )


def _syntax_check(source: str, where: str) -> None:
    try:
        compile(source, "<test>", "exec")
    except SyntaxError as exc:
        from .errors import TestSyntaxError

        raise TestSyntaxError(f"{where}: line {exc.lineno}: {exc.msg}") from None


FORGEABLE = "judged in the program's process: forgeable"
"""The warning a report carries for each test whose verdict was (partly) reached in the
program's process, where a program that patches builtins can turn it into a pass: only
``compare="compat"`` assert and unittest tests (strict ones run in a test process)."""


def forgeable_warnings(prepared: Sequence[Prepared | InvalidJobError]) -> tuple[str, ...]:
    """One ``tests[i]: judged in the program's process: forgeable`` warning per such test."""
    return tuple(f"tests[{i}]: {FORGEABLE}" for i, p in enumerate(prepared) if isinstance(p, Prepared) and p.forgeable)


def prepare_job(job: Job) -> list[Prepared | InvalidJobError]:
    """Prepare every test of a job; a test that cannot be prepared (it does not parse,
    its arguments are not plain data) is returned as the InvalidJobError naming it."""
    out: list[Prepared | InvalidJobError] = []
    for i, test in enumerate(job.tests):
        try:
            out.append(_prepare_test(test, job, i))
        except InvalidJobError as exc:
            msg = str(exc)
            out.append(type(exc)(msg if msg.startswith("tests[") else f"tests[{i}]: {msg}"))
    return out


# ------------------------------------------------------------------ judging


def _approx_equal(a: Any, b: Any, atol: float) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
            if math.isnan(a) and math.isnan(b):
                return True
            return a == b or abs(a - b) <= atol  # inf - inf is nan: an infinity is within no tolerance of itself
        return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_approx_equal(x, y, atol) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_approx_equal(a[k], b[k], atol) for k in a)
    return bool(a == b)


_DECIMAL_INT_BITS = 70_000
"""Bits past which an int cannot equal a Decimal from the wire (10**(2 * _wire.MAX_DECIMAL_DIGITS)
is under 2**66,440); comparing them would cost super-linear time (the int becomes a Decimal)."""


def _decimal_meets_huge_int(a: Any, b: Any, depth: int = 0) -> bool:
    """Whether ``a == b`` would pair a Decimal with an int beyond :data:`_DECIMAL_INT_BITS` at
    aligned places of equal-shaped lists, tuples and dicts: then they are unequal."""
    if depth > 200:
        return False
    ta, tb = type(a), type(b)
    if ta is decimal.Decimal and tb is int:
        return bool(b.bit_length() > _DECIMAL_INT_BITS)
    if tb is decimal.Decimal and ta is int:
        return bool(a.bit_length() > _DECIMAL_INT_BITS)
    if ta is tb and ta in (list, tuple) and len(a) == len(b):
        return any(_decimal_meets_huge_int(x, y, depth + 1) for x, y in zip(a, b))
    if ta is tb is dict and len(a) == len(b):
        return any(k in b and _decimal_meets_huge_int(v, b[k], depth + 1) for k, v in a.items())
    return False


def _short(value: Any, limit: int = 200) -> str:
    return _short_repr(value)[:limit]


def _judge_value(fn: str, value: Any, expected: Any, atol: float) -> tuple[bool, str]:
    """Equality (or closeness within ``atol``) of a call's value, judged here."""
    if _decimal_meets_huge_int(value, expected):  # unequal, and slow to find so (red team finding 6)
        ok = False
    else:
        ok = _approx_equal(value, expected, atol) if atol > 0 else bool(value == expected)
    if ok:
        return True, ""
    return False, f"{fn} returned {_short(value)}, expected {_short(expected)}"


def _registered_message(fn: str, failed: tuple[int, str, str]) -> str:
    _, kind, message = failed
    if kind == "fail":
        return message or f"{fn} returned a value its judge did not accept"
    return message


def _is_integer(token: str) -> bool:
    return (token[1:] if token[:1] in ("+", "-") else token).isdigit()


def _numbers_equal(x: str, y: str, tol: float) -> bool:
    """Two numeric tokens within ``tol``, exactly: as floats, 10**20 + 1 would equal 10**20."""
    # float() also takes "1_000" and non-ASCII digits, which no one prints as a number
    if not (x.isascii() and y.isascii()) or "_" in x or "_" in y:
        return False
    if _is_integer(x) and _is_integer(y):
        if len(x) <= _wire.MAX_JSON_DIGITS and len(y) <= _wire.MAX_JSON_DIGITS:
            return abs(int(x) - int(y)) <= tol
        return x.lstrip("+") == y.lstrip("+")  # longer ones (int() is quadratic): equal as written
    try:
        fx, fy = float(x), float(y)
    except ValueError:
        return False
    if math.isnan(fx) or math.isnan(fy):
        return math.isnan(fx) and math.isnan(fy)
    if tol == 0:
        if fx != fy:
            return False
        try:
            return decimal.Decimal(x) == decimal.Decimal(y)  # exact: 1e20 is not 100000000000000000001
        except decimal.InvalidOperation:  # an exponent past the Decimal range: unequal to what is written otherwise
            return False
    return fx == fy or abs(fx - fy) <= tol


def _tokens_equal(a: str, b: str, tol: float) -> bool:
    ta, tb = a.split(), b.split()
    if len(ta) != len(tb):
        return False
    return all(x == y or _numbers_equal(x, y, tol) for x, y in zip(ta, tb))


def compare_io(actual: str, expected: str, match: str = "lines", float_tol: float = 0.0) -> bool:
    """Compare a program's stdout with the expected stdout under a matching rule."""
    if match == "exact":
        return actual == expected
    if match == "tokens":
        return _tokens_equal(actual, expected, float_tol)
    # lines end at "\n" only, as in LiveCodeBench (splitlines() would also break at "\r",
    # "\v", "\x1c", "\u2028"...: '1\r2' would pass for '1\n2'); a "\r" before it is stripped
    a = [line.strip() for line in actual.strip().split("\n")]
    e = [line.strip() for line in expected.strip().split("\n")]
    return a == e


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


# A result frame is a check's values (nested to the wire's depth) inside ``["c", ci, ...]``.
_FRAME_DEPTH = 3 * _wire.DEFAULT_MAX_DEPTH + 8


def _frames(lines: Sequence[str]) -> Iterator[tuple[list[Any] | None, str]]:
    """Result lines as (frame, line), decoded one at a time as the judging loop asks for
    them: it stops at the first frame that decides, so a program that floods the channel
    with copies of a valid frame (up to the per-test caps: 10,000 lines, 16 MB) costs the
    host one decode, not thousands. None for a line that is not a frame (too deep
    included): the program wrote it, and the loop reads no further."""
    for line in lines:
        if line == '["d"]':  # the end of every test that finished: what json.loads makes of it
            yield ["d"], line
            continue
        if not isinstance(line, str):
            yield None, ""
            return
        try:
            _wire.check_depth(line.encode("utf-8", "surrogatepass"), _FRAME_DEPTH)
            frame = json.loads(line)
        except (ValueError, RecursionError):  # WireFormatError is a ValueError
            frame = None
        if not (isinstance(frame, list) and frame and isinstance(frame[0], str)):
            yield None, line
            return
        yield frame, line


def _seconds(value: Any) -> float:
    """A time the server measured: a finite, non-negative number, else 0."""
    if type(value) in (int, float) and 0 <= value < 1e9:
        return float(value)
    return 0.0


def _text(value: Any, limit: int) -> str:
    """A string field of a frame the program may have written: any JSON value, shown bounded."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _wstatus(raw: dict[str, Any]) -> int:
    """The wait status of a test process; a forged, malformed one is the program's doing."""
    status = raw.get("wstatus", 0)
    if status is None:
        return 0
    if type(status) is not int or not -1 <= status <= 0xFFFF:
        raise _MalformedResult("malformed exit status on the sandbox's result channel")
    return status


class _MalformedResult(Exception):
    """A raw result the program garbled (through frames the server relays)."""


def outcome_from_raw(prep: Prepared, raw: dict[str, Any], *, oom_killed: bool = False) -> Outcome:
    """Turn the server's raw message for one test into an Outcome (the trusted verdict).

    Everything in ``raw`` that a program can influence is checked; whatever is malformed
    ends the test as ``crashed``, never as an exception in the host.
    """
    common: dict[str, Any] = {
        "duration_s": _seconds(raw.get("wall", 0.0)),
        "cpu_s": _seconds(raw.get("cpu", 0.0)),
        "stdout": raw.get("out", "") if isinstance(raw.get("out", ""), str) else "",
        "stderr": raw.get("err", "") if isinstance(raw.get("err", ""), str) else "",
        "truncated": raw.get("trunc", False) is True,
    }
    try:
        return _outcome(prep, raw, common, oom_killed)
    except SandboxError:
        raise  # the host could not judge (no judge process): not the program's doing
    except (_MalformedResult, _wire.WireFormatError) as exc:
        return Outcome(status=Status.CRASHED, message=str(exc), **common)
    except Exception as exc:  # noqa: BLE001 - a garbled result is the program's, never the host's
        return Outcome(
            status=Status.CRASHED,
            message=f"malformed result on the sandbox's result channel ({type(exc).__name__})",
            **common,
        )


def _outcome(prep: Prepared, raw: dict[str, Any], common: dict[str, Any], oom_killed: bool) -> Outcome:

    def done(status: Status, message: str = "") -> Outcome:
        return Outcome(status=status, message=message, **common)

    end = raw.get("end")
    if raw.get("phase") == "load":
        if end == "load_failed":
            info = raw.get("info") or {}
            if not isinstance(info, dict) or not isinstance(info.get("status", ""), str):
                raise _MalformedResult("malformed load report on the sandbox's result channel")
            status = {"crashed": Status.CRASHED, "memory": Status.MEMORY}.get(info.get("status", ""), Status.ERROR)
            return done(status, _text(info.get("msg", "program failed to load"), 4000))
        if end == "timeout":
            return done(Status.TIMEOUT, "loading the program exceeded the time limit")
        if end == "died":
            return _death(done, raw, oom_killed, "the program's process died while loading")
        return done(Status.CRASHED, f"program load ended unexpectedly ({end})")

    if raw.get("overflow"):
        return done(Status.ERROR, "the test produced more result data than the sandbox accepts")
    if prep.payload["k"] == "q":
        return _q_outcome(raw, done, oom_killed)
    if isinstance(prep.test, CallBatchTest):
        return _batch_outcome(prep, prep.test, raw, done, oom_killed)
    garbage = False
    finished = False
    compat_pass = False
    checks = prep.checks
    seen: set[int] = set()
    for frame, line in _frames(raw.get("lines", ())):
        if frame is None:
            garbage = True
            break
        tag = frame[0]
        if tag == "c":
            if len(frame) != 3 or not isinstance(frame[1], int) or not 0 <= frame[1] < len(checks):
                return done(Status.CRASHED, "the program wrote to the sandbox's result channel")
            if frame[1] in seen:  # each check runs once (a plan runs no check in a loop): a repeat is forged
                return done(Status.CRASHED, "the program wrote to the sandbox's result channel (a check's values twice)")
            if prep.judge is not None:  # a registered judge: the value is rebuilt in the judge process only
                test = prep.test
                assert isinstance(test, CallTest)
                try:
                    verdict = _judge_registered(prep.judge, [_raw_value(line, frame)], 0, True, prep.judge_timeout_s)
                except JudgeTimeout as exc:
                    return done(Status.ERROR, f"judging {test.fn}(...) with {test.judge!r} failed: {exc}")
                if verdict.failed is not None:
                    kind = verdict.failed[1]
                    if kind == "malformed":
                        return done(Status.CRASHED, "malformed value on the sandbox's result channel")
                    status = Status.FAILED if kind == "fail" else Status.ERROR
                    return done(status, _registered_message(test.fn, verdict.failed))
                seen.add(frame[1])
                continue
            try:
                values = _wire.decode(frame[2])
            except _wire.WireFormatError:
                return done(Status.CRASHED, "malformed value on the sandbox's result channel")
            if not isinstance(values, tuple) or len(values) != len(checks[frame[1]].holes):
                return done(Status.CRASHED, "the program wrote to the sandbox's result channel")
            check = checks[frame[1]]
            try:
                if isinstance(prep.test, CallTest):
                    ok, message = _judge_value(prep.test.fn, values[0], prep.test.expected, prep.test.atol)
                elif host_safe(check.template):
                    ok, message = judge(check, values)
                else:  # a template whose cost a test or a program could make unbounded
                    ok, message = judge_in_process(check, frame[2], prep.judge_timeout_s)
            except JudgeTimeout as exc:
                return done(Status.ERROR, f"judging {_clip(check.source)} failed: {exc}")
            except JudgeError as exc:
                return done(Status.ERROR, str(exc))
            except Exception as exc:  # noqa: BLE001 - the assert raised, as it would in the reference harness
                return done(Status.ERROR, f"{type(exc).__name__}: {exc}")
            if not ok:
                return done(Status.FAILED, message)
            seen.add(frame[1])
        elif tag == "u":
            return done(Status.FAILED, f"strict mode: {_text(frame[2], 500) if len(frame) > 2 else 'unserializable value'}")
        elif tag == "e":
            return done(Status.ERROR, _error_text(frame))
        elif tag == "m":
            return done(Status.MEMORY, "MemoryError")
        elif tag == "s":
            return done(Status.CRASHED, f"the program called exit({_text(frame[1], 200) if len(frame) > 1 else ''}) during the test")
        elif tag == "f":
            return done(Status.FAILED, _text(frame[1], 2000) if len(frame) > 1 else "assertion failed")
        elif tag == "p":
            compat_pass = True
        elif tag == "d":
            finished = True
        else:
            garbage = True
            break
    ended = _ended(done, raw, end, oom_killed)
    if ended is not None:
        return ended
    if garbage:  # the frames after it were not read: whether the test finished is unknown
        return done(Status.CRASHED, "the program wrote to the sandbox's result channel")
    if end == "exit":
        code = (_wstatus(raw) >> 8) & 0xFF
        if code != 0 or not finished:
            return done(Status.CRASHED, f"the process exited (code {code}) before the test finished")
    elif end != "done":
        return done(Status.CRASHED, f"the test ended unexpectedly ({end})")
    if not finished:
        return done(Status.CRASHED, "the test stopped before finishing")
    test = prep.test
    if isinstance(test, IOTest):
        actual = common["stdout"]
        shown = actual.encode()[: prep.output_bytes].decode("utf-8", "ignore")
        if len(shown) < len(actual):
            common.update(stdout=shown, truncated=True)
        if raw.get("trunc") and len(actual.encode()) >= prep.payload["cap"]:
            return done(Status.FAILED, "stdout exceeded the output cap")
        if compare_io(actual, test.expected_stdout, test.match, test.float_tol):
            return done(Status.PASSED)
        return done(Status.FAILED, f"stdout {_short(actual)} != expected {_short(test.expected_stdout)}")
    if prep.payload["k"] == "compat" and not compat_pass:
        return done(Status.CRASHED, "the test stopped before finishing")
    if not seen.issuperset(prep.required):
        return done(Status.CRASHED, "the test claimed to finish without running its asserts (forged result channel?)")
    return done(Status.PASSED)


def _q_outcome(raw: dict[str, Any], done: Callable[..., Outcome], oom_killed: bool) -> Outcome:
    """A test judged in a test process Q: only Q's verdict (on Q's own pipe) can pass it."""
    end = raw.get("end")
    verdict = q_verdict(raw)
    if verdict is not None and verdict[0] != "pass":
        v, message = verdict
        status = {"fail": Status.FAILED, "strict": Status.FAILED, "error": Status.ERROR, "memory": Status.MEMORY}
        return done(status.get(v, Status.CRASHED), message)
    ended = _ended(done, raw, end, oom_killed)
    if ended is not None:
        return ended
    if end == "exit":
        wstatus = _wstatus(raw)
        if (wstatus >> 8) & 0xFF:
            return done(Status.CRASHED, f"the process exited (code {(wstatus >> 8) & 0xFF}) before the test finished")
    elif end != "done":
        return done(Status.CRASHED, f"the test ended unexpectedly ({end})")
    if verdict is None:
        status_name, message = q_death(raw)
        return done(Status.TIMEOUT if status_name == "timeout" else Status.CRASHED, message)
    return done(Status.PASSED)


def _ended(done: Callable[..., Outcome], raw: dict[str, Any], end: Any, oom_killed: bool) -> Outcome | None:
    """The outcome a step's end decides by itself (a time limit, a death, a signal), or None."""
    if end == "timeout":
        reason = raw.get("reason", "")
        detail = {"cpu": "CPU time limit", "wall": "wall-time limit", "job": "job time budget"}.get(reason, "time limit")
        return done(Status.TIMEOUT, f"exceeded the {detail}")
    if end == "died":
        return _death(done, raw, oom_killed, "the program's process died")
    sig = _wstatus(raw) & 0x7F if end == "exit" else 0
    if not sig:
        return None
    if sig == signal.SIGKILL and oom_killed:
        return done(Status.MEMORY, "killed by the sandbox's memory limit")
    if sig == signal.SIGXCPU:
        return done(Status.TIMEOUT, "exceeded the CPU time limit")
    if sig == signal.SIGXFSZ:
        return done(Status.CRASHED, "exceeded the file size limit (SIGXFSZ)")
    return done(Status.CRASHED, f"killed by {_signal_name(sig)}")


def _error_text(frame: list[Any]) -> str:
    """An exception frame ``["e", {type, msg, tb}]`` as a message; any field may be forged."""
    info = frame[1] if len(frame) > 1 and isinstance(frame[1], dict) else {}
    text = f"{_text(info.get('type', 'Exception'), 200)}: {_text(info.get('msg', ''), 2000)}"
    tb = _text(info.get("tb") or "", 4000)
    return text + ("\n" + tb if tb else "")


def _death(done: Callable[..., Outcome], raw: dict[str, Any], oom_killed: bool, what: str) -> Outcome:
    status = _wstatus(raw)
    sig = status & 0x7F if status > 0 else 0
    if oom_killed and (sig == signal.SIGKILL or sig == 0):
        return done(Status.MEMORY, "killed by the sandbox's memory limit")
    if sig:
        return done(Status.CRASHED, f"{what} ({_signal_name(sig)})")
    return done(Status.CRASHED, what)


def _batch_outcome(
    prep: Prepared, test: CallBatchTest, raw: dict[str, Any], done: Callable[..., Outcome], oom_killed: bool
) -> Outcome:
    """Judge a CallBatchTest's values in call order: the first call that does not pass decides."""
    n = len(test.calls)
    garbage = False
    judged = 0
    finished = False
    reg = prep.judge
    returned: list[Any] | None = [] if test.returns else None
    pending: list[bytes] = []  # values for the registered judge, judged together when a non-value frame comes

    def at(status: Status, message: str, index: int | None) -> Outcome:
        return dataclasses.replace(done(status, message), call_index=index)

    def flush() -> Outcome | None:
        """Judge the pending values in the judge process (one request per test)."""
        nonlocal judged
        if not pending:
            return None
        assert reg is not None
        start = judged
        try:
            verdict = _judge_registered(reg, pending, start, False, prep.judge_timeout_s)
        except JudgeTimeout as exc:
            return at(Status.ERROR, f"calls {start}-{start + len(pending) - 1}: judging with {test.judge!r} failed: {exc}",
                      start)
        finally:
            pending.clear()
        judged = start + verdict.passed
        if verdict.failed is None:
            return None
        i, kind, _ = verdict.failed
        if kind == "malformed":
            return at(Status.CRASHED, "malformed value on the sandbox's result channel", None)
        status = Status.FAILED if kind == "fail" else Status.ERROR
        return at(status, f"call {i}: {_registered_message(test.fn, verdict.failed)}", i)

    forged = "the program wrote to the sandbox's result channel"
    for frame, line in _frames(raw.get("lines", ())):
        if frame is None:
            garbage = True
            break
        tag = frame[0]
        if tag == "c" and reg is not None:
            if len(frame) != 3 or frame[1] != judged + len(pending) or judged + len(pending) >= n:
                return flush() or at(Status.CRASHED, forged, None)
            pending.append(_raw_value(line, frame))
            continue
        if pending:
            ended = flush()
            if ended is not None:
                return ended
        if tag == "c":
            if len(frame) != 3 or frame[1] != judged or judged >= n:
                return at(Status.CRASHED, forged, None)
            try:
                value = _wire.decode(frame[2])
            except _wire.WireFormatError:
                return at(Status.CRASHED, "malformed value on the sandbox's result channel", None)
            i = judged
            if returned is not None:  # asked for, not judged
                returned.append(value)
                judged += 1
                continue
            try:
                ok, message = _judge_value(test.fn, value, test.expected[i], test.atol_of(i))
            except Exception as exc:  # noqa: BLE001 - the comparison raised, as an assert would
                return at(Status.ERROR, f"call {i}: {type(exc).__name__}: {exc}", i)
            if not ok:
                return at(Status.FAILED, f"call {i}: {message}", i)
            judged += 1
        elif tag == "kt":
            if len(frame) != 2 or frame[1] != judged:
                return at(Status.CRASHED, forged, None)
            return at(Status.TIMEOUT, f"call {judged} exceeded its time limit ({test.timeout_of(judged)} s)", judged)
        elif tag == "u":
            return at(Status.FAILED, f"call {judged}: strict mode: {_text(frame[2], 500) if len(frame) > 2 else 'unserializable value'}", judged)
        elif tag == "e":
            return at(Status.ERROR, f"call {judged}: {_error_text(frame)}", judged if judged < n else None)
        elif tag == "m":
            return at(Status.MEMORY, f"call {judged}: MemoryError", judged if judged < n else None)
        elif tag == "s":
            return at(Status.CRASHED, f"the program called exit({_text(frame[1], 200) if len(frame) > 1 else ''}) during call {judged}", judged if judged < n else None)
        elif tag == "d":
            finished = True
        else:
            garbage = True
            break
    ended = flush()
    if ended is not None:
        return ended
    end = raw.get("end")
    if end == "timeout":
        reason = raw.get("reason", "")
        detail = {"cpu": "CPU time limit", "wall": "wall-time limit", "job": "job time budget"}.get(reason, "time limit")
        return at(Status.TIMEOUT, f"exceeded the {detail} after {judged} of {n} calls", None)
    if end == "died":
        return _death(done, raw, oom_killed, f"the program's process died during call {judged}")
    if garbage:  # the frames after it were not read: whether the test finished is unknown
        return at(Status.CRASHED, forged, None)
    if end == "exit":
        status = _wstatus(raw)
        sig = status & 0x7F
        if sig == signal.SIGKILL and oom_killed:
            return at(Status.MEMORY, "killed by the sandbox's memory limit", None)
        if sig == signal.SIGXCPU:
            return at(Status.TIMEOUT, "exceeded the CPU time limit", None)
        if sig or ((status >> 8) & 0xFF) != 0 or not finished:
            return at(Status.CRASHED, f"the process ended before the test finished ({_signal_name(sig) if sig else status >> 8})", None)
    elif end != "done":
        return at(Status.CRASHED, f"the test ended unexpectedly ({end})", None)
    if not finished or garbage or judged != n:
        return at(Status.CRASHED, forged if garbage or finished else "the test stopped before finishing", None)
    if returned is not None:
        return dataclasses.replace(done(Status.PASSED), values=tuple(returned))
    return done(Status.PASSED)
