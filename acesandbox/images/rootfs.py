"""Root filesystems for the sandbox image, made offline from what this host already has.

``host_rootfs`` writes a tarball holding this host's own Python interpreter, its standard
library (without the test suite, IDLE, tkinter and the static library), the
distributions named (numpy by default, with their dependencies) and, for each ELF file
among them, the shared libraries it links against, at the same paths as on the host, so
the interpreter runs unchanged. Nothing is downloaded. ``debootstrap_rootfs`` instead
builds a minimal Debian with its ``python3`` package from the host's apt mirror. Either
tarball becomes an image with ``docker import`` (see :mod:`acesandbox.images`).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata

from .._harden import accounts

__all__ = ["DEFAULT_TOOLS", "RootfsInfo", "debootstrap_rootfs", "default_packages", "host_mirror", "host_rootfs"]

SANDBOX_UID = 65534
"""The unprivileged user every sandbox process runs as (``nobody``)."""

# Parts of the standard library a sandboxed program never needs (the test suite alone is
# half of it); the static libpython in config-* is only for building extensions.
_STDLIB_SKIP = {"site-packages", "dist-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "__phello__"}
_STDLIB_SKIP_PREFIX = ("config-",)
_ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime")
_DATA_DIRS = ("/usr/share/zoneinfo", "/usr/lib/locale/C.utf8", "/usr/lib/locale/C.UTF-8")
"""Time zones (``zoneinfo``) and the C.UTF-8 locale the sandbox's ``LC_ALL`` names
(``locale.setlocale(LC_ALL, "")``), where this host has them, as the namespace sandbox does."""

DEFAULT_TOOLS = (
    *("sh", "bash", "env", "true", "false", "test", "expr", "sleep", "timeout", "date", "id", "whoami", "uname", "nproc"),
    *("ls", "cat", "cp", "mv", "rm", "mkdir", "rmdir", "ln", "touch", "chmod", "pwd", "basename", "dirname"),
    *("readlink", "realpath", "stat", "du", "df", "echo", "printf", "head", "tail", "wc", "sort", "uniq", "cut"),
    *("tr", "tee", "seq", "split", "md5sum", "sha256sum", "base64", "od", "xargs", "grep", "egrep", "sed", "awk"),
    *("find", "diff", "cmp", "tar", "gzip", "gunzip", "zcat", "bzip2", "xz", "zip", "unzip", "ps", "pgrep", "kill", "which"),
    "ldconfig",  # ctypes.util.find_library runs /sbin/ldconfig -p
)
"""The command-line tools a host-built image carries (those this host has; ``sh`` it must):
programs call them through ``subprocess`` and ``os.system`` (BigCodeBench's tasks run
``tar``, ``gzip``, ``unzip``, ``split``, ``pgrep`` and ``bash``), and the namespace
sandbox, which shows the host's /usr, finds them all. A program's verdict must not
depend on the backend."""


@dataclass(frozen=True)
class RootfsInfo:
    """What a built root filesystem holds: the interpreter's path in it, and its packages."""

    python: str
    python_version: str
    packages: dict[str, str] = field(default_factory=dict)
    files: int = 0
    size_bytes: int = 0


def default_packages() -> tuple[str, ...]:
    """numpy when it is installed here (tests and their values often use it), else none."""
    try:
        metadata.distribution("numpy")
    except metadata.PackageNotFoundError:
        return ()
    return ("numpy",)


