"""Loading and parsing: file formats, identifiers as text, types, times, booleans, fingerprint."""
from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import edit_csv, read_csv_text, write_tables

from upstream.data import TABLES, DataError, Dataset, find_table_file, load_dataset
from upstream.data.loading import find_table_files


def failure_message(folder: Path, *paragraphs: str) -> str:
    return "\n\n".join([f"Data validation failed for {folder}:", *paragraphs])


def test_load_returns_the_parsed_tables(valid_folder, valid_tables):
    ds = load_dataset(valid_folder)
    assert isinstance(ds, Dataset)
    for table in TABLES:
        pd.testing.assert_frame_equal(ds.table(table), valid_tables[table])
        assert ds.paths[table] == valid_folder / f"{table}.csv"
    assert {c: str(t) for c, t in ds.contacts.dtypes.items()} == {
        "contact_id": "str", "opened_at": "datetime64[us]", "closed_at": "datetime64[us]",
        "agent_id": "str", "team": "str", "channel": "str", "policy": "str", "product": "str",
        "issue_type": "str", "customer_id": "str", "handle_time_sec": "float64",
        "n_interactions": "int64", "resolved_first_contact": "bool", "repeat_within_7d": "bool",
        "escalated": "bool", "credit_issued": "float64",
    }
    assert {c: str(t) for c, t in ds.surveys.dtypes.items()} == {
        "contact_id": "str", "sent_at": "datetime64[us]", "responded_at": "datetime64[us]",
        "csat": "Int64", "nps": "Int64", "comment": "str",
    }
    assert {c: str(t) for c, t in ds.agents.dtypes.items()} == {
        "agent_id": "str", "team": "str", "site": "str", "tenure_months": "float64"}
    # Optional values stay missing: half the surveys have no reply.
    assert ds.surveys["responded_at"].isna().sum() == 75
    assert ds.surveys["csat"].isna().sum() == 76 and ds.surveys["nps"].isna().sum() == 76
    assert repr(ds).startswith(f"Dataset({str(valid_folder)!r}, contacts=300 rows, surveys=150 rows, agents=6 rows")


def test_identifiers_with_leading_zeros_stay_text(valid_folder):
    def corrupt(t):
        t.loc[0, "customer_id"] = "007"
        t.loc[1, "customer_id"] = "NA"  # only an empty cell is missing
        t.loc[2, "customer_id"] = "1e3"
    edit_csv(valid_folder, "contacts", corrupt)
    ds = load_dataset(valid_folder, validate=False)
    assert list(ds.contacts["customer_id"][:3]) == ["007", "NA", "1e3"]
    assert ds.contacts["contact_id"].iloc[0] == "0000001"
    assert list(ds.agents["agent_id"]) == ["001", "002", "003", "004", "005", "006"]
    assert ds.surveys["contact_id"].iloc[0] == "0000001"


def test_csv_and_parquet_load_to_equal_frames(tmp_path, valid_tables):
    from_csv = load_dataset(write_tables(tmp_path / "csv", valid_tables))
    from_parquet = load_dataset(write_tables(tmp_path / "parquet", valid_tables, fmt="parquet"))
    assert from_parquet.validation.ok
    for table in TABLES:
        assert from_parquet.paths[table].name == f"{table}.parquet"
        pd.testing.assert_frame_equal(from_parquet.table(table), from_csv.table(table))


def test_parquet_with_text_and_offset_times_goes_through_the_same_parsing(tmp_path, valid_tables):
    tables = {name: frame.copy() for name, frame in valid_tables.items()}
    tables["agents"]["tenure_months"] = tables["agents"]["tenure_months"].astype("str")
    tables["contacts"]["opened_at"] = tables["contacts"]["opened_at"].dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo")
    tables["contacts"]["escalated"] = tables["contacts"]["escalated"].astype("int64")
    tables["surveys"]["csat"] = tables["surveys"]["csat"].astype("float64")
    ds = load_dataset(write_tables(tmp_path / "pq", tables, fmt="parquet"))
    for table in TABLES:
        pd.testing.assert_frame_equal(ds.table(table), valid_tables[table])


