"""EvalPlus ground truth: the canonical solutions' outputs and call times, computed in the sandbox and cached."""

from __future__ import annotations

import json
import os
import pathlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from acesandbox import CallBatchTest, Job, Limits, SandboxConfig, Status
from acesandbox._wire import MAX_INT_BITS

from ..base import Problem
from ..errors import BenchmarkError
from . import judge as _judge
from .data import cache_root

__all__ = ["BIG_INT_BITS", "DIGEST_BYTES", "DIGEST_PREFIX", "DIGEST_SOURCE", "HASH_SEED", "SANDBOX", "ground_truth", "has_digests",
           "is_digest"]

HASH_SEED = 0
"""PYTHONHASHSEED of every EvalPlus sandbox. EvalPlus computes expected outputs and runs checks
in forks of one process, so both see one string hash order (Mbpp/579 returns a list built from
a set of strings); one fixed seed for all our sandboxes gives the same agreement."""

SANDBOX = SandboxConfig(memory_mb=4096, hash_seed=HASH_SEED)
"""The sandboxes EvalPlus programs run in (ground truth and checks): 4 GiB each, one hash seed."""

_GT_FORMAT = 3  # bump when the cached ground-truth layout changes (2: ints past the wire's bound as digests;
# 3: any output past DIGEST_BYTES as a digest, with the digest's time)
_GT_CHUNK = 25  # calls per ground-truth test

# ------------------------------------------------------------ ground truth
# The canonical solution's outputs come back as values (CallBatchTest(returns=True)), not
# through a judge: they are what the host keeps, not something it compares.

BIG_INT_BITS = MAX_INT_BITS
"""An int output longer than this cannot leave the sandbox (acesandbox's wire bound): it is digested."""

DIGEST_BYTES = 1 << 20
"""A canonical output larger than about this (in repr bytes) is kept as a digest, not a value: it
need not cross the wire, and no output is too large to judge (Mbpp/255's plus outputs reach 1 GB)."""

DIGEST_FLOATS_BYTES = 16 << 20
"""Outputs judged by more than equality (floats, with a tolerance; MBPP's set-equality tasks) are
digested only past this size, where they could not cross the wire at all."""

DIGEST_PREFIX = _judge.DIGEST_PREFIX

