"""The in-sandbox runtime: a small fork server that supervises untrusted code.

This file runs *inside* the sandbox as a script (``python -I server.py``), so it uses
the standard library only and keeps its memory small (every fork copies it). Process
tree, per job::

    server (pid 1 of the sandbox's pid namespace; never runs untrusted code)
    └── job process J   loads the program once (untrusted from here on)
        └── test child T_k, one fork per test (isolated mode), or none (shared mode)

The server enforces wall/CPU time, kills every leftover process after each test and
wipes the scratch directory. Nothing J or T_k write is trusted: the server relays
their result frames to the host, which decides every verdict. Only the server's own
failures can become ``sandbox_error``; whatever J or T_k do ends in a program status.

Host <-> server messages are 4-byte big-endian length + JSON. J/T_k -> server result
frames are JSON lines on one pipe: T_k writes ``["c", ci, values]`` (check values),
``["u", ci, msg]`` (unserializable), ``["e", info]`` (exception), ``["s", code]``
(SystemExit), ``["d"]`` (test body finished), ``["p"]``/``["f", msg]`` (compat
verdicts); J writes ``["r"]`` (loaded), ``["l", info]`` (load failed), ``["x", k,
wstatus, cpu_s]`` (T_k exited) and, in shared mode, ``["t", k]`` (test finished).
"""

from __future__ import annotations

import builtins
import importlib.util
import json
import os
import resource
import select
import signal
import struct
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
_PKG_DIR = os.path.dirname(_HERE)


def _load_wire():
    """Import acesandbox/_wire.py by path, without putting our package on sys.path."""
    path = os.path.join(os.path.dirname(_HERE), "_wire.py")
    spec = importlib.util.spec_from_file_location("_acesandbox_wire", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_wire = _load_wire()
_dumps = json.dumps
_write = os.write
_CLK = os.sysconf("SC_CLK_TCK")
_READ = 1 << 16
_MAX_LINES = 10_000  # result frames one test may send (a flood is the program's error)

# ---------------------------------------------------------------- host framing


def _send(fd: int, obj: dict) -> None:
    data = _dumps(obj, separators=(",", ":")).encode()
    _write_all(fd, struct.pack(">I", len(data)) + data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = _write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def _recv(fd: int) -> dict:
    (n,) = struct.unpack(">I", _read_exact(fd, 4))
    return json.loads(_read_exact(fd, n))


# ------------------------------------------------------------ process helpers


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 1 << 16)
    finally:
        os.close(fd)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            out.extend(int(x) for x in _read(f"/proc/{pid}/task/{tid}/children").split())
        except OSError:
            pass
    return out


def _descendants(pid: int) -> list[int]:
    seen: list[int] = []
    stack = _children(pid)
    while stack:
        p = stack.pop()
        seen.append(p)
        stack.extend(_children(p))
    return seen


def _stat(pid: int) -> list[bytes] | None:
    try:
        data = _read(f"/proc/{pid}/stat")
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :].split()


def _cpu_s(pid: int) -> float:
    """CPU seconds of a process plus its reaped children."""
    st = _stat(pid)
    if st is None:
        return 0.0
    return sum(int(x) for x in st[11:15]) / _CLK


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _others(me: int) -> list[int]:
    """Every process of the sandbox but the server: as pid 1 of its own pid namespace,
    /proc lists exactly those; otherwise walk our descendants (we are their subreaper)."""
    if me == 1:
        return [int(x) for x in os.listdir("/proc") if x.isdigit() and x != "1"]
    return _descendants(me)


def _sweep(keep: int | None) -> None:
    """SIGKILL every descendant of the server except ``keep``, until none is left."""
    me = os.getpid()
    for _ in range(1000):
        victims = []
        for p in _others(me):
            if p == keep:
                continue
            st = _stat(p)
            if st is not None and st[0] != b"Z":
                victims.append((p, int(st[1])))
        if not victims:
            break
        for p, _ppid in victims:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        # Wait for our own children to die (promptly, they were SIGKILLed); theirs come
        # back to us as orphans (we are pid 1 or their subreaper) for the next round.
        for p, ppid in victims:
            if ppid == me:
                try:
                    os.waitpid(p, 0)
                except ChildProcessError:
                    pass
        _reap()
    _reap()


