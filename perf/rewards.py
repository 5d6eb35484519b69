"""Reward-server speed benchmark: one RL step scored over HTTP vs ``run_batch`` directly.

    python -m perf.rewards                       # 1,024 completions x 16 asserts, binary reward
    python -m perf.rewards --reward pass_rate --requests 64

The workload is one GRPO step of the AceCoder paper's size: 64 problems x 16 sampled
completions, each problem with 16 assert tests. Completions are markdown answers
(prose, a fenced solution, a usage example) whose solutions are correct (50%), wrong
from the first test (30%), raising (10%) or wrong only on the last test (10%, the
worst case for a binary reward's early stop).

Three timings, each end to end, interleaved over ``--repeat`` rounds (the machine may
be shared: the best round of each is compared, and every round is printed):

1. ``run_batch``: ``acesandbox.run_batch`` on the already extracted programs, sandbox
   start-up included (what a script calling acesandbox directly pays);
2. warm executor: the same jobs on an already started ``acesandbox.Executor`` (the
   floor: sandbox time only);
3. HTTP: an ``acecoder serve`` subprocess (warm, dataset loaded) scoring the step from
   OpenRLHF's request shape (``query`` = prompt + response, ``labels`` = row ids), so
   JSON, code extraction, test lookup and the queue are all included.

It prints the three times, the HTTP overhead over each direct path, whether the step
took 15 s or less, the host CPU each path spent outside the sandboxes (the serving
overhead proper, immune to other load on the machine), and checks that the server's
rewards equal the direct ones. Speed
is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Completion", "Workload", "build_workload", "main"]

TARGET_S = 15.0
TARGET_OVERHEAD = 0.10


@dataclass(frozen=True)
class Completion:
    """One sampled completion: its row, the full answer text, and the program inside."""

    row_id: str
    prompt: str
    text: str
    program: str
    variant: str


@dataclass(frozen=True)
class Workload:
    rows: list[dict[str, Any]]
    completions: list[Completion]


_FAMILIES = (
    ("poly", "x", "return {a} * x * x + {b} * x + {c}", lambda r, k: [r.randint(-50, 50) for _ in range(k)]),
    (
        "digits",
        "n",
        "return sum(int(d) for d in str(abs(n))) * {a} + {b}",
        lambda r, k: [r.randint(0, 10**6) for _ in range(k)],
    ),
    ("clip", "x", "return max({a}, min({b}, x))", lambda r, k: [r.randint(-100, 100) for _ in range(k)]),
    (
        "rev",
        "s",
        "return s[::-1] + '{w}' * {a}",
        lambda r, k: ["".join(r.choice("abcxyz") for _ in range(r.randint(0, 8))) for _ in range(k)],
    ),
    (
        "evens",
        "xs",
        "return [v * {a} for v in xs if v % 2 == 0][:{b}]",
        lambda r, k: [[r.randint(-9, 9) for _ in range(r.randint(0, 6))] for _ in range(k)],
    ),
    (
        "count",
        "s",
        "return {{c: s.count(c) + {a} for c in sorted(set(s))}}",
        lambda r, k: ["".join(r.choice("aab") for _ in range(r.randint(0, 6))) for _ in range(k)],
    ),
)


def _problem(r: random.Random, n: int, tests_per_problem: int) -> tuple[dict[str, Any], str, str, str]:
    family, arg, body, inputs = _FAMILIES[n % len(_FAMILIES)]
    params: dict[str, Any] = {"a": r.randint(1, 5), "b": r.randint(5, 40), "c": r.randint(-9, 9), "w": r.choice("xyz")}
    if family == "clip":
        params["b"] = params["a"] + r.randint(10, 60)
    name = f"{family}_{n}"
    code = f"def {name}({arg}):\n    {body.format(**params)}\n"
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - our own reference solution, run to compute expected values
    fn = namespace[name]
    values = inputs(r, tests_per_problem)
    tests = [f"assert {name}({v!r}) == {fn(v)!r}" for v in values]
    question = f"Write a Python function `{name}({arg})` for problem {n}. It must satisfy the hidden tests."
    last_input = values[-1]
    late_wrong = (
        f"def {name}({arg}):\n    if {arg} == {last_input!r}:\n        return None\n    {body.format(**params)}\n"
    )
    return {"id": f"bench-{n}", "question": question, "test_cases": tests}, code, late_wrong, name


def build_workload(*, problems: int = 64, samples: int = 16, tests_per_problem: int = 16, seed: int = 0) -> Workload:
    """``problems`` x ``samples`` completions, ``tests_per_problem`` asserts each."""
    r = random.Random(seed)
    rows = []
    completions = []
    for n in range(problems):
        row, correct, late_wrong, name = _problem(r, n, tests_per_problem)
        rows.append(row)
        prompt = f"<|im_start|>user\n{row['question']}<|im_end|>\n<|im_start|>assistant\n"
        for _ in range(samples):
            roll = r.random()
            if roll < 0.5:
                variant, program = "correct", correct
            elif roll < 0.8:
                variant, program = "wrong", correct.replace("    return ", "    return 1 + ", 1)
            elif roll < 0.9:
                variant, program = (
                    "raising",
                    correct.replace("    return ", "    raise ValueError('no')\n    return ", 1),
                )
            else:
                variant, program = "late_wrong", late_wrong
            text = (
                f"Here is a solution.\n\n```python\n{program}```\n\nExample:\n\n```python\nprint({name}(1))\n```"
                "<|im_end|>"
            )
            completions.append(Completion(row["id"], prompt, text, program, variant))
    return Workload(rows, completions)


# ------------------------------------------------------------------- timings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 120.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the reward server exited with code {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the reward server did not become healthy")


async def _post_all(url: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import httpx

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=600.0, limits=limits) as client:
        import asyncio

        responses = await asyncio.gather(*(client.post(f"{url}/get_reward", json=b) for b in bodies))
    for resp in responses:
        resp.raise_for_status()
    return [resp.json() for resp in responses]


def _proc_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc (its sandboxes are not its children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _bodies(work: Workload, requests: int) -> list[dict[str, Any]]:
    comps = work.completions
    size = -(-len(comps) // requests)
    return [
        {
            "query": [c.prompt + c.text for c in comps[i : i + size]],
            "prompts": [c.prompt for c in comps[i : i + size]],
            "labels": [c.row_id for c in comps[i : i + size]],
        }
        for i in range(0, len(comps), size)
    ]


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Time the three paths ``args.repeat`` times, interleaved, on one workload."""
    import asyncio

    import acesandbox

    work = build_workload(problems=args.problems, samples=args.samples, tests_per_problem=args.tests, seed=args.seed)
    tests = {row["id"]: row["test_cases"] for row in work.rows}
    jobs = [(c.program, tests[c.row_id]) for c in work.completions]
    binary = args.reward == "binary"
    stop = binary if args.stop_on_failure is None else args.stop_on_failure
    opts = {"timeout_s": args.timeout_s, "mode": args.mode, "stop_on_failure": stop}
    defaults = {"limits": acesandbox.Limits(timeout_s=args.timeout_s), "mode": args.mode, "stop_on_failure": stop}
    times: dict[str, list[float]] = {"run_batch": [], "warm_executor": [], "http": []}
    cpu: dict[str, list[float]] = {"direct_host": [], "server": [], "client": []}
    served: list[Any] = []
    direct: list[float] = []
    bodies = _bodies(work, args.requests)

    with tempfile.TemporaryDirectory() as tmp:
        dataset = os.path.join(tmp, "bench.jsonl")
        with open(dataset, "w") as f:
            f.writelines(json.dumps(row) + "\n" for row in work.rows)
        port = _free_port()
        cmd = [
            sys.executable, "-m", "acesandbox.cli", "serve", "--dataset", dataset, "--port", str(port),
            "--reward", args.reward, "--timeout-s", str(args.timeout_s), "--mode", args.mode, "--log-level", "warning",
        ]  # fmt: skip
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        proc = subprocess.Popen(cmd)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc)
            asyncio.run(_post_all(url, _bodies(Workload(work.rows, work.completions[:32]), 1)))  # warm-up
            with acesandbox.Executor(acesandbox.SandboxConfig(workers=args.workers or None)) as ex:
                ex.map(jobs[: 2 * ex.workers], defaults=defaults)  # warm-up
                for _ in range(args.repeat):
                    # 1. run_batch, cold: its own sandboxes, started and stopped inside the timing.
                    t0 = time.perf_counter()
                    reports = acesandbox.run_batch(jobs, sandbox=acesandbox.SandboxConfig(workers=args.workers or None), **opts)
                    times["run_batch"].append(time.perf_counter() - t0)
                    direct = [(1.0 if r.all_passed else 0.0) if binary else r.pass_rate for r in reports]
                    # 2. the same jobs on warm sandboxes.
                    t0, c0 = time.perf_counter(), time.process_time()
                    ex.map(jobs, defaults=defaults)
                    times["warm_executor"].append(time.perf_counter() - t0)
                    cpu["direct_host"].append(time.process_time() - c0)
                    # 3. over HTTP, from OpenRLHF's request shape.
                    t0, c0, s0 = time.perf_counter(), time.process_time(), _proc_cpu_s(proc.pid)
                    answers = asyncio.run(_post_all(url, bodies))
                    times["http"].append(time.perf_counter() - t0)
                    cpu["client"].append(time.process_time() - c0)
                    cpu["server"].append(_proc_cpu_s(proc.pid) - s0)
                    served = [r for a in answers for r in a["rewards"]]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    best = {k: min(v) for k, v in times.items()}
    mid = {k: statistics.median(v) for k, v in times.items()}
    return {
        "completions": len(jobs),
        "tests_per_completion": args.tests,
        "reward": args.reward,
        "mode": args.mode,
        "stop_on_failure": stop,
        "requests": len(bodies),
        "repeat": args.repeat,
        "times_s": {k: [round(t, 3) for t in v] for k, v in times.items()},
        "host_cpu_s": {k: [round(t, 3) for t in v] for k, v in cpu.items()},
        "serving_cpu_overhead_s": statistics.median(cpu["server"]) - statistics.median(cpu["direct_host"]),
        "run_batch_s": best["run_batch"],
        "warm_executor_s": best["warm_executor"],
        "http_s": best["http"],
        "overhead_vs_run_batch": best["http"] / best["run_batch"] - 1.0,
        "overhead_vs_warm_executor": best["http"] / best["warm_executor"] - 1.0,
        "median_overhead_vs_run_batch": mid["http"] / mid["run_batch"] - 1.0,
        "rewards_match": served == direct,
        "mean_reward": sum(direct) / len(direct),
        "target_met": best["http"] <= TARGET_S and best["http"] / best["run_batch"] - 1.0 < TARGET_OVERHEAD,
    }


