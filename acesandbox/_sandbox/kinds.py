"""Running one test body inside J or T_k, per test kind, and writing its result frames."""

from __future__ import annotations

import builtins
import os
import signal
import sys
import traceback
import types
from json.encoder import encode_basestring_ascii

from .. import _wire
from .framing import frame, frame_line, write_all

TYPE_CHECKING = False  # no typing at run time (see __init__.py)
if TYPE_CHECKING:
    from types import CodeType
    from typing import Any

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""Frames from files under here are ours, not the program's: left out of tracebacks."""


_DONE = b'["d"]\n'  # frames without data, written as they are (no encoder call)
_PASSED = b'["p"]\n'


class StopTest(BaseException):
    """Raised by the runtime to end a test body early (never caught by our runner)."""


def compile_test(code: str) -> CodeType:
    """A test's code, compiled the same way wherever it is (the server ahead, J, T_k), as a
    plain interpreter compiles it (none of this module's ``__future__`` flags)."""
    return compile(code, "<test>", "exec", dont_inherit=True)


def code_of(test: dict[str, Any]) -> CodeType:
    """The test's compiled code: the server's (see ``loop.CodeCache``) or J's, else compiled now."""
    return test.get("_code") or compile_test(test["code"])


def exc_info(exc: BaseException) -> dict[str, Any]:
    # traceback is imported with this module, in the server: importing it in each test
    # process that reports an exception cost more than the rest of the test (~2 ms).
    # Only the program's and the test's frames: ours are noise to the user.
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_PKG_DIR)]
    text = "".join(traceback.format_list(frames)) + "".join(traceback.format_exception_only(type(exc), exc))
    return {
        "type": type(exc).__name__,
        "mro": [c.__name__ for c in type(exc).__mro__],
        "msg": str(exc)[:2000] if not isinstance(exc, RecursionError) else "maximum recursion depth exceeded",
        "tb": text[-4000:],
    }


def report_exception(fd: int, exc: BaseException) -> None:
    try:
        if isinstance(exc, SystemExit):
            frame(fd, ["s", repr(exc.code)[:200]])
        elif isinstance(exc, MemoryError):
            frame(fd, ["m"])
        else:
            frame(fd, ["e", exc_info(exc)])
    except BaseException:  # noqa: BLE001 - a hostile exception whose str() raises
        try:
            frame(fd, ["e", {"type": "BaseException", "mro": [], "msg": "<unprintable exception>", "tb": ""}])
        except BaseException:  # noqa: BLE001
            pass


def flush_std() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:  # noqa: BLE001
            pass


_UNBOUND = object()


def run_suite(namespace: dict[str, Any], before: dict[str, Any]) -> Any:
    """Run the TestCase classes a test defined (bound to another object than in ``before``,
    the namespace as it was: in shared mode a second test's ``class TestCases`` rebinds a
    name the first one bound), stopping at the first failure; the unittest.TestResult."""
    import unittest

    classes = [
        v for k, v in namespace.items()
        if before.get(k, _UNBOUND) is not v and isinstance(v, type) and issubclass(v, unittest.TestCase)
    ]
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for cls in classes:
        suite.addTests(loader.loadTestsFromTestCase(cls))
    result = unittest.TestResult()
    result.failfast = True
    suite.run(result)
    return result


def _run_unittests(namespace: dict[str, Any], before: dict[str, Any], fd: int) -> None:
    result = run_suite(namespace, before)
    for test, text in result.errors + result.failures:
        kind = "f" if (test, text) in result.failures else "e"
        if kind == "f":
            frame(fd, ["f", text[-2000:]])
        else:
            frame(fd, ["e", {"type": "Error", "mro": [], "msg": f"{test}", "tb": text[-4000:]}])
        raise StopTest
    if result.testsRun == 0:
        frame(fd, ["e", {"type": "NoTests", "mro": [], "msg": "no unittest test methods found", "tb": ""}])
        raise StopTest


class _CallTimeout(BaseException):
    """Raised by the per-call timer of a batch of calls."""


def _on_alarm(signum: int, frame: object) -> None:
    raise _CallTimeout


