"""Where a test's milliseconds go: controlled experiments on the public API.

    python -m perf.breakdown                  # every experiment, 1 sandbox, 200 jobs each
    python -m perf.breakdown --jobs 100 --json breakdown.json
    python -m perf.breakdown --workload ../shared/perf/workloads/nostall-800.jsonl --mode shared

``--workload`` runs a yardstick workload (``/work/shared/perf``'s JSONL: ``program``,
``tests``, ``expected``) through ``run_batch`` instead, timed end to end as the
yardstick's own runners time evalplus and a plain interpreter, and prints their JSON
fields (``tests_per_s``, ``binary_mismatch_vs_expected``) with the host's CPU per job;
``--rounds N`` repeats it (the first round cold, the rest with the host's caches warm).

The server and the host expose no per-phase timings, so each phase is isolated from
outside by jobs that differ in one thing only, run one at a time on one warm sandbox
(``workers=1``: no queueing, no contention between sandboxes):

- ``tests``: one trivial program with 1, 4 and 16 tests of ``assert x == 1``, in
  isolated and in shared mode. The intercept is the cost of a job (the job process's
  fork, loading the program, the scratch directory's setup and wipe, the job's
  messages); the slope the cost of one more test: a fork of the job process plus its
  messages and judging (isolated), or messages and judging alone (shared). Their
  difference is the per-test fork.
- ``judge``: a test whose template the host evaluates itself (``f() == [1, 2, 3]``)
  against one it hands to a judge process (``sorted(f()) == [1, 2, 3]``).
- ``result size``: a test whose value is a list of 10, 10,000 and 100,000 ints
  (serialising in the sandbox, the message, decoding and comparing in the host).
- ``fork``: ``os.fork`` + ``waitpid`` from this (warm, small) process, for reference.

Each experiment reports the wall milliseconds per job and the CPU milliseconds spent in
the host (this process: messages, decoding, judging) and in the sandboxes (every process
this one started, judges included), so a loaded machine inflates the wall figures more
than the CPU ones. The load average is printed; figures taken above the core count are
not the idle machine's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import psutil  # type: ignore[import-untyped]

from acesandbox import Executor, Job, Limits, SandboxConfig, run_batch

from .sandbox import Load, format_table

__all__ = ["Measure", "fit", "fork_cost_ms", "main", "measure", "run_breakdown", "run_workload"]

LIMITS = Limits(timeout_s=1.0)
TRIVIAL = "x = 1\ndef f():\n    return [1, 2, 3]\n"


@dataclass(frozen=True)
class Measure:
    """One experiment: per-job wall, host CPU and sandbox CPU milliseconds (medians of rounds)."""

    name: str
    jobs: int
    tests_per_job: int
    wall_ms: float
    host_cpu_ms: float
    sandbox_cpu_ms: float
    statuses: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "jobs": self.jobs,
            "tests_per_job": self.tests_per_job,
            "wall_ms_per_job": round(self.wall_ms, 3),
            "host_cpu_ms_per_job": round(self.host_cpu_ms, 3),
            "sandbox_cpu_ms_per_job": round(self.sandbox_cpu_ms, 3),
            "statuses": self.statuses,
        }


def _descendant_cpu_s() -> float:
    """CPU seconds of every live descendant, with what each has reaped (counted once)."""
    total = 0.0
    for p in psutil.Process().children(recursive=True):
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            continue
    return total


def measure(ex: Executor, name: str, job: Job, n_jobs: int, rounds: int = 3) -> Measure:
    """Run ``job`` ``n_jobs`` times in each of ``rounds`` rounds on ``ex``; medians per job."""
    walls, hosts, boxes = [], [], []
    statuses: dict[str, int] = {}
    ex.run(job)  # warm: the first run pays one-off costs (a judge process starting, caches)
    for _ in range(rounds):
        box0, host0, t0 = _descendant_cpu_s(), time.process_time(), time.perf_counter()
        for _ in range(n_jobs):
            report = ex.run(job)
            for o in report.outcomes:
                statuses[o.status.value] = statuses.get(o.status.value, 0) + 1
        walls.append((time.perf_counter() - t0) / n_jobs * 1000)
        hosts.append((time.process_time() - host0) / n_jobs * 1000)
        boxes.append(max(0.0, _descendant_cpu_s() - box0) / n_jobs * 1000)
    return Measure(name, n_jobs, len(job.tests), statistics.median(walls), statistics.median(hosts), statistics.median(boxes), statuses)


def fit(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``(intercept, slope)`` of y over x."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0
    return my - slope * mx, slope


def fork_cost_ms(n: int = 200) -> float:
    """Median milliseconds of ``os.fork`` + ``waitpid`` (the child exits at once) from this process."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _job(tests: Sequence[str], mode: str = "isolated", program: str = TRIVIAL) -> Job:
    return Job(program=program, tests=tuple(tests), limits=LIMITS, mode=mode)  # type: ignore[arg-type]