def test_csv_gz_works(tmp_path, valid_folder, valid_tables):
    folder = tmp_path / "gz"
    folder.mkdir()
    for table in TABLES:
        with open(valid_folder / f"{table}.csv", "rb") as src, gzip.open(folder / f"{table}.csv.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
    ds = load_dataset(folder)
    assert ds.validation.ok
    for table in TABLES:
        assert ds.paths[table] == folder / f"{table}.csv.gz"
        pd.testing.assert_frame_equal(ds.table(table), valid_tables[table])


def test_two_files_for_one_table_are_refused_naming_both(tmp_path, valid_folder, valid_tables):
    """agents.csv beside agents.parquet (or agents.csv.gz): which one is current cannot be known,
    so neither is read silently."""
    write_tables(valid_folder, {"agents": valid_tables["agents"].iloc[:0]}, fmt="parquet")
    assert find_table_files(valid_folder, "agents") == [valid_folder / "agents.csv", valid_folder / "agents.parquet"]
    with pytest.raises(DataError) as info:
        load_dataset(valid_folder, validate=False)
    assert str(info.value) == failure_message(
        valid_folder,
        "agents.csv, agents.parquet: rule 'each table is in exactly one file' failed; agents.csv and "
        "agents.parquet are both in the folder and Upstream will not guess which one is current; move "
        "or delete all but one.")
    with gzip.open(valid_folder / "contacts.csv.gz", "wb") as out:
        out.write((valid_folder / "contacts.csv").read_bytes())
    with gzip.open(valid_folder / "agents.csv.gz", "wb") as out:
        out.write((valid_folder / "agents.csv").read_bytes())
    with pytest.raises(DataError) as info:
        load_dataset(valid_folder, validate=False)
    assert [f.message for f in info.value.failures] == [
        "contacts.csv, contacts.csv.gz: rule 'each table is in exactly one file' failed; contacts.csv and "
        "contacts.csv.gz are both in the folder and Upstream will not guess which one is current; move or "
        "delete all but one.",
        "agents.csv, agents.csv.gz, agents.parquet: rule 'each table is in exactly one file' failed; "
        "agents.csv, agents.csv.gz and agents.parquet are all in the folder and Upstream will not guess "
        "which one is current; move or delete all but one."]
    (valid_folder / "agents.csv").unlink()
    (valid_folder / "agents.csv.gz").unlink()
    (valid_folder / "contacts.csv.gz").unlink()
    assert find_table_file(valid_folder, "agents") == valid_folder / "agents.parquet"
    assert find_table_file(valid_folder, "teams") is None


def test_times_with_offsets_are_converted_to_naive_utc(valid_folder):
    def corrupt(t):
        t.loc[0, "opened_at"] = "2026-01-05T10:00:00+02:00"
        t.loc[0, "closed_at"] = "2026-01-05T08:30:00Z"
        t.loc[1, "opened_at"] = "2026-01-05 09:15"
    edit_csv(valid_folder, "contacts", corrupt)
    ds = load_dataset(valid_folder, validate=False)
    assert ds.contacts.loc[0, "opened_at"] == pd.Timestamp("2026-01-05 08:00:00")
    assert ds.contacts.loc[0, "closed_at"] == pd.Timestamp("2026-01-05 08:30:00")
    assert ds.contacts.loc[1, "opened_at"] == pd.Timestamp("2026-01-05 09:15:00")
    assert ds.contacts["opened_at"].dt.tz is None


def test_boolean_spellings(valid_folder):
    def corrupt(t):
        t.loc[0:5, "escalated"] = ["TRUE", "False", "1", "0", "Yes", "no"]
    edit_csv(valid_folder, "contacts", corrupt)
    ds = load_dataset(valid_folder, validate=False)
    assert list(ds.contacts["escalated"][:6]) == [True, False, True, False, True, False]
    assert ds.contacts["escalated"].dtype == bool


def test_boolean_that_is_not_one(valid_folder):
    def corrupt(t):
        t.loc[3, "escalated"] = "maybe"
        t.loc[4, "escalated"] = "2"
    edit_csv(valid_folder, "contacts", corrupt)
    with pytest.raises(DataError) as info:
        load_dataset(valid_folder, validate=False)
    assert str(info.value) == failure_message(
        valid_folder,
        "contacts.csv, column 'escalated': rule 'escalated is true or false (also 1/0, yes/no)' "
        "failed for 2 of 300 rows; e.g. 'maybe' (contact_id '0000004'), '2' (contact_id '0000005').")


def test_text_that_is_not_a_number(valid_folder):
    def corrupt(t):
        t.loc[0, "handle_time_sec"] = "NA"
        t.loc[1, "handle_time_sec"] = "1,200"
        t.loc[2, "handle_time_sec"] = "inf"
        t.loc[3, "handle_time_sec"] = " 310.5 "  # surrounding spaces are fine
    edit_csv(valid_folder, "contacts", corrupt)
    with pytest.raises(DataError) as info:
        load_dataset(valid_folder, validate=False)
    assert str(info.value) == failure_message(
        valid_folder,
        "contacts.csv, column 'handle_time_sec': rule 'handle_time_sec is a number' failed for 3 "
        "of 300 rows; e.g. 'NA' (contact_id '0000001'), '1,200' (contact_id '0000002'), 'inf' "
        "(contact_id '0000003').")
    (failure,) = info.value.failures
    assert (failure.rows, failure.n_failed, failure.n_rows) == ([1, 2, 3], 3, 300)


def test_whitespace_only_number_is_an_empty_cell(valid_folder):
    def corrupt(t):
        t.loc[4, "handle_time_sec"] = "   "
    edit_csv(valid_folder, "contacts", corrupt)
    with pytest.raises(DataError) as info:
        load_dataset(valid_folder)
    assert str(info.value) == failure_message(
        valid_folder,
        "contacts.csv, column 'handle_time_sec': rule 'handle_time_sec is required (no empty "
        "cells)' failed for 1 of 300 rows; empty in data row 5 (contact_id '0000005').")


def test_validate_false_only_loads(valid_folder):
    def corrupt(t):
        t.loc[0, "csat"] = "9"
        t.loc[1, "contact_id"] = "0999999"
    edit_csv(valid_folder, "surveys", corrupt)
    ds = load_dataset(valid_folder, validate=False)
    assert ds.validation is None
    assert ds.surveys.loc[0, "csat"] == 9 and ds.surveys.loc[1, "contact_id"] == "0999999"


def test_fingerprint(valid_folder, tmp_path):
    ds = load_dataset(valid_folder, validate=False)
    digest = hashlib.sha256()
    for table in TABLES:
        content = (valid_folder / f"{table}.csv").read_bytes()
        digest.update(f"{table} {table}.csv {len(content)}\n".encode())
        digest.update(content)
    assert ds.fingerprint == digest.hexdigest()
    # Same bytes elsewhere: same fingerprint; one changed value: a different one.
    copy = shutil.copytree(valid_folder, tmp_path / "copy")
    assert load_dataset(copy, validate=False).fingerprint == ds.fingerprint
    edit_csv(copy, "agents", lambda t: t.assign(site=["Leeds"] * len(t)))
    assert load_dataset(copy, validate=False).fingerprint != ds.fingerprint


def test_unreadable_files(valid_folder):
    (valid_folder / "agents.csv").write_bytes(b"")
    (valid_folder / "surveys.csv").unlink()
    (valid_folder / "surveys.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError) as info:
        load_dataset(valid_folder, validate=False)
    surveys, agents = info.value.failures
    assert surveys.message.startswith(
        "surveys.parquet: rule 'the file is a readable Parquet table' failed; ")
    assert agents.message == (
        "agents.csv: rule 'the file is a readable UTF-8 CSV table with a header row' failed; the "
        "file is empty (not even a header row).")
    assert str(info.value).startswith(f"Data validation failed for {valid_folder}:\n\nsurveys.parquet: ")


def test_file_that_is_not_utf8(valid_folder):
    text = read_csv_text(valid_folder / "agents.csv")
    text.loc[0, "site"] = "Besançon"
    (valid_folder / "agents.csv").write_bytes(text.to_csv(index=False).encode("latin-1"))
    with pytest.raises(DataError) as info:
        load_dataset(valid_folder, validate=False)
    (failure,) = info.value.failures
    assert failure.message.startswith(
        "agents.csv: rule 'the file is a readable UTF-8 CSV table with a header row' failed; "
        "'utf-8' codec can't decode byte 0xe7")


def test_extra_columns_are_kept_as_text(valid_folder):
    edit_csv(valid_folder, "agents", lambda t: t.assign(badge=["0042"] * len(t)))
    ds = load_dataset(valid_folder, validate=False)
    assert list(ds.agents.columns) == ["agent_id", "team", "site", "tenure_months", "badge"]
    assert ds.agents["badge"].iloc[0] == "0042"


def test_whole_number_column_with_empty_cells_in_a_required_column(valid_folder):
    def corrupt(t):
        t.loc[2, "n_interactions"] = ""
    edit_csv(valid_folder, "contacts", corrupt)
    ds = load_dataset(valid_folder, validate=False)
    assert str(ds.contacts["n_interactions"].dtype) == "Int64"
    assert ds.contacts["n_interactions"].isna().sum() == 1
    assert np.array_equal(ds.contacts["n_interactions"][:2].to_numpy(dtype="int64"),
                          read_csv_text(valid_folder / "contacts.csv")["n_interactions"][:2].astype(int).to_numpy())


def test_isin_text_is_isin_on_text_ids_with_missing_never_in():
    """The id membership every study and the cross-table rules use (upstream.data.frames.isin_text): Series.isin
    on text ids (leading zeros kept, any pool type), except that a missing id is never in the pool."""
    from upstream.data.frames import isin_text

    rng = np.random.default_rng(4)
    ids = pd.Series([f"{i:06d}" for i in rng.integers(0, 2_000, 5_000)], dtype="str", index=np.arange(5_000) * 3)
    pool = pd.Series([f"{i:06d}" for i in rng.integers(0, 2_000, 800)] + [None], dtype="str")
    expected = ids.isin(pool.dropna())
    for given in (pool, pd.Index(pool), pool.to_numpy(), pool.unique()):
        got = isin_text(ids, given)
        pd.testing.assert_series_equal(got, expected, check_names=False)
    with_missing = pd.Series(["000001", None, "x"], dtype="str")
    assert isin_text(with_missing, pd.Series(["000001", None])).tolist() == [True, False, False]
    assert isin_text(pd.Series([7, 12]), pd.Series(["7"])).tolist() == [True, False]    # compared as text
