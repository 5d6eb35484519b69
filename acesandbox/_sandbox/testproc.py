"""The test process Q: a test's own code, run where no program process can reach it.

For a test whose shape the splitter cannot take apart (a loop over random inputs, a
test helper applied to results, ...) the server forks Q from itself (it never ran
program code) while the program's process (J, or T_k) only serves calls. Q runs the
whole test source in a fresh namespace where each name the program defines is a
value or a :class:`Handle` fetched from it; only calls into the program cross, by
value (:mod:`acesandbox._wire`), over a socket pair the server made for this test.
Q's verdict goes to the server on Q's own pipe, which no program process holds.

Channel messages are 4-byte big-endian length + JSON lists. Q -> program:
``["get", name]``, ``["has", name]`` (a library name: reply ``["v", 0 | 1 | 2]``, the
program lacks it, holds a module there, holds something else), ``["call", handle, args,
kwargs]``, ``["attr", handle, name]``, ``["end"]``; an argument is ``["v",
wire]`` or ``["h", handle]``. Program -> Q: ``["v", wire]`` (a value), ``["h", id,
type name]`` (a handle), ``["mod", name, id, type name]`` (a module: Q uses its own copy
where it has one), ``["m"]`` (no such name), ``["x", {type, mro, msg}]`` (the call
raised), ``["a", position or keyword]`` (a call returned that argument itself, which had
crossed by value: Q's own object is the value, so ``is``/``is not`` against the test's
object mean what they mean in one process); a call's ``v``/``h``/``a`` reply ends with ``[[position or keyword, wire], ...]``, the
list, dict, set and bytearray arguments as the call left them (copied back in place). Verdict (Q -> server, JSON): ``{"v": "pass" | "fail" | "error" |
"crashed" | "memory" | "strict", "msg": ...}``.
"""

from __future__ import annotations

import builtins
import json
import math
import os
import resource
import struct
import sys
from collections.abc import Iterable
from types import ModuleType
TYPE_CHECKING = False  # no typing at run time (see __init__.py)
if TYPE_CHECKING:
    from typing import Any

from .. import _wire
from .procs import oom_adj, prctl

MAX_REPLY = _wire.DEFAULT_MAX_BYTES
"""Largest reply Q reads from the program; a longer one is the program's crash."""
MAX_VERDICT = 1 << 16
"""Largest verdict the server reads from Q."""
_DEPTH = 3 * _wire.DEFAULT_MAX_DEPTH + 16


class ProgramGone(BaseException):
    """The program's side of the channel closed, or broke the protocol: the test crashed."""


class ProgramExit(BaseException):
    """The program called exit() (or was interrupted) during a call."""


class StrictModeError(BaseException):
    """A handle was compared, hashed, iterated or tested for truth in strict mode."""


class ProgramMemoryError(MemoryError):
    """The program ran out of memory during a call."""


# -- framing (both sides) ---------------------------------------------------------


