"""The table files of a data set: finding them (exactly one file per table) and reading one file's
bytes into untyped columns, with a readable failure for every way a file can be unusable (two
files for one table, not UTF-8, UTF-16, another separator, surplus fields, not Parquet ...).
``loading.py`` parses the columns read here."""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from .schema import SCHEMA, SUFFIXES, Failure, table_files

__all__ = ["find_table_file", "find_table_files", "ambiguous_failure", "read_table"]


def find_table_file(folder: str | Path, table: str) -> Path | None:
    """The file holding ``table`` in ``folder`` (``.csv``, then ``.csv.gz``, then ``.parquet``).
    ``load_dataset`` refuses a folder where more than one exists (see ``find_table_files``)."""
    found = find_table_files(folder, table)
    return found[0] if found else None


def find_table_files(folder: str | Path, table: str) -> list[Path]:
    """Every file in ``folder`` that could hold ``table`` (one per suffix in ``SUFFIXES``), and the
    folder ``<table>/`` when it holds Parquet files (``schema.table_files``)."""
    found = [Path(folder) / f"{table}{suffix}" for suffix in SUFFIXES
             if (Path(folder) / f"{table}{suffix}").is_file()]
    path = Path(folder) / table
    if path.is_dir() and table_files(path):
        found.append(path)
    return found


def ambiguous_failure(table: str, paths: list[Path]) -> Failure:
    names = [f"{p.name}/" if p.is_dir() else p.name for p in paths]
    listed = " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 2 else " and ".join(names)
    return Failure(
        table=table, file=", ".join(names), column=None, rule="each table is in exactly one file",
        n_failed=0, n_rows=0, kind="table", examples=names,
        detail=(f"{listed} are {'all' if len(names) > 2 else 'both'} in the folder and Upstream will not guess "
                "which one is current; move or delete all but one"))


def read_table(table: str, path: Path, content: bytes) -> tuple[pd.DataFrame | None, Failure | None]:
    """Read one file's bytes as untyped (CSV: all text) columns, or explain why it cannot be read."""
    name = path.name
    csv_rule = "the file is a readable UTF-8 CSV table with a header row"
    if not name.endswith(".parquet"):
        problem = _encoding_problem(content, name)
        if problem:
            return None, Failure(table=table, file=name, column=None, rule=csv_rule, n_failed=0,
                                 n_rows=0, detail=problem)
        separator = _header_separator(content, name, table)
        if separator:
            return None, separator
    try:
        if name.endswith(".parquet"):
            frame = pd.read_parquet(io.BytesIO(content))
        else:
            frame = pd.read_csv(
                io.BytesIO(content),
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                encoding="utf-8",
                compression="gzip" if name.endswith(".gz") else None,
            )
    except Exception as err:  # noqa: BLE001 - any reader error means the file is unreadable
        rule = "the file is a readable Parquet table" if name.endswith(".parquet") else csv_rule
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if isinstance(err, pd.errors.EmptyDataError):
            reason = "the file is empty (not even a header row)"
        return None, Failure(table=table, file=name, column=None, rule=rule, n_failed=0,
                             n_rows=0, detail=reason.rstrip("."))
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took a surplus first field for an index
        return None, Failure(table=table, file=name, column=None, rule=csv_rule, n_failed=0, n_rows=0,
                             detail=(f"line 2 has {frame.shape[1] + frame.index.nlevels} fields but the header "
                                     f"row has {frame.shape[1]}: quote values that contain commas"))
    return frame.reset_index(drop=True), None


_UTF16_BOMS = {b"\xff\xfe": "UTF-16 (little-endian)", b"\xfe\xff": "UTF-16 (big-endian)"}
_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def _encoding_problem(content: bytes, name: str) -> str | None:
    """Why the (decompressed) CSV bytes are not UTF-8 text, in words a person can act on, or None."""
    if name.endswith(".gz"):
        import gzip
        import zlib

        try:
            content = gzip.decompress(content)
        except (OSError, EOFError, zlib.error):
            return None  # the reader reports the broken compression
    if content[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "the file is UTF-32 encoded; save it as UTF-8"
    for bom, encoding in _UTF16_BOMS.items():
        if content.startswith(bom):
            return f"the file is {encoding} encoded; save it as UTF-8"
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as err:
        line = content.count(b"\n", 0, err.start) + 1
        byte = content[err.start:err.start + 1].hex().upper()
        hint = "Latin-1 or Windows-1252" if b"\x00" not in content[:200] else "UTF-16"
        return (f"'utf-8' codec can't decode byte 0x{byte.lower()} in line {line} (the file looks "
                f"{hint} encoded); save it as UTF-8")
    if b"\x00" in content:
        return "the file contains NUL bytes (is it UTF-16 encoded, or not a text file?); save it as UTF-8 CSV"
    return None


def _header_separator(content: bytes, name: str, table: str) -> Failure | None:
    """A failure when the header row is separated by semicolons, tabs or bars instead of commas
    (a European spreadsheet export), found from the header alone: the rows may then hold commas
    inside text and not even tokenize as CSV."""
    if name.endswith(".gz"):
        import gzip
        import zlib

        try:
            with gzip.open(io.BytesIO(content)) as stream:
                content = stream.readline()
        except (OSError, EOFError, zlib.error):
            return None
    header = content.split(b"\n", 1)[0].decode("utf-8", "replace").lstrip("\ufeff").strip()
    if "," in header:
        return None
    known = {c.name for c in SCHEMA[table]}
    for separator, words in _SEPARATORS.items():
        names = [h.strip().strip('"') for h in header.split(separator)]
        if separator in header and len(known.intersection(names)) >= 2:
            shown = header[:80]
            return Failure(
                table=table, file=name, column=None, rule="the file is comma separated", n_failed=0, n_rows=0,
                examples=[shown],
                detail=(f"the header row is separated by {words} instead of commas ({shown!r}); export the "
                        "table as comma-separated CSV"))
    return None
