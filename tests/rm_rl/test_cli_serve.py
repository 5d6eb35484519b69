"""``acecoder serve``: parsing, the acecoder plugin contract, and the real process with SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from acesandbox.cli import main as acecoder
from rm_rl import cli_serve

from .conftest import ADD_TESTS, GOOD_ADD


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_module_contract():
    assert isinstance(cli_serve.SUMMARY, str) and cli_serve.SUMMARY
    parser = argparse.ArgumentParser(prog="acecoder")
    sub = parser.add_subparsers(dest="command")
    serve = cli_serve.add_parser(sub)
    args = parser.parse_args(["serve", "--dataset", "d.jsonl", "--port", "6000", "--reward", "pass_rate",
                              "--preload", "numpy", "--workers", "3"])
    assert isinstance(serve, argparse.ArgumentParser)
    assert (args.dataset, args.port, args.reward, args.preload, args.workers) == ("d.jsonl", 6000, "pass_rate",
                                                                                  ["numpy"], 3)
    assert args.host == "127.0.0.1"  # loopback unless asked


def test_server_flags_default_to_server_config():
    """Each server setting is defined once, in ServerConfig: the flags take its defaults (the
    CLI's own 64 concurrent requests once answered an OpenRLHF rollout of 2,048 with 503s)."""
    from rm_rl.server import ServerConfig

    args = cli_serve._configure(argparse.ArgumentParser()).parse_args([])
    config = ServerConfig()
    assert args.max_concurrent_requests == config.max_concurrent_requests >= 2048
    assert (args.max_batch, args.max_pending, args.max_connections) == (
        config.max_batch, config.max_pending, config.max_connections)
    assert int(args.max_request_mb * 2**20) == config.max_request_bytes
    assert (args.graceful_timeout, args.read_timeout, args.on_sandbox_error) == (
        config.graceful_timeout_s, config.read_timeout_s, config.on_sandbox_error)


def test_server_config_needs_no_web_framework():
    """ServerConfig and the serve flags import without FastAPI or uvicorn (the serve extra)."""
    code = ("import argparse, sys; from rm_rl import cli_serve; "
            "cli_serve._configure(argparse.ArgumentParser()).parse_args([]); "
            "from rm_rl.server import ServerConfig; ServerConfig(); "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_registered_as_an_acecoder_plugin(monkeypatch, capsys):
    """Once the entry point serve = "rm_rl.cli_serve" exists, `acecoder serve` dispatches here."""
    import acesandbox.cli as cli

    monkeypatch.setattr(cli, "_plugins", lambda: [cli.Subcommand("serve", "rm_rl.cli_serve", "")])
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", "--help"])
    assert exit_.value.code == 0
    assert "--dataset PATH_OR_NAME" in capsys.readouterr().out
    seen = []
    monkeypatch.setattr(cli_serve, "run", lambda args: seen.append(args.port) or 7)
    assert cli.main(["serve", "--port", "1"]) == 7 and seen == [1]


def test_bad_dataset_is_a_clean_error(tmp_path, capsys):
    code = acecoder(["serve", "--dataset", str(tmp_path / "missing.jsonl"), "--port", str(free_port())])
    missing = tmp_path / "missing.jsonl"
    assert code == 2 and f"acecoder serve: {missing}: dataset file not found" in capsys.readouterr().err


def test_bad_option_is_a_clean_error(capsys):
    assert acecoder(["serve", "--timeout-s", "0", "--port", str(free_port())]) == 2
    assert "timeout_s must be a positive number" in capsys.readouterr().err


ACECODER = [sys.executable, "-m", "acesandbox.cli", "serve"]  # the `acecoder serve` command itself


def start(args, env=None):
    port = free_port()
    proc = subprocess.Popen(
        [*ACECODER, "--port", str(port), "--log-level", "warning", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode()
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start")


@pytest.fixture
def sandbox_host():
    from _support import require_backend

    require_backend("namespace")


def test_acecoder_serve_acecode_jsonl_then_sigterm(tmp_path, acecode_jsonl, sandbox_host):
    from importlib.metadata import entry_points

    if not any(ep.name == "serve" for ep in entry_points(group="acecoder.commands")):
        pytest.fail("the acecoder.commands entry point serve = rm_rl.cli_serve is not installed")
    proc, url = start(["--dataset", str(acecode_jsonl), "--workers", "1", "--timeout-s", "2"],
                      env={"ACECODER_SERVE_TOKEN": "tok"})
    try:
        auth = {"Authorization": "Bearer tok"}
        assert httpx.post(f"{url}/get_reward", json={"query": ["x"]}).status_code == 401
        assert httpx.get(f"{url}/health").json() == {"status": "ok"}  # liveness only without the token
        health = httpx.get(f"{url}/health", headers=auth).json()
        assert health["dataset"]["rows"] == 3 and health["backend"] == "namespace"
        prompt = "<|im_start|>user\nWrite a function add(a, b) returning the sum.<|im_end|>\n<|im_start|>assistant\n"
        r = httpx.post(f"{url}/get_reward", headers=auth, timeout=60,
                       json={"query": [prompt + GOOD_ADD + "<|im_end|>", prompt + "no code"]})
        assert r.status_code == 200 and r.json()["rewards"] == [1.0, 0.0]
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0].decode()
    assert proc.returncode == 0, out


def test_sigterm_with_slow_work_in_flight_answers_503(tmp_path, sandbox_host):
    proc, url = start(["--workers", "1", "--timeout-s", "5", "--graceful-timeout", "1"])
    slow = "```python\nimport time\ndef add(a, b):\n    time.sleep(12)\n    return a + b\n```"
    result = {}

    def post():
        r = httpx.post(f"{url}/score", json={"items": [{"completion": slow, "tests": ADD_TESTS}]}, timeout=60)
        result["status"], result["body"] = r.status_code, r.json()

    t = threading.Thread(target=post)
    t.start()
    deadline = time.monotonic() + 30
    while httpx.get(f"{url}/metrics").json()["queue"]["pending_jobs"] == 0:  # wait until it runs
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    t.join(60)
    out = proc.communicate(timeout=60)[0].decode()
    # A 503 (not the 200 the 12 s program would give): the server did not wait for it.
    assert result["status"] == 503 and "shutting down" in result["body"]["detail"]
    assert proc.returncode == 0, out
