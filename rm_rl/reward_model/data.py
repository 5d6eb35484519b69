"""Preference pairs in, token ids out: loading, the split by question, the length report.

Three row layouts are read (through :mod:`harness.io`, the toolkit's one reader, so a
source is JSONL, JSON, parquet, a ``datasets`` folder or a hub name):

- AceCodePair (the harness ``pairs`` output, the hub's AceCodePair-300K):
  ``instruction``, ``input``, ``chosen``, ``rejected``, ``id``;
- TRL's conversational preference layout: ``prompt`` (messages), ``chosen`` and
  ``rejected`` (one assistant message each), or the implicit-prompt form where
  ``chosen``/``rejected`` are whole conversations;
- TRL's standard layout: ``prompt``, ``chosen``, ``rejected`` as strings.

Optional columns: ``id`` (the question; the split key), ``source``, and
``chosen_pass_rate``/``rejected_pass_rate`` (for a margin) or ``margin``.

Every pair becomes one text per side with :func:`encode` (the tokenizer's chat
template: the prompt as the user turn, the answer as the assistant turn), the same
function that scoring and serving use, so a model is scored as it was trained.
Pairs longer than the cutoff are never dropped silently: :func:`encode_pairs` counts
them in a :class:`LengthReport` and truncates or drops them as asked.
"""

from __future__ import annotations

import math
import os
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import DatasetError

__all__ = [
    "LengthReport",
    "PreferencePair",
    "encode",
    "encode_pairs",
    "load_pairs",
    "pair_from_row",
    "pairs_from_samples",
    "split_by_question",
]

Messages = tuple[Mapping[str, str], ...]
Overlong = Literal["truncate", "drop"]


@dataclass(frozen=True)
class PreferencePair:
    """One question's preferred and dispreferred answers."""

    id: str
    """The question's id: no question is on both sides of a train/eval split."""
    prompt: Messages
    """The conversation before the answer (usually one user turn); empty for plain text."""
    chosen: str
    rejected: str
    source: str = ""
    """Where the question came from (``oss``, ``evol``, ...), for per-source reports."""
    chosen_pass_rate: float | None = None
    rejected_pass_rate: float | None = None
    margin: float | None = None
    """A margin given by the data (TRL's ``margin`` column); else derived from the pass rates."""

    def flipped(self) -> PreferencePair:
        """The same pair with chosen and rejected swapped (a label-flipped control)."""
        return PreferencePair(
            self.id,
            self.prompt,
            self.rejected,
            self.chosen,
            self.source,
            self.rejected_pass_rate,
            self.chosen_pass_rate,
            None if self.margin is None else -self.margin,
        )


def _source_of(row: Mapping[str, Any], ident: str) -> str:
    source = row.get("source")
    if isinstance(source, str) and source:
        return source
    match = re.match(r"([A-Za-z]+)[-_]", ident)
    return match.group(1) if match else ""


def _message_text(value: Any, where: str, name: str) -> tuple[Messages, str]:
    """(prompt messages, answer text) of a ``chosen``/``rejected`` value."""
    if isinstance(value, str):
        return (), value
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)) and value and all(isinstance(m, Mapping) for m in value):
        last = value[-1]
        if last.get("role") != "assistant" or not isinstance(last.get("content"), str):
            raise DatasetError(f"{where}: {name!r} must end with an assistant message")
        return tuple({"role": str(m["role"]), "content": str(m["content"])} for m in value[:-1]), last["content"]
    raise DatasetError(f"{where}: {name!r} must be a string or a list of chat messages, got {type(value).__name__}")


def _rate(row: Mapping[str, Any], key: str, where: str) -> float | None:
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise DatasetError(f"{where}: {key!r} must be a pass rate in [0, 1], got {value!r}")
    return float(value)


