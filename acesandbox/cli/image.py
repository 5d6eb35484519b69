"""``acecoder image``: build and list the Docker images the docker backend runs.

``acecoder image build`` works offline by default (this host's Python, see
:mod:`acesandbox.images`); ``--from debootstrap`` uses only Debian's packages;
``--base IMAGE`` and ``--variant bigcodebench`` build a Dockerfile (they need a
registry, and PyPI for BigCodeBench). ``--print`` and ``--context DIR`` show or write
a Dockerfile recipe without building it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from typing import Any

__all__ = ["SUMMARY", "add_parser", "run"]

SUMMARY = "build the Docker image the docker backend runs (offline by default), or list them"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``image`` with its ``build`` and ``list`` actions."""
    p: argparse.ArgumentParser = subparsers.add_parser("image", help=SUMMARY, description=SUMMARY)
    actions = p.add_subparsers(dest="action", metavar="ACTION", title="actions", required=True)

    b = actions.add_parser(
        "build",
        help="build a sandbox image",
        description=(
            "Build a sandbox image. Recipes: 'host' (default; offline: this host's Python, its standard library, "
            "the packages named with --with and the shared libraries they need), 'debootstrap' (a minimal Debian "
            "with python3 from the host's apt mirror; no container registry), 'dockerfile' (FROM --base; needs a "
            "registry unless the base is local). --variant bigcodebench adds BigCodeBench's libraries from PyPI."
        ),
        epilog="examples: acecoder image build | acecoder image build --base python:3.11-slim | "
        "acecoder image build --variant bigcodebench --print",
    )
    b.add_argument("--tag", default=None, help="image name (default acesandbox:latest, acesandbox:bigcodebench for that variant)")
    b.add_argument("--from", dest="recipe", choices=("host", "debootstrap", "dockerfile"), default=None,
                   help="how to make the root filesystem (default: host; dockerfile when --base or a variant is given)")
    b.add_argument("--base", default=None, metavar="IMAGE", help="base image of the dockerfile recipe, e.g. python:3.11-slim")
    b.add_argument("--variant", choices=("base", "bigcodebench"), default="base",
                   help="bigcodebench: the libraries BigCodeBench's tasks import (large; needs PyPI)")
    b.add_argument("--with", dest="packages", action="append", default=None, metavar="PKG",
                   help="host recipe: an installed distribution to include with its dependencies (repeatable; default numpy when installed)")
    b.add_argument("--no-packages", action="store_true", help="host recipe: the standard library only")
    b.add_argument("--suite", default="bookworm", help="debootstrap recipe: Debian suite (default bookworm)")
    b.add_argument("--mirror", default=None, help="debootstrap recipe: Debian mirror URL (default: the one apt uses here)")
    b.add_argument("--include", default="python3", help="debootstrap recipe: comma-separated Debian packages (default python3)")
    b.add_argument("--pull", action="store_true", help="dockerfile recipe: pull a newer base image first")
    b.add_argument("--print", dest="print_recipe", action="store_true", help="print the Dockerfile recipe and exit (no Docker needed)")
    b.add_argument("--context", default=None, metavar="DIR", help="write the Dockerfile recipe's build context to DIR and exit")
    b.add_argument("--json", action="store_true", help="print the result as JSON")
    b.add_argument("--quiet", action="store_true", help="no progress messages")

    ls = actions.add_parser("list", help="list sandbox images on the engine", description="List images built by `acecoder image build`.")
    ls.add_argument("--json", action="store_true", help="print as JSON")
    return p


def _err(msg: str) -> int:
    print(f"acecoder image: {msg}", file=sys.stderr)
    return 1


def _client() -> Any:
    try:
        from ..backends.docker import connect
    except ImportError as exc:
        raise RuntimeError(f"the docker SDK is not installed ({exc}); pip install 'acecoder-toolkit[docker]'") from exc
    return connect()


def _build(args: argparse.Namespace) -> int:
    from .. import images
    from ..errors import SandboxUnavailableError

    recipe = args.recipe or ("dockerfile" if args.base or args.variant != "base" else "host")
    if args.variant != "base" and recipe != "dockerfile":
        return _err(f"--variant {args.variant} is a Dockerfile recipe; drop --from {recipe}")
    if recipe == "dockerfile" and args.variant == "base" and not args.base:
        return _err("--from dockerfile needs --base IMAGE (e.g. python:3.11-slim)")
    tag = args.tag or (images.BIGCODEBENCH_IMAGE if args.variant == "bigcodebench" else images.DEFAULT_IMAGE)
    if args.print_recipe or args.context:
        if recipe != "dockerfile":
            return _err("--print and --context show Dockerfile recipes (--base IMAGE or --variant bigcodebench)")
        files = images.build_context(args.variant, args.base)
        if args.context:
            for name, data in files.items():
                path = os.path.join(args.context, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(data)
            print(f"wrote the build context to {args.context}: docker build -t {tag} {args.context}")
        if args.print_recipe:
            sys.stdout.write(files["Dockerfile"].decode())
        return 0
    log = (lambda m: None) if args.quiet or args.json else (lambda m: print(m, file=sys.stderr, flush=True))
    try:
        client = _client()
        if recipe == "host":
            packages = () if args.no_packages else args.packages
            result = images.build_from_host(client, tag, packages=packages, log=log)
        elif recipe == "debootstrap":
            include = [p for p in args.include.split(",") if p]
            result = images.build_from_debootstrap(client, tag, suite=args.suite, mirror=args.mirror, include=include, log=log)
        else:
            result = images.build_from_dockerfile(client, tag, variant=args.variant, base=args.base, pull=args.pull, log=log)
    except (SandboxUnavailableError, RuntimeError, ValueError) as exc:
        return _err(str(exc))
    if args.json:
        print(json.dumps(asdict(result), indent=2))
    else:
        pkgs = ", ".join(f"{k} {v}" for k, v in sorted(result.packages.items())) or "none"
        print(f"built {result.tag} ({result.image_id[7:19]}) from {result.recipe} in {result.duration_s:.1f} s: "
              f"python {result.python}, packages: {pkgs}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from .. import images
    from ..errors import SandboxUnavailableError

    try:
        client = _client()
    except (SandboxUnavailableError, RuntimeError) as exc:
        return _err(str(exc))
    current = images.server_digest()
    rows = []
    for image in client.images.list(filters={"label": images.IMAGE_LABEL}):
        labels = image.labels or {}
        rows.append(
            {
                "tags": image.tags,
                "id": image.short_id,
                "recipe": labels.get("acesandbox.recipe"),
                "variant": labels.get("acesandbox.variant"),
                "python": labels.get(images.PYTHON_LABEL),
                "current": labels.get(images.SERVER_LABEL) == current,
                "size_mb": round(int(image.attrs.get("Size", 0)) / 2**20),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no sandbox images: build one with `acecoder image build`")
        return 0
    for r in rows:
        state = "current" if r["current"] else "stale (rebuild it)"
        print(f"{','.join(r['tags']) or '<untagged>'}  {r['id']}  {r['recipe']}/{r['variant']}  {r['size_mb']} MB  {state}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch to the action; 0 on success, 1 when the build failed (the message says why)."""
    return _build(args) if args.action == "build" else _list(args)
