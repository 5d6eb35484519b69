"""Tests judged whole in a test process Q: shapes the splitter cannot take apart (a
generator over results past the unrolling bound, a test helper applied to results, loops
over random inputs, library assert helpers in loops) run outside the program's process,
so a program that patches builtins, math, random, unittest or sys.modules, lies with its
values, kills or stops Q, reads memory for the expected values or answers Q with hostile
replies never gets ``passed``; correct programs still pass the same shapes."""

from __future__ import annotations

from dataclasses import replace

from .._spec import UnittestTest
from ._case import BLOCKED, FAST, HANG, NOT_PASSED, C, Case, F, P, T, src

_PATCHER = src(
    """
    import builtins, math, random, sys, types, unittest
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
    builtins.sum = lambda *a, **k: 0
    builtins.abs = lambda x: 6.0
    math.isclose = lambda *a, **k: True
    math.fabs = lambda x: 0.0
    random.Random.randint = lambda self, a, b: 0
    random.randint = lambda a, b: 0
    for _name in dir(unittest.TestCase):
        if _name.startswith("assert"):
            setattr(unittest.TestCase, _name, lambda *a, **k: None)
    _fake = types.ModuleType("math")
    _fake.isclose = lambda *a, **k: True
    sys.modules["math"] = _fake
    def f(x):
        return Yes()
    def g(x):
        return 0.0 if x == 0 else -1.0
    """
)

_CORRECT = src(
    """
    def f(x):
        return 2 * x
    def g(x):
        return 2.0 * x
    """
)

# Shapes still judged whole (Plan.forgeable): each passes only where the program's
# patches or its lying value decide it; the correct program passes every one.
_SHAPES = (
    "assert all(g(x) == 2 * x for x in range(2000))",
    "assert any(g(x) == 7.5 for x in range(1, 2000))",
    "assert sum(g(x) for x in range(1, 2000)) == 0",
    "import math\nassert all(math.isclose(g(x), 3.0 * x) for x in range(1, 2000))",
    "assert all(__import__('math').isclose(g(x), 3.0 * x) for x in range(1, 2000))",
    "def h(v):\n    return v * 2\nassert h(g(1)) == 6.0",
    "def h(v):\n    return abs(v)\nassert h(g(1)) == 6.0",
    "import random\nrng = random.Random(42)\nfor _ in range(50):\n    x = rng.randint(1, 9)\n    assert g(x) == 3 * x",
    "import random\nfor _ in range(20):\n    x = random.randint(1, 9)\n    assert g(x) == 3 * x",
    "import random, unittest\nrng = random.Random(5)\nfor _ in range(3):\n    x = rng.randint(1, 9)\n    unittest.TestCase().assertEqual(g(x), 3 * x)",
    "import math, random\nrng = random.Random(6)\nfor _ in range(3):\n    x = rng.randint(1, 9)\n    assert math.fabs(g(x) - 3 * x) < 1e-9",
    "assert all(f(x) == 2 * x for x in range(2000))",
    "try:\n    assert all(f(x) == 2 * x for x in range(2000))\nexcept BaseException:\n    pass",
)
_SHAPES_WRONG_ONLY_IF_PATCHED = (  # the correct program's answers for the same shapes
    "assert all(g(x) == 2 * x for x in range(2000))",
    "assert any(g(x) == 8.0 for x in range(1, 2000))",
    "assert sum(g(x) for x in range(1, 2000)) == 3998000.0",
    "import math\nassert all(math.isclose(g(x), 2.0 * x) for x in range(1, 2000))",
    "assert all(__import__('math').isclose(g(x), 2.0 * x) for x in range(1, 2000))",
    "def h(v):\n    return v * 2\nassert h(g(1)) == 4.0",
    "def h(v):\n    return abs(v)\nassert h(g(1)) == 2.0",
    "import random\nrng = random.Random(42)\nfor _ in range(50):\n    x = rng.randint(1, 9)\n    assert g(x) == 2 * x",
    "import random\nfor _ in range(20):\n    x = random.randint(1, 9)\n    assert g(x) == 2 * x",
    "import random, unittest\nrng = random.Random(5)\nfor _ in range(3):\n    x = rng.randint(1, 9)\n    unittest.TestCase().assertEqual(g(x), 2 * x)",
    "import math, random\nrng = random.Random(6)\nfor _ in range(3):\n    x = rng.randint(1, 9)\n    assert math.fabs(g(x) - 2 * x) < 1e-9",
    "assert all(f(x) == 2 * x for x in range(2000))",
    "try:\n    assert all(f(x) == 2 * x for x in range(2000))\nexcept BaseException:\n    pass",
)
_UNITTEST_LOOP = src(
    """
    import unittest
    class T(unittest.TestCase):
        def test_loop(self):
            for x in range(1, 4):
                self.assertEqual(g(x), 3 * x)
    """
)
_UNITTEST_LOOP_CORRECT = _UNITTEST_LOOP.replace("3 * x", "2 * x")

