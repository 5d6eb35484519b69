"""Synthesis: lenient parsing, test validation, de-duplication, retries, counted rejections, resume."""

from __future__ import annotations

import json

import pytest

from harness.config import GeneratorSpec, SynthConfig
from harness.generation.replay import ReplayGenerator
from harness.io import read_records, write_records
from harness.synth import AnswerError, build_prompt, normalize_question, parse_answer, synthesize, validate_tests

GOOD = {
    "question": "Write f(x) that adds one.",
    "entry_point": "f",
    "program": "def f(x):\n    return x + 1\n",
    "tests": [f"assert f({i}) == {i + 1}" for i in range(6)],
}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(GOOD),
        "```json\n" + json.dumps(GOOD, indent=2) + "\n```",
        "<think>plan: {not json}</think>\n" + json.dumps(GOOD),
        "Sure! " + repr(GOOD),  # Python literal
        json.dumps(GOOD).replace('"]', '",]'),  # trailing comma
        json.dumps(GOOD).replace('"Write', "\u201cWrite").replace('one."', "one.\u201d"),  # smart quotes
        json.dumps(GOOD).replace("\\n", "\n"),  # raw newlines inside strings
    ],
)
def test_almost_json_answers_parse(text):
    parsed = parse_answer(text)
    assert parsed["question"] == GOOD["question"]
    assert parsed["entry_point"] == "f"
    assert len(parsed["tests"]) == 6


def test_entry_point_is_inferred_when_missing():
    data = {k: v for k, v in GOOD.items() if k != "entry_point"}
    assert parse_answer(json.dumps(data))["entry_point"] == "f"
    data.pop("program")
    assert parse_answer(json.dumps(data))["entry_point"] == "f"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "empty_answer"),
        ("I cannot do that.", "malformed_answer"),
        ('{"question": "q"', "malformed_answer"),
        (json.dumps({"question": "q"}), "malformed_answer"),
        (json.dumps({"tests": ["assert f(1) == 2"]}), "malformed_answer"),
    ],
)
def test_unusable_answers_raise_with_a_reason(text, reason):
    with pytest.raises(AnswerError) as info:
        parse_answer(text)
    assert info.value.reason == reason


def test_answers_and_tests_nested_too_deep_are_rejected_not_a_crash():
    """RecursionError from json.loads / ast.parse (Python 3.11) used to crash the whole stage."""
    deep = "assert f(1) == " + "+".join(["1"] * 5000)
    kept, rejected = validate_tests(["assert f(1) == 2", deep], "f")
    assert kept == ["assert f(1) == 2"] and rejected == [(deep, "syntax_error")]
    with pytest.raises(AnswerError):
        parse_answer('{"question": "q", "tests": ' + "[" * 100000 + "}")


def test_validate_tests_keeps_asserts_calling_the_entry_point_once():
    tests = [
        "assert f(1) == 2",
        "assert f(1)==2",  # the same test, spaced differently
        "print(f(1))",
        "assert f(1 == ",
        "assert 1 == 1",
        "x = f(1)\nassert x == 2",
        "assert Solution().f(2) == 3",
        42,
    ]
    kept, rejected = validate_tests(tests, "f")
    assert kept == ["assert f(1) == 2", "assert Solution().f(2) == 3"]
    assert [r for _, r in rejected] == [
        "duplicate_test",
        "not_assert",
        "syntax_error",
        "no_entry_point_call",
        "not_assert",
        "not_a_string",
    ]


def test_question_normalisation_ignores_case_spacing_and_punctuation():
    assert normalize_question("Write  f(x)!") == normalize_question("write f x")


def test_prompt_contains_the_seed_and_the_test_count():
    msgs = build_prompt("print('hi')", 17)
    assert msgs[0]["role"] == "system" and "print('hi')" in msgs[1]["content"] and "17" in msgs[1]["content"]


def _replay(tmp_path, answers):
    path = tmp_path / "replay.jsonl"
    write_records([{"prompt": build_prompt(code, 20), "responses": r} for code, r in answers], path)
    return ReplayGenerator(path, model="synth-model")


def _config(tmp_path, **kw):
    return SynthConfig(
        input=str(tmp_path / "seeds.jsonl"),
        output=str(tmp_path / "out" / "synth.jsonl"),
        generator=GeneratorSpec(),
        progress=False,
        **kw,
    )


