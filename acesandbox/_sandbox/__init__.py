"""The in-sandbox runtime: a small fork server that supervises untrusted code.

This package runs *inside* the sandbox, started as a script (``python -I -S -B
_sandbox/server.py``), so it uses the standard library only and keeps its memory small
(every fork copies it). Process tree, per job::

    server (pid 1 of the sandbox's pid namespace; never runs untrusted code)
    └── fork template   forked at start, before any job; never holds job data
    └── job process J   forked by the template with CLONE_PARENT (the server's child), reads
        │               its job from a memfd, loads the program once (untrusted from here on)
        └── test child T_k, one fork per test (isolated mode), or none (shared mode)
    └── test process Q, per test judged whole outside the program (``k == "q"``):
        forked by the template too (never by J, never from the server's heap); runs the
        test's code, calls cross to J/T_k

The server enforces wall/CPU time, kills every leftover process after each test and
wipes the scratch directory. Nothing J or T_k write is trusted: the server relays
their result frames to the host, which decides every verdict. Only the server's own
failures can become ``sandbox_error``; whatever J or T_k do ends in a program status.

Host <-> server messages are 4-byte big-endian length + JSON. J/T_k -> server result
frames are JSON lines on one pipe: T_k writes ``["c", ci, values]`` (check values),
``["u", ci, msg]`` (unserializable), ``["e", info]`` (exception), ``["s", code]``
(SystemExit), ``["d"]`` (test body finished), ``["p"]``/``["f", msg]`` (compat
verdicts); J writes ``["r"]`` (loaded), ``["l", info]`` (load failed), ``["x", k,
wstatus, cpu_s]`` (T_k exited) and, in shared mode, ``["t", k]`` (test finished).

Modules: ``server`` (the entry script), ``loop`` (the server: one J per job, results to
the host), ``supervise`` (one step of J under its time limits), ``job`` (J itself),
``kinds`` (a test body per kind, in J or T_k), ``framing`` (messages and result frames),
``procs`` (/proc, sweeping leftovers), ``scratch`` (wiping the scratch directory),
``template`` (the fork template J comes from). Every J, T_k and Q is a fork of what the
server imported, and a fork costs more the more memory it has: the modules import no
``typing`` at run time (a module-level ``TYPE_CHECKING = False`` guards their type-only
imports) and no ``platform``; the server then preloads ``typing`` for the programs, which
import it most (``loop.ALWAYS_PRELOADED``).
"""

FILES = ("__init__.py", "framing.py", "job.py", "kinds.py", "loop.py", "procs.py", "scratch.py", "server.py", "supervise.py", "template.py", "testproc.py")
"""Every file of the in-sandbox server (relative to this folder): images copy exactly these."""
