"""The executor: a pool of sandbox sessions, streaming, retries and clean shutdown.

One worker thread owns one session (a long-lived sandbox). Jobs are pulled lazily from
the input iterable with a bounded window, so a million-job input keeps memory flat.
A :class:`SandboxError` is retried once on a fresh sandbox and then reported as
``sandbox_error`` for that job alone; it never becomes ``failed`` or ``timeout``.
On any exit, Ctrl-C included, every sandbox is killed (bubblewrap's
``--die-with-parent`` covers a host that is SIGKILLed).
"""

from __future__ import annotations

import atexit
import os
import weakref
import queue
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence, Union

from ._result import Outcome, Report, Status
from ._spec import Job, Limits, SandboxConfig
from .backends.base import Backend, Session, get_backend
from .errors import InvalidJobError, SandboxError, SandboxUnavailableError

__all__ = ["Executor", "Sandbox", "default_backend_name", "make_job", "sandbox_config"]

JobLike = Union[Job, tuple[Any, ...], dict[str, Any]]
_SENTINEL = object()


def default_backend_name() -> str:
    """The backend ``backend=None`` means: namespace, or SandboxUnavailableError naming the fix.

    Fail closed: never a silent fall back to the weak ``process`` backend (no filesystem,
    network or pid isolation), which runs only when asked for by name."""
    from .backends.namespace import NamespaceBackend

    try:
        NamespaceBackend().check()
    except SandboxUnavailableError as exc:
        raise SandboxUnavailableError(
            f"backend=None asks for the namespace sandbox, which this host cannot start: {exc}. Fix that (see "
            "`acecoder doctor`), or name a backend: backend='docker', or backend='process' (no filesystem, "
            "network or pid isolation)"
        ) from exc
    return "namespace"


_default_name: str | None = None


Sandbox = Union[SandboxConfig, str, Backend, None]
"""What an executor runs on: settings, a backend name, or a ready Backend."""


def sandbox_config(sandbox: SandboxConfig | str | None) -> SandboxConfig:
    """The SandboxConfig a ``sandbox`` argument stands for (a str is a backend name)."""
    if sandbox is None:
        return SandboxConfig()
    if isinstance(sandbox, str):
        return SandboxConfig(backend=sandbox)
    if isinstance(sandbox, SandboxConfig):
        return sandbox
    raise InvalidJobError(
        f"sandbox must be a SandboxConfig, a backend name or a Backend, got {type(sandbox).__name__}"
    )


def _resolve_backend(sandbox: Sandbox) -> tuple[Backend, bool]:
    """The backend, and whether its ``check`` just ran (choosing the default runs it)."""
    global _default_name
    if isinstance(sandbox, Backend):
        return sandbox, False
    config = sandbox_config(sandbox)
    name = config.backend
    checked = False
    if name is None:
        if _default_name is None:
            _default_name = default_backend_name()
            checked = True
        name = _default_name
    backend = get_backend(name, config)
    from .backends.namespace import NamespaceBackend

    # default_backend_name ran NamespaceBackend's check (it reads no config): the same one?
    return backend, checked and type(backend).check is NamespaceBackend.check


def make_job(item: JobLike, defaults: dict[str, Any], where: str = "job") -> Job:
    """Build a Job from a Job, a ``(program, tests)`` pair or a dict, with batch defaults."""
    if isinstance(item, Job):
        return item
    if isinstance(item, tuple):
        if len(item) != 2:
            raise InvalidJobError(f"{where}: expected a (program, tests) pair, got a tuple of {len(item)}")
        return Job(program=item[0], tests=item[1], **defaults)
    if isinstance(item, dict):
        data = dict(defaults)
        data.update({k: v for k, v in item.items() if k in ("program", "tests", "job_id", "mode", "compare", "stop_on_failure")})
        if "program" not in item:
            raise InvalidJobError(f"{where}: missing field 'program'")
        if "tests" not in item:
            raise InvalidJobError(f"{where}: missing field 'tests'")
        # A job's own limits (a Limits, or the dict Job.to_dict writes): never dropped unread.
        lim = item.get("limits")
        if isinstance(lim, dict):
            data["limits"] = Limits.from_dict(lim)
        elif isinstance(lim, Limits):
            data["limits"] = lim
        elif lim is not None:
            raise InvalidJobError(f"{where}: field 'limits' must be a Limits or a dict of its fields, got {type(lim).__name__}")
        return Job(**data)
    raise InvalidJobError(f"{where}: expected a Job, a (program, tests) pair or a dict, got {type(item).__name__}")


