"""Stage 1, test-case synthesis: seed code -> ``{id, source, question, tests}``.

An LLM rewrites each seed snippet as one self-contained function with a LeetCode-style
question and about 20 independent asserts, answered as JSON. LLMs answer almost-JSON
(fences, trailing commas, Python literals, raw newlines in strings), so parsing is
lenient; every test is then checked (it parses, it is one ``assert``, it calls the
entry point) and de-duplicated, and questions are de-duplicated across the run. A
malformed or too thin answer is asked again; what still fails is a counted rejection
with its reason, never a silent drop.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from acesandbox.extract import answer_text, code_blocks
from acesandbox.syntax import parse as parse_ast

from .checkpoint import StageStore, stage_progress
from .config import SynthConfig
from .generation import Generator, SamplingParams
from .io import read_rows

__all__ = [
    "AnswerError",
    "build_prompt",
    "normalize_question",
    "parse_answer",
    "row_id",
    "synthesize",
    "validate_tests",
]

SYSTEM_PROMPT = "You are an expert Python programmer who writes precise programming exercises and their unit tests."

PROMPT_TEMPLATE = """\
Below is a code snippet. Turn it into a self-contained LeetCode-style programming exercise.

1. Write ONE self-contained Python function (standard library only, no input() or print() for the result) \
that does what the snippet is about. Give it a descriptive name.
2. Write a clear question asking for that function: state its name and signature, and define its inputs and \
output precisely, with their types and edge cases.
3. Write {num_tests} independent test cases, each a single line of the form \
`assert <function>(<constant arguments>) == <expected value>`. Arguments and expected values must be \
literals (no variables, no helper functions, no randomness); cover typical cases and edge cases; every \
expected value must be what a correct function returns.

Answer with JSON only, in this form:
```json
{{"question": "...", "entry_point": "function_name", "program": "def function_name(...):\\n    ...", "tests": ["assert function_name(...) == ...", ...]}}
```