DIGEST_SOURCE = f"""

def __evalplus_canon__(x, fast=True):
    t = type(x)
    if t is str or t is bytes or x is None:
        return x
    if t is bool:
        return int(x)
    if t is int:
        return x if x.bit_length() <= 8192 else ("<int>", hex(x))
    if t is float:
        return int(x) if x.is_integer() else x
    if t is complex:
        return __evalplus_canon__(x.real) if x.imag == 0 else ("<complex>", __evalplus_canon__(x.real), x.imag)
    if isinstance(x, (list, tuple)):
        if fast and set(map(type, x)) <= {{str, bytes, int, type(None)}}:
            return x if t is list or t is tuple else (list(x) if isinstance(x, list) else tuple(x))
        items = [__evalplus_canon__(e, False) for e in x]
        return items if isinstance(x, list) else tuple(items)
    if isinstance(x, (set, frozenset)):
        return ("<set>", tuple(sorted(repr(__evalplus_canon__(e, False)) for e in x)))
    if isinstance(x, dict):
        pairs = [(repr(__evalplus_canon__(k, False)), __evalplus_canon__(v, False)) for k, v in x.items()]
        return ("<dict>", tuple(sorted(pairs, key=lambda kv: kv[0])))
    return ("<" + t.__module__ + "." + t.__qualname__ + ">", repr(x))


__evalplus_simple__ = {{str, bytes, int, type(None)}}


def __evalplus_text__(x):
    # repr(__evalplus_canon__(x)), the common element types without the general walk
    t = type(x)
    if t is str or t is bytes or x is None:
        return repr(x)
    if t is int:
        return repr(x) if x.bit_length() <= 8192 else repr(("<int>", hex(x)))
    if t is float:
        return repr(int(x)) if x.is_integer() else repr(x)
    try:
        if (t is list or t is tuple) and set(map(type, x)) <= __evalplus_simple__:
            return repr(x)
        return repr(__evalplus_canon__(x))
    except ValueError:  # an int past repr's digit cap inside a fast-path sequence
        return repr(__evalplus_canon__(x, False))


__evalplus_atoms__ = {{str, bytes, int, float, type(None)}}


def __evalplus_joined__(chunk):
    # "\\x00".join(map(__evalplus_text__, chunk)) + "\\x00", in C for items of the atom types: repr
    # of each, then integral floats written as ints ("2.0" -> "2", "1e+16" -> "10000000000000000")
    kinds = set(map(type, chunk))
    if kinds <= {{list}} or kinds <= {{tuple}}:  # flat sequences of str, bytes, int, None: their own repr
        from itertools import chain as _chain
        if set(map(type, _chain.from_iterable(chunk))) <= __evalplus_simple__:
            try:
                return "\\x00".join(map(repr, chunk)) + "\\x00"
            except ValueError:
                pass
    if not kinds <= __evalplus_atoms__:
        return "\\x00".join(map(__evalplus_text__, chunk)) + "\\x00"
    try:
        texts = list(map(repr, chunk))
    except ValueError:  # an int past repr's digit cap
        return "\\x00".join(map(__evalplus_text__, chunk)) + "\\x00"
    if max(map(len, texts)) > 2400:  # maybe an int past 8192 bits (written as hex), or a long string
        return "\\x00".join(map(__evalplus_text__, chunk)) + "\\x00"
    joined = "\\x00" + "\\x00".join(texts) + "\\x00"  # no repr holds a NUL: items are delimited
    if ".0\\x00" in joined:  # only an integral float's repr ends in ".0" (a str's ends in a quote)
        for _ in range(2):  # -0.0 is 0; twice, as neighbours share their NUL
            joined = joined.replace("\\x00-0.0\\x00", "\\x000\\x00")
        joined = joined.replace(".0\\x00", "\\x00")
    if "e+" in joined:  # floats from 1e16 up: all integral
        import re as _re
        joined = _re.sub(r"(?<=\\x00)-?[0-9](?:\\.[0-9]+)?e\\+[0-9]+(?=\\x00)", lambda m: repr(int(float(m.group(0)))),
                         joined)
    return joined[1:]


def __evalplus_digest__(out):
    import hashlib as _hashlib
    from itertools import islice as _islice
    h = _hashlib.sha256()

    if isinstance(out, (list, tuple)):  # streamed: never the repr of the whole value at once
        kind = "list" if isinstance(out, list) else "tuple"
        h.update(b"[" if kind == "list" else b"(")
        items = iter(out)
        while True:  # each item's text, then a NUL; hashed a few thousand items at a time
            chunk = list(_islice(items, 4096))
            if not chunk:
                break
            h.update(__evalplus_joined__(chunk).encode("utf-8", "surrogatepass"))
        size = "%d items" % len(out)
    else:
        h.update(__evalplus_text__(out).encode("utf-8", "surrogatepass"))
        big = type(out) is int and out.bit_length() > 8192  # no float or bool equals such an int
        kind, size = "value", ("%d bits" % out.bit_length() if big else "1 value")
    return "{DIGEST_PREFIX}%s, %s, sha256 %s>" % (kind, size, h.hexdigest())


def __evalplus_large__(x, roomy):
    budget = {DIGEST_FLOATS_BYTES} if roomy or (type(x) is float or (
        type(x) in (list, tuple) and all(type(e) is float for e in x))) else {DIGEST_BYTES}
    stack, size = [x], 0
    while stack:
        v = stack.pop()
        t = type(v)
        if t is int:
            if v.bit_length() > {BIG_INT_BITS}:
                return True
            size += v.bit_length() // 3 + 2
        elif t is str or t is bytes:
            size += len(v) + 3
        elif isinstance(v, (list, tuple, set, frozenset)):
            size += 2 * len(v) + 2
            if size > budget:
                return True
            stack.extend(v)
        elif isinstance(v, dict):
            size += 4 * len(v) + 2
            if size > budget:
                return True
            stack.extend(v.keys())
            stack.extend(v.values())
        else:
            size += 8
        if size > budget:
            return True
    return False
"""
"""Sandbox code. ``__evalplus_digest__``: a digest of a value's canonical form, equal for values
that ``==`` calls equal (bool, integral float and int alike; set and dict order ignored; list
and tuple told apart), streamed element by element. ``__evalplus_large__``: whether the ground
truth keeps a digest of an output (past :data:`DIGEST_BYTES`, an int past the wire's bound)."""


