"""Load an Upstream data set: find and read the three tables (``files.py``), parse the types of data/README.md.

A data set is a folder holding ``contacts``, ``surveys`` and ``agents``, each as ``<table>.csv``,
``<table>.csv.gz`` or ``<table>.parquet``, or as a folder ``<table>/`` of Parquet files: exactly one
per table (two for one table, e.g. ``agents.csv`` beside ``agents.parquet``, are refused rather than
one of them silently read). A table folder may hold partition folders
(``contacts/month=2026-01/part-0.parquet``): every ``*.parquet`` below it is read, in the order of
their paths, and the partition keys in folder names are not added as columns (the files hold every
column). Large data sets are better read with ``upstream.data.sql`` (DuckDB or Spark), which does not
bring the rows into pandas.

Parsed types (the contract in data/README.md):

- identifiers (``contact_id``, ``agent_id``, ``customer_id``) and all other text columns: pandas
  ``str`` dtype. CSV cells are read as text, so ``007`` stays ``007``. Categorical columns (team,
  channel, policy, product, issue_type, site) are plain strings too, not ``category``.
- datetimes: ``datetime64[us]``, timezone-naive UTC (ISO 8601 text; a trailing ``Z`` or an offset
  is converted to UTC, text without an offset is taken to be UTC already).
- numbers: ``float64``. Whole numbers: ``Int64`` (nullable) for ``csat`` and ``nps``; ``int64`` for
  ``n_interactions`` (``Int64`` only if the column has empty cells, which validation rejects).
- booleans: ``bool`` (``true``/``false``, ``1``/``0``, ``yes``/``no``, any case; ``boolean`` only if
  the column has empty cells, which validation rejects).

In CSV only an empty cell is missing; ``NA``, ``null`` or ``None`` are values, so ``NA`` in a number
column is reported as not a number. Whitespace-only cells count as missing in typed columns; in
text columns they are kept, and the validation rejects blank identifiers.

A value that cannot be converted is a :class:`~upstream.data.schema.Failure`, reported like a failed
expectation, and :func:`load_dataset` raises :class:`DataError` for it whether or not it validates.

``dataset.yaml`` beside the tables (optional) describes the data set: the CSAT scale, NPS, the
attribution rule, missing and partly empty columns (``upstream.data.description``). It is read
first; a bad one is reported like a broken rule. Optional columns (``Column.optional``) may be
absent from a file; ``Dataset.description.columns[table].missing`` lists the ones that are.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .dataset_yaml import read_description
from .description import DEFAULT_DESCRIPTION, DESCRIPTION_FILE, DatasetDescription
from .files import ambiguous_failure, find_table_file, find_table_files, read_table
from .schema import (
    OPTIONAL_TABLES,
    SCHEMA,
    TABLES,
    Column,
    DataError,
    Failure,
    first_rows,
    frame_ids,
    name_rows,
    table_files,
    table_label,
)

if TYPE_CHECKING:
    from .validation import ValidationReport

__all__ = [
    "TABLES",
    "SCHEMA",
    "Column",
    "Dataset",
    "DataError",
    "Failure",
    "find_table_file",
    "find_table_files",
    "parse_table",
    "load_dataset",
]

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_MAX_EXAMPLES = 5


@dataclass(eq=False)
class Dataset:
    """The three parsed tables of one data set.

    ``paths`` maps each table to the file read; ``fingerprint`` is the sha256 (hex) of, for each
    table in ``TABLES`` order, the line ``<table> <file name> <n bytes>\\n`` followed by the file's
    bytes, so it changes when any file's content or name changes (followed, when the folder has a
    ``dataset.yaml``, by the line ``dataset.yaml <n bytes>\n`` and its bytes). ``validation`` is the
    :class:`~upstream.data.validation.ValidationReport` when the data set was validated on load;
    ``description`` the :class:`~upstream.data.description.DatasetDescription` (the CSAT scale,
    NPS, attribution, missing columns; defaults when there is no ``dataset.yaml``).
    """

    folder: Path
    contacts: pd.DataFrame = field(repr=False)
    surveys: pd.DataFrame = field(repr=False)
    agents: pd.DataFrame = field(repr=False)
    paths: dict[str, Path]
    fingerprint: str
    validation: ValidationReport | None = None
    description: DatasetDescription = field(default=DEFAULT_DESCRIPTION, repr=False)
    contact_agents: pd.DataFrame | None = field(default=None, repr=False)   # optional table (shared credit)

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables this data set has: ``TABLES`` and the optional ones present."""
        return TABLES + tuple(t for t in OPTIONAL_TABLES if getattr(self, t) is not None)

    def table(self, name: str) -> pd.DataFrame:
        """The parsed frame of table ``name`` (one of ``TABLES``, or an optional table it has)."""
        if name in OPTIONAL_TABLES and getattr(self, name) is not None:
            return getattr(self, name)
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; the tables are {', '.join(TABLES)}")
        return getattr(self, name)

    def __repr__(self) -> str:
        rows = ", ".join(f"{t}={len(self.table(t)):,} rows" for t in TABLES)
        return f"Dataset({str(self.folder)!r}, {rows}, fingerprint={self.fingerprint[:12]}…)"

    def _repr_html_(self) -> str:
        """Jupyter: the folder, each table's rows, columns and file, the CSAT scale and the validation."""
        from html import escape

        rows = "".join(f"<tr><th>{escape(t)}</th><td>{len(self.table(t)):,}</td><td>{self.table(t).shape[1]}</td>"
                       f"<td>{escape(Path(self.paths[t]).name) if t in self.paths else ''}</td></tr>" for t in TABLES)
        checked = ("validated on load" if self.validation is not None else "not validated on load")
        return (f'<div class="upstream-dataset"><p><strong>Data set</strong> {escape(str(self.folder))} '
                f"({checked}; fingerprint {escape(self.fingerprint[:12])}…)</p>"
                "<table><thead><tr><th>table</th><th>rows</th><th>columns</th><th>file</th></tr></thead>"
                f"<tbody>{rows}</tbody></table><p>CSAT: {escape(self.description.csat.summary())}</p></div>")


