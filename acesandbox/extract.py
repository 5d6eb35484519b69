"""What program does a completion propose? Code extraction from model output.

Completions arrive as plain text or as chat message lists; reasoning models wrap
their thoughts in ``<think>...</think>`` (and sometimes the answer in
``<answer>...</answer>``); AceCoder's prompts pre-fill the assistant turn with a
sentence that opens a python fence (:data:`ACECODER_PREFILL`), so the completion
starts *inside* a code block. :func:`extract_code` handles all of these and picks the
best Python block when there are several (a solution followed by a usage example, a
draft followed by a fix).

Everything here is a pure function of its arguments and imports only the standard
library: the data pipeline, the benchmarks and the rewards all extract through it, so a
completion is read the same way when it is filtered, sampled, scored and rewarded.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .syntax import parse as parse_ast

__all__ = [
    "ACECODER_PREFILL",
    "CodeBlock",
    "PromptState",
    "answer_text",
    "as_program",
    "code_blocks",
    "completion_text",
    "entry_points",
    "extract_code",
    "has_think_format",
    "last_fenced_span",
    "parse_chat",
    "prompt_state",
    "split_query",
    "user_turn",
]

ACECODER_PREFILL = (
    "Below is a Python script with a self-contained function that solves the problem "
    "and passes corresponding tests:\n```python\n"
)
"""The assistant pre-fill of AceCoder's RL prompts: the completion continues the open fence."""

Fallback = Literal["auto", "none", "text"]

_PYTHON_TAGS = frozenset({"", "python", "py", "python3", "py3"})
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_BUILTINS = frozenset(dir(builtins))


# --------------------------------------------------------------------- text


