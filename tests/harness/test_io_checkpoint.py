"""Records in and out, and the checkpoint that makes stages resumable."""

from __future__ import annotations

import json

import pytest

from harness.checkpoint import StageStore, stem_of
from harness.io import count_rows, read_records, read_rows, resolve_source, write_records

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
    assert rows[1].error and "JSON object" in rows[1].error
    assert rows[2].error and "invalid JSON" in rows[2].error
    with pytest.raises(ValueError, match="row 2"):
        read_records(path)


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
