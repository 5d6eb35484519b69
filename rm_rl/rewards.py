"""Rule-based code rewards with TRL's contract: ``fn(completions, **columns) -> list[float | None]``.

>>> from rm_rl import rewards
>>> reward = rewards.binary(timeout_s=2.0)             # 1.0 iff every test passes
>>> reward(["```python\\ndef add(a, b):\\n    return a + b\\n```"], tests=[["assert add(1, 2) == 3"]])
[1.0]

The factories validate every option at once (a typo fails at construction, not
after the first rollout) and return :class:`CodeReward`, a picklable callable class.
Tests come from a dataset column (``tests`` or ``test_cases``, AceCode-87K's names) or
from ``tests_lookup``. A completion the sandbox could not judge gets ``None``, never
0.0: TRL leaves it out of the advantage, and ``reward.stats.sandbox_errors`` counts it.
"""

from __future__ import annotations

import difflib
import functools
import logging
import math
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal

from acesandbox import Job, Limits, Report, SandboxConfig
from harness.config import ExecConfig
from harness.errors import ConfigError as HarnessConfigError
from harness.sandbox_warnings import WarningTally, tally_warnings

from .dataset import TESTS_KEYS, ProblemIndex, coerce_tests
from .errors import ConfigError, RewardUnavailableError, TestsNotFoundError
from acesandbox.extract import completion_text, entry_points, extract_code, has_think_format, user_turn
from acesandbox.syntax import parse as parse_ast
from .runner import JobRunner

if TYPE_CHECKING:
    from acesandbox import Executor

__all__ = [
    "CodeReward",
    "RewardConfig",
    "RewardStats",
    "Score",
    "ScoreOutcome",
    "binary",
    "pass_rate",
    "sandbox_warnings",
]

log = logging.getLogger(__name__)

