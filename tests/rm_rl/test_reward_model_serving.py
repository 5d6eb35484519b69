"""The server's model reward: OpenRLHF queries split and re-encoded, requests batched onto one model, hybrids."""

from __future__ import annotations

import asyncio
import threading

import pytest

pytest.importorskip("transformers")

from rm_rl.errors import ConfigError  # noqa: E402

from .conftest import ADD_TESTS, BAD_ADD, GOOD_ADD  # noqa: E402
from rm_rl.model_reward import ModelReward, ModelRewardConfig, ModelScorer, combine, query_parts  # noqa: E402

QUERY = (
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWrite add(a, b).<|im_end|>\n"
    "<|im_start|>assistant\n```python\ndef add(a, b):\n    return a + b\n```<|im_end|><|endoftext|>"
)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from rm_rl.reward_model import RewardModel
    from rm_rl.tiny import TinyModelConfig, build_tiny_model

    texts = ["def add(a, b):\n    return a + b\n", "Write add(a, b).", "You are helpful."] * 20
    path = build_tiny_model(tmp_path_factory.mktemp("rm"), TinyModelConfig(vocab_size=320, seed=5), texts=texts)
    return RewardModel.load(path, device="cpu", batch_size=64)


def test_query_parts_reencodes_the_chat_turns():
    messages, response = query_parts(QUERY)
    assert messages == ({"role": "system", "content": "You are helpful."}, {"role": "user", "content": "Write add(a, b)."})
    assert response == "```python\ndef add(a, b):\n    return a + b\n```"
    assert query_parts("def f(): pass") == ((), "def f(): pass")
    assert query_parts("Write f.\ndef f(): pass", "Write f.\n") == (({"role": "user", "content": "Write f.\n"},), "def f(): pass")


def test_combine_weights_and_abstains_with_the_sandbox():
    config = ModelRewardConfig("rm", model_weight=0.5, rule_weight=2.0)
    assert combine([1.0, -2.0, 4.0], [1.0, 0.0, None], config) == [2.5, -1.0, None]
    assert combine([1.0, -2.0], None, ModelRewardConfig("rm", model_weight=2.0)) == [2.0, -4.0]
    with pytest.raises(ConfigError, match="model_weight is 0"):
        ModelRewardConfig("rm", model_weight=0.0)
    with pytest.raises(ConfigError, match="rule_weight must be a finite number"):
        ModelRewardConfig("rm", rule_weight=float("nan"))


def test_concurrent_requests_share_batches_and_keep_their_scores(model):
    prompts = [f"Write add{i}(a, b)." for i in range(12)]
    answers = [f"def add{i}(a, b):\n    return a + {i}" for i in range(12)]
    expected = model.score(prompts, answers)
    scorer = ModelScorer(model, batch_size=64, batch_window_ms=300)
    results: dict[int, list[float]] = {}
    barrier = threading.Barrier(4)

    def ask(k: int) -> None:
        barrier.wait()
        results[k] = scorer.submit(prompts[3 * k : 3 * k + 3], answers[3 * k : 3 * k + 3]).result(timeout=60)

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    scorer.close()
    assert [s for k in range(4) for s in results[k]] == pytest.approx(expected, abs=1e-5)
    assert scorer.sequences == 12 and scorer.batches < 4  # requests were merged


def test_model_reward_answers_in_openrlhfs_shape(model):
    reward = ModelReward(ModelRewardConfig("rm", rule_weight=1.0, batch_window_ms=0), model=model)
    try:
        scores = asyncio.run(reward.model_scores([QUERY, QUERY.replace("a + b", "a - b")]))
        assert scores == pytest.approx(
            model.score([query_parts(QUERY)[0]] * 2, [query_parts(QUERY)[1], query_parts(QUERY)[1].replace("+", "-")]),
            abs=1e-5,
        )
        answer = reward.answer(scores, [1.0, None])
    finally:
        reward.close()
    assert answer["rewards"] == [pytest.approx(scores[0] + 1.0), None]
    assert answer["scores"] == answer["rewards"]
    assert answer["extra_logs"] == {
        "model_reward": scores,
        "rule_reward": [1.0, 0.0],
        "rule_abstained": [0.0, 1.0],
    }


def test_server_answers_get_reward_with_the_model_alone_and_in_a_hybrid(model, fake):
    import httpx

    from rm_rl.server import RewardServer, ServerConfig, create_app

    script, ex = fake
    script.answer = lambda job: ["passed" if "a + b" in job.program else "failed"] * len(job.tests)
    queries = [f"<|im_start|>user\nWrite add.<|im_end|>\n<|im_start|>assistant\n{c}<|im_end|>" for c in (GOOD_ADD, BAD_ADD)]
    expected = model.score(["Write add."] * 2, [GOOD_ADD, BAD_ADD])
    alone = ModelReward(ModelRewardConfig("rm", model_weight=2.0), model=model)
    with RewardServer(create_app(ServerConfig(), executor=ex, model_reward=alone)) as srv:
        with httpx.Client(base_url=srv.url, timeout=60) as c:
            body = c.post("/get_reward", json={"query": queries}).json()  # no labels: no tests needed
    assert body["rewards"] == pytest.approx([2 * s for s in expected], abs=1e-4)
    assert body["extra_logs"]["model_reward"] == pytest.approx(expected, abs=1e-5) and script.jobs == []

    hybrid = ModelReward(ModelRewardConfig("rm", model_weight=1.0, rule_weight=10.0), model=model)
    with RewardServer(create_app(ServerConfig(), executor=ex, model_reward=hybrid)) as srv:
        with httpx.Client(base_url=srv.url, timeout=60) as c:
            body = c.post("/get_reward", json={"query": queries, "labels": [ADD_TESTS, ADD_TESTS]}).json()
    assert body["rewards"] == pytest.approx([expected[0] + 10.0, expected[1]], abs=1e-4)
    assert body["extra_logs"]["rule_reward"] == [1.0, 0.0] and len(script.jobs) == 2


def test_serve_cli_names_a_bad_reward_model(tmp_path, capsys):
    from acesandbox.cli import main

    assert main(["serve", "--rm", str(tmp_path / "missing"), "--port", "0"]) == 2
    assert "cannot load the reward model" in capsys.readouterr().err
