"""Official EvalPlus result files (``*_eval_results.json``, 2024 and older formats) and the runs in a folder."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import BenchmarkError
from ..verdicts import FAIL, PASS, TIMEOUT

__all__ = ["DATASETS", "OfficialRow", "official_runs", "read_official_results", "run_profile"]

_OLD_STATUS = {"success": PASS, "failed": FAIL, "timed out": TIMEOUT, "timeout": TIMEOUT}


@dataclass(frozen=True)
class OfficialRow:
    """One sample's official verdicts (either result format)."""

    task_id: str
    index: int
    base: str
    plus: str | None
    solution: str | None


def read_official_results(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[OfficialRow]]:
    """Header (``date``, ``hash``, ``format``) and rows of an ``*_eval_results.json`` (2024 or older format)."""
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except ValueError as exc:
            raise BenchmarkError(f"{path}: invalid JSON ({str(exc)[:100]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("eval"), dict):
        raise BenchmarkError(f"{path}: not an EvalPlus results file (no 'eval' object)")
    rows: list[OfficialRow] = []
    fmt = "new"
    for task_id, value in data["eval"].items():
        if isinstance(value, list):
            for i, r in enumerate(value):
                rows.append(OfficialRow(task_id, i, str(r["base_status"]), r.get("plus_status"), r.get("solution")))
        elif isinstance(value, dict) and "base" in value:
            fmt = "old"
            plus = value.get("plus") or []
            for i, b in enumerate(value["base"]):
                p = _OLD_STATUS.get(plus[i][0], plus[i][0]) if i < len(plus) else None
                rows.append(OfficialRow(task_id, i, _OLD_STATUS.get(b[0], b[0]), p, None))
        else:
            raise BenchmarkError(f"{path}: task {task_id}: unrecognised result entry")
    return {"date": data.get("date", ""), "hash": data.get("hash", ""), "format": fmt}, rows


DATASETS = {  # dataset hash of the official runs -> (benchmark class, file under the data root)
    "84f4b93a1270b492e4c54d5212da7a5b": ("humaneval+", "humanevalplus/HumanEvalPlus-v0.1.9.jsonl.gz"),
    "ebe95df0d5220f00cedd6f4bddea35e4": ("mbpp+", "mbppplus/MbppPlus-v0.1.0.jsonl.gz"),
}


def run_profile(header: Mapping[str, Any]) -> str:
    """The evalplus version that made a run, from its date and result format (see PROFILES)."""
    date = str(header.get("date", ""))
    if header.get("format") == "old":
        return "2024-01-v0.2.0" if date < "2024-01-24" else "2024-01-28d05f6"
    if date < "2024-03-26":
        return "2024-02"
    if date < "2024-11-01":
        return "2024-05"
    return "latest"


def official_runs(folder: pathlib.Path) -> Iterable[tuple[str, pathlib.Path, pathlib.Path]]:
    for results in sorted(folder.rglob("*_eval_results.json")):
        samples = results.with_name(results.name.replace("_eval_results.json", ".jsonl"))
        run = str(results.relative_to(folder).parent / results.name.replace("_eval_results.json", ""))
        yield run, results, samples


