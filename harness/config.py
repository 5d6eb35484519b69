"""Stage configurations: frozen dataclasses whose every field carries its help text.

The same classes back the library functions, the ``acecoder`` subcommands (their
options are generated from the fields, so help text lives in one place) and the
``acecoder pipeline`` config file. Cross-field checks run in ``__post_init__`` and name
the fix.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Literal

from acesandbox import Limits, SandboxConfig

from .errors import ConfigError

__all__ = [
    "ExecConfig",
    "FilterConfig",
    "GeneratorSpec",
    "HardConfig",
    "PairsConfig",
    "SampleConfig",
    "StatsConfig",
    "SynthConfig",
    "add_config_arguments",
    "config_from_args",
    "from_mapping",
    "parse_assignment",
    "read_config_file",
]


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a TOML or JSON config file (``.json`` is JSON, anything else TOML).

    Every config file of the toolkit (the pipeline's, the reward model's, the RL run's)
    is read here, so they accept the same formats and fail the same way.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror or exc})") from None
    try:
        if str(path).endswith(".json"):
            data = json.loads(text)
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
            data = tomllib.loads(text)
    except ValueError as exc:  # json.JSONDecodeError and tomllib.TOMLDecodeError both are
        raise ConfigError(f"{path}: not a valid config file ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file holds a table of settings, got {type(data).__name__}")
    return data


def parse_assignment(item: str, what: str = "KEY=VALUE") -> tuple[str, Any]:
    """``"key=value"`` -> ``("key", value)``, the value read as JSON when it parses (else the string)."""
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set takes {what}, got {item!r}")
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    return key.strip(), parsed


def opt(default: Any, help: str, **kwargs: Any) -> Any:
    """A dataclass field with help text (and a default factory for mutable defaults)."""
    meta = {"help": help, **kwargs}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class GeneratorSpec:
    """Which generation backend answers a stage's prompts, and how it is built."""

    backend: str = opt("replay", "generation backend: vllm, openai, transformers or replay")
    model: str = opt("", "model name or path (recorded as inferences[].model_name)")
    options: dict[str, Any] = opt({}, "backend keyword arguments, e.g. base_url, concurrency, path")  # noqa: RUF009 - frozen values

    def __post_init__(self) -> None:
        if not isinstance(self.options, Mapping):
            raise TypeError(f"generator options must be a table/object, got {self.options!r}")

    def build(self) -> Any:
        from .generation import get_generator

        kwargs = dict(self.options)
        if self.model:
            kwargs["model"] = self.model
        return get_generator(self.backend, **kwargs)

    @classmethod
    def coerce(cls, value: Any) -> GeneratorSpec:
        if isinstance(value, GeneratorSpec):
            return value
        if isinstance(value, Mapping):
            known = {"backend", "model", "options"}
            options = dict(value.get("options", {}))
            options.update({k: v for k, v in value.items() if k not in known})
            return cls(backend=value.get("backend", "replay"), model=value.get("model", ""), options=options)
        raise ConfigError(f"a generator must be a table with 'backend', 'model', options...; got {value!r}")


