"""Every investigated difference between our BigCodeBench verdicts and the official ones, with its cause."""

from __future__ import annotations

__all__ = ["KNOWN_DIFFERENCES", "KNOWN_DIFFERENCES_BY_ENV", "KNOWN_DIFFERENCES_PINNED", "NLTK_ABSENT", "NLTK_TASKS",
           "known_differences"]

_NETWORK = "needs network: the official run reached the internet, the sandbox has none"
_PORT_STATE = (
    "the official host's state, not reproducible: the solution binds TCP port 12345 without SO_REUSEADDR, so "
    "on the official machine a TIME_WAIT left by earlier programs made the bind fail and every connection was "
    "refused, then the last test hung until the evaluator's alarm (fail). Here every job starts with the port "
    "free (a job that leaves TCP state retires its sandbox, 1539232) and the suite runs under the same alarm "
    "(84c1ac2): rescored alone on 2026-12-06 in the pinned venv, 11 of the 12 samples agree; the checkpoint-800 "
    "instruct one binds, serves, and hangs in tearDown past the alarm (timeout)"
)
_NLTK = "environment differs: NLTK corpora (stopwords, punkt, vader...) are not installed here; the official image has them"
NLTK_ABSENT = ("NLTK corpora not present in this environment (no network here; the recipe fetches them when online / "
               "pass --nltk-data DIR)")
"""Why the NLTK tasks differ in a pinned venv without the NLTK data: this machine's, not the toolkit's
(the official image's programs downloaded it at run time, online; ``python -m benchmarks.bcb_env``
fetches the same packages ahead of time when online, or copies them from ``--nltk-data DIR``)."""
NLTK_TASKS: tuple[str, ...] = tuple(f"BigCodeBench/{n}" for n in (334, 376, 656, 658, 734, 806, 808, 940, 1109))
"""The tasks whose official verdicts need NLTK data (stopwords, punkt, vader_lexicon,
averaged_perceptron_tagger) and differ without it."""
_PANDAS = "library version differs: pandas 3 (string dtype, removed applymap / 'M' offsets) vs the official pandas 2.0"
_NUMPY = "library version differs: numpy 2 / scipy >= 1.11 (stats.mode returns scalars, stricter casting) vs the official numpy 1.21 / scipy 1.7"
_MPL = "library version differs: matplotlib 3.11 vs the official 3.7 (renamed keywords, pie/boxplot behaviour)"
_SKLEARN = "library version differs: scikit-learn 1.9 (OneHotEncoder(sparse=) removed) vs the official 1.3"
_OFFICIAL_HANG = "official environment: the suite hung (its canonical solution of 363 failed there too); passes here"
_FLAKY = ("flaky on this host: failed once in the full run while other sandboxes shared the 2 cores, passes on rerun "
          "(before 0678004 the sandbox's scratch wipe ran under a shared job's first tests; 490 and 673 were seen "
          "failing so, FileNotFoundError for a file the suite had made)")
_FD_123 = (
    "official side, the evaluator process's state: task_func(123) checks os.path.exists(123), true only while "
    "file descriptor 123 is open. The official runs were scored by the evaluator service (the fork's "
    "myEvaluate.py calls bigcodebench.evaluate without --local_execute for n=1; the bigcodebench-evaluator "
    "Space forks its ProcessPoolExecutor workers from a long-running gradio server, and untrusted_check forks "
    "the test from them), so a test inherits whatever descriptors that server held. The two official full runs "
    "disagree on the same check: complete/full failed test_invalid_img_path_type with cv2's TypeError (fd 123 "
    "open), instruct/full passed it (FileNotFoundError: fd 123 closed). A sandboxed program starts with "
    "descriptors 0-2 only, as a fresh process, and agrees with instruct/full"
)
_LIBS = "library version differs between the official image and this host (same program, different result)"

_ANY_ENV: dict[str, str] = {
    "BigCodeBench/13": _NETWORK + " (wget from a public FTP server hung until the time limit; here it fails at once)",
    "BigCodeBench/1040": _PORT_STATE,
    "BigCodeBench/205": _OFFICIAL_HANG, "BigCodeBench/363": _OFFICIAL_HANG,
    "BigCodeBench/404": _FD_123,
}
"""Differences that no library pin removes (network, sandbox, the official side)."""

