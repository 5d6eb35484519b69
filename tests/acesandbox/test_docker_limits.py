"""The docker backend's containers get what a namespace sandbox gets: limits, and verdicts.

On cgroup v1 a memory cgroup charges socket buffers only once it has a TCP limit; Docker's
own KernelMemoryTCP never reaches the cgroup (runc >= 1.0 ignores it), so a program held
~776 MiB of unread TCP buffers on its own loopback outside a 320 MiB container. Docker
makes a tmpfs noexec unless told: a correct program that wrote a script to its scratch and
ran it erred on docker and passed on namespace.
"""

from __future__ import annotations

import os
import textwrap

import pytest
from _backends import docker_client
from _support import require_backend

from acesandbox import Executor, Job, SandboxConfig, Status

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    with docker_client() as c:
        yield c


def test_v1_container_gives_tcp_buffers_the_memory_limit(client):
    from acesandbox.backends.docker import _v1_memory_dir

    with Executor(SandboxConfig(backend="docker", workers=1, memory_mb=200)) as ex:
        report = ex.run(Job(program="x = 1", tests=["assert x == 1"]))
        assert report.statuses == (Status.PASSED,)
        info = client.api.inspect_container(ex._sessions[0].container_id)
        d = _v1_memory_dir(int(info["State"]["Pid"]), info["Id"])
        if d is None:
            pytest.skip("no v1 memory cgroup here (cgroup v2 charges socket buffers to memory.max already)")
        path = os.path.join(d, "memory.kmem.tcp.limit_in_bytes")
        if not os.path.exists(path):
            pytest.skip("this kernel's v1 memory controller has no TCP limit")
        with open(path) as f:
            assert int(f.read()) == info["HostConfig"]["Memory"] == (200 + 64) << 20


SCRIPT_PROGRAM = textwrap.dedent(
    """
    import os, subprocess, tempfile

    def run_script():
        path = os.path.join(tempfile.mkdtemp(), "hello.sh")
        with open(path, "w") as f:
            f.write("#!/bin/sh\\necho hello\\n")
        os.chmod(path, 0o755)
        return subprocess.run([path], capture_output=True, text=True).stdout
    """
)


@pytest.mark.parametrize("backend", ["namespace", "docker"])
def test_a_script_written_to_the_scratch_runs_on_every_backend(backend, request):
    if backend == "docker":
        request.getfixturevalue("client")  # an engine and a current image, or skip
    else:
        require_backend(backend)
    with Executor(SandboxConfig(backend=backend, workers=1)) as ex:
        report = ex.run(Job(program=SCRIPT_PROGRAM, tests=["assert run_script() == 'hello\\n'"]))
    assert report.statuses == (Status.PASSED,), report.outcomes[0].message[-300:]


def test_image_volumes_are_covered_read_only():
    """What an image declares a VOLUME would be a writable, uncapped volume on the host's disk."""
    from acesandbox._harden.container import container_spec

    _, host = container_spec(
        image="x", command=["x"], labels={}, memory_mb=64, max_processes=8, cpus=1.0, scratch_mb=16,
        image_volumes=["/data/", "/tmp", "/run/acesandbox"],
    )
    assert host["tmpfs"]["/data"].startswith("ro,")
    assert host["tmpfs"]["/tmp"].startswith("rw,")  # the scratch stays the scratch
    assert "/run/acesandbox" not in host["tmpfs"]  # the protocol socket's mount point


def test_an_image_volume_holds_nothing_for_later_jobs(client):
    import io

    from acesandbox.backends.docker import DockerBackend, DockerConfig

    base = DockerBackend(SandboxConfig(backend="docker"))
    dockerfile = (
        "FROM acesandbox:latest\nUSER 0:0\n"
        f'RUN ["{base.python()}", "-c", "import os; os.mkdir(\'/data\'); os.chmod(\'/data\', 0o1777)"]\n'
        "VOLUME /data\nUSER 65534:65534\n"
    )
    tag = "acesandbox-test-volume:latest"
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
    try:
        program = "import os\ndef put():\n    open('/data/left', 'w').write('x')\n    return True\n"
        backend = DockerBackend(SandboxConfig(workers=1), DockerConfig(image=tag))
        with Executor(backend) as ex:
            first = ex.run(Job(program=program, tests=["assert put()"]))
            later = ex.run(Job(program="import os\n", tests=["assert os.listdir('/data') == []"]))
            mounts = client.api.inspect_container(ex._sessions[0].container_id)["Mounts"]
        assert first.statuses == (Status.ERROR,), first.outcomes[0].message[-300:]  # read-only
        assert later.statuses == (Status.PASSED,), later.outcomes[0].message[-300:]
        assert [m for m in mounts if m["Type"] == "volume"] == []
    finally:
        client.images.remove(tag, force=True)
