"""The host's count of a sandbox's OOM kills: what tells ``memory`` from ``crashed``."""

from __future__ import annotations

import pytest
from _support import require_backend

from acesandbox import Executor, Job, Limits, SandboxConfig, Status
from acesandbox._harden import cgroups
from acesandbox.backends._server import OomCounter

_HOG = "def hog(mb):\n    block = bytearray(mb << 20)\n    return len(block) > 0\n"
_SELF_KILL = "import os, signal\ndef die():\n    os.kill(os.getpid(), signal.SIGKILL)\n"


def test_the_counter_reads_what_the_cgroup_reports_until_closed():
    if cgroups.cgroup_support() is not None:
        pytest.skip(cgroups.cgroup_support())
    cg = cgroups.Cgroup(256, 16)
    counter = OomCounter(cg)
    try:
        assert counter.path.startswith(cg.dirs["memory" if cg.version == "v1" else "unified"])
        assert counter() == cg.oom_kills() == 0
        assert counter() == 0  # read again through the same descriptor
        assert counter._fd >= 0
    finally:
        counter.close()
        cg.remove()
    assert counter._fd == -1
    assert counter() == 0  # the cgroup is gone: unreadable counts as none, as Cgroup.oom_kills does
    counter.close()


@pytest.mark.parametrize("backend", ["namespace", "process"])
def test_an_oom_kill_is_memory_and_a_later_jobs_sigkill_is_not(backend):
    require_backend(backend)
    if cgroups.cgroup_support() is not None:
        pytest.skip(cgroups.cgroup_support())
    limits = Limits(timeout_s=5.0)
    with Executor(SandboxConfig(backend=backend, workers=1, memory_mb=200)) as ex:
        first = ex.run(Job(_HOG, ["assert hog(16)", "assert hog(400)"], limits=limits))
        # The kill above was counted in the job that caused it: a program that SIGKILLs
        # itself later is a crash, not a memory error.
        second = ex.run(Job(_SELF_KILL, ["die()", "assert True"], limits=limits, mode="shared"))
        third = ex.run(Job(_HOG, ["assert hog(400)"], limits=limits))
    assert first.statuses == (Status.PASSED, Status.MEMORY)
    assert second.statuses[0] is Status.CRASHED
    assert third.statuses == (Status.MEMORY,)


_OOM_SCORES = (
    "import os, time\n"
    "def scores():\n"
    "    def read(pid):\n"
    "        with open(f'/proc/{pid}/oom_score_adj') as f:\n"
    "            return int(f.read())\n"
    "    for _ in range(200):  # J lowers its own score right after the fork returns\n"
    "        if read(os.getppid()) == 500:\n"
    "            break\n"
    "        time.sleep(0.005)\n"
    "    return read('self'), read(os.getppid())\n"
)


@pytest.mark.parametrize("backend", ["namespace", "process"])
def test_the_oom_killer_takes_a_test_process_before_the_job_process(backend):
    # Isolated mode: each T_k at 1000, its J back at 500 once T_k is forked (J raises its
    # own score around each fork); shared mode: J runs the tests at 500.
    require_backend(backend)
    tests = ["assert scores() == (1000, 500)"] * 3
    with Executor(SandboxConfig(backend=backend, workers=1)) as ex:
        isolated = ex.run(Job(program=_OOM_SCORES, tests=tests, limits=Limits(timeout_s=5.0)))
        shared = ex.run(Job(program=_OOM_SCORES, tests=["assert scores()[0] == 500"], mode="shared", limits=Limits(timeout_s=5.0)))
    assert isolated.statuses == (Status.PASSED,) * 3, isolated.outcomes
    assert shared.statuses == (Status.PASSED,), shared.outcomes


_SERVER_SCORES = (
    "def scores():\n"
    "    def read(pid):\n"
    "        with open(f'/proc/{pid}/oom_score_adj') as f:\n"
    "            return int(f.read())\n"
    "    return read('self'), read(1)\n"
)


@pytest.mark.parametrize("backend", ["namespace", "docker"])
def test_the_oom_killer_takes_the_program_before_the_server(backend):
    """The template's 500 (inherited by every J) holds where the sandbox's uid does not own a
    non-dumpable process's /proc files (Docker): the server, pid 1, stays at 0."""
    require_backend(backend)
    with Executor(SandboxConfig(backend=backend, workers=1)) as ex:
        report = ex.run(Job(_SERVER_SCORES, ["s = scores()\nassert s[0] >= 500 and s[1] == 0, s"], mode="shared", limits=Limits(timeout_s=5.0)))
    assert report.statuses == (Status.PASSED,), report.outcomes