def _sized(n: int) -> str:
    return f"def f():\n    return list(range({n}))\n"


def run_breakdown(n_jobs: int = 200, *, backend: str | None = None, rounds: int = 3, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every experiment on one warm sandbox; returns the measures and the derived phases."""
    log = log or (lambda msg: None)
    load_start = Load.now()
    out: dict[str, Measure] = {}

    def run(ex: Executor, name: str, job: Job, n: int = n_jobs) -> Measure:
        m = measure(ex, name, job, n, rounds)
        out[name] = m
        log(f"  {name}: {m.wall_ms:.2f} ms/job wall, host {m.host_cpu_ms:.2f}, sandbox {m.sandbox_cpu_ms:.2f} ms CPU")
        return m

    with Executor(SandboxConfig(backend=backend, workers=1)) as ex:
        for mode in ("isolated", "shared"):
            for k in (1, 4, 16):
                run(ex, f"{mode} {k} tests", _job(["assert x == 1"] * k, mode))
        run(ex, "host-judged 4 tests", _job(["assert f() == [1, 2, 3]"] * 4))
        run(ex, "judge-process 4 tests", _job(["assert sorted(f()) == [1, 2, 3]"] * 4))
        for size in (10, 10_000, 100_000):
            run(ex, f"result {size} ints", _job([f"assert f() == list(range({size}))"], program=_sized(size)), max(10, n_jobs // 4))
        backend_name = ex.backend.name
    fork_ms = fork_cost_ms()
    load_end = Load.now()

    phases: dict[str, Any] = {}
    for metric in ("wall_ms", "host_cpu_ms", "sandbox_cpu_ms"):
        iso = fit([(out[f"isolated {k} tests"].tests_per_job, getattr(out[f"isolated {k} tests"], metric)) for k in (1, 4, 16)])
        sha = fit([(out[f"shared {k} tests"].tests_per_job, getattr(out[f"shared {k} tests"], metric)) for k in (1, 4, 16)])
        judge = (getattr(out["judge-process 4 tests"], metric) - getattr(out["host-judged 4 tests"], metric)) / 4
        small, big = out["result 10 ints"], out["result 100000 ints"]
        per_100k = getattr(big, metric) - getattr(small, metric)
        phases[metric] = {
            "job_isolated": round(iso[0], 3),
            "job_shared": round(sha[0], 3),
            "test_isolated": round(iso[1], 3),
            "test_shared": round(sha[1], 3),
            "test_fork": round(iso[1] - sha[1], 3),
            "judge_process_per_test": round(judge, 3),
            "result_per_100k_ints": round(per_100k, 3),
        }
    return {
        "backend": backend_name,
        "jobs_per_measure": n_jobs,
        "rounds": rounds,
        "measures": [m.to_dict() for m in out.values()],
        "phases": phases,
        "host_fork_ms": round(fork_ms, 3),
        "load_start": list(load_start.averages),
        "load_end": list(load_end.averages),
        "cores": load_start.cores,
        "loaded": load_start.busy or load_end.busy,
    }


_PHASES = (
    ("job_isolated", "a job (fork of the job process, load, scratch setup + wipe, messages), isolated"),
    ("job_shared", "a job, shared mode"),
    ("test_isolated", "one more test, isolated (fork + messages + judging)"),
    ("test_shared", "one more test, shared (messages + judging)"),
    ("test_fork", "the per-test fork (isolated - shared)"),
    ("judge_process_per_test", "a template judged in a judge process instead of the host"),
    ("result_per_100k_ints", "a 100,000-int result instead of 10 (encode, message, decode, compare)"),
)


def format_breakdown(r: dict[str, Any]) -> str:
    rows = [(m["name"], m["wall_ms_per_job"], m["host_cpu_ms_per_job"], m["sandbox_cpu_ms_per_job"]) for m in r["measures"]]
    lines = [format_table(("experiment (per job)", "wall ms", "host CPU ms", "sandbox CPU ms"), rows), ""]
    p = r["phases"]
    rows2 = [(what, p["wall_ms"][k], p["host_cpu_ms"][k], p["sandbox_cpu_ms"][k]) for k, what in _PHASES]
    lines.append(format_table(("phase", "wall ms", "host CPU ms", "sandbox CPU ms"), rows2))
    lines.append(f"fork + waitpid from this process: {r['host_fork_ms']} ms")
    lines.append(f"load {r['load_start']} -> {r['load_end']} on {r['cores']} cores" + (" (LOADED: not idle-machine figures)" if r["loaded"] else ""))
    return "\n".join(lines)


def run_workload(
    path: str,
    *,
    mode: str = "isolated",
    workers: int = 2,
    timeout_s: float = 1.0,
    backend: str | None = None,
    rounds: int = 1,
) -> dict[str, Any]:
    """Time ``run_batch`` over a yardstick JSONL workload (sandbox start-up included).

    Each round is one ``run_batch`` call; the first is the yardstick's cold run (every
    distinct test planned once), later ones find the host's caches warm. Besides wall
    time, each round reports the host's CPU (this process, every thread: encoding jobs,
    reading and judging results, building reports) per job, split into user and system
    time: a figure a loaded machine inflates far less than the wall clock."""
    import resource

    with open(path) as f:
        jobs = [json.loads(line) for line in f if line.strip()]
    items = [(j["program"], j["tests"]) for j in jobs]
    n_tests = sum(len(j["tests"]) for j in jobs)
    load_start = Load.now()
    per_round: list[dict[str, Any]] = []
    reports: list[Any] = []
    for _ in range(max(1, rounds)):
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        reports = run_batch(items, timeout_s=timeout_s, sandbox=SandboxConfig(backend=backend, workers=workers), mode=mode)
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        user, system = ru1.ru_utime - ru0.ru_utime, ru1.ru_stime - ru0.ru_stime
        per_round.append(
            {
                "wall_s": round(wall, 3),
                "tests_per_s": round(n_tests / wall, 1),
                "host_cpu_ms_per_job": round((user + system) * 1000 / len(jobs), 3),
                "host_user_ms_per_job": round(user * 1000 / len(jobs), 3),
                "host_sys_ms_per_job": round(system * 1000 / len(jobs), 3),
            }
        )
    load_end = Load.now()
    counts: dict[str, int] = {}
    mismatch = 0
    for j, r in zip(jobs, reports):
        for o, e in zip(r.outcomes, j.get("expected", [None] * len(r.outcomes))):
            counts[o.status.value] = counts.get(o.status.value, 0) + 1
            if e is not None and (o.status.value == "passed") != (e == "passed"):
                mismatch += 1
    first = per_round[0]
    return {
        "target": f"acesandbox-{mode}",
        "jobs_file": os.path.basename(path),
        "jobs": len(jobs),
        "tests": n_tests,
        "workers": workers,
        "timeout_per_test_s": timeout_s,
        "wall_s": first["wall_s"],
        "tests_per_s": first["tests_per_s"],
        "host_cpu_ms_per_job": first["host_cpu_ms_per_job"],
        "rounds": per_round,
        "statuses": dict(sorted(counts.items())),
        "binary_mismatch_vs_expected": mismatch,
        "load_start": list(load_start.averages),
        "load_end": list(load_end.averages),
        "cores": load_start.cores,
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m perf.breakdown", description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=200, help="jobs per experiment and round (default 200)")
    p.add_argument(
        "--rounds", type=int, default=None, help="rounds per experiment, the median kept (default 3); with --workload: run_batch calls (default 1)"
    )
    p.add_argument("--backend", default=None, help="sandbox backend (default: the strongest available)")
    p.add_argument("--json", metavar="FILE", help="write the full result here")
    p.add_argument("--workload", metavar="JSONL", help="time run_batch over this yardstick workload instead")
    p.add_argument("--mode", default="isolated", choices=("isolated", "shared"), help="with --workload (default isolated)")
    p.add_argument("--workers", type=int, default=2, help="with --workload (default 2)")
    p.add_argument("--timeout", type=float, default=1.0, help="with --workload: seconds per test (default 1.0)")
    args = p.parse_args(argv)
    if args.workload:
        result = run_workload(
            args.workload, mode=args.mode, workers=args.workers, timeout_s=args.timeout, backend=args.backend, rounds=args.rounds or 1
        )
        print(json.dumps(result))
        return 0
    result = run_breakdown(args.jobs, backend=args.backend, rounds=args.rounds or 3, log=lambda m: print(m, file=sys.stderr, flush=True))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print(json.dumps(result))
    print(format_breakdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
