"""A safe, JSON-based wire format for values that leave the sandbox.

The sandbox encodes the values a test needs; the trusted parent decodes them into
plain builtins (and numpy values) and judges them. Pickle is never used: decoding
must not run code chosen by the program. Encoding runs next to untrusted code, so
it accepts exact builtin types only and turns subclasses into their base type
through the base class's own C methods, so overridden dunders never run.

Format: ``None``, ``bool``, ``str``, ``float`` and ``int`` are JSON natives (ints
of more than 4000 decimal digits become ``{"$int": "0x..."}``); ``list`` is a JSON
list; every other type is a one-key object, e.g. ``{"$t": [...]}`` for a tuple.
"""

from __future__ import annotations

import base64
import binascii
import collections
import decimal
import fractions
import importlib
import itertools
import json
import re
import sys
from collections.abc import Callable
from types import ModuleType
TYPE_CHECKING = False  # no typing at run time: the sandbox imports this module (see _sandbox/__init__.py)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["UnserializableValue", "WireFormatError", "check_depth", "decode", "dumps", "encode", "loads"]

DEFAULT_MAX_DEPTH = 200
"""Container nesting that ``encode`` and ``decode`` accept by default."""
DEFAULT_MAX_BYTES = 64 * 2**20
"""Largest payload ``loads`` accepts, and the size budget ``encode`` enforces."""
_MAX_ARRAY_BYTES = 256 * 2**20  # decoded ndarray memory: dtype itemsize can amplify input
_MAX_NDIM = 64
# Decoding is linear in the input: values whose later use the sender could make
# superlinear (iteration, gcd, int(), hashing) are bounded where they are rebuilt.
MAX_INT_BITS = 1 << 20
"""Largest int (in bits) that crosses: beyond it, one division is already seconds."""
MAX_FRACTION_BITS = 1 << 16
"""Largest numerator or denominator (in bits) of a Fraction that crosses: arithmetic on
one normalises by a gcd, quadratic in its size."""
MAX_RANGE_LEN = 1 << 22
"""Longest range that crosses: ``x in r`` for a non-int ``x`` walks it."""
MAX_DECIMAL_DIGITS = 10_000
"""Most digits, and largest exponent magnitude, of a Decimal that crosses (``int()`` is quadratic)."""
MAX_HASH_COLLISIONS = 32
"""Distinct elements of one set or dict that may share a hash (more make building it quadratic)."""
MAX_JSON_DIGITS = 4000
"""Longest run of decimal digits the encoder writes outside a string (a JSON int; floats
have at most 17): bigger ints go as hex. The parent refuses longer runs before
``json.loads``, whose str-to-int conversion is quadratic in the digits."""
DECIMAL_SAFE_INT_BITS = 1024
"""Ints (and Fraction terms) up to this size compare with a Decimal in about the time it
takes to decode one (``Decimal == int`` converts the int: super-linear in its size)."""
_MAX_HEX_LEN = MAX_INT_BITS // 4 + 3
_BIG_INT = 10**MAX_JSON_DIGITS  # ints at or beyond this go as hex: no str-digits limit applies
_NUMPY_KINDS = frozenset("biufcSU")
_DTYPE_RE = re.compile(r"[<>|=][biufcSU][0-9]{1,9}")
_HEX_RE = re.compile(r"-?0x[0-9a-f]+")

# Captured at import, before any program runs, so later patching cannot reach them.
_type, _len, _id, _issubclass, _modules = type, len, id, issubclass, sys.modules
_bool, _int, _float, _str, _complex, _range = bool, int, float, str, complex, range
_list, _tuple, _dict, _set, _frozenset = list, tuple, dict, set, frozenset
_bytes, _bytearray, _Decimal, _Fraction = bytes, bytearray, decimal.Decimal, fractions.Fraction
_SCALARS = (bool, int, float, complex, str, bytes)  # what numpy's item()/tolist() may give
_slice_all = slice(None)
_type_qualname = type.__dict__["__qualname__"].__get__
_int_index, _int_hex, _float_float, _str_str = int.__index__, int.__format__, float.__float__, str.__str__
_bytes_copy, _bytearray_copy = bytes.__getitem__, bytearray.__getitem__
_complex_real, _complex_imag = complex.__dict__["real"].__get__, complex.__dict__["imag"].__get__
_tuple_iter, _list_iter, _dict_items = tuple.__iter__, list.__iter__, dict.items
_OrderedDict, _odict_items = collections.OrderedDict, collections.OrderedDict.items
_set_iter, _frozenset_iter = set.__iter__, frozenset.__iter__
_b64encode, _b64decode, _json_dumps = base64.b64encode, base64.b64decode, json.dumps
_decimal_str = decimal.Decimal.__str__
_decimal_as_tuple, _decimal_is_finite = decimal.Decimal.as_tuple, decimal.Decimal.is_finite
_int_bit_length = int.bit_length
_range_start = range.__dict__["start"].__get__
_range_stop = range.__dict__["stop"].__get__
_range_step = range.__dict__["step"].__get__
_frac_num = fractions.Fraction.__dict__["_numerator"].__get__
_frac_den = fractions.Fraction.__dict__["_denominator"].__get__