def has_digests(values: Sequence[Any]) -> bool:
    """Whether expected outputs hold digests: that check's outputs must be digested too."""
    return any(is_digest(v) for v in values)


def is_digest(value: Any) -> bool:
    """Whether one expected output is a digest."""
    return isinstance(value, str) and value.startswith(DIGEST_PREFIX)


_GT_WRAPPER = """

def __evalplus_gt__(*args):
    import copy as _copy, time as _time
    args = _copy.deepcopy(args)
    start = _time.time()
    out = {entry}(*args)
    spent = _time.time() - start
    if {not_none}:
        return (spent, out is not None, 0.0)
    if not __evalplus_large__(out, {roomy}):
        return (spent, out, 0.0)
    start = _time.time()
    digest = __evalplus_digest__(out)
    return (spent, digest, _time.time() - start)
"""
"""Each call: (call time, output or its digest, time the digest took: the checks' overhead)."""

_GT_MANY = """

def __evalplus_gt_many__(*calls):
    return [__evalplus_gt__(*args) for args in calls]
"""
"""One sandbox call per test runs a chunk of inputs: the per-call cost of the judged wire
(framing, a judge call in the parent) is paid per chunk, not per input; each input is
still timed alone, and its output sent as before (a value, or a digest past the bound)."""


def _gt_path(cache: pathlib.Path, digest: str, hash_seed: int | None) -> pathlib.Path:
    """One file per dataset and hash seed: outputs built from sets of strings follow the seed."""
    seed = "random" if hash_seed is None else hash_seed
    return cache / f"gt-{digest}-v{_GT_FORMAT}-seed{seed}.json"


def ground_truth(problems: Sequence[Problem], *, executor: Any = None, cache_dir: Any = None, workers: int | None = None,
                 progress: bool = False) -> dict[str, dict[str, list[Any]]]:
    """``task_id -> {"base", "base_time", "plus", "plus_time"}`` for EvalPlus-format problems.

    Computed by running each canonical solution in the sandbox (a trusted but isolated
    run), then cached on disk per dataset hash (acesandbox's safe wire format, not pickle).
    """
    from acesandbox import _wire

    cache = cache_root(cache_dir)
    seed = getattr(getattr(executor, "config", None), "hash_seed", None) if executor is not None else SANDBOX.hash_seed
    out: dict[str, dict[str, list[Any]]] = {}
    by_hash: dict[str, list[Problem]] = defaultdict(list)
    for p in problems:
        by_hash[str(p.data.get("dataset_hash", ""))].append(p)
    for digest, group in by_hash.items():
        path = _gt_path(cache, digest, seed) if digest else None
        stored: dict[str, Any] = {}
        if path is not None and path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            stored = {k: _wire.decode(v) for k, v in raw.items()}
        todo = [p for p in group if p.task_id not in stored]
        if todo:
            stored.update(_compute_gt(todo, executor=executor, workers=workers, progress=progress))
            if path is not None:
                cache.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                encoded = {k: _wire.encode(v, max_bytes=1 << 30) for k, v in stored.items()}
                tmp.write_text(json.dumps(encoded, separators=(",", ":"), allow_nan=True), encoding="utf-8")
                os.replace(tmp, path)
        for p in group:
            out[p.task_id] = stored[p.task_id]
    return out


def _likely_longest_first(problems: Sequence[Problem], keys: Sequence[tuple[str, str, int]]) -> list[int]:
    """Job indices in the order to start them: every plus job first, then the base jobs, each
    by the size of its problem's inputs, smallest first (a problem's jobs in key order).

    A guess, so that no long job starts last beside an idle worker: the costly canonical runs
    are plus checks, and their inputs are small numbers that drive long loops (HumanEval/130,
    /139, Mbpp/599, /392: among the smallest inputs of their datasets), not large values."""
    def size(inputs: Any) -> int:
        try:
            return len(repr(inputs))
        except ValueError:  # an int past repr's digit cap: a large input
            return 1 << 62

    sizes = {p.task_id: {"plus": size(p.data["plus_input"]), "base": size(p.data["base_input"])} for p in problems}
    return sorted(range(len(keys)), key=lambda i: (keys[i][1] != "plus", sizes[keys[i][0]][keys[i][1]], i))


