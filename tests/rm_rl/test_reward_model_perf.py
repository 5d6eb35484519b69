"""perf.reward_model: its workload and its report (speed is measured there, never asserted here)."""

from __future__ import annotations

import pytest

pytest.importorskip("trl")

from perf.reward_model import SHAPES, format_result, run, workload  # noqa: E402


def test_workload_is_deterministic_pairs_of_whole_questions():
    pairs = workload(12, 64)
    assert pairs == workload(12, 64) and len(pairs) == 12
    assert len({p.id for p in pairs}) == 3  # four pairs per question
    assert all(p.chosen != p.rejected and "return total" in p.chosen for p in pairs)
    assert len(workload(4, 256)[0].chosen) > 2 * len(workload(4, 64)[0].chosen)


def test_the_05b_shape_is_qwen25_coders():
    shape = SHAPES["qwen2.5-coder-0.5b"]
    assert (shape["hidden_size"], shape["num_hidden_layers"], shape["vocab_size"]) == (896, 24, 151936)


def test_a_small_run_reports_every_figure():
    result = run(pairs=8, tokens=32, batch=4, score_n=8)
    assert (result.shape, result.pairs, result.score_completions) == ("tiny", 8, 8)
    assert result.train_pairs_per_s > 0 and result.train_tokens_per_s > result.train_pairs_per_s
    assert result.score_completions_per_s > 0 and result.peak_memory_gib is None and result.train_mfu is None
    table = format_result(result)
    for label in ("training pairs/s", "training tokens/s", "scoring completions/s", "scoring tokens/s"):
        assert f"| {label} |" in table
