"""``vllm``: offline batched generation with vLLM's ``LLM`` on GPUs.

All prompts of a call go to vLLM at once (it schedules them itself). Text prompts use
``LLM.generate``, chat prompts ``LLM.chat`` (the model's chat template). vllm is
imported only when this backend is built.
"""

from __future__ import annotations

from typing import Any

from ..errors import GeneratorNotFoundError
from .base import Completion, Generator, Prompt, SamplingParams

__all__ = ["VLLMGenerator"]


class VLLMGenerator(Generator):
    """``model``: a hub name or local path; other keywords go to ``vllm.LLM``."""

    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        tensor_parallel_size: int = 1,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        seed: int = 0,
        trust_remote_code: bool = False,
        use_tqdm: bool = False,
        llm_kwargs: dict[str, Any] | None = None,
        price_per_1m_prompt_usd: float = 0.0,
        price_per_1m_completion_usd: float = 0.0,
    ) -> None:
        super().__init__(
            model=model,
            price_per_1m_prompt_usd=price_per_1m_prompt_usd,
            price_per_1m_completion_usd=price_per_1m_completion_usd,
        )
        try:
            import vllm  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise GeneratorNotFoundError(
                f"the vllm backend needs vLLM on a GPU host: pip install vllm ({exc})"
            ) from exc
        self._vllm = vllm
        self.use_tqdm = use_tqdm
        kwargs: dict[str, Any] = {
            "model": model,
            "tensor_parallel_size": tensor_parallel_size,
            "dtype": dtype,
            "gpu_memory_utilization": gpu_memory_utilization,
            "seed": seed,
            "trust_remote_code": trust_remote_code,
        }
        if max_model_len is not None:
            kwargs["max_model_len"] = max_model_len
        kwargs.update(llm_kwargs or {})
        self.llm = vllm.LLM(**kwargs)

    def _params(self, params: SamplingParams) -> Any:
        return self._vllm.SamplingParams(
            n=params.n,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_tokens,
            stop=list(params.stop) or None,
            seed=params.seed,
        )

    def _complete(self, prompts: list[Prompt], params: SamplingParams) -> tuple[list[Completion], int, int]:
        sampling = self._params(params)
        results: list[Any] = [None] * len(prompts)
        text_idx = [i for i, p in enumerate(prompts) if isinstance(p, str)]
        chat_idx = [i for i, p in enumerate(prompts) if not isinstance(p, str)]
        if text_idx:
            outs = self.llm.generate([prompts[i] for i in text_idx], sampling, use_tqdm=self.use_tqdm)
            for i, o in zip(text_idx, outs):
                results[i] = o
        if chat_idx:
            conversations = [[dict(m) for m in prompts[i] if not isinstance(m, str)] for i in chat_idx]
            outs = self.llm.chat(conversations, sampling, use_tqdm=self.use_tqdm)
            for i, o in zip(chat_idx, outs):
                results[i] = o
        completions = []
        for request in results:
            texts = tuple(c.text for c in request.outputs)
            prompt_tokens = len(request.prompt_token_ids or ())
            completion_tokens = sum(len(c.token_ids) for c in request.outputs)
            completions.append(Completion(texts, prompt_tokens, completion_tokens))
        return completions, len(prompts), 0
