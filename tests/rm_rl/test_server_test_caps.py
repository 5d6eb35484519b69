"""Caps on tests, not only on completions and bytes (rt9 max_body_amplify): one authorized
request of millions of tiny tests (each the string "1") cost the server ~65x its body in
memory and stalled its event loop for tens of seconds. Against the real uvicorn server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
import time

import httpx
import pytest

from acesandbox import CallBatchTest, SandboxError
from rm_rl import cli_serve
from rm_rl.errors import ConfigError
from rm_rl.server import RewardServer, ServerConfig, create_app
from rm_rl.server.service import RewardService, count_tests

from .conftest import ADD_TESTS, GOOD_ADD


def serve_fake(fake, **config):
    _, ex = fake
    return RewardServer(create_app(ServerConfig(**config), executor=ex))


def item(n_tests: int) -> dict:
    return {"completion": GOOD_ADD, "tests": ["assert add(1, 2) == 3"] * n_tests}


def calls(n: int) -> dict:
    return {"kind": "calls", "fn": "add", "calls": [[1, 2]] * n, "expected": [3] * n}


def queue(c: httpx.Client) -> dict:
    return c.get("/metrics").json()["queue"]


def wait_for(predicate, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def post_in_thread(url: str, path: str, payload: dict, timeout_s: float = 60.0) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def go() -> None:
        try:
            with httpx.Client(base_url=url, timeout=timeout_s) as c:
                r = c.post(path, json=payload)
            out["status"], out["body"] = r.status_code, r.json()
        except httpx.TimeoutException:
            out["status"] = "timeout"

    t = threading.Thread(target=go)
    t.start()
    return t, out


def test_count_tests():
    assert count_tests(["assert f()", "assert g()"]) == 2
    assert count_tests(("a", {"kind": "io", "stdin": "", "expected_stdout": ""})) == 2
    assert count_tests([calls(5), "assert f()"]) == 6  # a call batch counts its calls
    assert count_tests([{"kind": "calls", "calls": []}, {"kind": "calls", "calls": "x"}]) == 2  # malformed: 1 each
    assert count_tests([{"calls": [[1]] * 9}]) == 1  # an assert test (no kind) with a stray field
    assert count_tests([CallBatchTest("f", [[1], [2], [3]], [1, 2, 3])]) == 3
    assert count_tests("assert f()") == 1


def test_a_request_over_max_tests_per_request_is_413_before_planning(fake, monkeypatch):
    planned: list[int] = []
    plan = RewardService._plan_entries

    def recording(self, reward, entries):
        planned.append(len(entries))
        return plan(self, reward, entries)

    monkeypatch.setattr(RewardService, "_plan_entries", recording)
    script, _ = fake
    with serve_fake(fake, max_tests_per_request=10) as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        over = [
            ("/score", {"items": [item(6), item(5)]}),  # in all, across items
            ("/score", {"items": [{"completion": GOOD_ADD, "tests": [calls(11)]}]}),  # one test of 11 calls
            ("/score", {"items": [{"completion": GOOD_ADD, "tests": '["assert 1"' + ', "assert 1"' * 10 + "]"}]}),
            ("/get_reward", {"query": [GOOD_ADD] * 2, "labels": [ADD_TESTS * 2, {"tests": ADD_TESTS * 2}]}),
            ("/get_reward", {"query": [GOOD_ADD], "labels": ['["1"' + ', "1"' * 10 + "]"]}),
        ]
        for path, payload in over:
            r = c.post(path, json=payload)
            assert r.status_code == 413, (path, r.text)
            assert "max_tests_per_request" in r.json()["detail"] and "split" in r.json()["detail"]
        assert planned == [] and script.jobs == []
        r = c.post("/score", json={"items": [item(5), item(5)]})  # at the cap: fine
        assert r.status_code == 200 and [x["reward"] for x in r.json()["results"]] == [1.0, 1.0]
        assert queue(c)["pending_tests"] == 0


def test_a_body_of_a_million_tiny_tests_is_refused_quickly(fake):
    """The red team's request, at the default cap: answered 413 in well under a second of
    server time (it took minutes and GiBs before), and the server stays healthy."""
    script, _ = fake
    limit = ServerConfig().max_tests_per_request
    body = b'{"items":[{"completion":"x","tests":[' + b",".join([b'"1"'] * (limit + 1)) + b"]}]}"
    with serve_fake(fake, token="tok") as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        auth = {"Authorization": "Bearer tok", "Content-Type": "application/json"}
        t0 = time.monotonic()
        r = c.post("/score", content=body, headers=auth)
        assert r.status_code == 413 and f"{limit + 1} tests" in r.json()["detail"], r.text[:200]
        assert time.monotonic() - t0 < 10  # ~0.5 s here; the old server answered 200 after ~15 s
        assert c.get("/health").status_code == 200
        ok = c.post("/score", json={"items": [{"completion": GOOD_ADD, "tests": ADD_TESTS}]}, headers=auth)
        assert ok.status_code == 200 and ok.json()["results"][0]["reward"] == 1.0
        assert c.get("/metrics", headers=auth).json()["queue"]["pending_tests"] == 0
        assert len(script.jobs) == 1


def test_pending_tests_over_the_cap_are_503_with_retry_after(fake):
    script, _ = fake
    script.gate = threading.Event()
    srv = serve_fake(fake, max_tests_per_request=10, max_pending_tests=10)
    with srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        first, out1 = post_in_thread(srv.url, "/score", {"items": [item(3), item(3)]})
        assert script.started.wait(10)
        assert queue(c)["pending_tests"] == 6
        busy = c.post("/score", json={"items": [item(5)]})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1", busy.text
        assert "6 tests queued" in busy.json()["detail"] and "--max-pending-tests" in busy.json()["detail"]
        busy = c.post("/get_reward", json={"query": [GOOD_ADD], "labels": [ADD_TESTS * 2]})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1", busy.text
        small, out2 = post_in_thread(srv.url, "/score", {"items": [item(4)]})  # fits: 6 + 4 <= 10
        assert wait_for(lambda: queue(c)["pending_tests"] == 10)
        script.gate.set()
        first.join(30)
        small.join(30)
        assert out1["status"] == 200 and out2["status"] == 200
        m = c.get("/metrics").json()
        assert m["queue"]["pending_tests"] == 0 and m["queue"]["pending_completions"] == 0
        assert m["rejected_busy"] == 2


def test_the_pending_test_count_returns_to_zero_after_errors_and_disconnects(fake, monkeypatch):
    script, _ = fake
    srv = serve_fake(fake, max_batch=4, on_sandbox_error="503")
    with srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        # refused: too many completions, tests that do not parse (422 before admission)
        assert c.post("/score", json={"items": [item(1)] * 5}).status_code == 413
        assert c.post("/score", json={"items": [{"completion": "x", "tests": "[1"}]}).status_code == 422
        # the sandbox fails: 503 after scoring
        script.answer = lambda job: (_ for _ in ()).throw(SandboxError("boom"))
        r = c.post("/score", json={"items": [item(3)]})
        assert r.status_code == 503, r.text
        assert queue(c)["pending_tests"] == 0
        script.answer = lambda job: ["passed"] * len(job.tests)

        # planning itself fails: 503, logged
        def broken(*_a, **_k):
            raise RuntimeError("planning broke")

        monkeypatch.setattr(RewardService, "_plan", broken)
        r = c.post("/score", json={"items": [item(3)]})
        assert r.status_code == 503 and "RuntimeError" in r.json()["detail"], r.text
        monkeypatch.undo()
        assert queue(c)["pending_tests"] == 0

        # the client goes away while its tests are queued
        script.gate = threading.Event()
        gone, out = post_in_thread(srv.url, "/score", {"items": [item(7)]}, timeout_s=0.5)
        gone.join(30)
        assert out["status"] == "timeout"
        assert queue(c)["pending_tests"] in (0, 7)  # released now, or once its job ends
        script.gate.set()
        assert wait_for(lambda: queue(c)["pending_tests"] == 0), queue(c)
        assert queue(c) == {"pending_completions": 0, "pending_tests": 0, "in_flight_requests": 0,
                            "pending_jobs": 0}
        assert c.post("/score", json={"items": [item(2)]}).status_code == 200


def test_a_cancelled_request_releases_its_pending_tests(fake):
    """A request task cancelled while its tests are queued (its client gone, a forced shutdown)."""
    script, ex = fake
    script.gate = threading.Event()

    async def go() -> tuple[int, int]:
        service = RewardService(ServerConfig(batch_window_ms=0), executor=ex)
        await service.startup()
        reward = service.reward(None)
        task = asyncio.ensure_future(service.score(reward, [GOOD_ADD] * 2, [ADD_TESTS, [calls(4)]], None))
        while not script.started.is_set():
            await asyncio.sleep(0.01)
        queued = service.pending_tests
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        left = service.pending_tests
        script.gate.set()
        return queued, left

    assert asyncio.run(go()) == (7, 0)


def test_shutdown_past_the_deadline_releases_the_pending_tests(fake):
    script, _ = fake
    script.gate = threading.Event()
    srv = serve_fake(fake, graceful_timeout_s=0.3).start()
    t, out = post_in_thread(srv.url, "/score", {"items": [item(5)] * 4})
    assert script.started.wait(10)
    assert srv.service.pending_tests == 20
    srv.stop()
    t.join(30)
    assert out["status"] == 503 and "shutting down" in out["body"]["detail"]
    assert (srv.service.pending_tests, srv.service.pending, srv.service.in_flight) == (0, 0, 0)


def test_a_big_request_is_parsed_finished_and_answered_off_the_event_loop(fake, monkeypatch):
    """Coercing, finishing and rendering a million tests take seconds each: not on the loop,
    where they would stall every other request and /health."""
    from rm_rl.server import app as app_module

    where: dict[str, list[str]] = {"coerce": [], "finish": [], "render": []}

    def recording(name, fn):
        def wrapped(*a, **k):
            where[name].append(threading.current_thread().name)
            return fn(*a, **k)

        return wrapped

    monkeypatch.setattr(app_module, "coerce_tests", recording("coerce", app_module.coerce_tests))
    monkeypatch.setattr(app_module, "_ascii_json", recording("render", app_module._ascii_json))
    monkeypatch.setattr(
        RewardService, "_finish_entries", staticmethod(recording("finish", RewardService._finish_entries))
    )
    with serve_fake(fake) as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        loop = srv._thread.name
        assert c.post("/score", json={"items": [item(3)]}).status_code == 200
        r = c.post("/score", json={"items": [item(2000)], "details": True})
        assert r.status_code == 200 and r.json()["results"][0]["passed"] == 2000
    for name, threads in where.items():
        assert threads[0] == loop, name  # small: no thread hop
        assert threads[1] != loop, name


def test_test_caps_are_validated_and_are_the_flags_defaults(capsys):
    for name in ("max_tests_per_request", "max_pending_tests"):
        for bad in (0, -1, 1.5, True, None):
            with pytest.raises(ConfigError, match=name):
                ServerConfig(**{name: bad})
        assert ServerConfig.options()[name]
    with pytest.raises(ConfigError, match="max_pending_tests .* must be >= max_tests_per_request"):
        ServerConfig(max_tests_per_request=10, max_pending_tests=5)
    config = ServerConfig()
    assert (config.max_tests_per_request, config.max_pending_tests) == (1_000_000, 4_000_000)
    args = cli_serve._configure(argparse.ArgumentParser()).parse_args([])
    assert (args.max_tests_per_request, args.max_pending_tests) == (1_000_000, 4_000_000)
    args = cli_serve._configure(argparse.ArgumentParser()).parse_args(
        ["--max-tests-per-request", "50", "--max-pending-tests", "200"]
    )
    assert (args.max_tests_per_request, args.max_pending_tests) == (50, 200)
    args = cli_serve._configure(argparse.ArgumentParser()).parse_args(
        ["--max-tests-per-request", "50", "--max-pending-tests", "20", "--port", "1"]
    )
    assert cli_serve.run(args) == 2  # the flags reach ServerConfig, refused before anything starts
    assert "max_pending_tests (20) must be >= max_tests_per_request (50)" in capsys.readouterr().err