class UnserializableValue(Exception):
    """A value the parent could not judge faithfully: a type we refuse, a cycle, or too big."""


class WireFormatError(ValueError):
    """Input to ``decode``/``loads`` is malformed or hostile."""


def _type_name(t: type) -> str:
    name = _type_qualname(t)
    return name if _type(name) is str else "?"


def _long_float(kind: str, itemsize: int) -> bool:
    """longdouble/clongdouble: no lossless Python value, so refused."""
    return (kind == "f" and itemsize > 8) or (kind == "c" and itemsize > 16)


def _refuse(t: type) -> UnserializableValue:
    return UnserializableValue(f"value of type {_type_name(t)} cannot be judged outside the sandbox")


def _range_length(start: int, stop: int, step: int) -> int:
    """``len(range(start, stop, step))`` without the ssize_t limit of ``len``."""
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    return max(0, (start - stop - step - 1) // -step)


def _decimal_bounded(v: decimal.Decimal) -> bool:
    """Few enough digits and a small enough exponent that ``int()`` and friends stay cheap."""
    if not _decimal_is_finite(v):
        return True
    t = _decimal_as_tuple(v)
    exp = t.exponent
    if _type(exp) is not _int:
        return False
    return _len(t.digits) <= MAX_DECIMAL_DIGITS and -MAX_DECIMAL_DIGITS <= exp <= MAX_DECIMAL_DIGITS  # type: ignore[operator]


class _Encoder:
    """One encoding pass: tracks the containers on the path (cycles) and a size budget."""

    __slots__ = ("active", "budget", "max_depth")

    def __init__(self, max_depth: int, max_bytes: int) -> None:
        self.max_depth = max_depth
        self.budget = max_bytes
        self.active: set[int] = _set()

    def charge(self, n: int) -> None:
        self.budget -= n
        if self.budget < 0:
            raise UnserializableValue("value is too large to send out of the sandbox")

    def enc(self, v: Any, depth: int, key: bool) -> Any:
        t = _type(v)
        if v is None or t is _bool or t is _float:
            self.charge(8)
            return v
        if t is _int:
            return self.int_(v)
        if t is _str:
            self.charge(_len(v) + 2)
            return v
        if t is _list:
            return self.seq(v, _list_iter, None, depth, key, hashable=False)
        if t is _tuple:
            return self.seq(v, _tuple_iter, "$t", depth, key, hashable=True)
        if t is _dict:
            return self.dict_(v, depth, key)
        if t is _set:
            return self.seq(v, _set_iter, "$set", depth, key, hashable=False)
        if t is _frozenset:
            return self.seq(v, _frozenset_iter, "$fset", depth, key, hashable=True)
        if t is _bytes or t is _bytearray:
            if key and t is _bytearray:
                raise UnserializableValue("a bytearray cannot be a dict key or set element")
            self.charge(_len(v) * 4 // 3 + 8)
            return {"$b" if t is _bytes else "$ba": _b64encode(v).decode("ascii")}
        if t is _complex:
            self.charge(48)
            return {"$c": [_complex_real(v), _complex_imag(v)]}
        if t is _Decimal:
            return self.decimal(v)
        if t is _Fraction:
            return self.fraction(v)
        if t is _range:
            return self.range_(v)
        np = _modules.get("numpy")
        if np is not None:
            out = self.numpy(np, v, t, depth, key)
            if out is not None:
                return out
        return self.subclass(v, t, depth, key)

    def int_(self, v: int) -> Any:
        if -_BIG_INT < v < _BIG_INT:
            self.charge(24)
            return v
        if _int_bit_length(v) > MAX_INT_BITS:
            raise UnserializableValue(f"an int of more than {MAX_INT_BITS} bits cannot be judged outside the sandbox")
        s = _int_hex(v, "#x")
        self.charge(_len(s) + 10)
        return {"$int": s}

    def range_(self, v: range) -> Any:
        start, stop, step = _range_start(v), _range_stop(v), _range_step(v)
        if _range_length(start, stop, step) > MAX_RANGE_LEN:
            raise UnserializableValue(f"a range of more than {MAX_RANGE_LEN} elements cannot be judged outside the sandbox")
        return {"$range": [self.int_(start), self.int_(stop), self.int_(step)]}

    def fraction(self, v: Any) -> Any:
        num, den = _int_index(_frac_num(v)), _int_index(_frac_den(v))
        if _int_bit_length(num) > MAX_FRACTION_BITS or _int_bit_length(den) > MAX_FRACTION_BITS:
            raise UnserializableValue(
                f"a Fraction with a numerator or denominator of more than {MAX_FRACTION_BITS} bits "
                "cannot be judged outside the sandbox"
            )
        return {"$frac": [self.int_(num), self.int_(den)]}

    def decimal(self, v: Any) -> Any:
        s = _decimal_str(v)
        if not _decimal_bounded(v):
            raise UnserializableValue(
                f"a Decimal with more than {MAX_DECIMAL_DIGITS} digits or exponent cannot be judged outside the sandbox"
            )
        self.charge(_len(s) + 10)
        return {"$dec": s}

    def seq(self, v: Any, it: Any, tag: str | None, depth: int, key: bool, *, hashable: bool) -> Any:
        if key and not hashable:
            raise UnserializableValue(f"a {tag or '$list'} cannot be a dict key or set element")
        if depth >= self.max_depth:
            raise UnserializableValue(f"value is nested deeper than {self.max_depth} levels")
        ident = _id(v)
        if ident in self.active:
            raise UnserializableValue("value is self-referential")
        self.active.add(ident)
        try:
            self.charge(4)
            # Elements of sets and frozensets are keys; tuple elements are keys when the tuple is.
            elem_key = key or tag in ("$set", "$fset")
            items: list[Any] = []
            append = items.append
            for x in it(v):
                tx = _type(x)
                if tx is _float or tx is _bool or x is None or (tx is _int and -_BIG_INT < x < _BIG_INT):
                    self.budget -= 24  # fast path for the common flat lists of numbers
                    append(x)
                else:
                    append(self.enc(x, depth + 1, elem_key))
            if self.budget < 0:
                raise UnserializableValue("value is too large to send out of the sandbox")
        finally:
            self.active.discard(ident)
        return items if tag is None else {tag: items}

    def dict_(self, v: Any, depth: int, key: bool, items: Any = _dict_items, tag: str = "$d") -> Any:
        if key:
            raise UnserializableValue("a dict cannot be a dict key or set element")
        if depth >= self.max_depth:
            raise UnserializableValue(f"value is nested deeper than {self.max_depth} levels")
        ident = _id(v)
        if ident in self.active:
            raise UnserializableValue("value is self-referential")
        self.active.add(ident)
        try:
            self.charge(6)
            pairs = [[self.enc(k, depth + 1, True), self.enc(x, depth + 1, False)] for k, x in items(v)]
        finally:
            self.active.discard(ident)
        return {tag: pairs}

    def numpy(self, np: ModuleType, v: Any, t: type, depth: int, key: bool) -> Any:
        """Encode a numpy scalar or array; None when ``v`` is neither."""
        if _issubclass(t, np.generic):
            dt = v.dtype
            if dt.kind not in _NUMPY_KINDS or dt.type is not t:
                raise _refuse(t)
            item = v.item()
            if _type(item) not in _SCALARS:
                raise _refuse(t)  # longdouble and friends have no lossless Python value
            return {"$nps": {"dtype": dt.str, "v": self.enc(item, depth, key)}}
        if not _issubclass(t, np.ndarray):
            return None
        if key:
            raise UnserializableValue("a numpy array cannot be a dict key or set element")
        if depth >= self.max_depth:
            raise UnserializableValue(f"value is nested deeper than {self.max_depth} levels")
        arr = v if t is np.ndarray else np.ndarray.view(v, np.ndarray)
        dt = arr.dtype
        if dt.kind not in _NUMPY_KINDS or _long_float(dt.kind, dt.itemsize):
            raise UnserializableValue(f"numpy array of dtype {dt.str} cannot be judged outside the sandbox")
        self.charge(arr.size * 24 + 32)
        data = arr.tolist()
        if dt.kind in "cSU":  # complex and bytes leaves need tags; numbers and bools are JSON
            data = self.array_data(data, arr.ndim, t)
        return {"$npa": {"dtype": dt.str, "shape": [_int(n) for n in arr.shape], "data": data}}

    def array_data(self, data: Any, ndim: int, t: type) -> Any:
        if ndim == 0:
            if _type(data) not in _SCALARS:
                raise _refuse(t)
            return self.enc(data, 0, False)
        return [self.array_data(x, ndim - 1, t) for x in data]

    def subclass(self, v: Any, t: type, depth: int, key: bool) -> Any:
        """Subclasses of builtins become their base value via the base's C methods."""
        if _issubclass(t, _int):  # also IntEnum/IntFlag; bool cannot be subclassed
            return self.int_(_int_index(v))
        if _issubclass(t, _float):
            return self.enc(_float_float(v), depth, key)
        if _issubclass(t, _str):  # also StrEnum
            return self.enc(_str_str(v), depth, key)
        if _issubclass(t, _tuple):  # namedtuple
            return self.seq(v, _tuple_iter, "$t", depth, key, hashable=True)
        if _issubclass(t, _list):
            return self.seq(v, _list_iter, None, depth, key, hashable=False)
        if _issubclass(t, _OrderedDict):
            # Its own tag: OrderedDicts compare in order with each other, a plain dict never
            # does, so a value in the wrong order passed a test expecting an OrderedDict.
            return self.dict_(v, depth, key, _odict_items, "$od")
        if _issubclass(t, _dict):  # defaultdict, Counter
            return self.dict_(v, depth, key)
        if _issubclass(t, _frozenset):
            return self.seq(v, _frozenset_iter, "$fset", depth, key, hashable=True)
        if _issubclass(t, _set):
            return self.seq(v, _set_iter, "$set", depth, key, hashable=False)
        if _issubclass(t, _bytes):
            return self.enc(_bytes_copy(v, _slice_all), depth, key)
        if _issubclass(t, _bytearray):
            return self.enc(_bytearray_copy(v, _slice_all), depth, key)
        if _issubclass(t, _complex):
            return {"$c": [_complex_real(v), _complex_imag(v)]}
        if _issubclass(t, _Decimal):
            return self.decimal(v)
        if _issubclass(t, _Fraction):
            return self.fraction(v)
        raise _refuse(t)


def encode(value: object, *, max_depth: int = DEFAULT_MAX_DEPTH, max_bytes: int = DEFAULT_MAX_BYTES) -> object:
    """Turn ``value`` into a JSON-able structure without running any of its methods.

    Raises UnserializableValue for refused types, cycles, nesting beyond ``max_depth``
    and values whose encoding would exceed about ``max_bytes``.
    """
    try:
        return _Encoder(max_depth, max_bytes).enc(value, 0, False)
    except RecursionError:
        raise UnserializableValue("value is nested too deeply to encode") from None


def dumps(value: object) -> bytes:
    """``encode`` then compact JSON (ASCII, NaN/Infinity kept), as bytes."""
    text = _json_dumps(encode(value), separators=(",", ":"), allow_nan=True, check_circular=False)
    return text.encode("ascii")


# -- decoding (trusted parent) -------------------------------------------------------


def _numpy_for_decode() -> ModuleType | None:
    """numpy if the parent has it; numpy tags decode to plain Python values otherwise."""
    try:
        return importlib.import_module("numpy")
    except ImportError:
        return None


def _coprime_fraction(num: int, den: int) -> fractions.Fraction:
    """``Fraction(num, den)`` taken as already in lowest terms (no gcd)."""
    make = getattr(fractions.Fraction, "_from_coprime_ints", None)  # Python >= 3.12
    if make is not None:
        return make(num, den)  # type: ignore[no-any-return]
    return fractions.Fraction(num, den, _normalize=False)  # type: ignore[call-overload,no-any-return]


def _fail(what: str) -> WireFormatError:
    return WireFormatError(f"malformed wire value: {what}")


# Elements whose hash a sender cannot make collide: small ints hash to themselves,
# strings and bytes by a keyed hash, floats to at most a few thousand values each.
_UNCOLLIDING = frozenset({str, bytes, float, bool, type(None)})


def _check_collisions(items: list[Any]) -> None:
    """Refuse distinct elements that share one hash, beyond a few: inserting n of
    them into a set or dict costs n**2 comparisons (ints ``k * (2**61 - 1)``...)."""
    if _len(items) <= MAX_HASH_COLLISIONS:
        return
    counts: dict[int, int] = {}
    for x in items:
        t = _type(x)
        if t in _UNCOLLIDING or (t is int and -(1 << 60) < x < (1 << 60)):
            continue
        h = hash(x)
        n = counts.get(h, 0) + 1
        if n > MAX_HASH_COLLISIONS:
            raise _fail(f"more than {MAX_HASH_COLLISIONS} set or dict elements share one hash")
        counts[h] = n


_NO_HASH_RISK = _UNCOLLIDING | {list, dict, set, bytearray}  # safe to hash, or never hashed
_NUMBERS = frozenset({int, float, bool})

# Decimals and equality. ``Decimal == int`` and ``Decimal == Fraction`` convert the other
# number to a Decimal, super-linear in its size: a 20-byte Decimal('1E+10000') against a
# Fraction of 2**16-bit terms costs ~10 ms. When a container holds Decimals, its checks
# compare *keys* instead of the elements: a Decimal's key is its normalised digits and
# exponent, tuples and frozensets holding one are keyed element by element, and every
# other element is its own key. No key comparison ever pairs a Decimal with anything, and
# equal keys mean equal elements (equal values of different types, ``Decimal(1)`` and
# ``1``, get different keys: counted as distinct, which only errs towards refusing).
_DEC_TAG, _TUPLE_TAG, _FSET_TAG = "$dec", "$t", "$fset"
_CHEAP_VS_DECIMAL = frozenset({bool, float, complex, str, bytes, type(None), decimal.Decimal, range})


def _decimal_key(v: decimal.Decimal) -> tuple[Any, ...]:
    """Equal keys if and only if equal Decimals (NaNs are never equal, not even to themselves)."""
    t = _decimal_as_tuple(v)
    exp = t.exponent
    if _type(exp) is not _int:  # 'F' infinity, 'n'/'N' NaN
        return (_DEC_TAG, exp, t.sign) if exp == "F" else (_DEC_TAG, "nan", _id(v))
    digits = _bytes(t.digits)
    coef = digits.rstrip(b"\0")
    if not coef:
        return (_DEC_TAG, 0)
    return (_DEC_TAG, t.sign, coef, exp + _len(digits) - _len(coef))  # type: ignore[operator]


class _Keys:
    """Comparison keys of decoded values (see above), memoised per tuple and frozenset so
    that nested containers are walked once per decode."""

    __slots__ = ("memo",)

    def __init__(self) -> None:
        self.memo: dict[int, tuple[Any, Any]] = {}

    def key(self, x: Any) -> Any:
        t = _type(x)
        if t is _Decimal:
            return _decimal_key(x)
        if t is not _tuple and t is not _frozenset:
            return x
        hit = self.memo.get(_id(x))
        if hit is not None and hit[0] is x:
            return hit[1]
        keys = [self.key(e) for e in x]  # nesting is bounded by the decoder's depth limit
        if all(k is e for k, e in zip(keys, x)):
            k: Any = x  # no Decimal inside: the value is its own key
        elif t is _tuple:
            k = (_TUPLE_TAG, *keys)
        else:
            k = (_FSET_TAG, _frozenset(keys))
        self.memo[_id(x)] = (x, k)  # holding x keeps its id from being reused
        return k


def _cheap_vs_decimal(x: Any) -> bool:
    """Whether ``x == some Decimal`` costs about as much as decoding a Decimal."""
    t = _type(x)
    if t in _CHEAP_VS_DECIMAL:
        return True
    if t is _int:
        return _int_bit_length(x) <= DECIMAL_SAFE_INT_BITS
    if t is _Fraction:
        return (
            _int_bit_length(x.numerator) <= DECIMAL_SAFE_INT_BITS
            and _int_bit_length(x.denominator) <= DECIMAL_SAFE_INT_BITS
        )
    return False


def _check_decimal_collisions(items: list[Any], keys: _Keys) -> None:
    """Before a set or dict is built from ``items`` (which hold Decimals): refuse elements
    that share a hash, are unequal, and would meet a Decimal and a big number when compared
    (``{Decimal('1E+10000'), Fraction(...)}``). Equal-keyed elements compare cheaply."""
    hashes = list(map(hash, items))
    counts = collections.Counter(hashes)
    if max(counts.values(), default=0) < 2:
        return
    groups: dict[int, list[Any]] = {}
    for h, x in zip(hashes, items):
        if counts[h] > 1:
            groups.setdefault(h, []).append(x)
    for group in groups.values():
        ks = [keys.key(x) for x in group]
        if all(k is x for k, x in zip(ks, group)):
            continue  # no Decimal in this group
        if all(_cheap_vs_decimal(x) for x in group):
            continue
        if _len(set(ks)) > 1:
            raise _fail("a Decimal shares a hash with an unequal element it is costly to compare with")


def _check_distinct_collisions(items: list[Any], keys: _Keys | None = None) -> None:
    """The same for a list or tuple that a judge may turn into a set (``set(out) ==
    set(expected)``): equal elements may repeat, distinct ones may not share a hash.
    Homogeneous lists take C-speed shortcuts; only repeated hashes are looked at closely.
    ``keys`` when ``items`` hold Decimals: distinctness is then decided on keys."""
    if _len(items) <= MAX_HASH_COLLISIONS:
        return
    kinds = set(map(_type, items))
    if kinds <= _NO_HASH_RISK:
        return
    if kinds <= _NUMBERS and -(1 << 60) < min(items) and max(items) < (1 << 60):
        return  # small ints hash to themselves (a NaN makes min or max fail these tests)
    if kinds & {list, dict, set, bytearray}:
        items = [x for x in items if _type(x) not in _NO_HASH_RISK]
    try:
        hashes = list(map(hash, items))
    except TypeError:  # a tuple holding a list: it cannot go in a set either
        return
    counts = collections.Counter(hashes)
    if max(counts.values(), default=0) <= MAX_HASH_COLLISIONS:
        return
    crowded = {h for h, n in counts.items() if n > MAX_HASH_COLLISIONS}
    if keys is not None:  # no element is compared with another: their keys are
        distinct: dict[int, set[Any]] = {}
        for h, x in zip(hashes, items):
            if h in crowded:
                seen = distinct.setdefault(h, set())
                seen.add(keys.key(x))
                if _len(seen) > MAX_HASH_COLLISIONS:
                    raise _fail(f"more than {MAX_HASH_COLLISIONS} distinct elements share one hash")
        return
    groups: dict[int, list[Any]] = {}
    for h, x in zip(hashes, items):
        if h not in crowded:
            continue
        same = groups.setdefault(h, [])
        if not any(x == y for y in same):
            same.append(x)
            if _len(same) > MAX_HASH_COLLISIONS:
                raise _fail(f"more than {MAX_HASH_COLLISIONS} distinct elements share one hash")


_STRING_RE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_DIGIT_MASK = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))  # digits to "0", the rest to " "
_LONG_DIGITS = b"0" * (MAX_JSON_DIGITS + 1)
_SCAN_CHUNK = 1 << 20


