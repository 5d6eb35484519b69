"""harness: the AceCoder data pipeline on acesandbox.

    seed code --synth--> questions + ~20 asserts --filter--> tests a strong model passes
      --sample--> N scored completions (AceCode-87K) --pairs--> preference pairs (AceCodePair)
      --hard--> the RL subset;  stats: Table 1 and an HTML report

Each stage is a function taking its config (``harness.config``) and an ``acecoder``
subcommand; ``run_pipeline`` runs them all from one config file. Names are imported on
first use, so ``import harness`` pulls in neither the sandbox nor pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ExecConfig",
    "FilterConfig",
    "GeneratorSpec",
    "HardConfig",
    "PairsConfig",
    "SampleConfig",
    "StatsConfig",
    "SynthConfig",
    "filter_tests",
    "get_generator",
    "hard_subset",
    "load_config",
    "pairs",
    "run_pipeline",
    "sample",
    "stats",
    "synthesize",
]

_WHERE = {
    "ExecConfig": "config",
    "FilterConfig": "config",
    "GeneratorSpec": "config",
    "HardConfig": "config",
    "PairsConfig": "config",
    "SampleConfig": "config",
    "StatsConfig": "config",
    "SynthConfig": "config",
    "filter_tests": "filtering",
    "get_generator": "generation",
    "hard_subset": "hard",
    "load_config": "pipeline",
    "pairs": "pairs",
    "run_pipeline": "pipeline",
    "sample": "sampling",
    "stats": "stats",
    "synthesize": "synth",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
