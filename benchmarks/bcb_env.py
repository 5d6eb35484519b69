"""A virtual environment with the official BigCodeBench evaluation pins, for the sandbox.

The official verdicts were made in the evaluation image built from
``Requirements/requirements-eval.txt`` of bigcode-project/bigcodebench (pandas 2.0.3,
numpy 1.21, matplotlib 3.7, scipy 1.7, scikit-learn 1.3.1 ...). Scored with today's
libraries about 3% of the official verdicts differ, and 1051 of 1136 canonical solutions
pass; scored in this environment (``acecoder bench ... --python DIR/bin/python``)
1099 to 1101 of 1136 pass (the rest: network, NLTK data, timing).

    python -m benchmarks.bcb_env DIR [--with-tensorflow] [--nltk-data LOCAL_DIR] [--nltk-only]

creates a venv at ``DIR`` (``python -m venv``), pip-installs :data:`PINS` into it, puts
the NLTK data BigCodeBench's tasks load (:data:`NLTK_PACKAGES`) in ``DIR/nltk_data``, and
writes what it did to ``DIR/acecoder-manifest.json`` (:data:`MANIFEST`). Python 3.11 has no
wheels for some of the official pins; those use the closest release that has cp311 wheels
(see :data:`PY311_BUMPS`). TensorFlow / Keras (about 600 MB, 2 tasks' libraries) are left
out unless asked for.

NLTK data: the official evaluation image installs none (its ``Docker/Evaluate.Dockerfile``
has no NLTK step in any version); the tasks' own ``nltk.download(...)`` calls fetched it
at run time, online, into the evaluating user's ``~/nltk_data``, on nltk's default search
path, where later programs (334, 940 and 1109 call no download) found it. The sandbox has
no network and a fresh home, so the recipe fetches the same packages ahead of time with
nltk's downloader when this machine is online, or copies them from ``--nltk-data
LOCAL_DIR`` (or ``$ACECODER_NLTK_DATA``) on an offline one; the BigCodeBench scorer then
points ``NLTK_DATA`` at ``DIR/nltk_data`` in each program (the sandbox runs the base
interpreter with the venv's packages, so nltk's ``sys.prefix`` search path misses it).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import BenchmarkError

__all__ = [
    "EXTRA_PINS",
    "MANIFEST",
    "NLTK_DATA_ENV",
    "NLTK_DIR",
    "NLTK_PACKAGES",
    "NO_DEPS_PINS",
    "OFFICIAL_PINS",
    "PINS",
    "PY311_BUMPS",
    "TENSORFLOW_PINS",
    "NltkData",
    "NltkPlan",
    "build_env",
    "env_nltk_dir",
    "install_nltk_data",
    "main",
    "nltk_data",
    "nltk_download_argv",
    "nltk_plan",
    "read_manifest",
]

OFFICIAL_PINS: tuple[str, ...] = (
    "beautifulsoup4==4.8.2", "blake3==0.4.1", "chardet==5.2.0", "cryptography==38.0.0", "datetime==5.5",
    "Django==4.2.7", "dnspython==2.6.1", "docxtpl==0.11.5", "Faker==20.1.0", "flask_login==0.6.3",
    "flask_restful==0.3.10", "flask_wtf==1.2.1", "Flask-Mail==0.9.1", "flask==3.0.3", "folium==0.16.0",
    "gensim==4.3.2", "geopandas==0.13.2", "geopy==2.4.1", "holidays==0.29", "keras==2.11.0",
    "Levenshtein==0.25.0", "librosa==0.10.1", "lxml==4.9.3", "matplotlib==3.7.0", "mechanize==0.4.9",
    "natsort==7.1.1", "networkx==2.6.3", "nltk==3.8", "numba==0.55.0", "numpy==1.21.2",
    "opencv-python-headless==4.9.0.80", "openpyxl==3.1.2", "pandas==2.0.3", "Pillow==10.3.0",
    "prettytable==3.10.0", "psutil==5.9.5", "pycryptodome==3.14.1", "pyfakefs==5.4.1", "pyquery==1.4.3",
    "pytesseract==0.3.10", "pytest==8.2.0", "python_http_client==3.3.7", "python-dateutil==2.9.0",
    "python-docx==1.1.0", "python-Levenshtein-wheels", "pytz==2023.3.post1", "PyYAML==6.0.1",
    "requests_mock==1.11.0", "requests==2.31.0", "rsa==4.9", "scikit-image==0.18.0", "scikit-learn==1.3.1",
    "scipy==1.7.2", "seaborn==0.13.2", "selenium==4.15.", "sendgrid==6.11.0", "shapely==2.0.4",
    "soundfile==0.12.1", "statsmodels==0.14.0", "sympy==1.12", "tensorflow==2.11.1", "textblob==0.18.0",
    "texttable==1.7.0", "Werkzeug==3.0.1", "wikipedia==1.4.0", "wordcloud==1.9.3", "wordninja==2.0.0",
    "WTForms==3.1.2", "xlrd==2.0.1", "xlwt==1.3.0", "xmltodict==0.13.0",
)
"""``Requirements/requirements-eval.txt`` of bigcode-project/bigcodebench, as written (duplicates dropped)."""

PY311_BUMPS: dict[str, str] = {
    "numpy==1.21.2": "numpy==1.23.5",  # first cp311 wheels: 1.23.2; pandas 2.0.3 and opencv 4.9 need >= 1.23.2 / 1.23.5 there
    "scipy==1.7.2": "scipy==1.9.3",  # first cp311 wheels: 1.9.2 (statsmodels 0.14 excludes 1.9.2)
    "numba==0.55.0": "numba==0.57.1",  # first release for Python 3.11: 0.57
    "scikit-image==0.18.0": "",  # no cp311 wheel; see NO_DEPS_PINS
    "selenium==4.15.": "selenium==4.15.2",  # the official line is truncated; the last 4.15 release
    "python-Levenshtein-wheels": "",  # unpinned, no cp311 wheel; Levenshtein==0.25.0 provides the module
    "tensorflow==2.11.1": "",  # no cp311 wheel; see TENSORFLOW_PINS
    "keras==2.11.0": "",
}
"""Official pin -> what Python 3.11 installs instead ("" = left out)."""

EXTRA_PINS: tuple[str, ...] = ("fiona==1.9.6", "imageio", "tifffile", "PyWavelets", "lazy_loader")
"""Transitive pins: geopandas 0.13 predates fiona 1.10 (which it cannot read files with);
scikit-image's own dependencies (it is installed without them, see :data:`NO_DEPS_PINS`)."""

