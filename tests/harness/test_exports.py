"""The public surface of ``harness``: each export is its defining module's object, every time."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import harness

KINDS = {
    "ConfigError": "class",
    "DataError": "class",
    "ExecConfig": "class",
    "FilterConfig": "class",
    "GenerationError": "class",
    "GeneratorNotFoundError": "class",
    "GeneratorSpec": "class",
    "HardConfig": "class",
    "HarnessError": "class",
    "PairsConfig": "class",
    "SampleConfig": "class",
    "StatsConfig": "class",
    "SynthConfig": "class",
    "build_pairs": "function",
    "filter_tests": "function",
    "get_generator": "function",
    "hard_subset": "function",
    "load_config": "function",
    "read_records": "function",
    "run_pipeline": "function",
    "run_stats": "function",
    "sample": "function",
    "synthesize": "function",
}

# Run in a fresh interpreter: the old bug showed only on the first access of a name
# (a function), after which importing its submodule rebound the name to the module.
PROBE = """
import importlib, inspect, json, sys
import harness
out = {}
for name in harness.__all__:
    first = getattr(harness, name)
    second = getattr(harness, name)
    from_import = getattr(importlib.import_module("harness"), name)
    home = importlib.import_module(first.__module__) if hasattr(first, "__module__") else None
    kind = "module" if inspect.ismodule(first) else "class" if inspect.isclass(first) else (
        "function" if inspect.isfunction(first) else type(first).__name__)
    out[name] = {
        "kind": kind,
        "same": first is second is from_import,
        "defined_as": getattr(first, "__name__", None),
        "home_is_harness": first.__module__.split(".")[0] == "harness",
        "home_object": home is not None and getattr(home, getattr(first, "__name__", ""), None) is first,
    }
print(json.dumps(out))
"""


def test_all_is_sorted_and_complete():
    assert harness.__all__ == sorted(harness.__all__)
    assert set(harness.__all__) == set(KINDS) == set(harness._WHERE)


def test_no_export_shares_a_submodule_name():
    submodules = {m.name for m in pkgutil.iter_modules(harness.__path__)}
    assert "stats" in submodules and "pairs" in submodules  # the names that once collided
    assert not submodules & set(harness.__all__)


def test_each_export_is_its_defining_modules_object_on_every_access():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    assert set(found) == set(KINDS)
    for name, info in found.items():
        assert info["kind"] == KINDS[name], name
        assert info["same"], f"harness.{name} changed between accesses"
        assert info["defined_as"] == name, name
        assert info["home_is_harness"], name
        assert info["home_object"], f"harness.{name} is not its defining module's object"


def test_exports_match_their_modules_in_process():
    import importlib

    for name, module in harness._WHERE.items():
        assert getattr(harness, name) is getattr(importlib.import_module(f"harness.{module}"), name), name
        assert getattr(harness, name) is getattr(harness, name)


def test_error_tree_is_drawn_and_rooted():
    from acesandbox.errors import AcecoderError
    from harness import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.HarnessError) and issubclass(cls, AcecoderError), name
        assert name in errors.__doc__, name
        assert name in harness.__all__, name
    assert issubclass(errors.ConfigError, ValueError) and issubclass(errors.DataError, ValueError)
    assert issubclass(errors.GeneratorNotFoundError, LookupError)
    assert issubclass(errors.GenerationError, RuntimeError)


def test_import_is_light():
    code = (
        "import sys, harness, harness.cli; "
        "print([m for m in ('acesandbox.executor', 'pandas', 'matplotlib', 'httpx', 'torch', 'datasets', 'pyarrow') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


MODULES = [
    "harness.checkpoint",
    "harness.config",
    "harness.errors",
    "harness.filtering",
    "harness.generation",
    "harness.generation.base",
    "harness.hard",
    "harness.io",
    "harness.pairs",
    "harness.pipeline",
    "harness.sampling",
    "harness.scoring",
    "harness.stats",
    "harness.synth",
    "harness.text",
    "harness.cli",
    "harness.cli._common",
]


def test_every_module_all_is_sorted_and_names_its_own_objects():
    import importlib
    import inspect

    for name in MODULES:
        module = importlib.import_module(name)
        assert module.__all__ == sorted(module.__all__), name
        for item in module.__all__:
            obj = getattr(module, item)
            assert getattr(module, item) is obj, f"{name}.{item}"
            if inspect.isclass(obj) or inspect.isfunction(obj):
                assert obj.__name__ == item, f"{name}.{item} is {obj.__name__}"
                assert getattr(importlib.import_module(obj.__module__), item) is obj, f"{name}.{item}"
                if name != "harness.generation":  # the package re-exports base's and errors' names
                    assert obj.__module__ == name, f"{name}.{item} is defined in {obj.__module__}"
