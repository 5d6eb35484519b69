"""Where tests come from: dataset rows, looked up by id or by question.

AceCode-87K rows carry ``id``, ``question`` and ``test_cases`` (a list of assert
strings); other datasets name the column ``tests``, store it as a JSON string, or
hold the question in ``context_messages``. :func:`load_problems` reads a dataset with
harness's one reader (:mod:`harness.io`) into a :class:`ProblemIndex`
that finds a row's tests by its id or by its question (whitespace-insensitive hash,
as the AceCoder reward server finds them from a chat-templated query).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import DatasetError, TestsNotFoundError

__all__ = [
    "ProblemIndex",
    "RewardRow",
    "TESTS_KEYS",
    "coerce_tests",
    "load_problems",
    "question_key",
    "resolve_tests",
]

TESTS_KEYS = ("tests", "test_cases")
"""Column names that hold a row's tests, in the order they are looked for."""

Tests = tuple[Any, ...]


def coerce_tests(value: Any, *, where: str = "tests") -> Tests:
    """A row's tests as a tuple: from a list, a JSON-encoded list, or one assert string.

    Items stay as given (assert strings, or test dicts such as
    ``{"kind": "io", "stdin": ..., "expected_stdout": ...}``), for acesandbox to read.
    """
    if isinstance(value, tuple) and all(isinstance(t, str) for t in value):
        return value  # already coerced (rows of a ProblemIndex)
    if value is None:
        raise TestsNotFoundError(f"{where}: no tests (the value is null)")
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where}: looks like a JSON list but does not parse: {exc}") from None
        else:
            return (value,)
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        value = value.tolist()  # numpy arrays from parquet / datasets
    if isinstance(value, Mapping) or not isinstance(value, Sequence):
        raise DatasetError(f"{where}: expected a list of tests, got {type(value).__name__}")
    out = []
    for i, item in enumerate(value):
        if hasattr(item, "tolist") and not isinstance(item, (str, bytes)):
            item = item.tolist()
        if not isinstance(item, (str, Mapping)):
            raise DatasetError(f"{where}[{i}]: expected an assert string or a test object, got {type(item).__name__}")
        out.append(item)
    return tuple(out)


def question_key(text: str) -> str:
    """The lookup key of a question: a hash of its words, blind to whitespace changes.

    Tokenizer round trips and chat templates add or drop spaces and newlines around a
    user turn; hashing the whitespace-split words makes the key survive them.
    """
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


@dataclass(frozen=True)
class RewardRow:
    """One dataset row reduced to what rewards need."""

    id: str
    tests: Tests
    question: str = ""


class ProblemIndex(Mapping[str, Tests]):
    """Tests by row id (``index[id]``), and rows by question (:meth:`find_question`)."""

    def __init__(self, problems: Iterable[RewardRow], *, source: str = "") -> None:
        self.source = source
        self._by_id: dict[str, RewardRow] = {}
        self._by_question: dict[str, str] = {}
        self._ambiguous: dict[str, list[str]] = {}  # question key -> ids of rows with other tests
        for p in problems:
            self._by_id[p.id] = p
            if p.question:
                key = question_key(p.question)
                first = self._by_question.setdefault(key, p.id)
                if first != p.id and self._by_id[first].tests != p.tests:
                    self._ambiguous.setdefault(key, [first]).append(p.id)

    def __getitem__(self, key: str) -> Tests:
        try:
            return self._by_id[str(key)].tests
        except KeyError:
            where = f" in {self.source}" if self.source else ""
            raise TestsNotFoundError(f"no dataset row with id {key!r}{where}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, key: object) -> bool:
        return str(key) in self._by_id

    def problem(self, key: str) -> RewardRow:
        """The whole row with id ``key``."""
        self[key]
        return self._by_id[str(key)]

    def find_question(self, text: str) -> RewardRow | None:
        """The row whose question is ``text`` (up to whitespace), or None.

        Raises TestsNotFoundError when rows with different tests share the question (real
        MBPP has four such pairs): taking the first would judge one task by another's tests.
        """
        key = question_key(text)
        ids = self._ambiguous.get(key)
        if ids is not None:
            shown = ", ".join(repr(i) for i in ids[:5])
            raise TestsNotFoundError(
                f"the question matches {len(ids)} rows with different tests ({shown}) in "
                f"{self.source or 'the dataset'}; give each completion its row id or tests instead"
            )
        pid = self._by_question.get(key)
        return None if pid is None else self._by_id[pid]

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Mapping[str, Any]],
        *,
        id_key: str = "id",
        tests_key: str | None = None,
        question_key: str | None = None,
        source: str = "",
    ) -> ProblemIndex:
        """Build an index from dict rows; a row without tests or id names itself in the error."""
        problems = []
        seen: set[str] = set()
        for n, row in enumerate(rows):
            where = f"{source or 'dataset'}: row {n}"
            problems.append(_problem(row, where, id_key, tests_key, question_key, n))
            if problems[-1].id in seen:
                raise DatasetError(f"{where}: duplicate {id_key!r} {problems[-1].id!r}")
            seen.add(problems[-1].id)
        return cls(problems, source=source)


