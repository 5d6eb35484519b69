"""The faster ground-truth digest gives every value the same digest as the one it replaced (cached digests stay valid)."""

from __future__ import annotations

import math
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.evalplus.ground_truth import DIGEST_PREFIX, DIGEST_SOURCE

_NEW: dict = {}
exec(compile(DIGEST_SOURCE, "<digest>", "exec"), _NEW)

# The digest of commit 683acd4 (one element at a time), the reference the cached ground truths were written with.
_PREVIOUS = '''
def __evalplus_digest__(out):
    import hashlib as _hashlib
    h = _hashlib.sha256()

    def feed(x):
        try:
            text = repr(__evalplus_canon__(x))
        except ValueError:
            text = repr(__evalplus_canon__(x, False))
        h.update(text.encode("utf-8", "surrogatepass"))

    if isinstance(out, (list, tuple)):
        kind = "list" if isinstance(out, list) else "tuple"
        h.update(b"[" if kind == "list" else b"(")
        for e in out:
            feed(e)
            h.update(b"\\x00")
        size = "%d items" % len(out)
    else:
        feed(out)
        big = type(out) is int and out.bit_length() > 8192
        kind, size = "value", ("%d bits" % out.bit_length() if big else "1 value")
    return "PREFIX%s, %s, sha256 %s>" % (kind, size, h.hexdigest())
'''.replace("PREFIX", DIGEST_PREFIX)
_OLD: dict = {}
exec(compile(DIGEST_SOURCE, "<digest>", "exec"), _OLD)
exec(compile(_PREVIOUS, "<previous digest>", "exec"), _OLD)


def new(value):
    return _NEW["__evalplus_digest__"](value)


def old(value):
    return _OLD["__evalplus_digest__"](value)


_ATOMS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**8000, max_value=2**16000)
          | st.floats(allow_nan=True) | st.text(max_size=6) | st.binary(max_size=4)
          | st.integers(4, 6).map(lambda k: -(10 ** (k * 1000)))  # past repr's digit cap
          | st.sampled_from([-0.0, 1e16, -2.5e300, float("inf"), "\ud800", 3 + 0j, 2j]))
_VALUES = st.recursive(_ATOMS, lambda inner: st.lists(inner, max_size=5) | st.lists(inner, max_size=5).map(tuple)
                       | st.frozensets(st.integers() | st.text(max_size=3), max_size=4)
                       | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_property_the_new_digest_is_the_previous_one(value):
    assert new(value) == old(value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats() | st.integers() | st.text(alphabet="0.e+-\x00'", max_size=5) | st.none(), max_size=60))
def test_property_flat_lists_of_atoms_keep_their_digest(value):
    assert new(value) == old(value) and new(tuple(value)) == old(tuple(value))


def test_the_cases_the_fast_paths_take_keep_their_digest():
    class Sub(list):
        pass

    values = [
        [1, 2.0, -0.0, 1e16, float("nan"), "a", b"b", None, True, 10**3000, 2**9000],  # mixed atoms
        [(1, "x"), ("a", "b"), [2**9000], [10**5000], (True,), [1.5]],  # nested fast and slow paths
        Sub([1, 2]), (), [], list(range(10_000)), tuple("abc" * 3000),  # a subclass, empty, past one chunk
        10**5000, 2**9000, 3.0, "s", {1: [2.0]}, {1, 2}, 1 + 0j,
        [-0.0, -0.0, -0.0, 0.0, -0.0], [1e16, -1e16, 1.5e16, 1e300, -2.5e-300, 1e-05, 123456789012345.0],
        ["x.0", "e+1", "a\x00.0", "1.0", b"2.0", 2.0, None, "\x00-0.0"], [2**8191, 2**8193, -(2**8192)],
        [float("nan"), float("-inf"), 7.0, 7], ["a" * 3000, 1.0], [10**4299, 1.0],
        [("red", "red"), ("red", "green")], [[1, None, b"x"], [2]], [[10**5000], [1]], [("a",), ["b"]],
        [(1.0,), (2,)], [(True,), (1,)], [[2**9000], [3]], [(), []],
    ]
    for v in values:
        assert new(v) == old(v), v
    assert new([1, 2.0]) == new([1.0, 2]) != new((1, 2))  # equal under ==, list and tuple told apart