ScoreOutcome = Literal["executed", "no_code", "bad_format", "overlong", "bad_tests", "no_tests", "sandbox_error"]
OUTCOMES: tuple[str, ...] = ("executed", "no_code", "bad_format", "overlong", "bad_tests", "no_tests", "sandbox_error")


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class RewardConfig:
    """Every option of a code reward. Build it through :func:`binary` or :func:`pass_rate`."""

    kind: Literal["binary", "pass_rate"] = field(
        default="binary",
        metadata=_help(
            "'binary': 1.0 iff every test passes (the AceCoder paper's best RL reward); "
            "'pass_rate': passed / total tests."
        ),
    )
    execution: ExecConfig = field(
        default_factory=ExecConfig,
        metadata=_help(
            "How completions run: harness.config.ExecConfig, the value the data pipeline scores with "
            "(sandbox, limits, mode, compare, stop_on_failure). Its fields are also reward options: "
            "binary(timeout_s=2.0, workers=8, mode='isolated')."
        ),
    )
    tests_column: str | None = field(
        default=None, metadata=_help("Dataset column holding the tests. Default: 'tests', else 'test_cases'.")
    )
    id_column: str = field(default="id", metadata=_help("Dataset column whose value keys tests_lookup."))
    fallback: Literal["auto", "none", "text"] = field(
        default="auto",
        metadata=_help(
            "Without a fenced block: 'auto' takes a bare answer that parses and defines a function "
            "or class; 'text' runs the whole answer (base models); 'none' finds no code."
        ),
    )
    format_weight: float = field(
        default=0.0,
        metadata=_help(
            "Added to the reward of a well-formed '<think>...</think> answer' completion "
            "(R1-style accuracy + format reward); 0 disables."
        ),
    )
    require_format: bool = field(
        default=False,
        metadata=_help("Do not run a completion that is not '<think>...</think> answer'; it scores bad_format_reward."),
    )
    bad_format_reward: float = field(default=0.0, metadata=_help("Reward of a malformed completion (require_format)."))
    no_code_reward: float = field(
        default=0.0, metadata=_help("Reward of a completion with no extractable code (e.g. -1.0 as a penalty).")
    )
    max_chars: int | None = field(
        default=None, metadata=_help("Completions longer than this many characters are not run: overlong_reward.")
    )
    max_tokens: int | None = field(
        default=None,
        metadata=_help(
            "Completions longer than this many tokens are not run: overlong_reward "
            "(needs completion_ids, which TRL passes)."
        ),
    )
    overlong_reward: float = field(default=0.0, metadata=_help("Reward of a completion over max_chars/max_tokens."))
    on_sandbox_error: Literal["none", "raise"] = field(
        default="none",
        metadata=_help(
            "When the sandbox, not the program, fails: 'none' abstains (reward None, TRL skips it); "
            "'raise' raises RewardUnavailableError (for frameworks that cannot take None)."
        ),
    )
    def __post_init__(self) -> None:
        _choice("kind", self.kind, ("binary", "pass_rate"))
        _choice("fallback", self.fallback, ("auto", "none", "text"))
        _choice("on_sandbox_error", self.on_sandbox_error, ("none", "raise"))
        if not isinstance(self.execution, ExecConfig):
            raise ConfigError(f"execution must be a harness.config.ExecConfig, got {type(self.execution).__name__}")
        for name in ("format_weight", "bad_format_reward", "no_code_reward", "overlong_reward"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"{name} must be a finite number, got {value!r}")
        for name in ("max_chars", "max_tokens"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer or None, got {value!r}")
        if not isinstance(self.require_format, bool):
            raise ConfigError(f"require_format must be true or false, got {self.require_format!r}")
        if self.kind == "pass_rate" and self.execution.stop_on_failure:
            raise ConfigError(
                "pass_rate with stop_on_failure=True would count the skipped tests as failures; "
                "use binary() for a stop-at-first-failure reward, or leave stop_on_failure unset"
            )
        if self.require_format and self.format_weight:
            raise ConfigError(
                "require_format and format_weight both reward the format; with require_format every run "
                "completion is well-formed, so set format_weight=0 (or drop require_format)"
            )
        if self.tests_column is not None and (not isinstance(self.tests_column, str) or not self.tests_column):
            raise ConfigError(f"tests_column must be a column name, got {self.tests_column!r}")

    def job_options(self) -> dict[str, Any]:
        """The ``Job`` values of every completion: the execution's, stopping early for a binary reward."""
        return self.execution.job_options(all_or_nothing=self.kind == "binary")

    @classmethod
    def options(cls) -> dict[str, str]:
        """Option name -> help text (for docs and the command line), execution's fields flattened in."""
        out = {f.name: f.metadata.get("help", "") for f in fields(cls) if f.name != "execution"}
        out.update(execution_options())
        return out

    @classmethod
    def build(cls, kind: str, options: Mapping[str, Any], base: RewardConfig | None = None) -> RewardConfig:
        """A config from keyword options (``base``'s values for the rest); an unknown name fails
        with the closest valid one. Execution fields may be given flat (``timeout_s=2.0``)."""
        own = {f.name for f in fields(cls)} - {"kind", "execution"}
        flat = set(execution_options())
        values: dict[str, Any] = {}
        exec_values: dict[str, Any] = {}
        for name, value in options.items():
            if name in own:
                values[name] = value
            elif name == "execution" and isinstance(value, ExecConfig):
                values["execution"] = value
            elif name in flat or name == "execution":
                exec_values.update(value if name == "execution" else {name: value})
            else:
                known = sorted(own | flat)
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; valid options: {', '.join(known)}"
                raise ConfigError(f"unknown reward option {name!r}{hint}")
        start = base if base is not None else cls()
        if exec_values:
            try:
                values["execution"] = ExecConfig.from_mapping(
                    exec_values, "reward options", values.get("execution", start.execution)
                )
            except HarnessConfigError as exc:
                raise ConfigError(str(exc)) from None
        return replace(start, kind=kind, **values)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=1)
def execution_options() -> dict[str, str]:
    """Flat execution option name -> help: ExecConfig's own fields, SandboxConfig's and Limits'."""
    out: dict[str, str] = {}
    for cls in (ExecConfig, SandboxConfig, Limits):
        for f in fields(cls):
            if f.name not in ("options",):
                out[f.name] = str(f.metadata.get("help", ""))
    return out


def _changed_execution(execution: ExecConfig) -> dict[str, Any]:
    """The flat execution options that differ from the defaults, in field order."""
    out: dict[str, Any] = {}
    default = ExecConfig()
    for f in fields(ExecConfig):
        value, base = getattr(execution, f.name), getattr(default, f.name)
        if f.name in ("sandbox", "limits"):
            changed = [g.name for g in fields(value) if getattr(value, g.name) != getattr(base, g.name)]
            out.update({name: getattr(value, name) for name in changed})
        elif value != base:
            out[f.name] = value
    return out


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}")


# -------------------------------------------------------------------- results


