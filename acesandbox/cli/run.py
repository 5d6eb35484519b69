"""``acecoder run``: score a JSONL file of jobs, streaming one report line per job.

The input is read lazily and every report is written (and flushed) as soon as every
earlier line's is, so a million-line file keeps memory flat and an interrupted run
keeps everything already written. Each line is validated here, before it reaches the
executor, so that a bad line becomes an ``error`` line naming its line number and
field while the rest of the batch still runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import IO, Any, Iterator, Mapping

from .. import AcesandboxError, InvalidJobError, Job, Limits, Report, SandboxConfig, Status, iter_batch
from .options import add_job_options, add_sandbox_options, sandbox_from_args

__all__ = ["add_parser", "job_from_line", "run"]

EXAMPLE = "example_jobs.jsonl"
_MAX_STDERR_ERRORS = 20  # past this, invalid lines are reported in the output only

_EPILOG = """\
input: one JSON object per line:
  {"id": "a1", "program": "def f(x): ...", "tests": ["assert f(1) == 2", ...]}
  tests may also be dicts: {"kind": "io", "stdin": "1 2\\n", "expected_stdout": "3"},
  {"kind": "call", "fn": "f", "args": [1], "expected": 2}, {"kind": "unittest", "source": "..."}.
  Optional per-line fields override the options below: mode, compare, stop_on_failure,
  limits ({"timeout_s": 2, "output_bytes": 4096, ...}); id (or job_id) is echoed back.
  Blank lines are skipped.

output: one JSON object per non-blank input line, in input order: the report
  (passed, total, pass_rate, outcomes with a status per test, ...) plus "line"
  (1-based input line) and "id" when the job had one. An invalid line (bad JSON, a
  missing field, a wrong type) gives {"line": N, "error": "line N: ..."} instead, and
  the other lines still run. On Ctrl-C the reports already computed are written
  (those behind a still-running job out of order, each with its "line") and the
  command exits 130. A summary goes to stderr.

exit codes:
  0  every line was a valid job (whatever the programs did)
  1  the sandbox could not start (run `acecoder doctor`), or the input/output failed
  2  some lines were invalid (they have "error" lines), or a usage error
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``run`` and its options."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run a JSONL batch of jobs in sandboxes and write one report per line",
        description="Run every job of a JSONL file in sandboxes and write one JSON report per line.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("jobs", nargs="?", metavar="JOBS.jsonl", help="input file, one job per line ('-' reads stdin)")
    source.add_argument(
        "--example", action="store_true", help=f"run the bundled example batch ({EXAMPLE}) instead of a file"
    )
    p.add_argument(
        "-o", "--output", default="-", metavar="REPORTS.jsonl", help="where to write reports ('-': stdout; default: %(default)s)"
    )
    add_sandbox_options(p.add_argument_group("sandbox"))
    add_job_options(p.add_argument_group("jobs (a line's own fields override these)"))
    p.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    return p


# ------------------------------------------------------------------ parsing


@dataclass(frozen=True)
class _Defaults:
    """The command-line options a line may override."""

    limits: Mapping[str, Any]
    mode: str
    compare: str
    stop_on_failure: bool


def _ident(data: Any) -> Any:
    """The line's ``id`` (or ``job_id``), echoed in its output line."""
    if not isinstance(data, dict):
        return None
    return data["id"] if "id" in data else data.get("job_id")


