"""dataset.yaml: the CSAT scale, NPS, attribution and optional columns of a data set, as
load_dataset reads them and the validation applies them."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from conftest import edit_csv

from upstream.data import DataError, load_dataset
from upstream.data.dataset_yaml import parse_description
from upstream.data.description import DEFAULT_DESCRIPTION, CsatScale
from upstream.data.frames import invitations
from upstream.data.schema import optional_columns
from upstream.data.validation import load_suite

BINARY = """\
upstream_dataset: 1
csat:
  kind: binary
  points: 2
  labels: {1: bad, 2: good}
  top_box: [2]
  label_of_good: good
nps: {present: false, range: [0, 10]}
attribution:
  rule: export_time_assignee
  reassigned_after_rating: 3
"""


def _message(folder, *paragraphs):
    return "\n\n".join([f"Data validation failed for {folder}:", *paragraphs])


def _to_binary(folder):
    """The fixture's CSAT 1..5 recoded onto good/bad (4-5 good), NPS removed."""
    def recode(t):
        csat = pd.to_numeric(t["csat"].replace("", np.nan))
        t["csat"] = np.where(csat.isna(), "", np.where(csat >= 4, "2", "1"))
        t["nps"] = ""
    edit_csv(folder, "surveys", recode)
    (folder / "dataset.yaml").write_text(BINARY)


def test_without_dataset_yaml_the_defaults_hold(valid_folder):
    ds = load_dataset(valid_folder, validate=False)
    d = ds.description
    assert d is DEFAULT_DESCRIPTION.with_missing({}) or not d.declared
    assert (d.csat.kind, d.csat.points, d.csat.codes, d.csat.top_box) == ("ordinal", 5, (1, 2, 3, 4, 5), (5,))
    assert dict(d.csat.labels) == {1: "very dissatisfied", 2: "dissatisfied", 3: "neutral", 4: "satisfied",
                                   5: "very satisfied"}
    assert d.csat.label_of_good == "very satisfied" and d.nps.present
    assert (d.attribution.rule, d.attribution.at_rating_time) == ("stated", False)
    assert all(d.columns[t].missing == () for t in ("contacts", "surveys", "agents"))


def test_a_binary_scale_is_read_and_applied(valid_folder):
    _to_binary(valid_folder)
    ds = load_dataset(valid_folder, validate=False)
    scale = ds.description.csat
    assert (scale.kind, scale.points, scale.is_binary, dict(scale.labels), scale.top_box, scale.label_of_good) == (
        "binary", 2, True, {1: "bad", 2: "good"}, (2,), "good")
    assert ds.description.declared and not ds.description.nps.present
    assert (ds.description.attribution.rule, ds.description.attribution.reassigned_after_rating) == (
        "export_time_assignee", 3)
    assert not ds.description.attribution.at_rating_time
    # top box of the scale: 2 = good. The fixture answers csat 1,3,5,2,4 in turn (15 each of 75, one
    # answer skips csat): 4 and 5 became good, so 29 of 74
    frame = invitations(ds)
    answered = frame[frame["csat"].notna()]
    assert len(answered) == 74 and int(answered["top_box"].sum()) == int((answered["csat"] == 2).sum()) == 29
    assert list(scale.satisfied(pd.Series([1, 2, None], dtype="Int64"))) == [False, True, pd.NA]


def test_csat_off_the_declared_scale_names_the_scale(valid_folder):
    _to_binary(valid_folder)
    edit_csv(valid_folder, "surveys", lambda t: t.assign(csat=["3", "5"] + list(t["csat"][2:])))
    with pytest.raises(DataError) as err:
        load_dataset(valid_folder)
    assert str(err.value) == _message(
        valid_folder,
        "surveys.csv, column 'csat': rule 'CSAT is a whole number from 1 to 2 (the binary scale 1 bad, 2 good "
        "in dataset.yaml)' failed for 2 of 150 rows; e.g. 3 (contact_id '0000001'), 5 (contact_id '0000003').")


def test_nps_values_where_the_source_has_no_nps_question(valid_folder):
    _to_binary(valid_folder)
    edit_csv(valid_folder, "surveys", lambda t: t.assign(nps=["9"] + list(t["nps"][1:])))
    with pytest.raises(DataError) as err:
        load_dataset(valid_folder)
    assert str(err.value) == _message(
        valid_folder,
        "surveys.csv, column 'nps': rule 'NPS is empty (dataset.yaml: the source has no NPS question)' failed "
        "for 1 of 150 rows; e.g. 9 (contact_id '0000001').")


