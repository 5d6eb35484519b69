"""benchmarks.verify: rescoring disagreements alone, totals over runs."""

from __future__ import annotations

import pytest

from benchmarks.verify import Disagreement, RunAgreement, recheck, summarise, verify_all


class ScriptedExecutor:
    """Answers ``run(job)`` from a script of verdicts per job (a consumer-side fake)."""

    def __init__(self, script: dict[str, list[str]]) -> None:
        self.script = {k: list(v) for k, v in script.items()}
        self.calls: list[str] = []

    def run(self, job: str) -> str:
        self.calls.append(job)
        return self.script[job].pop(0)


def test_recheck_explains_only_jobs_that_agree_on_a_rescoring():
    executor = ScriptedExecutor({"flaky": ["fail", "pass"], "wrong": ["fail", "fail", "fail"], "steady": ["pass"]})
    jobs = ["flaky", "wrong", "steady"]
    explained = recheck(executor, jobs, lambda i, report: report == "pass", times=2)
    assert set(explained) == {0, 2}
    assert "attempt 2 of 2" in explained[0] and "attempt 1 of 2" in explained[2]
    assert "load-sensitive" in explained[0]
    # The never-agreeing job was tried exactly `times` times, then left unexplained.
    assert executor.calls.count("wrong") == 2


def test_recheck_runs_every_part_of_a_mapping_item():
    executor = ScriptedExecutor({"base": ["pass"], "plus": ["fail"]})
    seen = []

    def agrees(i, reports):
        seen.append(dict(reports))
        return reports == {"base": "pass", "plus": "fail"}

    explained = recheck(executor, [{"base": "base", "plus": "plus"}], agrees, times=1)
    assert list(explained) == [0] and "attempt 1 of 1" in explained[0]
    assert seen == [{"base": "pass", "plus": "fail"}]


def test_summarise_counts_explained_and_unexplained_apart():
    runs = [
        RunAgreement("x", "r1", 10, 8, 1, (Disagreement("t1", "pass", "fail", "timing"), Disagreement("t2", "fail", "pass"))),
        RunAgreement("x", "r2", 5, 5, 0, ()),
    ]
    totals = summarise(runs)
    assert totals == {"runs": 2, "compared": 15, "agreed": 13, "excluded": 1, "explained": 1, "unexplained": 1,
                      "rate": 13 / 15}
    assert runs[0].unexplained == (Disagreement("t2", "fail", "pass"),)


def test_verify_all_rejects_an_unknown_family(tmp_path):
    with pytest.raises(ValueError, match="unknown benchmark family 'nope'"):
        verify_all(tmp_path, executor=None, families=["nope"])


def test_verify_all_needs_an_existing_data_folder(tmp_path):
    from benchmarks.errors import BenchmarkError, DataDirError
    from benchmarks.verify import require_data_dir

    with pytest.raises(DataDirError, match="is not a folder") as info:
        verify_all(tmp_path / "absent", executor=None)
    assert isinstance(info.value, BenchmarkError)
    with pytest.raises(DataDirError, match="no shared data folder given"):
        require_data_dir(None)
    assert require_data_dir(str(tmp_path)) == tmp_path
