"""Checking a reward model: pairwise accuracy and margin on held-out pairs, and RM-Bench.

A tie (equal scores) is counted wrong and reported apart: a model that scores
everything the same must not look 50% right. RM-Bench files hold, per prompt, lists of
chosen and rejected answers in three styles each (concise, detailed, detailed with
markdown); RM-Bench's accuracy matrix compares every chosen style with every rejected
style: *easy* is the mean over chosen-more-styled cells (below the diagonal), *normal*
the diagonal, *hard* chosen-less-styled (above it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import DatasetError
from .data import PreferencePair
from .scoring import RewardModel, as_prompt

__all__ = [
    "PairwiseReport",
    "RMBenchItem",
    "RMBenchReport",
    "load_rm_bench",
    "pairwise_from_scores",
    "pairwise_report",
    "rm_bench_from_scores",
    "rm_bench_report",
    "write_report",
]


@dataclass(frozen=True)
class PairwiseReport:
    """Accuracy (ties count wrong), ties and mean margin, overall and per source."""

    pairs: int
    correct: int
    ties: int
    accuracy: float
    mean_margin: float
    """Mean of score(chosen) - score(rejected)."""
    per_source: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "correct": self.correct,
            "ties": self.ties,
            "accuracy": self.accuracy,
            "mean_margin": self.mean_margin,
            "per_source": {k: dict(v) for k, v in self.per_source.items()},
        }


def _summary(margins: Sequence[float]) -> dict[str, float]:
    n = len(margins)
    correct = sum(1 for m in margins if m > 0)
    return {
        "pairs": n,
        "correct": correct,
        "ties": sum(1 for m in margins if m == 0),
        "accuracy": correct / n if n else float("nan"),
        "mean_margin": sum(margins) / n if n else float("nan"),
    }


def pairwise_from_scores(
    chosen: Sequence[float], rejected: Sequence[float], sources: Sequence[str] | None = None
) -> PairwiseReport:
    """The report of already-computed scores (the arithmetic, apart from the model)."""
    if len(chosen) != len(rejected):
        raise DatasetError(f"{len(chosen)} chosen scores for {len(rejected)} rejected ones")
    margins = [c - r for c, r in zip(chosen, rejected)]
    groups: dict[str, list[float]] = {}
    for m, source in zip(margins, sources or [""] * len(margins)):
        groups.setdefault(source or "(none)", []).append(m)
    overall = _summary(margins)
    return PairwiseReport(
        pairs=int(overall["pairs"]),
        correct=int(overall["correct"]),
        ties=int(overall["ties"]),
        accuracy=overall["accuracy"],
        mean_margin=overall["mean_margin"],
        per_source={k: _summary(v) for k, v in sorted(groups.items())},
    )


def pairwise_report(model: RewardModel, pairs: Sequence[PreferencePair]) -> PairwiseReport:
    """Score both sides of every pair and report."""
    if not pairs:
        raise DatasetError("no pairs to evaluate")
    scores = model.score([p.prompt for p in pairs] * 2, [p.chosen for p in pairs] + [p.rejected for p in pairs])
    n = len(pairs)
    return pairwise_from_scores(scores[:n], scores[n:], [p.source for p in pairs])


@dataclass(frozen=True)
class RMBenchItem:
    """One RM-Bench prompt: its chosen and rejected answers, one per style."""

    id: str
    prompt: str
    chosen: tuple[str, ...]
    rejected: tuple[str, ...]
    domain: str = ""


def load_rm_bench(path: str) -> list[RMBenchItem]:
    """RM-Bench rows (``prompt``, ``chosen`` and ``rejected`` lists of equal length, ``id``, ``domain``)
    from a local JSON or JSONL copy."""
    from harness.errors import DataError
    from harness.io import read_records

    try:
        rows = read_records(path)
    except DataError as exc:
        raise DatasetError(str(exc)) from None
    out = []
    for i, row in enumerate(rows):
        where = f"{path}: row {i + 1}"
        chosen, rejected = row.get("chosen"), row.get("rejected")
        if not isinstance(row.get("prompt"), str):
            raise DatasetError(f"{where}: needs a 'prompt' string")
        if not isinstance(chosen, list) or not isinstance(rejected, list) or not chosen:
            raise DatasetError(f"{where}: 'chosen' and 'rejected' must be non-empty lists (one answer per style)")
        if len(chosen) != len(rejected):
            raise DatasetError(f"{where}: {len(chosen)} chosen answers but {len(rejected)} rejected")
        out.append(
            RMBenchItem(
                id=str(row.get("id", i)),
                prompt=row["prompt"],
                chosen=tuple(map(str, chosen)),
                rejected=tuple(map(str, rejected)),
                domain=str(row.get("domain", "")),
            )
        )
    return out


@dataclass(frozen=True)
class RMBenchReport:
    """RM-Bench's easy / normal / hard accuracies (ties wrong), overall and per domain."""

    items: int
    easy: float
    normal: float
    hard: float
    per_domain: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @property
    def average(self) -> float:
        return (self.easy + self.normal + self.hard) / 3

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "easy": self.easy,
            "normal": self.normal,
            "hard": self.hard,
            "average": self.average,
            "per_domain": {k: dict(v) for k, v in self.per_domain.items()},
        }


def _levels(matrices: Sequence[Sequence[Sequence[bool]]]) -> dict[str, float]:
    sums = {"easy": 0.0, "normal": 0.0, "hard": 0.0}
    counts = {"easy": 0, "normal": 0, "hard": 0}
    for m in matrices:
        k = len(m)
        for i in range(k):
            for j in range(k):
                level = "normal" if i == j else "easy" if i > j else "hard"
                sums[level] += m[i][j]
                counts[level] += 1
    return {lvl: sums[lvl] / counts[lvl] if counts[lvl] else float("nan") for lvl in sums}


def rm_bench_from_scores(
    items: Sequence[RMBenchItem], chosen: Sequence[Sequence[float]], rejected: Sequence[Sequence[float]]
) -> RMBenchReport:
    """The report of already-computed scores: ``chosen[i][s]`` is item i's chosen answer in style s."""
    matrices = [[[c > r for r in rej] for c in cho] for cho, rej in zip(chosen, rejected)]
    by_domain: dict[str, list[list[list[bool]]]] = {}
    for item, m in zip(items, matrices):
        by_domain.setdefault(item.domain or "(none)", []).append(m)
    overall = _levels(matrices)
    return RMBenchReport(
        items=len(items),
        easy=overall["easy"],
        normal=overall["normal"],
        hard=overall["hard"],
        per_domain={d: _levels(ms) for d, ms in sorted(by_domain.items())},
    )


def rm_bench_report(model: RewardModel, items: Sequence[RMBenchItem]) -> RMBenchReport:
    """Score every answer of every item and report."""
    prompts, texts = [], []
    for item in items:
        for text in item.chosen + item.rejected:
            prompts.append(as_prompt(item.prompt))
            texts.append(text)
    scores = iter(model.score(prompts, texts))
    chosen, rejected = [], []
    for item in items:
        chosen.append([next(scores) for _ in item.chosen])
        rejected.append([next(scores) for _ in item.rejected])
    return rm_bench_from_scores(items, chosen, rejected)


def write_report(path: str, report: PairwiseReport | RMBenchReport) -> None:
    """The report as JSON."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report.as_dict(), f, indent=2)
        f.write("\n")
