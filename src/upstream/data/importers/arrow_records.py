"""The fast path of ``records.py``: Arrow's JSON reader with an explicit schema of only the needed
fields (others ignored). JSON lines are streamed block by block through a reader that renames
typed custom-field values on the way (``typed_values.py``) and keeps the file's sha256, so memory
holds a block and the columns, not the file; pretty-printed pages or pages written back to back
are parsed whole in Arrow's multi-line mode. Anything unexpected raises ``NotFast`` and the slow
path takes over (and explains bad input)."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from .arrow_columns import RecordPart, concat_parts, record_columns
from .pages import FileRead
from .record_spec import NotFast, Records, RecordSpec
from .typed_values import rename_typed_values

_BLOCK = 64 << 20
_LINE_BLOCK = 16 << 20
_MAX_BLOCK = 1 << 30


def read_fast(path: Path, spec: RecordSpec, info: FileRead) -> Records:
    if not spec.key:
        raise NotFast  # bare arrays of records (Freshdesk): the slow path
    layout, line = _jsonl_layout(path, spec)
    if layout is not None:
        return _read_lines(path, spec, info, layout, block=min(max(_LINE_BLOCK, 4 * line), _MAX_BLOCK))
    return _read_whole(path, spec, info)


def _open(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def _jsonl_layout(path: Path, spec: RecordSpec) -> tuple[str | None, int]:
    """The layout (pages, singular, records) when the file is JSON lines -- its first line is one
    whole JSON object -- else None; and the first line's length. Judged from the object's keys."""
    try:
        with _open(path) as fh:
            first = fh.readline(1 << 28)
    except (OSError, EOFError):
        return None, 0
    try:
        value = json.loads(first.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None, 0
    if not isinstance(value, dict):
        return None, 0
    node = value
    for k in spec.key:
        node = node.get(k) if isinstance(node, dict) else None
    if isinstance(node, list):
        return "pages", len(first)
    if spec.singular and isinstance(value.get(spec.singular), dict):
        return "singular", len(first)
    if "id" in value and spec.key[0] not in value:
        return "records", len(first)
    raise NotFast  # a JSON object of another kind: the slow path says what it found


class _Stream(io.RawIOBase):
    """The file's bytes as Arrow reads them: typed custom-field values renamed on the way (with a
    small carry so no key is cut at a chunk edge), the sha256 and byte count kept for the report."""

    CARRY = 256

    def __init__(self, fh, rename: bool):
        self.fh, self.rename = fh, rename
        self.digest = hashlib.sha256()
        self.size = 0
        self.carry = b""
        self.pending = b""
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending and not self.done:
            chunk = self.fh.read(1 << 24)
            if chunk:
                self.digest.update(chunk)
                self.size += len(chunk)
            data = bytearray(self.carry + chunk)
            if not chunk:
                self.done = True
                cut = len(data)
            else:
                cut = max(len(data) - self.CARRY, 0)
            if self.rename and cut:
                rename_typed_values(data, end=cut)
            self.pending, self.carry = bytes(data[:cut]), bytes(data[cut:])
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


def _read_lines(path: Path, spec: RecordSpec, info: FileRead, layout: str, block: int) -> Records:
    """JSON lines, streamed: Arrow parses one block at a time and each block is reduced to the
    needed columns at once, so memory holds a block and the columns, not the file."""
    rename = spec.fields is not None and bool(spec.field_ids)
    schema = _schema(spec, layout)
    parts: list[RecordPart] = []
    sides: list[RecordPart] = []
    with _open(path) as fh:
        stream = _Stream(fh, rename)
        try:
            reader = pj.open_json(io.BufferedReader(stream, 1 << 24),
                                  read_options=pj.ReadOptions(block_size=block),
                                  parse_options=pj.ParseOptions(explicit_schema=schema,
                                                                unexpected_field_behavior="ignore"))
            for batch in reader:
                records, side = _records_of_batch(batch, spec, layout, info)
                parts.append(record_columns(records, spec))
                if side is not None:
                    sides.append(side)
        except (pa.ArrowInvalid, OSError, EOFError) as err:
            raise NotFast from err   # not what it looked like: the slow path explains
    info.sha256, info.bytes = stream.digest.hexdigest(), stream.size
    out = concat_parts(parts, spec)
    if spec.sideload:
        out.sideloaded = concat_parts(sides, spec.sideload_spec)
    return out


def _records_of_batch(batch, spec: RecordSpec, layout: str, info: FileRead):
    side = None
    if layout == "pages":
        column = batch.column(spec.key[0])
        for k in spec.key[1:]:
            column = pc.struct_field(column, k)
        if column.null_count:
            raise NotFast  # a page without the records key: the slow path names it
        records = pc.list_flatten(column)
        if spec.sideload:
            side_column = batch.column(spec.sideload)
            side = record_columns(pc.list_flatten(side_column.fill_null(pa.scalar([], side_column.type))),
                            spec.sideload_spec)
    else:
        records = batch.column(spec.singular) if layout == "singular" else pa.StructArray.from_arrays(
            batch.columns, names=batch.schema.names)
        if records.null_count or ("id" in spec.scalars and pc.struct_field(records, "id").null_count):
            raise NotFast  # not records of this kind: the slow path says what it found
    info.pages += batch.num_rows
    info.records += len(records)
    return records, side




def _read_whole(path: Path, spec: RecordSpec, info: FileRead) -> Records:
    """Pretty-printed pages or pages written back to back: the whole file at once (Arrow's
    multi-line mode needs it)."""
    if path.name.endswith(".gz"):
        try:
            data = bytearray(gzip.decompress(path.read_bytes()))
        except (OSError, EOFError) as err:
            raise NotFast from err
    else:
        data = bytearray(path.stat().st_size)
        with open(path, "rb") as fh:
            del data[fh.readinto(data):]  # read in place: one copy of the file in memory
    info.sha256 = hashlib.sha256(data).hexdigest()  # of the JSON text, as the slow path does
    info.bytes = len(data)
    start = _first_value(data)
    if start is None or data[start] != ord("{"):
        raise NotFast  # empty file, bare arrays, or not JSON: the slow path explains
    layout = _layout(data, start, spec)
    if data[:3] == b"\xef\xbb\xbf":
        data[:3] = b"   "
    if spec.fields is not None and spec.field_ids:
        rename_typed_values(data)
    table = _parse(data, _schema(spec, layout))
    del data
    parts, sides = [], []
    for batch in table.to_batches():
        records, side = _records_of_batch(batch, spec, layout, info)
        parts.append(record_columns(records, spec))
        if side is not None:
            sides.append(side)
    out = concat_parts(parts, spec)
    if spec.sideload:
        out.sideloaded = concat_parts(sides, spec.sideload_spec)
    return out


def _first_value(data: bytearray) -> int | None:
    n = len(data)
    i = 0
    if data[:3] == b"\xef\xbb\xbf":
        i = 3
    while i < n and data[i] in b" \t\r\n":
        i += 1
    return i if i < n else None


def _layout(data: bytearray, start: int, spec: RecordSpec) -> str:
    """pages, singular or records, judged from the first value's keys (cheaply: its text)."""
    head = bytes(data[start:start + (1 << 20)])
    key = f'"{spec.key[0]}"'.encode()
    if key in head:
        return "pages"
    if spec.singular and f'"{spec.singular}"'.encode() in head:
        return "singular"
    if b'"id"' in head:
        return "records"
    raise NotFast


