"""``acecoder filter``: keep the tests a strong model's solutions pass; drop questions left with too few."""

from ._common import STAGE_COMMANDS

__all__ = ["SUMMARY", "add_parser", "run"]

SUMMARY, add_parser, run = STAGE_COMMANDS["filter"].parts()
