"""What a scoring run writes: per-sample detail records stay small whatever the program printed."""

from __future__ import annotations

import json

from acesandbox import Outcome, Report, Status
from benchmarks.base import FAIL, SampleResult
from benchmarks.output import DETAIL_TEXT_CHARS, detail_record


def test_detail_record_cuts_long_outputs():
    """Each test may write 64 KiB of stdout and of stderr; a program that always does would
    make STEM_details.jsonl ~130 KB per test (26 MB for one sample of 200 tests)."""
    flood = Outcome(Status.FAILED, message="m" * 70_000, stdout="O" * 65_536, stderr="E" * 65_536)
    report = Report(outcomes=(flood,) * 200, isolation="namespace")
    record = detail_record(SampleResult("T/0", 0, "", {"base": FAIL}, reports={"base": report}))
    assert len(json.dumps(record)) < 200 * 4 * DETAIL_TEXT_CHARS
    test = record["parts"]["base"]["tests"][0]
    assert test["stdout"].startswith("O" * DETAIL_TEXT_CHARS) and test["stdout"].endswith("[63536 more characters]")
    assert test["stderr"].endswith("[63536 more characters]") and test["message"].endswith("[68000 more characters]")
    short = Outcome(Status.FAILED, message="assert 1 == 2", stdout="hi\n")
    kept = detail_record(SampleResult("T/1", 0, "", {"base": FAIL}, reports={"base": Report(outcomes=(short,))}))
    test = kept["parts"]["base"]["tests"][0]
    assert (test["status"], test["message"], test["stdout"]) == ("failed", "assert 1 == 2", "hi\n")
