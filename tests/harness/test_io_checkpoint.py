"""Records in and out, and the checkpoint that makes stages resumable."""

from __future__ import annotations

import json

import pytest

from harness.checkpoint import StageStore, stem_of
from harness.errors import DataError
from harness.io import count_rows, pick_split, read_records, read_rows, resolve_source, write_records

ROWS = [{"id": "a", "tests": ["assert f(1) == 1"], "n": 1}, {"id": "b", "tests": [], "n": 2}]


@pytest.mark.parametrize("name", ["rows.jsonl", "rows.parquet", "rows_dataset"])
def test_round_trip_through_every_format(tmp_path, name):
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    if name == "rows_dataset":
        pytest.importorskip("datasets")
    dest = tmp_path / name
    assert write_records(ROWS, dest) == 2
    assert read_records(dest) == ROWS
    assert [r.data["id"] for r in read_rows(dest, limit=1)] == ["a"]
    if name != "rows_dataset":
        assert count_rows(dest) == 2


def test_bad_lines_come_back_with_their_reason(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1}\n\n[1, 2]\n{oops\n{"id": 2}\n')
    rows = list(read_rows(path))
    assert [r.index for r in rows] == [0, 1, 2, 3]
    assert rows[1].error == "expected a JSON object, got list" and rows[1].line == 3
    assert rows[2].error.startswith("invalid JSON") and rows[2].where == f"{path}: line 4"
    with pytest.raises(DataError, match=r"in.jsonl: line 3: expected a JSON object, got list"):
        read_records(path)


def test_one_reader_for_every_local_format(tmp_path):
    import gzip

    rows = [{"id": "A", "x": 1}, {"id": "B", "x": 2}]
    lines = "".join(json.dumps(r) + "\n" for r in rows)
    (tmp_path / "d.jsonl").write_text(lines)
    with gzip.open(tmp_path / "d.jsonl.gz", "wt") as f:
        f.write(lines)
    (tmp_path / "d.json").write_text(json.dumps(rows))
    (tmp_path / "splits.json").write_text(json.dumps({"train": rows, "test": [{"id": "T"}]}))
    (tmp_path / "keyed.json").write_text(json.dumps({"A": {"x": 1}, "B": {"x": 2}}))
    (tmp_path / "lines.json").write_text(lines)  # JSON lines under a .json name
    for name in ("d.jsonl", "d.jsonl.gz", "d.json", "splits.json", "keyed.json", "lines.json"):
        assert read_records(tmp_path / name) == rows, name
    assert read_records(tmp_path / "splits.json", split="test") == [{"id": "T"}]
    assert read_records(tmp_path / "d.jsonl", line_field="_line") == [dict(r, _line=i + 1) for i, r in enumerate(rows)]
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "a.jsonl").write_text(json.dumps(rows[0]) + "\n")
    (folder / "b.json").write_text(json.dumps([rows[1]]))
    assert read_records(folder) == rows
    assert [r.index for r in read_rows(folder)] == [0, 1]


def test_reader_errors_name_the_source(tmp_path):
    with pytest.raises(DataError, match="missing.jsonl: dataset file not found"):
        read_records(tmp_path / "missing.jsonl")
    (tmp_path / "x.csv").write_text("id\n")
    with pytest.raises(DataError, match="x.csv: unknown format"):
        read_records(tmp_path / "x.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .jsonl, .json or .parquet files"):
        read_records(tmp_path / "empty")
    (tmp_path / "obj.json").write_text(json.dumps({"a": 1}))
    with pytest.raises(DataError, match="expected a list of records"):
        read_records(tmp_path / "obj.json")
    (tmp_path / "s.json").write_text(json.dumps({"train": [], "test": []}))
    with pytest.raises(DataError, match=r"no split 'dev'; it has \['test', 'train'\]"):
        read_records(tmp_path / "s.json", split="dev")


def test_one_split_rule():
    assert pick_split(["validation"], None, "d") == "validation"
    assert pick_split(["test", "train"], None, "d") == "train"
    assert pick_split(["test", "validation"], None, "d") == "test"
    assert pick_split(["test", "train"], "test", "d") == "test"
    with pytest.raises(DataError, match="none is 'train' or 'test'"):
        pick_split(["a", "b"], None, "d")


