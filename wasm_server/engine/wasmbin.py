"""A small reader/writer of the WebAssembly binary format: just what pre-initialisation needs.

It splits a module into its sections, reads the few sections whose contents
matter to a snapshot (imports, memory, globals, exports, data) and writes
them back. Function bodies, tables, elements and custom sections pass
through as opaque bytes. Anything this reader does not understand raises
:class:`WasmFormatError`; the caller then keeps the original module.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CODE",
    "CUSTOM",
    "DATA",
    "DATACOUNT",
    "EXPORT",
    "GLOBAL",
    "IMPORT",
    "MEMORY",
    "START",
    "DataSegment",
    "Export",
    "Global",
    "Memory",
    "Module",
    "WasmFormatError",
    "const_expr",
    "encode_data",
    "encode_exports",
    "encode_globals",
    "encode_memories",
    "parse",
    "read_data",
    "read_exports",
    "read_globals",
    "read_imports",
    "read_limits",
    "read_memories",
    "sleb",
    "uleb",
]

CUSTOM, TYPE, IMPORT, FUNCTION, TABLE, MEMORY, GLOBAL, EXPORT, START, ELEMENT, CODE, DATA, DATACOUNT = range(13)
MAGIC = b"\0asm\x01\0\0\0"

#: value types whose constants a snapshot can write (i32, i64, f32, f64)
I32, I64, F32, F64 = 0x7F, 0x7E, 0x7D, 0x7C
NUMERIC = {I32, I64, F32, F64}
#: export kinds
EXPORT_FUNC, EXPORT_TABLE, EXPORT_MEMORY, EXPORT_GLOBAL = 0, 1, 2, 3


class WasmFormatError(ValueError):
    """The bytes are not a module this reader understands."""


# --------------------------------------------------------------------------- LEB128


def uleb(value: int) -> bytes:
    """Unsigned LEB128."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sleb(value: int) -> bytes:
    """Signed LEB128."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte if done else byte | 0x80)
        if done:
            return bytes(out)


class Reader:
    """A cursor over bytes."""

    def __init__(self, data: bytes | memoryview, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        """One byte."""
        if self.pos >= self.end:
            raise WasmFormatError("unexpected end of section")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uleb(self) -> int:
        """Unsigned LEB128."""
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result
            if shift > 70:
                raise WasmFormatError("LEB128 too long")

    def take(self, n: int) -> bytes:
        """``n`` raw bytes."""
        if self.pos + n > self.end:
            raise WasmFormatError("unexpected end of section")
        out = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return out

    def name(self) -> str:
        """A length-prefixed UTF-8 name."""
        return self.take(self.uleb()).decode("utf-8")

    def const_expr(self) -> bytes:
        """The bytes of a constant expression, up to and including its ``end``."""
        start = self.pos
        while True:
            op = self.byte()
            if op == 0x0B:  # end
                return bytes(self.data[start:self.pos])
            if op in (0x41, 0x42):  # i32.const, i64.const
                self.uleb()  # same byte length as the signed form
            elif op == 0x43:
                self.take(4)
            elif op == 0x44:
                self.take(8)
            elif op in (0x23, 0xD2):  # global.get, ref.func
                self.uleb()
            elif op == 0xD0:  # ref.null t
                self.byte()
            elif op in (0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E):  # extended-const add/sub/mul
                pass
            else:
                raise WasmFormatError(f"constant expression opcode 0x{op:02x} not understood")


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True, slots=True)
class Section:
    """One section: its id and its contents (without the id and size)."""

    id: int
    body: bytes


@dataclass(slots=True)
class Module:
    """A module as its list of sections."""

    sections: list[Section]

    def find(self, section_id: int) -> Section | None:
        """The (non-custom) section with this id, if any."""
        for s in self.sections:
            if s.id == section_id:
                return s
        return None

    def replace(self, section_id: int, body: bytes | None) -> None:
        """Replace the section ``section_id`` (insert it in order if missing; ``None`` removes it)."""
        for i, s in enumerate(self.sections):
            if s.id == section_id:
                if body is None:
                    del self.sections[i]
                else:
                    self.sections[i] = Section(section_id, body)
                return
        if body is None:
            return
        order = _ORDER[section_id]
        at = len(self.sections)
        for i, s in enumerate(self.sections):
            if s.id != CUSTOM and _ORDER[s.id] > order:
                at = i
                break
        self.sections.insert(at, Section(section_id, body))

    def encode(self) -> bytes:
        """The module's bytes."""
        out = bytearray(MAGIC)
        for s in self.sections:
            out.append(s.id)
            out += uleb(len(s.body))
            out += s.body
        return bytes(out)


# the data count section comes before code although its id is larger
_ORDER = {TYPE: 1, IMPORT: 2, FUNCTION: 3, TABLE: 4, MEMORY: 5, 13: 6, GLOBAL: 7, EXPORT: 8, START: 9,
          ELEMENT: 10, DATACOUNT: 11, CODE: 12, DATA: 13}


def parse(wasm: bytes) -> Module:
    """Split a module into sections."""
    if wasm[:8] != MAGIC:
        raise WasmFormatError("not a core WebAssembly module (version 1)")
    r = Reader(wasm, 8)
    sections = []
    while r.pos < r.end:
        sid = r.byte()
        size = r.uleb()
        sections.append(Section(sid, r.take(size)))
    return Module(sections)


def _vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def _name(s: str) -> bytes:
    raw = s.encode("utf-8")
    return uleb(len(raw)) + raw