def _unescaped(data: bytes) -> bytes:
    """``data`` less its escaped backslashes and escaped quotes: every quote left opens or
    closes a string. (Where this reading differs from a JSON parser's, in text that is not
    JSON, the parser stops there, before it reads any number the two see differently.)"""
    if b"\\" not in data:
        return data
    if b"\\\\" in data:
        data = data.replace(b"\\\\", b"")
    return data.replace(b'\\"', b"")


def _any_long_run(data: bytes) -> bool:
    """Whether ``data`` holds a run of more than MAX_JSON_DIGITS digits anywhere, scanned a
    megabyte at a time (each piece overlapping the next by a run's length): no copy of a
    whole 16 MiB message, which four threads decoding at once would hold together."""
    step = _SCAN_CHUNK
    for start in range(0, _len(data), step):
        if _LONG_DIGITS in data[start : start + step + MAX_JSON_DIGITS].translate(_DIGIT_MASK):
            return True
    return False


def _long_number(data: bytes) -> bool:
    """Whether ``data`` holds a run of more than MAX_JSON_DIGITS digits outside its strings.
    One C-speed scan finds runs anywhere; only when there is one are quotes counted (a run
    after an even number of them is outside the strings), each stretch of ``data`` once."""
    if _len(data) <= MAX_JSON_DIGITS or not _any_long_run(data):
        return False
    text = _unescaped(data)  # a long run is there: refused, or read precisely (rare)
    masked = text.translate(_DIGIT_MASK)
    pos = 0  # outside any string
    while True:
        at = masked.find(_LONG_DIGITS, pos)
        if at < 0:
            return False
        if text.count(b'"', pos, at) % 2 == 0:
            return True
        end = text.find(b'"', at)  # the end of the string holding the run
        if end < 0:
            return False  # it never closes: not JSON, which json.loads will say
        pos = end + 1