def pair_from_row(row: Mapping[str, Any], where: str = "row") -> PreferencePair:
    """One pair from a row of any of the three layouts (see the module docstring)."""
    for key in ("chosen", "rejected"):
        if key not in row:
            raise DatasetError(f"{where}: no {key!r} field (pairs need chosen and rejected)")
    ident = row.get("id")
    prompt: Messages
    if "instruction" in row:  # AceCodePair
        text = str(row["instruction"])
        extra = row.get("input")
        if isinstance(extra, str) and extra.strip():
            text = f"{text}\n\n{extra}"
        prompt = ({"role": "user", "content": text},)
        chosen_prefix, chosen = _message_text(row["chosen"], where, "chosen")
        _, rejected = _message_text(row["rejected"], where, "rejected")
    else:
        raw = row.get("prompt")
        chosen_prefix, chosen = _message_text(row["chosen"], where, "chosen")
        rejected_prefix, rejected = _message_text(row["rejected"], where, "rejected")
        if raw is None:  # implicit prompt: the conversations share everything but the answer
            if chosen_prefix != rejected_prefix:
                raise DatasetError(f"{where}: chosen and rejected conversations differ before the answer")
            prompt = chosen_prefix
        elif isinstance(raw, str):
            prompt = ({"role": "user", "content": raw},)
        else:
            prompt, _ = _message_text([*list(raw), {"role": "assistant", "content": ""}], where, "prompt")
        chosen_prefix = ()
    if chosen_prefix:
        raise DatasetError(f"{where}: AceCodePair 'chosen' must be the answer text, not a conversation")
    if ident is None:
        ident = "\n".join(m["content"] for m in prompt)  # the question itself keeps the split honest
    ident = str(ident)
    margin = row.get("margin")
    if margin is not None and (isinstance(margin, bool) or not isinstance(margin, (int, float))):
        raise DatasetError(f"{where}: 'margin' must be a number, got {margin!r}")
    return PreferencePair(
        id=ident,
        prompt=prompt,
        chosen=chosen,
        rejected=rejected,
        source=_source_of(row, ident),
        chosen_pass_rate=_rate(row, "chosen_pass_rate", where),
        rejected_pass_rate=_rate(row, "rejected_pass_rate", where),
        margin=None if margin is None else float(margin),
    )


def load_pairs(source: str, *, split: str | None = None, limit: int | None = None) -> list[PreferencePair]:
    """Every pair of ``source`` (a file, folder or hub name; ``@bundled/NAME`` for bundled data)."""
    from harness.errors import DataError
    from harness.io import read_records

    try:
        rows = read_records(source, split=split, limit=limit, line_field="_line")
    except DataError as exc:
        raise DatasetError(str(exc)) from None
    out = []
    for i, row in enumerate(rows):
        line = row.pop("_line", None)
        where = f"{source}: line {line}" if line is not None else f"{source}: row {i + 1}"
        out.append(pair_from_row(row, where))
    if not out:
        raise DatasetError(f"{source}: no pairs")
    return out


def pairs_from_samples(source: str, config: Any = None, *, limit: int | None = None) -> list[PreferencePair]:
    """Pairs straight from the harness ``sample`` output, keeping both pass rates (for a margin).

    The same pairing as ``acecoder pairs`` (``harness.pairs.make_pairs`` under a
    :class:`harness.PairsConfig`, default: AceCodePair's thresholds).
    """
    from harness.config import PairsConfig
    from harness.errors import DataError
    from harness.io import read_records
    from harness.pairs import make_pairs

    config = config or PairsConfig(input=source, output=os.devnull)
    try:
        rows = read_records(source, limit=limit)
    except DataError as exc:
        raise DatasetError(str(exc)) from None
    rng = random.Random(config.seed)
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row.get("question"), str) or not isinstance(row.get("inferences"), list):
            raise DatasetError(f"{source}: row {i + 1} is not a sample row (question, inferences)")
        ident = str(row.get("id", f"row-{i + 1}"))
        for chosen, rejected in make_pairs(row, config, rng):
            out.append(
                PreferencePair(
                    id=ident,
                    prompt=({"role": "user", "content": row["question"]},),
                    chosen=str(chosen["completion"]),
                    rejected=str(rejected["completion"]),
                    source=_source_of(row, ident),
                    chosen_pass_rate=float(chosen["pass_rate"]),
                    rejected_pass_rate=float(rejected["pass_rate"]),
                )
            )
    return out


def split_by_question(
    pairs: Sequence[PreferencePair], eval_fraction: float, seed: int = 0
) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """(train, eval): whole questions go to eval, about ``eval_fraction`` of them, chosen by ``seed``."""
    if not 0 <= eval_fraction < 1:
        raise DatasetError(f"eval_fraction must be in [0, 1), got {eval_fraction}")
    ids = sorted({p.id for p in pairs})
    if eval_fraction == 0:
        return list(pairs), []
    if len(ids) < 2:
        raise DatasetError(f"{len(ids)} question(s): cannot split by question; set eval_fraction to 0")
    random.Random(seed).shuffle(ids)
    held = set(ids[: min(len(ids) - 1, max(1, math.ceil(eval_fraction * len(ids))))])
    return [p for p in pairs if p.id not in held], [p for p in pairs if p.id in held]


