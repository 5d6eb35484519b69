"""Hardening step: a seccomp filter for the namespace backend, compiled by libseccomp.

The namespaces leave the whole kernel interface reachable; this filter closes the parts
a Python program never needs and attackers use most: io_uring, the key store, userfaultfd,
bpf, perf events, kexec and kernel modules, mounts, new namespaces, ptrace and other
processes' memory, personality, accounting, swap, reboot, the clock, quotas, file handles
and a few legacy calls, System V IPC and POSIX message queues (they outlive the job),
inotify, fanotify and native AIO (quotas of the whole host uid or host), hugetlb pages (the
host's reserved pool, charged to no memory cgroup), secret memory (it splits the host
kernel's direct map), file leases (on host files: they stall
the host's writers); and it keeps a program from changing another
process's limits, priority or CPU set (the whole sandbox runs as one uid, so the kernel would let it lower
the server's and reach every later job), while its own stay its to change. Each denied call returns an error (``EPERM``, or ``ENOSYS`` where
a library should take its fallback: io_uring, and ``clone3``, whose flags sit in memory a
filter cannot read, so glibc falls back to ``clone``, whose flags it can). Everything else
is allowed, threads, fork, subprocess and numpy included.

The program is built on the host with libseccomp (its Python bindings: Debian's
``python3-seccomp``, or ``pyseccomp`` from PyPI, a ctypes wrapper over ``libseccomp.so.2``),
never hand-written, for the native ABI and its compat ABIs (i386 and x32 on x86_64, arm on
aarch64), and handed to bubblewrap as a compiled BPF program (``--seccomp FD``), which
loads it right before it starts the server. Without the library the namespace backend
refuses to start (fail closed): :func:`problem` names the package to install.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import os
import platform
import tempfile
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = ["DENIED", "FD", "Family", "bpf_program", "describe", "library", "memfd", "problem", "wrap_argv"]

# Namespace flags of clone(2) and unshare(2). CLONE_NEWTIME (0x80) only means that to
# unshare: in clone's flags those bits are the exit signal.
_CLONE_NS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
_CLONE_NEWTIME = 0x80
_NULL = 0
_PRIO_PROCESS = 0
_IOPRIO_WHO_PROCESS = 1
_AF_ALLOWED = (1, 2, 10, 16)  # AF_UNIX, AF_INET, AF_INET6, AF_NETLINK
_F_SETLEASE = 1024
_F_NOTIFY = 1026
_MAP_HUGETLB = 0x40000
_MFD_HUGETLB = 0x0004


@dataclass(frozen=True)
class Family:
    """Denied system calls of one kind: ``flags`` set means only calls with any of these
    flag bits in their first argument (the namespace flags of clone/unshare); ``when`` set
    means only calls that match one of its entries, an entry being (argument index, value)
    pairs that must all differ: ``(((0, 0), (2, 0)),)`` is "argument 0 != 0 and argument 2 != 0"."""

    name: str
    syscalls: tuple[str, ...]
    errno: int = errno.EPERM
    flags: tuple[int, ...] = ()
    when: tuple[tuple[tuple[int, int], ...], ...] = ()
    why: str = ""
    first_in: tuple[int, ...] = ()
    """Only calls whose first argument is not one of these: the address families ``socket``
    may still make (each value below the largest is one rule, everything above it one)."""
    equal: tuple[tuple[int, int], ...] = ()
    """Only calls whose argument equals one of these (argument index, value), one rule each,
    compared in its low 32 bits (the kernel's ``int`` and ``unsigned int`` arguments drop the
    rest): ``((1, 1024),)`` is "argument 1 == 1024", 0x100000400 included."""
    flag_arg: int = 0
    """The argument ``flags`` are looked for in (mmap's flags are its fourth)."""


DENIED: tuple[Family, ...] = (
    Family("io_uring", ("io_uring_setup", "io_uring_enter", "io_uring_register"), errno.ENOSYS,
           why="a second syscall interface that bypasses this filter and a frequent source of kernel bugs"),
    Family("keyring", ("keyctl", "add_key", "request_key"), why="the kernel key store is not namespaced"),
    Family("userfaultfd", ("userfaultfd",), why="stalls the kernel at chosen points (race exploits)"),
    Family("bpf", ("bpf",), why="kernel programs and maps"),
    Family("perf", ("perf_event_open",), why="performance counters leak other processes' activity"),
    Family("kexec", ("kexec_load", "kexec_file_load"), why="load a new kernel"),
    Family("modules", ("init_module", "finit_module", "delete_module"), why="load kernel code"),
    Family("mount", ("mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "fsopen", "fsconfig",
                     "fsmount", "fspick", "open_tree", "mount_setattr"), why="the sandbox's filesystem view is fixed"),
    Family("namespaces", ("unshare",), flags=(*_CLONE_NS, _CLONE_NEWTIME), why="new namespaces regain capabilities"),
    Family("namespaces", ("clone",), flags=_CLONE_NS, why="new namespaces regain capabilities"),
    Family("namespaces", ("setns",), why="joining another namespace"),
    Family("namespaces", ("clone3",), errno.ENOSYS, why="its flags are out of a filter's reach: glibc falls back to clone"),
    Family("ptrace", ("ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp"),
           why="reading or steering another process (the server included)"),
    Family("personality", ("personality",), why="turns off address-space randomisation"),
    Family("accounting", ("acct",), why="host process accounting"),
    Family("swap", ("swapon", "swapoff"), why="host swap"),
    Family("reboot", ("reboot",), why="host power state"),
    Family("clock", ("settimeofday", "clock_settime", "clock_adjtime", "stime"), why="the host clock"),
    Family("quota", ("quotactl", "quotactl_fd"), why="host disk quotas"),
    Family("dcookie", ("lookup_dcookie",), why="kernel profiling cookies"),
    Family("file_handles", ("name_to_handle_at", "open_by_handle_at"), why="open files by handle, around mounts"),
    Family("legacy", ("uselib", "vm86", "vm86old", "nfsservctl"), why="obsolete interfaces"),
    # Another process's limits and scheduling (pid != 0): the server and the fork template
    # are the same uid as the program, and every later job inherits what they hold.
    Family("rlimits", ("prlimit64",), when=(((0, 0), (2, _NULL)),),
           why="a new limit for another process (the server's, inherited by every later job); reading one stays allowed"),
    Family("priority", ("setpriority",), when=(((0, _PRIO_PROCESS),), ((1, 0),)),
           why="another process's nice value, a process group's or a user's (every later job at nice 19)"),
    Family("scheduling", ("sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr"), when=(((0, 0),),),
           why="another process's CPU set or scheduling policy (every later job on one CPU)"),
    Family("io_priority", ("ioprio_set",), when=(((0, _IOPRIO_WHO_PROCESS),), ((1, 0),)),
           why="another process's I/O priority, a process group's or a user's"),
    # Objects of the sandbox's IPC namespace outlive the job that made them (no file for a
    # wipe to remove): memory held against every later job, a channel to the next program.
    # multiprocessing's semaphores and shared_memory are files in /dev/shm (wiped), not these.
    Family("sysv_ipc", ("shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop",
                        "semtimedop", "semctl", "ipc"),
           why="System V shared memory, message queues and semaphores outlive the job (memory and data for later jobs)"),
    Family("mqueue", ("mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr"),
           why="POSIX message queues outlive the job (data for the next program)"),
    # Quotas the kernel keeps per host uid or for the whole host, never per namespace: the
    # sandbox's user is one host uid (host root where bubblewrap runs as root), so one program
    # held the 128 inotify instances (and fanotify groups) of every process of that uid, the
    # host's and every other sandbox's, and io_setup(65536) every AIO slot of the host
    # (fs.aio-max-nr), for as long as it ran. ENOSYS, as a kernel built without them answers.
    Family("inotify", ("inotify_init", "inotify_init1", "fanotify_init"), errno.ENOSYS,
           why="inotify instances and fanotify groups are counted per host uid: one program took them all"),
    # The sandbox's uid owns root's files where it is host uid 0, which is all a lease asks:
    # a lease on a file bound in from the host (the interpreter, the OS libraries) held every
    # host process that opened it for writing until the job ended or the kernel broke the
    # lease (fs.lease-break-time, 45 s).
    Family("leases", ("fcntl", "fcntl64"), errno.EACCES, equal=((1, _F_SETLEASE),),
           why="a lease on a host file bound into the sandbox stalls the host's writers of that file"),
    # dnotify: a signal when a file of a watched folder is read or changed. Every sandbox binds
    # the same host folders (the interpreter's), so one sandbox learned when another read them:
    # a channel between jobs running side by side, as inotify was before it was refused.
    Family("dnotify", ("fcntl", "fcntl64"), errno.EACCES, equal=((1, _F_NOTIFY),),
           why="watching a host folder every sandbox shares tells one sandbox what another reads"),
    # Huge pages of hugetlbfs come from the host's pool (vm.nr_hugepages), which no memory
    # cgroup charges (v1 never, v2 only when mounted with memory_hugetlb_accounting): a
    # 256 MiB sandbox held 512 MiB of them, every page the host had reserved, while it ran.
    # Transparent huge pages (madvise) are ordinary charged memory and stay allowed.
    Family("hugetlb", ("mmap", "mmap2"), errno.ENOMEM, flags=(_MAP_HUGETLB,), flag_arg=3,
           why="huge pages come from the host's reserved pool, outside the sandbox's memory limit"),
    Family("hugetlb", ("memfd_create",), errno.EINVAL, flags=(_MFD_HUGETLB,), flag_arg=1,
           why="huge pages come from the host's reserved pool, outside the sandbox's memory limit"),
    # Each page of secret memory is taken out of the kernel's direct map, which splits the
    # host's 1 GiB and 2 MiB kernel mappings for good (the kernel never merges them back):
    # one job of 16 processes left 19 of the host's 23 GiB mapped with 2 MiB pages, 1 GiB
    # with 4 KiB ones, a TLB cost to every process of the host until it reboots.
    Family("secretmem", ("memfd_secret",), errno.ENOSYS,
           why="secret memory splits the host kernel's direct map for good (a TLB cost to the whole host)"),
    Family("aio", ("io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents"), errno.ENOSYS,
           why="native AIO slots are one host-wide pool (fs.aio-max-nr): one program took them all"),
    # Address families other than unix, IPv4, IPv6 and netlink (EAFNOSUPPORT, as a kernel
    # without them answers). AF_VSOCK is not namespaced: a program held a port of the whole
    # host and of later jobs (and it reaches the hypervisor's services); most of the others
    # are rarely built, rarely audited kernel code.
    Family("socket_families", ("socket", "socketpair"), errno.EAFNOSUPPORT,
           first_in=_AF_ALLOWED,
           why="address families but unix, inet, inet6 and netlink (vsock is the host's, not the sandbox's)"),
    Family("socketcall", ("socketcall",), errno.ENOSYS,
           why="the 32-bit multiplexer, whose arguments a filter cannot read: libraries use the direct calls"),
)
"""Every denied system call, by family. Listed in the README's security section."""

_INSTALL = (
    "install libseccomp's Python bindings: pip install pyseccomp (needs libseccomp.so.2: apt-get install libseccomp2), "
    "or apt-get install python3-seccomp for the system Python"
)


@functools.lru_cache(maxsize=1)
def library() -> ModuleType | None:
    """libseccomp's Python bindings (the official ``seccomp``, else ``pyseccomp``), or None."""
    for name in ("seccomp", "pyseccomp"):
        try:
            return __import__(name)
        except (ImportError, OSError, RuntimeError):  # pyseccomp raises RuntimeError without libseccomp.so.2
            continue
    return None


def problem() -> str | None:
    """None when the filter can be built here, else why not and the fix."""
    if library() is None:
        return f"the namespace backend needs a seccomp filter and libseccomp's Python bindings are missing: {_INSTALL}"
    try:
        bpf_program()
    except (OSError, ValueError) as exc:
        return f"libseccomp could not build the seccomp filter ({exc}): {_INSTALL}"
    return None


def _compat_arches(lib: Any) -> list[int]:
    machine = platform.machine()
    names = {"x86_64": ("X86", "X32"), "aarch64": ("ARM",)}.get(machine, ())
    return [getattr(lib.Arch, n) for n in names if hasattr(lib.Arch, n)]


# Calls denied whatever their arguments on one compat ABI, where those arguments sit in
# memory a filter cannot read: i386's old mmap (90) takes a pointer to them, so the
# MAP_HUGETLB rule above cannot see its flags (i386 code maps memory with mmap2, 192).
_WHOLE = {"X86": ("mmap",)}


def _build(lib: Any) -> tuple[Any, tuple[str, ...]]:
    """The filter object and the names this libseccomp does not know (left out)."""
    filt = lib.SyscallFilter(lib.ALLOW)
    apart = []  # compat ABIs with calls in _WHOLE: a filter of their own, merged in below
    for arch in _compat_arches(lib):
        name = next((n for n in _WHOLE if getattr(lib.Arch, n, None) == arch), None)
        if name is None:
            filt.add_arch(arch)
        else:
            sub = lib.SyscallFilter(lib.ALLOW)
            sub.add_arch(arch)
            sub.remove_arch(lib.Arch.NATIVE)
            apart.append((sub, _WHOLE[name]))
    unknown = _rules(lib, filt)
    for sub, whole in apart:
        _rules(lib, sub, whole)
        filt.merge(sub)
    return filt, tuple(unknown)


def _rules(lib: Any, filt: Any, whole: tuple[str, ...] = ()) -> list[str]:
    """Add every DENIED rule to ``filt`` (those of the calls in ``whole`` without their
    conditions); the names this libseccomp does not know."""
    unknown: list[str] = []
    for fam in DENIED:
        action = lib.ERRNO(fam.errno)
        for name in fam.syscalls:
            try:
                if name in whole:
                    filt.add_rule(action, name)
                elif fam.flags:
                    for bit in fam.flags:
                        filt.add_rule(action, name, lib.Arg(fam.flag_arg, lib.MASKED_EQ, bit, bit))
                elif fam.when:
                    for entry in fam.when:
                        filt.add_rule(action, name, *(lib.Arg(i, lib.NE, v) for i, v in entry))
                elif fam.equal:
                    for i, v in fam.equal:
                        filt.add_rule(action, name, lib.Arg(i, lib.MASKED_EQ, 0xFFFFFFFF, v))
                elif fam.first_in:
                    top = max(fam.first_in)
                    for value in range(top):
                        if value not in fam.first_in:
                            filt.add_rule(action, name, lib.Arg(0, lib.EQ, value))
                    filt.add_rule(action, name, lib.Arg(0, lib.GT, top))
                else:
                    filt.add_rule(action, name)
            except (OSError, ValueError, RuntimeError):
                unknown.append(name)
    return unknown


@functools.lru_cache(maxsize=1)
def _compiled() -> tuple[bytes, tuple[str, ...]]:
    lib = library()
    if lib is None:
        raise OSError(errno.ENOSYS, "libseccomp's Python bindings are missing")
    filt, unknown = _build(lib)
    with tempfile.TemporaryFile() as f:
        filt.export_bpf(f)
        f.seek(0)
        data = f.read()
    if not data or len(data) % 8:
        raise ValueError(f"libseccomp exported {len(data)} bytes, not a BPF program")
    return data, unknown


def bpf_program() -> bytes:
    """The compiled filter: a BPF program (8-byte instructions), as bubblewrap reads it."""
    return _compiled()[0]


FD = 9
"""The descriptor bubblewrap reads the program from (``--seccomp 9``); :func:`wrap_argv` opens it."""

_memfd: dict[int, int] = {}
_memfd_lock = threading.Lock()


def memfd() -> int:
    """This process's sealed memfd holding the program (made once per process, never closed)."""
    with _memfd_lock:
        pid = os.getpid()
        fd = _memfd.get(pid)
        if fd is None:
            fd = _memfd[pid] = _sealed_memfd(bpf_program())
        return fd


def _sealed_memfd(data: bytes) -> int:
    fd = os.memfd_create("acesandbox-seccomp", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        # Sealed: nothing can change the program once written.
        seals = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    except OSError:
        os.close(fd)
        raise
    return fd


def wrap_argv(argv: list[str]) -> list[str]:
    """argv that starts ``argv`` (bubblewrap with ``--seccomp 9``) with the program open on fd 9.

    The shell opens this process's memfd through /proc anew for every sandbox, so each
    bubblewrap reads the whole program from offset 0 while the memfd itself stays
    close-on-exec here (no descriptor to pass through the spawner)."""
    path = f"/proc/{os.getpid()}/fd/{memfd()}"
    return ["/bin/sh", "-c", f'exec "$@" {FD}<"{path}"', "acesandbox-seccomp", *argv]


def describe() -> dict[str, Any]:
    """What the filter denies, for ``acecoder doctor``: families, calls, errno, what was left out."""
    lib = library()
    families: dict[str, list[str]] = {}
    for fam in DENIED:
        families.setdefault(fam.name, []).extend(fam.syscalls)
    info: dict[str, Any] = {
        "library": getattr(lib, "__name__", None),
        "families": families,
        "arches": [platform.machine(), *({"x86_64": ["i386", "x32"], "aarch64": ["arm"]}.get(platform.machine(), []))],
        "unknown": [],
        "instructions": 0,
    }
    if lib is not None:
        try:
            data, unknown = _compiled()
            info["unknown"] = list(unknown)
            info["instructions"] = len(data) // 8
        except (OSError, ValueError) as exc:
            info["error"] = str(exc)
    return info
