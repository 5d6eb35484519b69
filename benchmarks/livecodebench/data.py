"""LiveCodeBench data: release tags, records, tests (private ones decoded without running code)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import io
import json
import pickle
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from ..base import Problem
from ..errors import BenchmarkError
from .prompts import user_prompt

__all__ = ["DATASET", "LcbTest", "decode_private_tests", "parse_date", "read_hub", "read_local", "record_problem",
           "release_files"]

DATASET = "livecodebench/code_generation_lite"

_FILES = ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl", "test6.jsonl")


def release_files(tag: str) -> tuple[str, ...]:
    """Hub files of a version tag, as the dataset's loading script maps them.

    ``release_vN`` (and ``release_latest``) are cumulative; ``vN`` is only the problems
    added in release N and ``vN_vM`` the releases N..M, as in the official script.
    """
    text = str(tag).strip().lower()
    if text == "release_latest":
        return _FILES
    m = re.fullmatch(r"release_v([1-6])", text)
    if m:
        return _FILES[: int(m.group(1))]
    m = re.fullmatch(r"v([1-6])(?:_v([1-6]))?", text)
    if m:
        lo = int(m.group(1))
        hi = int(m.group(2) or lo)
        if hi > lo or m.group(2) is None:
            return _FILES[lo - 1 : hi]
    raise BenchmarkError(
        f"unknown LiveCodeBench release {tag!r}; use release_v1 .. release_v6, release_latest, "
        "v1 .. v6 (one release's new problems) or vN_vM"
    )


@dataclasses.dataclass(frozen=True)
class LcbTest:
    """One official test: ``input`` and ``output`` as stored (JSON lines for call tests)."""

    input: str
    output: str
    testtype: str


class _PlainUnpickler(pickle.Unpickler):
    """Rebuilds only what needs no global: str, bytes, numbers, lists, dicts, tuples."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused global {module}.{name} in private_test_cases")


_MAX_DECOMPRESSED = 1 << 30


def decode_private_tests(text: str, where: str = "private_test_cases") -> list[Any]:
    """The official ``private_test_cases``: plain JSON, or base64(zlib(pickle(JSON string))).

    The pickle is read with globals refused, so a hostile dataset cannot run code here.
    """
    if not text:
        return []
    try:
        data = json.loads(text)
        if isinstance(data, list):
            return data
    except ValueError:
        pass
    try:
        raw = base64.b64decode(text.encode("utf-8"), validate=False)
        d = zlib.decompressobj()
        blob = d.decompress(raw, _MAX_DECOMPRESSED)
        if d.unconsumed_tail:
            raise BenchmarkError(f"{where}: decompresses to more than {_MAX_DECOMPRESSED} bytes")
        inner = _PlainUnpickler(io.BytesIO(blob)).load()
    except BenchmarkError:
        raise
    except Exception as exc:  # noqa: BLE001 - binascii, zlib and pickle errors
        raise BenchmarkError(f"{where}: neither JSON nor base64+zlib+pickle ({type(exc).__name__}: {exc})") from None
    if isinstance(inner, bytes):
        inner = inner.decode("utf-8")
    if isinstance(inner, list):
        return inner
    if not isinstance(inner, str):
        raise BenchmarkError(f"{where}: the pickle holds a {type(inner).__name__}, expected a JSON string")
    try:
        data = json.loads(inner)
    except ValueError as exc:
        raise BenchmarkError(f"{where}: the decoded text is not JSON ({exc})") from None
    if not isinstance(data, list):
        raise BenchmarkError(f"{where}: expected a list of tests, got {type(data).__name__}")
    return data


def _tests(value: Any, where: str, *, private: bool = False) -> list[LcbTest]:
    if isinstance(value, str):
        if private:
            items = decode_private_tests(value, where)
        else:
            try:
                items = json.loads(value) if value.strip() else []
            except ValueError as exc:
                raise BenchmarkError(f"{where}: invalid JSON ({str(exc)[:100]})") from None
    else:
        items = value if value is not None else []
    if not isinstance(items, list):
        raise BenchmarkError(f"{where}: expected a list of tests, got {type(items).__name__}")
    out = []
    for i, t in enumerate(items):
        if not isinstance(t, Mapping):
            raise BenchmarkError(f"{where}[{i}]: expected an object with 'input' and 'output'")
        for key in ("input", "output"):
            if not isinstance(t.get(key), str):
                raise BenchmarkError(f"{where}[{i}]: missing field {key!r} (a string)")
        out.append(LcbTest(t["input"], t["output"], str(t.get("testtype", "stdin"))))
    return out


_REQUIRED = ("question_id", "question_content", "contest_date")


def parse_date(text: str, what: str) -> _dt.datetime:
    try:
        return _dt.datetime.fromisoformat(str(text))
    except ValueError:
        raise BenchmarkError(f"{what}: not a date ({text!r}); use YYYY-MM-DD") from None


def record_problem(record: Mapping[str, Any], where: str) -> Problem:
    for key in _REQUIRED:
        if not isinstance(record.get(key), str):
            raise BenchmarkError(f"{where}: missing field {key!r}")
    qid = record["question_id"]
    meta = record.get("metadata") or {}
    if isinstance(meta, str):
        try:
            meta = json.loads(meta) if meta.strip() else {}
        except ValueError:
            raise BenchmarkError(f"{where}: field 'metadata' is not JSON") from None
    if not isinstance(meta, Mapping):
        raise BenchmarkError(f"{where}: field 'metadata' must be an object")
    public = _tests(record.get("public_test_cases"), f"{where}: public_test_cases")
    private = _tests(record.get("private_test_cases"), f"{where}: private_test_cases", private=True)
    func_name = meta.get("func_name") or ""
    if not isinstance(func_name, str):
        raise BenchmarkError(f"{where}: metadata.func_name must be a string")
    data = {k: record.get(k, "") for k in (
        "question_title", "question_content", "platform", "question_id", "contest_id",
        "contest_date", "starter_code", "difficulty",
    )}
    data.update(
        tests=tuple(public + private),
        func_name=func_name,
        date=parse_date(record["contest_date"], f"{where}: contest_date"),
    )
    problem = Problem(task_id=qid, prompt="", entry_point=func_name, data=data)
    return dataclasses.replace(problem, prompt=user_prompt(problem))


def read_local(path: str) -> list[tuple[str, dict[str, Any]]]:
    """(where, record) pairs of a local file, each naming its file and line."""
    from ..io import read_records

    records = read_records(path)
    return [(f"{path}: line {r.get('_line', i + 1)}" if "_line" in r else f"{path}: record {i}", r)
            for i, r in enumerate(records)]


def read_hub(name: str, files: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:  # pragma: no cover - network
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise BenchmarkError(f"loading {name!r} needs huggingface_hub (pip install datasets): {exc}") from None
    out = []
    for fname in files:
        try:
            path = hf_hub_download(repo_id=name, filename=fname, repo_type="dataset")
        except Exception as exc:  # noqa: BLE001 - network, auth, missing file
            raise BenchmarkError(
                f"could not fetch {fname} of {name!r} from the Hugging Face hub: {exc}. "
                "Offline, pass a local file (.jsonl, .jsonl.gz, .json or .parquet)."
            ) from None
        out.extend(read_local(path))
    return out
