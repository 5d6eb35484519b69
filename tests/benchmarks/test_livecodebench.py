"""LiveCodeBench: lcb_runner's comparison rules, program building, error codes, data and fidelity.

Real sandbox, no mocks, no network. The problems are small fixtures built here: the official
test cases are not available offline.
"""

from __future__ import annotations

import base64
import gzip
import json
import pickle
import zlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.base import FAIL, PASS, BenchmarkError, get_benchmark
from acesandbox.extract import last_fenced_span
from benchmarks.livecodebench import (
    JUDGE,
    LiveCodeBench,
    LcbTest,
    atcoder_samples,
    compare_stdout,
    compare_values,
    decode_private_tests,
    leetcode_examples,
    release_files,
    stdio_program,
    truncate,
    verify_runs,
)

# ------------------------------------------------------------------ fixtures


def record(qid: str, date: str = "2024-03-01T00:00:00", *, tests=None, func: str = "", starter: str = "",
           private: str = "[]") -> dict:
    tests = tests if tests is not None else [{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]
    return {
        "question_title": f"title {qid}", "question_content": f"content {qid}", "platform": "leetcode" if func else "atcoder",
        "question_id": qid, "contest_id": "c1", "contest_date": date, "starter_code": starter, "difficulty": "easy",
        "public_test_cases": json.dumps(tests), "private_test_cases": private,
        "metadata": json.dumps({"func_name": func} if func else {}),
    }


def pickled(tests: list[dict]) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


ADD_STDIO = record("abc001_a", tests=[
    {"input": "1 2\n", "output": "3\n", "testtype": "stdin"},
    {"input": "10 20\n", "output": "30", "testtype": "stdin"},
], private=pickled([{"input": "5 5\n", "output": "10\n", "testtype": "stdin"}]))
STARTER = "class Solution:\n    def add(self, a: List[int], b: int) -> List[int]:\n        "
ADD_CALL = record("3001", func="add", starter=STARTER, tests=[
    {"input": "[1, 2]\n3", "output": "[4, 5]", "testtype": "functional"},
    {"input": "[]\n1", "output": "[]", "testtype": "functional"},
])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("lcb") / "problems.jsonl"
    rows = [ADD_STDIO, ADD_CALL, record("abc002_a", "2023-05-01T00:00:00"), record("abc003_a", "2025-01-04T00:00:00")]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def bench():
    return LiveCodeBench(timeout_s=2)


def problem(bench, dataset, qid):
    return next(p for p in bench.load(str(dataset)) if p.task_id == qid)


def judge_code(bench, executor, prob, code):
    report = executor.run(bench.jobs(prob, code)["pass"])
    return bench.verdicts(prob, {"pass": report})


# ------------------------------------------------------------------ comparison rules (pure)


@pytest.mark.parametrize("actual, expected, ok", [
    ("3\n", "3", True),
    ("  3  \n\n\n", "3\n", True),              # surrounding whitespace and trailing lines
    ("1 2\n3\n", "1 2\n3", True),
    ("1  2\n", "1 2\n", False),                 # inner spacing differs and not numbers-equal? (decimals equal)
    ("1.0\n", "1\n", True),                     # Decimal equality
    ("1.50 2\n", "1.5 2.0\n", True),
    ("50000000000000000\n", "50000000000000001\n", False),  # no float rounding
    ("0.1\n", "0.10000001\n", False),           # no tolerance
    ("Yes\n", "yes\n", False),
    ("1\n\n2\n", "1\n2\n", False),              # inner empty line counts
    ("1\r\n2\n", "1\n2\n", True),               # \r stripped with the line
    ("a\x0bb\n", "a\x0bb\n", True),             # split on \n only
    ("", "\n\n", True),
    ("nan\n", "nan\n", True),                   # same text
    ("nan 1\n", "NaN 1\n", False),              # NaN != NaN as decimals
])
def test_compare_stdout_rules(actual, expected, ok):
    got, message = compare_stdout(actual, expected)
    if actual == "1  2\n":
        ok = True  # split() tokens: Decimal lists are equal
    assert got is ok
    assert (message == "") is ok


def test_compare_stdout_messages_are_official():
    assert compare_stdout("1\n2\n", "1\n")[1] == "Wrong answer: mismatched output length"
    assert compare_stdout("No\n", "Yes\n")[1] == "Wrong answer at output_line_idx=0: No != Yes"


def test_compare_values_rules():
    assert compare_values((1, 2), [1, 2])           # a returned tuple counts as a list
    assert not compare_values([(1, 2)], [[1, 2]])   # only at the top level
    assert compare_values(1, 1.0) and compare_values(True, 1)
    assert not compare_values(0.30000000000000004, 0.3)


@given(st.lists(st.text(alphabet="ab 1\t.", max_size=8), max_size=6), st.text(alphabet=" \t\n", max_size=4))
def test_whitespace_around_output_never_matters(lines, pad):
    text = "\n".join(lines)
    assert compare_stdout(pad + text + pad, text)[0]


@given(st.lists(st.decimals(allow_nan=False, allow_infinity=False, places=3), min_size=1, max_size=5))
def test_numbers_compare_by_decimal_value(values):
    printed = " ".join(format(v, "f") for v in values)
    padded = " ".join(format(v, "f") + ("0" if "." in format(v, "f") else ".0") for v in values)
    assert compare_stdout(printed, padded)[0]
    assert all(Decimal(a) == Decimal(b) for a, b in zip(printed.split(), padded.split()))


@given(st.text(max_size=400))
def test_truncate_keeps_short_text_and_bounds_long(text):
    out = truncate(text)
    assert out == text if len(text) <= 300 else len(out) == 300 + len("...(truncated) ...")


# ------------------------------------------------------------------ extraction, prompts, data


def test_last_fenced_span_takes_the_last_fenced_block():
    answer = "Plan\n```python\nprint(1)\n```\ntext\n```python\nprint(2)\n```\nbye"
    assert last_fenced_span(answer) == "print(2)"
    assert last_fenced_span("no code here") == ""
    assert last_fenced_span("```python\nx = 1\n") == ""


def test_solution_of_samples(bench, dataset):
    p = problem(bench, dataset, "abc001_a")
    assert bench.solution(p, {"task_id": p.task_id, "solution": "print(1)\n"}) == "print(1)\n"
    assert bench.solution(p, {"task_id": p.task_id, "solution": "ok\n```python\nprint(2)\n```"}) == "print(2)"
    assert bench.solution(p, {"task_id": p.task_id, "solution": "<think>no code</think> sorry"}) == ""


def test_prompts_follow_the_official_template(bench, dataset):
    stdio, call = problem(bench, dataset, "abc001_a"), problem(bench, dataset, "3001")
    msgs = bench.prompt(stdio, chat=True)
    assert msgs[0]["role"] == "system" and msgs[0]["content"].startswith("You are an expert Python programmer.")
    assert msgs[1]["content"].startswith("### Question:\ncontent abc001_a\n\n### Format: Read the inputs from stdin")
    assert "```python\n# YOUR CODE HERE\n```" in msgs[1]["content"]
    assert f"```python\n{STARTER}\n```" in bench.prompt(call, chat=True)[1]["content"]
    assert "### Answer: (use the provided format with backticks)" not in bench.prompt(call, chat=False)  # base: one-shot


def test_base_model_prompt_is_the_official_one_shot_format(bench, dataset):
    from benchmarks.livecodebench import DEFAULT_EXAMPLES

    stdio, call = problem(bench, dataset, "abc001_a"), problem(bench, dataset, "3001")
    shot = DEFAULT_EXAMPLES["stdin"]
    assert bench.prompt(stdio, chat=False) == (
        f"### Question\n{shot.question}\n\n### Answer\n\n{shot.answer}\n\n"
        "### Question\ncontent abc001_a\n\n### Answer\n\n")  # no starter code: no Starter Code sections
    shot = DEFAULT_EXAMPLES["func"]
    assert bench.prompt(call, chat=False) == (
        f"### Question\n{shot.question}\n\n### Starter Code\n{shot.sample_code}\n\n### Answer\n\n{shot.answer}\n\n"
        f"### Question\ncontent 3001\n\n### Starter Code\n{STARTER}\n\n### Answer\n\n")
    assert bench.stop_sequences == ("###",)


def test_base_prompt_takes_the_official_examples_folder(tmp_path, dataset):
    for kind, code in (("func", "class Solution: pass"), ("stdin", "print(0)")):
        examples = [{"question": f"Q-{kind}", "sample_code": f"S-{kind}", "answer": f"A-{kind}"}, {"question": "second"}]
        (tmp_path / f"{kind}.json").write_text(json.dumps(examples))
    lcb = LiveCodeBench(few_shot_dir=str(tmp_path))
    stdio, call = problem(lcb, dataset, "abc001_a"), problem(lcb, dataset, "3001")
    assert lcb.prompt(stdio, chat=False).startswith("### Question\nQ-stdin\n\n### Answer\n\nA-stdin\n\n### Question\n")
    assert lcb.prompt(call, chat=False).startswith("### Question\nQ-func\n\n### Starter Code\nS-func\n\n### Answer\n\nA-func")
    with pytest.raises(BenchmarkError, match="few-shot examples: cannot read"):
        LiveCodeBench(few_shot_dir=str(tmp_path / "missing"))


def test_base_model_generation_from_the_command_line(tmp_path, capsys):
    """``--prompt-style base``: the one-shot prompt, the ``###`` stop, the continuation scored as the program."""
    from acesandbox.cli import main
    from harness.generation.replay import prompt_key

    lcb = LiveCodeBench()
    dataset = tmp_path / "one.jsonl"
    dataset.write_text(json.dumps(ADD_STDIO) + "\n")
    stdio = problem(lcb, dataset, "abc001_a")
    recording = tmp_path / "replay.jsonl"
    recording.write_text(json.dumps({"prompt": lcb.prompt(stdio, chat=False),
                                     "responses": ["a, b = map(int, input().split())\nprint(a + b)\n"]}) + "\n")
    assert prompt_key(lcb.prompt(stdio, chat=False))
    out = tmp_path / "out"
    code = main(["bench", "livecodebench", "--dataset", str(dataset), "--model", "m", "--generator",
                 "replay", "--gen-option", f"path={recording}", "--prompt-style", "base", "-k", "1", "-o", str(out),
                 "--no-progress", "--json", "--workers", "1", "--no-canary"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["pass_at_k"]["pass"].get("pass@1") == 1.0, (summary, captured.err)
    (sample,) = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert sample["task_id"] == "abc001_a" and "completion" in sample


def test_private_tests_are_decoded_without_running_pickled_code():
    tests = [{"input": "1\n", "output": "2\n", "testtype": "stdin"}]
    assert decode_private_tests(pickled(tests)) == tests
    assert decode_private_tests(json.dumps(tests)) == tests

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    hostile = base64.b64encode(zlib.compress(pickle.dumps(Evil()))).decode()
    with pytest.raises(BenchmarkError, match="refused global"):
        decode_private_tests(hostile)
    with pytest.raises(BenchmarkError, match="neither JSON nor"):
        decode_private_tests("not base64 at all!")


def test_load_orders_and_decodes(bench, dataset):
    problems = bench.load(str(dataset))
    assert [p.task_id for p in problems] == sorted(p.task_id for p in problems)
    add = next(p for p in problems if p.task_id == "abc001_a")
    assert [t.input for t in add.data["tests"]] == ["1 2\n", "10 20\n", "5 5\n"]   # public, then private
    assert next(p for p in problems if p.task_id == "3001").entry_point == "add"


def test_date_filters_are_inclusive(dataset):
    ids = lambda **kw: [p.task_id for p in LiveCodeBench(**kw).load(str(dataset))]  # noqa: E731
    assert ids(start_date="2024-03-01") == ["3001", "abc001_a", "abc003_a"]
    assert ids(end_date="2024-03-01") == ["3001", "abc001_a", "abc002_a"]
    assert ids(start_date="2023-06-01", end_date="2024-12-31") == ["3001", "abc001_a"]
    with pytest.raises(BenchmarkError, match="after end_date"):
        LiveCodeBench(start_date="2024-02-01", end_date="2024-01-01")
    with pytest.raises(BenchmarkError, match="not a date"):
        LiveCodeBench(start_date="yesterday")


def test_release_tags():
    assert release_files("release_v1") == ("test.jsonl",)
    assert release_files("release_v5")[-1] == "test5.jsonl" and len(release_files("release_v5")) == 5
    assert release_files("v2") == ("test2.jsonl",)               # the official meaning: v2's new problems
    assert release_files("v1_v3") == ("test.jsonl", "test2.jsonl", "test3.jsonl")
    assert release_files("release_latest") == release_files("release_v6")
    with pytest.raises(BenchmarkError, match="unknown LiveCodeBench release"):
        LiveCodeBench(release="release_v9")
    assert get_benchmark("livecodebench", release="release_v3").label == "livecodebench-release_v3"


def test_bad_input_names_the_line_and_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(record("a")) + "\n{not json\n")
    with pytest.raises(BenchmarkError, match=r"bad.jsonl: line 2: invalid JSON"):
        LiveCodeBench().load(str(bad))
    missing = tmp_path / "missing.jsonl"
    row = record("a")
    del row["contest_date"]
    missing.write_text(json.dumps(row) + "\n")
    with pytest.raises(BenchmarkError, match=r"missing.jsonl: line 1: missing field 'contest_date'"):
        LiveCodeBench().load(str(missing))
    no_output = tmp_path / "no_output.jsonl"
    no_output.write_text(json.dumps(record("a", tests=[{"input": "1\n"}])) + "\n")
    with pytest.raises(BenchmarkError, match=r"line 1: public_test_cases\[0\]: missing field 'output'"):
        LiveCodeBench().load(str(no_output))
    with pytest.raises(BenchmarkError, match="unknown livecodebench option"):
        LiveCodeBench(relase="release_v1")


def test_local_json_and_gzip(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps([ADD_STDIO]))
    with gzip.open(tmp_path / "p.jsonl.gz", "wt") as f:
        f.write(json.dumps(ADD_CALL) + "\n")
    assert [p.task_id for p in LiveCodeBench().load(str(tmp_path / "p.json"))] == ["abc001_a"]
    assert [p.task_id for p in LiveCodeBench().load(str(tmp_path / "p.jsonl.gz"))] == ["3001"]


def test_statement_samples_parse():
    content = "Sample Input 1\n\n3\r\n1 2\n\nSample Output 1\n\n2\r\n\nWhy.\n\nSample Input 2\n\n1\n\nSample Output 2\n\n\nEmpty."
    assert atcoder_samples(content) == [LcbTest("3\n1 2\n", "2\n", "stdin"), LcbTest("1\n", "", "stdin")]
    text = 'Example 1:\n\nInput: nums = [1,2], s = "ab"\nOutput: true\nExplanation: x'
    assert leetcode_examples(text, ["nums", "s"]) == [LcbTest('[1, 2]\n"ab"', "true", "functional")]
    assert leetcode_examples(text, ["s", "nums"]) == []


def test_stdio_program_matches_the_official_wrapping():
    program = stdio_program("import sys\nx = 1\nif __name__ == '__main__':\n    print(x)\n")
    assert "def wrapped_function():\n    x = 1\n    print(x)" in program
    assert "\nimport sys\ndef wrapped_function" in program          # imports hoisted
    assert program.splitlines()[0].endswith("from string import *")


# ------------------------------------------------------------------ in the sandbox


STDIO_CASES = [
    ("plain", "a, b = map(int, input().split())\nprint(a + b)", PASS, None),
    ("main guard", "import sys\ndef main():\n    print(sum(map(int, sys.stdin.read().split())))\n"
                   "if __name__ == '__main__':\n    main()", PASS, None),
    ("exit counts as done", "a, b = map(int, input().split())\nprint(a + b)\nexit()", PASS, None),
    ("floats as decimals", "a, b = map(int, input().split())\nprint(f'{a + b}.000')", PASS, None),
    ("wrong answer", "print(0)", FAIL, -2),
    ("runtime error", "print(1 // 0)", FAIL, -4),
    ("does not parse", "def f(:\n", FAIL, -4),
    ("empty code", "", FAIL, -4),
    ("global in nested function", "n = int(input().split()[0])\ndef f():\n    global n\n    return n\nprint(f())", FAIL, -4),
    ("open(0) waits for the alarm", "print(sum(map(int, open(0).read().split())))", FAIL, -3),
]


@pytest.mark.parametrize("name, code, verdict, error_code", STDIO_CASES, ids=[c[0] for c in STDIO_CASES])
def test_stdio_problems(bench, dataset, bench_executor, name, code, verdict, error_code):
    result = judge_code(bench, bench_executor, problem(bench, dataset, "abc001_a"), code)
    assert result.verdicts["pass"] == verdict, result.details
    if error_code is not None:
        assert result.details["metadata"]["error_code"] == error_code
        assert result.details["results"][-1] == (error_code if error_code != -4 or result.details["results"] != [-4] else -4)


def test_stdio_stops_at_the_first_failure(bench, dataset, bench_executor):
    code = "a, b = map(int, input().split())\nprint(a + b if a == 1 else 0)"
    result = judge_code(bench, bench_executor, problem(bench, dataset, "abc001_a"), code)
    assert result.details["results"] == [True, -2]
    meta = result.details["metadata"]
    assert meta == {"output": "0\n", "inputs": "10 20\n", "expected": "30", "error_code": -2,
                    "error_message": "Wrong answer at output_line_idx=0: 0 != 30"}


def test_stdin_mocks_differ_as_the_two_harness_versions_do(dataset, bench_executor):
    code = "import sys\nfor line in sys.stdin:\n    print(sum(map(int, line.split())))"
    buffered, old = LiveCodeBench(timeout_s=2), LiveCodeBench(timeout_s=2, stdin_mock="stringio")
    assert judge_code(old, bench_executor, problem(old, dataset, "abc001_a"), code).verdicts["pass"] == PASS
    assert judge_code(buffered, bench_executor, problem(buffered, dataset, "abc001_a"), code).verdicts["pass"] == FAIL


CALL_CASES = [
    ("solution class", "class Solution:\n    def add(self, a, b):\n        return [x + b for x in a]", PASS, None),
    ("tuple counts as list", "class Solution:\n    def add(self, a, b):\n        return tuple(x + b for x in a)", PASS, None),
    ("prelude imports", "class Solution:\n    def add(self, a: List[int], b: int) -> List[int]:\n"
                        "        return list(accumulate([x + b for x in a], lambda p, q: q))", PASS, None),
    ("top-level function", "def add(a, b):\n    return [x + b for x in a]", PASS, None),
    ("wrong answer", "class Solution:\n    def add(self, a, b):\n        return a", FAIL, -2),
    ("runtime error", "class Solution:\n    def add(self, a, b):\n        return a[5]", FAIL, -4),
    ("missing method", "class Solution:\n    def other(self, a, b):\n        return a", FAIL, -4),
]


@pytest.mark.parametrize("name, code, verdict, error_code", CALL_CASES, ids=[c[0] for c in CALL_CASES])
def test_call_based_problems(bench, dataset, bench_executor, name, code, verdict, error_code):
    result = judge_code(bench, bench_executor, problem(bench, dataset, "3001"), code)
    assert result.verdicts["pass"] == verdict, result.details
    if error_code is not None:
        assert result.details["metadata"]["error_code"] == error_code


def test_call_timeout(bench, dataset, bench_executor):
    code = "class Solution:\n    def add(self, a, b):\n        while True:\n            pass"
    result = judge_code(bench, bench_executor, problem(bench, dataset, "3001"), code)
    assert result.verdicts["pass"] == FAIL
    assert result.details["results"] == [-3]
    assert result.details["metadata"]["error_message"] == "Time Limit Exceeded"


def test_judge_is_registered():
    from acesandbox.judges import get_judge

    assert get_judge(JUDGE)("3\n", "3", args=(), atol=0.0, options={"mode": "stdio"}) == (True, "")


def test_write_official_shape(bench, dataset, bench_executor, tmp_path):
    from benchmarks.runner import evaluate

    problems = bench.load(str(dataset))   # load() keeps the fields the eval_all records carry
    samples = [
        {"task_id": "abc001_a", "solution": "```python\na, b = map(int, input().split())\nprint(a + b)\n```"},
        {"task_id": "3001", "solution": "class Solution:\n    def add(self, a, b):\n        return a"},
    ]
    ev = evaluate(bench, [p for p in problems if p.task_id in ("abc001_a", "3001")], samples,
                  executor=bench_executor, canary=False)
    eval_all_path, eval_path = bench.write_official(list(ev.results), str(tmp_path), "model")
    eval_all = json.load(open(eval_all_path))
    assert [r["question_id"] for r in eval_all] == ["3001", "abc001_a"]
    first = eval_all[0]
    assert set(first) >= {"question_title", "question_content", "platform", "question_id", "contest_id",
                          "contest_date", "starter_code", "difficulty", "output_list", "code_list",
                          "graded_list", "pass@1", "metadata"}
    assert first["graded_list"] == [False] and first["pass@1"] == 0.0
    assert json.loads(first["metadata"][0])["error_code"] == -2
    assert eval_all[1]["graded_list"] == [True]
    assert "execution time" in json.loads(eval_all[1]["metadata"][0])
    metrics, results, metadata = json.load(open(eval_path))
    assert metrics["pass@1"] == 0.5 and metrics["detail"]["pass@1"] == {"0": 0.0, "1": 1.0}
    assert results == {"0": [[-2]], "1": [[True, True, True]]}
    assert len(metadata) == 2 and isinstance(metadata[0][0], str)


# ------------------------------------------------------------------ fidelity


@pytest.mark.slow
def test_verify_runs_on_the_official_o1_outputs(shared_data, bench_executor):
    if not (shared_data / "livecodebench").is_dir():
        pytest.skip("no livecodebench folder in the shared data")
    runs = verify_runs(shared_data, bench_executor, limit=60, progress=False)
    assert {r.run for r in runs} == {"O1-Mini-2024-09-12_N1", "O1-Preview-2024-09-12_N1"}
    for run in runs:
        assert run.compared > 40
        assert not run.unexplained, run.unexplained
        assert any("code extraction" in n and "60/60" in n for n in run.notes)