def load_dataset(
    folder: str | Path, validate: bool = True, docs_dir: str | Path | None = None
) -> Dataset:
    """Read and parse the three tables in ``folder``; with ``validate``, run the validation too.

    Raises :class:`DataError` (``str(err)`` is the full readable message, ``err.failures`` the list)
    when a table file is missing or unreadable, when values cannot be parsed, and, with
    ``validate=True``, when any expectation or cross-table rule fails. ``docs_dir``: folder to
    write the GX Data Docs site into (only used when validating).
    """
    folder = Path(folder)
    paths, failures = _table_paths(folder)
    present = TABLES + tuple(t for t in OPTIONAL_TABLES if t in paths)
    description, description_failures, description_bytes = read_description(folder)
    failures.extend(description_failures)
    if description.attribution.rule == "shared" and "contact_agents" not in paths:
        failures.append(Failure(table="contact_agents", file=DESCRIPTION_FILE, column=None,
                                rule="attribution rule shared has a contact_agents table", n_failed=0, n_rows=0,
                                kind="table", detail=f"there is no {folder / 'contact_agents.csv'} (or .parquet)"))
    if failures:
        raise DataError(failures, folder)

    digest = hashlib.sha256()
    raw = _read_tables(paths, digest, failures)
    if failures:
        raise DataError(failures, folder)
    if description_bytes is not None:
        digest.update(f"{DESCRIPTION_FILE} {len(description_bytes)}\n".encode())
        digest.update(description_bytes)

    parsed: dict[str, pd.DataFrame] = {}
    unparsed: dict[tuple[str, str], np.ndarray] = {}
    for table in present:
        frame, table_failures, rows = parse_table(table, raw[table], table_label(paths[table]))
        parsed[table] = frame
        failures.extend(table_failures)
        unparsed.update({(table, column): r for column, r in rows.items()})

    description = description.with_missing({
        table: tuple(c.name for c in SCHEMA[table] if c.optional and c.name not in parsed[table].columns)
        for table in TABLES})
    dataset = Dataset(folder=folder, contacts=parsed["contacts"], surveys=parsed["surveys"],
                      agents=parsed["agents"], paths=paths, fingerprint=digest.hexdigest(),
                      description=description, contact_agents=parsed.get("contact_agents"))
    if validate:
        from .validation import validate as run_validation  # GX is imported only when validating

        report = run_validation(dataset, docs_dir=docs_dir, parse_failures=failures, unparsed_rows=unparsed)
        dataset.validation = report
        report.raise_if_failed()
    elif failures:
        name_rows(failures, lambda table, column, rows: frame_ids(parsed[table], column, rows))
        raise DataError(failures, folder)
    return dataset


