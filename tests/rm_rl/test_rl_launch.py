"""``acecoder rl launch``: data in each framework's layout, commands checked against the
frameworks' own flag names and config keys (recorded in golden/ from OpenRLHF's
train_ppo_ray.py and verl's generated ppo_trainer.yaml; the installed package's where
there is one) and against golden command files."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

import rm_rl
from rm_rl.cli_rl import main
from rm_rl.errors import ConfigError
from rm_rl.rl import RLConfig, load_prompts, plan_launch
from rm_rl.rl.launch import openrlhf_command, verl_command

GOLDEN = Path(__file__).parent / "golden"
VERSIONS = {"openrlhf": ("0.10.1", "0.11.2"), "verl": ("0.7.0", "0.9.1")}


def schema(framework: str, version: str) -> set[str]:
    suffix = "flags" if framework == "openrlhf" else "keys"
    lines = (GOLDEN / f"{framework}-{version}.{suffix}").read_text().splitlines()
    return {line for line in lines if line and not line.startswith("#")}


def names(framework: str, command) -> list[str]:
    if framework == "openrlhf":
        return [a[2:] for a in command if a.startswith("--")]
    return [a.split("=", 1)[0] for a in command[3:]]


def config(tmp_path, preset="paper-rule", **values) -> RLConfig:
    return RLConfig.from_preset(preset, model="Qwen/Qwen2.5-Coder-7B", output_dir=str(tmp_path / "out"), **values)


@pytest.mark.parametrize("framework", ["openrlhf", "verl"])
@pytest.mark.parametrize("preset", ["paper-rule", "grpo", "paper-model"])
def test_every_flag_exists_in_each_supported_version(tmp_path, framework, preset):
    extra = {"reward_model": "rm-folder"} if preset == "paper-model" else {}
    build = openrlhf_command if framework == "openrlhf" else verl_command
    for version in VERSIONS[framework]:
        used = names(framework, build(config(tmp_path, preset, **extra), Path("data"), version))
        assert len(used) == len(set(used)) > 20
        assert [n for n in used if n not in schema(framework, version)] == []


def test_openrlhf_flag_style_follows_the_version(tmp_path):
    old = openrlhf_command(config(tmp_path), Path("d.jsonl"), "0.10.1")
    new = openrlhf_command(config(tmp_path), Path("d.jsonl"), "0.10.2")
    assert old[old.index("--pretrain") + 1] == new[new.index("--actor.model_name_or_path") + 1] == "Qwen/Qwen2.5-Coder-7B"
    assert old[old.index("--actor_learning_rate") + 1] == new[new.index("--actor.adam.lr") + 1] == "5e-07"
    assert old[old.index("--advantage_estimator") + 1] == "reinforce_baseline"
    assert old[old.index("--init_kl_coef") + 1] == "0.01" and old[old.index("--n_samples_per_prompt") + 1] == "8"
    assert old[old.index("--max_new_tokens") + 1] == "2048" and old[old.index("--max_len") + 1] == "4096"
    assert not any("." in a for a in old if a.startswith("--"))
    assert all("." in a for a in new if a.startswith("--"))
    assert old[old.index("--remote_rm_url") + 1] == str(Path(rm_rl.adapters.openrlhf.__file__).resolve())
    served = openrlhf_command(config(tmp_path, reward_server="http://10.0.0.5:5000/get_reward"), Path("d"), "0.11.2")
    assert served[served.index("--reward.remote_url") + 1] == "http://10.0.0.5:5000/get_reward"


def test_verl_reward_section_follows_the_version(tmp_path):
    old = dict(a.split("=", 1) for a in verl_command(config(tmp_path), Path("t.parquet"), "0.7.0")[3:])
    new = dict(a.split("=", 1) for a in verl_command(config(tmp_path), Path("t.parquet"), "0.9.1")[3:])
    assert old["custom_reward_function.name"] == "compute_score_batch" and old["reward_model.reward_manager"] == "batch"
    # verl 0.8's reward loop registers no "batch" manager: the per-item adapter with "naive"
    assert new["reward.custom_reward_function.name"] == "compute_score" and new["reward.reward_manager.name"] == "naive"
    assert old["custom_reward_function.path"] == new["reward.custom_reward_function.path"] == str(
        Path(rm_rl.adapters.verl.__file__).resolve())
    assert new["algorithm.adv_estimator"] == "reinforce_plus_plus_baseline"
    assert new["algorithm.use_kl_in_reward"] == "True" and new["algorithm.kl_ctrl.kl_coef"] == "0.01"
    assert new["actor_rollout_ref.rollout.n"] == "8" and new["actor_rollout_ref.actor.optim.lr"] == "5e-07"
    grpo = dict(a.split("=", 1) for a in verl_command(config(tmp_path, "grpo"), Path("t"), "0.9.1")[3:])
    assert grpo["algorithm.adv_estimator"] == "grpo" and grpo["actor_rollout_ref.actor.use_kl_loss"] == "True"


@pytest.mark.parametrize(("framework", "version"), [(f, v) for f, vs in VERSIONS.items() for v in vs])
def test_generated_command_matches_its_golden_file(tmp_path, monkeypatch, acecode_jsonl, framework, version):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "rl.toml"
    path.write_text(f'preset = "paper-rule"\nmodel = "Qwen/Qwen2.5-Coder-7B"\ntrain_data = "{acecode_jsonl}"\n'
                    'output_dir = "out"\n')
    from rm_rl.rl import load_rl_config

    launch = plan_launch(framework, load_rl_config(path), load_prompts(load_rl_config(path)), version=version)
    text = launch.shell().replace(str(Path(rm_rl.__file__).resolve().parent), "<rm_rl>")
    assert text == (GOLDEN / f"{framework}-{version}.sh").read_text()


def test_openrlhf_data_layout(tmp_path, acecode_jsonl):
    cfg = config(tmp_path, train_data=str(acecode_jsonl))
    launch = plan_launch("openrlhf", cfg, load_prompts(cfg), version="0.11.2")
    rows = [json.loads(line) for line in launch.data_path.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["add", "rev", "sq"]
    assert rows[0]["prompt"] == [{"role": "user", "content": "Write a function add(a, b) returning the sum."}]
    assert json.loads(rows[2]["tests"]) == ["assert sq(3) == 9"]
    assert launch.script_path.read_text().startswith("#!/bin/sh\n# openrlhf 0.11.2, preset paper-rule")


def test_verl_data_layout_is_what_its_adapter_reads(tmp_path, acecode_jsonl):
    import pyarrow.parquet as pq

    from rm_rl.adapters import verl as adapter

    cfg = config(tmp_path, train_data=str(acecode_jsonl))
    launch = plan_launch("verl", cfg, load_prompts(cfg), version="0.9.1")
    rows = pq.read_table(launch.data_path).to_pylist()
    assert set(rows[0]) == {"data_source", "prompt", "ability", "reward_model", "extra_info"}
    assert rows[1]["prompt"] == [{"role": "user", "content": "Write rev(s) that reverses the string s."}]
    assert rows[1]["ability"] == "code" and rows[1]["extra_info"] == {"id": "rev", "index": 1}
    assert json.loads(rows[1]["reward_model"]["ground_truth"]) == ["assert rev('ab') == 'ba'", "assert rev('') == ''"]
    # the ground truth is what the adapter named in the command reads
    tests = adapter.resolve_tests(rows[1]["reward_model"]["ground_truth"], None, None)
    assert list(tests) == ["assert rev('ab') == 'ba'", "assert rev('') == ''"]


def test_reward_both_is_refused_with_the_fix(tmp_path):
    cfg = config(tmp_path, reward="both", reward_model="rm")
    for build in (openrlhf_command, verl_command):
        with pytest.raises(ConfigError, match="acecoder rl train"):
            build(cfg, Path("d"), "0.11.2" if build is openrlhf_command else "0.9.1")


def test_cli_dry_run_prints_and_runs_nothing(tmp_path, acecode_jsonl, capsys):
    path = tmp_path / "rl.toml"
    path.write_text(f'train_data = "{acecode_jsonl}"\noutput_dir = "{tmp_path / "o"}"\n')
    assert main(["launch", "openrlhf", str(path), "--dry-run", "--framework-version", "0.10.1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# openrlhf 0.10.1: data ") and "--pretrain Qwen/Qwen2.5-Coder-7B" in out
    assert (tmp_path / "o" / "data" / "prompts.jsonl").exists()
    assert main(["launch", "verl", str(path), "--dry-run", "--set", "preset=grpo"]) == 0
    assert "algorithm.adv_estimator=grpo" in capsys.readouterr().out


@pytest.mark.skipif(importlib.util.find_spec("openrlhf") is None, reason="OpenRLHF is not installed here")
def test_against_the_installed_openrlhf(tmp_path):
    import importlib.metadata

    root = Path(importlib.util.find_spec("openrlhf").submodule_search_locations[0])  # its source, not imported
    src = (root / "cli" / "train_ppo_ray.py").read_text()
    known = set(re.findall(r'"--([A-Za-z0-9_.]+)"', src))
    known |= {f"{p}.{x}" for p in ("actor", "critic") for x in re.findall(r'f"--\{prefix\}\.([A-Za-z0-9_.]+)"', src)}
    cmd = openrlhf_command(config(tmp_path), Path("d"), importlib.metadata.version("openrlhf"))
    assert [n for n in names("openrlhf", cmd) if n not in known] == []


@pytest.mark.skipif(importlib.util.find_spec("verl") is None, reason="verl is not installed here")
def test_against_the_installed_verl(tmp_path):
    import importlib.metadata

    import yaml

    root = Path(importlib.util.find_spec("verl").submodule_search_locations[0])  # its schema file, not imported
    doc = yaml.safe_load((root / "trainer/config/_generated_ppo_trainer.yaml").read_text())
    command = verl_command(config(tmp_path), Path("d"), importlib.metadata.version("verl"))
    for key in names("verl", command):
        node = doc
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, key
            node = node[part]
    # the reward manager named is one the reward loop (verl >= 0.8) or the legacy registry knows
    manager = next(a.split("=", 1)[1] for a in command if a.split("=", 1)[0].endswith("reward_manager.name")
                   or a.startswith("reward_model.reward_manager="))
    registry = "experimental/reward_loop/reward_manager" if "reward.reward_manager.name=" + manager in command else (
        "workers/reward_manager")
    sources = " ".join(p.read_text() for p in (root / registry).glob("*.py"))
    assert f'register("{manager}")' in sources


def test_prompts_from_the_harness_hard_subset_in_jsonl_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from harness.hard import select_hard

    rows = [
        {"id": f"q{i}", "question": f"Write f{i}(x).", "test_cases": [f"assert f{i}(1) == 1"],
         "inferences": [{"model": "m", "completion": "", "pass_rate": r} for r in rates]}
        for i, rates in enumerate([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0], [0.2, 0.8], [1.0, 0.9]])
    ]
    hard = select_hard(rows)
    assert [r["id"] for r in hard] == ["q1", "q3"]  # at or below the median mean, and disagreeing samples
    jsonl = tmp_path / "hard.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in hard))
    parquet = tmp_path / "hard.parquet"
    pq.write_table(pa.Table.from_pylist(hard), parquet)
    for path in (jsonl, parquet):
        prompts = load_prompts(RLConfig(train_data=str(path)))
        assert [(p.id, p.question, list(p.tests)) for p in prompts] == [
            ("q1", "Write f1(x).", ["assert f1(1) == 1"]), ("q3", "Write f3(x).", ["assert f3(1) == 1"])]
    assert len(load_prompts(RLConfig(train_data=str(jsonl), limit=1))) == 1
    with pytest.raises(ConfigError, match="train_data is empty"):
        load_prompts(RLConfig())


def test_rl_exports_are_sorted_and_their_modules_own_objects():
    import importlib
    import sys

    import rm_rl.rl as rl

    assert rl.__all__ == sorted(rl.__all__)
    for module in ("config", "data", "demo", "launch", "report", "rewards", "train"):
        mod = importlib.import_module(f"rm_rl.rl.{module}")
        assert mod.__all__ == sorted(mod.__all__)
        for name in mod.__all__:
            obj = getattr(mod, name)
            assert getattr(obj, "__module__", mod.__name__) == mod.__name__, name
            if name in rl.__all__:
                assert getattr(rl, name) is obj
    import subprocess  # importing rm_rl.rl pulls in no heavy library (a fresh process)

    out = subprocess.run([sys.executable, "-c", "import sys, rm_rl.rl; print(sorted(m for m in ('torch', 'trl', "
                          "'transformers', 'matplotlib') if m in sys.modules))"], capture_output=True, text=True)
    assert out.stdout.strip() == "[]"
