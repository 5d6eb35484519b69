"""No abstaining EvalPlus verdicts: outputs too large for the wire compared by digest, one hash seed."""

from __future__ import annotations

import dataclasses

import pytest
from _support import require_backend
from hypothesis import given
from hypothesis import strategies as st

from acesandbox import CallBatchTest, Executor, InvalidJobError, Job, SandboxConfig
from benchmarks.evalplus import SANDBOX, MbppPlus
from benchmarks.evalplus.ground_truth import DIGEST_PREFIX, DIGEST_SOURCE, HASH_SEED, is_digest

MBPP_PLUS_FILE = "mbppplus/MbppPlus-v0.1.0.jsonl.gz"

_NS: dict = {}
exec(compile(DIGEST_SOURCE, "<digest>", "exec"), _NS)  # plain Python: the same code runs in the sandbox
digest = _NS["__evalplus_digest__"]
large = _NS["__evalplus_large__"]


# ------------------------------------------------------------ the digest


def test_digest_follows_equality_not_repr():
    assert digest([(2, True, "a")]) == digest([(2.0, 1, "a")])  # == says equal: one digest
    assert digest([1, 2]) != digest((1, 2))  # a list never equals a tuple
    assert digest({"b", "a", "c"}) == digest(frozenset({"c", "a", "b"}))
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1})
    assert digest([("x",)]) != digest([("y",)])
    assert digest(1 + 0j) == digest(1.0) and digest(0.5) != digest(0.25)
    assert digest(7 ** 400000) != digest(7 ** 400000 + 1)  # past repr's digit cap
    assert digest(["a"]).startswith(DIGEST_PREFIX + "list, 1 items, sha256 ")
    assert digest(True) == digest(1) and digest(1.0) == digest(1)
    assert is_digest(digest("x")) and not is_digest("x")


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=4) | st.tuples(c, c), max_leaves=20))
def test_property_digest_agrees_with_equality(value):
    import copy

    other = copy.deepcopy(value)
    assert digest(value) == digest(other)
    assert digest([value]) != digest([value, value])


def test_ground_truth_digests_only_large_outputs():
    assert not large(list(range(1000)), False)
    assert large([("Dog",) * 77] * 40000, False)  # Mbpp/255's plus outputs: up to 1 GB of repr
    assert large(1 << (2**20 + 1), False)  # an int past the wire's bound, however short its repr estimate
    floats = [0.5] * 400000
    assert large(floats, False) is False  # floats are judged with a tolerance: sent whole while they fit


# ------------------------------------------------------------ in the sandbox


@pytest.fixture(scope="module")
def mbpp(shared_data, tmp_path_factory):
    bench = MbppPlus(cache_dir=str(tmp_path_factory.mktemp("gt")))
    problems = {p.task_id: p for p in bench.load(str(shared_data / MBPP_PLUS_FILE))}
    return bench, problems


@pytest.fixture(scope="module")
def seeded_executor():
    require_backend("namespace")
    ex = Executor(dataclasses.replace(SANDBOX, backend="namespace", workers=2))
    yield ex
    ex.close()


def _verdicts(bench, executor, problem, solution):
    jobs = bench.jobs(problem, solution)
    names = list(jobs)
    reports = {names[i]: r for i, r in executor.imap([jobs[n] for n in names])}
    return dict(bench.verdicts(problem, reports).verdicts)


