"""The generator interface: one method, backends registered by name and imported lazily.

Every backend (vLLM, an OpenAI-compatible endpoint, transformers, replay) takes the same
prompts and sampling values and answers with plain strings, so the data pipeline and
the benchmarks never know which one ran. A prompt that fails after the backend's own
retries is a :class:`Completion` with ``error`` set: one bad prompt never loses the
others' answers, and the caller decides what a failure means.

Exceptions (drawn in :mod:`harness.errors`): ``GenerationError`` when a prompt could not
be answered (``generate`` only), ``GeneratorNotFoundError`` for an unknown backend or a
missing extra.
"""

from __future__ import annotations

import abc
import dataclasses
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from acesandbox.registry import Registry

from ..errors import GenerationError, GeneratorNotFoundError

__all__ = [
    "Completion",
    "GENERATORS",
    "Generator",
    "Message",
    "Prompt",
    "SamplingParams",
    "Usage",
    "available_generators",
    "get_generator",
    "prompt_text",
    "register_generator",
]

Message = Mapping[str, str]
Prompt = str | Sequence[Message]
"""A plain text prompt, or a chat conversation (``[{"role": ..., "content": ...}, ...]``)."""


@dataclass(frozen=True)
class SamplingParams:
    """How to sample: the same values mean the same thing on every backend."""

    n: int = field(default=1, metadata={"help": "completions per prompt"})
    temperature: float = field(default=0.0, metadata={"help": "0 means greedy decoding"})
    max_tokens: int = field(default=1024, metadata={"help": "most new tokens per completion"})
    top_p: float = field(default=1.0, metadata={"help": "nucleus sampling mass"})
    stop: tuple[str, ...] = field(default=(), metadata={"help": "strings that end a completion"})
    seed: int | None = field(default=None, metadata={"help": "sampling seed, where the backend supports one"})

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"SamplingParams.n must be a positive integer, got {self.n!r}")
        if not self.temperature >= 0:
            raise ValueError(f"SamplingParams.temperature must be >= 0, got {self.temperature!r}")
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise ValueError(f"SamplingParams.max_tokens must be a positive integer, got {self.max_tokens!r}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"SamplingParams.top_p must be in (0, 1], got {self.top_p!r}")
        object.__setattr__(self, "stop", tuple(self.stop))


@dataclass(frozen=True)
class Completion:
    """The answers to one prompt, what they cost in tokens, or why there are none."""

    texts: tuple[str, ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Usage:
    """Running totals of one generator: requests, tokens, failures and money."""

    prompts: int = 0
    requests: int = 0
    completions: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failures: int = 0
    retries: int = 0
    cost_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self)})


def prompt_text(prompt: Prompt) -> str:
    """A chat prompt flattened to text, for backends or tokenizers without a chat template."""
    if isinstance(prompt, str):
        return prompt
    parts = [f"{m['role']}: {m['content']}" for m in prompt]
    return "\n\n".join(parts) + "\n\nassistant: "


def _check_prompt(prompt: Any, index: int) -> None:
    if isinstance(prompt, str):
        return
    if isinstance(prompt, Sequence) and all(
        isinstance(m, Mapping) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in prompt
    ):
        return
    raise TypeError(f"prompt {index} must be a string or a list of {{'role', 'content'}} messages, got {prompt!r:.80}")


