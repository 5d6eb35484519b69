"""The sandbox's warnings reach the stages' rows and summaries once per text, with counts."""

from __future__ import annotations

import json
import pickle

import acesandbox
from harness.config import ExecConfig, FilterConfig, GeneratorSpec, SampleConfig
from harness.filtering import build_solution_prompt, filter_tests
from harness.generation.replay import ReplayGenerator
from harness.io import read_records, write_records
from harness.sampling import build_sample_prompt, sample
from harness.sandbox_warnings import WarningCount, WarningTally, tally_warnings

FORGEABLE = "judged in the program's process: forgeable"
WEAK = "process backend: no filesystem, network or pid isolation (use the namespace or docker backend)"
HELPER_TEST = "assert (lambda: f(1))() == 1"  # run under compare="compat": every test is judged in the program's process


def _ours(lines):
    """The weak-backend and forgeable lines (as root the process backend adds a third)."""
    return [w for w in lines if w.startswith((WEAK, FORGEABLE))]


def test_per_test_warnings_are_counted_under_one_text():
    jobs = [
        (WEAK, f"tests[0]: {FORGEABLE}", f"tests[3]: {FORGEABLE}"),
        (WEAK, f"tests[3]: {FORGEABLE}", "sandbox error: engine down"),
        (WEAK, "invalid job: tests[0]: bad"),
    ]
    assert tally_warnings(jobs) == [f"{WEAK} (3 jobs)", f"{FORGEABLE} (3 tests in 2 jobs)"]
    assert tally_warnings([]) == []
    assert str(WarningCount("w", jobs=1, tests=1)) == "w (1 test in 1 job)"


def test_a_tally_says_which_texts_are_new_and_keeps_a_bounded_number():
    tally = WarningTally(max_texts=2)
    assert tally.add([f"tests[1]: {FORGEABLE}", WEAK]) == [FORGEABLE, WEAK]
    assert tally.add([f"tests[2]: {FORGEABLE}", "a third text"]) == []
    assert tally.counts() == (WarningCount(FORGEABLE, jobs=2, tests=2), WarningCount(WEAK, jobs=1))
    copy = pickle.loads(pickle.dumps(tally))
    assert copy.lines() == tally.lines() and copy.add([WEAK]) == []


def _process_executor():
    return acesandbox.Executor(acesandbox.SandboxConfig(backend="process", workers=1))


def test_filter_rows_and_summary_carry_the_real_sandbox_warnings(tmp_path):
    record = {"id": "a", "source": "oss", "question": "Q", "entry_point": "f",
              "tests": [HELPER_TEST, "assert f(2) == 2", "assert f(3) == 3"]}
    write_records([record], tmp_path / "synth.jsonl")
    answers = ["```python\ndef f(x):\n    return x\n```"] * 2
    write_records([{"prompt": build_solution_prompt(record), "responses": answers}], tmp_path / "replay.jsonl")
    gen = ReplayGenerator(tmp_path / "replay.jsonl", model="strong")
    cfg = FilterConfig(input=str(tmp_path / "synth.jsonl"), output=str(tmp_path / "filter.jsonl"),
                       generator=GeneratorSpec(), progress=False, min_tests=1, num_solutions=2,
                       execution=ExecConfig(compare="compat"))
    with _process_executor() as ex:
        summary = filter_tests(cfg, gen, ex)
    (row,) = read_records(tmp_path / "filter.jsonl")
    expected = [f"{WEAK} (2 jobs)", f"{FORGEABLE} (6 tests in 2 jobs)"]
    assert _ours(row["filter_diagnostics"]["sandbox_warnings"]) == expected
    assert _ours(summary["sandbox_warnings"]) == expected
    assert json.dumps(summary).count(FORGEABLE) == 1 and json.dumps(row).count(FORGEABLE) == 1


def test_sample_rows_and_summary_carry_the_real_sandbox_warnings(tmp_path):
    record = {"id": "a", "source": "evol", "question": "Q", "tests": [HELPER_TEST, "assert f(2) == 2"],
              "num_tests_after": 2}
    write_records([record], tmp_path / "filter.jsonl")
    answers = ["```python\ndef f(x):\n    return x\n```", "```python\ndef f(x):\n    return 0\n```"]
    write_records([{"prompt": build_sample_prompt(record, 1), "responses": answers}], tmp_path / "m.jsonl")
    cfg = SampleConfig(input=str(tmp_path / "filter.jsonl"), output=str(tmp_path / "sample.jsonl"),
                       models=(GeneratorSpec(),), progress=False, prompt_tests=1, num_samples=2,
                       execution=ExecConfig(compare="compat"))
    with _process_executor() as ex:
        summary = sample(cfg, [ReplayGenerator(tmp_path / "m.jsonl", model="m")], ex)
    (row,) = read_records(tmp_path / "sample.jsonl")
    assert [i["pass_rate"] for i in row["inferences"]] == [1.0, 0.0]
    assert _ours(row["sandbox_warnings"]) == [f"{WEAK} (2 jobs)", f"{FORGEABLE} (4 tests in 2 jobs)"]
    assert summary["sandbox_warnings"] == row["sandbox_warnings"]

