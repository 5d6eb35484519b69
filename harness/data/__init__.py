"""Bundled demo data: a small seed set, recorded LLM answers for it, and a pipeline config.

``seeds.jsonl`` holds 32 seed snippets (one without code, to show how bad input is
counted); ``replay.jsonl`` holds the answers the ``replay`` backend serves for the
synthesis, filtering and sampling prompts of those seeds; ``pipeline.toml`` runs the
whole pipeline on them offline. ``python -m harness.data.build`` rewrites both files
from ``harness/data/build.py`` after a prompt template changes.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["bundled_path"]


def bundled_path(name: str) -> Path:
    """Filesystem path of a bundled data file (``seeds.jsonl``, ``replay.jsonl``, ``pipeline.toml``)."""
    return Path(str(resources.files(__name__) / name))
