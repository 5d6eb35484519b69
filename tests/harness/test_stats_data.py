"""Table 1 and the report; the bundled data is current."""

from __future__ import annotations

import math

from harness.config import StatsConfig
from harness.data import bundled_path
from harness.data.build import build
from harness.io import write_records
from harness.stats import collect, run_stats, table1


def test_table1_per_source_and_total(tmp_path):
    write_records(
        [
            {"id": "a", "source": "oss", "tests": ["t"] * 20},
            {"id": "b", "source": "evol", "tests": ["t"] * 18},
            {"id": "c", "source": "evol", "tests": ["t"] * 10},
        ],
        tmp_path / "synth.jsonl",
    )
    write_records(
        [
            {"id": "a", "source": "oss", "tests": ["t"] * 15, "num_tests_before": 20},
            {"id": "b", "source": "evol", "tests": ["t"] * 9, "num_tests_before": 18},
        ],
        tmp_path / "filter.jsonl",
    )
    write_records(
        [{"id": "a", "source": "oss", "inferences": [{"pass_rate": 1.0}, {"pass_rate": 0.5}]}],
        tmp_path / "sample.jsonl",
    )
    write_records([{"id": "a"}, {"id": "a"}, {"id": "a"}], tmp_path / "pairs.jsonl")
    table = table1(collect(StatsConfig(run_dir=str(tmp_path))))
    assert list(table.index) == ["evol", "oss", "total"]
    assert table.loc["oss", "avg_tests_before"] == 20 and table.loc["oss", "avg_tests_after"] == 15
    assert table.loc["evol", "questions_synthesized"] == 2 and table.loc["evol", "questions"] == 1
    assert table.loc["total", "pairs"] == 3 and table.loc["oss", "mean_pass_rate"] == 0.75
    assert math.isnan(table.loc["evol", "mean_pass_rate"])
    summary = run_stats(StatsConfig(run_dir=str(tmp_path), title="T <1>"))
    html = (tmp_path / "report.html").read_text()
    assert "<title>T &lt;1&gt;</title>" in html and html.count("base64,") == summary["plots"] == 4
    assert "| total |" in (tmp_path / "stats.md").read_text()


def test_stats_of_an_empty_run_still_renders(tmp_path):
    summary = run_stats(StatsConfig(run_dir=str(tmp_path)))
    assert (tmp_path / "report.html").exists() and summary["table"][-1]["source"] == "total"


def test_bundled_data_matches_its_builder(tmp_path):
    """A prompt template changed without rebuilding? Run: python -m harness.data.build"""
    build(tmp_path)
    for name in ("seeds.jsonl", "replay.jsonl"):
        assert (tmp_path / name).read_text() == bundled_path(name).read_text(), f"{name} is stale"

