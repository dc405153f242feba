"""Read the records of saved API pages into columns: Arrow's JSON reader when it can, the
streaming standard-library reader (``pages.py``) when it cannot.

A :class:`RecordSpec` names what to take from each record: scalar fields by key path (typed),
the first tag with each of some prefixes, and the values of some custom fields. The result is a
:class:`Records` of plain columns, the same from both paths, so importers never loop over
records in Python on the fast path.

**Fast path** (``arrow_records.py``: Arrow's JSON reader with an explicit schema of only the
needed fields): pages (``{"tickets": [...], ...}``) or records (one per line, optionally wrapped
``{"ticket": {...}}``); JSON lines are streamed block by block, pretty-printed pages or pages
written back to back are parsed whole. Custom field values change JSON type with the field, which
Arrow refuses, so their keys are renamed by type first (``typed_values.py``).

**Slow path** (``slow_records.py``; anything the fast path refuses: bare JSON arrays, a page
without the records key, ids that are sometimes text, a truncated file ...): the streaming
standard-library reader (``pages.iter_pages``), which also produces the exact error message for
bad input.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from .pages import FileRead


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


def read_records(path: Path, spec: RecordSpec, info: FileRead) -> Records:
    """The records of ``path`` as columns (see the module docstring); ``info`` gets the bytes,
    sha256, pages and records. Raises :class:`ImportInputError` for a file that is not the
    vendor's format, naming the file, line and what was expected."""
    try:
        return _read_fast(path, spec, info)
    except NotFast:
        return _read_slow(path, spec, info)


from .arrow_records import read_fast as _read_fast  # noqa: E402  (after the classes both paths use)
from .slow_records import read_slow as _read_slow  # noqa: E402
from .typed_values import rename_typed_values  # noqa: E402,F401  (part of this module's API)
