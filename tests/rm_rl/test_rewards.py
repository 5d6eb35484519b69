"""Reward functions: TRL's contract, options, abstention, against the fake and the real sandbox."""

from __future__ import annotations

import pickle

import pytest

from acesandbox import Limits, SandboxConfig, SandboxCrashedError
from harness.config import ExecConfig
from rm_rl import ProblemIndex, RewardConfig, binary, pass_rate
from rm_rl.dataset import RewardRow
from rm_rl.errors import ConfigError, RewardUnavailableError, TestsNotFoundError

from .conftest import ADD_TESTS, BAD_ADD, GOOD_ADD


def by_program(table):
    """A fake script answering by the program's text (first key found in it wins)."""

    def answer(job):
        for key, statuses in table.items():
            if key in job.program:
                return statuses(job) if callable(statuses) else statuses
        raise AssertionError(f"unexpected program {job.program!r}")

    return answer


class TestContractWithFakeSandbox:
    def test_binary_and_pass_rate_values(self, fake):
        script, ex = fake
        script.answer = by_program({"a + b": ["passed"] * 3, "a - b": ["passed", "failed", "skipped"]})
        b = binary(executor=ex)
        assert b([GOOD_ADD, BAD_ADD], tests=[ADD_TESTS, ADD_TESTS]) == [1.0, 0.0]
        script.answer = by_program({"a + b": ["passed"] * 3, "a - b": ["passed", "failed", "error"]})
        p = pass_rate(executor=ex)
        assert p([GOOD_ADD, BAD_ADD], tests=[ADD_TESTS, ADD_TESTS]) == [1.0, pytest.approx(1 / 3)]

    def test_binary_stops_early_and_runs_shared_by_default(self, fake):
        script, ex = fake
        binary(executor=ex)([GOOD_ADD], tests=[ADD_TESTS])
        pass_rate(executor=ex)([GOOD_ADD], tests=[ADD_TESTS])
        pass_rate(executor=ex, mode="isolated", timeout_s=2.5)([GOOD_ADD], tests=[ADD_TESTS])
        first, second, third = script.jobs
        assert first.stop_on_failure is True and first.mode == "shared" and first.compare == "strict"
        assert second.stop_on_failure is False
        assert third.mode == "isolated" and third.limits.timeout_s == 2.5
        assert first.program == "def add(a, b):\n    return a + b" and len(first.tests) == 3

    def test_sandbox_error_is_none_never_zero_and_counted(self, fake):
        script, ex = fake

        def answer(job):
            if "a - b" in job.program:
                raise SandboxCrashedError("sandbox died")
            return ["passed"] * len(job.tests)

        script.answer = answer
        reward = binary(executor=ex)
        logged = {}
        out = reward([GOOD_ADD, BAD_ADD, "no code"], tests=[ADD_TESTS] * 3, log_metric=logged.__setitem__)
        assert out == [1.0, None, 0.0]
        assert reward.stats.sandbox_errors == 1 and reward.stats.executed == 1
        assert reward.stats.snapshot()["outcomes"]["no_code"] == 1
        assert logged["binary_reward/sandbox_errors"] == 1.0
        assert logged["binary_reward/executed_frac"] == pytest.approx(1 / 3)

    def test_sandbox_error_can_raise(self, fake):
        script, ex = fake
        script.answer = lambda job: ["sandbox_error"] * len(job.tests)
        reward = pass_rate(executor=ex, on_sandbox_error="raise")
        with pytest.raises(RewardUnavailableError, match="could not judge 1 of 2") as err:
            reward(["no code", GOOD_ADD], tests=[ADD_TESTS] * 2)
        assert err.value.indices == (1,)

    def test_completions_without_code_never_reach_the_sandbox(self, fake):
        script, ex = fake
        reward = binary(executor=ex, no_code_reward=-1.0)
        assert reward(["I don't know", "<think>never closed " + GOOD_ADD], tests=[ADD_TESTS] * 2) == [-1.0, -1.0]
        assert script.jobs == []

    def test_overlong_completions_are_not_run(self, fake):
        script, ex = fake
        reward = binary(executor=ex, max_chars=20, overlong_reward=-0.5)
        assert reward([GOOD_ADD], tests=[ADD_TESTS]) == [-0.5] and script.jobs == []
        reward = binary(executor=ex, max_tokens=3, overlong_reward=-0.5)
        assert reward([GOOD_ADD, GOOD_ADD], completion_ids=[[1, 2, 3, 4], [1, 2]], tests=[ADD_TESTS] * 2) == [-0.5, 1.0]
        with pytest.raises(ConfigError, match="max_tokens needs the completions' token ids"):
            reward([GOOD_ADD], tests=[ADD_TESTS])

    def test_format_reward_and_required_format(self, fake):
        script, ex = fake
        script.answer = by_program({"a + b": lambda job: ["passed"] * len(job.tests), "a - b": ["failed", "skipped", "skipped"]})
        good_format = f"<think>add them</think>\n{GOOD_ADD}"
        reward = binary(executor=ex, format_weight=0.5)
        assert reward([good_format, GOOD_ADD, f"<think>x</think>{BAD_ADD}"], tests=[ADD_TESTS] * 3) == [1.5, 1.0, 0.5]
        strict = binary(executor=ex, require_format=True, bad_format_reward=-1.0)
        assert strict([good_format, GOOD_ADD], tests=[ADD_TESTS] * 2) == [1.0, -1.0]
        assert strict.stats.snapshot()["outcomes"]["bad_format"] == 1

    def test_unparsable_or_empty_tests_abstain(self, fake):
        script, ex = fake
        reward = binary(executor=ex)
        assert reward([GOOD_ADD, GOOD_ADD], tests=[["assert add(1, 2) =="], []]) == [None, None]
        outcomes = reward.stats.snapshot()["outcomes"]
        assert outcomes["bad_tests"] == 1 and outcomes["no_tests"] == 1 and script.jobs == []

    def test_a_test_nested_too_deep_to_parse_abstains(self, fake):
        """A 10 KB test of 5,000 additions under the source cap: ast.parse raises RecursionError
        (Python 3.11), which crashed the whole reward call; now that completion's reward is None."""
        script, ex = fake
        deep = "assert add(1, 2) == " + "+".join(["1"] * 5000)
        reward = binary(executor=ex)
        assert reward([GOOD_ADD, GOOD_ADD], tests=[[*ADD_TESTS, deep], ADD_TESTS]) == [None, 1.0]
        assert reward.stats.snapshot()["outcomes"]["bad_tests"] == 1 and len(script.jobs) == 1

    def test_a_client_test_over_the_source_cap_abstains_before_anything_parses_it(self, fake, caplog):
        """Issue 10: a 2 MB test (200 asserts of 5,000-element literals) took 7 s of host CPU
        to parse here, twice per completion, before the sandbox refused it; now None at once."""
        import time

        script, ex = fake
        attack = "\n".join(f"assert add({i}, 0) == [" + ",".join(["1"] * 5000) + "]" for i in range(200))
        reward = binary(executor=ex)
        t0 = time.process_time()
        with caplog.at_level("WARNING", logger="rm_rl.rewards"):
            scores = reward.score([GOOD_ADD] * 4, [[*ADD_TESTS, attack]] * 2 + [[{"source": attack}]] + [ADD_TESTS])
        assert time.process_time() - t0 < 0.5
        assert [(s.reward, s.outcome) for s in scores] == [(None, "bad_tests")] * 3 + [(1.0, "executed")]
        assert len(script.jobs) == 1  # only the last completion ran
        assert "completion 0: test 3 is over 131072 bytes (Limits.test_source_bytes)" in caplog.text
        bigger = binary(executor=ex, test_source_bytes=4 * 2**20)  # the setting, as a reward option
        assert bigger.config.execution.limits.test_source_bytes == 4 * 2**20

    def test_chat_completions_and_prefill_prompts(self, fake):
        script, ex = fake
        prompts = [[{"role": "user", "content": "Write add."},
                    {"role": "assistant", "content": "Below is a Python script ...:\n```python\n"}]]
        completions = [[{"role": "assistant", "content": "def add(a, b):\n    return a + b\n```"}]]
        assert binary(executor=ex)(completions, prompts=prompts, tests=[ADD_TESTS]) == [1.0]
        assert script.jobs[0].program == "def add(a, b):\n    return a + b"


