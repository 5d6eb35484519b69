"""The transformers backend on a tiny randomly initialised model built here (nothing downloaded)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from harness.generation import get_generator

CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "Write a function that returns the sum of two numbers.",
    "assert add(1, 2) == 3",
    "user: hello\nassistant: hi there",
] * 20


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A 2-layer Llama with a byte-level BPE tokenizer trained on a few lines, saved like a hub model."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<pad>", "<s>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS, trainer)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    config = transformers.LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=fast.pad_token_id,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config)
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return str(path)


def test_loads_a_saved_model_and_generates_n_per_prompt(tiny_model_dir):
    gen = get_generator("transformers", model=tiny_model_dir, batch_size=2)
    prompts = ["def add(a, b):", [{"role": "user", "content": "hello"}], "assert add(1, 2) =="]
    out = gen.generate(prompts, n=2, temperature=0.8, max_tokens=6, seed=0)
    assert len(out) == 3 and all(len(o) == 2 and all(isinstance(t, str) for t in o) for o in out)
    u = gen.usage
    assert u.prompts == 3 and u.completions == 6
    assert 0 < u.completion_tokens <= 6 * 6
    assert u.prompt_tokens > 0
    assert gen.model_name == tiny_model_dir


def test_greedy_decoding_is_deterministic_and_batch_independent(tiny_model_dir):
    gen = get_generator("transformers", model=tiny_model_dir, batch_size=4)
    single = gen.generate(["def add(a, b):"], max_tokens=5)
    batched = gen.generate(["Write a function", "def add(a, b):"], max_tokens=5)
    assert [batched[1]] == single
    assert gen.generate(["def add(a, b):"], max_tokens=5) == single


def test_stop_strings_cut_the_completion(tiny_model_dir):
    gen = get_generator("transformers", model=tiny_model_dir)
    full = gen.generate(["def add(a, b):"], max_tokens=8)[0][0]
    if len(full) < 2:
        pytest.skip("the random model produced too little text to cut")
    cut = gen.generate(["def add(a, b):"], max_tokens=8, stop=[full[1:3]])[0][0]
    assert cut == full[: full.index(full[1:3])]


def test_a_model_object_needs_its_tokenizer(tiny_model_dir):
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    with pytest.raises(ValueError, match="tokenizer"):
        get_generator("transformers", model=model)
    tok = transformers.AutoTokenizer.from_pretrained(tiny_model_dir)
    gen = get_generator("transformers", model=model, tokenizer=tok, model_name="tiny")
    assert gen.model_name == "tiny"
    assert len(gen.generate(["hi"], max_tokens=2)[0]) == 1
