"""The harness exception tree.

A bad *item* (a malformed row, an unusable answer, a sandbox error on one job) is never
an exception: the stage writes it to its rejects file with a reason and goes on.
Exceptions mean the stage itself cannot run as asked::

    AcecoderError (acesandbox.errors)
    └── HarnessError
        ├── ConfigError (ValueError)               a config value or key is invalid; names the field
        ├── DataError (ValueError)                 a dataset cannot be read; names the file and line
        ├── GenerationError (RuntimeError)         prompts could not be answered (``errors`` by index)
        └── GeneratorNotFoundError (LookupError)   unknown generation backend, or its extra is missing

Each also inherits the builtin it means, so ``except ValueError`` around a config still works.
"""

from __future__ import annotations

from collections.abc import Mapping

from acesandbox.errors import AcecoderError

__all__ = ["ConfigError", "DataError", "GenerationError", "GeneratorNotFoundError", "HarnessError"]


class HarnessError(AcecoderError):
    """Base of every exception raised by harness."""


class ConfigError(HarnessError, ValueError):
    """A config value or key is invalid; the message names the field and the fix."""


class DataError(HarnessError, ValueError):
    """A dataset cannot be read; the message names the file (and line) or the hub name."""


class GenerationError(HarnessError, RuntimeError):
    """Some prompts could not be answered; ``errors`` maps prompt index to the reason."""

    def __init__(self, message: str, errors: Mapping[int, str] | None = None) -> None:
        super().__init__(message)
        self.errors = dict(errors or {})


class GeneratorNotFoundError(HarnessError, LookupError):
    """The generation backend is unknown, or the package it needs is not installed (names the extra)."""
