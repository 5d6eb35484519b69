"""Planning asserts into sandbox holes and parent templates, and judging them in the parent.

Nothing here runs in a sandbox: the tests exec ``sandbox_code`` in-process with a fake
``__ace_check__`` that sends values through the wire format, then call ``judge``.
"""

from __future__ import annotations

import ast
import builtins
import textwrap
import unittest
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acesandbox import _wire
from acesandbox._checks import Check, Plan, host_safe, judge, plan_assert_test, plan_unittest
from acesandbox._judge_proc import JudgeError, JudgeTimeout, judge_in_process
from acesandbox.errors import InvalidJobError, TestSyntaxError


def run(program: str, plan: Plan) -> list[tuple[int, tuple[object, ...]]]:
    """Exec the program then the planned test; record what each check emitted, via the wire."""
    env: dict[str, Any] = {"__name__": "__main__", "__builtins__": dict(vars(builtins))}  # patchable copy
    exec(compile(textwrap.dedent(program), "<program>", "exec"), env)  # noqa: S102 - the test's own code
    emitted: list[tuple[int, tuple[object, ...]]] = []

    def ace_check(ci: int, values: tuple[object, ...]) -> None:
        back = _wire.loads(_wire.dumps(values))
        assert type(back) is tuple
        emitted.append((ci, back))

    env["__ace_check__"] = ace_check
    exec(compile(plan.sandbox_code, "<test>", "exec"), env)  # noqa: S102
    if "class " in plan.sandbox_code:  # unittest: run the test cases defined by the test code
        cases = [v for v in env.values() if isinstance(v, type) and issubclass(v, unittest.TestCase)]
        suite = unittest.TestSuite(unittest.defaultTestLoader.loadTestsFromTestCase(c) for c in cases)
        result = unittest.TestResult()
        suite.run(result)
        assert not result.errors, result.errors
    return emitted


def verdicts(program: str, test: str, *, unit: bool = False) -> list[tuple[bool, str]]:
    plan = (plan_unittest if unit else plan_assert_test)(textwrap.dedent(test))
    return [judge(plan.checks[ci], values) for ci, values in run(program, plan)]


def passes(program: str, test: str, *, unit: bool = False) -> bool:
    results = verdicts(program, test, unit=unit)
    return bool(results) and all(ok for ok, _ in results)


def only_check(test: str) -> Check:
    plan = plan_assert_test(test)
    assert len(plan.checks) == 1
    return plan.checks[0]


# -- planning: the exact split for representative forms ------------------------------------

FORMS = [
    ("assert add(1, 2) == 3", "_h0 == 3", ("add(1, 2)",)),
    ("assert add(1, 2) != 4", "_h0 != 4", ("add(1, 2)",)),
    ("assert 3 in f(x)", "3 in _h0", ("f(x)",)),
    ("assert f(x) not in [1, 2]", "_h0 not in [1, 2]", ("f(x)",)),
    ("assert f(x) is None", "_h0", ("f(x) is None",)),  # identity is evaluated where it means something
    ("assert f(x) is not None", "_h0", ("f(x) is not None",)),
    ("assert not f(x)", "not _h0", ("f(x)",)),
    ("assert f(x)", "_h0", ("f(x)",)),
    ("assert math.isclose(f(x), 1.0, rel_tol=1e-9)", "math.isclose(_h0, 1.0, rel_tol=1e-09)", ("f(x)",)),
    ("assert abs(f(x) - 2.5) < 1e-6", "abs(_h0 - 2.5) < 1e-06", ("f(x)",)),
    ("assert sorted(f(x)) == [1, 2, 3]", "sorted(_h0) == [1, 2, 3]", ("[*f(x)]",)),  # a generator is fine
    ("assert sorted(f(x), reverse=True) == [3, 1]", "sorted(_h0, reverse=True) == [3, 1]", ("[*f(x)]",)),
    ("assert len(f(x)) == 3", "len(_h0) == 3", ("f(x)",)),
    ("assert f(x)[0] == 1", "_h0[0] == 1", ("f(x)",)),
    ("assert r[i] == e[i]", "_h0[_h1] == _h2[_h3]", ("r", "i", "e", "i")),
    ("assert Solution().twoSum([2, 7], 9) == [0, 1]", "_h0 == [0, 1]", ("Solution().twoSum([2, 7], 9)",)),
    ("assert f(x) == expected", "_h0 == _h1", ("f(x)", "expected")),
    ("assert f(x) == 3, 'f is wrong'", "_h0 == 3", ("f(x)",)),
    ("assert all(f(a) == b for a, b in cases)", "_h0", ("all((f(a) == b for a, b in cases))",)),
    ("assert [f(1), 2] == [1, 2]", "[_h0, 2] == [1, 2]", ("f(1)",)),
    ("assert (f(1), f(2)) == (1, 2)", "(_h0, _h1) == (1, 2)", ("f(1)", "f(2)")),
    ("assert {f(1): 'a', 2: g(2)} == {1: 'a', 2: 'b'}", "{_h0: 'a', 2: _h1} == {1: 'a', 2: 'b'}", ("f(1)", "g(2)")),
    ("assert f'{f(x)}!' == '3!'", "f'{_h0}!' == '3!'", ("f(x)",)),
    ("assert round(f(x), 2) == 0.33", "round(_h0, 2) == 0.33", ("f(x)",)),
    ("assert ', '.join(f(x)) == 'a, b'", "', '.join(_h0) == 'a, b'", ("[*f(x)]",)),
    ("assert f(x) + 1 == g(x) * 2", "_h0 + 1 == _h1 * 2", ("f(x)", "g(x)")),
    ("assert 0 <= f(x) < 10", "0 <= _h0 < 10", ("f(x)",)),
    ("assert math.pi < f(x)", "math.pi < _h0", ("f(x)",)),
    ("assert f(x).count(1) == 2", "_h0 == 2", ("f(x).count(1)",)),
    ("assert isinstance(f(x), (list, tuple))", "isinstance(_h0, (list, tuple))", ("f(x)",)),
    ("assert isinstance(f(x), Node)", "_h0", ("isinstance(f(x), Node)",)),  # a program class is no value
    ("assert operator.eq(f(x), 7)", "operator.eq(_h0, 7)", ("f(x)",)),
    ("assert operator.attrgetter('y')(f(x)) == 7", "_h0 == 7", ("operator.attrgetter('y')(f(x))",)),
    ("assert sorted(f(x), key=lambda t: -t) == [2, 1]", "_h0 == [2, 1]", ("sorted(f(x), key=lambda t: -t)",)),
    ("assert (r := f(x)) == 3", "_h0 == 3", ("(r := f(x))",)),
    ("assert 1 + 1 == 2", "1 + 1 == 2", ()),
    ("assert (f(x) + 0).tofile('out') is None", "_h0", ("(f(x) + 0).tofile('out') is None",)),
    ("assert (f(x) + 0).__class__ == int", "_h0 == int", ("(f(x) + 0).__class__",)),
]


@pytest.mark.parametrize(("test", "template", "holes"), FORMS, ids=[f[0][7:40] for f in FORMS])
def test_assert_forms_split_as_documented(test, template, holes):
    check = only_check(test)
    assert (check.template, check.holes, check.lazy) == (template, holes, ())
    assert check.source == test
    call = f"__ace_check__(0, ({', '.join(holes)}{',' if len(holes) == 1 else ''}))"
    assert plan_assert_test(test).sandbox_code == call


def test_conditionally_evaluated_holes_are_lazy():
    check = only_check("assert f(x) is None or g(f(x)) == 1")
    assert (check.template, check.holes, check.lazy) == ("_h0 or _h1 == 1", ("f(x) is None", "g(f(x))"), (1,))
    code = plan_assert_test("assert f(x) is None or g(f(x)) == 1").sandbox_code
    assert "try:" in code and "__ace_h1__ = (g(f(x)),)" in code and "__ace_h1__ = ()" in code
    assert code.index("__ace_h0__ = f(x) is None") < code.index("try:")
    # a bare name cannot raise or have effects: it is not wrapped
    assert only_check("assert r is not None and r == 1").lazy == ()
    ifexp = only_check("assert (g(x) if f(x) else 0) == 1")
    assert (ifexp.template, ifexp.holes, ifexp.lazy) == ("(_h1 if _h0 else 0) == 1", ("f(x)", "g(x)"), (1,))
    assert only_check("assert (g(x) if f(x) else h(x)) == 1").lazy == (1, 2)
    chain = only_check("assert f(x) < g(x) < h(x)")
    assert (chain.template, chain.lazy) == ("_h0 < _h1 < _h2", (2,))


@pytest.mark.parametrize(
    ("test", "template", "holes"),
    [
        ("sum = 0\nfor i in range(3):\n    sum += f(i)\nassert sum == 3", "_h0 == 3", ("sum",)),
        ("max = f(x)\nassert max == 3", "_h0 == 3", ("max",)),
        ("import numpy as math\nassert math.isclose(f(), 1)", "_h0", ("math.isclose(f(), 1)",)),
        ("from operator import eq as operator\nassert operator(f(), 1)", "_h0", ("operator(f(), 1)",)),
        ("def g(len):\n    return len\nassert len(f()) == 1", "_h0 == 1", ("len(f())",)),
        ("import math\nassert math.isclose(f(), 1)", "math.isclose(_h0, 1)", ("f()",)),  # the real module
    ],
)
def test_names_the_test_binds_are_its_own(test, template, holes):
    """Only the *program* cannot rebind a trusted name; a test variable called ``sum`` is a variable."""
    check = plan_assert_test(test).checks[-1]
    assert (check.template, check.holes) == (template, holes)


