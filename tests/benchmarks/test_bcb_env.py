"""The pinned BigCodeBench venv's NLTK data: the recipe's plan, a local folder, the manifest, the
scorer's NLTK_DATA and the explanations verify-official gives with and without the data."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import sys

import pytest

from benchmarks import bcb_env
from benchmarks.bcb_env import (
    MANIFEST,
    NLTK_DATA_ENV,
    NLTK_DIR,
    NLTK_PACKAGES,
    install_nltk_data,
    nltk_data,
    nltk_download_argv,
    nltk_plan,
    read_manifest,
)
from benchmarks.bigcodebench.data import problems_from_records
from benchmarks.bigcodebench.environment import (
    default_env_dir,
    pinned_versions,
    resolve_environment,
)
from benchmarks.bigcodebench.known import (
    KNOWN_DIFFERENCES,
    NLTK_ABSENT,
    NLTK_TASKS,
    known_differences,
)
from benchmarks.bigcodebench.programs import with_prelude
from benchmarks.bigcodebench.scorer import BigCodeBench
from benchmarks.errors import BenchmarkError
from benchmarks.verdicts import FAIL, PASS

DATA_FILE = "bigcodebench/BigCodeBench-v0.1.0_hf.jsonl.gz"


def _venv(root, versions=None):
    """A real venv (no pip) whose site-packages claims these library versions (metadata only)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    (site,) = root.glob("lib/python*/site-packages")
    for name, version in (versions or {}).items():
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return root


def _corpus(root, packages=("stopwords",)):
    """A tiny folder in nltk_data layout: the stopwords list 'alpha beta', and empty stand-ins."""
    for package in packages:
        resource = root / NLTK_PACKAGES[package]
        if package == "stopwords":
            resource.mkdir(parents=True)
            (resource / "english").write_text("alpha\nbeta\n")
        elif resource.suffix == ".zip":
            resource.parent.mkdir(parents=True, exist_ok=True)
            resource.write_bytes(b"")
        else:
            resource.mkdir(parents=True)
    return root


