"""The kernel's attack surface: system calls a Python program never needs (issue 10, finding 7).

Each case makes one family's call the way an exploit would start (a working io_uring
instance, a key in the kernel's key store, a userfaultfd, a BPF map, a perf counter, the
new mount API, address-space randomisation turned off, a user namespace through
``clone``/``clone3``) and passes only if the kernel granted it. A sandbox with a system-call
filter (``syscall_filter``: the namespace backend's seccomp filter, Docker's default
profile) refuses every one. The last case is a quota every backend caps (pending signals,
counted per host uid).
"""

from __future__ import annotations

from ._case import F, P, Case, src

_LIB = """
import ctypes, os, struct
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_X86 = os.uname().machine == "x86_64"
NR = dict(io_uring_setup=425, add_key=248 if _X86 else 217, userfaultfd=323 if _X86 else 282,
          bpf=321 if _X86 else 280, perf_event_open=298 if _X86 else 241, open_tree=428,
          personality=135 if _X86 else 92, clone=56 if _X86 else 220, clone3=435, mq_open=240 if _X86 else 180,
          io_setup=206 if _X86 else 0)

def call(name, *args):
    conv = [ctypes.c_char_p(a) if isinstance(a, bytes) else a if isinstance(a, ctypes.Array) else ctypes.c_long(a)
            for a in args]
    return _libc.syscall(ctypes.c_long(NR[name]), *conv)

def got_fd(r):
    if r >= 0:
        os.close(r)
        return True
    return False
"""


def _case(name: str, body: str, why: str) -> Case:
    return Case(
        f"kernel_{name}",
        _LIB + src(body),
        ("assert attack() == True",),
        (F,),
        requires={"syscall_filter"},
        hostile=True,
        why=why,
    )