class _TarTree:
    """Adds host paths to a tar at the same absolute paths, symlinks kept as symlinks."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.seen: set[str] = {"/"}
        self.files = 0
        self.size = 0

    def _info(self, arc: str, kind: bytes, mode: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(arc.lstrip("/"))
        info.type = kind
        info.mode = mode
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    def add_dir(self, arc: str, mode: int = 0o755) -> None:
        if arc in self.seen:
            return
        self.add_dir(os.path.dirname(arc))
        self.seen.add(arc)
        self.tar.addfile(self._info(arc, tarfile.DIRTYPE, mode))

    def add_bytes(self, arc: str, data: bytes, mode: int = 0o644) -> None:
        self.add_dir(os.path.dirname(arc))
        info = self._info(arc, tarfile.REGTYPE, mode)
        info.size = len(data)
        info.mtime = int(time.time())
        self.tar.addfile(info, io.BytesIO(data))
        self.seen.add(arc)
        self.files += 1
        self.size += len(data)

    def add_symlink(self, arc: str, target: str) -> None:
        self.add_dir(os.path.dirname(arc))
        info = self._info(arc, tarfile.SYMTYPE, 0o777)
        info.linkname = target
        self.tar.addfile(info)
        self.seen.add(arc)

    def add(self, path: str, arc: str | None = None) -> None:
        """Add ``path`` (its parent directories and any symlinks on the way) at ``arc``."""
        path = os.path.abspath(path)
        if arc is None:
            parent = os.path.dirname(path)
            if parent != path:
                self.add(parent)
                path = os.path.join(os.path.realpath(parent), os.path.basename(path))
            arc = path
        else:
            self.add_dir(os.path.dirname(arc))
        if arc in self.seen:
            return
        st = os.lstat(path)
        self.seen.add(arc)
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(path)
            info = self._info(arc, tarfile.SYMTYPE, 0o777)
            info.linkname = target
            self.tar.addfile(info)
            if arc == path:
                self.add(os.path.normpath(os.path.join(os.path.dirname(path), target)))
        elif stat.S_ISDIR(st.st_mode):
            self.tar.addfile(self._info(arc, tarfile.DIRTYPE, 0o755))
        elif stat.S_ISREG(st.st_mode):
            info = self._info(arc, tarfile.REGTYPE, 0o755 if st.st_mode & 0o111 else 0o644)
            info.size = st.st_size
            # The host's mtime: a .pyc is only used when it matches its source's mtime.
            info.mtime = int(st.st_mtime)
            with open(path, "rb") as f:
                self.tar.addfile(info, f)
            self.files += 1
            self.size += st.st_size

    def add_tree(self, root: str, arc_root: str | None = None, skip: Iterable[str] = ()) -> list[str]:
        """Add a directory tree; returns the host paths of the files added."""
        skip = set(skip)
        added: list[str] = []
        root = os.path.realpath(root)
        arc_root = root if arc_root is None else arc_root
        if arc_root == root:
            self.add(root)
        else:
            self.add_dir(arc_root)
        for dirpath, dirnames, filenames in os.walk(root):
            rel = os.path.relpath(dirpath, root)
            if rel == ".":
                dirnames[:] = [d for d in dirnames if d not in skip and not d.startswith(_STDLIB_SKIP_PREFIX)]
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                host = os.path.join(dirpath, name)
                arc = os.path.normpath(os.path.join(arc_root, rel, name))
                if name in dirnames and not os.path.islink(host):
                    self.add_dir(arc)
                    continue
                self.add(host, arc)
                added.append(host)
        return added


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


_LDD_LINE = re.compile(r"^\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)")


def _shared_libraries(elves: Sequence[str]) -> set[str]:
    """Every shared library (absolute host path) the given ELF files load, per ``ldd``."""
    ldd = shutil.which("ldd")
    if ldd is None:
        raise RuntimeError("ldd not found: install libc-bin (it lists the libraries to copy)")
    libs: set[str] = set()
    for i in range(0, len(elves), 200):
        proc = subprocess.run([ldd, *elves[i : i + 200]], capture_output=True, text=True, check=False)
        for line in proc.stdout.splitlines():
            m = _LDD_LINE.match(line)
            if m and os.path.exists(m.group(1)):
                libs.add(m.group(1))
    return libs


def _requirements(dist: metadata.Distribution) -> list[str]:
    """Names of the distributions ``dist`` needs at run time (extras left out)."""
    names = []
    for req in dist.requires or []:
        spec, _, marker = req.partition(";")
        if "extra" in marker:
            continue
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
        if m:
            names.append(m.group(1))
    return names


def _distributions(names: Sequence[str]) -> list[metadata.Distribution]:
    """The named distributions and their run-time dependencies that are installed here."""
    out: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in out:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if name in names:
                raise ValueError(f"package {name!r} is not installed in this Python ({sys.executable}); pip install it first")
            continue  # an optional dependency for another platform
        out[key] = dist
        todo.extend(_requirements(dist))
    return list(out.values())


def _base_paths() -> dict[str, str]:
    """The base interpreter's stdlib, platstdlib and purelib (not a virtualenv's)."""
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix, "installed_base": sys.base_prefix}
    paths = sysconfig.get_paths(vars=base)
    return {k: paths[k] for k in ("stdlib", "platstdlib", "purelib")}


def host_rootfs(
    out_path: str,
    *,
    packages: Sequence[str] | None = None,
    binaries: Sequence[str] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
) -> RootfsInfo:
    """Write a root-filesystem tarball made of this host's Python to ``out_path``.

    ``packages``: distributions installed in this interpreter to include with their
    dependencies (default :func:`default_packages`). ``binaries``: host programs found
    on PATH to include, each required (default :data:`DEFAULT_TOOLS`, those this host
    has, ``sh`` required: ``os.system`` and ``shell=True`` need it). ``extra_files``: more files (absolute path in the image: content),
    root-owned and read-only for everyone else.
    """
    packages = default_packages() if packages is None else tuple(packages)
    python = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    paths = _base_paths()
    dists = _distributions(packages)
    with tarfile.open(out_path, "w") as tar:
        tree = _TarTree(tar)
        tree.add_dir("/tmp", 0o1777)
        for path, data in sorted((extra_files or {}).items()):
            tree.add_bytes(path, data)
        for path, data in accounts.contents().items():  # root and nobody, as the namespace sandbox has
            tree.add_bytes(path, data)
        for f in _ETC_FILES:
            if os.path.exists(f):
                tree.add(f)
        for folder in _DATA_DIRS:
            if os.path.isdir(folder):
                tree.add_tree(folder)
        tree.add_symlink("/var/tmp", "/tmp")  # the scratch, wiped with it
        elves = [python]
        tree.add(python)
        for key in ("stdlib", "platstdlib"):
            for f in tree.add_tree(paths[key], skip=_STDLIB_SKIP):
                if f.endswith(".so") or ".so." in f:
                    elves.append(f)
        site = paths["purelib"]
        tree.add_dir(site)
        versions: dict[str, str] = {}
        for dist in dists:
            versions[dist.metadata["Name"]] = dist.version
            root = os.path.realpath(str(dist.locate_file("")))
            for rel in dist.files or []:
                if ".." in rel.parts:
                    continue  # scripts installed outside site-packages
                host = os.path.join(root, str(rel))
                if not os.path.isfile(host):
                    continue
                tree.add(host, os.path.join(site, str(rel)))
                if _is_elf(host):
                    elves.append(host)
        for name in DEFAULT_TOOLS if binaries is None else binaries:
            exe = shutil.which(name, path=os.environ.get("PATH", os.defpath) + ":/usr/sbin:/sbin")
            if exe is None and binaries is None and name != "sh":
                continue  # a default tool this host lacks
            if exe is None:
                raise ValueError(f"binary {name!r} not found on PATH")
            tree.add(exe)
            elves.append(os.path.realpath(exe))
            for folder in ("/bin", "/sbin"):
                if os.path.exists(f"{folder}/{name}"):
                    tree.add(f"{folder}/{name}")  # where scripts, ``shell=True`` and ctypes look for it
        # ``python3`` on PATH too, for tools and Dockerfiles built on this image.
        for alias in ("/usr/local/bin/python3", "/usr/local/bin/python"):
            if alias != python and alias not in tree.seen:
                tree.add_symlink(alias, python)
        for lib in sorted(_shared_libraries(elves)):
            tree.add(lib)
        # The dynamic loader under the name ELF files ask for (e.g. /lib64/ld-linux-x86-64.so.2).
        for loader in ("/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1", "/lib/ld-linux.so.2"):
            if os.path.exists(loader):
                tree.add(loader)
    return RootfsInfo(
        python=python,
        python_version=sys.version.split()[0],
        packages=versions,
        files=tree.files,
        size_bytes=tree.size,
    )


def host_mirror() -> str | None:
    """The Debian mirror this host's apt uses (from its sources), or None."""
    candidates: list[str] = []
    for path in ["/etc/apt/sources.list"] + sorted(
        os.path.join("/etc/apt/sources.list.d", f) for f in (os.listdir("/etc/apt/sources.list.d") if os.path.isdir("/etc/apt/sources.list.d") else [])
    ):
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            continue
        candidates += re.findall(r"^URIs:\s*(\S+)", text, re.MULTILINE)
        candidates += re.findall(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.MULTILINE)
    for uri in candidates:
        if "security" not in uri and uri.startswith(("http://", "https://", "file:")):
            return uri
    return None


