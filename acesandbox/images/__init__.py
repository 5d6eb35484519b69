"""Building the sandbox image: offline from this host's Python, from Debian, or a Dockerfile.

Recipes (``acecoder image build --from ...``):

- ``host`` (default, offline): this host's interpreter, standard library, chosen
  site-packages and the shared libraries they load, imported as a one-layer image.
- ``debootstrap`` (no container registry): a minimal Debian with ``python3`` from the
  host's apt mirror.
- ``dockerfile`` (needs a registry): ``--base python:3.11-slim`` or any image with Python.
- The ``bigcodebench`` variant adds BigCodeBench's libraries from PyPI on a Python 3.10
  base; ``--print`` shows its Dockerfile, ``--context DIR`` writes its build context.

Every image holds the in-sandbox server (``acesandbox/_sandbox/``, started as
``_sandbox/server.py``, and the wire format it loads) read-only under
``/opt/acesandbox``, is labelled ``acesandbox.image``, names its interpreter in
``acesandbox.python`` and the digest of its server in ``acesandbox.server``: the docker backend refuses an image whose server
differs from its own (rebuild it after upgrading acesandbox).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import py_compile
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._sandbox import FILES as _SANDBOX_FILES
from . import recipes, rootfs

__all__ = [
    "BIGCODEBENCH_IMAGE",
    "DEFAULT_IMAGE",
    "IMAGE_LABEL",
    "BuildResult",
    "build_context",
    "build_from_debootstrap",
    "build_from_dockerfile",
    "build_from_host",
    "ensure_image",
    "image_labels",
    "image_state",
    "server_digest",
    "server_files",
]

DEFAULT_IMAGE = "acesandbox:latest"
BIGCODEBENCH_IMAGE = "acesandbox:bigcodebench"
IMAGE_LABEL = "acesandbox.image"
PYTHON_LABEL = "acesandbox.python"
SERVER_LABEL = "acesandbox.server"
SERVER_ROOT = "/opt/acesandbox"
"""The server lives at ``SERVER_ROOT/acesandbox/_sandbox/server.py`` in every image."""
VARIANTS = ("base", "bigcodebench")
_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SERVER_FILES = (*(f"_sandbox/{name}" for name in _SANDBOX_FILES), "_wire.py")


def server_files() -> dict[str, bytes]:
    """The files the in-sandbox server needs, by path relative to the acesandbox package."""
    out = {}
    for rel in _SERVER_FILES:
        with open(os.path.join(_PKG_DIR, rel), "rb") as f:
            out[rel] = f.read()
    return out


def server_digest(files: Mapping[str, bytes] | None = None) -> str:
    """A short digest of the server's files: an image must carry this exact server."""
    h = hashlib.sha256()
    for rel, data in sorted((files or server_files()).items()):
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()[:32]


def _image_files(bytecode: bool = False) -> dict[str, bytes]:
    """The server's files at their paths in the image; with ``bytecode``, each module's
    .pyc for this interpreter too (only where the image runs this very interpreter: the
    host recipe). The sandbox imports them read-only and never writes bytecode, so
    without it every container start compiled the server (about 27 ms)."""
    out = {f"{SERVER_ROOT}/acesandbox/{rel}": data for rel, data in server_files().items()}
    if bytecode:
        for path, data in list(out.items()):
            if not path.endswith("/server.py"):  # run as a script: never from a cache
                out[importlib.util.cache_from_source(path)] = _unchecked_pyc(data, path)
    return out