def _table_paths(folder: Path) -> tuple[dict[str, Path], list[Failure]]:
    """Each table's file (or Parquet folder) in ``folder`` (an optional table's only where present), and a
    failure for each that is missing or found more than once."""
    paths: dict[str, Path] = {}
    failures: list[Failure] = []
    for table in TABLES:
        found = find_table_files(folder, table)
        if not found:
            failures.append(
                Failure(table=table, file=str(folder / f"{table}.csv"), column=None,
                        rule="the table file exists", n_failed=0, n_rows=0, kind="missing_file")
            )
        elif len(found) > 1:
            failures.append(ambiguous_failure(table, found))
        else:
            paths[table] = found[0]
    for table in OPTIONAL_TABLES:
        found = find_table_files(folder, table)
        if len(found) > 1:
            failures.append(ambiguous_failure(table, found))
        elif found:
            paths[table] = found[0]
    return paths, failures


def _read_tables(paths: dict[str, Path], digest, failures: list[Failure]) -> dict[str, pd.DataFrame]:
    """The tables as read (text columns, not yet parsed), their bytes added to ``digest``; a file that
    cannot be read or split into rows adds to ``failures`` and stops its table."""
    raw: dict[str, pd.DataFrame] = {}
    for table in TABLES + tuple(t for t in OPTIONAL_TABLES if t in paths):
        path = paths[table]
        frames = []
        for file in table_files(path):
            try:
                content = file.read_bytes()
            except OSError as err:
                failures.append(Failure(table=table, file=_file_label(path, file), column=None,
                                        rule="the file can be read", n_failed=0, n_rows=0, kind="table",
                                        detail=(err.strerror or str(err)).rstrip(".").lower()))
                break
            update_fingerprint(digest, table, path, file, len(content))
            digest.update(content)
            frame, failure = read_table(table, file, content)
            if failure is not None:
                failure.file = _file_label(path, file)
                failures.append(failure)
                break
            frames.append(frame)
        else:
            raw[table] = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return raw


def update_fingerprint(digest, table: str, path: Path, file: Path, size: int) -> None:
    """The line before each file's bytes in the fingerprint: ``<table> <file name> <n bytes>`` (a file
    inside a table folder is named by its path below the data set folder, e.g. ``contacts/month=…/part-0.parquet``)."""
    digest.update(f"{table} {_file_label(path, file)} {size}\n".encode())


def _file_label(path: Path, file: Path) -> str:
    return file.name if file == path else f"{path.name}/{file.relative_to(path).as_posix()}"


def parse_table(
    table: str, raw: pd.DataFrame, file_name: str
) -> tuple[pd.DataFrame, list[Failure], dict[str, np.ndarray]]:
    """Convert the data-model columns of ``raw`` to their types (see the module docstring).

    Returns the typed frame (columns not in the data model are kept as they were; missing ones
    stay missing, for the validation to report), the parse failures, and for each column with
    failures the row positions of the values that did not convert (missing in the typed frame).
    """
    frame = raw.copy()
    failures: list[Failure] = []
    unparsed: dict[str, np.ndarray] = {}
    n_rows = len(frame)
    for column in SCHEMA[table]:
        if column.name not in frame.columns:
            continue
        values, problems = _PARSERS[column.kind](frame[column.name], column)
        frame[column.name] = values
        bad_any = np.zeros(n_rows, dtype=bool)
        for rule, bad in problems:
            bad = np.asarray(bad, dtype=bool)
            if not bad.any():
                continue
            bad_any |= bad
            offending = raw[column.name][bad]
            examples = _distinct_examples(offending)
            failures.append(Failure(
                table=table, file=file_name, column=column.name, rule=rule,
                n_failed=int(bad.sum()), n_rows=n_rows,
                examples=examples,
                rows=[int(i) + 1 for i in np.flatnonzero(bad)[:_MAX_EXAMPLES]],
                example_rows=first_rows((v.item() if isinstance(v, np.generic) else v for v in offending),
                                        np.flatnonzero(bad) + 1, examples),
            ))
        if bad_any.any():
            unparsed[column.name] = np.flatnonzero(bad_any)
    return frame, failures, unparsed


