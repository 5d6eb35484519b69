"""Shapes of test code that must be judged outside the program: module functions reached
through an expression, library assert helpers, ``all``/``any`` and comprehensions over
literals; and a program whose own functions must cross into worker processes."""

from __future__ import annotations

from typing import Any, Mapping

from .._kinds import FORGEABLE
from .._result import Report
from .._spec import Limits, UnittestTest
from ._case import BLOCKED, P, Case, src

_PATCHER = src(
    """
    import builtins, importlib, math, unittest
    class Yes:
        def __eq__(self, other):
            return True
        def __ne__(self, other):
            return False
        def __bool__(self):
            return True
        __hash__ = object.__hash__
    builtins.all = lambda *a, **k: True
    builtins.any = lambda *a, **k: True
    math.isclose = lambda *a, **k: True
    builtins.range = lambda *a: iter(())
    for _name in dir(unittest.TestCase):
        if _name.startswith("assert"):
            setattr(unittest.TestCase, _name, lambda *a, **k: None)
    def f(x):
        return Yes()
    def g(x):
        return -1.0
    """
)

# Each test is written so that it passes only if the program's patches (a range that
# runs a loop zero times included) or its lying value decided it; the correct program below passes every one of the same shapes.
_ATTACKS = (
    "assert __import__('math').isclose(g(1), 2.0)",
    "import importlib\nassert importlib.import_module('math').isclose(g(1), 2.0)",
    "import unittest\nunittest.TestCase().assertEqual(f(1), 2)",
    "import unittest\nunittest.TestCase().assertTrue(g(1) > 0)",
    "import unittest\nunittest.TestCase().assertAlmostEqual(g(1), 2.0)",
    "import unittest\nunittest.TestCase().assertIn(g(1), [1.0, 2.0])",
    "assert all(f(x) == y for x, y in [(1, 2), (2, 4)])",
    "assert any(f(x) == 7 for x in range(3))",
    "assert all([f(x) == 2 * x + 1 for x in (1, 2)])",
    "assert [f(a) == b for a, b in zip([1, 2], [2, 4])] == [True, True]",
    "assert all(f(x) == x for x in {1: 2, 3: 4})",
    "for x in range(3):\n    assert g(x) == 2 * x",
    "def check(candidate):\n    for x in range(2):\n        assert candidate(x) == 2 * x\ncheck(g)",
)

_CORRECT = src(
    """
    def f(x):
        return 2 * x
    def g(x):
        return 2.0 * x
    """
)
_CORRECT_TESTS = (
    "assert __import__('math').isclose(g(1), 2.0)",
    "import importlib\nassert importlib.import_module('math').isclose(g(1), 2.0)",
    "import unittest\nunittest.TestCase().assertEqual(f(1), 2)",
    "import unittest\nunittest.TestCase().assertTrue(g(1) > 0)",
    "import unittest\nunittest.TestCase().assertAlmostEqual(g(1), 2.0)",
    "import unittest\nunittest.TestCase().assertIn(g(1), [1.0, 2.0])",
    "assert all(f(x) == y for x, y in [(1, 2), (2, 4)])",
    "assert any(f(x) == 4 for x in range(3))",
    "assert all([g(x) > 0 for x in (1, 2)])",
    "assert [f(a) == b for a, b in zip([1, 2], [2, 4])] == [True, True]",
    "assert all(f(x) == 2 * x for x in {1: 2, 3: 4})",
    "assert not any(f(x) == 3 for x in range(3))",
    "assert sum(f(x) for x in range(4)) == 12",
    "for x in range(3):\n    assert g(x) == 2 * x",
    "def check(candidate):\n    for x in range(2):\n        assert candidate(x) == 2 * x\ncheck(g)",
    "assert all(f(x) == 2 * x for x in range(2000))",  # over the unrolling bound: judged in a test process
)


def _warns_of_nothing_forgeable(report: Report, _elapsed: float, _ctx: Mapping[str, Any]) -> list[str]:
    got = [w for w in report.warnings if FORGEABLE in w]
    return [] if not got else [f"forgeable warnings {got}, expected none (the unsplit test runs in a test process)"]


