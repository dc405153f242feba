"""dataset.yaml read through its pydantic models (data/dataset_shape.py, data/dataset_yaml.py): every
problem at once with its key path, each section checked on its own, and the fall-backs of a bad part
(the whole CSAT scale; a single key elsewhere). test_description.py holds the first messages."""
from __future__ import annotations

import pytest
import yaml

from upstream.data import DataError, load_dataset
from upstream.data.dataset_yaml import parse_description
from upstream.data.description import DEFAULT_CSAT, ColumnNotes

RULES = ("rating_time_assignee, rated_reply_author, last_agent_reply, export_time_assignee, stated, simulated, "
         "shared")


def _problems(text: str) -> list[str]:
    return parse_description(yaml.safe_load(text))[1]


@pytest.mark.parametrize("text, problems", [
    ("upstream_dataset: 2\n", ["upstream_dataset: 2 is not a version this Upstream reads (1)"]),
    ("csat: {points: 3, kind: linear}\n", ["csat.kind: 'linear' is not binary or ordinal"]),
    ("csat: {points: 3, labels: [bad, ok, great]}\n", ["csat.labels: expected code: label pairs, found a list"]),
    ("csat: {points: 4, labels: {1: bad}}\n", ["csat.labels: no label for codes 2, 3, 4"]),
    ("csat: {points: 5, top_box: 5}\n", ["csat.top_box: expected a list of codes, found int 5"]),
    ("csat: {points: 5, top_box: [6, x, true]}\n", ["csat.top_box: 6, 'x', True are not codes of the 5-point scale"]),
    ("csat: [5]\n", ["csat: expected keys such as points and labels, found a list"]),
    ("nps: {present: 0}\n", ["nps.present: expected true or false, found int 0"]),
    ("nps: {range: 10}\n", ["nps.range: 10; NPS is asked on 0 to 10 ([0, 10])"]),
    ("nps: yes\n", ["nps: expected keys present and range, found bool True"]),
    ("attribution: {reassigned_after_rating: -1}\n", ["attribution.reassigned_after_rating: -1 is not a count"]),
    ("attribution: {rule: stated, weights: equal}\n",
     ["attribution.weights: only rule shared takes weights; the rule is 'stated'"]),
    ("attribution: {rule: [shared]}\n", [f"attribution.rule: ['shared'] is not one of {RULES}"]),
    ("attribution: {rule: shared}\n",
     ["attribution.weights: None is not one of public_replies, handle_time, equal (rule shared says how the "
      "contact_agents weights were formed)"]),
    ("attribution: stated\n", ["attribution: expected keys rule and description, found str 'stated'"]),
    ("visibility: {unanswered_invitations: null, seen: 1}\n",
     ["visibility: unknown key 'seen'; the keys are unanswered_invitations, uninvited_contacts, note",
      "visibility.unanswered_invitations: expected true or false, found nothing"]),
    ("visibility: ratings only\n",
     ["visibility: expected keys unanswered_invitations, uninvited_contacts, note, found str 'ratings only'"]),
    ("columns: [contacts]\n", ["columns: expected one entry per table, found a list"]),
    ("columns: {tickets: {missing: []}}\n", ["columns: 'tickets' is not a table; the tables are contacts, surveys, "
                                             "agents"]),
    ("columns: {contacts: {missing: handle_time_sec}}\n",
     ["columns.contacts.missing: expected a list of columns, found str 'handle_time_sec'"]),
    ("columns: {contacts: {partial: 5, derived: [team], note: x}}\n",
     ["columns.contacts: unknown key 'note'; the keys are missing, partial, derived, sources",
      "columns.contacts.partial: expected column: reason pairs, found int 5",
      "columns.contacts.derived: expected column: text pairs, found a list"]),
    ("columns: {agents: null}\n", ["columns.agents: expected keys missing, partial, derived, sources, found nothing"]),
    ("source: [zendesk]\nchannel_groups: web\n", ["source: expected keys and values, found a list",
                                                  "channel_groups: expected keys and values, found str 'web'"]),
])
def test_more_bad_descriptions_name_the_key(text, problems):
    assert _problems(text) == problems