def test_the_new_digest_is_faster_on_a_large_list():
    value = [i / 2 for i in range(400_000)]  # HumanEval/130's outputs: a million ints and floats
    started = time.perf_counter()
    a = old(value)
    before = time.perf_counter() - started
    started = time.perf_counter()
    b = new(value)
    after = time.perf_counter() - started
    assert a == b and after < before and math.isfinite(after)


def test_ground_truth_starts_plus_checks_first_smallest_inputs_first():
    from benchmarks.base import Problem
    from benchmarks.evalplus.ground_truth import _likely_longest_first

    def problem(n, plus, base):
        return Problem(task_id=f"T/{n}", prompt="", entry_point="f", canonical_solution="",
                       data={"plus_input": plus, "base_input": base})

    problems = [problem(0, [[10**6]], [[1]]), problem(1, [[10**5000]], [[1, 2, 3]]), problem(2, [[1], [2]], [])]
    keys = [("T/0", "base", 0), ("T/0", "plus", 0), ("T/1", "base", 0), ("T/1", "plus", 0), ("T/2", "base", 0),
            ("T/2", "plus", 0), ("T/2", "plus", 1)]
    # plus jobs first, smallest inputs first (an int past repr's cap sorts last), a problem's pieces in order
    assert _likely_longest_first(problems, keys) == [5, 6, 1, 3, 4, 0, 2]


# Fingerprints of expected outputs (base and plus, digests included) computed with the code of commit
# 683acd4, before the faster digest, the chunked ground-truth calls and the new start order.
_BEFORE = {
    ("humanevalplus/HumanEvalPlus-v0.1.9.jsonl.gz", "HumanEval/0"): "9ed21a6fbd68cc504f45aec5962c6c1b7cb66ba435ae6759689efd53e24c45e8",
    ("humanevalplus/HumanEvalPlus-v0.1.9.jsonl.gz", "HumanEval/15"): "82a9bbb750fa7e218b841009a9a8226d8c90a1e6c5c6224d60ad3497f9404f00",
    ("humanevalplus/HumanEvalPlus-v0.1.9.jsonl.gz", "HumanEval/32"): "a4c98dead5319d8dacebacabe2027bb1f7b154296c566735358dc46db5d6b870",
    ("mbppplus/MbppPlus-v0.1.0.jsonl.gz", "Mbpp/2"): "af0921fc2a054265eeb331b83880e320ab5bd01a6192cd5f8985e786a0ce1e4c",
    ("mbppplus/MbppPlus-v0.1.0.jsonl.gz", "Mbpp/579"): "54289bb2e9653068c45248fb0e34d51b730f4ac92bbd2b5d9c98b56e8d139f86",
}


def test_expected_outputs_are_the_ones_computed_before(shared_data, tmp_path):
    """HumanEval/15's plus outputs hold 21 digests; Mbpp/579 depends on the hash seed."""
    import dataclasses
    import hashlib
    import json

    from _support import require_backend

    from acesandbox import Executor, _wire
    from benchmarks.evalplus import SANDBOX, HumanEvalPlus, MbppPlus, ground_truth

    require_backend("namespace")
    problems = []
    for file, task_id in _BEFORE:
        bench = (HumanEvalPlus if file.startswith("human") else MbppPlus)(cache_dir=str(tmp_path))
        problems += [p for p in bench.load(str(shared_data / file)) if p.task_id == task_id]
    with Executor(dataclasses.replace(SANDBOX, backend="namespace", workers=2)) as ex:
        gt = ground_truth(problems, executor=ex, cache_dir=str(tmp_path))
    got = {}
    for (file, task_id) in _BEFORE:
        v = gt[task_id]
        encoded = _wire.encode({"base": v["base"], "plus": v["plus"]}, max_bytes=1 << 30)
        got[(file, task_id)] = hashlib.sha256(json.dumps(encoded, sort_keys=True).encode()).hexdigest()
    assert got == _BEFORE
    assert sum(1 for x in gt["HumanEval/15"]["plus"] if isinstance(x, str) and x.startswith(DIGEST_PREFIX)) == 21
