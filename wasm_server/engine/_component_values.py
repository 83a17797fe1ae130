"""Component values <-> Python, converters built once per function type.

wasmtime-py converts a ``wasmtime_component_val_t`` by walking its type
objects on every call (and looking the function's type up again each time);
``list<u8>`` costs one Python call per byte (~1 MB/s). Here each import's
parameter and result types are turned into closures once, when the linker is
built, and ``list<u8>`` moves in bulk: a C array of 32-byte values is read
with one ``string_at`` and a strided slice, and written by building the same
layout in a ``bytearray`` and copying it in with one ``memmove``.

The Python shapes (what host code sees and returns):

- bool, integers, floats, ``char`` (str of one character), ``string`` (str)
- ``list<u8>`` is ``bytes``; other lists are ``list``
- records and tuples are tuples, fields in declaration order
- ``option<T>`` is ``None`` or the value
- ``result<T, E>`` is the ok value (``None`` for ``_``) or :class:`Err` around the error
- variants are ``(case name, payload or None)``; enums are the case name
- ``own<R>`` / ``borrow<R>`` are the host's Python object for the resource
  (:class:`Resources` maps them to the ``rep`` numbers the guest's handles carry)
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from ctypes import POINTER, byref
from typing import Any, Protocol

from wasmtime import _bindings
from wasmtime import _ffi as ffi
from wasmtime.component import _types as ct

from ..errors import GuestError

Val = Any  # a ``wasmtime_component_val_t`` (ctypes structure view)
Lift = Callable[[Val], object]
Lower = Callable[[object, Val], None]

_VAL = ffi.wasmtime_component_val_t
_VAL_SIZE = ctypes.sizeof(_VAL)
_PAYLOAD = _VAL.of.offset  # where a value's payload starts inside the 32-byte value
_ValP = POINTER(_VAL)
_string_at = ctypes.string_at
_memmove = ctypes.memmove
_addressof = ctypes.addressof
_cast = ctypes.cast
_VP = ctypes.c_void_p

K_BOOL, K_S8, K_U8, K_S16, K_U16, K_S32, K_U32, K_S64, K_U64, K_F32, K_F64, K_CHAR = range(12)
K_STRING, K_LIST, K_RECORD, K_TUPLE, K_VARIANT, K_ENUM, K_OPTION, K_RESULT, K_FLAGS, K_RESOURCE = range(12, 22)


def _raw(name: str, restype: Any, argtypes: list[Any]) -> Any:
    """A private ctypes handle (``dll[name]`` makes a new function object; wasmtime-py's is untouched)."""
    fn = _bindings.dll[name]  # type: ignore[attr-defined]
    fn.restype = restype
    fn.argtypes = argtypes
    return fn


_byte_vec_new = _raw("wasm_byte_vec_new", None, [_VP, ctypes.c_size_t, ctypes.c_char_p])
_vallist_new_uninit = _raw("wasmtime_component_vallist_new_uninit", None, [_VP, ctypes.c_size_t])
_valrecord_new_uninit = _raw("wasmtime_component_valrecord_new_uninit", None, [_VP, ctypes.c_size_t])
_valtuple_new_uninit = _raw("wasmtime_component_valtuple_new_uninit", None, [_VP, ctypes.c_size_t])
_val_new = _raw("wasmtime_component_val_new", _VP, [_VP])
_AnyP = POINTER(ffi.wasmtime_component_resource_any_t)
_any_to_host = _raw("wasmtime_component_resource_any_to_host", _VP, [_VP, _AnyP, _VP])
_host_new = _raw("wasmtime_component_resource_host_new", _VP, [ctypes.c_bool, ctypes.c_uint32, ctypes.c_uint32])
_host_rep = _raw("wasmtime_component_resource_host_rep", ctypes.c_uint32, [_VP])
_host_delete = _raw("wasmtime_component_resource_host_delete", None, [_VP])
_host_to_any = _raw("wasmtime_component_resource_host_to_any", _VP, [_VP, _VP, POINTER(_AnyP)])
_any_delete = _raw("wasmtime_component_resource_any_delete", None, [_VP])
_error_message = _raw("wasmtime_error_message", None, [_VP, _VP])
_error_delete = _raw("wasmtime_error_delete", None, [_VP])


class Err:
    """The error case of a ``result`` (any other value is its ok case)."""

    __slots__ = ("value",)

    def __init__(self, value: object = None) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Err({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Err) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("Err", self.value))


class Some:
    """An ``option`` that is present even though its value is ``None`` (``some(none)``
    of a nested option, ``some(ok(none))``); any other non-None value is present too."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


class ComponentTrap(GuestError):
    """Raised by host code to trap the calling guest (a bad handle, a forbidden call)."""


class Resources(Protocol):
    """Where the calling instance's host resources live (the engine's per-Store state)."""

    ctx: Any

    def put(self, obj: object) -> int:
        """Store ``obj``; returns its rep."""

    def get(self, rep: int) -> object:
        """The object of ``rep`` (ComponentTrap if there is none)."""

    def take(self, rep: int) -> object:
        """Remove and return the object of ``rep``."""


#: the state of the instance being polled (set by the engine around each poll)
class _Current:
    state: Resources | None = None


CURRENT = _Current()


def _wasmtime_error(ptr: int) -> str:
    vec = ffi.wasm_byte_vec_t()
    _error_message(ptr, byref(vec))
    text = ffi.to_str(vec)
    ffi.wasm_byte_vec_delete(byref(vec))
    _error_delete(ptr)
    return text


def _name_vec(target: Any, data: bytes) -> None:
    _byte_vec_new(_addressof(target), len(data), data)


class _Scratch:
    """A reusable ``bytearray`` laid out as a C array of component values, with its address.

    Lowering writes the ``u8`` kinds once and scatters each body into the payload slots
    (bytearray's extended-slice assignment is a tight C loop; a ``memoryview``'s strided
    one is ~10x slower), then one ``memmove`` copies the prefix it needs. Lifting copies the
    C array in with one ``memmove`` and gathers the payload bytes with one slice. Reusing
    the buffer avoids page faults on 32 bytes per body byte."""

    def __init__(self, kinds: bool) -> None:
        self.kinds = kinds
        self.size = 0
        self.buf = bytearray()
        self.addr = 0
        self._view: Any = None

    def ensure(self, n: int) -> None:
        """Room for ``n`` values."""
        if n <= self.size:
            return
        size = max(n, 2 * self.size, 4096)
        self._view = None  # release the export before the old buffer goes
        self.buf = bytearray(size * _VAL_SIZE)
        if self.kinds:
            self.buf[0::_VAL_SIZE] = bytes((K_U8,)) * size
        self._view = (ctypes.c_char * len(self.buf)).from_buffer(self.buf)
        self.addr = _addressof(self._view)
        self.size = size


_lowering = _Scratch(kinds=True)
_lifting = _Scratch(kinds=False)


def _lift_bytes(v: Val) -> bytes:
    n = v.of.list.size
    if not n:
        return b""
    scratch = _lifting
    scratch.ensure(n)
    _memmove(scratch.addr, _cast(v.of.list.data, _VP).value or 0, n * _VAL_SIZE)
    return bytes(scratch.buf[_PAYLOAD:n * _VAL_SIZE:_VAL_SIZE])


def _lower_bytes(value: object, v: Val) -> None:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(value).__name__}")
    n = len(value)
    lst = v.of.list
    _vallist_new_uninit(_addressof(lst), n)
    if n:
        scratch = _lowering
        scratch.ensure(n)
        scratch.buf[_PAYLOAD:n * _VAL_SIZE:_VAL_SIZE] = value
        _memmove(_cast(lst.data, _VP).value or 0, scratch.addr, n * _VAL_SIZE)
    v.kind = K_LIST


def _prim(kind: int, field: str) -> tuple[Lift, Lower]:
    def lift(v: Val) -> object:
        return getattr(v.of, field)

    def lower(value: object, v: Val) -> None:
        v.kind = kind
        setattr(v.of, field, value)

    return lift, lower


def _lift_bool(v: Val) -> object:
    return bool(v.of.boolean)


def _lower_bool(value: object, v: Val) -> None:
    v.kind = K_BOOL
    v.of.boolean = bool(value)


def _lift_string(v: Val) -> object:
    s = v.of.string
    return _string_at(s.data, s.size).decode() if s.size else ""


def _lower_string(value: object, v: Val) -> None:
    if not isinstance(value, str):
        raise TypeError(f"expected str, got {type(value).__name__}")
    _name_vec(v.of.string, value.encode())
    v.kind = K_STRING


def _lift_char(v: Val) -> object:
    return chr(v.of.character)


def _lower_char(value: object, v: Val) -> None:
    assert isinstance(value, str)
    v.kind = K_CHAR
    v.of.character = ord(value)


_PRIMS: dict[type, tuple[Lift, Lower]] = {
    ct.Bool: (_lift_bool, _lower_bool),
    ct.S8: _prim(K_S8, "s8"), ct.U8: _prim(K_U8, "u8"), ct.S16: _prim(K_S16, "s16"),
    ct.U16: _prim(K_U16, "u16"), ct.S32: _prim(K_S32, "s32"), ct.U32: _prim(K_U32, "u32"),
    ct.S64: _prim(K_S64, "s64"), ct.U64: _prim(K_U64, "u64"), ct.F32: _prim(K_F32, "f32"),
    ct.F64: _prim(K_F64, "f64"), ct.Char: (_lift_char, _lower_char), ct.String: (_lift_string, _lower_string),
}


def converters(ty: Any, rid: Callable[[object], int]) -> tuple[Lift, Lower]:
    """The (lift, lower) pair of a wasmtime-py ``ValType``.

    ``rid(obj)`` is the host resource type id of a Python resource object (to
    lower an ``own``/``borrow``)."""
    prim = _PRIMS.get(type(ty))
    if prim is not None:
        return prim
    if isinstance(ty, ct.ListType):
        return _list(ty, rid)
    if isinstance(ty, (ct.RecordType, ct.TupleType)):
        return _record(ty, rid)
    if isinstance(ty, ct.VariantType):
        return _variant(ty, rid)
    if isinstance(ty, ct.EnumType):
        return _enum(ty)
    if isinstance(ty, ct.OptionType):
        return _option(ty, rid)
    if isinstance(ty, ct.ResultType):
        return _result(ty, rid)
    if isinstance(ty, (ct.OwnType, ct.BorrowType)):
        return _resource(isinstance(ty, ct.OwnType), rid)
    raise TypeError(f"component values of type {type(ty).__name__} are not supported by this host")


def _list(ty: Any, rid: Callable[[object], int]) -> tuple[Lift, Lower]:
    elem = ty.element
    if isinstance(elem, ct.U8):
        return _lift_bytes, _lower_bytes
    elift, elower = converters(elem, rid)

    def lift(v: Val) -> object:
        lst = v.of.list
        data = lst.data
        return [elift(data[i]) for i in range(lst.size)]

    def lower(value: object, v: Val) -> None:
        items = list(value)  # type: ignore[call-overload]
        lst = v.of.list
        _vallist_new_uninit(_addressof(lst), len(items))
        data = lst.data
        for i, item in enumerate(items):
            elower(item, data[i])
        v.kind = K_LIST

    return lift, lower


def _record(ty: Any, rid: Callable[[object], int]) -> tuple[Lift, Lower]:
    is_record = isinstance(ty, ct.RecordType)
    parts = [converters(t, rid) for _, t in ty.fields] if is_record else [converters(t, rid) for t in ty.elements]
    names = [n.encode() for n, _ in ty.fields] if is_record else []
    lifts = [p[0] for p in parts]
    lowers = [p[1] for p in parts]

    def lift(v: Val) -> object:
        if is_record:
            data = v.of.record.data
            return tuple(f(data[i].val) for i, f in enumerate(lifts))
        data = v.of.tuple.data
        return tuple(f(data[i]) for i, f in enumerate(lifts))

    def lower(value: object, v: Val) -> None:
        if not isinstance(value, tuple):
            raise TypeError(f"expected a tuple, got {type(value).__name__}")
        items = value
        if len(items) != len(lowers):
            raise TypeError(f"expected {len(lowers)} fields, got {len(items)}")
        if is_record:
            rec = v.of.record
            _valrecord_new_uninit(_addressof(rec), len(items))
            data = rec.data
            for i, item in enumerate(items):
                _name_vec(data[i].name, names[i])
                lowers[i](item, data[i].val)
            v.kind = K_RECORD
        else:
            tup = v.of.tuple
            _valtuple_new_uninit(_addressof(tup), len(items))
            data = tup.data
            for i, item in enumerate(items):
                lowers[i](item, data[i])
            v.kind = K_TUPLE

    return lift, lower


def _boxed(lower: Lower, value: object) -> Any:
    """A heap ``wasmtime_component_val_t*`` holding ``value`` (for option/result/variant payloads)."""
    tmp = _VAL()
    lower(value, tmp)
    return _cast(_val_new(_addressof(tmp)), _ValP)


def _variant(ty: Any, rid: Callable[[object], int]) -> tuple[Lift, Lower]:
    cases = {name: (None if t is None else converters(t, rid)) for name, t in ty.cases}
    encoded = {name: name.encode() for name in cases}

    def lift(v: Val) -> object:
        var = v.of.variant
        name = _string_at(var.discriminant.data, var.discriminant.size).decode()
        conv = cases[name]
        return name, (conv[0](var.val.contents) if conv is not None and var.val else None)

    def lower(value: object, v: Val) -> None:
        if not isinstance(value, tuple):
            raise TypeError(f"expected (case, payload), got {type(value).__name__}")
        name, payload = value
        conv = cases[name]
        var = v.of.variant
        _name_vec(var.discriminant, encoded[name])
        var.val = _boxed(conv[1], payload) if conv is not None else None
        v.kind = K_VARIANT

    return lift, lower


def _enum(ty: Any) -> tuple[Lift, Lower]:
    known = {name: name.encode() for name in ty.names}

    def lift(v: Val) -> object:
        e = v.of.enumeration
        return _string_at(e.data, e.size).decode()

    def lower(value: object, v: Val) -> None:
        _name_vec(v.of.enumeration, known[str(value)])
        v.kind = K_ENUM

    return lift, lower


def _option(ty: Any, rid: Callable[[object], int]) -> tuple[Lift, Lower]:
    plift, plower = converters(ty.payload, rid)

    def lift(v: Val) -> object:
        p = v.of.option
        return plift(p.contents) if p else None

    def lower(value: object, v: Val) -> None:
        if isinstance(value, Some):
            v.of.option = _boxed(plower, value.value)
        else:
            v.of.option = None if value is None else _boxed(plower, value)
        v.kind = K_OPTION

    return lift, lower


def _result(ty: Any, rid: Callable[[object], int]) -> tuple[Lift, Lower]:
    ok = None if ty.ok is None else converters(ty.ok, rid)
    err = None if ty.err is None else converters(ty.err, rid)

    def lift(v: Val) -> object:
        r = v.of.result
        if r.is_ok:
            return ok[0](r.val.contents) if ok is not None and r.val else None
        return Err(err[0](r.val.contents) if err is not None and r.val else None)

    def lower(value: object, v: Val) -> None:
        r = v.of.result
        if isinstance(value, Err):
            r.is_ok = False
            r.val = _boxed(err[1], value.value) if err is not None else None
        else:
            r.is_ok = True
            r.val = _boxed(ok[1], value) if ok is not None else None
        v.kind = K_RESULT

    return lift, lower


def _resource(owned: bool, rid: Callable[[object], int]) -> tuple[Lift, Lower]:
    def lift(v: Val) -> object:
        state = CURRENT.state
        if state is None:
            raise ComponentTrap("a resource crossed outside a guest call")
        host = _VP()
        err = _any_to_host(state.ctx, v.of.resource, byref(host))
        if err:
            raise ComponentTrap(f"not a host resource: {_wasmtime_error(err)}")
        rep = _host_rep(host)
        _host_delete(host)
        # an own handle moves to the host (out of the table); a borrow stays the guest's
        return state.take(rep) if owned else state.get(rep)

    def lower(value: object, v: Val) -> None:
        state = CURRENT.state
        if state is None:
            raise ComponentTrap("a resource crossed outside a guest call")
        rep = state.put(value)
        host = _host_new(owned, rep, rid(value))
        out = _AnyP()
        err = _host_to_any(state.ctx, host, byref(out))
        _host_delete(host)
        if err:
            raise ComponentTrap(f"cannot hand a resource to the guest: {_wasmtime_error(err)}")
        v.of.resource = out
        v.kind = K_RESOURCE

    return lift, lower