NO_DEPS_PINS: tuple[str, ...] = ("scikit-image==0.20.0",)
"""Installed after the rest, without dependencies: scikit-image 0.20 (the first with cp311
wheels, for the official 0.18.0) asks for networkx >= 2.8, the official pin is 2.6.3."""

TENSORFLOW_PINS: tuple[str, ...] = ("tensorflow-cpu==2.12.1", "keras==2.12.0")
"""The closest TensorFlow / Keras with cp311 wheels (``--with-tensorflow``; about 600 MB more)."""

PINS: tuple[str, ...] = tuple(
    p for p in (PY311_BUMPS.get(pin, pin) for pin in OFFICIAL_PINS) if p
) + EXTRA_PINS
"""What :func:`build_env` installs on Python 3.11."""


NLTK_PACKAGES: dict[str, str] = {
    "averaged_perceptron_tagger": "taggers/averaged_perceptron_tagger",
    "punkt": "tokenizers/punkt",
    "stopwords": "corpora/stopwords",
    "vader_lexicon": "sentiment/vader_lexicon.zip",
    "words": "corpora/words",
}
"""NLTK data package -> the resource nltk loads from it: every package a BigCodeBench v0.1.0
prompt or test downloads (``nltk.download(...)``), the data the official image held once
its programs had run."""

NLTK_DIR = "nltk_data"
"""Where the NLTK data goes inside the venv (``DIR/nltk_data``)."""

NLTK_DATA_ENV = "ACECODER_NLTK_DATA"
"""The environment variable ``python -m benchmarks.bcb_env`` reads as ``--nltk-data``'s default."""

