"""The data set read by DuckDB: the same tables, fingerprint, failures and messages as the pandas path,
for CSV files and for a table given as a folder of Parquet files."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import edit_csv, write_tables

from upstream.data import DataError, load_dataset
from upstream.data.sql import choose_engine, open_dataset
from upstream.data.sql.rules import GX_SAMPLE_ROWS


def both_errors(folder):
    """DataError of the pandas path and of the DuckDB path (None when it passes)."""
    out = []
    for engine in ("pandas", "duckdb"):
        try:
            open_dataset(folder, engine=engine)
            out.append(None)
        except DataError as err:
            out.append(err)
    return out


def outcomes(report):
    """Every expectation's outcome as validation.html shows it."""
    return {t: [(e.type, e.columns, e.success, e.n_checked, e.n_failed, e.examples, e.observed)
                for e in r.expectations] for t, r in report.tables.items()}


def corrupt_csat(t):
    t.loc[0, "csat"] = "7"
    t.loc[2, "csat"] = "abc"
    t.loc[3, "nps"] = "4.5"


def corrupt_contacts(t):
    t.loc[1, "contact_id"] = t.loc[0, "contact_id"]
    t.loc[[3, 7], "customer_id"] = ""
    t.loc[2, "channel"] = "fax"
    t.loc[4, "closed_at"] = "2026-01-01T00:00:00"
    t.loc[9, "opened_at"] = "yesterday"
    t.loc[5, "agent_id"] = " "
    t.loc[[10, 11], "agent_id"] = ["099", "7"]
    t.loc[1, "handle_time_sec"] = "-3"
    t.loc[6, "escalated"] = "maybe"


@pytest.mark.parametrize("table, edit", [("surveys", corrupt_csat), ("contacts", corrupt_contacts),
                                         ("agents", lambda t: t.drop(columns=["team"])),
                                         ("surveys", lambda t: t.iloc[:0])])
def test_duckdb_failures_read_exactly_as_the_pandas_ones(valid_folder, table, edit):
    edit_csv(valid_folder, table, edit)
    pandas_error, duckdb_error = both_errors(valid_folder)
    assert pandas_error is not None and duckdb_error is not None
    assert str(duckdb_error) == str(pandas_error)
    if pandas_error.report is not None:
        assert outcomes(duckdb_error.report) == outcomes(pandas_error.report)
        assert [f.message for f in duckdb_error.report.parse_failures] == [
            f.message for f in pandas_error.report.parse_failures]


def test_a_table_as_a_folder_of_parquet_files(tmp_path, valid_tables):
    """contacts/ as two month folders: the same frames, rows numbered across the files in path order."""
    folder = write_tables(tmp_path / "ds", {k: v for k, v in valid_tables.items() if k != "contacts"}, fmt="parquet")
    contacts = valid_tables["contacts"].copy()
    contacts.loc[200, "handle_time_sec"] = -3.0             # data row 201: in the second file
    for month, part in ((1, contacts.iloc[:150]), (2, contacts.iloc[150:])):
        (folder / "contacts" / f"month=2026-0{month}").mkdir(parents=True)
        part.to_parquet(folder / "contacts" / f"month=2026-0{month}" / "part-0.parquet", index=False)
    ds = load_dataset(folder, validate=False)
    pd.testing.assert_frame_equal(ds.contacts, contacts, check_dtype=False)
    with pytest.raises(DataError) as pandas_err:
        load_dataset(folder)
    with pytest.raises(DataError) as duckdb_err:
        open_dataset(folder, engine="duckdb")
    assert str(duckdb_err.value) == str(pandas_err.value) == (
        f"Data validation failed for {folder}:\n\ncontacts/, column 'handle_time_sec': rule 'handle_time_sec is at "
        "least 0' failed for 1 of 300 rows; e.g. -3.0 (contact_id '0000201').")
    assert duckdb_err.value.failures[0].rows == pandas_err.value.failures[0].rows == [201]


def test_sample_fingerprint_counts_and_summary_match(tmp_path):
    pandas_ds = load_dataset("data/sample")
    sql_ds = open_dataset("data/sample", engine="duckdb", docs_dir=tmp_path / "docs")
    assert sql_ds.fingerprint == pandas_ds.fingerprint
    assert sql_ds.n_rows == {t: len(pandas_ds.table(t)) for t in ("contacts", "surveys", "agents")}
    ours, theirs = sql_ds.validation.summary(), pandas_ds.validation.summary()
    assert ours["tables"] == theirs["tables"]
    assert ours["cross_table_rules"] == theirs["cross_table_rules"]
    assert (ours["engine"], ours["gx_sample_rows"]) == ("duckdb", GX_SAMPLE_ROWS)
    assert (tmp_path / "docs" / "index.html").is_file()
    start, end = sql_ds.period()
    assert (pd.Timestamp(start), pd.Timestamp(end)) == (pandas_ds.contacts["opened_at"].min(),
                                                        pandas_ds.contacts["opened_at"].max())
    pd.testing.assert_frame_equal(sql_ds.agents_frame(), pandas_ds.agents, check_dtype=False)
    with pytest.raises(AttributeError, match="read with the duckdb engine"):
        _ = sql_ds.contacts


def test_auto_engine_picks_duckdb_above_the_size_threshold():
    assert choose_engine("data/sample") == "pandas"
    assert choose_engine("data/sample", threshold=1_000_000) == "duckdb"
    assert choose_engine("data/sample", "spark") == "spark"
    with pytest.raises(ValueError, match="unknown engine 'polars'"):
        choose_engine("data/sample", "polars")


def test_duckdb_tables_live_in_a_scratch_file_removed_on_close(tmp_path):
    """A materialised table is written to the engine's own database file (compressed, paged), not kept in memory
    as a TEMP table; closing the engine removes the file and its folder."""
    from upstream.data.sql.engines import DuckDBEngine

    engine = DuckDBEngine(threads=1, temp_directory=tmp_path)
    engine.table("numbers", "SELECT range AS x FROM range(1000)")
    engine.register("levels", pd.DataFrame({"level": ["a", "b"]}))
    assert engine.rows("SELECT table_name, database_name, temporary FROM duckdb_tables() ORDER BY 1") == [
        ("levels", "tables", False), ("numbers", "tables", False)]
    assert engine.rows("SELECT sum(x) FROM numbers") == [(499500,)]
    assert engine.scratch.parent == tmp_path and (engine.scratch / "tables.duckdb").is_file()
    engine.close()
    assert not engine.scratch.exists()
