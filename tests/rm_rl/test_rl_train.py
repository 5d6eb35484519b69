"""``acecoder rl train``: presets as TRL settings, the reward functions, the report, and
the toy run, which must LEARN: a tiny policy's mean sandbox reward rises from the random
policy's to most answers passing (real sandbox in the loop), and a rerun resumes."""

from __future__ import annotations

import json

import pytest

from rm_rl.cli_rl import main
from rm_rl.errors import ConfigError
from rm_rl.rl import PRESETS, RLConfig, load_rl_config

from .conftest import ADD_TESTS, BAD_ADD, GOOD_ADD


def test_presets_map_to_trl_settings(tmp_path):
    pytest.importorskip("trl")
    from rm_rl.rl.train import grpo_args

    paper = grpo_args(RLConfig.from_preset("paper-rule", output_dir=str(tmp_path), prompts_per_step=4))
    assert (paper.beta, paper.learning_rate, paper.num_generations, paper.max_completion_length) == (
        0.01, 5e-7, 8, 2048)
    assert paper.scale_rewards == "batch" and paper.loss_type == "dapo" and paper.num_iterations == 1
    assert paper.per_device_train_batch_size * paper.gradient_accumulation_steps == 32  # 4 prompts x 8
    assert paper.max_steps == 80 and paper.lr_scheduler_type == "constant"
    grpo = grpo_args(RLConfig.from_preset("grpo", output_dir=str(tmp_path), prompts_per_step=2))
    assert grpo.scale_rewards == "group" and grpo.loss_type == "grpo" and grpo.beta == 0.04
    with pytest.raises(ConfigError, match="micro_batch_size"):
        grpo_args(RLConfig.from_preset("grpo", output_dir=str(tmp_path), prompts_per_step=3, micro_batch_size=5))


def test_every_preset_says_how_it_differs_from_reinforce_pp():
    assert set(PRESETS) == {"paper-rule", "grpo", "paper-model", "demo"}
    for preset in PRESETS.values():
        assert preset.summary and "KL" in preset.versus_reinforce_pp or "as grpo" in preset.versus_reinforce_pp.lower()
    assert all(RLConfig.options().values())


def test_config_file_and_overrides(tmp_path):
    path = tmp_path / "rl.toml"
    path.write_text('preset = "grpo"\nmodel = "m"\nlearning_rate = 2e-6\n[reward_options]\ntimeout_s = 3.0\n')
    cfg = load_rl_config(path, ["max_steps=5", "rule=pass_rate"])
    assert (cfg.preset, cfg.model, cfg.learning_rate, cfg.max_steps, cfg.rule) == ("grpo", "m", 2e-6, 5, "pass_rate")
    assert cfg.advantage_scaling == "group" and cfg.reward_options == {"timeout_s": 3.0}
    with pytest.raises(ConfigError, match="did you mean 'learning_rate'"):
        load_rl_config(None, ["learning_rat=1"])
    with pytest.raises(ConfigError, match="needs reward_model"):
        RLConfig.from_preset("paper-model")
    with pytest.raises(ConfigError, match="unknown reward option"):
        RLConfig(reward_options={"timeout": 1})
    with pytest.raises(ConfigError, match="at least 2"):
        RLConfig(samples_per_prompt=1)


def test_rule_reward_logs_pass_rate_and_unjudged_share(fake):
    from acesandbox import SandboxCrashedError
    from rm_rl import binary
    from rm_rl.rl.rewards import FormatReward, RewardClock, RuleReward

    script, ex = fake

    def answer(job):
        if "crash" in job.program:
            raise SandboxCrashedError("boom")
        return ["passed" if "a + b" in job.program else "failed"] * len(job.tests)

    script.answer = answer
    clock = RewardClock()
    rule = RuleReward(binary(executor=ex), clock)
    logged = {}
    crash = "```python\n# crash\ndef add(a, b):\n    return 0\n```"
    out = rule([GOOD_ADD, BAD_ADD, crash, GOOD_ADD], tests=[json.dumps(ADD_TESTS)] * 4,
               log_metric=lambda k, v: logged.__setitem__(k, v))
    assert out == [1.0, 0.0, None, 1.0]
    assert logged == {"rule/pass_rate": 2 / 3, "rule/all_passed_frac": 0.5, "rule/unjudged_frac": 0.25}
    assert clock.take() > 0 and clock.take() == 0.0
    assert FormatReward()(["<think>plan</think> answer", "no think"]) == [1.0, 0.0]


def test_report_draws_each_curve_or_says_it_is_missing(tmp_path):
    pytest.importorskip("matplotlib")
    from rm_rl.rl.report import CURVES, write_report

    rows = [{"step": i, "reward": i / 10, "rule/pass_rate": i / 10, "completions/mean_length": 3.0,
             "rule/unjudged_frac": 0.0, "time/reward_frac": 0.1} for i in range(1, 6)]
    html = write_report(rows, tmp_path / "r.html").read_text()
    assert html.count("data:image/png;base64,") == len(CURVES) - 1
    assert "no values of <code>kl</code>" in html and "first 0.1, last 0.5" in html
    assert "Sandbox warnings" not in html
    warned = write_report(rows, tmp_path / "w.html", warnings=["judged in the program's process: forgeable (3 tests in 2 jobs)"])
    assert "<h2>Sandbox warnings</h2><ul>\n<li>judged in the program&#x27;s process: forgeable (3 tests in 2 jobs)</li>" in (
        warned.read_text()
    )


