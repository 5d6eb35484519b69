"""Speed of our EvalPlus scoring against the official ``evalplus`` package, on the 20 official runs.

    python -m perf.evalplus --data-dir DIR [--workers 2] [--evalplus-python PATH] [--run NAME ...] [--skip-official | --skip-ours]
    python -m perf.evalplus --data-dir DIR --ground-truth-only [--evalplus-python PATH]

Both sides score every sample of every run (3,750 samples, base and plus inputs; ``--run``
picks a subset) with the same parallelism, in two timed phases, each tool starting from an
empty cache in a temporary folder:

1. ground truth: the expected outputs of HumanEval+ and MBPP+ computed and cached, per
   dataset, one side after the other (ours: ``prepare``, i.e.
   :func:`benchmarks.evalplus.ground_truth`, on ``--workers`` sandboxes; official:
   ``evalplus.evaluate.get_groundtruth``, the function ``evalplus.evaluate`` calls, in the
   ``--evalplus-python`` interpreter, which runs the canonical solutions in one process and
   pickles their outputs);
2. the runs, with those caches filled, as each tool scores a batch: ours with
   :func:`benchmarks.runner.evaluate` on one executor in one process (a program given
   more than once for a task runs once), the official CLI once per run.

The ground-truth rows are printed beside the steady state (phase 2); ``--ground-truth-only``
times phase 1 alone. The official side reads the local HumanEval+ v0.1.9 / MBPP+ v0.1.0
files (``HUMANEVAL_OVERRIDE_PATH`` / ``MBPP_OVERRIDE_PATH``) and, in phase 2, runs
``python -m evalplus.evaluate`` once per run; its results file is read in either format
(0.2.0's or 0.3's, :func:`official_statuses`). Ours judges with the rules of the evalplus
release installed there (:func:`profile_for`: 0.2.0 or 0.3.1), and the script reports how
often the two agree. The load average is printed before and after; a ratio is printed
only if the load never exceeded the core count.
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
    RELEASES,
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


def ground_truth_ours(data_root: pathlib.Path, cache_dir: str, workers: int, profile: str,
                      kinds: Sequence[str] = ("humaneval+", "mbpp+")) -> dict[str, float]:
    """Compute and cache each dataset's expected outputs from an empty cache; seconds per dataset
    (sandbox start-up, the canonical runs and the cache file included)."""
    benches, problems = _benches(data_root, cache_dir, profile)
    spent: dict[str, float] = {}
    for kind in kinds:
        started = time.perf_counter()
        with Executor(dataclasses.replace(SANDBOX, workers=workers)) as ex:
            benches[kind].prepare(list(problems[kind].values()), executor=ex)
        spent[kind] = time.perf_counter() - started
    return spent


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
                statuses[key] = (str(getattr(raw["base"], "value", raw["base"])),
                                 str(getattr(raw["plus"], "value", raw["plus"])))
    return time.perf_counter() - started, statuses


def _official_env(data_root: pathlib.Path, work: pathlib.Path) -> dict[str, str]:
    env = dict(os.environ)
    env["HUMANEVAL_OVERRIDE_PATH"] = str(data_root / "humanevalplus" / "HumanEvalPlus-v0.1.9.jsonl.gz")
    env["MBPP_OVERRIDE_PATH"] = str(data_root / "mbppplus" / "MbppPlus-v0.1.0.jsonl.gz")
    env["XDG_CACHE_HOME"] = str(work / "cache")  # appdirs' user_cache_dir: the ground-truth cache
    (work / "cache" / "evalplus").mkdir(parents=True, exist_ok=True)  # evalplus writes into it, never creates it
    return env


_OFFICIAL_GT = """
import json, sys, time
from evalplus.data import get_human_eval_plus, get_human_eval_plus_hash, get_mbpp_plus, get_mbpp_plus_hash
from evalplus.evaluate import get_groundtruth
try:
    from evalplus.eval._special_oracle import MBPP_OUTPUT_NOT_NONE_TASKS
except ImportError:  # evalplus < 0.3
    from evalplus.eval import MBPP_OUTPUT_NOT_NONE_TASKS
if sys.argv[1] == "humaneval":
    problems, dataset_hash, not_none = get_human_eval_plus(), get_human_eval_plus_hash(), []
else:
    problems, dataset_hash, not_none = get_mbpp_plus(), get_mbpp_plus_hash(), MBPP_OUTPUT_NOT_NONE_TASKS
