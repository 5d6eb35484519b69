"""The namespace backend's seccomp filter (acesandbox/_harden/seccomp.py), tested for real.

One test per denied family: a program in the sandbox makes the calls with ``ctypes``
and must get the filter's errno. Where the kernel would refuse the call anyway (no
capabilities), a control run of the same probe in bubblewrap *without* the filter
shows the filter is what answered: each family has at least one call whose
unfiltered answer differs, or its calls are in the compiled program.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap

import pytest

from _support import require_backend
from acesandbox import Executor, Job, Limits, Status
from acesandbox._harden import namespaces, seccomp

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux-only")

AT_FDCWD = -100
CLONE_NEWUSER = 0x10000000
SIGCHLD = 17

# One probe per call: (syscall, arguments). Strings are passed as C strings.
PROBES: dict[str, list[tuple[str, tuple]]] = {
    "io_uring": [("io_uring_setup", (1, 0)), ("io_uring_enter", (-1, 0, 0, 0, 0, 0)), ("io_uring_register", (-1, 0, 0, 0))],
    "keyring": [("keyctl", (0, -3, 0)), ("add_key", ("user", "acesandbox", "x", 1, -2)), ("request_key", ("user", "nope", 0, 0))],
    "userfaultfd": [("userfaultfd", (1,))],
    "bpf": [("bpf", (999, 0, 0))],
    "perf": [("perf_event_open", (0, 0, -1, -1, 0))],
    "kexec": [("kexec_load", (0, 0, 0, 0)), ("kexec_file_load", (-1, -1, 0, "", 0))],
    "modules": [("init_module", (0, 0, "")), ("finit_module", (-1, "", 0)), ("delete_module", ("nope", 0))],
    "mount": [("mount", (0, 0, 0, 0, 0)), ("umount2", (0, 0)), ("open_tree", (AT_FDCWD, "/", 0)), ("fsopen", ("tmpfs", 0)),
              ("pivot_root", (0, 0)), ("move_mount", (-1, 0, -1, 0, 0)), ("chroot", ("/",))],
    "namespaces": [("unshare", (CLONE_NEWUSER,)), ("setns", (-1, 0)), ("clone", (CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)),
                   ("clone3", (0, 0))],
    "ptrace": [("ptrace", (999, "PID", 0, 0)), ("process_vm_readv", ("PID", 0, 0, 0, 0, 0)), ("kcmp", ("PID", "PID", 0, 0, 0))],
    "personality": [("personality", (0xFFFFFFFF,))],
    "accounting": [("acct", (0,))],
    "swap": [("swapon", (0, 0)), ("swapoff", (0,))],
    "reboot": [("reboot", (0, 0, 0, 0))],
    "clock": [("settimeofday", (0, 0)), ("clock_settime", (0, 0))],
    "quota": [("quotactl", (0, 0, 0, 0))],
    "dcookie": [("lookup_dcookie", (0, 0, 0))],
    "file_handles": [("name_to_handle_at", (AT_FDCWD, "/", 0, 0, 0)), ("open_by_handle_at", (-1, 0, 0))],
    "legacy": [("uselib", (0,))],
    # pid 1 is the server (unfiltered: bubblewrap's init). Pointers are bad (1) or NULL and
    # nice/ioprio values leave things as they are, so even an unfiltered call changes nothing.
    "rlimits": [("prlimit64", (1, 7, 1, 0))],  # RLIMIT_NOFILE, a new limit: unfiltered EFAULT
    "priority": [("setpriority", (0, 1, 0)), ("setpriority", (1, 0, 0))],  # PRIO_PROCESS pid 1; PRIO_PGRP 0
    "scheduling": [("sched_setaffinity", (1, 8, 1)), ("sched_setscheduler", (1, 0, 0)), ("sched_setparam", (1, 0)),
                   ("sched_setattr", (1, 0, 0))],
    "io_priority": [("ioprio_set", (1, 1, 0)), ("ioprio_set", (2, 0, 0))],  # WHO_PROCESS pid 1; WHO_PGRP 0
    # Unfiltered, the get calls make private objects (IPC_PRIVATE, IPC_CREAT | 0600) in the probe's own
    # IPC namespace and mq_open a queue there (gone with it); the rest answer EINVAL/EBADF/ENOENT.
    "sysv_ipc": [("shmget", (0, 4096, 0o1600)), ("shmat", (-1, 0, 0)), ("shmdt", (0,)), ("shmctl", (-1, 0, 0)),
                 ("msgget", (0, 0o1600)), ("msgsnd", (-1, 0, 0, 0)), ("msgrcv", (-1, 0, 0, 0, 0)), ("msgctl", (-1, 0, 0)),
                 ("semget", (0, 1, 0o1600)), ("semop", (-1, 0, 0)), ("semtimedop", (-1, 0, 0, 0)), ("semctl", (-1, 0, 0, 0))],
    "mqueue": [("mq_open", ("acesandbox-probe", 0o102, 0o600, 0)), ("mq_unlink", ("acesandbox-none",)),
               ("mq_timedsend", (-1, 0, 0, 0, 0)), ("mq_timedreceive", (-1, 0, 0, 0, 0)), ("mq_notify", (-1, 0)),
               ("mq_getsetattr", (-1, 0, 0))],
    # vsock (40), packet (17), a number past every family, and one whose high bits would
    # truncate to vsock in the kernel's int: unfiltered, a socket, EPERM, EAFNOSUPPORT, a socket.
    # Unfiltered, each init makes an instance (a descriptor); io_setup with a NULL context answers EFAULT.
    "inotify": [("inotify_init1", (0,)), ("fanotify_init", (0x200, 0))],  # FAN_REPORT_FID: no capability needed
    # F_SETLEASE on no file, and with high bits the kernel's unsigned int drops: unfiltered EBADF.
    "leases": [("fcntl", (-1, 1024, 0)), ("fcntl", (-1, 0x100000400, 0))],
    "dnotify": [("fcntl", (-1, 1026, 0))],  # F_NOTIFY on no file: unfiltered EBADF
    # Unfiltered, mmap finds the host's pool empty (ENOMEM) or maps a huge page; memfd_create makes a hugetlbfs file.
    "hugetlb": [("mmap", (0, 2 << 20, 3, 0x40022, -1, 0)), ("memfd_create", ("acesandbox-probe", 4))],
    "secretmem": [("memfd_secret", (0,))],  # unfiltered: a descriptor (or ENOSYS where secretmem is off)
    "aio": [("io_setup", (1, 0)), ("io_destroy", (0,)), ("io_submit", (0, 0, 0)), ("io_cancel", (0, 0, 0)),
            ("io_getevents", (0, 0, 0, 0, 0))],
    "socket_families": [("socket", (40, 1, 0)), ("socket", (17, 3, 0)), ("socket", (0x100000028, 1, 0)),
                        ("socketpair", (40, 1, 0, 0))],
}

# Calls the program makes: it prints {name: result} where a result is -errno or the return value.
PROBE_LIB = textwrap.dedent(
    """
    import ctypes, os
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.syscall.restype = ctypes.c_long

    def call(nr, *args):
        conv = []
        for a in args:
            if a == "PID":
                a = os.getpid()
            conv.append(ctypes.c_char_p(a.encode()) if isinstance(a, str) else ctypes.c_long(a))
        ctypes.set_errno(0)
        r = _libc.syscall(ctypes.c_long(nr), *conv)
        if r == 0 and os.getpid() != _PID:  # an unfiltered clone: this is the child
            os._exit(0)
        if r >= 0 and nr in _CLONES:
            os.waitpid(r, 0)
        return -ctypes.get_errno() if r == -1 else r

    _PID = os.getpid()
    """
)


def _nr(name: str) -> int:
    lib = seccomp.library()
    assert lib is not None
    return int(lib.resolve_syscall(lib.Arch.NATIVE, name))


def _expected(family: str, name: str) -> int:
    fam = next(f for f in seccomp.DENIED if f.name == family and name in f.syscalls)
    return -fam.errno


def _program() -> str:
    return PROBE_LIB + f"_CLONES = {[_nr('clone')]!r}\n"


@pytest.fixture(scope="module")
def sandbox():
    require_backend("namespace")
    if seccomp.library() is None:
        pytest.fail(f"the namespace backend works but has no seccomp: {seccomp.problem()}")
    with Executor("namespace") as ex:
        yield ex


@pytest.fixture(scope="module")
def unfiltered() -> dict[tuple[str, tuple], int]:
    """Every probe's answer in the same bubblewrap sandbox but without the filter."""
    require_backend("namespace")
    calls = [c for cs in PROBES.values() for c in cs]
    script = PROBE_LIB + f"_CLONES = {[_nr('clone')]!r}\nimport json\nprint(json.dumps([call(nr, *a) for nr, a in {[(_nr(n), a) for n, a in calls]!r}]))\n"
    argv = [
        namespaces.bwrap_path() or "bwrap", *namespaces._namespaces(), *namespaces._identity(),
        "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
        # the base interpreter (a venv's may live under /tmp, hidden here by the private /tmp)
        "--", namespaces.interpreter_info()["executable"], "-I", "-c", script,
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return dict(zip(calls, json.loads(proc.stdout.splitlines()[-1]), strict=True))


def test_every_denied_call_is_probed():
    probed = {n for cs in PROBES.values() for n, _ in cs}
    assert set(PROBES) == {f.name for f in seccomp.DENIED} - {"socketcall"}  # i386 only
    # Calls without a safe probe here: i386/obsolete ones, or ones whose probe would need a real object.
    unprobed = {"umount", "vm86", "vm86old", "nfsservctl", "stime", "fsconfig", "fsmount", "fspick", "mount_setattr",
                "process_vm_writev", "pidfd_getfd", "clock_adjtime", "quotactl_fd", "ipc", "socketcall",
                "inotify_init", "io_pgetevents", "fcntl64", "mmap2"}
    assert {n for f in seccomp.DENIED for n in f.syscalls} == probed | unprobed


@pytest.mark.parametrize("family", sorted(PROBES))
def test_family_is_denied(sandbox, unfiltered, family):
    calls = PROBES[family]
    tests = [f"assert call({_nr(n)}, *{a!r}) == {_expected(family, n)}, call({_nr(n)}, *{a!r})" for n, a in calls]
    report = sandbox.run(Job(program=_program(), tests=tests))
    got = {(n, a): (o.status, o.message) for (n, a), o in zip(calls, report.outcomes, strict=True)}
    assert all(s is Status.PASSED for s, _ in got.values()), got
    # The filter, not the kernel, answered: an unfiltered call differs, or the call is in the program.
    differs = [n for n, a in calls if unfiltered[(n, a)] != _expected(family, n)]
    if not differs:
        pfc = _pfc()
        assert all(f"{n}" in pfc for n, _ in calls), f"{family}: the kernel refuses these anyway and they are not in the filter"


OWN_SCHEDULING = textwrap.dedent(
    """
    import ctypes, os, resource
    _libc = ctypes.CDLL(None, use_errno=True)

    def limits():
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft - 1, hard))  # prlimit64(0, ..., new, NULL)
        resource.prlimit(0, resource.RLIMIT_DATA, (1 << 40, resource.RLIM_INFINITY))
        return resource.getrlimit(resource.RLIMIT_NOFILE) == (soft - 1, hard)

    def nice():
        before = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, min(before + 1, 19))
        os.nice(1)
        return os.getpriority(os.PRIO_PROCESS, 0) == min(before + 2, 19)

    def cpus():
        mine = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(mine)})
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        os.sched_setparam(0, os.sched_param(0))
        return os.sched_getaffinity(0) == {min(mine)} and os.sched_getscheduler(0) == os.SCHED_BATCH

    def io():
        return _libc.syscall(251 if os.uname().machine == "x86_64" else 30, 1, 0, 2 << 13 | 4)  # BE class 4, self

    def reads():
        return (resource.prlimit(1, resource.RLIMIT_NOFILE)[1] > 0, os.getpriority(os.PRIO_PROCESS, 1) >= -20,
                len(os.sched_getaffinity(1)) > 0)

    def denied(what):
        try:
            what()
        except PermissionError:
            return True
        return False

    def other():
        return [denied(lambda: resource.prlimit(1, resource.RLIMIT_NOFILE, resource.prlimit(1, resource.RLIMIT_NOFILE))),
                denied(lambda: os.setpriority(os.PRIO_PROCESS, 1, os.getpriority(os.PRIO_PROCESS, 1))),
                denied(lambda: os.setpriority(os.PRIO_USER, 0, os.getpriority(os.PRIO_USER, 0))),
                denied(lambda: os.sched_setaffinity(1, os.sched_getaffinity(1))),
                denied(lambda: os.sched_setscheduler(1, os.sched_getscheduler(1), os.sched_param(0)))]
    """
)


def test_own_limits_and_scheduling_stay_the_programs(sandbox):
    """A program changes its own limits, nice value, CPU set, policy and I/O priority (pid
    0) and reads the server's; setting the server's (pid 1, to what they already are) is EPERM."""
    tests = ["assert limits()", "assert nice()", "assert cpus()", "assert io() == 0", "assert reads() == (True, True, True)",
             "assert other() == [True] * 5, other()"]
    report = sandbox.run(Job(program=OWN_SCHEDULING, tests=tests))
    assert report.statuses == (Status.PASSED,) * len(tests), report.outcomes


def _pfc() -> str:
    """The filter as libseccomp's readable pseudo-code."""
    import tempfile

    lib = seccomp.library()
    filt, _ = seccomp._build(lib)
    with tempfile.TemporaryFile("w+") as f:
        filt.export_pfc(f)
        f.seek(0)
        return f.read()


def test_filter_covers_the_compat_abis():
    if os.uname().machine != "x86_64":
        pytest.skip("compat ABIs checked on x86_64")
    pfc = _pfc()
    assert "arch x86_64" in pfc and "arch x86" in pfc and "arch x32" in pfc
    assert seccomp.describe()["unknown"] == []


def test_the_sandbox_runs_under_the_filter(sandbox):
    program = "def status():\n    return open('/proc/self/status').read()\n"
    report = sandbox.run(Job(program=program, tests=["assert 'Seccomp:\\t2' in status()", "assert 'Seccomp_filters:\\t1' in status()"]))
    assert report.statuses == (Status.PASSED, Status.PASSED), report.outcomes


def test_normal_programs_still_work(sandbox):
    """Threads (clone3 -> ENOSYS -> clone), fork, multiprocessing, subprocess and numpy."""
    program = textwrap.dedent(
        """
        import multiprocessing as mp, subprocess, sys, threading

        def threads():
            out = []
            ts = [threading.Thread(target=out.append, args=(i,)) for i in range(8)]
            for t in ts: t.start()
            for t in ts: t.join()
            return sorted(out)

        def pool():
            with mp.get_context("fork").Pool(2) as p:
                return p.map(abs, range(0, -6, -1))

        def queue():
            ctx = mp.get_context("fork")
            q = ctx.Queue()
            ps = [ctx.Process(target=q.put, args=(i,)) for i in range(3)]
            for p in ps: p.start()
            got = sorted(q.get(timeout=20) for _ in ps)
            for p in ps: p.join()
            return got

        def sub():
            return subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True).stdout.strip()

        def np_sum():
            import numpy
            return int(numpy.arange(10).sum())

        def contexts():
            out = []
            for name in ("spawn", "forkserver"):
                with mp.get_context(name).Pool(1) as p:
                    out += p.map(abs, [-1])
            return out

        def spawned():
            import os
            pid = os.posix_spawn("/bin/true", ["/bin/true"], {})  # glibc: clone3, then clone on ENOSYS
            return os.waitpid(pid, 0)[1]

        def aio():
            import asyncio
            async def main():
                p = await asyncio.create_subprocess_exec(sys.executable, "-c", "print(5)", stdout=asyncio.subprocess.PIPE)
                return (await p.communicate())[0].strip()
            return asyncio.run(main())
        """
    )
    tests = [
        "assert threads() == list(range(8))",
        "assert pool() == [0, 1, 2, 3, 4, 5]",
        "assert queue() == [0, 1, 2]",
        "assert sub() == '42'",
        "assert np_sum() == 45",
        "assert contexts() == [1, 1]",
        "assert spawned() == 0",
        "assert aio() == b'5'",
    ]
    report = sandbox.run(Job(program=program, tests=tests, limits=Limits(timeout_s=10.0)))
    assert report.statuses == (Status.PASSED,) * len(tests), report.outcomes


def test_namespace_backend_refuses_without_the_library():
    """Fail closed: no bindings, no sandbox (and the message names the package)."""
    require_backend("namespace")
    code = (
        "import sys\n"
        "sys.modules['seccomp'] = None; sys.modules['pyseccomp'] = None\n"
        "from acesandbox.backends.namespace import NamespaceBackend\n"
        "from acesandbox.errors import SandboxUnavailableError\n"
        "try:\n"
        "    NamespaceBackend().check()\n"
        "except SandboxUnavailableError as exc:\n"
        "    print('REFUSED', exc)\n"
        "else:\n"
        "    print('STARTED')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("REFUSED"), proc.stdout + proc.stderr
    assert "pip install pyseccomp" in proc.stdout and "python3-seccomp" in proc.stdout


def test_each_sandbox_reads_the_whole_program():
    """bubblewrap reads the filter to its end: every wrap reopens it at offset 0."""
    argv = seccomp.wrap_argv(["/bin/sh", "-c", f"wc -c <&{seccomp.FD}"])
    sizes = {subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip() for _ in range(3)}
    assert sizes == {str(len(seccomp.bpf_program()))}


def test_the_program_is_sealed():
    """Nothing in this process can change the filter once written (F_SEAL_WRITE, F_SEAL_SEAL)."""
    fd = seccomp.memfd()
    with pytest.raises(PermissionError):
        os.pwrite(fd, b"\0" * 8, 0)
    with pytest.raises(PermissionError):
        os.ftruncate(fd, 0)
    assert os.pread(fd, 1 << 16, 0) == seccomp.bpf_program()


I386_PROGRAM = textwrap.dedent(
    """
    import ctypes, mmap, os

    def int80(nr, arg):
        # push rbx; mov eax, nr; mov ebx, arg; int 0x80; pop rbx; movsxd rax, eax; ret
        code = (b"\\x53\\xb8" + nr.to_bytes(4, "little") + b"\\xbb" + arg.to_bytes(4, "little")
                + b"\\xcd\\x80\\x5b\\x48\\x63\\xc0\\xc3")
        m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        m.write(code)
        fn = ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(w, str(fn()).encode())
            os._exit(0)
        os.close(w)
        os.waitpid(pid, 0)
        out = os.read(r, 64)
        return int(out) if out else None  # None: no i386 emulation (the child died)
    """
)


def test_i386_abi_is_filtered_too(sandbox):
    """The same rules hold for a 64-bit program making 32-bit calls (int 0x80)."""
    if os.uname().machine != "x86_64":
        pytest.skip("the i386 ABI is x86_64's compat ABI")
    tests = [
        "assert int80(20, 0) is not None",  # getpid: i386 emulation is there
        f"assert int80(310, {CLONE_NEWUSER}) == -{errno.EPERM}",  # i386 unshare(CLONE_NEWUSER)
        f"assert int80(288, 0) == -{errno.EPERM}",  # i386 keyctl
        # i386's old mmap reads its flags (MAP_HUGETLB) from memory: refused whole (unfiltered, NULL: EFAULT)
        f"assert int80(90, 0) == -{errno.ENOMEM}",
    ]
    report = sandbox.run(Job(program=I386_PROGRAM, tests=tests))
    if report.outcomes[0].status is not Status.PASSED:
        pytest.skip("this kernel has no i386 emulation")
    assert report.statuses == (Status.PASSED,) * 4, report.outcomes


def test_the_address_families_python_uses_still_work(sandbox):
    program = textwrap.dedent(
        """
        import socket
        def families():
            made = []
            for family, kind in ((socket.AF_UNIX, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_DGRAM),
                                 (socket.AF_INET6, socket.SOCK_DGRAM), (socket.AF_NETLINK, socket.SOCK_RAW)):
                with socket.socket(family, kind):
                    made.append(int(family))
            a, b = socket.socketpair()
            a.close(), b.close()
            return made
        """
    )
    report = sandbox.run(Job(program=program, tests=["assert families() == [1, 2, 10, 16]"]))
    assert report.statuses == (Status.PASSED,), report.outcomes[0].message
