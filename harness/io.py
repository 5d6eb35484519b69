"""Records in and out: the toolkit's one dataset reader (harness, benchmarks and rm_rl use it).

A source is a JSONL file (``.jsonl``, ``.ndjson``, optionally ``.gz``), a JSON file (a
list of records, ``{"train": [...]}``-style splits, or records keyed by id), a parquet
file, a folder (written by ``datasets.save_to_disk``, or holding data files), or a
Hugging Face hub name (``hf:org/name``, or any name that is not a local path).

:func:`read_rows` never stops at a bad row: a line that is not a JSON object comes back
as a :class:`Row` with ``error`` set, so a stage counts it with its reason.
:func:`read_records` is strict: the first bad row raises :class:`~harness.errors.DataError`
naming the file and line. Split rule, one for every source with splits: the ``split``
asked for; else the only split; else ``train``; else ``test``.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import DataError

__all__ = [
    "Row",
    "count_rows",
    "is_local",
    "pick_split",
    "read_records",
    "read_rows",
    "resolve_source",
    "write_records",
]

_JSONL = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
_JSON = (".json", ".json.gz")
_PARQUET = (".parquet",)
_DATA_FILES = _JSONL + _JSON + _PARQUET
_SPLIT_KEYS = ("train", "test", "data", "rows")
_DISK_MARKERS = ("dataset_info.json", "dataset_dict.json", "state.json")


@dataclass(frozen=True)
class Row:
    """One input row: its position, its data or why it could not be read, and its file line."""

    index: int
    data: dict[str, Any] | None
    error: str | None = None
    where: str = ""
    """``path: line N`` (or ``path: record N``) for a row read from a file; empty otherwise."""
    line: int | None = None
    """The row's line in a JSON-lines file."""


def resolve_source(source: str | Path) -> str:
    """``@bundled`` -> the bundled seed set; ``@bundled/NAME`` -> a bundled data file."""
    text = str(source)
    if text == "@bundled" or text.startswith("@bundled/"):
        from .data import bundled_path

        return str(bundled_path(text.partition("/")[2] or "seeds.jsonl"))
    return text


def is_local(source: str | Path) -> bool:
    """True for an existing path or a name that looks like one (so a typo is not sent to the hub)."""
    text = str(source)
    if text.startswith("hf:"):
        return False
    return os.path.exists(text) or text.endswith(_DATA_FILES) or text.startswith((".", "/", "~"))


def pick_split(available: Iterable[str], split: str | None, where: str) -> str:
    """The split to read: ``split`` if given, else the only one, else ``train``, else ``test``."""
    names = list(available)
    if split is not None:
        if split not in names:
            raise DataError(f"{where}: no split {split!r}; it has {sorted(names)}")
        return split
    if len(names) == 1:
        return names[0]
    for name in ("train", "test"):
        if name in names:
            return name
    raise DataError(f"{where}: several splits {sorted(names)} and none is 'train' or 'test'; name one with split=")


def read_rows(
    source: str | Path,
    *,
    split: str | None = None,
    limit: int | None = None,
    columns: Sequence[str] | None = None,
    hub_config: str | None = None,
    key_field: str = "id",
) -> Iterator[Row]:
    """The rows of ``source`` (see the module docstring), at most ``limit`` of them.

    ``columns`` keeps only those columns where the format can skip the rest cheaply
    (parquet, datasets); ``hub_config`` names a hub dataset's configuration;
    ``key_field`` receives the key of a JSON object of records keyed by id.
    """
    text = resolve_source(source)
    it: Iterator[Row]
    if not is_local(text):
        it = _hub_rows(text.removeprefix("hf:"), split, hub_config, columns)
    else:
        path = os.path.expanduser(text)
        if os.path.isdir(path):
            it = _dir_rows(path, split, columns, key_field)
        elif not os.path.exists(path):
            raise DataError(f"{path}: dataset file not found")
        else:
            it = _file_rows(path, split, columns, key_field)
    for row in it:
        if limit is not None and row.index >= limit:
            return
        yield row


def read_records(
    source: str | Path,
    *,
    split: str | None = None,
    limit: int | None = None,
    columns: Sequence[str] | None = None,
    hub_config: str | None = None,
    key_field: str = "id",
    line_field: str | None = None,
) -> list[dict[str, Any]]:
    """Every record of ``source``; the first malformed one raises DataError naming file and line.

    ``line_field``, when given, records each JSONL row's line number under that key (for
    later messages about the row); the other arguments are :func:`read_rows`'s.
    """
    out = []
    for row in read_rows(source, split=split, limit=limit, columns=columns, hub_config=hub_config, key_field=key_field):
        if row.error is not None:
            raise DataError(f"{row.where or f'{source}: row {row.index + 1}'}: {row.error}")
        assert row.data is not None
        if line_field is not None and row.line is not None:
            row.data.setdefault(line_field, row.line)
        out.append(row.data)
    return out


def count_rows(source: str | Path) -> int | None:
    """How many rows ``source`` has, when that is cheap to know (for progress bars)."""
    source = os.path.expanduser(resolve_source(source))
    if os.path.isfile(source) and source.endswith(_PARQUET):
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        return int(pq.ParquetFile(source).metadata.num_rows)
    if os.path.isfile(source) and source.endswith(_JSONL):
        with _open(source, "rb") as f:
            return sum(1 for line in f if line.strip())
    return None