def test_stage_counts_every_bad_input_and_retries_malformed_answers(tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    dup = dict(GOOD, tests=[f"assert g({i}) == {i}" for i in range(6)], entry_point="g")
    seeds.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "code": "seed a", "source": "oss"}),
                "{broken json",
                json.dumps({"id": "empty", "code": "   "}),
                json.dumps({"id": "retry", "code": "seed retry"}),
                json.dumps({"id": "thin", "code": "seed thin"}),
                json.dumps({"id": "dup", "code": "seed dup"}),
                json.dumps({"id": "nobody", "code": "never recorded"}),
            ]
        )
        + "\n"
    )
    thin = dict(GOOD, question="Another", tests=["assert f(1) == 2", "print(1)"])
    gen = _replay(
        tmp_path,
        [
            ("seed a", [json.dumps(GOOD)]),
            ("seed retry", ["not json at all", json.dumps(dict(GOOD, question="Retried question"))]),
            ("seed thin", [json.dumps(thin)]),
            ("seed dup", [json.dumps(dict(dup, question="write F(x) that adds ONE"))]),
        ],
    )
    summary = synthesize(_config(tmp_path, max_retries=1), gen)
    rows = read_records(tmp_path / "out" / "synth.jsonl")
    assert [r["id"] for r in rows] == ["a", "retry"]
    assert rows[0]["source"] == "oss" and rows[1]["source"] == "seed"
    assert rows[1]["diagnostics"]["attempts"] == 2
    assert set(rows[0]) >= {"id", "source", "question", "tests", "entry_point", "program"}
    assert summary["rejected_items"] == {
        "bad_row": 1,
        "no_code": 1,
        "too_few_tests": 1,
        "duplicate_question": 1,
        "generation_failed": 1,
    }
    assert summary["questions"] == 2 and summary["tests"] == 12
    assert summary["usage"]["prompts"] == 1 + 2 + 2 + 1 + 2  # thin and nobody were asked twice
    rejects = read_records(tmp_path / "out" / "synth.rejects.jsonl")
    assert {r["id"]: r["retry"] for r in rejects}["nobody"] is True
    assert json.loads((tmp_path / "out" / "synth.summary.json").read_text())["questions"] == 2


def test_rerun_skips_finished_items_and_retries_only_transient_failures(tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    write_records([{"id": f"s{i}", "code": f"seed {i}"} for i in range(4)], seeds)
    answers = [(f"seed {i}", [json.dumps(dict(GOOD, question=f"Q{i}"))]) for i in range(3)]
    first = synthesize(_config(tmp_path, limit=2), _replay(tmp_path, answers))
    assert first["questions"] == 2
    second = synthesize(_config(tmp_path), _replay(tmp_path, answers))
    assert second["this_run"]["skipped_done"] == 2
    assert second["rejected_items"] == {"generation_failed": 1}
    # The recording now has the last seed: a rerun retries it and nothing else.
    answers.append(("seed 3", [json.dumps(dict(GOOD, question="Q3"))]))
    gen = _replay(tmp_path, answers)
    third = synthesize(_config(tmp_path), gen)
    assert gen.usage.prompts == 1
    assert third["rejected_items"] == {}
    ids = [r["id"] for r in read_records(tmp_path / "out" / "synth.jsonl")]
    assert ids == ["s0", "s1", "s2", "s3"]


def test_a_repeated_seed_id_is_synthesized_once(tmp_path):
    """The same id twice (or the same code without ids): one record, whether or not the run was resumed."""
    seeds = tmp_path / "seeds.jsonl"
    write_records([{"id": "s", "code": "seed 0"}, {"id": "s", "code": "seed 1"}, {"code": "seed 2"},
                   {"code": "seed 2"}], seeds)
    answers = [(f"seed {i}", [json.dumps(dict(GOOD, question=f"Q{i}"))]) for i in range(3)]
    gen = _replay(tmp_path, answers)
    summary = synthesize(_config(tmp_path), gen)
    rows = read_records(tmp_path / "out" / "synth.jsonl")
    assert [r["question"] for r in rows] == ["Q0", "Q2"]
    assert len({r["id"] for r in rows}) == 2
    assert summary["this_run"]["skipped_duplicate_id"] == 2 and gen.usage.prompts == 2


def test_config_checks_name_the_fix(tmp_path):
    with pytest.raises(ValueError, match="input is required"):
        SynthConfig(output="x.jsonl")
    with pytest.raises(ValueError, match="min_tests"):
        SynthConfig(input="a", output="b", min_tests=30, num_tests=20)
