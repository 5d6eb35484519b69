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
    try:
        dev = os.lstat(path).st_dev
    except OSError:
        return
    # Mount points under the scratch (an interpreter's read-only packages bound there) are
    # not the program's: never descended into, never emptied.
    order = []
    for dirpath, dirnames, filenames in os.walk(path, topdown=True, onerror=None):
        dirnames[:] = [n for n in dirnames if _same_fs(os.path.join(dirpath, n), dev)]
        for name in dirnames:
            _chmod_dir(os.path.join(dirpath, name))
        order.append((dirpath, dirnames, filenames))
    for dirpath, dirnames, filenames in reversed(order):
        for name in filenames + dirnames:
            p = os.path.join(dirpath, name)
            try:
                if os.path.isdir(p) and not os.path.islink(p):
                    os.rmdir(p)
                else:
                    os.unlink(p)
            except OSError:
                pass


def _same_fs(p: str, dev: int) -> bool:
    try:
        return os.lstat(p).st_dev == dev
    except OSError:
        return True


def _chmod_dir(p: str) -> None:
    try:
        if not os.path.islink(p):
            os.chmod(p, 0o700)
    except OSError:
        pass

