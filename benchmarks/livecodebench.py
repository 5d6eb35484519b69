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
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import datetime as _dt
import gzip
import io
import json
import os
import pathlib
import pickle
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from acesandbox import CallBatchTest, Job, Limits, Report, Status
from acesandbox.judges import register_judge
from acesandbox.extract import last_fenced_span

from .base import (
    FAIL,
    PASS,
    SANDBOX_ERROR,
    Benchmark,
    BenchmarkError,
    Problem,
    SampleResult,
)
from .verify import Disagreement, RunAgreement, recheck

__all__ = [
    "DATASET",
    "JUDGE",
    "KNOWN_DIFFERENCES",
    "LiveCodeBench",
    "LcbTest",
    "compare_stdout",
    "decode_private_tests",
    "judge",
    "release_files",
    "stdio_program",
    "call_program",
    "verify_runs",
]

DATASET = "livecodebench/code_generation_lite"
JUDGE = "livecodebench"
"""Name of the trusted comparator (entry point ``acesandbox.judges``: ``livecodebench``)."""

DEFAULT_TIMEOUT_S = 6
"""lcb_runner's ``--timeout`` default: each test's wall-clock alarm, in seconds."""

MEMORY_MB = 4096
"""The default memory cap of the sandbox a problem runs in (``SandboxConfig.memory_mb``)."""

EXECUTOR_OPTIONS: dict[str, Any] = {"memory_mb": MEMORY_MB}
"""SandboxConfig fields for scoring LiveCodeBench."""

K_LIST = (1, 5, 10, 20, 40, 50, 75, 100, 125, 150, 200, 500, 1000)
"""The k values lcb_runner reports pass@k for (those every problem has enough samples for)."""

# ----------------------------------------------------------------- releases

_FILES = ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl", "test6.jsonl")


def release_files(tag: str) -> tuple[str, ...]:
    """Hub files of a version tag, as the dataset's loading script maps them.

    ``release_vN`` (and ``release_latest``) are cumulative; ``vN`` is only the problems
    added in release N and ``vN_vM`` the releases N..M, as in the official script.
    """
    text = str(tag).strip().lower()
    if text == "release_latest":
        return _FILES
    m = re.fullmatch(r"release_v([1-6])", text)
    if m:
        return _FILES[: int(m.group(1))]
    m = re.fullmatch(r"v([1-6])(?:_v([1-6]))?", text)
    if m:
        lo = int(m.group(1))
        hi = int(m.group(2) or lo)
        if hi > lo or m.group(2) is None:
            return _FILES[lo - 1 : hi]
    raise BenchmarkError(
        f"unknown LiveCodeBench release {tag!r}; use release_v1 .. release_v6, release_latest, "
        "v1 .. v6 (one release's new problems) or vN_vM"
    )


# ----------------------------------------------------------------- programs

_STAR_MODULES = (
    "string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random",
    "statistics", "itertools", "functools", "operator", "io", "sys", "json", "builtins", "typing",
)
_PLAIN_MODULES = _STAR_MODULES[:16]
PRELUDE = (
    "".join(f"from {m} import *\n" for m in _STAR_MODULES)
    + "".join(f"import {m}\n" for m in _PLAIN_MODULES)
    + "sys.setrecursionlimit(50000)\n"
)
"""The imports lcb_runner puts before every program (same modules, same order)."""

# What the official process has set before it loads a program: the evaluator module raises
# the int-to-str digit limit, and its reliability guard removes ``quit``.
_HEADER = (
    "import sys as __lcb_sys, builtins as __lcb_builtins; __lcb_sys.set_int_max_str_digits(50000); "
    "__lcb_builtins.quit = None; del __lcb_sys, __lcb_builtins; "
)
"""Joined to the prelude's first line, so line numbers in error messages match the official ones."""

# The stdin mock of lcb_runner >= 2025-05-23 ("buffered"): read() and readlines() always see
# the whole input, buffer.read() its bytes, and the object is not iterable.
_DRIVER = '''

def __lcb_stdio__(__lcb_input, __lcb_mock="buffered"):
    import io as _io, sys as _sys
    from unittest import mock as _mock

    text = "\\n".join(__lcb_input) if isinstance(__lcb_input, list) else __lcb_input
    lines = iter(text.split("\\n"))

    class _Buffer:
        def __init__(self, s):
            self._b = s.encode("utf-8")
        def read(self, *a):
            return self._b
        def readline(self, *a):
            return self._b.split(b"\\n")[0] + b"\\n"

    class _Stdin:
        def __init__(self, s):
            self._s = s
            self._io = _io.StringIO(s)
            self.buffer = _Buffer(s)
        def read(self, *a):
            return self._s
        def readline(self, *a):
            return self._io.readline(*a)
        def readlines(self, *a):
            return self._s.split("\\n")
        def __getattr__(self, name):
            return getattr(self._io, name)

    fake = _Stdin(text) if __lcb_mock == "buffered" else _io.StringIO(text)

    @_mock.patch("builtins.open", _mock.mock_open(read_data=text))
    @_mock.patch("sys.stdin", fake)
    @_mock.patch("sys.stdin.readline", lambda *a: next(lines))
    @_mock.patch("sys.stdin.readlines", lambda *a: text.split("\\n"))
    @_mock.patch("sys.stdin.read", lambda *a: text)
    def call():
        try:
            __lcb_main__()
        except SystemExit:
            pass

    out = _io.StringIO()
    out.close = lambda *a: 1
    saved = _sys.stdout
    _sys.stdout = out
    try:
        call()
    finally:
        _sys.stdout = saved
    return out.getvalue()


__lcb_main__ = globals().get("wrapped_function")


def __lcb_fd0__():
    # fd 0 of the official process is its own stdin, which never reaches end of file: code that
    # reads it directly (open(0) with the real open the prelude bound) waits for the alarm.
    import os as _os
    r, w = _os.pipe()
    _os.dup2(r, 0)
    _os.close(r)
    return w


__lcb_fd0_writer__ = __lcb_fd0__()
del __lcb_fd0__
'''


