"""Test kinds: stdin/stdout, calls, batches of calls and unittest classes, each passing and failing."""

from __future__ import annotations


from .._spec import CallBatchTest, CallTest, IOTest, UnittestTest
from ._case import ADD, C, E, F, IO_SUM, P, T, UNITTEST_FAIL, UNITTEST_PASS, Case, src

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
    Case(
        "io_lines_split_at_newlines_only",
        src(
            """
            import sys
            seps = {"lf": "\\n", "crlf": "\\r\\n", "cr": "\\r", "vt": "\\x0b", "fs": "\\x1c", "ls": "\\u2028"}
            sys.stdout.write(seps[input()].join("123") + "\\n")
            """
        ),
        tuple(IOTest(f"{sep}\n", "1\n2\n3\n") for sep in ("lf", "crlf", "cr", "vt", "fs", "ls")),
        (P, P, F, F, F, F),
        why="'lines' is LiveCodeBench's rule: lines end at '\\n' (a '\\r' before it is stripped); "
        "'\\r', '\\v', '\\x1c' or '\\u2028' inside a line is not a line break",
    ),
    Case(
        "io_tokens_numbers_exact",
        "print(input())\n",
        (
            IOTest("100000000000000000000\n", "100000000000000000001\n", match="tokens"),
            IOTest("9007199254740992\n", "9007199254740993\n", match="tokens", float_tol=0.5),
            IOTest("1e20\n", "100000000000000000001\n", match="tokens"),
            IOTest("1_000\n", "1000\n", match="tokens"),
            IOTest("7.0 1e3 -0\n", "7 1000 0\n", match="tokens"),
            IOTest("0.1000001 5\n", "0.1 6\n", match="tokens", float_tol=1.0),
        ),
        (F, F, F, F, P, P),
        why="numeric tokens compare exactly (within float_tol): as floats, 10**20 equals 10**20 + 1; "
        "'1_000' is not how a number is printed",
    ),
    Case(
        "call_atol_infinity",
        "def same(x):\n    return x\n",
        (
            CallTest("same", (float("inf"),), float("inf"), atol=1e-6),
            CallBatchTest("same", [([1.0, float("-inf")],)], [[1.0, float("-inf")]], atol=1e-3),
            CallTest("same", (float("inf"),), float("-inf"), atol=1e-6),
            CallTest("same", (1e308,), float("inf"), atol=1e-6),
        ),
        (P, P, F, F),
        why="within atol, an infinity equals itself (inf - inf is nan, never within any tolerance)",
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
    Case(
        "io_program_as_a_script",
        src(
            """
            import atexit, pickle, sys, threading
            class Point:
                def __init__(self, x):
                    self.x = x
            def main():
                data = sys.stdin.read()
                p = pickle.loads(pickle.dumps(Point(data.count("\\r"))))  # finds __main__.Point
                def depth(k):
                    return 0 if k == 0 else 1 + depth(k - 1)
                print(p.x, depth(3000))
            atexit.register(lambda: print("bye"))
            sys.setrecursionlimit(10000)
            threading.stack_size(1 << 26)
            threading.Thread(target=main).start()  # not joined: the interpreter waits for it
            if __name__ == "__main__":
                sys.exit(0)
            """
        ),
        (IOTest("a\r\nb\r\n", "2 3000\nbye\n"), IOTest("a\n", "0 3000\nbye\n")),
        (P, P),
        why="a stdin/stdout program runs as `python program.py < input` runs it: as __main__ (its classes "
        "pickle), with CPython's stdin (a '\\r' is read), its threads waited for and its atexit handlers run "
        "as it ends, and exit(0) a normal end (the competitive-programming idiom: main in a thread with a "
        "big stack, then exit)",
    ),
    Case(
        "io_exit_status_decides",
        "import sys\nprint(3)\nsys.exit(int(input()))\n",
        (IOTest("0\n", "3\n"), IOTest("1\n", "3\n"), IOTest("0\n", "4\n")),
        (P, C, F),
        why="a stdin/stdout program that exits with status 0 ends normally; another status is a crash, "
        "whatever it printed, as a judge's runtime error",
    ),
    Case(
        "io_thread_pool_left_open",
        "from concurrent.futures import ThreadPoolExecutor\npool = ThreadPoolExecutor(2)\nprint(sum(pool.map(abs, [-2, 3])))\n",
        (IOTest("", "5\n"), IOTest("", "5\n")),
        (P, P),
        why="a ThreadPoolExecutor never shut down ends with the program, as the interpreter's exit hooks end it "
        "(its idle workers waited forever: timeout), and a later test may use one again (shared mode)",
    ),
)
