"""BigCodeBench data that ships with the code: the Hard subset's task numbers and the official prompt text.

The 148 Hard task ids are the ones ``bigcodebench.evaluate --subset hard`` scores (the
``bigcode/bigcodebench-hard`` dataset); a full dataset file is filtered down to them.
"""

from __future__ import annotations

__all__ = ["HARD_TASK_IDS", "INSTRUCTION_PREFIX", "RESPONSE_PREFIX", "STOP_SEQUENCES", "VERSION_CHANGED"]

_HARD_NUMBERS: tuple[int, ...] = (
    13, 15, 17, 19, 34, 37, 82, 89, 92, 93, 99, 100, 101, 108, 120, 123,
    124, 129, 139, 147, 161, 162, 177, 184, 187, 199, 208, 211, 214, 227, 239, 241,
    267, 273, 274, 287, 302, 308, 310, 313, 324, 326, 341, 346, 360, 367, 368, 374,
    399, 401, 409, 417, 418, 424, 443, 445, 454, 458, 461, 477, 486, 492, 501, 502,
    503, 509, 511, 513, 526, 528, 530, 532, 553, 560, 567, 574, 579, 582, 583, 587,
    590, 592, 593, 594, 618, 636, 637, 654, 655, 657, 678, 720, 723, 752, 760, 763,
    765, 771, 777, 785, 800, 826, 845, 854, 857, 865, 870, 879, 897, 906, 914, 915,
    916, 917, 928, 942, 945, 952, 955, 963, 964, 969, 971, 985, 988, 990, 998, 999,
    1003, 1004, 1006, 1008, 1012, 1013, 1015, 1019, 1020, 1022, 1039, 1040, 1042, 1053, 1057, 1077,
    1085, 1124, 1129, 1137,
)

HARD_TASK_IDS: frozenset[str] = frozenset(f"BigCodeBench/{n}" for n in _HARD_NUMBERS)
"""The BigCodeBench-Hard task ids (148)."""

INSTRUCTION_PREFIX = (
    "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
)
"""The official codegen's default instruction for chat models (the protocol, kept verbatim)."""

RESPONSE_PREFIX = (
    "Below is a Python script with a self-contained function that solves the problem and passes corresponding tests:"
)
"""The official codegen's default start of the assistant turn (prefilled before a python fence)."""

STOP_SEQUENCES: tuple[str, ...] = (
    "<|endoftext|>", "<|endofmask|>", "</s>", "\nif __name__", "\ndef main(", "\nprint(",
    "\ndef ", "\nclass ", "\nimport ", "\nfrom ", "\nassert ",
)
"""Where a base model's continuation stops (the official direct-completion stop list)."""

VERSION_CHANGED: dict[str, str] = {
    "BigCodeBench/178": "v0.1.0 -> v0.1.1",
    "BigCodeBench/760": "v0.1.0 -> v0.1.1",
    "BigCodeBench/1006": "v0.1.0 -> v0.1.1",
    "BigCodeBench/16": "v0.1.1 -> v0.1.2",
    "BigCodeBench/37": "v0.1.1 -> v0.1.2",
    "BigCodeBench/241": "v0.1.1 -> v0.1.2",
    "BigCodeBench/267": "v0.1.1 -> v0.1.2",
    "BigCodeBench/1005": "v0.1.2 -> v0.1.3",
    "BigCodeBench/211": "v0.1.3 -> v0.1.4",
    "BigCodeBench/215": "v0.1.3 -> v0.1.4",
}
"""Tasks whose prompt or tests changed after v0.1.0, and in which release (the official fix scripts)."""
