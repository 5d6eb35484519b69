"""The programs BigCodeBench runs (official module namespace, one unittest suite) and their official status.

:func:`task_status` refines :meth:`~benchmarks.verdicts.Verdict.from_status` as the official
harness does: a process that died, or was killed for memory, is ``timeout`` (the official
parent never hears back); any failing method is ``fail``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

from acesandbox import Report, Status
from acesandbox.syntax import parse as parse_ast

from ..verdicts import FAIL, PASS, SANDBOX_ERROR, TIMEOUT, Verdict

__all__ = ["LISTING_ORDER", "REPORT", "SUITE", "sanitize", "task_status", "test_methods", "with_prelude"]

def sanitize(code: str) -> str:
    """Keep what the official sanitizer keeps at the top level: imports, definitions, assignments.

    Usage examples, prints and ``if __name__ == "__main__"`` blocks after the function
    would otherwise run when the program loads. Code that does not parse is returned as is.
    """
    try:
        tree = parse_ast(code)
    except SyntaxError:
        return code
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
    lines = code.splitlines(keepends=True)
    out: list[str] = []
    for node in tree.body:
        if isinstance(node, keep):
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            out.extend(lines[start - 1 : node.end_lineno])
    return "".join(out) if out else code


LISTING_ORDER = '''
import os


def _probe():
    """The order a new scratch folder lists ``a``, ``c``, ``b`` made in that order (None: unknown)."""
    where = ".acecoder-listing-probe-%d" % os.getpid()
    try:
        os.mkdir(where)
        try:
            for name in ("a", "c", "b"):
                os.close(os.open(os.path.join(where, name), os.O_CREAT | os.O_WRONLY, 0o600))
            return tuple(os.listdir(where)), os.stat(where).st_dev
        finally:
            for name in ("a", "c", "b"):
                try:
                    os.unlink(os.path.join(where, name))
                except OSError:
                    pass
            os.rmdir(where)
    except OSError:
        return None


def _install():
    probe = _probe()
    if probe is None or probe[0] != ("b", "c", "a"):
        return  # already creation order (or unknown): nothing to emulate
    scratch_dev = probe[1]
    listdir, scandir = os.listdir, os.scandir

    def on_scratch(path):
        try:
            return os.stat("." if path is None else path).st_dev == scratch_dev
        except (OSError, TypeError, ValueError):
            return False

    class _Entries:
        """What ``os.scandir`` returns, in creation order."""

        def __init__(self, it):
            with it:
                self._entries = list(it)[::-1]
            self._at = 0

        def __iter__(self):
            return self

        def __next__(self):
            if self._at >= len(self._entries):
                raise StopIteration
            self._at += 1
            return self._entries[self._at - 1]

        def close(self):
            self._at = len(self._entries)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.close()

    def listdir_created(path=None):
        names = listdir(path) if path is not None else listdir()
        return names[::-1] if on_scratch(path) else names

    def scandir_created(path=None):
        it = scandir(path) if path is not None else scandir()
        return _Entries(it) if on_scratch(path) else it

    listdir_created.__name__, scandir_created.__name__ = "listdir", "scandir"
    listdir_created.__doc__, scandir_created.__doc__ = listdir.__doc__, scandir.__doc__
    os.listdir, os.scandir = listdir_created, scandir_created
    os.supports_fd.add(scandir_created)


_install()
'''
"""Folders in the scratch list their entries in creation order, as the official evaluator's did.