def sandbox_error_report(job: Job, backend: str, message: str) -> Report:
    """The report of a job the sandbox could not run: every test ``sandbox_error``."""
    outcome = Outcome(Status.SANDBOX_ERROR, message=message)
    return Report(
        outcomes=tuple(outcome for _ in job.tests),
        job_id=job.job_id,
        backend=backend,
        isolation="",
        mode=job.mode,
        compare=job.compare,
        warnings=(f"sandbox error: {message}",),
    )


@dataclass
class _Work:
    index: int
    job: Job | None
    error: str | None = None
    job_id: Any = None  # an invalid item's own job_id, when it names one


def _build(index: int, item: Any, defaults: dict[str, Any]) -> _Work:
    """Batch item ``index`` as work: its Job, or the error that says (naming the index) why
    there is none. Any exception building it is that item's error: one item whose
    validation raised past InvalidJobError (a limit of 10**400: OverflowError) ended the
    whole batch, every other job's report lost."""
    where = f"job {index}"
    try:
        return _Work(index, make_job(item, defaults, where=where))
    except Exception as exc:  # noqa: BLE001 - reported as that job's error
        text = str(exc) if isinstance(exc, InvalidJobError) else f"{type(exc).__name__}: {exc}"
        if not text.startswith(where + ":"):
            text = f"{where}: {text}"
        job_id = item.get("job_id") if isinstance(item, dict) else None
        return _Work(index, None, text, job_id if isinstance(job_id, str) else None)