def test_one_bad_section_does_not_hide_another():
    text = ("upstream_dataset: 3\ncolour: red\ncsat: {points: 3, kind: binary, labels: {1: a, 5: b}}\n"
            "nps: {present: false, range: [1, 10]}\nattribution: {rule: rated_reply_author, "
            "reassigned_after_rating: 2.5}\ncolumns: {contacts: {missing: [agent_id, escalated]}, tickets: 1}\n"
            "visibility: {unanswered_invitations: false, uninvited_contacts: maybe, note: ratings only}\n")
    description, problems = parse_description(yaml.safe_load(text))
    assert problems == [
        "unknown key 'colour'; the keys are upstream_dataset, name, source, period, attribution, csat, nps, columns, "
        "channel_groups, visibility",
        "upstream_dataset: 3 is not a version this Upstream reads (1)",
        "csat.kind: binary does not fit 3 points (binary means 2 points)",
        "csat.labels: 5 is not a code of the 3-point scale (1 to 3)",
        "nps.range: [1, 10]; NPS is asked on 0 to 10 ([0, 10])",
        "attribution.reassigned_after_rating: 2.5 is not a count",
        "columns.contacts.missing: 'agent_id' is not a column contacts may lack (those are: handle_time_sec, "
        "n_interactions, resolved_first_contact, escalated, credit_issued)",
        "columns: 'tickets' is not a table; the tables are contacts, surveys, agents",
        "visibility.uninvited_contacts: expected true or false, found str 'maybe'"]
    # a broken CSAT key makes the whole scale the default; elsewhere only the broken key falls back
    assert description.csat == DEFAULT_CSAT
    assert not description.nps.present
    assert (description.attribution.rule, description.attribution.reassigned_after_rating) == (
        "rated_reply_author", None)
    assert description.columns["contacts"] == ColumnNotes(missing=("agent_id", "escalated"))
    v = description.visibility
    assert (v.unanswered_invitations, v.uninvited_contacts, v.note) == (False, True, "ratings only")


def test_points_that_are_not_a_scale_stop_the_other_csat_checks():
    assert _problems("csat: {present: 1, points: 12, kind: binary, top_box: [13], scale: 7}\n") == [
        "csat: unknown key 'scale'; the keys are present, kind, points, labels, top_box, label_of_good, "
        "vendor_scale, vendor_codes, not_answers, scale_source",
        "csat.present: expected true or false, found int 1",
        "csat.points: 12 is not a whole number from 2 to 11"]


def test_a_good_description_keeps_every_part():
    text = ("name: helpdesk export\ncsat: {points: 3, labels: {'1': bad, 2: ok, 3: great}, top_box: ['3', 2], "
            "vendor_scale: three faces, vendor_codes: {sad: 1}}\nattribution: {rule: shared, weights: equal}\n"
            "columns: {contacts: {partial: [handle_time_sec], sources: {team: 7}}}\nsource: {vendor: zendesk}\n")
    description, problems = parse_description(yaml.safe_load(text))
    assert problems == []
    scale = description.csat
    assert (scale.points, dict(scale.labels), scale.top_box, scale.label_of_good, scale.vendor_scale) == (
        3, {1: "bad", 2: "ok", 3: "great"}, (2, 3), "ok or great", "three faces")
    assert (description.name, description.declared, dict(description.source)) == (
        "helpdesk export", True, {"vendor": "zendesk"})
    assert description.attribution.sentence().endswith("the weights are equal shares for every agent who worked on "
                                                       "the contact")
    notes = description.columns["contacts"]
    assert (dict(notes.partial), dict(notes.sources)) == ({"handle_time_sec": ""}, {"team": "7"})


def test_a_section_that_is_not_a_mapping_is_one_paragraph(valid_folder):
    (valid_folder / "dataset.yaml").write_text("nps: [0, 10]\nvisibility: {note: 5}\n")
    ds_problem = ("dataset.yaml: rule 'dataset.yaml describes the data set (data/README.md)' failed; nps: expected "
                  "keys present and range, found a list.")
    with pytest.raises(DataError) as err:
        load_dataset(valid_folder, validate=False)
    assert str(err.value) == f"Data validation failed for {valid_folder}:\n\n{ds_problem}"
    (valid_folder / "dataset.yaml").write_bytes("csat: {label_of_good: tr\xe8s bien}\n".encode("latin-1"))
    with pytest.raises(DataError) as err:
        load_dataset(valid_folder, validate=False)
    assert str(err.value) == (f"Data validation failed for {valid_folder}:\n\ndataset.yaml: rule 'dataset.yaml "
                              "describes the data set (data/README.md)' failed; the file is not UTF-8 text.")
