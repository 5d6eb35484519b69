"""``acecoder synth``: write LeetCode-style questions with ~20 assert tests from seed code with an LLM."""

from ._common import STAGE_COMMANDS

__all__ = ["SUMMARY", "add_parser", "run"]

SUMMARY, add_parser, run = STAGE_COMMANDS["synth"].parts()
