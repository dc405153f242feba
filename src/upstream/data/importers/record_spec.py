"""What ``records.py`` reads (``RecordSpec``) and returns (``Records``), shared by its fast
(Arrow) and slow (standard library) paths."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa


class NotFast(Exception):
    """The fast path cannot read this file (the slow path will, or will say why not)."""


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
