"""Socket buffers count against a sandbox's memory cgroup (acesandbox/_harden/cgroups.py).

cgroup v2 charges them always; v1 only to a cgroup with a TCP limit, without which a program
held GiBs of TCP buffers on its own loopback outside its memory limit (up to the host-wide
net.ipv4.tcp_mem, past which every TCP socket of the host is under memory pressure)."""

from __future__ import annotations

import os

import pytest

from acesandbox._harden import cgroups


@pytest.fixture
def cg():
    if cgroups.cgroup_support() is not None:
        pytest.skip(cgroups.cgroup_support())
    group = cgroups.Cgroup(256, 16)
    try:
        yield group
    finally:
        group.remove()


def test_v1_gives_tcp_buffers_the_memory_limit(cg):
    if cg.version != "v1":
        pytest.skip("cgroup v2 charges socket buffers to memory.max without a setting")
    path = os.path.join(cg.dirs["memory"], "memory.kmem.tcp.limit_in_bytes")
    if not os.path.exists(path):
        pytest.skip("this kernel's v1 memory controller has no TCP limit")
    with open(path) as f:
        assert int(f.read()) == 256 << 20
    cg.set_memory(300)  # a job's own limit (Cgroup.apply) moves it too
    with open(path) as f:
        assert int(f.read()) == 300 << 20
