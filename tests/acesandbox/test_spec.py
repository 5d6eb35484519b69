"""Job, Limits and test-kind values: validation names the field; JSON round-trips."""

from __future__ import annotations

import json

import pytest

from acesandbox import CallTest, InvalidJobError, IOTest, Job, Limits, UnittestTest
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
        ({"memory_mb": 10}, "memory_mb"),
        ({"memory_mb": 1.5}, "memory_mb"),
        ({"max_processes": 0}, "max_processes"),
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
        limits=Limits(timeout_s=2.0, memory_mb=256),
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
