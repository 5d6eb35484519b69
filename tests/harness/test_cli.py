"""The subcommand modules: their contract with ``acecoder``, options, exit codes."""

from __future__ import annotations

import importlib
import json
from importlib.metadata import EntryPoint

import pytest

from acesandbox.cli import main
from harness.cli import COMMANDS
from harness.cli._common import STAGE_COMMANDS
from harness.io import read_records, write_records
from harness.synth import build_prompt


# One option each command must offer, taken from its config's fields.
OPTIONS = {
    "synth": ("--num-tests", "--generator", "--gen-option", "--json"),
    "filter": ("--min-tests", "--num-solutions", "--sandbox", "--generator", "--timeout-s", "--memory-mb", "--json"),
    "sample": ("--num-samples", "--denominator", "--sandbox", "--generator", "--preload", "--mode", "--json"),
    "pairs": ("--min-gap", "--format", "--json"),
    "hard": ("--spread", "--json"),
    "stats": ("--title", "--output-dir"),
    "pipeline": ("--demo", "--set", "--stages"),
}


def test_the_five_stage_modules_are_rows_of_one_table():
    assert sorted(STAGE_COMMANDS) == ["filter", "hard", "pairs", "sample", "synth"]
    for name, row in STAGE_COMMANDS.items():
        module = importlib.import_module(COMMANDS[name])
        assert module.SUMMARY == row.summary
        assert module.add_parser == row.add_parser and module.run == row.run
        config_module, _, fn = row.function.partition(":")
        assert callable(getattr(importlib.import_module(config_module), fn))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_module_has_the_subcommand_contract(name):
    module = importlib.import_module(COMMANDS[name])
    assert module.__all__ == ["SUMMARY", "add_parser", "run"]
    assert len(module.SUMMARY) > 20 and module.SUMMARY == module.SUMMARY.strip()
    assert callable(module.add_parser) and callable(module.run)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_shows_the_summary_and_the_options(name, capsys):
    with pytest.raises(SystemExit) as info:
        main([name, "--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith(f"usage: acecoder {name}")
    for flag in OPTIONS[name]:
        assert flag in out, (name, flag)
    assert "--backend" not in out  # --generator picks the model, --sandbox the isolation
    if name in STAGE_COMMANDS:
        assert " ".join(STAGE_COMMANDS[name].description.split()) in out
        assert "exit codes: 0 done; 1 could not run; 2 bad options; 3 done" in out


def test_registered_as_entry_points_acecoder_runs_them(monkeypatch, tmp_path, capsys):
    """What the lead's ``acecoder.commands`` entry points give: acesandbox's CLI dispatches to our modules."""
    import importlib.metadata

    import acesandbox.cli as acli

    eps = [EntryPoint(name=n, value=m, group="acecoder.commands") for n, m in COMMANDS.items()]
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda group=None: eps if group == "acecoder.commands" else []
    )
    write_records([{"id": "a", "inferences": [], "question": "q"}], tmp_path / "s.jsonl")
    assert acli.main(["hard", str(tmp_path / "s.jsonl"), "-o", str(tmp_path / "h.jsonl")]) == 0
    assert "acecoder hard: questions_in=0, questions_out=0, rejected_items={'no_inferences': 1}" in capsys.readouterr().err


def test_synth_command_with_json_summary(tmp_path, capsys):
    write_records([{"id": "s", "code": "x = 1"}], tmp_path / "seeds.jsonl")
    answer = {"question": "q?", "entry_point": "f", "tests": [f"assert f({i}) == {i}" for i in range(5)]}
    write_records([{"prompt": build_prompt("x = 1", 20), "responses": [json.dumps(answer)]}], tmp_path / "r.jsonl")
    code = main(
        [
            "synth",
            str(tmp_path / "seeds.jsonl"),
            "-o",
            str(tmp_path / "synth.jsonl"),
            "--generator",
            "replay",
            "--gen-option",
            f"path={tmp_path / 'r.jsonl'}",
            "--no-progress",
            "--json",
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["questions"] == 1 and summary["stage"] == "synth"
    assert "acecoder synth: questions=1" in captured.err
    (row,) = read_records(tmp_path / "synth.jsonl")
    assert row["question"] == "q?" and row["tests"] == answer["tests"]


def test_items_left_for_a_rerun_exit_3(tmp_path, capsys):
    write_records([{"id": "s", "code": "x = 1"}], tmp_path / "seeds.jsonl")
    write_records([], tmp_path / "r.jsonl")
    code = main(
        [
            "synth",
            str(tmp_path / "seeds.jsonl"),
            "-o",
            str(tmp_path / "synth.jsonl"),
            "--gen-option",
            f"path={tmp_path / 'r.jsonl'}",
            "--no-progress",
            "--max-retries",
            "0",
        ]
    )
    assert code == 3
    assert "rerun the same command" in capsys.readouterr().err


def test_bad_options_exit_2(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "x.jsonl")]) == 2  # no --output
    assert "output is required" in capsys.readouterr().err
    assert main(["pipeline", str(tmp_path / "missing.toml")]) == 2
    bad = tmp_path / "c.toml"
    bad.write_text("[sample]\nnum_samples = 0\n")
    assert main(["pipeline", str(bad)]) == 2


def test_unknown_generation_backend_exits_1(tmp_path, capsys):
    write_records([{"id": "s", "code": "x = 1"}], tmp_path / "seeds.jsonl")
    code = main(
        ["synth", str(tmp_path / "seeds.jsonl"), "-o", str(tmp_path / "o.jsonl"), "--generator", "nope", "--no-progress"]
    )
    assert code == 1
    assert "unknown generation backend" in capsys.readouterr().err


def test_missing_input_exits_1_naming_the_file(tmp_path, capsys):
    missing = tmp_path / "nope.jsonl"
    code = main(["hard", str(missing), "-o", str(tmp_path / "h.jsonl")])
    assert code == 1
    assert f"acecoder hard: error: {missing}: dataset file not found" in capsys.readouterr().err


def test_error_messages_quoting_data_reach_the_terminal_escaped(tmp_path, capsys):
    """An error message quoting a name with control characters (a file, a row) prints them escaped."""
    missing = tmp_path / "nope\x1b]0;pwned\x07\x1b[2J\x9b.jsonl"
    assert main(["hard", str(missing), "-o", str(tmp_path / "h.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x9b" not in err and "\x07" not in err
    assert "nope\\x1b]0;pwned\\x07\\x1b[2J\\x9b.jsonl: dataset file not found" in err
    assert main(["pipeline", str(tmp_path / "c\x1b[2J.toml")]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "c\\x1b[2J.toml" in err
