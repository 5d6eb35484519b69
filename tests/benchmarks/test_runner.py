"""The shared runner: samples to verdicts, the canary, unknown tasks and sandbox errors kept apart."""

from __future__ import annotations

import gzip
import json

import pytest
from _bench_toy import Toy

from benchmarks.base import FAIL, PASS, SANDBOX_ERROR, BenchmarkError, BenchmarkNotFoundError, get_benchmark
from benchmarks.io import read_records, read_samples
from benchmarks.runner import evaluate

GOOD_ADD = "def add(a, b):\n    return a + b\n"
BAD_ADD = "def add(a, b):\n    return a - b\n"


def test_samples_become_verdicts_with_canary(bench_executor):
    bench = Toy()
    problems = bench.load()
    samples = [
        {"task_id": "Toy/0", "solution": GOOD_ADD},
        {"task_id": "Toy/0", "solution": BAD_ADD},
        {"task_id": "Toy/0", "solution": "```python\n" + GOOD_ADD + "```\nThis adds."},
        {"task_id": "Toy/1", "completion": "    return -x\n"},
        {"task_id": "Toy/9", "solution": GOOD_ADD},
    ]
    ev = evaluate(bench, problems, samples, executor=bench_executor)
    assert [(r.task_id, r.index, r.verdicts["pass"]) for r in ev.results] == [
        ("Toy/0", 0, PASS), ("Toy/0", 1, FAIL), ("Toy/0", 2, PASS), ("Toy/1", 0, PASS)
    ]
    assert ev.canary is not None and ev.canary.ok and ev.canary.total == 2
    assert any("Toy/9" in w for w in ev.warnings), ev.warnings
    table = ev.pass_at_k([1])
    assert table.loc["pass", "pass@1"] == pytest.approx((2 / 3 + 1) / 2)


def test_identical_programs_run_once_and_every_copy_gets_verdicts(bench_executor):
    bench = Toy()
    problems = bench.load()
    samples = [
        {"task_id": "Toy/0", "solution": GOOD_ADD},
        {"task_id": "Toy/0", "solution": BAD_ADD},
        {"task_id": "Toy/0", "solution": GOOD_ADD},
        {"task_id": "Toy/0", "solution": "```python\n" + GOOD_ADD + "```"},  # the same program once extracted
    ]
    ev = evaluate(bench, problems, samples, executor=bench_executor, canary=False)
    assert [(r.index, r.verdicts["pass"]) for r in ev.results] == [(0, PASS), (1, FAIL), (2, PASS), (3, PASS)]
    assert ev.meta["duplicates"] == 2
    assert ev.results[2].reports["pass"] is ev.results[0].reports["pass"]
    plain = evaluate(bench, problems, samples, executor=bench_executor, canary=False, dedupe=False)
    assert plain.meta["duplicates"] == 0
    assert [r.verdicts for r in plain.results] == [r.verdicts for r in ev.results]
    assert plain.results[2].reports["pass"] is not plain.results[0].reports["pass"]


def test_tasks_without_samples_are_warned_about(bench_executor):
    """pass@k over the sampled tasks only must not read as the benchmark's score (EvalPlus refuses it)."""
    bench = Toy()
    problems = bench.load()
    ev = evaluate(bench, problems, [{"task_id": "Toy/1", "solution": "def neg(x):\n    return -x\n"}],
                  executor=bench_executor, canary=False)
    assert ev.pass_at_k([1]).loc["pass", "pass@1"] == 1.0  # over Toy/1 only
    assert ev.meta["tasks_without_samples"] == 1
    assert any("1 of 2 task(s)" in w and "'Toy/0'" in w for w in ev.warnings), ev.warnings
    full = evaluate(bench, problems, [{"task_id": p.task_id, "solution": p.canonical_solution} for p in problems],
                    executor=bench_executor, canary=False)
    assert full.meta["tasks_without_samples"] == 0
    assert not any("have no sample" in w for w in full.warnings)


