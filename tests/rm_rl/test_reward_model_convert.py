"""Head converters: standard <-> AceCoder v_head <-> OpenRLHF, scores identical after every round trip.

The AceCoder and OpenRLHF scores are computed here as those projects do (the backbone's
last hidden state at the last token, through their own head), independently of the
converters and of transformers' sequence-classification class.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")

from rm_rl.errors import ConfigError  # noqa: E402
from rm_rl.reward_model import RewardModel, from_acecoder, from_openrlhf, to_acecoder, to_openrlhf  # noqa: E402
from rm_rl.reward_model.convert import BIAS_KEY  # noqa: E402

PROMPTS = ["Write add(a, b).", "Write sub(a, b).", "Reverse a string."]
ANSWERS = ["def add(a, b):\n    return a + b", "def sub(a, b):\n    return a", "def rev(s):\n    return s[::-1]"]


@pytest.fixture(scope="module")
def standard(tmp_path_factory):
    from rm_rl.tiny import TinyModelConfig, build_tiny_model

    texts = [p + "\n" + a for p, a in zip(PROMPTS, ANSWERS)] * 20
    return build_tiny_model(tmp_path_factory.mktemp("std"), TinyModelConfig(vocab_size=320, seed=3), texts=texts)


def _scores(path) -> list[float]:
    return RewardModel.load(path, device="cpu").score(PROMPTS, ANSWERS)


def _reference(path, weight_key: str, bias_key: str | None = None, normalize: bool = False) -> list[float]:
    """The foreign project's forward: AutoModel backbone, last token's hidden state, its own head."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    from rm_rl.reward_model import encode
    from rm_rl.reward_model.scoring import as_prompt

    tensors = load_file(path / "model.safetensors")
    config = json.loads((path / "config.json").read_text())
    backbone = AutoModel.from_pretrained(path).eval()
    tok = AutoTokenizer.from_pretrained(path)
    out = []
    for prompt, answer in zip(PROMPTS, ANSWERS):
        ids = torch.tensor([encode(tok, as_prompt(prompt), answer)])
        with torch.no_grad():
            hidden = backbone(input_ids=ids).last_hidden_state[0, -1]
        value = hidden @ tensors[weight_key].reshape(-1)
        if bias_key is not None:
            value = value + tensors[bias_key].reshape(-1)[0]
        if normalize and config.get("normalize_reward"):
            value = (value - config["mean"]) / config["std"]
        out.append(float(value))
    return out


def _set_bias(path, value: float) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    tensors = load_file(path / "model.safetensors")
    tensors["v_head.summary.bias"] = torch.tensor([value])
    save_file(tensors, str(path / "model.safetensors"), metadata={"format": "pt"})


def test_acecoder_round_trip_keeps_scores(standard, tmp_path):
    from safetensors.torch import load_file

    base = _scores(standard)
    assert len(set(base)) == 3  # a random head still tells the texts apart
    report = to_acecoder(standard, tmp_path / "ace")
    keys = set(load_file(tmp_path / "ace" / "model.safetensors"))
    assert {"v_head.summary.weight", "v_head.summary.bias"} <= keys and "score.weight" not in keys
    assert report.score_bias == 0.0
    assert _reference(tmp_path / "ace", "v_head.summary.weight", "v_head.summary.bias") == pytest.approx(base, abs=1e-5)
    from_acecoder(tmp_path / "ace", tmp_path / "back")
    assert _scores(tmp_path / "back") == base
    first = load_file(standard / "model.safetensors")
    again = load_file(tmp_path / "back" / "model.safetensors")
    assert sorted(first) == sorted(again) and all((first[k] == again[k]).all() for k in first)


def test_acecoder_bias_is_kept_as_score_bias(standard, tmp_path):
    to_acecoder(standard, tmp_path / "ace")
    _set_bias(tmp_path / "ace", 0.75)
    ace = _reference(tmp_path / "ace", "v_head.summary.weight", "v_head.summary.bias")
    report = from_acecoder(tmp_path / "ace", tmp_path / "std")
    assert report.score_bias == 0.75
    assert json.loads((tmp_path / "std" / "config.json").read_text())[BIAS_KEY] == 0.75
    assert [s + 0.75 for s in _scores(tmp_path / "std")] == pytest.approx(ace, abs=1e-5)
    to_acecoder(tmp_path / "std", tmp_path / "ace2")  # and the bias comes back
    assert _reference(tmp_path / "ace2", "v_head.summary.weight", "v_head.summary.bias") == pytest.approx(ace, abs=1e-5)