class TestTestsSources:
    def test_columns(self, fake):
        _, ex = fake
        assert binary(executor=ex)([GOOD_ADD], test_cases=[ADD_TESTS]) == [1.0]
        assert binary(executor=ex)([GOOD_ADD], tests=['["assert add(1, 2) == 3"]']) == [1.0]
        assert binary(executor=ex, tests_column="checks")([GOOD_ADD], checks=[ADD_TESTS]) == [1.0]

    def test_lookup_by_id_and_by_question(self, fake):
        _, ex = fake
        assert binary(executor=ex, tests_lookup={"p1": ADD_TESTS})([GOOD_ADD], id=["p1"]) == [1.0]
        index = ProblemIndex([RewardRow("p1", tuple(ADD_TESTS), "Write add(a, b).")])
        reward = binary(executor=ex, tests_lookup=index)
        assert reward([GOOD_ADD], prompts=[[{"role": "user", "content": "Write add(a,  b)."}]]) == [1.0]
        with pytest.raises(TestsNotFoundError, match="question is not in"):
            reward([GOOD_ADD], prompts=["Something else"])

    def test_lookup_callable(self, fake):
        _, ex = fake
        seen = []

        def lookup(prompt, row):
            seen.append((prompt, row["task"]))
            return ADD_TESTS

        assert binary(executor=ex, tests_lookup=lookup)([GOOD_ADD], prompts=["P"], task=["t1"]) == [1.0]
        assert seen == [("P", "t1")]

    def test_missing_tests_say_what_to_do(self, fake):
        _, ex = fake
        with pytest.raises(TestsNotFoundError, match="'tests' or 'test_cases' column .*columns given: \\['answer'\\]"):
            binary(executor=ex)([GOOD_ADD], answer=["x"], trainer_state=None)
        with pytest.raises(TestsNotFoundError, match="no entry for id 'zz'"):
            binary(executor=ex, tests_lookup={"p1": ADD_TESTS})([GOOD_ADD], id=["zz"])
        with pytest.raises(TestsNotFoundError, match="has 1 values for 2 completions"):
            binary(executor=ex)([GOOD_ADD, GOOD_ADD], tests=[ADD_TESTS])


