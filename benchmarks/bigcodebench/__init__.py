"""BigCodeBench (complete / instruct, full / hard) on acesandbox, with the official evaluator's verdicts.

What ``bigcodebench.evaluate`` does, and how it is reproduced here:

- **Program.** With ``calibrated`` (the default) a sample's ``solution`` runs as
  ``code_prompt + "\\n    pass\\n" + solution``; a ``completion`` first continues the
  ``complete_prompt``. Markdown answers are reduced to their Python block and lightly
  sanitized (only imports, definitions and assignments are kept at the top level).
- **Tests.** The task's ``TestCases`` class runs once, as one unittest suite, in the
  program's namespace (the module ``__test__``, with ``os``, ``sys`` and ``environ``
  predefined, ``TZ=UTC``, ``exit``/``quit`` disabled, stdin/stdout/stderr swallowed).
  The sandbox judges (``compare="compat"``), as the official harness does: DataFrames
  and figures cannot be judged outside it. One acesandbox test runs the suite; one
  more per test method reports that method, so reports and ``details`` name each
  failing method with its traceback.
- **Time.** The official limit is ``max(T, max(min_time_limit, gt_time)) + 1`` seconds
  for the whole suite (``T`` = ``$BIGCODEBENCH_TIMEOUT_PER_TASK``, default 240; ``gt_time``
  the canonical solution's measured time, 20 when unknown): the options
  ``timeout_per_task_s``, ``min_time_limit_s`` and ``gt_times`` set it.
- **Verdicts.** ``pass`` iff every method passed; ``timeout`` when the suite ran out of
  time or its process died (the official parent then never hears back); else ``fail``.
- **Missing libraries.** A task whose libraries (``libs`` plus the tests' imports) are
  not importable on this host gets no job: its verdict is ``sandbox_error`` (left out of
  every denominator) with ``skipped: missing library X`` in ``fail_tests`` and ``details``.
  Install the ``bigcodebench`` extra, or run with the docker backend (``check_libs=False``).

:func:`verify_runs` rescores the official runs in the shared data folder.

Modules, by concern: :mod:`.tasks` (data shipped with the code: Hard ids, prompts),
:mod:`.data` (records to problems), :mod:`.environment` (pinned or host libraries), :mod:`.libs` (which libraries an interpreter has),
:mod:`.programs` (the official module namespace and suite runner, statuses from reports),
:mod:`.scorer` (the benchmark, official result files), :mod:`.known` (explained
differences) and :mod:`.verify` (fidelity against the official runs).
"""

from __future__ import annotations

from ..errors import MissingLibraryError
from .data import problems_from_records
from .environment import Environment, resolve_environment
from .known import KNOWN_DIFFERENCES, KNOWN_DIFFERENCES_BY_ENV, KNOWN_DIFFERENCES_PINNED
from .libs import PRELOAD, importable, is_host_python, missing_libraries, preload_for
from .programs import sanitize, task_status
from .scorer import SANDBOX, BigCodeBench
from .tasks import HARD_TASK_IDS
from .verify import verify_runs

__all__ = [
    "HARD_TASK_IDS",
    "KNOWN_DIFFERENCES",
    "KNOWN_DIFFERENCES_BY_ENV",
    "KNOWN_DIFFERENCES_PINNED",
    "PRELOAD",
    "SANDBOX",
    "BigCodeBench",
    "Environment",
    "MissingLibraryError",
    "importable",
    "is_host_python",
    "missing_libraries",
    "preload_for",
    "problems_from_records",
    "resolve_environment",
    "sanitize",
    "task_status",
    "verify_runs",
]
