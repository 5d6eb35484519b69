"""Speed benchmark: filtering and scoring throughput, executor vs the pipeline around it.

    python -m perf.pipeline                         # 10,000 questions x 16 tests
    python -m perf.pipeline --questions 500 --mode shared

The workload is generated from the bundled seed set: question ``i`` takes seed
``i % 30``'s function and 16 of its asserts (a quarter of the questions carry one wrong
expected value, for filtering to remove); the strong model's solution is the
reference; the scored completion is one of the recorded policy answers (correct,
mutated, raising, or without code). Answers are served by the replay backend from a
generated recording, so prompts, hashing, extraction, checkpoint writes and summaries
all run as in a real pipeline.

The workload is split into ``--chunks`` slices; for each slice and pass (filter, then
score) the same jobs run through the bare executor (``Executor.imap``, jobs prebuilt)
and through the pipeline stage on the same warm executor, alternating which goes first
so that load from other processes hits both alike. The report gives questions/s for
both, the wall time the pipeline adds ((pipeline - executor) / pipeline), the main
thread's time outside executor waits, and its CPU time (the pipeline's own cost, which
no other load inflates). Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import acesandbox
from acesandbox.extract import as_program, extract_code
from harness import ExecConfig, FilterConfig, GeneratorSpec, SampleConfig, filter_tests, sample
from harness.data import bundled_path
from harness.data.seeds_src import SEEDS
from harness.filtering import build_solution_prompt
from harness.generation.replay import ReplayGenerator, prompt_key
from harness.sampling import build_sample_prompt

__all__ = ["build_workload", "main"]

TESTS_PER_QUESTION = 16
PROMPT_TESTS = 3
"""Tests shown in the policy's prompt (the sample stage is run with this many)."""


def _function(program: str, entry: str) -> Callable[..., Any]:
    """A seed's reference function, to compute expected values (our own bundled code)."""
    namespace: dict[str, Any] = {}
    exec(compile(program, "<seed>", "exec"), namespace)  # noqa: S102 - bundled reference code
    return namespace[entry]  # type: ignore[no-any-return]


