"""Entry script of the in-sandbox server: ``python -I -S -B .../acesandbox/_sandbox/server.py``.

Isolated mode puts no directory of ours on ``sys.path`` (a program must not import our
modules by accident, nor shadow them), so this script loads its folder as the private
package ``_acesandbox_rt._sandbox`` by path, without running ``acesandbox/__init__.py``
(the image holds only the server's files and ``_wire.py``), then runs its main loop
(with ``--template``: a fork template the server restarts, see ``template.py``).
"""

import importlib
import os
import sys
import types


def _load() -> types.ModuleType:
    root = types.ModuleType("_acesandbox_rt")
    root.__path__ = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    sys.modules["_acesandbox_rt"] = root
    return importlib.import_module("_acesandbox_rt._sandbox.loop")


if __name__ == "__main__":
    if sys.argv[1:] == ["--template"]:  # a fork template restarted by the server
        _load().template_main()
    else:
        _load().main()