@dataclass(frozen=True)
class ExecConfig:
    """How programs are scored: the sandboxes, each job's limits, and how its tests run.

    One value for the whole toolkit: the pipeline's filter and sample stages and the RL
    rewards (``rm_rl.RewardConfig.execution``) embed it, so data is scored exactly as the
    rewards will score it. The sandbox and limit fields are acesandbox's own
    (:class:`acesandbox.SandboxConfig`, :class:`acesandbox.Limits`), never copied here.
    From a mapping (a config table, reward options) nested tables and flat keys both
    work: ``{"sandbox": {"workers": 2}}``, ``{"workers": 2}`` and ``{"sandbox": "process"}``
    (a backend name); see :meth:`from_mapping`.
    """

    sandbox: SandboxConfig = opt(  # noqa: RUF009 - frozen values
        SandboxConfig(),
        "the sandboxes: backend (--sandbox), workers, memory_mb, max_processes, scratch_mb, python, preload",
    )
    limits: Limits = opt(  # noqa: RUF009 - frozen values
        Limits(),
        "each job's limits: timeout_s, wall_timeout_s, job_timeout_s, max_file_mb, max_open_files, output_bytes",
    )
    mode: Literal["shared", "isolated"] = opt(
        "shared",
        "shared: a program's tests run in order in one process, as AceCoder's reference harness runs them "
        "(about 10x cheaper); isolated: each test in its own fork",
    )
    compare: Literal["strict", "compat"] = opt(
        "strict",
        "strict: verdicts judged outside the sandbox (unforgeable); compat: by the sandbox, for values that "
        "cannot be serialized (custom classes, DataFrames)",
    )
    stop_on_failure: bool | None = opt(
        None,
        "stop a program at its first non-passing test; default: on where only 'all passed' counts (a binary "
        "reward), off where every test's result is used (filter, sample, a pass-rate reward)",
    )

    def __post_init__(self) -> None:
        if not isinstance(self.sandbox, SandboxConfig):
            raise ConfigError(f"execution.sandbox must be a SandboxConfig, got {type(self.sandbox).__name__}")
        if not isinstance(self.limits, Limits):
            raise ConfigError(f"execution.limits must be a Limits, got {type(self.limits).__name__}")
        if self.mode not in ("isolated", "shared"):
            raise ConfigError(f"mode must be 'isolated' or 'shared', got {self.mode!r}")
        if self.compare not in ("strict", "compat"):
            raise ConfigError(f"compare must be 'strict' or 'compat', got {self.compare!r}")
        if self.stop_on_failure is not None and not isinstance(self.stop_on_failure, bool):
            raise ConfigError(f"stop_on_failure must be true, false or unset, got {self.stop_on_failure!r}")

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], where: str = "execution", base: ExecConfig | None = None
    ) -> ExecConfig:
        """``base`` (default: ``ExecConfig()``) with ``data``'s values: nested tables or flat keys.

        A flat key names a field of ExecConfig, SandboxConfig or Limits; ``sandbox`` may be
        a backend name. Unknown keys name the valid ones.
        """
        base = base if base is not None else cls()
        own: dict[str, Any] = {}
        sandbox: dict[str, Any] = {}
        limits: dict[str, Any] = {}
        for key, value in data.items():
            if key == "sandbox":
                if isinstance(value, SandboxConfig):
                    own["sandbox"] = value
                elif isinstance(value, Mapping):
                    sandbox.update(value)
                else:
                    sandbox["backend"] = value  # a backend name (or None: namespace, fail closed)
            elif key == "limits":
                if isinstance(value, Limits):
                    own["limits"] = value
                elif isinstance(value, Mapping):
                    limits.update(value)
                else:
                    raise ConfigError(f"{where}.limits must be a table of Limits fields, got {value!r}")
            elif key in _EXEC_OWN:
                own[key] = value
            elif key in _SANDBOX_FIELDS:
                sandbox[key] = value
            elif key in _LIMITS_FIELDS:
                limits[key] = value
            else:
                valid = sorted(_EXEC_OWN | _SANDBOX_FIELDS | _LIMITS_FIELDS | {"sandbox", "limits"})
                raise ConfigError(f"{where}: unknown key {key!r}; valid: {valid}")
        for name, table, fields_ in (("sandbox", sandbox, _SANDBOX_FIELDS), ("limits", limits, _LIMITS_FIELDS)):
            unknown = set(table) - fields_
            if unknown:
                raise ConfigError(f"{where}.{name}: unknown key(s) {sorted(unknown)}; valid: {sorted(fields_)}")
        if "preload" in sandbox and isinstance(sandbox["preload"], list):
            sandbox["preload"] = tuple(sandbox["preload"])
        try:
            if sandbox:
                own["sandbox"] = dataclasses.replace(own.get("sandbox", base.sandbox), **sandbox)
            if limits:
                own["limits"] = dataclasses.replace(own.get("limits", base.limits), **limits)
            return dataclasses.replace(base, **own) if own else base
        except (ValueError, TypeError) as exc:  # acesandbox's InvalidJobError, or ours, names the field
            raise ConfigError(f"{where}: {exc}") from None

    def stops_on_failure(self, all_or_nothing: bool) -> bool:
        """Whether jobs stop at their first failure, for a scorer that needs only 'all passed' or not."""
        return all_or_nothing if self.stop_on_failure is None else self.stop_on_failure

    def executor(self) -> Any:
        """An ``acesandbox.Executor`` on :attr:`sandbox` (the caller closes it)."""
        import acesandbox

        return acesandbox.Executor(self.sandbox)

    def job_options(self, *, all_or_nothing: bool = False) -> dict[str, Any]:
        """The ``Job`` keyword values every scored program gets."""
        return {
            "limits": self.limits,
            "mode": self.mode,
            "compare": self.compare,
            "stop_on_failure": self.stops_on_failure(all_or_nothing),
        }

    def defaults(self) -> dict[str, Any]:
        """Job options for the pipeline, which uses every test's result."""
        return self.job_options(all_or_nothing=False)