def _inline_main_guard(code: str) -> str:
    """Inline a trailing ``if __name__ == '__main__':`` block (the official rule)."""
    try:
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            head = ast.unparse(ast.Module(body=tree.body[:-1], type_ignores=[]))
            return head + "\n" + ast.unparse(ast.Module(body=last.body, type_ignores=[]))
    except Exception:  # noqa: BLE001 - the official rule leaves such code alone
        pass
    return code


def _wrapped_module(code: str) -> str:
    """Prelude, hoisted imports and ``def wrapped_function():`` around everything else.

    Code that does not parse comes back unchanged (it then fails to load, as officially).
    An empty body gives a function with no body: a syntax error, as officially.
    """
    try:
        tree = ast.parse(code)
    except Exception:  # noqa: BLE001 - SyntaxError, or a ValueError for NUL bytes
        return code
    imports: list[ast.stmt] = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    others = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    fn = ast.FunctionDef(
        name="wrapped_function",
        args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=others,
        decorator_list=[],
        returns=None,
        type_comment=None,
        lineno=1,
    )
    if hasattr(ast, "TypeVar"):  # Python >= 3.12 has type_params on functions
        fn.type_params = []  # type: ignore[attr-defined,unused-ignore]
    return (
        PRELUDE
        + "\n"
        + ast.unparse(ast.Module(body=imports, type_ignores=[]))
        + "\n"
        + ast.unparse(ast.Module(body=[fn], type_ignores=[]))
    )


def stdio_program(code: str) -> str:
    """The sandbox program for a stdin/stdout problem: the official module plus the driver."""
    return _HEADER + _wrapped_module(_inline_main_guard(code)) + "\n" + _DRIVER


def call_program(code: str) -> str:
    """The sandbox program for a call-based problem: the prelude, then the code."""
    return _HEADER + PRELUDE + "\n\n" + code


def call_target(code: str, func_name: str) -> str:
    """``Solution.<name>`` when the code mentions ``class Solution`` (the official test), else the name."""
    return f"Solution.{func_name}" if "class Solution" in code else func_name


# ----------------------------------------------------------------- comparison


def truncate(value: Any, length: int = 300) -> str:
    """The official metadata truncation: head and tail around a marker."""
    s = value if isinstance(value, str) else str(value)
    if len(s) <= length:
        return s
    return s[: length // 2] + "...(truncated) ..." + s[-length // 2 :]


def _stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(tok) for tok in line.split()]
    except Exception:  # noqa: BLE001 - not a line of numbers
        return None


def compare_stdout(actual: str, expected: str) -> tuple[bool, str]:
    """lcb_runner's stdout rule; on a mismatch, its error message."""
    got, want = _stripped_lines(actual), _stripped_lines(expected)
    if len(got) != len(want):
        return False, "Wrong answer: mismatched output length"
    for i, (a, e) in enumerate(zip(got, want)):
        if a == e:
            continue
        message = f"Wrong answer at output_line_idx={i}: {truncate(a)} != {truncate(e)}"
        da = _decimals(a)
        if da is None:
            return False, message
        de = _decimals(e)
        if de is None:
            return False, message
        if da == de:  # an sNaN raises here, as it does officially (a runtime error)
            continue
        return False, message
    return True, ""


def compare_values(value: Any, expected: Any) -> bool:
    """lcb_runner's call rule: a returned tuple counts as a list, then plain ``==``."""
    if isinstance(value, tuple):
        value = list(value)
    return bool(value == expected)  # a numpy array raises, as officially (a runtime error)


_PACK = "lcb:"


