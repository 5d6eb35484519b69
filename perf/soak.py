"""Reliability under load: thousands of jobs, a tenth of them hostile, at 2x CPU oversubscription.

    python -m perf.soak                       # 10,000 jobs, 10% hostile, workers = 2 x cores
    python -m perf.soak --jobs 500 --json soak.json

The hostile jobs are the conformance suite's hostile cases (``acesandbox.conformance``:
forged frames on inherited descriptors, 100,000-deep nesting, oversized results,
hash-colliding sets, huge ranges, Fractions and Decimals, 1,200-deep scratch chains,
fork bombs, output floods, kills, patched runtimes...), those that need no host-side
fixture and that the backend is isolated enough to run; the rest are real HumanEval
programs and their asserts, as ``perf.sandbox`` builds them. Everything goes through
one :class:`acesandbox.Executor`, unordered. Checks, each ``ok`` or not in the summary:

- ``nothing_lost``: every job gets exactly one report, with one outcome per test;
- ``no_sandbox_error``: no outcome is ``sandbox_error``;
- ``hostile_as_expected``: each hostile job ends in a status its case accepts (and
  passes the case's own ``verify``);
- ``nothing_left_behind``: after the executor is closed no process it started is alive
  (every descendant seen while it ran is tracked), this process has no new children, the
  mount table is unchanged (dockerd's mounts aside, unless the backend is docker) and no
  cgroup the soak's sandboxes made is left under the toolkit's cgroup parents (the
  host's judge processes, a pool shared by every executor of the process, are listed
  apart: they end at exit);
- ``rss_flat``: this (the host) process's RSS, sampled every ``--rss-every`` jobs, grows
  by at most ``--rss-growth-mib`` from the end of the warm-up (the first 10%) to the end;
- ``same_verdicts_alone``: every hostile case once, plus a random ``--alone-fraction`` of
  the HumanEval jobs, re-run one at a time on a fresh single-sandbox executor, give the
  same per-test statuses as in the soak (each hostile case against all its soak copies).

Prints a table and a JSON summary (``--json FILE`` keeps it); exits 1 when a check fails.
Uses only the public API of ``acesandbox`` and ``acesandbox.conformance``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import AbstractSet, Any, Mapping, Sequence

import psutil  # type: ignore[import-untyped]

from acesandbox import Job, Limits, Report, Status
from acesandbox.conformance import CASES, Case, applicable, capabilities, conformance_executor

from .sandbox import Load, build_workload, format_table, load_problems

__all__ = [
    "SoakJob",
    "build_jobs",
    "compare_verdicts",
    "hostile_cases",
    "main",
    "rss_trend",
    "run_soak",
]

HUMANEVAL_LIMITS = Limits(timeout_s=1.0)
"""Per-test limits of the HumanEval jobs (``perf.sandbox``'s)."""

CHECKS = ("nothing_lost", "no_sandbox_error", "hostile_as_expected", "nothing_left_behind", "rss_flat", "same_verdicts_alone")
"""The checks every summary carries, in the order printed."""


@dataclass(frozen=True)
class SoakJob:
    """One job of the soak: a HumanEval program or a hostile conformance case."""

    index: int
    kind: str  # "humaneval" or "hostile"
    name: str  # the HumanEval job id, or the case name
    job: Job
    case: Case | None = None


# ------------------------------------------------------------------ workload


def hostile_cases(backend: str) -> list[Case]:
    """The hostile cases ``backend`` can run with no host-side fixture, in suite order."""
    return [c for c in CASES if c.hostile and c.host is None and applicable(c, backend)]


def _case_job(case: Case, index: int) -> Job:
    return Job(
        program=case.program,
        tests=case.tests,
        limits=case.limits,
        mode=case.mode,  # type: ignore[arg-type]
        compare=case.compare,  # type: ignore[arg-type]
        stop_on_failure=case.stop_on_failure,
        job_id=f"soak:{index}:{case.name}",
    )


def build_jobs(n_jobs: int, hostile_fraction: float, *, backend: str, seed: int = 0, mode: str = "isolated") -> list[SoakJob]:
    """``n_jobs`` jobs, ``round(n_jobs * hostile_fraction)`` of them hostile, shuffled by ``seed``.

    Hostile jobs cycle through :func:`hostile_cases` (each case as often as the others,
    within one); the rest are ``perf.sandbox``'s HumanEval workload without looping
    variants (correct, wrong, raising), in ``mode``.
    """
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be positive, got {n_jobs}")
    if not 0.0 <= hostile_fraction <= 1.0:
        raise ValueError(f"hostile_fraction must be in [0, 1], got {hostile_fraction}")
    n_hostile = round(n_jobs * hostile_fraction)
    rng = random.Random(seed)
    cases = hostile_cases(backend)
    if n_hostile and not cases:
        raise ValueError(f"backend {backend!r} can run no hostile case")
    kinds = ["hostile"] * n_hostile + ["humaneval"] * (n_jobs - n_hostile)
    rng.shuffle(kinds)
    order = list(range(len(cases)))
    rng.shuffle(order)
    he_jobs: Sequence[Any] = ()
    if n_jobs - n_hostile:
        problems, skipped = load_problems()
        he_jobs = build_workload(problems, n_jobs - n_hostile, seed=seed, loops=False, skipped=skipped).jobs
    jobs: list[SoakJob] = []
    h = e = 0
    for i, kind in enumerate(kinds):
        if kind == "hostile":
            case = cases[order[h % len(cases)]]
            h += 1
            jobs.append(SoakJob(i, kind, case.name, _case_job(case, i), case))
        else:
            b = he_jobs[e]
            e += 1
            job = Job(program=b.program, tests=b.tests, limits=HUMANEVAL_LIMITS, mode=mode, job_id=f"soak:{i}:{b.job_id}")  # type: ignore[arg-type]
            jobs.append(SoakJob(i, kind, f"{b.job_id}:{b.mutation}", job))
    return jobs


# ------------------------------------------------------------ observations


def _statuses(report: Report) -> list[str]:
    return [o.status.value for o in report.outcomes]


def _accepts(expect: Any, status: Status) -> bool:
    return status is expect if isinstance(expect, Status) else status in expect


def _case_problems(case: Case, report: Report) -> list[str]:
    """What a hostile job's report breaks of its case's expectations (empty: none)."""
    if len(report.outcomes) != len(case.expect):
        return [f"{len(report.outcomes)} outcomes for {len(case.expect)} tests"]
    problems = [
        f"test {i}: got {o.status.value} ({o.message[:160]!r})"
        for i, (o, e) in enumerate(zip(report.outcomes, case.expect))
        if not _accepts(e, o.status)
    ]
    if case.verify is not None:
        try:
            problems += case.verify(report, report.duration_s, {"limits": case.limits})
        except Exception as exc:  # noqa: BLE001 - a verify that breaks is a finding, not a crash
            problems.append(f"verify raised {type(exc).__name__}: {exc}")
    return problems


_JUDGE_MARK = "acesandbox._judge_worker"
"""In the command line of the host's judge processes (and their bwrap): a pool shared by
every executor of the process, reused across executors and killed at exit, so it outlives
``Executor.close`` by design; bounded by the threads that judge at once."""


class _Descendants:
    """Every process descended from this one, sampled every ``interval_s`` on a thread."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.seen: dict[tuple[int, float], str] = {}
        self._me = psutil.Process()
        # Processes alive before the soak (a shared executor's sandboxes...) are not its own.
        self.before = {k for k, _ in self._walk()}
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _walk(self) -> list[tuple[tuple[int, float], psutil.Process]]:
        try:
            children = self._me.children(recursive=True)
        except psutil.Error:
            return []
        out = []
        for p in children:
            try:
                out.append(((p.pid, p.create_time()), p))
            except psutil.Error:
                continue
        return out

    def sample(self) -> None:
        for key, p in self._walk():
            if key not in self.seen and key not in self.before:
                try:
                    self.seen[key] = p.name()
                except psutil.Error:
                    continue

    def children(self) -> list[dict[str, Any]]:
        """This process's children now, those alive before the soak left out."""
        out = []
        for key, p in self._walk():
            if key in self.before:
                continue
            try:
                cmdline = " ".join(p.cmdline())
                out.append({"pid": p.pid, "name": p.name(), "cmdline": cmdline[:200], "judge": _JUDGE_MARK in cmdline})
            except psutil.Error:
                continue
        return out

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.sample()

    def __enter__(self) -> "_Descendants":
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def alive(self) -> list[dict[str, Any]]:
        """Tracked processes still alive (same pid and start time)."""
        out = []
        for (pid, created), name in self.seen.items():
            try:
                p = psutil.Process(pid)
                if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                    cmdline = " ".join(p.cmdline())
                    out.append({"pid": pid, "name": name, "cmdline": cmdline[:200], "judge": _JUDGE_MARK in cmdline})
            except psutil.Error:
                continue
        return out


_DOCKER_MOUNTS = ("/var/lib/docker/", "/run/docker/")
"""Where dockerd mounts its containers' filesystems and network namespaces: in a mount
namespace shared with the host, other users' containers come and go there."""


def _mounts(backend: str) -> set[str]:
    """This mount namespace's mounts (root, mount point, type and source), dockerd's left out
    unless the soak runs the docker backend."""
    with open("/proc/self/mountinfo") as f:
        mounts = {" ".join(line.split()[3:5]) + " " + line.split(" - ")[-1].strip() for line in f}
    if backend == "docker":
        return mounts
    return {m for m in mounts if not m.split()[1].startswith(_DOCKER_MOUNTS)}


def _cgroup_parents() -> list[str]:
    """Where the toolkit makes this process's per-sandbox cgroups (v1 memory/pids, v2 unified)."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    parents = []
    for line in lines:
        hid, ctrls, path = line.split(":", 2)
        if hid == "0" and ctrls == "":
            parents.append(os.path.join("/sys/fs/cgroup", path.lstrip("/")))
        for c in ("memory", "pids"):
            if c in ctrls.split(","):
                parents.append(os.path.join("/sys/fs/cgroup", c, path.lstrip("/")))
    return [p for p in parents if os.path.isdir(p)]


def _our_cgroups() -> list[str]:
    prefix = f"acesandbox-{os.getpid()}-"
    out = []
    for parent in _cgroup_parents():
        try:
            out += [os.path.join(parent, n) for n in os.listdir(parent) if n.startswith(prefix)]
        except OSError:
            continue
    return sorted(out)


def _rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


def rss_trend(samples: Sequence[tuple[int, float]], warmup_fraction: float = 0.1) -> dict[str, Any]:
    """First, last, max RSS (MiB), the growth after warm-up and the least-squares slope (MiB per 1,000 jobs)."""
    if not samples:
        return {"samples": 0}
    total = samples[-1][0]
    steady = [s for s in samples if s[0] >= warmup_fraction * total] or list(samples)
    n = len(steady)
    mx = sum(x for x, _ in steady) / n
    my = sum(y for _, y in steady) / n
    var = sum((x - mx) ** 2 for x, _ in steady)
    slope = sum((x - mx) * (y - my) for x, y in steady) / var * 1000 if var else 0.0
    return {
        "samples": len(samples),
        "first_mib": round(samples[0][1], 1),
        "after_warmup_mib": round(steady[0][1], 1),
        "last_mib": round(samples[-1][1], 1),
        "max_mib": round(max(y for _, y in samples), 1),
        "growth_after_warmup_mib": round(samples[-1][1] - steady[0][1], 1),
        "slope_mib_per_1000_jobs": round(slope, 3),
    }


def compare_verdicts(
    soak: Mapping[int, Sequence[str]],
    alone: Mapping[int, Sequence[str]],
    groups: Mapping[int, Sequence[int]],
    names: Mapping[int, str],
    host_dependent: Mapping[int, Sequence[AbstractSet[str] | None]] | None = None,
) -> list[dict[str, Any]]:
    """Jobs whose soak statuses differ from their re-run alone.

    ``alone`` maps each re-run job's index to its statuses alone; ``groups`` maps it to
    the soak indices it stands for (a hostile case's every copy; a HumanEval job itself).
    ``host_dependent`` gives, per re-run job and test, the set of statuses its case
    declares host-dependent (None: exact); a difference inside that set is marked
    ``host_dependent: true``, every other one ``false``.
    """
    diffs = []
    for i, statuses in alone.items():
        sets = (host_dependent or {}).get(i) or [None] * len(statuses)
        for j in groups.get(i, (i,)):
            got = list(soak.get(j, ()))
            if got == list(statuses):
                continue
            tolerated = len(got) == len(statuses) == len(sets) and all(
                a == b or (s is not None and a in s and b in s) for a, b, s in zip(got, statuses, sets)
            )
            diffs.append({"index": j, "name": names.get(j, "?"), "soak": got, "alone": list(statuses), "host_dependent": tolerated})
    return diffs


# ----------------------------------------------------------------------- run


@dataclass
class _Seen:
    """What the soak keeps of its reports (only this: keeping them would grow the RSS it watches)."""

    statuses: dict[int, list[tuple[str, ...]]]
    sandbox_errors: list[dict[str, Any]]
    hostile_problems: dict[str, list[str]]
    rss: list[tuple[int, float]]
    wall_s: float = 0.0
    isolation: set[str] = field(default_factory=set)
    cgroups_seen: set[str] = field(default_factory=set)


def _run_all(jobs: Sequence[SoakJob], backend: str, workers: int, rss_every: int, log: Any) -> _Seen:
    seen = _Seen({}, [], {}, [(0, _rss_mib())])
    t0 = time.perf_counter()
    with conformance_executor(backend, workers=workers) as ex:
        for done, (i, report) in enumerate(ex.imap((s.job for s in jobs), ordered=False), 1):
            seen.statuses.setdefault(i, []).append(tuple(_statuses(report)))
            seen.isolation.add(report.isolation)
            s = jobs[i] if 0 <= i < len(jobs) else None
            name = s.name if s is not None else "?"
            seen.sandbox_errors += [
                {"index": i, "name": name, "message": o.message[:300]} for o in report.outcomes if o.status is Status.SANDBOX_ERROR
            ]
            if s is not None and s.case is not None:
                problems = _case_problems(s.case, report)
                if problems:
                    seen.hostile_problems[f"{i}:{name}"] = problems
            del report
            if done % rss_every == 0 or done == len(jobs):
                seen.rss.append((done, _rss_mib()))
                seen.cgroups_seen.update(_our_cgroups())
            if done % max(1, len(jobs) // 20) == 0:
                log(f"  {done}/{len(jobs)} jobs, {time.perf_counter() - t0:.0f} s, rss {seen.rss[-1][1]:.1f} MiB, {Load.now()}")
    seen.wall_s = time.perf_counter() - t0
    return seen


def _run_alone(jobs: Sequence[SoakJob], backend: str) -> dict[int, Report]:
    out = {}
    with conformance_executor(backend, workers=1) as ex:
        for s in jobs:
            out[s.index] = ex.run(s.job)
    return out


def _left_behind(
    tracker: _Descendants, seen: _Seen, backend: str, mounts_before: set[str], cgroups_before: set[str], settle_s: float = 5.0
) -> dict[str, Any]:
    deadline = time.monotonic() + settle_s
    while True:
        tracker.sample()
        alive = [p for p in tracker.alive() if not p["judge"]]
        children = [c for c in tracker.children() if not c["judge"]]
        if (not alive and not children) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    judges = [c for c in tracker.children() if c["judge"]]
    after = _mounts(backend)
    return {
        "processes_before": len(tracker.before),
        "processes_tracked": len(tracker.seen),
        "bwrap_tracked": sum(1 for n in tracker.seen.values() if n == "bwrap"),
        "processes_alive": alive,
        "children": children,
        "judge_pool": judges,
        "mounts_added": sorted(after - mounts_before),
        "mounts_removed": sorted(mounts_before - after),
        "cgroup_parents": _cgroup_parents(),
        "cgroups_before": len(cgroups_before),
        "cgroups_seen": len(seen.cgroups_seen - cgroups_before),
        "isolation": sorted(seen.isolation),
        "cgroups_left": sorted(set(_our_cgroups()) - cgroups_before),
    }


def run_soak(
    n_jobs: int = 10_000,
    *,
    hostile_fraction: float = 0.1,
    workers: int | None = None,
    backend: str = "namespace",
    seed: int = 0,
    mode: str = "isolated",
    alone_fraction: float = 0.05,
    rss_every: int | None = None,
    rss_growth_mib: float = 32.0,
    log: Any = None,
) -> dict[str, Any]:
    """Run the soak and return its summary (``checks``: name -> ok; ``ok``: all of them)."""
    log = log or (lambda msg: None)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = workers or 2 * cores
    rss_every = rss_every or max(1, n_jobs // 100)
    jobs = build_jobs(n_jobs, hostile_fraction, backend=backend, seed=seed, mode=mode)
    names = {s.index: s.name for s in jobs}
    log(f"soak: {n_jobs} jobs ({sum(s.kind == 'hostile' for s in jobs)} hostile), {workers} workers, {backend}; {Load.now()}")
    load_start = Load.now()
    mounts_before = _mounts(backend)
    cgroups_before = set(_our_cgroups())  # an earlier executor's (still open, or never closed): not the soak's
    with _Descendants(interval_s=0.2) as tracker:
        seen = _run_all(jobs, backend, workers, rss_every, log)
    left = _left_behind(tracker, seen, backend, mounts_before, cgroups_before)
    load_end = Load.now()

    wall, rss, sandbox_errors, hostile_problems = seen.wall_s, seen.rss, seen.sandbox_errors, seen.hostile_problems
    lost = [s.index for s in jobs if len(seen.statuses.get(s.index, ())) != 1]
    short = [s.index for s in jobs if s.index in seen.statuses and len(seen.statuses[s.index][0]) != len(s.job.tests)]
    extra = sorted(set(seen.statuses) - {s.index for s in jobs})

    # Re-run alone: each hostile case once (its first copy), plus a random share of the rest.
    rng = random.Random(seed + 1)
    groups: dict[int, list[int]] = {}
    rerun: list[SoakJob] = []
    by_case: dict[str, list[int]] = {}
    for s in jobs:
        if s.case is not None:
            by_case.setdefault(s.name, []).append(s.index)
    for indices in by_case.values():
        groups[indices[0]] = indices
        rerun.append(jobs[indices[0]])
    he = [s for s in jobs if s.case is None]
    for s in rng.sample(he, min(len(he), max(1, round(alone_fraction * len(he))))) if he else ():
        groups[s.index] = [s.index]
        rerun.append(s)
    log(f"re-running {len(rerun)} jobs alone (workers=1)")
    t1 = time.perf_counter()
    alone_reports = _run_alone(rerun, backend)
    alone_wall = time.perf_counter() - t1
    alone = {i: _statuses(r) for i, r in alone_reports.items()}
    soak_statuses = {i: list(st[0]) for i, st in seen.statuses.items()}
    host_dependent = {
        s.index: [None if isinstance(e, Status) else {x.value for x in e} for e in s.case.expect]
        for s in rerun
        if s.case is not None
    }
    diffs = compare_verdicts(soak_statuses, alone, groups, names, host_dependent)
    strict_diffs = [d for d in diffs if not d["host_dependent"]]
    alone_sandbox_errors = [i for i, r in alone_reports.items() if r.sandbox_error]

    trend = rss_trend(rss)
    checks = {
        "nothing_lost": not lost and not short and not extra,
        "no_sandbox_error": not sandbox_errors and not alone_sandbox_errors,
        "hostile_as_expected": not hostile_problems,
        "nothing_left_behind": not (
            left["processes_alive"]
            or left["children"]
            or left["mounts_added"]
            or left["cgroups_left"]
            or len(left["judge_pool"]) > 2 * workers  # bwrap + interpreter per judging thread
        ),
        "rss_flat": trend.get("growth_after_warmup_mib", 0.0) <= rss_growth_mib,
        "same_verdicts_alone": not strict_diffs,
    }
    kinds = Counter(s.kind for s in jobs)
    tests = sum(len(s.job.tests) for s in jobs)
    verdicts = Counter(v for st in soak_statuses.values() for v in st)
    return {
        "ok": all(checks.values()),
        "checks": checks,
        "jobs": n_jobs,
        "tests": tests,
        "kinds": dict(kinds),
        "hostile_cases": len(by_case),
        "backend": backend,
        "mode": mode,
        "workers": workers,
        "cores": cores,
        "seed": seed,
        "wall_s": round(wall, 1),
        "jobs_per_s": round(n_jobs / wall, 1) if wall else None,
        "tests_per_s": round(tests / wall, 1) if wall else None,
        "load_start": list(load_start.averages),
        "load_end": list(load_end.averages),
        "verdicts": dict(sorted(verdicts.items())),
        "lost": lost,
        "wrong_outcome_count": short,
        "unexpected_indices": extra,
        "sandbox_errors": sandbox_errors[:50],
        "sandbox_error_count": len(sandbox_errors),
        "alone_sandbox_errors": alone_sandbox_errors,
        "hostile_problems": dict(list(hostile_problems.items())[:50]),
        "hostile_problem_count": len(hostile_problems),
        "left_behind": left,
        "rss": {**trend, "every_jobs": rss_every, "limit_growth_mib": rss_growth_mib, "points": [list(p) for p in rss]},
        "alone": {
            "jobs": len(rerun),
            "hostile": len(by_case),
            "humaneval": len(rerun) - len(by_case),
            "soak_jobs_compared": sum(len(g) for g in groups.values()),
            "wall_s": round(alone_wall, 1),
            "mismatches": diffs[:100],
            "mismatch_count": len(strict_diffs),
            "host_dependent_count": len(diffs) - len(strict_diffs),
            "statuses": {str(i): st for i, st in alone.items()},
            "soak_statuses": {str(j): soak_statuses.get(j, []) for g in groups.values() for j in g},
            "groups": {str(i): g for i, g in groups.items()},
        },
        "capabilities": sorted(capabilities(backend)),
    }


# ----------------------------------------------------------------------- CLI


def format_summary(s: dict[str, Any]) -> str:
    """The human table: one row per check, then the figures behind them."""
    left = s["left_behind"]
    rss = s["rss"]
    detail = {
        "nothing_lost": f"{s['jobs'] - len(s['lost'])}/{s['jobs']} reports, {len(s['wrong_outcome_count'])} with a wrong outcome count",
        "no_sandbox_error": f"{s['sandbox_error_count']} in the soak, {len(s['alone_sandbox_errors'])} alone",
        "hostile_as_expected": f"{s['hostile_problem_count']} of {s['kinds'].get('hostile', 0)} hostile jobs off their case ({s['hostile_cases']} cases)",
        "nothing_left_behind": (
            f"{len(left['processes_alive'])} of {left['processes_tracked']} tracked processes alive "
            f"({left['bwrap_tracked']} bwrap), {len(left['children'])} children, {len(left['judge_pool'])} in the process-wide "
            f"judge pool, {len(left['mounts_added'])} mounts added, "
            f"{len(left['cgroups_left'])} of {left['cgroups_seen']} cgroups seen left ({len(left['cgroup_parents'])} parents checked)"
        ),
        "rss_flat": (
            f"first {rss.get('first_mib')} / after warm-up {rss.get('after_warmup_mib')} / last {rss.get('last_mib')} / "
            f"max {rss.get('max_mib')} MiB, slope {rss.get('slope_mib_per_1000_jobs')} MiB per 1,000 jobs"
        ),
        "same_verdicts_alone": (
            f"{s['alone']['mismatch_count']} of {s['alone']['soak_jobs_compared']} soak jobs differ from "
            f"{s['alone']['jobs']} re-run alone ({s['alone']['hostile']} hostile cases, {s['alone']['humaneval']} HumanEval); "
            f"{s['alone']['host_dependent_count']} more within statuses their case declares host-dependent"
        ),
    }
    rows = [(name, "ok" if s["checks"][name] else "FAILED", detail[name]) for name in CHECKS]
    head = (
        f"{s['jobs']} jobs ({s['kinds'].get('hostile', 0)} hostile), {s['tests']} tests, {s['workers']} workers on "
        f"{s['cores']} cores, {s['backend']}/{s['mode']}: {s['wall_s']} s ({s['jobs_per_s']} jobs/s, {s['tests_per_s']} tests/s); "
        f"load {s['load_start']} -> {s['load_end']}"
    )
    verdicts = ", ".join(f"{k} {v}" for k, v in s["verdicts"].items())
    return "\n".join([head, format_table(("check", "result", "figures"), rows), f"verdicts: {verdicts}"])


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m perf.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=10_000, help="jobs in all (default 10,000)")
    p.add_argument("--hostile-fraction", type=float, default=0.1, help="share of hostile jobs (default 0.1)")
    p.add_argument("--workers", type=int, default=None, help="sandboxes in parallel (default 2 x usable cores)")
    p.add_argument("--backend", default="namespace", help="sandbox backend (default namespace)")
    p.add_argument("--mode", default="isolated", choices=("isolated", "shared"), help="mode of the HumanEval jobs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--alone-fraction", type=float, default=0.05, help="share of HumanEval jobs re-run alone (default 0.05)")
    p.add_argument("--rss-every", type=int, default=None, help="sample RSS every N jobs (default jobs/100)")
    p.add_argument("--rss-growth-mib", type=float, default=32.0, help="allowed RSS growth after warm-up (default 32 MiB)")
    p.add_argument("--json", metavar="FILE", help="write the full summary here")
    return p


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    summary = run_soak(
        args.jobs,
        hostile_fraction=args.hostile_fraction,
        workers=args.workers,
        backend=args.backend,
        seed=args.seed,
        mode=args.mode,
        alone_fraction=args.alone_fraction,
        rss_every=args.rss_every,
        rss_growth_mib=args.rss_growth_mib,
        log=_log,
    )
    text = json.dumps(summary, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    brief = {k: v for k, v in summary.items() if k not in ("rss", "alone", "left_behind")}
    brief["rss"] = {k: v for k, v in summary["rss"].items() if k != "points"}
    brief["alone"] = {k: v for k, v in summary["alone"].items() if k not in ("statuses", "soak_statuses", "groups")}
    brief["left_behind"] = summary["left_behind"]
    print(json.dumps(brief))
    print(format_summary(summary))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
