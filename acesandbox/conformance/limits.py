"""Limits: time, memory, output, processes, files and descriptors, reached by accident or on purpose."""

from __future__ import annotations

from dataclasses import replace

from .._spec import CallTest, IOTest
from ._case import C, E, F, FAST, HANG, M, MEM, P, SPRAY, T, Case, src
from ._host import all_of, verify_job_budget, verify_output_capped, verify_quick

_BURN = "import os, time\ndef burn(s):\n    t = time.process_time()\n    while time.process_time() - t < s:\n        pass\n"
"""Spin for ``s`` seconds of this process's CPU time."""


def _too_slow_in_both_modes(name: str, body: str, why: str) -> tuple[Case, ...]:
    """A program whose ``solve(21)`` returns 42 after more CPU than the 0.5 s limit allows
    (``burn`` is defined for it), once per mode: each case expects ``timeout``."""
    return tuple(
        Case(
            f"{name}_{mode}",
            _BURN + src(body),
            ("assert solve(21) == 42",),
            (T,),
            mode=mode,
            limits=replace(FAST, timeout_s=0.5, wall_timeout_s=5.0),
            hostile=True,
            why=why,
        )
        for mode in ("isolated", "shared")
    )

CASES: tuple[Case, ...] = (
    Case("load_timeout", "while True:\n    pass\n", ("assert f() == 1", "assert f() == 2"), (T, T), limits=HANG),
    Case(
        "cpu_timeout",
        "def spin():\n    while True:\n        pass\n",
        ("assert spin() == 1",),
        (T,),
        limits=HANG,
    ),
    Case(
        "wall_timeout",
        "import time\ndef nap():\n    time.sleep(60)\n    return 1\n",
        ("assert nap() == 1",),
        (T,),
        limits=HANG,
        why="a sleeping test uses no CPU: the wall-time limit ends it",
    ),
    *_too_slow_in_both_modes(
        "cpu_timeout_in_orphan",
        """
        def solve(x):
            r, w = os.pipe()
            if os.fork() == 0:
                if os.fork() == 0:  # a grandchild, reparented to the sandbox's server
                    os.close(r)
                    burn(1.5)
                    os.write(w, str(2 * x).encode())
                    os._exit(0)
                os._exit(0)
            os.wait()
            os.close(w)
            out = b""
            while True:
                chunk = os.read(r, 100)
                if not chunk:
                    break
                out += chunk
            return int(out)
        """,
        "CPU used by a double-forked grandchild counts against the test: out of the job process's "
        "tree, it escaped the CPU limit and a too-slow program passed within the wall limit",
    ),
    Case(
        "cpu_timeout_in_job_thread",
        src(
            """
            import mmap, struct, threading, time
            shm = mmap.mmap(-1, 4096)  # shared: the job process's thread writes, each test's fork reads
            def burn(s):
                t = time.thread_time()
                while time.thread_time() - t < s:
                    pass
            def worker():
                burn(1.5)
                shm[:8] = struct.pack("<q", 42)
            threading.Thread(target=worker, daemon=True).start()
            def solve(x):
                while not struct.unpack("<q", shm[:8])[0]:
                    time.sleep(0.01)  # the test's process sleeps: the thread in the job process works
                return struct.unpack("<q", shm[:8])[0]
            """
        ),
        ("assert solve(21) == 42",),
        (T,),
        limits=replace(FAST, timeout_s=0.5, wall_timeout_s=5.0),
        hostile=True,
        why="CPU used by a thread left running in the job process counts against the test: J's own time "
        "was not counted in isolated mode, and a too-slow program passed within the wall limit",
    ),
    *_too_slow_in_both_modes(
        "cpu_timeout_in_parallel",
        """
        def solve(x):
            pids = []
            for _ in range(max(1, min(len(os.sched_getaffinity(0)), 8) - 1)):
                pid = os.fork()
                if pid == 0:
                    burn(0.35)
                    os._exit(0)
                pids.append(pid)
            burn(0.35)  # 0.7 s of CPU or more, in 0.35 s of wall time where there are CPUs
            for pid in pids:
                os.waitpid(pid, 0)
            return 2 * x
        """,
        "CPU used by several processes at once counts against the test: one that ended before the first "
        "check, at timeout_s of wall time, passed with up to as many times its limit as the host has CPUs",
    ),
    Case(
        "memory_list",
        "def grow():\n    chunks = []\n    while True:\n        chunks.append(bytearray(1 << 20))\n",
        ("assert grow() == 1",),
        (M,),
        limits=MEM,
    ),
    Case("memory_bytearray", "def big():\n    return len(bytearray(2**31))\n", ("assert big() == 1",), (M,), limits=MEM),
    Case(
        "stdout_truncated",
        "def chatty():\n    for _ in range(1000):\n        print('x' * 99)\n    return 1\n",
        ("assert chatty() == 1",),
        (P,),
        verify=verify_output_capped,
    ),
    Case(
        "job_budget",
        "import time\ndef nap():\n    time.sleep(60)\n    return 1\n",
        tuple("assert nap() == 1" for _ in range(6)),
        (T,) * 6,
        limits=replace(HANG, job_timeout_s=2.0),
        verify=verify_job_budget,
        why="job_timeout_s bounds a job whose every test hangs",
    ),
    Case(
        "huge_recursion",
        src(
            """
            import sys
            sys.setrecursionlimit(10**6)
            def deep(n=0):
                return sum(map(deep, [n + 1]))  # every level goes through C: the C stack overflows
            """
        ),
        ("assert deep() == 1",),
        ({C, E, M},),
        hostile=True,
        why="a C stack overflow kills the test, not the sandbox",
    ),
    Case(
        "fork_bomb",
        "import os\ndef bomb():\n    while True:\n        os.fork()\n",
        ("assert bomb() == 1",),
        ({E, C, T, M},),
        limits=HANG,
        hostile=True,
    ),
    Case(
        "fork_bomb_resilient",
        src(
            """
            import os
            def bomb():
                while True:
                    try:
                        os.fork()
                    except OSError:
                        pass
            """
        ),
        ("assert bomb() == 1",),
        ({E, C, T, M},),
        limits=HANG,
        hostile=True,
    ),
    Case(
        "thread_bomb",
        src(
            """
            import threading, time
            def bomb():
                while True:
                    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
            """
        ),
        ("assert bomb() == 1",),
        ({E, C, T, M},),
        limits=HANG,
        hostile=True,
    ),
    Case(
        "file_size_limit",
        src(
            """
            def big():
                with open("big.bin", "wb") as f:
                    for _ in range(64):
                        f.write(b"x" * (1 << 20))
                return 1
            """
        ),
        ("assert big() == 1",),
        ({E, C},),
        hostile=True,
        why="one file may not exceed max_file_mb",
    ),
    Case(
        "disk_fill",
        src(
            """
            import os
            def fill(where):
                block = b"x" * (1 << 20)
                for i in range(10_000):
                    with open(os.path.join(where, f"fill{i}.bin"), "wb") as f:
                        for _ in range(4):
                            f.write(block)
                return 1
            def fresh():
                with open("after.txt", "w") as f:
                    f.write("ok")
                return [n for n in os.listdir(".") if n.startswith("fill")]
            """
        ),
        ("assert fill('.') == 1", "assert fill('/tmp') == 1", "assert fresh() == []"),
        ({E, C, M}, {E, C, M}, P),
        requires={"fs_isolation"},
        hostile=True,
        why="the scratch directory is size-capped and wiped after the test",
    ),
    Case(
        "scratch_sabotage",
        src(
            """
            import os
            def sabotage():
                os.makedirs("locked/deeper")
                for path in ("locked/deeper/f", "locked/g"):
                    with open(path, "w") as f:
                        f.write("x")
                os.symlink("/", "locked/root-link")
                os.chmod("locked/deeper", 0)
                os.chmod("locked", 0o500)
                os.chmod(".", 0o500)
                return "never"
            def bound(name):
                # an interpreter's packages bound under /tmp (a venv there) are mounts, not files of the program
                return os.path.ismount(name) or any(
                    os.path.ismount(os.path.join(root, d)) for root, dirs, _ in os.walk(name) for d in dirs
                )
            def fresh():
                with open("new.txt", "w") as f:
                    f.write("ok")
                return sorted(n for n in os.listdir(".") if not bound(n))
            """
        ),
        (CallTest("sabotage", (), "done"), CallTest("fresh", (), ["new.txt"])),
        (F, P),
        hostile=True,
        why="a test that locks its scratch directory does not break the next test",
    ),
    Case(
        "fd_exhaustion",
        "def f():\n    files = []\n    while True:\n        files.append(open('/dev/null'))\n",
        ("assert f() == 1",),
        (E,),
        hostile=True,
    ),
    Case(
        "output_flood",
        src(
            """
            import os, sys
            def flood():
                chunk = "y" * (1 << 20)
                for _ in range(50):
                    sys.stdout.write(chunk)
                    os.write(2, chunk.encode())
                return 0
            """
        ),
        ("assert flood() == 1",),
        (F,),
        verify=all_of(verify_output_capped, verify_quick(15.0)),
        hostile=True,
        why="1e8 bytes of output neither block the test nor bloat the host",
    ),
    Case(
        "output_flood_io",
        "import sys\nfor _ in range(100):\n    sys.stdout.write('3\\n' * (1 << 19))\n",
        (IOTest("", "3\n"),),
        (F,),
        verify=all_of(verify_output_capped, verify_quick(15.0)),
        hostile=True,
    ),
    Case(
        "result_channel_flood",
        SPRAY + "def f():\n    for _ in range(20):\n        _spray(b'[' * (1 << 20))\n    return 1\n",
        ("assert f() == 1",),
        ({E, C, T},),
        hostile=True,
        why="garbage on the result channel is the program's doing: never passed, never sandbox_error",
    ),
    Case(
        "result_channel_line_flood",
        SPRAY + "def f():\n    for _ in range(8):\n        _spray(b'[1]\\n' * (1 << 16))\n    return 1\n",
        ("assert f() == 1",),
        ({E, C, T},),
        verify=verify_quick(FAST.effective_wall_timeout_s + 5.0),
        hostile=True,
        why="2 MB of tiny lines on the result channel are dealt with in bounded time",
    ),
    Case(
        "host_pressure_triggers",
        src(
            """
            import os
            def trigger():
                try:
                    fd = os.open("/proc/pressure/memory", os.O_RDWR | os.O_NONBLOCK)
                    os.write(fd, b"some 150000 2000000" + bytes(1))
                    return True
                except OSError:
                    return False
            """
        ),
        ("assert trigger() == True",),
        (F,),
        requires={"fs_isolation"},
        hostile=True,
        why="/proc/pressure is the host's root pressure group: a trigger there is a kernel object of "
        "the whole host, one per descriptor a program holds",
    ),
)
