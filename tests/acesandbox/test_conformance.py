"""The shared conformance suite (acesandbox.conformance), run against every real backend.

The one place the suite runs: one pytest test per (backend, case), so a failure names
both and says what went wrong. Backends a host lacks are skipped with the reason (a
failure in CI). A case a backend is not isolated enough to run (it would attack the
host) is skipped only where this module says so: the process backend's list is written
out below, and a test keeps it equal to what the cases require.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import pkgutil

import pytest
from _backends import docker_client, ray_cluster
from _support import require_backend

from acesandbox import Executor, SandboxConfig, Status
from acesandbox.backends.fake import FakeBackend
from acesandbox.conformance import (
    BLOCKED,
    CAPABILITIES,
    CASES,
    NOT_PASSED,
    SANDBOX,
    Case,
    applicable,
    behaviour,
    capabilities,
    conformance_executor,
    dying,
    escape,
    forging,
    kinds,
    lying,
    run_case,
    run_conformance,
)

pytestmark = pytest.mark.slow

BACKENDS = ["namespace", "process", "docker", "ray"]

SKIPPED = {
    "process": frozenset(
        {
            "disk_fill",
            "host_environ_via_proc",
            "host_files",
            "hostname_resolves",  # the host's own /etc/hosts decides there
            "host_kernel_settings",
            "host_pressure_triggers",
            "judged_expected_value_hidden_isolated",
            "judged_expected_value_hidden_shared",
            "judged_process_attacked_isolated",
            "judged_process_attacked_shared",
            "kill_ancestors",
            "kill_everything",
            "kill_init",
            "kill_server_at_load",
            "later_job_message_queue_file",
            "later_job_oom_score",
            "later_job_scratch_attributes",
            "later_job_scratch_flags",
            "later_job_scratch_space",
            "later_job_sockets_in_flight",
            "later_job_sysctls",
            "later_job_thread_of_a_dead_leader",
            "kernel_aio",
            "kernel_bpf",
            "kernel_file_lease",
            "kernel_folder_watch",
            "kernel_huge_pages",
            "kernel_inotify",
            "kernel_clone3_user_namespace",
            "kernel_clone_user_namespace",
            "kernel_io_uring",
            "kernel_keyring",
            "kernel_mount_api",
            "kernel_perf",
            "kernel_personality",
            "kernel_posix_message_queue",
            "kernel_secret_memory",
            "kernel_sysv_shared_memory",
            "kernel_terminals",
            "kernel_userfaultfd",
            "kernel_vsock",
            "nested_user_namespace",
            "network_external",
            "network_host_loopback",
            "proc_root_escape",
            "ptrace_server",
            "shm_wiped_between_tests",
            "state_outside_scratch",
            "write_outside_scratch",
        }
    ),
}
"""Cases a backend cannot contain: run there, they would attack the host itself."""

BLOCKED_DIFFERENTLY = {("docker", "env_secret")}
"""Where a real unprivileged uid sees the attack fail differently from a user namespace:
a non-dumpable process's /proc/self/environ is root's, so reading it raises (error)
instead of finding no secret (failed). Either way the secret did not leak."""


@pytest.fixture(scope="module", params=BACKENDS)
def conf_executor(request):
    """One executor per backend for the whole module (cases share it, as a worker would)."""
    name = request.param
    with contextlib.ExitStack() as stack:
        if name == "docker":
            stack.enter_context(docker_client())
        elif name == "ray":
            stack.enter_context(ray_cluster())
        else:
            require_backend(name)
        yield stack.enter_context(conformance_executor(name))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conformance(conf_executor, case):
    name = conf_executor.backend.name
    missing = sorted(case.requires - capabilities(conf_executor.backend))
    assert (case.name in SKIPPED.get(name, ())) == bool(missing), f"SKIPPED[{name!r}] is out of date: {case.name} needs {missing}"
    if missing:
        pytest.skip(f"backend {name!r} lacks {', '.join(missing)}")
    if (name, case.name) in BLOCKED_DIFFERENTLY:
        case = dataclasses.replace(case, expect=tuple(BLOCKED if e is Status.FAILED else e for e in case.expect))
    problems = run_case(case, conf_executor)
    assert not problems, f"{case.name} ({case.why or 'see acesandbox/conformance/'}):\n  " + "\n  ".join(problems)


# ------------------------------------------------ the suite's own invariants


def test_skip_lists_are_exactly_the_cases_a_backend_cannot_contain():
    for name in ("namespace", "process", "docker"):  # ray provides what its inner backend does
        cannot = {c.name for c in CASES if not applicable(c, name)}
        assert cannot == SKIPPED.get(name, frozenset()), name
    assert {n for _, n in BLOCKED_DIFFERENTLY} <= {c.name for c in CASES}


def test_cases_are_every_table_behaviour_first():
    package = importlib.import_module("acesandbox.conformance")
    names = [m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")]
    tables = [importlib.import_module(f"acesandbox.conformance.{name}") for name in names]
    assert {"behaviour", "kinds", "limits", "dying", "forging", "lying", "escape"} <= set(names)
    assert sorted(c.name for c in CASES) == sorted(c.name for t in tables for c in t.CASES)
    assert CASES[: len(behaviour.CASES)] == behaviour.CASES
    assert [c.name for c in kinds.CASES] == [
        "io_pass_fail",
        "call_pass_fail",
        "call_batch",
        "io_lines_split_at_newlines_only",
        "io_tokens_numbers_exact",
        "call_atol_infinity",
        "unittest_pass_fail",
        "unittest_failure_then_error_is_failed",
        "io_program_as_a_script",
        "io_exit_status_decides",
        "io_thread_pool_left_open",
    ]
    assert all(c.hostile for t in (dying, forging, lying, escape) for c in t.CASES)


def test_all_is_sorted_and_names_the_defining_objects():
    import acesandbox.conformance as conformance
    from acesandbox.conformance import _case, _runner

    assert conformance.__all__ == sorted(conformance.__all__)
    assert conformance.run_case is _runner.run_case and conformance.Case is _case.Case
    assert conformance.SANDBOX == SandboxConfig(workers=1, memory_mb=256, max_processes=32, scratch_mb=32)
    assert all(hasattr(conformance, name) for name in conformance.__all__)


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
    assert Status.PASSED not in NOT_PASSED and Status.PASSED not in BLOCKED


def test_case_rejects_hostile_expectation_of_passed():
    with pytest.raises(ValueError, match="never accepts passed"):
        Case("bad", "x = 1", ("assert x",), ({Status.PASSED, Status.FAILED},), hostile=True)
    with pytest.raises(ValueError, match="sandbox_error"):
        Case("bad", "x = 1", ("assert x",), (Status.SANDBOX_ERROR,))
    with pytest.raises(ValueError, match="2 expectations for 1 tests"):
        Case("bad", "x = 1", ("assert x",), (Status.PASSED, Status.PASSED))
    with pytest.raises(ValueError, match="unknown capabilities"):
        Case("bad", "x = 1", ("assert x",), (Status.PASSED,), requires={"magic"})


def test_capabilities():
    assert capabilities("namespace") == capabilities("docker") == CAPABILITIES
    assert capabilities("process") == frozenset()


def test_the_executor_runs_on_the_sandbox_the_cases_assume():
    with conformance_executor("fake", preload=("json",)) as ex:
        assert ex.config == dataclasses.replace(SANDBOX, backend="fake", preload=("json",))
        assert ex.workers == 1 and ex.config.memory_mb == 256


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
