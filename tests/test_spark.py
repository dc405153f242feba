"""The same studies on Spark as on DuckDB (one local-mode session): every study that declares the spark engine
(``STUDY.engines``, found in the registry, so a study made SQL-aware on another branch joins this test by
itself) is run on the bundled sample with both engines, and every table it publishes is the same — the same
rows, columns and index, counts and other whole numbers exactly, other numbers within 1e-8 relative — and so
are its findings. Before the studies, the validation summary and fingerprint, the per-agent sufficient
statistics and the crossed model's per-customer sums and agent × customer cells (all bit for bit).

The SQL text is built per dialect (``upstream.data.sql.dialect``), so statements are not replayed across
engines: each engine runs its own. That DuckDB gives the pandas path's numbers is tested in test_sql_study.py,
test_sql_trends.py, test_sql_qa.py and test_sql_data.py; with this test, Spark gives them too."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest
from test_sql_study import close

from upstream.analysis.aggregated import crossed_sums
from upstream.data.sql import open_dataset
from upstream.studies import RunCache, steps
from upstream.studies.registry import STUDY_NAMES, declared

#: Every test here runs in `make test-spark` (.ci/run runs it after `make test`): one Spark session and every
#: study on both engines take 2 minutes alone on a quiet machine and about 5 minutes of one test process beside the
#: suite's others, which `make test`'s 6 minutes on two cores cannot hold (issue 17).
pytestmark = [pytest.mark.spark,
              pytest.mark.skipif(shutil.which("java") is None,
                                 reason="Spark needs Java 17 (a JRE) on the PATH; the Spark engine is not tested")]

#: Every study whose pipeline declares it can read the data with Spark.
SPARK_STUDIES = [name for name in STUDY_NAMES if "spark" in declared(name).engines]
#: Few bootstrap replicates: the draws come from the same sums with the same seed on both engines.
PARAMS = {"n_boot": 100, "seed": 5}


@pytest.fixture(scope="module")
def engines():
    """The sample validated in Spark and in DuckDB, and a run cache per engine (the studies share their
    agent model within an engine, as the notebooks of one run do)."""
    os.environ.setdefault("UPSTREAM_SPARK_PARTITIONS", "2")
    # A short-lived local JVM on tiny tables: the C1 compiler and no whole-stage code generation
    # halve the test's time (171 s -> 97 s on a busy 2-core machine); the SQL and results are unchanged.
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", '--driver-java-options "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" '
                          "--conf spark.sql.codegen.wholeStage=false pyspark-shell")
    spark = open_dataset("data/sample", engine="spark")
    duck = open_dataset("data/sample", engine="duckdb")
    yield {"spark": (spark, RunCache()), "duckdb": (duck, RunCache())}
    spark.engine.spark.stop()


def same_table(name: str, left: pd.DataFrame, right: pd.DataFrame) -> None:
    """`left` and `right` alike: index, columns and dtypes; whole numbers, flags and text exactly, other
    numbers within 1e-8 relative."""
    assert list(left.columns) == list(right.columns), name
    assert list(left.index) == list(right.index), name
    assert list(left.dtypes.astype(str)) == list(right.dtypes.astype(str)), name
    for column in left.columns:
        x, y = left[column], right[column]
        if pd.api.types.is_float_dtype(x.dtype):
            close(x, y)
        elif x.map(lambda v: isinstance(v, float)).any():   # numbers among None in an object column
            assert x.isna().tolist() == y.isna().tolist(), f"{name}.{column}"
            close(pd.to_numeric(x).astype(float), pd.to_numeric(y).astype(float))
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), f"{name}.{column}"


def test_spark_validates_and_sums_as_duckdb(engines):
    (spark, spark_cache), (duck, duck_cache) = engines["spark"], engines["duckdb"]
    assert spark.fingerprint == duck.fingerprint
    ours, theirs = spark.validation.summary(), duck.validation.summary()
    assert (ours["engine"], theirs["engine"]) == ("spark", "duckdb")
    assert {k: v for k, v in ours.items() if k != "engine"} == {k: v for k, v in theirs.items() if k != "engine"}
    params = declared("agent_vs_system").parameters.from_mapping(PARAMS)
    on_spark = steps.agent_model(spark, params, spark_cache)       # fitted once, used again by the studies
    on_duck = steps.agent_model(duck, params, duck_cache)
    assert on_spark.stats.n.sum() == on_duck.stats.n.sum() == 7765
    for name in ("n", "s", "xtx", "xty", "sy", "yty"):
        assert np.array_equal(getattr(on_spark.stats, name), getattr(on_duck.stats, name)), name
    crossed = {engine: crossed_sums(ds, model.design, model.stats)
               for engine, ds, model in (("spark", spark, on_spark), ("duckdb", duck, on_duck))}
    for name in ("customer_levels", "customer_n", "customer_s", "customer_sy"):
        assert np.array_equal(np.asarray(getattr(crossed["spark"], name)),
                              np.asarray(getattr(crossed["duckdb"], name))), name
    cells = {engine: sorted(zip(s.cell_agent, s.cell_customer, s.cell_n)) for engine, s in crossed.items()}
    assert cells["spark"] == cells["duckdb"] and len(cells["spark"]) > 7000


@pytest.mark.parametrize("study", SPARK_STUDIES)
def test_every_spark_study_publishes_the_duckdb_tables(engines, study):
    run = declared(study).run
    spark, duck = (run(ds, PARAMS, cache) for ds, cache in (engines["spark"], engines["duckdb"]))
    assert set(spark.tables) == set(duck.tables) and spark.tables
    assert set(spark.tables) <= set(declared(study).tables) | set(steps.SHARED_TABLES)
    for name, table in duck.tables.items():
        assert len(table) > 0, name
        same_table(f"{study}/{name}", spark.tables[name], table)
    named = lambda texts: [text.replace("spark", "duckdb") for text in texts]  # noqa: E731 - "sums in spark"
    assert named(spark.findings) == duck.findings and spark.findings
    assert named(spark.health) == duck.health


def test_the_sql_studies_are_found_in_the_registry():
    assert {"agent_vs_system", "trends", "qa_sample"} <= set(SPARK_STUDIES)


def test_an_engine_stops_only_the_session_it_started(engines):
    """The runner closes its validation engine before the notebooks start; a session the engine did not start
    (a platform's, or one already active in the process) stays up."""
    from upstream.data.sql import SparkEngine

    spark, _ = engines["spark"]
    assert spark.engine.owns_session is True
    borrowed = SparkEngine()                       # the active session, not a new one
    assert borrowed.spark is spark.engine.spark and borrowed.owns_session is False
    borrowed.close()
    assert spark.engine.rows("SELECT count(*) FROM agents") == [(150,)]
