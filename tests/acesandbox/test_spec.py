"""SandboxConfig, Job, Limits and test-kind values: validation names the field; JSON round-trips."""

from __future__ import annotations

import json

import pytest

from dataclasses import fields

from acesandbox import CallTest, InvalidJobError, IOTest, Job, Limits, SandboxConfig, UnittestTest
from acesandbox._spec import AssertTest, as_test


def test_limits_defaults_are_derived():
    lim = Limits(timeout_s=2.0)
    assert lim.effective_wall_timeout_s == 7.0
    assert lim.effective_job_timeout_s == 30.0
    assert Limits(timeout_s=5.0).effective_job_timeout_s == 50.0
    assert Limits(timeout_s=1.0, job_timeout_s=3.0).effective_job_timeout_s == 3.0


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"timeout_s": 0}, "timeout_s"),
        ({"timeout_s": -1}, "timeout_s"),
        ({"timeout_s": float("nan")}, "timeout_s"),
        ({"max_file_mb": 0}, "max_file_mb"),
        ({"max_open_files": 1.5}, "max_open_files"),
        ({"output_bytes": True}, "output_bytes"),
        ({"timeout_s": 2, "wall_timeout_s": 1}, "wall_timeout_s"),
    ],
)
def test_limits_reject_bad_values_naming_the_field(kwargs, field):
    with pytest.raises(InvalidJobError, match=field):
        Limits(**kwargs)


def test_limits_from_dict_rejects_unknown_fields():
    with pytest.raises(InvalidJobError, match="timeout"):
        Limits.from_dict({"timeout": 3})


@pytest.mark.parametrize("name", ["memory_mb", "max_processes", "scratch_mb"])
def test_limits_from_dict_says_where_a_sandbox_wide_field_moved(name):
    with pytest.raises(InvalidJobError, match=rf"\['{name}'\] moved to SandboxConfig.*SandboxConfig\({name}="):
        Limits.from_dict({"timeout_s": 2, name: 512})
    assert name not in {f.name for f in fields(Limits)}
    assert name in {f.name for f in fields(SandboxConfig)}


def test_sandbox_config_defaults_are_written_once():
    config = SandboxConfig()
    assert (config.backend, config.workers, config.python, config.preload, config.options) == (None, None, None, (), {})
    assert (config.memory_mb, config.max_processes, config.scratch_mb) == (1024, 64, 256)
    # Every field says what it is in its metadata, with its unit where it has one.
    for f in fields(SandboxConfig) + fields(Limits):
        assert f.metadata["help"], f.name
    assert "MiB" in {f.name: f for f in fields(SandboxConfig)}["memory_mb"].metadata["help"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"memory_mb": 10}, r"SandboxConfig\.memory_mb must be at least 64"),
        ({"memory_mb": 1.5}, r"SandboxConfig\.memory_mb must be a positive integer"),
        ({"max_processes": 0}, r"SandboxConfig\.max_processes must be a positive integer"),
        ({"scratch_mb": True}, r"SandboxConfig\.scratch_mb must be a positive integer"),
        ({"workers": 0}, r"SandboxConfig\.workers must be a positive integer, got 0 \(or None: one per CPU core\)"),
        ({"backend": ""}, r"SandboxConfig\.backend must be a backend name"),
        ({"python": 3}, r"SandboxConfig\.python must be a path"),
        ({"preload": "numpy"}, r"SandboxConfig\.preload must be a list of module names.*preload=\('numpy',\)"),
        ({"preload": ["not a module"]}, r"'not a module' is not a module name"),
        ({"options": [1]}, r"SandboxConfig\.options must be a mapping"),
    ],
)
def test_sandbox_config_rejects_bad_values_naming_the_field_and_fix(kwargs, message):
    with pytest.raises(InvalidJobError, match=message):
        SandboxConfig(**kwargs)


def test_sandbox_config_round_trips_and_hashes_by_value():
    config = SandboxConfig(
        backend="docker", workers=2, memory_mb=512, preload=["numpy"], options={"image": "x:y", "env": {"A": [1]}}
    )
    assert config.preload == ("numpy",)
    again = SandboxConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and hash(again) == hash(config)
    assert {config: 1}[again] == 1
    assert SandboxConfig(memory_mb=512) != SandboxConfig(memory_mb=513)
    with pytest.raises(InvalidJobError, match=r"unknown SandboxConfig field\(s\): \['timeout_s'\]"):
        SandboxConfig.from_dict({"timeout_s": 1})


def test_job_coerces_tests_and_rejects_bad_types():
    job = Job("x = 1", ["assert x == 1", {"kind": "io", "stdin": "", "expected_stdout": "1"}])
    assert isinstance(job.tests[0], AssertTest)
    assert isinstance(job.tests[1], IOTest)
    with pytest.raises(InvalidJobError, match="tests"):
        Job("x = 1", "assert x == 1")
    with pytest.raises(InvalidJobError, match="program"):
        Job(42, [])  # type: ignore[arg-type]
    with pytest.raises(InvalidJobError, match=r"tests\[1\]"):
        Job("x = 1", ["assert x", 3])
    with pytest.raises(InvalidJobError, match="mode"):
        Job("x = 1", [], mode="fast")  # type: ignore[arg-type]


def test_job_from_dict_names_missing_fields():
    with pytest.raises(InvalidJobError, match="'tests'"):
        Job.from_dict({"program": "x = 1"})
    with pytest.raises(InvalidJobError, match="'program'"):
        Job.from_dict({"tests": []})
    with pytest.raises(InvalidJobError, match="unknown test kind"):
        Job.from_dict({"program": "", "tests": [{"kind": "nope"}]})


def test_job_json_round_trip():
    job = Job(
        "def f(x): return x",
        [
            "assert f(1) == 1",
            IOTest("1\n", "1\n", match="tokens", float_tol=1e-6),
            CallTest("f", (1,), 1),
            UnittestTest("import unittest"),
        ],
        limits=Limits(timeout_s=2.0, output_bytes=256),
        mode="shared",
        stop_on_failure=True,
        job_id="abc",
    )
    again = Job.from_dict(json.loads(job.to_json()))
    assert again == job


def test_as_test_rejects_unknown_values():
    with pytest.raises(InvalidJobError, match="expected an assert string"):
        as_test(3.5)
    with pytest.raises(InvalidJobError, match="fn"):
        CallTest("not a name!", ())
    with pytest.raises(InvalidJobError, match="match"):
        IOTest("", "", match="fuzzy")  # type: ignore[arg-type]


def test_out_of_range_values_are_refused_before_they_reach_a_sandbox():
    # Past ~24 days the sandbox's poll() overflows and past 2**63 bytes the file rlimit
    # does: a correct program ended "crashed".
    for kwargs in ({"timeout_s": 1e7}, {"timeout_s": 1, "wall_timeout_s": 1e12}, {"job_timeout_s": 1e300}):
        with pytest.raises(InvalidJobError, match="at most"):
            Limits(**kwargs)
    Limits(timeout_s=7 * 86400)
    with pytest.raises(InvalidJobError, match="max_file_mb"):
        Limits(max_file_mb=10**15)
    with pytest.raises(InvalidJobError, match="stop_on_failure"):
        Job("x = 1", ["assert x == 1"], stop_on_failure="no")  # truthy: stopped at the first failure
    with pytest.raises(InvalidJobError, match="unknown test kind"):
        as_test({"kind": ["assert"], "source": "assert 1"})  # was a TypeError (unhashable)
