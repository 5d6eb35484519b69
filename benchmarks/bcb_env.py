"""A virtual environment with the official BigCodeBench evaluation pins, for the sandbox.

The official verdicts were made in the evaluation image built from
``Requirements/requirements-eval.txt`` of bigcode-project/bigcodebench (pandas 2.0.3,
numpy 1.21, matplotlib 3.7, scipy 1.7, scikit-learn 1.3.1 ...). Scored with today's
libraries about 3% of the official verdicts differ, and 1051 of 1136 canonical solutions
pass; scored in this environment (``acecoder bench ... --python DIR/bin/python``)
1099 to 1101 of 1136 pass (the rest: network, NLTK data, a ``python`` on PATH, timing).

    python -m benchmarks.bcb_env DIR [--with-tensorflow]

creates a venv at ``DIR`` (``python -m venv``) and pip-installs :data:`PINS` into it,
nothing else (no NLTK corpora, no models). Python 3.11 has no wheels for some of the
official pins; those use the closest release that has cp311 wheels (see :data:`PY311_BUMPS`).
TensorFlow / Keras (about 600 MB, 2 tasks' libraries) are left out unless asked for.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Sequence

__all__ = ["EXTRA_PINS", "NO_DEPS_PINS", "OFFICIAL_PINS", "PINS", "PY311_BUMPS", "TENSORFLOW_PINS", "build_env", "main"]

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
) -> pathlib.Path:
    """Create the venv at ``target`` with :data:`PINS`; returns its interpreter's path.

    An existing venv at ``target`` is reused (pip brings it to the pins).
    """
    target = pathlib.Path(target).absolute()
    python = target / "bin" / "python"
    t0 = time.monotonic()
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
    _say(f"done in {time.monotonic() - t0:.0f} s; {_size_mb(target):.0f} MB at {target}")
    _say(f"use it with: --python {python}")
    return python


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bcb_env", description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", help="where to create the venv")
    parser.add_argument("--python", default=sys.executable, help="the base interpreter (3.11 recommended)")
    parser.add_argument("--with-tensorflow", action="store_true", help="also install tensorflow-cpu / keras")
    parser.add_argument("--pip-arg", action="append", default=[], help="extra argument for pip install (repeatable)")
    args = parser.parse_args(argv)
    try:
        build_env(args.dir, base_python=args.python, with_tensorflow=args.with_tensorflow, pip_args=args.pip_arg)
    except subprocess.CalledProcessError as exc:
        _say(f"failed: {' '.join(map(str, exc.cmd[:4]))} ... exited {exc.returncode}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
