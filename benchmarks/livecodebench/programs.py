"""The sandbox programs lcb_runner would run: its prelude, the ``wrapped_function`` module, the stdin driver."""

from __future__ import annotations

import ast

from acesandbox.syntax import parse as parse_ast

__all__ = ["MARK", "PRELUDE", "call_program", "call_target", "stdio_program", "timed"]

_STAR_MODULES = (
    "string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random",
    "statistics", "itertools", "functools", "operator", "io", "sys", "json", "builtins", "typing",
)
_PLAIN_MODULES = _STAR_MODULES[:16]
PRELUDE = (
    "".join(f"from {m} import *\n" for m in _STAR_MODULES)
    + "".join(f"import {m}\n" for m in _PLAIN_MODULES)
    + "sys.setrecursionlimit(50000)\n"
)
"""The imports lcb_runner puts before every program (same modules, same order)."""

# What the official process has set before it loads a program: the evaluator module raises
# the int-to-str digit limit, and its reliability guard removes ``quit``.
_HEADER = (
    "import sys as __lcb_sys, builtins as __lcb_builtins; __lcb_sys.set_int_max_str_digits(50000); "
    "__lcb_builtins.quit = None; del __lcb_sys, __lcb_builtins; "
)
"""Joined to the prelude's first line, so line numbers in error messages match the official ones."""

# The stdin mock of lcb_runner >= 2025-05-23 ("buffered"): read() and readlines() always see
# the whole input, buffer.read() its bytes, and the object is not iterable.
_DRIVER = '''

def __lcb_stdio__(__lcb_input, __lcb_mock="buffered"):
    import io as _io, sys as _sys
    from unittest import mock as _mock

    text = "\\n".join(__lcb_input) if isinstance(__lcb_input, list) else __lcb_input
    lines = iter(text.split("\\n"))

    class _Buffer:
        def __init__(self, s):
            self._b = s.encode("utf-8")
        def read(self, *a):
            return self._b
        def readline(self, *a):
            return self._b.split(b"\\n")[0] + b"\\n"

    class _Stdin:
        def __init__(self, s):
            self._s = s
            self._io = _io.StringIO(s)
            self.buffer = _Buffer(s)
        def read(self, *a):
            return self._s
        def readline(self, *a):
            return self._io.readline(*a)
        def readlines(self, *a):
            return self._s.split("\\n")
        def __getattr__(self, name):
            return getattr(self._io, name)

    fake = _Stdin(text) if __lcb_mock == "buffered" else _io.StringIO(text)

    @_mock.patch("builtins.open", _mock.mock_open(read_data=text))
    @_mock.patch("sys.stdin", fake)
    @_mock.patch("sys.stdin.readline", lambda *a: next(lines))
    @_mock.patch("sys.stdin.readlines", lambda *a: text.split("\\n"))
    @_mock.patch("sys.stdin.read", lambda *a: text)
    def call():
        try:
            __lcb_main__()
        except SystemExit:
            pass

    out = _io.StringIO()
    out.close = lambda *a: 1
    saved = _sys.stdout
    _sys.stdout = out
    try:
        call()
    finally:
        _sys.stdout = saved
    return out.getvalue()


__lcb_main__ = globals().get("wrapped_function")


def __lcb_fd0__():
    # fd 0 of the official process is its own stdin, which never reaches end of file: code that
    # reads it directly (open(0) with the real open the prelude bound) waits for the alarm.
    import os as _os
    r, w = _os.pipe()
    _os.dup2(r, 0)
    _os.close(r)
    return w


__lcb_fd0_writer__ = __lcb_fd0__()
del __lcb_fd0__
'''


def _inline_main_guard(code: str) -> str:
    """Inline a trailing ``if __name__ == '__main__':`` block (the official rule)."""
    try:
        tree = parse_ast(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            head = ast.unparse(ast.Module(body=tree.body[:-1], type_ignores=[]))
            return head + "\n" + ast.unparse(ast.Module(body=last.body, type_ignores=[]))
    except Exception:  # noqa: BLE001 - the official rule leaves such code alone
        pass
    return code


def _wrapped_module(code: str) -> str:
    """Prelude, hoisted imports and ``def wrapped_function():`` around everything else.

    Code that does not parse comes back unchanged (it then fails to load, as officially).
    An empty body gives a function with no body: a syntax error, as officially.
    """
    try:
        tree = parse_ast(code)
    except Exception:  # noqa: BLE001 - SyntaxError, or a ValueError for NUL bytes
        return code
    imports: list[ast.stmt] = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    others = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    fn = ast.FunctionDef(
        name="wrapped_function",
        args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=others,
        decorator_list=[],
        returns=None,
        type_comment=None,
        lineno=1,
    )
    if hasattr(ast, "TypeVar"):  # Python >= 3.12 has type_params on functions
        fn.type_params = []  # type: ignore[attr-defined,unused-ignore]
    return (
        PRELUDE
        + "\n"
        + ast.unparse(ast.Module(body=imports, type_ignores=[]))
        + "\n"
        + ast.unparse(ast.Module(body=[fn], type_ignores=[]))
    )


def stdio_program(code: str) -> str:
    """The sandbox program for a stdin/stdout problem: the official module plus the driver."""
    return _HEADER + _wrapped_module(_inline_main_guard(code)) + "\n" + _DRIVER


def call_program(code: str) -> str:
    """The sandbox program for a call-based problem: the prelude, then the code."""
    return _HEADER + PRELUDE + "\n\n" + code


def call_target(code: str, func_name: str) -> str:
    """``Solution.<name>`` when the code mentions ``class Solution`` (the official test), else the name."""
    return f"Solution.{func_name}" if "class Solution" in code else func_name


MARK = "<livecodebench: timed call 3e81a4>"
"""First item of the tuple the timing wrapper returns for a slow call: (MARK, job id, call, seconds, value)."""

_TIMED = """

import time as __lcb_time__
__lcb_job__ = {job_id!r}

def __lcb_timed__(__lcb_call, *args):
    __lcb_start = __lcb_time__.perf_counter()
    out = {target}(*args)
    __lcb_spent = __lcb_time__.perf_counter() - __lcb_start
    if type(out) is int and out.bit_length() > 166000:
        str(out)  # lcb_runner writes a wrong value out: past 50,000 digits that raises (a runtime error)
    if __lcb_spent > {slow!r} or type(out) is tuple and len(out) == 5 and out[:1] == ({mark!r},):
        return ({mark!r}, __lcb_job__, __lcb_call, __lcb_spent, out)
    return out
"""


def timed(program: str, target: str, job_id: str, slow_s: float) -> str:
    """``program`` plus ``__lcb_timed__(call, *args)``, which calls ``target`` as lcb_runner times
    a test (the call alone, under its alarm) and sends a call slower than ``slow_s`` out with its
    time, ``(MARK, job_id, call, seconds, value)``; a value shaped like that goes out the same
    way, so the judge never takes a program's own value for a time (:mod:`benchmarks.margins`).

    An int past the 50,000-digit limit raises ValueError here, as it does officially when
    lcb_runner writes the wrong value into its metadata (no expected value is that long: the
    official ``json.loads`` of one would raise), where it could not cross the wire."""
    if "." in target:  # "Solution.f": a fresh instance per call, as acesandbox's CallTest does
        cls, _, meth = target.rpartition(".")
        expr = f"{cls}().{meth}"
    else:
        expr = f"(globals()[{target!r}] if {target!r} in globals() else Solution().{target})"
    return program + _TIMED.format(job_id=job_id, target=expr, slow=float(slow_s), mark=MARK)