MANIFEST = "acecoder-manifest.json"
"""The file in the venv that records what the recipe installed, NLTK data included."""

_NLTK_DOWNLOAD = """
import json, sys
import nltk
errors = {}
for package in sys.argv[2:]:
    try:
        nltk.download(package, download_dir=sys.argv[1], quiet=True, raise_on_error=True)
    except Exception as exc:
        errors[package] = f"{type(exc).__name__}: {exc}"
print(json.dumps(errors))
"""
"""Run by the venv's interpreter: its own nltk's downloader, one package at a time."""


@dataclass(frozen=True)
class NltkPlan:
    """Where the recipe puts the NLTK data and where it gets it."""

    target: pathlib.Path = field(metadata={"help": "the folder in the venv the data goes to (DIR/nltk_data)"})
    source: pathlib.Path | None = field(
        default=None, metadata={"help": "a local folder in nltk_data layout to copy from; None: nltk's downloader (online)"})
    packages: tuple[str, ...] = field(default=tuple(NLTK_PACKAGES), metadata={"help": "NLTK data packages wanted"})

    def describe(self) -> str:
        how = f"copied from {self.source}" if self.source is not None else "fetched with nltk's downloader"
        return f"NLTK data ({', '.join(self.packages)}) {how} into {self.target}"


@dataclass(frozen=True)
class NltkData:
    """Which of :data:`NLTK_PACKAGES` a folder holds, and how it got them."""

    folder: str = field(metadata={"help": "the folder looked at"})
    found: tuple[str, ...] = field(default=(), metadata={"help": "packages whose resource is there"})
    missing: tuple[str, ...] = field(default=tuple(NLTK_PACKAGES), metadata={"help": "packages whose resource is not"})
    source: str = field(default="", metadata={"help": "how the recipe filled it: 'downloader', 'local DIR', or ''"})
    error: str = field(default="", metadata={"help": "why packages are missing, naming the fix ('' when none are)"})

    @property
    def present(self) -> bool:
        """Every package is there."""
        return not self.missing

    def describe(self) -> str:
        if self.present:
            return f"NLTK corpora present ({', '.join(self.found)}) at {self.folder}"
        return f"NLTK corpora not present in this environment (missing {', '.join(self.missing)} at {self.folder})"

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "present": self.present, "found": list(self.found),
                "missing": list(self.missing), "source": self.source, "error": self.error}


def nltk_plan(env_dir: str | os.PathLike[str], local: str | os.PathLike[str] | None = None) -> NltkPlan:
    """The plan for the venv at ``env_dir``: copy ``local`` (a folder in nltk_data layout), or download."""
    target = pathlib.Path(env_dir).absolute() / NLTK_DIR
    if local is None or str(local) == "":
        return NltkPlan(target)
    source = pathlib.Path(local).expanduser().absolute()
    if not source.is_dir():
        raise BenchmarkError(f"--nltk-data {local}: no such folder (give a folder laid out as nltk's downloader "
                             f"writes it: {', '.join(sorted(set(NLTK_PACKAGES.values())))})")
    if source == target:
        raise BenchmarkError(f"--nltk-data {local} is the venv's own NLTK folder; give the folder to copy from")
    return NltkPlan(target, source)


def nltk_download_argv(python: str | os.PathLike[str], plan: NltkPlan) -> list[str]:
    """The command that fetches ``plan``'s packages with the venv's own nltk (prints a JSON map of errors)."""
    return [str(python), "-c", _NLTK_DOWNLOAD, str(plan.target), *plan.packages]


def _has(folder: pathlib.Path, resource: str) -> bool:
    """nltk.data.find's layouts: the resource itself, or its zip (``corpora/stopwords.zip``)."""
    path = folder / resource
    return path.exists() or path.with_name(path.name + ".zip").exists()


