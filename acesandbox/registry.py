"""One registry helper for every "choose an implementation by name" in the toolkit.

Sandbox backends, trusted judges, generators and benchmarks are all looked up the same
way: names are case-insensitive, targets are ``"module:attr"`` strings imported only
when chosen (or objects registered directly), entry points of an optional group are
consulted after the built-in names, and a failed import names the extra to install.

>>> reg = Registry("codec", {"json": "json:dumps"})
>>> reg.load("JSON")([1])
'[1]'
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Names mapped to lazily imported implementations of one kind.

    ``kind`` names the thing in messages ("backend", "judge"); ``extras`` maps a name to
    the pip extra that provides it; ``group`` is an entry-point group searched after the
    registered names; ``error`` is the exception raised for an unknown or unloadable
    name (a ``LookupError`` or ``ValueError`` subclass of the caller's package).
    """

    def __init__(
        self,
        kind: str,
        targets: Mapping[str, Any] | None = None,
        *,
        extras: Mapping[str, str] | None = None,
        group: str | None = None,
        error: type[Exception] = LookupError,
    ) -> None:
        self.kind = kind
        self.group = group
        self.error = error
        self._extras = {self._key(k): v for k, v in (extras or {}).items()}
        self._targets: dict[str, Any] = {}
        self._loaded: dict[str, T] = {}
        self._lock = threading.Lock()
        for name, target in (targets or {}).items():
            self.register(name, target)

    @staticmethod
    def _key(name: str) -> str:
        return name.strip().lower()

    def register(self, name: str, target: Any) -> None:
        """Register ``target`` (a ``"module:attr"`` string or the object itself) as ``name``."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        if isinstance(target, str) and ":" not in target:
            raise ValueError(f"{self.kind} {name!r}: target must be 'module:attr', got {target!r}")
        key = self._key(name)
        with self._lock:
            self._targets[key] = target
            self._loaded.pop(key, None)

    def _entry_points(self) -> dict[str, Any]:
        if self.group is None:
            return {}
        from importlib.metadata import entry_points

        return {self._key(ep.name): ep for ep in entry_points(group=self.group)}

    def names(self) -> list[str]:
        """Every name this registry can load (registered, then installed entry points)."""
        return sorted(set(self._targets) | set(self._entry_points()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) in self.names()

    def load(self, name: str) -> T:
        """The implementation called ``name``, imported now; ``error`` naming the choices or the extra."""
        if not isinstance(name, str):
            raise self.error(f"a {self.kind} name must be a string, got {type(name).__name__}")
        key = self._key(name)
        with self._lock:
            if key in self._loaded:
                return self._loaded[key]
            target = self._targets.get(key)
        if target is None:
            ep = self._entry_points().get(key)
            if ep is None:
                raise self.error(f"unknown {self.kind} {name!r}; choose one of {self.names()}")
            target = ep.value
        if not isinstance(target, str):
            return target  # type: ignore[no-any-return]
        module_name, _, attr = target.partition(":")
        try:
            value = getattr(importlib.import_module(module_name), attr)
        except ImportError as exc:
            extra = self._extras.get(key)
            hint = f"; install it with: pip install 'acecoder-toolkit[{extra}]'" if extra else ""
            raise self.error(f"{self.kind} {name!r} is not available: {exc}{hint}") from exc
        except AttributeError as exc:
            raise self.error(f"{self.kind} {name!r} ({target}) cannot be loaded: {exc}") from exc
        with self._lock:
            self._loaded[key] = value
        return value  # type: ignore[no-any-return]
