"""harness: the AceCoder data pipeline on acesandbox.

    seed code --synth--> questions + ~20 asserts --filter--> tests a strong model passes
      --sample--> N scored completions (AceCode-87K) --pairs--> preference pairs (AceCodePair)
      --hard--> the RL subset;  stats: Table 1 and an HTML report

Each stage is a function taking its config (``harness.config``) and an ``acecoder``
subcommand (synthesize, filter_tests, sample, build_pairs, hard_subset, run_stats);
``run_pipeline`` runs them all from one config file. Names are imported on
first use, so ``import harness`` pulls in neither the sandbox nor pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ConfigError",
    "DataError",
    "ExecConfig",
    "FilterConfig",
    "GenerationError",
    "GeneratorNotFoundError",
    "GeneratorSpec",
    "HardConfig",
    "HarnessError",
    "PairsConfig",
    "SampleConfig",
    "StatsConfig",
    "SynthConfig",
    "build_pairs",
    "filter_tests",
    "get_generator",
    "hard_subset",
    "load_config",
    "read_records",
    "run_pipeline",
    "run_stats",
    "sample",
    "synthesize",
]

# Where each name is defined. No name may equal a submodule's name: importing the
# submodule would rebind ``harness.<name>`` to the module (the old ``harness.stats`` bug).
_WHERE = {
    "ConfigError": "errors",
    "DataError": "errors",
    "ExecConfig": "config",
    "FilterConfig": "config",
    "GenerationError": "errors",
    "GeneratorNotFoundError": "errors",
    "GeneratorSpec": "config",
    "HardConfig": "config",
    "HarnessError": "errors",
    "PairsConfig": "config",
    "SampleConfig": "config",
    "StatsConfig": "config",
    "SynthConfig": "config",
    "build_pairs": "pairs",
    "filter_tests": "filtering",
    "get_generator": "generation",
    "hard_subset": "hard",
    "load_config": "pipeline",
    "read_records": "io",
    "run_pipeline": "pipeline",
    "run_stats": "stats",
    "sample": "sampling",
    "synthesize": "synth",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
