"""Entry script of the in-sandbox server: ``python -I -S -B .../acesandbox/_sandbox/server.py``.

Isolated mode puts no directory of ours on ``sys.path`` (a program must not import our
modules by accident, nor shadow them), so this script loads its folder as the private
package ``_acesandbox_rt._sandbox`` by path, without running ``acesandbox/__init__.py``
(the image holds only the server's files and ``_wire.py``), then runs its main loop
(with ``--template``: a fork template the server restarts, see ``template.py``).
"""

from __future__ import annotations

import importlib
import os
import sys
import types

TYPE_CHECKING = False  # no typing at run time (see __init__.py)
if TYPE_CHECKING:
    from typing import Any


class ForkHooks:
    """``os.register_at_fork``, counting its calls (``ace_calls``): installed before anything
    else is imported, so the fork template knows whether its forks need CPython's fork
    hooks (see ``template._clone_parent``)."""

    def __init__(self, register: Any) -> None:
        self.register = register
        self.ace_calls = 0

    def __call__(self, **hooks: Any) -> None:
        self.ace_calls += 1
        self.register(**hooks)


def _load() -> types.ModuleType:
    root = types.ModuleType("_acesandbox_rt")
    root.__path__ = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    sys.modules["_acesandbox_rt"] = root
    return importlib.import_module("_acesandbox_rt._sandbox.loop")


if __name__ == "__main__":
    os.register_at_fork = ForkHooks(os.register_at_fork)
    if sys.argv[1:] == ["--template"]:  # a fork template restarted by the server
        _load().template_main()
    else:
        _load().main()
