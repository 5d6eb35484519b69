"""Behaviour: what each verdict and each mode means for an honest program."""

from __future__ import annotations

from dataclasses import replace

from ._case import ADD, E, F, FAST, HANG, P, S, T, Case, src
from ._host import verify_quick

CASES: tuple[Case, ...] = (
    Case("pass", ADD, ("assert add(1, 2) == 3",), (P,)),
    Case("fail", ADD, ("assert add(1, 2) == 4",), (F,)),
    Case("error", "def div(a, b):\n    return a / b\n", ("assert div(1, 0) == 1",), (E,)),
    Case(
        "load_error",
        "def f():\n    return 1\nraise ValueError('boom while loading')\n",
        ("assert f() == 1", "assert f() == 2"),
        (E, E),
        why="a program that fails to load fails every test with error",
    ),
    Case("syntax_error", "def f(:\n    return 1\n", ("assert f() == 1", "assert f() == 2"), (E, E)),
    Case(
        "recursion_error",
        "def r(n):\n    return r(n + 1) + 1\n",
        ("assert r(0) == 1",),
        (E,),
    ),
    Case(
        "invalid_utf8_output",
        src(
            """
            import os
            def f():
                os.write(1, b"\\xff\\xfe\\x80ok\\n")
                os.write(2, b"\\xc3\\x28\\n")
                return 1
            """
        ),
        ("assert f() == 1",),
        (P,),
        why="bytes that are not UTF-8 on stdout/stderr do not break the verdict",
    ),
    Case(
        "globals_isolated",
        "calls = []\ndef bump():\n    calls.append(1)\n    return len(calls)\n",
        ("assert bump() == 1", "assert bump() == 1"),
        (P, P),
        why="isolated mode: each test starts from the freshly loaded program",
    ),
    Case(
        "globals_shared",
        "calls = []\ndef bump():\n    calls.append(1)\n    return len(calls)\n",
        ("assert bump() == 1", "assert bump() == 1"),
        (P, F),
        mode="shared",
        why="shared mode: tests run in one process, in order, as the reference harnesses do",
    ),
    Case(
        "scratch_isolated",
        src(
            """
            import os
            def write():
                with open("note.txt", "w") as f:
                    f.write("left by test 0")
                return os.path.exists("note.txt")
            def seen():
                return os.path.exists("note.txt")
            """
        ),
        ("assert write() == True", "assert seen() == False"),
        (P, P),
        why="files a test writes in its scratch directory are gone before the next test",
    ),
    Case(
        "stop_on_failure",
        ADD,
        ("assert add(1, 2) == 3", "assert add(1, 2) == 4", "assert add(2, 2) == 4", "assert add(3, 2) == 5"),
        (P, F, S, S),
        stop_on_failure=True,
    ),
    Case(
        "hang_keeps_others",
        ADD + "def spin():\n    while True:\n        pass\n",
        ("assert add(1, 2) == 3", "assert spin() == 1", "assert add(2, 2) == 4"),
        (P, T, P),
        limits=HANG,
        why="a test that hangs costs its own verdict, not the others'",
    ),
    Case(
        "shared_files_not_wiped_under_tests",
        "import os, time\nos.mkdir('many')\nfor i in range(20000):\n    open('many/%d' % i, 'w').close()\n"
        "def wiped():\n    return not os.path.exists('many')\n"
        "def made_first():\n    open('made-first', 'w').close()\n    time.sleep(0.3)\n    return os.path.exists('made-first')\n",
        ("assert wiped() is True", "assert made_first() is True"),
        (P, P),
        mode="shared",
        # 20,000 files take 0.3 s to 2.6 s of CPU on a host disk (the process backend's scratch)
        limits=replace(FAST, timeout_s=5.0, wall_timeout_s=10.0),
        why="shared mode: the scratch is emptied after the load before any test starts, never under a running test",
    ),
    Case(
        "shared_fast_then_hang",
        ADD + "import time\ndef nap():\n    time.sleep(60)\n",
        ("assert add(1, 2) == 3", "assert add(2, 2) == 4", "assert nap() == 1", "assert add(3, 3) == 6"),
        (P, P, T, P),
        mode="shared",
        limits=HANG,
        why="shared mode: tests that finished before a hanging one keep their verdicts",
    ),
    Case(
        "shared_stop_mid_test",
        ADD + "import time\ndef nap():\n    time.sleep(60)\n    return 1\n",
        ("assert add(1, 2) == 4", "assert nap() == 1", "assert add(2, 2) == 4"),
        (F, S, S),
        mode="shared",
        stop_on_failure=True,
        limits=replace(FAST, timeout_s=40.0, wall_timeout_s=40.0),
        verify=verify_quick(20.0),
        why="stop_on_failure ends the test already running after a failure, not only the next ones",
    ),
    Case(
        "multiprocessing_pool_queue",
        src(
            """
            import multiprocessing as mp
            def pool():
                with mp.get_context("fork").Pool(2) as p:
                    return p.map(abs, range(0, -4, -1))
            def queue():
                ctx = mp.get_context("fork")
                q = ctx.Queue()
                ps = [ctx.Process(target=q.put, args=(i,)) for i in range(3)]
                for p in ps:
                    p.start()
                got = sorted(q.get(timeout=5) for _ in ps)
                for p in ps:
                    p.join()
                return got
            """
        ),
        ("assert pool() == [0, 1, 2, 3]", "assert queue() == [0, 1, 2]"),
        (P, P),
        limits=replace(FAST, timeout_s=5.0, wall_timeout_s=10.0),
        why="multiprocessing (its semaphores live in /dev/shm) works alike on every backend (issue 10, finding 9)",
    ),
    Case(
        "shm_wiped_between_tests",
        src(
            """
            import os
            from multiprocessing import shared_memory
            def leave():
                s = shared_memory.SharedMemory(create=True, size=16, name="acesandbox_probe")
                s.close()  # not unlinked: the sandbox must wipe it before the next test
                return os.path.exists("/dev/shm/acesandbox_probe")
            """
        ),
        ("assert leave()", "import os; assert not os.path.exists('/dev/shm/acesandbox_probe')"),
        (P, P),
        requires={"fs_isolation"},
        why="what a test leaves in /dev/shm is gone before the next, as in the scratch directory",
    ),
    Case(
        "wrong_value_then_hang_is_failed",
        "def f(x):\n    if x == 1:\n        return 3\n    while True:\n        pass\n",
        ("assert f(1) == 2\nassert f(2) == 2",),
        (F,),
        limits=HANG,
        why="the first failing assert decides, though the program computes on past it and hangs",
    ),
    Case(
        "wrong_value_then_exit_is_failed",
        "import os\ndef f(x):\n    if x == 1:\n        return 3\n    os._exit(0)\n",
        ("assert f(1) == 2\nassert f(2) == 2",),
        (F,),
        why="the first failing assert decides, though the program exits in a later call",
    ),
    Case(
        "user_lookup",
        "import getpass, grp, os, pwd\nUSER = getpass.getuser()\n",
        (
            "assert USER == getpass.getuser() != ''",
            "assert pwd.getpwuid(os.getuid()).pw_uid == os.getuid()",
            "assert pwd.getpwnam(pwd.getpwuid(os.getuid()).pw_name).pw_uid == os.getuid()",
            "assert grp.getgrgid(os.getgid()).gr_gid == os.getgid()",
        ),
        (P, P, P, P),
        why="a program may look up the user it runs as (getpass.getuser() at load, pwd, grp): every sandbox "
        "has an entry for it (the namespace sandbox: the docker image's root and nobody, not the host's users)",
    ),
    Case(
        "command_line_tools",
        src(
            """
            import subprocess, zipfile
            def run(*argv, data=b""):
                return subprocess.run(argv, input=data, capture_output=True, check=True, timeout=20).stdout
            def archive():
                with open("f.txt", "w") as f:
                    f.write("hi")
                listing = run("tar", "czf", "a.tgz", "f.txt") + run("tar", "tzf", "a.tgz")
                run("gzip", "-k", "f.txt")
                return listing, run("zcat", "f.txt.gz"), b"f.txt.gz" in run("ls").split()
            def unzipped():
                with zipfile.ZipFile("z.zip", "w") as z:
                    z.writestr("inner.txt", "q")
                return b"inner.txt" in run("unzip", "-l", "z.zip") and run("unzip", "-p", "z.zip", "inner.txt")
            """
        ),
        (
            'assert run("sh", "-c", "echo a; echo b | tr b c") == b"a\\nc\\n"',
            'assert run("bash", "-c", "printf %s x") == b"x"',
            'assert run("sort", data=b"b\\na\\n") == b"a\\nb\\n"',
            'assert run("grep", "-c", "x", data=b"x\\ny\\nx\\n") == b"2\\n"',
            'assert run("sed", "s/a/b/", data=b"a") == b"b"',
            'assert run("awk", "{print $2}", data=b"1 2") == b"2\\n"',
            'assert archive() == (b"f.txt\\n", b"hi", True)',
            'assert unzipped() == b"q"',
        ),
        (P, P, P, P, P, P, P, P),
        why="programs call the usual command-line tools (BigCodeBench's tasks run tar, gzip, unzip and bash): "
        "every backend has them (the docker image carries the host's, see images.rootfs.DEFAULT_TOOLS)",
    ),
    Case(
        "environment_like_a_host",
        src(
            """
            import ctypes.util, locale, os, socket, zoneinfo
            def zone():
                return str(zoneinfo.ZoneInfo("America/New_York").utcoffset(__import__("datetime").datetime(2024, 1, 1)))
            def utf8_locale():
                return locale.setlocale(locale.LC_ALL, "") != ""
            def loopback6():
                with socket.socket(socket.AF_INET6) as s:
                    s.bind(("::1", 0))
                    return True
            def libm():
                return ctypes.util.find_library("m") is not None
            def var_tmp():
                path = "/var/tmp/acesandbox_probe_%d" % os.getpid()
                with open(path, "w") as f:
                    f.write("x")
                try:
                    with open(path) as f:
                        return f.read()
                finally:
                    os.remove(path)
            """
        ),
        (
            "assert zone() == '-1 day, 19:00:00'",
            "assert utf8_locale()",
            "assert loopback6()",
            "assert libm()",
            "assert var_tmp() == 'x'",
        ),
        (P, P, P, P, P),
        why="what a correct program finds on a Linux host it finds in every sandbox: time zones, the C.UTF-8 "
        "locale, IPv6 on the loopback, ctypes.util.find_library, a writable /var/tmp (the docker image lacked "
        "the first, second and fourth, Docker turns IPv6 off, the namespace sandbox had no /var/tmp)",
    ),
    Case(
        "hostname_resolves",
        "import socket\ndef me():\n    return socket.gethostbyname(socket.gethostname())\n",
        ("assert me().startswith('127.')",),
        (P,),
        requires={"net_isolation"},
        why="the sandbox's hostname resolves to a loopback address, as a host's does (a program serving on "
        "gethostname() erred)",
    ),
    Case(
        "random_seeded_at_load",
        "import random\nrandom.seed(7)\ndef draw():\n    return random.random()\n",
        ("assert draw() == 0.32383276483316237", "assert draw() == 0.32383276483316237"),
        (P, P),
        why="a program that seeds random at load draws in each test what a process that loads it and runs "
        "that test draws (each test process reseeded itself as a fork's child: isolated mode failed it)",
    ),
    Case(
        "thread_running_at_load",
        src(
            """
            import threading, time
            threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
            def work(n):
                out = []
                t = threading.Thread(target=out.append, args=(n * 2,))
                t.start()
                t.join()
                return out[0]
            """
        ),
        ("assert work(1) == 2", "assert work(2) == 4"),
        (P, P),
        why="a thread a program starts at load does not stop its tests from starting and joining threads "
        "(its fork for each test takes the interpreter's own fork path then)",
    ),
    Case(
        "annotations_evaluated_at_load",
        "def first(xs: List[int]) -> int:\n    return xs[0]\n",
        ("assert first([1]) == 1", "assert first([2, 3]) == 2"),
        (E, E),
        why="a program is compiled as a plain interpreter compiles it: an annotation naming an unimported "
        "List fails at load (NameError), as it does under `python` and the reference harnesses (the "
        "sandbox's own `from __future__ import annotations` reached programs, which then loaded and passed)",
    ),
    Case(
        "annotations_are_objects",
        "from typing import List\ndef first(xs: List[int]) -> int:\n    return xs[0]\n"
        "def returns_int():\n    return first.__annotations__['return'] is int\n",
        ("assert returns_int()",),
        (P,),
        why="annotations are evaluated objects at run time, not strings (PEP 563 only where the program asks)",
    ),
)
