"""BigCodeBench records as problems (required fields checked, the Hard subset selected)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from ..base import Problem
from ..errors import BenchmarkError
from .tasks import HARD_TASK_IDS

__all__ = ["DEFAULT_VERSION", "HUB_HARD_NAME", "HUB_NAME", "REQUIRED_FIELDS", "problems_from_records", "record_libs",
           "task_number"]

HUB_NAME = "bigcode/bigcodebench"
HUB_HARD_NAME = "bigcode/bigcodebench-hard"
DEFAULT_VERSION = "v0.1.4"
"""The hub split read by default (the latest release of both datasets at the time of writing)."""

REQUIRED_FIELDS = ("task_id", "complete_prompt", "instruct_prompt", "code_prompt", "canonical_solution", "test", "entry_point")


def record_libs(record: Mapping[str, Any]) -> list[str]:
    raw = record.get("libs", "[]")
    if isinstance(raw, (list, tuple)):
        return [str(x) for x in raw]
    try:
        value = ast.literal_eval(raw) if isinstance(raw, str) else None
    except (ValueError, SyntaxError):
        value = None
    if not isinstance(value, (list, tuple)):
        raise BenchmarkError(f"{record.get('task_id')}: field 'libs' must hold a Python list literal, got {raw!r:.80}")
    return [str(x) for x in value]


def task_number(task_id: str) -> tuple[int, str]:
    tail = task_id.rsplit("/", 1)[-1]
    return (int(tail), task_id) if tail.isdigit() else (sys.maxsize, task_id)


def problems_from_records(
    records: Iterable[Mapping[str, Any]], *, split: str = "complete", subset: str = "full", where: str = "dataset"
) -> list[Problem]:
    """Problems from dataset records; a record missing a field raises naming it (and its line)."""
    problems: list[Problem] = []
    for i, record in enumerate(records):
        at = f"{where}: line {record.get('_line', i + 1)}"
        for name in REQUIRED_FIELDS:
            if not isinstance(record.get(name), str):
                got = "missing" if name not in record else f"a {type(record[name]).__name__}"
                raise BenchmarkError(f"{at}: field {name!r} must be a string ({got})")
        record_libs(record)  # a malformed 'libs' fails now, naming the task
        data = {k: v for k, v in record.items() if k != "_line"}
        problems.append(
            Problem(
                task_id=record["task_id"],
                prompt=record[f"{split}_prompt"],
                entry_point=record["entry_point"],
                canonical_solution=record["code_prompt"] + record["canonical_solution"],
                data=data,
            )
        )
    if subset == "hard" and any(p.task_id not in HARD_TASK_IDS for p in problems):
        problems = [p for p in problems if p.task_id in HARD_TASK_IDS]
        if not problems:
            raise BenchmarkError(f"{where}: none of its tasks is in BigCodeBench-Hard")
    return problems
