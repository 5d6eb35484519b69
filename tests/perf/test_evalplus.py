"""perf.evalplus: the official runs it scores and its arguments (the timed comparison itself is run by hand)."""

from __future__ import annotations

import os
import pathlib
from collections import Counter

import pytest

from perf import evalplus as perf_evalplus

SHARED_DATA = pathlib.Path(
    os.environ.get("ACECODER_SHARED_DATA") or pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"
)


def test_the_data_folder_is_required(monkeypatch, capsys):
    monkeypatch.delenv("ACECODER_SHARED_DATA", raising=False)
    with pytest.raises(SystemExit) as exc:
        perf_evalplus.main(["--skip-official"])
    assert exc.value.code == 2
    assert "no shared data folder given; pass --data-dir" in capsys.readouterr().err


def test_the_twenty_official_runs_are_found_with_their_dataset():
    if not (SHARED_DATA / "evalplus_samples").is_dir():
        pytest.skip(f"no official EvalPlus runs under {SHARED_DATA} (set ACECODER_SHARED_DATA)")
    runs = perf_evalplus._runs(SHARED_DATA)
    assert len(runs) == 20 and len({run for run, _, _ in runs}) == 20
    assert set(Counter(kind for _, kind, _ in runs)) == {"humaneval+", "mbpp+"}
    assert all(samples.is_file() and samples.name.endswith(".jsonl") for _, _, samples in runs)
