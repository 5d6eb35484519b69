"""The wire format: exact round trips, neutralised subclasses, refusals, hostile input."""

from __future__ import annotations

import builtins
import collections
import decimal
import enum
import fractions
import json
import math
import os
import subprocess
import sys
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from acesandbox import _wire
from acesandbox._wire import UnserializableValue, WireFormatError, decode, dumps, encode, loads

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def roundtrip(value: object) -> object:
    return loads(dumps(value))


def assert_same(a: Any, b: Any) -> None:
    """Equal value *and* type, all the way down; NaN equals NaN and -0.0 is not 0.0."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    elif isinstance(a, complex):
        assert_same(a.real, b.real)
        assert_same(a.imag, b.imag)
    elif isinstance(a, decimal.Decimal):
        assert str(a) == str(b)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, dict):
        assert len(a) == len(b)
        for (k1, v1), (k2, v2) in zip(a.items(), b.items()):  # insertion order kept
            assert_same(k1, k2)
            assert_same(v1, v2)
    elif isinstance(a, (set, frozenset)):
        assert len(a) == len(b)
        rest = list(b)
        for x in a:
            for i, y in enumerate(rest):
                try:
                    assert_same(x, y)
                except AssertionError:
                    continue
                del rest[i]
                break
            else:
                raise AssertionError(f"{x!r} missing from {b!r}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype
        assert (a == b) or (np.isnan(a) and np.isnan(b))
    else:
        assert a == b


# -- strategies ------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.tuples(st.integers(3990, 4010), st.integers()).map(lambda t: (10 ** t[0] + t[1]) * (-1) ** (t[1] % 2)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.binary(),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.fractions(),
    st.builds(range, st.integers(-5, 5), st.integers(-5, 5), st.integers(1, 3)),
)
hashables = st.recursive(
    scalars,
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=4),
    max_leaves=8,
)
values = st.recursive(
    scalars | st.decimals(allow_nan=False) | st.builds(bytearray, st.binary()),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(hashables, inner, max_size=4)
        | st.sets(hashables, max_size=4)
        | st.frozensets(hashables, max_size=4)
    ),
    max_leaves=20,
)


@given(values)
@settings(max_examples=200, deadline=None)
def test_round_trip_preserves_value_and_type(value):
    assert_same(roundtrip(value), value)
    assert_same(decode(encode(value)), value)


@given(values)
@settings(max_examples=50, deadline=None)
def test_dumps_is_compact_ascii_json(value):
    data = dumps(value)
    assert isinstance(data, bytes)
    data.decode("ascii")
    assert data == json.dumps(json.loads(data), separators=(",", ":")).encode()  # compact


def test_types_that_json_would_conflate_stay_apart():
    assert type(roundtrip((1, 2))) is tuple and type(roundtrip([1, 2])) is list
    assert type(roundtrip({1})) is set and type(roundtrip(frozenset({1}))) is frozenset
    assert type(roundtrip(b"x")) is bytes and type(roundtrip(bytearray(b"x"))) is bytearray
    assert roundtrip(True) is True and type(roundtrip(1)) is int
    assert math.copysign(1.0, roundtrip(-0.0)) == -1.0
    assert math.isnan(roundtrip(float("nan")))
    assert roundtrip(float("-inf")) == float("-inf")
    nested = {(1, "a"): {frozenset({2}): [(3,)]}, "k": None}
    assert_same(roundtrip(nested), nested)
    assert list(roundtrip({"b": 1, "a": 2})) == ["b", "a"]


def test_format_is_the_documented_one():
    assert encode([1, "a", None, 1.5]) == [1, "a", None, 1.5]
    assert encode((1,)) == {"$t": [1]}
    assert encode({"a": 1}) == {"$d": [["a", 1]]}
    assert encode(b"hi") == {"$b": "aGk="}
    assert encode(1 + 2j) == {"$c": [1.0, 2.0]}
    assert encode(decimal.Decimal("1.10")) == {"$dec": "1.10"}
    assert encode(fractions.Fraction(1, 3)) == {"$frac": [1, 3]}
    assert encode(range(0, 10, 2)) == {"$range": [0, 10, 2]}
    assert encode(np.int16(3)) == {"$nps": {"dtype": "<i2", "v": 3}}
    assert encode(np.array([[1.0], [2.0]])) == {"$npa": {"dtype": "<f8", "shape": [2, 1], "data": [[1.0], [2.0]]}}


def test_big_ints_go_as_hex_beyond_4000_digits():
    edge = 10**4000 - 1  # exactly 4000 digits: plain JSON
    assert encode(edge) == edge
    big = 10**4000
    assert encode(big) == {"$int": hex(big)}
    assert encode(-big) == {"$int": hex(-big)}
    assert roundtrip(7**20000) == 7**20000
    assert roundtrip([-(3**30000)]) == [-(3**30000)]


# -- numpy -------------------------------------------------------------------------------

NUMPY_SCALARS = [
    np.bool_(True), np.int8(-128), np.uint8(255), np.int16(-3), np.uint16(7), np.int32(1 << 30),
    np.uint32(4), np.int64(-(2**63)), np.uint64(2**64 - 1), np.float16(0.1), np.float32(1 / 3),
    np.float64(-0.0), np.float64("nan"), np.complex64(1 - 2j), np.complex128(complex("inf+1j")),
    np.str_("héllo"), np.bytes_(b"ab\x00c"),
]  # fmt: skip


@pytest.mark.parametrize("scalar", NUMPY_SCALARS, ids=lambda s: type(s).__name__)
def test_numpy_scalars_keep_dtype_and_value(scalar):
    back = roundtrip(scalar)
    assert type(back) is type(scalar)
    assert_same(back, scalar)
    if isinstance(scalar, np.floating):
        assert math.copysign(1.0, float(back)) == math.copysign(1.0, float(scalar))


numeric_dtypes = (
    hnp.boolean_dtypes()
    | hnp.integer_dtypes(endianness="=")
    | hnp.unsigned_integer_dtypes(endianness="=")
    | hnp.floating_dtypes(endianness="=", sizes=(16, 32, 64))
    | hnp.complex_number_dtypes(endianness="=", sizes=(64, 128))
    | hnp.unicode_string_dtypes(endianness="=")
    | hnp.byte_string_dtypes()
    | hnp.integer_dtypes(endianness=">")
)


@given(hnp.arrays(numeric_dtypes, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)))
@settings(max_examples=200, deadline=None)
def test_numpy_arrays_keep_dtype_shape_and_data(arr):
    back = roundtrip(arr)
    assert type(back) is np.ndarray
    assert back.dtype == arr.dtype and back.shape == arr.shape
    if arr.dtype.kind in "fc":
        assert np.array_equal(back, arr, equal_nan=True)
        signed = ~np.isnan(arr.real)  # NaN's sign bit and payload do not survive JSON
        assert (np.signbit(back.real) == np.signbit(arr.real))[signed].all()
    else:
        assert np.array_equal(back, arr)


def test_numpy_containers_and_subclasses():
    value = {"a": [np.int64(1), np.array([True, False])], (np.float32(2.5),): np.zeros((0, 3))}
    assert_same(roundtrip(value), value)

    class Tagged(np.ndarray):
        def tolist(self) -> Any:
            raise Trap

    back = roundtrip(np.array([[1, 2]]).view(Tagged))
    assert type(back) is np.ndarray and back.tolist() == [[1, 2]]


@pytest.mark.parametrize(
    "value",
    [
        np.array([object()], dtype=object),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
        np.zeros(2, dtype=[("a", "i4")]),
        np.longdouble(1) / 3,
        np.array([1, 2], dtype=np.longdouble),
        np.datetime64("2020-01-01"),
    ],
    ids=["object", "datetime-array", "structured", "longdouble", "longdouble-array", "datetime"],
)
def test_numpy_values_we_cannot_judge_are_refused(value):
    with pytest.raises(UnserializableValue):
        encode(value)


def test_numpy_scalars_can_be_keys_but_arrays_cannot():
    assert_same(roundtrip({(np.int8(1),): 2}), {(np.int8(1),): 2})

    class HashableArray(np.ndarray):
        def __hash__(self) -> int:
            return 0

    with pytest.raises(UnserializableValue):
        encode({np.zeros(1).view(HashableArray): 1})


def test_numpy_decodes_to_plain_python_without_numpy(monkeypatch):
    data = dumps([np.array([[1, 2], [3, 4]], dtype=np.int32), np.float32(0.5), np.array(3.0)])
    monkeypatch.setattr(_wire, "_numpy_for_decode", lambda: None)
    assert_same(loads(data), [[[1, 2], [3, 4]], 0.5, 3.0])


def test_encoding_never_imports_numpy():
    code = (
        "import sys, acesandbox._wire as w; w.dumps([1, (2.5, 'x'), {3: b'y'}]); "
        "w.loads(w.dumps({1: 2})); assert 'numpy' not in sys.modules, 'numpy imported'"
    )
    env = {**os.environ, "PYTHONPATH": REPO}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# -- hostile and unsupported values --------------------------------------------------------


class Trap(Exception):
    """Raised by a hostile dunder: reaching it means encode ran program code."""


def _trap(*args: object, **kwargs: object) -> Any:
    raise Trap


HOSTILE = {
    name: _trap
    for name in (
        "__eq__", "__ne__", "__hash__", "__repr__", "__str__", "__iter__", "__len__", "__getitem__",
        "__index__", "__int__", "__float__", "__bytes__", "__reduce__", "__reduce_ex__", "__getattr__",
        "__getattribute__", "__format__", "__bool__", "__contains__", "__complex__", "keys", "items",
        "values", "__reversed__", "__abs__", "__round__", "__trunc__", "__iter__",
    )
}  # fmt: skip


def hostile(base: type) -> type:
    return type(f"Hostile{base.__name__.title()}", (base,), dict(HOSTILE))


@pytest.mark.parametrize(
    ("base", "raw", "plain"),
    [
        (int, 7, 7),
        (float, -0.5, -0.5),
        (str, "abc", "abc"),
        (bytes, b"ab", b"ab"),
        (bytearray, b"ab", bytearray(b"ab")),
        (complex, 1 + 2j, 1 + 2j),
        (tuple, (1, "a"), (1, "a")),
        (list, [1, [2]], [1, [2]]),
        (dict, {"k": (1,)}, {"k": (1,)}),
        (set, {1, 2}, {1, 2}),
        (frozenset, {3}, frozenset({3})),
        (decimal.Decimal, "1.50", decimal.Decimal("1.50")),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_subclasses_are_neutralised_without_running_their_methods(base, raw, plain):
    cls = hostile(base)
    value = cls(raw)
    back = roundtrip([value, {"x": value}])
    assert_same(back, [plain, {"x": plain}])
    assert type(back[0]) is type(plain)


def test_always_equal_int_becomes_a_plain_int():
    class AlwaysEqual(int):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = int.__hash__

    back = roundtrip(AlwaysEqual(4))
    assert type(back) is int and back == 4 and back != 5


def test_hostile_fraction_properties_are_bypassed():
    class Frac(fractions.Fraction):
        numerator = property(_trap)  # type: ignore[assignment]
        __eq__ = __hash__ = __str__ = __repr__ = _trap

    value = Frac(3, 4)
    Frac._numerator = property(_trap)  # shadows the slot, after construction
    Frac._denominator = property(_trap)
    assert_same(roundtrip(value), fractions.Fraction(3, 4))


def test_enums_namedtuples_and_collections_become_their_base():
    # but an OrderedDict stays one (see test_ordered_dict_keeps_its_order)
    class Color(enum.IntEnum):
        RED = 1

    class Mode(str, enum.Enum):
        FAST = "fast"

    class Point(NamedTuple):
        x: int
        y: int

    value = [Color.RED, Mode.FAST, Point(1, 2), collections.Counter("aab"), collections.defaultdict(int, a=1),
             collections.OrderedDict(b=2)]  # fmt: skip
    back = roundtrip(value)
    assert_same(back, [1, "fast", (1, 2), {"a": 2, "b": 1}, {"a": 1}, collections.OrderedDict(b=2)])


def test_ordered_dict_keeps_its_order():
    # As a plain dict it compared equal to an expected OrderedDict in any order, where the
    # reference's OrderedDict == OrderedDict is order-sensitive (a wrong order passed).
    class Sub(collections.OrderedDict):
        def items(self):  # never called: the base's own
            return iter([])

    value = Sub([("b", 2), ("a", 1), ("c", 3)])
    value.move_to_end("b")
    back = roundtrip([value, collections.OrderedDict()])
    assert_same(back, [collections.OrderedDict([("a", 1), ("c", 3), ("b", 2)]), collections.OrderedDict()])
    assert list(back[0]) == ["a", "c", "b"]
    assert back[0] != collections.OrderedDict([("b", 2), ("a", 1), ("c", 3)])


def _gen():
    yield 1


@pytest.mark.parametrize(
    "value",
    [object(), _gen(), _gen, lambda: 1, math, int, map(abs, [1]), iter([1]), collections.deque([1]),
     Trap(), type("Custom", (), {})(), NotImplemented, Ellipsis, memoryview(b"x"), slice(1)],
    ids=lambda v: type(v).__name__,
)  # fmt: skip
def test_other_types_are_refused(value):
    with pytest.raises(UnserializableValue, match="cannot be judged outside the sandbox"):
        encode([1, {"k": value}])


def test_refusal_names_the_type():
    class Foo:
        pass

    with pytest.raises(UnserializableValue, match="value of type .*Foo cannot be judged outside the sandbox"):
        dumps(Foo())


def test_unhashable_keys_are_refused_at_encode():
    class HashableList(list):
        def __hash__(self) -> int:
            return 0

    with pytest.raises(UnserializableValue):
        encode({HashableList([1]): 1})
    with pytest.raises(UnserializableValue):
        encode({(1, HashableList()): 1})
    with pytest.raises(UnserializableValue):
        encode({HashableList()})


def test_cycles_are_refused_but_shared_references_are_fine():
    loop: list[Any] = [1]
    loop.append(loop)
    with pytest.raises(UnserializableValue, match="self-referential"):
        encode(loop)
    d: dict[str, Any] = {}
    d["self"] = [d]
    with pytest.raises(UnserializableValue, match="self-referential"):
        dumps(d)
    inner: list[Any] = []
    outer = (inner,)
    inner.append(outer)
    with pytest.raises(UnserializableValue):
        encode(outer)
    shared = [1, 2]
    assert roundtrip([shared, shared, (shared,)]) == [[1, 2], [1, 2], ([1, 2],)]


def nest(depth: int, kind: str = "list") -> Any:
    value: Any = 0
    for _ in range(depth):
        value = {"k": value} if kind == "dict" else (value,) if kind == "tuple" else [value]
    return value


@pytest.mark.parametrize("kind", ["list", "tuple", "dict"])
def test_depth_limit(kind):
    ok = nest(_wire.DEFAULT_MAX_DEPTH, kind)
    assert roundtrip(ok) == ok
    with pytest.raises(UnserializableValue, match="nested deeper"):
        encode(nest(_wire.DEFAULT_MAX_DEPTH + 1, kind))
    with pytest.raises(UnserializableValue):
        encode(nest(10, kind), max_depth=5)
    with pytest.raises(WireFormatError):
        decode(encode(nest(10, kind)), max_depth=5)


def test_very_deep_values_never_raise_recursion_error():
    with pytest.raises(UnserializableValue):
        encode(nest(100_000), max_depth=10**6)
    with pytest.raises(WireFormatError):
        loads(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(WireFormatError):
        decode(nest(100_000), max_depth=10**6)


def test_shared_structure_blowup_is_bounded():
    value: Any = [1]
    for _ in range(80):
        value = [value, value]  # 2**80 leaves if expanded
    with pytest.raises(UnserializableValue, match="too large"):
        encode(value, max_bytes=2**20)
    with pytest.raises(UnserializableValue, match="too large"):
        encode("x" * 1000, max_bytes=100)


def test_encode_ignores_patched_builtins():
    saved = {name: getattr(builtins, name) for name in ("len", "list", "isinstance", "type", "int", "str", "sorted")}
    try:
        for name in saved:
            setattr(builtins, name, _trap)
        encoded = encode([1, (2.0, "s"), {3: {4}}, b"b", 10**5000 and 5])
    finally:
        for name, fn in saved.items():
            setattr(builtins, name, fn)
    assert decode(encoded) == [1, (2.0, "s"), {3: {4}}, b"b", 5]


# -- hostile input to the decoder ------------------------------------------------------------

BAD_WIRE = [
    {"plain": 1}, {}, {"$t": [1], "$set": []}, {"$t": 1}, {"$set": [[1]]}, {"$fset": [{"$d": []}]},
    {"$set": "ab"}, {"$d": [[[1], 2]]}, {"$d": [[1]]}, {"$d": [[1, 2, 3]]}, {"$d": {"a": 1}},
    {"$d": [[{"$set": []}, 1]]}, {"$b": "!!"}, {"$b": 5}, {"$b": "YQ"}, {"$ba": None}, {"$c": [1, 2]},
    {"$c": [1.0]}, {"$c": "1+2j"}, {"$dec": "abc"}, {"$dec": 5}, {"$frac": [1, 0]}, {"$frac": [1.5, 2]},
    {"$frac": [True, 2]}, {"$frac": [1]}, {"$range": [0, 1, 0]}, {"$range": [0, 1]}, {"$range": [0.0, 1, 1]},
    {"$int": "12"}, {"$int": "0x"}, {"$int": " 0x1"}, {"$int": "0x1_0"}, {"$int": 5}, {"$unknown": 1},
    {"$nps": {"dtype": "|O8", "v": 1}}, {"$nps": {"dtype": "<i4", "v": "1"}}, {"$nps": {"dtype": "|i1", "v": 300}},
    {"$nps": {"dtype": "<f8"}}, {"$nps": {"dtype": "<f8", "v": 1}}, {"$nps": {"dtype": "i4,f8", "v": 1}},
    {"$nps": {"dtype": "|b1", "v": 1}}, {"$nps": {"dtype": "<M8", "v": 1}}, {"$nps": [1]},
    {"$nps": {"dtype": "<f8", "v": {"$t": [1.0]}}}, {"$npa": {"dtype": "<f8", "shape": [10**9], "data": [1.0]}},
    {"$npa": {"dtype": "<f8", "shape": [2], "data": [1.0, "x"]}}, {"$npa": {"dtype": "<f8", "shape": [1, 1], "data": [1.0]}},
    {"$npa": {"dtype": "<U999999999", "shape": [3], "data": ["a", "b", "c"]}},
    {"$npa": {"dtype": "<f8", "shape": [-1], "data": []}}, {"$npa": {"dtype": "<f8", "shape": [True], "data": [1.0]}},
    {"$npa": {"dtype": "<f8", "shape": [1] * 65, "data": 1.0}}, {"$npa": {"dtype": "<i8", "shape": [0, 10**30], "data": []}},
    {"$npa": {"dtype": "<f8", "shape": [], "data": [1.0]}}, {"$npa": {"dtype": "<f8", "shape": [1]}},
    {"$npa": {"dtype": "|u1", "shape": [1], "data": [256]}}, {"$npa": {"dtype": "<i8", "shape": [1], "data": [True]}},
    [1, {"$t": [{"bad": 1}]}], (1, 2), object(), b"bytes", {1: 2},
]  # fmt: skip


@pytest.mark.parametrize("obj", BAD_WIRE, ids=lambda o: json.dumps(o, default=repr)[:60])
def test_malformed_input_is_a_wire_format_error(obj):
    with pytest.raises(WireFormatError):
        decode(obj)
    if not isinstance(obj, (tuple, bytes)) and not (isinstance(obj, dict) and 1 in obj):
        try:
            data = json.dumps(obj).encode()
        except TypeError:
            return
        with pytest.raises(WireFormatError):
            loads(data)


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe", b"{", b"", b"[1,]", b"1" * 5000, "text", None, b'{"$t": [1]} trailing', b"\x00"],
    ids=repr,
)
def test_bad_bytes_are_a_wire_format_error(data):
    with pytest.raises(WireFormatError):
        loads(data)


def test_loads_enforces_the_size_limit():
    data = dumps(list(range(1000)))
    assert loads(data, max_bytes=len(data)) == list(range(1000))
    with pytest.raises(WireFormatError, match="limit"):
        loads(data, max_bytes=len(data) - 1)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
    | st.sampled_from(["0x1f", "-0x2", "YWI=", "<f8", "|b1", "<U3", "1.5"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(
        st.sampled_from(list(_wire._DECODERS) + ["dtype", "shape", "data", "v", "x"]), inner, max_size=3
    ),
    max_leaves=15,
)  # fmt: skip


@given(json_values)
@settings(max_examples=500, deadline=None)
def test_decode_of_arbitrary_json_returns_or_raises_wire_format_error(obj):
    try:
        decode(obj)
    except WireFormatError:
        pass


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_loads_of_arbitrary_bytes_returns_or_raises_wire_format_error(data):
    try:
        loads(data)
    except WireFormatError:
        pass


def test_wire_format_error_is_a_value_error():
    assert issubclass(WireFormatError, ValueError)
    assert not issubclass(UnserializableValue, ValueError)


# -- decoding cost is linear in the input (issue 10, finding 5) -------------------------

_P61 = 2**61 - 1  # ints k * _P61 all hash alike


def _timed(fn: Any, *args: Any) -> float:
    import time

    t0 = time.monotonic()
    try:
        fn(*args)
    except WireFormatError:
        pass
    return time.monotonic() - t0


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"$t":' * 50_000 + "1" + "}" * 50_000,
        '{"$d":[[1,' + "[" * 100_000 + "]" * 100_000 + "]]}",
    ],
    ids=["list", "tagged", "dict-value"],
)
def test_deep_nesting_is_refused_before_parsing(text: str) -> None:
    with pytest.raises(WireFormatError, match="nested deeper"):
        loads(text.encode())


def test_depth_scan_skips_brackets_in_strings() -> None:
    text = json.dumps(["[" * 5000 + '\\"{' * 5000, {"$t": ["]]]"]}]).encode()
    assert loads(text) == ["[" * 5000 + '\\"{' * 5000, ("]]]",)]
    _wire.check_depth(text, 3)


def test_huge_ranges_are_refused_both_ways() -> None:
    with pytest.raises(UnserializableValue, match="range of more than"):
        encode(range(10**18))
    with pytest.raises(WireFormatError, match="range of more than"):
        decode({"$range": [0, 10**18, 1]})
    with pytest.raises(WireFormatError, match="range of more than"):
        decode({"$range": [{"$int": hex(10**30)}, 0, -1]})
    assert roundtrip(range(5, -(2**22) + 5, -1)) == range(5, -(2**22) + 5, -1)
    assert roundtrip(range(10**30, 10**30 + 9, 3)) == range(10**30, 10**30 + 9, 3)


def test_huge_ints_are_refused_both_ways() -> None:
    big = 1 << _wire.MAX_INT_BITS
    assert roundtrip(big - 1) == big - 1
    with pytest.raises(UnserializableValue, match="int of more than"):
        encode(big)
    with pytest.raises(WireFormatError, match="bits"):
        decode({"$int": hex(big)})
    with pytest.raises(WireFormatError, match="bits"):
        decode({"$int": "0x" + "0" * (_wire.MAX_INT_BITS // 4 + 10) + "1"})


def test_fractions_are_rebuilt_without_a_gcd_and_bounded() -> None:
    bits = _wire.MAX_FRACTION_BITS
    num, den = (int.from_bytes(os.urandom(bits // 8), "big") | 1 for _ in range(2))
    payload = {"$frac": [{"$int": hex(num)}, {"$int": hex(den)}]}
    assert _timed(decode, payload) < 0.5
    value = decode(payload)
    assert isinstance(value, fractions.Fraction)
    assert (value.numerator, value.denominator) == (num, den)
    with pytest.raises(WireFormatError, match="positive"):
        decode({"$frac": [1, -3]})
    with pytest.raises(WireFormatError, match="fraction of more than"):
        decode({"$frac": [{"$int": hex(1 << bits)}, 3]})
    with pytest.raises(UnserializableValue, match="Fraction with a numerator"):
        encode(fractions.Fraction(1, 3**45_000))  # 71,324 bits
    assert roundtrip(fractions.Fraction(-6, 4)) == fractions.Fraction(-3, 2)


@pytest.mark.parametrize("text", ["1E+100000000", "1E-100000000", "1" * 20_000])
def test_decimals_with_huge_exponents_or_digits_are_refused(text: str) -> None:
    with pytest.raises(UnserializableValue, match="Decimal with more than"):
        encode(decimal.Decimal(text))
    with pytest.raises(WireFormatError, match="decimal"):
        decode({"$dec": text})


def test_bounded_decimals_still_cross() -> None:
    for text in ("1E+9999", "-0.000123", "NaN", "-Infinity", "9" * 10_000):
        v = decimal.Decimal(text)
        out = roundtrip(v)
        assert isinstance(out, decimal.Decimal) and str(out) == str(v)


@pytest.mark.parametrize("tag", ["$set", "$fset", "$d"])
def test_colliding_hashes_are_refused_in_linear_time(tag: str) -> None:
    keys = [k * _P61 for k in range(1, 60_001)]
    payload = {tag: [[k, 0] for k in keys] if tag == "$d" else keys}
    assert _timed(decode, payload) < 2.0
    with pytest.raises(WireFormatError, match="share one hash"):
        decode(payload)


def test_colliding_tuples_and_complexes_are_refused() -> None:
    with pytest.raises(WireFormatError, match="share one hash"):
        decode({"$set": [{"$c": [float(1_000_003 * k), float(-k)]} for k in range(100)]})


def test_ordinary_sets_and_dicts_still_cross() -> None:
    value = {"s": set(range(-1000, 1000)), "d": {k: str(k) for k in range(5000)}, "t": {(i, -i) for i in range(500)}}
    assert roundtrip(value) == value
    assert roundtrip({-1, -2, 2**62, 2**62 + 1}) == {-1, -2, 2**62, 2**62 + 1}


def test_lists_of_colliding_values_are_refused_but_repeats_are_fine() -> None:
    """``set(out) == set(expected)`` (EvalPlus judges some tasks so) on a returned list."""
    colliding = [k * _P61 for k in range(1, 60_001)]
    for payload in (colliding, {"$t": [colliding]}, {"$t": [{"$t": colliding}]}):
        assert _timed(decode, payload) < 2.0
        with pytest.raises(WireFormatError, match="distinct elements share one hash"):
            decode(payload)
    repeats = [(1, 2)] * 10_000 + [2**70] * 10_000 + [k * _P61 for k in range(1, 30)]
    assert roundtrip(repeats) == repeats


# -- Decimals meeting big numbers, long JSON numbers (red team, host findings 1 and 3) ------


def _cpu(fn: Any, *args: Any) -> tuple[float, Any]:
    """Host CPU seconds of ``fn(*args)`` and its result (or the exception it raised)."""
    import time

    t0 = time.process_time()
    try:
        out: Any = fn(*args)
    except Exception as exc:  # noqa: BLE001 - the caller looks at it
        out = exc
    return time.process_time() - t0, out


_BIG_DEC = decimal.Decimal("1E+10000")


def _fractions_hashing_like(h: int, n: int, bits: int = 1 << 16) -> list[Any]:
    """``n`` distinct Fractions of ``bits``-bit terms whose hash is ``h``, as wire payloads
    (the decoder takes them as coprime, so no gcd is needed to make them)."""
    import random

    rnd = random.Random(7)
    out = []
    for _ in range(n):
        den = rnd.getrandbits(bits - 1) | (1 << (bits - 2)) | 1
        num = (h * den) % _P61 + _P61 * (rnd.getrandbits(bits - 70) | (1 << (bits - 71)))
        out.append({"$frac": [{"$int": hex(num)}, {"$int": hex(den)}]})
    return out


def _decimals_hashing_like(h: int, n: int) -> list[Any]:
    """``n`` distinct 30-byte Decimals with exponent 9,990 whose hash is ``h``."""
    base = h * pow(10, -9990, _P61) % _P61
    return [{"$dec": f"{base + k * _P61}E+9990"} for k in range(n)]


def test_decimal_copies_are_not_compared_with_big_fractions_sharing_their_hash() -> None:
    """A list of 31 Fractions of 2**16-bit terms and copies of Decimal('1E+10000'), one hash:
    the distinct-elements check compared every copy with every Fraction (~10 ms each)."""
    fracs = _fractions_hashing_like(hash(_BIG_DEC), 31)
    payload = fracs + [{"$dec": "1E+10000"}] * 40
    spent, out = _cpu(decode, payload)
    assert spent < 0.5  # 40 copies x 31 Fractions: ~12 s before
    assert isinstance(out, list) and len(out) == 71 and all(hash(x) == hash(_BIG_DEC) for x in out)
    assert out[31:] == [_BIG_DEC] * 40
    # Still at most MAX_HASH_COLLISIONS distinct elements for one hash, whatever their types.
    crowded = _fractions_hashing_like(hash(_BIG_DEC), 20, bits=256) + _decimals_hashing_like(hash(_BIG_DEC), 20)
    spent, out = _cpu(decode, crowded)
    assert isinstance(out, WireFormatError) and "distinct elements share one hash" in str(out)
    spent, out = _cpu(decode, {"$t": [[{"$t": [d]} for d in crowded]]})
    assert isinstance(out, WireFormatError) and "distinct elements share one hash" in str(out)


@pytest.mark.parametrize("tag", ["$set", "$fset", "$d", "$t-in-set"])
def test_sets_do_not_pair_decimals_with_big_numbers_sharing_their_hash(tag: str) -> None:
    """Building a set compares elements that share a hash: 16 Decimals x 16 Fractions of
    2**16-bit terms cost seconds, for a few hundred KiB of wire data. Refused instead."""
    h = hash(_BIG_DEC)
    items = _fractions_hashing_like(h, 16) + _decimals_hashing_like(h, 16)
    if tag == "$d":
        payload: Any = {"$d": [[x, 0] for x in items]}
    elif tag == "$t-in-set":
        payload = {"$set": [{"$t": [x]} for x in items]}
    else:
        payload = {tag: items}
    spent, out = _cpu(decode, payload)
    assert spent < 0.5  # seconds before
    assert isinstance(out, WireFormatError) and "costly to compare" in str(out)


def test_decimals_sharing_hashes_with_cheap_or_equal_values_still_cross() -> None:
    d = decimal.Decimal
    honest = [
        {d(-1), -2},  # hash(-1) == hash(-2): unequal, cheap to compare
        {d("1.5"), 2.5, fractions.Fraction(7, 3)},
        {(d("0.1"), 1): "a", (d("0.2"), 2): "b"},
        frozenset({d(5), "x"}),
        [d("0.1")] * 1000 + [fractions.Fraction(1, 3)] * 1000 + [(d("1E+9999"), 2**70)] * 1000,
        [d(5), 5, 5.0, fractions.Fraction(5)] * 100,  # equal values of four types: four keys, not refused
        [d("NaN")] * 100,
    ]
    for value in honest:
        out = roundtrip(value)
        assert type(out) is type(value) and len(out) == len(value)  # type: ignore[arg-type]
    assert roundtrip(honest[4]) == honest[4]
    # Forged repeats of a Decimal and an equal big Fraction in one set: equal keys, cheap.
    assert decode({"$set": [{"$dec": "1E+10000"}] * 3}) == {_BIG_DEC}


def test_numbers_longer_than_the_encoder_writes_are_refused_before_parsing() -> None:
    """``json.loads`` converts a JSON int in time quadratic in its digits; the encoder never
    writes more than MAX_JSON_DIGITS of them (bigger ints go as hex)."""
    limit = 4000  # _wire.MAX_JSON_DIGITS
    edge = 10**limit - 1
    assert dumps(edge) == str(edge).encode() and loads(dumps([-edge, edge])) == [-edge, edge]
    for text in (b"9" * (limit + 1), b"[1,-" + b"9" * 4299 + b"]", b'{"$t":[' + b"1" * (limit + 1) + b"]}",
                 b"[1." + b"5" * (limit + 1) + b"]", b"[1e" + b"0" * (limit + 1) + b"]"):  # fmt: skip
        with pytest.raises(WireFormatError, match="more than 4000 digits"):
            loads(text)
        with pytest.raises(WireFormatError, match="more than 4000 digits"):
            _wire.check_depth(text, 1000)
    # Digits in strings are not numbers.
    assert loads(json.dumps(["9" * 50_000, {"$b": ""}]).encode()) == ["9" * 50_000, b""]
    _wire.check_depth(json.dumps({"lines": ['["c",0,[' + "9" * 4299 + "]]"]}).encode(), 10)
    # A forged result line of 15 MiB of 4,299-digit ints: refused in a linear scan.
    line = b"[" + b",".join([b"9" * 4299] * 3600) + b"]"
    spent, out = _cpu(lambda: (_wire.check_depth(line, 608), json.loads(line)))
    assert isinstance(out, WireFormatError)
    assert spent < 0.2  # ~0.3 s of str-to-int conversion before
