"""The ``acecoder`` CLI: run (streaming, validation, exit codes, the bundled example),
doctor, and --help, both as a subprocess and in-process through ``main``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from acesandbox.cli import SUBCOMMANDS, main
from acesandbox.cli.run import EXAMPLE

ROOT = Path(__file__).resolve().parents[2]
ADD = "def add(a, b):\n    return a + b\n"


def _cli(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run(
        [sys.executable, "-m", "acesandbox.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )


def _write_lines(path: Path, lines: list[object]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _statuses(record: dict) -> list[str]:
    return [o["status"] for o in record["outcomes"]]


# ---------------------------------------------------------------------- help


@pytest.mark.parametrize("command", [[]] + [[s.name] for s in SUBCOMMANDS])
def test_help_exits_0_for_every_subcommand(command):
    proc = _cli(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: acecoder")


def test_top_level_help_lists_every_subcommand():
    out = _cli("--help").stdout
    for sub in SUBCOMMANDS:
        assert sub.name in out


def test_run_help_shows_options_defaults_and_exit_codes():
    out = " ".join(_cli("run", "--help").stdout.split())  # undo the line wrapping
    for flag in ("--sandbox NAME", "--workers N", "--memory-mb MB", "--scratch-mb MB", "--max-processes N",
                 "--python PATH", "--preload MODULE", "--timeout-s SECONDS", "--mode", "--compare",
                 "--stop-on-failure", "--progress", "--example", "--output"):
        assert flag in out
    for old in ("--backend", "--timeout "):
        assert old not in out
    # Help text comes from the fields' metadata, defaults from the fields themselves.
    assert "memory cap of each sandbox, all its processes together, in MiB (at least 64) (default: 1024)" in out
    assert "CPU-time limit of each test, in seconds; its wall time may reach 3 * SECONDS + 1 (default: 5.0)" in out
    assert "default: 256" in out and "default: 64" in out and "default: isolated" in out and "default: strict" in out
    assert "exit codes" in out


def test_sandbox_and_job_flags_build_the_configs():
    import argparse

    from acesandbox import Limits, SandboxConfig
    from acesandbox.cli.options import add_job_options, add_sandbox_options, job_options_from_args, sandbox_from_args

    parser = argparse.ArgumentParser()
    add_sandbox_options(parser)
    add_job_options(parser, defaults={"mode": "shared"})
    args = parser.parse_args(
        ["--sandbox", "process", "--workers", "3", "--memory-mb", "512", "--scratch-mb", "32", "--max-processes", "16",
         "--python", "/usr/bin/python3", "--preload", "numpy", "--preload", "json", "--timeout-s", "2.5", "--compare",
         "compat", "--stop-on-failure"]
    )
    assert sandbox_from_args(args) == SandboxConfig(
        backend="process", workers=3, memory_mb=512, scratch_mb=32, max_processes=16, python="/usr/bin/python3",
        preload=("numpy", "json"),
    )
    assert job_options_from_args(args) == {"timeout_s": 2.5, "mode": "shared", "compare": "compat", "stop_on_failure": True}
    # Flags not given keep the base's values; job defaults are Limits' and Job's own.
    bare = parser.parse_args([])
    base = SandboxConfig(memory_mb=4096, preload=("numpy",))
    assert sandbox_from_args(bare, base) is base
    assert job_options_from_args(bare)["timeout_s"] == Limits().timeout_s
    small = argparse.ArgumentParser()
    add_sandbox_options(small, only=("backend", "python"))
    assert sorted(a.dest for a in small._actions if a.dest != "help") == ["python", "sandbox"]


def _help_of(name: str, capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_every_command_speaks_one_flag_vocabulary(capsys):
    """--sandbox is the isolation backend everywhere, --generator the model backend; old spellings are gone."""
    from importlib.metadata import entry_points

    names = {s.name for s in SUBCOMMANDS} | {ep.name for ep in entry_points(group="acecoder.commands")}
    sandbox_help = "--sandbox NAME isolation backend: namespace, process, docker, ray or fake"
    for name in sorted(names):
        out = _help_of(name, capsys)
        for old in ("--backend", "--timeout ", "--sandbox-python"):
            assert old not in out, (name, old)
        if name in ("run", "doctor", "serve", "bench", "filter", "sample"):
            assert sandbox_help in out, name
        if name in ("run", "serve", "bench"):
            assert "--workers N sandboxes run in parallel (default: one per CPU core)" in out, name
    assert "--generator" in _help_of("bench", capsys)


def test_only_the_chosen_subcommand_is_imported():
    code = (
        "import sys; from acesandbox.cli import build_parser; build_parser(['doctor']); "
        "print('acesandbox.cli.run' in sys.modules, 'acesandbox.executor' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout.split() == ["False", "False"], proc.stderr


def test_no_subcommand_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: acecoder" in capsys.readouterr().err


# ----------------------------------------------------------------------- run


def test_run_writes_one_report_per_line_in_order(tmp_path):
    jobs = _write_lines(
        tmp_path / "jobs.jsonl",
        [
            {"id": "ok", "program": ADD, "tests": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"]},
            {"id": 7, "program": "def add(a, b):\n    return a - b\n", "tests": ["assert add(1, 2) == 3"]},
            {"program": "def f():\n    raise ValueError('no')\n", "tests": ["assert f() == 1"]},
        ],
    )
    out = tmp_path / "reports.jsonl"
    proc = _cli("run", str(jobs), "-o", str(out), "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    records = _read(out)
    assert [r["line"] for r in records] == [1, 2, 3]
    assert [r.get("id") for r in records] == ["ok", 7, None]
    assert "id" not in records[2]
    assert [_statuses(r) for r in records] == [["passed", "passed"], ["failed"], ["error"]]
    assert records[0]["pass_rate"] == 1.0 and records[0]["job_id"] == "ok"
    # The summary goes to stderr, never into the reports.
    summary = proc.stderr.strip().splitlines()[-1]
    assert summary.startswith(
        "acecoder run: 3 jobs (1 all passed), 0 invalid lines, 4 tests, 2 passed (50.0%); "
        "statuses: passed=2 failed=1 error=1; sandbox errors: 0 jobs; "
    ), summary
    assert summary.endswith(" s")


def test_run_in_process_to_stdout_keeps_order_with_slow_jobs_first(tmp_path, capsys):
    slow = "import time\ndef f():\n    time.sleep(0.5)\n    return 1\n"
    fast = "def f():\n    return 1\n"
    lines = [{"id": i, "program": slow if i < 2 else fast, "tests": ["assert f() == 1"]} for i in range(8)]
    jobs = _write_lines(tmp_path / "jobs.jsonl", lines)
    assert main(["run", str(jobs), "--workers", "4"]) == 0
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["id"] for r in records] == list(range(8))
    assert [r["line"] for r in records] == list(range(1, 9))
    assert all(_statuses(r) == ["passed"] for r in records)
    assert "8 jobs" in captured.err


def test_run_reads_stdin_and_skips_blank_lines():
    text = json.dumps({"program": ADD, "tests": ["assert add(1, 1) == 2"]}) + "\n\n   \n"
    text += json.dumps({"program": ADD, "tests": ["assert add(1, 1) == 3"]}) + "\n"
    proc = _cli("run", "-", stdin=text)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["line"], _statuses(r)) for r in records] == [(1, ["passed"]), (4, ["failed"])]


def test_invalid_lines_become_error_lines_and_the_rest_still_run(tmp_path):
    good = {"program": ADD, "tests": ["assert add(2, 2) == 4"]}
    jobs = _write_lines(
        tmp_path / "jobs.jsonl",
        [
            good,  # 1
            '{"program": "x = 1", "tests": [',  # 2: malformed JSON
            {"id": "no-tests", "program": ADD},  # 3: missing field
            {"program": 42, "tests": ["assert True"]},  # 4: wrong type
            {"program": ADD, "tests": "assert add(1, 1) == 2"},  # 5: wrong type
            "[1, 2, 3]",  # 6: not an object
            {"program": ADD, "tests": [{"kind": "nope"}]},  # 7: unknown test kind
            {"program": ADD, "tests": ["assert True"], "stop_on_failure": "yes"},  # 8: wrong type
            {"program": ADD, "tests": ["assert True"], "mode": "parallel"},  # 9: bad value
            good,  # 10
        ],
    )
    out = tmp_path / "reports.jsonl"
    proc = _cli("run", str(jobs), "-o", str(out))
    assert proc.returncode == 2, proc.stderr
    records = _read(out)
    assert [r["line"] for r in records] == list(range(1, 11))
    errors = {r["line"]: r["error"] for r in records if "error" in r}
    assert sorted(errors) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert errors[2].startswith("line 2: invalid JSON")
    assert errors[3] == "line 3: missing field 'tests'"
    assert errors[4].startswith("line 4: ") and "program" in errors[4]
    assert errors[5].startswith("line 5: ") and "tests" in errors[5]
    assert errors[6].startswith("line 6: ") and "object" in errors[6]
    assert errors[7].startswith("line 7: ") and "kind" in errors[7]
    assert errors[8].startswith("line 8: ") and "stop_on_failure" in errors[8]
    assert errors[9].startswith("line 9: ") and "mode" in errors[9]
    assert records[2]["id"] == "no-tests"
    assert _statuses(records[0]) == _statuses(records[9]) == ["passed"]
    for message in errors.values():
        assert message in proc.stderr
    assert "8 invalid lines" in proc.stderr


def test_invalid_utf8_is_an_error_line(tmp_path):
    path = tmp_path / "jobs.jsonl"
    path.write_bytes(b'\xff{"program": 1}\n' + json.dumps({"program": ADD, "tests": ["assert add(0, 1) == 1"]}).encode() + b"\n")
    out = tmp_path / "out.jsonl"
    assert main(["run", str(path), "-o", str(out)]) == 2
    records = _read(out)
    assert records[0] == {"line": 1, "error": "line 1: not valid UTF-8"}
    assert _statuses(records[1]) == ["passed"]


def test_options_and_per_line_overrides(tmp_path):
    loop = "def f():\n    while True:\n        pass\n"
    jobs = _write_lines(
        tmp_path / "jobs.jsonl",
        [
            {"id": "loop", "program": loop, "tests": ["assert f() == 1"]},
            {"id": "stop", "program": ADD, "tests": ["assert add(1, 1) == 3", "assert add(1, 1) == 2"]},
            {"id": "go-on", "program": ADD, "tests": ["assert add(1, 1) == 3", "assert add(1, 1) == 2"],
             "stop_on_failure": False},
            {"id": "shared", "program": "seen = []\n", "tests": ["seen.append(1)", "assert seen == [1]"],
             "mode": "shared"},
        ],
    )
    out = tmp_path / "out.jsonl"
    assert main(["run", str(jobs), "-o", str(out), "--timeout-s", "0.5", "--stop-on-failure", "--workers", "2"]) == 0
    by_id = {r["id"]: r for r in _read(out)}
    assert _statuses(by_id["loop"]) == ["timeout"]
    assert _statuses(by_id["stop"]) == ["failed", "skipped"]
    assert _statuses(by_id["go-on"]) == ["failed", "passed"]
    assert _statuses(by_id["shared"]) == ["passed", "passed"] and by_id["shared"]["mode"] == "shared"


def test_unusable_backend_exits_1(tmp_path):
    jobs = _write_lines(tmp_path / "jobs.jsonl", [{"program": ADD, "tests": ["assert add(1, 1) == 2"]}])
    proc = _cli("run", str(jobs), "--sandbox", "no-such-backend")
    assert proc.returncode == 1
    assert "no-such-backend" in proc.stderr


def test_bad_limits_and_usage_errors_exit_2(tmp_path, capsys):
    jobs = _write_lines(tmp_path / "jobs.jsonl", [{"program": ADD, "tests": []}])
    assert main(["run", str(jobs), "--memory-mb", "8"]) == 2
    assert "acecoder run: error: SandboxConfig.memory_mb must be at least 64" in capsys.readouterr().err
    assert main(["run", str(jobs), "--workers", "0"]) == 2
    assert "acecoder run: error: SandboxConfig.workers must be a positive integer, got 0" in capsys.readouterr().err
    assert main(["run", str(jobs), "--timeout-s", "0"]) == 2
    assert "acecoder run: error: Limits.timeout_s must be a positive number, got 0.0" in capsys.readouterr().err
    for argv in (["run"], ["run", str(jobs), "--example"], ["run", str(jobs), "--workers", "two"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2


def test_missing_input_file_exits_1(tmp_path, capsys):
    assert main(["run", str(tmp_path / "absent.jsonl")]) == 1
    assert "absent.jsonl" in capsys.readouterr().err


# ------------------------------------------------------------------- example


def test_bundled_example_is_all_valid():
    from importlib import resources

    from acesandbox.cli.run import _Defaults, job_from_line

    defaults = _Defaults(limits={}, mode="isolated", compare="strict", stop_on_failure=False)
    lines = (resources.files("acesandbox") / "examples" / EXAMPLE).read_bytes().splitlines()
    assert 10 <= len(lines) <= 15
    kinds = set()
    for raw in lines:
        _, job = job_from_line(raw, defaults)
        kinds.update(t.kind for t in job.tests)
    assert kinds == {"assert", "io", "call", "unittest"}


def test_run_example_scores_correct_programs_and_rejects_reward_hacks(tmp_path):
    out = tmp_path / "reports.jsonl"
    proc = _cli("run", "--example", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    records = _read(out)
    assert len(records) == 12 and not any("error" in r for r in records)
    by_id = {r["id"]: r for r in records}
    for ok in ("add-correct", "fib-correct", "call-two-sum", "unittest-stack"):
        assert by_id[ok]["pass_rate"] == 1.0, by_id[ok]
    for hack in ("hack-exit-0", "hack-always-equal"):
        assert by_id[hack]["passed"] == 0, by_id[hack]
        assert "passed" not in _statuses(by_id[hack])
    assert "failed" in _statuses(by_id["max-wrong"])
    assert "error" in _statuses(by_id["raises"])
    assert _statuses(by_id["infinite-loop"]) == ["timeout"]
    assert _statuses(by_id["memory-hog"]) != ["passed"]
    assert _statuses(by_id["io-sum"]) == ["passed", "passed", "failed"]
    assert _statuses(by_id["shared-counter"]) == ["passed", "passed", "failed", "skipped"]
    assert not any(r["passed"] == r["total"] for r in records if r["id"].startswith("hack-"))


# -------------------------------------------------------------------- doctor

CHECKS = [
    "python", "platform", "bubblewrap", "namespaces", "seccomp", "nested namespaces", "cgroups", "backend", "docker",
    "smoke job", "sandbox view",
]


def test_doctor_json_has_every_check_and_the_smoke_job_passes():
    proc = _cli("doctor", "--json")
    data = json.loads(proc.stdout)
    assert [c["name"] for c in data["checks"]] == CHECKS
    for check in data["checks"]:
        assert check["status"] in ("OK", "WARN", "FAIL")
        assert isinstance(check["detail"], str) and check["detail"]
        assert (check["fix"] is None) == (check["status"] == "OK")
        assert isinstance(check["info"], dict)
    by_name = {c["name"]: c for c in data["checks"]}
    # Any Linux host can run at least the process backend.
    assert data["ok"] is True and proc.returncode == 0, proc.stdout
    assert data["backend"] in ("namespace", "process")
    assert by_name["smoke job"]["info"]["passed"] is True
    assert by_name["smoke job"]["info"]["isolation"].startswith(data["backend"])
    # The backend None picks follows from the namespace probe.
    expected = "namespace" if by_name["namespaces"]["info"]["works"] else "process"
    assert data["backend"] == expected


def test_doctor_text_in_process(capsys):
    import re

    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    # One line per check, "STATUS  name  detail" (fixes are indented below it), then a verdict.
    lines = [line for line in out.splitlines() if line and not line.startswith(" ")]
    rows = [re.split(r"\s{2,}", line, maxsplit=2) for line in lines[: len(CHECKS)]]
    assert [name for _, name, _ in rows] == CHECKS
    assert all(status in ("OK", "WARN", "FAIL") for status, _, _ in rows)
    detail = {name: text for _, name, text in rows}
    picked = re.fullmatch(r"backend=None picks '(namespace|process)' \(isolation: (\w+)\)", detail["backend"])
    assert picked and picked.group(1) == picked.group(2), detail["backend"]
    name = picked.group(1)
    assert re.fullmatch(rf"`assert f\(\) == 1` passed on '{name}' in [0-9.]+ s \(isolation: {name}(\+cgroup)?\)", detail["smoke job"])
    if name == "namespace":
        assert detail["namespaces"] == "bubblewrap creates user, pid, net, mount, ipc, uts and cgroup namespaces"
    assert detail["python"].startswith(f"{sys.implementation.name.replace('cpython', 'CPython')} {sys.version.split()[0]} at ")
    assert lines[len(CHECKS)] == "the backend works."


def test_doctor_fails_for_an_unknown_backend(capsys):
    assert main(["doctor", "--sandbox", "no-such-backend", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    by_name = {c["name"]: c for c in data["checks"]}
    assert data["ok"] is False
    assert by_name["backend"]["status"] == "FAIL" and by_name["smoke job"]["status"] == "FAIL"
