"""``acecoder sample``: sample N completions per question from policy models and score their pass rates."""

from ._common import STAGE_COMMANDS

__all__ = ["SUMMARY", "add_parser", "run"]

SUMMARY, add_parser, run = STAGE_COMMANDS["sample"].parts()
