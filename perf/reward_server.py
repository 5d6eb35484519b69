"""Reward server under an RL trainer's request shape: N single-sample requests vs one batch.

    python -m perf.reward_server                     # 1,024 completions, 2 workers, 3 rounds
    python -m perf.reward_server --completions 256 --compare-window 0

Recent OpenRLHF sends one sample per request (2,048 concurrent requests for a 256 x 8
rollout). The same completions are scored two ways by one warm server process (started
from the public API, ``rm_rl.server.create_app`` + ``serve``), rounds interleaved:

1. one batched ``/get_reward`` request holding every completion;
2. one request per completion, all sent at once (a client that retries on 503).

The workload is ``perf.rewards``'s (correct, wrong, raising, wrong-on-the-last-test
answers) with looping (``while True``) and crashing (``os._exit``) programs mixed in.
It prints both times and the ratio (target: at most 1.25), every HTTP status seen (a
500 is a failure), and checks that both ways give the same rewards.
``--compare-window 0`` also runs a server with batching off, for the figure before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

__all__ = ["build_bodies", "main"]

TARGET_RATIO = 1.25
LOOP = "def {name}(*args):\n    while True:\n        pass\n"
CRASH = "import os\nos._exit(3)\n"


def build_bodies(completions: int, seed: int = 0) -> list[tuple[str, str]]:
    """``(query, tests as JSON)`` per completion: perf.rewards's mix plus 1% loops and 2% crashes."""
    from perf.rewards import build_workload

    samples = 16
    work = build_workload(problems=-(-completions // samples), samples=samples, tests_per_problem=8, seed=seed)
    tests = {row["id"]: json.dumps(row["test_cases"]) for row in work.rows}
    out = []
    for i, c in enumerate(work.completions[:completions]):
        text = c.text
        if i % 100 == 37:
            name = c.program.split("def ", 1)[1].split("(", 1)[0]
            text = f"```python\n{LOOP.format(name=name)}```"
        elif i % 50 == 11:
            text = f"```python\n{CRASH}{c.program}```"
        out.append((c.prompt + text, tests[c.row_id]))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(port: int, workers: int, timeout_s: float, window_ms: float) -> subprocess.Popen[bytes]:
    code = (
        "from rm_rl.server import ServerConfig, create_app, serve\n"
        f"config = ServerConfig(reward_options={{'workers': {workers}, 'timeout_s': {timeout_s}}}, "
        f"batch_window_ms={window_ms})\n"
        f"serve(create_app(config), host='127.0.0.1', port={port}, log_level='warning')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the reward server exited with code {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise TimeoutError("the reward server did not become healthy")


async def _post(client: Any, url: str, body: dict[str, Any], statuses: Counter[int]) -> list[float | None]:
    for _ in range(20):
        async with client.post(url, json=body) as r:
            statuses[r.status] += 1
            if r.status == 200:
                return list((await r.json())["rewards"])
            if r.status != 503:
                raise RuntimeError(f"HTTP {r.status}: {(await r.text())[:200]}")
            retry = float(r.headers.get("retry-after", "1"))
        await asyncio.sleep(retry)
    raise RuntimeError("a request was refused 20 times")


async def _round(url: str, items: list[tuple[str, str]], single: bool, statuses: Counter[int]) -> tuple[float, list]:
    import aiohttp  # a light client (OpenRLHF's are separate processes): the client's CPU is not the server's

    connector = aiohttp.TCPConnector(limit=len(items))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=600)) as client:
        t0 = time.perf_counter()
        if single:
            parts = await asyncio.gather(
                *(_post(client, url, {"query": [q], "labels": [t]}, statuses) for q, t in items)
            )
            rewards = [r for part in parts for r in part]
        else:
            body = {"query": [q for q, _ in items], "labels": [t for _, t in items]}
            rewards = await _post(client, url, body, statuses)
        return time.perf_counter() - t0, rewards


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of the server process, its sandboxes apart (they are not its children)."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def measure(args: argparse.Namespace, window_ms: float) -> dict[str, Any]:
    """Best-of-``repeat`` seconds for the batched and the single-sample shapes on one server."""
    items = build_bodies(args.completions, args.seed)
    port = _free_port()
    proc = _start(port, args.workers, args.timeout_s, window_ms)
    url = f"http://127.0.0.1:{port}/get_reward"
    times: dict[str, list[float]] = {"batched": [], "single": []}
    cpu: dict[str, list[float]] = {"batched": [], "single": []}
    statuses: Counter[int] = Counter()
    rewards: dict[str, list] = {}
    try:
        asyncio.run(_round(url, items[:32], False, Counter()))  # warm-up
        for _ in range(args.repeat):
            for shape in ("batched", "single"):
                before = _cpu_s(proc.pid)
                seconds, got = asyncio.run(_round(url, items, shape == "single", statuses))
                cpu[shape].append(round(_cpu_s(proc.pid) - before, 3))
                times[shape].append(round(seconds, 3))
                rewards[shape] = got
                print(f"  window {window_ms} ms, {shape}: {seconds:.2f} s, server CPU {cpu[shape][-1]:.2f} s", flush=True)
    finally:
        proc.terminate()
        proc.wait(60)
    best = {k: min(v) for k, v in times.items()}
    return {
        "batch_window_ms": window_ms,
        "completions": len(items),
        "rounds": times,
        "server_cpu_s": cpu,
        "best_s": best,
        "ratio": round(best["single"] / best["batched"], 3),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "same_rewards": rewards["batched"] == rewards["single"],
        "mean_reward": sum(r or 0.0 for r in rewards["batched"]) / max(1, len(items)),
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m perf.reward_server", description=__doc__.split("\n\n")[0])
    p.add_argument("--completions", type=int, default=1024, help="completions per round (default 1024)")
    p.add_argument("--workers", type=int, default=2, help="sandboxes of the server (default 2)")
    p.add_argument("--timeout-s", type=float, default=1.0, help="CPU seconds per test (default 1.0)")
    p.add_argument("--repeat", type=int, default=3, help="rounds of each shape (default 3)")
    p.add_argument("--window-ms", type=float, default=5.0, help="the server's batch_window_ms (default 5)")
    p.add_argument("--compare-window", type=float, default=None, help="also measure this window (e.g. 0)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="write the result to this file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    results = [measure(args, args.window_ms)]
    if args.compare_window is not None:
        results.append(measure(args, args.compare_window))
    for res in results:
        ok = res["ratio"] <= TARGET_RATIO and "500" not in res["statuses"] and res["same_rewards"]
        print(
            f"window {res['batch_window_ms']} ms: batched {res['best_s']['batched']:.2f} s, "
            f"{res['completions']} single-sample requests {res['best_s']['single']:.2f} s, "
            f"ratio {res['ratio']:.2f} (target <= {TARGET_RATIO}); statuses {res['statuses']}; "
            f"same rewards: {res['same_rewards']} -> {'OK' if ok else 'MISSED'}"
        )
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
