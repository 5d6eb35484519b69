"""Fixtures for rm_rl's tests: a scripted fake sandbox, a real one, sample data."""

from __future__ import annotations

import json
import threading

import pytest
from _support import require_backend

GOOD_ADD = "```python\ndef add(a, b):\n    return a + b\n```"
BAD_ADD = "```python\ndef add(a, b):\n    return a - b\n```"
ADD_TESTS = ["assert add(1, 2) == 3", "assert add(2, 2) == 4", "assert add(-1, 1) == 0"]


class Script:
    """A fake sandbox's script: records every job, answers per program, can block or fail."""

    def __init__(self, answer=None) -> None:
        self.jobs = []
        self.answer = answer or (lambda job: ["passed"] * len(job.tests))
        self.gate: threading.Event | None = None
        self.started = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, job):
        with self.lock:
            self.jobs.append(job)
        self.started.set()
        if self.gate is not None:
            self.gate.wait(30)
        return self.answer(job)


@pytest.fixture
def fake():
    """``(script, executor)``: an Executor on the fake backend driven by ``script``."""
    from acesandbox import Executor, SandboxConfig
    from acesandbox.backends.fake import FakeBackend

    script = Script()
    ex = Executor(FakeBackend(SandboxConfig(workers=2, options={"script": script})))
    yield script, ex
    if script.gate is not None:
        script.gate.set()
    ex.close()


@pytest.fixture(scope="session")
def sandbox():
    """A real namespace-backend Executor, shared by every rm_rl test that runs code."""
    from acesandbox import Executor, SandboxConfig

    require_backend("namespace")
    ex = Executor(SandboxConfig(backend="namespace", workers=2))
    yield ex
    ex.close()


@pytest.fixture
def acecode_jsonl(tmp_path):
    """A small AceCode-87K-style JSONL file (id, question, test_cases)."""
    rows = [
        {"id": "add", "source": "oss", "question": "Write a function add(a, b) returning the sum.",
         "test_cases": ADD_TESTS, "inferences": [{"model": "x", "completion": "ignored"}]},
        {"id": "rev", "question": "Write rev(s) that reverses the string s.",
         "test_cases": ["assert rev('ab') == 'ba'", "assert rev('') == ''"]},
        {"id": "sq", "question": "Write sq(x) returning x squared.", "tests": json.dumps(["assert sq(3) == 9"])},
    ]
    path = tmp_path / "acecode.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