def _wipe(path: str) -> None:
    """Empty the scratch directory, even where the program removed our permissions.

    Runs after every process of the program is dead. Everything in it belongs to the
    sandbox's own uid, so restoring permissions always works; symlinks are removed,
    never followed (a link to a host path must not be chmod-ed or emptied).
    """
    try:
        if not os.listdir(path):
            return
    except OSError:
        pass
    _chmod_dir(path)
    for dirpath, dirnames, _files in os.walk(path, topdown=True, onerror=None):
        for name in dirnames:
            _chmod_dir(os.path.join(dirpath, name))
    for dirpath, dirnames, filenames in os.walk(path, topdown=False, onerror=None):
        for name in filenames + dirnames:
            p = os.path.join(dirpath, name)
            try:
                if os.path.isdir(p) and not os.path.islink(p):
                    os.rmdir(p)
                else:
                    os.unlink(p)
            except OSError:
                pass


def _chmod_dir(p: str) -> None:
    try:
        if not os.path.islink(p):
            os.chmod(p, 0o700)
    except OSError:
        pass


def _prctl(option: int, arg: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, arg, 0, 0, 0)
    except Exception:  # noqa: BLE001 - best effort hardening; the backend reports its level
        pass


# ---------------------------------------------------------- inside J and T_k


class _StopTest(BaseException):
    """Raised by the runtime to end a test body early (never caught by our runner)."""


def _frame(fd: int, obj: list) -> None:
    _write_all(fd, (_dumps(obj, separators=(",", ":"), allow_nan=True) + "\n").encode("utf-8", "surrogatepass"))


def _exc_info(exc: BaseException) -> dict:
    import traceback

    # Only the program's and the test's frames: ours are noise to the user.
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_PKG_DIR)]
    text = "".join(traceback.format_list(frames)) + "".join(traceback.format_exception_only(type(exc), exc))
    return {
        "type": type(exc).__name__,
        "mro": [c.__name__ for c in type(exc).__mro__],
        "msg": str(exc)[:2000] if not isinstance(exc, RecursionError) else "maximum recursion depth exceeded",
        "tb": text[-4000:],
    }


def _report_exception(fd: int, exc: BaseException) -> None:
    try:
        if isinstance(exc, SystemExit):
            _frame(fd, ["s", repr(exc.code)[:200]])
        elif isinstance(exc, MemoryError):
            _frame(fd, ["m"])
        else:
            _frame(fd, ["e", _exc_info(exc)])
    except BaseException:  # noqa: BLE001 - a hostile exception whose str() raises
        try:
            _frame(fd, ["e", {"type": "BaseException", "mro": [], "msg": "<unprintable exception>", "tb": ""}])
        except BaseException:  # noqa: BLE001
            pass


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass


def _run_unittests(namespace: dict, before: set, fd: int) -> None:
    import unittest

    classes = [
        v
        for k, v in namespace.items()
        if k not in before and isinstance(v, type) and issubclass(v, unittest.TestCase)
    ]
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for cls in classes:
        suite.addTests(loader.loadTestsFromTestCase(cls))
    result = unittest.TestResult()
    result.failfast = True
    suite.run(result)
    for test, text in result.errors + result.failures:
        kind = "f" if (test, text) in result.failures else "e"
        if kind == "f":
            _frame(fd, ["f", text[-2000:]])
        else:
            _frame(fd, ["e", {"type": "Error", "mro": [], "msg": f"{test}", "tb": text[-4000:]}])
        raise _StopTest
    if result.testsRun == 0:
        _frame(fd, ["e", {"type": "NoTests", "mro": [], "msg": "no unittest test methods found", "tb": ""}])
        raise _StopTest


class _CallTimeout(BaseException):
    """Raised by the per-call timer of a batch of calls."""


def _on_alarm(signum, frame) -> None:  # noqa: ANN001
    raise _CallTimeout


def _run_calls(test: dict, g: dict, fd: int) -> None:
    """A CallBatchTest: call the function on each argument tuple, one value frame per call.

    Stops at the first call that raises or outlives its timer; the parent judges the
    values in order, so computing more after a wrong value changes no verdict."""
    exec(compile(test["code"], "<test>", "exec"), g)
    fn = g.pop("__ace_fn__")
    calls = _wire.decode(test["calls"])
    tl = test.get("tl")
    per = tl if isinstance(tl, list) else None
    encode, unserializable = _wire.encode, _wire.UnserializableValue
    setitimer, real = signal.setitimer, signal.ITIMER_REAL
    signal.signal(signal.SIGALRM, _on_alarm)
    i = 0
    try:
        for i, args in enumerate(calls):
            t = per[i] if per is not None else tl
            if t:
                setitimer(real, t)
                try:
                    value = fn(*args)
                finally:
                    setitimer(real, 0)
            else:
                value = fn(*args)
            try:
                payload = encode(value)
            except unserializable as exc:
                _frame(fd, ["u", i, str(exc)[:500]])
                raise _StopTest from None
            _frame(fd, ["c", i, payload])
    except _CallTimeout:
        _flush_std()
        _frame(fd, ["kt", i])
        raise _StopTest from None