def format_result(res: dict[str, Any]) -> str:
    def fmt(key: str) -> str:
        return " ".join(f"{t:6.2f}" for t in res["times_s"][key])

    lines = [
        (
            f"workload: {res['completions']} completions x {res['tests_per_completion']} asserts, "
            f"{res['reward']} reward, mode={res['mode']}, stop_on_failure={res['stop_on_failure']}, "
            f"{res['requests']} HTTP request(s); mean reward {res['mean_reward']:.3f}"
        ),
        f"best of {res['repeat']} (all runs, seconds):",
        f"  run_batch (cold, direct)     {res['run_batch_s']:7.2f} s   [{fmt('run_batch')}]",
        f"  warm executor (direct)       {res['warm_executor_s']:7.2f} s   [{fmt('warm_executor')}]",
        f"  HTTP /get_reward (served)    {res['http_s']:7.2f} s   [{fmt('http')}]",
        (
            f"  HTTP overhead vs run_batch   {100 * res['overhead_vs_run_batch']:+7.1f} %   "
            f"(medians: {100 * res['median_overhead_vs_run_batch']:+.1f} %)"
        ),
        f"  HTTP overhead vs warm pool   {100 * res['overhead_vs_warm_executor']:+7.1f} %",
        (
            f"  host CPU per round (median): direct {statistics.median(res['host_cpu_s']['direct_host']):.2f} s, "
            f"server process {statistics.median(res['host_cpu_s']['server']):.2f} s "
            f"(+{res['serving_cpu_overhead_s']:.2f} s for HTTP, JSON, extraction = "
            f"{100 * res['serving_cpu_overhead_s'] / res['warm_executor_s']:.1f} % of the step), "
            f"client {statistics.median(res['host_cpu_s']['client']):.2f} s"
        ),
        f"  rewards equal to direct:     {res['rewards_match']}",
        (
            f"  target (<= {TARGET_S:.0f} s over HTTP, overhead < {100 * TARGET_OVERHEAD:.0f}%): "
            f"{'MET' if res['target_met'] else 'MISSED'}"
        ),
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m perf.rewards", description=__doc__.split("\n\n")[0])
    p.add_argument("--problems", type=int, default=64, help="distinct problems (default: 64)")
    p.add_argument("--samples", type=int, default=16, help="completions per problem (default: 16)")
    p.add_argument("--tests", type=int, default=16, help="asserts per problem (default: 16)")
    p.add_argument("--reward", choices=["binary", "pass_rate"], default="binary")
    p.add_argument("--mode", choices=["shared", "isolated"], default="shared")
    p.add_argument("--stop-on-failure", dest="stop_on_failure", action="store_true", default=None)
    p.add_argument("--no-stop-on-failure", dest="stop_on_failure", action="store_false")
    p.add_argument("--requests", type=int, default=1, help="split the step into this many concurrent requests")
    p.add_argument("--workers", type=int, default=None, help="sandboxes (default: one per CPU)")
    p.add_argument("--timeout-s", type=float, default=5.0, help="CPU seconds per test (default: 5)")
    p.add_argument("--repeat", type=int, default=3, help="timed rounds, interleaved; the best is reported (default: 3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    res = run(args)
    print(json.dumps(res) if args.json else format_result(res))
    return 0 if res["rewards_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
