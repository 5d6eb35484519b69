"""The request bodies of ``/get_reward`` and ``/score``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class OpenRLHFRequest(BaseModel):
    """OpenRLHF's remote reward request (``prompts`` and ``labels`` optional)."""

    model_config = ConfigDict(extra="ignore")
    query: list[str]
    prompts: list[str] | None = None
    labels: list[Any] | None = None


class ScoreItem(BaseModel):
    """One completion of a ``/score`` request, with its tests or its dataset id."""

    model_config = ConfigDict(extra="forbid")
    completion: str | list[dict[str, Any]]
    tests: list[str | dict[str, Any]] | str | None = None
    id: str | int | None = None
    prompt: str | list[dict[str, Any]] | None = None


class ScoreRequest(BaseModel):
    """The plain ``/score`` request."""

    model_config = ConfigDict(extra="forbid")
    items: list[ScoreItem]
    reward: Literal["binary", "pass_rate"] | None = None
    details: bool = False
