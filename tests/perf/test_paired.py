"""perf.paired: runners alternate, whole processes; ratios are taken pair by pair against the
first runner, over undisturbed rounds only (speed is measured by the script, never asserted here)."""

from __future__ import annotations

import pathlib

import pytest

from perf import paired
from perf.paired import Run, _summary

_FAKE_BENCH = """
import json, os, sys
speed = float(os.environ["PYTHONPATH"].rsplit("-", 1)[1])
print("progress line")
print(json.dumps({"tests_per_s": speed, "tests": 10, "binary_mismatch_vs_expected": 0}))
"""


def test_runs_alternate_and_every_runner_is_a_whole_process(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    perf_dir = tmp_path / "perf"
    perf_dir.mkdir()
    (perf_dir / "bench_acesandbox.py").write_text(_FAKE_BENCH)
    (tmp_path / "tree-200").mkdir()
    (tmp_path / "tree-100").mkdir()
    argv = [str(tmp_path / "tree-200"), str(tmp_path / "tree-100"), "--rounds", "2", "--perf-dir", str(perf_dir),
            "--workload", "unused.jsonl", "--idle-s", "0.05", "--max-idle-busy", "99"]  # fmt: skip
    assert paired.main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    rounds = [line.split()[2] for line in out if line.startswith("round ")]
    assert [pathlib.Path(r).name for r in rounds] == ["tree-200", "tree-100", "tree-100", "tree-200"]
    assert any("tree-100 / " in line and "median 0.500 (0.500 to 0.500)" in line and "2 pairs" in line for line in out)


def test_disturbed_rounds_are_left_out_of_the_ratios() -> None:
    runs = [
        Run("a", 0, 100.0, 2.0, 0.0, 0, False), Run("b", 0, 50.0, 4.0, 0.0, 0, False),
        Run("a", 1, 100.0, 2.0, 0.0, 0, True), Run("b", 1, 500.0, 0.4, 0.0, 0, True),
    ]  # fmt: skip
    lines = _summary(runs, ["a", "b"])
    assert any("b / a: tests/s median 0.500" in line and "1 pairs" in line for line in lines)


def test_machine_cpu_is_read_from_proc_stat() -> None:
    busy, steal = paired.machine_cpu_s()
    assert busy > 0.0 and steal >= 0.0