def nltk_data(folder: str | os.PathLike[str], *, source: str = "", error: str = "") -> NltkData:
    """Which of :data:`NLTK_PACKAGES` ``folder`` holds (a file check, as nltk.data.find looks)."""
    where = pathlib.Path(folder)
    found = tuple(p for p, resource in NLTK_PACKAGES.items() if _has(where, resource))
    missing = tuple(p for p in NLTK_PACKAGES if p not in found)
    return NltkData(str(where), found, missing, source, error if missing else "")


def _no_nltk_data(reason: str) -> str:
    return (f"NLTK corpora not fetched ({reason}); on a machine without access to nltk's servers pass --nltk-data "
            f"DIR or set {NLTK_DATA_ENV}=DIR (a folder laid out as nltk's downloader writes it, e.g. another "
            "machine's ~/nltk_data). The venv works without them, but BigCodeBench's NLTK tasks (334, 376, 656, "
            "658, 734, 806, 808, 940, 1109) then fail where the official image passed them")


def install_nltk_data(
    python: str | os.PathLike[str],
    plan: NltkPlan,
    *,
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
) -> NltkData:
    """Carry out ``plan`` (copy the local folder, or run :func:`nltk_download_argv`); what is there after.

    A failed download is not an exception: the result's ``error`` says why and names the option."""
    plan.target.mkdir(parents=True, exist_ok=True)
    if plan.source is not None:
        shutil.copytree(plan.source, plan.target, dirs_exist_ok=True)
        got = nltk_data(plan.target, source=f"local {plan.source}")
        if got.missing:
            got = dataclasses.replace(got, error=_no_nltk_data(f"{plan.source} lacks {', '.join(got.missing)}"))
        return got
    done = run(nltk_download_argv(python, plan), capture_output=True, text=True, check=False)
    lines = (done.stdout or "").strip().splitlines()
    try:
        errors = {str(k): str(v) for k, v in json.loads(lines[-1]).items()} if done.returncode == 0 and lines else {}
    except (ValueError, AttributeError):
        errors = {}
    if done.returncode != 0:
        last = (done.stderr or "").strip().splitlines()
        errors = {"nltk": last[-1] if last else f"the downloader exited {done.returncode}"}
    got = nltk_data(plan.target, source="downloader")
    if got.missing:
        got = dataclasses.replace(got, error=_no_nltk_data(next(iter(errors.values()), "the downloader fetched nothing")))
    if not got.found and not any(plan.target.iterdir()):
        plan.target.rmdir()  # nothing fetched: no folder, so programs get no NLTK_DATA (env_nltk_dir)
    return got