# The program looks for the expected value everywhere it might be: its own memory (what
# it inherited from the server), the server's and Q's descriptors and memory.
_HUNTER = src(
    """
    import gc, os
    NEEDLE = b"== '" + b"EXPECTED-"  # the expected value as the test's source writes it...
    TAIL = b"7f" + b"3a'"  # ...checked piecewise: the program never builds it whole itself
    def _find(data):
        i = data.find(NEEDLE)
        while i >= 0:
            j = i + len(NEEDLE)
            if data[j:j + len(TAIL)] == TAIL:
                return data[i + 4:j + len(TAIL) - 1]
            i = data.find(NEEDLE, i + 1)
        return None
    def _scan_self():
        for obj in gc.get_objects():
            if isinstance(obj, (str, bytes, dict, list)):
                found = _find(repr(obj).encode("utf-8", "replace"))
                if found:
                    return found
        with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
            for line in maps:
                lo, hi = (int(v, 16) for v in line.split()[0].split("-"))
                if "r" not in line.split()[1] or hi - lo > 1 << 26:
                    continue
                try:
                    mem.seek(lo)
                    found = _find(mem.read(hi - lo))
                except (OSError, ValueError, OverflowError):
                    continue
                if found:
                    return found
        return None
    def _read(path):
        try:
            with open(path, "rb") as fh:
                return _find(fh.read(1 << 22))
        except OSError:
            return None
    def _scan_others():
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            for what in ("environ", "cmdline", "mem"):
                found = _read(f"/proc/{pid}/{what}")
                if found:
                    return found
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                found = _read(f"/proc/{pid}/fd/{fd}")
                if found:
                    return found
        return None
    def f(x):
        found = _scan_others() or _scan_self()
        return found.decode("ascii", "replace") if found else "nothing"
    """
)
# The expected value is written whole only in the tests' source (the program splits it).
_HUNTED = (
    "assert all(f(x) == 'EXPECTED-7f3a' for x in range(2000, 2002))",
    "def h(v):\n    return v == 'EXPECTED-7f3a'\nassert h(f(1))",
)

_Q_PIDS = src(
    """
    import os, signal
    def _others():
        me, parent = os.getpid(), os.getppid()
        return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me, parent)]
    def kill_q(x):
        for pid in _others():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return 2 * x
    def stop_q(x):
        for pid in _others():
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError:
                pass
        return 2 * x
    def ptrace_q(x):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        hits = 0
        for pid in _others():
            hits += libc.ptrace(16, pid, 0, 0) == 0  # PTRACE_ATTACH
        return 2 * x if hits == 0 else 3 * x
    def double(x):
        return 2 * x
    """
)
_LOOP = "import random\nrng = random.Random(1)\nfor _ in range(3):\n    x = rng.randint(0, 9)\n    assert {fn}(x) == 3 * x"