def test_seven_point_scale_accepts_6_and_7(valid_folder):
    edit_csv(valid_folder, "surveys", lambda t: t.assign(csat=["7", "6"] + list(t["csat"][2:])))
    (valid_folder / "dataset.yaml").write_text(
        "csat:\n  points: 7\n  labels: {1: Extremely Unhappy, 2: Very Unhappy, 3: Unhappy, 4: Neutral, 5: Happy, "
        "6: Very Happy, 7: Extremely Happy}\n  top_box: [6, 7]\n")
    ds = load_dataset(valid_folder, validate=False)
    assert ds.description.csat.kind == "ordinal"
    assert ds.description.csat.label_of_good == "Very Happy or Extremely Happy"
    assert ds.surveys["csat"].max() == 7


def test_optional_columns_may_be_absent_with_or_without_dataset_yaml(valid_folder):
    assert optional_columns("contacts") == ("handle_time_sec", "n_interactions", "resolved_first_contact",
                                            "escalated", "credit_issued")
    assert optional_columns("agents") == ("site", "tenure_months")
    assert optional_columns("surveys") == ()
    edit_csv(valid_folder, "contacts", lambda t: t.drop(columns=["credit_issued", "handle_time_sec", "escalated"]))
    edit_csv(valid_folder, "agents", lambda t: t.drop(columns=["site"]))
    ds = load_dataset(valid_folder)
    assert ds.validation.ok
    assert ds.description.columns["contacts"].missing == ("handle_time_sec", "escalated", "credit_issued")
    assert ds.description.columns["agents"].missing == ("site",)
    assert not ds.description.has_column("contacts", "credit_issued")
    assert ds.description.has_column("contacts", "n_interactions")
    # the suite run had no expectations on them
    summary = ds.validation.summary()["tables"]
    # credit_issued and handle_time_sec: exists, required, at least 0; escalated: exists, required
    assert summary["contacts"]["expectations_evaluated"] == len(load_suite("contacts")["expectations"]) - 8
    # site: exists, required (and not blank where the suite has that rule)
    n_site = sum("site" in (e["kwargs"].get("column"),) for e in load_suite("agents")["expectations"])
    assert summary["agents"]["expectations_evaluated"] == len(load_suite("agents")["expectations"]) - n_site


def test_a_required_column_is_still_required(valid_folder):
    edit_csv(valid_folder, "contacts", lambda t: t.drop(columns=["policy"]))
    with pytest.raises(DataError) as err:
        load_dataset(valid_folder)
    assert str(err.value).startswith(_message(
        valid_folder, "contacts.csv: required column 'policy' is missing; the file has columns contact_id,"))


def test_partly_empty_columns_must_be_declared(valid_folder):
    def blank(t):
        t.loc[[3, 7], "handle_time_sec"] = ""
        t.loc[[5], "repeat_within_7d"] = ""
    edit_csv(valid_folder, "contacts", blank)
    with pytest.raises(DataError) as err:
        load_dataset(valid_folder)
    assert [f.message for f in err.value.failures] == [
        "contacts.csv, column 'handle_time_sec': rule 'handle_time_sec is required (no empty cells)' failed for "
        "2 of 300 rows; empty in data rows 4, 8 (contact_id '0000004', '0000008').",
        "contacts.csv, column 'repeat_within_7d': rule 'repeat_within_7d is required (no empty cells)' failed "
        "for 1 of 300 rows; empty in data row 6 (contact_id '0000006')."]
    (valid_folder / "dataset.yaml").write_text(
        "columns:\n  contacts:\n    partial:\n      handle_time_sec: only tickets with time tracking\n"
        "      repeat_within_7d: the last 7 days of the export are not known yet\n")
    ds = load_dataset(valid_folder)
    assert ds.description.partial("contacts") == {
        "handle_time_sec": "only tickets with time tracking",
        "repeat_within_7d": "the last 7 days of the export are not known yet"}
    assert int(ds.contacts["handle_time_sec"].isna().sum()) == 2
    assert str(ds.contacts["repeat_within_7d"].dtype) == "boolean"


