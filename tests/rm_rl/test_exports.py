"""The public surface: sorted, complete __all__; a light import."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

import pytest

MODULES = [
    "rm_rl",
    "rm_rl.errors",
    "rm_rl.dataset",
    "rm_rl.runner",
    "rm_rl.rewards",
    "rm_rl.server",
    "rm_rl.cli_serve",
    "rm_rl.adapters.trl",
    "rm_rl.adapters.verl",
    "rm_rl.adapters.openrlhf",
]

# rm_rl's own exports and their kinds; the package re-exports them from private homes.
KINDS = {
    "ACECODER_PREFILL": "str",
    "CodeReward": "class",
    "ConfigError": "class",
    "DatasetError": "class",
    "JobRunner": "class",
    "ProblemIndex": "class",
    "RewardConfig": "class",
    "RewardRow": "class",
    "RewardStats": "class",
    "RewardUnavailableError": "class",
    "RmRlError": "class",
    "Score": "class",
    "TestsNotFoundError": "class",
    "binary": "function",
    "coerce_tests": "function",
    "extract_code": "function",
    "load_problems": "function",
    "pass_rate": "function",
}

PROBE = """
import importlib, inspect, json
import rm_rl
out = {}
for name in rm_rl.__all__:
    first, second = getattr(rm_rl, name), getattr(rm_rl, name)
    kind = "class" if inspect.isclass(first) else "function" if inspect.isfunction(first) else (
        "module" if inspect.ismodule(first) else type(first).__name__)
    home = getattr(first, "__module__", None)
    out[name] = {"kind": kind, "same": first is second,
                 "home_object": home is None or getattr(importlib.import_module(home), first.__name__) is first}
print(json.dumps(out))
"""


def _kind(obj):
    return "class" if inspect.isclass(obj) else "function" if inspect.isfunction(obj) else type(obj).__name__


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_each_name_is_its_defining_modules_object(name):
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    for item in module.__all__:
        obj = getattr(module, item)
        assert getattr(module, item) is obj, f"{name}.{item} changed between accesses"
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__name__ == item, f"{name}.{item} is {obj.__name__}"
            assert getattr(importlib.import_module(obj.__module__), item) is obj, f"{name}.{item}"
            if not name.startswith("rm_rl.adapters") and name != "rm_rl":
                home = obj.__module__
                inside = home in (name, "acesandbox.extract") or home.startswith(name + ".")  # a package's modules
                assert inside, f"{name}.{item} is defined in {home}"


def test_package_exports_are_the_defining_objects_on_first_and_second_access():
    import rm_rl
    from acesandbox import extract
    from rm_rl import dataset, errors, rewards, runner

    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    assert set(found) == set(KINDS) == set(rm_rl.__all__)
    for name, info in found.items():
        assert info["kind"] == KINDS[name] and info["same"] and info["home_object"], (name, info)
    homes = {"ACECODER_PREFILL": extract, "extract_code": extract, "JobRunner": runner}
    for name in rm_rl.__all__:
        home = homes.get(name) or next(m for m in (errors, dataset, rewards) if name in m.__all__)
        assert getattr(rm_rl, name) is getattr(home, name), name
        assert _kind(getattr(rm_rl, name)) == KINDS[name], name


def test_package_exports_everything_public():
    import rm_rl

    public = {n for n in dir(rm_rl) if not n.startswith("_") and not inspect.ismodule(getattr(rm_rl, n))}
    assert public - {"annotations"} == set(rm_rl.__all__)


def test_importing_rm_rl_and_adapters_stays_light():
    code = (
        "import sys, rm_rl, rm_rl.adapters.trl, rm_rl.adapters.verl, rm_rl.adapters.openrlhf, rm_rl.cli_serve;"
        "heavy = [m for m in ('torch', 'trl', 'transformers', 'fastapi', 'uvicorn', 'datasets', 'httpx') "
        "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_error_tree():
    import rm_rl
    from rm_rl import errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.RmRlError)
        assert name in errors.__doc__ and name in rm_rl.__all__
    assert issubclass(errors.ConfigError, ValueError) and issubclass(errors.TestsNotFoundError, LookupError)
