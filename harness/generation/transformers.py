"""``transformers``: a Hugging Face causal LM on the CPU (or one GPU), for small runs.

Prompts are batched (``batch_size``), left-padded and decoded with ``model.generate``;
a chat prompt uses the tokenizer's chat template when it has one and a plain
``role: content`` layout otherwise. torch and transformers are imported only when
this backend is built.
"""

from __future__ import annotations

from typing import Any

from ..errors import GeneratorNotFoundError
from .base import Completion, Generator, Prompt, SamplingParams, prompt_text

__all__ = ["TransformersGenerator"]


class TransformersGenerator(Generator):
    """``model`` is a local path or hub name, or an already built model (then pass ``tokenizer``)."""

    name = "transformers"

    def __init__(
        self,
        model: Any,
        *,
        tokenizer: Any = None,
        device: str = "cpu",
        dtype: str = "float32",
        batch_size: int = 8,
        trust_remote_code: bool = False,
        model_name: str | None = None,
        price_per_1m_prompt_usd: float = 0.0,
        price_per_1m_completion_usd: float = 0.0,
    ) -> None:
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise GeneratorNotFoundError(
                f"the transformers backend needs torch and transformers: pip install torch transformers ({exc})"
            ) from exc
        name = model_name or (model if isinstance(model, str) else type(model).__name__)
        super().__init__(
            model=name,
            price_per_1m_prompt_usd=price_per_1m_prompt_usd,
            price_per_1m_completion_usd=price_per_1m_completion_usd,
        )
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._torch = torch
        if isinstance(model, str):
            tokenizer = tokenizer or transformers.AutoTokenizer.from_pretrained(
                model, trust_remote_code=trust_remote_code
            )
            model = transformers.AutoModelForCausalLM.from_pretrained(
                model, torch_dtype=getattr(torch, dtype), trust_remote_code=trust_remote_code
            )
        if tokenizer is None:
            raise ValueError("pass tokenizer= with a model object")
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        self.tokenizer = tokenizer
        self.device = device
        self.batch_size = batch_size
        self.lm = model.to(device).eval()

    def _text(self, prompt: Prompt) -> str:
        if isinstance(prompt, str):
            return prompt
        if getattr(self.tokenizer, "chat_template", None):
            return str(
                self.tokenizer.apply_chat_template(
                    [dict(m) for m in prompt], tokenize=False, add_generation_prompt=True
                )
            )
        return prompt_text(prompt)

    def _complete(self, prompts: list[Prompt], params: SamplingParams) -> tuple[list[Completion], int, int]:
        torch = self._torch
        out: list[Completion] = []
        eos = self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id
        if params.seed is not None:
            torch.manual_seed(params.seed)
        for start in range(0, len(prompts), self.batch_size):
            texts = [self._text(p) for p in prompts[start : start + self.batch_size]]
            enc = self.tokenizer(texts, return_tensors="pt", padding=True).to(self.device)
            kwargs: dict[str, Any] = {
                "max_new_tokens": params.max_tokens,
                "num_return_sequences": params.n,
                "pad_token_id": pad,
                "eos_token_id": eos,
            }
            if params.temperature > 0:
                kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
            else:
                kwargs.update(do_sample=False)
            with torch.no_grad():
                generated = self.lm.generate(**enc, **kwargs)
            width = enc["input_ids"].shape[1]
            for i in range(len(texts)):
                prompt_tokens = int(enc["attention_mask"][i].sum())
                answers = []
                new_tokens = 0
                for j in range(params.n):
                    seq = generated[i * params.n + j, width:].tolist()
                    if eos is not None and eos in seq:
                        seq = seq[: seq.index(eos) + 1]
                    new_tokens += len(seq)
                    text = self.tokenizer.decode(seq, skip_special_tokens=True)
                    answers.append(_cut(text, params.stop))
                out.append(Completion(tuple(answers), prompt_tokens, new_tokens))
        return out, len(prompts), 0


def _cut(text: str, stop: tuple[str, ...]) -> str:
    """Truncate at the first stop string, as the server backends do."""
    cut = len(text)
    for s in stop:
        at = text.find(s)
        if at != -1:
            cut = min(cut, at)
    return text[:cut]
