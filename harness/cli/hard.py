"""``acecoder hard``: select the RL subset: questions at or below the median mean pass rate, then at or above the median spread."""

from ._common import STAGE_COMMANDS

__all__ = ["SUMMARY", "add_parser", "run"]

SUMMARY, add_parser, run = STAGE_COMMANDS["hard"].parts()