def job_from_line(raw: bytes, defaults: _Defaults) -> tuple[Any, Job]:
    """``(id, job)`` of one input line; raises InvalidJobError naming the field."""
    try:
        data = json.loads(raw.decode("utf-8").strip())
    except UnicodeDecodeError:
        raise InvalidJobError("not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InvalidJobError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise InvalidJobError("invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise InvalidJobError(f"a job must be a JSON object, got {type(data).__name__}")
    ident = _ident(data)
    if ident is not None and (isinstance(ident, bool) or not isinstance(ident, (str, int))):
        key = "id" if "id" in data else "job_id"
        raise InvalidJobError(f"field {key!r} must be a string or an integer, got {type(ident).__name__}")
    stop = data.get("stop_on_failure", defaults.stop_on_failure)
    if not isinstance(stop, bool):
        raise InvalidJobError(f"field 'stop_on_failure' must be true or false, got {stop!r}")
    limits = data.get("limits", {})
    if isinstance(limits, dict):
        limits = {**defaults.limits, **limits}
    merged = {
        **data,
        "mode": data.get("mode", defaults.mode),
        "compare": data.get("compare", defaults.compare),
        "stop_on_failure": stop,
        "limits": limits,
        "job_id": ident,
    }
    return ident, Job.from_dict(merged)


# ------------------------------------------------------------------ output


class _InOrder:
    """Writes output lines in input order, each as soon as every earlier one is known."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._ready: dict[int, str] = {}
        self._next = 0
        self._count = 0

    def reserve(self) -> int:
        self._count += 1
        return self._count - 1

    def put(self, seq: int, text: str) -> None:
        self._ready[seq] = text
        if seq == self._next:
            while self._next in self._ready:
                self._out.write(self._ready.pop(self._next) + "\n")
                self._next += 1
            self._out.flush()

    def drain(self) -> None:
        """Write whatever is ready, gaps and all (on interruption)."""
        for seq in sorted(self._ready):
            self._out.write(self._ready.pop(seq) + "\n")
        self._out.flush()


@dataclass
class _Summary:
    jobs: int = 0
    invalid: int = 0
    tests: int = 0
    passed: int = 0
    jobs_passed: int = 0
    sandbox_errors: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def add(self, report: Report) -> None:
        self.jobs += 1
        self.tests += report.total
        self.passed += report.passed
        self.jobs_passed += report.all_passed
        self.sandbox_errors += report.sandbox_error
        self.statuses.update(str(s) for s in report.statuses)

    def line(self, elapsed_s: float, interrupted: bool) -> str:
        rate = f"{100.0 * self.passed / self.tests:.1f}%" if self.tests else "n/a"
        # Most common first, ties in the statuses' own order: the same line whatever order jobs finished in.
        rank = {s.value: i for i, s in enumerate(Status)}
        ordered = sorted(self.statuses.items(), key=lambda kv: (-kv[1], rank.get(kv[0], len(rank)), kv[0]))
        statuses = " ".join(f"{k}={v}" for k, v in ordered) or "none"
        head = "acecoder run: interrupted after " if interrupted else "acecoder run: "
        return (
            f"{head}{self.jobs} jobs ({self.jobs_passed} all passed), {self.invalid} invalid lines, "
            f"{self.tests} tests, {self.passed} passed ({rate}); statuses: {statuses}; "
            f"sandbox errors: {self.sandbox_errors} jobs; {elapsed_s:.1f} s"
        )


@contextlib.contextmanager
def _input(args: argparse.Namespace) -> Iterator[IO[bytes]]:
    if args.example:
        with (resources.files("acesandbox") / "examples" / EXAMPLE).open("rb") as f:
            yield f
    elif args.jobs == "-":
        yield sys.stdin.buffer
    else:
        with open(args.jobs, "rb") as f:
            yield f


@contextlib.contextmanager
def _output(path: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdout
    else:
        with open(path, "w", encoding="utf-8") as f:
            yield f


# ------------------------------------------------------------------ command


def run(args: argparse.Namespace) -> int:
    """Stream the batch; exit 0, or 2 when some lines were invalid (see the epilog)."""
    try:
        Limits(timeout_s=args.timeout_s)
        sandbox = sandbox_from_args(args)
    except InvalidJobError as exc:
        print(f"acecoder run: error: {exc}", file=sys.stderr)
        return 2
    defaults = _Defaults(
        limits={"timeout_s": args.timeout_s},
        mode=args.mode,
        compare=args.compare,
        stop_on_failure=args.stop_on_failure,
    )
    summary = _Summary()
    t0 = time.monotonic()
    try:
        with _input(args) as source, _output(args.output) as out:
            writer = _InOrder(out)
            try:
                _stream(args, sandbox, source, writer, defaults, summary)
            except KeyboardInterrupt:
                writer.drain()
                print(summary.line(time.monotonic() - t0, interrupted=True), file=sys.stderr)
                return 130
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        print(f"acecoder run: error: {exc}", file=sys.stderr)
        return 1
    except AcesandboxError as exc:
        # Raised only before any job runs: during a batch, failures become report statuses.
        print(f"acecoder run: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, InvalidJobError) else 1
    print(summary.line(time.monotonic() - t0, interrupted=False), file=sys.stderr)
    return 2 if summary.invalid else 0


def _stream(
    args: argparse.Namespace,
    sandbox: SandboxConfig,
    source: IO[bytes],
    writer: _InOrder,
    defaults: _Defaults,
    summary: _Summary,
) -> None:
    # batch index -> (input line number, id, output slot); holds only jobs in flight.
    in_flight: dict[int, tuple[int, Any, int]] = {}

    def jobs() -> Iterator[Job]:
        index = 0
        for number, raw in enumerate(source, 1):
            if not raw.strip():
                continue
            try:
                ident, job = job_from_line(raw, defaults)
            except (ValueError, TypeError) as exc:
                message = f"line {number}: {exc}"
                summary.invalid += 1
                if summary.invalid <= _MAX_STDERR_ERRORS:
                    print(f"acecoder run: {message}", file=sys.stderr)
                    if summary.invalid == _MAX_STDERR_ERRORS:
                        print("acecoder run: further invalid lines are reported in the output only", file=sys.stderr)
                record: dict[str, Any] = {"line": number}
                ident = _ident(_loads_or_none(raw))
                if isinstance(ident, (str, int)) and not isinstance(ident, bool):
                    record["id"] = ident
                record["error"] = message
                writer.put(writer.reserve(), json.dumps(record))
                continue
            in_flight[index] = (number, ident, writer.reserve())
            index += 1
            yield job

    batch = iter_batch(
        jobs(),
        timeout_s=args.timeout_s,
        sandbox=sandbox,
        mode=args.mode,
        compare=args.compare,
        stop_on_failure=args.stop_on_failure,
        ordered=False,  # a slow job must not stall the pool; _InOrder restores the order
        progress=args.progress,
    )
    with contextlib.closing(batch):
        try:
            for index, report in batch:
                number, ident, seq = in_flight.pop(index)
                summary.add(report)
                record: dict[str, Any] = {"line": number}
                if ident is not None:
                    record["id"] = ident
                record.update(report.to_dict())
                writer.put(seq, json.dumps(record))
        except KeyboardInterrupt:
            # Closing the batch waits for running jobs; a second Ctrl-C cuts that short.
            print("acecoder run: interrupted; stopping the sandboxes (Ctrl-C again to force)", file=sys.stderr)
            raise


def _loads_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None