# ------------------------------------------------------------------ formats


def _open(path: str, mode: str = "rb") -> IO[Any]:
    if path.endswith(".gz"):
        return gzip.open(path, mode)  # type: ignore[return-value]
    return open(path, mode)


def _file_rows(path: str, split: str | None, columns: Sequence[str] | None, key_field: str) -> Iterator[Row]:
    if path.endswith(_PARQUET):
        return _parquet_rows(path, columns)
    if path.endswith(_JSON):
        return _json_rows(path, split, key_field)
    if path.endswith(_JSONL):
        return _jsonl_rows(path)
    raise DataError(f"{path}: unknown format; use .jsonl, .json (optionally .gz), .parquet or a dataset folder")


def _line_row(index: int, raw: bytes, path: str, line: int) -> Row:
    where = f"{path}: line {line}"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return Row(index, None, f"invalid JSON: {str(exc)[:120]}", where, line)
    if not isinstance(data, dict):
        return Row(index, None, f"expected a JSON object, got {type(data).__name__}", where, line)
    return Row(index, data, None, where, line)


def _jsonl_rows(path: str) -> Iterator[Row]:
    with _open(path) as f:
        index = 0
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            yield _line_row(index, raw, path, lineno)
            index += 1


def _json_rows(path: str, split: str | None, key_field: str) -> Iterator[Row]:
    with _open(path) as f:
        text = f.read()
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        yield from _jsonl_rows(path)  # JSON lines under a .json name
        return
    if isinstance(data, Mapping):
        splits = {k: v for k, v in data.items() if k in _SPLIT_KEYS and isinstance(v, list)}
        if splits:
            data = splits[pick_split(splits, split, path)]
        elif data and all(isinstance(v, Mapping) for v in data.values()):
            data = [{key_field: k, **v} for k, v in data.items()]
        else:
            raise DataError(f"{path}: expected a list of records (or JSON lines), got an object")
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a list of records, got {type(data).__name__}")
    for i, record in enumerate(data):
        where = f"{path}: record {i}"
        if isinstance(record, dict):
            yield Row(i, record, None, where)
        else:
            yield Row(i, None, f"expected a JSON object, got {type(record).__name__}", where)


def _parquet_rows(path: str, columns: Sequence[str] | None) -> Iterator[Row]:
    try:
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise DataError(f"{path}: reading parquet needs pyarrow: pip install pyarrow") from exc
    try:
        handle = pq.ParquetFile(path)
        keep = None if columns is None else [c for c in columns if c in handle.schema_arrow.names]
        batches = handle.iter_batches(batch_size=1024, columns=keep)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types; name the file
        raise DataError(f"{path}: cannot read parquet: {exc}") from None
    index = 0
    for batch in batches:
        for data in batch.to_pylist():
            yield Row(index, data, None, f"{path}: row {index + 1}")
            index += 1


def _dir_rows(path: str, split: str | None, columns: Sequence[str] | None, key_field: str) -> Iterator[Row]:
    if any(os.path.exists(os.path.join(path, m)) for m in _DISK_MARKERS):
        import datasets  # type: ignore[import-untyped,unused-ignore]

        ds = datasets.load_from_disk(path)
        if isinstance(ds, datasets.DatasetDict):
            ds = ds[pick_split(ds.keys(), split, path)]
        yield from _dataset_rows(ds, columns)
        return
    files = sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(_DATA_FILES))
    if not files:
        raise DataError(f"{path}: no .jsonl, .json or .parquet files in this folder, and not a saved dataset")
    index = 0
    for file in files:
        for row in _file_rows(file, split, columns, key_field):
            yield Row(index, row.data, row.error, row.where, row.line)
            index += 1


def _dataset_rows(ds: Any, columns: Sequence[str] | None) -> Iterator[Row]:
    if columns is not None:
        ds = ds.select_columns([c for c in ds.column_names if c in columns])
    for index, data in enumerate(ds):
        yield Row(index, dict(data))


def _hub_rows(name: str, split: str | None, hub_config: str | None, columns: Sequence[str] | None) -> Iterator[Row]:
    try:
        import datasets  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise DataError(f"{name}: loading a hub dataset needs the datasets package: pip install datasets") from exc
    try:
        ds = datasets.load_dataset(name, hub_config, split=split)
        if isinstance(ds, Mapping):
            ds = ds[pick_split(ds.keys(), split, name)]
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - network, auth, missing split: name the dataset
        raise DataError(
            f"{name}: cannot load this dataset from the Hugging Face hub (split {split!r}): {exc}; "
            "offline, pass a local file (.jsonl, .json, .parquet) or a dataset folder"
        ) from None
    yield from _dataset_rows(ds, columns)


def write_records(records: Iterable[dict[str, Any]], dest: str | Path) -> int:
    """Write ``records`` to ``dest`` by its form: ``.jsonl``, ``.parquet``, or a folder (``datasets``).

    Returns the number written. The file is written whole, then moved into place, so a
    reader never sees half of it.
    """
    dest = str(dest)
    rows = list(records)
    parent = os.path.dirname(dest) or "."
    os.makedirs(parent, exist_ok=True)
    if dest.endswith((".jsonl", ".json", ".ndjson")):
        tmp = dest + ".tmp"
        # backslashreplace: a lone surrogate is written as its \uXXXX escape (read back the same)
        with open(tmp, "w", encoding="utf-8", errors="backslashreplace") as f:
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
