"""Framework adapters with the exact signatures TRL, verl and OpenRLHF call."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import pickle
import subprocess
import sys

import httpx
import pytest

from acesandbox import SandboxCrashedError
from rm_rl import binary, pass_rate
from rm_rl.adapters import openrlhf as orl
from rm_rl.adapters import verl
from rm_rl.adapters.trl import RemoteReward, as_async
from rm_rl.errors import ConfigError, RewardUnavailableError, TestsNotFoundError
from acesandbox.extract import ACECODER_PREFILL
from rm_rl.server import RewardServer, ServerConfig, create_app

from .conftest import ADD_TESTS, BAD_ADD, GOOD_ADD


def load_by_path(module, name):
    """Load an adapter file the way the frameworks do: by path, outside the package."""
    spec = importlib.util.spec_from_file_location(name, module.__file__)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------------------ TRL


class TestTRL:
    def test_async_form_is_detected_by_trl_and_matches_sync(self, fake):
        _, ex = fake
        reward = binary(executor=ex)
        wrapped = as_async(reward)
        assert inspect.iscoroutinefunction(wrapped.__call__) and wrapped.__name__ == "binary_reward"
        trl_utils = pytest.importorskip("trl.trainer.utils")
        assert trl_utils.is_async_callable(wrapped) and not trl_utils.is_async_callable(reward)
        assert trl_utils.get_callable_name(reward) == "binary_reward"
        out = asyncio.run(wrapped(prompts=["p"], completions=[GOOD_ADD], completion_ids=[[1]], tests=[ADD_TESTS]))
        assert out == [1.0] and wrapped.stats.executed == 1
        assert pickle.loads(pickle.dumps(wrapped)).__name__ == "binary_reward"
        with pytest.raises(ConfigError):
            as_async(lambda completions: [])

    def test_remote_reward_against_a_live_server(self, fake, acecode_jsonl):
        from rm_rl import load_problems

        script, ex = fake
        script.answer = lambda job: ["passed" if "a + b" in job.program else "failed"] * len(job.tests)
        app = create_app(ServerConfig(token="tok"), executor=ex, problems=load_problems(str(acecode_jsonl)))
        with RewardServer(app) as srv:
            remote = RemoteReward(srv.url, token="tok", reward="pass_rate")
            logged = {}
            out = asyncio.run(remote(prompts=["p", "p"], completions=[GOOD_ADD, BAD_ADD], tests=[ADD_TESTS] * 2,
                                     log_metric=logged.__setitem__))
            assert out == [1.0, 0.0] and logged == {"remote_pass_rate_reward/sandbox_errors": 0.0}
            by_id = asyncio.run(RemoteReward(srv.url, token="tok")(completions=[GOOD_ADD], id=["add"]))
            assert by_id == [1.0]
            with pytest.raises(RewardUnavailableError, match="answered 401"):
                asyncio.run(RemoteReward(srv.url, token="wrong")(completions=[GOOD_ADD], tests=[ADD_TESTS]))
            with pytest.raises(TestsNotFoundError):
                asyncio.run(RemoteReward(srv.url, token="tok")(completions=[GOOD_ADD], answer=["x"]))
            assert pickle.loads(pickle.dumps(remote)).url == srv.url

    def test_remote_reward_gives_up_after_retries(self):
        remote = RemoteReward("http://127.0.0.1:9", retries=1, timeout_s=2)
        with pytest.raises(RewardUnavailableError, match="unreachable after 2 tries"):
            asyncio.run(remote(completions=["x"], tests=[["assert 1"]]))

    def test_remote_reward_validates(self):
        with pytest.raises(ConfigError, match="http"):
            RemoteReward("localhost:5000")
        with pytest.raises(ConfigError, match="reward must be"):
            RemoteReward("http://x", reward="exact")


# ----------------------------------------------------------------------- verl


class TestVerl:
    def test_compute_score_signature_loaded_by_path(self, sandbox):
        mod = load_by_path(verl, "custom_module")
        params = list(inspect.signature(mod.compute_score).parameters)
        assert params[:4] == ["data_source", "solution_str", "ground_truth", "extra_info"]
        gt = json.dumps(ADD_TESTS)
        good = mod.compute_score("acecode", GOOD_ADD, gt, {"index": 0})
        assert good == {"score": 1.0, "pass_rate": 1.0, "executed": 1.0, "no_code": 0.0}
        assert mod.compute_score("acecode", "no code", ADD_TESTS)["score"] == 0.0

    def test_reward_kwargs_and_prefill(self, sandbox):
        partial = "```python\ndef add(a, b):\n    return a + b if a > 0 else 7\n```"
        out = verl.compute_score("acecode", partial, {"tests": ADD_TESTS}, None, reward="pass_rate", timeout_s=2.0)
        assert out["score"] == pytest.approx(2 / 3)
        continued = "def add(a, b):\n    return a + b\n```"
        assert verl.compute_score("d", continued, ADD_TESTS, None, prefill=True, fallback="none")["score"] == 1.0
        assert verl.compute_score("d", continued, ADD_TESTS, {"prompt": ACECODER_PREFILL}, fallback="none")[
            "score"
        ] == 1.0

    def test_batch_form(self, sandbox):
        mod = load_by_path(verl, "custom_module_batch")
        params = list(inspect.signature(mod.compute_score_batch).parameters)
        assert params[:4] == ["data_sources", "solution_strs", "ground_truths", "extra_infos"]
        out = mod.compute_score_batch(["a", "a", "a"], [GOOD_ADD, BAD_ADD, "none"], [ADD_TESTS] * 3, [{}, {}, {}])
        assert [o["score"] for o in out] == [1.0, 0.0, 0.0]
        assert {tuple(o) for o in out} == {("score", "pass_rate", "executed", "no_code")}  # same keys everywhere

    def test_sandbox_failure_raises_instead_of_zero(self, fake, monkeypatch):
        script, ex = fake
        script.answer = lambda job: (_ for _ in ()).throw(SandboxCrashedError("down"))
        reward = binary(executor=ex, on_sandbox_error="raise")
        monkeypatch.setattr(verl, "reward_for", lambda options: reward)
        with pytest.raises(RewardUnavailableError):
            verl.compute_score("d", GOOD_ADD, ADD_TESTS)

    def test_verl_cannot_abstain(self):
        with pytest.raises(ConfigError, match="on_sandbox_error must be 'raise'"):
            verl.compute_score("d", GOOD_ADD, ADD_TESTS, None, on_sandbox_error="none")

    def test_same_options_share_one_reward(self):
        assert verl.reward_for({"timeout_s": 3.0}) is verl.reward_for({"timeout_s": 3.0})
        assert verl.reward_for({"timeout_s": 3.0}) is not verl.reward_for({"timeout_s": 4.0})


# ------------------------------------------------------------------- OpenRLHF


def chatml(question, answer):
    prompt = f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
    return prompt, prompt + answer + "<|im_end|>"


class TestOpenRLHF:
    def test_reward_func_file_form(self, sandbox):
        mod = load_by_path(orl, "reward_func")
        assert inspect.isfunction(mod.reward_func)  # ray.remote takes functions
        p1, q1 = chatml("Write add.", GOOD_ADD)
        p2, q2 = chatml("Write add.", BAD_ADD)
        out = mod.reward_func([q1, q2], [p1, p2], [json.dumps(ADD_TESTS), ADD_TESTS])
        torch = pytest.importorskip("torch")
        assert isinstance(out["rewards"], torch.Tensor)
        assert out["rewards"].tolist() == [1.0, 0.0] and out["scores"].tolist() == [1.0, 0.0]
        assert out["extra_logs"]["executed"].tolist() == [1.0, 1.0]

    def test_reward_func_survives_cloudpickle_like_ray_remote(self, sandbox, tmp_path):
        """Older OpenRLHF wraps reward_func with ray.remote: cloudpickle, by value, into a worker."""
        cloudpickle = pytest.importorskip("cloudpickle")
        mod = load_by_path(orl, "reward_func")
        mod.reward_func(["Q" + GOOD_ADD], ["Q"], [ADD_TESTS])  # used once: sandboxes started here
        blob = tmp_path / "fn.pkl"
        blob.write_bytes(cloudpickle.dumps(mod.reward_func))
        code = (
            "import pickle, sys, json; fn = pickle.load(open(sys.argv[1], 'rb'));"
            "out = fn(['Q' + sys.argv[2]], ['Q'], [json.loads(sys.argv[3])]);"
            "r = out['rewards']; print(r.tolist() if hasattr(r, 'tolist') else r)"
        )
        result = subprocess.run([sys.executable, "-c", code, str(blob), GOOD_ADD, json.dumps(ADD_TESTS)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "[1.0]"

    def test_make_reward_func_with_dataset_ids_and_question_lookup(self, sandbox, acecode_jsonl):
        func = orl.make_reward_func(reward="pass_rate", dataset=str(acecode_jsonl), timeout_s=2.0)
        assert inspect.isfunction(func)
        p, q = chatml("Write a function add(a, b) returning the sum.", GOOD_ADD)
        out = func([q, q], [p, p], ["add", None])
        rewards = out["rewards"].tolist() if hasattr(out["rewards"], "tolist") else out["rewards"]
        assert rewards == [1.0, 1.0]
        assert pickle.loads(pickle.dumps(func.scorer)).dataset == str(acecode_jsonl)

    def test_lists_without_torch(self, fake):
        _, ex = fake
        scorer = orl.OpenRLHFReward(binary(executor=ex, on_sandbox_error="raise"), tensors=False)
        out = scorer(["Q" + GOOD_ADD], ["Q"], [ADD_TESTS])
        assert out == {"rewards": [1.0], "scores": [1.0],
                       "extra_logs": {"pass_rate": [1.0], "executed": [1.0], "sandbox_error": [0.0]}}

    def test_sandbox_failure_raises_and_abstaining_is_refused(self, fake):
        script, ex = fake
        script.answer = lambda job: ["sandbox_error"] * len(job.tests)
        scorer = orl.OpenRLHFReward(binary(executor=ex, on_sandbox_error="raise"), tensors=False)
        with pytest.raises(RewardUnavailableError):
            scorer(["Q" + GOOD_ADD], ["Q"], [ADD_TESTS])
        with pytest.raises(ConfigError, match="on_sandbox_error='raise'"):
            orl.OpenRLHFReward(pass_rate(executor=ex))

    def test_unknown_label_names_it(self, fake, acecode_jsonl):
        _, ex = fake
        scorer = orl.OpenRLHFReward(binary(executor=ex, on_sandbox_error="raise"), dataset=str(acecode_jsonl))
        with pytest.raises(TestsNotFoundError, match=r"labels\[0\]: .*'missing'"):
            scorer(["Q x"], ["Q"], ["missing"])


def test_http_form_is_the_server(fake):
    """OpenRLHF's HTTP form posts {query, prompts, labels} and reads 'rewards' (and scores, extra_logs)."""
    _, ex = fake
    with RewardServer(create_app(ServerConfig(), executor=ex)) as srv:
        p, q = chatml("Write add.", GOOD_ADD)
        body = httpx.post(f"{srv.url}/get_reward", json={"query": [q], "prompts": [p], "labels": [ADD_TESTS]}).json()
        assert set(body) == {"rewards", "scores", "extra_logs", "warnings"} and body["rewards"] == [1.0]
        assert body["extra_logs"] == {"pass_rate": [1.0], "executed": [1.0], "sandbox_error": [0.0]}
        assert body["warnings"] == []  # the fake backend warns of nothing