_EXEC_OWN = frozenset({"mode", "compare", "stop_on_failure"})
_SANDBOX_FIELDS = frozenset(f.name for f in dataclasses.fields(SandboxConfig))
_LIMITS_FIELDS = frozenset(f.name for f in dataclasses.fields(Limits))


@dataclass(frozen=True)
class _Stage:
    input: str = opt("", "input: a .jsonl/.parquet file, a datasets folder, or hf:ORG/NAME", positional=True)
    output: str = opt("", "output: .jsonl (checkpointed), .parquet, or a folder for datasets.save_to_disk", short="-o")
    limit: int | None = opt(None, "process only the first N input rows")
    fresh: bool = opt(False, "discard an earlier run's output instead of resuming it")
    progress: bool = opt(True, "show progress bars")

    def __post_init__(self) -> None:
        if not self.input:
            raise ConfigError(f"{type(self).__name__}.input is required: a file, folder or hf:NAME")
        if not self.output:
            raise ConfigError(f"{type(self).__name__}.output is required: where to write the records")
        if self.limit is not None and self.limit < 0:
            raise ConfigError(f"limit must be >= 0, got {self.limit}")


def _every_test_counts(config: Any) -> None:
    if config.execution.stop_on_failure:
        raise ConfigError(
            f"{type(config).__name__}: execution.stop_on_failure=true would mark the tests after a failure as "
            "skipped, and this stage uses every test's result; leave it unset"
        )


@dataclass(frozen=True)
class SynthConfig(_Stage):
    """``acecoder synth``: seed code -> {id, source, question, tests} with an LLM."""

    generator: GeneratorSpec = opt(GeneratorSpec(), "the LLM that writes questions and tests")  # noqa: RUF009 - frozen values
    code_column: str = opt("code", "input column holding the seed code")
    id_column: str = opt("id", "input column holding a row id (a content hash when absent)")
    source_column: str = opt("source", "input column naming the row's source dataset")
    default_source: str = opt("seed", "source recorded when the row has none")
    num_tests: int = opt(20, "tests the prompt asks for")
    min_tests: int = opt(5, "fewest valid tests a question must keep; fewer is a rejected answer")
    temperature: float = opt(0.0, "sampling temperature of the synthesis model")
    max_tokens: int = opt(4096, "most tokens of one answer")
    max_retries: int = opt(2, "new answers asked for after a malformed or too thin one")
    batch_size: int = opt(32, "prompts sent to the generator at once")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_tests < 1 or self.num_tests < self.min_tests:
            raise ConfigError(f"need 1 <= min_tests <= num_tests, got {self.min_tests} and {self.num_tests}")
        if self.max_retries < 0 or self.batch_size < 1:
            raise ConfigError("max_retries must be >= 0 and batch_size >= 1")