def build_workload(out_dir: Path, questions: int, seed: int = 0, chunks: int = 1) -> list[dict[str, Any]]:
    """Write ``synth-K.jsonl`` and ``replay.jsonl`` under ``out_dir``; returns each chunk's prebuilt jobs.

    Chunk ``K`` holds every ``chunks``-th slice of the questions, so chunks are alike.
    """
    recorded: dict[str, list[str]] = {}
    with open(bundled_path("replay.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            recorded[prompt_key(r["prompt"])] = r["responses"]
    bases = [s for s in SEEDS if s.id not in ("stack-0017", "oss-0031")]
    policy: dict[str, list[str]] = {}
    for s in bases:
        # The recorded policy answers of this seed (its sample prompt's 16 answers in the bundled recording).
        for responses in recorded.values():
            if len(responses) == 16 and any(f"def {s.entry}(" in r for r in responses):
                policy.setdefault(s.id, responses)
    rng = random.Random(seed)
    per_chunk = -(-questions // chunks)
    out: list[dict[str, Any]] = []
    with open(out_dir / "replay.jsonl", "w", encoding="utf-8") as rep:
        for k in range(chunks):
            filter_jobs: list[tuple[str | None, list[str]]] = []
            score_jobs: list[tuple[str | None, list[str]]] = []
            with open(out_dir / f"synth-{k}.jsonl", "w", encoding="utf-8") as synth:
                for i in range(k * per_chunk, min(questions, (k + 1) * per_chunk)):
                    s = bases[i % len(bases)]
                    fn = _function(s.program, s.entry)
                    picked = rng.sample(s.inputs, min(TESTS_PER_QUESTION, len(s.inputs)))
                    wrong = rng.randrange(len(picked)) if rng.random() < 0.25 else -1
                    tests = []
                    for j, args in enumerate(picked):
                        expected = fn(*args)
                        call = f"{s.entry}({', '.join(repr(a) for a in args)})"
                        tests.append(f"assert {call} == {(['?'] if j == wrong else expected)!r}")
                    kept = [t for j, t in enumerate(tests) if j != wrong]
                    question = f"{s.question} (variant {i})"
                    record = {
                        "id": f"bench-{i}",
                        "source": s.source,
                        "question": question,
                        "tests": tests,
                        "entry_point": s.entry,
                        "program": s.program,
                        "seed_code": s.snippet,  # what synth writes (so filter trusts its validated tests)
                        "diagnostics": {"attempts": 1, "rejected_tests": []},
                    }
                    synth.write(json.dumps(record) + "\n")
                    solution = f"```python\n{s.program}```\n"
                    rep.write(json.dumps({"prompt": build_solution_prompt(record), "responses": [solution]}) + "\n")
                    completion = rng.choice(policy[s.id])
                    prompt = build_sample_prompt({"question": question, "tests": kept}, PROMPT_TESTS)
                    rep.write(json.dumps({"prompt": prompt, "responses": [completion]}) + "\n")
                    filter_jobs.append((s.program, tests))
                    score_jobs.append((as_program(extract_code(completion, entry_points=(s.entry,) if s.entry else ())), kept))
            out.append({"filter": filter_jobs, "score": score_jobs})
    return out


def _bare(executor: Any, jobs: list[tuple[str | None, list[str]]], defaults: dict[str, Any]) -> float:
    prebuilt = [
        acesandbox.Job(program=p, tests=tuple(acesandbox.AssertTest(x) for x in t), **defaults)
        for p, t in jobs
        if p is not None
    ]
    t0 = time.perf_counter()
    for _ in executor.imap(prebuilt, ordered=False):
        pass
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf.pipeline", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--questions", type=int, default=10_000, help="questions in the workload (default: %(default)s)"
    )
    parser.add_argument("--chunks", type=int, default=10, help="slices timed in alternation (default: %(default)s)")
    parser.add_argument("--mode", choices=("isolated", "shared"), default="isolated", help="acesandbox execution mode")
    parser.add_argument("--workers", type=int, default=None, help="sandboxes (default: one per core)")
    parser.add_argument("--sandbox", default=None, help="acesandbox backend (default: namespace)")
    parser.add_argument("--timeout-s", type=float, default=2.0, help="per-test CPU limit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", default=None, metavar="DIR", help="build the workload in DIR and keep it")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)

    chunks = max(1, min(args.chunks, args.questions))
    tmp = tempfile.TemporaryDirectory(prefix="harness-bench-") if args.keep is None else None
    work = Path(args.keep or tmp.name)  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    workload = build_workload(work, args.questions, args.seed, chunks)
    build_s = time.perf_counter() - t0
    execution = ExecConfig.from_mapping(
        {"sandbox": args.sandbox, "workers": args.workers, "timeout_s": args.timeout_s, "mode": args.mode}
    )
    executor = execution.executor()
    defaults = execution.defaults()
    results: dict[str, Any] = {
        "questions": args.questions,
        "tests_per_question": TESTS_PER_QUESTION,
        "mode": args.mode,
        "chunks": chunks,
        "backend": executor.backend.name,
        "workers": executor.workers,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "workload_build_s": round(build_s, 2),
        "passes": {},
    }
    totals = {
        name: {"questions": 0, "jobs": 0, "bare_s": 0.0, "pipe_s": 0.0, "wait_s": 0.0, "cpu_s": 0.0}
        for name in ("filter", "score")
    }
    try:
        _bare(executor, workload[0]["filter"][: 4 * executor.workers], defaults)  # start every sandbox first
        gen = ReplayGenerator(work / "replay.jsonl", model="bench")
        spec = GeneratorSpec()
        for k, jobs in enumerate(workload):
            for name in ("filter", "score"):

                def stage(name: str = name, k: int = k) -> dict[str, Any]:
                    if name == "filter":
                        return filter_tests(
                            FilterConfig(
                                input=str(work / f"synth-{k}.jsonl"),
                                output=str(work / f"filter-{k}.jsonl"),
                                generator=spec,
                                execution=execution,
                                progress=False,
                                fresh=True,
                            ),
                            gen,
                            executor,
                        )
                    return sample(
                        SampleConfig(
                            input=str(work / f"filter-{k}.jsonl"),
                            output=str(work / f"sample-{k}.jsonl"),
                            models=(spec,),
                            execution=execution,
                            num_samples=1,
                            prompt_tests=PROMPT_TESTS,
                            progress=False,
                            fresh=True,
                        ),
                        [gen],
                        executor,
                    )

                # Alternate which goes first, so a load change on the machine hits both alike.
                if k % 2 == 0:
                    bare_s = _bare(executor, jobs[name], defaults)
                    pipe_s, cpu_s, summary = _timed(stage)
                else:
                    pipe_s, cpu_s, summary = _timed(stage)
                    bare_s = _bare(executor, jobs[name], defaults)
                t = totals[name]
                t["questions"] += int(summary.get("questions_before") or summary.get("questions") or 0)
                t["jobs"] += summary["executor"]["jobs"]
                t["bare_s"] += bare_s
                t["pipe_s"] += pipe_s
                t["wait_s"] += summary["executor"]["wait_s"]
                t["cpu_s"] += cpu_s
    finally:
        executor.close()
        if tmp is not None:
            tmp.cleanup()
    for name, t in totals.items():
        results["passes"][name] = {
            "questions": t["questions"],
            "jobs": t["jobs"],
            "executor_only_s": round(t["bare_s"], 2),
            "pipeline_s": round(t["pipe_s"], 2),
            "executor_only_q_per_s": round(t["questions"] / t["bare_s"], 1),
            "pipeline_q_per_s": round(t["questions"] / t["pipe_s"], 1),
            "pipeline_added_share": round((t["pipe_s"] - t["bare_s"]) / t["pipe_s"], 4),
            "main_thread_outside_executor_share": round((t["pipe_s"] - t["wait_s"]) / t["pipe_s"], 4),
            "pipeline_cpu_ms_per_question": round(1000 * t["cpu_s"] / max(1, t["questions"]), 3),
            "pipeline_cpu_share": round(t["cpu_s"] / t["pipe_s"], 4),
        }
    _print(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _timed(stage: Any) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds, main-thread CPU seconds and the summary of one stage run."""
    t, c = time.perf_counter(), time.thread_time()
    summary = stage()
    return time.perf_counter() - t, time.thread_time() - c, summary


def _print(r: dict[str, Any]) -> None:
    print(
        f"perf.pipeline: {r['questions']} questions x {r['tests_per_question']} tests, mode={r['mode']}, "
        f"backend={r['backend']}, workers={r['workers']}, python {r['python']}, {r['cpus']} CPUs, "
        f"{r['chunks']} alternating chunks (workload built in {r['workload_build_s']} s)"
    )
    print(
        f"{'pass':<8}{'exec-only q/s':>15}{'pipeline q/s':>14}{'exec-only s':>13}{'pipeline s':>12}"
        f"{'added':>9}{'main thread':>13}{'pipeline CPU':>14}"
    )
    for name, p in r["passes"].items():
        print(
            f"{name:<8}{p['executor_only_q_per_s']:>15}{p['pipeline_q_per_s']:>14}{p['executor_only_s']:>13}"
            f"{p['pipeline_s']:>12}{p['pipeline_added_share']:>9.1%}{p['main_thread_outside_executor_share']:>13.1%}"
            f"{p['pipeline_cpu_share']:>14.1%}"
        )
    print(
        "added: (pipeline - executor-only) / pipeline wall time, same jobs, same warm sandboxes;\n"
        "main thread: share of the pipeline's wall time its main thread spent outside executor waits;\n"
        "pipeline CPU: the main thread's CPU time (generation, extraction, jobs, checkpoints, summaries) / wall time"
    )


if __name__ == "__main__":
    raise SystemExit(main())