started = time.perf_counter()
get_groundtruth(problems, dataset_hash, not_none)
print(json.dumps({"seconds": time.perf_counter() - started, "tasks": len(problems)}))
"""
"""Run by the evalplus interpreter: ``evalplus.evaluate.get_groundtruth`` on one dataset, timed
around that call alone (loading the dataset file is not part of it, on either side)."""


def ground_truth_official(data_root: pathlib.Path, python: str, work: pathlib.Path,
                          kinds: Sequence[str] = ("humaneval+", "mbpp+")) -> dict[str, float]:
    """Seconds ``evalplus.evaluate.get_groundtruth`` spends per dataset, from an empty cache.

    Each dataset runs in a fresh interpreter; the cache (``XDG_CACHE_HOME`` under ``work``) is
    empty before and filled after, for :func:`score_official`."""
    spent: dict[str, float] = {}
    env = _official_env(data_root, work)
    for kind in kinds:
        dataset = "humaneval" if kind == "humaneval+" else "mbpp"
        proc = subprocess.run([python, "-c", _OFFICIAL_GT, dataset], env=env, capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"evalplus get_groundtruth failed on {dataset} ({proc.returncode}): {proc.stderr[-800:]}")
        spent[kind] = float(json.loads(proc.stdout.strip().splitlines()[-1])["seconds"])
    return spent


def ground_truth_rows(ours: dict[str, float], official: dict[str, float], busy: bool) -> list[str]:
    """The ground-truth table: per dataset and both, seconds on each side and the speed-up
    (official / ours; > 1: ours is faster), withheld when the machine was busy."""
    rows = []
    for kind in [*ours, "both"]:
        mine = sum(ours.values()) if kind == "both" else ours[kind]
        theirs = sum(official.values()) if kind == "both" else official[kind]
        ratio = "n/a (loaded)" if busy else f"{theirs / mine:.2f}x"
        rows.append(f"ground truth, {kind}, empty cache: ours {mine:.1f} s, evalplus get_groundtruth {theirs:.1f} s, "
                    f"speed-up {ratio}")
    return rows


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
        statuses.update(official_statuses(run, result))
    return time.perf_counter() - started, statuses, logs


def official_statuses(run: str, result: pathlib.Path) -> dict[tuple[str, str, int], tuple[str, str]]:
    """(base, plus) status by (run, task_id, index) from a results file ``evalplus.evaluate`` wrote,
    in either format: 0.2.0's (``{"base": [[status, ...]], "plus": ...}``, ``success``/``failed``)
    or 0.3's (``[{"base_status", "plus_status", ...}]``, ``pass``/``fail``/``timeout``)."""
    _header, rows = read_official_results(result)
    return {(run, r.task_id, r.index): (str(getattr(r.base, "value", r.base)), str(getattr(r.plus, "value", r.plus)))
            for r in rows}


def evalplus_version(python: str) -> str:
    """The evalplus release installed for ``python`` ("" when it has none)."""
    probe = "import importlib.metadata as m; print(m.version('evalplus'))"
    proc = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def profile_for(version: str) -> str:
    """Our judge profile with the rules of evalplus ``version`` (0.2.0, 0.3.1; others: ``latest``)."""
    release = RELEASES.get(version)
    return release.profile if release is not None else RELEASES["latest"].profile


def select_runs(runs: Sequence[tuple[str, str, pathlib.Path]], names: Sequence[str]) -> list[tuple[str, str, pathlib.Path]]:
    """The runs whose name contains one of ``names`` (all of them when ``names`` is empty)."""
    if not names:
        return list(runs)
    chosen = [r for r in runs if any(n in r[0] for n in names)]
    if not chosen:
        raise ValueError(f"no official run matches {', '.join(names)}; runs: {', '.join(r[0] for r in runs)}")
    return chosen