class Executor:
    """A pool of sandboxes of one backend, set up as a :class:`SandboxConfig` says.

    ``sandbox``: a SandboxConfig, a backend name (``SandboxConfig(backend=name)``), a
    Backend instance (used as is, with its own config), or None (the defaults: the
    namespace sandbox, refused with SandboxUnavailableError where it cannot run; the
    weak ``process`` backend only when named). Use as a context manager.

    >>> with Executor(SandboxConfig(workers=2)) as ex:
    ...     reports = ex.map([("def f(): return 1", ["assert f() == 1"])])
    """

    def __init__(self, sandbox: Sandbox = None) -> None:
        self._pid = os.getpid()  # a forked child inherits the object, never the sandboxes
        self.backend, checked = _resolve_backend(sandbox)
        self.config: SandboxConfig = self.backend.config
        if not checked:  # once is enough: the namespace probe starts a sandbox (10-20 ms)
            self.backend.check()
        self.workers = self.config.workers or self.backend.default_workers()
        self._sessions: list[Session | None] = [None] * self.workers
        self._lock = threading.Lock()
        self._closed = False
        _LIVE.add(self)
        # Worker slots: whoever runs a job (a batch thread or a ``run`` caller) holds one.
        self._free: queue.Queue[int] = queue.Queue()
        for w in range(self.workers):
            self._free.put(w)
        # Start every sandbox now, in parallel: an unusable host fails loudly before any
        # job, and no batch pays a start-up in the middle.
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=self.workers)
        futures = [pool.submit(self.backend.open_session, w) for w in range(self.workers)]
        try:
            pool.shutdown(wait=True)
        except BaseException:
            # Ctrl-C while they start: each sandbox is closed once started, then the backend
            # (none was stored here: they ran on until the host exited).
            self._closed = True
            left = [len(futures)]

            def opened(f: Any) -> None:
                try:
                    if not f.cancelled() and f.exception() is None:
                        f.result().close()
                finally:
                    with self._lock:
                        left[0] -= 1
                        last = left[0] == 0
                    if last:
                        self.backend.close()

            for f in futures:
                f.cancel()
                f.add_done_callback(opened)
            raise
        errors = [f.exception() for f in futures if f.exception() is not None]
        for w, f in enumerate(futures):
            if f.exception() is None:
                self._sessions[w] = f.result()
        if errors:
            self.close()
            raise errors[0]  # type: ignore[misc]

    # ---------------------------------------------------------- sessions
    def _session(self, worker: int, abort: threading.Event | None = None) -> Session:
        """``worker``'s sandbox, started if need be; ``abort``: set when the batch asking for it
        was interrupted (it kills its sandboxes: none may start behind it)."""
        aborted = abort.is_set if abort is not None else lambda: False
        with self._lock:
            if self._closed or aborted():
                raise SandboxUnavailableError("executor is closed")
            s = self._sessions[worker]
        if s is None:
            s = self.backend.open_session(worker)
            with self._lock:
                if self._closed or aborted():
                    s.close()
                    raise SandboxUnavailableError("executor is closed")
                self._sessions[worker] = s
        return s

    def _drop(self, worker: int) -> None:
        with self._lock:
            s, self._sessions[worker] = self._sessions[worker], None
        if s is not None:
            s.close()

    def _run_one(self, worker: int, job: Job, then: Job | None = None, abort: threading.Event | None = None) -> Report:
        """Run ``job`` on ``worker``'s sandbox; ``then``: the job that worker runs next;
        ``abort``: set when the batch of the job is interrupted (no retry then)."""
        last = ""
        for _attempt in range(2):
            try:
                session = self._session(worker, abort)
                session.hint_next(then)
                return session.run(job)
            except InvalidJobError as exc:
                # The caller's test does not parse (or its arguments are not plain data):
                # the job's fault, reported as errors, never as a sandbox failure.
                return _invalid_report(str(exc), job)
            except SandboxError as exc:
                last = f"{type(exc).__name__}: {exc}"
                self._drop(worker)
                if abort is not None and abort.is_set():
                    break
        return sandbox_error_report(job, self.backend.name, last)

    # ----------------------------------------------------------- batches
    def imap(
        self,
        jobs: Iterable[JobLike],
        *,
        ordered: bool = True,
        progress: bool = False,
        total: int | None = None,
        defaults: dict[str, Any] | None = None,
        window: int | None = None,
    ) -> Iterator[tuple[int, Report]]:
        """Yield ``(index, report)`` for every job; in input order if ``ordered``.

        At most ``window`` jobs (default ``4 * workers``) are read ahead of the results,
        so the input may be a lazy iterator of any length. In order, one slow job holds
        the reading back (workers idle once ``window`` jobs wait behind it): callers that
        key results by index should pass ``ordered=False``. A job that cannot even be
        built (bad fields) yields a report whose single outcome is ``error`` naming the
        field, and the batch goes on. If reading the input raises, the jobs read before it
        are reported first, then the error is raised.
        """
        self._check_usable()
        defaults = defaults or {}
        window = window or 4 * self.workers
        # SimpleQueue: a hand-off between threads at half the CPU of a Queue (no Condition).
        inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        stop = threading.Event()
        # The worker slots this batch's threads hold: the only sandboxes it may kill (under self._lock).
        held: set[int] = set()

        def take(block: bool) -> Any:
            try:
                return inbox.get(block=block)
            except queue.Empty:
                return None

        def worker() -> None:
            # Each batch worker keeps one sandbox while jobs are waiting and tells it which
            # job comes next, so the sandbox starts it while this thread is still judging the
            # last results. It holds a slot only while it has a job: one kept while waiting
            # for more of its batch's input deadlocked batches sharing the executor (each
            # batch's last job waited for a slot that another batch's idle worker held).
            item = take(True)
            while item is not _SENTINEL and not stop.is_set():
                w = self._free.get()
                with self._lock:
                    held.add(w)
                try:
                    while item is not None and item is not _SENTINEL and not stop.is_set():
                        nxt = take(False)
                        if item.job is None:
                            outbox.put((item.index, _invalid_report(item.error or "invalid job").with_job_id(item.job_id)))
                        else:
                            then = nxt.job if nxt is not None and nxt is not _SENTINEL else None
                            try:
                                outbox.put((item.index, self._run_one(w, item.job, then, stop)))
                            except BaseException as exc:  # noqa: BLE001 - never lose a result
                                outbox.put((item.index, sandbox_error_report(item.job, self.backend.name, repr(exc))))
                        item = nxt
                finally:
                    with self._lock:
                        held.discard(w)
                    self._free.put(w)
                if item is None:
                    item = take(True)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.workers)]
        for t in threads:
            t.start()
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total if total is not None else (len(jobs) if hasattr(jobs, "__len__") else None), unit="job")  # type: ignore[arg-type]
        it = iter(jobs)
        submitted = 0
        exhausted = False
        failed: Exception | None = None  # what the input raised: raised once its jobs are reported
        next_out = 0
        pending: dict[int, Report] = {}
        try:
            while True:
                while not exhausted and submitted - next_out < window:
                    try:
                        item = next(it)
                    except StopIteration:
                        exhausted = True
                        break
                    except Exception as exc:  # noqa: BLE001 - the caller's input failed: raised below
                        # The jobs read before it still run and are reported first (Ctrl-C is not
                        # an Exception: it interrupts the batch at once).
                        failed, exhausted = exc, True
                        break
                    inbox.put(_build(submitted, item, defaults))
                    submitted += 1
                if exhausted and next_out >= submitted:
                    if failed is not None:
                        raise failed
                    break
                index, report = outbox.get()
                if bar is not None:
                    bar.update(1)
                if not ordered:
                    next_out += 1
                    yield index, report
                    continue
                pending[index] = report
                while next_out in pending:
                    yield next_out, pending.pop(next_out)
                    next_out += 1
        finally:
            stop.set()
            # Unblock every worker, then kill the sandboxes so no job outlives us.
            while True:
                try:
                    inbox.get_nowait()
                except queue.Empty:
                    break
            for _ in threads:
                inbox.put(_SENTINEL)
            interrupted = next_out < submitted
            if interrupted:
                # Interrupted mid-batch (Ctrl-C, generator closed): kill its running sandboxes
                # now, and only its own: another thread's ``run`` may be using the others.
                # Each is taken out of its slot while this batch still holds the slot (under
                # the lock its workers give slots back with), then killed outside the lock: a
                # slot given back meanwhile starts a fresh sandbox for its next holder.
                doomed = []
                with self._lock:
                    for w in held:
                        doomed.append(self._sessions[w])
                        self._sessions[w] = None
                _close_together([s for s in doomed if s is not None])
            for t in threads:
                t.join(timeout=30)
            if bar is not None:
                bar.close()

    def map(self, jobs: Iterable[JobLike], **kwargs: Any) -> list[Report]:
        """Run every job and return the reports in input order.

        Jobs are taken as workers free up, whatever the order they finish in (one slow
        job never holds the others back)."""
        kwargs.pop("ordered", None)
        out: dict[int, Report] = {}
        for i, report in self.imap(jobs, ordered=False, **kwargs):
            out[i] = report
        return [out[i] for i in range(len(out))]

    def run(self, job: Job) -> Report:
        """Run one job on a free sandbox (blocks while all are busy); thread-safe."""
        self._check_usable()
        w = self._free.get()
        try:
            return self._run_one(w, job)
        finally:
            self._free.put(w)

    def _check_usable(self) -> None:
        """Refuse a closed executor, or one inherited through fork: every job would end
        sandbox_error, or (a fork) reach the parent's sandboxes, whose replies both
        processes read: a job got the other process's verdicts."""
        if self._pid != os.getpid():
            raise SandboxUnavailableError(
                f"this Executor belongs to process {self._pid} (this process was forked from it): open one here"
            )
        if self._closed:  # every job would end sandbox_error: say why instead
            raise SandboxUnavailableError("this Executor is closed: open a new one")

    # ------------------------------------------------------------ closing
    def close(self) -> None:
        if self._pid != os.getpid():
            # Inherited through fork: the sandboxes are the parent's, still in use there (a
            # forked child that exits normally runs the atexit close: it killed them).
            self._closed = True
            return
        with self._lock:
            self._closed = True
            sessions, self._sessions = self._sessions, [None] * self.workers
        try:
            _close_together([s for s in sessions if s is not None])
        finally:
            self.backend.close()  # its own resources (e.g. a docker transport), whatever a session raised

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close_together(sessions: list[Session]) -> None:
    """Close every session at once (each close waits for its sandbox's processes to be
    gone); one after another where no thread can start (an exit handler at shutdown)."""
    errors: list[BaseException] = []

    def close(s: Session) -> None:
        try:
            s.close()
        except BaseException as exc:  # noqa: BLE001 - raised below, once all are closed
            errors.append(exc)

    threads = []
    for s in sessions[1:]:
        t = threading.Thread(target=close, args=(s,), daemon=True)
        try:
            t.start()
        except RuntimeError:
            close(s)
            continue
        threads.append(t)
    if sessions:
        close(sessions[0])
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _invalid_report(message: str, job: Job | None = None) -> Report:
    """A job that cannot run as given: one ``error`` outcome per test (one if unknown)."""
    n = len(job.tests) if job is not None and job.tests else 1
    outcome = Outcome(Status.ERROR, message=message)
    return Report(
        outcomes=(outcome,) * n,
        job_id=job.job_id if job is not None else None,
        warnings=(f"invalid job: {message}",),
    )