_HOSTILE_REPLIES = src(
    """
    import os, stat
    def _to_sockets(data):
        for fd in range(3, 256):
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.write(fd, data)
            except OSError:
                pass
    def huge(x):
        _to_sockets(b"\\xff\\xff\\xff\\xf0")
        return 3 * x
    def deep(x):
        body = b"[" * 100000 + b"]" * 100000
        _to_sockets(len(body).to_bytes(4, "big") + body)
        return 3 * x
    def malformed(x):
        _to_sockets(b"\\x00\\x00\\x00\\x05hello")
        return 3 * x
    def big(x):
        return "x" * (80 << 20)
    def bye(x):
        os._exit(0)
    def leave(x):
        raise SystemExit(0)
    def boom(x):
        raise ValueError("boom")
    """
)
_CALL_LOOP = "import random\nrng = random.Random(1)\nfor _ in range(2):\n    x = rng.randint(1, 9)\n    assert {fn}(x) == 3 * x"
_BIG_LOOP = "import random\nfor _ in range(random.randint(1, 1)):\n    assert len(big(random.randint(1, 2))) == 80 << 20"
_RAISES = "try:\n    for x in range(1, 3):\n        boom(x)\n    assert False\nexcept ValueError as exc:\n    assert 'boom' in str(exc)"

# The program answers the test process's requests itself, naming a module for Q to import
# whose import runs code (unittest.__main__ discovers tests in the scratch, where the
# program wrote one that writes a pass to every pipe).
_MODULE_REPLY = src(
    """
    import sys
    tp = next(m for n, m in list(sys.modules.items()) if n.endswith("_sandbox.testproc"))
    PAYLOAD = (
        "import os, stat\\n"
        "for fd in range(3, 256):\\n"
        "    try:\\n"
        "        if stat.S_ISFIFO(os.fstat(fd).st_mode):\\n"
        "            os.write(fd, b'{\\"v\\":\\"pass\\"}')\\n"
        "    except OSError:\\n"
        "        pass\\n"
        "os._exit(0)\\n"
    )
    def evil_serve(fd, g, exc_info, flush):
        with open("test_zz_pwn.py", "w") as fh:
            fh.write(PAYLOAD)
        while True:
            if tp.recv_msg(fd, 1 << 30) is None:
                return
            tp.send_msg(fd, ["mod", "unittest.__main__", 0, "module"])
    tp.serve = evil_serve
    def f(x):
        return -1
    """
)
# Globals the program defines that the test rebinds itself (a star import): the test's.
_STAR = src(
    """
    pi = 0.0
    def f(r):
        return 0.0
    def stop(x):
        raise StopIteration
    """
)

# Library names a test reads without importing them (it relies on the program's imports):
# the program binds them to its own objects. Wherever the test is judged, they are the
# library's, and the program's Counter never sees the expected value it is compared with.
_LIBRARY_FORGER = src(
    """
    class _Yes:
        def __getattr__(self, name):
            return lambda *a, **k: True
    class _Sys:
        def getsizeof(self, *a):
            return 7
    math = _Yes()
    np = _Yes()
    numpy = np
    sys = _Sys()
    def Counter(values=()):
        return {}
    def f(x):
        return -12345.0
    def tuple_size(t):
        return 7
    """
)
_LIBRARY_HONEST = src(
    """
    import math, sys
    import numpy as np
    from collections import Counter
    def f(x):
        return 1.5 * x
    def tuple_size(t):
        return sys.getsizeof(t)
    """
)
_LIB_LOOP = "import random\nrng = random.Random(2)\nfor _ in range(3):\n    x = rng.randint(1, 9)\n    {check}"
_LIBRARY_TESTS = (
    _LIB_LOOP.format(check="assert math.isclose(f(x), 1.5 * x)"),
    "def close(a, b):\n    return math.isclose(a, b, rel_tol=1e-9)\nassert close(f(2), 3.0)",
    _LIB_LOOP.format(check="assert Counter([f(x), x]) == Counter([x, 1.5 * x])"),
    "assert Counter([f(2)]) == Counter([3.0])",
    "assert tuple_size((1, 'a')) == sys.getsizeof((1, 'a'))",
    "assert np.allclose(f(2), 3.0)",
    "assert np.array_equal([f(2)], [3.0])",
    _LIB_LOOP.format(check="assert np.allclose(f(x), 1.5 * x)"),
)

