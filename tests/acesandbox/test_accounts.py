"""The sandbox's user database (acesandbox._harden.accounts): root and nobody, never the host's users."""

from __future__ import annotations

from _support import require_backend

from acesandbox import Executor, Job, SandboxConfig, Status
from acesandbox._harden import accounts, namespaces


def test_the_files_name_root_and_nobody_only():
    files = accounts.contents()
    assert set(files) == {"/etc/passwd", "/etc/group"}
    users = [line.split(b":") for line in files["/etc/passwd"].splitlines()]
    assert [(u[0], u[2], u[3]) for u in users] == [(b"root", b"0", b"0"), (b"nobody", b"65534", b"65534")]
    groups = [line.split(b":")[:3] for line in files["/etc/group"].splitlines()]
    assert groups == [[b"root", b"x", b"0"], [b"nogroup", b"x", b"65534"]]


def test_the_namespace_sandbox_binds_them_read_only_not_the_hosts():
    argv = namespaces._mounts(32)
    binds = {argv[i + 2]: argv[i + 1] for i, a in enumerate(argv) if a in ("--ro-bind", "--ro-bind-try", "--bind")}
    assert binds["/etc/passwd"] == accounts.FILES["/etc/passwd"] != "/etc/passwd"
    assert binds["/etc/group"] == accounts.FILES["/etc/group"] != "/etc/group"
    assert "/etc" not in binds


def test_a_program_in_the_namespace_sandbox_sees_exactly_these_files():
    require_backend("namespace")
    files = accounts.contents()
    program = (
        "import getpass, grp, os, pwd\n"
        "PASSWD = open('/etc/passwd', 'rb').read()\nGROUP = open('/etc/group', 'rb').read()\n"
    )
    tests = [
        f"assert PASSWD == {files['/etc/passwd']!r}",
        f"assert GROUP == {files['/etc/group']!r}",
        "assert (os.getuid(), getpass.getuser(), pwd.getpwuid(os.getuid()).pw_dir) == (65534, 'nobody', '/tmp')",
        "assert grp.getgrgid(os.getgid()).gr_name == 'nogroup'",
        "assert not os.access('/etc/passwd', os.W_OK)",
    ]
    with Executor(SandboxConfig(backend="namespace", workers=1)) as ex:
        report = ex.run(Job(program, tests))
    assert report.statuses == (Status.PASSED,) * len(tests), [o.message for o in report.outcomes]