@pytest.mark.parametrize("prefix", ["value_head", "score"])
def test_openrlhf_round_trip_keeps_scores(standard, tmp_path, prefix):
    from safetensors.torch import load_file

    base = _scores(standard)
    to_openrlhf(standard, tmp_path / "orl", value_head_prefix=prefix)
    config = json.loads((tmp_path / "orl" / "config.json").read_text())
    assert (config["value_head_prefix"], config["normalize_reward"]) == (prefix, False)
    assert f"{prefix}.weight" in load_file(tmp_path / "orl" / "model.safetensors")
    assert _reference(tmp_path / "orl", f"{prefix}.weight", normalize=True) == pytest.approx(base, abs=1e-5)
    from_openrlhf(tmp_path / "orl", tmp_path / "back")
    assert _scores(tmp_path / "back") == base


def test_openrlhf_normalisation_is_folded_in(standard, tmp_path):
    to_openrlhf(standard, tmp_path / "orl")
    config_path = tmp_path / "orl" / "config.json"
    config = json.loads(config_path.read_text())
    config.update(normalize_reward=True, mean=0.5, std=2.0)
    config_path.write_text(json.dumps(config))
    theirs = _reference(tmp_path / "orl", "value_head.weight", normalize=True)
    report = from_openrlhf(tmp_path / "orl", tmp_path / "std")
    assert report.score_bias == -0.25
    assert [s - 0.25 for s in _scores(tmp_path / "std")] == pytest.approx(theirs, abs=1e-5)


def test_wrong_layouts_are_named(standard, tmp_path):
    with pytest.raises(ConfigError, match="not an AceCoder reward model"):
        from_acecoder(standard, tmp_path / "x")
    to_acecoder(standard, tmp_path / "ace")
    with pytest.raises(ConfigError, match="not a standard one-label reward model"):
        to_openrlhf(tmp_path / "ace", tmp_path / "y")
    with pytest.raises(ConfigError, match="must differ"):
        to_acecoder(standard, standard)


def test_cli_convert_chains_through_the_standard_layout(standard, tmp_path, capsys):
    from acesandbox.cli import main

    assert main(["rm", "convert", str(standard), "--to", "acecoder", "-o", str(tmp_path / "ace")]) == 0
    code = main(["rm", "convert", str(tmp_path / "ace"), "--from", "acecoder", "--to", "openrlhf",
                 "-o", str(tmp_path / "orl")])
    assert code == 0
    assert "acecoder -> openrlhf" in capsys.readouterr().out
    assert _reference(tmp_path / "orl", "value_head.weight", normalize=True) == pytest.approx(_scores(standard), abs=1e-5)


def test_a_separate_value_head_file_is_indexed(standard, tmp_path):
    """LLaMA-Factory keeps the value head in value_head.safetensors next to model.safetensors."""
    from safetensors.torch import load_file, save_file

    to_acecoder(standard, tmp_path / "ace")
    tensors = load_file(tmp_path / "ace" / "model.safetensors")
    head = {k: tensors.pop(k) for k in ("v_head.summary.weight", "v_head.summary.bias")}
    save_file(tensors, str(tmp_path / "ace" / "model.safetensors"), metadata={"format": "pt"})
    save_file(head, str(tmp_path / "ace" / "value_head.safetensors"), metadata={"format": "pt"})
    from_acecoder(tmp_path / "ace", tmp_path / "std")
    index = json.loads((tmp_path / "std" / "model.safetensors.index.json").read_text())
    assert index["weight_map"]["score.weight"] == "model-00002-of-00002.safetensors"
    assert sorted(p.name for p in (tmp_path / "std").glob("*.safetensors")) == [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ]
    assert _scores(tmp_path / "std") == _scores(standard)
