"""Shared fixtures: one executor per backend for the whole session (sandboxes are reused)."""

from __future__ import annotations

import pytest

from _support import require_backend


@pytest.fixture(scope="session", params=["namespace", "process"])
def executor(request):
    """An Executor per real backend, shared by every test that asks for one."""
    from acesandbox import Executor, SandboxConfig

    require_backend(request.param)
    ex = Executor(SandboxConfig(backend=request.param, workers=1))
    yield ex
    ex.close()
