"""Records in and out: JSONL, parquet and Hugging Face ``datasets``.

Every stage reads rows as plain dicts and writes plain dicts. Reading never stops at a
bad row: a line that is not a JSON object comes back as a :class:`Row` with ``error``
set, so the stage counts it with its reason. Hub datasets need the ``datasets``
package and network access; local files need neither.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Row", "count_rows", "read_records", "read_rows", "resolve_source", "write_records"]

_JSONL = (".jsonl", ".json", ".ndjson")


@dataclass(frozen=True)
class Row:
    """One input row: its position, its data, or why it could not be read."""

    index: int
    data: dict[str, Any] | None
    error: str | None = None


def _is_hub(source: str) -> bool:
    return source.startswith("hf:") or (
        not os.path.exists(source) and "/" in source and not source.endswith(_JSONL + (".parquet",))
    )


def read_rows(source: str | Path, *, split: str = "train", limit: int | None = None) -> Iterator[Row]:
    """Rows of a JSONL / JSON-lines file, a parquet file, a ``save_to_disk`` folder or a hub dataset.

    ``hf:org/name`` (or any ``org/name`` that is not a local path) loads a hub dataset's
    ``split`` with ``datasets``.
    """
    source = resolve_source(source)
    it: Iterator[Row]
    if _is_hub(source):
        it = _hub_rows(source.removeprefix("hf:"), split)
    elif os.path.isdir(source):
        it = _disk_rows(source, split)
    elif source.endswith(".parquet"):
        it = _parquet_rows(source)
    else:
        it = _jsonl_rows(source)
    for row in it:
        if limit is not None and row.index >= limit:
            return
        yield row


def resolve_source(source: str | Path) -> str:
    """``@bundled`` -> the bundled seed set; ``@bundled/NAME`` -> a bundled data file."""
    text = str(source)
    if text == "@bundled" or text.startswith("@bundled/"):
        from .data import bundled_path

        return str(bundled_path(text.partition("/")[2] or "seeds.jsonl"))
    return text


def read_records(source: str | Path, **kwargs: Any) -> list[dict[str, Any]]:
    """Every well-formed record of ``source`` (bad lines raise ValueError naming them)."""
    out = []
    for row in read_rows(source, **kwargs):
        if row.error is not None:
            raise ValueError(f"{source}: row {row.index + 1}: {row.error}")
        assert row.data is not None
        out.append(row.data)
    return out


def count_rows(source: str | Path) -> int | None:
    """How many rows ``source`` has, when that is cheap to know (for progress bars)."""
    source = resolve_source(source)
    if os.path.isfile(source) and not source.endswith(".parquet"):
        with open(source, "rb") as f:
            return sum(1 for line in f if line.strip())
    if source.endswith(".parquet") and os.path.isfile(source):
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        return int(pq.ParquetFile(source).metadata.num_rows)
    return None


def _jsonl_rows(path: str) -> Iterator[Row]:
    with open(path, "rb") as f:
        index = 0
        for raw in f:
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except (ValueError, RecursionError) as exc:
                yield Row(index, None, f"invalid JSON: {str(exc)[:120]}")
            else:
                if isinstance(data, dict):
                    yield Row(index, data)
                else:
                    yield Row(index, None, f"a row must be a JSON object, got {type(data).__name__}")
            index += 1


def _parquet_rows(path: str) -> Iterator[Row]:
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    index = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        for data in batch.to_pylist():
            yield Row(index, data)
            index += 1


def _disk_rows(path: str, split: str) -> Iterator[Row]:
    import datasets  # type: ignore[import-untyped,unused-ignore]

    ds = datasets.load_from_disk(path)
    if isinstance(ds, datasets.DatasetDict):
        ds = ds[split]
    for index, data in enumerate(ds):
        yield Row(index, dict(data))


def _hub_rows(name: str, split: str) -> Iterator[Row]:  # pragma: no cover - needs the hub
    import datasets  # type: ignore[import-untyped,unused-ignore]

    for index, data in enumerate(datasets.load_dataset(name, split=split, streaming=True)):
        yield Row(index, dict(data))


def write_records(records: Iterable[dict[str, Any]], dest: str | Path) -> int:
    """Write ``records`` to ``dest`` by its form: ``.jsonl``, ``.parquet``, or a folder (``datasets``).

    Returns the number written. The file is written whole, then moved into place, so a
    reader never sees half of it.
    """
    dest = str(dest)
    rows = list(records)
    parent = os.path.dirname(dest) or "."
    os.makedirs(parent, exist_ok=True)
    if dest.endswith(_JSONL):
        tmp = dest + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        os.replace(tmp, dest)
    elif dest.endswith(".parquet"):
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        tmp = dest + ".tmp"
        pq.write_table(pa.Table.from_pylist(rows), tmp)
        os.replace(tmp, dest)
    else:
        import datasets  # type: ignore[import-untyped,unused-ignore]

        datasets.Dataset.from_list(rows).save_to_disk(dest)
    return len(rows)
