"""Report and Outcome: derived counts and JSON round-trip."""

from __future__ import annotations

from acesandbox import Outcome, Report, Status


def test_report_counts_and_round_trip():
    report = Report(
        outcomes=(
            Outcome(Status.PASSED, duration_s=0.1),
            Outcome(Status.FAILED, message="nope", stdout="x", truncated=True),
            Outcome(Status.SANDBOX_ERROR),
        ),
        job_id="7",
        backend="namespace",
        isolation="namespace+cgroup",
        warnings=("w",),
    )
    assert (report.passed, report.total) == (1, 3)
    assert report.pass_rate == 1 / 3
    assert report.sandbox_error and not report.all_passed
    again = Report.from_json(report.to_json())
    assert again == report
    assert again.to_dict()["outcomes"][1]["status"] == "failed"


def test_empty_report_has_zero_pass_rate():
    assert Report(outcomes=()).pass_rate == 0.0
    assert not Report(outcomes=()).all_passed


def test_status_values_are_the_documented_ones():
    assert [s.value for s in Status] == [
        "passed", "failed", "error", "timeout", "memory", "crashed", "sandbox_error", "skipped",
    ]


def test_returned_values_survive_json_whatever_their_type():
    values = ({1, 2}, (3, "x"), b"\x00\xff", frozenset({"a"}), {"k": [1.5, None]}, float("inf"))
    report = Report(outcomes=(Outcome(status=Status.PASSED, values=values),))
    back = Report.from_json(report.to_json())
    assert back.outcomes[0].values == values
    assert [type(v) for v in back.outcomes[0].values] == [set, tuple, bytes, frozenset, dict, float]
