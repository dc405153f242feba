"""Read the records of saved API pages into columns: Arrow's JSON reader when it can, the
streaming standard-library reader (``pages.py``) when it cannot.

A :class:`RecordSpec` names what to take from each record: scalar fields by key path (typed),
the first tag with each of some prefixes, and the values of some custom fields. The result is a
:class:`Records` of plain columns, the same from both paths, so importers never loop over
records in Python on the fast path.

**Fast path** (``pyarrow.json.read_json`` with an explicit schema of only the needed fields,
other fields ignored): the file's pages (``{"tickets": [...], ...}``) or records (one per line,
optionally wrapped ``{"ticket": {...}}``) as JSON lines, pretty-printed or written one after
another. Custom field values are text, numbers, booleans or lists depending on the field's type,
and Arrow refuses a column whose JSON type changes, so before parsing the key of every non-text
value is renamed in place, byte for byte (``"value": 600`` -> ``"v_num": 600``, ``true`` ->
``v_bol``, ``[`` -> ``v_lst``, ``{`` -> ``v_obj``) with numpy; this is safe because a key
followed by ``:`` cannot occur inside a JSON string (its quotes would be escaped).

**Slow path** (anything the fast path refuses: bare JSON arrays, a page without the records
key, ids that are sometimes text, a truncated file ...): :func:`pages.iter_pages`, which also
produces the exact error message for bad input.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from .errors import ImportInputError
from .pages import FileRead, iter_pages

_BLOCK = 64 << 20
_LINE_BLOCK = 16 << 20
_MAX_BLOCK = 1 << 30
_TYPED_NAMES = {"num": b"v_num", "bol": b"v_bol", "lst": b"v_lst", "obj": b"v_obj"}


@dataclass(frozen=True)
class RecordSpec:
    """What to read from each record of a file.

    ``key``: where a page holds its records (a key path); ``singular``: the wrapper of a single
    record; ``scalars``: column name -> (key path, Arrow type); ``tags``: key path of a list of
    tag strings, and ``tag_prefixes`` the prefixes wanted (column ``tag:<prefix>``: the first tag
    with the prefix, prefix removed); ``fields``: key path of a list of ``{"id": ..., "value":
    ...}`` custom fields and ``field_ids`` the ids wanted (column ``field:<id>``: the value as text;
    lists joined with ", ", booleans as true/false). ``sideload``: another page key whose records
    follow ``sideload_spec`` (Zendesk's ``metric_sets`` on ticket pages)."""

    key: tuple[str, ...]
    scalars: dict[str, tuple[tuple[str, ...], pa.DataType]]
    singular: str | None = None
    tags: tuple[str, ...] | None = None
    tag_prefixes: tuple[str, ...] = ()
    fields: tuple[str, ...] | None = None
    field_ids: tuple[int, ...] = ()
    expected: str = "API pages"
    sideload: str | None = None
    sideload_spec: "RecordSpec | None" = None


@dataclass
class Records:
    """Columns read from a file: ``frame`` holds the scalars (Arrow types kept), ``tag:<prefix>``
    and ``field:<id>`` columns; ``field_ids_seen`` every custom field id any record had;
    ``sideloaded`` the side-loaded records (or None); ``fast`` whether Arrow read the file."""

    frame: pd.DataFrame
    field_ids_seen: set = field(default_factory=set)
    sideloaded: "Records | None" = None
    fast: bool = True


def read_records(path: Path, spec: RecordSpec, info: FileRead) -> Records:
    """The records of ``path`` as columns (see the module docstring); ``info`` gets the bytes,
    sha256, pages and records. Raises :class:`ImportInputError` for a file that is not the
    vendor's format, naming the file, line and what was expected."""
    try:
        return _read_fast(path, spec, info)
    except _NotFast:
        return _read_slow(path, spec, info)


class _NotFast(Exception):
    """The fast path cannot read this file (the slow path will, or will say why not)."""


# ------------------------------------------------------------------------------------------------
# fast path


def _read_fast(path: Path, spec: RecordSpec, info: FileRead) -> Records:
    if not spec.key:
        raise _NotFast  # bare arrays of records (Freshdesk): the slow path
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
    raise _NotFast  # a JSON object of another kind: the slow path says what it found


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
    parts: list[_Part] = []
    sides: list[_Part] = []
    with _open(path) as fh:
        stream = _Stream(fh, rename)
        try:
            reader = pj.open_json(io.BufferedReader(stream, 1 << 24),
                                  read_options=pj.ReadOptions(block_size=block),
                                  parse_options=pj.ParseOptions(explicit_schema=schema,
                                                                unexpected_field_behavior="ignore"))
            for batch in reader:
                records, side = _records_of_batch(batch, spec, layout, info)
                parts.append(_columns(records, spec))
                if side is not None:
                    sides.append(side)
        except (pa.ArrowInvalid, OSError, EOFError) as err:
            raise _NotFast from err   # not what it looked like: the slow path explains
    info.sha256, info.bytes = stream.digest.hexdigest(), stream.size
    out = _concat(parts, spec)
    if spec.sideload:
        out.sideloaded = _concat(sides, spec.sideload_spec)
    return out


def _records_of_batch(batch, spec: RecordSpec, layout: str, info: FileRead):
    side = None
    if layout == "pages":
        column = batch.column(spec.key[0])
        for k in spec.key[1:]:
            column = pc.struct_field(column, k)
        if column.null_count:
            raise _NotFast  # a page without the records key: the slow path names it
        records = pc.list_flatten(column)
        if spec.sideload:
            side_column = batch.column(spec.sideload)
            side = _columns(pc.list_flatten(side_column.fill_null(pa.scalar([], side_column.type))),
                            spec.sideload_spec)
    else:
        records = batch.column(spec.singular) if layout == "singular" else pa.StructArray.from_arrays(
            batch.columns, names=batch.schema.names)
        if records.null_count or ("id" in spec.scalars and pc.struct_field(records, "id").null_count):
            raise _NotFast  # not records of this kind: the slow path says what it found
    info.pages += batch.num_rows
    info.records += len(records)
    return records, side


def _concat(parts: list[_Part], spec: RecordSpec) -> Records:
    """One frame from the blocks' columns: each column concatenated in Arrow, converted once."""
    if not parts:
        return Records(frame=pd.DataFrame({name: pd.Series([], dtype="object") for name in spec.scalars}))
    names = list(parts[0].arrays)
    frame = pd.DataFrame({name: _to_pandas(pa.chunked_array([p.arrays[name] for p in parts]))
                          for name in names}, index=pd.RangeIndex(sum(p.n for p in parts)))
    return Records(frame=frame, field_ids_seen=set().union(*(p.field_ids_seen for p in parts)))


def _read_whole(path: Path, spec: RecordSpec, info: FileRead) -> Records:
    """Pretty-printed pages or pages written back to back: the whole file at once (Arrow's
    multi-line mode needs it)."""
    if path.name.endswith(".gz"):
        try:
            data = bytearray(gzip.decompress(path.read_bytes()))
        except (OSError, EOFError) as err:
            raise _NotFast from err
    else:
        data = bytearray(path.stat().st_size)
        with open(path, "rb") as fh:
            del data[fh.readinto(data):]  # read in place: one copy of the file in memory
    info.sha256 = hashlib.sha256(data).hexdigest()  # of the JSON text, as the slow path does
    info.bytes = len(data)
    start = _first_value(data)
    if start is None or data[start] != ord("{"):
        raise _NotFast  # empty file, bare arrays, or not JSON: the slow path explains
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
        parts.append(_columns(records, spec))
        if side is not None:
            sides.append(side)
    out = _concat(parts, spec)
    if spec.sideload:
        out.sideloaded = _concat(sides, spec.sideload_spec)
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
    raise _NotFast


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
            raise _NotFast from err


def _as_struct(table: pa.Table) -> pa.StructArray:
    return pa.StructArray.from_arrays([c.combine_chunks() for c in table.columns], names=table.column_names)


def rename_typed_values(data: bytearray, chunk: int = 1 << 26, end: int | None = None) -> int:
    """Rename, in place, the key ``"value"`` of every value that is not text or null (see the
    module docstring); returns how many were renamed. Same length, so nothing moves.

    Candidates are found four bytes at a time (the text ``alue`` compared as one 32-bit word at
    each of the four alignments), so the whole file is a few vectorised passes, not a Python loop.
    Only keys starting before ``end`` (default: anywhere) are renamed; the bytes after it are
    looked at, so a caller streaming chunks passes a carry of a few hundred bytes."""
    arr = np.frombuffer(data, dtype=np.uint8)
    n = len(arr)
    limit = n if end is None else end
    renamed = 0
    word = np.frombuffer(b"alue", dtype="<u4")[0]
    for lo in range(0, limit, chunk):
        hi = min(lo + chunk + 3, n)
        found = []
        for k in range(4):
            start = lo + k
            m = (hi - start) // 4
            if m <= 0:
                continue
            words = arr[start:start + 4 * m].view("<u4")
            found.append(np.flatnonzero(words == word) * 4 + start)
        q = np.concatenate(found) - 2 if found else np.empty(0, dtype=np.int64)   # position of the opening quote
        q = q[(q >= 0) & (q < min(lo + chunk, limit)) & (q + 16 < n)]   # four alignments: no position twice
        if not len(q):
            continue
        q = q[(arr[q] == 34) & (arr[q + 1] == 118) & (arr[q + 6] == 34)]   # "value"
        if not len(q):
            continue
        p = _skip_space(arr, q + 7)
        colon = arr[p] == 58
        q, p = q[colon], _skip_space(arr, p[colon] + 1)
        first = arr[p]
        for kind, mask in (("num", ((first >= 48) & (first <= 57)) | (first == 45)),
                           ("bol", (first == 116) | (first == 102)),
                           ("lst", first == 91), ("obj", first == 123)):
            at = q[mask]
            for k, ch in enumerate(_TYPED_NAMES[kind]):
                arr[at + 1 + k] = ch
            renamed += len(at)
    return renamed


def _skip_space(arr: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = p.copy()
    for _ in range(64):
        space = np.isin(arr[np.minimum(p, len(arr) - 1)], (32, 9, 10, 13))
        if not space.any():
            break
        p[space] += 1
    return np.minimum(p, len(arr) - 1)


@dataclass
class _Part:
    """The columns of one block of records, still Arrow arrays (converted once, at the end)."""

    arrays: dict
    field_ids_seen: set
    n: int


def _columns(records: pa.StructArray, spec: RecordSpec) -> _Part:
    """Scalar, tag and custom-field columns of a StructArray of records."""
    n = len(records)
    cols: dict[str, object] = {}
    for name, (keys, _dtype) in spec.scalars.items():
        cols[name] = _get(records, keys)
    seen: set = set()
    if spec.tags is not None and spec.tag_prefixes:
        tags = _get(records, spec.tags)
        flat = pc.list_flatten(tags)
        parent = pc.list_parent_indices(tags).to_numpy()
        for prefix in spec.tag_prefixes:
            hit = pc.fill_null(pc.starts_with(flat, prefix), False).to_numpy(zero_copy_only=False)
            cols[f"tag:{prefix}"] = _first_per_parent(
                n, parent[hit], pc.utf8_slice_codeunits(flat.filter(pa.array(hit)), len(prefix)))
    if spec.fields is not None:
        fields = _get(records, spec.fields)
        flat = pc.list_flatten(fields)
        parent = pc.list_parent_indices(fields).to_numpy()
        ids = pc.struct_field(flat, "id")
        seen = set(pc.unique(ids).drop_null().to_pylist())
        if spec.field_ids:
            text = _field_text(flat)
            id_values = ids.to_numpy(zero_copy_only=False)
            for fid in spec.field_ids:
                hit = id_values == fid
                cols[f"field:{fid}"] = _first_per_parent(n, parent[hit], text.filter(pa.array(hit)))
    return _Part(arrays=cols, field_ids_seen=seen, n=n)


def _get(records: pa.StructArray, keys: tuple[str, ...]):
    node = records
    for k in keys:
        node = pc.struct_field(node, k)
    return node


def _field_text(flat: pa.StructArray) -> pa.Array:
    """Each custom field value as text: text as is, numbers without a trailing .0, booleans
    true/false, lists joined with ", " (empty list = missing)."""
    value = pc.struct_field(flat, "value")
    number = pc.struct_field(flat, "v_num")
    whole = pc.fill_null(pc.equal(number, pc.floor(number)), False)
    number_text = pc.if_else(whole, pc.cast(pc.cast(number, pa.int64(), safe=False), pa.string()),
                             pc.cast(number, pa.string()))
    boolean = pc.cast(pc.struct_field(flat, "v_bol"), pa.string())
    listed = pc.struct_field(flat, "v_lst")
    joined = pc.binary_join(listed, ", ")
    joined = pc.if_else(pc.equal(pc.list_value_length(listed), 0), pa.scalar(None, pa.string()), joined)
    return pc.coalesce(value, number_text, boolean, joined)


def _first_per_parent(n: int, parents: np.ndarray, values: pa.Array) -> pa.Array:
    """An array of length ``n`` holding, for each parent index, its first value (null if none)."""
    if not len(parents):
        return pa.nulls(n, pa.string())
    first = np.ones(len(parents), dtype=bool)
    first[1:] = parents[1:] != parents[:-1]
    take = np.full(n, -1, dtype=np.int64)
    take[parents[first]] = np.flatnonzero(first)
    mask = take < 0
    take[mask] = 0
    return pc.take(values, pa.array(take, mask=mask))


_STR = pd.StringDtype("pyarrow", na_value=np.nan)   # pandas' "str"


def _to_pandas(col) -> pd.Series:
    """An Arrow column as pandas without a pass through Python objects: text as "str" (Arrow
    backed), integers as Int64, booleans as boolean, floats as float64."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if pa.types.is_null(col.type):
        return pd.Series(pd.NA, index=range(len(col)), dtype="str")
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return pd.Series(col.to_pandas(types_mapper={pa.string(): _STR, pa.large_string(): _STR}.get))
    if pa.types.is_integer(col.type) or pa.types.is_boolean(col.type):
        mask = col.is_null().to_numpy(zero_copy_only=False)
        values = col.fill_null(False if pa.types.is_boolean(col.type) else 0).to_numpy(zero_copy_only=False)
        array = (pd.arrays.BooleanArray(values.astype(bool), mask) if pa.types.is_boolean(col.type)
                 else pd.arrays.IntegerArray(values.astype("int64"), mask))
        return pd.Series(array)
    if pa.types.is_floating(col.type):
        return pd.Series(col.to_numpy(zero_copy_only=False), dtype="float64")
    return pd.Series(col.to_pylist(), dtype="object")


# ------------------------------------------------------------------------------------------------
# slow path


def _read_slow(path: Path, spec: RecordSpec, info: FileRead) -> Records:
    info.pages = info.records = 0
    cols: dict[str, list] = {name: [] for name in spec.scalars}
    for prefix in spec.tag_prefixes:
        cols[f"tag:{prefix}"] = []
    for fid in spec.field_ids:
        cols[f"field:{fid}"] = []
    seen: set = set()
    side_pages: list = []
    sideloads = {spec.sideload: side_pages} if spec.sideload else None
    getters = {name: _getter(keys) for name, (keys, _t) in spec.scalars.items()}
    tags_of = _getter(spec.tags) if spec.tags is not None else None
    fields_of = _getter(spec.fields) if spec.fields is not None else None
    key = spec.key if len(spec.key) > 1 else (spec.key[0] if spec.key else None)
    for page in iter_pages(path, key, singular=spec.singular,
                           expected=spec.expected, info=info, sideloads=sideloads):
        for name, get in getters.items():
            cols[name].extend(get(r) for r in page)
        if spec.tag_prefixes:
            for prefix in spec.tag_prefixes:
                n = len(prefix)
                cols[f"tag:{prefix}"].extend(
                    next((t[n:] for t in (tags_of(r) or ()) if isinstance(t, str) and t.startswith(prefix)), None)
                    for r in page)
        if fields_of is not None:
            for r in page:
                values = {}
                for f in fields_of(r) or ():
                    if isinstance(f, dict) and f.get("id") is not None:
                        fid = _int_or_same(f["id"])
                        values.setdefault(fid, f.get("value"))
                seen.update(values)
                for fid in spec.field_ids:
                    cols[f"field:{fid}"].append(value_text(values.get(fid)))
    frame = pd.DataFrame({name: _slow_series(values, spec.scalars[name][1] if name in spec.scalars else pa.string())
                          for name, values in cols.items()})
    out = Records(frame=frame, field_ids_seen=seen, fast=False)
    if spec.sideload:
        side = spec.sideload_spec
        side_cols = {name: [_getter(keys)(r) for r in side_pages] for name, (keys, _t) in side.scalars.items()}
        out.sideloaded = Records(frame=pd.DataFrame({name: _slow_series(v, side.scalars[name][1])
                                                     for name, v in side_cols.items()}), fast=False)
    return out


def _getter(keys: tuple[str, ...]) -> Callable[[dict], object]:
    if len(keys) == 1:
        k = keys[0]
        return lambda r: r.get(k) if isinstance(r, dict) else None

    def get(r):
        for k in keys:
            r = r.get(k) if isinstance(r, dict) else None
        return r
    return get


def _int_or_same(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def value_text(value) -> str | None:
    """A JSON value as text: lists joined with ", ", booleans true/false, whole floats without .0."""
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return None
    return str(value)


def _slow_series(values: list, dtype: pa.DataType) -> pd.Series:
    if pa.types.is_integer(dtype):
        numbers = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce")
        whole = numbers.where(numbers == np.floor(numbers))
        # ids that are text ("c-501") do not fit: keep them as text instead
        if (numbers.isna() & pd.Series(values, dtype="object").notna()).any():
            return pd.Series([value_text(v) for v in values], dtype="object").astype("str")
        return whole.astype("Int64")
    if pa.types.is_floating(dtype):
        return pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").astype("float64")
    if pa.types.is_boolean(dtype):
        return pd.Series([v if isinstance(v, bool) else None for v in values], dtype="boolean")
    return pd.Series([value_text(v) if not isinstance(v, str) else v for v in values], dtype="object").astype("str")
