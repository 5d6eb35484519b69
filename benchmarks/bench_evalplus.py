"""Speed of our EvalPlus scoring against the official ``evalplus`` package, on the 20 official runs.

    python -m benchmarks.bench_evalplus [--data DIR] [--workers 2] [--evalplus-python PATH] [--skip-official]

Both sides score every sample of every run (3,750 samples, base and plus inputs) with
the same parallelism. Each starts with an empty ground-truth cache in a temporary
folder ("cold": expected outputs computed once per dataset, then reused by later runs);
ours is then timed again with its cache filled ("warm"). The official side runs
``python -m evalplus.evaluate`` (evalplus 0.2.0: light dependencies, Python 3.11, the
result format of the January 2024 runs) once per run with ``HUMANEVAL_OVERRIDE_PATH`` /
``MBPP_OVERRIDE_PATH`` pointing at the local v0.1.9 / v0.1.0 files. Ours uses the
matching ``2024-01-v0.2.0`` profile, and the script reports how often the two agree.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from .evalplus import HumanEvalPlus, MbppPlus, _DATASETS, _official_runs, _status_of, read_official_results
from .io import read_samples


def _runs(data_root: pathlib.Path) -> list[tuple[str, str, pathlib.Path]]:
    """(run, benchmark name, samples file) of every official run."""
    out = []
    for run, results, samples in _official_runs(data_root / "evalplus_samples"):
        header, _ = read_official_results(results)
        kind, _file = _DATASETS.get(str(header["hash"]), ("", ""))
        if kind and samples.exists():
            out.append((run, kind, samples))
    return out


def score_ours(data_root: pathlib.Path, runs: Sequence[tuple[str, str, pathlib.Path]], cache_dir: str, workers: int,
               profile: str) -> tuple[float, dict[tuple[str, str, int], tuple[str, str]]]:
    """Score every sample of every run on one executor; returns (seconds, statuses)."""
    from acesandbox import Executor

    started = time.perf_counter()
    benches = {"humaneval+": HumanEvalPlus(profile=profile, cache_dir=cache_dir),
               "mbpp+": MbppPlus(profile=profile, cache_dir=cache_dir)}
    files = {kind: data_root / file for file_kind in _DATASETS.values() for kind, file in [file_kind]}
    problems = {kind: {p.task_id: p for p in benches[kind].load(str(files[kind]))} for kind in benches}
    flat: list[tuple[tuple[str, str, int], str, Any]] = []
    with Executor(workers=workers) as ex:
        for kind, bench in benches.items():
            bench.prepare(list(problems[kind].values()), executor=ex)
        for run, kind, samples_path in runs:
            bench = benches[kind]
            counts: dict[str, int] = {}
            for s in read_samples(samples_path):
                task_id = str(s["task_id"])
                problem = problems[kind][task_id]
                index = counts.get(task_id, 0)
                counts[task_id] = index + 1
                for part, job in bench.jobs(problem, bench.solution(problem, s)).items():
                    flat.append(((run, task_id, index), part, job))
        reports: dict[tuple[str, str, int], dict[str, Any]] = {}
        for i, report in ex.imap((job for _, _, job in flat), total=len(flat)):
            key, part, _ = flat[i]
            reports.setdefault(key, {})[part] = report
    statuses = {k: (_status_of(r.get("base")), _status_of(r.get("plus"))) for k, r in reports.items()}
    return time.perf_counter() - started, statuses


_OLD = {"success": "pass", "failed": "fail", "timed out": "timeout"}


def score_official(data_root: pathlib.Path, runs: Sequence[tuple[str, str, pathlib.Path]], python: str, workers: int,
                   work: pathlib.Path) -> tuple[float, dict[tuple[str, str, int], tuple[str, str]], list[str]]:
    """Run ``evalplus.evaluate`` on every run with a fresh cache; returns (seconds, statuses, log lines)."""
    env = dict(os.environ)
    env["HUMANEVAL_OVERRIDE_PATH"] = str(data_root / "humanevalplus" / "HumanEvalPlus-v0.1.9.jsonl.gz")
    env["MBPP_OVERRIDE_PATH"] = str(data_root / "mbppplus" / "MbppPlus-v0.1.0.jsonl.gz")
    env["XDG_CACHE_HOME"] = str(work / "cache")  # appdirs' user_cache_dir: a cold ground-truth cache
    statuses: dict[tuple[str, str, int], tuple[str, str]] = {}
    logs: list[str] = []
    started = time.perf_counter()
    for n, (run, kind, samples) in enumerate(runs):
        target = work / f"run{n}" / "samples.jsonl"
        target.parent.mkdir(parents=True)
        shutil.copyfile(samples, target)
        dataset = "humaneval" if kind == "humaneval+" else "mbpp"
        t0 = time.perf_counter()
        proc = subprocess.run([python, "-m", "evalplus.evaluate", "--dataset", dataset, "--samples", str(target),
                               "--parallel", str(workers)], env=env, capture_output=True, text=True)
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "computed in" in ln or "Error" in ln]
        logs.append(f"{run}: {time.perf_counter() - t0:.1f} s {'; '.join(lines[-2:])}")
        result = target.with_name("samples_eval_results.json")
        if proc.returncode != 0 or not result.exists():
            logs.append(f"{run}: evalplus failed ({proc.returncode}): {proc.stderr[-500:]}")
            continue
        data = json.loads(result.read_text())
        for task_id, v in data["eval"].items():
            for i, (b, p) in enumerate(zip(v["base"], v["plus"])):
                statuses[(run, task_id, i)] = (_OLD.get(b[0], b[0]), _OLD.get(p[0], p[0]))
    return time.perf_counter() - started, statuses, logs


def main(argv: Sequence[str] | None = None) -> int:
    from .verify import default_data_root

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="shared data folder (default: ../shared/data)")
    parser.add_argument("--workers", type=int, default=2, help="parallel checks on both sides")
    parser.add_argument("--evalplus-python", default=os.environ.get("EVALPLUS_PYTHON", sys.executable),
                        help="interpreter that has evalplus 0.2.0 installed")
    parser.add_argument("--skip-official", action="store_true", help="time ours only")
    args = parser.parse_args(argv)
    data_root = pathlib.Path(args.data) if args.data else default_data_root()
    if data_root is None:
        parser.error("no shared data folder; pass --data")
    runs = _runs(data_root)
    n_samples = sum(len(read_samples(s)) for _, _, s in runs)
    print(f"{len(runs)} runs, {n_samples} samples, {args.workers} workers")
    with tempfile.TemporaryDirectory(prefix="bench-evalplus-") as tmp:
        work = pathlib.Path(tmp)
        cold, ours = score_ours(data_root, runs, str(work / "ours-cache"), args.workers, "2024-01-v0.2.0")
        print(f"ours, cold ground-truth cache: {cold:.1f} s")
        warm, _ = score_ours(data_root, runs, str(work / "ours-cache"), args.workers, "2024-01-v0.2.0")
        print(f"ours, warm ground-truth cache: {warm:.1f} s")
        if args.skip_official:
            return 0
        official_s, official, logs = score_official(data_root, runs, args.evalplus_python, args.workers, work / "official")
        for line in logs:
            print("  evalplus", line)
        print(f"evalplus.evaluate (0.2.0), cold cache then reused: {official_s:.1f} s")
        print(f"speed-up: {official_s / cold:.2f}x (cold), {official_s / warm:.2f}x (ours warm)")
        common = set(ours) & set(official)
        same = sum(1 for k in common if ours[k] == official[k])
        print(f"agreement with the package on this machine: {same}/{len(common)}")
        for k in sorted(common):
            if ours[k] != official[k]:
                print(f"  differs: {k} ours={ours[k]} evalplus={official[k]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
