"""The host writes the in-sandbox server's bytecode (acesandbox.backends._server)."""

from __future__ import annotations

import os
import sys

import pytest


def test_the_host_writes_the_sandbox_runtime_bytecode(monkeypatch):
    """The sandbox imports its server's modules read-only with -B and the host never imports
    them: the host writes their bytecode once (as an import would), so a sandbox start reads
    it instead of compiling them (about 27 ms each start), and never where bytecode writing is off."""
    import importlib.util

    from acesandbox import _sandbox
    from acesandbox.backends import _server

    folder = os.path.dirname(_sandbox.__file__)
    cached = importlib.util.cache_from_source(os.path.join(folder, "scratch.py"))
    if not os.access(folder, os.W_OK):
        pytest.skip("a read-only install: nothing can be written")
    if os.path.exists(cached):
        os.remove(cached)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(_server, "_runtime_compiled", False)
    _server._compile_runtime()
    assert not os.path.exists(cached)  # PYTHONDONTWRITEBYTECODE is respected
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    _server._compile_runtime()
    assert os.path.exists(cached)
    # server.py runs as a script, never from a cache
    assert not os.path.exists(importlib.util.cache_from_source(os.path.join(folder, "server.py")))


def test_the_sandbox_runtime_imports_no_typing_or_platform():
    """Every job and test process is a fork of what the in-sandbox server imported, and a
    fork's cost grows with its memory: the runtime's own modules keep typing and platform
    out, as a fresh ``python -I -S`` loading them the way server.py does shows (the server
    preloads typing for programs, ``loop.ALWAYS_PRELOADED``, a choice made in one place)."""
    import subprocess

    from acesandbox import _sandbox

    root = os.path.dirname(os.path.dirname(os.path.abspath(_sandbox.__file__)))
    probe = (
        "import importlib, sys, types\n"
        "root = types.ModuleType('_acesandbox_rt'); root.__path__ = [sys.argv[1]]\n"
        "sys.modules['_acesandbox_rt'] = root\n"
        "importlib.import_module('_acesandbox_rt._sandbox.loop')\n"
        "print(sorted(m for m in ('typing', 'platform') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", probe, root], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
