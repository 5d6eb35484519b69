"""Speed of our EvalPlus scoring against the official ``evalplus`` package, on the 20 official runs.

    python -m perf.evalplus --data-dir DIR [--workers 2] [--evalplus-python PATH] [--skip-official | --skip-ours]

Both sides score every sample of every run (3,750 samples, base and plus inputs) with
the same parallelism, in two timed phases, each tool starting from an empty cache in a
temporary folder:

1. ground truth: the expected outputs of HumanEval+ and MBPP+ computed and cached
   (ours: ``prepare``; official: one ``evalplus.evaluate`` call per dataset on a
   one-sample file, which computes and pickles them);
2. the 20 runs, with those caches filled, as each tool scores a batch: ours with
   :func:`benchmarks.runner.evaluate` on one executor in one process (a program given
   more than once for a task runs once), the official CLI once per run.

"cold" is phase 1 + phase 2, "warm" phase 2 alone (both tools keep their cache between
invocations). The official side runs ``python -m evalplus.evaluate`` (evalplus 0.2.0:
light dependencies, Python 3.11, the result format of the January 2024 runs) with
``HUMANEVAL_OVERRIDE_PATH`` / ``MBPP_OVERRIDE_PATH`` pointing at the local v0.1.9 /
v0.1.0 files. Ours uses the matching ``2024-01-v0.2.0`` profile, and the script reports
how often the two agree. The load average is printed before and after; the speed-ups
are printed only if it never exceeded the core count.
"""

from __future__ import annotations

import argparse
import dataclasses
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

from acesandbox import Executor
from benchmarks import DataDirError, evaluate
from benchmarks.evalplus import (
    DATASETS,
    SANDBOX,
    HumanEvalPlus,
    MbppPlus,
    official_runs,
    read_official_results,
)
from benchmarks.io import read_samples
from benchmarks.verify import require_data_dir

from .sandbox import Load


def _runs(data_root: pathlib.Path) -> list[tuple[str, str, pathlib.Path]]:
    """(run, benchmark name, samples file) of every official run."""
    out = []
    for run, results, samples in official_runs(data_root / "evalplus_samples"):
        header, _ = read_official_results(results)
        kind, _file = DATASETS.get(str(header["hash"]), ("", ""))
        if kind and samples.exists():
            out.append((run, kind, samples))
    return out


def _benches(data_root: pathlib.Path, cache_dir: str, profile: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    benches = {"humaneval+": HumanEvalPlus(profile=profile, cache_dir=cache_dir),
               "mbpp+": MbppPlus(profile=profile, cache_dir=cache_dir)}
    files = {kind: data_root / file for kind, file in DATASETS.values()}
    problems = {kind: {p.task_id: p for p in benches[kind].load(str(files[kind]))} for kind in benches}
    return benches, problems


def ground_truth_ours(data_root: pathlib.Path, cache_dir: str, workers: int, profile: str) -> float:
    """Compute and cache both datasets' expected outputs; returns seconds."""
    started = time.perf_counter()
    benches, problems = _benches(data_root, cache_dir, profile)
    with Executor(dataclasses.replace(SANDBOX, workers=workers)) as ex:
        for kind, bench in benches.items():
            bench.prepare(list(problems[kind].values()), executor=ex)
    return time.perf_counter() - started


def score_ours(data_root: pathlib.Path, runs: Sequence[tuple[str, str, pathlib.Path]], cache_dir: str, workers: int,
               profile: str) -> tuple[float, dict[tuple[str, str, int], tuple[str, str]]]:
    """Score every sample of every run with :func:`benchmarks.runner.evaluate` on one executor.

    Returns (seconds, raw base/plus statuses by (run, task_id, index))."""
    started = time.perf_counter()
    benches, problems = _benches(data_root, cache_dir, profile)
    statuses: dict[tuple[str, str, int], tuple[str, str]] = {}
    with Executor(dataclasses.replace(SANDBOX, workers=workers)) as ex:
        for kind, bench in benches.items():
            keys: list[tuple[str, str, int]] = []
            samples: list[dict[str, Any]] = []
            for run, run_kind, samples_path in runs:
                if run_kind != kind:
                    continue
                counts: dict[str, int] = {}
                for s in read_samples(samples_path):
                    task_id = str(s["task_id"])
                    counts[task_id] = counts.get(task_id, 0) + 1
                    keys.append((run, task_id, counts[task_id] - 1))
                    samples.append(s)
            ev = evaluate(bench, list(problems[kind].values()), samples, executor=ex, canary=False)
            # evaluate keeps the samples' order (none names an unknown task here)
            for key, result in zip(keys, ev.results):
                raw = result.details.get("status", result.verdicts)
                statuses[key] = (raw["base"], raw["plus"])
    return time.perf_counter() - started, statuses


_OLD = {"success": "pass", "failed": "fail", "timed out": "timeout"}


def _official_env(data_root: pathlib.Path, work: pathlib.Path) -> dict[str, str]:
    env = dict(os.environ)
    env["HUMANEVAL_OVERRIDE_PATH"] = str(data_root / "humanevalplus" / "HumanEvalPlus-v0.1.9.jsonl.gz")
    env["MBPP_OVERRIDE_PATH"] = str(data_root / "mbppplus" / "MbppPlus-v0.1.0.jsonl.gz")
    env["XDG_CACHE_HOME"] = str(work / "cache")  # appdirs' user_cache_dir: the ground-truth cache
    (work / "cache" / "evalplus").mkdir(parents=True, exist_ok=True)  # evalplus writes into it, never creates it
    return env


def ground_truth_official(data_root: pathlib.Path, runs: Sequence[tuple[str, str, pathlib.Path]], python: str,
                          workers: int, work: pathlib.Path) -> float:
    """Seconds evalplus spends computing and caching both datasets' ground truth.

    Per dataset, ``evalplus.evaluate`` runs twice on a file with one do-nothing program per
    task: first with an empty cache, then with it filled; the difference is the ground
    truth's cost (each call also has evalplus's fixed overhead, about 20 s here)."""
    env = _official_env(data_root, work)
    spent = 0.0
    done: set[str] = set()
    for n, (_run, kind, samples) in enumerate(runs):
        if kind in done:
            continue
        done.add(kind)
        folder = work / f"gt{n}"
        folder.mkdir(parents=True)
        # evalplus wants every task: one program per task that defines nothing (fails at once)
        task_ids = dict.fromkeys(str(s["task_id"]) for s in read_samples(samples))
        text = "".join(json.dumps({"task_id": t, "solution": "pass\n"}) + "\n" for t in task_ids)
        dataset = "humaneval" if kind == "humaneval+" else "mbpp"
        took = []
        for attempt in ("cold", "warm"):
            target = folder / attempt / "samples.jsonl"
            target.parent.mkdir()
            target.write_text(text, encoding="utf-8")
            t0 = time.perf_counter()
            subprocess.run([python, "-m", "evalplus.evaluate", "--dataset", dataset, "--samples", str(target),
                            "--parallel", str(workers)], env=env, capture_output=True, text=True, check=True)
            took.append(time.perf_counter() - t0)
        spent += took[0] - took[1]
    return spent


def score_official(data_root: pathlib.Path, runs: Sequence[tuple[str, str, pathlib.Path]], python: str, workers: int,
                   work: pathlib.Path) -> tuple[float, dict[tuple[str, str, int], tuple[str, str]], list[str]]:
    """Run ``evalplus.evaluate`` on every run; returns (seconds, statuses, log lines)."""
    env = _official_env(data_root, work)
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
                               "--parallel", str(workers)], env=env, capture_output=True, text=True, check=False)
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


