"""Training with TRL's RewardTrainer on the tiny model: it learns, it can be fooled on purpose, it resumes,
its checkpoint loads with transformers as it is, and its scores feed best-of-N."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")

from rm_rl.reward_model import (  # noqa: E402
    PreferencePair,
    RewardModel,
    RewardModelConfig,
    load_pairs,
    pairwise_report,
    split_by_question,
    train_reward_model,
    write_scores,
)


def _learnable_pairs() -> list[PreferencePair]:
    """Bundled seed programs: chosen as written, rejected with a stub line (a learnable difference)."""
    from harness.data import bundled_path

    pairs = []
    for line in open(bundled_path("seeds.jsonl"), encoding="utf-8"):
        seed = json.loads(line)
        if not seed["code"].strip():
            continue
        good = f"```python\n{seed['code']}```"
        bad = f"```python\n{seed['code']}    raise NotImplementedError\n```"
        for k in range(2):
            prompt = ({"role": "user", "content": f"Write the program {seed['id']} (variant {k})."},)
            pairs.append(PreferencePair(seed["id"], prompt, good, bad, source=seed["source"]))
    return pairs


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from rm_rl.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def split():
    return split_by_question(_learnable_pairs(), 0.25, seed=0)


def _config(base, out, **changes) -> RewardModelConfig:
    preset = dict(model=str(base), learning_rate=3e-3, num_epochs=2.0, progress=False, save_steps=1000, resume=False)
    preset.update(changes)
    return RewardModelConfig.demo(str(out), **preset)


@pytest.mark.slow
def test_held_out_accuracy_and_label_flipped_control(base, split, tmp_path):
    import torch
    from transformers import AutoModelForSequenceClassification

    train, held = split
    assert {p.id for p in train}.isdisjoint({p.id for p in held}) and len(held) >= 15
    result = train_reward_model(_config(base, tmp_path / "rm"), train_pairs=train, eval_pairs=held)
    assert (result.train_pairs, result.eval_pairs) == (len(train), len(held))
    assert result.length.over_cutoff == 0 and result.length.pairs == len(train)
    model = RewardModel.load(tmp_path / "rm", device="cpu")
    assert model.max_length_tokens == 512  # the demo preset's cutoff, read back from acecoder_rm.json
    report = pairwise_report(model, held)
    assert report.accuracy > 0.9, report
    assert report.ties == 0 and report.mean_margin > 0

    # the folder is a standard checkpoint: transformers loads it as it is, with the same scores
    plain = AutoModelForSequenceClassification.from_pretrained(tmp_path / "rm")
    assert plain.config.num_labels == 1 and type(plain).__name__ == "Qwen2ForSequenceClassification"
    ids = model.encode(held[0].prompt, held[0].chosen)
    with torch.no_grad():
        direct = float(plain(torch.tensor([ids])).logits[0, 0])
    assert direct == pytest.approx(model.score([held[0].prompt], [held[0].chosen])[0], abs=1e-5)
    summary = json.loads((tmp_path / "rm" / "acecoder_rm.json").read_text())
    assert summary["result"]["eval_questions"] == len({p.id for p in held})
    assert {p.id for p in load_pairs(str(tmp_path / "rm" / "eval_pairs.jsonl"))} == {p.id for p in held}

    flipped = train_reward_model(_config(base, tmp_path / "flipped"), train_pairs=[p.flipped() for p in train])
    control = pairwise_report(RewardModel.load(flipped.output_dir, device="cpu"), held)
    assert control.accuracy < 0.1, control


@pytest.mark.slow
def test_training_resumes_from_its_last_checkpoint(base, split, tmp_path):
    train, _ = split
    first = train_reward_model(
        _config(base, tmp_path / "rm", max_steps=2, save_steps=1, resume=True), train_pairs=train[:32]
    )
    assert first.resumed_from is None and (tmp_path / "rm" / "checkpoint-2").is_dir()
    again = train_reward_model(
        _config(base, tmp_path / "rm", max_steps=3, save_steps=1, resume=True), train_pairs=train[:32]
    )
    assert again.resumed_from is not None and again.resumed_from.endswith("checkpoint-2")
    assert (tmp_path / "rm" / "checkpoint-3").is_dir()


def test_scores_file_is_what_bench_reads_and_best_of_n_arithmetic(base, tmp_path):
    from benchmarks.metrics import AVERAGE, ORACLE, best_of_n_table, pass_at_k, read_scores_jsonl

    samples = tmp_path / "samples.jsonl"
    texts = {"t1": ["def f(): return 1", "def f(): return 2"], "t2": ["x = 1", "x = 2"]}
    samples.write_text(
        "".join(
            json.dumps({"task_id": t, "prompt": f"task {t}", "completion": c}) + "\n"
            for t, cs in texts.items()
            for c in cs
        )
    )
    model = RewardModel.load(base, device="cpu")
    written = write_scores(model, str(samples), str(tmp_path / "scores.jsonl"))
    read = read_scores_jsonl(str(tmp_path / "scores.jsonl"))
    # Scored in one batch of four there, two by two here: padding moves float32 sums by ~1e-8.
    assert read.keys() == {"t1", "t2"}
    for t in ("t1", "t2"):
        assert read[t] == pytest.approx(model.score([f"task {t}"] * 2, texts[t]), rel=1e-5, abs=1e-6)
    assert [(s.task_id, s.index) for s in written] == [("t1", 0), ("t1", 1), ("t2", 0), ("t2", 1)]

    # hand-made: Oracle = pass@N, Average = mean pass@1, RM@N = the argmax, ties to the lowest index
    correct = {"a": [False, True, False, True], "b": [True, False, False, False], "c": [False] * 4}
    scores = {"RM": {"a": [0.1, 0.9, 0.9, 0.2], "b": [0.5, 0.5, 0.1, 0.0], "c": [1.0, 2.0, 3.0, 4.0]}}
    table = best_of_n_table(correct, scores, ns=(1, 2, 4))
    assert table.loc[ORACLE, 4] == pytest.approx(sum(pass_at_k(4, sum(v), 4) for v in correct.values()) / 3)
    assert table.loc[AVERAGE, 4] == pytest.approx((2 / 4 + 1 / 4 + 0) / 3)
    assert table.loc[AVERAGE, 1] == pytest.approx(1 / 3)
    assert table.loc["RM", 4] == pytest.approx(2 / 3)  # a: tie 1 vs 2 -> index 1 (right); b: tie -> 0 (right)
    assert table.loc["RM", 2] == pytest.approx(2 / 3) and table.loc[ORACLE, 2] == pytest.approx(2 / 3)


def test_margin_from_the_pass_rate_gap_reaches_trls_loss(base, split, tmp_path):
    """-log sigmoid(r_c - r_r - m): an untrained model (r_c ~ r_r) with m = 5 starts at about softplus(5)."""
    import math
    from dataclasses import replace

    train, _ = split
    pairs = [replace(p, chosen_pass_rate=1.0, rejected_pass_rate=0.0) for p in train[:16]]
    common = dict(learning_rate=1e-9, max_steps=1, warmup_fraction=0.0)
    with_margin = train_reward_model(
        _config(base, tmp_path / "m", margin="pass_rate_gap", margin_scale=5.0, **common), train_pairs=pairs
    )
    plain = train_reward_model(_config(base, tmp_path / "p", **common), train_pairs=pairs)
    assert with_margin.metrics["train_loss"] == pytest.approx(math.log1p(math.exp(5.0)), abs=0.3)
    assert plain.metrics["train_loss"] == pytest.approx(math.log(2.0), abs=0.3)
