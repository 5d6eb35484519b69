"""Paired speed runs: the yardstick's runners, alternating, whole processes.

    python -m perf.paired --mode isolated --rounds 6 evalplus . ../old-checkout

Each round runs every runner once, in turn (the order reversed every other round, so
neither side always follows the other), as a whole process: ``evalplus`` is
``../shared/perf/bench_evalplus.py`` under the interpreter that has evalplus
(``--evalplus-python``); any other name is a source tree whose ``acesandbox`` runs
``bench_acesandbox.py --mode MODE`` (``PYTHONPATH`` set to it). Each run reports its
tests/s, the machine's CPU time per test (user, system and interrupts from
``/proc/stat``: every process's, the sandboxes' too; steal and idle left out) and its
verdict mismatches. Ratios are taken pair by pair against the first runner, so a
machine whose speed drifts moves both sides of a pair alike.

Before each round the machine is watched idle for ``--idle-s`` seconds: a round that
finds more than ``--max-idle-busy`` CPUs busy with something else is marked disturbed
and left out of the ratios (the load average would count our own runs).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Sequence

__all__ = ["Run", "main", "machine_cpu_s"]

_SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "perf")


@dataclass(frozen=True)
class Run:
    runner: str
    round: int
    tests_per_s: float
    cpu_ms_per_test: float
    steal_s: float
    mismatches: int
    disturbed: bool


def machine_cpu_s() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, steal seconds) since boot: user, nice,
    system, irq and softirq; idle, iowait and steal left out."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / hz, v[7] / hz


def _idle_busy(seconds: float) -> float:
    """CPUs busy while nothing of ours runs, averaged over ``seconds``."""
    b0, _ = machine_cpu_s()
    time.sleep(seconds)
    b1, _ = machine_cpu_s()
    return (b1 - b0) / seconds


def _command(runner: str, args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    if runner == "evalplus":
        return [args.evalplus_python, os.path.join(args.perf_dir, "bench_evalplus.py"), args.workload, "--no-rss"], env
    env["PYTHONPATH"] = os.path.abspath(runner)
    script = os.path.join(args.perf_dir, "bench_acesandbox.py")
    return [sys.executable, script, args.workload, "--no-rss", "--mode", args.mode], env


def run_once(runner: str, r: int, args: argparse.Namespace, disturbed: bool) -> Run:
    cmd, env = _command(runner, args)
    (b0, s0) = machine_cpu_s()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    (b1, s1) = machine_cpu_s()
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"{runner} failed (exit {out.returncode}): {out.stderr.strip()[-500:]}")
    d = json.loads(lines[-1])
    return Run(runner, r, float(d["tests_per_s"]), (b1 - b0) / int(d["tests"]) * 1e3, s1 - s0,
               int(d["binary_mismatch_vs_expected"]), disturbed)  # fmt: skip


def _summary(runs: list[Run], runners: Sequence[str]) -> list[str]:
    out = ["median tests/s and CPU ms a test (undisturbed rounds):"]
    kept = [x for x in runs if not x.disturbed]
    for name in runners:
        mine = [x for x in kept if x.runner == name]
        if mine:
            out.append(f"  {name:30s} {statistics.median(x.tests_per_s for x in mine):8.1f} {statistics.median(x.cpu_ms_per_test for x in mine):7.3f}")
    first = runners[0]
    for name in runners[1:]:
        pairs = [(a, b) for a in kept for b in kept if a.round == b.round and a.runner == name and b.runner == first]
        if not pairs:
            continue
        speed = [a.tests_per_s / b.tests_per_s for a, b in pairs]
        cpu = [a.cpu_ms_per_test / b.cpu_ms_per_test for a, b in pairs]
        out.append(
            f"  {name} / {first}: tests/s median {statistics.median(speed):.3f} ({min(speed):.3f} to {max(speed):.3f}), "
            f"CPU a test median {statistics.median(cpu):.3f} ({min(cpu):.3f} to {max(cpu):.3f}), {len(pairs)} pairs"
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m perf.paired", description=__doc__.split("\n\n")[0])
    p.add_argument("runners", nargs="+", help="'evalplus' or a source tree (the first is what ratios are taken against)")
    p.add_argument("--mode", default="isolated", choices=("isolated", "shared"))
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--perf-dir", default=os.path.normpath(_SHARED), help="where the yardstick's bench scripts are (default ../shared/perf)")
    p.add_argument("--workload", default=None, help="the jobs (default: nostall-800.jsonl in --perf-dir's workloads)")
    p.add_argument("--evalplus-python", default="/tmp/peers/bin/python", help="an interpreter with evalplus 0.3.1 installed")
    p.add_argument("--idle-s", type=float, default=2.0, help="seconds the machine is watched idle before each round")
    p.add_argument("--max-idle-busy", type=float, default=0.25, help="CPUs busy meanwhile that mark a round disturbed")
    args = p.parse_args(argv)
    if args.workload is None:
        args.workload = os.path.join(args.perf_dir, "workloads", "nostall-800.jsonl")
    runs: list[Run] = []
    for r in range(args.rounds):
        busy = _idle_busy(args.idle_s)
        disturbed = busy > args.max_idle_busy
        order = args.runners if r % 2 == 0 else args.runners[::-1]
        for name in order:
            run = run_once(name, r, args, disturbed)
            runs.append(run)
            print(
                f"round {r} {name:30s} {run.tests_per_s:8.1f} tests/s  {run.cpu_ms_per_test:6.3f} ms CPU a test  "
                f"steal {run.steal_s:4.1f} s  mismatches {run.mismatches}  load {os.getloadavg()[0]:.2f}"
                + (f"  DISTURBED ({busy:.2f} CPUs busy before the round)" if disturbed else ""),
                flush=True,
            )
    print("\n".join(_summary(runs, args.runners)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
