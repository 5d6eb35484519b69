"""Plans of real tests stay byte-identical: digests of ``plan_assert_test`` / ``plan_unittest``
over the perf yardstick's workloads and the HumanEval+, MBPP, MBPP+ and BigCodeBench tests
(/work/shared), taken before the planner was made faster (issue 10).

A planner change that alters any plan changes its corpus's digest. When the change is meant,
regenerate with ``python tests/acesandbox/test_plan_golden.py`` and say why in the commit.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from acesandbox._checks import Plan, plan_assert_test, plan_unittest

SHARED = Path(os.environ.get("ACECODER_SHARED_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data").parent

# corpus -> (number of distinct sources, sha256 of their plans' digests), on Python 3.11
# (``ast.unparse`` may write the same tree differently on another version).
GOLDEN: dict[str, tuple[int, str]] = {
    "nostall-800": (1118, "f96b941436abf1e3d327c56c42546072fb5330d278759bb6d446ecfe185da5ec"),
    "rlmix-800": (1113, "7161fbd878ac6b19f23d4189162a3e0b26c4e35fab05cb70e49b68d5c58fa62d"),
    "humanevalplus": (164, "c094dc53f31154f938782880b443166060be127600d02d91a70a71781859abc6"),
    "mbpp": (3877, "4d74d0751efdcbd165183d446389a867715decca6ca417d7ce2ce6f061d7eb4d"),
    "mbppplus": (378, "89ebff308d6e0b8344af3caf4e0738c463a0c6c2207b4575ab529d93ffe6cf88"),
    "bigcodebench": (1139, "78a8c75fab432887f6426ab192b22e75d9a07b313e92786be1200cfcd65e83e7"),
}


def _workload(name: str) -> list[str]:
    with open(SHARED / "perf" / "workloads" / name) as f:
        return [t for line in f if line.strip() for t in json.loads(line)["tests"]]


def _jsonl_gz(path: Path) -> list[dict[str, object]]:
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


def _corpus(name: str) -> tuple[Callable[[str], Plan], list[str]]:
    """The planner and the distinct test sources of one corpus, in first-seen order."""
    data = SHARED / "data"
    if name in ("nostall-800", "rlmix-800"):
        sources = _workload(f"{name}.jsonl")
    elif name == "humanevalplus":
        rows = _jsonl_gz(data / "humanevalplus" / "HumanEvalPlus-v0.1.10.jsonl.gz")
        sources = [f"{r['test']}\ncheck({r['entry_point']})\n" for r in rows]
    elif name == "mbpp":
        with open(data / "mbpp" / "mbpp.jsonl") as f:
            rows = [json.loads(line) for line in f]
        sources = [t for r in rows for t in r["test_list"]]  # one assert at a time, then all of a task's
        sources += ["\n".join([*str(r["test_setup_code"]).splitlines(), *r["test_list"]]) for r in rows]
    elif name == "mbppplus":
        sources = [str(r["assertion"]) for r in _jsonl_gz(data / "mbppplus" / "MbppPlus-v0.2.0.jsonl.gz")]
    else:
        rows = _jsonl_gz(data / "bigcodebench" / "BigCodeBench-v0.1.0_hf.jsonl.gz")
        return plan_unittest, list(dict.fromkeys(str(r["test"]) for r in rows))
    return plan_assert_test, list(dict.fromkeys(sources))


def _digest(plan: Callable[[str], Plan], source: str) -> str:
    """A plan's fields (or the error planning raised), hashed."""
    try:
        p = plan(source)
        checks = [(c.source, c.template, c.holes, c.lazy) for c in p.checks]
        text = repr((p.sandbox_code, checks, p.required, p.forgeable))
    except Exception as e:  # noqa: BLE001 - the error is part of what must not change
        text = f"{type(e).__name__}: {e}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def corpus_digest(name: str) -> tuple[int, str]:
    plan, sources = _corpus(name)
    joined = "\n".join(_digest(plan, s) for s in sources)
    return len(sources), hashlib.sha256(joined.encode()).hexdigest()


@pytest.mark.parametrize(
    "name",
    [*[n for n in GOLDEN if n != "bigcodebench"], pytest.param("bigcodebench", marks=pytest.mark.slow)],
)
def test_plans_of_real_tests_are_unchanged(name: str) -> None:
    if sys.version_info[:2] != (3, 11):
        pytest.skip("digests taken on Python 3.11")
    if not (SHARED / "perf" / "workloads").is_dir() or not (SHARED / "data").is_dir():
        pytest.skip("shared data not on this host")
    assert corpus_digest(name) == GOLDEN[name]


if __name__ == "__main__":
    for corpus in ("nostall-800", "rlmix-800", "humanevalplus", "mbpp", "mbppplus", "bigcodebench"):
        print(f"    {corpus!r}: {corpus_digest(corpus)!r},")
