"""The data set where it lies: DuckDB (embedded, the default for large data) or Spark runs the loading,
the validation and the aggregates a study needs as SQL over the Parquet or CSV files, and only small
results (per-agent sums, counts, cells) reach Python.

- ``engines``: DuckDB and Spark behind one small interface; ``dialect``: where their SQL differs.
- ``tables``: the typed views of the three tables (``open_sql_dataset`` → ``SqlDataset``).
- ``rules``: the validation in SQL with the pandas path's messages (GX on a stated sample).
- ``aggregates``: what the studies ask of the rows (``agent_stats`` and friends).

`open_dataset(folder, engine="auto")` is the one entry point studies and the runner use: it gives a
pandas ``Dataset`` for the pandas engine and a ``SqlDataset`` otherwise; `choose_engine` says which
"auto" picks (see ``AUTO_DUCKDB_BYTES``).
"""
from __future__ import annotations

from pathlib import Path

from ..loading import find_table_file, load_dataset
from ..schema import TABLES, table_files
from .engines import DuckDBEngine, SparkEngine, SqlEngine, make_engine
from .tables import RowsNotInPandas, SqlDataset, open_sql_dataset

__all__ = ["ENGINES", "AUTO_DUCKDB_BYTES", "choose_engine", "open_dataset", "SqlDataset", "SqlEngine", "DuckDBEngine",
           "SparkEngine", "RowsNotInPandas", "make_engine", "open_sql_dataset", "data_size"]

ENGINES = ("auto", "pandas", "duckdb", "spark")
#: "auto" reads a data set whose table files add up to at least this many bytes with DuckDB: about
#: 2 million contacts as CSV (a third of that as Parquet), where pandas frames of every row and the
#: crossed agent × customer model stop fitting a laptop's memory and patience.
AUTO_DUCKDB_BYTES = 256 * 2**20


def data_size(folder) -> int:
    """Bytes of the three tables' files in `folder` (0 for a table that is not there)."""
    total = 0
    for table in TABLES:
        path = find_table_file(folder, table)
        if path is not None:
            total += sum(f.stat().st_size for f in table_files(path))
    return total


def choose_engine(folder, engine: str = "auto", threshold: int | None = None) -> str:
    """The engine a study uses for `folder`: `engine` itself unless it is "auto", which gives
    "duckdb" when the tables' files reach `threshold` bytes (default AUTO_DUCKDB_BYTES), else "pandas"."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine != "auto":
        return engine
    limit = AUTO_DUCKDB_BYTES if threshold is None else threshold
    return "duckdb" if data_size(Path(folder)) >= limit else "pandas"


def open_dataset(folder, engine: str = "auto", validate: bool = True, docs_dir=None, session=None, **options):
    """The data set in `folder` read by `engine` (see ``choose_engine``): ``load_dataset``'s pandas
    ``Dataset``, or a ``SqlDataset`` in DuckDB or Spark (`session`: a SparkSession to use)."""
    chosen = choose_engine(folder, engine)
    if chosen == "pandas":
        return load_dataset(folder, validate=validate, docs_dir=docs_dir)
    sql_engine = SparkEngine(session=session) if chosen == "spark" else DuckDBEngine(**options)
    return open_sql_dataset(folder, sql_engine, validate=validate, docs_dir=docs_dir)
