"""The whole pipeline from one config file: synth -> filter -> sample -> pairs -> hard -> stats.

A config is TOML (or JSON) with one table per stage holding that stage's options (the
fields of its config class), named generators shared between stages, and one
execution table::

    output_dir = "acecoder-run"
    seeds = "seeds.jsonl"              # or hf:ORG/NAME, or "@bundled"
    [generators.gpt]                   # any name; backend + its options
    backend = "openai"
    model = "gpt-4o-mini"
    [synth]
    generator = "gpt"                  # a name from [generators], or an inline table
    [sample]
    models = ["policy"]                # names or inline tables

Stage outputs go to ``output_dir/<stage>.jsonl``. Every stage resumes, so rerunning the
same command after an interruption continues where it stopped; ``fresh`` starts over.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .config import (
    parse_assignment,
    read_config_file,
    ExecConfig,
    FilterConfig,
    GeneratorSpec,
    HardConfig,
    PairsConfig,
    SampleConfig,
    StatsConfig,
    SynthConfig,
    from_mapping,
)
from .errors import ConfigError

__all__ = ["PipelineConfig", "STAGES", "load_config", "run_pipeline"]

STAGES = ("synth", "filter", "sample", "pairs", "hard", "stats")


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """A parsed pipeline config: stage tables stay mappings until the stage runs."""

    output_dir: str = dataclasses.field(default="acecoder-run", metadata={"help": "folder of every stage's output"})
    seeds: str = dataclasses.field(
        default="@bundled", metadata={"help": "seed code: a file, a folder, hf:NAME or @bundled"}
    )
    stages: tuple[str, ...] = dataclasses.field(default=STAGES, metadata={"help": "stages to run, in pipeline order"})
    fresh: bool = dataclasses.field(default=False, metadata={"help": "discard earlier outputs instead of resuming"})
    progress: bool = dataclasses.field(default=True, metadata={"help": "show progress bars"})
    generators: Mapping[str, GeneratorSpec] = dataclasses.field(
        default_factory=dict, metadata={"help": "named generators"}
    )
    execution: ExecConfig = dataclasses.field(default_factory=ExecConfig, metadata={"help": "shared sandbox settings"})
    tables: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict, metadata={"help": "stage tables"})

    def __post_init__(self) -> None:
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown:
            raise ConfigError(f"unknown stage(s) {unknown}; choose from {list(STAGES)}")
        object.__setattr__(self, "stages", tuple(s for s in STAGES if s in self.stages))

    def path(self, stage: str) -> str:
        return os.path.join(self.output_dir, f"{stage}.jsonl")


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> PipelineConfig:
    """Read a TOML or JSON pipeline config; ``overrides`` are ``section.key=value`` (value as JSON when it parses)."""
    data = read_config_file(path)
    for item in overrides:
        key, parsed = parse_assignment(item, "SECTION.KEY=VALUE")
        node = data
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = parsed
    return config_from_dict(data)


def config_from_dict(data: Mapping[str, Any]) -> PipelineConfig:
    """Validate a config mapping: unknown sections and keys are errors that name the valid ones."""
    top = {"output_dir", "seeds", "stages", "fresh", "progress", "generators", "execution"}
    unknown = set(data) - top - set(STAGES)
    if unknown:
        raise ConfigError(f"unknown config key(s) {sorted(unknown)}; valid: {sorted(top | set(STAGES))}")
    generators = {name: GeneratorSpec.coerce(spec) for name, spec in (data.get("generators") or {}).items()}
    execution = ExecConfig.from_mapping(data.get("execution") or {}, "execution")
    kwargs = {k: data[k] for k in ("output_dir", "seeds", "fresh", "progress") if k in data}
    if "stages" in data:
        kwargs["stages"] = tuple(data["stages"])
    config = PipelineConfig(
        generators=generators, execution=execution, tables={s: dict(data.get(s) or {}) for s in STAGES}, **kwargs
    )
    for stage in config.stages:  # fail on a bad table before any stage runs
        _stage_config(config, stage)
    return config


def _generator(config: PipelineConfig, value: Any, where: str) -> GeneratorSpec:
    if isinstance(value, str):
        if value not in config.generators:
            raise ConfigError(
                f"{where}: no generator named {value!r}; define [generators.{value}] (have {sorted(config.generators)})"
            )
        return config.generators[value]
    return GeneratorSpec.coerce(value)


def _stage_config(config: PipelineConfig, stage: str) -> Any:
    table = dict(config.tables.get(stage, {}))
    common = {"fresh": config.fresh} if stage in ("synth", "filter", "sample") else {}
    if stage in ("synth", "filter", "sample"):
        common["progress"] = table.pop("progress", config.progress)
    inputs = {
        "synth": config.seeds,
        "filter": config.path("synth"),
        "sample": config.path("filter"),
        "pairs": config.path("sample"),
        "hard": config.path("sample"),
    }
    if stage == "stats":
        return from_mapping(StatsConfig, {"run_dir": config.output_dir, **table}, "stats")
    base = {"input": table.pop("input", inputs[stage]), "output": table.pop("output", config.path(stage)), **common}
    if stage in ("synth", "filter") and "generator" in table:
        table["generator"] = _generator(config, table["generator"], f"[{stage}].generator")
    if stage == "sample" and "models" in table:
        table["models"] = tuple(_generator(config, m, "[sample].models") for m in table["models"])
    if stage in ("filter", "sample"):
        own = table.pop("execution", {})
        table["execution"] = ExecConfig.from_mapping(own, f"[{stage}].execution", config.execution)
    cls = {
        "synth": SynthConfig,
        "filter": FilterConfig,
        "sample": SampleConfig,
        "pairs": PairsConfig,
        "hard": HardConfig,
    }[stage]
    return from_mapping(cls, {**base, **table}, f"[{stage}]")


def run_pipeline(config: PipelineConfig, *, log: Any = None) -> dict[str, Any]:
    """Run the configured stages in order; returns every stage's summary.

    Generators with the same spec are built once and shared, and so are sandbox pools:
    filtering and sampling share one unless their ``execution.sandbox`` differs.
    """
    from .filtering import filter_tests
    from .hard import hard_subset
    from .pairs import build_pairs
    from .sampling import sample
    from .stats import run_stats
    from .synth import synthesize

    os.makedirs(config.output_dir, exist_ok=True)
    built: dict[str, Any] = {}

    def gen(spec: GeneratorSpec) -> Any:
        key = json.dumps(dataclasses.asdict(spec), sort_keys=True, default=str)
        if key not in built:
            built[key] = spec.build()
        return built[key]

    summaries: dict[str, Any] = {}
    executors: dict[Any, Any] = {}  # SandboxConfig -> its Executor
    t0 = time.monotonic()
    try:
        for stage in config.stages:
            cfg = _stage_config(config, stage)
            if log:
                log(f"acecoder pipeline: {stage} -> {getattr(cfg, 'output', None) or cfg.run_dir}")
            if stage == "synth":
                summaries[stage] = synthesize(cfg, gen(cfg.generator))
            elif stage in ("filter", "sample"):
                if cfg.execution.sandbox not in executors:
                    executors[cfg.execution.sandbox] = cfg.execution.executor()
                executor = executors[cfg.execution.sandbox]
                if stage == "filter":
                    summaries[stage] = filter_tests(cfg, gen(cfg.generator), executor)
                else:
                    summaries[stage] = sample(cfg, [gen(m) for m in cfg.models], executor)
            elif stage == "pairs":
                summaries[stage] = build_pairs(cfg)
            elif stage == "hard":
                summaries[stage] = hard_subset(cfg)
            else:
                summaries[stage] = run_stats(cfg)
    finally:
        for ex in executors.values():
            ex.close()
        for g in built.values():
            g.close()
    result = {"output_dir": config.output_dir, "elapsed_s": round(time.monotonic() - t0, 3), "stages": summaries}
    with open(os.path.join(config.output_dir, "pipeline.summary.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, sort_keys=True, default=str)
    return result