# --------------------------------------------------------------------------- imports


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """How many of each kind a module imports (they come first in each index space)."""

    funcs: int = 0
    tables: int = 0
    memories: int = 0
    globals: int = 0


def read_imports(module: Module) -> ImportCounts:
    """Count the module's imports by kind."""
    s = module.find(IMPORT)
    if s is None:
        return ImportCounts()
    r = Reader(s.body)
    counts = [0, 0, 0, 0]
    for _ in range(r.uleb()):
        r.name()
        r.name()
        kind = r.byte()
        if kind == 0:
            r.uleb()
        elif kind == 1:
            r.byte()
            read_limits(r)
        elif kind == 2:
            read_limits(r)
        elif kind == 3:
            r.byte()
            r.byte()
        else:
            raise WasmFormatError(f"import kind {kind} not understood")
        counts[kind] += 1
    return ImportCounts(*counts)


def read_limits(r: Reader) -> tuple[int, int, int | None]:
    """A memory's or table's limits: ``(flags, minimum, maximum or None)``."""
    flags = r.byte()
    if flags & ~0x07:
        raise WasmFormatError(f"limits flags 0x{flags:02x} not understood")
    minimum = r.uleb()
    maximum = r.uleb() if flags & 1 else None
    return flags, minimum, maximum


# --------------------------------------------------------------------------- memories


@dataclass(frozen=True, slots=True)
class Memory:
    """A memory's limits (``flags``: bit 0 has a max, bit 1 shared, bit 2 64-bit)."""

    flags: int
    minimum: int
    maximum: int | None


def read_memories(module: Module) -> list[Memory]:
    """The memories the module defines."""
    s = module.find(MEMORY)
    if s is None:
        return []
    r = Reader(s.body)
    return [Memory(*read_limits(r)) for _ in range(r.uleb())]


def encode_memories(memories: list[Memory]) -> bytes:
    """A memory section's body."""
    items = []
    for m in memories:
        item = bytes([m.flags]) + uleb(m.minimum)
        if m.maximum is not None:
            item += uleb(m.maximum)
        items.append(item)
    return _vec(items)


# --------------------------------------------------------------------------- globals


@dataclass(frozen=True, slots=True)
class Global:
    """A defined global: value type, mutability and its init expression's bytes."""

    valtype: int
    mutable: bool
    init: bytes


def read_globals(module: Module) -> list[Global]:
    """The globals the module defines (imported ones are not listed)."""
    s = module.find(GLOBAL)
    if s is None:
        return []
    r = Reader(s.body)
    out = []
    for _ in range(r.uleb()):
        valtype = r.byte()
        if valtype not in NUMERIC and valtype not in (0x7B, 0x70, 0x6F):
            raise WasmFormatError(f"global value type 0x{valtype:02x} not understood")
        mut = r.byte()
        out.append(Global(valtype, bool(mut), r.const_expr()))
    return out


def const_expr(valtype: int, bits: int) -> bytes:
    """The constant expression for a numeric value (floats given as their raw bits)."""
    if valtype == I32:
        v = bits & 0xFFFFFFFF
        return b"\x41" + sleb(v - (1 << 32) if v >= 1 << 31 else v) + b"\x0b"
    if valtype == I64:
        v = bits & 0xFFFFFFFFFFFFFFFF
        return b"\x42" + sleb(v - (1 << 64) if v >= 1 << 63 else v) + b"\x0b"
    if valtype == F32:
        return b"\x43" + (bits & 0xFFFFFFFF).to_bytes(4, "little") + b"\x0b"
    if valtype == F64:
        return b"\x44" + (bits & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little") + b"\x0b"
    raise WasmFormatError(f"no constant for value type 0x{valtype:02x}")


def encode_globals(globals_: list[Global]) -> bytes:
    """A global section's body."""
    return _vec([bytes([g.valtype, int(g.mutable)]) + g.init for g in globals_])


# --------------------------------------------------------------------------- exports


@dataclass(frozen=True, slots=True)
class Export:
    """One export."""

    name: str
    kind: int
    index: int


def read_exports(module: Module) -> list[Export]:
    """The module's exports."""
    s = module.find(EXPORT)
    if s is None:
        return []
    r = Reader(s.body)
    out = []
    for _ in range(r.uleb()):
        name = r.name()
        kind = r.byte()
        out.append(Export(name, kind, r.uleb()))
    return out


def encode_exports(exports: list[Export]) -> bytes:
    """An export section's body."""
    return _vec([_name(e.name) + bytes([e.kind]) + uleb(e.index) for e in exports])


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class DataSegment:
    """A data segment: ``offset`` is None for a passive segment."""

    memory: int
    offset: bytes | None
    data: bytes


def read_data(module: Module) -> list[DataSegment]:
    """The module's data segments (offsets kept as their constant expressions)."""
    s = module.find(DATA)
    if s is None:
        return []
    r = Reader(s.body)
    out = []
    for _ in range(r.uleb()):
        flag = r.uleb()
        if flag == 0:
            out.append(DataSegment(0, r.const_expr(), r.take(r.uleb())))
        elif flag == 1:
            out.append(DataSegment(0, None, r.take(r.uleb())))
        elif flag == 2:
            mem = r.uleb()
            out.append(DataSegment(mem, r.const_expr(), r.take(r.uleb())))
        else:
            raise WasmFormatError(f"data segment flag {flag} not understood")
    return out


def encode_data(segments: list[tuple[int, bytes]]) -> bytes:
    """A data section of active segments of memory 0: ``(offset, bytes)`` each."""
    return _vec([b"\x00" + const_expr(I32, offset) + uleb(len(data)) + data for offset, data in segments])
