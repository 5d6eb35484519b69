"""Forging: programs that write result frames, patch the runtime that runs their tests, or hunt for the expected values."""

from __future__ import annotations

from dataclasses import replace

from .._spec import CallBatchTest, CallTest, IOTest, UnittestTest
from ._case import ADD, C, F, HANG, NOT_PASSED, P, SPRAY, T, UNITTEST_FAIL, Case, src

CASES: tuple[Case, ...] = (
    Case(
        "call_timer_cancelled",
        src(
            """
            import signal, time
            def f(x):
                signal.setitimer(signal.ITIMER_REAL, 0)  # the call's own timer, gone
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
                t = time.monotonic()
                while x == 1 and time.monotonic() - t < 1.5:
                    pass
                return 2 * x
            """
        ),
        (
            CallBatchTest("f", [(1,), (2,)], [2, 4], call_timeout_s=0.2),
            CallBatchTest("f", [(2,), (3,)], [4, 6], call_timeout_s=0.2),
        ),
        (T, P),
        limits=replace(HANG, timeout_s=5.0, wall_timeout_s=10.0),
        hostile=True,
        why="a call that cancels its own timer (setitimer(0), a blocked SIGALRM) still ends at its limit: "
        "the server keeps a deadline of its own for each call, from the frames it sees",
    ),
    Case(
        "call_batch_forged",
        src(
            """
            import os, signal, sys
            class Yes:
                def __eq__(self, other):
                    return True
            def liar(x):
                return Yes()
            def early_exit(x):
                if x == 1:
                    os._exit(0)
                return x
            def forger(x):
                for fd in range(3, 64):
                    try:
                        os.write(fd, b'["c",1,1]\\n["c",2,2]\\n["d"]\\n')
                    except OSError:
                        pass
                return x
            def no_timer(x):
                signal.signal(signal.SIGALRM, signal.SIG_IGN)
                signal.setitimer(signal.ITIMER_REAL, 0)
                while x == 1:
                    pass
                return x
            def exits(x):
                sys.exit(0)
            def double(x):
                return 2 * x
            """
        ),
        (
            CallBatchTest("liar", [(0,)], [0]),
            CallBatchTest("early_exit", [(0,), (1,), (2,)], [0, 1, 2]),
            CallBatchTest("forger", [(0,), (1,), (2,)], [0, 1, 2]),
            CallBatchTest("no_timer", [(0,), (1,)], [0, 1], call_timeout_s=0.2),
            CallBatchTest("exits", [(0,)], [0]),
            CallBatchTest("double", [(1,)], [2]),
        ),
        (F, C, {F, C}, T, C, P),
        mode="shared",
        limits=HANG,
        hostile=True,
        why="a batch passes only when every call's value was judged outside, in order",
    ),
    Case(
        "forged_done_frame",
        SPRAY + "def f(x):\n    _spray(b'\\n[\"d\"]\\n')\n    os._exit(0)\n",
        ("assert f(1) == 3", CallTest("f", (1,), 3)),
        (C, C),
        hostile=True,
        why="a test that wrote 'finished' and exited before any check was judged has not passed",
    ),
    Case(
        "forged_check_then_exit",
        SPRAY + "def f(x):\n    _spray(b'\\n[\"c\",0,{\"$t\":[3]}]\\n[\"d\"]\\n')\n    os._exit(0)\n",
        ("assert f(1) == 3\nassert f(2) == 5",),
        (NOT_PASSED,),
        hostile=True,
        why="forged check frames cannot skip the test's later asserts",
    ),
    Case(
        "forged_exit_frames_then_hang",
        SPRAY
        + src(
            """
            import time
            def f(x):
                frames = b'\\n["c",0,{"$t":[3]}]\\n["d"]\\n'
                for k in range(8):
                    frames += b'\\n["x",%d,0,0.0]\\n\\n["t",%d]\\n' % (k, k)
                _spray(frames)
                time.sleep(60)
            """
        ),
        ("assert f(1) == 4", "assert f(1) == 4"),
        (NOT_PASSED, NOT_PASSED),
        limits=HANG,
        hostile=True,
        why="only the sandbox itself may say that a test process exited",
    ),
    Case(
        "forged_frames_shared",
        SPRAY
        + src(
            """
            import time
            def f(x):
                frames = b'\\n["d"]\\n'
                for k in range(4):
                    frames += b'\\n["t",%d]\\n' % k
                _spray(frames)
                time.sleep(60)
            """
        ),
        ("assert f(1) == 3", "assert f(2) == 4"),
        (NOT_PASSED, NOT_PASSED),
        mode="shared",
        limits=HANG,
        hostile=True,
    ),
    Case(
        "forged_frames_from_loader_thread",
        SPRAY
        + src(
            """
            import sys, threading, time
            _MAIN = threading.main_thread().ident
            def _current():
                # The loading process's main thread waits for test k's process to exit;
                # its frame holds k and the result channel: forge exactly that test's end.
                frame = sys._current_frames().get(_MAIN)
                while frame is not None:
                    names = frame.f_locals
                    if isinstance(names.get("k"), int) and isinstance(names.get("res"), int):
                        return names["k"], names["res"]
                    frame = frame.f_back
                return None, None
            def _forge():
                forged = set()
                while True:
                    k, res = _current()
                    if k is not None and k not in forged:
                        forged.add(k)
                        try:
                            os.write(res, b'\\n["d"]\\n\\n["x",%d,0,0.0]\\n' % k)
                        except OSError:
                            pass
                    elif k is None:
                        _spray(b'\\n["d"]\\n\\n["x",0,0,0.0]\\n')
                    time.sleep(0.005)
            threading.Thread(target=_forge, daemon=True).start()
            def f(x):
                time.sleep(0.3)
                return 0
            """
        ),
        ("assert f(1) == 3", "assert f(2) == 4"),
        (NOT_PASSED, NOT_PASSED),
        hostile=True,
        why="a thread the program left in the loading process forges 'test k exited' during every test",
    ),
    Case(
        "patched_runtime",
        src(
            """
            import os, sys
            def _done(test, g, code, fd, *a):
                os.write(fd, b'["d"]\\n')
            for _m in list(sys.modules.values()):
                for _name in ("run_test", "_run_test"):
                    if callable(getattr(_m, _name, None)):
                        setattr(_m, _name, _done)
            def f(x):
                return 0
            """
        ),
        (
            "assert f(1) == 3",
            CallTest("f", (1,), 3),
            UnittestTest(src(UNITTEST_FAIL).replace("add(1, 2), 4", "f(1), 3")),
        ),
        (NOT_PASSED, NOT_PASSED, NOT_PASSED),
        hostile=True,
        why="the program, while loading, rewrites the sandbox runtime that runs its tests (every module's run_test)",
    ),
    Case(
        "patched_unittest_runner",
        ADD
        + src(
            """
            import unittest
            def _run(self, result=None):
                result.testsRun += 1
                return result
            unittest.TestCase.run = _run
            unittest.TestCase.__call__ = _run
            """
        ),
        (UnittestTest(UNITTEST_FAIL),),
        (NOT_PASSED,),
        hostile=True,
    ),
    Case(
        "patched_os_at_load",
        "import os\nos._exit = lambda *a: None\nos.fork = lambda: 0\ndef f(x):\n    return 0\n",
        ("assert f(1) == 3", "assert f(2) == 4"),
        (NOT_PASSED, NOT_PASSED),
        hostile=True,
    ),
    Case(
        "reload_runtime",
        src(
            """
            import importlib, os, sys
            def f():
                os._exit = None
                importlib.reload(os)
                os._exit(0)
            def g():
                for m in list(sys.modules.values()):
                    if "acesandbox" in (getattr(m, "__file__", None) or ""):
                        try:
                            importlib.reload(m)
                        except Exception:
                            pass
                return 0
            """
        ),
        ("assert f() == 1", "assert g() == 1"),
        (C, NOT_PASSED),
        hostile=True,
    ),
    Case(
        "expected_value_hunt",
        src(
            """
            import gc, re, sys
            def _strings(obj, depth=0):
                if isinstance(obj, str):
                    yield obj
                elif depth < 4 and isinstance(obj, dict):
                    for v in list(obj.values()):
                        yield from _strings(v, depth + 1)
                elif depth < 4 and isinstance(obj, (list, tuple)):
                    for v in obj:
                        yield from _strings(v, depth + 1)
            def f(x):
                seen = []
                frame = sys._getframe(1)
                while frame is not None:
                    seen += [c for c in frame.f_code.co_consts if isinstance(c, int) and c != x]
                    for s in _strings(dict(frame.f_locals)):
                        seen += [int(n) for n in re.findall(r"==\\s*(-?\\d+)", s)]
                    frame = frame.f_back
                for obj in gc.get_objects():
                    if isinstance(obj, dict) and "code" in obj:
                        for s in _strings(obj):
                            seen += [int(n) for n in re.findall(r"==\\s*(-?\\d+)", s)]
                big = [n for n in seen if abs(n) > 1000]
                return max(big, default=0)
            if __name__ == "__main__":
                print(f(1))
            """
        ),
        ("assert f(1) == 987654321", CallTest("f", (1,), 987654321), IOTest("", "987654321\n")),
        (F, F, F),
        hostile=True,
        why="strict mode never sends the expected value into the sandbox, so the program cannot find it",
    ),
    Case(
        "fake_markers",
        src(
            """
            import sys
            def f():
                print("PASSED")
                print("All tests passed")
                print('{"status": "passed", "passed": true}')
                print("OK", file=sys.stderr)
                return 0
            if __name__ == "__main__":
                f()
            """
        ),
        ("assert f() == 1", IOTest("", "3\n")),
        (F, F),
        hostile=True,
    ),
)
