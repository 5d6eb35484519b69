"""Fail closed (issue 10, finding 7): without the isolation asked for, refuse; never fall back.

``backend=None`` used to fall back silently to the ``process`` backend when bubblewrap
could not run, so programs ran with the trainer's network and files. Now it raises
SandboxUnavailableError naming the fix; the weak backend runs only when asked for by name.
Each case runs in a child interpreter whose PATH has no bubblewrap (a host without it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the namespace backend is Linux-only")


def _without_bwrap(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PATH"}
    env["PATH"] = "/nonexistent"  # no bwrap (and nothing else) on PATH
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120)


def test_default_backend_refuses_instead_of_falling_back():
    proc = _without_bwrap(
        """
        from acesandbox import Executor, SandboxUnavailableError
        try:
            with Executor() as ex:
                print("RAN ON", ex.backend.name)
        except SandboxUnavailableError as exc:
            print("REFUSED", exc)
        """
    )
    out = proc.stdout
    assert out.startswith("REFUSED"), out + proc.stderr
    assert "apt-get install bubblewrap" in out and "backend='process'" in out


def test_run_batch_with_no_backend_refuses_too():
    proc = _without_bwrap(
        """
        from acesandbox import SandboxUnavailableError, run_batch
        try:
            reports = run_batch([("def f():\\n    return 1\\n", ["assert f() == 1"])])
            print("RAN", [r.backend for r in reports])
        except SandboxUnavailableError as exc:
            print("REFUSED", exc)
        """
    )
    assert proc.stdout.startswith("REFUSED"), proc.stdout + proc.stderr


def test_process_backend_still_runs_when_asked_for_by_name():
    proc = _without_bwrap(
        """
        from acesandbox import Executor, Job, SandboxConfig
        with Executor(SandboxConfig(backend="process", workers=1)) as ex:
            r = ex.run(Job(program="def f():\\n    return 1\\n", tests=["assert f() == 1"]))
        print("RAN", r.backend, [s.value for s in r.statuses])
        """
    )
    assert proc.stdout.strip() == "RAN process ['passed']", proc.stdout + proc.stderr


def test_doctor_says_backend_none_refuses():
    proc = _without_bwrap(
        """
        import json
        from acesandbox.cli import doctor
        checks = {c.name: c for c in doctor.collect()}
        print(json.dumps({"backend": [checks["backend"].status, checks["backend"].detail],
                          "smoke": checks["smoke job"].status}))
        """
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["backend"][0] == "FAIL" and "apt-get install bubblewrap" in out["backend"][1], out
    assert out["smoke"] == "FAIL"
