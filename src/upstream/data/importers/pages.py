"""Read helpdesk API exports saved to disk, page by page, without loading a whole file.

People save API responses in three ways and all three are accepted, also mixed, and gzipped
(``.gz``):

- one page object per file: ``{"tickets": [...], "next_page": ...}``;
- several page objects one after another (``}{``, ``}\\n{`` or pretty-printed blocks);
- JSON lines: one page object per line.

A "page" is an object holding the records under a key (``tickets``; a key path such as
``("_embedded", "conversations")`` for HAL responses), or a bare JSON array of records
(Freshdesk's list endpoints), or a single record (NDJSON of records, e.g. Zendesk's full JSON
export, optionally wrapped as ``{"ticket": {...}}``).

Memory: the file is read in chunks and decoded one top-level JSON value at a time with
``json.JSONDecoder.raw_decode``, so memory holds one page (API pages are at most a few MB),
not the file. A file that is one giant JSON value is read whole; that is the only case a
streaming tokenizer such as ``ijson`` would help, and it does not occur with API pages.
The sha256 of the raw bytes is computed on the same pass (for ``dataset.yaml``).
"""
from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import ImportInputError

_CHUNK = 1 << 22  # 4 MiB
_WS = re.compile(r"[ \t\n\r]*")


@dataclass
class FileRead:
    """What was read from one export file (filled in while its pages are iterated)."""

    name: str
    path: Path
    bytes: int = 0
    sha256: str = ""
    pages: int = 0
    records: int = 0

    def to_dict(self) -> dict:
        return {"name": self.name, "bytes": self.bytes, "sha256": self.sha256,
                "pages": self.pages, "records": self.records}


def iter_json_values(path: str | Path, info: FileRead | None = None) -> Iterator[tuple[object, int]]:
    """Yield ``(value, line)`` for each top-level JSON value in the file (1-based line where the
    value starts). Raises :class:`ImportInputError` naming the file, line and column for text
    that is not JSON or not UTF-8."""
    path = Path(path)
    name = path.name
    digest = hashlib.sha256()
    decoder = json.JSONDecoder()
    text_decoder = codecs.getincrementaldecoder("utf-8-sig")()
    opener = gzip.open if name.endswith(".gz") or _magic(path) == _GZIP else open
    buf = ""
    pos = 0
    lines_before = 0  # newlines in the text already discarded from buf
    counted_to = 0    # buf[:counted_to] holds counted_lines newlines (line numbers without rescans)
    counted_lines = 0
    n_bytes = 0
    eof = False
    read_size = _CHUNK
    try:
        fh = opener(path, "rb")
    except OSError as err:
        raise ImportInputError(f"{name}: cannot be read ({err.strerror or err})", name) from err
    with fh:
        def more() -> bool:
            nonlocal buf, pos, lines_before, n_bytes, eof, read_size, counted_to, counted_lines
            if eof:
                return False
            try:
                raw = fh.read(read_size)
            except (OSError, EOFError) as err:  # broken gzip stream
                cut = isinstance(err, EOFError) or "end-of-stream" in str(err)
                raise ImportInputError(
                    f"{name}: cannot be read ({err})"
                    + ("; the gzip file ends early: the download was cut off?" if cut else "")
                    + "; expected a JSON export (optionally gzipped)", name) from err
            if n_bytes == 0:
                kind = _binary_kind(raw)
                if kind:
                    raise ImportInputError(f"{name}: {kind}, not JSON text; expected a JSON export (API pages "
                                           "saved as .json, .jsonl or .ndjson, optionally gzipped)", name)
            n_bytes += len(raw)
            digest.update(raw)
            try:
                text = text_decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as err:
                raise ImportInputError(
                    f"{name}: not UTF-8 text (invalid byte at offset {n_bytes - len(raw) + err.start}); "
                    "expected a JSON export", name) from err
            if not raw:
                eof = True
            lines_before += _count_to(pos)
            buf = buf[pos:] + text
            pos = counted_to = counted_lines = 0
            return True

        def _count_to(upto: int) -> int:
            """Newlines in buf[:upto], counting each character once."""
            nonlocal counted_to, counted_lines
            if upto < counted_to:
                return buf.count("\n", 0, upto)
            counted_lines += buf.count("\n", counted_to, upto)
            counted_to = upto
            return counted_lines

        more()
        while True:
            pos = _WS.match(buf, pos).end()
            if pos >= len(buf):
                if not more():
                    break
                continue
            line = lines_before + _count_to(pos) + 1
            if buf[pos] not in "{[":
                col = pos - buf.rfind("\n", 0, pos)
                found = buf[pos:pos + 20].split("\n")[0]
                kind = _text_kind(buf[pos:pos + 2000]) if line == 1 else ""
                raise ImportInputError(
                    f"{name}: line {line}, column {col}: expected a JSON object or array, found {found!r}"
                    + (f" ({kind})" if kind else ""), name)
            while True:
                try:
                    value, end = decoder.raw_decode(buf, pos)
                    break
                except json.JSONDecodeError as err:
                    if more():
                        read_size = min(read_size * 2, 1 << 28)  # a large value: read faster
                        continue
                    err_line = lines_before + err.lineno
                    truncated = err.pos >= len(buf.rstrip()) - 1 or (
                        err.msg.startswith("Unterminated string") and '"' not in buf[err.pos + 1:])
                    raise ImportInputError(
                        f"{name}: not valid JSON at line {err_line}, column {err.colno}: {err.msg}"
                        + (" (the file ends in the middle of a value: truncated?)" if truncated else ""),
                        name) from err
            yield value, line
            pos = end
    if info is not None:
        info.bytes = n_bytes
        info.sha256 = digest.hexdigest()