def debootstrap_rootfs(
    out_path: str,
    *,
    suite: str = "bookworm",
    mirror: str | None = None,
    include: Sequence[str] = ("python3",),
    extra_files: Mapping[str, bytes] | None = None,
) -> RootfsInfo:
    """Write a minimal Debian (``debootstrap --variant=minbase``) with ``include`` to ``out_path``.

    Needs root and the ``debootstrap`` package; packages come from ``mirror`` (default:
    the mirror this host's apt uses), so no container registry is involved.
    """
    exe = shutil.which("debootstrap")
    if exe is None:
        raise RuntimeError("debootstrap is not installed: apt-get install debootstrap")
    found = mirror or host_mirror()
    if found is None:
        raise RuntimeError("no Debian mirror found in /etc/apt/sources*; pass --mirror URL")
    with tempfile.TemporaryDirectory(prefix="acesandbox-rootfs-") as tmp:
        root = os.path.join(tmp, "rootfs")
        cmd = [exe, "--variant=minbase", f"--include={','.join(include)}", suite, root, found]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise RuntimeError(f"debootstrap failed ({proc.returncode}): " + " | ".join(tail))
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(os.path.join(root, cache), ignore_errors=True)
        for path, data in sorted((extra_files or {}).items()):
            dest = os.path.join(root, path.lstrip("/"))
            os.makedirs(os.path.dirname(dest), mode=0o755, exist_ok=True)
            with open(dest, "wb") as f:
                f.write(data)
            os.chmod(dest, 0o644)
        files = size = 0
        with tarfile.open(out_path, "w") as tar:
            for name in sorted(os.listdir(root)):
                tar.add(os.path.join(root, name), arcname=name)
            for m in tar.getmembers():
                files += m.isfile()
                size += m.size
        version = subprocess.run(
            ["chroot", root, "python3", "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True, check=False
        ).stdout.strip()
    return RootfsInfo(python="/usr/bin/python3", python_version=version, packages={p: "deb" for p in include}, files=files, size_bytes=size)