def judge(value: Any, expected: Any, *, args: tuple, atol: float, options: Mapping[str, Any]) -> tuple[bool, str]:
    """The trusted ``livecodebench`` judge: ``options["mode"]`` is ``"stdio"`` or ``"call"``.

    A failure's message is ``lcb:`` + JSON with the official ``error_message`` and
    ``output``, so that :meth:`LiveCodeBench.verdicts` can write the official metadata.
    """
    if options.get("mode") == "stdio":
        if not isinstance(value, str):
            return False, _PACK + json.dumps({"error_message": "Wrong Answer", "output": truncate(value)})
        ok, message = compare_stdout(value, expected)
    else:
        ok, message = compare_values(value, expected), "Wrong Answer"
        if isinstance(value, tuple):
            value = list(value)
    if ok:
        return True, ""
    return False, _PACK + json.dumps({"error_message": message, "output": truncate(value)})


register_judge(JUDGE, judge)


# ----------------------------------------------------------------- data


@dataclasses.dataclass(frozen=True)
class LcbTest:
    """One official test: ``input`` and ``output`` as stored (JSON lines for call tests)."""

    input: str
    output: str
    testtype: str


class _PlainUnpickler(pickle.Unpickler):
    """Rebuilds only what needs no global: str, bytes, numbers, lists, dicts, tuples."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused global {module}.{name} in private_test_cases")


_MAX_DECOMPRESSED = 1 << 30


def decode_private_tests(text: str, where: str = "private_test_cases") -> list[Any]:
    """The official ``private_test_cases``: plain JSON, or base64(zlib(pickle(JSON string))).

    The pickle is read with globals refused, so a hostile dataset cannot run code here.
    """
    if not text:
        return []
    try:
        data = json.loads(text)
        if isinstance(data, list):
            return data
    except ValueError:
        pass
    try:
        raw = base64.b64decode(text.encode("utf-8"), validate=False)
        d = zlib.decompressobj()
        blob = d.decompress(raw, _MAX_DECOMPRESSED)
        if d.unconsumed_tail:
            raise BenchmarkError(f"{where}: decompresses to more than {_MAX_DECOMPRESSED} bytes")
        inner = _PlainUnpickler(io.BytesIO(blob)).load()
    except BenchmarkError:
        raise
    except Exception as exc:  # noqa: BLE001 - binascii, zlib and pickle errors
        raise BenchmarkError(f"{where}: neither JSON nor base64+zlib+pickle ({type(exc).__name__}: {exc})") from None
    if isinstance(inner, bytes):
        inner = inner.decode("utf-8")
    if isinstance(inner, list):
        return inner
    if not isinstance(inner, str):
        raise BenchmarkError(f"{where}: the pickle holds a {type(inner).__name__}, expected a JSON string")
    try:
        data = json.loads(inner)
    except ValueError as exc:
        raise BenchmarkError(f"{where}: the decoded text is not JSON ({exc})") from None
    if not isinstance(data, list):
        raise BenchmarkError(f"{where}: expected a list of tests, got {type(data).__name__}")
    return data


def _tests(value: Any, where: str, *, private: bool = False) -> list[LcbTest]:
    if isinstance(value, str):
        if private:
            items = decode_private_tests(value, where)
        else:
            try:
                items = json.loads(value) if value.strip() else []
            except ValueError as exc:
                raise BenchmarkError(f"{where}: invalid JSON ({str(exc)[:100]})") from None
    else:
        items = value if value is not None else []
    if not isinstance(items, list):
        raise BenchmarkError(f"{where}: expected a list of tests, got {type(items).__name__}")
    out = []
    for i, t in enumerate(items):
        if not isinstance(t, Mapping):
            raise BenchmarkError(f"{where}[{i}]: expected an object with 'input' and 'output'")
        for key in ("input", "output"):
            if not isinstance(t.get(key), str):
                raise BenchmarkError(f"{where}[{i}]: missing field {key!r} (a string)")
        out.append(LcbTest(t["input"], t["output"], str(t.get("testtype", "stdin"))))
    return out


_REQUIRED = ("question_id", "question_content", "contest_date")


def _parse_date(text: str, what: str) -> _dt.datetime:
    try:
        return _dt.datetime.fromisoformat(str(text))
    except ValueError:
        raise BenchmarkError(f"{what}: not a date ({text!r}); use YYYY-MM-DD") from None


def _problem(record: Mapping[str, Any], where: str) -> Problem:
    for key in _REQUIRED:
        if not isinstance(record.get(key), str):
            raise BenchmarkError(f"{where}: missing field {key!r}")
    qid = record["question_id"]
    meta = record.get("metadata") or {}
    if isinstance(meta, str):
        try:
            meta = json.loads(meta) if meta.strip() else {}
        except ValueError:
            raise BenchmarkError(f"{where}: field 'metadata' is not JSON") from None
    if not isinstance(meta, Mapping):
        raise BenchmarkError(f"{where}: field 'metadata' must be an object")
    public = _tests(record.get("public_test_cases"), f"{where}: public_test_cases")
    private = _tests(record.get("private_test_cases"), f"{where}: private_test_cases", private=True)
    func_name = meta.get("func_name") or ""
    if not isinstance(func_name, str):
        raise BenchmarkError(f"{where}: metadata.func_name must be a string")
    data = {k: record.get(k, "") for k in (
        "question_title", "question_content", "platform", "question_id", "contest_id",
        "contest_date", "starter_code", "difficulty",
    )}
    data.update(
        tests=tuple(public + private),
        func_name=func_name,
        date=_parse_date(record["contest_date"], f"{where}: contest_date"),
    )
    problem = Problem(task_id=qid, prompt="", entry_point=func_name, data=data)
    return dataclasses.replace(problem, prompt=user_prompt(problem))


def _read_local(path: str) -> list[tuple[str, dict[str, Any]]]:
    """(where, record) pairs of a local file, each naming its file and line."""
    from .io import read_records

    records = read_records(path)
    return [(f"{path}: line {r.get('_line', i + 1)}" if "_line" in r else f"{path}: record {i}", r)
            for i, r in enumerate(records)]


def _read_hub(name: str, files: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:  # pragma: no cover - network
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise BenchmarkError(f"loading {name!r} needs huggingface_hub (pip install datasets): {exc}") from None
    out = []
    for fname in files:
        try:
            path = hf_hub_download(repo_id=name, filename=fname, repo_type="dataset")
        except Exception as exc:  # noqa: BLE001 - network, auth, missing file
            raise BenchmarkError(
                f"could not fetch {fname} of {name!r} from the Hugging Face hub: {exc}. "
                "Offline, pass a local file (.jsonl, .jsonl.gz, .json or .parquet)."
            ) from None
        out.extend(_read_local(path))
    return out


# ----------------------------------------------------------------- prompts

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


# ----------------------------------------------------------------- the benchmark


class LiveCodeBench(Benchmark):
    """LiveCodeBench code generation (``release=``, ``start_date=``, ``end_date=``, ``timeout_s=``).

    ``stdin_mock``: ``"buffered"`` (lcb_runner since 2025-05-23, the default) or
    ``"stringio"`` (the earlier harness that graded the published leaderboard runs).
    """

    name = "livecodebench"
    parts = ("pass",)
    default_dataset = DATASET

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        known = {"release", "version_tag", "start_date", "end_date", "timeout_s", "memory_mb", "stdin_mock", "platform", "difficulty"}
        unknown = set(options) - known
        if unknown:
            raise BenchmarkError(f"unknown livecodebench option(s) {sorted(unknown)}; known: {sorted(known)}")
        self.release = str(options.get("release") or options.get("version_tag") or "release_latest")
        self.files = release_files(self.release)
        self.start = _parse_date(options["start_date"], "start_date") if options.get("start_date") else None
        self.end = _parse_date(options["end_date"], "end_date") if options.get("end_date") else None
        if self.start and self.end and self.start > self.end:
            raise BenchmarkError(f"start_date {options['start_date']} is after end_date {options['end_date']}")
        self.timeout_s = options.get("timeout_s", DEFAULT_TIMEOUT_S)
        if isinstance(self.timeout_s, bool) or not isinstance(self.timeout_s, (int, float)) or self.timeout_s <= 0:
            raise BenchmarkError(f"timeout_s must be a positive number of seconds, got {self.timeout_s!r}")
        self.memory_mb = int(options.get("memory_mb", MEMORY_MB))
        self.stdin_mock = str(options.get("stdin_mock", "buffered"))
        if self.stdin_mock not in ("buffered", "stringio"):
            raise BenchmarkError(f"stdin_mock must be 'buffered' or 'stringio', got {self.stdin_mock!r}")
        self.platform = options.get("platform")
        self.difficulty = options.get("difficulty")

    def executor_options(self) -> dict[str, Any]:
        """SandboxConfig fields: the base's plus this benchmark's memory cap."""
        return {**super().executor_options(), "memory_mb": self.memory_mb}

    @property
    def label(self) -> str:
        parts = [self.name, self.release]
        if self.start or self.end:
            parts.append(f"{self.start.date() if self.start else ''}..{self.end.date() if self.end else ''}")
        return "-".join(parts)

    # -- problems

    def load(self, dataset: str | None = None) -> list[Problem]:
        """Problems of the release (hub files fetched lazily) or a local file, date-filtered, by question_id."""
        from .io import is_local

        source = dataset or DATASET
        if is_local(source):
            pairs = _read_local(os.path.expanduser(str(source)))
        else:
            pairs = _read_hub(str(source), self.files)
        problems = sorted(self.select([_problem(r, where) for where, r in pairs]), key=lambda p: p.task_id)
        self.remember(problems)
        return problems

    def select(self, problems: Sequence[Problem]) -> list[Problem]:
        """The problems inside the date window (inclusive, official rule) and platform/difficulty filters."""
        out = []
        for p in problems:
            date = p.data["date"]
            if self.start is not None and date < self.start:
                continue
            if self.end is not None and date > self.end:
                continue
            if self.platform and p.data.get("platform") != self.platform:
                continue
            if self.difficulty and p.data.get("difficulty") != self.difficulty:
                continue
            out.append(p)
        return out

    def prompt(self, problem: Problem, *, chat: bool) -> str | list[dict[str, str]]:
        """The official generic chat prompt: system message, then the question template."""
        if chat:
            return [{"role": "system", "content": SYSTEM_MESSAGE}, {"role": "user", "content": problem.prompt}]
        return SYSTEM_MESSAGE + "\n\n" + problem.prompt

    def solution(self, problem: Problem, sample: Mapping[str, Any]) -> str:
        """Plain code as given; a model answer is reduced by the official rule (last fenced block)."""
        for key in ("solution", "completion", "output"):
            text = sample.get(key)
            if isinstance(text, str):
                if "```" in text:
                    return last_fenced_span(text)
                low = text.lower()
                if "<think>" in low or "</think>" in low:
                    return ""  # officially: no fenced block, no code
                return text
        raise BenchmarkError(f"sample for {problem.task_id} has neither a 'solution' nor a 'completion' string")

    # -- jobs and verdicts

    def jobs(self, problem: Problem, solution: str) -> Mapping[str, Job]:
        return {"pass": self.job_for(problem, solution, problem.data["tests"])}

    def job_for(self, problem: Problem, code: str, tests: Sequence[LcbTest]) -> Job:
        """One job that runs ``tests`` in order in one process, as the official harness does."""
        n = len(tests)
        budget = float((self.timeout_s + 1) * max(n, 1) + 5)
        limits = Limits(
            timeout_s=budget, wall_timeout_s=budget, job_timeout_s=budget + 10, output_bytes=64 * 1024,
        )
        fn_name = problem.data.get("func_name") or ""
        if fn_name:
            calls, expected = [], []
            for i, t in enumerate(tests):
                try:
                    calls.append(tuple(json.loads(line) for line in t.input.split("\n")))
                    expected.append(json.loads(t.output))
                except ValueError as exc:
                    raise BenchmarkError(f"{problem.task_id}: test {i} is not JSON lines ({str(exc)[:80]})") from None
            test = CallBatchTest(
                call_target(code, fn_name), tuple(calls), tuple(expected), judge=JUDGE, judge_options={"mode": "call"},
                call_timeout_s=float(self.timeout_s),
            )
            program = call_program(code)
        else:
            test = CallBatchTest(
                "__lcb_stdio__", tuple((t.input, self.stdin_mock) for t in tests), tuple(t.output for t in tests),
                judge=JUDGE, judge_options={"mode": "stdio"}, call_timeout_s=float(self.timeout_s),
            )
            program = stdio_program(code)
        return Job(program, (test,), limits=limits, mode="shared", stop_on_failure=True, job_id=problem.task_id)

    def verdicts(self, problem: Problem, reports: Mapping[str, Report]) -> SampleResult:
        report = reports["pass"]
        results, meta = official_result(problem, report, problem.data["tests"])
        if meta.get("error_code") == "sandbox_error":
            verdict = SANDBOX_ERROR
        else:
            verdict = PASS if all(r is True for r in results) else FAIL
        fail_tests = [] if verdict != FAIL else [meta.get("inputs", "")]
        return SampleResult(
            problem.task_id, 0, "", {"pass": verdict}, reports=dict(reports), fail_tests={"pass": fail_tests},
            details={"results": results, "metadata": meta},
        )

    def write_official(self, results: Sequence[SampleResult], out_dir: str, stem: str) -> list[str]:
        """``{stem}_eval_all.json`` (per-problem records) and ``{stem}_eval.json`` (pass@k, results, metadata)."""
        problems = getattr(self, "_written_problems", None) or {}
        by_task: dict[str, list[SampleResult]] = {}
        for r in results:
            by_task.setdefault(r.task_id, []).append(r)
        for rs in by_task.values():
            rs.sort(key=lambda r: r.index)
        eval_all, res_map, meta_list, totals, corrects = [], {}, [], [], []
        for idx, task_id in enumerate(sorted(by_task)):
            rs = [r for r in by_task[task_id] if r.verdicts.get("pass") != SANDBOX_ERROR]
            record = dict(problems.get(task_id, {"question_id": task_id}))
            graded = [r.verdicts["pass"] == PASS for r in rs]
            record.update(
                output_list=[r.details.get("output", r.solution) for r in rs],
                code_list=[r.solution for r in rs],
                graded_list=graded,
                **{"pass@1": graded.count(True) / len(graded) if graded else 0.0},
                metadata=[json.dumps(r.details.get("metadata", {})) for r in rs],
            )
            eval_all.append(record)
            res_map[str(idx)] = [list(r.details.get("results", [])) for r in rs]
            meta_list.append([json.dumps(r.details.get("metadata", {})) for r in rs])
            totals.append(len(graded))
            corrects.append(graded.count(True))
        metrics: dict[str, Any] = {}
        detail: dict[str, dict[str, float]] = {}
        for k in K_LIST:
            if totals and all(n >= k for n in totals):
                per = [_pass_at_k(n, c, k) for n, c in zip(totals, corrects)]
                metrics[f"pass@{k}"] = sum(per) / len(per)
                detail[f"pass@{k}"] = {str(i): v for i, v in enumerate(per)}
        metrics["detail"] = detail
        os.makedirs(out_dir, exist_ok=True)
        paths = [os.path.join(out_dir, f"{stem}_eval_all.json"), os.path.join(out_dir, f"{stem}_eval.json")]
        with open(paths[0], "w") as f:
            json.dump(eval_all, f, indent=4)
        with open(paths[1], "w") as f:
            json.dump([metrics, res_map, meta_list], f, indent=4)
        return paths

    def remember(self, problems: Sequence[Problem]) -> None:
        """Keep the problems' fields for :meth:`write_official` (the eval_all records carry them)."""
        keys = ("question_title", "question_content", "platform", "question_id", "contest_id",
                "contest_date", "starter_code", "difficulty")
        self._written_problems = {p.task_id: {k: p.data.get(k, "") for k in keys} for p in problems}


