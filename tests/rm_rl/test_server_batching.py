"""The reward server under an RL trainer's traffic: many concurrent one-sample requests.

Recent OpenRLHF sends one sample per request (2,048 at once for a 256 x 8 rollout) and
retries on errors. These tests send that shape to a real server on 127.0.0.1 and check
counts, never times: every request is answered with its own rewards (looping and
crashing programs included), concurrent requests share scoring batches, overload is a
503 with Retry-After that a retrying client gets past, and nothing is ever a 500.
Speed is measured by ``python -m perf.reward_server``.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from rm_rl.errors import ConfigError
from rm_rl.server import RewardServer, ServerConfig, create_app

from .conftest import ADD_TESTS, BAD_ADD, GOOD_ADD

LOOPING = "```python\ndef add(a, b):\n    while True:\n        pass\n```"
CRASHING = "```python\nimport os\nos._exit(3)\ndef add(a, b):\n    return a + b\n```"
RAISING = "```python\ndef add(a, b):\n    raise ValueError('no')\n```"
MIX = [(GOOD_ADD, 1.0), (BAD_ADD, 0.0), (RAISING, 0.0), (CRASHING, 0.0), (GOOD_ADD, 1.0), (LOOPING, 0.0)]


def mix(n: int) -> list[tuple[str, float]]:
    """``n`` completions with their expected binary rewards: one loop per 12, crashes, raises."""
    out = [MIX[i % len(MIX)] for i in range(n)]
    return [(GOOD_ADD, 1.0) if c == LOOPING and i % 12 != 5 else (c, r) for i, (c, r) in enumerate(out)]


def post_until_answered(url: str, body: dict, attempts: int = 60) -> tuple[int, dict, list[int]]:
    """POST like a trainer's client: on 503 wait Retry-After and retry. ``(status, body, statuses seen)``."""
    seen: list[int] = []
    with httpx.Client(base_url=url, timeout=120) as c:
        for _ in range(attempts):
            r = c.post("/get_reward", json=body)
            seen.append(r.status_code)
            if r.status_code != 503:
                return r.status_code, r.json(), seen
            assert float(r.headers["retry-after"]) >= 1
            time.sleep(0.2)  # the header says 1 s; a quicker retry keeps the test short and the load high
    return seen[-1], {}, seen


def one_sample(completion: str) -> dict:
    return {"query": [completion], "labels": [json.dumps(ADD_TESTS)]}


@pytest.fixture(scope="module")
def real():
    from _support import require_backend

    require_backend("namespace")


def real_server(**config):
    base = {"reward_options": {"timeout_s": 1.0, "workers": 2}}
    return RewardServer(create_app(ServerConfig(**{**base, **config})))


def test_concurrent_single_sample_requests_share_batches_and_get_their_own_rewards(real):
    work = mix(48)
    with real_server(batch_window_ms=200, batch_completions=64) as srv:
        with ThreadPoolExecutor(48) as pool:
            results = list(pool.map(lambda cr: post_until_answered(srv.url, one_sample(cr[0])), work))
        metrics = httpx.get(f"{srv.url}/metrics", timeout=30).json()
    for (_, expected), (status, body, seen) in zip(work, results):
        assert status == 200 and seen == [200]
        assert body["rewards"] == [expected] and body["extra_logs"]["executed"] == [1.0]
    assert metrics["completions"] == 48 and metrics["sandbox_errors"] == 0
    assert metrics["batches"]["requests"] == 48
    assert metrics["batches"]["count"] < 48 and metrics["batches"]["largest_requests"] >= 2
    assert "500" not in metrics["responses"]


def test_a_full_batch_is_scored_without_waiting_for_the_window(real):
    # A 1 s window, but batches of 4 completions: a 4-completion request is scored at once.
    with real_server(batch_window_ms=1000, batch_completions=4) as srv, httpx.Client(base_url=srv.url) as c:
        t0 = time.monotonic()
        r = c.post("/get_reward", json={"query": [GOOD_ADD] * 4, "labels": [ADD_TESTS] * 4})
        assert r.status_code == 200 and r.json()["rewards"] == [1.0] * 4
        assert time.monotonic() - t0 < 30  # bounded, not timed: the window would make it >= 1 s only if waited


