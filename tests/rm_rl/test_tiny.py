"""The tiny offline model: built from scratch, loadable by transformers as it is, reproducible."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from rm_rl.errors import ConfigError  # noqa: E402
from rm_rl.tiny import CHAT_TEMPLATE, TinyModelConfig, build_tiny_model, bundled_texts  # noqa: E402

TEXTS = [f"def f{i}(x):\n    return x + {i}\n" for i in range(50)] + ["Write a function that adds two numbers."] * 5


@pytest.fixture(scope="module")
def reward_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny-rm"), TinyModelConfig(vocab_size=400), texts=TEXTS)


def test_reward_head_loads_as_one_label_sequence_classifier(reward_dir):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(reward_dir)
    tok = AutoTokenizer.from_pretrained(reward_dir)
    assert type(model).__name__ == "Qwen2ForSequenceClassification"
    assert model.config.num_labels == 1
    assert (model.config.hidden_size, model.config.num_hidden_layers) == (64, 2)
    assert model.config.pad_token_id == tok.pad_token_id != tok.eos_token_id
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "add"}, {"role": "assistant", "content": "def f1(x): return x"}], tokenize=True
    )["input_ids"]
    text = tok.decode(ids)
    assert text.startswith("<|im_start|>user\nadd<|im_end|>\n<|im_start|>assistant\n")
    assert text.endswith("<|im_end|>\n") and tok.eos_token == "<|im_end|>"
    assert tok.chat_template == CHAT_TEMPLATE
    logits = model(torch.tensor([ids])).logits
    assert logits.shape == (1, 1)


def test_causal_head_and_same_seed_same_weights(tmp_path, reward_dir):
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    lm = build_tiny_model(tmp_path / "lm", TinyModelConfig(head="causal-lm", vocab_size=400), texts=TEXTS)
    model = AutoModelForCausalLM.from_pretrained(lm)
    assert type(model).__name__ == "Qwen2ForCausalLM"
    again = build_tiny_model(tmp_path / "again", TinyModelConfig(vocab_size=400), texts=TEXTS)
    first, second = load_file(reward_dir / "model.safetensors"), load_file(again / "model.safetensors")
    assert sorted(first) == sorted(second)
    assert all((first[k] == second[k]).all() for k in first)
    assert (tmp_path / "again" / "tokenizer.json").read_text() == (reward_dir / "tokenizer.json").read_text()


def test_bundled_texts_and_bad_shapes():
    texts = list(bundled_texts())
    assert len(texts) > 500
    assert any("def add_numbers" in t for t in texts)
    with pytest.raises(ConfigError, match="head"):
        TinyModelConfig(head="value")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="num_heads"):
        TinyModelConfig(hidden_size=63)
