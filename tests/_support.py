"""Helpers shared by the test modules (importable as ``_support``)."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def namespace_unavailable() -> str | None:
    """Why the namespace backend cannot run here (None if it can)."""
    from acesandbox.backends.namespace import NamespaceBackend
    from acesandbox.errors import SandboxUnavailableError

    try:
        NamespaceBackend().check()
    except SandboxUnavailableError as exc:
        return str(exc)
    return None


def require_backend(name: str) -> None:
    """Skip a test for a backend this host lacks; in CI a missing backend is a failure."""
    if name != "namespace":
        return
    reason = namespace_unavailable()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"namespace backend unavailable in CI: {reason}")
    pytest.skip(f"namespace backend unavailable: {reason}")


FIDELITY_REPORT: list = []
"""RunAgreement values collected by tests/benchmarks/test_verify_official.py, printed at the end."""
