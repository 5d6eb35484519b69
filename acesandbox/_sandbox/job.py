"""The job process J: limits itself, loads the program once, then runs tests (a fork per test, or in-process)."""

from __future__ import annotations

import builtins
import marshal
import os
import resource
import sys
import types
TYPE_CHECKING = False  # no typing at run time (see __init__.py)
if TYPE_CHECKING:
    from typing import Any, Callable

from .framing import frame, write_all
from .kinds import compile_test, exc_info, flush_std, lockstep, run_test
from .procs import open_oom_adj, write_oom_adj


def set_rlimits(lim: dict[str, Any], cfg: dict[str, Any]) -> None:
    def setr(res: int, soft: int, hard: int | None = None) -> None:
        try:
            resource.setrlimit(res, (soft, soft if hard is None else hard))
        except (ValueError, OSError):
            pass

    setr(resource.RLIMIT_CORE, 0)
    setr(resource.RLIMIT_FSIZE, lim["max_file_mb"] << 20)
    setr(resource.RLIMIT_NOFILE, lim["max_open_files"])
    if cfg.get("rlimit_nproc"):
        setr(resource.RLIMIT_NPROC, cfg["rlimit_nproc_base"] + lim["max_processes"])
    if cfg.get("rlimit_as"):
        setr(resource.RLIMIT_AS, (lim["memory_mb"] + cfg.get("as_slack_mb", 0)) << 20)


def read_job(fd: int) -> dict[str, Any]:
    """The job from its memfd (marshal, written and sealed by the server), which J then closes."""
    size = os.fstat(fd).st_size
    chunks: list[bytes] = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    os.close(fd)
    job: dict[str, Any] = marshal.loads(b"".join(chunks))
    return job


def job_process(start: int, fds: dict[str, int], cfg: dict[str, Any]) -> None:
    """Body of J (forked by the fork template): read the job from its memfd, load the
    program, then run tests (fork per test, or in-process)."""
    res = fds["res_w"]
    try:
        job = read_job(fds["job"])
        os.setsid()  # its own process group: killpg(0) from the program cannot reach the server
        os.dup2(fds["null"], 0)
        os.dup2(fds["out_w"], 1)
        os.dup2(fds["err_w"], 2)
        lo = 3
        fdpass = fds.get("fdpass", -1)
        for fd in sorted({res, fds["ctrl_r"], fdpass} - {-1}):  # close everything else we inherited
            os.closerange(lo, fd)
            lo = fd + 1
        os.closerange(lo, 65536)
        # sys.stdin reads fd 0 (/dev/null now): made once in the template (see serve_template).
        # SIGINT, SIGTERM and SIGPIPE are at their defaults already (see template._J_DEFAULT).
        os.chdir(cfg["scratch"])
        lim = job["limits"]  # oom_score_adj: 500 from the template
        set_rlimits(lim, cfg)
        tests = job["tests"]
        for i, test in enumerate(tests):
            test["i"] = i
            test["fdpass"] = fdpass  # where a Q test's channel to its test process arrives
        shared = job["mode"] == "shared"
        in_step = lockstep(job)  # before the program runs (see kinds.lockstep)
        if shared:
            set_cpu_limit(lim["timeout_s"])
        # The program's globals are a registered module's: its functions pickle by
        # reference (multiprocessing.Pool sends them to its workers by name).
        module = types.ModuleType("__solution__")
        module.__builtins__ = builtins  # type: ignore[attr-defined]
        sys.modules["__solution__"] = module
        g: dict[str, Any] = module.__dict__
        try:
            # dont_inherit: a program gets none of this module's __future__ flags
            # (annotations would not be evaluated: an unimported name in one loaded fine).
            program_code = compile(job["program"], "<program>", "exec", dont_inherit=True)
            if any(t["k"] != "io" for t in tests[start:]):
                exec(program_code, g)
            flush_std()
        except BaseException as exc:  # noqa: BLE001 - a load failure is the program's result
            flush_std()
            info = {"status": "error", "msg": "", "type": type(exc).__name__}
            if isinstance(exc, SystemExit):
                info.update(status="crashed", msg=f"the program called exit({exc.code!r}) while loading")
            elif isinstance(exc, MemoryError):
                info.update(status="memory", msg="MemoryError while loading the program")
            else:
                try:
                    e = exc_info(exc)
                    info.update(msg=f"program failed to load: {e['type']}: {e['msg']}", tb=e["tb"])
                except BaseException:  # noqa: BLE001
                    info.update(msg="program failed to load")
            frame(res, ["l", info])
            os._exit(0)
        if not shared:
            # Each test's code compiled once here, not in every fork (counted in the load
            # step), unless the server sent it compiled.
            for t in tests[start:]:
                if "code" in t and "_code" not in t:
                    try:
                        t["_code"] = compile_test(t["code"])
                    except BaseException:  # noqa: BLE001 - the test's own fork reports it
                        pass
        write_all(res, b'["r"]\n')
        if shared:
            # pid 1 empties the scratch after the load: start only once it says so.
            if _read_line(fds["ctrl_r"]) is None:
                os._exit(0)
            for k in range(start, len(tests)):
                if in_step and k > start and _read_line(fds["ctrl_r"]) is None:
                    os._exit(0)
                set_cpu_limit(lim["timeout_s"])
                run_test(tests[k], g, program_code, res, b'\n["t",%d]\n' % k)
            os._exit(0)
        import gc

        gc.collect()
        gc.freeze()  # the loaded program's objects: no GC traversal (and copy-on-write) in forks
        ctrl = fds["ctrl_r"]
        # T_k's CPU clock starts at zero: its backstop is set_cpu_limit's without a getrusage.
        cpu_soft = int(lim["timeout_s"]) + 2
        cpu_limit, setrlimit = (cpu_soft, cpu_soft + 1), resource.setrlimit
        # T_k dies first when memory runs out: J raises its own oom_score_adj to 1000 for
        # each fork and puts back the score it had (the template's 500; going back down to
        # a score it held needs no privilege), through one descriptor. T_k opening its own
        # /proc/self file cost about 0.1 ms a test (procfs makes, then flushes, the new
        # pid's entries).
        oom, own_score = open_oom_adj()
        fork = bare_fork()
        while True:
            line = _read_line(ctrl)
            if line is None:
                os._exit(0)
            k = int(line)
            flush_std()
            write_oom_adj(oom, b"1000")
            pid = fork()
            if pid == 0:
                try:
                    if oom >= 0:
                        # J's file, closed before the test runs (a program's at-fork hooks
                        # see it, but could write /proc/<J>/oom_score_adj as well).
                        os.close(oom)
                    try:
                        setrlimit(resource.RLIMIT_CPU, cpu_limit)
                    except (ValueError, OSError):
                        pass
                    run_test(tests[k], g, program_code, res)
                finally:
                    os._exit(0)
            write_oom_adj(oom, own_score)
            _, status, ru = os.wait4(pid, 0)
            write_all(res, b'\n["x",%d,%d,%.6f]\n' % (k, status, ru.ru_utime + ru.ru_stime))
    except BaseException:  # noqa: BLE001 - J never returns into the server's code
        pass
    os._exit(0)


