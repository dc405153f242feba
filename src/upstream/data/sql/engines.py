"""Where the SQL runs: DuckDB in this process (the default for large data) or Spark (a cluster, or
local mode). Both run the same query text (``dialect``: the few spellings that differ), read the
same files, and hand back only small results: `rows(sql)` → list of tuples, `frame(sql)` → pandas.

`register(name, frame)` makes a small pandas table (levels, fitted probabilities, agents' modes)
joinable in SQL; `view(name, sql)` and `table(name, sql)` name a query (a table is materialised:
DuckDB writes it to a scratch database file of its own, compressed, and keeps in memory only the pages a
query is reading; Spark caches it).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings
import weakref
from pathlib import Path

import pandas as pd

from .dialect import DUCKDB, SPARK, Dialect

#: DuckDB's memory limit unless UPSTREAM_DUCKDB_MEMORY says otherwise (it spills to disk beyond it).
DEFAULT_DUCKDB_MEMORY = "4GB"


class SqlEngine:
    """The interface the data layer uses; see the module docstring."""

    name = "sql"
    dialect: Dialect
    #: Keep the typed views' rows once computed (Spark: cache; DuckDB streams from the files instead).
    cache_typed = False

    def rows(self, sql: str) -> list[tuple]:
        raise NotImplementedError

    def frame(self, sql: str) -> pd.DataFrame:
        raise NotImplementedError

    def batches(self, sql: str, rows: int = 100_000):
        """The result of `sql` as pandas frames of at most `rows` rows each, streamed (never all at once).
        Run no other query on the engine until the iteration ends."""
        raise NotImplementedError

    def register(self, name: str, frame: pd.DataFrame) -> None:
        raise NotImplementedError

    def view(self, name: str, sql: str) -> None:
        raise NotImplementedError

    def table(self, name: str, sql: str) -> None:
        raise NotImplementedError

    def table_once(self, name: str, sql: str) -> bool:
        """`table(name, sql)` unless the table `name` this engine holds was made by table_once from the same
        `sql` (a query of the data set's tables, which do not change): True when it was made now. A table made
        here must be made only here (a `table` of the same name would leave the record stale)."""
        made = self.__dict__.setdefault("made_from", {})
        if made.get(name) == sql:
            return False
        made.pop(name, None)                  # a failed query leaves no record of the old table's query
        self.table(name, sql)
        made[name] = sql
        return True

    def read_parquet(self, name: str, files: list[Path]) -> None:
        """A view `name` over Parquet files (columns by name; a column missing from a file is empty),
        with `_file` (the file's position in `files`) and `_file_row` (0-based row within its file)."""
        raise NotImplementedError

    def read_csv(self, name: str, file: Path) -> None:
        """A table `name` of a CSV file's cells as text (empty cell = NULL) with `_file` = 0 and
        `_file_row`, the 0-based data row."""
        raise NotImplementedError

    def columns(self, name: str) -> list[str]:
        """Column names of a view or table."""
        raise NotImplementedError

    def column_types(self, name: str) -> dict[str, str]:
        """Column → a type family: text, number, bool, timestamp or other."""
        raise NotImplementedError

    def close(self) -> None:
        pass


def _family(type_name: str) -> str:
    t = type_name.upper()
    if t.startswith(("VARCHAR", "STRING", "TEXT", "CHAR")):
        return "text"
    if t.startswith("BOOL"):
        return "bool"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return "timestamp"
    if t.startswith(("TINYINT", "SMALLINT", "INT", "BIGINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT",
                     "UTINYINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL", "LONG", "SHORT", "BYTE")):
        return "number"
    return "other"


class DuckDBEngine(SqlEngine):
    """DuckDB in this process: two threads on this machine, a memory limit, spilling to a temporary folder.

    The tables it materialises (``table``, ``register``, a CSV's rows) live in a scratch database file in a
    folder of its own (under `temp_directory`, else the system's), removed by ``close`` or when the process
    ends: DuckDB stores them compressed and reads their pages on demand. In memory (TEMP tables) the
    metric rows of 10 M contacts held 1.37 GB of the metric_health kernel; on file 0.11 GB, at the same query
    speed."""

    name = "duckdb"
    dialect = DUCKDB

    def __init__(self, memory_limit: str | None = None, threads: int | None = None, temp_directory=None):
        import duckdb

        self.scratch = Path(tempfile.mkdtemp(prefix="upstream-duckdb-",
                                             dir=None if temp_directory is None else str(temp_directory)))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.scratch), True)
        self.con = duckdb.connect(str(self.scratch / "tables.duckdb"),
                                  config={"threads": threads or os.cpu_count() or 1,
                                          "memory_limit": memory_limit or os.environ.get("UPSTREAM_DUCKDB_MEMORY",
                                                                                         DEFAULT_DUCKDB_MEMORY)})
        self.con.execute("SET TimeZone = 'UTC'")
        if temp_directory is not None:
            self.con.execute(f"SET temp_directory = {DUCKDB.literal(str(temp_directory))}")

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def frame(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def batches(self, sql: str, rows: int = 100_000):
        result = self.con.execute(sql)
        vectors = max(1, rows // 2048)                 # DuckDB hands over whole vectors of 2,048 rows
        while len(chunk := result.fetch_df_chunk(vectors)):
            yield chunk

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.con.register(f"_src_{name}", frame)
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _src_{name}")
        self.con.unregister(f"_src_{name}")

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def table(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")

    def read_parquet(self, name: str, files: list[Path]) -> None:
        listing = ", ".join(DUCKDB.literal(str(f)) for f in files)
        order = " ".join(f"WHEN {DUCKDB.literal(str(f))} THEN {i}" for i, f in enumerate(files))
        self.view(name, f"SELECT * EXCLUDE (filename, file_row_number), CASE filename {order} END AS _file, "
                        f"file_row_number AS _file_row FROM read_parquet([{listing}], filename = true, "
                        "file_row_number = true, union_by_name = true, hive_partitioning = false)")

    def read_csv(self, name: str, file: Path) -> None:
        # materialised so that rowid is the data row (insertion order is kept)
        self.con.execute(f"CREATE OR REPLACE TABLE _csv_{name} AS SELECT * FROM read_csv("
                         f"{DUCKDB.literal(str(file))}, header = true, all_varchar = true, delim = ',', "
                         "quote = '\"', escape = '\"')")
        self.view(name, f"SELECT *, 0 AS _file, rowid AS _file_row FROM _csv_{name}")

    def columns(self, name: str) -> list[str]:
        return [r[0] for r in self.con.execute(f"DESCRIBE {name}").fetchall()]

    def column_types(self, name: str) -> dict[str, str]:
        return {r[0]: _family(r[1]) for r in self.con.execute(f"DESCRIBE {name}").fetchall()}

    def close(self) -> None:
        self.con.close()
        self._finalizer()


class SparkEngine(SqlEngine):
    """Spark through a SparkSession: the one given (a cluster's), else a local-mode session. Results
    come back with `collect()` (small by design); pandas interop of pyspark is not used."""

    name = "spark"
    dialect = SPARK
    cache_typed = True

    def __init__(self, session=None, master: str | None = None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)      # pyspark's note on pandas versions
            from pyspark.sql import SparkSession
        #: True when this engine started the session (none was active): ``close`` then stops it.
        self.owns_session = session is None and SparkSession.getActiveSession() is None
        if session is None:
            master = master or os.environ.get("UPSTREAM_SPARK_MASTER", "local[2]")
            if master.startswith("local"):
                os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")        # local mode stays on loopback
            builder = (SparkSession.builder.appName("upstream").master(master)
                       .config("spark.sql.session.timeZone", "UTC")
                       .config("spark.ui.enabled", "false")
                       .config("spark.ui.showConsoleProgress", "false")
                       .config("spark.sql.shuffle.partitions", os.environ.get("UPSTREAM_SPARK_PARTITIONS", "8")))
            session = builder.getOrCreate()
            session.sparkContext.setLogLevel("ERROR")
        session.conf.set("spark.sql.session.timeZone", "UTC")
        self.spark = session

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def close(self) -> None:
        """Stop the session (its application; pyspark keeps a local JVM for the process) if this engine started it."""
        if self.owns_session:
            self.spark.stop()
            self.owns_session = False

    def frame(self, sql: str) -> pd.DataFrame:
        df = self.spark.sql(sql)
        return pd.DataFrame([tuple(r) for r in df.collect()], columns=df.columns)

    def batches(self, sql: str, rows: int = 100_000):
        df = self.spark.sql(sql)
        chunk = []
        for row in df.toLocalIterator():            # one partition at a time on the driver
            chunk.append(tuple(row))
            if len(chunk) == rows:
                yield pd.DataFrame(chunk, columns=df.columns)
                chunk = []
        if chunk:
            yield pd.DataFrame(chunk, columns=df.columns)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        from pyspark.sql import types as T

        kinds = {"b": T.BooleanType(), "i": T.LongType(), "u": T.LongType(), "f": T.DoubleType()}
        fields = [T.StructField(str(c), kinds.get(frame[c].dtype.kind, T.StringType()), True) for c in frame.columns]
        records = [tuple(None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in row)
                   for row in frame.itertuples(index=False, name=None)]
        self.spark.createDataFrame(records, T.StructType(fields)).createOrReplaceTempView(name)

    def view(self, name: str, sql: str) -> None:
        self.spark.sql(sql).createOrReplaceTempView(name)

    def table(self, name: str, sql: str) -> None:
        self.spark.sql(sql).cache().createOrReplaceTempView(name)

    def read_parquet(self, name: str, files: list[Path]) -> None:
        from pyspark.sql import functions as F

        df = (self.spark.read.option("mergeSchema", "true").parquet(*[str(f) for f in files])
              .select("*", F.col("_metadata.file_path").alias("_path"),
                      F.col("_metadata.row_index").alias("_file_row")))
        uris = {Path(f).resolve().as_uri(): i for i, f in enumerate(files)}
        mapping = F.create_map(*[x for uri, i in uris.items() for x in (F.lit(uri), F.lit(i))])
        df = df.withColumn("_file", mapping[F.regexp_replace("_path", "^file:/+", "file:///")]).drop("_path")
        df.createOrReplaceTempView(name)

    def read_csv(self, name: str, file: Path) -> None:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        df = self.spark.read.csv(str(file), header=True, inferSchema=False, quote='"', escape='"', multiLine=True)
        df = df.withColumn("_seq", F.monotonically_increasing_id())    # file order within one file's splits
        df = (df.withColumn("_file_row", F.row_number().over(Window.orderBy("_seq")) - 1)
              .withColumn("_file", F.lit(0)).drop("_seq"))
        df.cache().createOrReplaceTempView(name)

    def columns(self, name: str) -> list[str]:
        return list(self.spark.table(name).columns)

    def column_types(self, name: str) -> dict[str, str]:
        return {f.name: _family(f.dataType.simpleString()) for f in self.spark.table(name).schema.fields}


def make_engine(name: str, **options) -> SqlEngine:
    """The engine called `name` ("duckdb" or "spark")."""
    if name == "duckdb":
        return DuckDBEngine(**options)
    if name == "spark":
        return SparkEngine(**options)
    raise ValueError(f"unknown SQL engine {name!r}; choose duckdb or spark")
