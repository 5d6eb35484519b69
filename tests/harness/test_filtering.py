"""Filtering: a test survives when some solution passes it; too few survivors drop the question."""

from __future__ import annotations

import json

import pytest

from acesandbox import SandboxCrashedError
from harness.config import FilterConfig, GeneratorSpec
from harness.filtering import build_solution_prompt, filter_tests, runnable_tests
from harness.generation.replay import ReplayGenerator
from harness.io import read_records, write_records


def record(ident, n_tests=6, **extra):
    return {
        "id": ident,
        "source": "oss",
        "question": f"Question {ident}",
        "entry_point": "f",
        "tests": [f"assert f({i}) == {i}" for i in range(n_tests)],
        **extra,
    }


def fence(text):
    return f"```python\n{text}\n```"


def setup(tmp_path, records, solutions, bad_lines=()):
    path = tmp_path / "synth.jsonl"
    write_records(records, path)
    if bad_lines:
        with open(path, "a") as f:
            f.writelines(line + "\n" for line in bad_lines)
    replay = tmp_path / "replay.jsonl"
    write_records(
        [
            {"prompt": build_solution_prompt(r), "responses": solutions[r["id"]]}
            for r in records
            if r["id"] in solutions
        ],
        replay,
    )
    return ReplayGenerator(replay, model="strong")


def config(tmp_path, **kw):
    kw.setdefault("min_tests", 3)
    return FilterConfig(
        input=str(tmp_path / "synth.jsonl"),
        output=str(tmp_path / "filter.jsonl"),
        generator=GeneratorSpec(),
        progress=False,
        **kw,
    )


def test_union_of_solutions_decides_survival_and_counts_are_recorded(tmp_path, fake_executor, by_program):
    records = [record("a"), record("b"), record("c", 4)]
    gen = setup(
        tmp_path,
        records,
        {
            "a": [fence("# pass 0 1 2"), fence("# pass 2 3 5")],
            "b": [fence("# pass 0"), "no code here"],
            "c": [fence("# pass 0 1 2 3"), fence("# pass 0")],
        },
    )
    summary = filter_tests(config(tmp_path, num_solutions=2), gen, fake_executor(by_program))
    out = {r["id"]: r for r in read_records(tmp_path / "filter.jsonl")}
    assert out["a"]["tests"] == [
        "assert f(0) == 0",
        "assert f(1) == 1",
        "assert f(2) == 2",
        "assert f(3) == 3",
        "assert f(5) == 5",
    ]
    assert (out["a"]["num_tests_before"], out["a"]["num_tests_after"]) == (6, 5)
    assert out["c"]["num_tests_after"] == 4
    assert "b" not in out
    assert summary["rejected_items"] == {"too_few_tests": 1}
    assert (summary["questions_before"], summary["questions_after"]) == (3, 2)
    assert summary["this_run"]["solutions_without_code"] == 1
    rejects = read_records(tmp_path / "filter.rejects.jsonl")
    assert rejects[0]["id"] == "b" and rejects[0]["num_tests_after"] == 1


def test_the_reference_program_can_count_as_a_solution(tmp_path, fake_executor, by_program):
    records = [record("a", program="# pass 0 1 2 3 4 5")]
    gen = setup(tmp_path, records, {"a": ["no code"]})
    filter_tests(config(tmp_path, use_reference=True), gen, fake_executor(by_program))
    assert read_records(tmp_path / "filter.jsonl")[0]["num_tests_after"] == 6


def test_tests_that_cannot_run_are_removed_and_counted(tmp_path, fake_executor, by_program):
    r = record("a")
    r["tests"] += ["print(f(1))", "assert f(1 ==", 7]
    gen = setup(tmp_path, [r], {"a": [fence("# pass 0 1 2 3 4 5")]})
    summary = filter_tests(config(tmp_path), gen, fake_executor(by_program))
    out = read_records(tmp_path / "filter.jsonl")[0]
    assert out["num_tests_before"] == 9 and out["num_tests_after"] == 6
    assert summary["invalid_tests"] == {"not_assert": 1, "syntax_error": 1, "not_a_string": 1}
    assert runnable_tests(["assert x", "x = 1"])[1] == {"not_assert": 1}


def test_bad_rows_are_counted_with_their_reason(tmp_path, fake_executor, by_program):
    gen = setup(
        tmp_path,
        [record("a")],
        {"a": [fence("# pass 0 1 2")]},
        bad_lines=[
            "{oops",
            json.dumps({"id": "q", "tests": ["assert f(1)"]}),
            json.dumps({"id": "t", "question": "q"}),
        ],
    )
    summary = filter_tests(config(tmp_path), gen, fake_executor(by_program))
    assert summary["rejected_items"] == {"bad_row": 1, "no_question": 1, "no_tests": 1}
    assert summary["questions_after"] == 1