def _distinct_examples(values: pd.Series) -> list:
    """Up to five distinct raw values, in order of appearance, as plain Python objects."""
    out: list = []
    for value in values:
        value = value.item() if isinstance(value, np.generic) else value
        if value not in out:
            out.append(value)
        if len(out) == _MAX_EXAMPLES:
            break
    return out


def _is_textual(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series.dtype) or series.dtype == object


def _clean_text(series: pd.Series) -> pd.Series:
    """Text with surrounding whitespace removed and whitespace-only cells made missing."""
    text = _to_text(series).str.strip()
    return text.where(text != "")


def _to_text(series: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
        return series.astype("str")
    return series.astype("str").where(series.notna())


def _parse_text(series: pd.Series, column: Column) -> tuple[pd.Series, list]:
    return _to_text(series), []


def _parse_number(series: pd.Series, column: Column) -> tuple[pd.Series, list]:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        numbers = pd.Series(series.to_numpy(dtype="float64", na_value=np.nan), index=series.index)
        given = series.notna().to_numpy()
    else:
        text = _clean_text(series)
        given = text.notna().to_numpy()
        numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    finite = np.isfinite(numbers.to_numpy())
    not_a_number = given & ~finite
    return numbers.where(finite), [(f"{column.name} is a number", not_a_number)]


def _parse_whole(series: pd.Series, column: Column) -> tuple[pd.Series, list]:
    numbers, problems = _parse_number(series, column)
    values = numbers.to_numpy()
    with np.errstate(invalid="ignore"):
        fractional = np.isfinite(values) & (values != np.round(values))
    whole = numbers.where(~fractional).astype("Int64")
    if column.required and not whole.isna().any():
        whole = whole.astype("int64")
    problems.append((f"{column.name} is a whole number", fractional))
    return whole, problems


def _parse_bool(series: pd.Series, column: Column) -> tuple[pd.Series, list]:
    if pd.api.types.is_bool_dtype(series.dtype):
        flags = series.astype("boolean")
        bad = np.zeros(len(series), dtype=bool)
    else:
        if pd.api.types.is_numeric_dtype(series.dtype):
            text = series.map(lambda v: format(v, "g"), na_action="ignore").astype("str")
        else:
            text = _clean_text(series)
        lowered = text.str.lower()
        flags = pd.Series(pd.NA, index=series.index, dtype="boolean")
        flags[lowered.isin(_TRUE).to_numpy()] = True
        flags[lowered.isin(_FALSE).to_numpy()] = False
        bad = (text.notna() & flags.isna()).to_numpy()
    if column.required and not flags.isna().any():
        flags = flags.astype("bool")
    return flags, [(f"{column.name} is true or false (also 1/0, yes/no)", bad)]


def _parse_datetime(series: pd.Series, column: Column) -> tuple[pd.Series, list]:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        times = series
        if isinstance(times.dtype, pd.DatetimeTZDtype):
            times = times.dt.tz_convert("UTC").dt.tz_localize(None)
        bad = np.zeros(len(series), dtype=bool)
    else:
        text = _clean_text(series)
        times = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce").dt.tz_localize(None)
        bad = (text.notna() & times.isna()).to_numpy()
    return times.astype("datetime64[us]"), [(f"{column.name} is an ISO 8601 date/time", bad)]


_PARSERS = {
    "id": _parse_text,
    "category": _parse_text,
    "text": _parse_text,
    "number": _parse_number,
    "whole": _parse_whole,
    "bool": _parse_bool,
    "datetime": _parse_datetime,
}