def test_shadowing_builtins_in_the_test_keeps_its_meaning():
    assert passes("def f(i):\n    return i\n", "sum = 0\nfor i in range(3):\n    sum += f(i)\nassert sum == 3")


def test_expressions_after_the_assert_keyword_only():
    plan = plan_assert_test("assert f(1) == 2, expensive_message(f(1))")
    assert "expensive_message" not in plan.sandbox_code
    assert plan.checks[0].holes == ("f(1)",)


def test_multi_statement_test_keeps_setup_and_numbers_checks():
    plan = plan_assert_test(
        textwrap.dedent(
            """\
            import math
            data = [3, 1, 2]
            assert f(data) == [1, 2, 3]
            for i in range(n):
                assert g(i) == i * 2, i
            if data:
                with ctx():
                    assert h(data)
            try:
                assert f([]) == []
            except ValueError:
                pass
            def helper(c):
                assert c(1) == 2
            class K:
                assert kk() == 1
            helper(f)
            done = True
            """
        )
    )
    assert [c.source for c in plan.checks] == [
        "assert f(data) == [1, 2, 3]",
        "assert g(i) == i * 2, i",
        "assert h(data)",
        "assert f([]) == []",
    ]
    assert plan.checks[1].holes == ("g(i)", "i") and plan.checks[1].template == "_h0 == _h1 * 2"
    code = plan.sandbox_code
    assert "import math\ndata = [3, 1, 2]\n__ace_check__(0, (f(data),))" in code
    assert "for i in range(n):\n    __ace_check__(1, (g(i), i))" in code
    assert "assert c(1) == 2" in code and "assert kk() == 1" in code  # def and class bodies untouched
    assert code.count("__ace_check__") == 4
    ast.parse(code)


EXPECTED = st.one_of(
    st.integers(min_value=10**6).map(str),
    st.text(alphabet="xyz", min_size=3).map(lambda s: repr("EXPECTED_" + s)),
    st.lists(st.integers(min_value=10**6), min_size=1, max_size=4).map(repr),
    st.floats(min_value=1e6, max_value=1e9).map(repr),
)
OPS = ["==", "!=", "<", "<=", ">", ">=", "in", "not in"]


@given(expected=EXPECTED, op=st.sampled_from(OPS), wrap=st.sampled_from(["{}", "[{}]", "({},)", "-{}"]))
@settings(max_examples=200, deadline=None)
def test_expected_values_never_reach_the_sandbox(expected, op, wrap):
    rhs = wrap.format(expected)
    for test in (f"assert solve(1, 2) {op} {rhs}", f"assert {rhs} {op} solve(1, 2)"):
        plan = plan_assert_test(test)
        assert expected not in plan.sandbox_code
        assert expected in plan.checks[0].template
    unit = f"""
class T(unittest.TestCase):
    def test(self):
        self.assertEqual(solve(1, 2), {rhs})
        self.assertAlmostEqual(solve(1, 2), {rhs}, places=3)
        self.assertIn({rhs}, solve(1, 2))
        self.assertCountEqual(solve(1, 2), {rhs})
"""
    assert expected not in plan_unittest(unit).sandbox_code


def test_syntax_errors_are_reported_with_the_line():
    for planner in (plan_assert_test, plan_unittest):
        with pytest.raises(TestSyntaxError, match="line 3"):
            planner("x = 1\nassert f(x) == 1\nassert f(x) ==\n")
        with pytest.raises(InvalidJobError):
            planner("def f(:\n")
        with pytest.raises(ValueError):
            planner("\x00")


# -- judging ----------------------------------------------------------------------------------

ADD = "def add(a, b):\n    return a + b\n"
WRONG_ADD = "def add(a, b):\n    return a + b + 1\n"


def test_correct_and_wrong_programs():
    assert verdicts(ADD, "assert add(1, 2) == 3") == [(True, "")]
    assert verdicts(WRONG_ADD, "assert add(1, 2) == 3") == [
        (False, "assert add(1, 2) == 3 failed: add(1, 2) returned 4")
    ]
    ok, msg = verdicts(WRONG_ADD, "r = add(1, 2)\nassert r == 3")[0]
    assert not ok and msg == "assert r == 3 failed: r = 4"


def test_loops_emit_the_same_check_repeatedly():
    plan = plan_assert_test("n = 4\nfor i in range(n):\n    assert add(i, i) == 2 * i\n")
    emitted = run(WRONG_ADD, plan)
    assert [ci for ci, _ in emitted] == [0, 0, 0, 0]
    assert [judge(plan.checks[0], v)[0] for _, v in emitted] == [False] * 4
    assert all(judge(plan.checks[0], v)[0] for _, v in run(ADD, plan))


FORM_PROGRAM = """
import math
def f(x):
    return x
def gen(n):
    yield from range(n)
class Solution:
    def twoSum(self, nums, target):
        return [0, 1]
def boom():
    raise ValueError("boom")
class Stack:
    def __init__(self): self.items = []
    def push(self, x): self.items.append(x)
    def __len__(self): return len(self.items)
class Point:
    def __init__(self, x, y): self.x, self.y = x, y
    def __str__(self): return f"({self.x}, {self.y})"
"""

PASSING = [
    "assert f([1, 2, 3]) == [1, 2, 3]",
    "assert f(None) is None",
    "assert f(Point(1, 2)) is not None",  # the object itself never leaves the sandbox
    "assert not f([])",
    "assert math.isclose(f(0.1 + 0.2), 0.3, rel_tol=1e-9)",
    "assert abs(f(2.5000001) - 2.5) < 1e-6",
    "assert sorted(f([3, 1, 2])) == [1, 2, 3]",
    "assert sorted(gen(3), reverse=True) == [2, 1, 0]",
    "assert list(gen(3)) == [0, 1, 2]",
    "assert max(gen(4), default=-1) == 3",
    "assert len(f('abc')) == 3",
    "assert f([1, 2])[0] == 1",
    "assert Solution().twoSum([2, 7], 9) == [0, 1]",
    "assert f(1) == 1 or boom()",  # the right side raises, but Python never evaluates it
    "assert f(None) is None or f(None)[0] == 1",  # the right side would raise: short-circuit kept
    "assert (f(0) if f(0) else 7) == 7",
    "assert f({(1, 2): {3}}) == {(1, 2): {3}}",
    "assert f(np.int64(3)) == 3",
    "assert (f(np.arange(3)) == np.array([0, 1, 2])).all()",
    "assert f(10**5000) == 10**5000",
    "assert f(float('nan')) != f(float('nan'))",
    "assert f'{f(3)}!' == '3!'",
    "assert f(-0.0) == 0.0",
    "for i in range(3):\n    assert f(i) == i",
]


@pytest.mark.parametrize("test", PASSING)
def test_correct_programs_pass(test):
    assert passes("import numpy as np\n" + FORM_PROGRAM, test)


FAILING = [
    ("assert f([1, 2]) == [1, 2, 3]", "f([1, 2]) returned [1, 2]"),
    ("assert f(1) is None", "f(1) is None = False"),
    ("assert f(0) or f(2) == 3", "f(0) returned 0; f(2) returned 2"),
    ("assert f([1, 2])[0] == 5", "f([1, 2]) returned [1, 2]"),
    ("assert f(0.5) == 0.4", "f(0.5) returned 0.5"),
]


@pytest.mark.parametrize(("test", "detail"), FAILING)
def test_wrong_answers_fail_with_a_useful_message(test, detail):
    [(ok, msg)] = verdicts(FORM_PROGRAM, test)
    assert not ok
    assert msg == f"{test} failed: {detail}"


def test_errors_propagate_from_the_template():
    plan = plan_assert_test("assert f(None) < 3")
    [(ci, values)] = run(FORM_PROGRAM, plan)
    with pytest.raises(TypeError):
        judge(plan.checks[ci], values)
    plan = plan_assert_test("assert f(1) == 1 and f(None)[0] == 1")
    [(ci, values)] = run(FORM_PROGRAM, plan)
    with pytest.raises(TypeError):
        judge(plan.checks[ci], values)
    plan = plan_assert_test("assert f(1) == 1 and boom() == 1")
    [(ci, values)] = run(FORM_PROGRAM, plan)
    assert values[1] == ()  # it raised in the sandbox, and the parent needs it
    with pytest.raises(RuntimeError, match=r"boom\(\) raised"):
        judge(plan.checks[ci], values)


@pytest.mark.parametrize("test", ["s = Stack()\ns.push(1)\nassert len(s) == 1", "assert str(Point(1, 2)) == '(1, 2)'"])
def test_program_objects_are_not_values(test):
    """Trusted builtins run in the parent on plain values: a program object cannot get there."""
    with pytest.raises(_wire.UnserializableValue):
        run(FORM_PROGRAM, plan_assert_test(test))