def _record_struct(spec: RecordSpec) -> pa.StructType:
    tree: dict = {}
    for _name, (keys, dtype) in spec.scalars.items():
        node = tree
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = dtype
    if spec.tags is not None and spec.tag_prefixes:
        _put(tree, spec.tags, pa.list_(pa.string()))
    if spec.fields is not None and spec.field_ids:
        _put(tree, spec.fields, pa.list_(pa.struct([
            ("id", pa.int64()), ("value", pa.string()), ("v_num", pa.float64()), ("v_bol", pa.bool_()),
            ("v_lst", pa.list_(pa.string()))])))
    elif spec.fields is not None:
        _put(tree, spec.fields, pa.list_(pa.struct([("id", pa.int64())])))
    return _struct_of(tree)


def _put(tree: dict, keys: tuple[str, ...], dtype) -> None:
    node = tree
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = dtype


def _struct_of(tree: dict) -> pa.StructType:
    return pa.struct([(k, _struct_of(v) if isinstance(v, dict) else v) for k, v in tree.items()])


def _schema(spec: RecordSpec, layout: str) -> pa.Schema:
    record = _record_struct(spec)
    if layout == "pages":
        node = pa.list_(record)
        for k in reversed(spec.key[1:]):
            node = pa.struct([(k, node)])
        fields = [(spec.key[0], node)]
        if spec.sideload:
            fields.append((spec.sideload, pa.list_(_record_struct(spec.sideload_spec))))
        return pa.schema(fields)
    if layout == "singular":
        return pa.schema([(spec.singular, record)])
    return pa.schema(list(record))


def _parse(data: bytearray, schema: pa.Schema) -> pa.Table:
    """Arrow's reader in its multi-line mode (pages may be pretty-printed or written back to
    back); a value larger than a block is retried with larger blocks."""
    block = _BLOCK
    buffer = pa.py_buffer(data)
    while True:
        try:
            return pj.read_json(pa.BufferReader(buffer), read_options=pj.ReadOptions(block_size=block),
                                parse_options=pj.ParseOptions(explicit_schema=schema,
                                                              unexpected_field_behavior="ignore",
                                                              newlines_in_values=True))
        except pa.ArrowInvalid as err:
            if "straddl" in str(err) and block < _MAX_BLOCK:
                block *= 4
                continue
            raise NotFast from err


def _as_struct(table: pa.Table) -> pa.StructArray:
    return pa.StructArray.from_arrays([c.combine_chunks() for c in table.columns], names=table.column_names)
