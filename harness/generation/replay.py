"""``replay``: serve recorded answers from a JSONL file. For tests and demos only.

Each line is ``{"prompt": <text or messages>, "responses": ["...", ...]}`` (optionally
``"model"``). A prompt is looked up by the SHA-256 of its canonical JSON form, so a
recording made by :class:`RecordingGenerator` around any real backend replays exactly.
The ``n`` answers for a call are ``responses[(seed * n + i) % len(responses)]``: a retry
that passes a new ``seed`` gets the next recorded answers, and the same call always
gets the same ones. A prompt with no recording is a failed Completion, never a guess.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import Completion, Generator, Prompt, SamplingParams

__all__ = ["RecordingGenerator", "ReplayGenerator", "prompt_key"]


def prompt_key(prompt: Prompt) -> str:
    """The lookup key of a prompt: SHA-256 of its canonical JSON."""
    canon = prompt if isinstance(prompt, str) else [{"role": m["role"], "content": m["content"]} for m in prompt]
    return hashlib.sha256(json.dumps(canon, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _tokens(text: str) -> int:
    """A rough token count (whitespace words) so replayed runs still show usage."""
    return len(text.split())


class ReplayGenerator(Generator):
    """Answers from a recording; ``path`` is a JSONL file (``"@bundled"``: the demo recording)."""

    name = "replay"

    def __init__(self, path: str | Path = "@bundled", *, model: str = "replay", **prices: float) -> None:
        super().__init__(model=model, **prices)
        if str(path) == "@bundled":
            from ..data import bundled_path

            path = bundled_path("replay.jsonl")
        self.path = Path(path)
        self._answers: dict[str, list[str]] = {}
        with open(self.path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    key = record.get("key") or prompt_key(record["prompt"])
                    responses = [str(r) for r in record["responses"]]
                except (ValueError, KeyError, TypeError) as exc:
                    raise ValueError(f"{self.path}:{number}: not a replay record ({exc})") from None
                self._answers.setdefault(key, []).extend(responses)

    def __len__(self) -> int:
        return len(self._answers)

    def _complete(self, prompts: list[Prompt], params: SamplingParams) -> tuple[list[Completion], int, int]:
        out = []
        offset = (params.seed or 0) * params.n
        for prompt in prompts:
            recorded = self._answers.get(prompt_key(prompt))
            if not recorded:
                out.append(Completion(error="replay: no recorded answer for this prompt"))
                continue
            texts = tuple(recorded[(offset + i) % len(recorded)] for i in range(params.n))
            text = prompt if isinstance(prompt, str) else " ".join(m["content"] for m in prompt)
            out.append(Completion(texts, _tokens(text), sum(_tokens(t) for t in texts)))
        return out, len(prompts), 0


class RecordingGenerator(Generator):
    """Wraps a real generator and appends every answered prompt to a replay file."""

    name = "recording"

    def __init__(self, inner: Generator, path: str | Path) -> None:
        super().__init__(model=inner.model_name)
        self.inner = inner
        self.path = Path(path)
        self._lock = threading.Lock()

    @property
    def usage(self) -> Any:
        return self.inner.usage

    def _complete(self, prompts: list[Prompt], params: SamplingParams) -> tuple[list[Completion], int, int]:
        done = self.inner.complete(prompts, params)
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            for prompt, c in zip(prompts, done):
                if c.ok:
                    record: dict[str, Any] = {
                        "prompt": prompt if isinstance(prompt, str) else [dict(m) for m in prompt]
                    }
                    record["responses"] = list(c.texts)
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return done, 0, 0

    def close(self) -> None:
        self.inner.close()


def load_records(path: str | Path) -> Sequence[dict[str, Any]]:
    """Every record of a replay file (for inspection and tests)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
