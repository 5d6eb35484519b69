"""Preference pairs and the hard RL subset."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.config import HardConfig, PairsConfig
from harness.hard import hard_subset, question_stats, select_hard
from harness.io import read_records, write_records
from harness.pairs import build_pairs, make_pairs, program_key


def inf(code, rate, cid=0):
    return {"model_name": "m", "completion_id": cid, "completion": f"```python\n{code}\n```", "pass_rate": rate}


def rec(ident, rates, **extra):
    return {
        "id": ident,
        "source": "oss",
        "question": f"Q{ident}",
        "test_cases": [],
        "inferences": [inf(f"x = {i}", r, i) for i, r in enumerate(rates)],
        "context_messages": [{"role": "user", "content": f"prompt {ident}"}],
        **extra,
    }


CFG = PairsConfig(input="in", output="out.jsonl")


def test_thresholds_are_the_papers():
    found = make_pairs(rec("a", [1.0, 0.8, 0.6, 0.4, 0.0, 0.79]), CFG)
    rates = sorted((c["pass_rate"], r["pass_rate"]) for c, r in found)
    assert rates == [(0.8, 0.4), (1.0, 0.4), (1.0, 0.6)]


def test_same_program_counts_once():
    r = rec("a", [])
    r["inferences"] = [
        inf("x = 1", 1.0),
        {**inf("x = 1", 1.0), "completion": "Sure!\n```python\nx = 1   \n\n```"},
        inf("y", 0.5),
    ]
    assert len(make_pairs(r, CFG)) == 1
    assert program_key("```python\nx = 1\n```") == program_key("x = 1  \n\n")


def test_cap_per_question_is_a_seeded_sample():
    cfg = PairsConfig(input="in", output="out.jsonl", max_pairs_per_question=2, min_chosen=0.5, min_gap=0.1)
    r = rec("a", [1.0, 0.9, 0.3, 0.2, 0.1])
    assert len(make_pairs(r, cfg, random.Random(1))) == 2
    assert make_pairs(r, cfg, random.Random(1)) == make_pairs(r, cfg, random.Random(1))


@settings(max_examples=80, deadline=None)
@given(
    rates=st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.8, 0.9, 1.0]), max_size=12),
    min_chosen=st.sampled_from([0.5, 0.8, 1.0]),
    min_gap=st.sampled_from([0.2, 0.4]),
)
def test_every_pair_satisfies_the_constraints(rates, min_chosen, min_gap):
    cfg = PairsConfig(input="in", output="out.jsonl", min_chosen=min_chosen, min_gap=min_gap)
    found = make_pairs(rec("a", rates), cfg)
    for c, r in found:
        assert c["pass_rate"] >= min_chosen and r["pass_rate"] > 0 and c["pass_rate"] - r["pass_rate"] >= min_gap - 1e-9
    expected = sum(1 for a in rates for b in rates if a >= min_chosen and b > 0 and a - b >= min_gap - 1e-9)
    assert len(found) == expected  # every completion here is a distinct program


def test_stage_writes_acecodepair_and_trl_formats_and_counts_bad_rows(tmp_path):
    src = tmp_path / "sample.jsonl"
    write_records([rec("a", [1.0, 0.5]), rec("b", [0.0])], src)
    with open(src, "a") as f:
        f.write("{bad\n" + json.dumps({"id": "c", "question": "q"}) + "\n")
    summary = build_pairs(PairsConfig(input=str(src), output=str(tmp_path / "pairs.jsonl")))
    (row,) = read_records(tmp_path / "pairs.jsonl")
    assert list(row) == ["instruction", "input", "chosen", "rejected", "id"]
    assert (row["instruction"], row["input"], row["id"]) == ("Qa", "", "a")
    assert summary["rejected_items"] == {"bad_row": 1, "no_inferences": 1}
    assert summary["pairs_per_question"] == {"0": 1, "1": 1}

    build_pairs(PairsConfig(input=str(src), output=str(tmp_path / "trl.jsonl"), format="trl", text="code"))
    (t,) = read_records(tmp_path / "trl.jsonl")
    assert t["prompt"] == [{"role": "user", "content": "prompt a"}]
    assert t["chosen"] == [{"role": "assistant", "content": "x = 0\n"}]
    assert t["rejected"] == [{"role": "assistant", "content": "x = 1\n"}]
    build_pairs(PairsConfig(input=str(src), output=str(tmp_path / "std.jsonl"), format="trl-standard"))
    s = read_records(tmp_path / "std.jsonl")[0]
    assert s["prompt"] == "prompt a" and isinstance(s["chosen"], str)


def test_hard_keeps_low_mean_then_high_spread():
    records = [
        rec("easy", [1.0, 1.0]),
        rec("spread", [0.0, 1.0]),
        rec("flat", [0.2, 0.2]),
        rec("zero", [0.0, 0.0]),
        rec("mid", [0.5, 0.5]),
    ]
    assert question_stats(records[1]) == (0.5, 0.5)
    assert question_stats(records[1], "range") == (0.5, 1.0)
    kept = [r["id"] for r in select_hard(records)]
    # means: 1, .5, .2, 0, .5 -> median .5 keeps spread, flat, zero, mid; their spreads .5,0,0,0 -> median 0: all kept
    assert kept == ["spread", "flat", "zero", "mid"]
    assert select_hard([]) == []


def test_hard_stage_counts_rows_without_inferences(tmp_path):
    src = tmp_path / "sample.jsonl"
    write_records([rec("a", [0.0, 1.0]), rec("b", [1.0, 1.0]), {"id": "c", "question": "q", "inferences": []}], src)
    summary = hard_subset(HardConfig(input=str(src), output=str(tmp_path / "hard.jsonl")))
    assert [r["id"] for r in read_records(tmp_path / "hard.jsonl")] == ["a"]
    assert summary["rejected_items"] == {"no_inferences": 1}


def test_a_row_with_an_unusable_pass_rate_is_rejected_not_fatal(tmp_path):
    """null, text, NaN (JSON allows it) or out-of-range pass rates: that row is rejected by line, the rest kept."""
    for bad in (None, "hi", float("nan"), [1], 2.0, -1.0):
        rows = [rec("a", [1.0, 0.5, 0.2]), rec("bad", [bad, 0.1]), rec("b", [1.0, 0.3]), rec("c", [0.9, 0.5])]
        write_records(rows, tmp_path / "sample.jsonl")
        pairs = build_pairs(PairsConfig(input=str(tmp_path / "sample.jsonl"), output=str(tmp_path / "pairs.jsonl")))
        assert pairs["rejected_items"] == {"bad_pass_rate": 1}, bad
        assert {r["id"] for r in read_records(tmp_path / "pairs.jsonl")} == {"a", "b", "c"}
        (reject,) = read_records(tmp_path / "pairs.rejects.jsonl")
        assert reject["id"] == "bad" and "line 2" in reject["detail"] and "pass_rate" in reject["detail"]
        hard = hard_subset(HardConfig(input=str(tmp_path / "sample.jsonl"), output=str(tmp_path / "hard.jsonl")))
        assert hard["rejected_items"] == {"bad_pass_rate": 1} and hard["questions_in"] == 3, bad
        assert "bad" not in {r["id"] for r in read_records(tmp_path / "hard.jsonl")}