class TestFactories:
    def test_unknown_option_suggests_the_right_one(self):
        with pytest.raises(ConfigError, match="unknown reward option 'timeout'; did you mean 'timeout_s'"):
            binary(timeout=3)

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"timeout_s": 0}, "reward options: Limits.timeout_s must be a positive number, got 0"),
            ({"timeout_s": float("nan")}, "Limits.timeout_s must be a positive number, got nan"),
            ({"memory_mb": 10}, "SandboxConfig.memory_mb must be at least 64"),
            ({"mode": "forked"}, "mode must be 'isolated' or 'shared', got 'forked'"),
            ({"no_code_reward": float("inf")}, "no_code_reward must be a finite number"),
            ({"max_chars": 0}, "max_chars must be a positive integer"),
            ({"workers": True}, "SandboxConfig.workers must be a positive integer, got True"),
            ({"on_sandbox_error": "zero"}, "on_sandbox_error must be one of"),
            ({"require_format": True, "format_weight": 1.0}, "set format_weight=0"),
            ({"stop_on_failure": "yes"}, "stop_on_failure must be true, false or unset"),
            ({"execution": {"workerz": 2}}, "reward options: unknown key 'workerz'"),
        ],
    )
    def test_bad_options_fail_at_construction(self, options, message):
        with pytest.raises(ConfigError, match=message):
            binary(**options)

    def test_pass_rate_refuses_early_stop(self):
        with pytest.raises(ConfigError, match="use binary"):
            pass_rate(stop_on_failure=True)

    def test_bad_lookup(self):
        with pytest.raises(ConfigError, match="tests_lookup must be"):
            binary(tests_lookup=42)

    def test_names_repr_and_help(self):
        assert binary().__name__ == "binary_reward" and pass_rate().__name__ == "pass_rate_reward"
        assert repr(binary(timeout_s=2.0, mode="isolated")) == "rm_rl.rewards.binary(timeout_s=2.0, mode='isolated')"
        assert repr(pass_rate(no_code_reward=-1.0, workers=2)) == "rm_rl.rewards.pass_rate(no_code_reward=-1.0, workers=2)"
        options = RewardConfig.options()
        assert all(options.values())  # every option has help text
        assert {"timeout_s", "workers", "memory_mb", "backend", "mode", "compare", "format_weight"} <= set(options)

    def test_nothing_starts_before_first_use(self):
        reward = binary()
        assert reward.runner.started is False

    def test_picklable_before_and_after_use(self, fake):
        _, ex = fake
        reward = binary(executor=ex, timeout_s=2.0)
        reward([GOOD_ADD], tests=[ADD_TESTS])
        copy = pickle.loads(pickle.dumps(reward))
        assert copy.config == reward.config and copy.runner.started is False and copy.__name__ == "binary_reward"
        assert copy.stats.executed == 1

    def test_with_options_shares_sandboxes(self, fake):
        _, ex = fake
        reward = binary(executor=ex, timeout_s=2.0)
        other = reward.with_options(kind="pass_rate", mode="isolated")
        assert other.runner is reward.runner and other([BAD_ADD], tests=[ADD_TESTS]) == [1.0]
        assert other.config.execution == ExecConfig(limits=Limits(timeout_s=2.0), mode="isolated")

    def test_reward_and_pipeline_score_with_the_same_exec_config(self):
        """One ExecConfig, one default per value: a reward and the pipeline's filter/sample stages agree."""
        from harness.config import FilterConfig, SampleConfig

        assert binary().config.execution == ExecConfig() == FilterConfig(input="a", output="b").execution
        assert SampleConfig(input="a", output="b").execution == pass_rate().config.execution
        flat = binary(timeout_s=2.0, workers=3, memory_mb=512, preload=["json"], backend="process", mode="isolated")
        nested = binary(execution={"sandbox": {"backend": "process", "workers": 3, "memory_mb": 512,
                                               "preload": ["json"]}, "limits": {"timeout_s": 2.0}, "mode": "isolated"})
        given = binary(execution=ExecConfig(SandboxConfig(backend="process", workers=3, memory_mb=512,
                                                          preload=("json",)), Limits(timeout_s=2.0), mode="isolated"))
        assert flat.config == nested.config == given.config
        assert flat.runner.sandbox == given.config.execution.sandbox
        assert binary().config.job_options()["stop_on_failure"] is True
        assert pass_rate().config.job_options() == ExecConfig().job_options()
        assert set(ExecConfig().job_options()) == {"limits", "mode", "compare", "stop_on_failure"}


