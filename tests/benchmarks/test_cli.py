"""``acecoder bench``: list, scoring from samples or a (replayed) model, output files, bad input."""

from __future__ import annotations

import json

import pytest

from acesandbox.cli import main


def test_list_names_every_benchmark(capsys):
    assert main(["bench", "list"]) == 0
    out = capsys.readouterr().out.split()
    for name in ("humaneval", "humaneval+", "mbpp", "mbpp+", "bigcodebench", "livecodebench"):
        assert name in out


def test_score_samples_writes_outputs(tmp_path, capsys, bench_executor):
    samples = tmp_path / "samples.jsonl"
    samples.write_text(
        json.dumps({"task_id": "Toy/0", "solution": "def add(a, b):\n    return a + b\n"}) + "\n"
        + json.dumps({"task_id": "Toy/1", "solution": "def neg(x):\n    return x\n"}) + "\n"
    )
    out_dir = tmp_path / "out"
    code = main(["bench", "toy", "--samples", str(samples), "-k", "1", "-o", str(out_dir), "--no-progress", "--json",
                 "--workers", "1"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["pass_at_k"]["pass"]["pass@1"] == pytest.approx(0.5)
    assert summary["canary"] == {"total": 2, "passed": 2, "failures": []}
    details = [json.loads(line) for line in (out_dir / "toy_details.jsonl").read_text().splitlines()]
    assert [d["verdicts"]["pass"] for d in details] == ["pass", "fail"]
    assert details[1]["parts"]["pass"]["tests"][0]["call_index"] == 0
    html = (out_dir / "toy_report.html").read_text()
    assert "Toy/1" in html and "data:image/png;base64," in html


def test_a_lone_surrogate_in_a_sample_does_not_lose_the_outputs(tmp_path, capsys, bench_executor):
    """``\\ud800`` is a valid JSON escape; writing it as UTF-8 raised after scoring, leaving a
    half-written details file and no summary or report. The sample is judged (it cannot
    load: fail), every output is written, and the solution reads back as it was."""
    samples = tmp_path / "samples.jsonl"
    samples.write_text(
        '{"task_id": "Toy/0", "solution": "def add(a, b):\\n    return a + b  # \\ud800\\n"}\n'
        + json.dumps({"task_id": "Toy/1", "solution": "def neg(x):\n    return -x\n"}) + "\n"
    )
    out_dir = tmp_path / "out"
    code = main(["bench", "toy", "--samples", str(samples), "-k", "1", "-o", str(out_dir), "--no-progress", "--json",
                 "--workers", "1"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["pass_at_k"]["pass"]["pass@1"] == pytest.approx(0.5)
    details = [json.loads(line) for line in (out_dir / "toy_details.jsonl").read_text().splitlines()]
    assert [d["verdicts"]["pass"] for d in details] == ["fail", "pass"]
    assert details[0]["solution"].endswith("# \ud800\n")
    assert (out_dir / "toy_report.html").exists() and (out_dir / "toy_summary.json").exists()


def test_no_samples_scores_the_canonical_solutions(capsys):
    assert main(["bench", "toy", "--no-progress", "--json", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["pass_at_k"]["pass"]["pass@1"] == 1.0
    assert "canonical solutions" in captured.err


def test_model_to_score_in_one_command(tmp_path, capsys):
    from _bench_toy import Toy
    from harness.generation.replay import prompt_key

    bench = Toy()
    answers = {"Toy/0": "```python\ndef add(a, b):\n    return a + b\n```", "Toy/1": "```python\ndef neg(x):\n    return 0\n```"}
    recording = tmp_path / "replay.jsonl"
    recording.write_text("".join(
        json.dumps({"prompt": bench.prompt(p, chat=True), "responses": [answers[p.task_id]]}) + "\n" for p in bench.load()
    ))
    assert prompt_key(bench.prompt(bench.load()[0], chat=True))
    out_dir = tmp_path / "gen"
    code = main(["bench", "toy", "--model", "m", "--generator", "replay", "--gen-option", f"path={recording}",
                 "-k", "1", "-o", str(out_dir), "--no-progress", "--json", "--workers", "1"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["pass_at_k"]["pass"]["pass@1"] == pytest.approx(0.5)
    written = [json.loads(line) for line in (out_dir / "samples.jsonl").read_text().splitlines()]
    assert [s["task_id"] for s in written] == ["Toy/0", "Toy/1"]


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    assert main(["bench", "no-such-bench"]) == 2
    assert "choose one of" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": "Toy/0", "solution": "x"}\nnot json\n')
    assert main(["bench", "toy", "--samples", str(bad), "--no-progress"]) == 2
    assert "line 2" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="-k"):
        main(["bench", "toy", "-k", "0", "--no-progress", "--workers", "1"])
    assert main(["bench", "toy", "--samples", str(tmp_path / "none.jsonl"), "--no-progress"]) == 2
    assert "not found" in capsys.readouterr().err


def test_best_of_n_under_a_scorer(tmp_path, capsys):
    samples = tmp_path / "samples.jsonl"
    good, bad = "def add(a, b):\n    return a + b\n", "def add(a, b):\n    return 0\n"
    rows = [("Toy/0", bad), ("Toy/0", good), ("Toy/1", "def neg(x):\n    return -x\n"), ("Toy/1", "def neg(x):\n    return x\n")]
    samples.write_text("".join(json.dumps({"task_id": t, "solution": s}) + "\n" for t, s in rows))
    scores = tmp_path / "rm.jsonl"
    # the scorer prefers the wrong sample on Toy/0 and the right one on Toy/1
    scores.write_text("".join(json.dumps({"task_id": t, "index": i, "score": sc}) + "\n"
                              for t, i, sc in [("Toy/0", 0, 0.9), ("Toy/0", 1, 0.1), ("Toy/1", 0, 0.8), ("Toy/1", 1, 0.2)]))
    out_dir = tmp_path / "out"
    assert main(["bench", "toy", "--samples", str(samples), "--scores", f"rm={scores}", "-k", "1", "-o", str(out_dir),
                 "--no-progress", "--workers", "1"]) == 0
    import pandas as pd

    table = pd.read_csv(out_dir / "toy_best_of_n.csv", index_col=0)
    assert table.loc["Oracle", "2"] == 1.0
    assert table.loc["rm", "2"] == 0.5
    assert table.loc["Average", "1"] == 0.5
    assert "best-of-N" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="NAME=FILE"):
        main(["bench", "toy", "--samples", str(samples), "--scores", "nonsense", "--no-progress", "--workers", "1"])


def test_greedy_adds_the_table_s_greedy_row(tmp_path, capsys):
    """The paper's Table 2 row: Greedy (a temperature-0 sample per task, scored too), Average, Oracle, RM@N."""
    samples, greedy, scores = tmp_path / "samples.jsonl", tmp_path / "greedy.jsonl", tmp_path / "rm.jsonl"
    good, bad = "def add(a, b):\n    return a + b\n", "def add(a, b):\n    return 0\n"
    rows = [("Toy/0", bad), ("Toy/0", good), ("Toy/1", "def neg(x):\n    return -x\n"), ("Toy/1", "def neg(x):\n    return x\n")]
    samples.write_text("".join(json.dumps({"task_id": t, "solution": s}) + "\n" for t, s in rows))
    # greedy: right on Toy/0, wrong on Toy/1 -> 0.5
    greedy.write_text("".join(json.dumps({"task_id": t, "solution": s}) + "\n" for t, s in [rows[1], rows[3]]))
    scores.write_text("".join(json.dumps({"task_id": t, "index": i, "score": sc}) + "\n"
                              for t, i, sc in [("Toy/0", 0, 0.9), ("Toy/0", 1, 0.1), ("Toy/1", 0, 0.8), ("Toy/1", 1, 0.2)]))
    out_dir = tmp_path / "out"
    assert main(["bench", "toy", "--samples", str(samples), "--scores", f"rm={scores}", "--greedy", str(greedy),
                 "-k", "1", "-o", str(out_dir), "--no-progress", "--workers", "1"]) == 0
    import pandas as pd

    table = pd.read_csv(out_dir / "toy_best_of_n.csv", index_col=0)
    assert list(table.index) == ["Greedy", "Average", "Oracle", "rm"]
    assert table.loc["Greedy", "1"] == 0.5 and table.loc["Oracle", "2"] == 1.0
    assert main(["bench", "toy", "--samples", str(samples), "--greedy", str(greedy), "--no-progress"]) == 2
    assert "--greedy goes with --scores" in capsys.readouterr().err


def test_without_matplotlib_results_are_written_and_the_plots_skipped(tmp_path, capsys, monkeypatch, bench_executor):
    """Issue 14: no work lost to a missing extra: the report is written without plots, with a note."""
    import sys

    from benchmarks.report import NO_PLOTS

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    samples = tmp_path / "samples.jsonl"
    samples.write_text(json.dumps({"task_id": "Toy/0", "solution": "def add(a, b):\n    return a + b\n"}) + "\n")
    out_dir = tmp_path / "out"
    code = main(["bench", "toy", "--samples", str(samples), "-k", "1", "-o", str(out_dir), "--no-progress", "--json",
                 "--workers", "1"])
    assert code == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["pass_at_k"]["pass"]["pass@1"] == 1.0
    assert f"note: toy_report.html: {NO_PLOTS}" in captured.err
    assert json.loads((out_dir / "toy_summary.json").read_text())["samples"] == 1
    html = (out_dir / "toy_report.html").read_text()
    assert "Toy/0" in html and "matplotlib is not installed" in html and "data:image/png" not in html


def test_without_pandas_the_command_stops_before_scoring(tmp_path, capsys, monkeypatch):
    """A missing scoring dependency is an error naming the extra, raised before any sample is judged."""
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)
    samples = tmp_path / "samples.jsonl"
    samples.write_text(json.dumps({"task_id": "Toy/0", "solution": "def add(a, b):\n    return a + b\n"}) + "\n")
    out_dir = tmp_path / "out"
    assert main(["bench", "toy", "--samples", str(samples), "-o", str(out_dir), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "needs pandas" in err and "pip install 'acecoder-toolkit[benchmarks]'" in err
    assert not out_dir.exists()


def test_verify_official_names_the_data_option_when_no_folder_is_given(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ACECODER_SHARED_DATA", raising=False)
    assert main(["bench", "verify-official", "--no-progress"]) == 2
    assert "no shared data folder given: pass --data-dir DIR or set ACECODER_SHARED_DATA" in capsys.readouterr().err
    assert main(["bench", "verify-official", "--data-dir", str(tmp_path / "absent"), "--no-progress"]) == 2
    assert "is not a folder: pass --data-dir DIR" in capsys.readouterr().err