def test_long_values_are_truncated_in_messages():
    [(ok, msg)] = verdicts(FORM_PROGRAM, "assert f(list(range(10000))) == []")
    assert not ok and len(msg) < 400 and "..." in msg
    [(ok, msg)] = verdicts(FORM_PROGRAM, "assert f(10**5000) == 1")
    assert not ok and "16610 bits" in msg


HOSTILE = """
import types
class AlwaysEqual:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    __hash__ = object.__hash__
class EqInt(int):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = int.__hash__
class EqList(list):
    def __eq__(self, other): return True
    __hash__ = None
math = types.SimpleNamespace(isclose=lambda *a, **k: True)  # what the sandbox sees
__builtins__["sorted"] = lambda *a, **k: EqList()  # patched builtins (a copy, in this test)
__builtins__["abs"] = lambda x: 0
__builtins__["all"] = __builtins__["any"] = lambda *a, **k: True
class Anything:  # every import in the test gets one: any attribute, any call is True
    def __getattr__(self, name): return self
    def __call__(self, *a, **k): return True
__builtins__["__import__"] = lambda *a, **k: Anything()
len = lambda x: EqInt(3)
def f(x): return EqInt(5)
def g(x): return AlwaysEqual()
def h(x): return EqList([9])
"""


@pytest.mark.parametrize(
    "test",
    [
        "assert f(1) == 3",
        "assert h(1) == [1, 2, 3]",
        "assert [f(1)] == [3]",
        "assert math.isclose(f(1), 3.0)",
        "assert abs(f(1) - 3) < 1e-9",
        "assert sorted(h(1), reverse=True) == [3, 2, 1]",  # split: the parent's real sorted
        "assert sorted(h(1)) == [1, 2, 3]",  # in the sandbox: its list subclass is neutralised
        "assert len(h(1)) == 3",  # the parent's real len
        "assert f(1) in [1, 2, 3]",
        "assert __import__('math').isclose(f(1), 3.0)",
        "import importlib\nassert importlib.import_module('math').isclose(f(1), 3.0)",
        "import unittest\nunittest.TestCase().assertEqual(f(1), 3)",
        "from unittest import TestCase\nTestCase().assertIn(f(1), [1, 2, 3])",
        "import unittest\nunittest.TestCase().assertTrue(all(f(x) == 2 * x for x in range(3)))",
        "assert all(f(x) == 2 * x for x in range(3))",
        "assert any(f(x) == -1 for x in (1, 2))",
        "assert all([f(a) == b for a, b in zip([1, 2], [3, 4])])",
        "assert [f(x) == 7 for x in 'ab'] == [True, True]",
    ],
)
def test_hostile_programs_cannot_forge_a_pass(test):
    assert not passes(HOSTILE, test)


def test_objects_that_cannot_be_judged_are_errors_not_passes():
    plan = plan_assert_test("assert g(1) == 3")
    with pytest.raises(_wire.UnserializableValue):
        run(HOSTILE, plan)


def test_judge_has_only_trusted_builtins():
    for template in ("open('/etc/passwd')", "eval('1')", "getattr(1, 'real')", "type(1)", "exec", "globals()"):
        with pytest.raises(NameError):
            judge(Check(source="x", template=template, holes=()), ())
    for template in ("__import__('os')", "(1).__class__", "_wire", "().__class__.__base__.__subclasses__()"):
        with pytest.raises(ValueError, match="forbidden"):
            judge(Check(source="x", template=template, holes=()), ())
    real = Check(source="x", template="sorted(_h0) == [1, 2] and math.floor(1.5) == 1", holes=("v",))
    assert judge(real, ([2, 1],)) == (True, "")


def test_judge_validates_values():
    check = only_check("assert f(1) == 1")
    with pytest.raises(ValueError, match="1 holes but got 2"):
        judge(check, (1, 2))
    lazy = only_check("assert f(1) == 1 or f(2)[0] == 2")
    assert lazy.lazy == (1,)
    with pytest.raises(ValueError, match="tuple"):
        judge(lazy, (0, 2))
    assert judge(lazy, (1, ())) == (True, "")
    assert judge(lazy, (0, ([2],))) == (True, "")


LITERALS = st.recursive(
    st.integers() | st.text(max_size=3) | st.none(), lambda s: st.lists(s, max_size=3) | st.tuples(s), max_leaves=6
)


@given(actual=LITERALS, expected=LITERALS)
@settings(max_examples=200, deadline=None)
def test_verdict_matches_python_for_equality(actual, expected):
    program = f"def f():\n    return {actual!r}\n"
    [(ok, msg)] = verdicts(program, f"assert f() == {expected!r}")
    assert ok == (actual == expected)
    assert (msg == "") == ok


# -- unittest -------------------------------------------------------------------------------

UNIT = """
import unittest
class TestAdd(unittest.TestCase):
    def setUp(self):
        self.n = 2
    def test_basic(self):
        self.assertEqual(add(1, 2), 3)
        self.assertEqual(second=3, first=add(1, 2), msg="boom")
        self.assertNotEqual(add(1, 1), 3, "msg")
        self.assertTrue(add(0, 1))
        self.assertFalse(add(0, 0))
        self.assertIsNone(None if add(0, 0) == 0 else 1)
        self.assertIsNotNone(add(0, 0))
        self.assertIn(add(1, 1), [2, 3])
        self.assertNotIn(add(1, 1), (5,))
        self.assertGreater(add(self.n, 1), 2)
        self.assertGreaterEqual(add(1, 1), 2)
        self.assertLess(add(1, 1), 3)
        self.assertLessEqual(add(1, 1), 2)
    def test_containers(self):
        self.assertListEqual(add([1], [2]), [1, 2])
        self.assertTupleEqual(add((1,), (2,)), (1, 2))
        self.assertDictEqual({"a": add(0, 1)}, {"a": 1})
        self.assertSetEqual(set(add([1], [2])), {1, 2})
        self.assertSequenceEqual(add([1], [2]), (1, 2))
        self.assertCountEqual(add([2], [1, 2]), [2, 2, 1])
        self.assertAlmostEqual(add(0.1, 0.2), 0.3)
        self.assertAlmostEqual(add(0.1, 0.2), 0.3, 7, "msg")
        self.assertAlmostEqual(add(1.0, 0.0), 1.05, delta=0.1)
        self.assertNotAlmostEqual(add(1.0, 0.0), 1.2, places=1)
        for i in range(3):
            with self.subTest(i=i):
                self.assertEqual(add(i, i), 2 * i)
    def test_untouched(self):
        with self.assertRaises(TypeError):
            add(1, "a")
        self.assertIsInstance(add(1, 2), int)
"""


def test_unittest_calls_become_checks():
    plan = plan_unittest(UNIT)
    by_source = {c.source: c for c in plan.checks}
    eq = by_source["self.assertEqual(add(1, 2), 3)"]
    assert (eq.template, eq.holes) == ("_h0 == 3", ("add(1, 2)",))
    assert by_source['self.assertEqual(second=3, first=add(1, 2), msg="boom")'].template == "_h0 == 3"
    false = by_source["self.assertFalse(add(0, 0))"]
    assert (false.template, false.holes) == ("not _h0", ("add(0, 0)",))
    is_none = by_source["self.assertIsNone(None if add(0, 0) == 0 else 1)"]
    assert (is_none.template, is_none.holes) == ("_h0", ("(None if add(0, 0) == 0 else 1) is None",))
    assert by_source["self.assertCountEqual(add([2], [1, 2]), [2, 2, 1])"].template == "_count_equal(_h0, [2, 2, 1])"
    almost = by_source["self.assertAlmostEqual(add(1.0, 0.0), 1.05, delta=0.1)"]
    assert almost.template == "_almost_equal(_h0, 1.05, None, 0.1)"
    assert by_source["self.assertListEqual(add([1], [2]), [1, 2])"].template == "_typed_equal(_h0, [1, 2], 'list')"
    assert by_source["self.assertGreater(add(self.n, 1), 2)"].holes == ("add(self.n, 1)",)
    code = plan.sandbox_code
    assert "boom" not in code and "'msg'" not in code and "1.05" not in code
    assert "self.assertRaises(TypeError)" in code and "self.assertIsInstance(add(1, 2), int)" in code
    assert "with self.subTest(i=i):\n                __ace_check__(" in code
    assert len(plan.checks) == 24


def test_unittest_verdicts_for_a_correct_and_a_wrong_program():
    good = verdicts(ADD, UNIT, unit=True)
    assert len(good) == 26 and all(ok for ok, _ in good), [m for ok, m in good if not ok]
    wrong = "def add(a, b):\n    return b + a if isinstance(a, (list, tuple)) else a + b + 1\n"
    bad = verdicts(wrong, UNIT, unit=True)
    assert not bad[0][0] and bad[0][1] == "self.assertEqual(add(1, 2), 3) failed: add(1, 2) returned 4"
    failed = [msg for ok, msg in bad if not ok]
    assert "self.assertListEqual(add([1], [2]), [1, 2]) failed: add([1], [2]) returned [2, 1]" in failed
    assert (
        "self.assertCountEqual(add([2], [1, 2]), [2, 2, 1]) failed: add([2], [1, 2]) returned [1, 2, 2]" not in failed
    )


