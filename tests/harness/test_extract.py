"""Code extraction from LLM answers."""

from __future__ import annotations

import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.extract import extract_code, fenced_blocks, strip_reasoning

CODE = "def f(x):\n    return x + 1\n"


def test_fenced_python_block_is_extracted():
    assert extract_code(f"Here you go:\n```python\n{CODE}```\nDone.") == CODE


def test_think_trace_is_ignored_even_with_code_in_it():
    text = f"<think>\n```python\ndef wrong():\n    pass\n```\n</think>\n```python\n{CODE}```"
    assert extract_code(text) == CODE


def test_unclosed_think_means_no_answer_and_a_leading_close_tag_ends_the_trace():
    assert extract_code(f"<think>\n```python\n{CODE}```") is None
    assert strip_reasoning("reasoning...</think>answer") == "answer"


def test_the_solution_beats_its_usage_example():
    text = f"```python\n{CODE}```\nUsage:\n```python\nprint(f(1))\n```"
    assert extract_code(text) == CODE


def test_the_entry_point_picks_the_block_that_defines_it():
    helper = "def helper(x):\n    return x * 2\n\n\ndef other():\n    pass\n"
    text = f"```python\n{CODE}```\nand a helper:\n```python\n{helper}```"
    assert extract_code(text, entry_point="f") == CODE


def test_a_block_that_parses_beats_a_longer_broken_one():
    broken = "def g(:\n" + "    pass\n" * 20
    assert extract_code(f"```python\n{broken}```\n```py\n{CODE}```") == CODE


def test_bare_code_and_truncated_fences():
    assert extract_code(CODE) == CODE
    assert extract_code(f"```python\n{CODE}") == CODE  # the answer was cut off before the closing fence
    assert extract_code("I would loop over the list.") is None
    assert extract_code("") is None
    assert extract_code(None) is None  # type: ignore[arg-type]


def test_other_languages_are_not_python():
    assert extract_code("```bash\nls -la\n```") is None
    assert fenced_blocks("```json\n{}\n```") == [("json", "{}\n")]


@settings(max_examples=60, deadline=None)
@given(
    body=st.lists(
        st.sampled_from(["x = 1", "y = x * 2", "def g():", "    return 3", "import os", "# comment"]),
        min_size=1,
        max_size=8,
    ),
    prose=st.text(alphabet=st.characters(blacklist_characters="`<>", blacklist_categories=("Cs",)), max_size=40),
    tag=st.sampled_from(["python", "py", "", "Python"]),
)
def test_fenced_code_round_trips(body, prose, tag):
    code = "\n".join(body) + "\n"
    text = f"{prose}\n```{tag}\n{code}```\n{prose}"
    got = extract_code(text)
    assert got is not None
    assert got.strip("\n") == textwrap.dedent(code).strip("\n")