# ------------------------------------------------------- shared executors

_shared: dict[SandboxConfig | int, Executor] = {}
_shared_lock = threading.Lock()
_LIVE: "weakref.WeakSet[Executor]" = weakref.WeakSet()
"""Every executor not yet garbage-collected: closed at exit, so one its owner never closed
still kills its sandboxes and removes its cgroups."""


def shared_executor(sandbox: Sandbox = None) -> Executor:
    """A process-wide executor per SandboxConfig value, reused by ``run_tests`` (closed at exit)."""
    target: SandboxConfig | Backend = sandbox if isinstance(sandbox, Backend) else sandbox_config(sandbox)
    key: SandboxConfig | int = id(target) if isinstance(target, Backend) else target
    with _shared_lock:
        ex = _shared.get(key)
        if ex is None or ex._closed or ex._pid != os.getpid():
            ex = Executor(target)
            _shared[key] = ex
        return ex


def _after_fork_in_child() -> None:
    """A forked host opens executors of its own: its parent's are the parent's (their lock
    may have been held by one of the parent's threads at the fork)."""
    global _shared_lock
    _shared_lock = threading.Lock()
    _shared.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_shared() -> None:
    with _shared_lock:
        for ex in _shared.values():
            ex.close()
        _shared.clear()
    for ex in list(_LIVE):
        if not ex._closed:
            ex.close()


def limits_from(timeout_s: float | None, limits: Limits | None) -> Limits:
    """``limits`` (default: Limits()) with ``timeout_s`` in place when one is given."""
    base = limits if limits is not None else Limits()
    if limits is not None and not isinstance(limits, Limits):
        raise InvalidJobError(f"limits must be a Limits, got {type(limits).__name__}")
    if timeout_s is None:
        return base
    from dataclasses import replace

    return replace(base, timeout_s=timeout_s)

