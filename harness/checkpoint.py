"""Resumable stage output: records appended as they finish, so a restart skips them.

A stage writes each finished item as one JSON line, flushed within half a second and
always on exit, so Ctrl-C loses at most the items in flight (a hard kill, at most the
last half second of finished ones too), and rerunning the same command picks up where
it stopped. A torn last line from a hard kill is cut off on reopening. Whole
items a stage gives up on go to ``<stem>.rejects.jsonl`` with their reason; those
marked ``retry`` (a sandbox failure, a generation failure) are tried again on restart,
the others count as finished. Output that is not JSONL (parquet, a ``datasets`` folder)
is exported from the JSONL checkpoint ``<output>.ckpt.jsonl`` when the stage ends.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["StageStore", "stage_progress", "stem_of"]


def stage_progress(config: Any, desc: str, unit: str) -> Any:
    """A tqdm bar over ``config.input`` (its row count when cheap to know, capped at ``config.limit``),
    or None when ``config.progress`` is off."""
    if not config.progress:
        return None
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    from .io import count_rows

    total = count_rows(config.input)
    if total is not None and config.limit is not None:
        total = min(total, config.limit)
    return tqdm(total=total, desc=desc, unit=unit)


def stem_of(output: str | Path) -> str:
    """``run/synth.jsonl`` -> ``run/synth``: where a stage's side files go."""
    text = str(output).rstrip("/")
    for suffix in (".jsonl", ".parquet", ".json", ".ckpt"):
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text


def _repair(path: Path) -> None:
    """Cut a torn last line (a write interrupted by a hard kill)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        cut = f.read().rfind(b"\n") + 1
        f.truncate(cut)


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with open(path, "rb") as f:
        for raw in f:
            if raw.strip():
                try:
                    data = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(data, dict):
                    yield data


class StageStore:
    """The checkpointed output of one stage.

    ``fresh=True`` discards an earlier run's output instead of resuming it. Records are
    flushed at least every ``flush_s`` seconds and on close.
    """

    def __init__(self, output: str | Path, *, fresh: bool = False, id_field: str = "id", flush_s: float = 0.5) -> None:
        self.output = str(output)
        self.is_jsonl = self.output.endswith((".jsonl", ".json"))
        self.work = Path(self.output if self.is_jsonl else self.output.rstrip("/") + ".ckpt.jsonl")
        stem = stem_of(self.output)
        self.rejects_path = Path(stem + ".rejects.jsonl")
        self.summary_path = Path(stem + ".summary.json")
        self.id_field = id_field
        self.work.parent.mkdir(parents=True, exist_ok=True)
        if fresh:
            for p in (self.work, self.rejects_path, self.summary_path):
                if p.exists():
                    p.unlink()
        _repair(self.work)
        _repair(self.rejects_path)
        self._done: set[str] = {str(r.get(id_field)) for r in _lines(self.work)}
        self.resumed = len(self._done)
        self._final_rejects: set[str] = set()
        for r in _lines(self.rejects_path):
            if not r.get("retry"):
                self._final_rejects.add(str(r.get("id")))
        self.resumed += len(self._final_rejects - self._done)
        self.flush_s = flush_s
        self._flushed = time.monotonic()
        # backslashreplace: a lone surrogate (a valid JSON escape, e.g. in a model's output) is written
        # back as its \uXXXX escape, which reads back the same, instead of failing the whole run.
        self._out = open(self.work, "a", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115 - held open
        self._rej = open(self.rejects_path, "a", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115

    def done(self, ident: Any) -> bool:
        """True when an earlier (or this) run finished ``ident``: written, or rejected for good."""
        key = str(ident)
        return key in self._done or key in self._final_rejects

    def write(self, record: dict[str, Any]) -> None:
        """Append one finished record.

        Flushed at most ``flush_s`` after it is written (and always on close, Ctrl-C
        included), so a hard kill loses at most that much finished work.
        """
        self._out.write(json.dumps(record, ensure_ascii=False) + "\n")
        now = time.monotonic()
        if now - self._flushed >= self.flush_s:
            self._out.flush()
            self._flushed = now
        self._done.add(str(record.get(self.id_field)))

    def reject(self, ident: Any, reason: str, detail: str = "", *, retry: bool = False, **extra: Any) -> None:
        """Record that item ``ident`` was not output, and why (``retry``: try again on restart)."""
        record = {"id": ident, "reason": reason, "detail": detail[:2000], "retry": retry, **extra}
        self._rej.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._rej.flush()
        if not retry:
            self._final_rejects.add(str(ident))

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record written so far, earlier runs included."""
        self._out.flush()
        return _lines(self.work)

    def reject_counts(self) -> Counter[str]:
        """Reasons of the items not output, counting each item's latest rejection once.

        A retryable rejection of an item that a later run finished is not counted.
        """
        self._rej.flush()
        latest: dict[str, str] = {}
        for r in _lines(self.rejects_path):
            latest[str(r.get("id"))] = str(r.get("reason"))
        return Counter(reason for ident, reason in latest.items() if ident not in self._done)

    def close(self) -> None:
        self._out.close()
        self._rej.close()

    def finish(self, summary: dict[str, Any], *, complete: bool = True) -> dict[str, Any]:
        """Export non-JSONL output (when ``complete``), write the summary file, close."""
        self._out.flush()
        if complete and not self.is_jsonl:
            from .io import write_records

            write_records(self.records(), self.output)
        self.close()
        tmp = str(self.summary_path) + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2, sort_keys=True, default=str)
            f.write("\n")
        os.replace(tmp, self.summary_path)
        return summary

    def __enter__(self) -> StageStore:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._out.closed:
            self.close()