@pytest.mark.parametrize("text, problems", [
    ("csat: {points: 4.5}\n", ["csat.points: 4.5 is not a whole number from 2 to 11"]),
    ("csat: {points: 3, kind: binary}\n", ["csat.kind: binary does not fit 3 points (binary means 2 points)"]),
    ("csat: {points: 3, labels: {1: bad, 2: ok, 4: great}}\n",
     ["csat.labels: 4 is not a code of the 3-point scale (1 to 3)"]),
    ("csat: {points: 3, labels: {1: bad, 2: ok}}\n", ["csat.labels: no label for code 3"]),
    ("csat: {points: 5, top_box: [5, 6]}\n", ["csat.top_box: 6 is not a code of the 5-point scale"]),
    ("csat: {points: 5, scale: 5}\n",
     ["csat: unknown key 'scale'; the keys are present, kind, points, labels, top_box, label_of_good, "
      "vendor_scale, vendor_codes, not_answers, scale_source"]),
    ("scale: {points: 5}\n",
     ["unknown key 'scale'; the keys are upstream_dataset, name, source, period, attribution, csat, nps, "
      "columns, channel_groups, visibility"]),
    ("nps: {range: [1, 5]}\n", ["nps.range: [1, 5]; NPS is asked on 0 to 10 ([0, 10])"]),
    ("attribution: {rule: whoever}\n",
     ["attribution.rule: 'whoever' is not one of rating_time_assignee, rated_reply_author, last_agent_reply, "
      "export_time_assignee, stated, simulated, shared"]),
    ("columns: {contacts: {missing: [agent_id], partial: {policy: x}}}\n",
     ["columns.contacts.missing: 'agent_id' is not a column contacts may lack (those are: handle_time_sec, "
      "n_interactions, resolved_first_contact, escalated, credit_issued)",
      "columns.contacts.partial: 'policy' cannot be partly empty (those that can: handle_time_sec, "
      "n_interactions, resolved_first_contact, repeat_within_7d, escalated, credit_issued)"]),
    ("- csat\n", ["expected keys such as csat and nps, found a list"]),
])
def test_bad_descriptions_name_the_key(text, problems):
    import yaml

    _description, found = parse_description(yaml.safe_load(text))
    assert found == problems


def test_a_bad_dataset_yaml_stops_the_load_with_one_paragraph_each(valid_folder):
    (valid_folder / "dataset.yaml").write_text("csat: {points: 12}\nnps: {present: maybe}\n")
    with pytest.raises(DataError) as err:
        load_dataset(valid_folder, validate=False)
    assert str(err.value) == _message(
        valid_folder,
        "dataset.yaml: rule 'dataset.yaml describes the data set (data/README.md)' failed; csat.points: 12 is not "
        "a whole number from 2 to 11.",
        "dataset.yaml: rule 'dataset.yaml describes the data set (data/README.md)' failed; nps.present: expected "
        "true or false, found str 'maybe'.")
    (valid_folder / "dataset.yaml").write_text("csat: {points: 3\n")
    with pytest.raises(DataError) as err:
        load_dataset(valid_folder, validate=False)
    assert str(err.value).startswith(_message(
        valid_folder, "dataset.yaml: rule 'dataset.yaml describes the data set (data/README.md)' failed; not valid "
                      "YAML at line 2, column 1: "))


def test_the_fingerprint_covers_dataset_yaml(valid_folder):
    before = load_dataset(valid_folder, validate=False).fingerprint
    (valid_folder / "dataset.yaml").write_text("csat: {points: 5}\n")
    after = load_dataset(valid_folder, validate=False)
    assert after.fingerprint != before
    digest = hashlib.sha256()
    for table in ("contacts", "surveys", "agents"):
        content = (valid_folder / f"{table}.csv").read_bytes()
        digest.update(f"{table} {table}.csv {len(content)}\n".encode())
        digest.update(content)
    digest.update(b"dataset.yaml 18\ncsat: {points: 5}\n")
    assert after.fingerprint == digest.hexdigest()


def test_csat_scale_object():
    scale = CsatScale(points=3, labels={1: "not good", 2: "okay", 3: "great"}, top_box=(3,))
    assert (scale.kind, scale.codes, scale.label(2), scale.label_of_good) == ("ordinal", (1, 2, 3), "okay", "great")
    assert scale.summary() == "ordinal 3-point scale 1 not good, 2 okay, 3 great"
    assert scale.to_dict() == {"present": True, "kind": "ordinal", "points": 3,
                               "labels": {1: "not good", 2: "okay", 3: "great"}, "top_box": [3],
                               "label_of_good": "great"}
    with pytest.raises(KeyError):
        scale.label(4)
