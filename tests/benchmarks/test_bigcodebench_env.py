"""BigCodeBench scores in the official environment by default, says which one scored, never mixes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from acesandbox.cli import main
from benchmarks.bigcodebench.environment import (
    KEY_LIBRARIES,
    check_output_dir,
    default_env_dir,
    pinned_versions,
    resolve_environment,
)
from benchmarks.errors import BenchmarkError

DATA_FILE = "bigcodebench/BigCodeBench-v0.1.0_hf.jsonl.gz"


def _fake_venv(root, versions):
    """A real venv (no pip) whose site-packages claims these library versions (metadata only)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    (site,) = root.glob("lib/python*/site-packages")
    for name, version in versions.items():
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return root


def test_the_pins_name_every_key_library():
    assert set(pinned_versions()) == set(KEY_LIBRARIES)
    assert pinned_versions()["pandas"] == "2.0.3" and pinned_versions()["matplotlib"] == "3.7.0"


def test_pinned_is_the_default_and_its_absence_names_the_build(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_env_dir() == tmp_path / "acecoder" / "bigcodebench" / "pinned-venv"
    with pytest.raises(BenchmarkError, match=r"python -m benchmarks.bcb_env .*pinned-venv.*--bcb-env host"):
        resolve_environment(None)


def test_a_venv_with_the_pins_is_pinned_and_one_with_other_versions_is_refused(tmp_path):
    pinned = _fake_venv(tmp_path / "good", pinned_versions())
    env = resolve_environment(str(pinned))
    assert env.kind == "pinned" and env.python == str(pinned / "bin" / "python")
    assert dict(env.versions) == pinned_versions() and "official evaluation pins" in env.label
    mixed = _fake_venv(tmp_path / "mixed", dict(pinned_versions(), pandas="3.0.0"))
    with pytest.raises(BenchmarkError, match=r"not the pinned BigCodeBench environment: pandas 3.0.0 \(pinned 2.0.3\)"):
        resolve_environment(str(mixed))


def test_host_is_labelled_as_not_the_official_environment():
    env = resolve_environment("host")
    assert env.kind == "host" and env.python is None
    assert "NOT the official environment" in env.label


def test_an_output_folder_of_another_environment_is_refused(tmp_path):
    (tmp_path / "bigcodebench-complete_summary.json").write_text(json.dumps({"rules": "environment pinned: ..."}))
    host = resolve_environment("host")
    with pytest.raises(BenchmarkError, match=r"another environment \(pinned\).*not mixed"):
        check_output_dir(str(tmp_path), "bigcodebench-complete", host)
    check_output_dir(str(tmp_path), "bigcodebench-instruct", host)  # another benchmark's file: fine


def test_the_command_refuses_before_any_work(tmp_path, capsys, shared_data):
    out = tmp_path / "out"
    out.mkdir()
    (out / "bigcodebench-complete_summary.json").write_text(json.dumps({"rules": "environment pinned: ..."}))
    args = ["bench", "bigcodebench", "--dataset", str(shared_data / DATA_FILE), "--limit", "1", "--no-progress"]
    assert main([*args, "--bcb-env", "host", "-o", str(out)]) == 2
    assert "not mixed" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["bigcodebench-complete_summary.json"]
    assert main([*args, "--python", sys.executable]) == 2
    assert "not --python" in capsys.readouterr().err


@pytest.mark.slow
def test_the_command_says_which_environment_scored(tmp_path, capsys, shared_data):
    out = tmp_path / "out"
    code = main(["bench", "bigcodebench", "--dataset", str(shared_data / DATA_FILE), "--limit", "1", "--bcb-env",
                 "host", "--no-progress", "--json", "--workers", "1", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "rules: environment host: this interpreter's libraries" in captured.err
    assert json.loads(captured.out)["rules"].startswith("environment host")
    assert json.loads((out / "bigcodebench-complete_summary.json").read_text())["rules"].startswith("environment host")


def test_verify_official_knows_a_pinned_interpreter_from_the_sandbox_config():
    """verify-official --python puts the interpreter in SandboxConfig.python: the pinned table must apply."""
    from acesandbox import Executor, SandboxConfig
    from benchmarks.bigcodebench.verify import _executor_python

    with Executor(SandboxConfig(backend="fake", python="/opt/pinned/bin/python")) as ex:
        assert _executor_python(ex) == "/opt/pinned/bin/python"
    with Executor(SandboxConfig(backend="fake")) as ex:
        assert _executor_python(ex) is None
