"""The official LiveCodeBench generation prompts: the generic chat template, and the base-model
one-shot format (``--prompt-style base``).

The base-model format (lcb_runner's ``GenericBase`` style, reimplemented from its
description): one solved example, then the question, each as ``### Question`` (the
statement), ``### Starter Code`` (only for problems with starter code, the example's own
starter code in the example) and ``### Answer``; the model continues after the last
``### Answer`` and stops at ``###``; its continuation is the program. The example is the
first of lcb_runner's ``few_shot_examples/generation/func.json`` (starter-code problems)
or ``stdin.json`` (standard-input problems): pass their folder as ``few_shot_dir`` for
the official prompts byte for byte. Without it, :data:`DEFAULT_EXAMPLES`, examples of our
own in the same format, stand in (same shape, different words).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from ..base import Problem
from ..errors import BenchmarkError

__all__ = ["BASE_STOP", "DEFAULT_EXAMPLES", "SYSTEM_MESSAGE", "FewShotExample", "base_prompt", "load_examples",
           "user_prompt"]

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


BASE_STOP: tuple[str, ...] = ("###",)
"""Where a base model's answer ends: the next section header (lcb_runner's default ``--stop``)."""


@dataclass(frozen=True)
class FewShotExample:
    """One solved example of the base-model prompt."""

    question: str = field(metadata={"help": "the problem statement"})
    sample_code: str = field(metadata={"help": "its starter code (shown for starter-code problems only)"})
    answer: str = field(metadata={"help": "the solution, as the model should write it"})


DEFAULT_EXAMPLES: dict[str, FewShotExample] = {
    "func": FewShotExample(
        question="You are given an integer array nums. Return the number of indices i such that nums[i] is "
                 "strictly greater than every element before it.\n\nExample 1:\n\nInput: nums = [3,1,4,1,5]\n"
                 "Output: 3\nExplanation: 3, 4 and 5 are each larger than everything before them.\n\n"
                 "Constraints:\n\n1 <= nums.length <= 10^5\n-10^9 <= nums[i] <= 10^9",
        sample_code="class Solution:\n    def countLeaders(self, nums: List[int]) -> int:\n        ",
        answer="```python\nclass Solution:\n    def countLeaders(self, nums: List[int]) -> int:\n"
               "        best = None\n        count = 0\n        for x in nums:\n"
               "            if best is None or x > best:\n                count += 1\n                best = x\n"
               "        return count\n```",
    ),
    "stdin": FewShotExample(
        question="You are given N integers A_1, ..., A_N. Print the sum of the even ones.\n\nInput\n\n"
                 "The input is given from Standard Input in the following format:\nN\nA_1 A_2 ... A_N\n\n"
                 "Output\n\nPrint the answer.\n\nConstraints\n\n- 1 <= N <= 100\n- 1 <= A_i <= 1000\n\n"
                 "Sample Input 1\n\n4\n1 2 3 4\n\nSample Output 1\n\n6",
        sample_code="",
        answer="```python\nn = int(input())\na = list(map(int, input().split()))\n"
               "print(sum(x for x in a if x % 2 == 0))\n```",
    ),
}
"""Our own examples in the official shape, used when the official few-shot files are not given."""


def load_examples(folder: str | os.PathLike[str] | None) -> dict[str, FewShotExample]:
    """The first example of ``func.json`` and ``stdin.json`` in ``folder`` (lcb_runner's
    ``prompts/few_shot_examples/generation``); :data:`DEFAULT_EXAMPLES` when ``folder`` is None."""
    if folder is None:
        return dict(DEFAULT_EXAMPLES)
    out: dict[str, FewShotExample] = {}
    for kind in ("func", "stdin"):
        path = os.path.join(os.fspath(folder), f"{kind}.json")
        try:
            with open(path, encoding="utf-8") as f:
                first = json.load(f)[0]
            out[kind] = FewShotExample(str(first["question"]), str(first.get("sample_code") or ""), str(first["answer"]))
        except (OSError, ValueError, LookupError, TypeError) as exc:
            raise BenchmarkError(f"few-shot examples: cannot read the first example of {path}: {exc}") from None
    return out


def _block(question: str, starter: str | None, answer: str) -> str:
    text = f"### Question\n{question}\n\n"
    if starter is not None:
        text += f"### Starter Code\n{starter}\n\n"
    text += f"### Answer\n\n{answer}"
    return text + ("\n\n" if answer else "")


def base_prompt(problem: Problem, examples: dict[str, FewShotExample] | None = None) -> str:
    """The one-shot base-model prompt of one problem; the model continues after ``### Answer``."""
    examples = examples or DEFAULT_EXAMPLES
    d = problem.data
    starter = str(d.get("starter_code") or "")
    shot = examples["func" if starter else "stdin"]
    return (_block(shot.question, shot.sample_code if starter else None, shot.answer)
            + _block(str(d["question_content"]), starter if starter else None, ""))