def test_unittest_plain_asserts_and_other_self_names_are_rewritten():
    plan = plan_unittest(
        "class T(unittest.TestCase):\n"
        "    def test(me):\n"
        "        assert add(1, 2) == 3\n"
        "        me.assertEqual(add(1, 2), 3)\n"
        "        self.assertEqual(add(1, 2), 3)\n"  # not this method's self: left alone
        "        me.assertEqual(*args)\n"
        "        me.assertEqual(add(1, 2), 3, 'm', 'extra')\n"
        "        def inner():\n"
        "            me.assertTrue(add(1, 1))\n"
    )
    assert [c.source for c in plan.checks] == [
        "assert add(1, 2) == 3",
        "me.assertEqual(add(1, 2), 3)",
        "me.assertTrue(add(1, 1))",
    ]
    assert "self.assertEqual(add(1, 2), 3)" in plan.sandbox_code
    assert "me.assertEqual(*args)" in plan.sandbox_code


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("assertAlmostEqual", "1.0, 1.00000001"),
        ("assertAlmostEqual", "1.0, 1.1"),
        ("assertAlmostEqual", "1.0, 1.04, delta=0.05"),
        ("assertAlmostEqual", "1.0, 1.04, 1, 'msg'"),
        ("assertNotAlmostEqual", "1.0, 1.04, places=1"),
        ("assertNotAlmostEqual", "1.0, 1.5, delta=0.1"),
        ("assertCountEqual", "[1, [2], 2], [[2], 2, 1]"),
        ("assertCountEqual", "[1, 1, 2], [1, 2, 2]"),
        ("assertSequenceEqual", "[1, 2], (1, 2)"),
        ("assertSequenceEqual", "[1, 2], (1, 2), None, list"),
        ("assertSequenceEqual", "[1, 2], [1, 3]"),
        ("assertListEqual", "(1,), [1]"),
        ("assertTupleEqual", "(1,), (1,)"),
        ("assertSetEqual", "frozenset({1}), {1}"),
        ("assertDictEqual", "{1: 2}, {1: 2.0}"),
        ("assertIsNot", "None, None"),
    ],
)
def test_helpers_agree_with_unittest(method, args):
    plan = plan_unittest(f"class T(unittest.TestCase):\n    def test(self):\n        self.{method}({args})\n")
    ok, _ = judge(plan.checks[0], run("import unittest", plan)[0][1])
    try:
        eval(f"case.{method}({args})", {"case": unittest.TestCase()})
        expected = True
    except AssertionError:
        expected = False
    assert ok == expected


@given(a=st.floats(-1e6, 1e6), b=st.floats(-1e6, 1e6), places=st.integers(0, 9))
@settings(max_examples=200, deadline=None)
def test_almost_equal_matches_unittest(a, b, places):
    plan = plan_unittest(
        "class T(unittest.TestCase):\n    def test(self):\n        self.assertAlmostEqual(x, y, places=p)\n"
    )
    ok, _ = judge(plan.checks[0], (a, b, places))
    try:
        unittest.TestCase().assertAlmostEqual(a, b, places=places)
        assert ok
    except AssertionError:
        assert not ok


@given(a=st.lists(st.integers(0, 3) | st.lists(st.integers(0, 2), max_size=2), max_size=5),
       b=st.lists(st.integers(0, 3) | st.lists(st.integers(0, 2), max_size=2), max_size=5))  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_count_equal_matches_unittest(a: Sequence[object], b: Sequence[object]):
    plan = plan_unittest("class T(unittest.TestCase):\n    def test(self):\n        self.assertCountEqual(x, y)\n")
    ok, _ = judge(plan.checks[0], (a, b))
    try:
        unittest.TestCase().assertCountEqual(a, b)
        assert ok
    except AssertionError:
        assert not ok


# -- the parent never walks attributes through format strings, nor runs costly templates --


@pytest.mark.parametrize(
    "test",
    [
        'assert "{0.__self__.__loader__}".format(abs) == ""',
        'assert "{0[0]}".format(f()) == ""',
        'assert "{:{0.real}}".format(f()) == ""',
        'assert (f() or "{0.x}").format(abs) == ""',
        'assert str.format("{0.__class__}", abs) == ""',
        'assert "{a.real}".format_map({"a": 1}) == ""',
    ],
)
def test_format_strings_that_walk_attributes_run_in_the_sandbox(test: str) -> None:
    (check,) = plan_assert_test(test).checks
    assert check.template == "_h0 == ''"
    assert "format" in check.holes[0]


@pytest.mark.parametrize("test", ['assert "{:.2f}".format(f()) == "1.50"', 'assert "{0}-{x}".format(f(), x=1) == "1.5-1"'])
def test_plain_format_strings_stay_in_the_parent(test: str) -> None:
    (check,) = plan_assert_test(test).checks
    assert check.holes == ("f()",)
    assert ".format(_h0" in check.template
    program = "def f():\n    return 1.5\n"
    assert passes(program, test)


@pytest.mark.parametrize(
    "template",
    ["_h0 == [1, 2, (3, 'a')]", "abs(_h0 - 0.5) < 1e-06", "math.isclose(_h0, 2.0, rel_tol=1e-09)", "len(_h0) == 3 and _h0[0] is None",
     "_h0 in {1, 2} or not _h0", "isinstance(_h0, int) and _h0 != -1"],
)  # fmt: skip
def test_cheap_templates_are_judged_in_the_host(template: str) -> None:
    assert host_safe(template)


@pytest.mark.parametrize(
    "template",
    ["sum(range(10 ** 18)) == 0", "_h0 == 7 ** 7 ** 10", "'ab' * 10 ** 12 != _h0", "sorted(_h0) == [1]", "set(_h0) == {1}",
     "_h0 % 7 == 0", "_h0 << 10 ** 9", "'{:.2f}'.format(_h0) == '1'", "math.factorial(_h0) == 1", "f'{_h0}' == '1'",
     "_h0 == [" + "1, " * 2000 + "1]"],
)  # fmt: skip
def test_costly_templates_are_not_judged_in_the_host(template: str) -> None:
    assert not host_safe(template)


def test_a_judge_process_gives_the_hosts_verdicts() -> None:
    for test, program in [
        ("assert sorted(f()) == [1, 2, 3]", "def f():\n    return [3, 1, 2]\n"),
        ("assert sorted(f()) == [1, 2]", "def f():\n    return [3, 1, 2]\n"),
        ("assert set(f()) | {9} == {1, 9} and f()[0] % 2 == 1", "def f():\n    return [1, 1]\n"),
    ]:
        plan = plan_assert_test(test)
        ((ci, values),) = run(program, plan)
        assert judge_in_process(plan.checks[ci], _wire.encode(values), 5.0) == judge(plan.checks[ci], values)


def test_a_judge_process_reports_what_the_template_raised() -> None:
    (check,) = plan_assert_test("assert sorted(f()) == [1]").checks
    with pytest.raises(JudgeError, match="TypeError: '<' not supported") as info:
        judge_in_process(check, _wire.encode(([1, "a"],)), 5.0)
    assert info.value.kind == "TypeError"


def test_a_costly_template_costs_the_judge_its_budget_not_the_host() -> None:
    import time

    (check,) = plan_assert_test("assert sum(range(10**18)) == 0").checks
    assert not host_safe(check.template)
    t0 = time.monotonic()
    with pytest.raises(JudgeTimeout, match="longer than its budget"):
        judge_in_process(check, _wire.encode(()), 1.0)
    assert time.monotonic() - t0 < 5.0
    # The next check gets a fresh judge and its verdict.
    (check,) = plan_assert_test("assert sorted(f()) == [1]").checks
    assert judge_in_process(check, _wire.encode(([1],)), 5.0) == (True, "")


def test_a_judge_process_has_no_environment_and_a_memory_cap() -> None:
    import os
    import time

    from acesandbox import _judge_proc

    os.environ["ACESANDBOX_JUDGE_SECRET"] = "s3cret"
    judge_process = _judge_proc._Judge()
    try:
        (check,) = plan_assert_test("assert sorted(f()) == [1]").checks
        judge_process.ask({"source": "", "template": check.template, "holes": ["f()"], "lazy": [], "values": {"$t": [[1]]}}, time.monotonic() + 10)
        pids, seen = [judge_process.proc.pid], []
        while pids:  # the judge and every process under it (bubblewrap's, the interpreter)
            pid = pids.pop()
            with open(f"/proc/{pid}/environ", "rb") as f:
                seen.append(f.read())
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    pids += [int(c) for c in f.read().split()]
        assert len(seen) >= 1 and not any(b"s3cret" in env or b"ACESANDBOX" in env for env in seen), seen
    finally:
        judge_process.kill()
        del os.environ["ACESANDBOX_JUDGE_SECRET"]
    (check,) = plan_assert_test("assert len('x' * (f() << 31)) == 0").checks
    with pytest.raises(JudgeError, match="MemoryError"):
        judge_in_process(check, _wire.encode((1,)), 10.0)


def test_a_forked_host_starts_its_own_judges() -> None:
    import os

    (check,) = plan_assert_test("assert sorted(f()) == [1, 2]").checks
    values = _wire.encode(([2, 1],))
    assert judge_in_process(check, values, 5.0) == (True, "")  # leaves an idle judge
    pid = os.fork()
    if pid == 0:  # the child must not talk over its parent's pipes
        ok = False
        try:
            ok = judge_in_process(check, values, 5.0) == (True, "")
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert judge_in_process(check, values, 5.0) == (True, "")


