"""The reward server over real HTTP on a loopback port: shapes, errors, auth, load, shutdown."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from acesandbox import SandboxCrashedError
from rm_rl import load_problems
from rm_rl.errors import ConfigError
from acesandbox.extract import ACECODER_PREFILL
from rm_rl.server import RewardServer, ServerConfig, create_app

from .conftest import ADD_TESTS, BAD_ADD, GOOD_ADD

SOLUTION = "def add(a, b):\n    return a + b"


def chatml(question: str, answer: str, prefill: str = "") -> tuple[str, str]:
    prompt = f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n{prefill}"
    return prompt, prompt + answer + "<|im_end|>"


@pytest.fixture(scope="module")
def real_server(tmp_path_factory):
    """One server on the real sandbox with the sample dataset, shared by this module's read-only tests."""
    from _support import require_backend

    require_backend("namespace")
    path = tmp_path_factory.mktemp("data") / "acecode.jsonl"
    rows = [
        {"id": "add", "question": "Write a function add(a, b) returning the sum.", "test_cases": ADD_TESTS},
        {"id": "rev", "question": "Write rev(s) that reverses the string s.",
         "test_cases": ["assert rev('ab') == 'ba'", "assert rev('') == ''"]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = ServerConfig(reward_options={"timeout_s": 1.0, "workers": 2}, max_batch=64, max_pending=128,
                          max_request_bytes=200_000)
    with RewardServer(create_app(config, problems=load_problems(str(path)))) as srv:
        yield srv


@pytest.fixture
def client(real_server):
    with httpx.Client(base_url=real_server.url, timeout=60) as c:
        yield c


class TestShapes:
    def test_health(self, client):
        body = client.get("/health").json()
        assert body == {"status": "ok", "reward": "binary", "backend": "namespace", "workers": 2,
                        "dataset": {"source": body["dataset"]["source"], "rows": 2}, "warnings": []}

    def test_openrlhf_with_id_labels(self, client):
        p1, q1 = chatml("Write a function add(a, b) returning the sum.", f"Sure:\n```python\n{SOLUTION}\n```")
        p2, q2 = chatml("Write a function add(a, b) returning the sum.", BAD_ADD)
        r = client.post("/get_reward", json={"query": [q1, q2], "prompts": [p1, p2], "labels": ["add", "add"]})
        assert r.status_code == 200
        body = r.json()
        assert body["rewards"] == [1.0, 0.0] and body["scores"] == [1.0, 0.0]
        assert body["extra_logs"]["executed"] == [1.0, 1.0] and body["extra_logs"]["sandbox_error"] == [0.0, 0.0]

    def test_openrlhf_with_tests_as_json_labels(self, client):
        prompt, query = chatml("anything", "```python\ndef sq(x):\n    return x * x\n```")
        labels = [json.dumps(["assert sq(3) == 9", "assert sq(-2) == 4"])]
        assert client.post("/get_reward", json={"query": [query], "prompts": [prompt], "labels": labels}).json()[
            "rewards"
        ] == [1.0]

    def test_acecoder_query_only_with_prefill_found_by_question_hash(self, client):
        _, q_good = chatml("Write rev(s) that reverses  the string s.", "    return s[::-1]\n```",
                           prefill=ACECODER_PREFILL + "def rev(s):\n")
        _, q_prefill = chatml("Write a function add(a, b) returning the sum.", SOLUTION + "\n```\nDone.",
                              prefill=ACECODER_PREFILL)
        llama = (
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWrite a function add(a, b) returning the "
            f"sum.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n{BAD_ADD}<|eot_id|>"
        )
        r = client.post("/get_reward", json={"query": [q_good, q_prefill, llama]})
        assert r.status_code == 200, r.text
        assert r.json()["rewards"] == [1.0, 1.0, 0.0]

    def test_plain_score(self, client):
        items = [
            {"completion": GOOD_ADD, "tests": ADD_TESTS},
            {"completion": [{"role": "assistant", "content": BAD_ADD}], "id": "add"},
            {"completion": "no code at all", "tests": ADD_TESTS},
        ]
        body = client.post("/score", json={"items": items, "details": True}).json()
        assert [r["reward"] for r in body["results"]] == [1.0, 0.0, 0.0]
        assert [r["outcome"] for r in body["results"]] == ["executed", "executed", "no_code"]
        assert body["results"][0]["statuses"] == ["passed"] * 3 and body["results"][0]["program"] == SOLUTION
        assert body["reward"] == "binary" and body["sandbox_errors"] == 0

    def test_score_with_pass_rate_override(self, client):
        partial = "```python\ndef add(a, b):\n    return a + b if a > 0 else 7\n```"
        body = client.post("/score", json={"items": [{"completion": partial, "tests": ADD_TESTS}],
                                           "reward": "pass_rate"}).json()
        assert body["reward"] == "pass_rate" and body["results"][0]["reward"] == pytest.approx(2 / 3)
        assert "statuses" not in body["results"][0]

    def test_metrics(self, client):
        client.post("/score", json={"items": [{"completion": GOOD_ADD, "tests": ADD_TESTS}]})
        m = client.get("/metrics").json()
        assert m["completions"] >= 1 and m["outcomes"]["executed"] >= 1 and m["sandbox_errors"] == 0
        assert m["latency_s"]["p50"] is not None and m["throughput"]["completions_per_s"] > 0
        assert m["requests"]["/score"] >= 1 and m["responses"]["200"] >= 1
        assert m["queue"] == {"pending_completions": 0, "pending_tests": 0, "in_flight_requests": 0, "pending_jobs": 0}
        assert m["test_statuses"]["passed"] >= 3


class TestMalformed:
    @pytest.mark.parametrize(
        ("path", "payload", "status", "detail"),
        [
            ("/score", b"{not json", 400, "not valid JSON"),
            ("/get_reward", {"query": "not a list"}, 422, "query: Input should be a valid list"),
            ("/get_reward", {"prompts": ["p"]}, 422, "query: Field required"),
            ("/get_reward", {"query": ["a", "b"], "labels": ["add"]}, 422, "labels has 1 entries for 2 queries"),
            ("/get_reward", {"query": ["x"], "labels": ["nope"]}, 422, "labels[0]: no dataset row with id 'nope'"),
            ("/get_reward", {"query": ["unknown question"]}, 422, "matches no question"),
            ("/score", {"items": [{"completion": "x"}]}, 422, "items[0]: give 'tests' or an 'id'"),
            ("/score", {"items": [{"completion": "x", "tests": ["a"], "extra": 1}]}, 422, "Extra inputs"),
            ("/score", {"items": [], "reward": "nonsense"}, 422, "reward"),
            ("/score", {"items": [{"completion": "x", "tests": "[broken"}]}, 422, "looks like a JSON list"),
            ("/score", {"items": [{"completion": 5, "tests": ["a"]}]}, 422, "completion"),
        ],
    )
    def test_clear_4xx_and_the_server_stays_up(self, client, path, payload, status, detail):
        if isinstance(payload, bytes):
            r = client.post(path, content=payload, headers={"content-type": "application/json"})
        else:
            r = client.post(path, json=payload)
        assert r.status_code == status, r.text
        assert detail in r.json()["detail"]
        assert client.get("/health").status_code == 200

    def test_wrong_method_and_path(self, client):
        assert client.get("/score").status_code == 405
        assert client.post("/nowhere", json={}).status_code == 404
        assert client.get("/nowhere/else").status_code == 404
        requests = client.get("/metrics").json()["requests"]
        assert requests["other"] >= 2 and not any(k.startswith("/nowhere") for k in requests)

    def test_body_over_the_limit(self, client, real_server):
        big = {"items": [{"completion": "x" * 250_000, "tests": ["assert 1"]}]}
        r = client.post("/score", json=big)
        assert r.status_code == 413 and "200000 bytes" in r.json()["detail"]

        def chunks():
            for _ in range(30):
                yield b"x" * 10_000

        r = client.post("/score", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert client.get("/health").status_code == 200

    def test_batch_over_the_limit(self, client):
        r = client.post("/score", json={"items": [{"completion": "x", "tests": ["assert 1"]}] * 65})
        assert r.status_code == 413 and "limit is 64" in r.json()["detail"]

    def test_empty_batch(self, client):
        assert client.post("/get_reward", json={"query": []}).json()["rewards"] == []

    def test_raw_garbage_on_the_socket(self, real_server):
        with socket.create_connection((real_server.host, real_server.port), timeout=10) as s:
            s.sendall(b"\x16\x03\x01garbage not http\r\n\r\n")
            s.recv(1024)
        with httpx.Client(base_url=real_server.url) as c:
            assert c.get("/health").status_code == 200


class TestConcurrency:
    def test_concurrent_requests_all_correct(self, real_server):
        def one(i):
            completion = GOOD_ADD if i % 2 == 0 else BAD_ADD
            with httpx.Client(base_url=real_server.url, timeout=120) as c:
                r = c.post("/score", json={"items": [{"completion": completion, "tests": ADD_TESTS}] * 4})
            return i, r.status_code, [x["reward"] for x in r.json()["results"]]

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, range(16)))
        for i, status, rewards in results:
            assert status == 200 and rewards == [1.0 if i % 2 == 0 else 0.0] * 4


# ------------------------------------------------------------- fake sandbox


def serve_fake(fake, **config):
    _, ex = fake
    return RewardServer(create_app(ServerConfig(**config), executor=ex))


def post_in_thread(url, path, payload, headers=None):
    out = {}

    def go():
        with httpx.Client(base_url=url, timeout=60) as c:
            r = c.post(path, json=payload, headers=headers or {})
        out["status"], out["body"], out["headers"] = r.status_code, r.json(), r.headers

    t = threading.Thread(target=go)
    t.start()
    return t, out


ITEM = {"completion": GOOD_ADD, "tests": ADD_TESTS}


FORGEABLE = "judged in the program's process: forgeable"
TESTS = [*ADD_TESTS, "assert (lambda: add(3, 3))() == 6"]  # scored with compare="compat": in the program's process


def test_process_backend_warning_is_in_every_answer():
    """A server scoring on the process backend, or a forgeable test, says so in /score,
    /get_reward, /health and /metrics: each warning once, with its counts."""
    from acesandbox import Executor, SandboxConfig

    with Executor(SandboxConfig(backend="process", workers=1)) as ex:
        with RewardServer(create_app(ServerConfig(reward_options={"timeout_s": 2.0, "compare": "compat"}), executor=ex)) as srv:
            with httpx.Client(base_url=srv.url, timeout=60) as c:
                scored = c.post("/score", json={"items": [{"completion": GOOD_ADD, "tests": TESTS}]}).json()
                rewarded = c.post("/get_reward", json={"query": [GOOD_ADD], "labels": [TESTS]}).json()
                health, metrics = c.get("/health").json(), c.get("/metrics").json()
    weak = "process backend: no filesystem, network or pid isolation (use the namespace or docker backend)"
    assert scored["results"][0]["reward"] == 1.0 and scored["isolation"][0].startswith("process")
    assert rewarded["rewards"] == [1.0]
    for answer in (scored, rewarded):  # each response: once, counting its own jobs and tests
        assert f"{weak} (1 job)" in answer["warnings"] and f"{FORGEABLE} (4 tests in 1 job)" in answer["warnings"]
    for totals in (health, metrics):  # the server's totals
        assert f"{weak} (2 jobs)" in totals["warnings"] and f"{FORGEABLE} (8 tests in 2 jobs)" in totals["warnings"]
    assert sum(metrics["isolation"].values()) == 2


def test_a_2mb_client_test_is_answered_at_once_as_bad_tests(fake):
    """Issue 10: a client-supplied test that would take over a minute to plan (and seconds
    to parse) is refused before either, and the server answers the rest of the request."""
    import time

    script, _ = fake
    attack = "\n".join(f"assert add({i}, 0) == [" + ",".join(["1"] * 5000) + "]" for i in range(200))
    items = [{"completion": GOOD_ADD, "tests": [attack]}, ITEM]
    with serve_fake(fake) as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        t0 = time.monotonic()
        body = c.post("/score", json={"items": items}).json()
        elapsed = time.monotonic() - t0
    assert [(r["reward"], r["outcome"]) for r in body["results"]] == [(None, "bad_tests"), (1.0, "executed")]
    assert len(script.jobs) == 1 and elapsed < 5.0


def test_plain_score_reports_no_warning_on_the_fake_backend(fake):
    with serve_fake(fake) as srv, httpx.Client(base_url=srv.url) as c:
        body = c.post("/score", json={"items": [ITEM]}).json()
    assert body["warnings"] == [] and body["isolation"] == ["fake"] and body["sandbox_errors"] == 0


class TestWithFakeSandbox:
    def test_auth(self, fake):
        with serve_fake(fake, token="s3cret") as srv, httpx.Client(base_url=srv.url) as c:
            assert c.get("/health").status_code == 200
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
                r = c.post("/score", json={"items": [ITEM]}, headers=headers)
                assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            assert c.get("/metrics").status_code == 401
            ok = c.post("/score", json={"items": [ITEM]}, headers={"Authorization": "Bearer s3cret"})
            assert ok.status_code == 200 and ok.json()["results"][0]["reward"] == 1.0

    def test_sandbox_errors_are_null(self, fake):
        script, _ = fake

        def answer(job):
            if "a - b" in job.program:
                raise SandboxCrashedError("boom")
            return ["passed"] * len(job.tests)

        script.answer = answer
        with serve_fake(fake) as srv, httpx.Client(base_url=srv.url) as c:
            r = c.post("/get_reward", json={"query": [GOOD_ADD, BAD_ADD], "labels": [ADD_TESTS, ADD_TESTS]})
            assert r.json()["rewards"] == [1.0, None] and r.json()["extra_logs"]["sandbox_error"] == [0.0, 1.0]
            assert c.get("/metrics").json()["sandbox_errors"] == 1

    def test_sandbox_errors_can_refuse_the_request(self, fake):
        script, _ = fake
        script.answer = lambda job: ["sandbox_error"] * len(job.tests)
        with serve_fake(fake, on_sandbox_error="503") as srv, httpx.Client(base_url=srv.url) as c:
            r = c.post("/get_reward", json={"query": [GOOD_ADD], "labels": [ADD_TESTS]})
            assert r.status_code == 503 and r.headers["retry-after"] == "1" and "retry" in r.json()["detail"]

    def test_backpressure(self, fake):
        script, _ = fake
        script.gate = threading.Event()
        with serve_fake(fake, max_batch=4, max_pending=4) as srv:
            first, out1 = post_in_thread(srv.url, "/score", {"items": [ITEM] * 3})
            assert script.started.wait(10)
            with httpx.Client(base_url=srv.url) as c:
                busy = c.post("/score", json={"items": [ITEM] * 2})
                assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
                assert "3 completions queued" in busy.json()["detail"]
                assert c.get("/metrics").json()["queue"]["pending_completions"] == 3
                small = post_in_thread(srv.url, "/score", {"items": [ITEM]})  # fits: 3 + 1 <= 4
                script.gate.set()
                first.join(30)
                small[0].join(30)
                assert out1["status"] == 200 and small[1]["status"] == 200
                assert c.get("/metrics").json()["rejected_busy"] == 1

    def test_graceful_shutdown_finishes_in_flight_work(self, fake):
        script, _ = fake
        script.gate = threading.Event()
        srv = serve_fake(fake, graceful_timeout_s=30).start()
        t, out = post_in_thread(srv.url, "/score", {"items": [ITEM] * 2})
        assert script.started.wait(10)
        stopper = threading.Thread(target=srv.stop)
        stopper.start()
        time.sleep(0.5)
        assert stopper.is_alive()  # waiting for the in-flight request
        script.gate.set()
        t.join(30)
        stopper.join(30)
        assert out["status"] == 200 and [r["reward"] for r in out["body"]["results"]] == [1.0, 1.0]
        assert not srv.service.runner.started
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{srv.url}/health", timeout=2)

    def test_graceful_shutdown_cancels_work_past_the_deadline(self, fake):
        script, _ = fake
        script.gate = threading.Event()
        srv = serve_fake(fake, graceful_timeout_s=0.5).start()
        t, out = post_in_thread(srv.url, "/score", {"items": [ITEM] * 6})
        assert script.started.wait(10)
        srv.stop()  # returns although two jobs are still blocked in the sandbox
        t.join(30)
        assert out["status"] == 503 and "shutting down" in out["body"]["detail"]
        script.gate.set()
        assert len(script.jobs) == 2  # the four queued jobs were cancelled, never run


def test_config_is_validated():
    with pytest.raises(ConfigError, match="unknown reward option 'timeout'"):
        ServerConfig(reward_options={"timeout": 1})
    with pytest.raises(ConfigError, match="max_pending .* must be >= max_batch"):
        ServerConfig(max_batch=10, max_pending=5)
    with pytest.raises(ConfigError, match="use reward= / on_sandbox_error="):
        ServerConfig(reward_options={"on_sandbox_error": "raise"})
    with pytest.raises(ConfigError, match="on_sandbox_error must be 'null' or '503'"):
        ServerConfig(on_sandbox_error="zero")
    assert "s3cret" not in repr(ServerConfig(token="s3cret"))
    assert all(ServerConfig.options().values())
