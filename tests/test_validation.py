"""Validation of a data set: the GX suites, the cross-table rules and the exact failure messages."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from conftest import edit_csv, write_tables

from upstream.data import SCHEMA, TABLES, DataError, load_dataset
from upstream.data.validation import (
    EXPECTATIONS_DIR,
    TABLE_ORDER,
    Failure,
    ValidationReport,
    build_gx_context,
    load_suite,
    validate,
)


@pytest.fixture
def gx_checks_every_table(monkeypatch):
    """The test takes no GX results of tables this process has validated before (the same fixture data): GX runs on
    every table. The tests of failure messages need not: the table each one breaks is new to GX (its values differ)
    and is checked; the others are the valid fixture's, whose results GX gave an earlier test."""
    from collections import OrderedDict

    from upstream.data import validation

    monkeypatch.setattr(validation, "_CHECKED", OrderedDict())


def failure_message(folder: Path, *paragraphs: str) -> str:
    return "\n\n".join([f"Data validation failed for {folder}:", *paragraphs])


def load_error(folder: Path, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        load_dataset(folder, **kwargs)
    return info.value


# ---------------------------------------------------------------------------------------------
# The valid data set


@pytest.mark.usefixtures("gx_checks_every_table")
def test_valid_fixture_passes_and_summary_counts_every_expectation(valid_folder):
    ds = load_dataset(valid_folder)
    report = ds.validation
    assert isinstance(report, ValidationReport)
    assert report.ok and report.failures == []
    report.raise_if_failed()  # nothing to raise

    summary = json.loads(json.dumps(report.summary()))  # JSON-able
    assert summary["ok"] is True
    assert summary["great_expectations_version"] == "1.24.1"
    expected_rows = {"contacts": 300, "surveys": 150, "agents": 6}
    for table in TABLES:
        n_expectations = len(json.loads((EXPECTATIONS_DIR / f"{table}.json").read_text())["expectations"])
        assert summary["tables"][table] == {
            "file": f"{table}.csv",
            "rows": expected_rows[table],
            "suite": table,
            "expectations_evaluated": n_expectations,
            "expectations_passed": n_expectations,
            "expectations_failed": 0,
            "parse_failures": 0,
        }
    assert [(r["table"], r["column"], r["references"], r["status"], r["n_failed"])
            for r in summary["cross_table_rules"]] == [
        ("surveys", "contact_id", "contacts.contact_id", "passed", 0),
        ("contacts", "agent_id", "agents.agent_id", "passed", 0),
    ]
    assert summary["failures"] == [] and summary["data_docs"] is None


def test_suite_sizes_are_what_the_data_model_asks_for():
    # contacts: row count + 16 exist + 16 required + 3 ids and 5 categories not blank + unique
    # + 3 lower bounds + closed >= opened; surveys: 1 + 6 + 2 + 1 + 1 + csat + nps + responded >= sent;
    # agents: 1 + 4 + 4 + 1 + 2 not blank + 1 unique + tenure. No category is restricted to a list.
    assert {t: len(load_suite(t)["expectations"]) for t in TABLES} == {
        "contacts": 46, "surveys": 14, "agents": 14}


@pytest.mark.parametrize("table", TABLES)
def test_suites_match_the_column_list_of_the_data_model(table):
    suite = load_suite(table)
    assert suite["name"] == table
    by_type: dict[str, list[str]] = {}
    for entry in suite["expectations"]:
        assert entry["description"].strip(), entry
        if "column" in entry["kwargs"]:
            by_type.setdefault(entry["type"], []).append(entry["kwargs"]["column"])
    columns = [c.name for c in SCHEMA[table]]
    assert by_type["expect_column_to_exist"] == columns
    assert by_type["expect_column_values_to_not_be_null"] == [c.name for c in SCHEMA[table] if c.required]
    texts = [c.name for c in SCHEMA[table] if c.kind == "id"] + [c.name for c in SCHEMA[table] if c.kind == "category"]
    assert by_type.get("expect_column_values_to_not_match_regex", []) == texts
    in_set = by_type.get("expect_column_values_to_be_in_set", [])
    assert not [c for c in SCHEMA[table] if c.kind == "category" and c.name in in_set]  # open vocabularies
    assert TABLE_ORDER == TABLES


# ---------------------------------------------------------------------------------------------
# One corruption each, one exact message each


def test_missing_file(valid_folder):
    (valid_folder / "surveys.csv").unlink()
    expected = failure_message(
        valid_folder,
        f"{valid_folder}/surveys.csv (or surveys.parquet) is missing: every data set needs "
        "contacts, surveys and agents tables.")
    err = load_error(valid_folder)
    assert str(err) == expected
    assert [(f.table, f.kind) for f in err.failures] == [("surveys", "missing_file")]
    assert str(load_error(valid_folder, validate=False)) == expected


def test_missing_folder_names_all_three_files(tmp_path):
    folder = tmp_path / "nowhere"
    err = load_error(folder)
    assert str(err) == failure_message(folder, *(
        f"{folder}/{t}.csv (or {t}.parquet) is missing: every data set needs contacts, surveys "
        "and agents tables." for t in TABLES))


def test_missing_required_column(valid_folder):
    edit_csv(valid_folder, "contacts", lambda t: t.drop(columns=["agent_id"]))
    err = load_error(valid_folder)
    # Only the missing column: its other rules and the cross-table rule on it are not repeated.
    assert str(err) == failure_message(
        valid_folder,
        "contacts.csv: required column 'agent_id' is missing; the file has columns contact_id, "
        "opened_at, closed_at, team, channel, policy, product, issue_type, customer_id, "
        "handle_time_sec and 5 more.")
    (failure,) = err.failures
    assert (failure.table, failure.file, failure.column) == ("contacts", "contacts.csv", "agent_id")
    cross = err.report.summary()["cross_table_rules"][1]
    assert (cross["status"], cross["reason"]) == ("skipped", "a column is missing")


def test_csat_outside_1_to_5(valid_folder):
    def corrupt(t):
        t.loc[0, "csat"] = "7"
        t.loc[2, "csat"] = "0"
    edit_csv(valid_folder, "surveys", corrupt)
    err = load_error(valid_folder)
    assert str(err) == failure_message(
        valid_folder,
        "surveys.csv, column 'csat': rule 'CSAT is a whole number from 1 to 5' failed for 2 of "
        "150 rows; e.g. 7 (contact_id '0000001'), 0 (contact_id '0000005').")
    (failure,) = err.failures
    assert (failure.table, failure.file, failure.column, failure.n_failed, failure.n_rows,
            failure.examples, failure.rows) == ("surveys", "surveys.csv", "csat", 2, 150, [7, 0], [1, 3])


def test_csat_not_a_number(valid_folder):
    def corrupt(t):
        t.loc[0, "csat"] = "abc"
    edit_csv(valid_folder, "surveys", corrupt)
    expected = failure_message(
        valid_folder,
        "surveys.csv, column 'csat': rule 'csat is a number' failed for 1 of 150 rows; e.g. 'abc' "
        "(contact_id '0000001').")
    assert str(load_error(valid_folder)) == expected
    # Unparseable values stop loading even without validation: the column cannot be typed.
    assert str(load_error(valid_folder, validate=False)) == expected


def test_csat_not_a_whole_number(valid_folder):
    def corrupt(t):
        t.loc[0, "csat"] = "4.5"
    edit_csv(valid_folder, "surveys", corrupt)
    assert str(load_error(valid_folder)) == failure_message(
        valid_folder,
        "surveys.csv, column 'csat': rule 'csat is a whole number' failed for 1 of 150 rows; "
        "e.g. '4.5' (contact_id '0000001').")


def test_nps_outside_0_to_10(valid_folder):
    def corrupt(t):
        t.loc[0, "nps"] = "11"
        t.loc[6, "nps"] = "-1"
    edit_csv(valid_folder, "surveys", corrupt)
    assert str(load_error(valid_folder)) == failure_message(
        valid_folder,
        "surveys.csv, column 'nps': rule 'NPS is a whole number from 0 to 10' failed for 2 of "
        "150 rows; e.g. 11 (contact_id '0000001'), -1 (contact_id '0000013').")


def test_duplicate_contact_ids(valid_folder):
    def corrupt(t):
        t.loc[1, "contact_id"] = t.loc[0, "contact_id"]
    edit_csv(valid_folder, "contacts", corrupt)
    err = load_error(valid_folder)
    assert str(err) == failure_message(
        valid_folder,
        "contacts.csv, column 'contact_id': rule 'contact_id is unique (one row per contact)' "
        "failed for 2 of 300 rows; e.g. '0000001' (row 1).")


def test_duplicate_survey_for_one_contact(valid_folder):
    def corrupt(t):
        t.loc[3, "contact_id"] = t.loc[2, "contact_id"]
    edit_csv(valid_folder, "surveys", corrupt)
    assert str(load_error(valid_folder)) == failure_message(
        valid_folder,
        "surveys.csv, column 'contact_id': rule 'contact_id is unique (at most one survey per "
        "contact)' failed for 2 of 150 rows; e.g. '0000005' (row 3).")


def test_survey_for_unknown_contact(valid_folder):
    def corrupt(t):
        t.loc[3, "contact_id"] = "0999999"
    edit_csv(valid_folder, "surveys", corrupt)
    err = load_error(valid_folder)
    assert str(err) == failure_message(
        valid_folder,
        "surveys.csv, column 'contact_id': rule 'contact_id refers to a contact in contacts' "
        "failed for 1 of 150 rows; e.g. '0999999' (row 4).")
    assert err.failures[0].rows == [4]
    assert err.report.summary()["cross_table_rules"][0]["status"] == "failed"


def test_contact_with_unknown_agent(valid_folder):
    def corrupt(t):
        t.loc[[4, 10, 11], "agent_id"] = ["099", "7", "099"]
    edit_csv(valid_folder, "contacts", corrupt)
    assert str(load_error(valid_folder)) == failure_message(
        valid_folder,
        "contacts.csv, column 'agent_id': rule 'agent_id refers to an agent in agents' failed for "
        "3 of 300 rows; e.g. '099' (contact_id '0000005'), '7' (contact_id '0000011').")


@pytest.mark.parametrize("table, detail_rows", [("surveys", 150), ("agents", 6)])
def test_empty_table(valid_folder, table, detail_rows):
    edit_csv(valid_folder, table, lambda t: t.iloc[:0])
    err = load_error(valid_folder)
    # An empty agents table makes the contact -> agent rule moot: it is skipped, not repeated.
    assert str(err) == failure_message(
        valid_folder,
        f"{table}.csv: rule 'the table has at least one row' failed; the file has a header but "
        "no data rows.")
    assert err.failures[0].column is None


def test_dates_that_do_not_parse(valid_folder):
    def corrupt(t):
        t.loc[9, "opened_at"] = "yesterday"
        t.loc[20, "opened_at"] = "2026-02-30T10:00:00"
        t.loc[21, "opened_at"] = "yesterday"
    edit_csv(valid_folder, "contacts", corrupt)
    expected = failure_message(
        valid_folder,
        "contacts.csv, column 'opened_at': rule 'opened_at is an ISO 8601 date/time' failed for "
        "3 of 300 rows; e.g. 'yesterday' (contact_id '0000010'), '2026-02-30T10:00:00' (contact_id '0000021').")
    err = load_error(valid_folder)
    # Reported once: the cells left empty by the failed parse are not also "required" failures.
    assert str(err) == expected
    assert err.failures[0].rows == [10, 21, 22]
    assert str(load_error(valid_folder, validate=False)) == expected


def test_blank_agent_id(valid_folder):
    def corrupt(t):
        t.loc[0, "agent_id"] = "   "
    edit_csv(valid_folder, "agents", corrupt)
    # The 50 contacts of agent 001 now point at no agent: that is a second, true, failure.
    assert str(load_error(valid_folder)) == failure_message(
        valid_folder,
        "agents.csv, column 'agent_id': rule 'agent_id is not blank (not only spaces)' failed for "
        "1 of 6 rows; e.g. '   ' (row 1).",
        "contacts.csv, column 'agent_id': rule 'agent_id refers to an agent in agents' failed for "
        "50 of 300 rows; e.g. '001' (contact_id '0000001').")


def test_blank_agent_id_in_contacts_is_not_also_an_unknown_agent(valid_folder):
    def corrupt(t):
        t.loc[5, "agent_id"] = " "
    edit_csv(valid_folder, "contacts", corrupt)
    assert str(load_error(valid_folder)) == failure_message(
        valid_folder,
        "contacts.csv, column 'agent_id': rule 'agent_id is not blank (not only spaces)' failed "
        "for 1 of 300 rows; e.g. ' ' (contact_id '0000006').")


def test_empty_required_cells(valid_folder):
    def corrupt(t):
        t.loc[[3, 7], "customer_id"] = ""
    edit_csv(valid_folder, "contacts", corrupt)
    assert str(load_error(valid_folder)) == failure_message(
        valid_folder,
        "contacts.csv, column 'customer_id': rule 'customer_id is required (no empty cells)' "
        "failed for 2 of 300 rows; empty in data rows 4, 8 (contact_id '0000004', '0000008').")


def test_any_channel_text_is_accepted_but_not_a_blank_one(valid_folder):
    """Channels (like every category column) are an open vocabulary: real helpdesks have sms, web,
    voice, social ... channels; only an empty or blank value is refused."""
    def corrupt(t):
        t.loc[2, "channel"] = "sms"
        t.loc[3, "channel"] = "Social / Instagram DM"
        t.loc[4, "channel"] = "voice"
    edit_csv(valid_folder, "contacts", corrupt)
    ds = load_dataset(valid_folder)
    assert ds.validation.ok
    assert list(ds.contacts["channel"][2:5]) == ["sms", "Social / Instagram DM", "voice"]

    def blank(t):
        t.loc[5, "channel"] = "   "
        t.loc[6, "policy"] = " "
    edit_csv(valid_folder, "contacts", blank)
    assert str(load_error(valid_folder)) == failure_message(
        valid_folder,
        "contacts.csv, column 'channel': rule 'channel is not blank (not only spaces)' failed for 1 of "
        "300 rows; e.g. '   ' (contact_id '0000006').",
        "contacts.csv, column 'policy': rule 'policy is not blank (not only spaces)' failed for 1 of "
        "300 rows; e.g. ' ' (contact_id '0000007').")


def test_negative_numbers_and_zero_interactions(valid_folder):
    def corrupt(t):
        t.loc[1, "handle_time_sec"] = "-3"
        t.loc[2, "n_interactions"] = "0"
        t.loc[3, "credit_issued"] = "-0.5"
    edit_csv(valid_folder, "contacts", corrupt)
    edit_csv(valid_folder, "agents", lambda t: t.assign(tenure_months=["-1"] + list(t.tenure_months[1:])))
    assert str(load_error(valid_folder)) == failure_message(
        valid_folder,
        "contacts.csv, column 'handle_time_sec': rule 'handle_time_sec is at least 0' failed for "
        "1 of 300 rows; e.g. -3.0 (contact_id '0000002').",
        "contacts.csv, column 'n_interactions': rule 'n_interactions is at least 1' failed for "
        "1 of 300 rows; e.g. 0 (contact_id '0000003').",
        "contacts.csv, column 'credit_issued': rule 'credit_issued is at least 0' failed for "
        "1 of 300 rows; e.g. -0.5 (contact_id '0000004').",
        "agents.csv, column 'tenure_months': rule 'tenure_months is at least 0' failed for "
        "1 of 6 rows; e.g. -1.0 (agent_id '001').")


def test_closed_before_opened_and_responded_before_sent(valid_folder, valid_tables):
    opened = valid_tables["contacts"].loc[4, "opened_at"]
    sent = valid_tables["surveys"].loc[0, "sent_at"]
    assert opened > pd.Timestamp("2026-01-01") and sent > pd.Timestamp("2026-01-01")

    def contacts(t):
        t.loc[4, "closed_at"] = "2026-01-01T00:00:00"
    def surveys(t):
        t.loc[0, "responded_at"] = "2025-12-31T23:00:00Z"
    edit_csv(valid_folder, "contacts", contacts)
    edit_csv(valid_folder, "surveys", surveys)
    err = load_error(valid_folder)
    assert err.report is not None and not err.report.ok  # the report travels with the error
    assert [f.message for f in err.failures] == [
        "contacts.csv, column 'closed_at': rule 'closed_at is not before opened_at' failed for 1 "
        f"of 300 rows; e.g. ('2026-01-01 00:00:00', '{opened}') (contact_id '0000005').",
        "surveys.csv, column 'responded_at': rule 'responded_at is not before sent_at' failed for "
        f"1 of 150 rows; e.g. ('2025-12-31 23:00:00', '{sent}') (contact_id '0000001').",
    ]


def test_several_failures_one_paragraph_each_in_file_order(valid_folder):
    def surveys(t):
        t.loc[0, "csat"] = "abc"
        t.loc[1, "nps"] = "12"
    def contacts(t):
        t.loc[0, "handle_time_sec"] = "-5"
    edit_csv(valid_folder, "surveys", surveys)
    edit_csv(valid_folder, "contacts", contacts)
    message = str(load_error(valid_folder))
    assert message == (
        f"Data validation failed for {valid_folder}:\n"
        "\n"
        "contacts.csv, column 'handle_time_sec': rule 'handle_time_sec is at least 0' "
        "failed for 1 of 300 rows; e.g. -5.0 (contact_id '0000001').\n"
        "\n"
        "surveys.csv, column 'csat': rule 'csat is a number' failed for 1 of 150 rows; e.g. 'abc' "
        "(contact_id '0000001').\n"
        "\n"
        "surveys.csv, column 'nps': rule 'NPS is a whole number from 0 to 10' failed for 1 of 150 "
        "rows; e.g. 12 (contact_id '0000003').")
    assert "Traceback" not in message


def test_message_formatting_of_counts_and_examples():
    failure = Failure("surveys", "surveys.csv", "csat", "CSAT is a whole number from 1 to 5",
                      n_failed=1234, n_rows=60000, examples=["abc", 7, "", 2.5, None])
    assert failure.message == (
        "surveys.csv, column 'csat': rule 'CSAT is a whole number from 1 to 5' failed for 1,234 "
        "of 60,000 rows; e.g. 'abc', 7, '', 2.5, None.")
    table_level = Failure("agents", "agents.csv", None, "the table has at least one row", 0, 0,
                          detail="the file has a header but no data rows")
    assert table_level.message == (
        "agents.csv: rule 'the table has at least one row' failed; the file has a header but no "
        "data rows.")
    err = DataError([failure, table_level], "data/x")
    assert str(err) == failure_message(Path("data/x"), failure.message, table_level.message)
    assert err.failures == [failure, table_level]


def test_many_failures_use_thousands_separators(tmp_path):
    from conftest import build_valid_tables

    tables = build_valid_tables(n_contacts=2400, n_agents=12)
    tables["contacts"]["n_interactions"] = 0
    folder = write_tables(tmp_path / "big", tables)
    assert str(load_error(folder)) == failure_message(
        folder,
        "contacts.csv, column 'n_interactions': rule 'n_interactions is at least 1' "
        "failed for 2,400 of 2,400 rows; e.g. 0 (contact_id '0000001').")


def test_validate_on_a_dataset_loaded_without_validation(valid_folder):
    def corrupt(t):
        t.loc[0, "csat"] = "9"
    edit_csv(valid_folder, "surveys", corrupt)
    ds = load_dataset(valid_folder, validate=False)  # typed fine; the rules are not checked
    assert ds.validation is None
    report = validate(ds)
    assert not report.ok
    assert [f.rule for f in report.failures] == ["CSAT is a whole number from 1 to 5"]
    assert report.summary()["tables"]["surveys"]["expectations_failed"] == 1
    with pytest.raises(DataError) as info:
        report.raise_if_failed()
    assert str(info.value) == report.message


@pytest.mark.usefixtures("gx_checks_every_table")
def test_failed_rules_checked_again_give_the_report_a_full_run_gives(valid_folder, tmp_path):
    """Without Data Docs, GX checks every rule without row positions and only the failed rules again with them;
    the report (every rule's counts and examples, the failures with their rows) is the one the Data Docs run
    gives, which checks every rule with row positions."""
    def contacts(t):
        t.loc[[2, 7], "handle_time_sec"] = "-5"
        t.loc[4, "contact_id"] = t.loc[3, "contact_id"]
    def surveys(t):
        t.loc[[1, 5, 6], "nps"] = "12"
    edit_csv(valid_folder, "contacts", contacts)
    edit_csv(valid_folder, "surveys", surveys)
    ds = load_dataset(valid_folder, validate=False)
    checked_again, full = validate(ds), validate(ds, docs_dir=tmp_path / "docs")
    assert checked_again.failures == full.failures
    with pytest.MonkeyPatch.context() as patch:       # values pandas cannot hash: checked again all the same
        patch.setattr("upstream.data.validation._content_key", lambda *args: None)
        assert validate(ds).failures == full.failures
    assert [f.rows for f in full.failures] == [[4, 5], [3, 8], [2, 6, 7], [3]]   # the last: the lost contact's survey
    for table in TABLE_ORDER:
        assert checked_again.tables[table].expectations == full.tables[table].expectations, table
        assert checked_again.summary()["tables"][table] == full.summary()["tables"][table]


@pytest.mark.usefixtures("gx_checks_every_table")
def test_tables_validated_before_in_this_process_are_not_checked_again(valid_folder, monkeypatch):
    """A notebook cell that loads the same files twice runs GX once; a changed file is checked again, alone."""
    from upstream.data import validation

    checked = []
    real = validation._validated

    def counted(gx, context, batch, suite, frame, stored):
        checked.append(suite.name)
        return real(gx, context, batch, suite, frame, stored)
    monkeypatch.setattr(validation, "_validated", counted)
    first = load_dataset(valid_folder).validation
    again = load_dataset(valid_folder).validation
    assert checked == ["contacts", "surveys", "agents"]
    assert again.tables == first.tables and again.ok
    def surveys(t):
        t.loc[4, "csat"] = "9"
    edit_csv(valid_folder, "surveys", surveys)
    assert str(load_error(valid_folder)) == failure_message(
        valid_folder, "surveys.csv, column 'csat': rule 'CSAT is a whole number from 1 to 5' failed for 1 of 150 rows; "
        "e.g. 9 (contact_id '0000009').")
    assert checked == ["contacts", "surveys", "agents", "surveys"]
    validation.validate(load_dataset(valid_folder, validate=False), docs_dir=valid_folder.parent / "docs")  # Data Docs
    assert checked[4:] == ["contacts", "surveys", "agents"]


# ---------------------------------------------------------------------------------------------
# Quiet, offline, Data Docs where asked


@pytest.mark.usefixtures("gx_checks_every_table")
def test_validation_prints_nothing(valid_folder, tmp_path, capfd):
    load_dataset(valid_folder, docs_dir=tmp_path / "docs")
    load_dataset(valid_folder)                          # without Data Docs: the batch validated directly
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


@pytest.mark.usefixtures("gx_checks_every_table")
def test_progress_bars_would_be_caught_by_the_quiet_test(valid_folder, capfd, monkeypatch):
    # Shows the capture above can fail: GX's own default (bars on) writes tqdm bars to stderr.
    from great_expectations.data_context.types.base import ProgressBarsConfig

    import upstream.data.validation as validation

    quiet_context = validation.build_gx_context

    def noisy_context(docs_dir=None):
        context = quiet_context(docs_dir)
        context.variables.progress_bars = ProgressBarsConfig(globally=True, metric_calculations=True)
        return context

    ds = load_dataset(valid_folder, validate=False)
    monkeypatch.setattr(validation, "build_gx_context", noisy_context)
    validate(ds)
    assert "Calculating Metrics" in capfd.readouterr().err


def test_fresh_process_with_info_logging_prints_nothing(valid_folder, tmp_path):
    script = textwrap.dedent(f"""
        import logging
        logging.basicConfig(level=logging.INFO)
        from upstream.data import load_dataset
        ds = load_dataset({str(valid_folder)!r}, docs_dir={str(tmp_path / 'docs')!r})
        assert ds.validation.ok
    """)
    home, temp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "GX_ANALYTICS_ENABLED"}
    env.update(HOME=str(home), TMPDIR=str(temp))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    # Nothing written anywhere but the Data Docs folder: not the cwd, the home or temp folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset", "docs", "home", "tmp"]
    assert list(home.iterdir()) == [] and list(temp.iterdir()) == []