def test_judges_run_in_the_namespace_sandbox_and_outlive_the_thread_that_asked() -> None:
    import threading

    from _support import require_backend
    from acesandbox import _judge_proc

    require_backend("namespace")
    argv = _judge_proc.judge_argv()
    assert any(a.endswith("bwrap") for a in argv) and "--unshare-all" in argv and "--die-with-parent" in argv
    (check,) = plan_assert_test("assert sorted(f()) == [1, 2]").checks
    values = _wire.encode(([2, 1],))
    results: list[tuple[bool, str]] = []
    for _ in range(3):  # each thread ends; the judge it used must still answer the next one
        t = threading.Thread(target=lambda: results.append(judge_in_process(check, values, 5.0)))
        t.start()
        t.join()
    assert results == [(True, "")] * 3
    idle = _judge_proc._idle.get((), [])  # the template judges (no registered judge packages)
    assert len(idle) >= 1 and all(j.alive() for j in idle)


# -- normalised shapes: module calls through expressions, unittest helpers, unrolled loops ---

NORMALISED = [
    ("assert __import__('math').isclose(f(1), 2.0)", "math.isclose(_h0, 2.0)", ("f(1)",)),
    ("import importlib\nassert importlib.import_module('math').isclose(f(1), 2.0)", "math.isclose(_h0, 2.0)", ("f(1)",)),
    ("import unittest\nunittest.TestCase().assertEqual(f(1), 2)", "_h0 == 2", ("f(1)",)),
    ("from unittest import TestCase as T\nT().assertAlmostEqual(f(1), 2.0, places=3)", "_almost_equal(_h0, 2.0, 3, None)", ("f(1)",)),
    ("import unittest\nunittest.TestCase().assertIn(f(1), [1, 2])", "_h0 in [1, 2]", ("f(1)",)),
    ("assert all(f(x) == y for x, y in [(1, 2), (2, -4)])", "not not (_h0 == 2 and _h1 == -4)", ("f(1)", "f(2)")),
    ("assert any(f(x) for x in range(2))", "not not (_h0 or _h1)", ("f(0)", "f(1)")),
    ("assert all(f(x) for x in [])", "True", ()),
    ("assert [f(a) == b for a, b in zip([1, 2], 'ab')] == [1, 0]", "[_h0 == 'a', _h1 == 'b'] == [1, 0]", ("f(1)", "f(2)")),
    ("assert {k: f(k) for k in {3: 0}} == {3: 6}", "{3: _h0} == {3: 6}", ("f(3)",)),
    ("assert sum(f(i) for i, _ in enumerate('xy', 1)) == 6", "sum((_h0, _h1)) == 6", ("f(1)", "f(2)")),
    ("assert [f(x) ** 2 for x in (-1,)] == [4]", "[_h0 ** 2] == [4]", ("f(-1)",)),
    ("assert [x ** 2 for x in (-1,)] == [1]", "[(-1) ** 2] == [1]", ()),
]


@pytest.mark.parametrize(("test", "template", "holes"), NORMALISED, ids=[t[0][-40:] for t in NORMALISED])
def test_shapes_are_normalised_so_they_split(test, template, holes):
    plan = plan_assert_test(test)
    assert [(c.template, c.holes) for c in plan.checks] == [(template, holes)]
    assert not plan.forgeable


NOT_NORMALISED = [
    "assert all(f(x) for x in range(1001))",  # over the bound
    "assert all(f(x) for x in range(5) if x)",  # a condition decides which elements count
    "assert all(f(x) for x in cases)",  # not a literal
    "all = lambda it: True\nassert all(f(x) for x in [1])",  # the test's own all
    "math = None\nassert __import__('math').isclose(f(1), 2.0)",  # the test's own math
    "assert all(f(x) for x in [(lambda x: x)(1)])",
    "assert all([(lambda x: f(x))(2) for x in [1]])",  # the lambda rebinds the target
    "tc = unittest.TestCase()\ntc.assertEqual(f(1), 2)",  # unittest not imported: unchanged
]


def test_a_module_needed_in_the_sandbox_is_left_as_written():
    [check] = plan_assert_test("assert g(__import__('math').pi) == 1").checks
    assert (check.template, check.holes) == ("_h0 == 1", ("g(__import__('math').pi)",))


@pytest.mark.parametrize("test", NOT_NORMALISED)
def test_shapes_that_cannot_be_normalised_are_left_whole_and_forgeable(test):
    plan = plan_assert_test(test)
    assert plan.forgeable
    assert "__ace_check__" not in plan.sandbox_code or any(len(c.holes) == 1 for c in plan.checks)


UNROLL_PROGRAM = """
def f(x):
    if x > 0:
        raise ValueError(x)
    return x == 0
def double(x): return 2 * x
"""


@pytest.mark.parametrize(
    ("test", "ok"),
    [
        ("assert any(f(x) for x in range(3))", True),  # stops at the first true element
        ("assert all(not f(x) for x in range(3))", False),  # stops at the first false element
        ("assert all(double(x) == 2 * x for x in range(50))", True),
        ("assert all(double(x) == 2 * x + (x == 7) for x in range(50))", False),
        ("import unittest\nunittest.TestCase().assertAlmostEqual(double(0.5), 1.00000001)", True),
        ("import unittest\nunittest.TestCase().assertCountEqual([double(x) for x in (1, 2)], [4, 2])", True),
    ],
)
def test_normalised_shapes_keep_python_semantics(test, ok):
    [(passed, _msg)] = verdicts(UNROLL_PROGRAM, test)
    assert passed is ok


@pytest.mark.parametrize(
    ("test", "forgeable"),
    [
        ("assert f(1) == 2", False),
        ("candidate = f\nassert candidate(1) == 2", False),
        ("xs = [1, 2]\nr = Solution().go(xs)\nassert r[0] == 1", False),
        ("assert f(1) is None", False),  # identity: unforgeable
        ("assert isinstance(f(1), Foo)", True),  # a patchable builtin in the sandbox
        ("import numpy as np\nassert np.allclose(f(1), [1.0])", True),
        ("for x in range(n):\n    assert f(x) == x", True),
        ("for x in range(3):\n    assert f(x) == x", False),  # unrolled
        ("def check(candidate):\n    assert candidate(1) == 2\ncheck(f)", False),  # inlined
        ("def check(candidate):\n    assert candidate(1) == 2\ncheck(f)\ncheck(g)", True),
        ("f(1)", True),  # no check at all
        ("print(f(1))\nassert f(1) == 2", False),
        # a test's own code run by a "plain" statement or a call's arguments: in the program's process
        ("def check(c):\n    assert c(1) == 2\nprint(check(f))\nassert f(1) == 2", True),
        ("def check(c):\n    assert c(1) == 2\n_ = check(f)\nassert f(1) == 2", True),
        ("def check(c):\n    assert c(1) == 2\n    return 1\nassert f(check(f)) == 2", True),
        ("def d(fn):\n    return fn\n@d\ndef h(x):\n    return x\nassert f(1) == 2", True),
        ("def check(c):\n    return 1\ndef h(x=check(f)):\n    return x\nassert f(1) == 2", True),
        ("def check(c):\n    return 1\nclass K(metaclass=check):\n    pass\nassert f(1) == 2", True),
        ("from math import *\nassert fabs(f(1)) == 1", True),
        ("def check(c):\n    assert c(1) == 2\nprint(list(map(check, [f])))\nassert f(1) == 2", True),
        ("def check(c):\n    assert c(1) == 2\nassert g(list(map(check, [f]))) == 2", True),
        ("def key(x):\n    return -x\nassert f(key) == 2", True),  # the program could call it in its process
        ("def check(c):\n    return 1\nprint(globals()['check'](f))\nassert f(1) == 2", True),
        ("def check(c):\n    return 1\nr = g.__name__[:check(f)]\nassert f(1) == 2", True),
        ("def print(v):\n    assert v == 3\nprint(f(1))\nassert f(1) == 2", True),
        ("print([3].index(f(1)))\nassert f(1) == 2", True),
        ("import math\nassert f(math.sqrt(2), [1, 2][0]) == 2", False),  # inputs computed from literals and imports
        # the test's literals and its imports in a call's arguments or a print: judged outside
        ("xs = [1, 2]\nassert f(xs) == 3", False),
        ("import os\nassert f(os.getpid()) == 3", False),
        ("print(f(1), [1, 2])\nassert f(1) == 2", False),
    ],
)
def test_tests_judged_in_the_programs_process_are_marked_forgeable(test, forgeable):
    assert plan_assert_test(test).forgeable is forgeable


def test_unittest_methods_with_statements_beyond_checks_are_forgeable():
    plain = "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(f(1), 2)\n"
    looped = plain.replace("self.assertEqual(f(1), 2)", "for i in range(2):\n            self.assertEqual(f(i), i)")
    assert plan_unittest(plain).forgeable is False
    assert plan_unittest(looped).forgeable is True


def test_reports_name_each_forgeable_test():
    from acesandbox import Job
    from acesandbox._kinds import FORGEABLE, forgeable_warnings, prepare_job

    job = Job(program="def f(x): return x", tests=["assert f(1) == 1", "xs = (1, 2)\nfor x in xs:\n    assert f(x) == x"])
    prepared = prepare_job(job)
    assert forgeable_warnings(prepared) == ()  # the unsplit test runs in a test process instead
    assert [p.payload["k"] for p in prepared] == ["plan", "q"]
    assert FORGEABLE == "judged in the program's process: forgeable"
    compat = Job(program="def f(x): return x", tests=["assert f(1) == 1"], compare="compat")
    assert forgeable_warnings(prepare_job(compat)) == (f"tests[0]: {FORGEABLE}",)