def message_text(content: Any) -> str:
    """The text of one message's ``content``: a string, or a list of typed parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and part.get("type", "text") == "text":
                parts.append(str(part.get("text", "")))
        return "".join(parts)
    return str(content)


def completion_text(completion: Any) -> str:
    """The text a model produced: a string, one message, or a list of messages.

    In a message list the assistant turns are joined (TRL's conversational completions
    are a one-message list); a list without roles is joined whole.
    """
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return message_text(completion.get("content"))
    if isinstance(completion, Sequence):
        messages = [m for m in completion if isinstance(m, Mapping)]
        assistant = [m for m in messages if m.get("role") == "assistant"]
        chosen = assistant or messages
        return "\n".join(message_text(m.get("content")) for m in chosen)
    raise TypeError(f"a completion must be a string or a list of messages, got {type(completion).__name__}")


_CHATML = re.compile(r"<\|im_start\|>(?P<role>[^\n]*)\n(?P<content>.*?)(?:<\|im_end\|>|$)", re.DOTALL)
_LLAMA3 = re.compile(
    r"<\|start_header_id\|>(?P<role>.*?)<\|end_header_id\|>\n\n(?P<content>.*?)(?:<\|eot_id\|>|$)", re.DOTALL
)
_TRAILING_SPECIAL = re.compile(r"(?:<\|endoftext\|>|<\|im_end\|>|<\|eot_id\|>|<\|end_of_text\|>|</s>|<pad>|\s)+$")


def parse_chat(text: str) -> list[dict[str, str]]:
    """Split a chat-templated string (ChatML or Llama-3 headers) into messages.

    Returns ``[]`` when the text carries no known template markers. The last message
    may be unterminated (an assistant turn still being generated); trailing end-of-text
    and padding tokens are removed from it.
    """
    pattern = _CHATML if "<|im_start|>" in text else _LLAMA3 if "<|start_header_id|>" in text else None
    if pattern is None:
        return []
    messages = [{"role": m.group("role").strip(), "content": m.group("content")} for m in pattern.finditer(text)]
    if messages:
        messages[-1]["content"] = _TRAILING_SPECIAL.sub("", messages[-1]["content"])
    return messages


def user_turn(prompt: Any) -> str:
    """The first user message of a prompt: a message list, or a chat-templated string.

    A string without template markers is its own user turn.
    """
    if isinstance(prompt, str):
        messages: list[Any] = parse_chat(prompt)
        if not messages:
            return prompt
    elif isinstance(prompt, Sequence):
        messages = [m for m in prompt if isinstance(m, Mapping)]
    else:
        return ""
    for m in messages:
        if m.get("role") == "user":
            return message_text(m.get("content"))
    return ""


def split_query(query: str, prompt: str | None = None) -> tuple[str, str]:
    """Split OpenRLHF's ``query`` (prompt + response, chat-templated) into the two.

    With ``prompt`` and a query that starts with it, the rest is the response.
    Otherwise the last assistant turn of the template is the response and everything
    before its content the prompt (so a pre-filled fence stays in the prompt). Without
    template markers the whole query is the response. Trailing end-of-text and padding
    tokens are dropped.
    """
    if prompt and query.startswith(prompt):
        return prompt, _TRAILING_SPECIAL.sub("", query[len(prompt) :])
    pattern = _CHATML if "<|im_start|>" in query else _LLAMA3 if "<|start_header_id|>" in query else None
    if pattern is not None:
        last = None
        for m in pattern.finditer(query):
            if m.group("role").strip() == "assistant":
                last = m
        if last is not None:
            return query[: last.start("content")], _TRAILING_SPECIAL.sub("", last.group("content"))
    return prompt or "", _TRAILING_SPECIAL.sub("", query)


# ---------------------------------------------------------------- reasoning


def answer_text(text: str, *, think_opened: bool = False) -> str | None:
    """The answer part of a completion: what follows the reasoning.

    ``<think>...</think>`` is removed (everything up to the last ``</think>``); when the
    reasoning never closes (the model ran out of tokens while thinking) there is no
    answer and the result is None. ``think_opened``: the prompt already opened
    ``<think>`` (R1-style templates). An ``<answer>...</answer>`` wrapper is unwrapped.
    """
    close = text.rfind("</think>")
    if close >= 0:
        text = text[close + len("</think>") :]
    elif think_opened or "<think>" in text:
        return None
    start = text.find("<answer>")
    if start >= 0:
        end = text.find("</answer>", start)
        text = text[start + len("<answer>") : end if end >= 0 else len(text)]
    return text


def has_think_format(completion: Any, *, prompt: Any = None) -> bool:
    """True iff the completion is ``<think>reasoning</think>`` followed by a non-empty answer.

    One reasoning block only, opened at the start (or by the prompt); an optional single
    ``<answer>...</answer>`` pair after it. This is the R1-style format reward's test.
    """
    text = completion_text(completion)
    opened = prompt_state(prompt).in_think if prompt is not None else False
    body = text.lstrip()
    if opened:
        if "<think>" in body or body.count("</think>") != 1:
            return False
        reasoning, _, answer = body.partition("</think>")
    else:
        if not body.startswith("<think>") or body.count("<think>") != 1 or body.count("</think>") != 1:
            return False
        reasoning, _, answer = body[len("<think>") :].partition("</think>")
    if not reasoning.strip() or not answer.strip():
        return False
    if "<answer>" in answer or "</answer>" in answer:
        if answer.count("<answer>") != 1 or answer.count("</answer>") != 1:
            return False
        inner = answer.split("<answer>", 1)[1]
        if "</answer>" not in inner or not inner.split("</answer>", 1)[0].strip():
            return False
    return True


# ------------------------------------------------------------------ prompts


@dataclass(frozen=True)
class PromptState:
    """Where a prompt leaves the model: inside a code fence, inside ``<think>``."""

    in_fence: bool = False
    fence: str = "```"
    language: str = ""
    in_think: bool = False


def _prompt_tail(prompt: Any) -> str:
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Mapping):
        prompt = [prompt]
    if isinstance(prompt, Sequence):
        messages = [m for m in prompt if isinstance(m, Mapping)]
        # Only a trailing assistant message is a pre-fill the completion continues.
        if messages and messages[-1].get("role") == "assistant":
            return message_text(messages[-1].get("content"))
        return ""
    return str(prompt)


def prompt_state(prompt: Any) -> PromptState:
    """Whether the completion continues an open fence or an open ``<think>`` of the prompt.

    A string prompt is read whole (a chat template rendered with the AceCoder pre-fill
    ends inside a python fence); a message list only through a trailing assistant
    message (a pre-fill continued by the model).
    """
    text = _prompt_tail(prompt)
    if not text:
        return PromptState()
    open_fence = _scan_fences(text.splitlines())
    in_think = text.rfind("<think>") > text.rfind("</think>")
    if open_fence is None:
        return PromptState(in_think=in_think)
    fence, language = open_fence
    return PromptState(in_fence=True, fence=fence, language=language, in_think=in_think)


def _scan_fences(lines: list[str]) -> tuple[str, str] | None:
    """The fence (and its language) left open at the end of ``lines``, if any."""
    current: tuple[str, str] | None = None
    for line in lines:
        m = _FENCE.match(line)
        if m is None:
            continue
        fence, info = m.group("fence"), m.group("info").strip()
        if current is None:
            if not (fence[0] == "`" and "`" in info):
                current = (fence, _language(info))
        elif fence[0] == current[0][0] and len(fence) >= len(current[0]) and not info:
            current = None
    return current


# ------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class CodeBlock:
    """One fenced block: its code (dedented), its language tag, whether it was closed."""

    code: str
    language: str
    closed: bool
    index: int


def _language(info: str) -> str:
    word = info.strip().split(maxsplit=1)[0] if info.strip() else ""
    return word.strip("{}.").lower()


def code_blocks(text: str, *, state: PromptState | None = None) -> list[CodeBlock]:
    """Every fenced code block of ``text``, in order.

    ``state``: where the prompt left the model (:func:`prompt_state`); with
    ``in_fence`` the text starts inside a block. A block left open at the end (a
    truncated generation) is returned with ``closed=False``. A closing fence glued to
    the end of a code line (```` return x``` ````), common in model output, closes the
    block too.
    """
    blocks: list[CodeBlock] = []
    lines = text.split("\n")
    fence: str | None = None
    language = ""
    body: list[str] = []
    if state is not None and state.in_fence:
        fence, language = state.fence, state.language
        # A model that opens the pre-filled fence again (```python right after the pre-fill's ```python)
        # would otherwise have that line taken as its program's first line: a SyntaxError, so a
        # correct solution scored 0. A program cannot start with a fence, so that line is the opening.
        first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
        m = _FENCE.match(lines[first]) if first < len(lines) else None
        if m is not None and m.group("info").strip() and m.group("fence")[0] == fence[0] and "`" not in m.group("info"):
            fence, language = m.group("fence"), _language(m.group("info"))
            lines = lines[first + 1 :]

    def close(closed: bool) -> None:
        cleaned = [line if line.strip() else "" for line in body]
        code = "\n".join(cleaned)
        if all(line[:1] in (" ", "\t") for line in cleaned if line):
            code = textwrap.dedent(code)  # the whole block is indented (a fence inside a list item)
        blocks.append(CodeBlock(code.strip("\n"), language, closed, len(blocks)))

    for line in lines:
        m = _FENCE.match(line)
        if fence is None:
            if m is not None:
                info = m.group("info")
                if m.group("fence")[0] == "`" and "`" in info:
                    continue  # inline code such as ```x```, not a fence
                fence, language, body = m.group("fence"), _language(info), []
            continue
        if (
            m is not None
            and m.group("fence")[0] == fence[0]
            and len(m.group("fence")) >= len(fence)
            and not m.group("info").strip()
        ):
            close(True)
            fence, body = None, []
            continue
        stripped = line.rstrip()
        if fence[0] == "`" and stripped.endswith(fence) and stripped[: -len(fence)].strip():
            body.append(stripped[: -len(fence)])
            close(True)
            fence, body = None, []
            continue
        body.append(line)
    if fence is not None:
        close(False)
    return blocks


# -------------------------------------------------------------- entry points


def _test_source(test: Any) -> str | None:
    if isinstance(test, str):
        return test
    if isinstance(test, Mapping) and test.get("kind", "assert") in ("assert", "unittest"):
        source = test.get("source")
        return source if isinstance(source, str) else None
    source = getattr(test, "source", None)
    return source if isinstance(source, str) else None


@functools.lru_cache(maxsize=4096)
def _names_called(source: str) -> tuple[str, ...]:
    try:
        tree = parse_ast(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # 5,000 terms of a + b nest too deep
        return ()
    assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    out: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        while isinstance(func, (ast.Attribute, ast.Call)):
            func = func.value if isinstance(func, ast.Attribute) else func.func
        if isinstance(func, ast.Name) and func.id not in _BUILTINS and func.id not in assigned and func.id not in out:
            out.append(func.id)
    return tuple(out)


def entry_points(tests: Iterable[Any]) -> tuple[str, ...]:
    """The program names the tests call (``assert add(1, 2) == 3`` -> ``("add",)``).

    Used to prefer the block that defines them. Builtins, and names the test assigns
    itself, are left out.
    """
    if isinstance(tests, tuple) and all(isinstance(t, str) for t in tests):
        return _string_entry_points(tests)
    return _entry_points(tests)


@functools.lru_cache(maxsize=4096)
def _string_entry_points(tests: tuple[str, ...]) -> tuple[str, ...]:
    return _entry_points(tests)


def _entry_points(tests: Iterable[Any]) -> tuple[str, ...]:
    out: list[str] = []
    for test in tests:
        source = _test_source(test)
        if source is None:
            if isinstance(test, Mapping) and test.get("kind") == "call":
                fn = str(test.get("fn", "")).split(".", 1)[0]
                if fn and fn not in out:
                    out.append(fn)
            continue
        for name in _names_called(source):
            if name not in out:
                out.append(name)
    return tuple(out)


def _parses(code: str) -> bool:
    try:
        parse_ast(code, "<completion>")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


_TOP_DEF = re.compile(r"^(?:async[ \t]+def|def|class)[ \t]+(\w+)", re.MULTILINE)
_TOP_NAME = re.compile(r"^(\w+)[ \t]*(?::[^=\n]*)?=(?!=)", re.MULTILINE)
_TOP_IMPORT = re.compile(r"^(?:from[ \t]+\S+[ \t]+)?import[ \t]+(.+)$", re.MULTILINE)


def _top_level_names(code: str) -> tuple[set[str], bool]:
    """Names a block defines at top level (defs, classes, assignments, imports), and whether it has a def."""
    defs = set(_TOP_DEF.findall(code))
    names = defs | set(_TOP_NAME.findall(code))
    for clause in _TOP_IMPORT.findall(code):
        for part in clause.strip("() \t").split(","):
            words = part.split()
            if words:
                names.add(words[-1].split(".")[0])
    return names, bool(defs)


def _best(blocks: Sequence[CodeBlock], wanted: Sequence[str]) -> CodeBlock:
    """The best block: one that parses, then defining most entry points, a def or class, tagged, last.

    Blocks are ordered by the cheap criteria first, and only as many are parsed as it
    takes to find one that parses (usually one).
    """
    if len(blocks) == 1:
        return blocks[0]

    def key(block: CodeBlock) -> tuple[int, int, int, int]:
        names, has_def = _top_level_names(block.code)
        return (sum(1 for w in wanted if w in names), int(has_def), int(block.language != ""), block.index)

    ranked = sorted(blocks, key=key, reverse=True)
    return next((b for b in ranked if _parses(b.code)), ranked[0])


def extract_code(
    completion: Any,
    *,
    prompt: Any = None,
    entry_points: Sequence[str] = (),
    fallback: Fallback = "auto",
) -> str | None:
    """The program a completion proposes, or None when it proposes none.

    Steps: take the completion's text (chat lists included); drop the reasoning
    (``<think>``; None if it never closed); collect the fenced Python blocks (untagged
    ones count; a prompt ending inside a fence, such as :data:`ACECODER_PREFILL`, means
    the text starts inside one); pick the best: one that parses, then the one defining
    most of ``entry_points``, then one with a def or class, then a tagged one, then the
    last. Without any block, ``fallback`` decides: ``"auto"`` takes the whole answer
    if it parses as Python and defines a function or class (bare code), ``"text"`` takes
    the whole answer whatever it is (for base models), ``"none"`` gives None.
    """
    state = prompt_state(prompt) if prompt is not None else PromptState()
    text = completion_text(completion)
    if state.in_fence and state.in_think:
        state = PromptState(in_fence=True, fence=state.fence, language=state.language)
    answer = answer_text(text, think_opened=state.in_think)
    if answer is None:
        return None
    blocks = [b for b in code_blocks(answer, state=state) if b.language in _PYTHON_TAGS and b.code.strip()]
    if blocks:
        return _best(blocks, entry_points).code
    bare = answer.strip("\n")
    if not bare.strip() or fallback == "none":
        return None
    if fallback == "text":
        return textwrap.dedent(bare)
    code = textwrap.dedent(bare)
    try:
        tree = parse_ast(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    if any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for n in tree.body):
        return code
    return None


def as_program(code: str | None) -> str | None:
    """``code`` ending in exactly one newline, or None when it is None or blank."""
    if code is None or not code.strip():
        return None
    return code.rstrip("\n") + "\n"


def last_fenced_span(output: str) -> str:
    """lcb_runner's rule: the lines between the last two lines containing a fence; "" without two.

    LiveCodeBench scores what this returns, not the best block, so its scorer uses it
    to reproduce the official numbers.
    """
    lines = output.split("\n")
    fences = [i for i, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return ""
    return "\n".join(lines[fences[-2] + 1 : fences[-1]])
