"""The sandbox's user database: /etc/passwd and /etc/group holding root and nobody only.

Programs run as nobody (uid and gid 65534). A correct program may look itself up
(``getpass.getuser()``, ``pwd.getpwuid(os.getuid())``, ``~`` in a path), which raises
without an entry; the host's own files would name the host's users. So every sandbox with
a filesystem of its own gets these two files, the same bytes: the namespace sandbox binds
them read-only (:mod:`.namespaces`), the docker image's root filesystem holds them
(:mod:`acesandbox.images.rootfs`).
"""

from __future__ import annotations

import os

__all__ = ["FILES", "contents"]

_HERE = os.path.dirname(os.path.abspath(__file__))

FILES: dict[str, str] = {"/etc/passwd": os.path.join(_HERE, "passwd"), "/etc/group": os.path.join(_HERE, "group")}
"""Path in the sandbox -> the file of this package that it shows."""


def contents() -> dict[str, bytes]:
    """Path in the sandbox -> the bytes it holds (for a root filesystem tarball)."""
    out = {}
    for path, source in FILES.items():
        with open(source, "rb") as f:
            out[path] = f.read()
    return out
