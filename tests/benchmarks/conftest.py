"""Fixtures for the benchmark tests: one real sandbox pool, the shared data folder, a toy benchmark."""

from __future__ import annotations

import os
import pathlib

import pytest
from _support import require_backend

from benchmarks.base import register_benchmark


@pytest.fixture(scope="session")
def bench_executor():
    """A real namespace-sandbox executor shared by the benchmark tests."""
    from acesandbox import Executor, SandboxConfig

    require_backend("namespace")
    ex = Executor(SandboxConfig(backend="namespace", workers=2))
    yield ex
    ex.close()


SHARED_DATA = pathlib.Path(os.environ.get("ACECODER_SHARED_DATA") or pathlib.Path(__file__).resolve().parents[3] / "shared" / "data")
"""The shared folder of official data: ``../shared/data`` next to the checkout (as in CI), or ``$ACECODER_SHARED_DATA``."""


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """The shared folder of official data, passed explicitly to the code under test (skips when absent)."""
    if not SHARED_DATA.is_dir():
        from _support import IN_CI

        if IN_CI:  # CI has ../shared beside the checkout: the fidelity checks must run there
            pytest.fail(f"no shared data folder at {SHARED_DATA} in CI (set ACECODER_SHARED_DATA)")
        pytest.skip(f"no shared data folder at {SHARED_DATA} (set ACECODER_SHARED_DATA)")
    return SHARED_DATA


register_benchmark("toy", "_bench_toy:Toy")


def pytest_terminal_summary(terminalreporter):
    """Print the agreement table of the fidelity test, when it ran."""
    from _support import FIDELITY_REPORT as REPORT

    if not REPORT:
        return
    from benchmarks.verify import summarise

    tr = terminalreporter
    tr.section("agreement with the official evaluators")
    for r in REPORT:
        tr.write_line(f"{r.benchmark:14} {r.run[:70]:70} {r.agreed}/{r.compared} ({100 * r.rate:.2f}%)"
                      f" excluded {r.excluded}, explained {len(r.disagreements) - len(r.unexplained)},"
                      f" unexplained {len(r.unexplained)}")
    t = summarise(REPORT)
    tr.write_line(f"overall: {t['agreed']}/{t['compared']} ({100 * t['rate']:.2f}%) over {t['runs']} runs;"
                  f" explained {t['explained']}, unexplained {t['unexplained']}, excluded {t['excluded']}")
