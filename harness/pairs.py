"""Stage 4, preference pairs: (chosen, rejected) completions of one question, far apart.

AceCodePair: chosen pass rate >= 0.8, chosen - rejected >= 0.4, rejected > 0 (so the
rejected program is plausible, not garbage). Completions are de-duplicated by their
program text first, so the same program never appears as two pairs. Output is the
AceCodePair schema (``instruction``, ``input``, ``chosen``, ``rejected``, ``id``) or TRL's
preference format (conversational, or plain strings).

Pairs (and ``hard``) are pure functions of their input, so they are recomputed whole
and written atomically instead of checkpointed: a Ctrl-C leaves the old file intact.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from .config import PairsConfig
from acesandbox.extract import as_program, extract_code
from .io import read_rows, write_records

__all__ = ["Rejects", "bad_pass_rate", "build_pairs", "make_pairs", "program_key"]

_EPS = 1e-9


def program_key(completion: str) -> str:
    """What two completions share when they hold the same program (code, blank lines and trailing spaces ignored)."""
    code = as_program(extract_code(completion)) or completion
    return "\n".join(line.rstrip() for line in code.strip().splitlines() if line.strip())


def bad_pass_rate(inferences: list[Any]) -> str | None:
    """Why an inference's ``pass_rate`` is unusable (not a number in [0, 1]: null, text, NaN), or None.

    One such row is rejected by name; otherwise ``float()`` would stop the whole stage, and a
    NaN would sort anywhere and move the medians of ``hard`` for every other question.
    """
    for i, inf in enumerate(inferences):
        rate = inf.get("pass_rate")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            return f"inferences[{i}].pass_rate must be a number in [0, 1], got {rate!r}"[:200]
    return None


def _check(data: dict[str, Any] | None, error: str | None) -> tuple[str, str] | None:
    if data is None:
        return "bad_row", error or ""
    if not isinstance(data.get("question"), str):
        return "no_question", "the row has no 'question'"
    infs = data.get("inferences")
    if not isinstance(infs, list) or not all(
        isinstance(i, dict) and "completion" in i and "pass_rate" in i for i in infs
    ):
        return "no_inferences", "the row has no 'inferences' list with completion and pass_rate"
    why = bad_pass_rate(infs)
    if why is not None:
        return "bad_pass_rate", why
    return None


def make_pairs(
    record: dict[str, Any], config: PairsConfig, rng: random.Random | None = None
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The (chosen, rejected) inference pairs of one AceCode-87K record."""
    unique: dict[str, dict[str, Any]] = {}
    for inf in record["inferences"]:
        if not isinstance(inf.get("completion"), str):
            continue
        key = program_key(inf["completion"])
        if key and key not in unique:
            unique[key] = inf
    items = list(unique.values())
    chosen = [i for i in items if float(i["pass_rate"]) >= config.min_chosen - _EPS]
    rejected = [i for i in items if float(i["pass_rate"]) > config.rejected_above + _EPS]
    out = [
        (c, r)
        for c in chosen
        for r in rejected
        if c is not r and float(c["pass_rate"]) - float(r["pass_rate"]) >= config.min_gap - _EPS
    ]
    if config.max_pairs_per_question is not None and len(out) > config.max_pairs_per_question:
        out = (rng or random.Random(config.seed)).sample(out, config.max_pairs_per_question)
    return out


def _text(inf: dict[str, Any], config: PairsConfig) -> str:
    if config.text == "code":
        return as_program(extract_code(inf["completion"])) or inf["completion"]
    return str(inf["completion"])


def _format(record: dict[str, Any], c: dict[str, Any], r: dict[str, Any], config: PairsConfig) -> dict[str, Any]:
    chosen, rejected = _text(c, config), _text(r, config)
    if config.format == "acecodepair":
        return {
            "instruction": record["question"],
            "input": "",
            "chosen": chosen,
            "rejected": rejected,
            "id": record.get("id"),
        }
    messages = record.get("context_messages") or [{"role": "user", "content": record["question"]}]
    if config.format == "trl":
        return {
            "prompt": messages,
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}],
            "id": record.get("id"),
        }
    prompt = "\n\n".join(m["content"] for m in messages)
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected, "id": record.get("id")}


def build_pairs(config: PairsConfig) -> dict[str, Any]:
    """Build the pairs of every question of ``config.input``; returns the summary."""
    t0 = time.monotonic()
    store = Rejects(config.output)
    run: Counter[str] = Counter()
    per_question: Counter[int] = Counter()
    rng = random.Random(config.seed)

    def rows() -> Iterator[dict[str, Any]]:
        for row in read_rows(config.input, limit=config.limit):
            run["rows"] += 1
            problem = _check(row.data, row.error)
            if problem is not None:
                ident = row.data.get("id") if row.data else None
                reason, detail = problem
                store.reject(ident if ident is not None else f"row-{row.index + 1}", reason,
                             f"{row.where}: {detail}" if row.where else detail)
                run[f"rejected:{problem[0]}"] += 1
                continue
            assert row.data is not None
            found = make_pairs(row.data, config, rng)
            per_question[len(found)] += 1
            for c, r in found:
                yield _format(row.data, c, r, config)

    written = write_records(rows(), config.output)
    summary = {
        "stage": "pairs",
        "input": config.input,
        "output": config.output,
        "elapsed_s": round(time.monotonic() - t0, 3),
        "questions": sum(per_question.values()),
        "questions_with_pairs": sum(v for k, v in per_question.items() if k > 0),
        "pairs": written,
        "pairs_per_question": {str(k): v for k, v in sorted(per_question.items())},
        "format": config.format,
        "rejected_items": dict(store.counts),
        "this_run": dict(run),
    }
    store.finish(summary)
    return summary


class Rejects:
    """Rejections and summary of a stage that rewrites its output whole."""

    def __init__(self, output: str) -> None:
        from .checkpoint import stem_of

        stem = stem_of(output)
        self.rejects_path = stem + ".rejects.jsonl"
        self.summary_path = stem + ".summary.json"
        self.counts: Counter[str] = Counter()
        self._lines: list[dict[str, Any]] = []

    def reject(self, ident: Any, reason: str, detail: str = "") -> None:
        self.counts[reason] += 1
        self._lines.append({"id": ident, "reason": reason, "detail": detail[:2000], "retry": False})

    def finish(self, summary: dict[str, Any]) -> None:
        import json
        import os

        write_records(self._lines, self.rejects_path)
        tmp = self.summary_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2, sort_keys=True, default=str)
            f.write("\n")
        os.replace(tmp, self.summary_path)
