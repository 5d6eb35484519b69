"""Config classes: help on every field, mapping and argparse construction, the pipeline config."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from harness import config as cfg
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
            "shared",
            "--backend",
            "openai",
            "--model",
            "m",
            "--gen-opt",
            "concurrency=4",
            "--gen-opt",
            "base_url=http://127.0.0.1:1/v1",
        ],
    )
    assert (c.input, c.output, c.num_solutions, c.progress) == ("in.jsonl", "out.jsonl", 3, False)
    assert (c.execution.workers, c.execution.mode) == (2, "shared")
    assert c.generator == cfg.GeneratorSpec("openai", "m", {"concurrency": 4, "base_url": "http://127.0.0.1:1/v1"})
    s = parse(cfg.SampleConfig, ["in", "-o", "out", "--model", "policy", "--denominator", "original"])
    assert s.models[0].model == "policy" and s.denominator == "original"


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
    assert c.stages == STAGES and c.output_dir == "x" and c.execution.workers == 1
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
    good = tmp_path / "c.json"
    good.write_text('{"stages": ["pairs", "synth"], "pairs": {"format": "trl"}}')
    assert load_config(good).stages == ("synth", "pairs")
