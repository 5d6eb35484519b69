"""The shared conformance suite (acesandbox.conformance), run against every real backend.

One pytest test per case and backend, so a failure names the case and says what went
wrong. Cases a backend is not isolated enough to run (it would attack the host) are
skipped with the missing capability as the reason.
"""

from __future__ import annotations

import pytest

from _support import require_backend
from acesandbox import Executor, Status
from acesandbox import SandboxConfig
from acesandbox.backends.fake import FakeBackend
from acesandbox.conformance import (
    CAPABILITIES,
    CASES,
    Case,
    applicable,
    capabilities,
    conformance_executor,
    run_case,
    run_conformance,
)

pytestmark = pytest.mark.slow

BACKENDS = ["namespace", "process"]


@pytest.fixture(scope="module", params=BACKENDS)
def conf_executor(request):
    """One executor per backend for the whole module (cases share it, as a worker would)."""
    require_backend(request.param)
    with conformance_executor(request.param) as ex:
        yield ex


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conformance(conf_executor, case):
    if not applicable(case, conf_executor.backend):
        missing = sorted(case.requires - capabilities(conf_executor.backend))
        pytest.skip(f"backend {conf_executor.backend.name!r} lacks {', '.join(missing)}")
    problems = run_case(case, conf_executor)
    assert not problems, f"{case.name} ({case.why or 'see acesandbox/conformance.py'}):\n  " + "\n  ".join(problems)


# ------------------------------------------------ the suite's own invariants


def test_case_names_are_unique():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))


def test_no_hostile_case_accepts_passed_or_any_case_sandbox_error():
    for case in CASES:
        for e in case.expect:
            allowed = e if isinstance(e, frozenset) else {e}
            assert Status.SANDBOX_ERROR not in allowed, case.name
            if case.hostile and isinstance(e, frozenset):
                assert Status.PASSED not in allowed, case.name


def test_case_rejects_hostile_expectation_of_passed():
    with pytest.raises(ValueError, match="never accepts passed"):
        Case("bad", "x = 1", ("assert x",), ({Status.PASSED, Status.FAILED},), hostile=True)
    with pytest.raises(ValueError, match="sandbox_error"):
        Case("bad", "x = 1", ("assert x",), (Status.SANDBOX_ERROR,))


def test_capabilities():
    assert capabilities("namespace") == CAPABILITIES
    assert capabilities("process") == frozenset()


def test_run_conformance_summarises_a_non_conforming_backend():
    summary = run_conformance(FakeBackend(SandboxConfig()))
    assert summary["backend"] == "fake" and not summary["conforms"]
    assert "os_exit_in_test" in summary["failed"] and "pass" in summary["passed"]
    assert summary["not_applicable"]["kill_everything"] == ["pid_isolation"]


def test_run_case_reports_a_backend_that_lets_attacks_pass():
    """A backend that says 'passed' to everything fails every hostile case."""
    with Executor(FakeBackend(SandboxConfig(workers=1))) as ex:
        case = next(c for c in CASES if c.name == "os_exit_in_test")
        problems = run_case(case, ex)
    assert any("the attack worked" in p for p in problems)


def test_run_case_refuses_a_case_the_backend_cannot_contain():
    with Executor(FakeBackend(SandboxConfig(workers=1))) as ex:
        case = next(c for c in CASES if c.name == "kill_everything")
        with pytest.raises(ValueError, match="pid_isolation"):
            run_case(case, ex)