CASES: tuple[Case, ...] = (
    _case(
        "vsock",
        """
        import socket
        def attack():
            try:
                s = socket.socket(40, socket.SOCK_STREAM)  # AF_VSOCK
            except OSError:
                return False
            s.close()
            return True
        """,
        "vsock is not namespaced: a port held there is the host's, and stays taken for later jobs",
    ),
    _case(
        "io_uring",
        """
        def attack():
            params = ctypes.create_string_buffer(120)
            return got_fd(call("io_uring_setup", 4, params))
        """,
        "io_uring is a second system-call interface and a frequent source of kernel bugs",
    ),
    _case(
        "keyring",
        """
        def attack():
            return call("add_key", b"user", b"acesandbox-probe", b"x", 1, -2) >= 0  # KEY_SPEC_PROCESS_KEYRING
        """,
        "the kernel key store is not namespaced",
    ),
    _case(
        "userfaultfd",
        """
        def attack():
            return got_fd(call("userfaultfd", 0o2000000 | 1))  # O_CLOEXEC | UFFD_USER_MODE_ONLY
        """,
        "userfaultfd stalls the kernel at chosen points (race exploits)",
    ),
    _case(
        "bpf",
        """
        def attack():
            attr = ctypes.create_string_buffer(struct.pack("IIII", 2, 4, 4, 1), 128)  # an array map
            return got_fd(call("bpf", 0, attr, 128))  # BPF_MAP_CREATE
        """,
        "kernel programs and maps",
    ),
    _case(
        "perf",
        """
        def attack():
            attr = bytearray(128)
            struct.pack_into("IIQ", attr, 0, 1, 128, 0)  # PERF_TYPE_SOFTWARE, size, CPU clock
            struct.pack_into("Q", attr, 40, 1 << 5 | 1 << 6)  # exclude_kernel, exclude_hv
            return got_fd(call("perf_event_open", ctypes.create_string_buffer(bytes(attr), 128), 0, -1, -1, 0))
        """,
        "performance counters leak other processes' activity",
    ),
    _case(
        "mount_api",
        """
        def attack():
            return got_fd(call("open_tree", -100, b"/", 0o2000000))  # AT_FDCWD, OPEN_TREE_CLOEXEC
        """,
        "the sandbox's filesystem view is fixed: no mount handles",
    ),
    _case(
        "personality",
        """
        def attack():
            old = call("personality", 0xFFFFFFFF)
            if old < 0:
                return False
            r = call("personality", old | 0x0040000)  # ADDR_NO_RANDOMIZE
            call("personality", old)
            return r >= 0
        """,
        "turning off address-space randomisation helps every memory exploit",
    ),
    _case(
        "clone_user_namespace",
        """
        def attack():
            pid = call("clone", 0x10000000 | 17, 0, 0, 0, 0)  # CLONE_NEWUSER | SIGCHLD
            if pid == 0:
                os._exit(0)
            if pid < 0:
                return False
            os.waitpid(pid, 0)
            return True
        """,
        "a user namespace made by clone (not unshare) regains every capability inside",
    ),
    _case(
        "clone3_user_namespace",
        """
        def attack():
            args = ctypes.create_string_buffer(struct.pack("QQQQQQQQ", 0x10000000, 0, 0, 0, 17, 0, 0, 0), 64)
            pid = call("clone3", args, 64)
            if pid == 0:
                os._exit(0)
            if pid < 0:
                return False
            os.waitpid(pid, 0)
            return True
        """,
        "clone3's flags are out of a filter's reach: it must be refused whole",
    ),
    _case(
        "sysv_shared_memory",
        """
        def attack():
            _libc.shmget.restype = ctypes.c_int
            made = [_libc.shmget(0, 1 << 20, 0o1600) for _ in range(3)]  # IPC_PRIVATE, IPC_CREAT | 0600
            return any(i >= 0 for i in made) or _libc.msgget(0, 0o1600) >= 0 or _libc.semget(0, 1, 0o1600) >= 0
        """,
        "System V IPC objects outlive the job in the sandbox's IPC namespace: memory held against later jobs, "
        "a channel to the next program",
    ),
    _case(
        "posix_message_queue",
        """
        def attack():
            fd = call("mq_open", b"acesandbox-left-behind", 0o102, 0o600, 0)  # O_RDWR | O_CREAT
            return got_fd(fd)
        """,
        "a POSIX message queue outlives the job: a channel to the next program",
    ),
    _case(
        "inotify",
        """
        def attack():
            return got_fd(_libc.inotify_init1(0o2000000)) or got_fd(_libc.fanotify_init(0x200, 0))  # FAN_REPORT_FID
        """,
        "inotify instances and fanotify groups are counted per host uid (128 each): one program held them "
        "all, for the host's processes of that uid and every other sandbox",
    ),
    _case(
        "aio",
        """
        def attack():
            ctx = ctypes.c_ulong(0)
            return call("io_setup", 1, ctypes.addressof(ctx)) == 0
        """,
        "native AIO slots are one pool for the whole host (fs.aio-max-nr): io_setup(65536) took them all",
    ),
    _case(
        "huge_pages",
        """
        import mmap
        def attack():
            try:
                m = mmap.mmap(-1, 2 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40000)  # MAP_HUGETLB
            except OSError:
                pass
            else:
                m.close()
                return True
            try:
                os.close(os.memfd_create("acesandbox-probe", 0x4))  # MFD_HUGETLB
            except OSError:
                return False
            return True
        """,
        "huge pages come from the host's reserved pool (vm.nr_hugepages), which no memory cgroup charges: "
        "a 256 MiB sandbox held all 512 MiB of it",
    ),
    _case(
        "secret_memory",
        """
        def attack():
            return got_fd(_libc.syscall(447, 0))  # memfd_secret (the same number on x86_64 and arm64)
        """,
        "each page of secret memory splits the host kernel's direct map for good: one job left 20 GiB "
        "of it in small pages, a TLB cost to the whole host",
    ),
    _case(
        "file_lease",
        """
        import fcntl, sys
        def attack():
            fd = os.open(os.path.realpath(sys.executable), os.O_RDONLY)
            try:
                fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
            except OSError:
                return False
            fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
            return True
        """,
        "a lease on a file the host shares with the sandbox (the interpreter) holds every host process "
        "that opens it for writing until the job ends or the kernel breaks it (45 s)",
    ),
    _case(
        "folder_watch",
        """
        import fcntl, sys
        def attack():
            fd = os.open(os.path.dirname(os.path.realpath(sys.executable)), os.O_RDONLY | os.O_DIRECTORY)
            try:
                fcntl.fcntl(fd, fcntl.F_NOTIFY, fcntl.DN_ACCESS | fcntl.DN_MULTISHOT)
            except OSError:
                return False
            finally:
                os.close(fd)
            return True
        """,
        "dnotify on a host folder every sandbox binds (the interpreter's) signals this program each "
        "time another sandbox reads a file there: a channel between jobs running side by side",
    ),
    # Not system calls but a device: every devpts instance draws on one pool of terminals for
    # the whole host (kernel.pty.max less the host's reserve), so no sandbox gets a devpts.
    Case(
        "kernel_terminals",
        _LIB + src(
            """
            def attack():
                try:
                    leader, follower = os.openpty()
                except OSError:
                    return False
                os.close(leader)
                os.close(follower)
                return True
            """
        ),
        ("assert attack() == True",),
        (F,),
        requires={"fs_isolation"},
        hostile=True,
        why="terminals come from one pool for the whole host: a program that opened 3,000 left none for "
        "other sandboxes and containers",
    ),
    # Not a system call to refuse but a quota to cap, so on every backend: the kernel counts the
    # signals queued on a uid's processes for the host uid too, and checks the host's own processes
    # and every other sandbox of that uid against it (timer_create, sigqueue: EAGAIN for all).
    Case(
        "kernel_signal_queue",
        _LIB + src(
            """
            import signal
            class _Value(ctypes.Union):
                _fields_ = [("i", ctypes.c_int), ("p", ctypes.c_void_p)]
            def attack():
                signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])
                queued = 0
                while queued < 5000 and _libc.sigqueue(os.getpid(), signal.SIGRTMIN, _Value(0)) == 0:
                    queued += 1
                return queued >= 5000
            """
        ),
        ("assert attack() == True", "assert 1 + 2 == 3"),
        (F, P),
        hostile=True,
        why="pending signals are counted per host uid: a program that queued the uid's limit made "
        "timer_create and sigqueue fail for the host's processes and every other sandbox",
    ),
)