def _run_test(test: dict, g: dict, program_code, fd: int) -> None:
    """Run one test body here (T_k, or J in shared mode) and write its frames."""
    kind = test["k"]

    def check(ci: int, values: tuple) -> None:
        try:
            payload = _wire.encode(values)
        except _wire.UnserializableValue as exc:
            _frame(fd, ["u", ci, str(exc)[:500]])
            raise _StopTest from None
        _frame(fd, ["c", ci, payload])

    try:
        if kind == "io":
            data = test.get("stdin", "").encode("utf-8", "surrogateescape")
            mfd = os.memfd_create("stdin")
            _write_all(mfd, data)
            os.lseek(mfd, 0, os.SEEK_SET)
            os.dup2(mfd, 0)
            os.close(mfd)
            import io

            sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="surrogateescape")
            exec(program_code, {"__name__": "__main__", "__builtins__": builtins})
        elif kind == "calls":
            _run_calls(test, g, fd)
        else:
            g["__ace_check__"] = check
            before = set(g)
            if test.get("call"):
                g["__ace_args__"] = _wire.decode(test["args"])
                g["__ace_kwargs__"] = _wire.decode(test["kwargs"])
            exec(compile(test["code"], "<test>", "exec"), g)
            if test.get("unittest"):
                _run_unittests(g, before, fd)
            if kind == "compat":
                _flush_std()
                _frame(fd, ["p"])
        _flush_std()
        _frame(fd, ["d"])
    except _StopTest:
        pass
    except AssertionError as exc:
        _flush_std()
        if kind == "compat":
            _frame(fd, ["f", str(exc)[:2000]])
        else:
            _report_exception(fd, exc)
    except BaseException as exc:  # noqa: BLE001 - every program exception is a result
        _flush_std()
        _report_exception(fd, exc)
    _flush_std()


def _set_rlimits(lim: dict, cfg: dict) -> None:
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


def _oom_adj(value: int) -> None:
    try:
        fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        try:
            os.write(fd, b"%d" % value)
        finally:
            os.close(fd)
    except OSError:
        pass


def _job_process(job: dict, start: int, fds: dict, cfg: dict) -> None:
    """Body of J: load the program, then run tests (fork per test, or in-process)."""
    res = fds["res_w"]
    try:
        os.setsid()  # its own process group: killpg(0) from the program cannot reach the server
        os.dup2(fds["null"], 0)
        os.dup2(fds["out_w"], 1)
        os.dup2(fds["err_w"], 2)
        lo = 3
        for fd in sorted({res, fds["ctrl_r"]}):  # close everything else we inherited
            os.closerange(lo, fd)
            lo = fd + 1
        os.closerange(lo, 65536)
        sys.stdin = open(os.devnull)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.chdir(cfg["scratch"])
        _oom_adj(500)
        lim = job["limits"]
        _set_rlimits(lim, cfg)
        tests = job["tests"]
        shared = job["mode"] == "shared"
        if shared:
            _set_cpu_limit(lim["timeout_s"])
        g: dict = {"__name__": "__solution__", "__builtins__": builtins}
        program_code = None
        try:
            program_code = compile(job["program"], "<program>", "exec")
            if any(t["k"] != "io" for t in tests[start:]):
                exec(program_code, g)
            _flush_std()
        except BaseException as exc:  # noqa: BLE001 - a load failure is the program's result
            _flush_std()
            info = {"status": "error", "msg": "", "type": type(exc).__name__}
            if isinstance(exc, SystemExit):
                info.update(status="crashed", msg=f"the program called exit({exc.code!r}) while loading")
            elif isinstance(exc, MemoryError):
                info.update(status="memory", msg="MemoryError while loading the program")
            else:
                try:
                    e = _exc_info(exc)
                    info.update(msg=f"program failed to load: {e['type']}: {e['msg']}", tb=e["tb"])
                except BaseException:  # noqa: BLE001
                    info.update(msg="program failed to load")
            _frame(res, ["l", info])
            os._exit(0)
        _frame(res, ["r"])
        if shared:
            for k in range(start, len(tests)):
                _set_cpu_limit(lim["timeout_s"])
                _run_test(tests[k], g, program_code, res)
                _flush_std()
                _write_all(res, b'\n["t",%d]\n' % k)
            os._exit(0)
        import gc

        gc.collect()
        gc.freeze()  # the loaded program's objects: no GC traversal (and copy-on-write) in forks
        ctrl = fds["ctrl_r"]
        pending = b""
        while True:
            while b"\n" not in pending:
                chunk = os.read(ctrl, 64)
                if not chunk:
                    os._exit(0)
                pending += chunk
            line, _, pending = pending.partition(b"\n")
            k = int(line)
            _flush_std()
            pid = os.fork()
            if pid == 0:
                try:
                    _oom_adj(1000)
                    _set_cpu_limit(lim["timeout_s"])
                    _run_test(tests[k], g, program_code, res)
                finally:
                    os._exit(0)
            _, status, ru = os.wait4(pid, 0)
            _write_all(res, b'\n["x",%d,%d,%.6f]\n' % (k, status, ru.ru_utime + ru.ru_stime))
    except BaseException:  # noqa: BLE001 - J never returns into the server's code
        pass
    os._exit(0)