@dataclass(frozen=True)
class Score:
    """How one completion was scored.

    ``outcome`` says why the reward is what it is: ``executed`` (the tests ran),
    ``no_code``, ``bad_format`` or ``overlong`` (not run: a fixed reward), ``bad_tests``
    (a test does not parse: the data's fault, reward None), ``no_tests`` (an empty test
    list, None) or ``sandbox_error`` (the sandbox failed, None). ``pass_rate`` is
    None unless the tests ran; with ``stop_on_failure`` it counts tests passed before
    the first failure. ``isolation`` and ``warnings`` are the sandbox's, from the report
    (the ``process`` backend warns that it does not isolate the filesystem or network).
    """

    reward: float | None
    outcome: str
    pass_rate: float | None = None
    passed: int = 0
    total: int = 0
    statuses: tuple[str, ...] = ()
    format_ok: bool = False
    program: str | None = None
    isolation: str = ""
    warnings: tuple[str, ...] = ()

    def to_dict(self, *, details: bool = False) -> dict[str, Any]:
        d = asdict(self)
        d["statuses"] = list(self.statuses)
        d["warnings"] = tally_warnings([self.warnings])  # "tests[i]: w" once, as "w (n tests in 1 job)"
        if not details:  # a response lists the warnings once, not per completion
            d.pop("program")
            d.pop("statuses")
            d.pop("warnings")
        return d


def sandbox_warnings(scores: Sequence[Score]) -> list[str]:
    """The distinct sandbox warnings of ``scores``, in first-seen order, each once with the
    number of tests and completions it applies to, e.g. ``judged in the program's process:
    forgeable (3 tests in 2 jobs)`` (sandbox errors are outcomes, not warnings)."""
    return tally_warnings(s.warnings for s in scores)


_MAX_WARNINGS = 32
"""Distinct sandbox warnings kept by one RewardStats (the isolation warning comes first)."""