@dataclass(frozen=True)
class FilterConfig(_Stage):
    """``acecoder filter``: keep the tests a strong model's solutions pass."""

    generator: GeneratorSpec = opt(GeneratorSpec(), "the strong model (AceCoder: Qwen2.5-Coder-32B-Instruct, greedy)")  # noqa: RUF009 - frozen values
    execution: ExecConfig = opt(ExecConfig(), "how solutions are run")  # noqa: RUF009 - frozen values
    num_solutions: int = opt(1, "solutions asked per question; a test survives if any passes it")
    temperature: float = opt(0.0, "sampling temperature of the strong model (0: greedy)")
    max_tokens: int = opt(2048, "most tokens of one solution")
    min_tests: int = opt(5, "questions keeping fewer tests are dropped")
    use_reference: bool = opt(False, "also run the program synth wrote with the question, as one more solution")
    batch_size: int = opt(64, "questions whose solutions are generated at once")
    sandbox_retries: int = opt(2, "rounds that rerun items hit by a sandbox_error before leaving them unscored")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_solutions < 1 or self.min_tests < 0 or self.batch_size < 1:
            raise ConfigError("num_solutions and batch_size must be >= 1, min_tests >= 0")
        _every_test_counts(self)


@dataclass(frozen=True)
class SampleConfig(_Stage):
    """``acecoder sample``: N completions per question from policy models, scored by pass rate."""

    models: tuple[GeneratorSpec, ...] = opt((GeneratorSpec(),), "policy models, each sampled num_samples times")
    execution: ExecConfig = opt(ExecConfig(), "how completions are run")  # noqa: RUF009 - frozen values
    num_samples: int = opt(16, "completions per question and model (AceCoder: 16)")
    temperature: float = opt(0.7, "sampling temperature (AceCoder: 0.7)")
    max_tokens: int = opt(2048, "most tokens of one completion")
    prompt_tests: int = opt(3, "first tests shown in the prompt as examples")
    denominator: Literal["kept", "original"] = opt(
        "kept", "pass rate over the tests kept by filter, or over the test count before filtering (the paper's release)"
    )
    batch_size: int = opt(32, "questions sampled at once")
    sandbox_retries: int = opt(2, "rounds that rerun items hit by a sandbox_error before leaving them unscored")

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "models", tuple(GeneratorSpec.coerce(m) for m in self.models))
        if not self.models:
            raise ConfigError("sample needs at least one model")
        if self.denominator not in ("kept", "original"):
            raise ConfigError(f"denominator must be 'kept' or 'original', got {self.denominator!r}")
        if self.num_samples < 1 or self.prompt_tests < 0 or self.batch_size < 1:
            raise ConfigError("num_samples and batch_size must be >= 1, prompt_tests >= 0")
        _every_test_counts(self)


@dataclass(frozen=True)
class PairsConfig(_Stage):
    """``acecoder pairs``: (chosen, rejected) completions of one question, far apart in pass rate."""

    format: Literal["acecodepair", "trl", "trl-standard"] = opt(
        "acecodepair",
        "acecodepair: instruction/input/chosen/rejected/id; trl: conversational preference; trl-standard: strings",
    )
    min_chosen: float = opt(0.8, "chosen pass rate at least this")
    min_gap: float = opt(0.4, "chosen minus rejected pass rate at least this")
    rejected_above: float = opt(0.0, "rejected pass rate strictly above this (0: the rejected passes something)")
    max_pairs_per_question: int | None = opt(None, "keep at most this many pairs per question (a random sample)")
    text: Literal["completion", "code"] = opt("completion", "pair the raw completions or the code extracted from them")
    seed: int = opt(0, "seed of the per-question sample")
    progress: bool = opt(False, "show progress bars")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.format not in ("acecodepair", "trl", "trl-standard"):
            raise ConfigError(f"format must be acecodepair, trl or trl-standard, got {self.format!r}")
        if not 0 <= self.min_gap <= 1 or not 0 <= self.min_chosen <= 1:
            raise ConfigError("min_chosen and min_gap are pass rates, in [0, 1]")