def test_train_needs_a_config_or_demo(capsys):
    assert main(["train"]) == 2
    assert "give a config file or --demo" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_policy_learns_to_pass_the_tests_and_resumes(tmp_path):
    """Learning, not luck: the seed is fixed, and the untrained policy (near uniform over
    the 7 choices) passes 9% of the time; after 25 GRPO steps at least 60% of 64 fresh
    samples must pass. Under the untrained policy 60% of 64 samples passing has a
    binomial probability below 1e-25, so the rise is the training's."""
    pytest.importorskip("trl")
    from _support import require_backend

    from rm_rl.rl.demo import build_demo_policy, demo_config, demo_prompts
    from rm_rl.rl.train import read_metrics, train

    require_backend("namespace")
    assert main(["train", "--demo", "--output-dir", str(tmp_path / "demo")]) == 0  # the real command
    result = json.loads((tmp_path / "demo" / "demo.json").read_text())
    assert result["steps"] == 25
    assert result["before"] <= 0.2 and result["after"] >= 0.6 and result["after"] - result["before"] >= 0.4
    metrics = read_metrics(tmp_path / "demo")
    assert [m["step"] for m in metrics] == list(range(1, 26))
    first, last = metrics[:5], metrics[-5:]
    assert sum(m["reward"] for m in last) / 5 > sum(m["reward"] for m in first) / 5 + 0.3
    assert all(m["rule/unjudged_frac"] == 0.0 and 0.0 < m["time/reward_frac"] < 1.0 for m in metrics)
    assert all(m["completions/mean_length"] <= 3 for m in metrics)
    assert (tmp_path / "demo" / "report.html").read_text().count("data:image/png") == 5  # every curve but KL (no reference: kl_coef 0)

    # Resume: the same output_dir continues from checkpoint-25 for two more steps.
    cfg = demo_config(tmp_path / "demo", ["max_steps=27"])
    model, tok, gen = build_demo_policy(tmp_path / "init2", seed=cfg.seed)
    again = train(cfg, prompts=demo_prompts(), model=model, tokenizer=tok, generation_kwargs=gen)
    assert again.resumed_from.endswith("checkpoint-25") and again.steps == 27
    assert [m["step"] for m in read_metrics(tmp_path / "demo")] == list(range(1, 28))


@pytest.mark.slow
def test_rule_and_model_rewards_weighted_with_format_reward(tmp_path):
    """reward = "both": the sandbox's verdict and a reward-model checkpoint (rm_rl.tiny's
    sequence classifier) scored together, weighted, plus the format reward."""
    pytest.importorskip("trl")
    from _support import require_backend

    from rm_rl.rl.demo import build_demo_policy, demo_config, demo_prompts
    from rm_rl.rl.train import read_metrics, train
    from rm_rl.tiny import TinyModelConfig, build_tiny_model

    require_backend("namespace")
    rm = build_tiny_model(tmp_path / "rm", TinyModelConfig(head="sequence-classification", vocab_size=300))
    cfg = demo_config(tmp_path / "run", ["max_steps=2", "reward=both", f"reward_model={rm}", "rule_weight=1.0",
                                         "model_weight=0.5", "format_weight=0.1", "save_steps=100"])
    model, tok, gen = build_demo_policy(tmp_path / "init", seed=0)
    result = train(cfg, prompts=demo_prompts(), model=model, tokenizer=tok, generation_kwargs=gen)
    assert result.steps == 2 and result.resumed_from is None
    [first, second] = read_metrics(tmp_path / "run")
    assert {"rewards/binary_reward/mean", "rewards/rm/mean", "rewards/format_reward/mean"} <= set(first)
    assert first["rewards/format_reward/mean"] == 0.0  # fragments never hold <think>
    expected = first["rewards/binary_reward/mean"] + 0.5 * first["rewards/rm/mean"]
    assert first["reward"] == pytest.approx(expected, abs=1e-5)


@pytest.mark.slow
def test_a_config_file_run_with_the_tiny_policy_and_a_jsonl_dataset(tmp_path, acecode_jsonl, capsys):
    """`acecoder rl train CONFIG`: rows read from AceCode-87K-style JSONL, model = "tiny" built offline."""
    pytest.importorskip("trl")
    from _support import require_backend

    require_backend("namespace")
    path = tmp_path / "rl.toml"
    path.write_text(f'preset = "grpo"\nmodel = "tiny"\ntrain_data = "{acecode_jsonl}"\nprompts_per_step = 1\n'
                    'micro_batch_size = 8\nmax_completion_tokens = 8\nmax_prompt_tokens = 256\nmax_steps = 1\n'
                    '[reward_options]\ntimeout_s = 1.0\nworkers = 2\n')
    assert main(["train", str(path), "--output-dir", str(tmp_path / "run")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"1 steps in {tmp_path / 'run'}; last reward mean")
    from rm_rl.rl.train import read_metrics

    [row] = read_metrics(tmp_path / "run")
    assert row["reward"] == 0.0 and row["rule/unjudged_frac"] == 0.0  # random text: no passing code, all judged
    assert (tmp_path / "run" / "checkpoint-1").is_dir() and (tmp_path / "run" / "final").is_dir()

