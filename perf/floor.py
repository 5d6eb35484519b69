"""The floor under any fork-based sandbox: a yardstick workload with no sandbox at all.

    python -m perf.floor ../shared/perf/workloads/nostall-800.jsonl
    python -m perf.floor W --mode test --python /usr/bin/python3.11 --json floor.json

A plain interpreter (``--python``, default the one the sandbox runs programs with: the
base interpreter of this one, the build evalplus runs on when it shares it; a virtual
environment's is refused, its start-up costs several times more) runs the workload in
the two shapes of the executor's modes and nothing else (``perf/floor_runner.py``): per
job one fork that loads the program and runs every test in it (``job``, shared mode's
shape), or one more fork per test (``test``, isolated mode's shape); ``--workers``
processes take jobs as they free up. No namespaces, limits, messages, scratch wipes or
judging outside the program: what remains is the fork, the exit and the programs' own
work, which any sandbox that forks per job or per test pays too. Run it beside the
yardstick's runners in one invocation; the gap between a mode's figure and its floor
is what the sandbox costs. Prints the yardstick's JSON fields (``tests_per_s``,
``binary_mismatch_vs_expected``, machine CPU) and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any, Sequence

from .sandbox import Load, is_venv_interpreter

__all__ = ["RUNNER", "main", "run_floor", "sandbox_python"]

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "floor_runner.py")


def sandbox_python() -> str:
    """The interpreter the sandbox runs programs with: this one's base (a virtual
    environment's own start-up is not the sandbox's). Another build of the same version
    can differ by 15% here (Debian's /usr/bin/python3.11 links libpython statically)."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def run_floor(path: str, *, mode: str = "job", workers: int = 2, timeout_s: float = 1.0, python: str | None = None) -> dict[str, Any]:
    """One floor run of the workload at ``path`` (``mode``: ``job`` or ``test``)."""
    if mode not in ("job", "test"):
        raise ValueError(f"mode must be 'job' or 'test', not {mode!r}")
    python = python or sandbox_python()
    if is_venv_interpreter(python):
        raise ValueError(f"{python} is a virtual environment's interpreter; name a plain one (its start-up costs several times more)")
    load_start = Load.now()
    proc = subprocess.run(
        [python, "-I", RUNNER, path, mode, str(workers), str(timeout_s)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"the floor runner failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    load_end = Load.now()
    result.update(load_start=list(load_start.averages), load_end=list(load_end.averages), cores=load_start.cores)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m perf.floor", description=__doc__.split("\n\n")[0])
    p.add_argument("workload", help="a yardstick JSONL workload (program, tests, expected per line)")
    p.add_argument("--mode", choices=("job", "test", "both"), default="both", help="fork per job, per test, or both (default)")
    p.add_argument("--workers", type=int, default=2, help="parallel workers (default 2)")
    p.add_argument("--timeout", type=float, default=1.0, help="seconds per test; a test's wall limit is 3x (default 1.0)")
    p.add_argument("--python", default=None, help=f"a plain interpreter (default the sandbox's, {sandbox_python()})")
    p.add_argument("--json", metavar="FILE", help="write the results here too")
    args = p.parse_args(argv)
    if args.workers <= 0:
        p.error("--workers must be positive")
    args.python = args.python or sandbox_python()
    if is_venv_interpreter(args.python):
        p.error(f"--python {args.python} is a virtual environment's interpreter; use a plain one")
    results = []
    for mode in ("job", "test") if args.mode == "both" else (args.mode,):
        result = run_floor(args.workload, mode=mode, workers=args.workers, timeout_s=args.timeout, python=args.python)
        results.append(result)
        print(json.dumps(result), flush=True)
    busy = [r for r in results if Load(tuple(r["load_start"]), r["cores"]).busy]  # type: ignore[arg-type]
    if busy:
        print(f"load average above {busy[0]['cores']} cores at the start: not an idle machine's figures", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