def test_overload_is_503_with_retry_after_and_no_request_is_dropped(real):
    work = mix(40)
    with real_server(max_batch=4, max_pending=6, batch_window_ms=5) as srv:
        with ThreadPoolExecutor(40) as pool:
            results = list(pool.map(lambda cr: post_until_answered(srv.url, one_sample(cr[0])), work))
        metrics = httpx.get(f"{srv.url}/metrics", timeout=30).json()
    assert all(status == 200 for status, _, _ in results)  # every request answered in the end
    assert [body["rewards"] for _, body, _ in results] == [[r] for _, r in work]
    assert {s for _, _, seen in results for s in seen} <= {200, 503}
    assert metrics["rejected_busy"] >= 1 and metrics["responses"]["503"] == metrics["rejected_busy"]
    assert "500" not in metrics["responses"] and metrics["completions"] == 40


def test_too_many_requests_in_flight_is_503_not_500(real):
    with real_server(max_concurrent_requests=2, batch_window_ms=300) as srv:
        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(lambda cr: post_until_answered(srv.url, one_sample(cr[0])), mix(12)))
        metrics = httpx.get(f"{srv.url}/metrics", timeout=30).json()
    assert all(status == 200 for status, _, _ in results)
    assert metrics["responses"].get("503", 0) >= 1 and "500" not in metrics["responses"]


# ------------------------------------------------------------- fake sandbox


def test_pool_shut_down_under_queued_requests_is_503_then_recovers(fake):
    """The cause of a 500 under load: jobs cancelled by the pool's shutdown raised CancelledError."""
    script, ex = fake
    script.gate = threading.Event()
    item = {"completion": GOOD_ADD, "tests": ADD_TESTS}
    with RewardServer(create_app(ServerConfig(batch_window_ms=0), executor=ex)) as srv:
        out: dict = {}

        def go():
            with httpx.Client(base_url=srv.url, timeout=60) as c:
                r = c.post("/score", json={"items": [item] * 4})  # 2 run (blocked), 2 queued
            out.update(status=r.status_code, body=r.json(), headers=r.headers)

        t = threading.Thread(target=go)
        t.start()
        assert script.started.wait(10)
        deadline = time.monotonic() + 10
        while srv.service.runner.pending < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        srv.service.runner.close()  # cancels the 2 queued jobs
        script.gate.set()
        t.join(30)
        assert out["status"] == 503 and out["headers"]["retry-after"] == "1"
        assert "retry" in out["body"]["detail"]
        with httpx.Client(base_url=srv.url, timeout=60) as c:  # the runner restarts on the next request
            r = c.post("/score", json={"items": [item] * 3})
            assert r.status_code == 200 and [x["reward"] for x in r.json()["results"]] == [1.0] * 3
            assert "500" not in c.get("/metrics").json()["responses"]


def test_a_request_with_bad_data_fails_alone_in_its_batch(fake):
    _, ex = fake
    good = {"completion": GOOD_ADD, "tests": ADD_TESTS}
    with RewardServer(create_app(ServerConfig(batch_window_ms=300, reward_options={"max_chars": 10_000}),
                                 executor=ex)) as srv:
        def post(body):
            with httpx.Client(base_url=srv.url, timeout=60) as c:
                r = c.post("/score", json=body)
                return r.status_code, r.json()

        with ThreadPoolExecutor(3) as pool:
            ok1 = pool.submit(post, {"items": [good]})
            bad = pool.submit(post, {"items": [{"completion": GOOD_ADD, "tests": [{"kind": "nonsense"}]}]})
            ok2 = pool.submit(post, {"items": [good, good]})
        assert ok1.result()[0] == 200 and ok2.result()[0] == 200
        assert [x["reward"] for x in ok2.result()[1]["results"]] == [1.0, 1.0]
        assert bad.result()[0] == 422


