"""Wiping the scratch directory between tests and jobs."""

from __future__ import annotations

import fcntl
import os
import stat
import struct

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def wipe(path: str) -> bool:
    """Empty the scratch directory, even where the program removed our permissions.

    Runs after every process of the program is dead. Everything in it belongs to the
    sandbox's own uid, so restoring permissions always works; symlinks are removed,
    never followed (a link to a host path must not be chmod-ed or emptied). Mount
    points under the scratch (an interpreter's read-only packages bound there) are not
    the program's: never descended into, never emptied.

    Iterative, one directory descriptor open at a time and no path longer than a name:
    a chain of directories of any depth cannot make it raise. Returns False when
    something the program made could not be removed: the caller then discards the
    sandbox, so nothing left behind reaches the next job.
    """
    try:
        fd = os.open(path, _DIR)
    except OSError:
        return not os.path.lexists(path)
    try:
        os.fchmod(fd, 0o700)
    except OSError:
        pass
    clean = _clear_attributes(fd)
    try:
        dev = os.fstat(fd).st_dev
        kept: set[tuple[int, int]] = set()  # directories that hold a mount point: kept, not a failure
        # One entry per directory from the top down to fd's: its name and key, the
        # subdirectories still to empty, and whether it holds a mount point.
        trail: list[tuple[str, tuple[int, int]]] = []
        todo: list[list[tuple[str, tuple[int, int]]]] = []
        holds: list[bool] = []
        subdirs, ok, mounts = _empty_files(fd, dev, kept)
        todo.append(subdirs)
        holds.append(mounts)
        clean = clean and ok  # and what _clear_attributes found
        while True:
            if todo[-1]:
                name, key = todo[-1].pop()
                try:
                    os.chmod(name, 0o700, dir_fd=fd)  # a directory (checked without following)
                    sub = os.open(name, _DIR, dir_fd=fd)
                except OSError:
                    clean = False
                    continue
                os.close(fd)
                fd = sub
                trail.append((name, key))
                subdirs, ok, mounts = _empty_files(fd, dev, kept)
                clean = clean and ok
                todo.append(subdirs)
                holds.append(mounts)
                continue
            if not trail:
                break
            name, key = trail.pop()
            todo.pop()
            if holds.pop():
                kept.add(key)
                holds[-1] = True
            parent = os.open("..", _DIR, dir_fd=fd)
            os.close(fd)
            fd = parent
            if key in kept:
                continue
            try:
                os.rmdir(name, dir_fd=fd)
            except OSError:
                clean = False
    except OSError:
        clean = False
    finally:
        os.close(fd)
    return clean


def usage(paths: list[str]) -> tuple[tuple[int, int], ...]:
    """Blocks and inodes in use on each of ``paths``' filesystems (the private tmpfs mounts
    of the namespace and Docker backends)."""
    out = []
    for path in paths:
        st = os.statvfs(path)
        out.append((st.f_blocks - st.f_bfree, st.f_files - st.f_ffree))
    return tuple(out)


def settle(paths: list[str], at_start: tuple[tuple[int, int], ...] | None) -> bool:
    """After the last wipe of a job, with every process of the job gone: whether the scratch
    filesystems hold what they held at the start (``at_start``: :func:`usage`; None where
    the scratch is no filesystem of its own). A file a program put in flight in a socket
    pair's own queue (SCM_RIGHTS) survives the wipe, unlinked, with its blocks, until the
    kernel's collector finds the cycle: the next job would find no space. The scratch's
    own times are reset too (a program can set them to any value: data for the next job)."""
    for path in paths:
        os.utime(path, ns=(0, 0))
    return at_start is None or usage(paths) == at_start


_FS_IOC_GETFLAGS, _FS_IOC_SETFLAGS = 0x80086601, 0x40086602
# Inode flags an owner sets without a capability: compression hints, sync, no-dump,
# no-atime, dirsync, no-copy-on-write. Immutable and append-only need CAP_LINUX_IMMUTABLE.
_OWNER_FLAGS = 0x4 | 0x8 | 0x40 | 0x80 | 0x400 | 0x10000 | 0x800000


def _clear_flags(fd: int) -> bool:
    """Clear the inode flags a program may set on the directory itself (``chattr +d``,
    ``+A``): they outlive the wipe, bits a later job reads. False if set and not cleared."""
    try:
        (flags,) = struct.unpack("l", fcntl.ioctl(fd, _FS_IOC_GETFLAGS, bytes(8)))
    except OSError:
        return True  # no inode flags on this filesystem
    if not flags & _OWNER_FLAGS:
        return True
    try:
        fcntl.ioctl(fd, _FS_IOC_SETFLAGS, struct.pack("l", flags & ~_OWNER_FLAGS))
    except OSError:
        return False
    return True


def _clear_attributes(fd: int) -> bool:
    """Remove the extended attributes a program may set on the directory itself: a default
    ACL (``system.posix_acl_default``) would give every file a later job makes there the
    program's permissions, and a ``user.`` attribute would carry its data to that job.
    What it holds goes with its files. Others (``security.``, set by the kernel's security
    modules, and ``trusted.``, which needs a capability) are not the program's. Its inode
    flags too (:func:`_clear_flags`)."""
    clean = _clear_flags(fd)
    try:
        names = os.listxattr(fd)
    except OSError:
        return clean  # no extended attributes here
    for name in names:
        if name.startswith(("user.", "system.posix_acl_")):
            try:
                os.removexattr(fd, name)
            except OSError:
                clean = False
    return clean


def _empty_files(fd: int, dev: int, kept: set[tuple[int, int]]) -> tuple[list[tuple[str, tuple[int, int]]], bool, bool]:
    """Remove what ``fd``'s directory holds that needs no descent (files, links, empty
    directories). Returns the directories to empty first, whether every removal
    worked, and whether the directory holds a mount point."""
    ok = True
    mounts = False
    subdirs: list[tuple[str, tuple[int, int]]] = []
    with os.scandir(fd) as entries:
        for entry in entries:
            name = entry.name
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError:
                ok = False
                continue
            if not stat.S_ISDIR(st.st_mode):
                try:
                    os.unlink(name, dir_fd=fd)
                except FileNotFoundError:
                    pass
                except OSError:
                    ok = False
                continue
            key = (st.st_dev, st.st_ino)
            if st.st_dev != dev or key in kept:
                mounts = True  # a mount point, or a directory above one: not the program's
                continue
            try:
                os.rmdir(name, dir_fd=fd)
            except OSError:
                subdirs.append((name, key))  # not empty: emptied first, then removed
    return subdirs, ok, mounts
