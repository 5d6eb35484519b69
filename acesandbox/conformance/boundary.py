"""The host's trust boundary: a program's output can only ever be its own verdict.

Issue 10, findings 2-6. The program writes crafted lines to the result channel (nested
100,000 deep, fields of the wrong types, forged step ends), makes the sandbox's server
parse or wipe what it left (deep nesting, a directory chain deeper than the recursion
limit), sends results that grow when JSON-escaped, or values that are cheap to send
and costly to rebuild or use (a range of 10**18, Fractions of 8 Mbit, sets of ints that
all hash alike, ``Decimal('1E+100000000')``); the tests reach for host memory through
``str.format`` or hold the CPU with their own constants. Each must end as a non-passed
status of that job, quickly (``verify_quick``), never ``sandbox_error``; the runner's
canary then shows the next job is judged on its own results.
"""

from __future__ import annotations

from ._case import BLOCKED, NOT_PASSED, SECRET_ENV, SPRAY, C, E, F, Case
from ._host import secret_value, verify_quick

ANOMALY = frozenset({C, E})
"""What a broken result channel earns: crashed, or error with a message."""
_P61 = 2**61 - 1  # ints k * _P61 all hash alike


def _forging(frames: str, *, then: str = "os._exit(0)") -> str:
    """A program whose ``f`` writes the bytes expression ``frames`` to the result channel."""
    return SPRAY + f"def f(*args):\n    _spray({frames})\n    {then}\n"


def _check_frame(value_json: str) -> str:
    """Bytes expression: a forged value frame for check 0, then 'finished'."""
    return f"b'\\n[\"c\",0,{{\"$t\":[' + {value_json} + b']}}]\\n[\"d\"]\\n'"


_DEEP = "b'[' * 100000 + b']' * 100000"
FORGE_BAD_EXIT = "b''.join(b'\\n[\"d\"]\\n[\"x\",%d,\"abc\",0.5]\\n' % k for k in range(8))"
"""Bytes expression: forged 'test k exited' frames with a text status (for every k < 8)."""