The official runs listed a new folder oldest first (BigCodeBench/67: two solutions that
list unsorted passed, which needs ``EMP001`` .. ``EMP003``, ``A1`` .. ``A3``, ``B1``,
``B2`` each in creation order; a disk such as XFS lists a small folder so, ext4 in hash
order). The sandbox's tmpfs lists newest first on this kernel, so ``os.listdir`` and
``os.scandir`` (and with them ``os.walk``, ``glob`` and ``pathlib``) reverse it for
folders on the scratch. A probe decides at load: where the scratch already lists in
creation order, or in another order, nothing is changed. Rescoring the 414 samples of
the 12 official runs whose solution or test lists a folder, creation order changes only
67's two verdicts (both to the official ones); name order would too, nothing in those
runs tells the two apart.
"""

_PRELUDE = (
    "import os, sys; environ = os.environ; __name__ = '__test__'; __file__ = '__test__.py'; "
    "os.environ['TZ'] = 'UTC'; __import__('time').tzset(); __import__('faulthandler').disable(); "
    "__import__('builtins').exit = None; __import__('builtins').quit = None; "
    "__import__('importlib.util').util.find_spec('matplotlib') and "
    "__import__('matplotlib.pyplot').pyplot.close('all'); "
    f"exec(compile({LISTING_ORDER!r}, '<listing order>', 'exec'), {{'__builtins__': __import__('builtins')}})\n"
)
"""One line run before the program: the official module namespace and reliability guard,
and :data:`LISTING_ORDER`."""


def with_prelude(program: str, *, nltk_data: str | None = None) -> str:
    """The program with :data:`_PRELUDE` after any leading ``from __future__`` imports.

    ``nltk_data``: a folder set as ``NLTK_DATA`` first (the pinned venv's NLTK data), so
    nltk finds it as the official programs found theirs on its default search path."""
    at = 0
    if "__future__" in program:
        try:
            body = parse_ast(program).body
        except SyntaxError:
            body = []
        for i, node in enumerate(body):
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                at = node.end_lineno or at
            elif not (i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
                break
    lines = program.splitlines(keepends=True)
    head = "".join(lines[:at])
    if head and not head.endswith("\n"):
        head += "\n"
    prelude = _PRELUDE if not nltk_data else f"__import__('os').environ['NLTK_DATA'] = {str(nltk_data)!r}; " + _PRELUDE
    return head + prelude + "".join(lines[at:])


def test_methods(test_source: str) -> list[str]:
    """``TestCases``' test methods in unittest's order (sorted by name); [] when unknown."""
    try:
        tree = parse_ast(test_source)
    except SyntaxError:
        return []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "TestCases":
            names = {f.name for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
            return sorted(n for n in names if n.startswith("test"))
    return []


SUITE = '''
def __bcb_suite__():
    import contextlib, io, sys, unittest
    g = globals()

    class _Module:
        """sys.modules['__test__']: the program's namespace, as the official module object."""

        def __getattribute__(self, name):
            if name == "__dict__":
                return g
            try:
                return g[name]
            except KeyError:
                raise AttributeError(name) from None

        def __setattr__(self, name, value):
            g[name] = value

        def __delattr__(self, name):
            try:
                del g[name]
            except KeyError:
                raise AttributeError(name) from None

    class _Sink(io.StringIO):
        def read(self, *args, **kwargs):
            raise OSError
        readline = readlines = read

        def readable(self, *args, **kwargs):
            return False

    sys.modules["__test__"] = _Module()
    suite = unittest.TestLoader().loadTestsFromTestCase(g["TestCases"])
    result = unittest.TestResult()
    sink, stdin = _Sink(), sys.stdin
    import signal

    class TimeoutException(Exception):
        pass

    def _alarm(signum, frame):
        raise TimeoutException("Timed out!")

    # The official time_limit(): at the task's limit an alarm raises in the test that is
    # running (an error: the task fails); the sandbox ends the suite a second later.
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, %r)
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        sys.stdin = sink
        try:
            suite.run(result)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdin = stdin
    return {t.id().split(".")[-1]: trace for t, trace in result.failures + result.errors}


__bcb_issues__ = __bcb_suite__()
__bcb_unlisted__ = sorted(set(__bcb_issues__) - set(%r))
if __bcb_unlisted__:
    raise AssertionError("unlisted methods failed: " + ", ".join(__bcb_unlisted__) + "\\n"
                         + __bcb_issues__[__bcb_unlisted__[0]][-1800:])
'''

REPORT = "__bcb_t = __bcb_issues__.get(%r)\nif __bcb_t is not None:\n    raise AssertionError(__bcb_t[-1990:])\n"
_EXIT_AT_LOAD = re.compile(r"called exit\(.*\) while loading")


# ---------------------------------------------------------------- verdicts


def task_status(report: Report, methods: Sequence[str]) -> tuple[Verdict, dict[str, str]]:
    """The official ``(status, details)`` of one run of a task's suite.

    ``report`` holds the suite test then one test per name in ``methods``.
    """
    outcomes = report.outcomes
    if any(o.status is Status.SANDBOX_ERROR for o in outcomes):
        return SANDBOX_ERROR, {"ALL": next(o.message for o in outcomes if o.status is Status.SANDBOX_ERROR)}
    for o in outcomes:
        if o.status is Status.TIMEOUT:
            return TIMEOUT, {}
        if o.status is Status.CRASHED and not _EXIT_AT_LOAD.search(o.message):
            return TIMEOUT, {}  # the process died: the official parent never hears back
        if o.status is Status.MEMORY and o.message.startswith("killed"):
            return TIMEOUT, {}  # killed for memory: the same (the official cap is 30 GB of address space)
    if all(o.status is Status.PASSED for o in outcomes):
        return PASS, {}
    suite = outcomes[0] if outcomes else None
    if suite is None or suite.status is not Status.PASSED and not suite.message.startswith("unlisted methods failed"):
        return FAIL, {"ALL": suite.message if suite is not None else "no result"}
    details: dict[str, str] = {}
    if suite.status is not Status.PASSED:
        names = suite.message.split("\n", 1)[0].split(": ", 1)[1]
        for name in names.split(", "):
            details[name] = suite.message
    for name, o in zip(methods, outcomes[1:]):
        if o.status is not Status.PASSED:
            details[name] = o.message
    return FAIL, details
