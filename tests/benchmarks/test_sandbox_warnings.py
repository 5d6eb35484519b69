"""The sandbox's warnings reach a benchmark run's results file and report, once each, with counts."""

from __future__ import annotations

import html
import json

from _bench_toy import Toy

from acesandbox import AssertTest, Executor, Job, Limits, SandboxConfig
from benchmarks.output import write_outputs
from benchmarks.runner import evaluate

FORGEABLE = "judged in the program's process: forgeable"
WEAK = "process backend: no filesystem, network or pid isolation (use the namespace or docker backend)"


class ForgeableToy(Toy):
    """Toy's tasks judged by an assert in the program's process (compare="compat")."""

    def jobs(self, problem, solution):
        (a, b), expected = problem.data["calls"][0], problem.data["expected"][0]
        call = f"{problem.entry_point}({a}, {b})" if problem.entry_point == "add" else f"{problem.entry_point}({a})"
        tests = [AssertTest(f"assert (lambda: {call})() == {expected}")]
        return {"pass": Job(solution, tests, limits=Limits(timeout_s=2), mode="shared", compare="compat")}

    def verdicts(self, problem, reports):
        result = super().verdicts(problem, reports)
        ok = all(o.status.value == "passed" for o in reports["pass"].outcomes)
        return type(result)(problem.task_id, 0, "", {"pass": "pass" if ok else "fail"}, reports=dict(reports))


def test_results_and_report_carry_each_sandbox_warning_once_with_counts(tmp_path):
    bench = ForgeableToy()
    problems = bench.load()[:1]  # Toy/0: add
    samples = [{"task_id": "Toy/0", "solution": "def add(a, b):\n    return a + b\n"},
               {"task_id": "Toy/0", "solution": "def add(a, b):\n    return a * b\n"}]
    with Executor(SandboxConfig(backend="process", workers=1)) as ex:
        ev = evaluate(bench, problems, samples, executor=ex, canary=False)
    assert [r.verdicts["pass"] for r in ev.results] == ["pass", "fail"]
    forgeable = f"sandbox: {FORGEABLE} (2 tests in 2 jobs)"
    assert forgeable in ev.warnings and f"sandbox: {WEAK} (2 jobs)" in ev.warnings
    paths = write_outputs(bench, ev, str(tmp_path), ks=[1])
    summary = json.loads(next(open(p).read() for p in paths if p.endswith("_summary.json")))
    assert forgeable in summary["warnings"] and sum(FORGEABLE in w for w in summary["warnings"]) == 1
    report = next(open(p).read() for p in paths if p.endswith("_report.html"))
    assert report.count(html.escape(FORGEABLE)) == 1 and html.escape(forgeable) in report
