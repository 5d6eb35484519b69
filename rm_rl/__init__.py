"""rm_rl: rule-based code rewards for RL loops, scored in acesandbox.

>>> import rm_rl
>>> reward = rm_rl.binary()                  # TRL's contract: reward(completions, tests=[...])
>>> trainer = GRPOTrainer(model, reward_funcs=[reward], ...)   # doctest: +SKIP

Rewards are exact (every test counts), forgery-proof (verdicts judged outside the
sandbox) and abstain with None when the sandbox, not the program, failed. Framework
adapters live in :mod:`rm_rl.adapters` (TRL, verl, OpenRLHF), the HTTP reward server
in :mod:`rm_rl.server` (``acecoder serve``). Importing this package imports neither
torch nor FastAPI.
"""

from __future__ import annotations

from .dataset import ProblemIndex, RewardRow, coerce_tests, load_problems
from .errors import ConfigError, DatasetError, RewardUnavailableError, RmRlError, TestsNotFoundError
from acesandbox.extract import ACECODER_PREFILL, extract_code
from .rewards import CodeReward, RewardConfig, RewardStats, Score, binary, pass_rate
from .runner import JobRunner

__version__ = "0.1.0"

__all__ = [
    "ACECODER_PREFILL",
    "CodeReward",
    "ConfigError",
    "DatasetError",
    "JobRunner",
    "ProblemIndex",
    "RewardConfig",
    "RewardRow",
    "RewardStats",
    "RewardUnavailableError",
    "RmRlError",
    "Score",
    "TestsNotFoundError",
    "binary",
    "coerce_tests",
    "extract_code",
    "load_problems",
    "pass_rate",
]