def test_hub_names_go_through_datasets_with_the_same_split_rule(monkeypatch):
    datasets = pytest.importorskip("datasets")
    calls = []

    def fake_load(name, config=None, split=None):
        calls.append((name, config, split))
        table = datasets.Dataset.from_list([{"id": "h1", "x": 1, "big": "y"}])
        return table if split else datasets.DatasetDict({"test": table})

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    assert read_records("org/name", columns=["id", "x"]) == [{"id": "h1", "x": 1}]
    assert read_records("hf:org/other", split="train", hub_config="full") == [{"id": "h1", "x": 1, "big": "y"}]
    assert calls == [("org/name", None, None), ("org/other", "full", "train")]


def test_bundled_sources_resolve():
    assert resolve_source("@bundled").endswith("seeds.jsonl")
    assert resolve_source("@bundled/replay.jsonl").endswith("replay.jsonl")
    assert resolve_source("x.jsonl") == "x.jsonl"


def test_store_resumes_repairs_torn_lines_and_distinguishes_retryable_rejects(tmp_path):
    out = tmp_path / "stage.jsonl"
    store = StageStore(out)
    store.write({"id": "a"})
    store.reject("bad", "no_code")
    store.reject("later", "sandbox_error", retry=True)
    store.close()
    with open(out, "a") as f:
        f.write('{"id": "torn')  # a hard kill in the middle of a write
    again = StageStore(out)
    assert again.done("a") and again.done("bad") and not again.done("later") and not again.done("torn")
    assert again.resumed == 2
    assert again.reject_counts() == {"no_code": 1, "sandbox_error": 1}
    again.write({"id": "later"})
    assert again.reject_counts() == {"no_code": 1}  # the retried item is done now
    again.finish({"ok": True})
    assert [r["id"] for r in read_records(out)] == ["a", "later"]
    assert json.loads((tmp_path / "stage.summary.json").read_text()) == {"ok": True}
    fresh = StageStore(out, fresh=True)
    assert not fresh.done("a") and fresh.resumed == 0
    fresh.close()


def test_non_jsonl_output_is_exported_from_the_checkpoint_when_complete(tmp_path):
    pytest.importorskip("pyarrow")
    out = tmp_path / "stage.parquet"
    store = StageStore(out)
    store.write({"id": "a", "x": 1})
    store.finish({}, complete=False)
    assert not out.exists() and (tmp_path / "stage.parquet.ckpt.jsonl").exists()
    store = StageStore(out)
    assert store.done("a")
    store.write({"id": "b", "x": 2})
    store.finish({})
    assert read_records(out) == [{"id": "a", "x": 1}, {"id": "b", "x": 2}]


def test_stem():
    assert stem_of("run/synth.jsonl") == "run/synth"
    assert stem_of("run/synth.parquet") == "run/synth"
    assert stem_of("run/ds/") == "run/ds"


def test_buffered_records_reach_the_file_on_close_even_without_a_flush(tmp_path):
    out = tmp_path / "stage.jsonl"
    store = StageStore(out, flush_s=3600.0)
    store.write({"id": "a"})
    store.write({"id": "b"})
    store.finish({"interrupted": True}, complete=False)  # what a stage does on Ctrl-C
    assert [r["id"] for r in read_records(out)] == ["a", "b"]


def test_lone_surrogates_are_written_and_read_back(tmp_path):
    """``"\\ud800"`` is a valid JSON escape (a model's output, a dataset row); writing it
    as UTF-8 raised UnicodeEncodeError and failed the whole stage. It round-trips now."""
    odd = "return 1  # \ud800 and \udfff"
    out = tmp_path / "stage.jsonl"
    store = StageStore(out)
    store.write({"id": "a", "completion": odd})
    store.reject("b", "no_code", detail=odd)
    store.write({"id": "c", "completion": "fine"})
    store.finish({})
    assert read_records(out) == [{"id": "a", "completion": odd}, {"id": "c", "completion": "fine"}]
    assert write_records([{"id": "a", "completion": odd}], tmp_path / "copy.jsonl") == 1
    assert read_records(tmp_path / "copy.jsonl") == [{"id": "a", "completion": odd}]
