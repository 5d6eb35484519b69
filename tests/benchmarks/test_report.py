"""The terminal table and the HTML report: values shown, plots embedded, data escaped, fast."""

from __future__ import annotations

import base64
import io
import random
import re
import time

import pytest
from rich.console import Console

from benchmarks.base import FAIL, PASS, SANDBOX_ERROR, SampleResult
from benchmarks.metrics import best_of_n_table, pass_at_k_table, per_task_table
from benchmarks.report import (
    print_summary_table,
    render_html_report,
    summary_table,
    write_html_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _results() -> list[SampleResult]:
    """Two tasks, two parts, three samples each; one sample of T/1 could not be judged."""
    spec = {
        "T/0": [(PASS, PASS), (PASS, FAIL), (FAIL, FAIL)],
        "<script>alert(1)</script>": [(PASS, PASS), (SANDBOX_ERROR, SANDBOX_ERROR), (PASS, FAIL)],
    }
    return [
        SampleResult(task, i, "<b>solution</b>", {"base": base, "plus": plus})
        for task, rows in spec.items()
        for i, (base, plus) in enumerate(rows)
    ]


def _images(text: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r"<img [^>]*src='data:image/png;base64,([A-Za-z0-9+/=]+)'", text)]


def test_html_report_shows_the_numbers_plots_and_counts(tmp_path):
    results = _results()
    table = pass_at_k_table(results, ["base", "plus"], ks=[1, 2, 10])
    # base: T/0 2/3, the other 2/2 judged -> (2/3 + 1) / 2 = 83.3 %; plus: (1/3 + 1/2) / 2 = 41.7 %
    correct = {"T/0": [True, True, False], "T/1": [False, None, True]}
    bon = best_of_n_table(correct, {"rm": {"T/0": [0.1, 0.2, 0.3], "T/1": [1, 0, 0]}}, ns=[1, 2])
    path = tmp_path / "report.html"
    assert write_html_report(
        str(path),
        title="toy run",
        pass_at_k=table,
        per_task=per_task_table(results),
        best_of_n=bon,
        warnings=["1 sample(s) could not be judged (sandbox_error)"],
        meta={"benchmark": "toy", "canary": {"total": 2, "passed": 2}},
    ) == str(path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and text.rstrip().endswith("</html>")
    assert "<td>83.3</td>" in text and "<td>41.7</td>" in text
    assert "pass@2" in text and "pass@10" not in text.split("<h2>Per task</h2>")[0].split("</table>")[0]
    assert "1 of 6 sample(s) could not be judged (sandbox_error)" in text  # counted from the table's attrs
    assert "part base: pass@10 not reported" in text  # n=3 and n=2 (one sample unjudged) are both < 10
    assert "Best-of-N (%)" in text and "N=2: 1" in text  # T/1 left out at N=2
    images = _images(text)
    assert len(images) == 3  # pass@k, heat map, best-of-N
    assert all(img.startswith(PNG_MAGIC) for img in images)
    assert "http" not in text.replace("http-equiv", "")  # nothing to fetch
    assert "&quot;passed&quot;: 2" in text  # meta, escaped JSON


def test_task_ids_and_every_string_are_escaped():
    results = _results()
    text = render_html_report(
        title="<img src=x onerror=alert(1)>",
        pass_at_k={"<i>model</i>": pass_at_k_table(results, ["base"], ks=[1])},
        per_task={"<i>model</i>": per_task_table(results)},
        warnings=["<script>bad()</script>"],
        meta={"<k>": "<v>"},
    )
    assert "<script>" not in text and "<i>" not in text and "<k>" not in text and "onerror=alert(1)>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text


def test_dollar_signs_in_names_do_not_break_the_plots():
    """Task ids, run names and scorer names are plot labels: a ``$`` pair is not parsed as
    mathtext (``$\\frac$`` raised ValueError and ``$x^{{{...$`` RecursionError, no report)."""
    bad = ["$\\frac$", "$x^{" + "{" * 200 + "$", "a$b$c"]
    results = [SampleResult(t, 0, "", {"base": PASS}) for t in bad]
    correct = {t: [True] for t in bad}
    text = render_html_report(
        title="dollars",
        pass_at_k={"$\\frac$": pass_at_k_table(results, ["base"], ks=[1])},
        per_task={"$\\frac$": per_task_table(results)},
        best_of_n=best_of_n_table(correct, {"$\\sqrt$": {t: [1.0] for t in bad}}, ns=[1]),
    )
    assert len(_images(text)) == 3
    assert "a$b$c" in text


def test_several_runs_are_compared():
    a, b = _results(), [SampleResult(r.task_id, r.index, "", {"base": PASS, "plus": PASS}) for r in _results()]
    text = render_html_report(
        title="compare",
        pass_at_k={"model-a": pass_at_k_table(a, ["base", "plus"], ks=[1]), "model-b": pass_at_k_table(b, ["base", "plus"], ks=[1])},
        per_task={"model-a": per_task_table(a), "model-b": per_task_table(b)},
    )
    head = text.split("<h2>Per task</h2>")[0]
    assert "model-a" in head and "model-b" in head and "<td>100.0</td>" in head
    assert "pass rate per task and run" in text
    assert len(_images(text)) == 2
    assert "model-b: " not in text  # nothing left out of model-b's denominators


def test_bad_frames_are_named():
    with pytest.raises(TypeError, match="pass_at_k must be a DataFrame"):
        render_html_report(title="x", pass_at_k=[1, 2], per_task={})
    table = pass_at_k_table(_results(), ["base"], ks=[1])
    import pandas as pd

    with pytest.raises(ValueError, match="per_task has no column 'task_id'"):
        render_html_report(title="x", pass_at_k=table, per_task=pd.DataFrame({"a": [1]}))


def test_report_for_a_thousand_tasks_is_fast(tmp_path):
    rng = random.Random(0)
    results = [
        SampleResult(f"Task/{t}", i, "", {"base": rng.choice([PASS, FAIL]), "plus": rng.choice([PASS, FAIL, SANDBOX_ERROR])})
        for t in range(1000)
        for i in range(5)
    ]
    correct = {f"Task/{t}": [rng.random() < 0.4 for _ in range(16)] for t in range(1000)}
    scores = {"rm": {t: [rng.random() for _ in range(16)] for t in correct}}
    # warm the imports so the timing is the report's own
    render_html_report(title="warm", pass_at_k=pass_at_k_table(results[:10], ["base"], ks=[1]), per_task=per_task_table(results[:10]))
    started = time.perf_counter()
    write_html_report(
        str(tmp_path / "big.html"),
        title="big",
        pass_at_k=pass_at_k_table(results, ["base", "plus"], ks=[1, 5]),
        per_task=per_task_table(results),
        best_of_n=best_of_n_table(correct, scores, ns=[1, 2, 4, 8, 16]),
        warnings=[],
        meta={},
    )
    elapsed = time.perf_counter() - started
    assert elapsed < 4.0, f"report took {elapsed:.2f} s"  # about 1 s on an idle core; headroom for a shared host
    assert "Task/999" in (tmp_path / "big.html").read_text()


def _summary(**over):
    base = {
        "benchmark": "humaneval+",
        "pass_at_k": {"base": {"pass@1": 0.5, "pass@10": None}, "plus": {"pass@1": 0.25, "pass@10": 0.75}},
        "samples": 20,
        "tasks": 2,
        "sandbox_errors": 3,
        "canary": {"total": 164, "passed": 164, "failures": []},
        "warnings": ["3 sample(s) could not be judged (sandbox_error)"],
    }
    return {**base, **over}


def _render(table) -> str:
    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(table)
    return console.file.getvalue()


def test_summary_table_columns_and_values():
    out = _render(summary_table([_summary(), _summary(benchmark="[red]mbpp+", canary={"total": 4, "passed": 3}),
                                 _summary(benchmark="lcb", canary=None, pass_at_k={"pass": {"pass@100": 0.1}})]))
    header = out.splitlines()[1:4]
    for col in ("benchmark", "part", "pass@1", "pass@10", "pass@100", "samples", "tasks", "sandbox errors", "canary"):
        assert col in "".join(header) or col in out
    assert out.index("pass@1 ") < out.index("pass@10 ") < out.index("pass@100")
    assert "50.0" in out and "25.0" in out and "75.0" in out and "10.0" in out
    assert "ok 164/164" in out and "FAILED 3/4" in out and "off" in out
    assert "[red]mbpp+" in out  # shown as written, not taken as markup


def test_print_summary_table_prints_warnings():
    buf = io.StringIO()
    print_summary_table(_summary(), file=buf)
    out = buf.getvalue()
    assert "humaneval+" in out and "warning: 3 sample(s) could not be judged" in out
    buf = io.StringIO()
    print_summary_table(_summary(), file=buf, show_warnings=False)
    assert "warning:" not in buf.getvalue()


def test_report_without_plots_keeps_the_tables_and_says_why():
    from benchmarks.report import NO_PLOTS

    results = [SampleResult("T/0", 0, "", {"pass": PASS}), SampleResult("T/0", 1, "", {"pass": FAIL})]
    page = render_html_report(title="run", pass_at_k=pass_at_k_table(results, ["pass"], ks=[1]),
                              per_task=per_task_table(results), plots=False)
    assert "data:image/png" not in page
    assert NO_PLOTS.replace("'", "&#x27;") in page
    assert "<h2>pass@k (%)</h2>" in page and "T/0" in page
