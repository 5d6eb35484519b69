"""One flag vocabulary for every command that runs sandboxes.

The flags are generated from the fields of :class:`~acesandbox.SandboxConfig`,
:class:`~acesandbox.Limits` and :class:`~acesandbox.Job`, so each help text lives in one
place (the field's metadata) and every command spells a setting the same way:

    --sandbox NAME  --workers N  --memory-mb MB  --scratch-mb MB  --max-processes N
    --python PATH  --preload MODULE   (sandbox flags)
    --timeout-s SECONDS  --mode MODE  --compare MODE  --stop-on-failure   (job flags)

A command adds them with :func:`add_sandbox_options` / :func:`add_job_options` and builds
the values back with :func:`sandbox_from_args` / :func:`job_options_from_args`. Values are
checked where they are used (SandboxConfig, Limits), so a bad one is an error naming the
field, the same from every command.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Collection, Mapping
from typing import Any

from .._spec import Job, Limits, SandboxConfig

__all__ = [
    "JOB_FLAGS",
    "SANDBOX_FLAGS",
    "add_job_options",
    "add_sandbox_options",
    "job_options_from_args",
    "sandbox_from_args",
]

SANDBOX_FLAGS: dict[str, str] = {
    "backend": "--sandbox",
    "workers": "--workers",
    "memory_mb": "--memory-mb",
    "scratch_mb": "--scratch-mb",
    "max_processes": "--max-processes",
    "python": "--python",
    "preload": "--preload",
}
"""SandboxConfig field -> its flag (``options`` is backend-specific and has none)."""

JOB_FLAGS: dict[str, str] = {
    "timeout_s": "--timeout-s",
    "mode": "--mode",
    "compare": "--compare",
    "stop_on_failure": "--stop-on-failure",
}
"""Limits or Job field -> its flag."""

_METAVARS = {"backend": "NAME", "workers": "N", "max_processes": "N", "python": "PATH", "preload": "MODULE"}
_Group = Any  # an ArgumentParser or one of its argument groups


def _dest(name: str) -> str:
    """Where a sandbox flag's value lands on the parsed arguments (``--sandbox``: ``args.sandbox``)."""
    return "sandbox" if name == "backend" else name


def _fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _selected(flags: Mapping[str, str], only: Collection[str] | None) -> list[str]:
    if only is None:
        return list(flags)
    unknown = set(only) - set(flags)
    if unknown:
        raise ValueError(f"no shared flag for {sorted(unknown)}; known: {sorted(flags)}")
    return [name for name in flags if name in only]


def _default_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return f" (default: {', '.join(value) or 'none'})"
    return f" (default: {value})"


def add_sandbox_options(
    parser: _Group, *, defaults: SandboxConfig | None = None, only: Collection[str] | None = None
) -> None:
    """Add the sandbox flags (all, or the SandboxConfig fields named in ``only``).

    Flags left out keep ``defaults``' values (default: ``SandboxConfig()``'s), which the
    help text shows.
    """
    base = defaults if defaults is not None else SandboxConfig()
    info = _fields(SandboxConfig)
    for name in _selected(SANDBOX_FLAGS, only):
        help_text = str(info[name].metadata["help"]) + _default_text(getattr(base, name))
        kwargs: dict[str, Any] = {"dest": _dest(name), "default": None, "help": help_text}
        if name == "preload":
            kwargs.update(action="append", metavar="MODULE", help=help_text + "; repeatable")
        else:
            kwargs["metavar"] = _METAVARS.get(name, "MB")
            if name in ("workers", "memory_mb", "scratch_mb", "max_processes"):
                kwargs["type"] = int
        parser.add_argument(SANDBOX_FLAGS[name], **kwargs)


def sandbox_from_args(args: argparse.Namespace, base: SandboxConfig | None = None) -> SandboxConfig:
    """``base`` (default: ``SandboxConfig()``) with every sandbox flag given on the command line.

    Raises InvalidJobError (naming the field) for a value SandboxConfig refuses.
    """
    config = base if base is not None else SandboxConfig()
    changes: dict[str, Any] = {}
    for name in SANDBOX_FLAGS:
        value = getattr(args, _dest(name), None)
        if value is not None:
            changes[name] = tuple(value) if name == "preload" else value
    return dataclasses.replace(config, **changes) if changes else config


def _choices(cls: type, name: str) -> tuple[str, ...]:
    hint = typing.get_type_hints(cls)[name]
    return tuple(str(c) for c in typing.get_args(hint))


def add_job_options(
    parser: _Group, *, defaults: Mapping[str, Any] | None = None, only: Collection[str] | None = None
) -> None:
    """Add the job flags (all, or those named in ``only``); ``defaults`` overrides Limits/Job defaults."""
    given = dict(defaults or {})
    limits, job = _fields(Limits), _fields(Job)
    for name in _selected(JOB_FLAGS, only):
        f = limits.get(name) or job[name]
        default = given.get(name, f.default)
        help_text = str(f.metadata["help"])
        flag = JOB_FLAGS[name]
        if name == "stop_on_failure":
            parser.add_argument(flag, dest=name, action="store_true", default=bool(default), help=help_text)
        elif name == "timeout_s":
            parser.add_argument(
                flag, dest=name, type=float, default=default, metavar="SECONDS",
                help=help_text + f"; its wall time may reach 3 * SECONDS + 1 (default: {default})",
            )
        else:
            parser.add_argument(
                flag, dest=name, choices=_choices(Job, name), default=default, help=help_text + f" (default: {default})"
            )


def job_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The job flags present on ``args``, by field name (``timeout_s``, ``mode``, ...)."""
    return {name: getattr(args, name) for name in JOB_FLAGS if hasattr(args, name)}
