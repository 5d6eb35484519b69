"""The benchmarks exception tree.

What a *program* does is a verdict (:class:`~benchmarks.verdicts.Verdict`), never an
exception. Exceptions mean bad input (a dataset, a samples file, an option), a missing
optional dependency, or a benchmark that cannot run on this host::

    AcecoderError                                  (acesandbox.errors: the toolkit's root)
    └── BenchmarkError (ValueError)                bad benchmark input: names the file, line or field
        ├── BenchmarkNotFoundError (LookupError)   unknown benchmark name (lists the known ones)
        ├── MissingLibraryError                    a BigCodeBench task needs a library this host lacks
        ├── MissingExtraError (ImportError)        an optional dependency is not installed (names the extra)
        └── DataDirError                           no data folder given, or it does not exist (names the option)
"""

from __future__ import annotations

from acesandbox.errors import AcecoderError

__all__ = [
    "BenchmarkError",
    "BenchmarkNotFoundError",
    "DataDirError",
    "MissingExtraError",
    "MissingLibraryError",
]


class BenchmarkError(AcecoderError, ValueError):
    """Bad benchmark input (a dataset or samples file, an option): the message names what and where."""


class BenchmarkNotFoundError(BenchmarkError, LookupError):
    """No benchmark is registered under that name."""


class MissingLibraryError(BenchmarkError):
    """A task needs a library that this host cannot import."""


class MissingExtraError(BenchmarkError, ImportError):
    """An optional dependency is missing; the message names the pip extra that installs it."""


class DataDirError(BenchmarkError):
    """The shared data folder was not given or does not exist; the message names the option to set."""