def test_sandbox_error_leaves_the_question_unscored_and_a_rerun_scores_it(tmp_path, fake_executor, by_program):
    broken = {"on": True}

    def script(job):
        if broken["on"] and "# fragile" in job.program:
            raise SandboxCrashedError("injected")
        return by_program(job)

    gen = setup(
        tmp_path, [record("a"), record("b")], {"a": [fence("# fragile # pass 0 1 2")], "b": [fence("# pass 0 1 2")]}
    )
    first = filter_tests(config(tmp_path, sandbox_retries=1), gen, fake_executor(script))
    assert first["rejected_items"] == {"sandbox_error": 1}
    assert [r["id"] for r in read_records(tmp_path / "filter.jsonl")] == ["b"]
    broken["on"] = False
    second = filter_tests(config(tmp_path), gen, fake_executor(script))
    assert second["this_run"]["skipped_done"] == 1
    assert second["rejected_items"] == {}
    out = {r["id"]: r for r in read_records(tmp_path / "filter.jsonl")}
    assert out["a"]["num_tests_after"] == 3  # scored for real, never a 0


class InterruptingReplay(ReplayGenerator):
    """Ctrl-C while waiting on the LLM for the ``at``-th batch."""

    def __init__(self, path, at):
        super().__init__(path, model="strong")
        self.calls = 0
        self.at = at

    def _complete(self, prompts, params):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return super()._complete(prompts, params)


def test_ctrl_c_keeps_finished_questions_and_a_rerun_finishes_the_rest(tmp_path, fake_executor, by_program):
    records = [record(f"q{i}") for i in range(12)]
    gen = setup(tmp_path, records, {r["id"]: [fence("# pass 0 1 2 3")] for r in records})
    interrupting = InterruptingReplay(gen.path, at=4)
    with pytest.raises(KeyboardInterrupt):
        filter_tests(config(tmp_path, batch_size=2), interrupting, fake_executor(by_program, workers=1))
    kept = [r["id"] for r in read_records(tmp_path / "filter.jsonl")]
    assert 0 < len(kept) < 12
    summary = json.loads((tmp_path / "filter.summary.json").read_text())
    assert summary["interrupted"] is True
    filter_tests(config(tmp_path), gen, fake_executor(by_program))
    ids = [r["id"] for r in read_records(tmp_path / "filter.jsonl")]
    assert sorted(ids) == sorted(r["id"] for r in records) and len(ids) == len(set(ids))


@pytest.mark.parametrize(
    "tests, kept",
    [
        (["assert f(1) == 1", "assert f(2) == 2"], 2),
        (["assert a; assert (b", ")"], 0),  # together two asserts; apart, neither is one
        (["assert f(1) == (1", ")"], 0),
        (["assert f(1) == 1", "x = 1"], 1),
        (["assert f(\n1) == 1"], 1),
    ],
)
def test_the_one_parse_fast_path_agrees_with_parsing_each_test(tests, kept):
    assert len(runnable_tests(tests)[0]) == kept


def test_synth_output_skips_revalidation_but_not_a_hand_edited_non_assert(tmp_path, fake_executor, by_program):
    synth_like = {"seed_code": "x", "diagnostics": {"attempts": 1, "rejected_tests": []}}
    good = record("a", **synth_like)
    edited = record("b", **synth_like)
    edited["tests"].append("print(f(1))")
    gen = setup(tmp_path, [good, edited], {"a": [fence("# pass 0 1 2 3 4 5")], "b": [fence("# pass 0 1 2 3 4 5 6")]})
    summary = filter_tests(config(tmp_path), gen, fake_executor(by_program))
    out = {r["id"]: r for r in read_records(tmp_path / "filter.jsonl")}
    assert out["a"]["num_tests_after"] == 6 and out["a"]["filter_diagnostics"]["invalid_tests"] == {}
    assert out["b"]["num_tests_after"] == 6  # the print was removed, not run
    assert summary["invalid_tests"] == {"not_assert": 1}


def test_runnable_tests_drops_a_test_nested_too_deep_to_parse():
    """ast.parse raises RecursionError on it (Python 3.11): one bad test must not crash the stage."""
    deep = "assert f(1) == " + "+".join(["1"] * 5000)
    assert runnable_tests(["assert f(1) == 2", deep]) == (["assert f(1) == 2"], {"syntax_error": 1})