HUMANEVAL_STYLE = """
METADATA = {'author': 'jt'}


def check(candidate):
    import math
    total = 0
    for x in range(3):
        total += x
    assert candidate(1, 2) == 3
    assert math.isclose(candidate(0.5, 0.25), 0.75)
    assert candidate(total, 1) == 4, "message"
"""


def test_a_check_function_called_once_is_inlined():
    plan = plan_assert_test(HUMANEVAL_STYLE + "\ncheck(add)\n")
    assert [(c.template, c.holes) for c in plan.checks] == [
        ("_h0 == 3", ("add(1, 2)",)),
        ("math.isclose(_h0, 0.75)", ("add(0.5, 0.25)",)),
        ("_h0 == 4", ("add(__ace_total, 1)",)),  # a local, renamed: no program global is touched
    ]
    assert plan.required == (0, 1, 2) and plan.checks[0].source == "assert candidate(1, 2) == 3"
    assert "def check" not in plan.sandbox_code and "__ace_total = 0" in plan.sandbox_code
    assert plan.forgeable  # the loop still runs in the program's process
    program = "total = 100\ndef add(a, b):\n    return a + b + (total - 100)\n"
    assert passes(program, HUMANEVAL_STYLE + "\ncheck(add)\n")
    assert not passes(program.replace("a + b", "a - b"), HUMANEVAL_STYLE + "\ncheck(add)\n")


@pytest.mark.parametrize(
    "test",
    [
        HUMANEVAL_STYLE + "\ncheck(add)\ncheck(add)\n",  # called twice
        HUMANEVAL_STYLE + "\nprint(check)\ncheck(add)\n",  # referenced elsewhere
        HUMANEVAL_STYLE.replace("total = 0", "return\n    total = 0") + "\ncheck(add)\n",  # returns early
        HUMANEVAL_STYLE.replace("(candidate)", "(candidate=add)") + "\ncheck()\n",  # a default
    ],
)
def test_check_functions_that_do_not_run_as_straight_line_code_stay_functions(test):
    plan = plan_assert_test(test)
    assert "def check" in plan.sandbox_code and plan.forgeable


