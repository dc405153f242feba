"""A data set read where it lies: the three tables as typed SQL views in DuckDB or Spark.

`open_sql_dataset(folder, engine)` finds each table (``.csv``, ``.csv.gz``, ``.parquet`` or a folder of
Parquet files, as ``load_dataset``), makes a raw view of it (CSV: every cell as text; Parquet: its
own types) and a typed view named after the table whose columns have the types of data/README.md,
parsed in SQL by the rules of ``loading.parse_table`` (a text cell that does not convert is NULL,
and ``_bad_<column>_<k>`` says which rule it broke). ``_row`` is the 0-based data row: the row's
position in the file, or, for a folder, in the files taken in path order (the pandas loader's
order), so that messages name the same rows. The fingerprint is the pandas loader's (the same bytes
give the same fingerprint whatever the engine). No rows are brought into Python.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..dataset_yaml import read_description
from ..description import DEFAULT_DESCRIPTION, DESCRIPTION_FILE, DatasetDescription
from ..loading import find_table_file, update_fingerprint
from ..schema import OPTIONAL_TABLES, SCHEMA, TABLES, Column, DataError, Failure, table_files, table_label
from .dialect import Dialect
from .engines import SqlEngine

#: Columns every raw view has besides the file's own.
POSITION_COLUMNS = ("_file", "_file_row")


class RowsNotInPandas(AttributeError):
    """A step asked for a pandas table of a data set that lives in SQL."""


@dataclass(eq=False)
class SqlDataset:
    """A data set as SQL views (see the module docstring). `engine` runs the queries; `columns[table]`
    lists the data-model and extra columns the table has; `n_rows[table]` its rows; `validation` the
    report when validated. `contacts`/`surveys`/`agents` as pandas frames are deliberately absent:
    studies ask the engine for aggregates (``upstream.data.sql.aggregates``)."""

    folder: Path
    engine: SqlEngine
    paths: dict[str, Path]
    fingerprint: str
    columns: dict[str, list[str]]
    n_rows: dict[str, int]
    description: DatasetDescription = field(default=DEFAULT_DESCRIPTION, repr=False)
    validation: object = None
    parse_rules: dict = field(default_factory=dict, repr=False)    # table -> [(column, k, rule)]

    def __getattr__(self, name):
        if name in TABLES:
            raise RowsNotInPandas(
                f"the data set {self.folder} is read with the {self.engine.name} engine, which keeps the rows in "
                f"{self.engine.name}: this step needs the {name} table as a pandas frame. Run the study with "
                "--engine pandas (or `engine: pandas` in the study file), or use a study step that works from "
                "aggregates (agent_vs_system, trends and qa_sample do).")
        raise AttributeError(name)

    def has_column(self, table: str, column: str) -> bool:
        return column in self.columns[table]

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables this data set has: ``TABLES`` and the optional ones present (contact_agents)."""
        return TABLES + tuple(t for t in OPTIONAL_TABLES if t in self.paths)

    def _repr_html_(self) -> str:
        """Jupyter: the folder, the engine, each table's rows and columns, and the validation."""
        from html import escape

        rows = "".join(f"<tr><th>{escape(t)}</th><td>{self.n_rows[t]:,}</td><td>{len(self.columns[t])}</td></tr>"
                       for t in self.n_rows)
        checked = "validated on load" if self.validation is not None else "not validated on load"
        return (f'<div class="upstream-dataset"><p><strong>Data set</strong> {escape(str(self.folder))} in '
                f"{escape(self.engine.name)} ({checked}; fingerprint {escape(self.fingerprint[:12])}…)</p>"
                "<table><thead><tr><th>table</th><th>rows</th><th>columns</th></tr></thead>"
                f"<tbody>{rows}</tbody></table></div>")

    def period(self):
        """First and last contact opening time."""
        return tuple(self.engine.rows("SELECT min(opened_at), max(opened_at) FROM contacts")[0])

    def agents_frame(self):
        """The agents table in pandas (one row per agent: small)."""
        present = [c.name for c in SCHEMA["agents"] if c.name in self.columns["agents"]]
        d = self.engine.dialect
        return self.engine.frame(f"SELECT {', '.join(d.ident(c) for c in present)} FROM agents ORDER BY _row")

    def __repr__(self) -> str:
        rows = ", ".join(f"{t}={self.n_rows[t]:,} rows" for t in TABLES)
        return f"SqlDataset({str(self.folder)!r}, {self.engine.name}, {rows}, fingerprint={self.fingerprint[:12]}…)"


def fingerprint(folder: Path, paths: dict[str, Path], description_bytes: bytes | None) -> str:
    """The pandas loader's fingerprint of the same files (read in 8 MiB blocks, never whole)."""
    digest = hashlib.sha256()
    for table in [t for t in TABLES + OPTIONAL_TABLES if t in paths]:
        path = paths[table]
        for file in table_files(path):
            update_fingerprint(digest, table, path, file, file.stat().st_size)
            with open(file, "rb") as handle:
                while block := handle.read(8 << 20):
                    digest.update(block)
    if description_bytes is not None:
        digest.update(f"{DESCRIPTION_FILE} {len(description_bytes)}\n".encode())
        digest.update(description_bytes)
    return digest.hexdigest()


