"""pass@k, per-task tables and best-of-N: hand-computed examples, bad input, and properties."""

from __future__ import annotations

import math
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.base import (
    FAIL,
    PASS,
    SANDBOX_ERROR,
    TIMEOUT,
    BenchmarkError,
    SampleResult,
)
from benchmarks.metrics import (
    AVERAGE,
    GREEDY,
    ORACLE,
    best_of_n_table,
    estimate_pass_at_k,
    left_out_warnings,
    pass_at_k,
    pass_at_k_table,
    per_task_table,
    read_scores_jsonl,
    sample_correctness,
)


def _results(spec: dict[str, list[dict[str, str]]]) -> list[SampleResult]:
    return [SampleResult(task, i, f"# {task} {i}", v) for task, verdicts in spec.items() for i, v in enumerate(verdicts)]


# --------------------------------------------------------------------------- pass@k


def test_pass_at_k_matches_the_binomial_formula():
    for n, c, k in [(10, 3, 1), (10, 3, 5), (200, 17, 100), (5, 0, 5), (5, 5, 1)]:
        expected = 1 - comb(n - c, k) / comb(n, k)
        assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_is_stable_for_large_n():
    value = pass_at_k(100_000, 1, 50_000)
    assert value == pytest.approx(0.5)  # one correct of n: pass@k is k/n


@pytest.mark.parametrize(
    ("args", "error", "named"),
    [
        ((5, 6, 1), ValueError, "c=6"),
        ((5, 2, 0), ValueError, "k must be >= 1, got 0"),
        ((5, 2, 6), ValueError, "k=6"),
        ((-1, 0, 1), ValueError, "n must be >= 0, got -1"),
        ((5, -2, 1), ValueError, "c must be >= 0, got -2"),
        ((5.5, 2, 1), TypeError, "5.5"),
        ((5, True, 1), TypeError, "True"),
    ],
)
def test_pass_at_k_errors_name_the_bad_value(args, error, named):
    with pytest.raises(error, match=named):
        pass_at_k(*args)


def test_estimate_pass_at_k_vectorised():
    out = estimate_pass_at_k([10, 5], [3, 5], 2)
    assert isinstance(out, np.ndarray)
    assert out == pytest.approx([1 - comb(7, 2) / comb(10, 2), 1.0])
    assert estimate_pass_at_k(4, [0, 1, 4], 1) == pytest.approx([0, 0.25, 1])
    with pytest.raises(ValueError, match="task 1: c=9"):
        estimate_pass_at_k(4, [0, 9], 1)
    with pytest.raises(ValueError, match="3 values but num_correct has 2"):
        estimate_pass_at_k([1, 2, 3], [0, 1], 1)


@st.composite
def nck(draw):
    n = draw(st.integers(1, 300))
    c = draw(st.integers(0, n))
    k = draw(st.integers(1, n))
    return n, c, k


@given(nck())
def test_pass_at_k_is_a_probability(args):
    assert 0.0 <= pass_at_k(*args) <= 1.0


@given(nck())
def test_pass_at_k_is_one_when_every_k_subset_has_a_correct_sample(args):
    n, c, k = args
    if n - c < k:
        assert pass_at_k(n, c, k) == 1.0
    elif c == 0:
        assert pass_at_k(n, c, k) == 0.0


@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_pass_at_1_is_the_pass_rate(args):
    n, c = args
    assert pass_at_k(n, c, 1) == c / n


@given(nck())
def test_pass_at_k_is_monotone_in_k_and_c(args):
    n, c, k = args
    value = pass_at_k(n, c, k)
    if k < n:
        assert pass_at_k(n, c, k + 1) >= value - 1e-12
    if c < n:
        assert pass_at_k(n, c + 1, k) >= value - 1e-12


@settings(max_examples=50)
@given(nck())
def test_pass_at_k_agrees_with_exact_binomials(args):
    n, c, k = args
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), abs=1e-9)


# --------------------------------------------------------------------------- tables