@dataclass(frozen=True)
class HardConfig(_Stage):
    """``acecoder hard``: the RL subset of hard but learnable questions."""

    spread: Literal["std", "range"] = opt("std", "pass-rate spread of a question: standard deviation or max - min")
    progress: bool = opt(False, "show progress bars")


@dataclass(frozen=True)
class StatsConfig:
    """``acecoder stats``: the paper's Table 1 and an HTML report for a run."""

    run_dir: str = opt(
        "", "a pipeline output folder (synth.jsonl, filter.jsonl, sample.jsonl, pairs.jsonl)", positional=True
    )
    synth: str | None = opt(None, "synth output (default: RUN_DIR/synth.jsonl)")
    filtered: str | None = opt(None, "filter output (default: RUN_DIR/filter.jsonl)")
    sample: str | None = opt(None, "sample output (default: RUN_DIR/sample.jsonl)")
    pairs: str | None = opt(None, "pairs output (default: RUN_DIR/pairs.jsonl)")
    output_dir: str | None = opt(None, "where stats.csv, stats.md and report.html go (default: RUN_DIR)", short="-o")
    title: str = opt("AceCoder data run", "report title")

    def __post_init__(self) -> None:
        if not self.run_dir and not self.output_dir:
            raise ConfigError("give run_dir, or output_dir with the stage files")


