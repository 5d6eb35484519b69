"""LiveCodeBench code generation, judged on acesandbox with the official ``lcb_runner`` semantics.

What the official evaluator (``lcb_runner/evaluation/testing_util.py``) does, and how it is
reproduced here:

- **stdin/stdout problems.** A trailing ``if __name__ == '__main__':`` block is inlined; top-level
  imports are hoisted and every other statement becomes the body of ``wrapped_function()``,
  after a fixed prelude of star imports and ``sys.setrecursionlimit(50000)``. The module is
  loaded once; each test calls ``wrapped_function()`` with ``sys.stdin``, ``open`` and the
  ``readline``/``readlines``/``read`` methods patched and ``sys.stdout`` captured. Here the
  same module is built (by :func:`stdio_program`) and a small driver inside the sandbox makes
  the same patches, so quirks such as threads that outlive the call are reproduced.
- **call-based problems** (LeetCode, ``metadata.func_name``): the prelude is prepended, and
  the function is ``Solution().<func_name>`` when the text ``class Solution`` occurs in the
  code. Each test input is JSON, one line per argument; the expected value is JSON.
- **comparison** (in the trusted parent, as the registered judge ``livecodebench``): call
  results are compared with ``==`` after a top-level tuple becomes a list; stdout is stripped,
  split on ``"\\n"``, each line stripped; equal line counts, then each line equal as text or
  as a list of ``Decimal`` tokens.
- **limits.** Each test has a wall-clock alarm of ``timeout_s`` (6 s); the whole problem has
  ``(timeout_s + 1) * n_tests + 5`` s. Tests run in order in one process and the first
  failure stops the problem.
- **error codes.** ``-2`` wrong answer, ``-3`` time limit exceeded, ``-4`` runtime error or a
  program that does not load, ``-5`` the whole-problem budget ran out or the process died
  (the official harness then reports ``TestRunnerError``; its result list holds ``-1``).
  A problem passes when every result is ``True``.

Test cases come from ``livecodebench/code_generation_lite`` (the hub files of a release
tag, fetched only when asked) or a local file. ``private_test_cases`` are
base64 + zlib + pickle in the official data; the pickle is read by an unpickler that
refuses every global, so it can only rebuild plain strings, numbers and containers.

Modules, by concern: :mod:`.data` (releases, records, private tests), :mod:`.prompts`,
:mod:`.programs` (the official module built around a program), :mod:`.judge` (the trusted
comparison), :mod:`.scorer` (jobs, verdicts, official result files) and :mod:`.verify`
(fidelity against the official runs).
"""

from __future__ import annotations

from .data import DATASET, LcbTest, decode_private_tests, release_files
from .judge import JUDGE, compare_stdout, compare_values, judge, truncate
from .programs import call_program, stdio_program
from .prompts import DEFAULT_EXAMPLES, FewShotExample, base_prompt, user_prompt
from .scorer import SANDBOX, LiveCodeBench, official_result
from .verify import KNOWN_DIFFERENCES, atcoder_samples, leetcode_examples, verify_runs

__all__ = [
    "DATASET",
    "DEFAULT_EXAMPLES",
    "JUDGE",
    "KNOWN_DIFFERENCES",
    "LcbTest",
    "LiveCodeBench",
    "FewShotExample",
    "SANDBOX",
    "atcoder_samples",
    "base_prompt",
    "call_program",
    "compare_stdout",
    "compare_values",
    "decode_private_tests",
    "judge",
    "leetcode_examples",
    "official_result",
    "release_files",
    "stdio_program",
    "truncate",
    "user_prompt",
    "verify_runs",
]