def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf.evalplus", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("ACECODER_SHARED_DATA"),
                        help="shared data folder with the official runs (default: $ACECODER_SHARED_DATA)")
    parser.add_argument("--workers", type=int, default=2, help="parallel checks on both sides")
    parser.add_argument("--evalplus-python", default=os.environ.get("EVALPLUS_PYTHON", sys.executable),
                        help="interpreter that has evalplus installed (0.2.0 for the 20 runs' format; "
                             "any release with evalplus.evaluate.get_groundtruth for --ground-truth-only)")
    parser.add_argument("--skip-official", action="store_true", help="time ours only")
    parser.add_argument("--skip-ours", action="store_true", help="time the official package only")
    parser.add_argument("--ground-truth-only", action="store_true",
                        help="time the ground truth alone, ours beside evalplus's get_groundtruth")
    parser.add_argument("--warm-only", metavar="CACHE_DIR", default=None,
                        help="time ours once, with the ground truth already cached in CACHE_DIR")
    parser.add_argument("--run", action="append", default=[], metavar="NAME",
                        help="score only the official runs whose name contains NAME (repeatable; default: all 20); "
                             "the ground truth rows still cover both datasets")
    args = parser.parse_args(argv)
    try:
        data_root = require_data_dir(args.data_dir)
    except DataDirError as exc:
        parser.error(f"{exc}; pass --data-dir")
    try:
        runs = select_runs(_runs(data_root), args.run)
    except ValueError as exc:
        parser.error(str(exc))
    n_samples = sum(len(read_samples(s)) for _, _, s in runs)
    version = "" if args.skip_official else evalplus_version(args.evalplus_python)
    if not args.skip_official and not version:
        parser.error(f"{args.evalplus_python} has no evalplus; pass --evalplus-python (or --skip-official)")
    profile = profile_for(version or "latest")
    what = f"{len(runs)} runs" if args.run else f"all {len(runs)} runs"
    print(f"{what}, {n_samples} samples, {args.workers} workers (evalplus's ground truth: one process); "
          f"evalplus {version or '(skipped)'} in {args.evalplus_python}, ours with its rules (profile {profile})")
    load_start = Load.now()
    print(f"before: {load_start}")
    with tempfile.TemporaryDirectory(prefix="bench-evalplus-") as tmp:
        work = pathlib.Path(tmp)
        ours: dict[tuple[str, str, int], tuple[str, str]] = {}
        if args.warm_only:
            warm, _ = score_ours(data_root, runs, args.warm_only, args.workers, profile)
            print(f"ours, {len(runs)} runs, ground truth cached: {warm:.1f} s", flush=True)
            return 0
        gt: dict[str, float] = {}
        official_gt: dict[str, float] = {}
        for kind in ("humaneval+", "mbpp+"):  # one dataset at a time, both sides: the load drifts less between them
            if not args.skip_ours:
                gt.update(ground_truth_ours(data_root, str(work / "ours-cache"), args.workers, profile, (kind,)))
                print(f"ours, ground truth, {kind}: {gt[kind]:.1f} s", flush=True)
            if not args.skip_official:
                official_gt.update(ground_truth_official(data_root, args.evalplus_python, work / "official", (kind,)))
                print(f"evalplus get_groundtruth, {kind}: {official_gt[kind]:.1f} s", flush=True)
        if args.ground_truth_only:
            load_end = Load.now()
            print(f"after: {load_end}")
            if gt and official_gt:
                for row in ground_truth_rows(gt, official_gt, load_start.busy or load_end.busy):
                    print(row)
                if load_start.busy or load_end.busy:
                    print("the load average exceeded the core count: no speed-up is printed (rerun on an idle machine)")
            return 0
        if not args.skip_ours:
            warm, ours = score_ours(data_root, runs, str(work / "ours-cache"), args.workers, profile)
            print(f"ours, {len(runs)} runs, ground truth cached: {warm:.1f} s", flush=True)
        if args.skip_official:
            return 0
        official_s, official, logs = score_official(data_root, runs, args.evalplus_python, args.workers, work / "official")
        for line in logs:
            print("  evalplus", line)
        print(f"evalplus.evaluate, {len(runs)} runs, ground truth cached: {official_s:.1f} s")
        if args.skip_ours:
            return 0
        load_end = Load.now()
        print(f"after: {load_end}")
        busy = load_start.busy or load_end.busy
        steady = "n/a (loaded)" if busy else f"{official_s / warm:.2f}x"
        print(f"steady state, {len(runs)} runs, ground truth cached: ours {warm:.1f} s, evalplus {official_s:.1f} s, "
              f"speed-up {steady}")
        for row in ground_truth_rows(gt, official_gt, busy):
            print(row)
        if busy:
            print("the load average exceeded the core count: no speed-up is printed (rerun on an idle machine)")
        else:
            total_ours, total_official = sum(gt.values()) + warm, sum(official_gt.values()) + official_s
            print(f"from empty caches (ground truth + {len(runs)} runs): ours {total_ours:.1f} s, evalplus "
                  f"{total_official:.1f} s, speed-up {total_official / total_ours:.2f}x")
        common = set(ours) & set(official)
        same = sum(1 for k in common if ours[k] == official[k])
        print(f"agreement with the package on this machine: {same}/{len(common)}")
        for k in sorted(common):
            if ours[k] != official[k]:
                print(f"  differs: {k} ours={ours[k]} evalplus={official[k]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
