"""Dataset and sample files, read through harness's one reader (:mod:`harness.io`).

JSONL (plain or gzip), JSON, parquet, a dataset folder, or a Hugging Face hub name; every
error names the file and line of a bad record, as a BenchmarkError. Benchmarks read the
``test`` split unless told otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.io import is_local

from .base import BenchmarkError

__all__ = ["is_local", "read_records", "read_samples"]


def read_records(source: str | Path, *, split: str = "test", hub_config: str | None = None) -> list[dict[str, Any]]:
    """All records of a local file or a hub dataset split; a JSONL record's line is kept as ``_line``."""
    from harness.errors import DataError
    from harness.io import read_records as read

    try:
        return read(source, split=split, hub_config=hub_config, key_field="task_id", line_field="_line")
    except DataError as exc:
        raise BenchmarkError(str(exc)) from None


def read_samples(path: str | Path) -> list[dict[str, Any]]:
    """Sample records (``task_id`` plus ``solution`` or ``completion``), in file order.

    Raises BenchmarkError naming the file and line of the first malformed record.
    """
    text = str(path)
    if not os.path.exists(text):
        raise BenchmarkError(f"samples file not found: {text}")
    records = read_records(text)
    for i, record in enumerate(records):
        where = f"{text}: line {record.get('_line', i + 1)}"
        if not isinstance(record.get("task_id"), (str, int)):
            raise BenchmarkError(f"{where}: missing field 'task_id'")
        has = [k for k in ("solution", "completion") if k in record]
        if not has:
            raise BenchmarkError(f"{where}: needs a 'solution' or a 'completion' field")
        for k in has:
            if not isinstance(record[k], str):
                raise BenchmarkError(f"{where}: field {k!r} must be a string, got {type(record[k]).__name__}")
    return records
