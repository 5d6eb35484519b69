"""Lying values: objects that claim to equal anything, patched builtins and asserts, dunders that raise."""

from __future__ import annotations

import collections

from .._spec import CallTest, UnittestTest
from ._case import ADD, BLOCKED, C, E, F, NOT_PASSED, P, UNITTEST_FAIL, Case, src

CASES: tuple[Case, ...] = (
    Case(
        "always_equal",
        src(
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
        src(
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
        src(
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
        src(
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
        ADD
        + src(
            """
            import unittest
            unittest.TestCase.assertEqual = lambda *a, **k: None
            unittest.TestCase.assertTrue = lambda *a, **k: None
            """
        ),
        (
            UnittestTest(UNITTEST_FAIL),
            UnittestTest(UNITTEST_FAIL.replace("assertEqual(add(1, 2), 4)", "assertTrue(add(1, 1) == 3)")),
        ),
        (BLOCKED, BLOCKED),
        hostile=True,
    ),
    Case(
        "bad_dunder_methods",
        src(
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
    *(
        Case(
            f"ordered_dict_order_{mode}",
            src(
                """
                from collections import OrderedDict
                def wrong():
                    return OrderedDict([("b", 2), ("a", 1)])
                def right():
                    return OrderedDict([("a", 1), ("b", 2)])
                """
            ),
            (
                CallTest("wrong", (), collections.OrderedDict([("a", 1), ("b", 2)])),
                "from collections import OrderedDict\nassert wrong() == OrderedDict([('a', 1), ('b', 2)])",
                "import collections\nx = wrong()\nassert x == collections.OrderedDict(a=1, b=2)",
                CallTest("right", (), collections.OrderedDict([("a", 1), ("b", 2)])),
                "from collections import OrderedDict\nassert right() == OrderedDict([('a', 1), ('b', 2)])",
            ),
            (F, F, F, P, P),
            mode=mode,
            hostile=True,
            why="an OrderedDict crossed as a plain dict, which equals an expected OrderedDict in any order: "
            "the reference's OrderedDict == OrderedDict is order-sensitive, so a wrong order passed",
        )
        for mode in ("isolated", "shared")
    ),
)