_GZIP = b"\x1f\x8b"
_BINARY = {b"\x89PNG": "a PNG image", b"%PDF": "a PDF document",
           b"PK\x03\x04": "a ZIP archive (or an Excel .xlsx file)", b"\xff\xd8\xff": "a JPEG image",
           b"GIF8": "a GIF image"}


def _magic(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(2)
    except OSError:
        return b""


def _binary_kind(head: bytes) -> str:
    """What a file that is not text is, from its first bytes ("" when it is not recognised)."""
    for magic, kind in _BINARY.items():
        if head.startswith(magic):
            return f"the file is {kind}"
    return ""


def _text_kind(text: str) -> str:
    """What a text file that is not JSON looks like ("" when it is not recognised)."""
    low = text.lstrip().lower()
    if low.startswith(("<!doctype html", "<html", "<head", "<body", "<?xml", "<")):
        return ("an HTML or XML page, e.g. an error or sign-in page saved instead of the API response; "
                "expected the JSON the API returns")
    first = text.split("\n", 1)[0]
    if first.count(",") >= 1 or first.count(";") >= 2 or first.count("\t") >= 1:
        return "it looks like a CSV table (a header row); expected the JSON pages the API returns"
    return ""


def iter_pages(path: str | Path, key: str | tuple[str, ...] | None, *, singular: str | None = None,
               expected: str, info: FileRead | None = None,
               sideloads: dict[str, list] | None = None, bare_arrays: bool = True) -> Iterator[list]:
    """Yield the list of records of each page in the file.

    ``key`` is where a page object holds its records (a key path for nested wrappers);
    ``singular`` the wrapper of a single record (``{"ticket": {...}}``); a bare array is a page
    of records; an object with an ``id`` and without ``key`` is a single record. Anything else
    is an error quoting ``expected`` (a description of the vendor's page shape) and the keys
    found. ``info`` (a :class:`FileRead`) is updated with pages, records, bytes and sha256.
    ``sideloads`` maps page keys (e.g. ``metric_sets``) to lists that collect those side-loaded
    records. ``bare_arrays=False`` refuses bare arrays of records (vendors whose API never
    returns them).
    """
    path = Path(path)
    name = path.name
    keys = (key,) if isinstance(key, str) else tuple(key or ())
    if info is None:
        info = FileRead(name=name, path=path)
    for value, line in iter_json_values(path, info):
        records = _records_of(value, keys, singular)
        if records is not None and isinstance(value, list) and not bare_arrays:
            raise ImportInputError(f"{name}: line {line}: found a JSON array of records, not a page "
                                   f"object; expected {expected}", name)
        if records is None:
            raise ImportInputError(f"{name}: line {line}: {_describe(value)}; expected {expected}", name)
        info.pages += 1
        info.records += len(records)
        if sideloads and isinstance(value, dict):
            for extra, sink in sideloads.items():
                if isinstance(value.get(extra), list):
                    sink.extend(value[extra])
        yield records


def _records_of(value, keys: tuple[str, ...], singular: str | None) -> list | None:
    if isinstance(value, list):
        return value if all(isinstance(v, dict) for v in value) else None
    if not isinstance(value, dict):
        return None
    if keys:
        node = value
        for k in keys:
            node = node.get(k) if isinstance(node, dict) else None
        if isinstance(node, list):
            return node
    if singular and isinstance(value.get(singular), dict):
        return [value[singular]]
    if "id" in value and not (keys and keys[0] in value):
        return [value]
    return None


def _describe(value) -> str:
    if isinstance(value, dict):
        shown = ", ".join(list(value)[:8]) + (", ..." if len(value) > 8 else "")
        return f"found a JSON object with keys {shown}" if value else "found an empty JSON object"
    if isinstance(value, list):
        return "found a JSON array that is not a list of records"
    return f"found {type(value).__name__}"


def find_file(folder: str | Path, stem: str) -> Path | None:
    """The export file for ``stem`` in ``folder``: ``<stem>.json``, ``.jsonl``, ``.ndjson``, each
    optionally ``.gz`` (first found)."""
    for suffix in (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz"):
        candidate = Path(folder) / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None
