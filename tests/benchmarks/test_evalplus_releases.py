"""Reproduce a published EvalPlus run: ``--evalplus-release`` picks the rules that scored it."""

from __future__ import annotations

import json

import pytest
from _support import require_backend

from acesandbox.cli import main
from benchmarks.errors import BenchmarkError
from benchmarks.evalplus import OBSERVED_FLAGS, RELEASES, HumanEvalPlus, resolve_release, run_profile
from benchmarks.evalplus import verify as evalplus_verify

RUN = "evalplus_samples/llama3-exp/70B-instruct-base"  # evalplus of 2024-05-10


def test_a_release_is_named_by_version_date_or_result_file(shared_data):
    assert resolve_release(None) is RELEASES["latest"]
    assert resolve_release("v0.3.1").profile == "v0.3.1"
    assert resolve_release("0.2.0").profile == "2024-01-v0.2.0"
    assert resolve_release("2024-01-13").profile == "2024-01-v0.2.0"
    assert resolve_release("2024-01-29").profile == "2024-01-28d05f6"
    assert resolve_release("2024-02-20 16:09").profile == "2024-02"
    assert resolve_release("2024-12-01").profile == "latest"
    release = resolve_release(str(shared_data / RUN / "samples_eval_results.json"))
    assert release is RELEASES["2024-05"] and dict(release.judge_flags) == {"allclose": "never"}
    with pytest.raises(BenchmarkError, match=r"0\.1\.x.*no profile here"):
        resolve_release("0.1.x")


def test_every_release_is_what_verify_official_applies_to_its_runs():
    """One table: a run's profile (verify-official) and the release a user names give the same rules."""
    assert evalplus_verify.OBSERVED_FLAGS is OBSERVED_FLAGS
    for release in RELEASES.values():
        assert dict(release.judge_flags) == OBSERVED_FLAGS.get(release.profile, {})
    assert run_profile({"date": "2024-05-10 20:16", "format": "new"}) == RELEASES["2024-05"].profile


def test_the_rules_are_described_and_a_profile_excludes_a_release():
    bench = HumanEvalPlus(evalplus_release="2024-05")
    assert bench.profile == "2024-05" and bench.options["judge_flags"] == {"allclose": "never"}
    assert "no inexact float passes" in bench.scoring_rules() and "evalplus 2024-05" in bench.scoring_rules()
    assert "np.allclose with type and length checks" in HumanEvalPlus().scoring_rules()
    with pytest.raises(BenchmarkError, match="not both"):
        HumanEvalPlus(evalplus_release="0.3.1", profile="latest")


@pytest.mark.parametrize(("release", "plus"), [("2024-05", "fail"), (None, "pass")])
def test_rescoring_a_2024_result_file_as_a_user_gives_its_verdicts(release, plus, shared_data, tmp_path, capsys,
                                                                   monkeypatch):
    """HumanEval/4 and /21 of Llama-3-70B-Instruct: published base=pass plus=fail (the float rule of
    May 2024); today's rules pass them, and stay the default."""
    require_backend("namespace")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    published = json.loads((shared_data / RUN / "samples_eval_results.json").read_text())["eval"]
    samples = tmp_path / "samples.jsonl"
    with open(shared_data / RUN / "samples.jsonl") as f:
        samples.write_text("".join(line for line in f if json.loads(line)["task_id"] in ("HumanEval/4", "HumanEval/21")))
    argv = ["bench", "humaneval+", "--samples", str(samples), "--dataset",
            str(shared_data / "humanevalplus/HumanEvalPlus-v0.1.9.jsonl.gz"), "--limit", "22", "--no-canary",
            "--no-progress", "--json", "--workers", "2", "-o", str(tmp_path / "out")]
    if release:
        argv += ["--evalplus-release", str(shared_data / RUN / "samples_eval_results.json")]
    assert main(argv) == 0
    captured = capsys.readouterr()
    want_rules = f"evalplus {release or 'latest'} ("
    assert f"rules: {want_rules}" in captured.err
    assert json.loads(captured.out)["rules"].startswith(want_rules)
    ours = json.loads((tmp_path / "out" / "humanevalplus_eval_results.json").read_text())["eval"]
    for task in ("HumanEval/4", "HumanEval/21"):
        assert (ours[task][0]["base_status"], ours[task][0]["plus_status"]) == ("pass", plus), task
        if release:
            assert (published[task][0]["base_status"], published[task][0]["plus_status"]) == ("pass", "fail")
