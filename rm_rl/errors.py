"""The rm_rl exception tree.

A program that fails its tests is never an exception: it is a reward (0.0, or a pass
rate). A sandbox that fails is an abstention (reward None), unless the caller asked
to be told (``on_sandbox_error="raise"``, for frameworks that cannot take None)::

    RmRlError
    ├── ConfigError (ValueError)            a reward, adapter or server option is invalid
    │                                       (raised eagerly, by the factory; names the fix)
    ├── DatasetError (ValueError)           a dataset cannot be read, or a row lacks a field
    │                                       (names the file, the line or row, and the field)
    ├── TestsNotFoundError (LookupError)    no tests for a completion: no tests column, an
    │                                       unknown id, a question not in the dataset
    └── RewardUnavailableError              the sandbox failed for some completions and the
                                            caller asked to raise instead of abstaining

acesandbox's own errors (``acesandbox.SandboxUnavailableError`` when the host cannot
sandbox at all) pass through unchanged.
"""

from __future__ import annotations

from acesandbox.errors import AcecoderError

__all__ = [
    "ConfigError",
    "DatasetError",
    "RewardUnavailableError",
    "RmRlError",
    "TestsNotFoundError",
]


class RmRlError(AcecoderError):
    """Base of every exception raised by rm_rl."""


class ConfigError(RmRlError, ValueError):
    """An option is invalid; the message names the option and the fix."""


class DatasetError(RmRlError, ValueError):
    """A dataset cannot be loaded, or one of its rows lacks a field."""


class TestsNotFoundError(RmRlError, LookupError):
    """No tests could be found for a completion."""

    __test__ = False  # not a pytest test class


class RewardUnavailableError(RmRlError):
    """The sandbox, not the program, failed for some completions (``on_sandbox_error="raise"``).

    ``indices`` lists the completions that could not be judged.
    """

    def __init__(self, message: str, indices: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.indices = indices
