"""The public surface of ``benchmarks``: sorted, complete, and cheap to import."""

from __future__ import annotations

import subprocess
import sys

import benchmarks


def test_all_is_sorted_and_resolvable():
    assert benchmarks.__all__ == sorted(benchmarks.__all__)
    for name in benchmarks.__all__:
        assert getattr(benchmarks, name) is not None


def test_import_is_light():
    code = (
        "import sys, benchmarks, benchmarks.cli; "
        "print([m for m in ('acesandbox.executor', 'pandas', 'matplotlib', 'torch', 'datasets', 'evalplus', 'numpy') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_exports_are_their_defining_objects():
    from benchmarks import base, errors, runner, verdicts

    assert benchmarks.Problem is base.Problem and benchmarks.get_benchmark is base.get_benchmark
    assert benchmarks.BenchmarkError is errors.BenchmarkError and benchmarks.DataDirError is errors.DataDirError
    assert benchmarks.Verdict is verdicts.Verdict and benchmarks.PASS is verdicts.Verdict.PASS
    assert benchmarks.evaluate is runner.evaluate and benchmarks.Evaluation is runner.Evaluation


def test_one_problem_class_in_benchmarks():
    """Every benchmark family builds the same Problem value (one name, one meaning)."""
    import ast
    import pathlib

    root = pathlib.Path(benchmarks.__file__).parent
    defined = [
        (str(path.relative_to(root)), node.name)
        for path in root.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and "problem" in node.name.lower()
    ]
    assert defined == [("base.py", "Problem")]
    # and nowhere else in the toolkit is a class called Problem
    repo = root.parent
    elsewhere = [
        str(path.relative_to(repo))
        for package in ("acesandbox", "harness", "rm_rl", "perf")
        for path in (repo / package).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name == "Problem"
    ]
    assert elsewhere == []


def test_verdict_vocabulary_and_its_mapping_from_status():
    import json

    from acesandbox import Status
    from benchmarks.verdicts import Verdict

    assert [v.value for v in Verdict] == ["pass", "fail", "timeout", "sandbox_error"]
    assert Verdict.PASS == "pass" and f"{Verdict.FAIL}" == "fail" and str(Verdict.TIMEOUT) == "timeout"
    assert json.dumps({"status": Verdict.PASS}) == '{"status": "pass"}'  # official files keep official strings
    expected = {
        Status.PASSED: Verdict.PASS, Status.TIMEOUT: Verdict.TIMEOUT, Status.SANDBOX_ERROR: Verdict.SANDBOX_ERROR,
        Status.FAILED: Verdict.FAIL, Status.ERROR: Verdict.FAIL, Status.MEMORY: Verdict.FAIL,
        Status.CRASHED: Verdict.FAIL, Status.SKIPPED: Verdict.FAIL,
    }
    assert {s: Verdict.from_status(s) for s in Status} == expected
    assert Verdict.from_status("passed") is Verdict.PASS
    assert [v.judged for v in Verdict] == [True, True, True, False]


def test_exception_tree_is_rooted_at_acecoder_error():
    from acesandbox.errors import AcecoderError
    from benchmarks import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.BenchmarkError) and issubclass(cls, AcecoderError), name
    assert issubclass(errors.BenchmarkError, ValueError)
    assert issubclass(errors.BenchmarkNotFoundError, LookupError)
    assert issubclass(errors.MissingExtraError, ImportError)
    for name in errors.__all__:  # drawn in the module docstring
        assert name in errors.__doc__


def test_benchmarks_are_chosen_through_the_shared_registry():
    import pytest

    from acesandbox.registry import Registry
    from benchmarks.base import BENCHMARKS
    from benchmarks.evalplus import HumanEvalPlus

    assert isinstance(BENCHMARKS, Registry)
    assert type(benchmarks.get_benchmark("HumanEval+")) is HumanEvalPlus  # names are case-insensitive
    with pytest.raises(benchmarks.BenchmarkNotFoundError, match=r"unknown benchmark 'nope'; choose one of \[.*'mbpp\+'"):
        benchmarks.get_benchmark("nope")


def test_optional_dependencies_are_named_with_their_extra(monkeypatch):
    import pytest

    from benchmarks.errors import MissingExtraError
    from benchmarks.extras import INSTALL, missing, require

    monkeypatch.setitem(sys.modules, "pandas", None)
    assert missing(["json", "pandas", "surely_absent_module_xyz"]) == ["pandas", "surely_absent_module_xyz"]
    with pytest.raises(MissingExtraError, match="scoring needs pandas") as info:
        require(["json", "pandas"], "scoring")
    assert INSTALL in str(info.value) and INSTALL == "pip install 'acecoder-toolkit[benchmarks]'"
    require(["json"], "scoring")  # nothing missing: no error
