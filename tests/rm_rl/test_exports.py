"""The public surface: sorted, complete __all__; a light import."""

from __future__ import annotations

import importlib
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
    "rm_rl.bench",
    "rm_rl.adapters.trl",
    "rm_rl.adapters.verl",
    "rm_rl.adapters.openrlhf",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_resolves(name):
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    for item in module.__all__:
        assert hasattr(module, item), f"{name}.{item}"


def test_package_exports_everything_public():
    import rm_rl

    public = {n for n in dir(rm_rl) if not n.startswith("_") and n[0].isupper() or n in ("binary", "pass_rate")}
    public -= {"TYPE_CHECKING"}
    assert public <= set(rm_rl.__all__)


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