def parse_expressions(column: Column, raw: str, family: str, d: Dialect) -> tuple[str, list[tuple[str, str]]]:
    """The typed value of a raw column and its parse rules [(rule text, SQL flag of a bad cell)] —
    the rules and conversions of ``loading.parse_table`` (see its module docstring)."""
    name, kind = column.name, column.kind
    if kind in ("id", "category", "text"):
        return (raw if family == "text" else d.text(raw)), []
    if kind in ("number", "whole"):
        if family == "number":
            v, given = f"CAST({raw} AS DOUBLE)", f"{raw} IS NOT NULL"
        else:
            t = f"NULLIF({d.stripped(d.text(raw))}, '')"
            v, given = d.to_double(t), f"{t} IS NOT NULL"
        ok = f"({v} IS NOT NULL AND {d.finite(v)})"
        rules = [(f"{name} is a number", f"({given} AND NOT {ok})")]
        if kind == "number":
            return f"CASE WHEN {ok} THEN {v} END", rules
        rules.append((f"{name} is a whole number", f"({ok} AND {v} <> round({v}))"))
        return f"CASE WHEN {ok} AND {v} = round({v}) THEN {d.bigint(v)} END", rules
    if kind == "bool":
        rule = f"{name} is true or false (also 1/0, yes/no)"
        if family == "bool":
            return raw, []
        if family == "number":
            value = f"CASE WHEN {raw} = 1 THEN TRUE WHEN {raw} = 0 THEN FALSE END"
            return value, [(rule, f"({raw} IS NOT NULL AND ({value}) IS NULL)")]
        t = f"lower({d.stripped(d.text(raw))})"
        value = f"CASE WHEN {t} IN ('true', '1', 'yes') THEN TRUE WHEN {t} IN ('false', '0', 'no') THEN FALSE END"
        return value, [(rule, f"(NULLIF({t}, '') IS NOT NULL AND ({value}) IS NULL)")]
    if kind == "datetime":
        if family == "timestamp":
            return f"CAST({raw} AS TIMESTAMP)", []
        t = f"NULLIF({d.stripped(d.text(raw))}, '')"
        value = d.to_timestamp(t)
        return value, [(f"{name} is an ISO 8601 date/time", f"({t} IS NOT NULL AND {value} IS NULL)")]
    raise ValueError(f"unknown column kind {kind!r}")


def _offsets_expression(files: list[Path]) -> str:
    """`_row` of a Parquet folder: the rows of the files before this one plus the row in the file."""
    import pyarrow.parquet as pq

    start, parts = 0, []
    for i, f in enumerate(files):
        parts.append(f"WHEN {i} THEN {start}")
        start += pq.ParquetFile(f).metadata.num_rows
    return f"(CASE _file {' '.join(parts)} END + _file_row)", start


def open_sql_dataset(folder, engine: SqlEngine, validate: bool = True, docs_dir=None,
                     sample_rows: int | None = None) -> SqlDataset:
    """Find, read and type the three tables of `folder` in `engine`; with `validate`, run the
    validation (``rules.validate_sql``) and raise DataError when it fails."""
    folder = Path(folder)
    paths, failures = {}, []
    for table in TABLES:
        path = find_table_file(folder, table)
        if path is None:
            failures.append(Failure(table=table, file=str(folder / f"{table}.csv"), column=None,
                                    rule="the table file exists", n_failed=0, n_rows=0, kind="missing_file"))
        else:
            paths[table] = path
    for table in OPTIONAL_TABLES:
        path = find_table_file(folder, table)
        if path is not None:
            paths[table] = path
    description, description_failures, description_bytes = read_description(folder)
    failures.extend(description_failures)
    if failures:
        raise DataError(failures, folder)
    d = engine.dialect
    columns, n_rows, parse_rules = {}, {}, {}
    for table in [t for t in TABLES + OPTIONAL_TABLES if t in paths]:
        path = paths[table]
        files = table_files(path)
        try:
            if path.name.endswith((".csv", ".csv.gz")):
                engine.read_csv(f"raw_{table}", path)
                row = "_file_row"
                n = None
            else:
                engine.read_parquet(f"raw_{table}", files)
                row, n = _offsets_expression(files)
            types = engine.column_types(f"raw_{table}")
        except Exception as err:  # noqa: BLE001 - any reader error means the file is unreadable
            rule = ("the file is a readable UTF-8 CSV table with a header row" if ".csv" in path.name
                    else "the file is a readable Parquet table")
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise DataError([Failure(table=table, file=table_label(path), column=None, rule=rule, n_failed=0,
                                     n_rows=0, detail=reason.rstrip("."))], folder) from None
        raw_columns = [c for c in types if c not in POSITION_COLUMNS]
        select, rules = [], []
        for column in SCHEMA[table]:
            if column.name not in raw_columns:
                continue
            raw = d.ident(column.name)
            value, bad = parse_expressions(column, raw, types[column.name], d)
            select.append(f"{value} AS {raw}")
            for k, (rule, flag) in enumerate(bad):
                select.append(f"{flag} AS {d.ident(f'_bad_{column.name}_{k}')}")
                rules.append((column.name, k, rule))
            if bad:
                select.append(f"{raw} AS {d.ident('_raw_' + column.name)}")
        known = {c.name for c in SCHEMA[table]}
        select += [d.ident(c) for c in raw_columns if c not in known]
        select.append(f"{row} AS _row")
        (engine.table if engine.cache_typed else engine.view)(table, f"SELECT {', '.join(select)} FROM raw_{table}")
        columns[table] = raw_columns
        n_rows[table] = n if n is not None else int(engine.rows(f"SELECT count(*) FROM raw_{table}")[0][0])
        parse_rules[table] = rules
    description = description.with_missing({
        t: tuple(c.name for c in SCHEMA[t] if c.optional and c.name not in columns[t]) for t in TABLES})
    ds = SqlDataset(folder=folder, engine=engine, paths=paths,
                    fingerprint=fingerprint(folder, paths, description_bytes),
                    columns=columns, n_rows=n_rows, description=description, parse_rules=parse_rules)
    if validate:
        from .rules import validate_sql

        report = validate_sql(ds, docs_dir=docs_dir, sample_rows=sample_rows)
        ds.validation = report
        report.raise_if_failed()
    return ds
