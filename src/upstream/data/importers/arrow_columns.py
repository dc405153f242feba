"""Arrow records -> the columns importers use: scalars by key path, the first tag with a prefix,
custom field values as text; kept as Arrow arrays per block and converted to pandas once."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .record_spec import Records, RecordSpec


@dataclass
class RecordPart:
    """The columns of one block of records, still Arrow arrays (converted once, at the end)."""

    arrays: dict
    field_ids_seen: set
    n: int


def record_columns(records: pa.StructArray, spec: RecordSpec) -> RecordPart:
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
    return RecordPart(arrays=cols, field_ids_seen=seen, n=n)


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


def concat_parts(parts: list[RecordPart], spec: RecordSpec) -> Records:
    """One frame from the blocks' columns: each column concatenated in Arrow, converted once."""
    if not parts:
        return Records(frame=pd.DataFrame({name: pd.Series([], dtype="object") for name in spec.scalars}))
    names = list(parts[0].arrays)
    frame = pd.DataFrame({name: _to_pandas(pa.chunked_array([p.arrays[name] for p in parts]))
                          for name in names}, index=pd.RangeIndex(sum(p.n for p in parts)))
    return Records(frame=frame, field_ids_seen=set().union(*(p.field_ids_seen for p in parts)))
