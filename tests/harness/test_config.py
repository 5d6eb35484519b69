"""Config classes: help on every field, mapping and argparse construction, the pipeline config."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from acesandbox import Limits, SandboxConfig
from harness import config as cfg
from harness.errors import ConfigError
from harness.pipeline import STAGES, load_config


@pytest.mark.parametrize(
    "cls",
    [
        cfg.SynthConfig,
        cfg.FilterConfig,
        cfg.SampleConfig,
        cfg.PairsConfig,
        cfg.HardConfig,
        cfg.StatsConfig,
        cfg.ExecConfig,
        cfg.GeneratorSpec,
    ],
)
def test_every_field_has_help(cls):
    for f in dataclasses.fields(cls):
        assert f.metadata.get("help"), f"{cls.__name__}.{f.name} has no help text"


def parse(cls, argv):
    p = argparse.ArgumentParser()
    cfg.add_config_arguments(p, cls)
    return cfg.config_from_args(cls, p.parse_args(argv))


def test_options_are_generated_from_fields():
    c = parse(
        cfg.FilterConfig,
        [
            "in.jsonl",
            "-o",
            "out.jsonl",
            "--num-solutions",
            "3",
            "--no-progress",
            "--workers",
            "2",
            "--mode",
            "isolated",
            "--sandbox",
            "process",
            "--timeout-s",
            "2.5",
            "--preload",
            "json",
            "--generator",
            "openai",
            "--model",
            "m",
            "--gen-option",
            "concurrency=4",
            "--gen-option",
            "base_url=http://127.0.0.1:1/v1",
        ],
    )
    assert (c.input, c.output, c.num_solutions, c.progress) == ("in.jsonl", "out.jsonl", 3, False)
    assert c.execution == cfg.ExecConfig(
        sandbox=SandboxConfig(backend="process", workers=2, preload=("json",)),
        limits=Limits(timeout_s=2.5),
        mode="isolated",
    )
    assert c.generator == cfg.GeneratorSpec("openai", "m", {"concurrency": 4, "base_url": "http://127.0.0.1:1/v1"})
    s = parse(cfg.SampleConfig, ["in", "-o", "out", "--model", "policy", "--denominator", "original"])
    assert s.models[0].model == "policy" and s.denominator == "original"


def test_exec_config_embeds_acesandbox_values_with_one_default_each():
    e = cfg.ExecConfig()
    assert e.sandbox == SandboxConfig() and e.limits == Limits()
    assert (e.mode, e.compare, e.stop_on_failure) == ("shared", "strict", None)
    assert [f.name for f in dataclasses.fields(cfg.ExecConfig)] == ["sandbox", "limits", "mode", "compare", "stop_on_failure"]
    assert e.job_options() == {"limits": Limits(), "mode": "shared", "compare": "strict", "stop_on_failure": False}
    assert e.job_options(all_or_nothing=True)["stop_on_failure"] is True
    assert cfg.FilterConfig(input="a", output="b").execution == cfg.SampleConfig(input="a", output="b").execution == e


def test_exec_config_from_nested_tables_flat_keys_or_a_backend_name():
    nested = cfg.ExecConfig.from_mapping({"sandbox": {"workers": 2, "memory_mb": 512}, "limits": {"timeout_s": 2.0}})
    flat = cfg.ExecConfig.from_mapping({"workers": 2, "memory_mb": 512, "timeout_s": 2.0})
    assert nested == flat == cfg.ExecConfig(SandboxConfig(workers=2, memory_mb=512), Limits(timeout_s=2.0))
    named = cfg.ExecConfig.from_mapping({"sandbox": "process", "mode": "isolated"}, base=flat)
    assert named.sandbox == SandboxConfig(backend="process", workers=2, memory_mb=512) and named.limits == flat.limits
    assert named.mode == "isolated"
    with pytest.raises(ConfigError, match=r"execution: unknown key 'memory'; valid: \[.*'memory_mb'"):
        cfg.ExecConfig.from_mapping({"memory": 1})
    with pytest.raises(ConfigError, match=r"execution.sandbox: unknown key\(s\) \['timeout_s'\]"):
        cfg.ExecConfig.from_mapping({"sandbox": {"timeout_s": 1}})
    with pytest.raises(ConfigError, match="memory_mb must be at least 64"):
        cfg.ExecConfig.from_mapping({"memory_mb": 8})


def test_stages_that_use_every_test_refuse_stop_on_failure():
    stop = cfg.ExecConfig(stop_on_failure=True)
    for cls in (cfg.FilterConfig, cfg.SampleConfig):
        with pytest.raises(ConfigError, match="stop_on_failure=true .* leave it unset"):
            cls(input="a", output="b", execution=stop)


def test_bad_values_are_errors_naming_the_field():
    with pytest.raises(ValueError, match="denominator"):
        cfg.SampleConfig(input="a", output="b", denominator="all")
    with pytest.raises(ValueError, match="unknown key.*'bogus'.*valid"):
        cfg.from_mapping(cfg.HardConfig, {"input": "a", "output": "b", "bogus": 1})
    with pytest.raises(ValueError, match="mode"):
        cfg.ExecConfig(mode="parallel")


def test_bundled_pipeline_config_loads_and_overrides_apply():
    from harness.data import bundled_path

    c = load_config(bundled_path("pipeline.toml"), ["sample.num_samples=4", 'output_dir="x"', "execution.workers=1"])
    assert c.stages == STAGES and c.output_dir == "x"
    assert c.execution == cfg.ExecConfig(SandboxConfig(workers=1), Limits(timeout_s=2.0))
    assert c.tables["sample"]["num_samples"] == 4
    assert set(c.generators) == {"synth", "strong", "policy"}


def test_pipeline_config_errors_name_the_fix(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text('[sample]\nmodels = ["nobody"]\n')
    with pytest.raises(ValueError, match=r"no generator named 'nobody'.*\[generators.nobody\]"):
        load_config(bad)
    bad.write_text("[synt]\n")
    with pytest.raises(ValueError, match="unknown config key"):
        load_config(bad)
    bad.write_text('stages = ["synth", "polish"]\n')
    with pytest.raises(ValueError, match="polish"):
        load_config(bad)
    bad.write_text("[execution]\nworkerz = 2\n")
    with pytest.raises(ValueError, match="execution: unknown key 'workerz'"):
        load_config(bad)
    good = tmp_path / "c.json"
    good.write_text('{"stages": ["pairs", "synth"], "pairs": {"format": "trl"}}')
    assert load_config(good).stages == ("synth", "pairs")


def test_a_stage_execution_table_overrides_the_shared_one(tmp_path):
    from harness.pipeline import _stage_config

    path = tmp_path / "c.toml"
    path.write_text(
        "[execution]\nworkers = 2\ntimeout_s = 3.0\n"
        "[sample.execution]\nsandbox = {memory_mb = 512}\nmode = 'isolated'\n"
    )
    c = load_config(path)
    assert _stage_config(c, "filter").execution == cfg.ExecConfig(SandboxConfig(workers=2), Limits(timeout_s=3.0))
    assert _stage_config(c, "sample").execution == cfg.ExecConfig(
        SandboxConfig(workers=2, memory_mb=512), Limits(timeout_s=3.0), mode="isolated"
    )
