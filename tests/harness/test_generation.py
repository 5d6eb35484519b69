"""The generator interface, its registry, and the replay backend."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from acesandbox.registry import Registry

from harness import generation
from harness.generation import (
    Completion,
    GenerationError,
    Generator,
    GeneratorNotFoundError,
    SamplingParams,
    get_generator,
    prompt_text,
)
from harness.generation.replay import RecordingGenerator, ReplayGenerator, prompt_key


class Echo(Generator):
    name = "echo"

    def _complete(self, prompts, params):
        out = []
        for p in prompts:
            text = prompt_text(p)
            if "fail" in text:
                out.append(Completion(error="asked to fail"))
            else:
                out.append(Completion(tuple(f"{text}#{i}" for i in range(params.n)), len(text.split()), params.n))
        return out, len(prompts), 0


def test_all_is_sorted_and_each_name_is_its_defining_modules_object():
    import importlib
    import inspect

    from harness import errors
    from harness.generation import base

    assert generation.__all__ == sorted(generation.__all__)
    assert set(generation.__all__) == set(base.__all__) | {"GenerationError", "GeneratorNotFoundError"}
    for name in generation.__all__:
        obj = getattr(generation, name)
        home = errors if name in errors.__all__ else base
        assert obj is getattr(home, name) is getattr(generation, name), name
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert getattr(importlib.import_module(obj.__module__), obj.__name__) is obj, name
    assert isinstance(generation.GENERATORS, Registry)
    assert generation.GENERATORS.names() == ["openai", "replay", "transformers", "vllm"]


def test_backend_names_are_case_insensitive(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("")
    assert type(get_generator("Replay", path=str(path))).__name__ == "ReplayGenerator"


def test_a_missing_module_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "harness.generation.openai", None)
    generation.GENERATORS.register("openai", "harness.generation.openai:OpenAIGenerator")  # drop the cached class
    with pytest.raises(GeneratorNotFoundError, match=r"acecoder-toolkit\[harness\]"):
        get_generator("openai", model="m")


def test_importing_generation_pulls_no_heavy_backend():
    code = (
        "import sys, harness.generation; "
        "print([m for m in ('httpx', 'torch', 'transformers', 'vllm', 'harness.filtering') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_backend_names_the_choices():
    with pytest.raises(GeneratorNotFoundError, match="openai.*replay.*transformers.*vllm"):
        get_generator("nope")


def test_missing_extra_is_a_lookup_error_naming_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` fail
    with pytest.raises(GeneratorNotFoundError, match="pip install vllm"):
        get_generator("vllm", model="m")


def test_unknown_option_names_the_backend(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("")
    with pytest.raises(TypeError, match="'replay'.*bogus"):
        get_generator("replay", path=str(path), bogus=1)


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"temperature": -1.0}, {"max_tokens": 0}, {"top_p": 0.0}, {"n": True}])
def test_sampling_params_reject_bad_values(kwargs):
    with pytest.raises(ValueError):
        SamplingParams(**kwargs)


def test_generate_returns_n_per_prompt_and_accounts_usage():
    gen = Echo(model="m", price_per_1m_prompt_usd=2.0, price_per_1m_completion_usd=4.0)
    out = gen.generate(["a b", [{"role": "user", "content": "c"}]], n=3, temperature=0.5, max_tokens=8)
    assert [len(o) for o in out] == [3, 3]
    assert out[0][2] == "a b#2"
    u = gen.usage
    assert (u.prompts, u.requests, u.completions, u.failures) == (2, 2, 6, 0)
    assert u.prompt_tokens == 2 + len(prompt_text([{"role": "user", "content": "c"}]).split())
    assert u.completion_tokens == 6
    assert u.cost_usd == pytest.approx((u.prompt_tokens * 2.0 + 6 * 4.0) / 1e6)


def test_generate_raises_with_every_failed_index_but_complete_does_not():
    gen = Echo()
    with pytest.raises(GenerationError) as info:
        gen.generate(["ok", "please fail", "fail too"])
    assert info.value.errors == {1: "asked to fail", 2: "asked to fail"}
    done = gen.complete(["ok", "please fail"])
    assert done[0].ok and not done[1].ok
    assert gen.usage.failures == 3


def test_bad_prompt_type_is_a_type_error():
    with pytest.raises(TypeError, match="prompt 1"):
        Echo().complete(["ok", 42])  # type: ignore[list-item]


# ---------------------------------------------------------------- replay


def test_replay_serves_recorded_answers_by_prompt(tmp_path):
    chat = [{"role": "user", "content": "hi"}]
    path = tmp_path / "r.jsonl"
    path.write_text(
        json.dumps({"prompt": "p", "responses": ["a", "b", "c"]})
        + "\n"
        + json.dumps({"prompt": chat, "responses": ["x"]})
        + "\n"
    )
    gen = get_generator("replay", path=str(path), model="rec")
    assert gen.model_name == "rec"
    assert gen.generate(["p"], n=2) == [["a", "b"]]
    assert gen.generate(["p"], n=2, seed=1) == [["c", "a"]]  # a retry with a new seed gets the next answers
    assert gen.generate([chat], n=3) == [["x", "x", "x"]]
    missing = gen.complete(["never recorded"])[0]
    assert not missing.ok and "no recorded answer" in (missing.error or "")


def test_replay_rejects_a_malformed_file_naming_the_line(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"prompt": "p", "responses": ["a"]}) + "\n{not json\n")
    with pytest.raises(ValueError, match=r"r.jsonl:2"):
        ReplayGenerator(path)


def test_recording_then_replay_round_trips(tmp_path):
    path = tmp_path / "rec.jsonl"
    rec = RecordingGenerator(Echo(model="echo-model"), path)
    first = rec.generate(["one", "two", "fail me"][:2], n=2)
    assert rec.usage.completions == 4
    replay = ReplayGenerator(path)
    assert replay.generate(["one", "two"], n=2) == first
    assert prompt_key("one") != prompt_key([{"role": "user", "content": "one"}])


def test_bundled_replay_loads():
    gen = get_generator("replay")
    assert len(gen) > 60
