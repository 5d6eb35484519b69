"""Escape: host secrets, files and processes outside the sandbox, namespaces, ptrace and the network."""

from __future__ import annotations


from .._spec import AssertTest, CallTest, Job
from ._case import BLOCKED, FAST, F, P, Case, src
from ._host import secret_file, secret_value, tcp_listener, verify_no_connection

# What an earlier job on the same sandbox leaves in the server (its program, a call's
# argument, the result J sent back) carries this marker; the scan below never holds it
# whole (head and tail apart), so what it finds came from elsewhere.
_MARK = "ACESANDBOX-EARLIER-JOB-3d9b"
_EARLIER = Job(
    program=f"SOLUTION = {_MARK + ' in the program'!r}\ndef echo(s):\n    return s.replace('argument', 'result')\n",
    tests=(AssertTest(f"assert echo({_MARK + ' argument'!r}) == {_MARK + ' result'!r}"),),
    limits=FAST,
)
# The program's own anonymous memory (heap, stack, mmaps), read in place with ctypes:
# /proc/self/mem is root's in a non-dumpable process under a real unprivileged uid (Docker).
_MEMORY_SCAN = src(
    f"""
    import ctypes
    HEAD, TAIL = {_MARK[:15].encode()!r}, {_MARK[15:].encode()!r}
    def remnants():
        hits = 0
        with open("/proc/self/maps") as maps:
            regions = [line.split() for line in maps]
        for fields in regions:
            lo, hi = (int(v, 16) for v in fields[0].split("-"))
            anonymous = len(fields) < 6 or fields[5] in ("[heap]", "[stack]")
            if not anonymous or not fields[1].startswith("rw") or hi - lo > 1 << 26:
                continue
            data = ctypes.string_at(lo, hi - lo)
            at = data.find(HEAD)
            while at >= 0:
                hits += data.startswith(TAIL, at + len(HEAD))
                at = data.find(HEAD, at + 1)
        return hits
    def planted():
        bait = b"".join([HEAD, TAIL])
        return remnants() > 0 and len(bait) > 0
    """
)
# The same scan as test code the splitter cannot take apart: it runs whole in the test
# process Q, which must inherit no earlier job's data either (a client's test, in the
# reward server, reading another client's programs).
_Q_SCAN = _MEMORY_SCAN + "\nassert echo('x') == 'x' and {}\n"

# A POSIX message queue made through the mqueue filesystem by open(O_CREAT), past the
# filter's mq_open: it lives in the sandbox's IPC namespace, which every later job shares.
_QUEUE_LEFT = Job(
    program=src(
        """
        import os
        def leave():
            try:
                os.close(os.open("/dev/mqueue/acesandbox-left-" + "x" * 200, os.O_CREAT | os.O_RDWR, 0o666))
            except OSError:
                pass
        """
    ),
    tests=(AssertTest("assert leave() is None"),),
    limits=FAST,
)

