"""Dataset and sample files: JSONL (plain or gzip), JSON, parquet, or a Hugging Face hub name.

Every reader names the file and line of a bad record; the hub is touched only for a
name that is not a local path (and needs network and the ``datasets`` package).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .base import BenchmarkError

__all__ = ["is_local", "read_records", "read_samples"]

_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".parquet", ".ndjson")


def is_local(source: str | Path) -> bool:
    """True for an existing path or a name with a data-file suffix (so a typo is not sent to the hub)."""
    text = str(source)
    return os.path.exists(text) or text.endswith(_SUFFIXES) or text.startswith((".", "/", "~"))


def _open(path: str) -> Any:
    return gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")


def _jsonl(path: str) -> Iterator[dict[str, Any]]:
    with _open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise BenchmarkError(f"{path}: line {lineno}: invalid JSON ({str(exc)[:100]})") from None
            if not isinstance(record, dict):
                raise BenchmarkError(f"{path}: line {lineno}: expected a JSON object, got {type(record).__name__}")
            record.setdefault("_line", lineno)
            yield record


def _json(path: str) -> list[dict[str, Any]]:
    with _open(path) as f:
        text = f.read()
    try:
        data = json.loads(text)
    except ValueError:
        return list(_jsonl(path))  # JSON lines under a .json name
    if isinstance(data, dict):
        # {"task_id": record, ...} or {"data": [...]} / {"eval": ...} are not dataset files
        values = list(data.values())
        if values and all(isinstance(v, dict) for v in values):
            data = [dict(v, task_id=v.get("task_id", k)) for k, v in data.items()]
        else:
            raise BenchmarkError(f"{path}: expected a list of records (or JSON lines), got an object")
    if not isinstance(data, list):
        raise BenchmarkError(f"{path}: expected a list of records, got {type(data).__name__}")
    for i, record in enumerate(data):
        if not isinstance(record, dict):
            raise BenchmarkError(f"{path}: record {i}: expected an object, got {type(record).__name__}")
    return data


def read_records(source: str | Path, *, split: str = "test", hub_config: str | None = None) -> list[dict[str, Any]]:
    """All records of a local file or a hub dataset split (``datasets`` is imported only then)."""
    text = str(source)
    if is_local(text):
        path = os.path.expanduser(text)
        if not os.path.exists(path):
            raise BenchmarkError(f"dataset file not found: {path}")
        if os.path.isdir(path):
            import datasets  # type: ignore[import-untyped,unused-ignore]

            ds = datasets.load_from_disk(path)
            if isinstance(ds, datasets.DatasetDict):
                ds = ds[split]
            return [dict(r) for r in ds]
        if path.endswith(".parquet"):
            import pandas as pd

            return [dict(r) for r in pd.read_parquet(path).to_dict("records")]
        if path.endswith((".json", ".json.gz")):
            return _json(path)
        return list(_jsonl(path))
    try:
        import datasets  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:  # pragma: no cover - datasets is a core dependency of benchmarks
        raise BenchmarkError(f"loading {text!r} from the hub needs the 'datasets' package: {exc}") from None
    try:  # pragma: no cover - needs the hub
        ds = datasets.load_dataset(text, hub_config, split=split)
    except Exception as exc:  # pragma: no cover - needs the hub
        raise BenchmarkError(
            f"could not load {text!r} (split {split!r}) from the Hugging Face hub: {exc}. "
            "Offline, pass a local file with --dataset PATH (.jsonl, .jsonl.gz, .json or .parquet)."
        ) from None
    return [dict(r) for r in ds]  # pragma: no cover - needs the hub


def read_samples(path: str | Path) -> list[dict[str, Any]]:
    """Sample records (``task_id`` plus ``solution`` or ``completion``), in file order.

    Raises BenchmarkError naming the file and line of the first malformed record.
    """
    text = str(path)
    if not os.path.exists(text):
        raise BenchmarkError(f"samples file not found: {text}")
    records = _json(text) if text.endswith((".json", ".json.gz")) else list(_jsonl(text))
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