def test_broken_canonical_solution_is_reported(bench_executor):
    bench = Toy()
    problems = bench.load()
    from dataclasses import replace

    problems[1] = replace(problems[1], canonical_solution="def neg(x):\n    return x\n")
    ev = evaluate(bench, problems, [], executor=bench_executor)
    assert ev.canary is not None and not ev.canary.ok
    assert ev.canary.failures[0][0] == "Toy/1"
    assert any("canary" in w and "Toy/1" in w for w in ev.warnings)


def test_sandbox_errors_are_kept_apart():
    bench = Toy()
    problems = bench.load()

    class Broken:
        """An executor whose sandbox fails for every job: a report of sandbox_error outcomes."""

        def imap(self, jobs, **kw):
            from acesandbox.executor import sandbox_error_report

            for i, job in enumerate(jobs):
                yield i, sandbox_error_report(job, "broken", "the sandbox died")

    ev = evaluate(bench, problems, [{"task_id": "Toy/0", "solution": GOOD_ADD}], executor=Broken(), canary=False)
    assert ev.results[0].verdicts["pass"] == SANDBOX_ERROR
    assert ev.results[0].passed("pass") is None
    assert ev.sandbox_errors == 1
    assert any("sandbox_error" in w for w in ev.warnings)


def test_unknown_benchmark_names_the_known_ones():
    with pytest.raises(BenchmarkNotFoundError, match="humaneval"):
        get_benchmark("humaneval-typo")


def test_read_samples_names_the_bad_line(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"task_id": "A", "solution": "x"}\n{not json}\n')
    with pytest.raises(BenchmarkError, match="line 2"):
        read_samples(path)
    path.write_text('{"task_id": "A", "solution": "x"}\n{"solution": "y"}\n')
    with pytest.raises(BenchmarkError, match="line 2: missing field 'task_id'"):
        read_samples(path)
    path.write_text('{"task_id": "A", "answer": "x"}\n')
    with pytest.raises(BenchmarkError, match="'solution' or a 'completion'"):
        read_samples(path)
    path.write_text('{"task_id": "A", "solution": 3}\n')
    with pytest.raises(BenchmarkError, match="must be a string"):
        read_samples(path)


def test_read_records_in_every_local_format(tmp_path):
    rows = [{"task_id": "A", "x": 1}, {"task_id": "B", "x": 2}]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with gzip.open(tmp_path / "d.jsonl.gz", "wt") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "d.json").write_text(json.dumps(rows))
    import pandas as pd

    pd.DataFrame(rows).to_parquet(tmp_path / "d.parquet")
    for name in ("d.jsonl", "d.jsonl.gz", "d.json", "d.parquet"):
        got = read_records(tmp_path / name)
        assert [(r["task_id"], r["x"]) for r in got] == [("A", 1), ("B", 2)], name
    with pytest.raises(BenchmarkError, match="not found"):
        read_records(tmp_path / "missing.jsonl")


def test_each_family_scores_in_one_sandbox_value():
    """A benchmark's sandbox is its family's SandboxConfig plus the run's backend, workers and interpreter."""
    from acesandbox import SandboxConfig
    from benchmarks import evalplus, livecodebench

    assert get_benchmark("humaneval+").sandbox_config() == evalplus.SANDBOX == SandboxConfig(memory_mb=4096, hash_seed=0)
    assert get_benchmark("mbpp").SANDBOX is evalplus.SANDBOX
    lcb = get_benchmark("livecodebench", memory_mb=2048)
    assert lcb.sandbox_config(backend="process", workers=2) == SandboxConfig(backend="process", workers=2, memory_mb=2048)
    assert livecodebench.SANDBOX.memory_mb == 4096
    assert get_benchmark("toy", python="/opt/py/bin/python").sandbox_config() == SandboxConfig(python="/opt/py/bin/python")
