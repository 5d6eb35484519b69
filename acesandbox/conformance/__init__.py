"""The conformance suite every backend must pass: behaviour cases and hostile programs.

A :class:`Case` is a program, its tests and the status each test must end in. Behaviour
cases pin down what each status means (a CPU loop is ``timeout``, a memory blow-up is
``memory``, tests do not see each other's globals or files...). Hostile cases attack
the sandbox: they exit, kill, fork, flood, forge result frames, monkey-patch the
runtime, try to read host secrets or reach the network. A hostile test is written so
that it ``passed`` only if the attack worked, so no hostile case may ever accept
``passed``; no case at all may accept ``sandbox_error`` (a program must never be able
to cause it). After every case the same executor must still pass a normal job: the
sandbox survives every attack.

Cases live in tables by concern, each a tuple ``CASES`` of :class:`Case` in its own
module: :mod:`.behaviour` (verdicts and modes), :mod:`.kinds` (test kinds),
:mod:`.limits` (time, memory, output, processes, files), :mod:`.dying` (exits, kills,
orphans), :mod:`.forging` (forged result frames, a patched runtime), :mod:`.lying`
(lying values, patched builtins), :mod:`.escape` (host secrets, files, network) and
:mod:`.kernel` (system calls a program never needs: io_uring, keyring, bpf...),
:mod:`.boundary` (the host's side: malformed frames, costly values, test templates) and
:mod:`.splitting` (test shapes judged outside the program, a program's functions in a Pool) and
:mod:`.judged` (tests judged whole in a test process Q the program cannot reach) and
:mod:`.inherited` (limits, priority, CPU set a program changed in the sandbox's own
processes never reach the next job: ``then``, a case run next on the same executor).
:data:`CASES` is all of them, in that order; :func:`run_case` runs one.

Some cases need isolation a backend may not offer (``requires``); each backend
provides a set of capabilities (a ``provides`` class attribute, else the table below)
and a case only runs where its requirements are met. Running the ``pid_isolation`` or
``fs_isolation`` cases without that isolation would attack the host itself
(``kill(-1, SIGKILL)``, filling the host's disk), so :func:`run_case` refuses to.

>>> from acesandbox.conformance import run_conformance
>>> summary = run_conformance("process")  # doctest: +SKIP
>>> summary["conforms"], sorted(summary["failed"])  # doctest: +SKIP

Run cases on an executor from :func:`conformance_executor`: it sets the small
sandbox-wide limits the cases assume and plants the host secret they look for.
"""

from __future__ import annotations

from . import behaviour, boundary, dying, escape, forging, inherited, judged, kernel, kinds, limits, lying, splitting
from ._case import BLOCKED, CAPABILITIES, NOT_PASSED, SANDBOX, SECRET_ENV, Case, applicable, capabilities
from ._runner import conformance_executor, run_case, run_conformance

__all__ = [
    "BLOCKED",
    "CAPABILITIES",
    "CASES",
    "Case",
    "NOT_PASSED",
    "SANDBOX",
    "SECRET_ENV",
    "applicable",
    "capabilities",
    "conformance_executor",
    "run_case",
    "run_conformance",
]

CASES: tuple[Case, ...] = (
    *behaviour.CASES,
    *kinds.CASES,
    *limits.CASES,
    *dying.CASES,
    *forging.CASES,
    *lying.CASES,
    *escape.CASES,
    *kernel.CASES,
    *boundary.CASES,
    *splitting.CASES,
    *judged.CASES,
    *inherited.CASES,
)
"""Every case, behaviour first: a backend that fails those fails the attacks for the wrong reason."""