def _compute_gt(problems: Sequence[Problem], *, executor: Any, workers: int | None, progress: bool,
                chunk: int = 0) -> dict[str, Any]:
    """Run the canonical solutions; checks whose outputs overflow a test are rerun one call per test."""
    chunk = chunk or _GT_CHUNK
    jobs: list[Job] = []
    keys: list[tuple[str, str, int]] = []  # (task_id, part, piece)
    for p in problems:
        not_none = p.data.get("dataset") == "mbpp" and p.entry_point in _judge.MBPP_OUTPUT_NOT_NONE_TASKS
        # outputs judged by more than equality (set-equality oracles, floats) are digested only past the wire's reach
        roomy = p.data.get("dataset") == "mbpp" and p.entry_point in _judge.MBPP_OUTPUT_SET_EQ_TASKS
        program = (p.canonical_solution + _GT_WRAPPER.format(entry=p.entry_point, not_none=not_none, roomy=roomy)
                   + _GT_MANY + DIGEST_SOURCE)
        for part in ("base", "plus"):
            calls = [tuple(a) for a in p.data[f"{part}_input"]]
            # the plus inputs in two jobs (first half, second half): both workers share a long one
            half = (len(calls) + 1) // 2 if part == "plus" and len(calls) > 1 else len(calls)
            for piece, (lo, hi) in enumerate([(0, half), (half, len(calls))] if half < len(calls) else [(0, len(calls))]):
                # small tests: one test's result data is capped (16 MiB) and some outputs are large
                tests = tuple(
                    CallBatchTest("__evalplus_gt_many__", [tuple(calls[i : min(i + chunk, hi)])], [None], returns=True)
                    for i in range(lo, hi, chunk)
                ) or (CallBatchTest("__evalplus_gt_many__", [], [], returns=True),)
                jobs.append(Job(program, tests, limits=Limits(timeout_s=120.0, job_timeout_s=1200.0),
                                mode="shared"))
                keys.append((p.task_id, part, piece))
    order = _likely_longest_first(problems, keys)
    pieces_of: dict[tuple[str, str], int] = defaultdict(int)
    for task_id, part, _piece in keys:
        pieces_of[(task_id, part)] += 1
    pieces: dict[tuple[str, str], dict[int, list[Any]]] = defaultdict(dict)
    own = executor is None
    if own:
        import dataclasses

        from acesandbox import Executor

        executor = Executor(dataclasses.replace(SANDBOX, workers=workers))
    result: dict[str, dict[str, Any]] = defaultdict(dict)
    errors: list[str] = []
    overflowed: set[str] = set()
    try:
        for k, report in executor.imap((jobs[i] for i in order), ordered=False, progress=progress, total=len(jobs)):
            i = order[k]
            task_id, part, piece = keys[i]
            values: list[Any] = []
            for test, outcome in zip(jobs[i].tests, report.outcomes):
                assert isinstance(test, CallBatchTest)
                got = list(outcome.values or ())
                inputs = sum(len(c) for c in test.calls)  # one call per test, a chunk of inputs
                if (outcome.status == Status.PASSED and len(got) == len(test.calls)
                        and sum(len(g) for g in got) == inputs):
                    for g in got:
                        values.extend(g)
                elif chunk > 1 and ("more result data" in outcome.message or "too large" in outcome.message):
                    overflowed.add(task_id)
                    break
                else:
                    errors.append(f"{task_id} {part}: {outcome.status} {outcome.message[:200]}")
                    break
            else:
                if len(report.outcomes) != len(jobs[i].tests):
                    errors.append(f"{task_id} {part}: {len(report.outcomes)} outcomes for {len(jobs[i].tests)} tests")
                    continue
                pieces[(task_id, part)][piece] = values
        for (task_id, part), got_pieces in pieces.items():
            if len(got_pieces) != pieces_of[(task_id, part)]:
                continue  # a piece failed or overflowed: reported or redone
            values = [v for n in sorted(got_pieces) for v in got_pieces[n]]
            result[task_id][part] = [v[1] for v in values]
            result[task_id][f"{part}_time"] = [float(v[0]) for v in values]
            result[task_id][f"{part}_digest_time"] = [float(v[2]) for v in values]
        if overflowed:
            redo = _compute_gt([p for p in problems if p.task_id in overflowed], executor=executor, workers=workers,
                               progress=progress, chunk=1)
            result.update(redo)
    finally:
        if own:
            executor.close()
    if errors:
        raise BenchmarkError(f"the canonical solutions failed on {len(errors)} check(s): " + "; ".join(errors[:5]))
    return dict(result)