PROFILE = "2024-01-v0.2.0"
"""The judging profile of the evalplus release the official side runs."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf.evalplus", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("ACECODER_SHARED_DATA"),
                        help="shared data folder with the official runs (default: $ACECODER_SHARED_DATA)")
    parser.add_argument("--workers", type=int, default=2, help="parallel checks on both sides")
    parser.add_argument("--evalplus-python", default=os.environ.get("EVALPLUS_PYTHON", sys.executable),
                        help="interpreter that has evalplus 0.2.0 installed")
    parser.add_argument("--skip-official", action="store_true", help="time ours only")
    parser.add_argument("--skip-ours", action="store_true", help="time the official package only")
    parser.add_argument("--warm-only", metavar="CACHE_DIR", default=None,
                        help="time ours once, with the ground truth already cached in CACHE_DIR")
    args = parser.parse_args(argv)
    try:
        data_root = require_data_dir(args.data_dir)
    except DataDirError as exc:
        parser.error(f"{exc}; pass --data-dir")
    runs = _runs(data_root)
    n_samples = sum(len(read_samples(s)) for _, _, s in runs)
    print(f"{len(runs)} runs, {n_samples} samples, {args.workers} workers")
    load_start = Load.now()
    print(f"before: {load_start}")
    with tempfile.TemporaryDirectory(prefix="bench-evalplus-") as tmp:
        work = pathlib.Path(tmp)
        ours: dict[tuple[str, str, int], tuple[str, str]] = {}
        if args.warm_only:
            warm, _ = score_ours(data_root, runs, args.warm_only, args.workers, PROFILE)
            print(f"ours, 20 runs, ground truth cached: {warm:.1f} s", flush=True)
            return 0
        if not args.skip_ours:
            gt = ground_truth_ours(data_root, str(work / "ours-cache"), args.workers, PROFILE)
            print(f"ours, ground truth: {gt:.1f} s", flush=True)
            warm, ours = score_ours(data_root, runs, str(work / "ours-cache"), args.workers, PROFILE)
            print(f"ours, 20 runs, ground truth cached: {warm:.1f} s", flush=True)
        if args.skip_official:
            return 0
        official_gt = ground_truth_official(data_root, runs, args.evalplus_python, args.workers, work / "official")
        print(f"evalplus.evaluate, ground truth: {official_gt:.1f} s", flush=True)
        official_s, official, logs = score_official(data_root, runs, args.evalplus_python, args.workers, work / "official")
        for line in logs:
            print("  evalplus", line)
        print(f"evalplus.evaluate, 20 runs, ground truth cached: {official_s:.1f} s")
        if args.skip_ours:
            return 0
        load_end = Load.now()
        print(f"after: {load_end}")
        if load_start.busy or load_end.busy:
            print("the load average exceeded the core count: no speed-up is printed (rerun on an idle machine)")
        else:
            print(f"speed-up, warm (20 runs): {official_s / warm:.2f}x; cold (ground truth + 20 runs): "
                  f"{(official_gt + official_s) / (gt + warm):.2f}x; ground truth alone: {official_gt / gt:.2f}x")
        common = set(ours) & set(official)
        same = sum(1 for k in common if ours[k] == official[k])
        print(f"agreement with the package on this machine: {same}/{len(common)}")
        for k in sorted(common):
            if ours[k] != official[k]:
                print(f"  differs: {k} ours={ours[k]} evalplus={official[k]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