def check_depth(data: bytes, max_depth: int) -> None:
    """Refuse, in linear time and before ``json.loads`` sees it, JSON text nested deeper
    than ``max_depth`` (a recursive parser) or holding a number of more than
    MAX_JSON_DIGITS digits, which the encoder never writes (``json.loads`` converts ints
    in time quadratic in their digits); strings are skipped, so brackets and digits in
    them do not count."""
    if _long_number(data):
        raise WireFormatError(f"wire data holds a number of more than {MAX_JSON_DIGITS} digits")
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return
    # Openers become +1 and closers -1 (as signed bytes); the running sum is the depth.
    steps = _STRING_RE.sub(b"", data).translate(_STEPS, _NOT_BRACKETS)
    if steps and max(itertools.accumulate(memoryview(steps).cast("b"))) > max_depth:
        raise WireFormatError(f"wire data is nested deeper than {max_depth} levels")


class _Decoder:
    __slots__ = ("decimals", "keys", "max_depth")

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.decimals = 0  # Decimals decoded so far: a container knows whether it holds one
        self.keys = _Keys()

    def dec(self, obj: Any, depth: int) -> Any:
        t = _type(obj)
        if obj is None or t is bool or t is str or t is float or t is int:
            return obj
        if t is list:
            self.enter(depth)
            return self.list_(obj, depth + 1)
        if t is not dict:
            raise _fail(f"unexpected {_type_name(t)}")
        if _len(obj) != 1:
            raise _fail("an object must have exactly one tag key")
        ((tag, payload),) = obj.items()
        handler = _DECODERS.get(tag)
        if handler is None:
            raise _fail(f"unknown tag {repr(tag)[:40]}")
        return handler(self, payload, depth)

    def list_(self, obj: list[Any], depth: int) -> list[Any]:
        out: list[Any] = []
        append = out.append
        decimals = self.decimals
        for x in obj:
            tx = _type(x)
            append(x if tx is float or tx is int or tx is str or tx is bool or x is None else self.dec(x, depth))
        if depth <= 2 and _len(out) > MAX_HASH_COLLISIONS:  # a value and its parts: what a judge may put in a set
            _check_distinct_collisions(out, self.keys if self.decimals != decimals else None)
        return out

    def enter(self, depth: int) -> None:
        if depth >= self.max_depth:
            raise _fail(f"nested deeper than {self.max_depth} levels")

    def items(self, payload: Any, depth: int) -> list[Any]:
        if _type(payload) is not list:
            raise _fail("container payload must be a list")
        self.enter(depth)
        return self.list_(payload, depth + 1)

    def hashed(self, kind: type, payload: Any, depth: int) -> Any:
        decimals = self.decimals
        items = self.items(payload, depth)
        try:
            _check_collisions(items)
            if self.decimals != decimals:
                _check_decimal_collisions(items, self.keys)
            return kind(items)
        except TypeError:
            raise _fail(f"unhashable {kind.__name__} element") from None

    def dict_(self, payload: Any, depth: int, kind: type = dict) -> dict[Any, Any]:
        if _type(payload) is not list:
            raise _fail("$d payload must be a list of pairs")
        self.enter(depth)
        decimals = self.decimals
        keys: list[Any] = []
        values: list[Any] = []
        for pair in payload:
            if _type(pair) is not list or _len(pair) != 2:
                raise _fail("$d entries must be [key, value] pairs")
            keys.append(self.dec(pair[0], depth + 1))
            values.append(self.dec(pair[1], depth + 1))
        try:
            _check_collisions(keys)
            if self.decimals != decimals:  # a Decimal among the keys or the values: check the keys
                _check_decimal_collisions(keys, self.keys)
            return kind(zip(keys, values))  # type: ignore[no-any-return]
        except TypeError:
            raise _fail("unhashable dict key") from None

    def hexint(self, payload: Any, depth: int) -> int:
        if _type(payload) is str and _len(payload) <= _MAX_HEX_LEN and _HEX_RE.fullmatch(payload):
            v = int(payload, 16)
            if v.bit_length() <= MAX_INT_BITS:
                return v
            raise _fail(f"int of more than {MAX_INT_BITS} bits")
        raise _fail(f"$int payload must be a hex string of at most {MAX_INT_BITS} bits")

    def int_(self, payload: Any) -> int:
        """An int field of a tagged value: a JSON int or an ``$int`` object."""
        if _type(payload) is int:
            return int(payload)
        if _type(payload) is dict and _len(payload) == 1 and "$int" in payload:
            return self.hexint(payload["$int"], 0)
        raise _fail("expected an integer")

    def bytes_(self, payload: Any, depth: int) -> bytes:
        if _type(payload) is not str:
            raise _fail("$b payload must be a base64 string")
        try:
            return _b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise _fail("bad base64") from None

    def complex_(self, payload: Any, depth: int) -> complex:
        if _type(payload) is not list or _len(payload) != 2 or any(_type(x) is not float for x in payload):
            raise _fail("$c payload must be [real, imag] floats")
        return complex(payload[0], payload[1])

    def decimal_(self, payload: Any, depth: int) -> decimal.Decimal:
        if _type(payload) is not str:
            raise _fail("$dec payload must be a string")
        if _len(payload) > 2 * MAX_DECIMAL_DIGITS + 32:
            raise _fail("decimal string too long")
        with decimal.localcontext(decimal.Context(traps=[decimal.InvalidOperation])):
            try:
                v = _Decimal(payload)
            except decimal.InvalidOperation:
                raise _fail("bad decimal") from None
        if not _decimal_bounded(v):
            raise _fail(f"decimal with more than {MAX_DECIMAL_DIGITS} digits or exponent")
        self.decimals += 1
        return v

    def fraction(self, payload: Any, depth: int) -> fractions.Fraction:
        if _type(payload) is not list or _len(payload) != 2:
            raise _fail("$frac payload must be [numerator, denominator]")
        num, den = self.int_(payload[0]), self.int_(payload[1])
        if den <= 0:
            raise _fail("the denominator must be positive")
        if num.bit_length() > MAX_FRACTION_BITS or den.bit_length() > MAX_FRACTION_BITS:
            raise _fail(f"fraction of more than {MAX_FRACTION_BITS} bits")
        # Not normalised here (a gcd of big ints is quadratic): an honest sender's
        # fraction is in lowest terms already, and a forged one only compares unequal.
        return _coprime_fraction(num, den)

    def range_(self, payload: Any, depth: int) -> range:
        if _type(payload) is not list or _len(payload) != 3:
            raise _fail("$range payload must be [start, stop, step]")
        start, stop, step = (self.int_(x) for x in payload)
        if step == 0:
            raise _fail("range step is zero")
        if _range_length(start, stop, step) > MAX_RANGE_LEN:
            raise _fail(f"range of more than {MAX_RANGE_LEN} elements")
        return range(start, stop, step)

    def np_dtype(self, np: ModuleType | None, s: Any) -> tuple[str, int, Any]:
        if _type(s) is not str or not _DTYPE_RE.fullmatch(s):
            raise _fail("bad numpy dtype")
        if np is None:
            return s[1], int(s[2:]), None
        try:
            dt = np.dtype(s)
        except Exception:  # noqa: BLE001 - numpy raises TypeError, ValueError, ...
            raise _fail("bad numpy dtype") from None
        if dt.kind not in _NUMPY_KINDS or _long_float(dt.kind, dt.itemsize):
            raise _fail("refused numpy dtype")
        return dt.kind, dt.itemsize, dt

    def leaf(self, kind: str, obj: Any) -> Any:
        if _type(obj) is dict:
            if _len(obj) != 1 or not ({"$int", "$c", "$b"} >= obj.keys()):
                raise _fail("bad numpy element")
            obj = self.dec(obj, 0)
        v = obj
        want = {"b": bool, "i": int, "u": int, "f": float, "c": complex, "U": str, "S": bytes}[kind]
        if _type(v) is not want:
            raise _fail(f"numpy value of kind {kind!r} must be {want.__name__}")
        return v

    def np_scalar(self, payload: Any, depth: int) -> Any:
        if _type(payload) is not dict or set(payload) != {"dtype", "v"}:
            raise _fail("$nps payload must be {dtype, v}")
        np = _numpy_for_decode()
        kind, _, dt = self.np_dtype(np, payload["dtype"])
        v = self.leaf(kind, payload["v"])
        if dt is None:
            return v
        try:
            return dt.type(v)
        except Exception:  # noqa: BLE001 - numpy raises many types
            raise _fail("numpy scalar out of range for its dtype") from None

    def np_array(self, payload: Any, depth: int) -> Any:
        if _type(payload) is not dict or set(payload) != {"dtype", "shape", "data"}:
            raise _fail("$npa payload must be {dtype, shape, data}")
        self.enter(depth)
        np = _numpy_for_decode()
        kind, itemsize, dt = self.np_dtype(np, payload["dtype"])
        shape = payload["shape"]
        if _type(shape) is not list or _len(shape) > _MAX_NDIM or any(_type(n) is not int or n < 0 for n in shape):
            raise _fail("bad numpy shape")
        flat: list[Any] = []
        nested = self.walk(kind, payload["data"], shape, 0, flat)
        if itemsize * _len(flat) > _MAX_ARRAY_BYTES:
            raise _fail("numpy array too large")
        if np is None or dt is None:
            return nested
        try:
            return np.array(flat, dtype=dt).reshape(shape)
        except Exception:  # noqa: BLE001 - numpy raises many types
            raise _fail("numpy data does not fit its dtype and shape") from None

    def walk(self, kind: str, data: Any, shape: list[int], level: int, flat: list[Any]) -> Any:
        """Check ``data`` against ``shape``; collect leaves in ``flat``, return nested lists."""
        if level == _len(shape):
            v = self.leaf(kind, data)
            flat.append(v)
            return v
        if _type(data) is not list or _len(data) != shape[level]:
            raise _fail("numpy data does not match its shape")
        if level + 1 == _len(shape) and kind in "biuf":  # fast path for the innermost numbers
            want = float if kind == "f" else bool if kind == "b" else int
            if all(_type(x) is want for x in data):
                flat.extend(data)
                return data
        return [self.walk(kind, x, shape, level + 1, flat) for x in data]


