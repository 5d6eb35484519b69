"""Sampling: the AceCode-87K schema, pass-rate denominators, several models, resume."""

from __future__ import annotations

import pytest

from harness.config import GeneratorSpec, SampleConfig
from harness.generation.replay import ReplayGenerator
from harness.io import read_records, write_records
from harness.sampling import build_sample_prompt, pass_rate, sample


def record(ident, n_tests=4, before=8):
    return {
        "id": ident,
        "source": "evol",
        "question": f"Q {ident}",
        "tests": [f"assert f({i}) == {i}" for i in range(n_tests)],
        "num_tests_before": before,
    }


def setup(tmp_path, records, answers_by_model):
    write_records(records, tmp_path / "filter.jsonl")
    gens = []
    for model, answers in answers_by_model.items():
        path = tmp_path / f"{model}.jsonl"
        write_records([{"prompt": build_sample_prompt(r, 2), "responses": answers[r["id"]]} for r in records], path)
        gens.append(ReplayGenerator(path, model=model))
    return gens


def config(tmp_path, **kw):
    return SampleConfig(
        input=str(tmp_path / "filter.jsonl"),
        output=str(tmp_path / "sample.jsonl"),
        models=(GeneratorSpec(),),
        progress=False,
        prompt_tests=2,
        **kw,
    )


def test_records_follow_the_acecode_87k_schema(tmp_path, fake_executor, by_program):
    gens = setup(
        tmp_path,
        [record("a")],
        {
            "m1": {"a": ["```python\n# pass 0 1 2 3\n```", "```python\n# pass 0\n```", "no code"]},
            "m2": {"a": ["```python\n# pass 1 2\n```", "x", "y"]},
        },
    )
    summary = sample(config(tmp_path, num_samples=2), gens, fake_executor(by_program))
    (out,) = read_records(tmp_path / "sample.jsonl")
    assert list(out) == ["id", "source", "question", "test_cases", "inferences", "context_messages"]
    assert out["test_cases"] == record("a")["tests"]
    assert out["context_messages"] == build_sample_prompt(record("a"), 2)
    assert "assert f(1) == 1" in out["context_messages"][0]["content"]
    assert "assert f(2) == 2" not in out["context_messages"][0]["content"]
    infs = out["inferences"]
    assert list(infs[0]) == ["model_name", "completion_id", "completion", "pass_rate"]
    assert [(i["model_name"], i["completion_id"], i["pass_rate"]) for i in infs] == [
        ("m1", 0, 1.0),
        ("m1", 1, 0.25),
        ("m2", 0, 0.5),
        ("m2", 1, 0.0),
    ]
    assert summary["this_run"]["completions_without_code"] == 1
    assert summary["usage"]["m1"]["completions"] == 2


def test_the_original_denominator_reproduces_the_release(tmp_path, fake_executor, by_program):
    gens = setup(tmp_path, [record("a", before=8)], {"m": {"a": ["```python\n# pass 0 1 2 3\n```"]}})
    sample(config(tmp_path, num_samples=1, denominator="original"), gens, fake_executor(by_program))
    assert read_records(tmp_path / "sample.jsonl")[0]["inferences"][0]["pass_rate"] == 0.5


def test_pass_rate_edge_cases():
    assert pass_rate(None, 4) == 0.0
    assert pass_rate(object(), 0) == 0.0


def test_generation_failures_are_retried_on_rerun_and_done_items_skipped(tmp_path, fake_executor, by_program):
    records = [record("a"), record("b")]
    gens = setup(tmp_path, records, {"m": {"a": ["```python\n# pass 0\n```"], "b": ["```python\n# pass 0\n```"]}})
    write_records(records + [record("c")], tmp_path / "filter.jsonl")  # "c" has no recorded answer
    first = sample(config(tmp_path, num_samples=1), gens, fake_executor(by_program))
    assert first["rejected_items"] == {"generation_failed": 1}
    second = sample(config(tmp_path, num_samples=1), gens, fake_executor(by_program))
    assert second["this_run"]["skipped_done"] == 2
    assert len(read_records(tmp_path / "sample.jsonl")) == 2


def test_a_repeated_id_is_scored_once_so_resuming_changes_nothing(tmp_path, fake_executor, by_program):
    """Two rows with one id: a whole run used to write both, a run cut after the first and resumed only one."""
    records = [dict(record("a"), question="first"), dict(record("a"), question="second"), record("b")]
    answers = ["```python\n# pass 0\n```"]
    write_records([{"prompt": build_sample_prompt(r, 2), "responses": answers} for r in records], tmp_path / "m.jsonl")
    write_records(records, tmp_path / "filter.jsonl")

    def run(**kw):
        return sample(config(tmp_path, num_samples=1, **kw), [ReplayGenerator(tmp_path / "m.jsonl", model="m")],
                      fake_executor(by_program))

    whole = run()
    assert [(r["id"], r["question"]) for r in read_records(tmp_path / "sample.jsonl")] == [("a", "first"), ("b", "Q b")]
    assert whole["this_run"]["skipped_duplicate_id"] == 1
    (tmp_path / "sample.jsonl").unlink()
    run(limit=1)
    run()
    assert [(r["id"], r["question"]) for r in read_records(tmp_path / "sample.jsonl")] == [("a", "first"), ("b", "Q b")]


def test_a_malformed_line_is_rejected_by_its_line_and_the_rest_scored(tmp_path, fake_executor, by_program):
    gens = setup(tmp_path, [record("a"), record("b")], {"m": {"a": ["```python\n# pass 0\n```"], "b": ["```python\n# pass 0\n```"]}})
    lines = (tmp_path / "filter.jsonl").read_text().splitlines()
    (tmp_path / "filter.jsonl").write_text(lines[0] + "\n\n{broken\n" + lines[1] + "\n")
    summary = sample(config(tmp_path, num_samples=1), gens, fake_executor(by_program))
    assert [r["id"] for r in read_records(tmp_path / "sample.jsonl")] == ["a", "b"]
    (reject,) = read_records(tmp_path / "sample.rejects.jsonl")
    assert reject["reason"] == "bad_row" and "filter.jsonl: line 3: invalid JSON" in reject["detail"], reject
    assert summary["rejected_items"] == {"bad_row": 1}


def test_needs_a_model():
    with pytest.raises(ValueError, match="at least one model"):
        SampleConfig(input="a", output="b", models=())
