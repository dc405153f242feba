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

from pathlib import Path

from .arrow_records import read_fast as _read_fast
from .pages import FileRead
from .record_spec import NotFast, Records, RecordSpec
from .slow_records import read_slow as _read_slow
from .typed_values import rename_typed_values

__all__ = ["RecordSpec", "Records", "NotFast", "read_records", "rename_typed_values"]


def read_records(path: Path, spec: RecordSpec, info: FileRead) -> Records:
    """The records of ``path`` as columns (see the module docstring); ``info`` gets the bytes,
    sha256, pages and records. Raises :class:`ImportInputError` for a file that is not the
    vendor's format, naming the file, line and what was expected."""
    try:
        return _read_fast(path, spec, info)
    except NotFast:
        return _read_slow(path, spec, info)