CASES: tuple[Case, ...] = (
    # -- finding 2: malformed frames end the job as the program's, never the sandbox's
    Case(
        "frame_nested_100k_deep",
        _forging(f"b'\\n' + {_DEEP} + b'\\n'"),
        ("assert f(1) == 3",),
        (ANOMALY,),
        hostile=True,
        verify=verify_quick(30),
        why="a result line nested 100,000 deep is garbage on the channel, not a sandbox failure",
    ),
    Case(
        "frame_exit_status_not_a_number",
        _forging(FORGE_BAD_EXIT, then="return 3"),
        ("assert f(1) == 3", "assert f(2) == 3"),
        (ANOMALY, ANOMALY),
        hostile=True,
        verify=verify_quick(30),
        why="a forged 'test exited' frame with a text status",
    ),
    Case(
        "frame_exit_fields_wrong_types",
        _forging(
            "b''.join(b'\\n[\"d\"]\\n[\"x\",%d,1e999,{\"cpu\":1}]\\n' % k for k in range(8))",
            then="return 3",
        ),
        ("assert f(1) == 3", "assert f(2) == 3"),
        (ANOMALY, ANOMALY),
        hostile=True,
        verify=verify_quick(30),
        why="a forged 'test exited' frame with an infinite status and an object for CPU seconds",
    ),
    Case(
        "frame_error_info_wrong_types",
        _forging("b'\\n[\"e\",{\"type\":[1],\"msg\":{\"a\":1},\"tb\":7}]\\n'"),
        ("assert f(1) == 3",),
        (ANOMALY,),
        hostile=True,
        verify=verify_quick(30),
        why="an exception frame whose fields are not strings",
    ),
    Case(
        "load_frame_not_a_dict",
        SPRAY + "_spray(b'\\n[\"l\",5]\\n')\nos._exit(0)\n",
        ("assert f(1) == 3", "assert f(2) == 3"),
        (ANOMALY, ANOMALY),
        hostile=True,
        verify=verify_quick(30),
        why="a forged 'load failed' frame whose payload is not an object",
    ),
    Case(
        "load_frame_unhashable_status",
        SPRAY + "_spray(b'\\n[\"l\",{\"status\":[\"crashed\"],\"msg\":1}]\\n')\nos._exit(0)\n",
        ("assert f(1) == 3",),
        (ANOMALY,),
        hostile=True,
        verify=verify_quick(30),
        why="a forged 'load failed' frame whose status is a list",
    ),
    # -- finding 3: crashing the in-sandbox server
    Case(
        "exit_frame_nested_100k_deep",
        _forging(f"b'\\n[\"x\",' + {_DEEP} + b']\\n'"),
        ("assert f(1) == 3", "assert f(2) == 3"),
        (ANOMALY, ANOMALY),
        hostile=True,
        verify=verify_quick(30),
        why="the server parses frames that look like its own: deep nesting must not crash pid 1",
    ),
    Case(
        "kill_server_mid_job",
        "import os\n"
        "def f():\n"
        "    with open(f'/proc/{os.getppid()}/stat') as fh:\n"
        "        server = int(fh.read().rsplit(')', 1)[1].split()[1])\n"
        "    try:\n"
        "        os.kill(server, 9)\n"
        "    except OSError:\n"
        "        pass\n"
        "    return 0\n",
        ("assert f() == 1", "assert f() == 1"),
        (frozenset({C, F}), frozenset({C, F})),
        hostile=True,
        verify=verify_quick(60),
        why="where the server can be killed (no pid namespace), a job that kills it twice is crashed, not sandbox_error",
    ),
    Case(
        "scratch_chain_1200_deep",
        "import os\n"
        "def f(x):\n"
        "    fd = os.open('.', os.O_RDONLY)\n"
        "    for i in range(1200):\n"
        "        os.mkdir('d', 0o700, dir_fd=fd)\n"
        "        nfd = os.open('d', os.O_RDONLY, dir_fd=fd)\n"
        "        os.close(fd)\n"
        "        fd = nfd\n"
        "    return 0\n",
        ("assert f(1) == 3", "assert f(2) == 3"),
        (F, F),
        hostile=True,
        verify=verify_quick(60),
        why="a directory chain deeper than the recursion limit in the scratch directory",
    ),
    # -- finding 4: results are counted after escaping, and stream per test
    Case(
        "results_grow_when_escaped",
        _forging("b'\\x01' * (15 << 20) + b'\\n'", then="return 3"),
        ("assert f(1) == 3", "assert f(2) == 3", "assert f(3) == 3"),
        (ANOMALY, ANOMALY, ANOMALY),
        hostile=True,
        verify=verify_quick(60),
        why="15 MiB of control bytes per test is 90 MiB once JSON-escaped",
    ),
    # -- finding 5: values that are cheap to send and expensive to rebuild or use
    Case(
        "range_huge_membership",
        "def f():\n    return range(10**18)\n",
        ("assert 0.5 in f()",),
        (NOT_PASSED,),
        hostile=True,
        verify=verify_quick(20),
        why="'in' walks a range of 10**18 for a float",
    ),
    Case(
        "range_huge_forged",
        _forging(_check_frame("b'{\"$range\":[0,1000000000000000000,1]}'")),
        ("assert 0.5 in f()",),
        (ANOMALY,),
        hostile=True,
        verify=verify_quick(20),
        why="a forged range of 10**18 elements",
    ),
    Case(
        "fraction_huge_forged",
        _forging(
            _check_frame("b'{\"$frac\":[{\"$int\":\"0x' + os.urandom(1 << 20).hex().encode() + b'\"},{\"$int\":\"0x' + os.urandom(1 << 20).hex().encode() + b'\"}]}'")
        ),
        ("assert f() == 1",),
        (ANOMALY,),
        hostile=True,
        verify=verify_quick(20),
        why="a Fraction of 8 Mbit costs a quadratic gcd to normalise",
    ),
    Case(
        "set_of_colliding_ints_forged",
        _forging(_check_frame(f"b'{{\"$set\":[' + b','.join(b'%d' % (k * {_P61}) for k in range(1, 60001)) + b']}}'")),
        ("assert f() == set()",),
        (ANOMALY,),
        hostile=True,
        verify=verify_quick(20),
        why="60,000 distinct ints with one hash make building the set quadratic",
    ),
    Case(
        "dict_of_colliding_keys_forged",
        _forging(_check_frame(f"b'{{\"$d\":[' + b','.join(b'[%d,0]' % (k * {_P61}) for k in range(1, 60001)) + b']}}'")),
        ("assert f() == {}",),
        (ANOMALY,),
        hostile=True,
        verify=verify_quick(20),
        why="60,000 distinct keys with one hash make building the dict quadratic",
    ),
    Case(
        "decimal_huge_exponent",
        "from decimal import Decimal\ndef f():\n    return Decimal('1E+100000000')\n",
        ("assert int(f()) == 0",),
        (NOT_PASSED,),
        hostile=True,
        verify=verify_quick(20),
        why="int() of Decimal('1E+100000000') computes 10**10**8",
    ),
    # -- finding 6: test templates never reach host memory or freeze the host
    Case(
        "template_reads_host_environment",
        "def f():\n    return 0\n",
        (
            'assert "{0.__self__.__loader__.find_spec.__func__.__globals__[sys].modules[os].environ'
            f'[{SECRET_ENV}]}}".format(abs) == "@SECRET@"',
            'assert (f() or "{0.__self__.__loader__.find_spec.__func__.__globals__[sys].modules[os].environ'
            f'[{SECRET_ENV}]}}").format(abs) == "@SECRET@"',
        ),
        (BLOCKED, BLOCKED),
        hostile=True,
        host=secret_value,
        verify=verify_quick(20),
        why="str.format walks attributes: from a builtin to the host's os.environ",
    ),
    Case(
        "template_sums_a_huge_range",
        "def f():\n    return 0\n",
        ("assert sum(range(10**18)) == 0", "assert f() == 7 ** 7 ** 10"),
        (NOT_PASSED, NOT_PASSED),
        hostile=True,
        verify=verify_quick(30),
        why="a test's own constant expression must not hold the host's CPU",
    ),
)