def _question(row: Mapping[str, Any], key: str | None) -> str:
    if key is not None:
        value = row.get(key)
    elif "question" in row:
        value = row["question"]
    else:
        value = row.get("context_messages") or row.get("prompt") or row.get("messages")
    if isinstance(value, str):
        return value
    if value is not None and hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, Sequence):
        for m in value:  # the first user turn, as the AceCoder server hashes it
            if isinstance(m, Mapping) and m.get("role") == "user":
                return str(m.get("content", ""))
    return ""


def _problem(
    row: Mapping[str, Any], where: str, id_key: str, tests_key: str | None, q_key: str | None, n: int
) -> RewardRow:
    if not isinstance(row, Mapping):
        raise DatasetError(f"{where}: expected an object, got {type(row).__name__}")
    keys = (tests_key,) if tests_key else TESTS_KEYS
    key = next((k for k in keys if k in row), None)
    if key is None:
        raise DatasetError(f"{where}: missing field {' or '.join(repr(k) for k in keys)}")
    try:
        tests = coerce_tests(row[key], where=f"{where}: field {key!r}")
    except TestsNotFoundError as exc:
        raise DatasetError(str(exc)) from None
    ident = row.get(id_key)
    if ident is None:
        if id_key != "id" or "id" in row:
            raise DatasetError(f"{where}: missing field {id_key!r}")
        ident = n  # rows without ids are numbered
    return RewardRow(id=str(ident), tests=tests, question=_question(row, q_key))


def resolve_tests(label: Any, prompt: Any, index: ProblemIndex | None, *, where: str = "label") -> Tests:
    """A completion's tests from an OpenRLHF-style label, or from its prompt.

    ``label``: the tests themselves (a list, a JSON list, or ``{"tests": [...]}``), or
    a dataset row id. Without a label, the prompt's user turn is looked up among the
    dataset's questions, as the AceCoder reward server does.
    """
    if isinstance(label, Mapping):
        key = next((k for k in TESTS_KEYS if k in label), None)
        if key is None:
            raise TestsNotFoundError(f"{where}: an object label needs a 'tests' or 'test_cases' field")
        return coerce_tests(label[key], where=f"{where}.{key}")
    if isinstance(label, (list, tuple)) or (isinstance(label, str) and label.lstrip().startswith("[")):
        try:
            return coerce_tests(label, where=where)
        except DatasetError as exc:
            raise TestsNotFoundError(str(exc)) from None
    if label is not None and label != "":
        if index is None:
            raise TestsNotFoundError(
                f"{where}: {label!r} is a row id, but no dataset was loaded (start with --dataset)"
            )
        try:
            return index[str(label)]
        except TestsNotFoundError as exc:
            raise TestsNotFoundError(f"{where}: {exc}") from None
    if index is None:
        raise TestsNotFoundError(f"{where}: no label and no dataset to find the question in (start with --dataset)")
    from acesandbox.extract import user_turn

    try:
        problem = index.find_question(user_turn(prompt))
    except TestsNotFoundError as exc:  # rows with different tests share the question
        raise TestsNotFoundError(f"{where}: {exc}") from None
    if problem is None:
        raise TestsNotFoundError(
            f"{where}: no label, and the prompt's user turn matches no question of {index.source or 'the dataset'}"
        )
    return problem.tests


# -------------------------------------------------------------------- loading


def _wanted(id_key: str, tests_key: str | None, q_key: str | None) -> list[str]:
    cols = [id_key, *(([tests_key]) if tests_key else TESTS_KEYS)]
    cols += [q_key] if q_key else ["question", "context_messages", "prompt", "messages"]
    return cols


def load_problems(
    source: str,
    *,
    split: str | None = None,
    id_key: str = "id",
    tests_key: str | None = None,
    question_key: str | None = None,
) -> ProblemIndex:
    """Load a dataset's rows into a :class:`ProblemIndex`.

    ``source``: anything :func:`harness.io.read_rows` reads: a ``.jsonl``, ``.json`` or
    ``.parquet`` file, a folder of them or a saved dataset, or a Hugging Face hub name
    such as ``TIGER-Lab/AceCode-87K`` (needs the ``datasets`` package and network);
    ``split`` follows harness's one rule (the only split, else ``train``). Only the id,
    tests and question columns are kept, so large datasets stay small in memory.
    """
    from harness.errors import DataError
    from harness.io import read_records

    try:
        rows = read_records(source, split=split, columns=_wanted(id_key, tests_key, question_key))
    except DataError as exc:
        raise DatasetError(str(exc)) from exc
    return ProblemIndex.from_rows(rows, id_key=id_key, tests_key=tests_key, question_key=question_key, source=source)
