"""A toy benchmark for the shared runner's and CLI's tests (registered as ``toy``)."""

from __future__ import annotations

from acesandbox import CallBatchTest, Job, Limits, Report, Status
from benchmarks.base import FAIL, PASS, SANDBOX_ERROR, TIMEOUT, Benchmark, Problem, SampleResult


class Toy(Benchmark):
    """Two tiny tasks judged by a batch of calls: enough to exercise the shared runner."""

    name = "toy"
    parts = ("pass",)

    def load(self, dataset=None):
        return [
            Problem("Toy/0", "def add(a, b):\n", "add", "def add(a, b):\n    return a + b\n",
                    {"calls": [(1, 2), (3, 4)], "expected": [3, 7]}),
            Problem("Toy/1", "def neg(x):\n", "neg", "def neg(x):\n    return -x\n",
                    {"calls": [(1,), (-5,)], "expected": [-1, 5]}),
        ]

    def jobs(self, problem, solution):
        test = CallBatchTest(problem.entry_point, problem.data["calls"], problem.data["expected"], call_timeout_s=1.0)
        return {"pass": Job(solution, [test], limits=Limits(timeout_s=2), mode="shared")}

    def verdicts(self, problem, reports):
        report: Report = reports["pass"]
        status = report.outcomes[0].status
        verdict = {Status.PASSED: PASS, Status.TIMEOUT: TIMEOUT, Status.SANDBOX_ERROR: SANDBOX_ERROR}.get(status, FAIL)
        return SampleResult(problem.task_id, 0, "", {"pass": verdict}, reports=dict(reports))