def test_humaneval_check_functions_are_split():
    """The share of HumanEval's tests still judged in the program's process (issue 10)."""
    import gzip
    import json
    import os
    from pathlib import Path

    shared = Path(os.environ.get("ACECODER_SHARED_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data")
    path = shared / "humanevalplus" / "HumanEvalPlus-v0.1.10.jsonl.gz"
    if not path.exists():
        pytest.skip("HumanEval+ data not on this host")
    rows = [json.loads(line) for line in gzip.open(path, "rt")]
    forgeable = [r["task_id"] for r in rows if plan_assert_test(r["test"] + f"\ncheck({r['entry_point']})\n").forgeable]
    assert len(rows) == 164 and len(forgeable) <= 7, forgeable


def test_loops_over_literals_are_unrolled_into_required_checks():
    plan = plan_assert_test("for a, b in [(1, 2), (3, 4)]:\n    for c in 'xy':\n        assert f(a, c) == b")
    assert [(c.template, c.holes) for c in plan.checks] == [
        ("_h0 == 2", ("f(1, 'x')",)),
        ("_h0 == 2", ("f(1, 'y')",)),
        ("_h0 == 4", ("f(3, 'x')",)),
        ("_h0 == 4", ("f(3, 'y')",)),
    ]
    assert plan.required == (0, 1, 2, 3) and not plan.forgeable
    assert plan.checks[0].source == "assert f(a, c) == b" and "for " not in plan.sandbox_code
    assert passes("def f(a, c): return a + 1", "for x in range(3):\n    assert f(x, 0) == x + 1")
    assert not passes("def f(a, c): return a + (a == 2)", "for x in range(3):\n    assert f(x, 0) == x + 1")


@pytest.mark.parametrize(
    "test",
    [
        "for x in range(3):\n    assert f(x) == x\nprint(x)",  # the target is read after the loop
        "for x in range(3):\n    if x:\n        break\n    assert f(x)",
        "for x in range(3):\n    assert f(x)\nelse:\n    pass",
        "for x in range(3):\n    x = x + 1\n    assert f(x)",  # the body rebinds the target
        "for x in range(1001):\n    assert f(x)",
        "for x in cases:\n    assert f(x)",
        "range = lambda n: [0]\nfor x in range(3):\n    assert f(x)",
    ],
)
def test_loops_that_cannot_be_unrolled_stay_loops(test):
    plan = plan_assert_test(test)
    assert "for x in " in plan.sandbox_code and plan.forgeable


def test_nested_unrolling_has_one_budget_per_test():
    """Finding 4: each level under the per-level cap, N**3 in all; past the budget the rest
    stays a generator, run in the sandbox and flagged forgeable."""
    expr = "f(x0, x1, x2)"
    for i in range(3):
        expr = f"all({expr} for x{i} in range(32))"
    plan = plan_assert_test("assert " + expr)
    assert sum(len(c.holes) for c in plan.checks) <= 1000
    assert len(plan.sandbox_code) < 200_000
    assert plan.forgeable is True
    small = plan_assert_test("assert all(all(f(x, y) for x in range(10)) for y in range(10))")
    assert len(small.checks[0].holes) == 100
    assert small.forgeable is False


@pytest.mark.parametrize("plan", [plan_assert_test, plan_unittest])
def test_int_literals_past_the_digit_limit_are_invalid_jobs(plan):
    """Finding 7: ``ast.unparse`` raises a bare ValueError on such a literal."""
    big = hex(2**20000)
    source = f"assert f(1) == {big}" if plan is plan_assert_test else (
        f"import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(f(1), {big})\n"
    )
    with pytest.raises(InvalidJobError, match="cannot be rewritten into checks"):
        plan(source)


def test_big_int_literals_are_not_compared_with_program_values_in_the_host() -> None:
    """Red team (host finding 2): ``<4,050-digit int> in f()`` was host_safe, and against a
    list of Decimal('1E+10000') every element converted the int (~0.2 ms each): 4.5 s of
    host CPU for 20,000 elements. Int literals past 1,024 bits go to a judge process."""
    import decimal
    import time

    big = 10**4050 - 1
    (check,) = plan_assert_test(f"assert {big} in f()").checks
    assert not host_safe(check.template)
    for lit in (2**1024, -(2**1024), (1 << 4000) + 1):
        for template in (f"{lit} in _h0", f"_h0 == [1, {lit}]", f"({lit}, 2) in _h0", f"_h0 != {hex(lit)}"):
            assert not host_safe(template), template
    for lit in (2**1024 - 1, -(2**1024 - 1), 10**300):
        assert host_safe(f"{lit} in _h0") and host_safe(f"_h0 == [1, {lit}]")
    # What a host-safe literal now costs against a list of such Decimals: bounded per element.
    (check,) = plan_assert_test(f"assert {2**1024 - 1} in f()").checks
    assert host_safe(check.template)
    values = ([decimal.Decimal("1E+10000")] * 20_000,)
    t0 = time.process_time()
    assert judge(check, values)[0] is False
    assert time.process_time() - t0 < 0.5  # 4.5 s for the 4,050-digit literal


@pytest.mark.parametrize("template", ["_h0 == _h1", "_h0 in _h1", "_h1 != _h0[0]", "abs(_h0 - _h1) < 1e-06"])
def test_two_program_values_are_not_compared_in_the_host(template: str) -> None:
    """Finding 6: comparing two program values can be super-linear (a 2**20-bit int with a Decimal)."""
    assert not host_safe(template)
    assert host_safe(template.replace("_h1", "5"))  # a literal facing one value stays in the host


@pytest.mark.parametrize("test", ["assert f(1) == f(2)[0]", "assert f(1) in f(2)"])
def test_a_big_int_against_decimals_does_not_hold_the_host(test: str) -> None:
    import time

    import acesandbox
    from _support import require_backend

    require_backend("namespace")
    program = ("from decimal import Decimal\ndef f(x):\n    if x == 1:\n        return 2 ** (1 << 20) - 3\n"
               "    return [Decimal(1)] * 5\n")
    t0, c0 = time.monotonic(), time.process_time()
    report = acesandbox.run_tests(program, [test], sandbox=acesandbox.SandboxConfig(backend="namespace"),
                                  limits=acesandbox.Limits(timeout_s=1.0))
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    (outcome,) = report.outcomes
    assert outcome.status in (acesandbox.Status.FAILED, acesandbox.Status.ERROR), outcome
    assert wall < 5.0 and cpu < 1.0, (wall, cpu)


@pytest.mark.parametrize(
    "test",
    [
        "def check(candidate):\n    def ok(x):\n        return sorted(candidate(x)) == [1, 2, 3]\n    assert ok(1)\ncheck(f)",
        "def check(candidate):\n    async def co():\n        return 1\n    assert co is not None\ncheck(f)",
    ],
)
def test_inlined_check_bodies_rename_nested_definitions(test):
    """Finding 3: a nested def is renamed with its uses (it raised NameError)."""
    plan = plan_assert_test(test)
    assert "def check" not in plan.sandbox_code and plan.checks
    assert passes("def f(x):\n    return [3, 2, 1]\n", test)


def test_check_bodies_that_define_classes_are_not_inlined():
    """Finding 3: names in a class body are attributes (and ``__ace_`` ones would be mangled)."""
    test = "def check(candidate):\n    class C:\n        v = 3\n    assert len(candidate(1)) == C.v\ncheck(f)"
    plan = plan_assert_test(test)
    assert "def check(candidate)" in plan.sandbox_code and plan.forgeable is True
    assert run("def f(x):\n    return [3, 2, 1]\n", plan) == []  # no NameError: it ran, in the sandbox


OVERWRITER = """
def f(x):
    out = [9, 9, 9]
    g = globals()
    for name in list(g):
        if name.endswith("expected") or name == "data":
            g[name] = out  # the test's own variable, overwritten before its hole is read
    return out
"""


@pytest.mark.parametrize(
    "test",
    [
        "expected = [1, 2, 3]\nassert f(1) == expected",
        "data = [3, 1, 2]\nassert f(1) == sorted(data)",
        "def check(candidate):\n    expected = [1, 2, 3]\n    assert candidate(1) == expected\ncheck(f)",
    ],
)
def test_names_bound_once_to_a_literal_are_folded_into_the_template(test):
    """Finding 1: the literal is in the template; the program cannot overwrite the variable."""
    plan = plan_assert_test(test)
    assert plan.checks[0].holes == ("f(1)",)
    assert "[1, 2, 3]" in plan.checks[0].template or "[3, 1, 2]" in plan.checks[0].template
    assert plan.forgeable is False
    assert verdicts(OVERWRITER, test) == [(False, f"{plan.checks[0].source} failed: f(1) returned [9, 9, 9]")]
    assert passes("def f(x):\n    return [1, 2, 3]\n", test)


@pytest.mark.parametrize(
    "test",
    [
        "data = [3, 1, 2]\nassert f(data) is None\nassert data == [1, 2, 3]",  # passed to the program
        "expected = [1]\nexpected = [1, 2, 3]\nassert f(1) == expected",  # rebound
        "expected = [1, 2, 3]\nexpected.append(4)\nassert f(1) == expected",  # mutated
        "expected = [1, 2, 3]\nassert f(1) == expected.copy()",
    ],
)
def test_test_bound_names_read_in_a_hole_are_forgeable(test):
    """Finding 1: what is not folded is read in the program's process."""
    plan = plan_assert_test(test)
    assert any(h in ("data", "expected") or h.startswith("expected.") for c in plan.checks for h in c.holes)
    assert plan.forgeable is True


SELF_EXPECTED = (
    "import unittest\nclass T(unittest.TestCase):\n    def setUp(self):\n        self.expected = [1, 2, 3]\n"
    "    def test_a(self):\n        self.assertEqual(f(1), self.expected)\n        assert f(2) == self.expected\n"
)
SELF_OVERWRITER = """
import sys
import unittest
def f(x):
    out = [9, 9, 9]
    case = sys._getframe(1).f_locals.get("self")
    if isinstance(case, unittest.TestCase):
        case.expected = out  # the test's attribute, overwritten before its hole is read
    return out
"""


def test_unittest_self_attributes_set_to_a_literal_in_setup_are_folded():
    """Finding 1 (issue 10, item 3): ``self.expected`` assigned a literal in setUp and only
    read by judged checks is folded into the templates, as ``expected = [...]`` is."""
    plan = plan_unittest(SELF_EXPECTED)
    assert [(c.template, c.holes) for c in plan.checks] == [("_h0 == [1, 2, 3]", (f"f({i})",)) for i in (1, 2)]
    assert plan.forgeable is False
    assert verdicts(SELF_OVERWRITER, SELF_EXPECTED, unit=True)[0] == (
        False, "self.assertEqual(f(1), self.expected) failed: f(1) returned [9, 9, 9]"
    )
    assert passes("def f(x):\n    return [1, 2, 3]\n", SELF_EXPECTED, unit=True)


@pytest.mark.parametrize(
    "extra",
    [
        "    def test_b(self):\n        self.expected.append(4)\n",  # mutated
        "    def test_b(self):\n        self.expected = [5]\n",  # stored again
        "    def test_b(self):\n        self.assertEqual(f(self.expected), 1)\n",  # passed to the program
        "    def test_b(self):\n        self.assertIs(f(1), self.expected)\n",  # identity: a copy would differ
        "    def test_b(self):\n        self.assertEqual(f(1), getattr(self, 'expected'))\n",  # named by a string
        "    def helper(self):\n        return self.expected\n",  # read outside a check
        "    expected = [0]\n",  # a class attribute too
    ],
)
def test_unittest_self_attributes_used_otherwise_stay_holes_and_are_forgeable(extra):
    """Finding 1: what is not folded is read in the program's process."""
    plan = plan_unittest(SELF_EXPECTED + extra)
    assert ("f(1)", "self.expected") in [c.holes for c in plan.checks]
    assert plan.forgeable is True


def test_program_values_bound_to_names_stay_unforgeable():
    plan = plan_assert_test("r = f(1)\nassert r == 3\nassert f(2) == 4")
    assert [c.holes for c in plan.checks] == [("r",), ("f(2)",)]
    assert plan.forgeable is False


@pytest.mark.parametrize(
    "test",
    [
        "def ok(x):\n    return sorted(f(x)) == [1, 2, 3]\nassert ok(1)",
        "def check(candidate):\n    def ok(x):\n        return sorted(candidate(x)) == [1, 2, 3]\n    assert ok(1)\ncheck(f)",
        "ok = lambda x: f(x) == 1\nassert ok(1)",
        "def ok(x):\n    return f(x)\nr = ok(1)\nassert r == 1",
    ],
)
def test_calls_to_functions_the_test_defines_are_forgeable(test):
    """Finding 2: the helper's comparison runs in the program's process."""
    assert plan_assert_test(test).forgeable is True



def test_a_call_test_does_not_compare_decimals_with_a_huge_int_in_the_host() -> None:
    """Finding 6, CallTest path: Decimal == 2**20-bit int cost 1.4 s of host CPU per element."""
    import time
    from decimal import Decimal

    import acesandbox
    from _support import require_backend

    require_backend("namespace")
    big = 2 ** (1 << 20) - 3
    program = "from decimal import Decimal\ndef f(x):\n    return [Decimal(1)] * 8\n"
    t0, c0 = time.monotonic(), time.process_time()
    report = acesandbox.run_tests(program, [acesandbox.CallTest("f", (1,), [big] * 8)],
                                  sandbox=acesandbox.SandboxConfig(backend="namespace"))
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    assert [o.status for o in report.outcomes] == [acesandbox.Status.FAILED]
    assert wall < 5.0 and cpu < 0.5, (wall, cpu)
    equal = acesandbox.run_tests(program, [acesandbox.CallTest("f", (1,), [Decimal(1)] * 8)],
                                 sandbox=acesandbox.SandboxConfig(backend="namespace"))
    assert [o.status for o in equal.outcomes] == [acesandbox.Status.PASSED]
    mixed = "from decimal import Decimal\ndef f(x):\n    return (2 ** 80000 + x, Decimal('1.5'), {'a': [1]})\n"
    same = acesandbox.run_tests(mixed, [acesandbox.CallTest("f", (1,), (2**80000 + 1, Decimal("1.5"), {"a": [1]}))],
                                sandbox=acesandbox.SandboxConfig(backend="namespace"))
    assert [o.status for o in same.outcomes] == [acesandbox.Status.PASSED]


def test_folding_literals_copies_a_bounded_number_of_nodes():
    """A big literal read by many asserts is not copied into each past the budget."""
    big = "expected = [" + ", ".join(["1"] * 5000) + "]\n" + "assert f(1) == expected\n" * 200
    plan = plan_assert_test(big)
    assert len(plan.sandbox_code) < 200_000
    assert plan.forgeable is True  # read as a hole instead
    small = plan_assert_test("expected = [1, 2]\n" + "assert f(1) == expected\n" * 3)
    assert [c.holes for c in small.checks] == [("f(1)",)] * 3


def test_planning_thousands_of_asserts_is_linear():
    """Each check's source text was cut with ``ast.get_source_segment``, which splits the
    whole source again per statement: 3,000 asserts took 29 s to plan."""
    import time

    source = "".join(f"x{i} = [{i}]\n" for i in range(3000)) + "".join(f"assert f({i}) == x{i}\n" for i in range(3000))
    t0 = time.process_time()
    plan = plan_assert_test(source, max_nodes=100_000)  # ~52,000 nodes: past the default cap
    assert time.process_time() - t0 < 10.0
    assert plan.checks[7].source == "assert f(7) == x7" and plan.checks[7].template == "_h0 == [7]"
    assert only_check("x = 1\r\nassert (f(1) ==\r\n  2)  # c\n").source == "assert (f(1) ==\r\n  2)"
    assert only_check("assert g('é') == 'ü'  # c").source == "assert g('é') == 'ü'"


# -- planning budget (Limits.test_source_bytes, Limits.test_nodes) ------------------------

ATTACK_2MB = "\n".join(f"assert f({i}) == [" + ",".join(["1"] * 5000) + "]" for i in range(200))
"""A client-supplied test of 2 MB: 200 asserts, each with a 5,000-element literal (took 77 s to plan)."""


def _prepare_one(test: Any, **limits: Any) -> Any:
    import acesandbox
    from acesandbox._kinds import prepare_job

    job = acesandbox.Job(program="def f(x):\n    return x\n", tests=[test], limits=acesandbox.Limits(**limits))
    (slot,) = prepare_job(job)
    return slot


@pytest.mark.parametrize("compare", ["strict", "compat"])
def test_a_2mb_test_is_refused_before_it_is_parsed(compare: str) -> None:
    import time

    import acesandbox

    assert len(ATTACK_2MB) > 2_000_000
    t0 = time.process_time()
    slot = _prepare_one(acesandbox.AssertTest(ATTACK_2MB)) if compare == "strict" else None
    if slot is None:
        from acesandbox._kinds import prepare_job

        job = acesandbox.Job(program="def f(x):\n    return x\n", tests=[ATTACK_2MB], compare="compat")
        (slot,) = prepare_job(job)
    assert time.process_time() - t0 < 0.5
    assert isinstance(slot, InvalidJobError)
    assert str(slot).startswith("tests[0]: test source is over 131,072 bytes") and "Limits.test_source_bytes" in str(slot)


def test_a_test_over_the_node_cap_is_refused_before_planning() -> None:
    import time

    import acesandbox

    source = "\n".join(f"assert f({i}) == [" + ",".join(["1"] * 1000) + "]" for i in range(12))  # ~12,000 nodes
    t0 = time.process_time()
    slot = _prepare_one(acesandbox.AssertTest(source))
    assert time.process_time() - t0 < 0.5
    assert isinstance(slot, InvalidJobError) and "more than 10,000 syntax-tree nodes" in str(slot)
    assert "Limits.test_nodes" in str(slot)
    unit = "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n" + "".join(
        f"        self.assertEqual(f({i}), [{i}, 2, 3])\n" for i in range(1000)
    )
    assert "Limits.test_nodes" in str(_prepare_one(acesandbox.UnittestTest(unit)))
    planned = _prepare_one(acesandbox.AssertTest(source), test_nodes=20_000)  # the setting raises it
    assert len(planned.checks) == 12 and planned.forgeable is False


def test_the_caps_are_limits_fields_with_units_and_help() -> None:
    import dataclasses

    import acesandbox

    fields = {f.name: f for f in dataclasses.fields(acesandbox.Limits)}
    assert fields["test_source_bytes"].default == 128 * 1024 and "bytes" in fields["test_source_bytes"].metadata["help"]
    assert fields["test_nodes"].default == 10_000 and "nodes" in fields["test_nodes"].metadata["help"]
    with pytest.raises(InvalidJobError, match="test_nodes must be a positive integer"):
        acesandbox.Limits(test_nodes=0)
    assert acesandbox.Limits.from_dict({"test_nodes": 500}).test_nodes == 500


HOSTILE_SHAPES = {  # each under both caps; most took from 1 s to over a minute to plan before the budget
    "many loops": "".join("for i in (1,):\n    assert f(i)\n" for _ in range(650)),
    "nested returns in check": "def check(c):\n"
    + "".join(f"    def g{k}():\n        return 1\n" for k in range(1500))
    + "    assert c(1)\ncheck(f)\n",
    "loop copying a big body": "for i in range(1000):\n"
    + "".join("    assert f(i) == [" + ",".join(["1"] * 1500) + "]\n" for _ in range(5)),
    "comprehension copying a big element": "assert all(f(("
    + ",".join(["x"] * 3000)
    + ")) for x in ["
    + ",".join(["1"] * 900)
    + "])",
    "literal read by many asserts": "x = [" + ",".join(["1"] * 4000) + "]\n" + "assert f(1) == x\n" * 600,
    "operator chain": "assert f(0) == " + "-" * 5000 + "1",
    "deep addition": "x = 1\nassert f(0) == " + "+".join(["x"] * 3000),
    "chain of names": "x0 = 1\n" + "".join(f"x{k + 1} = x{k}\n" for k in range(1900)) + "assert f(1) == x1900\n",
    "unittest attributes": "import unittest\nclass T(unittest.TestCase):\n    def setUp(self):\n        self.e = ["
    + ",".join(["1"] * 50)
    + "]\n    def test_a(self):\n"
    + "".join(f"        self.assertEqual(f({k}), self.e)\n" for k in range(700)),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_SHAPES))
