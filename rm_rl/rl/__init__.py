"""RL with the toolkit's rewards: TRL here, OpenRLHF and verl on clusters.

    >>> from rm_rl.rl import RLConfig, train, plan_launch
    >>> train(RLConfig.from_preset("paper-rule", model="...", train_data="hard.jsonl"))  # doctest: +SKIP

Modules: :mod:`.config` (:class:`RLConfig`, :data:`PRESETS`, TOML), :mod:`.data`
(prompts, OpenRLHF and verl layouts), :mod:`.launch` (framework commands),
:mod:`.train` (TRL GRPOTrainer, metrics, resume), :mod:`.report` (HTML curves) and
:mod:`.demo` (the toy task). Importing this package imports neither torch nor TRL.
"""

from __future__ import annotations

from .config import PRESETS, Preset, RLConfig, load_rl_config
from .data import RLPrompt, load_prompts, write_openrlhf, write_verl
from .demo import DemoResult, run_demo
from .launch import Launch, framework_version, plan_launch
from .report import write_report
from .train import TrainResult, train

__all__ = [
    "DemoResult",
    "Launch",
    "PRESETS",
    "Preset",
    "RLConfig",
    "RLPrompt",
    "TrainResult",
    "framework_version",
    "load_prompts",
    "load_rl_config",
    "plan_launch",
    "run_demo",
    "train",
    "write_openrlhf",
    "write_report",
    "write_verl",
]
