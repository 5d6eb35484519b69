"""What every later job inherits: the limits, priority, CPU set and OOM score of the sandbox's own processes, and the kernel state a job leaves in the sandbox (issue 10).

The whole sandbox runs as one uid, so the kernel lets a program lower the server's limits
(``prlimit``), raise its nice value or pin it to one CPU, and the fork template's too: every
J forked later would inherit them, and correct programs would come out ``crashed``,
``memory`` or ``timeout`` for good. Each case's program makes one such change to the
server and its other children (found from the program: the oldest ancestor running the
same command, and that one's children; never a process outside the sandbox) in a job run
first (``earlier``), which passes whatever the kernel answered; the case itself, a correct
job on the same executor, must not see the change. A system-call filter may refuse the change; otherwise the
server sees it after the job and retires the sandbox (the host starts a fresh one).
"""

from __future__ import annotations

from .._spec import AssertTest, Job
from ._case import FAST, P, Case, src

_LIB = """
import os, resource

def _ppid(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        st = f.read()
    return int(st[st.rfind(b")") + 2 :].split()[1])

def _cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read()

def sandbox():
    server, mine = os.getpid(), _cmdline(os.getpid())
    while True:
        parent = _ppid(server)
        try:
            if parent <= 0 or _cmdline(parent) != mine:
                break
        except OSError:
            break
        server = parent
    others = []
    for tid in os.listdir(f"/proc/{server}/task"):
        with open(f"/proc/{server}/task/{tid}/children") as f:
            others += [int(x) for x in f.read().split()]
    return [server, *others]

def attack(change):
    hit = 0
    for pid in sandbox():
        try:
            change(pid)
            hit += 1
        except OSError:
            pass
    return hit
"""

# The later job's tests: each fails where the change reached it (``sandbox()`` finds the server).
_NEXT = _LIB + src(
    """
    import os, resource

    def data_mark():  # the attack's RLIMIT_DATA hard limits end in 1234 (mod 4096)
        return resource.getrlimit(resource.RLIMIT_DATA)[1] % 4096

    def nice():
        return os.getpriority(os.PRIO_PROCESS, 0)

    def cpus():
        return len(os.sched_getaffinity(0))

    def hostname():
        import socket
        return socket.gethostname()

    def port_range():
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return [int(v) for v in f.read().split()]

    def server_raised():
        server = sandbox()[0]
        with open(f"/proc/{server}/oom_score_adj") as f:
            oom = int(f.read())
        try:
            with open(f"/proc/{server}/autogroup") as f:
                fields = f.read().split()
            nice = int(fields[-1]) if fields else 0  # empty: in no autogroup
        except FileNotFoundError:
            nice = 0
        return oom == 999 or nice == 17  # the attack's marks (a Ray worker's server starts at 1000)

    def scratch_attributes():  # a file made here must be the program's to read, and no data waits
        with open("made-here", "w") as f:
            f.write("x")
        with open("made-here") as f:
            f.read()
        return [d + ":" + n for d in (os.getcwd(), "/dev/shm") for n in os.listxattr(d) if not n.startswith("security.")]

    def scratch_flags():  # inode flags (chattr) on the scratch roots
        import fcntl, struct
        out = []
        for d in (os.getcwd(), "/dev/shm"):
            fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
            try:
                out.append(struct.unpack("l", fcntl.ioctl(fd, 0x80086601, bytes(8)))[0] & 0xC0)
            except OSError:
                out.append(0)  # no inode flags there
            finally:
                os.close(fd)
        return out

    def running_zombies():  # processes whose leader exited alone while a thread runs on
        out = []
        for p in os.listdir("/proc"):
            if p.isdigit() and int(p) != os.getpid():
                try:
                    with open(f"/proc/{p}/stat", "rb") as f:
                        st = f.read()
                    if st[st.rfind(b")") + 2 :][:1] == b"Z" and len(os.listdir(f"/proc/{p}/task")) > 1:
                        out.append(int(p))
                except OSError:
                    pass
        return out

    def room():  # 12 MiB where the earlier job held 21 of the scratch's 32 (files of at most 8)
        for name in ("room-1", "room-2"):
            with open(name, "wb") as f:
                f.write(b"x" * (6 << 20))
        return True

    def scratch_times():
        st = os.stat(os.getcwd())
        return (st.st_atime_ns, st.st_mtime_ns)

    def binds():
        import socket
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 45454))
        a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        a.bind(b"\\0acesandbox-conformance-left")
        return True

    def dump_filter():
        with open("/proc/self/coredump_filter") as f:
            return int(f.read(), 16)

    def add(a, b):
        return a + b
    """
)


