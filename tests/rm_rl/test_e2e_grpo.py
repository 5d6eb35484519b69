"""End to end: TRL's GRPOTrainer trains a tiny causal LM for a few steps on CPU with our rewards.

Nothing is downloaded: the tokenizer is trained on the fly and the model (GPT-2
architecture, a few thousand parameters) is randomly initialised, then its output
head is steered so that it samples whole fenced solutions (a correct and a wrong one
per problem, each a single token) instead of noise. Every completion therefore holds
code, and every reward must come from the sandbox running it against the row's tests.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("trl")
pytest.importorskip("datasets")
pytest.importorskip("tokenizers")

PROBLEMS = {
    "add": ("Write add(a, b) returning a + b.", "return a + b", "return a - b", "add(a, b)",
            ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(5, 5) == 10"]),
    "rev": ("Write rev(s) returning s reversed.", "return s[::-1]", "return s", "rev(s)",
            ["assert rev('ab') == 'ba'", "assert rev('') == ''", "assert rev('xyz') == 'zyx'"]),
    "sq": ("Write sq(x) returning x squared.", "return x * x", "return x + x", "sq(x)",
           ["assert sq(3) == 9", "assert sq(0) == 0", "assert sq(-4) == 16"]),
}


def block(signature: str, body: str) -> str:
    return f"```python\ndef {signature}:\n    {body}\n```\n"


class Recorder:
    """Forwards to a reward and keeps what it was called with and what it returned."""

    def __init__(self, reward):
        self.reward = reward
        self.__name__ = reward.__name__
        self.calls = []

    def __call__(self, completions, **kwargs):
        out = self.reward(completions, **kwargs)
        self.calls.append((list(completions), list(kwargs["id"]), out))
        return out


def tiny_model_and_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    corpus = [q for q, *_ in PROBLEMS.values()] + [t for *_, tests in PROBLEMS.values() for t in tests]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        corpus * 4,
        trainers.BpeTrainer(vocab_size=320, special_tokens=["<unk>", "<eos>", "<pad>"],
                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>", pad_token="<pad>")
    blocks = {}
    for name, (_, good, bad, sig, _) in PROBLEMS.items():
        blocks[(name, "good")] = block(sig, good)
        blocks[(name, "bad")] = block(sig, bad)
    hf.add_tokens(list(blocks.values()))
    ids = {key: hf.convert_tokens_to_ids(text) for key, text in blocks.items()}

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(hf), n_positions=128, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=hf.eos_token_id, eos_token_id=hf.eos_token_id, pad_token_id=hf.pad_token_id)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        # Steer the randomly initialised head: the final LayerNorm outputs a constant vector,
        # so every step samples (almost only) the solution tokens, uniformly.
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.zero_()
        model.transformer.ln_f.bias[0] = 12.0
        model.transformer.wte.weight[:, 0] = 0.0
        for token_id in ids.values():
            model.transformer.wte.weight[token_id, 0] = 1.0
    return model, hf, blocks


def test_grpo_trains_with_sandbox_rewards(tmp_path):
    from _support import require_backend
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from rm_rl import binary, pass_rate
    from rm_rl.adapters.trl import as_async
    from acesandbox.extract import extract_code

    require_backend("namespace")
    model, tokenizer, blocks = tiny_model_and_tokenizer()
    rows = [{"id": name, "prompt": q, "tests": tests} for name, (q, *_, tests) in PROBLEMS.items()] * 4
    sync_reward = Recorder(binary(timeout_s=2.0, workers=2))
    async_reward = as_async(pass_rate(timeout_s=2.0, workers=2))
    args = GRPOConfig(
        output_dir=str(tmp_path), per_device_train_batch_size=8, num_generations=4, max_completion_length=2,
        max_steps=3, logging_steps=1, report_to="none", use_cpu=True, save_strategy="no", learning_rate=1e-5,
        bf16=False, seed=0, disable_tqdm=True,
    )
    trainer = GRPOTrainer(
        model=model, reward_funcs=[sync_reward, async_reward], args=args, train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
    )
    trainer.train()

    completions = [c for cs, _, _ in sync_reward.calls for c in cs]
    assert len(sync_reward.calls) == 3 and len(completions) == 24
    # Every completion held code, and every one was judged by the sandbox.
    stats = sync_reward.reward.stats
    assert stats.completions == stats.executed == 24 and stats.sandbox_errors == 0
    assert async_reward.stats.executed == 24 and async_reward.stats.sandbox_errors == 0
    for cs, ids, rewards in sync_reward.calls:
        for completion, row, reward in zip(cs, ids, rewards):
            assert extract_code(completion) is not None
            assert reward in (0.0, 1.0)
            present = {key for key, text in blocks.items() if text in completion}
            if present == {(row, "good")}:
                assert reward == 1.0, completion
            if (row, "good") not in present:
                assert reward == 0.0, completion
    all_rewards = [r for _, _, out in sync_reward.calls for r in out]
    assert 0.0 in all_rewards and 1.0 in all_rewards  # real signal: groups have non-zero variance

    logs = [entry for entry in trainer.state.log_history if "rewards/binary_reward/mean" in entry]
    assert len(logs) == 3
    assert all("rewards/binary_reward/mean" in e and "rewards/pass_rate_reward/mean" in e for e in logs)
    assert all(e["binary_reward/sandbox_errors"] == 0.0 for e in logs)
    sync_reward.reward.close()
    async_reward.reward.close()