CASES: tuple[Case, ...] = (
    Case(
        "env_secret",
        src(
            """
            import os
            SECRET = "@SECRET@"
            def leaked():
                if any(SECRET in v for v in os.environ.values()):
                    return True
                with open("/proc/self/environ", "rb") as f:
                    return SECRET.encode() in f.read()
            """
        ),
        ("assert leaked() == True",),
        (F,),
        host=secret_value,
        hostile=True,
        why="the sandbox starts from an empty environment",
    ),
    Case(
        "host_environ_via_proc",
        src(
            """
            import os
            SECRET = "@SECRET@"
            def leaked():
                for p in os.listdir("/proc"):
                    if p.isdigit():
                        try:
                            with open(f"/proc/{p}/environ", "rb") as f:
                                if SECRET.encode() in f.read():
                                    return True
                        except OSError:
                            pass
                return False
            """
        ),
        ("assert leaked() == True",),
        (F,),
        host=secret_value,
        requires={"pid_isolation"},
        hostile=True,
    ),
    Case(
        "host_files",
        src(
            """
            import os, sys
            SECRET = "@SECRET@"
            def readable(path):
                try:
                    with open(path, "rb") as f:
                        return f.read(1 << 16)
                except OSError:
                    return None
            def leaked():
                data = readable("@SECRET_PATH@")
                if data is not None and SECRET.encode() in data:
                    return "secret file"
                for path in ("/etc/shadow", "/etc/gshadow", "/root/.bash_history", "/root/.ssh/id_rsa"):
                    if readable(path):
                        return path
                # Host directories may show only the path down to the mounted interpreter.
                mounted = {sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path}
                for d in ("/root", "/home", os.path.dirname("@SECRET_PATH@")):
                    try:
                        entries = os.listdir(d)
                    except OSError:
                        continue
                    for e in entries:
                        p = os.path.join(d, e)
                        if not any(m == p or m.startswith(p + "/") for m in mounted):
                            return p
                return False
            """
        ),
        ("assert leaked() == False", "assert leaked()"),
        (P, F),
        host=secret_file,
        requires={"fs_isolation"},
        hostile=True,
        why="no host home, secrets or temporary files are mounted",
    ),
    Case(
        "host_kernel_settings",
        src(
            """
            import os
            HOST_WIDE = (
                "/proc/sys/kernel/core_pattern",
                "/proc/sys/kernel/modprobe",
                "/proc/sys/vm/drop_caches",
                "/proc/sysrq-trigger",
                "/proc/irq/default_smp_affinity",
            )
            def writable():
                # Opened for writing, nothing written: a write would reach the whole host
                # (core_pattern names a helper the kernel runs as root on the next crash).
                found = []
                for path in HOST_WIDE:
                    try:
                        fd = os.open(path, os.O_WRONLY)
                    except OSError:
                        continue
                    os.close(fd)
                    found.append(path)
                return found
            """
        ),
        ("assert writable() == []", "assert writable()"),
        (P, F),
        requires={"fs_isolation"},
        hostile=True,
        why="the host's kernel settings under /proc are read-only, even where the sandbox's user is host uid 0",
    ),
    Case(
        "proc_root_escape",
        src(
            """
            import os
            SECRET = "@SECRET@"
            def leaked():
                for root in ("/proc/self/root", "/proc/1/root", "/proc/1/cwd", "/proc/self/cwd/.."):
                    for path in ("@SECRET_PATH@", "/etc/shadow"):
                        try:
                            with open(root + path, "rb") as f:
                                if f.read(1 << 16):
                                    return root + path
                        except OSError:
                            pass
                return False
            """
        ),
        ("assert leaked() == False", "assert leaked()"),
        (P, F),
        host=secret_file,
        requires={"fs_isolation"},
        hostile=True,
    ),
    Case(
        "state_outside_scratch",
        src(
            """
            import os
            PLACES = ("/", "/etc", "/dev", "/dev/shm", "/root", "/opt", "/usr", "/var/tmp", "/run", "/home")
            NAME = "acesandbox-left-behind"
            def plant():
                made = []
                for d in PLACES:
                    try:
                        with open(os.path.join(d, NAME), "w") as f:
                            f.write("from an earlier test")
                        made.append(d)
                    except OSError:
                        pass
                return made
            def left_behind():
                return [d for d in PLACES if os.path.exists(os.path.join(d, NAME))]
            """
        ),
        (CallTest("plant", (), "never"), "assert left_behind() == []"),
        (F, P),
        requires={"fs_isolation"},
        hostile=True,
        why="nothing a test writes anywhere survives into the next test (or the next job)",
    ),
    Case(
        "write_outside_scratch",
        src(
            """
            import os, sys
            def writable():
                runtime = getattr(sys.modules.get("__main__"), "__file__", None) or "/usr/bin/python3"
                for path in (runtime, "/usr/acesandbox-probe", "/etc/acesandbox-probe", "/acesandbox-probe",
                             os.path.join(os.path.dirname(runtime), "probe.py"), os.__file__):
                    try:
                        with open(path, "a"):
                            return path
                    except OSError:
                        pass
                return False
            """
        ),
        ("assert writable() == False", "assert writable()"),
        (P, F),
        requires={"fs_isolation"},
        hostile=True,
        why="everything but the scratch directory is read-only, the sandbox's own code included",
    ),
    Case(
        "nested_user_namespace",
        src(
            """
            import ctypes, os
            def unshare_works():
                libc = ctypes.CDLL(None, use_errno=True)
                pid = os.fork()
                if pid == 0:
                    os._exit(0 if libc.unshare(0x10000000) == 0 else 1)  # CLONE_NEWUSER
                return os.waitpid(pid, 0)[1] == 0
            """
        ),
        ("assert unshare_works() == True",),
        (F,),
        requires={"no_nested_namespaces"},
        hostile=True,
    ),
    Case(
        "ptrace_server",
        src(
            """
            import ctypes, os
            def attack():
                for pid in (1, os.getppid()):
                    try:
                        with open(f"/proc/{pid}/mem", "rb") as f:
                            return f"read /proc/{pid}/mem"
                    except OSError:
                        pass
                    libc = ctypes.CDLL(None, use_errno=True)
                    if libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
                        return f"attached to {pid}"
                return False
            """
        ),
        ("assert attack()",),
        (F,),
        requires={"pid_isolation"},
        hostile=True,
    ),
    Case(
        "network_host_loopback",
        src(
            """
            import socket
            def connect():
                try:
                    socket.create_connection(("127.0.0.1", @PORT@), timeout=0.5).close()
                    return True
                except OSError:
                    return False
            """
        ),
        ("assert connect() == True",),
        (F,),
        host=tcp_listener,
        verify=verify_no_connection,
        requires={"net_isolation"},
        hostile=True,
    ),
    Case(
        "network_external",
        src(
            """
            import socket
            def dns():
                try:
                    return bool(socket.getaddrinfo("example.com", 80))
                except OSError:
                    return False
            def connect():
                try:
                    socket.create_connection(("1.1.1.1", 53), timeout=0.5).close()
                    return True
                except OSError:
                    return False
            """
        ),
        ("assert dns() == True", "assert connect() == True"),
        (F, F),
        requires={"net_isolation"},
        hostile=True,
    ),
    Case(
        "earlier_job_in_memory",
        _MEMORY_SCAN,
        ("assert remnants() > 0", "assert planted()"),
        (BLOCKED, P),
        earlier=_EARLIER,
        hostile=True,
        why="each job process is forked from a template that never held a job's data, never from the server",
    ),
    Case(
        "earlier_job_in_test_process_memory",
        "def echo(s):\n    return s\n",
        (_Q_SCAN.format("remnants() > 0"), _Q_SCAN.format("planted()")),
        (BLOCKED, P),
        earlier=_EARLIER,
        hostile=True,
        why="each test process Q is forked from the same template, never from the server",
    ),
    Case(
        "later_job_message_queue_file",
        src(
            """
            import os
            def left():
                try:
                    return [n for n in os.listdir("/dev/mqueue") if n.startswith("acesandbox-left")]
                except OSError:
                    return []
            """
        ),
        ("assert left() != []",),
        (F,),
        earlier=_QUEUE_LEFT,
        requires={"fs_isolation"},
        hostile=True,
        why="a queue's name (255 bytes) would carry data to every later job of the sandbox",
    ),
)
