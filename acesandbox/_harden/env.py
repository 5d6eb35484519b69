"""Hardening step: the sandbox starts from an empty environment plus an allow-list.

Nothing of the host's environment (tokens, keys, proxy settings, HOME) reaches a
program; thread counts of numeric libraries are pinned to 1 so that one sandbox uses
one core, as the scheduler and the CPU-time limit assume.
"""

from __future__ import annotations

__all__ = ["sandbox_env"]

_BASE = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
}


def sandbox_env(
    home: str = "/tmp", extra: dict[str, str] | None = None, *, hash_seed: int | None = None, python_bin: str | None = None
) -> dict[str, str]:
    """The complete environment of a sandbox: the allow-list, ``home``, ``extra`` and a fixed
    ``PYTHONHASHSEED`` when ``hash_seed`` is given (SandboxConfig.hash_seed). ``python_bin``:
    the sandboxed interpreter's ``bin`` folder, first on ``PATH``, so ``python`` in a
    subprocess is the interpreter (and packages) the program runs with, as in the
    reference images."""
    env = dict(_BASE, HOME=home)
    if python_bin:
        env["PATH"] = f"{python_bin}:{env['PATH']}"
    if hash_seed is not None:
        env["PYTHONHASHSEED"] = str(int(hash_seed))
    if extra:
        env.update(extra)
    return env
