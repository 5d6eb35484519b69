"""Which libraries score BigCodeBench: the official evaluation pins by default, never a mix.

BigCodeBench verdicts depend on library versions (pandas, numpy, matplotlib, scipy, ...).
The leaderboard's evaluator ran in an image with ``requirements-eval.txt``; with today's
libraries about 3 % of its verdicts differ. ``acecoder bench bigcodebench`` therefore
scores in a venv with those pins (:mod:`benchmarks.bcb_env` builds it, by default at
:func:`default_env_dir`) and says so; ``--bcb-env host`` scores with this interpreter's
libraries, labelled as not the official environment. An interpreter whose key libraries
are not the pinned versions is refused as ``pinned`` (a mix of pins and other versions
scores neither way), and an output folder holding a BigCodeBench run from another
environment is not written into (:func:`check_output_dir`).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..bcb_env import NLTK_DIR, NltkData, nltk_data, read_manifest
from ..errors import BenchmarkError

__all__ = ["KEY_LIBRARIES", "Environment", "check_output_dir", "default_env_dir", "env_nltk_data",
           "pinned_versions", "resolve_environment"]

KEY_LIBRARIES: tuple[str, ...] = ("numpy", "pandas", "scipy", "matplotlib", "scikit-learn", "seaborn", "statsmodels")
"""The libraries whose versions decide most version-dependent verdicts; checked against the pins."""


@dataclass(frozen=True)
class Environment:
    """The environment one BigCodeBench run is scored in."""

    kind: str = field(metadata={"help": "pinned (the official evaluation pins) or host (this interpreter's libraries)"})
    python: str | None = field(default=None, metadata={"help": "the interpreter programs run with (None: this one)"})
    versions: Mapping[str, str] = field(default_factory=dict, metadata={"help": "versions of KEY_LIBRARIES there"})
    nltk: NltkData | None = field(
        default=None, metadata={"help": "the NLTK data in a pinned venv (benchmarks.bcb_env.NLTK_PACKAGES); None: host"})

    @property
    def label(self) -> str:
        """One line for the terminal, the summary and the result files."""
        libs = ", ".join(f"{k} {v}" for k, v in sorted(self.versions.items()))
        if self.kind == "pinned":
            nltk = f"; {self.nltk.describe()}" if self.nltk is not None else ""
            return f"pinned: the official evaluation pins (Python 3.11 substitutes) at {self.python} ({libs}){nltk}"
        return (f"host: this interpreter's libraries ({libs or 'versions unknown'}), NOT the official environment; "
                "about 3 % of verdicts differ from the leaderboard's")


def default_env_dir() -> pathlib.Path:
    """Where ``python -m benchmarks.bcb_env`` builds the pinned venv unless told otherwise."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "acecoder" / "bigcodebench" / "pinned-venv"


def pinned_versions() -> dict[str, str]:
    """The version :mod:`benchmarks.bcb_env` pins for each of :data:`KEY_LIBRARIES`."""
    from ..bcb_env import PINS

    out: dict[str, str] = {}
    for pin in PINS:
        name, sep, version = pin.partition("==")
        if sep and name.lower() in KEY_LIBRARIES:
            out[name.lower()] = version
    return out


def _versions(python: str) -> dict[str, str]:
    probe = ("import importlib.metadata as m, json\nout = {}\n"
             f"for n in {list(KEY_LIBRARIES)!r}:\n"
             "    try:\n        out[n] = m.version(n)\n    except m.PackageNotFoundError:\n        pass\n"
             "print(json.dumps(out))\n")
    try:
        done = subprocess.run([python, "-I", "-c", probe], capture_output=True, text=True, timeout=120, check=True)
        return {str(k): str(v) for k, v in json.loads(done.stdout).items()}
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise BenchmarkError(f"cannot ask {python} for its library versions: {exc}") from None


def resolve_environment(spec: str | None = "pinned") -> Environment:
    """``pinned`` (the venv at :func:`default_env_dir`), ``host``, or a pinned venv's folder or
    interpreter. A pinned interpreter must hold the pinned versions of :data:`KEY_LIBRARIES`."""
    text = "pinned" if spec is None else str(spec)
    if text == "host":
        return Environment("host", None, _versions(sys.executable))
    where = default_env_dir() if text == "pinned" else pathlib.Path(text).expanduser()
    python = where / "bin" / "python" if where.is_dir() else where
    if not python.exists():
        raise BenchmarkError(
            f"no pinned BigCodeBench environment at {where}: build it with `python -m benchmarks.bcb_env {where}` "
            "(about 70 packages from PyPI), or score with this interpreter's libraries with --bcb-env host "
            "(not the official environment)"
        )
    versions = _versions(str(python))
    want = pinned_versions()
    wrong = {k: versions.get(k, "missing") for k, v in want.items() if versions.get(k) != v}
    if wrong:
        shown = ", ".join(f"{k} {v} (pinned {want[k]})" for k, v in sorted(wrong.items()))
        raise BenchmarkError(f"{python} is not the pinned BigCodeBench environment: {shown}; rebuild it with "
                             f"`python -m benchmarks.bcb_env {where}` or choose --bcb-env host")
    return Environment("pinned", str(python), versions, env_nltk_data(str(python)))


def env_nltk_data(python: str) -> NltkData:
    """The NLTK data in the venv of ``python`` (``DIR/bin/python``): what ``DIR/nltk_data`` holds now,
    with how the recipe filled it and why packages are missing, from its manifest."""
    prefix = pathlib.Path(python).absolute().parent.parent
    recorded = read_manifest(prefix).get("nltk_data") or {}
    now = nltk_data(prefix / NLTK_DIR, source=str(recorded.get("source") or ""))
    if now.missing:
        why = str(recorded.get("error") or "") or (
            "the venv predates the NLTK step of python -m benchmarks.bcb_env; add the data with "
            f"`python -m benchmarks.bcb_env {prefix} --nltk-only` (online) or `... --nltk-only --nltk-data DIR`")
        now = NltkData(now.folder, now.found, now.missing, now.source, why)
    return now


def check_output_dir(out_dir: str, stem: str, environment: Environment) -> None:
    """Refuse to write a run into a folder holding the same benchmark scored in another environment."""
    path = pathlib.Path(out_dir) / f"{stem}_summary.json"
    if not path.is_file():
        return
    try:
        rules = str(json.loads(path.read_text(encoding="utf-8")).get("rules") or "")
    except (OSError, ValueError):
        return
    before = rules.split(":", 1)[0].removeprefix("environment ") if rules.startswith("environment ") else "unlabelled"
    if before != environment.kind:
        raise BenchmarkError(f"{out_dir} holds a {stem} run scored in another environment ({before}); results of "
                             f"the {environment.kind} environment are not mixed into it: choose another -o")