def _unchecked_pyc(source: bytes, path: str) -> bytes:
    """The .pyc of ``source`` as it lies at ``path`` in the image, checked by no source
    mtime or hash (an image's files never change)."""
    with tempfile.TemporaryDirectory(prefix="acesandbox-pyc-") as tmp:
        src, pyc = os.path.join(tmp, "m.py"), os.path.join(tmp, "m.pyc")
        with open(src, "wb") as f:
            f.write(source)
        py_compile.compile(src, cfile=pyc, dfile=path, doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        with open(pyc, "rb") as f:
            return f.read()
Log = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    """A built image: its tag and id, the recipe, the interpreter inside and its packages."""

    tag: str
    image_id: str
    recipe: str
    variant: str
    python: str
    packages: dict[str, str] = field(default_factory=dict)
    size_bytes: int = 0
    duration_s: float = 0.0


def image_labels(recipe: str, variant: str, python: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    from .. import __version__

    labels = {
        IMAGE_LABEL: "1",
        PYTHON_LABEL: python,
        SERVER_LABEL: server_digest(),
        "acesandbox.recipe": recipe,
        "acesandbox.variant": variant,
        "acesandbox.built-by": f"acecoder-toolkit {__version__}",
    }
    labels.update(extra or {})
    return labels


def _import_changes(labels: Mapping[str, str]) -> list[str]:
    return [
        *recipes.label_lines(labels),
        "ENV PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8",
        "USER 65534:65534",
        "WORKDIR /tmp",
        f'CMD ["{labels[PYTHON_LABEL]}"]',
    ]


def _previous(client: Any, tag: str) -> str | None:
    import docker.errors

    try:
        image_id: str = client.images.get(tag).id
        return image_id
    except docker.errors.ImageNotFound:
        return None


def _drop_previous(client: Any, previous: str | None, tag: str) -> None:
    """Remove the image ``tag`` named before a rebuild, if nothing else names or uses it."""
    import docker.errors

    if previous is None:
        return
    try:
        image = client.images.get(previous)
        if not image.tags and IMAGE_LABEL in (image.labels or {}):
            client.images.remove(previous, noprune=False)
    except docker.errors.APIError:
        pass  # still used by a container, or gone: leave it


def _import(client: Any, tar_path: str, tag: str, labels: Mapping[str, str]) -> str:
    repo, _, name = tag.rpartition(":") if ":" in tag.split("/")[-1] else (tag, "", "latest")
    previous = _previous(client, tag)
    client.api.import_image_from_file(tar_path, repository=repo, tag=name, changes=_import_changes(labels))
    image_id: str = client.images.get(tag).id
    if previous != image_id:
        _drop_previous(client, previous, tag)
    return image_id


def build_from_host(
    client: Any, tag: str = DEFAULT_IMAGE, *, packages: Sequence[str] | None = None, binaries: Sequence[str] | None = None, log: Log = lambda m: None
) -> BuildResult:
    """Build ``tag`` from this host's Python (no network at all)."""
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="acesandbox-image-") as tmp:
        tar_path = os.path.join(tmp, "rootfs.tar")
        log("collecting this host's Python, its libraries and packages...")
        info = rootfs.host_rootfs(tar_path, packages=packages, binaries=binaries, extra_files=_image_files(bytecode=True))
        log(f"rootfs: {info.files} files, {info.size_bytes / 2**20:.0f} MiB; importing as {tag}...")
        extra = {"acesandbox.python-version": info.python_version}
        if info.packages:
            extra["acesandbox.packages"] = ",".join(f"{k}=={v}" for k, v in sorted(info.packages.items()))
        image_id = _import(client, tar_path, tag, image_labels("host", "base", info.python, extra))
    return BuildResult(tag, image_id, "host", "base", info.python, info.packages, info.size_bytes, time.monotonic() - t0)


def build_from_debootstrap(
    client: Any,
    tag: str = DEFAULT_IMAGE,
    *,
    suite: str = "bookworm",
    mirror: str | None = None,
    include: Sequence[str] = ("python3",),
    log: Log = lambda m: None,
) -> BuildResult:
    """Build ``tag`` from a minimal Debian made by debootstrap (Debian's packages only)."""
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="acesandbox-image-") as tmp:
        tar_path = os.path.join(tmp, "rootfs.tar")
        log(f"debootstrap {suite} with {', '.join(include)} (a few minutes)...")
        info = rootfs.debootstrap_rootfs(tar_path, suite=suite, mirror=mirror, include=include, extra_files=_image_files())
        log(f"rootfs: {info.files} files, {info.size_bytes / 2**20:.0f} MiB; importing as {tag}...")
        extra = {"acesandbox.python-version": info.python_version, "acesandbox.debian-suite": suite}
        image_id = _import(client, tar_path, tag, image_labels("debootstrap", "base", info.python, extra))
    return BuildResult(tag, image_id, "debootstrap", "base", info.python, info.packages, info.size_bytes, time.monotonic() - t0)


