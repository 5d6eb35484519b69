"""``acecoder pairs``: build (chosen, rejected) preference pairs from scored completions."""

from ._common import STAGE_COMMANDS

__all__ = ["SUMMARY", "add_parser", "run"]

SUMMARY, add_parser, run = STAGE_COMMANDS["pairs"].parts()
