"""Running cases: one case on an executor, a fresh executor set up as cases assume, a whole suite."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from .._result import Report, Status
from .._spec import AssertTest, IOTest, Job, UnittestTest, as_test
from ..backends.base import Backend
from ._case import ADD, FAST, P, SANDBOX, SECRET_ENV, SECRET_VALUE, Case, Expect, allowed, capabilities

if TYPE_CHECKING:
    from ..executor import Executor

# The job run after every case: the sandbox must still work normally.
_CANARY = Job(
    program=ADD + "if __name__ == '__main__':\n    a, b = map(int, input().split())\n    print(add(a, b))\n",
    tests=(AssertTest("assert add(1, 2) == 3"), IOTest("2 2\n", "4\n")),
    limits=FAST,
)


# ------------------------------------------------------------------ running


def _substitute(value: Any, ctx: Mapping[str, Any]) -> Any:
    subs = {k: v for k, v in ctx.items() if k.startswith("@") and isinstance(v, str)}
    if not subs:
        return value

    def sub(text: str) -> str:
        for key, v in subs.items():
            text = text.replace(key, v)
        return text

    if isinstance(value, str):
        return sub(value)
    if isinstance(value, AssertTest):
        return AssertTest(sub(value.source))
    if isinstance(value, UnittestTest):
        return UnittestTest(sub(value.source))
    if isinstance(value, IOTest):
        return replace(value, stdin=sub(value.stdin))
    return value


def _describe(e: Expect) -> str:
    if not isinstance(e, Status):
        return "one of {" + ", ".join(sorted(s.value for s in e)) + "}"
    return e.value


def _check_statuses(case: Case, report: Report) -> list[str]:
    problems = []
    if len(report.outcomes) != len(case.tests):
        return [f"{len(report.outcomes)} outcomes for {len(case.tests)} tests"]
    for i, (o, e) in enumerate(zip(report.outcomes, case.expect, strict=True)):
        if o.status in allowed(e):
            continue
        what = "the attack worked: " if case.hostile and o.status is P else ""
        if o.status is Status.SANDBOX_ERROR:
            what = "the program caused a sandbox error: "
        problems.append(f"test {i}: {what}expected {_describe(e)}, got {o.status.value} ({o.message[:300]!r})")
    return problems


def run_case(case: Case, executor: Any) -> list[str]:
    """Run one case on ``executor`` and return the problems found (empty: it conforms).

    Raises ValueError for a case the executor's backend is not isolated enough to run
    safely (see :func:`applicable`).
    """
    missing = case.requires - capabilities(executor.backend)
    if missing:
        raise ValueError(f"case {case.name} needs {sorted(missing)}, which backend {executor.backend.name!r} lacks")
    host = case.host() if case.host is not None else contextlib.nullcontext({})
    problems: list[str] = []
    if case.earlier is not None:
        try:
            first = executor.run(case.earlier)
        except Exception as exc:  # noqa: BLE001 - the executor must turn failures into outcomes
            return [f"the earlier job: executor.run raised {type(exc).__name__}: {exc}"]
        if any(s is not P for s in first.statuses):
            return [f"the earlier job did not pass: {[o.status.value for o in first.outcomes]}"]
    with host as fixture:
        ctx = dict(fixture, limits=case.limits)
        job = Job(
            program=_substitute(case.program, ctx),
            tests=tuple(_substitute(as_test(t), ctx) for t in case.tests),
            limits=case.limits,
            mode=case.mode,  # type: ignore[arg-type]
            compare=case.compare,  # type: ignore[arg-type]
            stop_on_failure=case.stop_on_failure,
            job_id=f"conformance:{case.name}",
        )
        t0 = time.monotonic()
        try:
            report = executor.run(job)
        except Exception as exc:  # noqa: BLE001 - the executor must turn failures into outcomes
            return [f"executor.run raised {type(exc).__name__}: {exc}"]
        elapsed = time.monotonic() - t0
        problems += _check_statuses(case, report)
        if case.verify is not None:
            problems += case.verify(report, elapsed, ctx)
    problems += _survives(executor)
    return problems


def _survives(executor: Any) -> list[str]:
    try:
        report = executor.run(_CANARY)
    except Exception as exc:  # noqa: BLE001
        return [f"the sandbox did not survive: a normal job raised {type(exc).__name__}: {exc}"]
    if report.statuses != (P, P):
        details = "; ".join(f"{o.status.value}: {o.message[:200]!r}" for o in report.outcomes)
        return [f"the sandbox did not survive: a normal job then got {details}"]
    return []


@contextlib.contextmanager
def conformance_executor(backend: str | Backend, **settings: Any) -> Iterator[Executor]:
    """An Executor of one sandbox set up as the cases assume, with the host secret planted.

    ``backend``: a backend name, run on :data:`SANDBOX` with ``settings`` replacing its
    fields (e.g. ``options={"image": ...}``), or a ready Backend, used with its own config.
    The secret goes into this process's environment while the executor lives, so every
    sandbox it starts (restarts included) could inherit it if the backend let it through.
    """
    from ..executor import Executor

    sandbox = backend if isinstance(backend, Backend) else replace(SANDBOX, backend=backend, **settings)
    previous = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = SECRET_VALUE
    try:
        with Executor(sandbox) as ex:
            yield ex
    finally:
        if previous is None:
            os.environ.pop(SECRET_ENV, None)
        else:
            os.environ[SECRET_ENV] = previous


def run_conformance(backend: Any, cases: Sequence[Case] | None = None) -> dict[str, Any]:
    """Run every applicable case on one fresh executor of ``backend`` and summarise.

    Returns ``{"backend", "capabilities", "conforms", "passed": [names], "failed":
    {name: [problems]}, "not_applicable": {name: [missing capabilities]}, "duration_s"}``.
    """
    if cases is None:
        from . import CASES  # the package assembles the tables after importing this module

        cases = CASES
    t0 = time.monotonic()
    passed: list[str] = []
    failed: dict[str, list[str]] = {}
    skipped: dict[str, list[str]] = {}
    with conformance_executor(backend) as ex:
        caps = capabilities(ex.backend)
        for case in cases:
            missing = case.requires - caps
            if missing:
                skipped[case.name] = sorted(missing)
                continue
            problems = run_case(case, ex)
            if problems:
                failed[case.name] = problems
            else:
                passed.append(case.name)
        name = ex.backend.name
    return {
        "backend": name,
        "capabilities": sorted(caps),
        "conforms": not failed,
        "passed": passed,
        "failed": failed,
        "not_applicable": skipped,
        "duration_s": round(time.monotonic() - t0, 2),
    }