# A test's own code called from statements the planner lets run in the program's process
# (a print's arguments, an assignment, a decorator, a default, a metaclass, a call's
# arguments), and library names from a star import, which it cannot tell from the program's.
_CHECK = "def check(candidate):\n    assert candidate(1) == 3\n    assert candidate(2) == 5\n    return 1\n"
_UT_HEAD = "import unittest\ndef check(x, y):\n    if f(x) != y:\n        raise AssertionError(x)\n    return True\n"
_HELPER_TESTS: tuple[Any, ...] = (
    _CHECK + "print(check(f))\nassert g(2) == 4",
    _CHECK + "_ = check(f)\nassert g(2) == 4",
    "def deco(fn):\n    assert f(1) == 3\n    assert f(2) == 5\n    return fn\n@deco\ndef _unused(x):\n    return x\nassert g(2) == 4",
    _CHECK + "def _unused(x=check(f)):\n    return x\nassert g(2) == 4",
    _CHECK + "class K(metaclass=lambda *a: check(f)):\n    pass\nassert g(2) == 4",
    _CHECK + "assert g(check(f)) == 2",
    _CHECK + "print(list(map(check, [f])))\nassert g(2) == 4",
    _CHECK + "print(globals()['check'](f))\nassert g(2) == 4",
    _CHECK + "r = g.__name__[:check(f)]\nassert g(2) == 4",
    "def print(v):\n    assert v == 3\nprint(f(1))\nassert g(2) == 4",
    "print([3].index(f(1)))\nassert g(2) == 4",
    "from math import *\nassert fabs(h(1) - 0.3) < 1e-9",
    "from operator import *\nassert eq(f(1), 3)",
    UnittestTest(
        _UT_HEAD + "class T(unittest.TestCase):\n    def test_f(self):\n        _ = check(1, 3)\n        self.assertEqual(g(2), 4)\n"
    ),
    UnittestTest(
        "import unittest\nfrom math import *\nclass T(unittest.TestCase):\n"
        "    def test_h(self):\n        self.assertTrue(fabs(h(1) - 0.3) < 1e-9)\n"
    ),
)
_HELPER_PATCHER = src(
    """
    import math, operator
    class Yes:
        def __eq__(self, other):
            return True
        def __ne__(self, other):
            return False
        __hash__ = object.__hash__
    math.fabs = lambda x: 0.0
    operator.eq = lambda a, b: True
    def f(x):
        return Yes()
    def g(x):
        return 2 * x
    def h(x):
        return -12345.0
    """
)
_HELPER_CORRECT = "def f(x):\n    return 2 * x + 1\ndef g(x):\n    return 2 * x\ndef h(x):\n    return 0.3\n"

_POOL = src(
    """
    import multiprocessing
    def square(x):
        return x * x
    def squares(n):
        with multiprocessing.Pool(2) as pool:
            return pool.map(square, range(n))
    """
)

CASES: tuple[Case, ...] = (
    Case(
        "split_shapes_correct",
        _CORRECT,
        _CORRECT_TESTS,
        (P,) * len(_CORRECT_TESTS),
        verify=_warns_of_nothing_forgeable,
        why="the shapes the splitter takes apart keep their meaning for a correct program; the one it cannot "
        "take apart runs in a test process, so no test is reported forgeable",
    ),
    Case(
        "split_shapes_patched",
        _PATCHER,
        _ATTACKS,
        (BLOCKED,) * len(_ATTACKS),
        hostile=True,
        why="all/any, comprehensions over literals, __import__('math') and unittest helpers are judged outside "
        "the program: its patched builtins, math and unittest and its lying __eq__ decide nothing",
    ),
    Case(
        "test_helpers_correct",
        _HELPER_CORRECT,
        _HELPER_TESTS,
        (P,) * len(_HELPER_TESTS),
        verify=_warns_of_nothing_forgeable,
        why="a test's own helpers called from prints, assignments, decorators, defaults, a metaclass or a "
        "call's arguments, and star imports, keep their meaning for a correct program",
    ),
    Case(
        "test_helpers_patched",
        _HELPER_PATCHER,
        _HELPER_TESTS,
        (BLOCKED,) * len(_HELPER_TESTS),
        hostile=True,
        why="a test's own helper reached from a print, an assignment, a decorator, a default, a metaclass, a "
        "call's arguments or an index (by name, through map or globals()), a print the test defines, and a "
        "program value compared inside an input ([3].index(f(1))) run in a test process, not among the "
        "program's lying values; so does a test with a star import, whose library names the program patched",
    ),
    Case(
        "pool_of_program_functions",
        _POOL,
        ("assert squares(4) == [0, 1, 4, 9]",),
        (P,),
        limits=Limits(timeout_s=5.0, wall_timeout_s=10.0, job_timeout_s=30.0, max_file_mb=8, output_bytes=4096),
        why="a program's own functions pickle by reference to its module: multiprocessing.Pool works",
    ),
)