def test_pass_at_k_table_hand_computed():
    results = _results(
        {
            "T/0": [{"base": PASS, "plus": PASS}, {"base": PASS, "plus": FAIL}, {"base": FAIL, "plus": FAIL}],
            "T/1": [{"base": FAIL, "plus": FAIL}, {"base": TIMEOUT, "plus": TIMEOUT}, {"base": PASS, "plus": PASS}],
        }
    )
    table = pass_at_k_table(results, ("base", "plus"), ks=(1, 2, 10))
    assert list(table.index) == ["base", "plus"]
    assert list(table.columns) == ["pass@1", "pass@2"]  # n=3 < 10: pass@10 not reported
    assert table.loc["base", "pass@1"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert table.loc["plus", "pass@1"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    # T/0 base: n=3 c=2 -> 1; T/1 base: n=3 c=1 -> 1 - C(2,2)/C(3,2) = 2/3
    assert table.loc["base", "pass@2"] == pytest.approx((1 + 2 / 3) / 2)
    assert table.attrs["not_reported"] == {"base": [10], "plus": [10]}
    assert table.attrs["sandbox_errors"] == 0


def test_sandbox_errors_are_left_out_and_counted():
    results = _results(
        {
            "T/0": [{"pass": PASS}, {"pass": SANDBOX_ERROR}, {"pass": FAIL}],
            "T/1": [{"pass": SANDBOX_ERROR}, {"pass": SANDBOX_ERROR}],
            "T/2": [{"pass": PASS}, {"pass": PASS}],
        }
    )
    table = pass_at_k_table(results, ["pass"], ks=[1, 2])
    # T/0: n=2 (1 of 2 correct); T/1: nothing judged, left out; T/2: 2 of 2
    assert table.loc["pass", "pass@1"] == pytest.approx((0.5 + 1.0) / 2)
    assert table.loc["pass", "pass@2"] == pytest.approx(1.0)
    assert table.attrs["sandbox_errors"] == 3
    assert table.attrs["left_out"] == {"pass": 3}
    assert table.attrs["unjudged_tasks"] == {"pass": 1}
    warnings = left_out_warnings(table)
    assert any("3 of 7 sample(s)" in w and "sandbox_error" in w for w in warnings)
    assert any("1 task(s) have no judged sample" in w for w in warnings)


def test_a_sandbox_error_can_push_a_task_below_k():
    results = _results({"T/0": [{"a": PASS, "b": PASS}, {"a": FAIL, "b": SANDBOX_ERROR}], "T/1": [{"a": FAIL, "b": FAIL}] * 2})
    table = pass_at_k_table(results, ["a", "b"], ks=[1, 2])
    assert table.loc["a", "pass@2"] == pytest.approx(0.5)
    assert math.isnan(table.loc["b", "pass@2"])
    assert table.loc["b", "pass@1"] == pytest.approx(0.5)
    assert any("part b: pass@2 not reported" in w for w in left_out_warnings(table))


def test_pass_at_k_table_names_a_missing_part():
    with pytest.raises(ValueError, match="task 'T/0' has no verdict for part 'plus'"):
        pass_at_k_table(_results({"T/0": [{"base": PASS}]}), ["base", "plus"])
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        pass_at_k_table(_results({"T/0": [{"base": PASS}]}), ["base"], ks=[0])


def test_per_task_table():
    results = _results({"T/0": [{"pass": PASS}, {"pass": SANDBOX_ERROR}, {"pass": FAIL}], "T/1": [{"pass": SANDBOX_ERROR}]})
    table = per_task_table(results)
    assert list(table.columns) == ["task_id", "part", "n", "correct", "sandbox_errors", "pass_rate"]
    rows = table.set_index("task_id")
    assert rows.loc["T/0", "n"] == 2 and rows.loc["T/0", "correct"] == 1 and rows.loc["T/0", "pass_rate"] == 0.5
    assert rows.loc["T/1", "sandbox_errors"] == 1 and math.isnan(rows.loc["T/1", "pass_rate"])


# --------------------------------------------------------------------------- best-of-N


def test_best_of_n_hand_computed():
    correct = {"a": [False, True, False, True], "b": [True, False, False, False], "c": [False, False, False, False]}
    scores = {
        "rm": {"a": [0.1, 0.9, 0.5, 0.2], "b": [0.3, 0.1, 0.7, 0.0], "c": [1, 2, 3, 4]},
        "first": {t: [0.0] * 4 for t in correct},  # all ties: always index 0
    }
    table = best_of_n_table(correct, scores, ns=(1, 2, 4, 8), greedy={"a": True, "b": False, "c": False})
    assert list(table.index) == [GREEDY, AVERAGE, ORACLE, "rm", "first"]
    assert list(table.columns) == [1, 2, 4]  # every task has 4 samples: N=8 not reported
    assert table.attrs["not_reported"] == [8]
    assert table.loc[GREEDY].tolist() == pytest.approx([1 / 3] * 3)
    assert table.loc[AVERAGE].tolist() == pytest.approx([1 / 3, (0.5 + 0.5 + 0) / 3, (0.5 + 0.25) / 3])
    assert table.loc[ORACLE].tolist() == pytest.approx([1 / 3, 2 / 3, 2 / 3])
    # rm picks: N=1 index 0 everywhere; N=2 a->1 (True), b->0 (True); N=4 a->1 (True), b->2 (False)
    assert table.loc["rm"].tolist() == pytest.approx([1 / 3, 2 / 3, 1 / 3])
    assert table.loc["first"].tolist() == pytest.approx([1 / 3] * 3)


def test_best_of_n_leaves_out_tasks_with_sandbox_errors():
    correct = {"a": [True, None, False], "b": [False, True, True]}
    scores = {"rm": {"a": [0, 5, 0], "b": [0, 1, 0]}}
    table = best_of_n_table(correct, scores, ns=[1, 2, 3])
    assert table.attrs["left_out"] == {1: 0, 2: 1, 3: 1}
    assert table.loc["rm", 1] == pytest.approx(0.5)
    assert table.loc["rm", 2] == pytest.approx(1.0)  # only b counts: a's pick would be the unjudged sample
    assert table.loc[ORACLE, 2] == pytest.approx(1.0)


def test_best_of_n_none_scores_rank_last():
    table = best_of_n_table({"a": [True, False]}, {"rm": {"a": [None, -100.0]}}, ns=[2])
    assert table.loc["rm", 2] == 0.0
    table = best_of_n_table({"a": [False, True]}, {"rm": {"a": [float("nan"), None]}}, ns=[2])
    assert table.loc["rm", 2] == 0.0  # nothing scored: the first sample


def test_best_of_n_bad_input():
    with pytest.raises(ValueError, match="scorer 'rm', task 'a': 1 scores for 2 samples"):
        best_of_n_table({"a": [True, False]}, {"rm": {"a": [1.0]}})
    with pytest.raises(ValueError, match="scorer 'rm' has no scores for task 'b'"):
        best_of_n_table({"a": [True], "b": [False]}, {"rm": {"a": [1.0]}})
    with pytest.raises(ValueError, match="greedy has no verdict for task 'a'"):
        best_of_n_table({"a": [True]}, {}, greedy={})
    with pytest.raises(ValueError, match="'Oracle' is reserved"):
        best_of_n_table({"a": [True]}, {"Oracle": {"a": [1.0]}})
    with pytest.raises(TypeError, match="task 'a', sample 0"):
        best_of_n_table({"a": ["pass"]})
    with pytest.raises(ValueError, match="N must be >= 1, got 0"):
        best_of_n_table({"a": [True]}, ns=[0])


@st.composite
def bon_case(draw):
    tasks = draw(st.integers(1, 6))
    n = draw(st.integers(1, 12))
    correct = {f"t{i}": draw(st.lists(st.sampled_from([True, False, None]), min_size=n, max_size=n)) for i in range(tasks)}
    floats = st.one_of(st.none(), st.floats(-10, 10, allow_nan=False), st.sampled_from([0.0, 1.0]))
    scores = {f"s{j}": {t: draw(st.lists(floats, min_size=n, max_size=n)) for t in correct} for j in range(2)}
    return correct, scores, n


@settings(max_examples=150, deadline=None)
@given(bon_case())
def test_best_of_n_properties(case):
    correct, scores, n = case
    ns = list(range(1, n + 1))
    table = best_of_n_table(correct, scores, ns=ns)
    assert list(table.columns) == ns
    for N in ns:
        col = table[N]
        if col.isna().all():
            assert table.attrs["left_out"][N] == len(correct)
            continue
        for scorer in scores:
            assert 0.0 <= col[scorer] <= col[ORACLE] + 1e-12
            assert col[AVERAGE] <= col[ORACLE] + 1e-12
    # N=1: every scorer picks the first sample
    kept = [t for t in correct if correct[t][0] is not None]
    if kept:
        first = np.mean([bool(correct[t][0]) for t in kept])
        for name in (AVERAGE, ORACLE, *scores):
            assert table.loc[name, 1] == pytest.approx(first)
    # oracle never decreases with N among tasks that stay judged
    clean = {t: v for t, v in correct.items() if None not in v}
    if clean:
        oracle = best_of_n_table(clean, ns=ns).loc[ORACLE].tolist()
        assert oracle == sorted(oracle)


def test_sample_correctness_orders_by_index():
    results = [SampleResult("a", 1, "", {"p": FAIL}), SampleResult("a", 0, "", {"p": PASS}), SampleResult("b", 0, "", {"p": SANDBOX_ERROR})]
    assert sample_correctness(results, "p") == {"a": [True, False], "b": [None]}
    with pytest.raises(ValueError, match="missing \\[1\\]"):
        sample_correctness([SampleResult("a", 0, "", {"p": PASS}), SampleResult("a", 2, "", {"p": PASS})], "p")


# --------------------------------------------------------------------------- score files


def test_read_scores_jsonl(tmp_path):
    path = tmp_path / "scores.jsonl"
    path.write_text(
        '{"task_id": "a", "index": 1, "score": 0.5}\n\n'
        '{"task_id": "a", "index": 0, "score": -1}\n'
        '{"task_id": "b", "index": 0, "score": null}\n'
    )
    assert read_scores_jsonl(str(path)) == {"a": [-1.0, 0.5], "b": [None]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"task_id": "a", "index": 0, "score": 1}\nnot json\n', ": line 2: invalid JSON"),
        ('{"task_id": "a", "score": 1}\n', ": line 1: missing field 'index'"),
        ('{"task_id": "a", "index": "0", "score": 1}\n', ": line 1: 'index' must be an integer"),
        ('{"task_id": "a", "index": 0, "score": "high"}\n', ": line 1: 'score' must be a number or null"),
        ('[1, 2]\n', ": line 1: expected a JSON object"),
        ('{"task_id": "a", "index": 0, "score": 1}\n{"task_id": "a", "index": 0, "score": 2}\n',
         ": line 2: task 'a' index 0 already given on line 1"),
        ('{"task_id": "a", "index": 1, "score": 1}\n', "task 'a' has no score for index 0"),
    ],
)
def test_read_scores_jsonl_errors_name_the_line(tmp_path, text, message):
    path = tmp_path / "scores.jsonl"
    path.write_text(text)
    with pytest.raises(BenchmarkError, match=message):
        read_scores_jsonl(str(path))