class RewardStats:
    """Counters a trainer can log: completions by outcome, tests by status, the sandbox's
    isolation and its warnings. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.isolation: Counter[str] = Counter()
        self.warnings = WarningTally(max_texts=_MAX_WARNINGS)
        self.calls = 0

    def add(self, score: Score) -> list[str]:
        """Count ``score``; returns the sandbox warnings not seen before (to log them once)."""
        with self._lock:
            self.outcomes[score.outcome] += 1
            self.statuses.update(score.statuses)
            if score.isolation:
                self.isolation[score.isolation] += 1
        return self.warnings.add(score.warnings)

    def count_call(self) -> None:
        with self._lock:
            self.calls += 1

    @property
    def completions(self) -> int:
        return sum(self.outcomes.values())

    @property
    def sandbox_errors(self) -> int:
        """Completions the sandbox could not judge (their reward was None)."""
        return self.outcomes["sandbox_error"]

    @property
    def executed(self) -> int:
        """Completions whose tests ran to a verdict in the sandbox."""
        return self.outcomes["executed"]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": self.calls,
                "completions": sum(self.outcomes.values()),
                "outcomes": {k: self.outcomes.get(k, 0) for k in OUTCOMES},
                "test_statuses": dict(self.statuses),
                "isolation": dict(self.isolation),
                "warnings": self.warnings.lines(),
            }

    def reset(self) -> None:
        with self._lock:
            self.outcomes.clear()
            self.statuses.clear()
            self.isolation.clear()
            self.warnings.clear()
            self.calls = 0

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


@dataclass(frozen=True)
class Plan:
    """A completion ready to run (``job``) or already scored (``score``)."""

    index: int
    job: Job | None = None
    score: Score | None = None
    format_ok: bool = False
    program: str | None = None


@functools.lru_cache(maxsize=8192)
def _unparsable_string_tests(tests: tuple[str, ...]) -> int | None:
    for i, t in enumerate(tests):
        try:
            parse_ast(t)
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # nested too deep to parse: the data's fault
            return i
    return None


def _oversized_test(tests: Sequence[Any], limit_bytes: int) -> int | None:
    """Index of the first assert or unittest test whose source is over ``limit_bytes``
    (``Limits.test_source_bytes``): the sandbox would refuse it, and parsing it here to find
    entry points would already cost seconds (2 MB: about 3 s per parse)."""
    for i, t in enumerate(tests):
        source = t if isinstance(t, str) else t.get("source") if isinstance(t, Mapping) else getattr(t, "source", None)
        if isinstance(source, str) and (len(source) > limit_bytes or len(source.encode("utf-8", "surrogatepass")) > limit_bytes):
            return i
    return None


def _bad_test(tests: Sequence[Any]) -> int | None:
    """Index of the first assert test that does not parse (the data's fault), if any."""
    if all(isinstance(t, str) for t in tests):
        return _unparsable_string_tests(tuple(tests))
    for i, t in enumerate(tests):
        source = t if isinstance(t, str) else t.get("source") if isinstance(t, Mapping) else None
        if isinstance(source, str) and _unparsable_string_tests((source,)) is not None:
            return i
    return None


# --------------------------------------------------------------------- reward

TestsLookup = Mapping[str, Any] | Callable[[Any, Mapping[str, Any]], Any]


class CodeReward:
    """A code reward: call it TRL-style, or use :meth:`score` for the details.

    Holds a :class:`~rm_rl.runner.JobRunner` (sandboxes started on first use, reused
    after). Pickling drops the sandboxes; the copy starts its own.
    """

    def __init__(
        self,
        config: RewardConfig,
        *,
        tests_lookup: TestsLookup | None = None,
        executor: Executor | None = None,
        runner: JobRunner | None = None,
    ) -> None:
        if tests_lookup is not None and not (isinstance(tests_lookup, Mapping) or callable(tests_lookup)):
            raise ConfigError(
                f"tests_lookup must be a mapping (id -> tests), a ProblemIndex or a callable(prompt, row); "
                f"got {type(tests_lookup).__name__}"
            )
        if runner is not None and executor is not None:
            raise ConfigError("pass either executor= or runner=, not both")
        self.config = config
        self.tests_lookup = tests_lookup
        self.runner = runner or JobRunner(config.execution.sandbox, executor=executor)
        self.stats = RewardStats()
        self.__name__ = f"{config.kind}_reward"

    def __repr__(self) -> str:
        default = RewardConfig(kind=self.config.kind)
        changed = {
            f.name: getattr(self.config, f.name)
            for f in fields(self.config)
            if f.name not in ("kind", "execution") and getattr(self.config, f.name) != getattr(default, f.name)
        }
        changed.update(_changed_execution(self.config.execution))
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"rm_rl.rewards.{self.config.kind}({args})"

    # ------------------------------------------------------------- TRL call
    def __call__(
        self,
        completions: Sequence[Any],
        prompts: Sequence[Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """TRL's reward contract: one reward per completion, None where the sandbox failed.

        ``kwargs`` are the dataset's columns (one value per completion) plus TRL's
        extras; the tests come from ``tests`` / ``test_cases`` or from ``tests_lookup``.
        If TRL passes ``log_metric``, this batch's outcome counts are logged under the
        reward's name.
        """
        tests = self.tests_for(len(completions), prompts, kwargs)
        scores = self.score(completions, tests, prompts=prompts, completion_ids=completion_ids)
        log_metric = kwargs.get("log_metric")
        if callable(log_metric):
            self._log(scores, log_metric)
        return [s.reward for s in scores]

    def _log(self, scores: Sequence[Score], log_metric: Callable[[str, float], Any]) -> None:
        counts = Counter(s.outcome for s in scores)
        n = max(1, len(scores))
        log_metric(f"{self.__name__}/sandbox_errors", float(counts["sandbox_error"]))
        log_metric(f"{self.__name__}/executed_frac", counts["executed"] / n)
        log_metric(f"{self.__name__}/no_code_frac", counts["no_code"] / n)
        rates = [s.pass_rate for s in scores if s.pass_rate is not None]
        if rates:
            log_metric(f"{self.__name__}/pass_rate", sum(rates) / len(rates))

    # ---------------------------------------------------------------- tests
    def tests_for(self, n: int, prompts: Sequence[Any] | None, columns: Mapping[str, Any]) -> list[Any]:
        """Each completion's tests, from a column or from ``tests_lookup``."""
        names = (self.config.tests_column,) if self.config.tests_column else TESTS_KEYS
        column = next((k for k in names if columns.get(k) is not None), None)
        if column is not None:
            values = list(columns[column])
            if len(values) != n:
                raise TestsNotFoundError(f"column {column!r} has {len(values)} values for {n} completions")
            return values
        lookup = self.tests_lookup
        if lookup is None:
            given = sorted(k for k in columns if k not in ("trainer_state", "log_extra", "log_metric", "environments"))
            want = (
                f"column {self.config.tests_column!r}"
                if self.config.tests_column
                else "a 'tests' or 'test_cases' column"
            )
            raise TestsNotFoundError(
                f"no tests: the dataset needs {want} (columns given: {given}), or pass tests_lookup= to the reward"
            )
        rows = [{k: v[i] for k, v in columns.items() if isinstance(v, (list, tuple)) and len(v) == n} for i in range(n)]
        out: list[Any] = []
        for i in range(n):
            prompt = prompts[i] if prompts is not None else None
            if callable(lookup) and not isinstance(lookup, Mapping):
                out.append(lookup(prompt, rows[i]))
                continue
            key = rows[i].get(self.config.id_column)
            if key is not None:
                try:
                    out.append(lookup[str(key)])
                except KeyError:
                    raise TestsNotFoundError(f"completion {i}: tests_lookup has no entry for id {key!r}") from None
                continue
            if isinstance(lookup, ProblemIndex) and prompt is not None:
                try:
                    problem = lookup.find_question(user_turn(prompt))
                except TestsNotFoundError as exc:  # rows with different tests share the question
                    raise TestsNotFoundError(f"completion {i}: {exc}") from None
                if problem is not None:
                    out.append(problem.tests)
                    continue
                raise TestsNotFoundError(
                    f"completion {i}: its prompt's question is not in {lookup.source or 'the dataset'}"
                )
            raise TestsNotFoundError(
                f"completion {i}: no {self.config.id_column!r} column to look its tests up by "
                f"(set id_column=, or give a ProblemIndex to match prompts by question)"
            )
        return out

    # -------------------------------------------------------------- scoring
    def score(
        self,
        completions: Sequence[Any],
        tests: Sequence[Any],
        *,
        prompts: Sequence[Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
    ) -> list[Score]:
        """Score each completion against its tests, in parallel on the sandboxes."""
        plans, futures = self.plan(completions, tests, prompts=prompts, completion_ids=completion_ids)
        scores = [self.finish(p, futures[p.index].result() if p.job is not None else None) for p in plans]
        self.stats.count_call()
        self.check(scores)
        return scores

    def plan(
        self,
        completions: Sequence[Any],
        tests: Sequence[Any],
        *,
        prompts: Sequence[Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
    ) -> tuple[list[Plan], dict[int, Future[Report]]]:
        """Prepare every completion and queue each job at once (the sandboxes start while
        the rest is planned); ``(plans, futures by index)``. The reward server shares it.

        If preparing one completion raises, the jobs already queued are cancelled.
        """
        if len(tests) != len(completions):
            raise ConfigError(f"got {len(tests)} test lists for {len(completions)} completions")
        plans: list[Plan] = []
        futures: dict[int, Future[Report]] = {}
        try:
            for i, completion in enumerate(completions):
                plan = self.prepare(
                    completion,
                    tests[i],
                    index=i,
                    prompt=prompts[i] if prompts is not None else None,
                    completion_ids=completion_ids[i] if completion_ids is not None else None,
                )
                plans.append(plan)
                if plan.job is not None:
                    futures[i] = self.runner.submit(plan.job)
        except BaseException:
            for f in futures.values():
                f.cancel()
            raise
        return plans, futures

    def prepare(
        self,
        completion: Any,
        tests: Any,
        *,
        index: int = 0,
        prompt: Any = None,
        completion_ids: Sequence[int] | None = None,
    ) -> Plan:
        """Decide, without running anything, whether and what to run for one completion."""
        cfg = self.config
        text = completion_text(completion)
        format_ok = has_think_format(completion, prompt=prompt) if (cfg.format_weight or cfg.require_format) else False
        if cfg.max_tokens is not None:
            if completion_ids is None:
                raise ConfigError("max_tokens needs the completions' token ids (TRL passes them); use max_chars here")
            if len(completion_ids) > cfg.max_tokens:
                return Plan(index, score=self._fixed(cfg.overlong_reward, "overlong", format_ok))
        if cfg.max_chars is not None and len(text) > cfg.max_chars:
            return Plan(index, score=self._fixed(cfg.overlong_reward, "overlong", format_ok))
        if cfg.require_format and not format_ok:
            return Plan(index, score=Score(cfg.bad_format_reward, "bad_format"))
        test_list = coerce_tests(tests, where=f"completion {index}: tests")
        limit = cfg.execution.limits.test_source_bytes
        big = _oversized_test(test_list, limit)
        if big is not None:  # refused before anything parses it: a client's test cannot stall the host
            log.warning("completion %d: test %d is over %d bytes (Limits.test_source_bytes); reward None", index, big, limit)
            return Plan(index, score=Score(None, "bad_tests", format_ok=format_ok))
        bad = _bad_test(test_list)  # first: finding entry points parses the tests too, and one may not parse
        wanted = entry_points(test_list) if bad is None else ()
        program = extract_code(completion, prompt=prompt, entry_points=wanted, fallback=cfg.fallback)
        if program is None:
            return Plan(index, score=self._fixed(cfg.no_code_reward, "no_code", format_ok))
        if not test_list:
            return Plan(index, score=Score(None, "no_tests", format_ok=format_ok, program=program))
        if bad is not None:
            log.warning("completion %d: test %d does not parse; reward None (fix the dataset row)", index, bad)
            return Plan(index, score=Score(None, "bad_tests", format_ok=format_ok, program=program))
        job = Job(program=program, tests=test_list, **cfg.job_options())
        return Plan(index, job=job, format_ok=format_ok, program=program)

    def _fixed(self, value: float, outcome: str, format_ok: bool) -> Score:
        bonus = self.config.format_weight if format_ok else 0.0
        return Score(float(value) + bonus, outcome, format_ok=format_ok)

    def finish(self, plan: Plan, report: Report | None) -> Score:
        """The score of a prepared completion, given its report (None if it was not run)."""
        if plan.score is not None:
            score = plan.score
        elif report is None:
            raise ValueError("a completion with a job needs its report")
        else:
            statuses = tuple(o.status.value for o in report.outcomes)
            if report.sandbox_error:
                score = Score(
                    None,
                    "sandbox_error",
                    None,
                    report.passed,
                    report.total,
                    statuses,
                    plan.format_ok,
                    plan.program,
                    report.isolation,
                    report.warnings,
                )
            else:
                base = (1.0 if report.all_passed else 0.0) if self.config.kind == "binary" else report.pass_rate
                bonus = self.config.format_weight if plan.format_ok else 0.0
                score = Score(
                    base + bonus,
                    "executed",
                    report.pass_rate,
                    report.passed,
                    report.total,
                    statuses,
                    plan.format_ok,
                    plan.program,
                    report.isolation,
                    report.warnings,
                )
        for warning in self.stats.add(score):
            log.warning("%s: sandbox warning: %s", self.__name__, warning)
        return score

    def check(self, scores: Sequence[Score]) -> None:
        """Raise RewardUnavailableError if asked to and the sandbox failed somewhere."""
        if self.config.on_sandbox_error != "raise":
            return
        failed = tuple(i for i, s in enumerate(scores) if s.outcome == "sandbox_error")
        if failed:
            raise RewardUnavailableError(
                f"the sandbox could not judge {len(failed)} of {len(scores)} completions (indices {list(failed)[:10]}); "
                "their rewards are unknown, not 0",
                failed,
            )

    # ------------------------------------------------------------ lifecycle
    def with_options(self, **options: Any) -> CodeReward:
        """A copy with some options changed (flat names as for :func:`binary`), sharing this reward's sandboxes."""
        kind = options.pop("kind", self.config.kind)
        config = RewardConfig.build(kind, options, base=self.config)
        return CodeReward(config, tests_lookup=self.tests_lookup, runner=self.runner)

    def close(self) -> None:
        """Stop the sandboxes; a later call starts new ones."""
        self.runner.close()

    def __enter__(self) -> CodeReward:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------ factories


def binary(*, tests_lookup: TestsLookup | None = None, executor: Executor | None = None, **options: Any) -> CodeReward:
    """1.0 iff every test passes, else 0.0; None where the sandbox failed.

    The AceCoder paper's best RL reward. Stops each completion at its first
    non-passing test (same reward, far cheaper). ``options`` are
    :class:`RewardConfig` fields (``timeout_s``, ``mode``, ``format_weight``,
    ``no_code_reward``, ``max_chars``...), checked now. ``executor``: an
    ``acesandbox.Executor`` to use instead of starting one (a fake backend's in unit
    tests).
    """
    return CodeReward(RewardConfig.build("binary", options), tests_lookup=tests_lookup, executor=executor)


def pass_rate(
    *, tests_lookup: TestsLookup | None = None, executor: Executor | None = None, **options: Any
) -> CodeReward:
    """passed / total tests, in [0, 1]; None where the sandbox failed.

    Every test runs (no early stop), so the rate is exact. Options as for :func:`binary`.
    """
    return CodeReward(RewardConfig.build("pass_rate", options), tests_lookup=tests_lookup, executor=executor)