# pandas as BigCodeBench's tests read it (`pd` unimported, 33 real tasks call its testing
# asserts): the program's fake `pd` must decide nothing. Only the forger runs everywhere
# (where the sandbox's interpreter lacks pandas, `pd` stays unbound: a NameError).
_PD_FORGER = src(
    """
    class _Testing:
        def assert_frame_equal(self, *a, **k):
            return None
        def assert_series_equal(self, *a, **k):
            return None
    class _Pd:
        testing = _Testing()
        def DataFrame(self, *a, **k):
            return {}
    pd = _Pd()
    def table():
        return "not a frame"
    """
)
_PD_TESTS = (
    "pd.testing.assert_frame_equal(table(), pd.DataFrame({'a': [1, 2]}))",
    "import unittest\nclass T(unittest.TestCase):\n    def test_table(self):\n"
    "        pd.testing.assert_frame_equal(table(), pd.DataFrame({'a': [1]}))",
)

# f returns a value equal to anything (and unequal to nothing); g is correct.
_LIAR_F = src(
    """
    class Liar:
        def __eq__(self, other):
            return True
        def __ne__(self, other):
            return False
        __hash__ = object.__hash__
    def f(x):
        return Liar()
    def g(x):
        return 2 * x
    """
)


_LOOPS = replace(FAST, timeout_s=4.0, wall_timeout_s=8.0)
"""For tests of up to 2,000 calls, each crossing between the test process and the program's:
0.2 to 0.4 s of CPU on an idle 2-core machine, past 1 s once on a loaded CI machine."""