_fork: Callable[[], int] | None = None


def bare_fork() -> Callable[[], int]:
    """The ``fork()`` each T_k comes from (see :func:`_make_bare_fork`), made once in the
    process every J is forked from (the server calls this before it starts the template):
    opening libc through ctypes in each J cost 0.25 ms of CPU a job."""
    global _fork
    if _fork is None:
        _fork = _make_bare_fork()
    return _fork


def _make_bare_fork() -> Callable[[], int]:
    """``fork()`` for T_k: libc's, the GIL held (PyDLL), without CPython's fork hooks
    while J runs no other Python thread (``os.fork`` otherwise, whose hooks reset the
    locks such a thread could hold). With one thread there is nothing for them to
    mend, and they cost: for a program that imports ``threading`` and ``random``, 0.45
    ms of CPU a test here (their handlers rebuild state in every test process). Skipping
    them also keeps ``random``'s state as the program left it at load, as in a process
    that loads the program and runs the test (``random`` reseeds in a fork's child: a
    program that seeds at load drew other numbers in each test process)."""
    try:
        import _thread
        import ctypes

        libc_fork = ctypes.PyDLL(None, use_errno=True).fork
        libc_fork.restype, libc_fork.argtypes = ctypes.c_int, []
    except (ImportError, OSError, AttributeError):
        return os.fork
    count = _thread._count

    def fork() -> int:
        if count():
            return os.fork()
        pid = int(libc_fork())
        if pid < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return pid

    return fork


def _read_line(fd: int) -> bytes | None:
    """One line from pid 1, None at end of file (pid 1 writes a line, then waits for J's
    answer before the next, so a read never holds more than one)."""
    line = b""
    while b"\n" not in line:
        chunk = os.read(fd, 64)
        if not chunk:
            return None
        line += chunk
    return line.partition(b"\n")[0]


_cpu_soft = -1  # the RLIMIT_CPU soft limit this process last set (a fork inherits both)


def set_cpu_limit(timeout_s: float) -> None:
    """Kernel backstop for CPU time; the server's own accounting (which ends a step at
    its limit) is finer. Set only when the whole seconds change: shared mode calls
    this before every test, most of which take milliseconds."""
    global _cpu_soft
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime) + int(timeout_s) + 2
    if soft == _cpu_soft:
        return
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
        _cpu_soft = soft
    except (ValueError, OSError):
        pass

