"""Scoring with a trained reward model: batched, on whatever device is there.

:class:`RewardModel` wraps a standard one-label ``AutoModelForSequenceClassification``
checkpoint (what ``acecoder rm train`` writes, or any converted one) and scores
(prompt, answer) texts exactly as training encoded them (:func:`~.data.encode`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DatasetError
from .data import Messages, encode

__all__ = ["RewardModel", "ScoredSample", "as_prompt", "read_samples", "write_scores"]


def as_prompt(prompt: str | Sequence[Mapping[str, str]] | None) -> Messages:
    """A prompt given as text, as messages, or not at all, as the messages :func:`encode` takes."""
    if prompt is None or prompt == "":
        return ()
    if isinstance(prompt, str):
        return ({"role": "user", "content": prompt},)
    return tuple({"role": str(m["role"]), "content": str(m["content"])} for m in prompt)


class RewardModel:
    """A one-label sequence-classification model and its tokenizer; ``score`` is the last token's logit."""

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 16, max_length_tokens: int | None = None):
        if getattr(model.config, "num_labels", None) != 1:
            raise ConfigError(f"a reward model has one label; this one has {model.config.num_labels}")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length_tokens = max_length_tokens
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.pad_token_id = int(pad)

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        device: str | None = None,
        dtype: str = "auto",
        batch_size: int = 16,
        max_length_tokens: int | None = None,
    ) -> RewardModel:
        """Load a checkpoint folder (or hub name) with transformers as it is.

        ``max_length_tokens`` defaults to the training cutoff recorded in the folder's
        ``acecoder_rm.json`` (texts are cut as training cut them), else no cut.
        """
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if dtype == "auto":
            torch_dtype = torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32
        else:
            torch_dtype = getattr(torch, dtype)
        summary = Path(path) / "acecoder_rm.json"
        if max_length_tokens is None and summary.is_file():
            max_length_tokens = json.loads(summary.read_text(encoding="utf-8"))["config"]["max_length_tokens"]
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = AutoModelForSequenceClassification.from_pretrained(str(path), dtype=torch_dtype).to(device)
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        return cls(model, tokenizer, batch_size=batch_size, max_length_tokens=max_length_tokens)

    def encode(self, prompt: Messages, completion: str) -> list[int]:
        """Token ids as training saw them (cut as training cuts when ``max_length_tokens`` is set)."""
        ids = encode(self.tokenizer, prompt, completion)
        limit = self.max_length_tokens
        return ids if limit is None or len(ids) <= limit else [*ids[: limit - 1], ids[-1]]

    def score_ids(self, sequences: Sequence[Sequence[int]]) -> list[float]:
        """Scores of already-encoded sequences, batched longest-first to waste little padding."""
        import torch

        order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))
        out = [math.nan] * len(sequences)
        device = next(self.model.parameters()).device
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            width = max(len(sequences[i]) for i in chunk)
            ids = torch.full((len(chunk), width), self.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                seq = torch.tensor(list(sequences[i]), dtype=torch.long)
                ids[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1
            with torch.inference_mode():
                # the standard forward: transformers reads the score at each row's last non-pad token
                logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
                logits = logits.float().squeeze(-1).cpu()
            for row, i in enumerate(chunk):
                out[i] = float(logits[row])
        return out

    def score(self, prompts: Sequence[Messages | str | None], completions: Sequence[str]) -> list[float]:
        """One score per (prompt, completion)."""
        if len(prompts) != len(completions):
            raise ConfigError(f"{len(prompts)} prompts for {len(completions)} completions")
        return self.score_ids([self.encode(as_prompt(p), c) for p, c in zip(prompts, completions)])


@dataclass(frozen=True)
class ScoredSample:
    """A line of the scores file that ``acecoder bench --scores`` reads."""

    task_id: str
    index: int
    score: float | None


def read_samples(path: str) -> Iterator[tuple[str, int, Messages, str]]:
    """``(task_id, index, prompt, completion)`` of a samples JSONL (``task_id``, ``completion`` or ``solution``,
    optional ``index`` and ``prompt``); without ``index``, a task's samples count 0, 1, ... in file order."""
    from harness.io import read_rows

    seen: dict[str, int] = {}
    for item in read_rows(path):
        if item.data is None:
            raise DatasetError(f"{item.where}: {item.error}")
        row = item.data
        if "task_id" not in row:
            raise DatasetError(f"{item.where}: needs a 'task_id'")
        text = row.get("completion", row.get("solution"))
        if not isinstance(text, str):
            raise DatasetError(f"{item.where}: needs a 'completion' or 'solution' string")
        task = str(row["task_id"])
        index = row.get("index", seen.get(task, 0))
        seen[task] = int(index) + 1
        yield task, int(index), as_prompt(row.get("prompt")), text


def write_scores(
    model: RewardModel,
    samples: str,
    output: str,
    *,
    prompts: Mapping[str, Messages | str] | None = None,
) -> list[ScoredSample]:
    """Score every sample of ``samples`` into ``output`` (JSONL of ``{"task_id", "index", "score"}``).

    A sample's prompt is its own ``prompt`` field, else ``prompts[task_id]`` (e.g. the benchmark's).
    """
    rows = list(read_samples(samples))
    prompt_of = prompts or {}
    full: list[Messages] = []
    for task, _index, prompt, _text in rows:
        if not prompt and task in prompt_of:
            prompt = as_prompt(prompt_of[task])  # type: ignore[arg-type]
        full.append(prompt)
    scores = model.score(full, [text for *_, text in rows])
    out = [ScoredSample(task, index, score) for (task, index, _, _), score in zip(rows, scores)]
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        for s in out:
            f.write(json.dumps({"task_id": s.task_id, "index": s.index, "score": s.score}) + "\n")
    return out

