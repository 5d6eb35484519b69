"""A tiny model built from scratch, offline: for tests, demos and speed checks on CPU.

No download, no hub: :func:`build_tiny_model` trains a byte-level BPE tokenizer with the
``tokenizers`` library on the harness's bundled data (or any texts), gives it a ChatML
chat template, and saves it next to a randomly initialised Qwen2 model of a few layers
with either head:

- ``head="sequence-classification"``: ``AutoModelForSequenceClassification`` with one
  label (a reward model to train; its score is read at the last token);
- ``head="causal-lm"``: ``AutoModelForCausalLM`` (a policy for RL tests).

The folder loads with ``from_pretrained`` as it is. The same seed and texts give the
same tokenizer and weights.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["CHAT_TEMPLATE", "TinyModelConfig", "build_tiny_model", "bundled_texts"]

Head = Literal["sequence-classification", "causal-lm"]

EOS, PAD, IM_START, IM_END = "<|endoftext|>", "<|pad|>", "<|im_start|>", "<|im_end|>"

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
"""ChatML, as Qwen2.5's: every turn ends with ``<|im_end|>``, the end-of-turn (eos) token."""


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class TinyModelConfig:
    """Shape of the tiny model and its tokenizer."""

    head: Head = field(
        default="sequence-classification",
        metadata=_help("sequence-classification (a reward model, one label) or causal-lm (a policy)"),
    )
    vocab_size: int = field(default=1024, metadata=_help("BPE vocabulary size, special tokens included"))
    hidden_size: int = field(default=64, metadata=_help("width of the residual stream"))
    num_layers: int = field(default=2, metadata=_help("decoder layers"))
    num_heads: int = field(default=4, metadata=_help("attention heads"))
    num_kv_heads: int = field(default=2, metadata=_help("key/value heads (grouped-query attention)"))
    intermediate_size: int = field(default=128, metadata=_help("MLP width"))
    max_position_embeddings: int = field(default=4096, metadata=_help("longest sequence, in tokens"))
    seed: int = field(default=0, metadata=_help("seed of the weight initialisation"))

    def __post_init__(self) -> None:
        from .errors import ConfigError

        if self.head not in ("sequence-classification", "causal-lm"):
            raise ConfigError(f"head must be 'sequence-classification' or 'causal-lm', got {self.head!r}")
        if self.hidden_size % self.num_heads or self.num_heads % self.num_kv_heads:
            raise ConfigError("hidden_size must divide by num_heads, and num_heads by num_kv_heads")
        if self.vocab_size < 300:
            raise ConfigError(f"vocab_size must be at least 300 (256 bytes + merges), got {self.vocab_size}")


def bundled_texts() -> Iterator[str]:
    """Text of the harness's bundled data: seed programs, recorded prompts and answers."""
    from harness.data import bundled_path

    for name in ("seeds.jsonl", "replay.jsonl"):
        with open(bundled_path(name), encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                yield from _strings(json.loads(line))


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _tokenizer(texts: Iterable[str], vocab_size: int):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS, PAD, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(texts, trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token=IM_END,
        pad_token=PAD,
        bos_token=None,
        unk_token=None,
        additional_special_tokens=[EOS, IM_START],
        model_max_length=4096,
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def build_tiny_model(
    path: str | Path, config: TinyModelConfig | None = None, *, texts: Iterable[str] | None = None
) -> Path:
    """Build and save a tokenizer + randomly initialised model folder at ``path``; returns it.

    ``texts`` trains the tokenizer (default: :func:`bundled_texts`).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, Qwen2Config

    config = config or TinyModelConfig()
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    tok = _tokenizer(texts if texts is not None else bundled_texts(), config.vocab_size)
    model_config = Qwen2Config(
        vocab_size=len(tok),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_kv_heads,
        max_position_embeddings=config.max_position_embeddings,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=None,
    )
    model_config.num_labels = 1  # one score: a reward model's head
    torch.manual_seed(config.seed)
    cls = AutoModelForSequenceClassification if config.head == "sequence-classification" else AutoModelForCausalLM
    model = cls.from_config(model_config, dtype=torch.float32)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