def build_context(variant: str = "base", base: str | None = None) -> dict[str, bytes]:
    """The files of the Dockerfile recipe's build context (``Dockerfile`` and its inputs)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown image variant {variant!r}; choose one of {list(VARIANTS)}")
    server = {f"acesandbox/{rel}": data for rel, data in server_files().items()}
    if variant == "bigcodebench":
        base = base or recipes.BIGCODEBENCH_BASE
        labels = image_labels("dockerfile", variant, "python3", {"acesandbox.base": base})
        return {
            "Dockerfile": recipes.bigcodebench_dockerfile(base, labels).encode(),
            "requirements-bigcodebench.txt": recipes.bigcodebench_requirements().encode(),
            **server,
        }
    if not base:
        raise ValueError("the dockerfile recipe needs --base IMAGE (e.g. python:3.11-slim)")
    labels = image_labels("dockerfile", variant, "python3", {"acesandbox.base": base})
    return {"Dockerfile": recipes.dockerfile(base, labels).encode(), **server}


def _context_tar(files: Mapping[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def build_from_dockerfile(
    client: Any, tag: str, *, variant: str = "base", base: str | None = None, pull: bool = False, log: Log = lambda m: None
) -> BuildResult:
    """Build ``tag`` with ``docker build`` from the recipe's context (needs ``base`` locally or a registry)."""
    import docker.errors

    t0 = time.monotonic()
    files = build_context(variant, base)
    previous = _previous(client, tag)
    log(f"docker build {tag} ({variant}) FROM {base or recipes.BIGCODEBENCH_BASE}...")
    try:
        for chunk in client.api.build(fileobj=_context_tar(files), custom_context=True, tag=tag, rm=True, forcerm=True, pull=pull, decode=True):
            if "error" in chunk:
                raise RuntimeError(f"docker build failed: {chunk['error'].strip()}")
            text = (chunk.get("stream") or "").strip()
            if text:
                log(text)
    except docker.errors.APIError as exc:
        raise RuntimeError(f"docker build failed: {exc.explanation or exc}") from exc
    image = client.images.get(tag)
    if previous != image.id:
        _drop_previous(client, previous, tag)
    return BuildResult(tag, image.id, "dockerfile", variant, "python3", {}, int(image.attrs.get("Size", 0)), time.monotonic() - t0)


def image_state(client: Any, tag: str = DEFAULT_IMAGE) -> str:
    """``"current"``, ``"stale"`` (its server differs from this acesandbox's), ``"foreign"``
    (not built by acecoder) or ``"missing"``."""
    import docker.errors

    try:
        labels = client.images.get(tag).labels or {}
    except docker.errors.ImageNotFound:
        return "missing"
    if SERVER_LABEL not in labels:
        return "foreign"
    return "current" if labels[SERVER_LABEL] == server_digest() else "stale"


def ensure_image(client: Any, tag: str = DEFAULT_IMAGE, *, log: Log = lambda m: None) -> BuildResult | None:
    """Build ``tag`` offline from this host (``build_from_host``) unless it is current."""
    state = image_state(client, tag)
    if state == "current":
        return None
    if state == "foreign":
        raise RuntimeError(f"image {tag!r} exists but was not built by acecoder; choose another tag")
    log(f"image {tag} is {state}: building it from this host's Python...")
    return build_from_host(client, tag, log=log)
