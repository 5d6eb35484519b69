"""Fidelity: rescore the official EvalPlus runs and explain every difference (:mod:`benchmarks.verify`)."""

from __future__ import annotations

import pathlib
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from acesandbox import Job, Report

from ..base import Problem, longest_first
from ..margins import annotate
from ..verdicts import SANDBOX_ERROR
from ..verify import Disagreement, RunAgreement, recheck
from .checks import EvalPlusBase, HumanEvalPlus, MbppPlus, status_of
from .data import task_number
from .official import DATASETS, OfficialRow, official_runs, read_official_results, run_profile
from .releases import OBSERVED_FLAGS  # verify_runs applies it unless observed=False

__all__ = ["KNOWN_DIFFERENCES", "OBSERVED_FLAGS", "verify_runs"]

_TIMING = "timing-sensitive: a call close to its wall-time limit ({}); verdict depends on the machine's load"
KNOWN_DIFFERENCES: dict[tuple[str, str] | str, str] = {
    ("julien-pour/rd_gene_1_1samples", "HumanEval/139"): _TIMING.format("special_factorial on n~500, official plus=timeout"),
    ("llama3-exp/70B-instruct-middle-repeate-low/samples", "HumanEval/139"): _TIMING.format("special_factorial, big ints"),
    ("llama3-exp/8b-instruct-base/samples", "HumanEval/138"): _TIMING.format("plus took 2.7 s in all; passes when rerun"),
    ("llama3-exp/70-lit/samples", "HumanEval/83"): _TIMING.format("call 42 of plus runs ~1 s against a 1 s limit"),
    ("ytu-bitirme/mbpp_phi2_samples_fixed_entry_point", "Mbpp/287"): _TIMING.format("0.2 s per-call floor of Jan 2024"),
    ("ytu-bitirme/mbpp_phi2_samples_fixed_entry_point", "Mbpp/635"):
        "probably timing (0.2 s per-call floor of Jan 2024): official base=fail plus=pass is not reproducible here",
    ("ytu-bitirme/humaneval_phi2_samples", "HumanEval/147"):
        _TIMING.format("O(n^3) get_max_triples under the 0.2 s floor of Jan 2024; agreed in our first full run"),
    "HumanEval/139": _TIMING.format("special_factorial's slowest plus call uses 0.26 to 0.56 of its 1 s limit alone "
                                    "(timing margins of 2026-12-06): it fails on a machine loaded 2x"),
    "HumanEval/83": _TIMING.format("call 42 or 53 of plus uses 0.72 to 0.75 of its 1 s limit alone: within noise"),
    ("ytu-bitirme/mbpp_phi2_samples_fixed_entry_point", "Mbpp/271"):
        _TIMING.format("a plus call uses up to 0.46 of its 0.22 s limit alone (0.2 s floor of Jan 2024)"),
    ("ytu-bitirme/mbpp_phi2_samples_fixed_entry_point", "Mbpp/61"):
        _TIMING.format("O(n^3) count_Substrings under the 0.2 s floor of Jan 2024: plus stops at call 41 or 100 "
                       "when rescored alone, passed in one full run of 2026-12-06"),
    ("ytu-bitirme/mbpp_phi2_samples_fixed_entry_point", "Mbpp/599"):
        _TIMING.format("0.2 s per-call floor of Jan 2024; agreed in our first full run"),
}
"""``(run, task_id)`` or ``task_id`` -> why our verdict may differ from that official one.

Also explained, and modelled by :data:`OBSERVED_FLAGS` rather than listed: in every
2024-02 and 2024-05 official run no inexact float output ever passes (HumanEval/4 and
/21 fail at their first last-bit difference in all 14 runs, HumanEval/32 fails base),
although evalplus's own ``untrusted_check`` at 1135bda, v0.2.2, 8649c02, 5f4ebca and
de8c082 passes those very solutions here. The cause lies in those runs' environment."""


def _verdict_text(base: str, plus: str | None) -> str:
    return f"base={base} plus={plus}"




