"""Fixtures for the benchmark tests: one real sandbox pool, the shared data folder, a toy benchmark."""

from __future__ import annotations

import pathlib

import pytest
from _support import require_backend

from benchmarks.base import register_benchmark


@pytest.fixture(scope="session")
def bench_executor():
    """A real namespace-sandbox executor shared by the benchmark tests."""
    from acesandbox import Executor

    require_backend("namespace")
    ex = Executor("namespace", workers=2)
    yield ex
    ex.close()


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """The shared folder of official data (skips when this checkout has none)."""
    from benchmarks.verify import default_data_root

    root = default_data_root()
    if root is None:
        pytest.skip("no ../shared/data folder (set ACECODER_SHARED_DATA)")
    return root


register_benchmark("toy", "_bench_toy:Toy")
