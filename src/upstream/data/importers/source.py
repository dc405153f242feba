"""Small helpers every importer uses: the mapping and its text, vendor ids as text, local times."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ImportInputError
from .mapping import Mapping, load_mapping
from .pages import find_file


def mapping_and_text(mapping: Mapping | str | Path | None) -> tuple[Mapping, str | None]:
    """A parsed mapping and, when it came from a file, its text (copied beside the output)."""
    if isinstance(mapping, Mapping):
        return mapping, None
    parsed = load_mapping(mapping)
    text = Path(mapping).read_text(encoding="utf-8") if mapping is not None else None
    return parsed, text


def open_api_export(export, mapping, vendor: str, *, folder_hint: str, stems, required, needs: str,
                    rule_hint: str, refused=("column",)) -> tuple[Path, Mapping, str | None, dict]:
    """What every API importer does first: the export folder (``folder_hint`` says what it should hold),
    the mapping (for this vendor; a rule of a ``refused`` kind is refused with ``rule_hint``) and the
    export's files by stem, the ``required`` ones present (``needs`` says why). Returns the folder, the
    mapping, its text and the paths (None for a missing optional file)."""
    folder = Path(export)
    if not folder.is_dir():
        raise ImportInputError(f"{folder.name}: expected a folder holding the {folder_hint}", folder.name)
    mapping, text = mapping_and_text(mapping)
    mapping.check_vendor(vendor)
    for column, rule in mapping.columns.items():
        if rule.kind in refused:
            raise ImportInputError(f"{mapping.name}: columns.{column}: "
                                   + rule_hint.format(kind=rule.kind), mapping.name)
    paths = {stem: find_file(folder, stem) for stem in stems}
    for stem in required:
        if paths[stem] is None:
            raise ImportInputError(f"{stem}.json: required file missing from {folder}; {needs}", f"{stem}.json")
    return folder, mapping, text, paths


def ids_as_text(values: pd.Series) -> pd.Series:
    """Vendor ids (integers or text) as text, never through float: 1001 -> "1001"; missing stays
    missing."""
    values = pd.Series(values)
    if pd.api.types.is_float_dtype(values.dtype):
        whole = values.where(values.isna() | (values == np.floor(values)))
        values = whole.astype("Int64")
    return values.astype("str").where(values.notna()).astype("str")


def local_to_utc(text: pd.Series, timezone: str | None, file: str, column: str,
                 date_format: str | None = None) -> pd.Series:
    """Times written in the account's local time zone (UI CSV exports) -> naive UTC. ISO 8601
    with an offset is converted as written; ``date_format`` (strftime) for other layouts.
    Raises :class:`ImportInputError` naming the file, column and a few values that do not parse."""
    text = pd.Series(text).astype("str").str.strip()
    text = text.where(text.notna() & (text != ""))
    if date_format:
        times = pd.to_datetime(text, format=date_format, errors="coerce")
    else:
        times = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=False) if len(text.dropna()) else \
            pd.to_datetime(text, errors="coerce")
    bad = text.notna() & times.isna()
    if bad.any():
        examples = ", ".join(repr(v) for v in list(dict.fromkeys(text[bad]))[:3])
        layout = f"the layout {date_format!r}" if date_format else "ISO 8601 (2026-03-02 08:10:00)"
        raise ImportInputError(
            f"{file}: column '{column}': {int(bad.sum())} values are not dates in {layout}, e.g. {examples}; "
            "set date_format in the mapping (e.g. '%d/%m/%Y %H:%M')", file)
    if getattr(times.dt, "tz", None) is not None:
        return times.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    zone = timezone or "UTC"
    localized = times.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    lost = times.notna() & localized.isna()
    if lost.any():
        raise ImportInputError(
            f"{file}: column '{column}': {int(lost.sum())} local times do not exist or are ambiguous in {zone} "
            f"(clock changes), e.g. {text[lost].iloc[0]!r}", file)
    return localized.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")


def read_csv_export(path: Path, vendor: str, required: tuple[str, ...], looks_like: tuple[str, ...],
                    what: str) -> pd.DataFrame:
    """A UI CSV export read as text (every cell a string, empty = missing). Raises
    :class:`ImportInputError` naming the file when it is not UTF-8 CSV, is not the vendor's
    export (none of ``looks_like`` among the headers), lacks ``required`` columns, or has no rows."""
    name = path.name
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                            compression="infer")
    except UnicodeDecodeError as err:
        raise ImportInputError(f"{name}: not UTF-8 text (byte {err.start}); expected {what} saved as UTF-8 CSV",
                               name) from err
    except pd.errors.EmptyDataError as err:
        raise ImportInputError(f"{name}: the file is empty; expected {what} (a header row, then one row per ticket)",
                               name) from err
    except (pd.errors.ParserError, ValueError, OSError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ImportInputError(f"{name}: not a readable CSV file ({reason}); expected {what}", name) from err
    headers = [str(c) for c in frame.columns]
    if not any(h in headers for h in looks_like):
        shown = ", ".join(headers[:8]) + (", ..." if len(headers) > 8 else "")
        raise ImportInputError(
            f"{name}: not {what}: the header has {shown}; expected columns such as {', '.join(required[:6])}", name)
    missing = [c for c in required if c not in headers]
    if missing:
        raise ImportInputError(
            f"{name}: {what} without the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)}; "
            f"include {'them' if len(missing) > 1 else 'it'} in the export", name)
    if len(frame) == 0:
        raise ImportInputError(f"{name}: the export holds no tickets (a header row only); expected at least one "
                               "ticket", name)
    return frame


def file_info(path: Path):
    """A FileRead for a file read whole (CSV): bytes and sha256."""
    import hashlib

    from .pages import FileRead

    content = path.read_bytes()
    info = FileRead(name=path.name, path=path, bytes=len(content), sha256=hashlib.sha256(content).hexdigest())
    return info


def latest_rows(keys: pd.Series, updated: pd.Series) -> np.ndarray:
    """Rows to keep when a key repeats: the one with the latest ``updated`` (then the later row);
    rows without a key are kept (other rules drop them). Vectorised (numpy lexsort on codes)."""
    codes, _ = pd.factorize(pd.Series(keys), use_na_sentinel=True)
    stamp = pd.Series(updated).to_numpy(dtype="datetime64[us]").astype("int64")   # NaT sorts first
    order = np.arange(len(codes))
    idx = np.lexsort((order, stamp, codes))
    ordered = codes[idx]
    last = np.ones(len(idx), dtype=bool)
    last[:-1] = ordered[:-1] != ordered[1:]
    keep = np.zeros(len(codes), dtype=bool)
    keep[idx[last]] = True
    keep[codes < 0] = True
    return keep


def positions(keys: pd.Series, index) -> np.ndarray:
    """For each key, its position in ``index`` (text ids), -1 where it is not there (Arrow's hash
    lookup: fast on millions of ids)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    left = pa.array(pd.Series(keys).astype("str"), type=pa.large_string(), from_pandas=True)
    right = pa.array(pd.Series(index).astype("str"), type=pa.large_string(), from_pandas=True)
    found = pc.index_in(left, value_set=right)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def take(values: pd.Series, at: np.ndarray) -> pd.Series:
    """``values`` at positions ``at`` (-1 = missing), as a Series of the same dtype."""
    values = pd.Series(values).reset_index(drop=True)
    picked = values.take(np.where(at < 0, 0, at)) if len(values) else pd.Series([pd.NA] * len(at), dtype=values.dtype)
    picked = picked.reset_index(drop=True)
    return picked.where(pd.Series(at >= 0)) if len(values) else picked
