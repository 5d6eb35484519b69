"""Dockerfile recipes: the sandbox image on a registry base, and the BigCodeBench variant.

These need a registry (for the base) and, for BigCodeBench, PyPI; offline hosts use the
rootfs recipes in :mod:`acesandbox.images.rootfs` instead. Each Dockerfile expects a
which build context also holds the in-sandbox server (``acesandbox/``), copied read-only
to ``/opt/acesandbox``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "BIGCODEBENCH_BASE",
    "BIGCODEBENCH_REQUIREMENTS",
    "bigcodebench_dockerfile",
    "bigcodebench_requirements",
    "dockerfile",
    "label_lines",
]

BIGCODEBENCH_BASE = "python:3.10-slim"
"""BigCodeBench's tasks were validated on Python 3.10."""

# The libraries BigCodeBench's tasks import, at the versions its evaluation pins.
BIGCODEBENCH_REQUIREMENTS: tuple[str, ...] = (
    "beautifulsoup4==4.8.2",
    "blake3==0.4.1",
    "chardet==5.2.0",
    "cryptography==38.0.0",
    "datetime==5.5",
    "Django==4.2.7",
    "dnspython==2.6.1",
    "docxtpl==0.11.5",
    "Faker==20.1.0",
    "flask_login==0.6.3",
    "flask_restful==0.3.10",
    "flask_wtf==1.2.1",
    "Flask-Mail==0.9.1",
    "flask==3.0.3",
    "folium==0.16.0",
    "gensim==4.3.2",
    "geopandas==0.13.2",
    "geopy==2.4.1",
    "holidays==0.29",
    "keras==2.11.0",
    "Levenshtein==0.25.0",
    "librosa==0.10.1",
    "lxml==4.9.3",
    "matplotlib==3.7.0",
    "mechanize==0.4.9",
    "natsort==7.1.1",
    "networkx==2.6.3",
    "nltk==3.8",
    "numba==0.55.0",
    "numpy==1.21.2",
    "opencv-python-headless==4.9.0.80",
    "openpyxl==3.1.2",
    "pandas==2.0.3",
    "Pillow==10.3.0",
    "prettytable==3.10.0",
    "psutil==5.9.5",
    "pycryptodome==3.14.1",
    "pyfakefs==5.4.1",
    "pyquery==1.4.3",
    "pytesseract==0.3.10",
    "pytest==8.2.0",
    "python_http_client==3.3.7",
    "python-dateutil==2.9.0",
    "python-docx==1.1.0",
    "pytz==2023.3.post1",
    "PyYAML==6.0.1",
    "requests_mock==1.11.0",
    "requests==2.31.0",
    "rsa==4.9",
    "scikit-image==0.18.0",
    "scikit-learn==1.3.1",
    "scipy==1.7.2",
    "seaborn==0.13.2",
    "selenium==4.15.2",
    "sendgrid==6.11.0",
    "shapely==2.0.4",
    "soundfile==0.12.1",
    "statsmodels==0.14.0",
    "sympy==1.12",
    "tensorflow==2.11.1",
    "textblob==0.18.0",
    "texttable==1.7.0",
    "Werkzeug==3.0.1",
    "wikipedia==1.4.0",
    "wordcloud==1.9.3",
    "wordninja==2.0.0",
    "WTForms==3.1.2",
    "xlrd==2.0.1",
    "xlwt==1.3.0",
    "xmltodict==0.13.0",
)

# System libraries those wheels load at run time (fonts and image/audio/geo codecs).
_BIGCODEBENCH_APT: tuple[str, ...] = (
    "libfreetype6",
    "libpng16-16",
    "libgdal-dev",
    "libsndfile1",
    "tesseract-ocr",
    "procps",
)


def label_lines(labels: Mapping[str, str]) -> list[str]:
    return [f'LABEL {key}="{value}"' for key, value in sorted(labels.items())]


def dockerfile(base: str, labels: Mapping[str, str], run: Sequence[str] = (), user: int = 65534) -> str:
    """A Dockerfile for the sandbox image on ``base`` (any image with ``python3``)."""
    lines = [f"FROM {base}", *label_lines(labels)]
    lines += [f"RUN {cmd}" for cmd in run]
    lines += [
        # The in-sandbox server, owned by root and read-only for the sandbox user (the
        # context's files are 0644); no RUN, so a base without a shell works too.
        "COPY acesandbox /opt/acesandbox/acesandbox",
        f"USER {user}:{user}",
        "WORKDIR /tmp",
    ]
    return "\n".join(lines) + "\n"


BIGCODEBENCH_NLTK_DATA = ("averaged_perceptron_tagger", "punkt", "stopwords", "vader_lexicon", "words", "wordnet")
"""NLTK data packages the BigCodeBench image holds."""


def bigcodebench_dockerfile(base: str, labels: Mapping[str, str]) -> str:
    """The BigCodeBench variant: ``base`` plus the libraries its tasks import, from PyPI."""
    apt = " ".join(_BIGCODEBENCH_APT)
    run = [
        f"apt-get update && apt-get install -y --no-install-recommends {apt} && rm -rf /var/lib/apt/lists/*",
        "python3 -m pip install --no-cache-dir --upgrade pip",
        "python3 -m pip install --no-cache-dir -r /tmp/requirements-bigcodebench.txt && rm /tmp/requirements-bigcodebench.txt",
        # Data the tasks load at run time (every package a v0.1.0 prompt or test downloads, as
        # benchmarks.bcb_env.NLTK_PACKAGES, plus wordnet); the sandbox has no network then.
        "python3 -m nltk.downloader -d /usr/local/share/nltk_data " + " ".join(BIGCODEBENCH_NLTK_DATA),
    ]
    text = dockerfile(base, labels, run=run)
    # The requirements file travels in the build context.
    return text.replace(f"FROM {base}\n", f"FROM {base}\nCOPY requirements-bigcodebench.txt /tmp/requirements-bigcodebench.txt\n", 1)


def bigcodebench_requirements() -> str:
    return "\n".join(BIGCODEBENCH_REQUIREMENTS) + "\n"