CASES: tuple[Case, ...] = (
    Case(
        "judged_shapes_correct",
        _CORRECT,
        (*_SHAPES_WRONG_ONLY_IF_PATCHED, UnittestTest(_UNITTEST_LOOP_CORRECT)),
        (P,) * (len(_SHAPES_WRONG_ONLY_IF_PATCHED) + 1),
        limits=_LOOPS,
        why="shapes judged whole in a test process keep their meaning for a correct program",
    ),
    *(
        Case(
            f"judged_shapes_patched_{mode}",
            _PATCHER,
            (*_SHAPES, UnittestTest(_UNITTEST_LOOP)),
            (BLOCKED,) * (len(_SHAPES) + 1),
            mode=mode,
            limits=_LOOPS,
            hostile=True,
            why="the test's own code runs in a test process the program cannot patch: its builtins, math, "
            "random, unittest and sys.modules patches and its lying values decide nothing",
        )
        for mode in ("isolated", "shared")
    ),
    *(
        Case(
            f"judged_expected_value_hidden_{mode}",
            _HUNTER,
            _HUNTED,
            (BLOCKED, BLOCKED),
            mode=mode,
            limits=replace(HANG, timeout_s=5.0, wall_timeout_s=10.0),
            requires={"pid_isolation"},
            hostile=True,
            why="the expected values live only in the test process: not in memory the program inherited, "
            "not in the server's or the test process's descriptors, memory or environment",
        )
        for mode in ("isolated", "shared")
    ),
    *(
        Case(
            f"judged_process_attacked_{mode}",
            _Q_PIDS,
            (
                _LOOP.format(fn="double").replace("3 * x", "2 * x"),
                _LOOP.format(fn="stop_q"),
                _LOOP.format(fn="ptrace_q"),
                _LOOP.format(fn="kill_q"),
            ),
            # Killing every other process also kills the fork template that test processes
            # come from: the rest of that job's tests judged in one crash (test_template.py).
            (P, T, NOT_PASSED, C),
            mode=mode,
            limits=HANG,
            requires={"pid_isolation"},
            hostile=True,
            why="a program that kills or stops the test process ends its test as crashed or timeout, never "
            "passed; it cannot trace it; a stopped fork template is woken for the next test",
        )
        for mode in ("isolated", "shared")
    ),
    *(
        Case(
            f"judged_hostile_replies_{mode}",
            _HOSTILE_REPLIES,
            (
                _CALL_LOOP.format(fn="huge"),
                _CALL_LOOP.format(fn="deep"),
                _CALL_LOOP.format(fn="malformed"),
                _BIG_LOOP,
                _CALL_LOOP.format(fn="bye"),
                _CALL_LOOP.format(fn="leave"),
                _RAISES,
            ),
            (C, C, C, NOT_PASSED, C, C, P),
            mode=mode,
            hostile=True,
            why="replies the program crafts on its channel to the test process (huge, deep, malformed, "
            "forged) and calls that end its process end as the program's failure; its exceptions reach "
            "the test as the builtin exception they derive from",
        )
        for mode in ("isolated", "shared")
    ),
    *(
        Case(
            f"judged_module_reply_imports_nothing_{mode}",
            _MODULE_REPLY,
            (
                "assert all(f(x) == x * x for x in range(50))",
                "import random\nfor _ in range(5):\n    x = random.randint(1, 9)\n    assert f(x) == 3 * x",
            ),
            # Its own serve loop also answers after the test process closed the channel: the
            # program may die of SIGPIPE first (crashed), which is as good a verdict.
            (NOT_PASSED, NOT_PASSED),
            mode=mode,
            hostile=True,
            why="a module the program names in its reply is never imported by the test process unless it "
            "is a top-level standard module (unittest.__main__ would run the program's file in the scratch)",
        )
        for mode in ("isolated", "shared")
    ),
    Case(
        "judged_library_names_correct",
        _LIBRARY_HONEST,
        _LIBRARY_TESTS,
        (P,) * len(_LIBRARY_TESTS),
        why="library names a test reads unimported (math, np, Counter, sys) keep their meaning for a correct program",
    ),
    *(
        Case(
            f"judged_library_names_forged_{mode}",
            _LIBRARY_FORGER,
            _LIBRARY_TESTS,
            (BLOCKED,) * len(_LIBRARY_TESTS),
            mode=mode,
            hostile=True,
            why="a library name the test reads unimported is the library's own object wherever the test is "
            "judged: a program that binds math, np, Counter or sys to its own objects decides nothing, and its "
            "Counter never sees the expected value",
        )
        for mode in ("isolated", "shared")
    ),
    *(
        Case(
            f"judged_library_names_pd_forged_{mode}",
            _PD_FORGER,
            (_PD_TESTS[0], UnittestTest(_PD_TESTS[1])),
            (BLOCKED, BLOCKED),
            mode=mode,
            hostile=True,
            why="pd read unimported is pandas (or nothing where the sandbox lacks it), never the program's fake",
        )
        for mode in ("isolated", "shared")
    ),
    *(
        Case(
            f"judged_rebound_names_stay_the_tests_{mode}",
            _STAR,
            (
                "from math import *\nimport random\nfor _ in range(5):\n    r = random.random() + 0.5\n"
                "    assert isclose(f(r), pi * r ** 2)",
                "from math import *\ndef ref(r):\n    return pi * r * r\nassert all(f(r) == ref(r) for r in range(1, 50))",
                "assert all(map(lambda x: stop(x) == x * x, range(50)))",
            ),
            (BLOCKED, BLOCKED, NOT_PASSED),
            mode=mode,
            hostile=True,
            why="a name the test rebinds (a star import) is no longer refreshed from the program's global; a "
            "StopIteration from a call cannot end the test's own loop early",
        )
        for mode in ("isolated", "shared")
    ),
    *(
        Case(
            f"judged_decorated_methods_skip_{mode}",
            src(
                """
                import os, unittest
                def f(x):
                    raise unittest.SkipTest("skipped by the program")
                def cwd(x):
                    return os.getcwd()
                """
            ),
            (
                UnittestTest(
                    "import unittest\nfrom unittest.mock import patch\nclass T0(unittest.TestCase):\n"
                    "    @patch('os.getcwd')\n    def test_a(self, m):\n        m.return_value = '/mock'\n"
                    "        self.assertEqual(f(1), 3)\n"
                ),
                UnittestTest(
                    "import unittest\nclass T1(unittest.TestCase):\n    @unittest.skipIf(False, 'never')\n"
                    "    def test_a(self):\n        self.assertEqual(f(1), 3)\n"
                ),
                UnittestTest(
                    "import unittest\nclass T2(unittest.IsolatedAsyncioTestCase):\n"
                    "    async def test_a(self):\n        self.assertEqual(f(1), 3)\n"
                ),
                UnittestTest(
                    "import unittest\nfrom unittest import mock\nclass T3(unittest.TestCase):\n"
                    "    @mock.patch('os.getcwd')\n    def test_a(self, m):\n        m.return_value = '/mock'\n"
                    "        self.assertEqual(cwd(1), '/mock')\n"
                ),
            ),
            (NOT_PASSED, NOT_PASSED, NOT_PASSED, P),
            mode=mode,
            hostile=True,
            why="a decorated or async test method's asserts are required like any other's: a program raising "
            "unittest.SkipTest from a call (a skip is neither an error nor a failure) does not pass "
            "BigCodeBench's @patch tests; the method still runs with the program's modules patched",
        )
        for mode in ("isolated", "shared")
    ),
    *(
        Case(
            f"judged_folded_literal_unseen_{mode}",
            src(
                """
                import sys
                def f(x):
                    if "expected" in globals():
                        return globals()["expected"]
                    frame = sys._getframe(1)
                    while frame is not None:
                        me = frame.f_locals.get("self")
                        if me is not None and hasattr(me, "expected"):
                            return me.expected
                        frame = frame.f_back
                    return None
                """
            ),
            (
                "expected = [1, 2, 3]\nassert f(1) == expected",
                UnittestTest(
                    "import unittest\nclass T(unittest.TestCase):\n    def setUp(self):\n"
                    "        self.expected = [1, 2, 3]\n    def test_a(self):\n"
                    "        self.assertEqual(f(1), self.expected)\n"
                ),
            ),
            (NOT_PASSED, NOT_PASSED),
            mode=mode,
            hostile=True,
            why="a literal folded into the template (a test variable, or unittest's self.expected set in setUp) "
            "is no longer bound where the program runs: it cannot read the expected value and return it",
        )
        for mode in ("isolated", "shared")
    ),
    *(
        Case(
            f"judged_setup_checks_required_{mode}",
            src(
                """
                import unittest
                unittest.TestCase._callSetUp = lambda self: None
                def f(x):
                    return 0
                def g(x):
                    return 2 * x
                """
            ),
            (
                UnittestTest(
                    "import unittest\nclass T(unittest.TestCase):\n    def setUp(self):\n"
                    "        self.assertEqual(f(0), 1)\n    def test_a(self):\n        self.assertEqual(g(1), 2)\n"
                ),
            ),
            (NOT_PASSED,),
            mode=mode,
            hostile=True,
            why="a check outside a test method's top level (setUp) is required by no method: such a test is "
            "judged whole in a test process, so a program that stops unittest calling setUp decides nothing",
        )
        for mode in ("isolated", "shared")
    ),
    *(
        Case(
            f"judged_outside_methods_decide_{mode}",
            _LIAR_F,
            tuple(
                UnittestTest(
                    f"import unittest\n{before}class T{i}(unittest.TestCase):\n{inside}"
                    "    def test_a(self):\n        self.assertEqual(g(1), 2)\n"
                )
                for i, (before, inside) in enumerate((
                    ("assert f(0) == 1\n", ""),
                    ("", "    assert f(0) == 1\n"),
                    ("", "    def setUp(self):\n        if f(0) != 1:\n            self.fail('f')\n"),
                    ("", "    @classmethod\n    def setUpClass(cls):\n        if not f(0) == 1:\n            raise AssertionError\n"),
                    ("", "    def tearDown(self):\n        if f(0) != 1:\n            raise AssertionError\n"),
                    ("", "    class Check:\n        assert f(0) == 1\n"),
                    ("", "    def setUp(self):\n        self.x = 1\n"),
                ))
            ),
            (NOT_PASSED, NOT_PASSED, NOT_PASSED, NOT_PASSED, NOT_PASSED, NOT_PASSED, P),
            mode=mode,
            hostile=True,
            why="a unittest test's code outside its test methods (module level, class bodies, setUp, setUpClass, "
            "tearDown) that decides more than plain statements sends the test to a test process: run in the "
            "program's process, its comparison of a program value took the program's forged __ne__",
        )
        for mode in ("isolated", "shared")
    ),
    *(
        Case(
            f"judged_outside_hooks_decide_{mode}",
            _LIAR_F,
            tuple(
                UnittestTest(
                    f"import unittest\ndef check(*args):\n    if f(0) != 1:\n        raise AssertionError('f')\n"
                    f"{before}class T(unittest.TestCase{base}):\n{inside}"
                    "    def test_a(self):\n        self.assertEqual(g(1), 2)\n"
                )
                for before, base, inside in (
                    ("def setUpModule():\n    if f(0) != 1:\n        raise AssertionError('f')\n", "", ""),
                    ("def tearDownModule():\n    check()\n", "", ""),
                    ("setUpModule = check\n", "", ""),
                    ("", "", "    setUp = check\n"),
                    ("def base(ok):\n    assert ok\n    return object\n", ", base(f(0) == 1)", ""),
                    ("", "", "    maxDiff = None\n"),
                )
            ),
            (NOT_PASSED, NOT_PASSED, NOT_PASSED, NOT_PASSED, NOT_PASSED, P),
            mode=mode,
            hostile=True,
            why="setUpModule/tearDownModule, a hook bound by assignment (setUpModule = check, setUp = check) and a "
            "class's bases run outside the test methods too: in the program's process their comparison of a "
            "program value took the program's forged __ne__",
        )
        for mode in ("isolated", "shared")
    ),
    *(
        Case(
            f"judged_setup_module_runs_{mode}",
            "def f(x):\n    return 0\ndef g(x):\n    return 2 * x\n",
            tuple(
                UnittestTest(
                    "import unittest\ndef setUpModule():\n"
                    f"    if f(0) != {want}:\n        raise AssertionError('f(0)')\n"
                    # The decorator sends the test whole to a test process.
                    "class T(unittest.TestCase):\n    @unittest.skipIf(False, 'never')\n"
                    "    def test_a(self):\n        self.assertEqual(g(1), 2)\n"
                )
                for want in (1, 0)
            ),
            (NOT_PASSED, P),
            mode=mode,
            hostile=True,
            why="a test process runs a unittest test's setUpModule too: its namespace was no module there, so "
            "unittest skipped the module fixtures and a check in setUpModule passed any program",
        )
        for mode in ("isolated", "shared")
    ),
    *(
        Case(
            f"judged_identity_of_arguments_{mode}",
            src(
                """
                def clone(x):
                    return x  # no copy
                def copy(x):
                    return list(x)
                def sort_in_place(x):
                    x.sort()
                    return x
                """
            ),
            (
                "lst = [3, 1, 2]\nassert clone(lst) == lst\nassert clone(lst) is not lst",
                UnittestTest(
                    "import unittest\nclass T(unittest.TestCase):\n    def test_copy(self):\n        x = {'a': 1}\n"
                    "        self.assertIsNot(clone(x), x)\n"
                ),
                "lst = [3, 1, 2]\nassert copy(lst) == lst\nassert copy(lst) is not lst",
                "lst = [3, 1, 2]\nassert sort_in_place(lst) is lst\nassert lst == [1, 2, 3]",
                "lst = [3, 1, 2]\nassert sort_in_place(x=lst) is lst",
            ),
            (F, F, P, P, P),
            mode=mode,
            hostile=True,
            why="values cross by value, so what a call returned was never the test's own object: a program "
            "returning its argument itself passed a test's `is not` (a copy was required), and one sorting in "
            "place failed `is`; a call that returns a by-value argument now gives the test its own object",
        )
        for mode in ("isolated", "shared")
    ),
)
