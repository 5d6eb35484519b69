"""Generation backends behind one interface, chosen by name and imported lazily.

>>> from harness.generation import get_generator
>>> gen = get_generator("replay", path="answers.jsonl")          # doctest: +SKIP
>>> gen.generate(["Write add(a, b)."], n=2, temperature=0.7, max_tokens=512)  # doctest: +SKIP
[['...', '...']]
>>> gen.usage.completion_tokens                                 # doctest: +SKIP

Backends: ``vllm`` (GPU), ``openai`` (any OpenAI-compatible endpoint), ``transformers``
(CPU), ``replay`` (recorded answers, tests and demos only). Nothing here depends on
the data pipeline, so the benchmarks reuse it as is.
"""

from __future__ import annotations

from ..errors import GenerationError, GeneratorNotFoundError
from .base import (
    GENERATORS,
    Completion,
    Generator,
    Message,
    Prompt,
    SamplingParams,
    Usage,
    available_generators,
    get_generator,
    prompt_text,
    register_generator,
)

__all__ = [
    "Completion",
    "GENERATORS",
    "GenerationError",
    "Generator",
    "GeneratorNotFoundError",
    "Message",
    "Prompt",
    "SamplingParams",
    "Usage",
    "available_generators",
    "get_generator",
    "prompt_text",
    "register_generator",
]
