"""The official LiveCodeBench generation prompts (generic chat template)."""

from __future__ import annotations

from ..base import Problem

__all__ = ["SYSTEM_MESSAGE", "user_prompt"]

SYSTEM_MESSAGE = (
    "You are an expert Python programmer. You will be given a question (problem specification) "
    "and will generate a correct Python program that matches the specification and passes all tests."
)
_FORMAT_STARTER = (
    "You will use the following starter code to write the solution to the problem and enclose your code within delimiters."
)
_FORMAT_STDIN = (
    "Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test on the "
    "sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program runs, "
    "it reads the inputs, runs the algorithm and writes output to STDOUT."
)


def user_prompt(problem: Problem) -> str:
    """The official generic question template (question, format instructions, answer cue)."""
    d = problem.data
    text = f"### Question:\n{d['question_content']}\n\n"
    if d.get("starter_code"):
        text += f"### Format: {_FORMAT_STARTER}\n```python\n{d['starter_code']}\n```\n\n"
    else:
        text += f"### Format: {_FORMAT_STDIN}\n```python\n# YOUR CODE HERE\n```\n\n"
    return text + "### Answer: (use the provided format with backticks)\n\n"
