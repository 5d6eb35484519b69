"""Strict assert and unittest tests are prepared once per equal test and limits (issue 10):
what is shared, and what still tells jobs apart."""

from __future__ import annotations

import json

from acesandbox import Job, Limits, UnittestTest
from acesandbox._kinds import Prepared, prepare_job
from acesandbox.errors import InvalidJobError

TEST = "assert f(1) == 2"
UNITTEST = "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(f(1), 2)\n"


def _one(**job: object) -> Prepared | InvalidJobError:
    (slot,) = prepare_job(Job(**{"program": "def f(x): return x + 1", "tests": [TEST], **job}))
    return slot


def test_jobs_running_an_equal_test_share_its_prepared_form_and_payload():
    a = _one(limits=Limits(timeout_s=1.0))
    b = _one(program="def f(x): return 2", limits=Limits(timeout_s=1.0))
    assert isinstance(a, Prepared) and a is b
    assert a.payload_json() is b.payload_json()
    assert json.loads(a.payload_json()) == {"k": "plan", "code": "__ace_check__(0, (f(1),))", "last": 0}
    assert [(c.template, c.holes) for c in a.checks] == [("_h0 == 2", ("f(1)",))]
    u1 = prepare_job(Job(program="", tests=[UnittestTest(UNITTEST)]))[0]
    u2 = prepare_job(Job(program="x = 1", tests=[UnittestTest(UNITTEST)]))[0]
    assert isinstance(u1, Prepared) and u1 is u2 and u1.payload["unittest"] is True


def test_limits_and_compare_mode_still_tell_jobs_apart():
    base = _one(limits=Limits(timeout_s=1.0))
    slow = _one(limits=Limits(timeout_s=5.0))
    assert isinstance(base, Prepared) and isinstance(slow, Prepared)
    assert (base.judge_timeout_s, slow.judge_timeout_s) == (1.0, 5.0)
    compat = _one(compare="compat")
    assert isinstance(compat, Prepared) and compat.payload == {"k": "compat", "code": TEST} and compat.forgeable
    few_nodes = _one(limits=Limits(timeout_s=1.0, test_nodes=3))
    assert isinstance(few_nodes, InvalidJobError) and "syntax-tree nodes" in str(few_nodes)
    few_bytes = _one(limits=Limits(timeout_s=1.0, test_source_bytes=8))  # checked before the shared form
    assert isinstance(few_bytes, InvalidJobError) and "test_source_bytes" in str(few_bytes)
    assert _one(limits=Limits(timeout_s=1.0)) is base