def _pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator lcb_runner uses: 1 - C(n - c, k) / C(n, k)."""
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def _call_message(message: str) -> str:
    """An outcome message without its ``call N: `` prefix."""
    return re.sub(r"^call \d+: ", "", message, count=1)


def _error_repr(message: str) -> str:
    """``Type: text`` (first line of an outcome message) as the official ``repr(e)``."""
    head = _call_message(message).split("\n", 1)[0]
    kind, sep, text = head.partition(": ")
    if sep and kind.isidentifier():
        return f"{kind}({text!r})"
    return head


def official_result(problem: Problem, report: Report, tests: Sequence[LcbTest]) -> tuple[list[Any], dict[str, Any]]:
    """The official result list (``True`` per passed test, then an error code) and metadata."""
    outcome = report.outcomes[0]
    status = outcome.status
    if status == Status.SANDBOX_ERROR:
        return [], {"error_code": "sandbox_error", "error_message": outcome.message}
    if status == Status.PASSED:
        return [True] * len(tests), {"execution time": outcome.duration_s}
    i = outcome.call_index
    call_based = bool(problem.data.get("func_name"))

    def shown_inputs(k: int) -> str:
        t = tests[k]
        if call_based:
            try:
                return truncate([json.loads(line) for line in t.input.split("\n")])
            except ValueError:
                return truncate(t.input)
        return truncate(t.input)

    def shown_expected(k: int) -> str:
        t = tests[k]
        if call_based:
            try:
                return truncate(json.loads(t.output))
            except ValueError:
                return truncate(t.output)
        return truncate(t.output)

    if status == Status.FAILED and i is not None:
        message = _call_message(outcome.message)
        info: dict[str, Any] = {}
        if message.startswith(_PACK):
            try:
                info = json.loads(message[len(_PACK):])
            except ValueError:
                info = {}
        meta = {
            "output": info.get("output", ""),
            "inputs": shown_inputs(i),
            "expected": shown_expected(i),
            "error_code": -2,
            "error_message": info.get("error_message", "Wrong Answer"),
        }
        return [True] * i + [-2], meta
    if status == Status.TIMEOUT and i is not None:
        return [True] * i + [-3], {
            "error": "TimeoutException()", "error_code": -3, "error_message": "Time Limit Exceeded",
            "inputs": shown_inputs(i), "expected": shown_expected(i),
        }
    if status in (Status.ERROR, Status.MEMORY) and i is not None:
        return [True] * i + [-4], {
            "error": _error_repr(outcome.message) if status == Status.ERROR else "MemoryError()",
            "error_code": -4, "error_message": "Runtime Error",
            "inputs": shown_inputs(i), "expected": shown_expected(i),
        }
    if status in (Status.ERROR, Status.MEMORY, Status.FAILED):
        # the program did not load (or the function could not be found): officially -4
        return [-4], {"error_code": -4, "error_message": f"Error during testing: {outcome.message.splitlines()[0] if outcome.message else ''}"}
    # the whole-problem budget, or the process died (exit in a call, os._exit, a crash)
    return [-1] * len(tests), {"error": outcome.message, "error_code": -5, "error_message": "TestRunnerError"}


# ----------------------------------------------------------------- fidelity

_SLOW_311E = (
    "timing: the code fills a 3000x3000 table in pure Python; its largest statement sample needs about the "
    "whole 6 s per-test alarm (the official run logged 30 s over all its tests), so the verdict flips with "
    "machine speed and load"
)
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("O1-Mini-2024-09-12_N1", "abc311_e"): _SLOW_311E,
    ("O1-Preview-2024-09-12_N1", "abc311_e"): _SLOW_311E,
    ("O1-Mini-2024-09-12_N1", "abc328_e"): (
        "timing: brute force over edge combinations; Sample Input 3 takes 8.2 s of CPU here (host, no sandbox) "
        "against the 6 s alarm, while the official machine ran all the problem's tests in 10.4 s"
    ),
}
"""``(run prefix, question_id)`` -> why our verdict differs from the official one (investigated)."""

_TRUNCATED = "...(truncated) ..."
_CODE_CLASS = {-2: "wrong_answer", -3: "timeout", -4: "runtime_error", -5: "runner_error", -1: "runner_error"}


def _signature(starter: str) -> tuple[str, list[str], str] | None:
    """(method name, parameter names without self, return annotation) of LeetCode starter code."""
    m = re.search(r"def\s+(\w+)\s*\(([^)]*)\)\s*(?:->\s*([^:]+))?:", starter)
    if not m:
        return None
    params = [p.split(":")[0].split("=")[0].strip() for p in m.group(2).split(",")]
    params = [p for p in params if p and p != "self"]
    return m.group(1), params, (m.group(3) or "").strip()


def atcoder_samples(content: str) -> list[LcbTest]:
    """``Sample Input k`` / ``Sample Output k`` blocks of an AtCoder statement (``\\r\\n`` read as ``\\n``).

    An output block ends at the first blank line; a block that starts with one is empty.
    """
    text = content.replace("\r\n", "\n")
    out = []
    # Some statements put an extra blank line after every sample header: the input's tells.
    for m in re.finditer(r"Sample Input (\d+)(\n\n\n?)(.*?)\n\nSample Output \1(?=\n)", text, flags=re.S):
        rest = text[m.end():]
        if not rest.startswith(m.group(2)):
            continue
        rest = rest[len(m.group(2)):]
        expected = "" if rest.startswith("\n") else rest.split("\n\n", 1)[0]
        out.append(LcbTest(m.group(3).strip("\n") + "\n", expected.strip("\n") + "\n" if expected else "", "stdin"))
    return out


def leetcode_examples(content: str, params: Sequence[str]) -> list[LcbTest]:
    """``Input: a = ..., b = ...`` / ``Output: ...`` examples as JSON-lines tests; [] if any does not parse."""
    out = []
    for m in re.finditer(r"Input:\s*(.+?)\s*\nOutput:\s*(.+?)\s*(?:\n|\Z)", content):
        parts = re.split(r",\s*(?=[A-Za-z_]\w*\s*=\s)", m.group(1))
        names, values = [], []
        for part in parts:
            name, sep, value = part.partition("=")
            if not sep:
                return []
            names.append(name.strip())
            values.append(value.strip())
        if names != list(params):
            return []
        try:
            args = [json.loads(v) for v in values]
            expected = json.loads(m.group(2))
        except ValueError:
            return []
        out.append(LcbTest("\n".join(json.dumps(a) for a in args), json.dumps(expected), "functional"))
    return out


def _failing_test(record: Mapping[str, Any], meta: Mapping[str, Any]) -> tuple[LcbTest | None, str]:
    """The failing test the official metadata shows, or why it cannot be used."""
    inputs, expected = meta.get("inputs"), meta.get("expected")
    if not isinstance(inputs, str) or not isinstance(expected, str):
        return None, "no failing input in the official metadata"
    if _TRUNCATED in inputs or _TRUNCATED in expected:
        return None, "failing input or expected output truncated in the official metadata"
    if not record.get("starter_code"):
        return LcbTest(inputs, expected, "stdin"), ""
    sig = _signature(record["starter_code"])
    if sig is None:
        return None, "no method signature in the starter code"
    try:
        args = ast.literal_eval(inputs)
        value = expected if sig[2] == "str" else ast.literal_eval(expected)
        text_in = "\n".join(json.dumps(a) for a in args)
        text_out = json.dumps(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None, "failing call input or expected value does not parse"
    if not isinstance(args, list):
        return None, "failing call input is not an argument list"
    return LcbTest(text_in, text_out, "functional"), ""


def _our_class(results: Sequence[Any], meta: Mapping[str, Any]) -> str:
    if meta.get("error_code") == "sandbox_error":
        return SANDBOX_ERROR
    if all(r is True for r in results):
        return "pass"
    return _CODE_CLASS.get(int(meta.get("error_code", -4)), "runtime_error")


def _record_problem(record: Mapping[str, Any], func_name: str) -> Problem:
    data = {k: record.get(k, "") for k in ("question_title", "question_content", "platform", "question_id",
                                            "contest_id", "contest_date", "starter_code", "difficulty")}
    data["func_name"] = func_name
    return Problem(task_id=str(record["question_id"]), prompt="", entry_point=func_name, data=data)


def verify_runs(
    data_root: pathlib.Path,
    executor: Any,
    *,
    limit: int | None = None,
    progress: bool = True,
    task_ids: Sequence[str] | None = None,
) -> list[RunAgreement]:
    """Rescore the official ``*_eval_all.json`` runs under ``data_root/livecodebench``.

    There are no official test cases, so two things are compared per problem: a problem that
    failed officially is rerun on the failing input its metadata shows (when complete) and
    must fail with the same error class; a problem that passed officially is run on the
    samples parsed from its statement (AtCoder ``Sample Input``/``Sample Output`` blocks,
    LeetCode ``Input:``/``Output:`` examples), which it must pass. Everything else is excluded.
    ``task_ids`` keeps only those problems (to rerun a few).
    """
    folder = pathlib.Path(data_root) / "livecodebench"
    paths = sorted(folder.glob("*_eval_all.json*")) if folder.is_dir() else []
    # The runs were graded before 2025-05-23, with the plain StringIO stdin of that harness.
    bench = LiveCodeBench(stdin_mock="stringio")
    out: list[RunAgreement] = []
    for path in paths:
        started = time.monotonic()
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            records = json.load(f)
        if task_ids is not None:
            records = [r for r in records if str(r["question_id"]) in set(task_ids)]
        if limit is not None:
            records = records[:limit]
        run = path.name.split("_Scenario")[0]
        items: list[tuple[str, str, Problem, str, list[LcbTest]]] = []
        excluded: dict[str, int] = {}
        extracted_same = 0
        for record in records:
            qid = str(record["question_id"])
            code = record["code_list"][0]
            if last_fenced_span(record["output_list"][0]) == code:
                extracted_same += 1
            official_pass = bool(record["graded_list"][0])
            meta = json.loads(record["metadata"][0])
            sig = _signature(record.get("starter_code") or "") if record.get("starter_code") else None
            if record.get("starter_code") and sig is None:
                excluded["no method signature in the starter code"] = excluded.get("no method signature in the starter code", 0) + 1
                continue
            problem = _record_problem(record, sig[0] if sig else "")
            if official_pass:
                tests = (leetcode_examples(record["question_content"], sig[1]) if sig
                         else atcoder_samples(record["question_content"]) if record.get("platform") == "atcoder" else [])
                if not tests:
                    why = "passed officially; no samples could be parsed from the statement"
                    excluded[why] = excluded.get(why, 0) + 1
                    continue
                items.append((qid, "pass", problem, code, tests))
            else:
                code_class = _CODE_CLASS.get(int(meta.get("error_code", 0) or 0))
                test, why = _failing_test(record, meta)
                if test is None or code_class not in ("wrong_answer", "timeout", "runtime_error"):
                    why = why or f"official error code {meta.get('error_code')} names no failing input"
                    excluded[why] = excluded.get(why, 0) + 1
                    continue
                items.append((qid, code_class, problem, code, [test]))
        jobs = [bench.job_for(problem, code, tests) for _, _, problem, code, tests in items]
        reports: dict[int, Report] = {}
        for k, report in executor.imap(jobs, ordered=False, progress=progress, total=len(jobs)):
            reports[k] = report

        def class_of(k: int, report: Report, items: list[Any] = items) -> tuple[str, dict[str, Any]]:
            results, meta = official_result(items[k][2], report, items[k][4])
            return _our_class(results, meta), meta

        classes = [class_of(k, reports[k]) for k in range(len(items))]
        # Unexplained differences are rescored alone before they count as unexplained.
        suspects = [k for k, (qid, official, *_rest) in enumerate(items)
                    if (run, qid) not in KNOWN_DIFFERENCES and classes[k][0] != official]
        rechecked = recheck(executor, [jobs[k] for k in suspects],
                            lambda j, report, s=suspects, it=items: class_of(s[j], report)[0] == it[s[j]][1])
        load_sensitive = {suspects[j]: why for j, why in rechecked.items()}
        disagreements: list[Disagreement] = []
        agreed = 0
        by_kind = {"pass": [0, 0], "fail": [0, 0]}
        for k, (qid, official, problem, _code, tests) in enumerate(items):
            ours, meta = classes[k]
            kind = by_kind["pass" if official == "pass" else "fail"]
            kind[0] += 1
            if ours == official:
                agreed += 1
                kind[1] += 1
                continue
            explanation = KNOWN_DIFFERENCES.get((run, qid), "") or load_sensitive.get(k, "")
            detail = meta.get("error_message", "") if ours != "pass" else ""
            disagreements.append(Disagreement(qid, official, f"{ours} {detail}".strip(), explanation))
        n_excluded = sum(excluded.values())
        notes = [
            f"stdin_mock='stringio': these runs were graded by lcb_runner before 2025-05-23",
            f"officially failing, rerun on the failing input from the metadata, same error class required: "
            f"{by_kind['fail'][1]}/{by_kind['fail'][0]} agree",
            f"officially passing, run on the samples parsed from the statement, pass required: "
            f"{by_kind['pass'][1]}/{by_kind['pass'][0]} agree",
            f"code extraction (last fenced block) reproduces code_list for {extracted_same}/{len(records)} outputs",
            *(f"excluded {n}: {why}" for why, n in sorted(excluded.items(), key=lambda kv: -kv[1])),
            f"took {time.monotonic() - started:.0f} s",
        ]
        out.append(RunAgreement("livecodebench", run, len(items), agreed, n_excluded, tuple(disagreements), tuple(notes)))
    return out
