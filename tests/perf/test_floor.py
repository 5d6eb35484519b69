"""perf.floor: the floor runs a workload in both shapes, judges it as the yardstick does, and
ends a test that loops (speed is measured by the script, never asserted here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from perf import floor
from perf.sandbox import is_venv_interpreter

PLAIN = "/usr/bin/python3"
pytestmark = pytest.mark.skipif(not os.path.exists(PLAIN), reason=f"needs a plain interpreter at {PLAIN}")

JOBS = [
    {"program": "def f(x):\n    return x + 1\n", "tests": ["assert f(1) == 2", "assert f(2) == 3"], "expected": ["passed", "passed"]},
    {"program": "def f(x):\n    return x\n", "tests": ["assert f(1) == 2", "assert f(2) == 2"], "expected": ["failed", "passed"]},
    {"program": "def f(x):\n    raise ValueError\n", "tests": ["assert f(1) == 2"], "expected": ["error"]},
    {"program": "def f(:\n", "tests": ["assert f(1) == 2", "assert True"], "expected": ["error", "error"]},
    {"program": "import os\nprint('noise')\n", "tests": ["os._exit(0)", "assert True"], "expected": ["crashed", None]},
]


def _workload(tmp_path: Path, jobs: list[dict]) -> str:
    path = tmp_path / "w.jsonl"
    path.write_text("".join(json.dumps(j) + "\n" for j in jobs))
    return str(path)


@pytest.mark.parametrize("mode", ["job", "test"])
def test_the_floor_judges_each_test_as_the_yardstick_expects(tmp_path, mode):
    result = floor.run_floor(_workload(tmp_path, JOBS), mode=mode, workers=2, python=PLAIN)
    assert result["target"] == f"floor-{mode}"
    assert (result["jobs"], result["jobs_done"], result["tests"]) == (5, 5, 9)
    assert result["binary_mismatch_vs_expected"] == 0
    # f+1 twice, f(2) == 2, and after an os._exit: "assert True" in its own fork (test
    # mode) or nothing more in the job's dead child (job mode).
    assert result["passed"] == (4 if mode == "test" else 3)
    assert result["tests_per_s"] > 0 and result["machine_cpu_busy_s"] >= 0


def test_a_wrong_expectation_is_counted(tmp_path):
    jobs = [dict(JOBS[0], expected=["passed", "failed"])]
    assert floor.run_floor(_workload(tmp_path, jobs), mode="job", workers=1, python=PLAIN)["binary_mismatch_vs_expected"] == 1


@pytest.mark.parametrize("mode", ["job", "test"])
def test_a_looping_test_fails_at_its_limit(tmp_path, mode):
    jobs = [{"program": "x = 1\n", "tests": ["while True:\n    pass", "assert x == 1"], "expected": ["timeout", "passed"]}]
    result = floor.run_floor(_workload(tmp_path, jobs), mode=mode, workers=1, timeout_s=0.3, python=PLAIN)
    assert result["binary_mismatch_vs_expected"] == 0 and result["passed"] == 1


def test_a_virtual_environments_interpreter_is_refused(tmp_path):
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    with pytest.raises(ValueError, match="virtual environment"):
        floor.run_floor(_workload(tmp_path, JOBS), python=str(tmp_path / "venv" / "bin" / "python"))
    with pytest.raises(ValueError, match="mode"):
        floor.run_floor(_workload(tmp_path, JOBS), mode="shared", python=PLAIN)


def test_main_prints_one_line_per_shape(tmp_path, capsys):
    out = tmp_path / "floor.json"
    assert floor.main([_workload(tmp_path, JOBS), "--python", PLAIN, "--json", str(out)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["target"] for r in lines] == ["floor-job", "floor-test"]
    assert json.loads(out.read_text()) == lines


def test_the_floor_runs_on_the_sandboxs_interpreter_by_default(tmp_path):
    """The floor of a mode is measured on the build the sandbox runs programs with (this
    interpreter's base), not another one: Debian's static build ran the floor 15% faster."""
    python = floor.sandbox_python()
    assert os.path.realpath(python) == python and not is_venv_interpreter(python)
    assert subprocess.run([python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True).stdout.split()[0] == sys.version.split()[0]
    assert floor.run_floor(_workload(tmp_path, JOBS), mode="job", workers=1)["python"] == sys.version.split()[0]
