"""``acecoder rm``: train, eval and score end to end through the real command, and the package's exports."""

from __future__ import annotations

import importlib
import inspect
import json

import pytest

pytest.importorskip("trl")

from acesandbox.cli import main  # noqa: E402


def _write_pairs(path, n_questions: int = 8) -> None:
    rows = []
    for q in range(n_questions):
        for k in range(2):
            rows.append(
                {
                    "instruction": f"Write f{q} (variant {k}).",
                    "input": "",
                    "chosen": f"```python\ndef f{q}(x):\n    return x + {q}\n```",
                    "rejected": f"```python\ndef f{q}(x):\n    raise NotImplementedError\n```",
                    "id": f"oss-{q}",
                }
            )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_train_eval_score_through_acecoder(tmp_path, capsys):
    from rm_rl.tiny import TinyModelConfig, build_tiny_model

    base = build_tiny_model(tmp_path / "base", TinyModelConfig(vocab_size=400), texts=["def f(x): return x"] * 50)
    _write_pairs(tmp_path / "pairs.jsonl")
    out = tmp_path / "rm"
    code = main(
        ["rm", "train", "--demo", "--model", str(base), "--train-data", str(tmp_path / "pairs.jsonl"), "-o", str(out),
         "--eval-fraction", "0.25", "--max-steps", "2", "--max-length-tokens", "40", "--no-progress"]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "12 train pairs (6 questions), 4 eval pairs (2 questions)" in printed
    assert "longer than 40 tokens" in printed and "truncated" in printed
    summary = json.loads((out / "acecoder_rm.json").read_text())
    assert summary["config"]["max_steps"] == 2 and summary["result"]["length"]["over_cutoff"] > 0

    assert main(["rm", "eval", str(out), "--data", str(out / "eval_pairs.jsonl"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pairs"] == 4 and set(report["per_source"]) == {"oss"}

    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps({"task_id": "t", "prompt": "Write f.", "completion": c}) + "\n"
                               for c in ("a", "b", "c")))
    assert main(["rm", "score", str(out), "--samples", str(samples), "-o", str(tmp_path / "scores.jsonl")]) == 0
    assert "3 samples of 1 tasks scored" in capsys.readouterr().out
    lines = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert [(r["task_id"], r["index"]) for r in lines] == [("t", 0), ("t", 1), ("t", 2)]
    assert all(isinstance(r["score"], float) for r in lines)


def test_errors_are_one_line_and_exit_2(tmp_path, capsys):
    assert main(["rm", "train", "--train-data", str(tmp_path / "none.jsonl"), "--model", "tiny",
                 "-o", str(tmp_path / "o")]) == 2
    assert "dataset file not found" in capsys.readouterr().err
    cfg = tmp_path / "rm.toml"
    cfg.write_text("learning_rat = 1\n")
    assert main(["rm", "train", "--config", str(cfg)]) == 2
    assert "unknown key(s) ['learning_rat']" in capsys.readouterr().err


MODULES = [
    "rm_rl.reward_model",
    "rm_rl.reward_model.config",
    "rm_rl.reward_model.convert",
    "rm_rl.reward_model.data",
    "rm_rl.reward_model.evaluate",
    "rm_rl.reward_model.scoring",
    "rm_rl.reward_model.train",
    "rm_rl.tiny",
    "rm_rl.model_reward",
    "rm_rl.cli_rm",
]


@pytest.mark.parametrize("name", MODULES)
def test_exports_are_sorted_and_defined_where_they_say(name):
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    for export in module.__all__:
        obj = getattr(module, export)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            home = importlib.import_module(obj.__module__)
            assert getattr(home, obj.__name__) is obj, export
            assert obj.__module__.startswith(name.rsplit(".", 1)[0]), export


def test_bench_prints_the_best_of_n_table_from_rm_scores(tmp_path, capsys):
    """N samples per HumanEval task -> acecoder rm score -> acecoder bench --scores: Average, Oracle, RM@N."""
    from _support import require_backend

    from benchmarks.base import get_benchmark
    from rm_rl.tiny import TinyModelConfig, build_tiny_model

    require_backend("namespace")
    problems = get_benchmark("humaneval").load()[:3]
    samples, prompts = tmp_path / "samples.jsonl", tmp_path / "prompts.jsonl"
    with open(samples, "w") as s, open(prompts, "w") as p:
        for problem in problems:
            p.write(json.dumps({"task_id": problem.task_id, "prompt": problem.prompt}) + "\n")
            body = problem.canonical_solution.removeprefix(problem.prompt)
            for completion in (body, "    return None\n"):  # index 0 right, index 1 wrong
                s.write(json.dumps({"task_id": problem.task_id, "completion": completion}) + "\n")
    rm = build_tiny_model(tmp_path / "rm", TinyModelConfig(vocab_size=400), texts=[x.prompt for x in problems] * 5)
    scores = tmp_path / "scores.jsonl"
    assert main(["rm", "score", str(rm), "--samples", str(samples), "--prompts", str(prompts), "-o", str(scores)]) == 0
    capsys.readouterr()
    assert main(["bench", "humaneval", "--samples", str(samples), "--limit", "3", "--scores", f"RM={scores}",
                 "--sandbox", "namespace", "--no-progress"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("best-of-N"):].splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in table[2:] if line.strip()}
    assert rows["Average"] == ["100.0", "50.0"] and rows["Oracle"] == ["100.0", "100.0"]
    picks = [json.loads(line)["score"] for line in scores.read_text().splitlines()]
    right = sum(picks[2 * i] >= picks[2 * i + 1] for i in range(3))  # ties go to index 0
    assert rows["RM"] == ["100.0", f"{100 * right / 3:.1f}"]