Snippet:
```python
{code}
```"""


class AnswerError(ValueError):
    """An LLM answer that is unusable; ``reason`` is a short code counted in the summary."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def build_prompt(code: str, num_tests: int = 20) -> list[dict[str, str]]:
    """The synthesis prompt for one seed snippet, as chat messages."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": PROMPT_TEMPLATE.format(code=code.strip("\n"), num_tests=num_tests)},
    ]


# ------------------------------------------------------------------ parsing

_SMART = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def _candidates(text: str) -> Iterator[str]:
    body = answer_text(text) or ""
    for block in code_blocks(body):
        if "{" in block.code:
            yield block.code
    start, end = body.find("{"), body.rfind("}")
    if start != -1 and end > start:
        yield body[start : end + 1]


def _loads_lenient(text: str) -> Any:
    text = text.strip()
    attempts = [text, _TRAILING_COMMA.sub(r"\1", text.translate(_SMART))]
    for candidate in attempts:
        try:
            return json.loads(candidate, strict=False)
        except (ValueError, RecursionError):  # an answer nested too deep is no answer, not a crash
            pass
    # Python literals (single quotes, True/None): what models write when they forget JSON.
    py = attempts[1]
    py = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", re.sub(r"\bnull\b", "None", py)))
    try:
        return ast.literal_eval(py)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    raise ValueError("not JSON")


def parse_answer(text: str) -> dict[str, Any]:
    """``{question, entry_point, program, tests}`` from an almost-JSON answer; raises AnswerError."""
    if not isinstance(text, str) or not text.strip():
        raise AnswerError("empty_answer")
    data = None
    for candidate in _candidates(text):
        try:
            data = _loads_lenient(candidate)
        except ValueError:
            continue
        if isinstance(data, dict):
            break
    if not isinstance(data, dict):
        raise AnswerError("malformed_answer", "no JSON object found")
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        raise AnswerError("malformed_answer", "no 'question' string")
    tests = data.get("tests", data.get("test_cases"))
    if not isinstance(tests, list) or not tests:
        raise AnswerError("malformed_answer", "no 'tests' list")
    raw_program, raw_entry = data.get("program"), data.get("entry_point")
    program = raw_program if isinstance(raw_program, str) else ""
    entry = raw_entry.strip() if isinstance(raw_entry, str) else ""
    entry = entry or _entry_from_program(program) or _entry_from_tests(tests)
    if not entry or not entry.replace(".", "_").isidentifier():
        raise AnswerError("malformed_answer", f"no usable entry point ({entry!r})")
    return {"question": question.strip(), "entry_point": entry, "program": program, "tests": tests}


def _entry_from_program(program: str) -> str:
    try:
        tree = parse_ast(program)
    except (SyntaxError, ValueError):
        return ""
    names = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return names[-1] if names else ""


def _entry_from_tests(tests: Sequence[Any]) -> str:
    calls: Counter[str] = Counter()
    for t in tests:
        if isinstance(t, str):
            calls.update(re.findall(r"assert\s+(?:not\s+)?([A-Za-z_]\w*)\s*\(", t))
    return calls.most_common(1)[0][0] if calls else ""


def _calls(node: ast.AST, name: str) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            if (isinstance(f, ast.Name) and f.id == name) or (isinstance(f, ast.Attribute) and f.attr == name):
                return True
    return False


def validate_tests(tests: Sequence[Any], entry_point: str) -> tuple[list[str], list[tuple[str, str]]]:
    """``(kept, rejected)``: kept tests in order, rejected ``(test, reason)`` pairs.

    A test is kept when it is a string that parses as exactly one ``assert`` statement
    calling ``entry_point`` and is not a duplicate (compared after normalising the
    source with ``ast.unparse``).
    """
    kept: list[str] = []
    rejected: list[tuple[str, str]] = []
    seen: set[str] = set()
    name = entry_point.rsplit(".", 1)[-1]
    for test in tests:
        if not isinstance(test, str):
            rejected.append((repr(test)[:500], "not_a_string"))
            continue
        src = test.strip()
        try:
            tree = parse_ast(src)
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # nested too deep: unusable too
            rejected.append((test, "syntax_error"))
            continue
        if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
            rejected.append((test, "not_assert"))
            continue
        if not _calls(tree.body[0].test, name):
            rejected.append((test, "no_entry_point_call"))
            continue
        norm = ast.unparse(tree)
        if norm in seen:
            rejected.append((test, "duplicate_test"))
            continue
        seen.add(norm)
        kept.append(src)
    return kept, rejected


def normalize_question(question: str) -> str:
    """The form under which two questions count as duplicates (case, spacing, punctuation)."""
    return re.sub(r"[\W_]+", " ", question.lower()).strip()


def row_id(row: dict[str, Any], id_column: str, code: str) -> str:
    """A row's id column, else a content hash of its code (stable across restarts)."""
    ident = row.get(id_column)
    if isinstance(ident, (str, int)) and not isinstance(ident, bool) and str(ident):
        return str(ident)
    return "seed-" + hashlib.sha1(code.encode()).hexdigest()[:12]


# ------------------------------------------------------------------ stage


def _attempt(answer: str, config: SynthConfig) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    parsed = parse_answer(answer)
    kept, rejected = validate_tests(parsed["tests"], parsed["entry_point"])
    if len(kept) < config.min_tests:
        raise AnswerError("too_few_tests", f"{len(kept)} valid tests, need {config.min_tests}")
    parsed["tests"] = kept
    return parsed, rejected


def synthesize(config: SynthConfig, generator: Generator | None = None) -> dict[str, Any]:
    """Run synthesis over ``config.input`` into ``config.output``; returns the summary.

    Resumes an earlier run of the same output (items already written or rejected for
    good are skipped). ``generator`` overrides ``config.generator`` (tests, reuse).
    """
    gen = generator or config.generator.build()
    t0 = time.monotonic()
    store = StageStore(config.output, fresh=config.fresh)
    seen_questions = {normalize_question(r.get("question", "")) for r in store.records()}
    run: Counter[str] = Counter()
    test_reasons: Counter[str] = Counter()
    interrupted = True
    bar = stage_progress(config, "synth", "seed")
    try:
        batch: list[tuple[str, str, str]] = []
        taken: set[str] = set()  # ids queued by this run
        for row in read_rows(config.input, limit=config.limit):
            run["rows"] += 1
            if bar is not None:
                bar.update(1)
            if row.error is not None or row.data is None:
                ident = f"row-{row.index + 1}"
                if not store.done(ident):
                    store.reject(ident, "bad_row", f"{row.where}: {row.error}" if row.where else row.error or "")
                    run["rejected:bad_row"] += 1
                continue
            code = row.data.get(config.code_column)
            if not isinstance(code, str) or not code.strip():
                ident = row_id(row.data, config.id_column, f"row-{row.index + 1}")
                if not store.done(ident):
                    store.reject(ident, "no_code", f"row {row.index + 1} has no {config.code_column!r} text")
                    run["rejected:no_code"] += 1
                continue
            ident = row_id(row.data, config.id_column, code)
            if store.done(ident):
                run["skipped_done"] += 1
                continue
            if ident in taken:
                # The same id twice (or the same seed code without ids): only the first is synthesized,
                # so an interrupted-then-resumed run (which skips the id as done) writes what a whole run does.
                run["skipped_duplicate_id"] += 1
                continue
            taken.add(ident)
            source = row.data.get(config.source_column)
            batch.append((ident, str(source) if source else config.default_source, code))
            if len(batch) >= config.batch_size:
                _run_batch(batch, gen, config, store, seen_questions, run, test_reasons)
                batch = []
        if batch:
            _run_batch(batch, gen, config, store, seen_questions, run, test_reasons)
        interrupted = False
    finally:
        if bar is not None:
            bar.close()
        summary = _summary(config, store, run, test_reasons, gen, time.monotonic() - t0, interrupted)
        store.finish(summary, complete=not interrupted)
        if generator is None:
            gen.close()
    return summary