_DECODERS: dict[str, Callable[[_Decoder, Any, int], Any]] = {
    "$int": _Decoder.hexint,
    "$t": lambda d, payload, depth: tuple(d.items(payload, depth)),
    "$set": lambda d, payload, depth: d.hashed(set, payload, depth),
    "$fset": lambda d, payload, depth: d.hashed(frozenset, payload, depth),
    "$d": _Decoder.dict_,
    "$od": lambda d, payload, depth: d.dict_(payload, depth, collections.OrderedDict),
    "$b": _Decoder.bytes_,
    "$ba": lambda d, payload, depth: bytearray(d.bytes_(payload, depth)),
    "$c": _Decoder.complex_,
    "$dec": _Decoder.decimal_,
    "$frac": _Decoder.fraction,
    "$range": _Decoder.range_,
    "$nps": _Decoder.np_scalar,
    "$npa": _Decoder.np_array,
}


def decode(obj: object, *, max_depth: int = DEFAULT_MAX_DEPTH) -> object:
    """Rebuild plain values from an ``encode`` structure; anything else is a WireFormatError."""
    try:
        return _Decoder(max_depth).dec(obj, 0)
    except WireFormatError:
        raise
    except (RecursionError, MemoryError, TypeError, ValueError, OverflowError, ArithmeticError) as e:
        raise WireFormatError(f"malformed wire value: {type(e).__name__}") from None


def loads(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH) -> object:
    """Parse what ``dumps`` produced; oversized, non-UTF-8 or malformed input is a WireFormatError."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise WireFormatError(f"wire data must be bytes, not {type(data).__name__}")
    if len(data) > max_bytes:
        raise WireFormatError(f"wire data is {len(data)} bytes, over the {max_bytes}-byte limit")
    check_depth(bytes(data), 3 * max_depth + 8)  # a dict level is three JSON levels
    try:
        obj = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, RecursionError, ValueError) as e:
        raise WireFormatError(f"wire data is not valid JSON: {type(e).__name__}") from None
    return decode(obj, max_depth=max_depth)