def _run_calls(test: dict[str, Any], g: dict[str, Any], fd: int) -> None:
    """A CallBatchTest: call the function on each argument tuple, one value frame per call.

    Stops at the first call that raises or outlives its timer; the parent judges the
    values in order, so computing more after a wrong value changes no verdict."""
    exec(code_of(test), g)
    fn = g.pop("__ace_fn__")
    calls: list[tuple[Any, ...]] = _wire.decode(test["calls"])  # type: ignore[assignment]  # the host encoded a list of tuples
    tl = test.get("tl")
    per = tl if isinstance(tl, list) else None
    encode, unserializable = _wire.encode, _wire.UnserializableValue
    setitimer, real = signal.setitimer, signal.ITIMER_REAL
    signal.signal(signal.SIGALRM, _on_alarm)
    i = 0
    try:
        for i, args in enumerate(calls):
            t = per[i] if per is not None else tl
            if t:
                setitimer(real, t)
                try:
                    value = fn(*args)
                finally:
                    setitimer(real, 0)
            else:
                value = fn(*args)
            try:
                payload = encode(value)
            except unserializable as exc:
                frame(fd, ["u", i, str(exc)[:500]])
                raise StopTest from None
            frame(fd, ["c", i, payload])
    except _CallTimeout:
        flush_std()
        frame(fd, ["kt", i])
        raise StopTest from None


def lockstep(job: dict[str, Any]) -> bool:
    """Whether J runs a shared-mode job's tests in step with pid 1: with stdin/stdout tests,
    each test's output is its result, and pid 1 reads all of it before the next test starts
    (running ahead, the next tests' output would mix with it in the one pipe). J and pid 1
    each decide it from the job; J before the program runs (it may patch builtins)."""
    return job["mode"] == "shared" and any(t["k"] == "io" for t in job["tests"])


def _run_io(test: dict[str, Any], program_code: CodeType) -> None:
    """A stdin/stdout program, run as ``python program.py < input`` runs it: as the module
    ``__main__`` (its classes pickle, multiprocessing finds its functions), with CPython's
    stdin (buffered, lines split at "\\n" only: a "\\r" stays), ending normally when it
    exits with status 0 (``sys.exit()``, ``exit()``, ``quit()``), and, as the interpreter
    does when a program ends, waiting for its threads and then running its atexit handlers
    (a solution that runs ``main`` in a thread with a larger stack prints from there)."""
    import atexit
    import io

    data = test.get("stdin", "").encode("utf-8", "surrogateescape")
    mfd = os.memfd_create("stdin")
    write_all(mfd, data)
    os.lseek(mfd, 0, os.SEEK_SET)
    os.dup2(mfd, 0)
    os.close(mfd)
    raw = io.FileIO(0, "r", closefd=False)
    sys.stdin = io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8", errors="surrogateescape", newline="\n")
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins  # type: ignore[attr-defined]
    before = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    try:
        try:
            exec(program_code, main.__dict__)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise
        threading = sys.modules.get("threading")
        if threading is not None:
            # As threading._shutdown: its exit hooks first (they wake a ThreadPoolExecutor's
            # idle workers, which would wait forever), then every non-daemon thread joined.
            for hook in reversed(getattr(threading, "_threading_atexits", ())):
                hook()
            pool = sys.modules.get("concurrent.futures.thread")
            if pool is not None:
                pool._shutdown = False  # type: ignore[attr-defined]  # shared mode: later tests may submit again
            me = threading.current_thread()
            for thread in threading.enumerate():
                if thread is not me and not thread.daemon:
                    thread.join()
        atexit._run_exitfuncs()
    finally:
        if before is not None:
            sys.modules["__main__"] = before


_MAX_PLAIN_INT = 10**_wire.MAX_JSON_DIGITS
_MAX_PLAIN_STR = 4096
_MAX_PLAIN_CHARS = 1 << 20  # far below the wire encoder's budget (_wire.DEFAULT_MAX_BYTES)
_float_repr = float.__repr__
_int_repr = int.__repr__
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _plain_frame(ci: int, values: tuple[Any, ...]) -> bytes | None:
    """The frame of a check whose values are all None, bools, ints, floats or strings of
    plain types (most asserts' values), as ``frame_line(["c", ci, _wire.encode(values)])``
    writes it; None for any other value. A test process writes fewer of J's pages this
    way (each first write copies one)."""
    parts = []
    size = 0
    for v in values:
        t = type(v)
        if v is None:
            parts.append("null")
        elif t is bool:
            parts.append("true" if v else "false")
        elif t is int and -_MAX_PLAIN_INT < v < _MAX_PLAIN_INT:
            parts.append(_int_repr(v))
        elif t is float:
            r = _float_repr(v)
            parts.append(_NON_FINITE.get(r, r))
        elif t is str and len(v) <= _MAX_PLAIN_STR:
            size += len(v)
            if size > _MAX_PLAIN_CHARS:  # the encoder's size budget decides
                return None
            parts.append(encode_basestring_ascii(v))
        else:
            return None
    return ('["c",%d,{"$t":[%s]}]\n' % (ci, ",".join(parts))).encode("ascii")