def read_manifest(env_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The venv's :data:`MANIFEST` ({} when the recipe did not write one)."""
    try:
        data = json.loads((pathlib.Path(env_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_manifest(env_dir: pathlib.Path, update: Mapping[str, Any]) -> pathlib.Path:
    path = env_dir / MANIFEST
    data = dict(read_manifest(env_dir), **update, written=datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds"))
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def env_nltk_dir(python: str | os.PathLike[str] | None) -> pathlib.Path | None:
    """``DIR/nltk_data`` of the venv whose interpreter is ``python`` (``DIR/bin/python``), if it exists."""
    if not python:
        return None
    prefix = pathlib.Path(python).absolute().parent.parent
    folder = prefix / NLTK_DIR
    return folder if (prefix / "pyvenv.cfg").is_file() and folder.is_dir() else None


def _say(message: str) -> None:
    print(f"[bcb-env] {message}", flush=True)


def _size_mb(path: pathlib.Path) -> float:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total / 2**20


def build_env(
    target: str | os.PathLike[str],
    *,
    base_python: str = sys.executable,
    with_tensorflow: bool = False,
    pip_args: Sequence[str] = (),
    nltk_local: str | os.PathLike[str] | None = None,
    nltk_only: bool = False,
) -> tuple[pathlib.Path, NltkData]:
    """Create the venv at ``target`` with :data:`PINS` and the NLTK data (:func:`nltk_plan`), and
    record both in its :data:`MANIFEST`; returns its interpreter's path and the NLTK data there.

    An existing venv at ``target`` is reused (pip brings it to the pins); ``nltk_only``
    skips pip and only fetches or copies the NLTK data into an existing venv.
    """
    target = pathlib.Path(target).absolute()
    python = target / "bin" / "python"
    plan = nltk_plan(target, nltk_local)  # a bad --nltk-data fails before any work
    t0 = time.monotonic()
    if nltk_only:
        if not python.exists():
            raise BenchmarkError(f"--nltk-only: no venv at {target}; build it first: python -m benchmarks.bcb_env {target}")
        nltk = _install_nltk(python, plan)
        _write_manifest(target, {"nltk_data": nltk.to_dict()})
        return python, nltk
    if not python.exists():
        _say(f"creating the venv {target} with {base_python}")
        subprocess.run([base_python, "-m", "venv", str(target)], check=True)
    else:
        _say(f"reusing the venv {target}")
    pins = list(PINS) + (list(TENSORFLOW_PINS) if with_tensorflow else [])
    _say(f"installing {len(pins)} pinned packages (and their dependencies) ...")
    cmd = [str(python), "-m", "pip", "install", "--prefer-binary", "--disable-pip-version-check",
           "--progress-bar", "off", *pip_args, *pins]
    subprocess.run(cmd, check=True)
    _say(f"installing {', '.join(NO_DEPS_PINS)} without dependencies ...")
    subprocess.run(cmd[:cmd.index(pins[0])] + ["--no-deps", *NO_DEPS_PINS], check=True)
    probe = ("import importlib.metadata as m\n"
             "for n in ('numpy','pandas','scipy','matplotlib','scikit-learn','seaborn','statsmodels','scikit-image','networkx'):\n"
             "    print(f'  {n} {m.version(n)}')\n")
    _say("installed:")
    subprocess.run([str(python), "-c", probe], check=True)
    nltk = _install_nltk(python, plan)
    version = subprocess.run([str(python), "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    manifest = _write_manifest(target, {
        "recipe": "python -m benchmarks.bcb_env", "python": version, "pins": pins, "no_deps_pins": list(NO_DEPS_PINS),
        "with_tensorflow": with_tensorflow, "nltk_data": nltk.to_dict(), "built_on": platform.node()})
    _say(f"done in {time.monotonic() - t0:.0f} s; {_size_mb(target):.0f} MB at {target}; recorded in {manifest}")
    _say(f"use it with: --python {python}")
    return python, nltk


def _install_nltk(python: pathlib.Path, plan: NltkPlan) -> NltkData:
    _say(plan.describe() + " ...")
    got = install_nltk_data(python, plan)
    _say(got.describe())
    return got


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bcb_env", description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", help="where to create the venv")
    parser.add_argument("--python", default=sys.executable, help="the base interpreter (3.11 recommended)")
    parser.add_argument("--with-tensorflow", action="store_true", help="also install tensorflow-cpu / keras")
    parser.add_argument("--pip-arg", action="append", default=[], help="extra argument for pip install (repeatable)")
    parser.add_argument("--nltk-data", metavar="LOCAL_DIR", default=os.environ.get(NLTK_DATA_ENV) or None,
                        help="copy the NLTK data from this folder (nltk_data layout) instead of downloading it, for "
                             f"machines that cannot reach nltk's servers (default: ${NLTK_DATA_ENV})")
    parser.add_argument("--nltk-only", action="store_true",
                        help="only fetch or copy the NLTK data into the existing venv at DIR (no pip)")
    parser.epilog = ("exit status: 0 built; 1 failed; 3 built, but the NLTK data is missing (the venv works, "
                     "BigCodeBench's NLTK tasks fail; see the message)")
    args = parser.parse_args(argv)
    try:
        _python, nltk = build_env(args.dir, base_python=args.python, with_tensorflow=args.with_tensorflow,
                                  pip_args=args.pip_arg, nltk_local=args.nltk_data, nltk_only=args.nltk_only)
    except subprocess.CalledProcessError as exc:
        _say(f"failed: {' '.join(map(str, exc.cmd[:4]))} ... exited {exc.returncode}")
        return 1
    except (BenchmarkError, OSError) as exc:
        _say(f"failed: {exc}")
        return 1
    if not nltk.present:
        _say(f"error: {nltk.error}")
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
