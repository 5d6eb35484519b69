"""Evaluator releases: which evalplus rules score a run (``acecoder bench humaneval+ --evalplus-release``).

A published EvalPlus number was scored by one evalplus version; its comparison rules and
time limits differ from today's (:data:`benchmarks.evalplus.judge.PROFILES`). A release
here names one profile plus what that version's official runs show beyond its code
(:data:`OBSERVED_FLAGS`), exactly as ``verify-official`` judges each official run, so a
user rescoring a 2024 result file gets that file's verdicts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import BenchmarkError
from .judge import DEFAULT_PROFILE, PROFILES

__all__ = ["DEFAULT_RELEASE", "OBSERVED_FLAGS", "RELEASES", "Release", "release_of_profile", "resolve_release"]

OBSERVED_FLAGS: dict[str, dict[str, Any]] = {"2024-02": {"allclose": "never"}, "2024-05": {"allclose": "never"}}
"""What the 2024-02/2024-05 official runs show, beyond their code: no inexact float output ever
passed (HumanEval/4 and /21 fail at their first last-bit difference in all 14 such runs; see
:data:`benchmarks.evalplus.KNOWN_DIFFERENCES`)."""


@dataclass(frozen=True)
class Release:
    """One evalplus version whose rules can score a run."""

    name: str = field(metadata={"help": "what --evalplus-release accepts"})
    profile: str = field(metadata={"help": "the judge profile (benchmarks.evalplus.judge.PROFILES key)"})
    made: str = field(metadata={"help": "which evalplus code this is"})
    judge_flags: Mapping[str, Any] = field(default_factory=dict,
                                           metadata={"help": "flags beyond the profile, observed in official runs"})

    def describe(self, judge_flags: Mapping[str, Any] | None = None) -> str:
        """The rules in one line, for the terminal and the summary (``judge_flags``: those in force)."""
        flags = dict(PROFILES[self.profile], **(self.judge_flags if judge_flags is None else judge_flags))
        floats = {"assert_allclose": "np.testing.assert_allclose", "allclose_typed": "np.allclose with type and length checks",
                  "never": "no inexact float passes (observed in every official run of this version)"}[flags["allclose"]]
        cap = "no cap" if flags["timeout_cap"] is None else f"{flags['timeout_cap']:g} s cap per check"
        return (f"evalplus {self.name} ({self.made}; profile {self.profile}): floats: {floats}; find_zero: "
                f"{flags['find_zero']}; per-call limit max({flags['min_time_limit']:g} s, 4 x ground truth), {cap}")


RELEASES: dict[str, Release] = {
    r.name: r
    for r in (
        Release("0.2.0", "2024-01-v0.2.0", "0.2.0 with fixes to 2023-12-22: the ganler/evalplus image of January 2024"),
        Release("2024-01-24", "2024-01-28d05f6", "git 28d05f6, between 0.2.0 and 0.2.1"),
        Release("2024-02", "2024-02", "git of 2024-02-12 to 2024-03-25", OBSERVED_FLAGS["2024-02"]),
        Release("2024-05", "2024-05", "git of 2024-03-26 to 2024-10-31, checked at de8c082", OBSERVED_FLAGS["2024-05"]),
        Release("0.3.1", "v0.3.1", "PyPI 0.3.1, 2024-10-20"),
        Release("latest", "latest", "evalplus master since 6eb1e19, 2024-11-01"),
    )
}
"""The releases by name; :func:`resolve_release` also takes a date or an official result file."""

DEFAULT_RELEASE = "latest"
assert RELEASES[DEFAULT_RELEASE].profile == DEFAULT_PROFILE

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$")


def release_of_profile(profile: str) -> Release:
    return next(r for r in RELEASES.values() if r.profile == profile)


def resolve_release(spec: str | None) -> Release:
    """A release by name, by the date a run was made (``2024-05-10``), or by an official
    ``*_eval_results.json`` (its date and format, as ``verify-official`` reads them)."""
    from .official import read_official_results, run_profile

    if spec is None or spec == "":
        return RELEASES[DEFAULT_RELEASE]
    text = str(spec).strip()
    if text in RELEASES:
        return RELEASES[text]
    if text.lstrip("v") in RELEASES:
        return RELEASES[text.lstrip("v")]
    if text.endswith(".json") and os.path.isfile(text):
        header, _rows = read_official_results(text)
        return release_of_profile(run_profile(header))
    if _DATE.match(text):
        if text < "2024-01-24":
            return RELEASES["0.2.0"]
        if text < "2024-02-12":
            return RELEASES["2024-01-24"]
        return release_of_profile(run_profile({"date": text, "format": "new"}))
    raise BenchmarkError(
        f"unknown evalplus release {spec!r}: choose one of {', '.join(RELEASES)}, a run's date (YYYY-MM-DD) or its "
        "*_eval_results.json (older releases such as 0.1.x have no profile here: no official run of them was "
        "available to check their rules against)"
    )
