"""Code reward models: train (TRL's RewardTrainer), check, score, convert.

    >>> from rm_rl.reward_model import RewardModelConfig, train_reward_model, RewardModel
    >>> result = train_reward_model(RewardModelConfig.demo("rm-demo"))     # doctest: +SKIP
    >>> RewardModel.load("rm-demo").score(["Write add(a, b)."], ["def add(a, b): ..."])  # doctest: +SKIP

Modules: :mod:`.data` (pairs, split by question, length report), :mod:`.config`
(:class:`RewardModelConfig`), :mod:`.train`, :mod:`.scoring` (:class:`RewardModel`,
the scores file ``acecoder bench --scores`` reads), :mod:`.evaluate` (pairwise
accuracy, RM-Bench) and :mod:`.convert` (AceCoder's ``v_head`` and OpenRLHF layouts).
Importing this package imports neither torch nor transformers.
"""

from __future__ import annotations

from .config import RewardModelConfig, load_rm_config
from .convert import from_acecoder, from_openrlhf, to_acecoder, to_openrlhf
from .data import LengthReport, PreferencePair, encode, encode_pairs, load_pairs, pairs_from_samples, split_by_question
from .evaluate import PairwiseReport, RMBenchReport, load_rm_bench, pairwise_report, rm_bench_report
from .scoring import RewardModel, write_scores
from .train import TrainResult, train_reward_model

__all__ = [
    "LengthReport",
    "PairwiseReport",
    "PreferencePair",
    "RMBenchReport",
    "RewardModel",
    "RewardModelConfig",
    "TrainResult",
    "encode",
    "encode_pairs",
    "from_acecoder",
    "from_openrlhf",
    "load_pairs",
    "load_rm_bench",
    "load_rm_config",
    "pairs_from_samples",
    "pairwise_report",
    "rm_bench_report",
    "split_by_question",
    "to_acecoder",
    "to_openrlhf",
    "train_reward_model",
    "write_scores",
]