def _case(name: str, change: str, check: str, why: str, requires: frozenset[str] = frozenset(), test: str = "assert attack(change) >= 0") -> Case:
    attack = Job(program=_LIB + src(change), tests=(AssertTest(test),), limits=FAST)
    return Case(name, _NEXT, (check, "assert add(1, 2) == 3"), (P, P), earlier=attack, requires=requires, why=why)


def _left(name: str, leave: str, check: str, why: str, requires: set[str]) -> Case:
    """A case whose earlier job leaves something in the sandbox itself (``leave()``, which
    answers whatever the kernel allowed), not in the server's or the template's settings."""
    return _case(name, leave, check, why, frozenset(requires), test="assert leave() is None or True")


CASES: tuple[Case, ...] = (
    _case(
        "later_job_limits",
        """
        def change(pid):
            soft, hard = resource.prlimit(pid, resource.RLIMIT_DATA)
            top = 1 << 40 if hard == resource.RLIM_INFINITY else hard
            mark = (top // 4096 - 1) * 4096 + 1234
            resource.prlimit(pid, resource.RLIMIT_DATA, (mark if soft == resource.RLIM_INFINITY else min(soft, mark), mark))
        """,
        "assert data_mark() != 1234",
        "a limit lowered in the server or the fork template reaches every later job",
    ),
    _case(
        "later_job_priority",
        """
        def change(pid):
            if os.getpriority(os.PRIO_PROCESS, pid) < 17:
                os.setpriority(os.PRIO_PROCESS, pid, 17)
        """,
        "assert nice() != 17",
        "a nice value raised in the server or the fork template slows every later job",
    ),
    _case(
        "later_job_cpus",
        """
        def change(pid):
            cpus = os.sched_getaffinity(pid)
            if len(cpus) > 1:
                os.sched_setaffinity(pid, {max(cpus)})
        """,
        # Fails falsely only where the sandbox is given one CPU of several.
        "assert cpus() > 1 or os.cpu_count() == 1",
        "a CPU set narrowed in the server or the fork template puts every later job on one CPU",
    ),
    _case(
        "later_job_oom_score",
        """
        def change(pid):
            with open(f"/proc/{pid}/autogroup", "w") as f:
                f.write("17")
            with open(f"/proc/{pid}/oom_score_adj", "w") as f:
                f.write("999")
        """,
        "assert server_raised() == False",
        "/proc lets the same uid raise the server's OOM score (the OOM killer would take it "
        "first) and its autogroup's nice value; no system-call filter sees a write to a file",
        # On the process backend the server may share the test runner's autogroup.
        requires=frozenset({"pid_isolation"}),
    ),
    _case(
        "later_job_coredump_filter",
        """
        def change(pid):
            with open(f"/proc/{pid}/coredump_filter", "w") as f:
                f.write("0x1a5")
        """,
        "assert dump_filter() != 0x1a5",
        "/proc lets the same uid set the server's and the fork template's core dump filter, which "
        "fork copies into every later J: bits from one job to the next that no system-call filter sees",
    ),
    # Kernel state a program leaves in the sandbox's own namespaces. Where the sandbox's
    # user is host uid 0 (bubblewrap run as root), /proc/sys is writable unless bound
    # read-only: a hostname or port range set there would hold for every later job.
    _left(
        "later_job_sysctls",
        """
        def leave():
            for path, value in (("/proc/sys/kernel/hostname", "acesandbox-left"), ("/proc/sys/net/ipv4/ip_local_port_range", "40000 40000")):
                try:
                    with open(path, "w") as f:
                        f.write(value)
                except OSError:
                    pass
        """,
        "assert hostname() != 'acesandbox-left' and port_range() != [40000, 40000]",
        "the sandbox's own namespaces' settings (/proc/sys) outlive the job that wrote them",
        {"fs_isolation", "net_isolation"},
    ),
    _left(
        "later_job_scratch_attributes",
        """
        import struct
        def leave():
            entry = lambda tag: struct.pack("<HHI", tag, 0, 0xFFFFFFFF)  # no permissions
            acl = struct.pack("<I", 2) + entry(0x01) + entry(0x04) + entry(0x20)
            for d in (os.getcwd(), "/dev/shm"):
                for name, value in (("system.posix_acl_default", acl), ("user.left", b"from an earlier job")):
                    try:
                        os.setxattr(d, name, value)
                    except OSError:
                        pass
        """,
        "assert scratch_attributes() == []",
        "a default ACL on the scratch would give every later job's files no permissions, and "
        "an extended attribute on it carries data to the next job",
        {"fs_isolation"},
    ),
    _left(
        "later_job_scratch_flags",
        """
        import fcntl, struct
        def leave():
            for d in (os.getcwd(), "/dev/shm"):
                fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    fcntl.ioctl(fd, 0x40086602, struct.pack("l", 0x40 | 0x80))  # chattr +d +A
                except OSError:
                    pass
                finally:
                    os.close(fd)
        """,
        "assert scratch_flags() == [0, 0]",
        "no-dump and no-atime flags set on the scratch roots outlived the wipe: bits a later job read",
        {"fs_isolation"},
    ),
    _left(
        "later_job_thread_of_a_dead_leader",
        """
        import ctypes, platform, threading, time
        def leave():
            if os.fork() == 0:
                threading.Thread(target=time.sleep, args=(3600,)).start()
                exit_nr = {"x86_64": 60, "aarch64": 93}.get(platform.machine(), 60)
                ctypes.CDLL(None).syscall(exit_nr, 0)  # SYS_exit: the leader alone, the thread lives on
                os._exit(0)
            time.sleep(0.2)
        """,
        "assert running_zombies() == []",
        "a thread whose group leader exited alone (its /proc entry a zombie, which the sweep skipped) "
        "outlived its job: it killed every later job's processes, and rewrote the memory of a restarted "
        "fork template in its dumpable moment, so a later wrong program passed",
        {"pid_isolation"},
    ),
    _left(
        "later_job_sockets_in_flight",
        """
        import socket
        def leave():
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("127.0.0.1", 45454))
            a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            a.bind(b"\\0acesandbox-conformance-left")
            x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            # Every socket put in flight in the pair's own queue: no process holds them,
            # and they outlive the job until the kernel's collector finds the cycle.
            socket.send_fds(x, [b"k"], [u.fileno(), a.fileno(), x.fileno(), y.fileno()])
        """,
        "assert binds() == True",
        "a UDP port or a unix socket name held by sockets no process holds would be taken "
        "for the next job",
        {"net_isolation"},
    ),
    _left(
        "later_job_scratch_space",
        """
        import socket
        def leave():
            held = []
            for d, files in ((os.getcwd(), 3), ("/dev/shm", 6)):
                for i in range(files):
                    fd = os.open(os.path.join(d, f"held-{i}"), os.O_RDWR | os.O_CREAT, 0o600)
                    held.append(fd)  # a raw descriptor: nothing closes it when the job ends
                    try:
                        os.write(fd, b"x" * (7 << 20))
                    except OSError:
                        pass
            x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            # The files' descriptors in flight in the pair's own queue: unlinked by the wipe,
            # their blocks stay allocated until the kernel's collector finds the cycle.
            socket.send_fds(x, [b"k"], [*held, x.fileno(), y.fileno()])
        """,
        "assert room() == True",
        "files held by descriptors no process holds would leave the scratch full for the next job",
        {"fs_isolation"},
    ),
    _left(
        "later_job_scratch_times",
        """
        def leave():
            os.utime(os.getcwd(), ns=(5234567890123456789, 987654321987654321))
        """,
        "assert 5234567890123456789 not in scratch_times() and 987654321987654321 not in scratch_times()",
        "the scratch's own times, set by a program, would carry data to the next job",
        set(),
    ),
)
