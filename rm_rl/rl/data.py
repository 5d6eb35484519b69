"""The RL prompts: AceCode-87K-style rows read once, written in each trainer's layout.

- TRL: a ``datasets.Dataset`` with ``prompt`` (chat messages), ``tests`` and ``id``.
- OpenRLHF: JSONL, ``prompt`` (the input key, chat messages for ``apply_chat_template``)
  and ``tests`` (the label key: the tests as JSON, read by the adapter and the server).
- verl: parquet with ``data_source``, ``prompt`` (chat messages), ``ability``,
  ``reward_model`` = ``{"style": "rule", "ground_truth": tests as JSON}`` and
  ``extra_info`` = ``{"id", "index"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..dataset import load_problems
from ..errors import ConfigError
from .config import RLConfig

__all__ = ["DATA_SOURCE", "RLPrompt", "load_prompts", "write_openrlhf", "write_verl"]

DATA_SOURCE = "acecoder"
"""verl's ``data_source`` of every row (verl routes rewards by it; ours ignore it)."""


@dataclass(frozen=True)
class RLPrompt:
    """One training prompt: its row id, the question, and the tests that judge answers."""

    id: str
    question: str
    tests: tuple[Any, ...]

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "user", "content": self.question}]


def load_prompts(config: RLConfig) -> list[RLPrompt]:
    """The config's rows as prompts (rows without a question are an error)."""
    if not config.train_data:
        raise ConfigError("train_data is empty: give AceCode-87K-style rows (JSONL/parquet/datasets)")
    index = load_problems(
        config.train_data,
        split=config.split,
        id_key=config.id_key,
        tests_key=config.tests_key,
        question_key=config.question_key,
    )
    out = []
    for n, key in enumerate(index):
        if config.limit is not None and n >= config.limit:
            break
        row = index.problem(key)
        if not row.question:
            raise ConfigError(f"{config.train_data}: row {row.id!r} has no question to prompt with")
        out.append(RLPrompt(row.id, row.question, tuple(row.tests)))
    return out


def write_openrlhf(prompts: list[RLPrompt], path: str | Path) -> Path:
    """OpenRLHF's prompt file: ``--input_key prompt --label_key tests --apply_chat_template``."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for p in prompts:
            f.write(json.dumps({"prompt": p.messages(), "tests": json.dumps(list(p.tests)), "id": p.id}) + "\n")
    return out


def write_verl(prompts: list[RLPrompt], path: str | Path) -> Path:
    """verl's RL parquet: data_source, prompt, ability, reward_model.ground_truth, extra_info."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {
            "data_source": DATA_SOURCE,
            "prompt": p.messages(),
            "ability": "code",
            "reward_model": {"style": "rule", "ground_truth": json.dumps(list(p.tests))},
            "extra_info": {"id": p.id, "index": i},
        }
        for i, p in enumerate(prompts)
    ]
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), out)
    return out