def test_batching_options_are_validated():
    for bad in (-1, float("nan"), 5000, True):
        with pytest.raises(ConfigError, match="batch_window_ms"):
            ServerConfig(batch_window_ms=bad)
    with pytest.raises(ConfigError, match="batch_completions"):
        ServerConfig(batch_completions=0)
    assert ServerConfig().max_concurrent_requests >= 2048  # OpenRLHF's 256 x 8 rollout, one sample a request


def test_perf_workload_mixes_looping_and_crashing_programs():
    """perf.reward_server's 1,024 completions: what it sends (its timing is never asserted)."""
    from perf.reward_server import LOOP, build_bodies

    items = build_bodies(1024)
    assert len(items) == 1024 and items == build_bodies(1024)
    loops = [q for q, _ in items if "while True" in q]
    crashes = [q for q, _ in items if "os._exit(3)" in q]
    assert len(loops) == 10 and len(crashes) == 21 and LOOP.split("(")[1].startswith("*args")
    assert all(json.loads(t) and isinstance(json.loads(t), list) for _, t in items)


def test_a_client_leaving_its_batch_does_not_disturb_the_others(fake):
    script, ex = fake
    script.gate = threading.Event()
    item = {"completion": GOOD_ADD, "tests": ADD_TESTS}
    with RewardServer(create_app(ServerConfig(batch_window_ms=300), executor=ex)) as srv:
        def impatient():
            with httpx.Client(base_url=srv.url, timeout=0.5) as c, pytest.raises(httpx.TimeoutException):
                c.post("/score", json={"items": [item] * 3})

        def patient():
            with httpx.Client(base_url=srv.url, timeout=60) as c:
                r = c.post("/score", json={"items": [item] * 2})
                return r.status_code, [x["reward"] for x in r.json()["results"]]

        with ThreadPoolExecutor(2) as pool:
            gone = pool.submit(impatient)
            stays = pool.submit(patient)
            gone.result(30)  # left while its jobs wait at the gate
            script.gate.set()
            assert stays.result(30) == (200, [1.0, 1.0])
        with httpx.Client(base_url=srv.url, timeout=60) as c:
            deadline = time.monotonic() + 10
            while (metrics := c.get("/metrics").json())["queue"]["pending_completions"] and time.monotonic() < deadline:
                time.sleep(0.05)  # the departed request's handler releases its share when its batch ends
            assert metrics["queue"]["pending_completions"] == 0 and "500" not in metrics["responses"]


def test_request_bytes_held_at_once_are_capped_with_503(fake):
    script, ex = fake
    script.gate = threading.Event()
    item = {"completion": GOOD_ADD, "tests": ADD_TESTS}
    body = {"items": [item] * 8}  # about 1.3 kB
    size = len(json.dumps(body))
    config = ServerConfig(max_request_bytes=size + 10, max_body_bytes_in_flight=size + size // 2)
    with RewardServer(create_app(config, executor=ex)) as srv:
        out: dict = {}

        def first():
            with httpx.Client(base_url=srv.url, timeout=60) as c:
                out["first"] = c.post("/score", json=body).status_code

        t = threading.Thread(target=first)
        t.start()
        assert script.started.wait(10)  # the first body is held while its jobs wait at the gate
        with httpx.Client(base_url=srv.url, timeout=60) as c:
            r = c.post("/score", json=body)
            assert r.status_code == 503 and r.headers["retry-after"] == "1" and "bytes in flight" in r.json()["detail"]
            script.gate.set()
            t.join(30)
            assert out["first"] == 200 and c.post("/score", json=body).status_code == 200  # released
    with pytest.raises(ConfigError, match="max_body_bytes_in_flight .* must be >= max_request_bytes"):
        ServerConfig(max_request_bytes=2000, max_body_bytes_in_flight=1000)
    assert ServerConfig(max_request_bytes=2 * 2**30).body_budget_bytes == 2 * 2**30