@pytest.mark.usefixtures("gx_checks_every_table")
def test_analytics_off_and_no_network(valid_folder, tmp_path, monkeypatch):
    context = build_gx_context()
    assert context.config.analytics_enabled is False
    assert os.environ["GX_ANALYTICS_ENABLED"] == "False"
    assert context.progress_bars.globally is False
    assert context.progress_bars.metric_calculations is False

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    ds = load_dataset(valid_folder, docs_dir=tmp_path / "docs")
    assert ds.validation.ok and load_dataset(valid_folder).validation.ok
    assert attempts == []
    assert not any(name.split(".")[0] in {"posthog", "segment", "mixpanel"} for name in sys.modules)


@pytest.mark.usefixtures("gx_checks_every_table")
def test_data_docs_written_inside_docs_dir_only(valid_folder, tmp_path, monkeypatch):
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    docs = tmp_path / "out" / "docs"
    report = load_dataset(valid_folder, docs_dir=docs).validation
    assert report.docs_index == docs / "index.html"
    assert report.summary()["data_docs"] == str(docs / "index.html")
    assert (docs / "index.html").is_file()
    pages = sorted(p.relative_to(docs).parts[:2] for p in (docs / "validations").rglob("*.html"))
    assert pages == [("validations", t) for t in sorted(TABLES)]
    index = (docs / "index.html").read_text()
    assert all(f"validations/{t}/" in index for t in TABLES)
    assert list(workdir.iterdir()) == []  # no gx/ (or anything else) in the working directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset", "out", "work"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["docs"]


@pytest.mark.usefixtures("gx_checks_every_table")
def test_no_data_docs_unless_asked(valid_folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = load_dataset(valid_folder).validation
    assert report.docs_index is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]


@pytest.mark.usefixtures("gx_checks_every_table")
def test_data_docs_escape_values_and_never_show_comments(valid_folder, tmp_path):
    def corrupt(t):
        t.loc[[0, 1], "agent_id"] = "<script>alert(1)</script>"
    edit_csv(valid_folder, "agents", corrupt)
    docs = tmp_path / "docs"
    with pytest.raises(DataError):
        load_dataset(valid_folder, docs_dir=docs)
    html = "\n".join(p.read_text() for p in docs.rglob("*.html"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, escaped
    assert "<script>alert(1)" not in html
    # Customer free text (the fixture's comments) never reaches the pages.
    assert "Quick and friendly" not in html and "call back" not in html


@pytest.mark.usefixtures("gx_checks_every_table")
def test_callers_gx_current_context_is_kept(valid_folder):
    import great_expectations as gx
    from great_expectations.data_context.data_context.context_factory import project_manager

    mine = gx.get_context(mode="ephemeral")
    load_dataset(valid_folder)
    assert project_manager.get_current_project() is mine