def _set_cpu_limit(timeout_s: float) -> None:
    """Kernel backstop for CPU time; the server's own accounting is finer."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    now = int(used.ru_utime + used.ru_stime)
    soft = now + int(timeout_s) + 2
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
    except (ValueError, OSError):
        pass


# ----------------------------------------------------------------- the server


class _Server:
    def __init__(self, hin: int, hout: int, cfg: dict) -> None:
        self.hin, self.hout, self.cfg = hin, hout, cfg
        self.null = os.open(os.devnull, os.O_RDWR)
        self.stop_requested: set[int] = set()
        self.current_id: int | None = None

    # -- one J
    def _spawn(self, job: dict, start: int) -> dict:
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        ctrl_r, ctrl_w = os.pipe()
        fds = {"res_w": res_w, "out_w": out_w, "err_w": err_w, "ctrl_r": ctrl_r, "null": self.null}
        pid = os.fork()
        if pid == 0:
            _job_process(job, start, fds, self.cfg)
            os._exit(0)
        for fd in (res_w, out_w, err_w, ctrl_r):
            os.close(fd)
        for fd in (res_r, out_r, err_r):
            os.set_blocking(fd, False)
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            pidfd = -1
        return {"pid": pid, "res": res_r, "out": out_r, "err": err_r, "ctrl": ctrl_w, "pidfd": pidfd, "buf": bytearray()}

    def _wipe(self) -> None:
        for path in self.cfg.get("wipe", [self.cfg["scratch"]]):
            _wipe(path)

    def _close(self, j: dict) -> None:
        for key in ("res", "out", "err", "ctrl", "pidfd"):
            if j.get(key, -1) >= 0:
                try:
                    os.close(j[key])
                except OSError:
                    pass
                j[key] = -1

    def _kill_all(self, j: dict | None) -> None:
        _sweep(keep=None)
        if j is not None:
            self._close(j)

    # -- supervision of one step (a load or a test)
    def _supervise(self, j: dict, k: int | None, lim: dict, job_deadline: float, shared: bool, cap_out: int) -> dict:
        # k None: J's load step; its CPU time is J's own, as in shared mode.
        """Wait for J's end-of-step frame, enforcing time limits; returns the raw result."""
        t0 = time.monotonic()
        timeout_s = lim["timeout_s"]
        wall_deadline = min(t0 + lim["wall_timeout_s"], job_deadline)
        check_at = t0 + timeout_s
        own_cpu = shared or k is None
        cpu0 = _cpu_s(j["pid"]) if own_cpu else 0.0
        lines: list[str] = []
        out, err = bytearray(), bytearray()
        trunc = False
        result_bytes = 0
        overflow = False
        cap_err = lim["output_bytes"]
        end: dict | None = None
        poller = select.poll()
        fdmap = {}
        for key in ("res", "out", "err", "pidfd"):
            if j[key] >= 0:
                poller.register(j[key], select.POLLIN)
                fdmap[j[key]] = key
        poller.register(self.hin, select.POLLIN)
        buf = j["buf"]

        def drain(key: str) -> bool:
            """Read what is there; False at end of file."""
            nonlocal buf, trunc, result_bytes, overflow
            fd = j[key]
            while True:
                try:
                    chunk = os.read(fd, _READ)
                except BlockingIOError:
                    return True
                except OSError:
                    return False
                if not chunk:
                    return False
                if key == "res":
                    result_bytes += len(chunk)
                    if result_bytes > self.cfg["result_bytes"]:
                        overflow = True
                        continue
                    buf += chunk
                elif key == "out":
                    room = cap_out - len(out)
                    if room > 0:
                        out.extend(chunk[:room])
                    if len(chunk) > room:
                        trunc = True
                else:
                    room = cap_err - len(err)
                    if room > 0:
                        err.extend(chunk[:room])
                    if len(chunk) > room:
                        trunc = True

        def take_lines() -> dict | None:
            """Split complete lines off ``buf``; return the step's end frame if one came."""
            nonlocal buf, overflow
            if b"\n" not in buf:
                return None
            parts = buf.split(b"\n")
            buf = parts.pop()
            for idx, line in enumerate(parts):
                if not line:
                    continue
                if line.startswith((b'["x",', b'["t",', b'["r"]', b'["l",')):
                    try:
                        frame = json.loads(line)
                    except ValueError:
                        frame = [None]
                    tag = frame[0]
                    end = None
                    if tag == "r" and k is None:
                        end = {"end": "loaded"}
                    elif tag == "l" and k is None:
                        end = {"end": "load_failed", "info": frame[1] if len(frame) > 1 else {}}
                    elif tag == "x" and not shared and len(frame) == 4 and frame[1] == k:
                        end = {"end": "exit", "wstatus": frame[2], "cpu": frame[3]}
                    elif tag == "t" and shared and len(frame) == 2 and frame[1] == k:
                        end = {"end": "done"}
                    if end is not None:
                        buf = bytearray(b"\n".join(parts[idx + 1 :] + [buf]))
                        return end
                # Anything else (a frame out of place included) goes to the host as is.
                if len(lines) >= _MAX_LINES:
                    overflow = True
                    continue
                lines.append(line.decode("utf-8", "replace"))
            return None

        # Frames that arrived with the previous step's (shared mode: J runs on without
        # waiting for us) may already end this one.
        end = take_lines()
        while end is None:
            now = time.monotonic()
            wait_s = max(0.0, min(wall_deadline, check_at) - now)
            events = poller.poll(wait_s * 1000.0)
            for fd, _ev in events:
                key = fdmap.get(fd)
                if fd == self.hin:
                    self._host_message()
                    if self.current_id in self.stop_requested:
                        # The host has judged enough (an earlier test failed): end J now
                        # rather than at the next test boundary.
                        end = {"end": "stopped"}
                        break
                    continue
                if key == "pidfd":
                    # J exited: collect what it wrote, then decide.
                    for kk in ("res", "out", "err"):
                        drain(kk)
                    end = take_lines()
                    if end is None:
                        end = {"end": "died", "wstatus": self._wait_j(j)}
                    break
                if not drain(key):
                    poller.unregister(fd)
                if key == "res":
                    end = take_lines()
                    if end is not None:
                        break
            if end is not None:
                break
            now = time.monotonic()
            if now >= wall_deadline:
                end = {"end": "timeout", "reason": "job" if now >= job_deadline else "wall"}
            elif now >= check_at:
                pids = _descendants(j["pid"]) + ([j["pid"]] if own_cpu else [])
                used = sum(_cpu_s(p) for p in pids) - cpu0
                if used >= timeout_s:
                    end = {"end": "timeout", "reason": "cpu"}
                else:
                    check_at = now + max(timeout_s - used, 0.02)
        wall = time.monotonic() - t0
        if end["end"] == "exit":
            _sweep(keep=j["pid"])
            for kk in ("res", "out", "err"):
                drain(kk)
            take_lines()
            if buf:
                lines.append(buf.decode("utf-8", "replace"))
                buf = bytearray()
        elif end["end"] in ("timeout", "died", "stopped"):
            if end["end"] == "timeout":
                pids = _descendants(j["pid"]) + ([j["pid"]] if own_cpu else [])
                end["cpu"] = sum(_cpu_s(p) for p in pids) - cpu0
            _sweep(keep=None)
            for kk in ("res", "out", "err"):
                drain(kk)
            take_lines()
            if buf:
                lines.append(buf.decode("utf-8", "replace"))
                buf = bytearray()
            self._close(j)
        j["buf"] = buf
        end.update(
            lines=lines,
            out=out.decode("utf-8", "replace"),
            err=err.decode("utf-8", "replace"),
            trunc=trunc,
            overflow=overflow,
            wall=wall,
        )
        return end

    def _wait_j(self, j: dict) -> int:
        try:
            _, status = os.waitpid(j["pid"], 0)
            return status
        except ChildProcessError:
            return -1

    def _host_message(self) -> None:
        try:
            msg = _recv(self.hin)
        except (EOFError, OSError, ValueError):
            _sweep(keep=None)
            os._exit(0)
        if msg.get("op") == "stop":
            self.stop_requested.add(msg.get("id"))

    # -- one job
    def run_job(self, job: dict) -> None:
        jid = job["id"]
        self.current_id = jid
        lim = job["limits"]
        tests = job["tests"]
        shared = job["mode"] == "shared"
        t_start = time.monotonic()
        job_deadline = t_start + lim["job_timeout_s"]
        k = 0
        n = len(tests)
        j: dict | None = None
        # Results go back in one message at the end of the job, or one by one when the
        # host may want to stop early (it judges each test as it arrives).
        stream = bool(job.get("stream"))
        results: list[dict] = []

        def emit(result: dict) -> None:
            if stream:
                _send(self.hout, dict(result, op="test", id=jid))
            else:
                results.append(result)

        while k < n:
            if jid in self.stop_requested:
                break
            if time.monotonic() >= job_deadline:
                for kk in range(k, n):
                    emit({"k": kk, "end": "timeout", "reason": "job", "lines": [], "out": "", "err": "", "trunc": False, "overflow": False, "wall": 0.0, "cpu": 0.0})
                break
            j = self._spawn(job, k)
            load = self._supervise(j, None, lim, job_deadline, shared=False, cap_out=lim["output_bytes"])
            if load["end"] != "loaded":
                self._kill_all(j)
                for kk in range(k, n):
                    emit(dict(load, k=kk, phase="load"))
                k = n
                break
            self._wipe()
            while k < n:
                if jid in self.stop_requested:
                    break
                test = tests[k]
                cap = test.get("cap", lim["output_bytes"])
                if not shared:
                    try:
                        _write_all(j["ctrl"], b"%d\n" % k)
                    except OSError:
                        pass
                r = self._supervise(j, k, lim, job_deadline, shared=shared, cap_out=cap)
                if not shared:
                    self._wipe()
                if r["end"] == "stopped":  # the host no longer wants this test's result
                    j = None
                    k = n
                    break
                emit(dict(r, k=k))
                k += 1
                if r["end"] in ("timeout", "died"):
                    j = None
                    break
            if j is not None:
                break
        # Results first: the host judges them while we clean up, before the next job.
        _send(self.hout, {"op": "end", "id": jid, "results": results})
        self._kill_all(j)
        self._wipe()
        self.stop_requested.discard(jid)

    def serve(self) -> None:
        _send(
            self.hout,
            {"op": "ready", "pid": os.getpid(), "python": sys.version.split()[0], "preload_failed": self.cfg.get("preload_failed", [])},
        )
        while True:
            try:
                msg = _recv(self.hin)
            except (EOFError, OSError):
                _sweep(keep=None)
                os._exit(0)
            op = msg.get("op")
            if op == "job":
                self.run_job(msg)
            elif op == "exit":
                _sweep(keep=None)
                os._exit(0)
            elif op == "stop":
                pass  # the job already ended


def main() -> None:
    hin, hout = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    cfg = _recv(hin)
    # Started with -S (no site: a smaller server forks faster), so add site-packages
    # ourselves (.pth hooks are not run) and the exit()/quit() builtins programs expect.
    for d in cfg.get("site", []):
        if d not in sys.path:
            sys.path.append(d)
    import _sitebuiltins

    builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")  # type: ignore[attr-defined]
    builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")  # type: ignore[attr-defined]
    os.makedirs(cfg["scratch"], exist_ok=True)
    os.chdir(cfg["scratch"])
    _prctl(4, 0)  # PR_SET_DUMPABLE 0: programs in the sandbox cannot ptrace the server
    _prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: orphans come back to us, so sweeps find them
    if cfg.get("rlimit_nproc"):
        cfg["rlimit_nproc_base"] = 0
    failed = []
    for name in cfg.get("preload", []):
        try:
            __import__(name)
        except BaseException as exc:  # noqa: BLE001 - reported to the host as a warning
            failed.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
    cfg["preload_failed"] = failed
    import gc

    gc.collect()
    gc.freeze()  # keep refcount/GC writes from touching shared pages after fork
    _Server(hin, hout, cfg).serve()


if __name__ == "__main__":
    main()