KNOWN_DIFFERENCES: dict[str, str] = {
    **_ANY_ENV,
    **{task_id: _NLTK for task_id in NLTK_TASKS},
    "BigCodeBench/100": _PANDAS + " (plotting a frame with a descending DatetimeIndex: the line's y data order)",
    **{f"BigCodeBench/{n}": _PANDAS for n in (112, 225, 435, 468, 877, 879, 944, 984, 1023, 133)},
    **{f"BigCodeBench/{n}": _NUMPY for n in (115, 221, 245, 269, 311, 687, 736, 276, 416, 511, 555, 699)},
    **{f"BigCodeBench/{n}": _MPL for n in (251, 1026, 337)},
    "BigCodeBench/686": _SKLEARN,
    **{f"BigCodeBench/{n}": _LIBS for n in (237, 421, 501, 519, 609, 634, 676, 720, 875, 927, 1000)},
    **{f"BigCodeBench/{n}": _FLAKY for n in (57, 60, 68, 490, 499, 672, 673, 776, 926, 1050, 19)},
    "BigCodeBench/30": "not root-caused: the Qwen sample raises TypeError in isinstance() on this host's "
    "Python 3.11 stack (all 3 tests), where the official image (Python 3.10, older libraries) passed it",
}
"""Task id -> why our verdict may differ from the official one, scored with the host's
libraries (the full verification with pandas 3.1, numpy 2.4, matplotlib 3.11, sklearn 1.9)."""

_SCIPY_311 = ("library version differs from the official pin: scipy 1.7.2 has no Python 3.11 wheel, bcb_env "
              "installs 1.9.3, where {}")
_RANDOM = "randomness: the solution draws from the unseeded random module and the test passes {} of the time"

KNOWN_DIFFERENCES_PINNED: dict[str, str] = {
    **_ANY_ENV,
    **{task_id: NLTK_ABSENT for task_id in NLTK_TASKS},
    "BigCodeBench/102": (
        "timing: a slow suite (87 s for the canonical solution on an idle host) ran past the 241 s limit "
        "while the 2 cores were shared; its canonical solution timed out too in that run"
    ),
    "BigCodeBench/276": _SCIPY_311.format("stats.skew / kurtosis of constant rows are nan (test_case_4, 5 want a number)"),
    "BigCodeBench/555": _SCIPY_311.format("stats.linregress raises ValueError for identical x values (test_case_2)"),
    "BigCodeBench/609": _RANDOM.format("with 5 of 10 column pairs drawn distinct: about 30 %"),
    "BigCodeBench/720": _RANDOM.format("when humidity = uniform(30, 60) lands in [50, 60]: a third"),
    "BigCodeBench/421": _NETWORK + " (the solution calls requests.get on https://www.example.com, unmocked)",
}
"""Task id -> why our verdict may differ from the official one, scored in the venv with the
official pins (:mod:`benchmarks.bcb_env`, ``--bcb-env``). Full verification on 2026-12-06
(2-core machine shared with other work, ``acecoder bench verify-official --only bigcodebench
--python .../pinned-venv/bin/python``): 3634/3668 agreed, all 34 differences explained here,
none load-sensitive (before: 3625/3668). Of the 13 tasks that differed before, rescored on
2026-12-06 (every sample): 19, 847, 882, 926 and 1106 agree; 67 agrees since scratch folders list in
creation order (:data:`~benchmarks.bigcodebench.programs.LISTING_ORDER`); 587 agrees since
the sandbox starts a shared job's tests after emptying the scratch (0678004: before, the
wipe ran under the suite, and under load a file it made first vanished: 4 of 6 officially
passing samples of 587 failed so in one run, all 11 samples agreed with the fix, and the
same FileNotFoundErrors hit 490, 665, 673, 721, 7, 14, 118, 123, 266 and 585 in runs of
the 414 folder-listing samples); 404 is the official evaluator's own state (its two full
runs disagree on the same check); 276 and 555 are the Python 3.11 scipy substitute, 609
and 720 unseeded randomness, 421 network. Rescored after that run (2026-12-06, every official
sample, pinned venv): 1101's two samples agree since 'python' on the sandbox's PATH is the
sandboxed interpreter (9654c6c): 3636/3668 with 32 differences expected (not a full
rerun); 274 (6 samples) and 1038 (2) agree and are no longer listed (their 'no /etc/hosts'
entry predated the sandbox's localhost-only hosts file, 2f65587); 1040 depends on the state
of a TCP port left by earlier programs (:data:`_PORT_STATE`): its one differing sample
agreed when rescored."""

KNOWN_DIFFERENCES_BY_ENV: dict[str, dict[str, str]] = {"host": KNOWN_DIFFERENCES, "pinned": KNOWN_DIFFERENCES_PINNED}
"""The table :func:`verify_runs` explains with: ``"host"`` when the sandbox runs this
interpreter, ``"pinned"`` when it runs another one (the official pins)."""


def known_differences(env: str, *, nltk_corpora: bool = False) -> dict[str, str]:
    """The table for ``env`` (``"host"`` or ``"pinned"``). In a pinned venv that holds the NLTK
    data (``nltk_corpora``) the NLTK tasks are expected to agree, so they are not explained."""
    table = dict(KNOWN_DIFFERENCES_BY_ENV[env])
    if env == "pinned" and nltk_corpora:
        for task_id in NLTK_TASKS:
            table.pop(task_id, None)
    return table
