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
