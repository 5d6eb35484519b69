"""The vLLM backend's glue against a stand-in ``vllm`` module (vLLM itself needs a GPU)."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from harness.generation import get_generator


class _Out:
    def __init__(self, text: str, tokens: int) -> None:
        self.text = text
        self.token_ids = list(range(tokens))


class _Request:
    def __init__(self, prompt: str, n: int) -> None:
        self.prompt_token_ids = list(range(len(prompt.split())))
        self.outputs = [_Out(f"{prompt}|{i}", 2) for i in range(n)]


@pytest.fixture
def fake_vllm(monkeypatch):
    calls: dict[str, Any] = {}

    class SamplingParams:
        def __init__(self, **kwargs: Any) -> None:
            calls.setdefault("params", []).append(kwargs)
            self.n = kwargs["n"]

    class LLM:
        def __init__(self, **kwargs: Any) -> None:
            calls["llm"] = kwargs

        def generate(self, prompts, params, use_tqdm=True):
            calls.setdefault("generate", []).append(list(prompts))
            return [_Request(p, params.n) for p in prompts]

        def chat(self, conversations, params, use_tqdm=True):
            calls.setdefault("chat", []).append(conversations)
            return [_Request(c[-1]["content"], params.n) for c in conversations]

    module = types.ModuleType("vllm")
    module.LLM = LLM  # type: ignore[attr-defined]
    module.SamplingParams = SamplingParams  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", module)
    return calls


def test_engine_arguments_and_sampling_params(fake_vllm):
    gen = get_generator(
        "vllm",
        model="Qwen/Qwen2.5-Coder-7B-Instruct",
        tensor_parallel_size=2,
        max_model_len=4096,
        llm_kwargs={"enforce_eager": True},
    )
    assert fake_vllm["llm"] == {
        "model": "Qwen/Qwen2.5-Coder-7B-Instruct",
        "tensor_parallel_size": 2,
        "dtype": "auto",
        "gpu_memory_utilization": 0.9,
        "seed": 0,
        "trust_remote_code": False,
        "max_model_len": 4096,
        "enforce_eager": True,
    }
    gen.generate(["a"], n=4, temperature=0.7, max_tokens=64, top_p=0.95, stop=["```\n"], seed=5)
    assert fake_vllm["params"][-1] == {
        "n": 4,
        "temperature": 0.7,
        "top_p": 0.95,
        "max_tokens": 64,
        "stop": ["```\n"],
        "seed": 5,
    }


def test_text_and_chat_prompts_are_routed_and_reassembled_in_order(fake_vllm):
    gen = get_generator("vllm", model="m")
    prompts = ["one two", [{"role": "user", "content": "chat"}], "three"]
    out = gen.generate(prompts, n=2)
    assert out == [["one two|0", "one two|1"], ["chat|0", "chat|1"], ["three|0", "three|1"]]
    assert fake_vllm["generate"] == [["one two", "three"]]
    assert fake_vllm["chat"] == [[[{"role": "user", "content": "chat"}]]]
    assert gen.usage.prompt_tokens == 2 + 1 + 1
    assert gen.usage.completion_tokens == 3 * 2 * 2
