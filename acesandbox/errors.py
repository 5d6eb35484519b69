"""The acesandbox exception tree.

What a *program* does (fails an assert, raises, hangs, exhausts memory, exits) is
never an exception: it is a :class:`~acesandbox.Status` on the outcome. Exceptions
mean the *sandbox* could not do its job, or the caller asked for something invalid.

Every package of the toolkit roots its exceptions at :class:`AcecoderError`, so a
caller can catch the toolkit's errors in one clause (``harness``, ``benchmarks`` and
``rm_rl`` each add their own root under it)::

    AcecoderError
    └── AcesandboxError
        ├── InvalidJobError (ValueError)         bad program/tests/limits given by the caller
        │   └── TestSyntaxError                   a test's source does not parse
        ├── BackendNotFoundError (LookupError)   unknown backend name, or its extra not installed
        └── SandboxError                          the sandbox failed, not the program
            ├── SandboxUnavailableError           this host cannot provide the isolation asked for
            │                                     (message names the missing capability and the fix)
            ├── SandboxCrashedError               the sandbox process died or broke its protocol
            └── SandboxTimeoutError (TimeoutError) the sandbox stopped answering

In a batch, a :class:`SandboxError` on a job is retried once and then reported as
status ``sandbox_error`` on that job's outcomes, never as ``failed`` or ``timeout``.
"""

from __future__ import annotations

__all__ = [
    "AcecoderError",
    "AcesandboxError",
    "BackendNotFoundError",
    "InvalidJobError",
    "SandboxCrashedError",
    "SandboxError",
    "SandboxTimeoutError",
    "SandboxUnavailableError",
    "TestSyntaxError",
]


class AcecoderError(Exception):
    """Base of every exception raised by the toolkit (acesandbox, harness, benchmarks, rm_rl)."""


class AcesandboxError(AcecoderError):
    """Base of every exception raised by acesandbox."""


class InvalidJobError(AcesandboxError, ValueError):
    """The caller passed an invalid program, test or limit; the message names the field."""


class TestSyntaxError(InvalidJobError):
    """A test's source does not parse as Python."""

    __test__ = False  # not a pytest test class


class BackendNotFoundError(AcesandboxError, LookupError):
    """No backend of that name, or the extra that provides it is not installed."""


class SandboxError(AcesandboxError):
    """The sandbox failed to run the job; the program is not to blame."""


class SandboxUnavailableError(SandboxError):
    """The host lacks a capability the chosen backend needs; the message names the fix."""


class SandboxCrashedError(SandboxError):
    """The sandbox process died unexpectedly or violated its protocol."""


class SandboxTimeoutError(SandboxError, TimeoutError):
    """The sandbox stopped answering within its own deadline."""
