"""Dying: programs that exit, kill themselves, their parents, the server or everything, or leave orphans."""

from __future__ import annotations


from .._spec import CallTest
from ._case import ADD, C, E, F, HANG, P, T, Case, src
from ._host import marker, verify_no_orphan

CASES: tuple[Case, ...] = (
    Case(
        "exit_in_test",
        src(
            """
            import sys
            def f():
                sys.exit(0)
            def g():
                exit()
            def h():
                raise SystemExit(0)
            """
        )
        + ADD,
        ("assert f() == 1", "assert g() == 1", "assert h() == 1", "assert add(1, 2) == 3"),
        (C, C, C, P),
        hostile=True,
        why="a test that exits with status 0 has not passed",
    ),
    Case(
        "exit_at_load",
        "import sys\ndef f():\n    return 1\nsys.exit(0)\n",
        ("assert f() == 1", "assert f() == 1"),
        (C, C),
        hostile=True,
    ),
    Case(
        "os_exit_in_test",
        ADD + "import os\ndef f():\n    os._exit(0)\ndef g():\n    os._exit(1)\n",
        ("assert f() == 1", "assert g() == 1", "assert add(1, 2) == 3"),
        (C, C, P),
        hostile=True,
    ),
    Case(
        "os_exit_at_load",
        "import os\ndef f():\n    return 1\nos._exit(0)\n",
        ("assert f() == 1", "assert f() == 1"),
        (C, C),
        hostile=True,
    ),
    Case(
        "atexit_exit",
        src(
            """
            import atexit, os, sys
            atexit.register(os._exit, 0)
            def f():
                atexit.register(os._exit, 0)
                return 0
            def g():
                sys.exit(0)
            """
        ),
        ("assert f() == 1", "assert g() == 1"),
        (F, C),
        hostile=True,
    ),
    Case(
        "kill_self",
        ADD + "import os, signal\ndef k(sig):\n    os.kill(os.getpid(), sig)\n    return 1\n",
        (
            "assert k(9) == 1",
            "assert k(15) == 1",
            "import signal\nassert k(signal.SIGSEGV) == 1",
            "assert add(1, 2) == 3",
        ),
        (C, C, C, P),
        hostile=True,
    ),
    Case(
        "kill_parent",
        ADD + "import os\ndef f():\n    os.kill(os.getppid(), 9)\n    return 1\n",
        ("assert f() == 1", "assert add(1, 2) == 3"),
        (C, P),
        hostile=True,
        why="the test kills the process that loaded the program; the next test gets a new one",
    ),
    Case(
        "stop_self_and_parent",
        ADD
        + "import os, signal\ndef stop(pid):\n    os.kill(pid, signal.SIGSTOP)\n    return 1\n",
        (
            "import os\nassert stop(os.getpid()) == 1",
            "import os\nassert stop(os.getppid()) == 1",
            "assert add(1, 2) == 3",
        ),
        ({T, C}, {T, C}, P),
        limits=HANG,
        hostile=True,
    ),
    Case(
        "killpg",
        ADD + "import os, signal\ndef f(sig):\n    os.killpg(0, sig)\n    return 1\n",
        ("assert f(9) == 1", "import signal\nassert f(signal.SIGTERM) == 1", "assert add(1, 2) == 3"),
        (C, C, P),
        hostile=True,
        why="signals to the test's process group must not reach the sandbox's server",
    ),
    Case(
        "kill_init",
        src(
            """
            import os, signal
            def f():
                for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGSTOP):
                    try:
                        os.kill(1, sig)
                    except OSError:
                        pass
                return 0
            """
        ),
        ("assert f() == 1", "assert f() == 1"),
        (F, F),
        requires={"pid_isolation"},
        hostile=True,
        why="pid 1 is the sandbox's server: it ignores every signal from inside",
    ),
    Case(
        "kill_everything",
        ADD + "import os\ndef f():\n    os.kill(-1, 9)\n    return 1\n",
        ("assert f() == 1", "assert add(1, 2) == 3"),
        (C, P),
        requires={"pid_isolation"},
        hostile=True,
    ),
    Case(
        "kill_ancestors",
        src(
            """
            import os
            def ancestors():
                pid, out = os.getpid(), []
                while pid > 1:
                    with open(f"/proc/{pid}/stat") as f:
                        stat = f.read()
                    pid = int(stat[stat.rfind(")") + 2 :].split()[1])
                    out.append(pid)
                return out
            def f():
                for pid in reversed(ancestors()):
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
                return 1
            """
        )
        + ADD,
        ("assert f() == 1", "assert add(1, 2) == 3"),
        (C, P),
        requires={"pid_isolation"},
        hostile=True,
    ),
    Case(
        "kill_server_at_load",
        "import os\nos.kill(os.getppid(), 9)\ndef f():\n    return 0\n",
        ("assert f() == 1",),
        (F,),
        requires={"pid_isolation"},
        hostile=True,
    ),
    Case(
        "close_all_fds",
        "import os\ndef f():\n    os.closerange(0, 256)\n    return 1\n",
        ("assert f() == 1",),
        ({C, E},),
        hostile=True,
    ),
    Case(
        "daemon_orphan",
        src(
            """
            import os, sys, time
            MARKER = "@MARKER@"
            def orphan_alive():
                for p in os.listdir("/proc"):
                    if p.isdigit():
                        try:
                            with open(f"/proc/{p}/cmdline", "rb") as f:
                                if MARKER.encode() in f.read():
                                    return True
                        except OSError:
                            pass
                return False
            def spawn():
                pid = os.fork()
                if pid == 0:
                    try:
                        os.setsid()
                        if os.fork() == 0:
                            code = "import signal as s, time\\ns.signal(15, s.SIG_IGN)\\nwhile 1: time.sleep(1)"
                            os.execv(sys.executable, [sys.executable, "-c", code, MARKER])
                    finally:
                        os._exit(0)
                os.waitpid(pid, 0)
                for _ in range(300):
                    if orphan_alive():
                        return "alive"
                    time.sleep(0.01)
                return "dead"
            """
        ),
        (CallTest("spawn", (), "never"), "assert orphan_alive() == True"),
        (F, F),
        host=marker,
        verify=verify_no_orphan,
        hostile=True,
        why="a double-forked, setsid'd daemon does not outlive its test",
    ),
    Case(
        "compat_mode_exit",
        "import sys, os\ndef f():\n    sys.exit(0)\ndef g():\n    os._exit(0)\n",
        ("f()", "g()"),
        (C, C),
        compare="compat",
        hostile=True,
        why="compat mode lets the sandbox judge, but an exit is still not a pass",
    ),
)
