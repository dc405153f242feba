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
    decoder = json.JSONDecoder()
    opener = gzip.open if name.endswith(".gz") or _magic(path) == _GZIP else open
    try:
        fh = opener(path, "rb")
    except OSError as err:
        raise ImportInputError(f"{name}: cannot be read ({err.strerror or err})", name) from err
    with fh:
        src = _JsonText(fh, name)
        src.more()
        while True:
            src.pos = _WS.match(src.buf, src.pos).end()
            if src.pos >= len(src.buf):
                if not src.more():
                    break
                continue
            line = src.lines_before + src.count_to(src.pos) + 1
            if src.buf[src.pos] not in "{[":
                raise _not_a_value(src, line)
            value, end = _decode_value(src, decoder)
            yield value, line
            src.pos = end
    if info is not None:
        info.bytes = src.n_bytes
        info.sha256 = src.digest.hexdigest()


class _JsonText:
    """A JSON export's text, decoded chunk by chunk: ``buf[pos:]`` is still to be parsed; the lines
    of text already discarded are counted, and those of ``buf`` counted once each (no rescans)."""

    def __init__(self, fh, name: str):
        self.fh, self.name = fh, name
        self.digest = hashlib.sha256()
        self.text_decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf = ""
        self.pos = 0
        self.lines_before = 0  # newlines in the text already discarded from buf
        self.counted_to = 0    # buf[:counted_to] holds counted_lines newlines
        self.counted_lines = 0
        self.n_bytes = 0
        self.eof = False
        self.read_size = _CHUNK

    def more(self) -> bool:
        """Read and decode the next chunk onto the unparsed text; False at the end of the file."""
        name = self.name
        if self.eof:
            return False
        try:
            raw = self.fh.read(self.read_size)
        except (OSError, EOFError) as err:  # broken gzip stream
            cut = isinstance(err, EOFError) or "end-of-stream" in str(err)
            raise ImportInputError(
                f"{name}: cannot be read ({err})"
                + ("; the gzip file ends early: the download was cut off?" if cut else "")
                + "; expected a JSON export (optionally gzipped)", name) from err
        if self.n_bytes == 0:
            kind = _binary_kind(raw)
            if kind:
                raise ImportInputError(f"{name}: {kind}, not JSON text; expected a JSON export (API pages "
                                       "saved as .json, .jsonl or .ndjson, optionally gzipped)", name)
        self.n_bytes += len(raw)
        self.digest.update(raw)
        try:
            text = self.text_decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as err:
            raise ImportInputError(
                f"{name}: not UTF-8 text (invalid byte at offset {self.n_bytes - len(raw) + err.start}); "
                "expected a JSON export", name) from err
        if not raw:
            self.eof = True
        self.lines_before += self.count_to(self.pos)
        self.buf = self.buf[self.pos:] + text
        self.pos = self.counted_to = self.counted_lines = 0
        return True

    def count_to(self, upto: int) -> int:
        """Newlines in buf[:upto], counting each character once."""
        if upto < self.counted_to:
            return self.buf.count("\n", 0, upto)
        self.counted_lines += self.buf.count("\n", self.counted_to, upto)
        self.counted_to = upto
        return self.counted_lines


def _not_a_value(src: _JsonText, line: int) -> ImportInputError:
    """The error for text at ``src.pos`` that does not start a JSON object or array."""
    buf, pos = src.buf, src.pos
    col = pos - buf.rfind("\n", 0, pos)
    found = buf[pos:pos + 20].split("\n")[0]
    kind = _text_kind(buf[pos:pos + 2000]) if line == 1 else ""
    return ImportInputError(
        f"{src.name}: line {line}, column {col}: expected a JSON object or array, found {found!r}"
        + (f" ({kind})" if kind else ""), src.name)


def _decode_value(src: _JsonText, decoder: json.JSONDecoder) -> tuple[object, int]:
    """The JSON value at ``src.pos`` and where it ends, reading more text (faster and faster) while
    the value is incomplete; an error naming the line and column when it is not valid JSON."""
    while True:
        try:
            return decoder.raw_decode(src.buf, src.pos)
        except json.JSONDecodeError as err:
            if src.more():
                src.read_size = min(src.read_size * 2, 1 << 28)  # a large value: read faster
                continue
            buf = src.buf
            err_line = src.lines_before + err.lineno
            truncated = err.pos >= len(buf.rstrip()) - 1 or (
                err.msg.startswith("Unterminated string") and '"' not in buf[err.pos + 1:])
            raise ImportInputError(
                f"{src.name}: not valid JSON at line {err_line}, column {err.colno}: {err.msg}"
                + (" (the file ends in the middle of a value: truncated?)" if truncated else ""),
                src.name) from err


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