def _run_batch(
    batch: list[tuple[str, str, str]],
    gen: Generator,
    config: SynthConfig,
    store: StageStore,
    seen: set[str],
    run: Counter[str],
    test_reasons: Counter[str],
) -> None:
    pending = list(batch)
    last: dict[str, AnswerError] = {}
    attempts: dict[str, int] = {}
    for attempt in range(config.max_retries + 1):
        if not pending:
            break
        params = SamplingParams(
            n=1,
            temperature=config.temperature if attempt == 0 else max(config.temperature, 0.7),
            max_tokens=config.max_tokens,
            seed=attempt,
        )
        done = gen.complete([build_prompt(code, config.num_tests) for _, _, code in pending], params)
        retry = []
        for (ident, source, code), completion in zip(pending, done):
            attempts[ident] = attempt + 1
            if not completion.ok or not completion.texts:
                last[ident] = AnswerError("generation_failed", completion.error or "no answer")
                retry.append((ident, source, code))
                continue
            try:
                parsed, rejected = _attempt(completion.texts[0], config)
            except AnswerError as exc:
                run[f"answer:{exc.reason}"] += 1
                last[ident] = exc
                retry.append((ident, source, code))
                continue
            key = normalize_question(parsed["question"])
            if key in seen:
                store.reject(ident, "duplicate_question", parsed["question"][:200])
                run["rejected:duplicate_question"] += 1
                continue
            seen.add(key)
            for _test, reason in rejected:
                test_reasons[reason] += 1
            run["tests_kept"] += len(parsed["tests"])
            store.write(
                {
                    "id": ident,
                    "source": source,
                    "question": parsed["question"],
                    "tests": parsed["tests"],
                    "entry_point": parsed["entry_point"],
                    "program": parsed["program"],
                    "seed_code": code,
                    "diagnostics": {
                        "attempts": attempt + 1,
                        "rejected_tests": [{"test": t, "reason": r} for t, r in rejected],
                    },
                }
            )
            run["written"] += 1
        pending = retry
    for ident, _source, _code in pending:
        failure = last[ident]
        transient = failure.reason == "generation_failed"
        store.reject(ident, failure.reason, failure.detail, retry=transient, attempts=attempts.get(ident, 0))
        run[f"rejected:{failure.reason}"] += 1


def _summary(
    config: SynthConfig,
    store: StageStore,
    run: Counter[str],
    test_reasons: Counter[str],
    gen: Generator,
    elapsed_s: float,
    interrupted: bool,
) -> dict[str, Any]:
    written = 0
    tests = 0
    rejected_tests: Counter[str] = Counter()
    for r in store.records():
        written += 1
        tests += len(r.get("tests", ()))
        for item in (r.get("diagnostics") or {}).get("rejected_tests", ()):
            rejected_tests[item.get("reason", "?")] += 1
    return {
        "stage": "synth",
        "input": config.input,
        "output": config.output,
        "interrupted": interrupted,
        "elapsed_s": round(elapsed_s, 3),
        "questions": written,
        "tests": tests,
        "avg_tests": round(tests / written, 3) if written else 0.0,
        "rejected_items": dict(store.reject_counts()),
        "rejected_tests": dict(rejected_tests),
        "this_run": dict(run) | {"rejected_tests": dict(test_reasons)},
        "resumed_items": store.resumed,
        "usage": gen.usage.to_dict(),
        "model": gen.model_name,
    }