def test_mbpp_255_plus_output_too_large_for_the_wire_is_judged(mbpp, seeded_executor):
    """Mbpp/255's plus check was sandbox_error: an expected output of 47 MB (up to 1 GB) is now a digest."""
    bench, problems = mbpp
    full = problems["Mbpp/255"]
    keep = [86]  # combinations_colors(['Dog', 'Cat', 'Bird', 'Fish'], 77): 82,160 tuples
    data = dict(full.data, dataset_hash="test-mbpp-255", plus_input=[full.data["plus_input"][i] for i in keep],
                raw_plus_input=[full.data["raw_plus_input"][i] for i in keep])
    p = dataclasses.replace(full, data=data)
    bench.prepare([p], executor=seeded_executor)
    gt = bench.ground_truth_for(p)
    assert is_digest(gt["plus"][0]) and "82160 items" in gt["plus"][0]
    assert not any(is_digest(v) for v in gt["base"])  # small outputs stay values (judged in the parent)
    assert _verdicts(bench, seeded_executor, p, p.canonical_solution) == {"base": "pass", "plus": "pass"}
    one_short = ("from itertools import combinations_with_replacement\n"
                 "def combinations_colors(l, n):\n    out = list(combinations_with_replacement(l, n))\n"
                 "    return out[:-1] if len(out) > 1000 else out\n")
    assert _verdicts(bench, seeded_executor, p, one_short) == {"base": "pass", "plus": "fail"}
    as_lists = ("from itertools import combinations_with_replacement\n"
                "def combinations_colors(l, n):\n    out = list(combinations_with_replacement(l, n))\n"
                "    return [list(t) for t in out] if len(out) > 1000 else out\n")
    assert _verdicts(bench, seeded_executor, p, as_lists) == {"base": "pass", "plus": "fail"}  # lists != tuples


def test_mbpp_579_string_set_order_follows_one_hash_seed(shared_data, tmp_path):
    """The official verdict (pass, pass) of phi-2's Mbpp/579 (January 2024, before the set-equality
    oracle) needs the ground truth's hash order."""
    require_backend("namespace")
    bench = MbppPlus(cache_dir=str(tmp_path), profile="2024-01-v0.2.0")
    p = next(p for p in bench.load(str(shared_data / MBPP_PLUS_FILE)) if p.task_id == "Mbpp/579")
    solution = "def find_dissimilar(t1, t2):\n    return tuple(set(t1) ^ set(t2))\n"
    with Executor(dataclasses.replace(SANDBOX, backend="namespace", workers=1)) as ex:
        bench.prepare([p], executor=ex)
        assert _verdicts(bench, ex, p, solution) == {"base": "pass", "plus": "pass"}
    with Executor(dataclasses.replace(SANDBOX, backend="namespace", workers=1, hash_seed=HASH_SEED + 1)) as ex:
        assert _verdicts(bench, ex, p, solution) == {"base": "pass", "plus": "fail"}  # another seed, another order


@pytest.mark.parametrize("backend", ["namespace", "process"])
def test_sandbox_config_hash_seed_reaches_every_sandbox(backend):
    require_backend(backend)
    import subprocess
    import sys

    want = int(subprocess.run([sys.executable, "-c", "print(hash('abc'))"], env={"PYTHONHASHSEED": "123"},
                              capture_output=True, text=True, check=True).stdout)
    job = Job("def f():\n    return hash('abc')\n", (CallBatchTest("f", [()], [None], returns=True),))
    seen = []
    for _ in range(2):  # two sandboxes (fresh servers), one hash
        with Executor(SandboxConfig(backend=backend, workers=1, hash_seed=123)) as ex:
            outcome = ex.run(job).outcomes[0]
            assert outcome.status == "passed"
            seen.extend(outcome.values)
    assert seen == [want, want]
    with pytest.raises(InvalidJobError, match="hash_seed"):
        SandboxConfig(hash_seed=-1)


def test_known_differences_no_longer_list_the_hash_seed():
    from benchmarks.evalplus import KNOWN_DIFFERENCES

    assert "Mbpp/579" not in KNOWN_DIFFERENCES


@pytest.mark.slow
def test_the_seeded_sandbox_still_passes_the_conformance_suite():
    """hash_seed runs the server without -I (whose -E would ignore PYTHONHASHSEED): nothing else may change."""
    require_backend("namespace")
    from acesandbox.conformance import CASES, conformance_executor, run_case
    from acesandbox.conformance._runner import capabilities

    with conformance_executor("namespace", hash_seed=SANDBOX.hash_seed) as ex:
        cases = [c for c in CASES if not c.requires - capabilities(ex.backend)]
        problems = {c.name: run_case(c, ex) for c in cases}
    assert len(cases) > 100
    assert {name: p for name, p in problems.items() if p} == {}