class _Checks:
    """``__ace_check__``, the call a planned test makes at each check: writes its frame
    (see :func:`run_test`). One object, set up for each test: a test process allocates
    nothing for it (each new object can copy a page of J's)."""

    __slots__ = ("fd", "held", "last")

    def __init__(self) -> None:
        self.fd = -1
        self.last = -1
        self.held: list[bytes] = []

    def __call__(self, ci: int, values: tuple[Any, ...]) -> None:
        line = _plain_frame(ci, values)
        if line is None:
            try:
                payload = _wire.encode(values)
            except _wire.UnserializableValue as exc:
                frame(self.fd, ["u", ci, str(exc)[:500]])
                raise StopTest from None
            line = frame_line(["c", ci, payload])
        if ci == self.last:
            self.held.append(line)
        else:
            write_all(self.fd, line)

    def release(self) -> None:
        """Write the held frame (before an exception report, or a unittest run)."""
        if self.held:
            write_all(self.fd, b"".join(self.held))
            self.held.clear()


_checks = _Checks()


def run_test(test: dict[str, Any], g: dict[str, Any], program_code: CodeType, fd: int, tail: bytes = b"") -> None:
    """Run one test body here (T_k, or J in shared mode) and write its frames, then
    ``tail`` (J's own frame after the test, in shared mode).

    The frame of the check the test ends with (``test["last"]``, set by the planner
    where the test's last statement is a check call) is held and written with the end
    frame: nothing of the test runs between them, and one write instead of two spares
    the server a wake-up per test. Every other frame is written when it is made, before
    more of the program runs (a later hang or crash must not take an earlier verdict)."""
    kind = test["k"]
    _checks.fd, _checks.last = fd, test.get("last", -1)
    held = _checks.held
    held.clear()
    release = _checks.release
    try:
        if kind == "io":
            _run_io(test, program_code)
        elif kind == "calls":
            _run_calls(test, g, fd)
        elif kind == "q":
            from .testproc import serve, take_channel

            serve(take_channel(test["fdpass"], test["i"]), g, exc_info, flush_std)
        else:
            g["__ace_check__"] = _checks
            before = dict(g) if test.get("unittest") else {}
            if test.get("call"):
                g["__ace_args__"] = _wire.decode(test["args"])
                g["__ace_kwargs__"] = _wire.decode(test["kwargs"])
            exec(code_of(test), g)
            if test.get("unittest"):
                release()
                _run_unittests(g, before, fd)
            if kind == "compat":
                flush_std()
                write_all(fd, _PASSED)
        flush_std()
        write_all(fd, b"".join(held) + _DONE + tail)
        return
    except StopTest:
        release()
    except AssertionError as exc:
        release()
        flush_std()
        if kind == "compat":
            frame(fd, ["f", str(exc)[:2000]])
        else:
            report_exception(fd, exc)
    except BaseException as exc:  # noqa: BLE001 - every program exception is a result
        release()
        flush_std()
        report_exception(fd, exc)
    flush_std()
    if tail:
        write_all(fd, tail)


_WARM_TESTS = (
    {"k": "plan", "code": "__ace_check__(0, (1, 'a', [1.5, None], (True,), {'k': -1}))"},
    {"k": "plan", "code": "__ace_check__(0, (1, 'a', 1.5, None, True, float('nan')))", "last": 0},
    {"k": "plan", "code": "raise ValueError('warm')"},
    {"k": "plan", "code": "assert 1 == 2"},
    {"k": "compat", "code": "assert 1 == 2, 'warm'"},
    {"k": "compat", "code": "pass"},
)


def warm_up(rounds: int = 8) -> None:
    """Run the test paths on constant tests, before the server freezes its heap.

    CPython rewrites a function's bytecode in place as it warms up (3.11's adaptive
    interpreter): done once here, in the process every J and T_k is forked from, not
    again in each test process, where each such write copies a page of J's. No
    program is involved: the tests are ours, their frames go to /dev/null.
    """
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return  # only slower without it
    try:
        program = compile("", "<program>", "exec")
        for _ in range(rounds):
            for test in _WARM_TESTS:
                run_test(dict(test), {"__builtins__": builtins}, program, null)
    finally:
        os.close(null)