def encode(tokenizer: Any, prompt: Messages, completion: str) -> list[int]:
    """Token ids of prompt + answer, as the reward model reads them (its score is at the last one).

    With a chat template: the conversation with the answer as the last assistant turn.
    Without one: the prompt's text, a newline, the answer and the eos token.
    """
    if getattr(tokenizer, "chat_template", None) and prompt:
        messages = [dict(m) for m in prompt] + [{"role": "assistant", "content": completion}]
        ids = tokenizer.apply_chat_template(messages, tokenize=True)
        if isinstance(ids, Mapping) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        return [int(i) for i in ids]
    text = "".join(m["content"] + "\n" for m in prompt) + completion
    ids = tokenizer(text, add_special_tokens=True)["input_ids"]
    eos = tokenizer.eos_token_id
    if eos is not None and (not ids or ids[-1] != eos):
        ids = [*ids, eos]
    return [int(i) for i in ids]


@dataclass(frozen=True)
class LengthReport:
    """How many pairs the token cutoff touched, and what was done with them."""

    pairs: int
    over_cutoff: int
    """Pairs with chosen or rejected longer than ``max_length_tokens``."""
    max_length_tokens: int
    action: Overlong
    longest_tokens: int
    mean_tokens: float
    dropped: int = 0
    truncated: int = 0
    over_by_source: Mapping[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the log."""
        if not self.over_cutoff:
            return f"{self.pairs} pairs, all within {self.max_length_tokens} tokens (longest {self.longest_tokens})"
        done = f"dropped {self.dropped}" if self.action == "drop" else f"truncated {self.truncated}"
        return (
            f"{self.pairs} pairs, {self.over_cutoff} longer than {self.max_length_tokens} tokens "
            f"(longest {self.longest_tokens}): {done}"
        )


def _cut(ids: list[int], max_length: int) -> list[int]:
    """The first ``max_length - 1`` tokens and the last: the score stays on the text's final token."""
    return ids if len(ids) <= max_length else [*ids[: max_length - 1], ids[-1]]


def encode_pairs(
    tokenizer: Any,
    pairs: Iterable[PreferencePair],
    max_length_tokens: int,
    overlong: Overlong,
    *,
    margin_scale: float | None = None,
) -> tuple[list[dict[str, Any]], LengthReport]:
    """TRL's tokenised preference rows (``chosen_ids``, ``rejected_ids``, optional ``margin``) and the report.

    ``margin_scale`` set: every row gets ``margin`` = the row's own margin, else
    ``margin_scale * (chosen_pass_rate - rejected_pass_rate)``; a pair with neither is an error.
    """
    if overlong not in ("truncate", "drop"):
        raise DatasetError(f"overlong must be 'truncate' or 'drop', got {overlong!r}")
    if max_length_tokens < 2:
        raise DatasetError(f"max_length_tokens must be at least 2, got {max_length_tokens}")
    rows: list[dict[str, Any]] = []
    count = over = dropped = truncated = longest = total = 0
    by_source: dict[str, int] = {}
    for pair in pairs:
        count += 1
        chosen, rejected = encode(tokenizer, pair.prompt, pair.chosen), encode(tokenizer, pair.prompt, pair.rejected)
        size = max(len(chosen), len(rejected))
        longest = max(longest, size)
        total += len(chosen) + len(rejected)
        if size > max_length_tokens:
            over += 1
            by_source[pair.source] = by_source.get(pair.source, 0) + 1
            if overlong == "drop":
                dropped += 1
                continue
            truncated += 1
            chosen, rejected = _cut(chosen, max_length_tokens), _cut(rejected, max_length_tokens)
        row: dict[str, Any] = {"chosen_ids": chosen, "rejected_ids": rejected}
        if margin_scale is not None:
            if pair.margin is not None:
                row["margin"] = pair.margin
            elif pair.chosen_pass_rate is not None and pair.rejected_pass_rate is not None:
                row["margin"] = margin_scale * (pair.chosen_pass_rate - pair.rejected_pass_rate)
            else:
                raise DatasetError(
                    f"pair of question {pair.id!r} has no margin and no pass rates; "
                    "train without a margin or give chosen_pass_rate/rejected_pass_rate"
                )
        rows.append(row)
    report = LengthReport(
        pairs=count,
        over_cutoff=over,
        max_length_tokens=max_length_tokens,
        action=overlong,
        longest_tokens=longest,
        mean_tokens=round(total / (2 * count), 1) if count else 0.0,
        dropped=dropped,
        truncated=truncated,
        over_by_source=by_source,
    )
    return rows, report
