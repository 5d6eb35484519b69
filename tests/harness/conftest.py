"""Fixtures of the harness tests: fake executors for unit tests, one real executor for end-to-end ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def fake_executor() -> Any:
    """A factory: ``fake_executor(script)`` -> an Executor on acesandbox's fake backend (closed after the test)."""
    import acesandbox
    from acesandbox.backends.fake import FakeBackend

    made: list[Any] = []

    def make(script: Callable[[Any], list[Any]] | None = None, workers: int = 2) -> Any:
        ex = acesandbox.Executor(FakeBackend(acesandbox.SandboxConfig(workers=workers, options={"script": script})))
        made.append(ex)
        return ex

    yield make
    for ex in made:
        ex.close()


def _script_from_program(job: Any) -> list[str]:
    """Fake verdicts read off the program: '# pass 0 2' passes tests 0 and 2; '# sandbox' breaks the sandbox."""
    from acesandbox import SandboxCrashedError

    if "# sandbox" in job.program:
        raise SandboxCrashedError("injected")
    marker = job.program.split("# pass", 1)
    passing = {int(x) for x in marker[1].split("\n")[0].split() if x.isdigit()} if len(marker) == 2 else set()
    return ["passed" if i in passing else "failed" for i in range(len(job.tests))]


@pytest.fixture
def by_program() -> Callable[[Any], list[str]]:
    """The fake-backend script whose verdicts are written in the program (see ``_script_from_program``)."""
    return _script_from_program
