"""Image recipes and the offline root filesystem (no Docker needed: nothing is built here)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile

import pytest

from acesandbox import images
from acesandbox._harden import accounts
from acesandbox.images import rootfs


def test_bigcodebench_recipe():
    files = images.build_context("bigcodebench")
    dockerfile = files["Dockerfile"].decode()
    lines = dockerfile.splitlines()
    assert lines[0] == "FROM python:3.10-slim"
    assert "COPY requirements-bigcodebench.txt /tmp/requirements-bigcodebench.txt" in lines
    assert any("pip install --no-cache-dir -r /tmp/requirements-bigcodebench.txt" in line for line in lines)
    assert "COPY acesandbox /opt/acesandbox/acesandbox" in lines
    assert lines[-2:] == ["USER 65534:65534", "WORKDIR /tmp"]
    assert f'LABEL acesandbox.server="{images.server_digest()}"' in lines
    assert 'LABEL acesandbox.variant="bigcodebench"' in lines
    assert 'LABEL acesandbox.python="python3"' in lines
    reqs = files["requirements-bigcodebench.txt"].decode().split()
    names = [r.split("==")[0].lower() for r in reqs]
    assert all("==" in r for r in reqs) and len(names) == len(set(names))
    for lib in ("numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "seaborn", "nltk", "tensorflow"):
        assert lib in names
    assert files["acesandbox/_sandbox/server.py"] == images.server_files()["_sandbox/server.py"]
    assert files["acesandbox/_wire.py"] == images.server_files()["_wire.py"]


def test_base_recipe_needs_no_shell():
    files = images.build_context("base", "python:3.11-slim")
    dockerfile = files["Dockerfile"].decode()
    assert dockerfile.startswith("FROM python:3.11-slim\n")
    assert "RUN" not in dockerfile  # a base without /bin/sh still builds
    assert 'LABEL acesandbox.base="python:3.11-slim"' in dockerfile
    with pytest.raises(ValueError, match="--base"):
        images.build_context("base")
    with pytest.raises(ValueError, match="unknown image variant"):
        images.build_context("huge")


def test_server_digest_follows_the_server():
    files = images.server_files()
    assert set(files) == {
        "_wire.py",
        *(
            f"_sandbox/{m}.py"
            for m in ("__init__", "framing", "job", "kinds", "loop", "procs", "scratch", "server", "supervise", "template", "testproc")
        ),
    }
    on_disk = {f"_sandbox/{n}" for n in os.listdir(os.path.join(images._PKG_DIR, "_sandbox")) if n.endswith(".py")}
    assert set(files) == on_disk | {"_wire.py"}  # every module of the server ships in images
    changed = dict(files, **{"_wire.py": files["_wire.py"] + b"\n# changed\n"})
    assert images.server_digest(changed) != images.server_digest(files) == images.server_digest()


def test_host_rootfs_is_complete_and_read_only(tmp_path):
    out = tmp_path / "rootfs.tar"
    info = rootfs.host_rootfs(str(out), packages=(), extra_files=images._image_files())
    python = info.python.lstrip("/")
    with tarfile.open(out) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert python in members and members[python].mode & 0o111
        assert all(m.uid == 0 and m.gid == 0 for m in members.values())
        assert not any(m.mode & 0o002 for m in members.values() if not m.issym() and m.name != "tmp")
        assert members["tmp"].mode == 0o1777
        server = "opt/acesandbox/acesandbox/_sandbox/server.py"
        assert members[server].mode == 0o644
        assert tar.extractfile(server).read() == images.server_files()["_sandbox/server.py"]
        for path, data in accounts.contents().items():  # the namespace sandbox's own, the same bytes
            assert tar.extractfile(path.lstrip("/")).read() == data and members[path.lstrip("/")].mode == 0o644
        assert members["usr/local/bin/python3"].issym()
        stdlib = os.path.relpath(os.path.realpath(rootfs._base_paths()["stdlib"]), "/")
        assert f"{stdlib}/os.py" in members
        # Host mtimes are kept, so the stdlib's .pyc files are valid in the image.
        assert members[f"{stdlib}/os.py"].mtime == int(os.stat(os.path.join("/", stdlib, "os.py")).st_mtime)
        assert not any(n.startswith(f"{stdlib}/test/") for n in members)
        assert not any("site-packages/numpy" in n for n in members)  # packages=()
        # Every library the interpreter links against is there (through symlinks as on the host).
        libs = rootfs._shared_libraries([info.python])
        for lib in libs:
            real = os.path.realpath(lib).lstrip("/")
            assert real in members, lib


def test_host_rootfs_carries_the_usual_tools(tmp_path):
    """Programs call tar, gzip, bash...: the image has each default tool this host has
    (the namespace sandbox finds them in the host's /usr), and a tool named but missing is refused."""
    import shutil

    out = tmp_path / "rootfs.tar"
    rootfs.host_rootfs(str(out), packages=())
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
    found = [t for t in rootfs.DEFAULT_TOOLS if shutil.which(t)]
    assert "sh" in found and len(found) > 40
    for tool in found:
        assert os.path.realpath(shutil.which(tool)).lstrip("/") in names, tool
    with pytest.raises(ValueError, match="not found on PATH"):
        rootfs.host_rootfs(str(out), packages=(), binaries=("surely-not-a-tool",))


def test_host_image_files_carry_the_server_bytecode():
    """The host recipe's image holds each server module's .pyc, for its own paths in the
    image and checked by no source mtime; server.py (a script) and other recipes get none."""
    import importlib.util
    import marshal

    files = images._image_files(bytecode=True)
    for rel, source in images.server_files().items():
        path = f"{images.SERVER_ROOT}/acesandbox/{rel}"
        assert files[path] == source
        pyc = importlib.util.cache_from_source(path)
        if rel.endswith("server.py"):
            assert pyc not in files
            continue
        data = files[pyc]
        assert data[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(data[4:8], "little") == 0b01  # unchecked hash
        code = marshal.loads(data[16:])
        assert code.co_filename == path
    assert not any(p.endswith(".pyc") for p in images._image_files())


def test_host_rootfs_packages_with_dependencies(tmp_path):
    pytest.importorskip("numpy")
    out = tmp_path / "rootfs.tar"
    info = rootfs.host_rootfs(str(out), packages=("numpy",), binaries=())
    assert "numpy" in info.packages
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
    site = rootfs._base_paths()["purelib"].lstrip("/")
    assert f"{site}/numpy/__init__.py" in names
    with pytest.raises(ValueError, match="not installed"):
        rootfs.host_rootfs(str(out), packages=("surely-not-installed-pkg",))


def _cli(argv):
    from acesandbox.cli import image

    parser = argparse.ArgumentParser()
    image.add_parser(parser.add_subparsers(dest="command"))
    return image.run(parser.parse_args(["image", *argv]))


def test_cli_prints_and_writes_recipes(tmp_path, capsys):
    assert _cli(["build", "--variant", "bigcodebench", "--print"]) == 0
    assert capsys.readouterr().out.startswith("FROM python:3.10-slim\n")
    ctx = tmp_path / "ctx"
    assert _cli(["build", "--base", "python:3.11-slim", "--context", str(ctx)]) == 0
    assert (ctx / "Dockerfile").read_text().startswith("FROM python:3.11-slim")
    assert (ctx / "acesandbox" / "_sandbox" / "server.py").exists()
    assert _cli(["build", "--from", "host", "--print"]) == 1
    assert "show Dockerfile recipes" in capsys.readouterr().err
    assert _cli(["build", "--from", "dockerfile"]) == 1
    assert _cli(["build", "--from", "host", "--variant", "bigcodebench"]) == 1


def test_cli_module_shape():
    from acesandbox.cli import image

    assert image.SUMMARY and callable(image.add_parser) and callable(image.run)
    out = subprocess.run([sys.executable, "-c", "import acesandbox.cli.image, sys; print('docker' in sys.modules)"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_bigcodebench_image_holds_every_nltk_package_the_tasks_download():
    from acesandbox.images import recipes

    text = recipes.bigcodebench_dockerfile("python:3.11-slim", {})
    line = next(line for line in text.splitlines() if "nltk.downloader" in line)
    for package in ("punkt", "stopwords", "vader_lexicon", "averaged_perceptron_tagger", "words"):
        assert f" {package}" in line
