"""The first API's spellings still work, with a DeprecationWarning naming the new one.

External scripts (the shared speed yardstick among them) call
``run_batch(jobs, workers=2, timeout=1.0, mode=..., backend=...)``.
"""

from __future__ import annotations

import pytest

import acesandbox
from _support import require_backend

JOBS = [("def f():\n    return 1\n", ["assert f() == 1", "assert f() == 2"])]


@pytest.mark.parametrize("sandbox_backend", ["namespace", "process"])
def test_old_spellings_run_and_warn(sandbox_backend):
    require_backend(sandbox_backend)
    with pytest.warns(DeprecationWarning, match=r"timeout_s="):
        reports = acesandbox.run_batch(JOBS, workers=1, timeout=1.0, mode="shared", backend=sandbox_backend)
    assert [o.status.value for o in reports[0].outcomes] == ["passed", "failed"]
    assert reports[0].backend == sandbox_backend
    with pytest.warns(DeprecationWarning, match=r"sandbox=SandboxConfig\(backend=, memory_mb="):
        report = acesandbox.run_tests(*JOBS[0], memory_mb=256, backend=sandbox_backend)
    assert report.passed == 1


def test_unknown_and_doubled_keywords_are_type_errors():
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        acesandbox.run_batch(JOBS, bogus=1)
    with pytest.raises(TypeError, match="both timeout= and timeout_s="):
        acesandbox.run_batch(JOBS, timeout=1.0, timeout_s=1.0)


def test_bad_legacy_values_are_invalid_job_errors():
    with pytest.raises(acesandbox.InvalidJobError, match="preload must be a list"):
        acesandbox.run_tests(*JOBS[0], preload="numpy", backend="process")  # was split into n, u, m, p, y
    with pytest.raises(acesandbox.InvalidJobError, match="preload must be a list"):
        acesandbox.run_tests(*JOBS[0], preload=None, backend="process")
    with pytest.raises(acesandbox.InvalidJobError, match="sandbox must be"):
        acesandbox.run_tests(*JOBS[0], sandbox=3, workers=1)  # was replace()'s TypeError
