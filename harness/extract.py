"""Code extraction from LLM answers, shared with the rewards: :func:`rm_rl.extract.extract_code`.

The data pipeline scores completions exactly as the RL rewards will, so both use one
extractor (``<think>`` stripped, the best fenced Python block, bare code as a fallback).
This module adds what the pipeline needs around it: the entry point as a hint, and the
raw fenced blocks that synthesis searches for its JSON answer.
"""

from __future__ import annotations

import re

__all__ = ["extract_code", "fenced_blocks", "strip_reasoning"]

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.DOTALL | re.MULTILINE)


def strip_reasoning(text: str) -> str:
    """``text`` without ``<think>...</think>`` spans; an unclosed ``<think>`` hides the rest.

    A trace whose opening tag was in the prompt (text starting inside it) ends at the
    first ``</think>``.
    """
    text = _THINK.sub("", text)
    lower = text.lower()
    if "</think>" in lower:
        text = text[lower.rindex("</think>") + len("</think>") :]
        lower = text.lower()
    if "<think>" in lower:
        text = text[: lower.index("<think>")]
    return text


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language tag, body)`` of every closed fenced block, in order."""
    return [(m.group(2).lower(), m.group(3)) for m in _FENCE.finditer(text)]


def extract_code(text: str, entry_point: str | None = None) -> str | None:
    """The program in an LLM answer (ending in a newline), or None when it holds no code.

    ``entry_point``: the function the question asks for; a block defining it wins over
    one that does not (a usage example, a helper).
    """
    from rm_rl.extract import extract_code as shared

    if not isinstance(text, str):
        return None
    code = shared(text, entry_points=(entry_point,) if entry_point else ())
    if code is None or not code.strip():
        return None
    return code.rstrip("\n") + "\n"