class TestRealSandbox:
    """The same rewards with programs actually run (namespace backend)."""

    CASES = {  # name: (completion, pass rate against ADD_TESTS)
        "correct": (GOOD_ADD, 1.0),
        "wrong": (BAD_ADD, 0.0),
        "partial": ("```python\ndef add(a, b):\n    return a + b if a > 0 else 7\n```", 2 / 3),
        "raises": ("```python\ndef add(a, b):\n    raise ValueError\n```", 0.0),
        "loops": ("```python\ndef add(a, b):\n    while True:\n        pass\n```", 0.0),
        "exits": ("```python\nimport os\ndef add(a, b):\n    os._exit(0)\n```", 0.0),
        "forges": (
            "```python\nclass E:\n    def __eq__(self, o):\n        return True\ndef add(a, b):\n    return E()\n```",
            0.0,
        ),
    }

    def test_rewards(self, sandbox):
        names = list(self.CASES)
        completions = [self.CASES[n][0] for n in names]
        b = binary(executor=sandbox, timeout_s=0.5)
        p = pass_rate(executor=sandbox, timeout_s=0.5)
        got_b = dict(zip(names, b(completions, tests=[ADD_TESTS] * len(names))))
        got_p = dict(zip(names, p(completions, tests=[ADD_TESTS] * len(names))))
        assert got_p == pytest.approx({n: rate for n, (_, rate) in self.CASES.items()})
        assert got_b == {n: (1.0 if rate == 1.0 else 0.0) for n, (_, rate) in self.CASES.items()}
        assert b.stats.executed == len(names) and b.stats.sandbox_errors == 0

    def test_sixteen_tests_exact_pass_rate(self, sandbox):
        tests = [f"assert sq({i}) == {i * i}" for i in range(16)]
        code = "```python\ndef sq(x):\n    return x * x if x < 11 else 0\n```"
        assert pass_rate(executor=sandbox)([code], tests=[tests]) == [pytest.approx(11 / 16)]
        score = binary(executor=sandbox).score([code], [tests])[0]
        assert score.reward == 0.0 and score.statuses[11] == "failed" and set(score.statuses[12:]) == {"skipped"}

    def test_process_backend_warning_reaches_scores_stats_and_the_log(self, caplog):
        """The process backend isolates neither files nor network: a reward run on it must say so."""
        from acesandbox import Executor, SandboxConfig

        with Executor(SandboxConfig(backend="process", workers=1)) as ex:
            reward = binary(executor=ex, timeout_s=2.0, compare="compat")
            with caplog.at_level("WARNING", logger="rm_rl.rewards"):
                score = reward.score([GOOD_ADD, BAD_ADD], [ADD_TESTS, ADD_TESTS])
                reward.score([GOOD_ADD], [ADD_TESTS])
        assert [s.reward for s in score] == [1.0, 0.0]
        assert score[0].isolation.startswith("process")
        assert any(w.startswith("process backend: no filesystem, network or pid isolation") for w in score[0].warnings)
        snap = reward.stats.snapshot()
        assert sum(snap["isolation"].values()) == 3 and all(k.startswith("process") for k in snap["isolation"])
        weak = next(w for w in score[0].warnings if w.startswith("process backend: no filesystem"))
        assert f"{weak} (3 jobs)" in snap["warnings"]  # once, with the completions it applies to
        logged = [r.getMessage() for r in caplog.records if "no filesystem, network or pid isolation" in r.getMessage()]
        assert len(logged) == 1 and logged[0].startswith("binary_reward: sandbox warning: process backend")
        assert "warnings" in score[0].to_dict(details=True) and "warnings" not in score[0].to_dict()

    def test_forgeable_tests_are_counted_once_in_scores_stats_and_the_log(self, caplog):
        """Tests judged in the program's process (compare="compat"): each response and the stats
        name the warning once, with how many tests and completions it covers; the log has it once."""
        from acesandbox import Executor, SandboxConfig

        from rm_rl.rewards import sandbox_warnings

        forgeable = "judged in the program's process: forgeable"
        tests = ["assert (lambda: add(1, 2))() == 3", "assert (lambda: add(2, 2))() == 4", "assert add(0, 0) == 0"]
        with Executor(SandboxConfig(backend="process", workers=1)) as ex:
            reward = binary(executor=ex, timeout_s=2.0, compare="compat")
            with caplog.at_level("WARNING", logger="rm_rl.rewards"):
                scores = reward.score([GOOD_ADD, BAD_ADD], [tests, tests])
        assert [s.reward for s in scores] == [1.0, 0.0]
        assert f"tests[1]: {forgeable}" in scores[0].warnings  # the report's own, per test
        assert f"{forgeable} (6 tests in 2 jobs)" in sandbox_warnings(scores)
        assert f"{forgeable} (3 tests in 1 job)" in scores[0].to_dict(details=True)["warnings"]
        assert f"{forgeable} (6 tests in 2 jobs)" in reward.stats.snapshot()["warnings"]
        assert sum(forgeable in w for w in reward.stats.snapshot()["warnings"]) == 1
        logged = [r.getMessage() for r in caplog.records if forgeable in r.getMessage()]
        assert logged == [f"binary_reward: sandbox warning: {forgeable}"]

    def test_namespace_backend_has_no_warning(self, sandbox):
        score = binary(executor=sandbox).score([GOOD_ADD], [ADD_TESTS])[0]
        assert score.isolation.startswith("namespace") and score.warnings == ()

    def test_closed_executor_is_a_sandbox_error_not_a_zero(self):
        from acesandbox import Executor, SandboxConfig

        ex = Executor(SandboxConfig(backend="namespace", workers=1))
        ex.close()
        reward = binary(executor=ex)
        assert reward([GOOD_ADD], tests=[ADD_TESTS]) == [None]
        assert reward.stats.sandbox_errors == 1
        assert reward.stats.snapshot()["warnings"] == []  # a sandbox error is an outcome, not a warning

    def test_own_executor_is_started_lazily_and_closed(self):
        reward = binary(timeout_s=1.0, workers=1)
        assert reward([GOOD_ADD], tests=[ADD_TESTS]) == [1.0]
        assert reward.runner.started
        copy = pickle.loads(pickle.dumps(reward))
        reward.close()
        assert not reward.runner.started
        assert copy([BAD_ADD], tests=[ADD_TESTS]) == [0.0]  # the copy starts its own sandboxes
        copy.close()
