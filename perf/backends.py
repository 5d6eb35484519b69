"""Per-job overhead of the docker and ray backends against the namespace backend.

    python -m perf.backends                 # namespace, docker, ray; 3 rounds
    python -m perf.backends --backends namespace,ray --ray-address auto

Same workload for every backend, in the same run: HumanEval's programs, mutated as in
:mod:`perf.sandbox` (``--no-loop`` mix: correct, wrong and raising programs), each
problem's asserts as separate tests. Each backend's executor is started and warmed up
first; start-up is reported apart, and the timed part is steady-state throughput, which
is what a long RL or evaluation run sees. Rounds alternate between backends so a noisy
machine hits all of them alike; the table gives each round and the median. The ray
backend runs on one node (a local Ray instance, or ``--ray-address``) with the namespace
backend inside, so its overhead is Ray's alone. Speed is measured here, never asserted
in tests. Targets: docker within 1.5x and ray (one node) within 1.2x of namespace tests/s;
no ratio is printed where the load average exceeded the core count during the run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from acesandbox import Executor, Job, Limits, SandboxConfig

from .sandbox import TIMEOUT_S, Load, build_workload, load_problems

__all__ = ["BackendRun", "main", "run_backend"]

TARGETS = {"docker": 1.5, "ray": 1.2}
"""The most a backend's tests/s may fall behind the namespace backend's (a ratio)."""


@dataclass(frozen=True)
class BackendRun:
    """One timed pass of a backend over the workload (its executor already warm)."""

    backend: str
    round: int
    start_s: float
    wall_s: float
    jobs: int
    tests: int
    isolation: str
    verdicts: dict[str, int]

    @property
    def tests_per_s(self) -> float:
        return self.tests / self.wall_s

    @property
    def ms_per_job(self) -> float:
        return 1000.0 * self.wall_s / self.jobs


def _backend(name: str, args: argparse.Namespace, workers: int) -> Any:
    config = SandboxConfig(workers=workers)
    if name == "docker":
        from acesandbox.backends.docker import DockerBackend, DockerConfig, connect
        from acesandbox.images import DEFAULT_IMAGE, ensure_image

        client = connect()
        if args.image == DEFAULT_IMAGE:
            ensure_image(client, log=lambda m: print(m, file=sys.stderr))
        parent = args.docker_cgroup_parent
        if parent == "auto":
            # Fair CPU weight: each container weighs one process, as a namespace sandbox does
            # (under the engine's one /docker cgroup they would share one process's weight).
            parent = "/" if client.info().get("CgroupDriver") == "cgroupfs" else None
        client.close()
        return DockerBackend(config, DockerConfig(image=args.image, cgroup_parent=parent or None))
    if name == "ray":
        from acesandbox.backends.ray import RayBackend, RayConfig

        return RayBackend(config, RayConfig(address=args.ray_address, inner="namespace", workers_per_node=args.workers))
    return replace(config, backend=name)


def _timed(name: str, ex: Any, jobs: Sequence[Job], r: int, start_s: float) -> BackendRun:
    t1 = time.perf_counter()
    reports = ex.map(jobs)
    wall = time.perf_counter() - t1
    verdicts: dict[str, int] = {}
    for rep in reports:
        for o in rep.outcomes:
            verdicts[o.status.value] = verdicts.get(o.status.value, 0) + 1
    isolation = ",".join(sorted({rep.isolation for rep in reports}))
    return BackendRun(name, r, start_s, wall, len(reports), sum(rep.total for rep in reports), isolation, verdicts)


def run_backend(name: str, jobs: Sequence[Job], workers: int, args: argparse.Namespace, rounds: int) -> list[BackendRun]:
    """Start ``name``'s executor, warm it up, then time ``rounds`` passes over ``jobs``."""
    t0 = time.perf_counter()
    with Executor(_backend(name, args, workers)) as ex:
        ex.map(list(jobs[: 4 * workers]))  # every sandbox started and warm
        start_s = time.perf_counter() - t0
        return [_timed(name, ex, jobs, r, start_s) for r in range(rounds)]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m perf.backends", description=__doc__.split("\n\n")[1])
    p.add_argument("--backends", default="namespace,docker,ray", help="comma-separated, the first is the reference (default namespace,docker,ray)")
    p.add_argument("--jobs", type=int, default=400, help="jobs per pass (default 400, HumanEval problems cycled)")
    p.add_argument("--workers", type=int, default=None, help="sandboxes per backend (default: usable CPUs)")
    p.add_argument("--rounds", type=int, default=3, help="timed passes per backend, alternating backends (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the program mix")
    p.add_argument("--image", default="acesandbox:latest", help="docker backend image (default acesandbox:latest, built if stale)")
    p.add_argument(
        "--docker-cgroup-parent",
        default="auto",
        help="docker backend's DockerConfig.cgroup_parent: 'auto' ('/' with the cgroupfs driver, so a container "
        "weighs as much CPU as one process, as a namespace sandbox does), '' for the engine's default, or a path",
    )
    p.add_argument("--ray-address", default=None, help="Ray cluster to use (default: a local one-node instance)")
    p.add_argument("--json", dest="json_path", default=None, help="also write the results as JSON here")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    workers = args.workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    problems, _skipped = load_problems()
    workload = build_workload(problems, args.jobs, seed=args.seed, loops=False)
    limits = Limits(timeout_s=TIMEOUT_S)
    jobs = [Job(program=j.program, tests=tuple(j.tests), limits=limits) for j in workload.jobs]  # type: ignore[arg-type]
    print(
        f"machine: {os.cpu_count()} CPUs, {workers} workers per backend, Python {platform.python_version()}; "
        f"workload: {len(jobs)} jobs, {workload.total_tests} tests (HumanEval, no loops), {args.rounds} rounds"
    )
    load_start = Load.now()
    print(f"before: {load_start}")
    if "ray" in names and args.ray_address is None:
        import ray

        # One local node, without the dashboard's processes competing for the CPUs.
        ray.init(
            num_cpus=workers, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False, _node_ip_address="127.0.0.1"
        )
    runs: dict[str, list[BackendRun]] = {n: [] for n in names}
    executors: dict[str, tuple[Any, float]] = {}
    try:
        for name in names:
            print(f"starting {name}...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            try:
                ex = Executor(_backend(name, args, workers))
                ex.map(list(jobs[: 4 * workers]))  # every sandbox started and warm
            except Exception as exc:  # noqa: BLE001 - report it and go on with the others
                print(f"  {name} is unavailable: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            executors[name] = (ex, time.perf_counter() - t0)
        # Rounds alternate between the (warm) backends, so noise hits them all alike.
        for r in range(args.rounds):
            for name, (ex, start_s) in executors.items():
                print(f"round {r + 1}: {name}...", file=sys.stderr, flush=True)
                runs[name].append(_timed(name, ex, jobs, r, start_s))
    finally:
        for ex, _ in executors.values():
            ex.close()
    load_end = Load.now()
    print(f"after: {load_end}")
    ratios = not (load_start.busy or load_end.busy)
    if not ratios:
        print("the load average exceeded the core count: no ratio is printed (rerun on an idle machine)")
    ref = names[0]
    ref_tps = statistics.median([x.tests_per_s for x in runs[ref]]) if runs[ref] else None
    ref_ms = statistics.median([x.ms_per_job for x in runs[ref]]) if runs[ref] else None
    rows = []
    print()
    print(f"{'backend':<10} {'isolation':<22} {'start s':>8} {'tests/s (each round)':>24} {'median':>8} {'cost vs ' + ref:>18} {'overhead ms/job':>16}  target")
    for name in names:
        rs = runs[name]
        if not rs:
            print(f"{name:<10} (failed)")
            continue
        tps = statistics.median([x.tests_per_s for x in rs])
        ms = statistics.median([x.ms_per_job for x in rs])
        ratio = ref_tps / tps if ref_tps and ratios else None
        overhead = (ms - ref_ms) * workers if ref_ms is not None and ratios else None
        target = TARGETS.get(name)
        verdict = "" if target is None or ratio is None else f"<= {target}x: {'met' if ratio <= target else 'MISSED'}"
        each = ", ".join(f"{x.tests_per_s:.0f}" for x in rs)
        print(
            f"{name:<10} {rs[0].isolation[:22]:<22} {statistics.median([x.start_s for x in rs]):>8.2f} {each:>24} {tps:>8.1f} "
            f"{(f'{ratio:.2f}x' if ratio else '-'):>18} {(f'{overhead:+.1f}' if overhead is not None else '-'):>16}  {verdict}"
        )
        rows.append(
            {
                "backend": name,
                "tests_per_s_median": round(tps, 2),
                "ratio_vs_reference": None if ratio is None else round(ratio, 3),
                "overhead_ms_per_job": None if overhead is None else round(overhead, 2),
                "target": target,
                "runs": [dict(asdict(x), tests_per_s=round(x.tests_per_s, 2)) for x in rs],
            }
        )
    verdicts = {n: runs[n][0].verdicts for n in names if runs[n]}
    same = len({json.dumps(v, sort_keys=True) for v in verdicts.values()}) <= 1
    print(f"\nverdicts identical across backends: {'yes' if same else 'NO'} {verdicts if not same else ''}")
    print(f"(cost: {ref} tests/s / backend tests/s, medians; overhead: extra worker-milliseconds per job vs {ref})")
    if "docker" in names:
        print(f"(docker: cgroup_parent={args.docker_cgroup_parent!r}; on a busy host the engine's default parent gives all "
              "containers together the CPU weight of one process: see --docker-cgroup-parent)")
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as f:
            summary = {
                "workers": workers,
                "jobs": len(jobs),
                "tests": workload.total_tests,
                "reference": ref,
                "load_average_before": list(load_start.averages),
                "load_average_after": list(load_end.averages),
                "ratios_printed": ratios,
                "verdicts_identical": same,
                "backends": rows,
            }
            json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