# ----------------------------------------------------------- mapping and argparse


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_mapping(cls: type, data: Mapping[str, Any], where: str = "") -> Any:
    """Build config ``cls`` from a mapping (a TOML/JSON table); unknown keys name the valid ones."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"{where or cls.__name__}: unknown key(s) {sorted(unknown)}; valid: {sorted(names)}")
    kwargs: dict[str, Any] = {}
    hints = _hints(cls)
    for name, value in data.items():
        hint = hints[name]
        if hint is GeneratorSpec:
            value = GeneratorSpec.coerce(value)
        elif hint is ExecConfig and isinstance(value, Mapping):
            value = ExecConfig.from_mapping(value, f"{where}.{name}" if where else name)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def _scalar(hint: Any) -> tuple[Any, bool]:
    """(base type, optional) of a field annotation."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return hint, False


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def add_config_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one option per field of ``cls`` (help text from the field), nested configs flattened."""
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if f.name.startswith("_"):
            continue
        hint = hints[f.name]
        help_text = f.metadata.get("help", "")
        flag = "--" + f.name.replace("_", "-")
        default = (
            f.default
            if f.default is not dataclasses.MISSING
            else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else None  # type: ignore[misc]
            )
        )
        if hint is GeneratorSpec or hint == tuple[GeneratorSpec, ...]:
            g = parser.add_argument_group("generation", help_text)
            # The toolkit's one vocabulary: --generator picks the model backend (as in
            # ``acecoder bench``), --sandbox the isolation backend.
            g.add_argument(
                "--generator",
                dest="generator_backend",
                default=None,
                metavar="NAME",
                help="generation backend: vllm, openai, transformers, replay (default: replay)",
            )
            g.add_argument("--model", default=None, help="model name or path")
            g.add_argument(
                "--gen-option",
                dest="gen_option",
                action="append",
                default=[],
                metavar="KEY=VALUE",
                help="generator option, value parsed as JSON when it parses (e.g. base_url=http://127.0.0.1:8000/v1, "
                "concurrency=16, path=answers.jsonl); repeatable",
            )
            continue
        if hint is ExecConfig:
            _add_exec_arguments(parser.add_argument_group("execution", help_text))
            continue
        base, _optional = _scalar(hint)
        kwargs: dict[str, Any] = {"help": f"{help_text} (default: {default})", "default": None}
        if f.metadata.get("positional"):
            parser.add_argument(f.name, nargs="?", default=None, help=help_text, metavar=f.name.upper())
            continue
        flags = [flag] + ([f.metadata["short"]] if "short" in f.metadata else [])
        if base is bool:
            parser.add_argument(*flags, action=argparse.BooleanOptionalAction, **kwargs)
            continue
        if typing.get_origin(base) is Literal:
            kwargs["choices"] = typing.get_args(base)
        elif base in (int, float):
            kwargs["type"] = base
        parser.add_argument(*flags, **kwargs)


def config_from_args(cls: type, args: argparse.Namespace, base: Any = None) -> Any:
    """Build ``cls`` from parsed options: those given override ``base`` (or the defaults)."""
    hints = _hints(cls)
    values: dict[str, Any] = dataclasses.asdict(base) if base is not None else {}
    if base is not None:
        for f in dataclasses.fields(cls):
            values[f.name] = getattr(base, f.name)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if hint is GeneratorSpec or hint == tuple[GeneratorSpec, ...]:
            spec = values.get(f.name)
            current = (spec[0] if isinstance(spec, tuple) else spec) or GeneratorSpec()
            options = dict(current.options)
            for item in getattr(args, "gen_option", []) or []:
                key, sep, value = item.partition("=")
                if not sep:
                    raise ConfigError(f"--gen-option takes KEY=VALUE, got {item!r}")
                options[key] = _json_value(value)
            spec = GeneratorSpec(
                backend=getattr(args, "generator_backend", None) or current.backend,
                model=getattr(args, "model", None) or current.model,
                options=options,
            )
            values[f.name] = (spec,) if hint != GeneratorSpec else spec
            continue
        if hint is ExecConfig:
            values[f.name] = _exec_from_args(args, values.get(f.name) or ExecConfig())
            continue
        given = getattr(args, f.name, None)
        if given is not None:
            values[f.name] = given
    return cls(**values)


def _add_exec_arguments(group: Any) -> None:
    """Flat flags for an ExecConfig: acesandbox's sandbox flags (``--sandbox``, ``--workers``, ...),
    then one per Limits field and per ExecConfig field (help from each field)."""
    from acesandbox.cli.options import add_sandbox_options

    add_sandbox_options(group)
    for cls, defaults in ((Limits, Limits()), (ExecConfig, ExecConfig())):
        hints = _hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in ("sandbox", "limits"):
                continue  # the nested values themselves
            base, _optional = _scalar(hints[f.name])
            kwargs: dict[str, Any] = {
                "dest": f.name,
                "default": None,
                "help": f"{f.metadata.get('help', '')} (default: {getattr(defaults, f.name)})",
            }
            flag = "--" + f.name.replace("_", "-")
            if base is bool:
                group.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
                continue
            if typing.get_origin(base) is Literal:
                kwargs["choices"] = typing.get_args(base)
            elif base in (int, float):
                kwargs["type"] = base
            group.add_argument(flag, **kwargs)


def _exec_from_args(args: argparse.Namespace, base: ExecConfig) -> ExecConfig:
    """``base`` with the execution flags given on the command line."""
    from acesandbox.cli.options import sandbox_from_args

    given: dict[str, Any] = {}
    try:
        sandbox = sandbox_from_args(args, base.sandbox)
    except ValueError as exc:  # InvalidJobError names the field
        raise ConfigError(f"execution: {exc}") from None
    if sandbox != base.sandbox:
        given["sandbox"] = sandbox
    for name in _EXEC_OWN | _LIMITS_FIELDS:
        value = getattr(args, name, None)
        if value is not None:
            given[name] = value
    return ExecConfig.from_mapping(given, "execution", base) if given else base