class Generator(abc.ABC):
    """Answers prompts. Subclasses implement :meth:`_complete`; the rest is shared.

    ``price_per_1m_prompt_usd`` / ``price_per_1m_completion_usd`` turn token counts
    into :attr:`usage` ``.cost_usd``; they default to 0 (a local model costs nothing).
    """

    name: ClassVar[str] = ""

    def __init__(
        self, *, model: str = "", price_per_1m_prompt_usd: float = 0.0, price_per_1m_completion_usd: float = 0.0
    ) -> None:
        self.model = model
        self.price_per_1m_prompt_usd = price_per_1m_prompt_usd
        self.price_per_1m_completion_usd = price_per_1m_completion_usd
        self._usage = Usage()
        self._usage_lock = threading.Lock()

    @property
    def model_name(self) -> str:
        """The name recorded with every completion (``inferences[].model_name``)."""
        return self.model or self.name

    @property
    def usage(self) -> Usage:
        return self._usage

    def _record(self, completions: Sequence[Completion], requests: int, retries: int = 0) -> None:
        p = sum(c.prompt_tokens for c in completions)
        c_tokens = sum(c.completion_tokens for c in completions)
        cost = (p * self.price_per_1m_prompt_usd + c_tokens * self.price_per_1m_completion_usd) / 1e6
        delta = Usage(
            prompts=len(completions),
            requests=requests,
            completions=sum(len(c.texts) for c in completions),
            prompt_tokens=p,
            completion_tokens=c_tokens,
            failures=sum(1 for c in completions if not c.ok),
            retries=retries,
            cost_usd=cost,
        )
        with self._usage_lock:
            self._usage = self._usage + delta

    def complete(self, prompts: Sequence[Prompt], params: SamplingParams | None = None) -> list[Completion]:
        """One :class:`Completion` per prompt, in order; failures are values, not exceptions."""
        params = params or SamplingParams()
        for i, prompt in enumerate(prompts):
            _check_prompt(prompt, i)
        if not prompts:
            return []
        out, requests, retries = self._complete(list(prompts), params)
        if len(out) != len(prompts):
            raise RuntimeError(f"{type(self).__name__} returned {len(out)} completions for {len(prompts)} prompts")
        self._record(out, requests, retries)
        return out

    def generate(
        self,
        prompts: Sequence[Prompt],
        n: int = 1,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        *,
        top_p: float = 1.0,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> list[list[str]]:
        """``n`` completions per prompt; raises GenerationError if any prompt failed."""
        params = SamplingParams(
            n=n, temperature=temperature, max_tokens=max_tokens, top_p=top_p, stop=tuple(stop), seed=seed
        )
        done = self.complete(prompts, params)
        errors = {i: c.error for i, c in enumerate(done) if c.error is not None}
        if errors:
            first = min(errors)
            raise GenerationError(
                f"{len(errors)} of {len(done)} prompts failed; prompt {first}: {errors[first]}", errors
            )
        return [list(c.texts) for c in done]

    @abc.abstractmethod
    def _complete(self, prompts: list[Prompt], params: SamplingParams) -> tuple[list[Completion], int, int]:
        """``(completions, requests made, retries)`` for ``prompts``."""

    def close(self) -> None:
        """Release clients or models (no-op by default)."""

    def __enter__(self) -> Generator:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


GENERATORS: Registry[type[Generator]] = Registry(
    "generation backend",
    {
        "openai": "harness.generation.openai:OpenAIGenerator",
        "replay": "harness.generation.replay:ReplayGenerator",
        "transformers": "harness.generation.transformers:TransformersGenerator",
        "vllm": "harness.generation.vllm:VLLMGenerator",
    },
    extras={"openai": "harness", "transformers": "rl"},
    group="harness.generators",
    error=GeneratorNotFoundError,
)
"""Generation backends by name (case-insensitive); more can come from ``harness.generators`` entry points."""


def register_generator(name: str, target: str) -> None:
    """Register a generator class under ``name`` as a ``"module:Class"`` string."""
    GENERATORS.register(name, target)


def available_generators() -> list[str]:
    return GENERATORS.names()


def get_generator(name: str, **config: Any) -> Generator:
    """Instantiate the generator registered as ``name`` (its module is imported only now).

    ``config`` holds the backend's keyword arguments (``model``, ``base_url``, ...); an
    unknown one raises TypeError naming it.
    """
    cls = GENERATORS.load(name)
    try:
        return cls(**config)
    except TypeError as exc:
        raise TypeError(f"generation backend {name!r}: {exc}") from None