def _part_margins(timing: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The check that came closest to its limit, its margin labelled with the check's name."""
    if not timing:
        return None

    def closeness(t: Mapping[str, Any]) -> float:
        return 2.0 if t.get("timed_out") else float(t.get("ratio") or 0.0)

    part, tight = max(timing.items(), key=lambda kv: closeness(kv[1]))
    return {**tight, "check": part}


def _known_reason(run: str, task_id: str) -> str:
    """Why ``run``'s verdict on ``task_id`` may differ from ours ("" when not investigated)."""
    return KNOWN_DIFFERENCES.get((run, task_id)) or KNOWN_DIFFERENCES.get(task_id, "")


def verify_runs(data_root: pathlib.Path, executor: Any, *, limit: int | None = None, progress: bool = True,
                observed: bool = True) -> list[RunAgreement]:
    """Rescore the official EvalPlus runs under ``data_root/evalplus_samples`` and compare verdicts.

    Both checks are compared per sample (agreement = base and plus statuses both equal).
    Each run is judged with the profile of the evalplus version that made it
    (:func:`run_profile`). ``limit`` keeps the first N tasks of each run. A (task,
    solution, profile) shared by several runs is executed once.
    """
    from ..io import read_samples

    data_root = pathlib.Path(data_root)
    folder = data_root / "evalplus_samples"
    if not folder.is_dir():
        return []
    benches: dict[tuple[str, str], EvalPlusBase] = {}
    problems: dict[str, dict[str, Problem]] = {}
    plan: list[tuple[str, str, str, list[tuple[OfficialRow, str]], dict[str, str]]] = []
    unique: dict[tuple[str, str, str, str], int] = {}
    for run, results, samples_path in official_runs(folder):
        header, rows = read_official_results(results)
        kind, file = DATASETS.get(str(header["hash"]), ("", ""))
        if not kind or not (data_root / file).exists():
            continue
        profile = run_profile(header)
        key = (kind, profile)
        if key not in benches:
            flags = OBSERVED_FLAGS.get(profile, {}) if observed else {}
            benches[key] = (HumanEvalPlus if kind == "humaneval+" else MbppPlus)(profile=profile, judge_flags=flags)
        bench = benches[key]
        if kind not in problems:
            problems[kind] = {p.task_id: p for p in bench.load(str(data_root / file))}
        probs = problems[kind]
        by_task: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        if header["format"] == "old" or any(r.solution is None for r in rows):
            for s in read_samples(samples_path):
                by_task[str(s["task_id"])].append(s)
        keep = sorted({r.task_id for r in rows}, key=task_number)[: limit if limit is not None else None]
        keep_set = set(keep)
        todo: list[tuple[OfficialRow, str]] = []
        excluded: dict[str, str] = {}
        for row in rows:
            if row.task_id not in keep_set:
                continue
            problem = probs.get(row.task_id)
            if problem is None:
                excluded[row.task_id] = "not in the dataset file"
                continue
            if row.solution is not None:
                solution = row.solution
            else:
                samples = by_task.get(row.task_id, [])
                if row.index >= len(samples):
                    excluded[row.task_id] = "no sample for this result row"
                    continue
                solution = bench.solution(problem, samples[row.index])
            todo.append((row, solution))
            unique.setdefault((kind, profile, row.task_id, solution), len(unique))
        plan.append((run, kind, profile, todo, excluded))

    keys = list(unique)
    for (kind, profile), bench in benches.items():
        bench.prepare(list(problems[kind].values()), executor=executor, progress=progress)
    flat: list[tuple[int, str, Job]] = []
    for k, (kind, profile, task_id, solution) in enumerate(keys):
        bench = benches[(kind, profile)]
        for part, job in bench.jobs(problems[kind][task_id], solution).items():
            flat.append((k, part, job))
    reports: dict[int, dict[str, Report]] = defaultdict(dict)
    flat.sort(key=longest_first, reverse=True)  # longest first: no lone long job at the end
    for i, report in executor.imap((j for _, _, j in flat), ordered=False, progress=progress, total=len(flat)):
        k, part, _ = flat[i]
        reports[k][part] = report
    ours: dict[int, dict[str, str]] = {k: {p: status_of(r.get(p)) for p in ("base", "plus")} for k, r in reports.items()}

    # Unexplained differences are rescored alone before they count as unexplained.
    officials: dict[int, tuple[str, str | None]] = {}
    for run, kind, profile, todo, _excluded in plan:
        for row, solution in todo:
            k = unique[(kind, profile, row.task_id, solution)]
            st = ours[k]
            if (SANDBOX_ERROR not in st.values() and (st["base"], st["plus"]) != (row.base, row.plus)
                    and not _known_reason(run, row.task_id)):
                officials[k] = (row.base, row.plus)
    suspects = sorted(officials)
    parts: dict[int, dict[str, Job]] = defaultdict(dict)
    for k, part, job in flat:
        parts[k][part] = job

    def agrees(j: int, rescored: Mapping[str, Report]) -> bool:
        st = {p: status_of(rescored.get(p)) for p in ("base", "plus")}
        return (st["base"], st["plus"]) == officials[suspects[j]]

    rechecked = recheck(executor, [parts[k] for k in suspects], agrees)
    load_sensitive = {suspects[j]: why for j, why in rechecked.items()}
    # each check's tightest call (taken after the rescorings: a job's times are kept until read)
    timing = {k: benches[(kind, profile)].margins(problems[kind][task_id], reports[k])
              for k, (kind, profile, task_id, _solution) in enumerate(keys) if k in reports}

    out: list[RunAgreement] = []
    for run, kind, profile, todo, excluded in plan:
        disagreements: list[Disagreement] = []
        agreed = 0
        compared = 0
        errors = 0
        for row, solution in todo:
            k = unique[(kind, profile, row.task_id, solution)]
            st = ours[k]
            if SANDBOX_ERROR in st.values():
                errors += 1
                continue
            compared += 1
            if st["base"] == row.base and st["plus"] == row.plus:
                agreed += 1
                continue
            reason = _known_reason(run, row.task_id)
            if not reason and officials.get(k) == (row.base, row.plus):
                reason = load_sensitive.get(k, "")
            shown, reason = annotate(_verdict_text(st["base"], st["plus"]), reason, _part_margins(timing.get(k)))
            disagreements.append(Disagreement(row.task_id, _verdict_text(row.base, row.plus), shown, reason))
        notes = [f"profile {profile} (evalplus of the run's date and format)"]
        if excluded:
            notes.append(f"{len(excluded)} task(s) excluded: " + "; ".join(f"{t}: {w}" for t, w in list(excluded.items())[:5]))
        if errors:
            notes.append(f"{errors} sample(s) not judged (sandbox_error)")
        out.append(RunAgreement(kind, run, compared, agreed, len(excluded) + errors, tuple(disagreements), tuple(notes)))
    return out
