"""Test kinds: stdin/stdout, calls, batches of calls and unittest classes, each passing and failing."""

from __future__ import annotations


from .._spec import CallBatchTest, CallTest, IOTest, UnittestTest
from ._case import ADD, E, F, IO_SUM, P, T, UNITTEST_FAIL, UNITTEST_PASS, Case, src

CASES: tuple[Case, ...] = (
    Case(
        "io_pass_fail",
        IO_SUM,
        (IOTest("1 2\n", "3\n"), IOTest("1 2\n", "4\n")),
        (P, F),
    ),
    Case(
        "call_pass_fail",
        src(
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
        src(
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
    Case("unittest_pass_fail", ADD, (UnittestTest(UNITTEST_PASS), UnittestTest(UNITTEST_FAIL)), (P, F)),
    Case(
        "unittest_failure_then_error_is_failed",
        "def f(x):\n    return 3\ndef g():\n    raise ValueError('boom')\n",
        (
            UnittestTest(
                "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n"
                "        self.assertEqual(f(1), 2)\n        self.assertEqual(g(), 5)\n"
            ),
            UnittestTest(
                "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n"
                "        self.assertEqual(f(1), 2)\n    def tearDown(self):\n        g()\n"
            ),
        ),
        (F, F),
        why="an assertion that fails is the test's verdict, whatever the program does after it",
    ),
)