def test_no_test_under_the_caps_holds_the_host(name: str) -> None:
    """Work that planning makes (unrolled and folded copies) counts against Limits.test_nodes,
    and its whole-test scans are bounded: each shape ends in about a second even on a loaded
    machine (under 0.5 s idle), planned or refused."""
    import time

    import acesandbox

    source = HOSTILE_SHAPES[name]
    assert len(source.encode()) <= 128 * 1024
    t0 = time.process_time()
    kind = acesandbox.UnittestTest if name.startswith("unittest") else acesandbox.AssertTest
    slot = _prepare_one(kind(source))
    assert time.process_time() - t0 < 2.0, name
    if isinstance(slot, InvalidJobError):
        assert "Limits.test_nodes" in str(slot) or "nests too deeply" in str(slot)
    else:  # planned into checks, or left whole for a test process (its source, as sent)
        assert len(slot.payload.get("code", slot.source or "")) < 400_000


def test_copies_past_the_node_budget_are_not_made() -> None:
    """A loop whose copies would exceed what is left of the budget stays a loop (forgeable)."""
    loop = "for i in range(100):\n    assert f(i) == i\n"
    assert len(plan_assert_test(loop).checks) == 100
    small = plan_assert_test(loop, max_nodes=500)
    assert len(small.checks) == 1 and small.forgeable is True


def test_the_2mb_attack_through_the_sandbox_ends_fast_as_error() -> None:
    """The reward server's path: a job whose client-supplied test is the attack; the host
    refuses it in well under a second and the job's other test still runs."""
    import time

    import acesandbox
    from _support import require_backend

    require_backend("namespace")
    t0, c0 = time.monotonic(), time.process_time()
    report = acesandbox.run_tests(
        "def f(x):\n    return x\n",
        [ATTACK_2MB, "assert f(2) == 2"],
        sandbox=acesandbox.SandboxConfig(backend="namespace"),
        limits=acesandbox.Limits(timeout_s=1.0),
    )
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    assert [o.status for o in report.outcomes] == [acesandbox.Status.ERROR, acesandbox.Status.PASSED]
    assert "Limits.test_source_bytes" in report.outcomes[0].message
    assert cpu < 1.0 and wall < 10.0, (wall, cpu)


# -- library names a test reads unimported: never a program value (testproc.library_names) -----


@pytest.mark.parametrize(
    "source",
    [
        "assert np.allclose(f(2), 3.0)",  # the program's np would decide
        "assert numpy.array_equal(f(2), [3.0])",
        "assert Counter(f(2)) == Counter([1, 2])",  # the program's Counter would also see [1, 2]
        "assert tuple_size((1, 2)) == sys.getsizeof((1, 2))",  # the program's sys would set the expected value
        "x = np.array([1, 2])\nassert f(x) == 3",
        "pd.testing.assert_frame_equal(f(2), pd.DataFrame({'a': [1]}))",  # the program's pd would decide
        "assert isinstance(f(2), plt.Axes)",
    ],
)
def test_a_hole_read_through_a_library_name_is_not_a_program_value(source):
    assert plan_assert_test(source).forgeable  # judged whole in a test process, with the library's objects


def test_library_names_leave_trusted_modules_and_target_functions_as_they_were():
    plan = plan_assert_test("assert math.isclose(f(2), 3.0)")
    assert not plan.forgeable and plan.checks[0].template == "math.isclose(_h0, 3.0)"
    # the test's own import of the library: as before (forgeable)
    assert plan_assert_test("import numpy as np\nassert np.allclose(f(2), 3.0)").forgeable
    # a test that reads only library names tests one of them: the program's function, split as before
    plan = plan_assert_test("assert sqrt(16) == 4")
    assert not plan.forgeable and plan.checks[0].holes == ("sqrt(16)",)
    # names real tasks define (MBPP's gcd, HumanEval's median) stay the program's
    for source in ("assert gcd(4, 6) == 2", "assert median([1, 2, 3]) == 2"):
        assert not plan_assert_test(source).forgeable, source


@pytest.mark.parametrize(
    "test",
    [
        "class Check:\n    assert f(0) == 1\nassert f(1) == 2",  # a class body runs with its statement
        "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        class C:\n            assert f(0) == 1\n        self.assertEqual(f(1), 2)\n",
    ],
)
def test_a_class_body_that_decides_is_not_a_plain_statement(test):
    """Left as a plain statement, the class body's assert ran unrewritten in the program's
    process, where a value with a lying __eq__ passed it."""
    plan = plan_unittest(test) if test.startswith("import unittest") else plan_assert_test(test)
    assert plan.forgeable


def test_a_class_of_definitions_and_literals_stays_plain():
    plan = plan_assert_test("class Box:\n    size = 3\n    def area(self):\n        return 9\nassert f(1) == 2")
    assert not plan.forgeable
