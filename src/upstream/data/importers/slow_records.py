"""The slow path of ``records.py``: the streaming standard-library reader (``pages.py``), one
record at a time in Python. It reads every layout, and says exactly what is wrong with a file
that is not the vendor's format."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .pages import FileRead, iter_pages
from .record_spec import Records, RecordSpec


def read_slow(path: Path, spec: RecordSpec, info: FileRead) -> Records:
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