def send_msg(fd: int, obj: list[Any]) -> None:
    data = json.dumps(obj, separators=(",", ":"), allow_nan=True).encode("utf-8", "surrogatepass")
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def recv_msg(fd: int, limit: int) -> bytes | None:
    """One message's bytes, None at end of file; over ``limit`` raises ProgramGone."""
    head = _read_exact(fd, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    if n > limit:
        raise ProgramGone(f"the program sent a reply of {n} bytes (limit {limit})")
    data = _read_exact(fd, n)
    if data is None:
        raise ProgramGone("the program's process closed the channel mid-reply")
    return data


def _read_exact(fd: int, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        try:
            chunk = os.read(fd, min(n - len(buf), 1 << 20))
        except OSError:
            chunk = b""
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


# -- Q: the test's side ----------------------------------------------------------------


class _SameArg:
    """A call's reply naming one of its by-value arguments as the value it returned."""

    __slots__ = ("key",)

    def __init__(self, key: int | str) -> None:
        self.key = key


class _Rpc:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.handles: dict[int, Handle] = {}
        self.strict: str | None = None  # the first strict-mode violation, even if the test caught it
        self.gone: BaseException | None = None  # the program broke the channel (even if the test caught it)
        self.back: list[tuple[int | str, Any]] = []  # the last call's mutable arguments, as the program left them
        self.globs: list[tuple[int | str, Any]] = []  # the program's globals the test reads, after the last call
        self.ns: dict[str, Any] = {}  # the test's namespace
        self.placed: dict[str, Any] = {}  # the object Q bound to each synced name (still the test's view?)
        self.synced: dict[str, str | None] = {}  # program globals the test reads as values: last crossed form (containers)

    def ask(self, request: list[Any]) -> tuple[bool, Any]:
        """Send a request; (found, value). Exceptions the program raised are raised here."""
        if self.gone is not None:
            raise self.gone
        try:
            return self._ask(request)
        except (ProgramGone, ProgramExit) as exc:
            self.gone = exc
            raise

    def _ask(self, request: list[Any]) -> tuple[bool, Any]:
        try:
            send_msg(self.fd, request)
        except OSError:
            raise ProgramGone("the program's process closed the channel") from None
        data = recv_msg(self.fd, MAX_REPLY)
        if data is None:
            raise ProgramGone("the program's process ended during a call")
        try:
            _wire.check_depth(data, _DEPTH)
            reply = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError):
            raise ProgramGone("the program sent a malformed reply") from None
        if type(reply) is not list or not reply or type(reply[0]) is not str:
            raise ProgramGone("the program sent a malformed reply")
        tag = reply[0]
        self.back, self.globs = [], []
        if tag in ("v", "h", "a") and len(reply) == (5 if tag == "h" else 4):
            self.globs = self._back(reply.pop())  # the program's globals the test reads, as they are now
            self.back = self._back(reply.pop())  # the call's arguments as the program left them
        if tag == "v" and len(reply) == 2:
            try:
                return True, _wire.decode(reply[1])
            except _wire.WireFormatError:
                raise ProgramGone("the program sent a malformed value") from None
        if tag == "a" and len(reply) == 2 and request[0] == "call" and type(reply[1]) in (int, str):
            return True, _SameArg(reply[1])
        if tag == "h" and len(reply) == 3 and type(reply[1]) is int and type(reply[2]) is str:
            hid = reply[1]
            handle = self.handles.get(hid)
            if handle is None:
                handle = self.handles[hid] = Handle(self, hid, reply[2][:200])
            return True, handle
        if tag == "m" and len(reply) == 1:
            return False, None
        if tag == "mod" and len(reply) == 4 and type(reply[1]) is str and type(reply[2]) is int and type(reply[3]) is str:
            own = _own_module(reply[1])  # the program's module: Q's own copy where it has one
            if own is not None:
                return True, own
            hid = reply[2]
            handle = self.handles.get(hid)
            if handle is None:
                handle = self.handles[hid] = Handle(self, hid, reply[3][:200])
            return True, handle
        if tag == "x" and len(reply) == 2 and type(reply[1]) is dict:
            raise _program_exception(reply[1])
        raise ProgramGone("the program sent a malformed reply")

    @staticmethod
    def _back(back: Any) -> list[tuple[int | str, Any]]:
        if type(back) is not list:
            raise ProgramGone("the program sent a malformed reply")
        out: list[tuple[int | str, Any]] = []
        for item in back:
            if type(item) is not list or len(item) != 2 or type(item[0]) not in (int, str):
                raise ProgramGone("the program sent a malformed reply")
            try:
                out.append((item[0], _wire.decode(item[1])))
            except _wire.WireFormatError:
                raise ProgramGone("the program sent a malformed value") from None
        return out

    def call(self, hid: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call handle ``hid``; lists, dicts, sets and bytearrays the test passed are then
        updated in place to the state the program left them in (a by-value copy-back, so a
        test that reads back an argument the program sorted or filled still works)."""
        request = ["call", hid, [self.arg(a) for a in args], {k: self.arg(v) for k, v in kwargs.items()}, self.dirty()]
        value = self.ask(request)[1]
        for name, new in self.globs:
            if type(name) is not str or name not in self.synced:
                raise ProgramGone("the program sent a malformed reply")
            cur = self.ns.get(name)
            if cur is not self.placed.get(name):
                continue  # the test rebound the name (an assignment, a star import): its own now
            if type(cur) is type(new) and _update(cur, new):
                pass
            else:
                self.ns[name] = new
                self.placed[name] = new
            self.synced[name] = _encoded(self.ns[name])
        for key, new in self.back:
            if type(key) is int and 0 <= key < len(args):
                orig = args[key]
            elif type(key) is str and key in kwargs:
                orig = kwargs[key]
            else:
                raise ProgramGone("the program sent a malformed reply")
            if type(orig) is type(new):  # else the program's copy became another type: the test's stays
                _update(orig, new)
        if type(value) is _SameArg:  # the program returned an argument itself: the test's object
            key = value.key
            if type(key) is int and 0 <= key < len(args) and type(args[key]) is not Handle:
                value = args[key]
            elif type(key) is str and key in kwargs and type(kwargs[key]) is not Handle:
                value = kwargs[key]
            else:
                raise ProgramGone("the program sent a malformed reply")
        return value

    def dirty(self) -> list[list[Any]]:
        """The program's globals the test changed since they last crossed (the test mutated
        a list it read, say), as ``[name, wire]``: applied in the program before a call."""
        out: list[list[Any]] = []
        for name, last in self.synced.items():
            if self.ns.get(name) is not self.placed.get(name):
                continue  # rebound by the test: its own value, never sent to the program
            now = _encoded(self.ns.get(name))
            if now is not None and now != last:
                out.append([name, _wire.encode(self.ns.get(name))])
                self.synced[name] = now
        return out

    def arg(self, value: Any) -> list[Any]:
        if type(value) is Handle:
            return ["h", value._ace_id]
        try:
            return ["v", _wire.encode(value)]
        except _wire.UnserializableValue as exc:
            raise TypeError(f"cannot pass this value into the program's process: {exc}") from None

    def violate(self, what: str, handle: Handle) -> StrictModeError:
        msg = f"strict mode: {what} a {handle._ace_type} object of the program's (it cannot cross by value)"
        if self.strict is None:
            self.strict = msg
        return StrictModeError(msg)


_NEVER_IMPORT = frozenset({"antigravity", "this", "site", "test", "idlelib", "turtledemo", "tkinter", "ensurepip", "venv", "pydoc"})


def _own_module(name: str) -> Any:
    """Q's own (unpatched) module named ``name`` if it is already loaded here, or a
    top-level standard-library module; None otherwise (then the program's stays a handle).

    The name comes from the program: Q must never import what the program chose to run
    code with (``unittest.__main__`` runs test discovery in the scratch, where the program
    wrote a file), so a submodule is used only if Q already loaded it, and nothing
    dunder-named or on the deny list is ever imported."""
    parts = name.split(".")
    if any(not p or p.startswith("_") or p in _NEVER_IMPORT for p in parts):
        return None
    module = sys.modules.get(name)
    if module is not None:
        return module
    if len(parts) != 1 or name not in getattr(sys, "stdlib_module_names", ()):
        return None
    import importlib

    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - then the program's module stays a handle
        return None


# -- library names: the library's own objects, never the program's --------------------------

LIBRARY_MODULES: dict[str, str] = {
    "np": "numpy", "numpy": "numpy",
    "pd": "pandas", "plt": "matplotlib.pyplot", "sns": "seaborn", "stats": "scipy.stats",
    **{name: name for name in (
        "math", "cmath", "statistics", "fractions", "decimal", "itertools", "functools", "collections", "heapq",
        "bisect", "operator", "re", "string", "json", "random", "copy", "datetime", "time", "os", "sys",
        "hashlib", "base64", "struct", "unicodedata", "textwrap", "calendar",
        "shutil", "csv", "zipfile", "sqlite3", "gzip", "subprocess", "urllib", "logging", "pickle", "glob",
        "tarfile", "socket", "io", "pathlib", "requests",
    )},
}  # fmt: skip
"""Free names of a test that name a library module (tests read ``math``, ``np``, ``re``,
``pd``, ``plt``... relying on the program's import): Q binds the library's own module,
whatever the program holds there (one Q cannot import leaves the name unbound). Where the
module has an attribute of its own name (``from datetime import datetime``, ``from random
import random``, ``from glob import glob``), the program's binding only picks which of the
two library objects it is: a module there means the module, anything else the attribute."""

_SUBMODULES: dict[str, tuple[str, ...]] = {"urllib": ("urllib.request", "urllib.parse", "urllib.error")}
"""Submodules a test reads through a library module's name (``urllib.parse.quote``) that
importing the package alone does not load: the program's ``import urllib.request`` did."""

LIBRARY_CALLABLES: dict[str, tuple[str, str]] = {
    **{name: ("collections", name) for name in ("Counter", "defaultdict", "OrderedDict", "deque", "namedtuple", "ChainMap")},
    **{name: ("math", name) for name in ("isclose", "sqrt", "isqrt", "floor", "ceil", "fsum", "hypot", "pi", "inf", "tau")},
    **{name: ("itertools", name) for name in (
        "combinations", "combinations_with_replacement", "permutations", "product", "chain", "accumulate",
        "groupby", "islice", "zip_longest", "cycle", "starmap",
    )},
    **{name: ("functools", name) for name in ("reduce", "cmp_to_key")},
    **{name: ("heapq", name) for name in ("heappush", "heappop", "heappushpop", "nlargest", "nsmallest")},
    **{name: ("bisect", name) for name in ("bisect_left", "bisect_right", "insort")},
    **{name: ("string", name) for name in ("ascii_lowercase", "ascii_uppercase", "ascii_letters", "punctuation")},
    "Fraction": ("fractions", "Fraction"), "Decimal": ("decimal", "Decimal"), "deepcopy": ("copy", "deepcopy"),
    "randint": ("random", "randint"), "timedelta": ("datetime", "timedelta"),
    "Path": ("pathlib", "Path"), "StringIO": ("io", "StringIO"), "BytesIO": ("io", "BytesIO"),
    **{name: ("scipy.stats", name) for name in ("zscore", "skew", "norm")},
    "curve_fit": ("scipy.optimize", "curve_fit"), "LinearRegression": ("sklearn.linear_model", "LinearRegression"),
    "StandardScaler": ("sklearn.preprocessing", "StandardScaler"),
    "MinMaxScaler": ("sklearn.preprocessing", "MinMaxScaler"),
    "KMeans": ("sklearn.cluster", "KMeans"), "PCA": ("sklearn.decomposition", "PCA"),
}  # fmt: skip
"""Free names of a test that name a library callable or constant the test uses as a helper
(``Counter(f(x)) == Counter([...])``, ``isclose(f(x), y)``, ``Path(...)``,
``LinearRegression()``). None of them is a name some real program binds to anything else
(HumanEval, HumanEval+, MBPP, MBPP+, BigCodeBench and their samples: ``gcd``, ``lcm``,
``factorial``, ``heapify``, ``median``, ``digits`` are functions some define, and are not
listed; every program that binds ``norm`` or ``skew`` imports it from ``scipy.stats``). Still, a test
that reads no program name besides library names must be testing one of them: then they
stay the program's (see :func:`library_names`)."""


def library_names(names: Iterable[str], called: Iterable[str] = ()) -> dict[str, tuple[str, str | None]]:
    """Which of a test's free names (``_qtests.program_names``) resolve to the library's own
    object, as ``name -> (module, attribute or None)``, whatever the program binds there:
    every library module name the test does not call (``called``: names called as
    ``name(...)``; a module is not callable, so ``copy([1, 2])`` or ``io()`` is a function
    of the program's, the one under test, as before), and the library callables when the
    test also reads a name of the program's own (then that is the function under test,
    and ``Counter`` or ``isclose`` are its helpers); a test that reads only library names
    is testing one of the callables, which then stay the program's. The planner uses the
    same rule (``acesandbox._checks``): a hole read through one of these names is not the
    program's value, and the test runs here."""
    names = set(names)
    skip = set(called)
    out: dict[str, tuple[str, str | None]] = {
        n: (LIBRARY_MODULES[n], None) for n in names if n in LIBRARY_MODULES and n not in skip
    }
    if names - LIBRARY_MODULES.keys() - LIBRARY_CALLABLES.keys():
        out.update((n, LIBRARY_CALLABLES[n]) for n in names if n in LIBRARY_CALLABLES)
    return out


def _parse(source: str) -> Any:
    """The test's syntax tree, parsed once for :func:`called_in` and the compiler; None where
    it does not parse (compiling the source then raises that as the test's own error)."""
    import ast

    try:
        return ast.parse(source, "<test>")
    except (SyntaxError, ValueError, RecursionError):
        return None


def called_in(nodes: Iterable[Any]) -> frozenset[str]:
    """The names called as ``name(...)`` among a test's syntax-tree ``nodes`` (the planner
    passes those of the test as it rewrote it)."""
    import ast

    return frozenset(n.func.id for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name))


def _library_object(name: str, spec: tuple[str, str | None], kind: int) -> Any:
    """Q's own library object for ``name`` (``spec`` from :func:`library_names`; ``kind``: what
    the program holds there, 1 a module, 2 anything else), or None where Q cannot import it."""
    import contextlib
    import importlib

    module_name, attr = spec
    module = sys.modules.get(module_name)
    if module is None:
        try:
            module = importlib.import_module(module_name)  # dotted too: matplotlib.pyplot, scipy.stats
        except Exception:  # noqa: BLE001 - then the name stays unbound, never the program's
            return None
    for sub in _SUBMODULES.get(module_name, ()):
        if sub not in sys.modules:
            with contextlib.suppress(Exception):  # then reading it fails in the test, as it would have
                importlib.import_module(sub)
    if attr is not None:
        return getattr(module, attr, None)
    if kind == 2:  # ``from datetime import datetime``: the library's datetime class
        own = getattr(module, name, None)
        if own is not None and not isinstance(own, ModuleType):
            return own
    return module


def _program_exception(info: dict[str, Any]) -> BaseException:
    """The program's exception as one Q can raise: the nearest builtin Exception class in
    its MRO (``except ValueError`` in a test works), else a plain Exception."""
    name = str(info.get("type", "Exception"))[:200]
    msg = str(info.get("msg", ""))[:2000]
    mro = info.get("mro")
    names = [str(n) for n in mro] if isinstance(mro, list) else [name]
    if "SystemExit" in names or "KeyboardInterrupt" in names or "GeneratorExit" in names:
        return ProgramExit(f"the program raised {name} during a call")
    if "MemoryError" in names:
        return ProgramMemoryError(msg)
    if "StopIteration" in names or "StopAsyncIteration" in names:
        # Raised here it would end the test's own loop early (all(map(f, xs)) is then True):
        # as Python does for a generator, it becomes a RuntimeError.
        return RuntimeError(f"the program raised {name} from a call")
    for n in names:
        cls = getattr(builtins, n, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                return cls(msg) if n == name else cls(f"{name}: {msg}")
            except Exception:  # noqa: BLE001 - a builtin whose constructor wants other arguments
                break
    return Exception(f"{name}: {msg}")


_MUTABLE = (list, dict, set, bytearray)


def _update(orig: Any, new: Any) -> bool:
    """Make the container ``orig`` hold ``new``'s items in place; False if it is not one."""
    if type(orig) in (list, bytearray):
        orig[:] = new
    elif type(orig) in (dict, set):
        orig.clear()
        orig.update(new)
    else:
        return False
    return True


def _encoded(value: Any) -> str | None:
    """A comparable wire form of a mutable container (None for anything else)."""
    if type(value) not in _MUTABLE:
        return None
    try:
        return json.dumps(_wire.encode(value), sort_keys=True, allow_nan=True)
    except (_wire.UnserializableValue, TypeError, ValueError):
        return None


class Handle:
    """A program value that cannot cross by value: calls and attributes cross again;
    comparing, hashing, iterating or truth-testing it fails the test (strict mode: the
    program's own methods would decide), even where the test catches the exception."""

    __slots__ = ("__weakref__", "_ace_id", "_ace_rpc", "_ace_type")
    _ace_rpc: _Rpc
    _ace_id: int
    _ace_type: str

    def __init__(self, rpc: _Rpc, hid: int, type_name: str) -> None:
        object.__setattr__(self, "_ace_rpc", rpc)
        object.__setattr__(self, "_ace_id", hid)
        object.__setattr__(self, "_ace_type", type_name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._ace_rpc.call(self._ace_id, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_ace_"):
            raise AttributeError(name)
        return self._ace_rpc.ask(["attr", self._ace_id, name])[1]

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("cannot set attributes of the program's objects from a test")

    def __repr__(self) -> str:
        return f"<{self._ace_type} object of the program's>"

    def _ace_refuse(self, what: str) -> StrictModeError:
        return self._ace_rpc.violate(what, self)

    def __eq__(self, other: object) -> bool:
        raise self._ace_refuse("comparing")

    __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__

    def __hash__(self) -> int:
        raise self._ace_refuse("hashing")

    def __bool__(self) -> bool:
        raise self._ace_refuse("testing the truth of")

    def __len__(self) -> int:
        raise self._ace_refuse("taking the length of")

    def __iter__(self) -> Any:
        raise self._ace_refuse("iterating")

    def __contains__(self, item: object) -> bool:
        raise self._ace_refuse("searching")

    def __index__(self) -> int:
        raise self._ace_refuse("using as a number")

    __int__ = __float__ = __index__


def _run_unittests(ns: dict[str, Any], before: dict[str, Any]) -> dict[str, Any] | None:
    from .kinds import run_suite

    # unittest runs setUpModule/tearDownModule from sys.modules[the classes' __module__]:
    # the test's namespace is no module here, so without this a check in setUpModule never
    # ran and any program passed (in the program's process its module holds them).
    name = ns.get("__name__")
    if isinstance(name, str) and name not in sys.modules:
        module = ModuleType(name)
        for hook in ("setUpModule", "tearDownModule"):
            if hook in ns:
                setattr(module, hook, ns[hook])
        sys.modules[name] = module
    result = run_suite(ns, before)
    for test, text in result.failures:
        return {"v": "fail", "msg": text[-2000:]}
    for test, text in result.errors:
        return {"v": "error", "msg": f"{test}\n{text[-4000:]}"}
    if result.testsRun == 0:
        return {"v": "error", "msg": "NoTests: no unittest test methods found"}
    return None


def run_q(source: str, names: list[str], chan: int, unittest_test: bool) -> dict[str, Any]:
    """Run the test source against the program behind ``chan``; the verdict."""
    import ast

    rpc = _Rpc(chan)
    verdict: dict[str, Any]
    try:
        ns = rpc.ns
        # As in the program's process (its module is __solution__): unittest.main() under
        # `if __name__ == "__main__"` does not run (it would end the test with SystemExit).
        ns.update({"__name__": "__solution__", "__builtins__": builtins})
        tree = _parse(source)
        library = library_names(names, called_in(ast.walk(tree)) if tree is not None else ())
        for name in names:
            if name in library:  # the library's own object: the program only says whether it has the name
                kind = rpc.ask(["has", name])[1]
                if type(kind) is not int or kind not in (0, 1, 2):
                    raise ProgramGone("the program sent a malformed reply")
                own = _library_object(name, library[name], kind) if kind else None
                if own is not None:
                    ns[name] = own
                continue
            found, value = rpc.ask(["get", name])
            if found:
                ns[name] = value
                if type(value) is not Handle and not isinstance(value, ModuleType):
                    rpc.synced[name] = _encoded(value)  # a value: kept in step with the program's
                    rpc.placed[name] = value
        before = dict(ns)
        exec(compile(source if tree is None else tree, "<test>", "exec", dont_inherit=True), ns)
        verdict = (_run_unittests(ns, before) if unittest_test else None) or {"v": "pass"}
        changed = rpc.dirty()
        if changed:  # the test's changes to the program's globals reach the program (shared mode)
            rpc.ask(["sync", changed])
    except ProgramGone as exc:
        verdict = {"v": "crashed", "msg": str(exc)}
    except ProgramExit as exc:
        verdict = {"v": "crashed", "msg": str(exc)}
    except StrictModeError as exc:
        verdict = {"v": "strict", "msg": str(exc)}
    except ProgramMemoryError:
        verdict = {"v": "memory", "msg": "MemoryError"}
    except AssertionError as exc:
        verdict = {"v": "fail", "msg": _assert_text(exc, source)}
    except BaseException as exc:  # noqa: BLE001 - the test's own error (or the program's, raised here)
        verdict = {"v": "error", "msg": _error_text(exc, source)}
    if rpc.gone is not None and verdict["v"] != "crashed":
        verdict = {"v": "crashed", "msg": str(rpc.gone)}  # even when the test caught it
    elif rpc.strict is not None and verdict["v"] in ("pass", "fail", "error"):
        verdict = {"v": "strict", "msg": rpc.strict}  # even when the test caught it
    try:
        send_msg(chan, ["end"])
    except OSError:
        pass
    return verdict


def _assert_text(exc: AssertionError, source: str) -> str:
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001
        text = ""
    return f"{_where(exc, source) or 'assertion'} failed" + (f": {text[:2000]}" if text else "")


def _where(exc: BaseException, source: str) -> str:
    """The test's line that raised, as ``test line N: <its text>``."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<test>"]
    if not frames or not frames[-1].lineno:
        return ""
    lineno = frames[-1].lineno
    lines = source.splitlines()
    text = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
    return f"test line {lineno}: {text[:300]}" if text else f"test line {lineno}"


def _error_text(exc: BaseException, source: str) -> str:
    try:
        text = f"{type(exc).__name__}: {exc}"
    except BaseException:  # noqa: BLE001
        text = type(exc).__name__
    where = _where(exc, source)
    return text[:2000] + (f" ({where})" if where else "")


def q_process(test: dict[str, Any], k: int, fds: dict[str, int], lim: dict[str, Any], cfg: dict[str, Any]) -> None:
    """Body of Q (forked by the fork template, never by a program process); never returns."""
    verdict_w = fds["verdict"]
    try:
        os.setsid()
        for fd in (0, 1, 2):
            os.dup2(fds["null"], fd)
        keep = sorted({verdict_w, fds["chan"], fds["codes"]})
        lo = 3
        for fd in keep:
            os.closerange(lo, fd)
            lo = fd + 1
        os.closerange(lo, 65536)
        prctl(4, 0)  # PR_SET_DUMPABLE 0 (inherited from the template already): no ptrace, no /proc/<Q>/mem
        oom_adj(500)
        _limit(resource.RLIMIT_CORE, 0)
        # A backstop: the server counts Q's CPU time into the test's (finer); SIGXCPU first.
        _limit(resource.RLIMIT_CPU, math.ceil(lim["timeout_s"]) + 1, math.ceil(lim["timeout_s"]) + 2)
        _limit(resource.RLIMIT_FSIZE, lim["max_file_mb"] << 20)
        if cfg.get("rlimit_as"):
            _limit(resource.RLIMIT_AS, (lim["memory_mb"] + cfg.get("as_slack_mb", 0)) << 20)
        source = _read_code(fds["codes"], k)
        os.close(fds["codes"])
        verdict = run_q(source, list(test.get("names", [])), fds["chan"], bool(test.get("unittest")))
    except BaseException as exc:  # noqa: BLE001 - Q never returns into the server's code
        verdict = {"v": "error", "msg": f"the test process failed: {type(exc).__name__}"}
    try:
        data = json.dumps(verdict, separators=(",", ":")).encode("utf-8", "replace")
        if len(data) > MAX_VERDICT:
            data = json.dumps({"v": verdict.get("v"), "msg": str(verdict.get("msg", ""))[:2000]}).encode("utf-8", "replace")
        os.write(verdict_w, data)
    except BaseException:  # noqa: BLE001
        pass
    os._exit(0)


def _limit(res: int, soft: int, hard: int | None = None) -> None:
    try:
        resource.setrlimit(res, (soft, soft if hard is None else hard))
    except (ValueError, OSError):
        pass


def _read_code(fd: int, k: int) -> str:
    """Test ``k``'s source from the job's code blob (a memfd only the server and Q hold)."""
    chunks = []
    off = 0
    while True:
        chunk = os.pread(fd, 1 << 20, off)
        if not chunk:
            break
        chunks.append(chunk)
        off += len(chunk)
    codes = json.loads(b"".join(chunks))
    source = codes[str(k)]
    if not isinstance(source, str):
        raise TypeError("malformed test code")
    return source


# -- the program's side (J, or T_k) ------------------------------------------------------


def take_channel(fdpass: int, k: int) -> int:
    """The channel to test ``k``'s Q, handed over by the server (older ones are dropped)."""
    import socket

    sock = socket.socket(fileno=os.dup(fdpass))
    try:
        while True:
            msg, fds, _flags, _addr = socket.recv_fds(sock, 64, 4)
            if not msg and not fds:
                return -1
            if msg == b"%d\n" % k and len(fds) == 1:
                return fds[0]
            for fd in fds:
                os.close(fd)
    except OSError:
        return -1
    finally:
        sock.close()


def serve(fd: int, g: dict[str, Any], exc_info: Any, flush: Any) -> None:
    """Answer Q's requests from the program's globals until Q ends or goes away."""
    handles: list[Any] = []
    ids: dict[int, int] = {}
    encode, unserializable, decode = _wire.encode, _wire.UnserializableValue, _wire.decode

    def value_of(arg: Any) -> Any:
        if arg[0] == "h":
            return handles[arg[1]]
        return decode(arg[1])

    def handle_of(value: Any) -> int:
        hid = ids.get(id(value))
        if hid is None or handles[hid] is not value:
            hid = ids[id(value)] = len(handles)
            handles.append(value)
        return hid

    def type_name(value: Any) -> str:
        try:
            return str(type(value).__name__)[:200]
        except BaseException:  # noqa: BLE001
            return "?"

    def reply(value: Any, get: bool = False) -> list[Any]:
        if get and isinstance(value, ModuleType):  # Q uses its own copy where it has one
            name = value.__dict__.get("__name__")
            return ["mod", name if type(name) is str else "?", handle_of(value), "module"]
        try:
            return ["v", encode(value)]
        except unserializable:
            return ["h", handle_of(value), type_name(value)]

    synced: list[str] = []  # globals the test reads that crossed as values

    def apply_globals(items: list[Any]) -> None:
        """The test's changes to the program's globals, in place where the types agree."""
        for name, wire in items:
            new, cur = decode(wire), g.get(name)
            if not (type(cur) is type(new) and _update(cur, new)):
                g[name] = new

    def copy_back(pairs: list[tuple[Any, Any]], sent: list[Any], any_type: bool = False) -> list[Any]:
        """Arguments that crossed by value as mutable containers (or, ``any_type``, the
        globals the test reads), in their state now."""
        out: list[Any] = []
        for (key, value), arg in zip(pairs, sent):
            if arg[0] == "v" and (any_type or type(value) in (list, dict, set, bytearray)):
                try:
                    out.append([key, encode(value)])
                except unserializable:
                    pass
        return out

    while fd >= 0:
        try:
            data = recv_msg(fd, 1 << 30)
        except ProgramGone:
            return
        if data is None:
            return
        req = json.loads(data)
        op = req[0]
        if op == "end":
            return
        try:
            if op == "get":
                if req[1] not in g:
                    out: list[Any] = ["m"]
                else:
                    out = reply(g[req[1]], get=True)
                    if out[0] == "v":
                        synced.append(req[1])
            elif op == "has":  # a library name: Q binds its own object; which, at most, is ours to say
                held = g.get(req[1], serve) if type(req[1]) is str else serve
                out = ["v", 0 if held is serve else 1 if isinstance(held, ModuleType) else 2]
            elif op == "sync":
                apply_globals(req[1])
                out = ["v", None]
            elif op == "call":
                apply_globals(req[4])
                fn = handles[req[1]]
                args = [value_of(a) for a in req[2]]
                kwargs = {k: value_of(v) for k, v in req[3].items()}
                result = fn(*args, **kwargs)
                # An argument returned itself (identity, no program code runs): Q answers with
                # the test's own object, whose `is not` against it was always true on a copy.
                passed, sent = [*enumerate(args), *kwargs.items()], [*req[2], *req[3].values()]
                same = next((key for (key, a), how in zip(passed, sent) if a is result and how[0] == "v"), None)
                out = ["a", same] if same is not None else reply(result)
                out.append(copy_back(passed, sent))
                out.append(copy_back([(n, g[n]) for n in synced if n in g], [["v"]] * len(synced), any_type=True))
            elif op == "attr":
                out = reply(getattr(handles[req[1]], req[2]))
            else:
                out = ["x", {"type": "TypeError", "mro": ["TypeError"], "msg": "unknown request"}]
        except BaseException as exc:  # noqa: BLE001 - the program's exception, for Q to raise
            if isinstance(exc, SystemExit):
                info = {"type": "SystemExit", "mro": ["SystemExit"], "msg": ""}
            else:
                try:
                    e = exc_info(exc)
                    info = {"type": e["type"], "mro": e["mro"], "msg": e["msg"]}
                except BaseException:  # noqa: BLE001
                    info = {"type": "Exception", "mro": [], "msg": "<unprintable exception>"}
            out = ["x", info]
        flush()
        try:
            send_msg(fd, out)
        except OSError:
            return
