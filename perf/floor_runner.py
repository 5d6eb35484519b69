"""The floor's worker script, run by a plain interpreter (standard library only):

    /usr/bin/python3 -I perf/floor_runner.py WORKLOAD.jsonl job|test WORKERS TIMEOUT_S

``WORKERS`` forked processes take job indices from one pipe (4-byte records: a pipe
read that small is atomic). For each job a worker forks a child that loads the program
in fresh globals; ``job`` runs every test in that child, one after another (shared
mode's shape), ``test`` compiles the tests, freezes the loaded state (``gc.freeze``) and
forks one grandchild per test (isolated mode's shape), the cheapest way to do it. A test
passes when it runs to its end; an exception or an exit fails it, and so does running
past its limit: ``3 * TIMEOUT_S`` of wall time where it runs in the job's child (an
alarm, the sandbox's default wall limit), ``TIMEOUT_S`` of CPU in its own fork
(``RLIMIT_CPU``, set once before the forks). Nothing else happens: no
namespaces, limits, messages or judging outside the program. Prints one JSON line with
the yardstick's fields.
"""

from __future__ import annotations

import gc
import json
import math
import os
import resource
import signal
import struct
import sys
import tempfile
import time
from typing import Any

_RECORD = struct.Struct("<I")
_PASSED = 0x5A  # a fork's exit code when its test ran to its end (a test's own exit(0) is no pass)


class _Alarm(BaseException):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise _Alarm


def _run_test(test: Any, g: dict[str, Any], wall_s: float) -> bool:
    signal.setitimer(signal.ITIMER_REAL, wall_s)
    try:
        exec(compile(test, "<test>", "exec") if isinstance(test, str) else test, g)
        return True
    except BaseException:  # noqa: BLE001 - any way a test ends early fails it
        return False
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _compiled(test: str) -> Any:
    try:
        return compile(test, "<test>", "exec")
    except BaseException:  # noqa: BLE001 - a test that does not compile fails
        return None


def _job_child(job: dict[str, Any], mode: str, wall_s: float, out: int) -> None:
    """In the job's child: load the program, run its tests, write one 0/1 per test."""
    g: dict[str, Any] = {"__name__": "solution"}
    tests = job["tests"]
    signal.setitimer(signal.ITIMER_REAL, wall_s)
    try:
        exec(compile(job["program"], "<program>", "exec"), g)
        loaded = True
    except BaseException:  # noqa: BLE001
        loaded = False
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    bits = []
    if loaded and mode == "test":
        # Compiled once, before the forks, and the loaded state frozen (no GC traversal of
        # it in each fork, so fewer pages copied): the cheapest fork per test.
        tests = [_compiled(test) for test in tests]
        gc.freeze()
        # Each fork's CPU limit, set once here (a timer armed in every fork costs about 35 us).
        cpu_s = max(1, math.ceil(wall_s / 3))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    for test in tests:
        if not loaded or test is None:
            bits.append("0")
        elif mode == "job":
            bits.append("1" if _run_test(test, g, wall_s) else "0")
        else:
            pid = os.fork()
            if pid == 0:
                try:
                    exec(test, g)
                    os._exit(_PASSED)
                except BaseException:  # noqa: BLE001
                    os._exit(1)
            _, status = os.waitpid(pid, 0)
            bits.append("1" if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _PASSED else "0")
    os.write(out, "".join(bits).encode())


def _worker(jobs: list[dict[str, Any]], queue: int, mode: str, wall_s: float, results: Any) -> None:
    while True:
        record = os.read(queue, _RECORD.size)
        if len(record) < _RECORD.size:
            return
        (index,) = _RECORD.unpack(record)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                _job_child(jobs[index], mode, wall_s, w)
            finally:
                os._exit(0)
        os.close(w)
        chunks = []
        while True:
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(r)
        os.waitpid(pid, 0)
        bits = b"".join(chunks).decode()
        bits = bits.ljust(len(jobs[index]["tests"]), "0")  # a child that died wrote less
        results.write(f"{index} {bits}\n")


def _machine_cpu() -> float:
    """Busy CPU seconds of the whole machine (``/proc/stat``)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:8]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def main(path: str, mode: str, workers: int, timeout_s: float) -> dict[str, Any]:
    with open(path) as f:
        jobs = [json.loads(line) for line in f if line.strip()]
    wall_s = 3 * timeout_s
    signal.signal(signal.SIGALRM, _alarm)
    devnull = os.open(os.devnull, os.O_RDWR)
    sys.stdout.flush()
    saved = os.dup(1), os.dup(2)
    for fd in (0, 1, 2):  # what programs print goes nowhere, as in a sandbox
        os.dup2(devnull, fd)
    queue_r, queue_w = os.pipe()
    files = [tempfile.TemporaryFile("w+") for _ in range(workers)]
    busy0, t0 = _machine_cpu(), time.perf_counter()
    pids = []
    for results in files:
        pid = os.fork()
        if pid == 0:
            os.close(queue_w)
            try:
                _worker(jobs, queue_r, mode, wall_s, results)
                results.flush()
            finally:
                os._exit(0)
        pids.append(pid)
    os.close(queue_r)
    for index in range(len(jobs)):
        os.write(queue_w, _RECORD.pack(index))
    os.close(queue_w)
    for pid in pids:
        os.waitpid(pid, 0)
    wall, busy = time.perf_counter() - t0, _machine_cpu() - busy0
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    verdicts: dict[int, str] = {}
    for results in files:
        results.seek(0)
        for line in results:
            key, bits = line.split()
            verdicts[int(key)] = bits
        results.close()
    n_tests = sum(len(j["tests"]) for j in jobs)
    mismatch = passed = 0
    for index, job in enumerate(jobs):
        bits = verdicts.get(index, "0" * len(job["tests"]))
        passed += bits.count("1")
        for bit, expected in zip(bits, job.get("expected", [None] * len(bits))):
            if expected is not None and (bit == "1") != (expected == "passed"):
                mismatch += 1
    return {
        "target": f"floor-{mode}",
        "jobs": len(jobs),
        "jobs_done": len(verdicts),
        "tests": n_tests,
        "passed": passed,
        "workers": workers,
        "wall_s": round(wall, 3),
        "tests_per_s": round(n_tests / wall, 1),
        "machine_cpu_busy_s": round(busy, 2),
        "binary_mismatch_vs_expected": mismatch,
        "python": sys.version.split()[0],
    }


if __name__ == "__main__":
    summary = main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    print(json.dumps(summary), flush=True)