def test_the_packages_are_every_nltk_download_of_the_dataset(shared_data):
    wanted = set()
    with gzip.open(shared_data / DATA_FILE, "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            text = record["complete_prompt"] + record["canonical_solution"] + record["test"]
            wanted.update(re.findall(r"nltk\.download\(['\"](\w+)['\"]\)", text))
    assert wanted == set(NLTK_PACKAGES)


def test_the_plan_downloads_with_the_venvs_own_nltk_into_the_venv(tmp_path):
    plan = nltk_plan(tmp_path / "env")
    assert plan.target == tmp_path / "env" / NLTK_DIR and plan.source is None
    assert plan.packages == ("averaged_perceptron_tagger", "punkt", "stopwords", "vader_lexicon", "words")
    argv = nltk_download_argv(tmp_path / "env" / "bin" / "python", plan)
    assert argv[:2] == [str(tmp_path / "env" / "bin" / "python"), "-c"]
    assert argv[3:] == [str(plan.target), *plan.packages]
    assert "nltk.download(package, download_dir=sys.argv[1], quiet=True, raise_on_error=True)" in argv[2]
    compile(argv[2], "<nltk download>", "exec")
    assert "fetched with nltk's downloader" in plan.describe()


def test_a_local_folder_must_exist_and_is_not_the_target(tmp_path):
    assert nltk_plan(tmp_path / "env", _corpus(tmp_path / "local")).source == tmp_path / "local"
    with pytest.raises(BenchmarkError, match=r"--nltk-data .*nowhere: no such folder .*corpora/stopwords"):
        nltk_plan(tmp_path / "env", tmp_path / "nowhere")
    (tmp_path / "env" / NLTK_DIR).mkdir(parents=True)
    with pytest.raises(BenchmarkError, match="the venv's own NLTK folder"):
        nltk_plan(tmp_path / "env", tmp_path / "env" / NLTK_DIR)


def test_the_data_check_looks_where_nltk_looks(tmp_path):
    _corpus(tmp_path, ("punkt", "vader_lexicon"))
    (tmp_path / "corpora").mkdir()
    (tmp_path / "corpora" / "words.zip").write_bytes(b"")  # the downloader's zipped layout
    got = nltk_data(tmp_path)
    assert got.found == ("punkt", "vader_lexicon", "words")
    assert got.missing == ("averaged_perceptron_tagger", "stopwords") and not got.present
    assert nltk_data(_corpus(tmp_path / "all", tuple(NLTK_PACKAGES))).present


def test_an_offline_download_records_why_and_names_the_option(tmp_path):
    """The downloader (a consumer-side stand-in here) reports nltk's offline error for each package."""
    calls = []

    def offline(argv, **kwargs):
        calls.append(argv)
        errors = {p: "ValueError: Error loading x: <urlopen error [Errno -2] Name or service not known>"
                  for p in argv[4:]}
        return subprocess.CompletedProcess(argv, 0, json.dumps(errors) + "\n", "")

    plan = nltk_plan(tmp_path / "env")
    got = install_nltk_data("/venv/bin/python", plan, run=offline)
    assert calls == [nltk_download_argv("/venv/bin/python", plan)]
    assert not got.present and got.missing == tuple(NLTK_PACKAGES) and got.source == "downloader"
    assert "Name or service not known" in got.error
    assert f"pass --nltk-data DIR or set {NLTK_DATA_ENV}=DIR" in got.error
    assert not plan.target.exists()  # nothing fetched, no empty folder for the scorer to point at

    def online(argv, **kwargs):
        _corpus(plan.target.parent / "fetched", tuple(NLTK_PACKAGES))
        shutil.copytree(plan.target.parent / "fetched", argv[3], dirs_exist_ok=True)
        return subprocess.CompletedProcess(argv, 0, "{}\n", "")

    got = install_nltk_data("/venv/bin/python", plan, run=online)
    assert got.present and got.error == "" and got.found == tuple(NLTK_PACKAGES)


def test_a_local_folder_is_copied_into_the_venv_and_recorded_in_its_manifest(tmp_path, capsys, monkeypatch):
    env = _venv(tmp_path / "env")
    partial = _corpus(tmp_path / "partial")
    assert bcb_env.main([str(env), "--nltk-only", "--nltk-data", str(partial)]) == 3
    assert "error: NLTK corpora not fetched" in capsys.readouterr().out
    assert (env / NLTK_DIR / "corpora" / "stopwords" / "english").read_text() == "alpha\nbeta\n"
    recorded = read_manifest(env)["nltk_data"]
    assert recorded["present"] is False and recorded["found"] == ["stopwords"]
    assert recorded["source"] == f"local {partial}" and "--nltk-data DIR" in recorded["error"]
    monkeypatch.setenv(NLTK_DATA_ENV, str(_corpus(tmp_path / "full", tuple(NLTK_PACKAGES))))
    assert bcb_env.main([str(env), "--nltk-only"]) == 0  # the variable is --nltk-data's default
    assert read_manifest(env)["nltk_data"]["present"] is True
    assert json.loads((env / MANIFEST).read_text())["written"].startswith("20")
    assert bcb_env.main([str(tmp_path / "no-venv"), "--nltk-only"]) == 1
    assert "no venv at" in capsys.readouterr().out


def test_the_environment_label_says_whether_the_corpora_are_there(tmp_path):
    env = _venv(tmp_path / "env", pinned_versions())
    without = resolve_environment(str(env))
    assert without.nltk is not None and not without.nltk.present
    assert "NLTK corpora not present in this environment" in without.label
    assert "--nltk-only" in without.nltk.error  # a venv the recipe wrote no manifest for
    _corpus(env / NLTK_DIR, tuple(NLTK_PACKAGES))
    with_data = resolve_environment(str(env))
    assert with_data.nltk.present and "NLTK corpora present" in with_data.label
    assert resolve_environment("host").nltk is None


def test_the_nltk_tasks_are_explained_by_the_machine_only_without_the_data():
    absent = known_differences("pinned", nltk_corpora=False)
    assert len(NLTK_TASKS) == 9 and all(absent[t] == NLTK_ABSENT for t in NLTK_TASKS)
    assert "the recipe fetches them when online / pass --nltk-data DIR" in NLTK_ABSENT
    present = known_differences("pinned", nltk_corpora=True)
    assert not set(NLTK_TASKS) & set(present)
    assert set(absent) - set(present) == set(NLTK_TASKS)
    assert known_differences("host", nltk_corpora=True) == KNOWN_DIFFERENCES  # the host table is as measured


def test_programs_get_the_venvs_nltk_data_first(tmp_path):
    program = "from __future__ import annotations\nimport nltk\n"
    text = with_prelude(program, nltk_data="/venv/nltk_data")
    lines = text.splitlines()
    assert lines[0] == "from __future__ import annotations"
    assert lines[1].startswith("__import__('os').environ['NLTK_DATA'] = '/venv/nltk_data'; import os, sys;")
    assert with_prelude(program) == with_prelude(program, nltk_data=None)
    assert "NLTK_DATA" not in with_prelude(program)
    env = _venv(tmp_path / "env")
    python = str(env / "bin" / "python")
    assert BigCodeBench(python=python).nltk_data is None
    (env / NLTK_DIR).mkdir()
    assert BigCodeBench(python=python).nltk_data == str(env / NLTK_DIR)
    assert BigCodeBench(python=python, nltk_data="/elsewhere").nltk_data == "/elsewhere"
    assert BigCodeBench().nltk_data is None


_READS_STOPWORDS = (
    "import unittest\n"
    "class TestCases(unittest.TestCase):\n"
    "    def test_stopwords(self):\n"
    "        self.assertEqual(task_func(), ['alpha', 'beta'])\n"
)


@pytest.mark.slow
def test_a_sandboxed_program_reads_a_local_corpus_through_the_pinned_config(tmp_path):
    """The pinned venv's nltk 3.8 in the namespace sandbox, as BigCodeBench runs it: fails with no NLTK
    data, passes once --nltk-data copied a folder into the venv. The real pinned venv is left as it
    is (a venv of its interpreter with its nltk copied in stands for it)."""
    from _support import require_backend

    from acesandbox import Executor

    pinned = default_env_dir()
    pinned_python = pinned / "bin" / "python"
    if not pinned_python.exists():
        pytest.skip(f"no pinned venv at {pinned} (python -m benchmarks.bcb_env builds it)")
    require_backend("namespace")
    env = tmp_path / "env"
    subprocess.run([str(pinned_python), "-m", "venv", "--without-pip", str(env)], check=True)
    (site,) = env.glob("lib/python*/site-packages")
    (pinned_site,) = pinned.glob("lib/python*/site-packages")
    for module in ("nltk", "regex", "click", "joblib", "tqdm"):
        shutil.copytree(pinned_site / module, site / module)
    record = {
        "task_id": "BigCodeBench/9002", "complete_prompt": "from nltk.corpus import stopwords\ndef task_func():\n",
        "instruct_prompt": "Return the English stopwords.", "code_prompt": "from nltk.corpus import stopwords\ndef task_func():\n",
        "canonical_solution": "    return stopwords.words('english')\n", "test": _READS_STOPWORDS,
        "entry_point": "task_func", "doc_struct": "{}", "libs": "['nltk']",
    }
    (problem,) = problems_from_records([record])
    python = str(env / "bin" / "python")

    def score() -> tuple[str, str]:
        bench = BigCodeBench(python=python, timeout_per_task_s=60)
        (job,) = bench.jobs(problem, problem.canonical_solution).values()
        with Executor(bench.sandbox_config(backend="namespace", workers=1)) as ex:
            (report,) = [r for _, r in ex.imap([job])]
        result = bench.verdicts(problem, {"pass": report})
        return result.verdicts["pass"], str(result.details)

    verdict, details = score()
    assert verdict == FAIL and "Resource" in details and "stopwords" in details  # nltk's LookupError
    assert bcb_env.main([str(env), "--nltk-only", "--nltk-data", str(_corpus(tmp_path / "local"))]) == 3
    verdict, details = score()
    assert verdict == PASS, details


def test_the_docker_recipe_fetches_every_nltk_package_the_venv_recipe_does():
    from acesandbox.images import recipes
    from benchmarks.bcb_env import NLTK_PACKAGES

    assert set(NLTK_PACKAGES) <= set(recipes.BIGCODEBENCH_NLTK_DATA)
