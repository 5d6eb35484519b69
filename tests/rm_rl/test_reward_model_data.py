"""Reward-model data and arithmetic, without training: layouts, the split, the cutoff, the config, reports."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")

from rm_rl.errors import ConfigError, DatasetError  # noqa: E402
from rm_rl.reward_model import (  # noqa: E402
    PreferencePair,
    RewardModelConfig,
    encode,
    encode_pairs,
    load_pairs,
    load_rm_config,
    pairs_from_samples,
    split_by_question,
)
from rm_rl.reward_model.data import pair_from_row  # noqa: E402
from rm_rl.reward_model.evaluate import (  # noqa: E402
    RMBenchItem,
    load_rm_bench,
    pairwise_from_scores,
    rm_bench_from_scores,
)

USER = {"role": "user", "content": "Write add(a, b)."}


def test_acecodepair_row():
    pair = pair_from_row(
        {"instruction": "Write add(a, b).", "input": "Use +.", "chosen": "good", "rejected": "bad", "id": "oss_12"}
    )
    assert pair == PreferencePair(
        id="oss_12",
        prompt=({"role": "user", "content": "Write add(a, b).\n\nUse +."},),
        chosen="good",
        rejected="bad",
        source="oss",
    )


def test_trl_conversational_standard_and_implicit_rows():
    conv = pair_from_row(
        {
            "prompt": [USER],
            "chosen": [{"role": "assistant", "content": "good"}],
            "rejected": [{"role": "assistant", "content": "bad"}],
            "id": 7,
            "source": "evol",
            "chosen_pass_rate": 1.0,
            "rejected_pass_rate": 0.25,
        }
    )
    assert (conv.id, conv.prompt, conv.chosen, conv.rejected, conv.source) == ("7", (USER,), "good", "bad", "evol")
    assert (conv.chosen_pass_rate, conv.rejected_pass_rate) == (1.0, 0.25)
    std = pair_from_row({"prompt": "Write add(a, b).", "chosen": "good", "rejected": "bad"})
    assert std.prompt == (USER,) and std.id == "Write add(a, b)."  # no id: the question is the split key
    implicit = pair_from_row(
        {
            "chosen": [USER, {"role": "assistant", "content": "good"}],
            "rejected": [USER, {"role": "assistant", "content": "bad"}],
        }
    )
    assert (implicit.prompt, implicit.chosen, implicit.rejected) == ((USER,), "good", "bad")
    assert implicit.flipped().chosen == "bad" and implicit.flipped().rejected == "good"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"instruction": "q", "chosen": "a"}, "no 'rejected'"),
        ({"prompt": "q", "chosen": 3, "rejected": "b"}, "'chosen' must be a string"),
        ({"prompt": "q", "chosen": [USER], "rejected": "b"}, "end with an assistant message"),
        ({"prompt": "q", "chosen": "a", "rejected": "b", "chosen_pass_rate": 2}, "pass rate in"),
    ],
)
def test_bad_rows_name_the_field(row, message):
    with pytest.raises(DatasetError, match=message):
        pair_from_row(row, "f.jsonl: line 3")


def test_load_pairs_jsonl_parquet_and_datasets_folder_through_harness_io(tmp_path):
    rows = [{"instruction": f"q{i}", "input": "", "chosen": "c", "rejected": "r", "id": f"evol-{i}"} for i in range(3)]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pairs = load_pairs(str(path))
    assert [p.id for p in pairs] == ["evol-0", "evol-1", "evol-2"] and {p.source for p in pairs} == {"evol"}
    import pandas as pd

    pd.DataFrame(rows).to_parquet(tmp_path / "pairs.parquet")
    assert load_pairs(str(tmp_path / "pairs.parquet")) == pairs
    from datasets import Dataset

    Dataset.from_list(rows).save_to_disk(str(tmp_path / "saved"))
    assert load_pairs(str(tmp_path / "saved")) == pairs
    path.write_text(json.dumps(rows[0]) + "\n" + json.dumps({"instruction": "q", "chosen": "c"}) + "\n")
    with pytest.raises(DatasetError, match=r"pairs.jsonl: line 2: no 'rejected'"):
        load_pairs(str(path))


def test_split_by_question_keeps_questions_whole():
    pairs = [PreferencePair(f"q{i % 10}", (USER,), f"c{i}", f"r{i}") for i in range(50)]
    train, held = split_by_question(pairs, 0.3, seed=1)
    assert len(train) + len(held) == 50
    assert {p.id for p in train}.isdisjoint({p.id for p in held})
    assert len({p.id for p in held}) == 3
    assert split_by_question(pairs, 0.3, seed=1) == (train, held)
    assert split_by_question(pairs, 0.3, seed=2) != (train, held)
    assert split_by_question(pairs, 0.0) == (pairs, [])
    with pytest.raises(DatasetError, match="cannot split"):
        split_by_question(pairs[:1], 0.5)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    from rm_rl.tiny import TinyModelConfig, build_tiny_model

    texts = ["def add(a, b):\n    return a + b\n", "Write add(a, b)."] * 20
    path = build_tiny_model(tmp_path_factory.mktemp("tok"), TinyModelConfig(vocab_size=320), texts=texts)
    return AutoTokenizer.from_pretrained(path)


def test_cutoff_is_counted_and_applied_as_asked(tokenizer):
    short = PreferencePair("a", (USER,), "ok", "no", source="oss")
    long = PreferencePair("b", (USER,), "x " * 200, "y", source="evol")
    ids = encode(tokenizer, long.prompt, long.chosen)
    assert len(ids) > 64 and ids[-2:] == tokenizer.encode("<|im_end|>\n")
    rows, report = encode_pairs(tokenizer, [short, long], 64, "truncate")
    assert (report.pairs, report.over_cutoff, report.truncated, report.dropped) == (2, 1, 1, 0)
    assert report.longest_tokens == len(ids) and dict(report.over_by_source) == {"evol": 1}
    assert len(rows) == 2 and len(rows[1]["chosen_ids"]) == 64
    assert rows[1]["chosen_ids"] == ids[:63] + ids[-1:]  # the start and the final token
    assert rows[0]["chosen_ids"] == encode(tokenizer, short.prompt, "ok")
    assert "1 longer than 64 tokens" in report.summary() and "truncated 1" in report.summary()
    rows, report = encode_pairs(tokenizer, [short, long], 64, "drop")
    assert (len(rows), report.over_cutoff, report.dropped) == (1, 1, 1)


def test_margin_from_pass_rates_or_the_data(tokenizer):
    pairs = [
        PreferencePair("a", (USER,), "ok", "no", chosen_pass_rate=1.0, rejected_pass_rate=0.25),
        PreferencePair("b", (USER,), "ok", "no", margin=0.5),
    ]
    rows, _ = encode_pairs(tokenizer, pairs, 512, "truncate", margin_scale=2.0)
    assert [r["margin"] for r in rows] == [1.5, 0.5]
    rows, _ = encode_pairs(tokenizer, pairs, 512, "truncate")
    assert all("margin" not in r for r in rows)
    with pytest.raises(DatasetError, match="no margin and no pass rates"):
        encode_pairs(tokenizer, [PreferencePair("c", (USER,), "a", "b")], 512, "truncate", margin_scale=1.0)


def test_pairs_from_samples_keep_pass_rates(tmp_path):
    row = {
        "id": "oss-1",
        "question": "Write add(a, b).",
        "inferences": [
            {"completion": "```python\ndef add(a, b):\n    return a + b\n```", "pass_rate": 1.0},
            {"completion": "```python\ndef add(a, b):\n    return a - b\n```", "pass_rate": 0.25},
            {"completion": "```python\ndef add(a, b):\n    return 0\n```", "pass_rate": 0.0},
        ],
    }
    path = tmp_path / "sample.jsonl"
    path.write_text(json.dumps(row) + "\n")
    (pair,) = pairs_from_samples(str(path))
    assert (pair.id, pair.source, pair.chosen_pass_rate, pair.rejected_pass_rate) == ("oss-1", "oss", 1.0, 0.25)
    assert "a + b" in pair.chosen and "a - b" in pair.rejected


def test_config_defaults_are_the_papers_and_every_field_has_help(tmp_path):
    c = RewardModelConfig()
    assert (c.learning_rate, c.lr_scheduler, c.warmup_fraction, c.num_epochs) == (1e-5, "cosine", 0.1, 1.0)
    assert (c.effective_batch_size, c.max_length_tokens, c.precision) == (128, 2048, "auto")
    assert all(text for text in RewardModelConfig.options().values())
    demo = RewardModelConfig.demo("out")
    assert (demo.model, demo.train_data, demo.use_cpu, demo.output_dir) == ("tiny", "@demo", True, "out")
    with pytest.raises(ConfigError, match="multiple of per_device_batch_size"):
        RewardModelConfig(effective_batch_size=10, per_device_batch_size=4)
    with pytest.raises(ConfigError, match="overlong"):
        RewardModelConfig(overlong="skip")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        c.learning_rate = 1.0  # type: ignore[misc]
    path = tmp_path / "rm.toml"
    path.write_text('[rm]\ntrain_data = "p.jsonl"\nlearning_rate = 2e-5\n')
    loaded = load_rm_config(path, output_dir="o")
    assert (loaded.train_data, loaded.learning_rate, loaded.output_dir) == ("p.jsonl", 2e-5, "o")
    path.write_text("lr = 1\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['lr'\]"):
        load_rm_config(path)


def test_pairwise_report_counts_ties_wrong():
    report = pairwise_from_scores([1.0, 2.0, 0.5, 3.0], [0.0, 2.0, 1.0, 1.0], ["oss", "oss", "evol", ""])
    assert (report.pairs, report.correct, report.ties, report.accuracy) == (4, 2, 1, 0.5)
    assert report.mean_margin == pytest.approx((1 + 0 - 0.5 + 2) / 4)
    assert dict(report.per_source["oss"]) == {"pairs": 2, "correct": 1, "ties": 1, "accuracy": 0.5, "mean_margin": 0.5}
    assert report.per_source["evol"]["accuracy"] == 0.0 and report.per_source["(none)"]["accuracy"] == 1.0


def test_rm_bench_levels_from_a_hand_made_matrix(tmp_path):
    path = tmp_path / "rmb.json"
    rows = [{"id": 1, "prompt": "p", "chosen": ["c0", "c1", "c2"], "rejected": ["r0", "r1", "r2"], "domain": "code"}]
    path.write_text(json.dumps(rows))
    items = load_rm_bench(str(path))
    assert items == [RMBenchItem("1", "p", ("c0", "c1", "c2"), ("r0", "r1", "r2"), "code")]
    # chosen[i] beats rejected[j] iff i >= j, except the (2, 2) tie: easy 3/3, normal 2/3, hard 0/3
    report = rm_bench_from_scores(items, [[1.0, 2.0, 3.0]], [[0.5, 1.5, 3.0]])
    assert (report.easy, report.normal, report.hard) == (1.0, pytest.approx(2 / 3), 0.0)
    assert report.per_domain["code"]["hard"] == 0.0
    path.write_text(json.dumps([{"prompt": "p", "chosen": ["a"], "rejected": ["b", "c"]}]))
    with pytest.raises(DatasetError, match="1 chosen answers but 2 rejected"):
        load_rm_bench(str(path))
