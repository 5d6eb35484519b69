"""Fidelity in CI: rescore the official evaluators' runs in ../shared/data and require agreement.

Every disagreement must carry an explanation (a timing-sensitive task, a dataset version
change); the table of agreement per run is printed at the end of the pytest run.
CI rescores the first tasks of each run only (all 36 runs in full take about an hour on
two cores); ``acecoder bench verify-official`` runs everything.
"""

from __future__ import annotations

import dataclasses
import importlib
import os

import pytest
from _support import FIDELITY_REPORT as REPORT
from _support import require_backend

from benchmarks.verify import VERIFIERS, summarise, verify_all

pytestmark = pytest.mark.slow

# Tasks per run in CI (env overrides for a longer local check).
LIMITS = {
    "evalplus": int(os.environ.get("ACECODER_VERIFY_EVALPLUS_LIMIT", "40")),
    "livecodebench": int(os.environ.get("ACECODER_VERIFY_LCB_LIMIT", "120")),
    "bigcodebench": int(os.environ.get("ACECODER_VERIFY_BCB_LIMIT", "40")),
}


@pytest.mark.parametrize("family", ["evalplus", "livecodebench", "bigcodebench"])
def test_official_verdicts_are_reproduced(family, shared_data):
    require_backend("namespace")
    from acesandbox import Executor

    module = importlib.import_module(VERIFIERS[family])
    with Executor(dataclasses.replace(module.SANDBOX, backend="namespace", workers=2)) as executor:
        runs = verify_all(shared_data, executor, families=[family], limits=LIMITS, progress=False)
    REPORT.extend(runs)
    assert runs, f"no official {family} runs found under {shared_data}"
    totals = summarise(runs)
    unexplained = [(r.run, d) for r in runs for d in r.unexplained]
    assert not unexplained, f"{family}: unexplained disagreements: {unexplained[:10]}"
    assert totals["rate"] >= 0.95, totals
    assert totals["compared"] > 0
