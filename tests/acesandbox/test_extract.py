"""Code extraction: fences, reasoning, pre-fills, chat formats; pure functions, property-tested."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acesandbox.extract import (
    ACECODER_PREFILL,
    answer_text,
    as_program,
    code_blocks,
    completion_text,
    entry_points,
    extract_code,
    has_think_format,
    last_fenced_span,
    parse_chat,
    prompt_state,
    split_query,
    user_turn,
)

SOLUTION = "def add(a, b):\n    return a + b"


def fenced(code: str, lang: str = "python") -> str:
    return f"```{lang}\n{code}\n```"


class TestFences:
    def test_one_python_block(self):
        assert extract_code(f"Sure!\n\n{fenced(SOLUTION)}\n\nDone.") == SOLUTION

    def test_untagged_block_counts_as_python(self):
        assert extract_code(fenced(SOLUTION, "")) == SOLUTION

    def test_other_languages_are_ignored(self):
        text = f"{fenced('pip install x', 'bash')}\n{fenced(SOLUTION, 'py')}\n{fenced('3', 'output')}"
        assert extract_code(text) == SOLUTION

    def test_only_non_python_blocks_is_no_code(self):
        assert extract_code(fenced("echo hi", "bash"), fallback="auto") is None

    def test_defining_block_beats_later_usage_example(self):
        text = f"{fenced(SOLUTION)}\nUsage:\n{fenced('print(add(1, 2))')}"
        assert extract_code(text, entry_points=["add"]) == SOLUTION

    def test_later_fix_beats_earlier_draft(self):
        draft = "def add(a, b):\n    return a - b"
        assert extract_code(f"{fenced(draft)}\nOops, fixed:\n{fenced(SOLUTION)}", entry_points=["add"]) == SOLUTION

    def test_parsing_block_beats_broken_one(self):
        broken = "def add(a, b)\n    return a + b"
        assert extract_code(f"{fenced(SOLUTION)}\n{fenced(broken)}", entry_points=["add"]) == SOLUTION

    def test_block_defining_the_entry_point_beats_a_helper(self):
        helper = "def helper(x):\n    return x"
        assert extract_code(f"{fenced(SOLUTION)}\n{fenced(helper)}", entry_points=["add"]) == SOLUTION

    def test_truncated_block_is_still_a_candidate(self):
        assert extract_code("```python\ndef add(a, b):\n    return a + b\n") == SOLUTION
        assert code_blocks("```python\nx = 1\n")[0].closed is False

    def test_closing_fence_glued_to_the_last_line(self):
        assert extract_code("```python\ndef add(a, b):\n    return a + b```\nDone") == SOLUTION

    def test_indented_fence_in_a_list_is_dedented(self):
        text = "1. Write it:\n   ```python\n   def add(a, b):\n       return a + b\n   ```\n"
        assert extract_code(text) == SOLUTION

    def test_tilde_and_longer_fences(self):
        assert extract_code(f"~~~python\n{SOLUTION}\n~~~") == SOLUTION
        inner = f"````python\n{SOLUTION}\n# ``` not a close\n````"
        assert extract_code(inner) == SOLUTION + "\n# ``` not a close"

    def test_inline_triple_backticks_are_not_fences(self):
        assert code_blocks("use ```x``` inline") == []

    def test_info_string_with_attributes(self):
        assert extract_code(f"```python title=add.py\n{SOLUTION}\n```") == SOLUTION
        assert code_blocks("```{.python}\nx = 1\n```")[0].language == "python"


class TestFallback:
    def test_auto_takes_bare_code_that_defines_a_function(self):
        assert extract_code(SOLUTION + "\n") == SOLUTION

    def test_auto_rejects_prose_and_bare_expressions(self):
        assert extract_code("I cannot solve this.") is None
        assert extract_code("hello") is None

    def test_none_never_takes_bare_text(self):
        assert extract_code(SOLUTION, fallback="none") is None

    def test_text_takes_anything(self):
        assert extract_code("print(1) oops(", fallback="text") == "print(1) oops("

    def test_empty_completion(self):
        assert extract_code("") is None
        assert extract_code("   \n", fallback="text") is None


class TestReasoning:
    def test_think_is_stripped(self):
        text = f"<think>try ```python\nwrong = 1\n``` hmm</think>\n{fenced(SOLUTION)}"
        assert extract_code(text) == SOLUTION

    def test_unclosed_think_has_no_answer(self):
        assert extract_code(f"<think>still thinking {fenced(SOLUTION)}") is None
        assert answer_text("<think>x") is None

    def test_prompt_opened_think(self):
        prompt = "<|im_start|>assistant\n<think>\n"
        assert extract_code(f"reasoning {fenced('x = 0')}</think>{fenced(SOLUTION)}", prompt=prompt) == SOLUTION
        assert extract_code(f"reasoning only {fenced(SOLUTION)}", prompt=prompt) is None

    def test_answer_tags_are_unwrapped(self):
        assert answer_text("<think>a</think><answer>B</answer> tail") == "B"
        assert extract_code(f"<think>r</think><answer>{fenced(SOLUTION)}</answer>") == SOLUTION

    @pytest.mark.parametrize(
        ("text", "ok"),
        [
            ("<think>plan</think>\nanswer", True),
            ("  <think>plan</think><answer>x</answer>", True),
            ("<think>plan</think>", False),  # no answer
            ("<think></think>answer", False),  # no reasoning
            ("answer <think>plan</think> more", False),  # not at the start
            ("<think>a</think><think>b</think>c", False),  # two blocks
            ("<think>plan</think><answer>x", False),  # unclosed answer
            ("<think>plan</think><answer></answer>", False),  # empty answer
            ("plain answer", False),
        ],
    )
    def test_think_format(self, text, ok):
        assert has_think_format(text) is ok

    def test_think_format_with_prompt_opened_think(self):
        assert has_think_format("plan</think>answer", prompt="...<think>\n") is True
        assert has_think_format("<think>plan</think>answer", prompt="...<think>\n") is False


class TestPrefill:
    def test_acecoder_prefill_string_prompt(self):
        prompt = f"<|im_start|>user\nWrite add.<|im_end|>\n<|im_start|>assistant\n{ACECODER_PREFILL}"
        completion = f"{SOLUTION}\n```\n\nThis adds two numbers.\n\n```python\nprint(add(1, 2))\n```"
        assert prompt_state(prompt).in_fence
        assert extract_code(completion, prompt=prompt, entry_points=["add"]) == SOLUTION

    def test_acecoder_prefill_as_trailing_assistant_message(self):
        prompt = [{"role": "user", "content": "Write add."}, {"role": "assistant", "content": ACECODER_PREFILL}]
        assert extract_code(f"{SOLUTION}\n```", prompt=prompt) == SOLUTION

    def test_prefill_without_closing_fence(self):
        assert extract_code(SOLUTION, prompt=ACECODER_PREFILL) == SOLUTION

    def test_model_repeating_the_sentence_itself(self):
        assert extract_code(ACECODER_PREFILL + SOLUTION + "\n```") == SOLUTION

    def test_model_opening_the_prefilled_fence_again(self):
        """```python again after the pre-fill's ```python: that line opens the block, it is not code (was a
        SyntaxError, so a correct solution scored 0)."""
        prompt = [{"role": "user", "content": "Write add."}, {"role": "assistant", "content": ACECODER_PREFILL}]
        assert extract_code(f"```python\n{SOLUTION}\n```", prompt=prompt) == SOLUTION
        assert extract_code(f"\n```py\n{SOLUTION}\n```\nUse it:\n```python\nprint(add(1, 2))\n```",
                            prompt=ACECODER_PREFILL, entry_points=["add"]) == SOLUTION
        assert extract_code(f"{SOLUTION}\n```", prompt=prompt) == SOLUTION  # the usual continuation is unchanged

    def test_closed_fence_in_prompt_does_not_open(self):
        prompt = [{"role": "user", "content": f"Fix this:\n{fenced('x = 1')}"}]
        assert not prompt_state(prompt).in_fence
        assert not prompt_state(f"Fix this:\n{fenced('x = 1')}\n").in_fence


class TestChat:
    def test_completion_text_forms(self):
        assert completion_text("x") == "x"
        assert completion_text([{"role": "assistant", "content": "a"}]) == "a"
        assert completion_text({"role": "assistant", "content": [{"type": "text", "text": "b"}]}) == "b"
        assert completion_text([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]) == "a"
        assert completion_text(None) == ""
        with pytest.raises(TypeError):
            completion_text(3)

    def test_trl_conversational_completion(self):
        assert extract_code([{"role": "assistant", "content": fenced(SOLUTION)}]) == SOLUTION

    def test_parse_chatml(self):
        text = "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\nA<|im_end|><|endoftext|>"
        assert parse_chat(text) == [
            {"role": "system", "content": "S"},
            {"role": "user", "content": "Q?"},
            {"role": "assistant", "content": "A"},
        ]

    def test_parse_llama3(self):
        text = (
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nQ?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nA<|eot_id|>"
        )
        assert [m["content"] for m in parse_chat(text)] == ["Q?", "A"]

    def test_no_template(self):
        assert parse_chat("just text") == []
        assert user_turn("just text") == "just text"

    def test_user_turn(self):
        assert user_turn([{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]) == "q"
        assert user_turn("<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n") == "q"
        assert user_turn(None) == ""

    def test_split_query_with_prompt(self):
        assert split_query("PROMPTresponse<|im_end|>", "PROMPT") == ("PROMPT", "response")

    def test_split_query_from_template(self):
        query = f"<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n{ACECODER_PREFILL}{SOLUTION}\n```<|im_end|>"
        prompt, response = split_query(query)
        assert prompt.endswith("<|im_start|>assistant\n")
        assert response.startswith("Below is a Python script")
        assert extract_code(response, prompt=prompt) == SOLUTION

    def test_split_query_without_template(self):
        assert split_query("raw completion</s>") == ("", "raw completion")


class TestEntryPoints:
    def test_names_called_by_asserts(self):
        tests = ["assert add(1, 2) == 3", "assert len(add([1], [2])) == 2", "assert Solution().solve(3) is None"]
        assert entry_points(tests) == ("add", "Solution")

    def test_names_assigned_by_the_test_are_not_entry_points(self):
        assert entry_points(["f = lambda x: x\nassert f(1) == g(1)"]) == ("g",)

    def test_dict_tests_and_unparsable(self):
        assert entry_points([{"kind": "call", "fn": "Solution.twoSum"}, {"source": "assert h(1)"}, "assert ("]) == (
            "Solution",
            "h",
        )


# ---------------------------------------------------------------- properties

# Vertical tab, form feed and the other characters str.splitlines() breaks on are left out:
# a line of them is blank to extraction (as to Python), which textwrap.dedent does not model.
_code_line = st.text(
    alphabet=st.characters(blacklist_characters="`~\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029", blacklist_categories=("Cs",)),
    max_size=30,
)
_prose = st.text(alphabet=st.characters(blacklist_characters="`~<>\r", blacklist_categories=("Cs",)), max_size=60)


@given(lines=st.lists(_code_line, min_size=1, max_size=6), before=_prose, after=_prose)
def test_a_single_python_block_is_extracted_exactly(lines, before, after):
    code = "\n".join(lines)
    if not code.strip():
        return
    text = f"{before}\n```python\n{code}\n```\n{after}"
    # A line of whitespace only (a no-break space included) is a blank line to extraction.
    blank_lines_empty = "\n".join(line if line.strip() else "" for line in lines)
    expected = __import__("textwrap").dedent(blank_lines_empty).strip("\n")
    assert extract_code(text, fallback="none") == expected


@given(st.text(max_size=300))
def test_extraction_never_raises(text):
    result = extract_code(text)
    assert result is None or isinstance(result, str)
    extract_code(text, prompt=text, fallback="text")
    has_think_format(text)
    parse_chat(text)
    split_query(text, text[:5])


@given(reasoning=_prose, answer=_prose)
def test_answer_follows_the_reasoning(reasoning, answer):
    assert answer_text(f"<think>{reasoning}</think>{answer}") == answer


# ------------------------------------------------------------ programs for the sandbox


def test_as_program_ends_in_one_newline_and_blank_is_none():
    assert as_program("def f():\n    return 1\n\n\n") == "def f():\n    return 1\n"
    assert as_program("x = 1") == "x = 1\n"
    assert as_program("  \n") is None
    assert as_program(None) is None


def test_reasoning_with_code_in_it_is_ignored_and_an_unclosed_trace_has_no_answer():
    code = "def f(x):\n    return x + 1"
    text = f"<think>\n```python\ndef wrong():\n    pass\n```\n</think>\n```python\n{code}\n```"
    assert extract_code(text) == code
    assert extract_code(f"<think>\n```python\n{code}\n```") is None


def test_last_fenced_span_is_lcb_runner_rule():
    assert last_fenced_span("a\n```python\nprint(1)\n```\nb\n```\nprint(2)\n```") == "print(2)"
    assert last_fenced_span("```python\nx = 1\n") == ""


def test_entry_points_of_a_test_nested_too_deep_to_parse_is_none_found():
    """5,000 terms of ``1 + 1 + ...`` are 10 KB and past the parser's depth on 3.11: no names, not a RecursionError."""
    deep = "assert f(1) == " + "+".join(["1"] * 5000)
    assert entry_points([deep, "assert g(2) == 4"]) == ("g",)
