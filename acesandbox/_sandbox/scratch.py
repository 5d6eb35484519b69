"""Wiping the scratch directory between tests and jobs."""

from __future__ import annotations

import os


def wipe(path: str) -> None:
    """Empty the scratch directory, even where the program removed our permissions.

    Runs after every process of the program is dead. Everything in it belongs to the
    sandbox's own uid, so restoring permissions always works; symlinks are removed,
    never followed (a link to a host path must not be chmod-ed or emptied).
    """
    try:
        if not os.listdir(path):
            return
    except OSError:
        pass
    _chmod_dir(path)
    for dirpath, dirnames, _files in os.walk(path, topdown=True, onerror=None):
        for name in dirnames:
            _chmod_dir(os.path.join(dirpath, name))
    for dirpath, dirnames, filenames in os.walk(path, topdown=False, onerror=None):
        for name in filenames + dirnames:
            p = os.path.join(dirpath, name)
            try:
                if os.path.isdir(p) and not os.path.islink(p):
                    os.rmdir(p)
                else:
                    os.unlink(p)
            except OSError:
                pass


def _chmod_dir(p: str) -> None:
    try:
        if not os.path.islink(p):
            os.chmod(p, 0o700)
    except OSError:
        pass

