"""Importers: the JSON page reader (streaming and Arrow), mapping parser, CSAT scales, channel
groups and every vendor importer, checked against the hand-designed fixtures in
tests/fixtures/vendors/ (their README.md files and make_fixtures.py tables say where every
expected value comes from)."""
from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import upstream
from upstream.data.importers import (
    GORGIAS,
    HELPSCOUT,
    INTERCOM,
    ZENDESK_LEGACY,
    ImportInputError,
    ImportReport,
    freshdesk_points,
    freshdesk_scale,
    import_export,
    import_zendesk_api,
    iter_pages,
    load_mapping,
    map_channels,
    parse_mapping,
)
from upstream.data.importers import pages as pages_module
from upstream.data.importers.pages import FileRead

VENDORS = Path(__file__).parent / "fixtures" / "vendors"
ZD = VENDORS / "zendesk-api"
ZD_BAD = ZD / "bad"
EXPECTED_ZD = ("expected Zendesk API pages such as {\"tickets\": [...], \"next_page\": ...} (one page object, "
               "several one after another, or one per line)")


def _message(excinfo) -> str:
    return str(excinfo.value)


# =================================================================================================
# page reader
# =================================================================================================
PAGE_1 = {"tickets": [{"id": 1}, {"id": 2}], "next_page": "https://x/2"}
PAGE_2 = {"tickets": [{"id": 3}], "next_page": None}


def _ids(path, **kw):
    return [[r["id"] for r in page] for page in iter_pages(path, "tickets", expected="X", **kw)]


@pytest.mark.parametrize("text", [
    json.dumps({"tickets": [{"id": 1}, {"id": 2}, {"id": 3}]}),                     # one page object
    json.dumps(PAGE_1, indent=2) + json.dumps(PAGE_2, indent=2),                   # pretty, back to back
    json.dumps(PAGE_1) + "\n" + json.dumps(PAGE_2) + "\n",                         # JSON lines
    json.dumps(PAGE_1) + json.dumps(PAGE_2),                                       # "}{" on one line
    "\ufeff" + json.dumps([{"id": 1}, {"id": 2}]) + "\n" + json.dumps([{"id": 3}]),  # bare arrays, BOM
    "\n".join(json.dumps(r) for r in ({"ticket": {"id": 1}}, {"id": 2}, {"ticket": {"id": 3}})),  # NDJSON records
])
def test_page_reader_accepts_every_way_pages_are_saved(tmp_path, text):
    path = tmp_path / "tickets.json"
    path.write_text(text, encoding="utf-8")
    pages = _ids(path, singular="ticket")
    assert [i for page in pages for i in page] == [1, 2, 3]


def test_page_reader_streams_across_chunk_boundaries_and_gzip(tmp_path, monkeypatch):
    monkeypatch.setattr(pages_module, "_CHUNK", 7)  # values straddle many reads
    pages = [{"tickets": [{"id": k, "note": "é" * k} for k in range(i * 10, i * 10 + 10)]} for i in range(5)]
    raw = ("\n".join(json.dumps(p, ensure_ascii=False) for p in pages) + "\n").encode("utf-8")
    path = tmp_path / "tickets.json.gz"
    path.write_bytes(gzip.compress(raw))
    info = FileRead(name=path.name, path=path)
    ids = [r["id"] for page in iter_pages(path, "tickets", expected="X", info=info) for r in page]
    assert ids == list(range(50))
    assert (info.pages, info.records, info.bytes) == (5, 50, len(raw))
    assert info.sha256 == hashlib.sha256(raw).hexdigest()


def test_page_reader_nested_wrapper_and_sideloads(tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps({"_embedded": {"conversations": [{"id": 7}]}, "page": {"number": 1}}))
    assert [r["id"] for p in iter_pages(path, ("_embedded", "conversations"), expected="X") for r in p] == [7]
    sink: list = []
    path2 = tmp_path / "tickets.json"
    path2.write_text(json.dumps({"tickets": [{"id": 1}], "metric_sets": [{"ticket_id": 1}, {"ticket_id": 2}]}))
    assert _ids(path2, sideloads={"metric_sets": sink}) == [[1]]
    assert sink == [{"ticket_id": 1}, {"ticket_id": 2}]


def test_page_reader_error_messages(tmp_path):
    truncated = tmp_path / "tickets.json"
    truncated.write_text(json.dumps(PAGE_1) + "\n" + json.dumps(PAGE_2)[:25])
    with pytest.raises(ImportInputError) as err:
        _ids(truncated)
    assert _message(err) == ("tickets.json: not valid JSON at line 2, column 26: Expecting property name "
                             "enclosed in double quotes (the file ends in the middle of a value: truncated?)")
    assert err.value.file == "tickets.json"

    wrong = tmp_path / "t2.json"
    wrong.write_text(json.dumps(PAGE_1) + "\n" + json.dumps({"users": [], "next_page": None}))
    with pytest.raises(ImportInputError) as err:
        list(iter_pages(wrong, "tickets", expected="a tickets page"))
    assert _message(err) == "t2.json: line 2: found a JSON object with keys users, next_page; expected a tickets page"

    scalar = tmp_path / "t3.json"
    scalar.write_text('\n\n  "tickets"')
    with pytest.raises(ImportInputError) as err:
        _ids(scalar)
    assert _message(err) == "t3.json: line 3, column 3: expected a JSON object or array, found '\"tickets\"'"

    latin = tmp_path / "t4.json"
    latin.write_bytes(b'{"tickets": [{"id": 1, "name": "Jos\xe9"}]}')
    with pytest.raises(ImportInputError) as err:
        _ids(latin)
    assert _message(err) == "t4.json: not UTF-8 text (invalid byte at offset 35); expected a JSON export"

    empty = tmp_path / "t5.json"
    empty.write_text("  \n")
    assert _ids(empty) == []


# =================================================================================================
# mapping
# =================================================================================================
def test_mapping_fixture_parses():
    m = load_mapping(ZD / "mapping.yaml")
    assert m.vendor == "zendesk"
    assert {c: (r.kind, r.source) for c, r in m.columns.items()} == {
        "policy": ("tag_prefix", "policy_"), "product": ("field", 360001),
        "issue_type": ("field", "Issue type"), "handle_time_sec": ("field", "Total time spent (sec)")}
    assert m.columns["product"].map == {"router_x1": "Router X1", "mesh_kit": "Mesh Kit", "camera_c3": "Camera C3"}
    assert m.columns["issue_type"].map == {"how_to": "how-to"}


@pytest.mark.parametrize("data, message", [
    ({"colums": {}}, "m.yaml: unknown key 'colums'; the keys are vendor, columns, csat, channels, repeat, timezone, "
                     "date_format, attribution, visibility"),
    ({"vendor": "zendesk2"},
     "m.yaml: vendor: 'zendesk2' is not one of zendesk, freshdesk, intercom, helpscout, gorgias, csv"),
    ({"columns": {"polcy": {"tag_prefix": "p_"}}},
     "m.yaml: columns.polcy: 'polcy' is not a column a mapping can fill; those are team, policy, product, "
     "issue_type, handle_time_sec, credit_issued, escalated, resolved_first_contact, n_interactions"),
    ({"columns": {"product": {"field": 1, "value": "x"}}},
     "m.yaml: columns.product: a rule needs exactly one of tag_prefix, field, value, column; found field and value"),
    ({"columns": {"product": {"map": {"a": "b"}}}},
     "m.yaml: columns.product: a rule needs exactly one of tag_prefix, field, value, column; found none"),
    ({"columns": {"product": {"field": 1, "mapping": {}}}},
     "m.yaml: columns.product: unknown rule key 'mapping'; a rule has one of tag_prefix, field, value, column and "
     "optionally map and default"),
    ({"columns": {"product": "360001"}},
     "m.yaml: columns.product: expected a rule such as {field: 360001}, found str '360001'"),
    ({"columns": {"product": {"field": 1, "map": ["a"]}}},
     "m.yaml: columns.product.map: expected vendor value: canonical value pairs"),
    ({"columns": {"policy": {"tag_prefix": ""}}},
     "m.yaml: columns.policy.tag_prefix: expected non-empty text, found str ''"),
    ({"csat": {"points": 12}}, "m.yaml: csat.points: 12 is not one of 2, 3, 5, 7 (or another whole number up to 11)"),
    ({"csat": {"labels": {1: "bad"}}}, "m.yaml: csat: labels, codes and top_box need points"),
    ({"csat": {"points": 3, "top_box": [4]}}, "m.yaml: csat.top_box: expected a list of codes 1 to 3"),
    ({"date_format": "dd/mm/yyyy"},
     "m.yaml: date_format: expected a strftime pattern such as '%d/%m/%Y %H:%M', found str 'dd/mm/yyyy'"),
    ({"attribution": {"rule": "whoever"}},
     "m.yaml: attribution.rule: 'whoever' is not one of rating_time_assignee, rated_reply_author, last_agent_reply, "
     "export_time_assignee, stated"),
    ({"channels": {"api": "web"}},
     "m.yaml: channels.api: 'web' is not a channel group; the groups are phone, chat, email, messaging, other"),
    ({"timezone": "Mars/Olympus"},
     "m.yaml: timezone: 'Mars/Olympus' is not a time zone name such as Europe/Berlin or UTC"),
    ({"repeat": {"same_issue_type": "yes"}}, "m.yaml: repeat: expected {same_issue_type: true|false}"),
    (["vendor", "zendesk"], "m.yaml: expected a mapping of keys (vendor, columns, csat, channels, repeat, timezone, "
                            "date_format, attribution, visibility), found a list"),
])
def test_mapping_errors_name_the_file_and_key(data, message):
    with pytest.raises(ImportInputError) as err:
        parse_mapping(data, "m.yaml")
    assert _message(err) == message


def test_mapping_file_errors(tmp_path):
    bad_yaml = tmp_path / "map.yaml"
    bad_yaml.write_text("vendor: zendesk\ncolumns:\n  policy: {tag_prefix: policy_\n")
    with pytest.raises(ImportInputError) as err:
        load_mapping(bad_yaml)
    assert _message(err).startswith("map.yaml: not valid YAML at line 4, column 1: ")
    with pytest.raises(ImportInputError) as err:
        load_mapping(tmp_path / "nope.yaml")
    assert _message(err) == f"nope.yaml: mapping file not found ({tmp_path / 'nope.yaml'})"
    with pytest.raises(ImportInputError) as err:
        load_mapping(ZD_BAD / "mapping.wrong-vendor.yaml").check_vendor("zendesk")
    assert _message(err) == ("mapping.wrong-vendor.yaml: the mapping is for vendor 'freshdesk', but this is a "
                             "zendesk import; use a mapping with 'vendor: zendesk'")


# =================================================================================================
# scales and channels
# =================================================================================================
def test_freshdesk_scales_code_worst_to_best():
    assert {k: v for k, v in freshdesk_scale(3).vendor_codes.items() if k.lstrip("-").isdigit()} == {
        "-103": 1, "100": 2, "103": 3}
    assert {k: v for k, v in freshdesk_scale(5).vendor_codes.items() if k.lstrip("-").isdigit()} == {
        "-103": 1, "-102": 2, "100": 3, "102": 4, "103": 5}
    seven = freshdesk_scale(7)
    assert [seven.code(c) for c in (-103, -102, -101, 100, 101, 102, 103)] == [1, 2, 3, 4, 5, 6, 7]
    assert seven.labels[7] == "Extremely Happy" and seven.code("extremely unhappy") == 1
    assert (freshdesk_scale(3).top_box, freshdesk_scale(5).top_box, seven.top_box) == ((3,), (4, 5), (6, 7))
    with pytest.raises(KeyError):
        freshdesk_scale(5).code(101)


def test_freshdesk_scale_is_declared_or_proved_never_guessed():
    ratings = [r for p in iter_pages(VENDORS / "freshdesk-api" / "satisfaction_ratings.json", None, expected="X")
               for r in p]
    codes = [r["ratings"]["default_question"] for r in ratings]
    assert freshdesk_points(codes, None, "satisfaction_ratings.json") == 7   # -101 and 101 occur
    ambiguous = [r["ratings"]["default_question"] for p in iter_pages(
        VENDORS / "freshdesk-api" / "bad" / "satisfaction_ratings.ambiguous-scale.json", None, expected="X") for r in p]
    with pytest.raises(ImportInputError) as err:
        freshdesk_points(ambiguous, None, "satisfaction_ratings.json")
    assert _message(err) == (
        "satisfaction_ratings.json: the survey scale cannot be told from the ratings (codes seen: -103, 100, 103); "
        "add 'csat: {points: 3}' (or 5 or 7) to the mapping, or include surveys.json")
    assert freshdesk_points(ambiguous, 3, "satisfaction_ratings.json") == 3
    with pytest.raises(ImportInputError) as err:
        freshdesk_points([103, 101, -101], 5, "satisfaction_ratings.json")
    assert _message(err) == ("satisfaction_ratings.json: rating codes -101, 101 are not on a 5-point Freshdesk "
                             "survey (its codes are -103, -102, 100, 102, 103)")


def test_other_vendor_scales():
    assert ZENDESK_LEGACY.kind == "binary" and ZENDESK_LEGACY.points == 2
    assert [ZENDESK_LEGACY.code(v) for v in ("bad", "Good", "offered", "unoffered")] == [1, 2, None, None]
    values = ("not_good", "Not Good", "not-good", "Bad", "okay", "ok", "great", "unknown")
    assert [HELPSCOUT.code(v) for v in values] == [
        1, 1, 1, 1, 2, 2, 3, None]
    assert [INTERCOM.code(v) for v in (1, 5.0, "amazing", "terrible")] == [1, 5, 5, 1]
    assert GORGIAS.top_box == (4, 5) and HELPSCOUT.top_box == (3,)
    with pytest.raises(KeyError):
        GORGIAS.code(0)


def test_channel_groups_keep_unknown_values_as_other():
    values = pd.Series(["email", "voice", "google_rcs", None, "api", "Native_Messaging"])
    groups, table = map_channels(values, "zendesk", {"api": "email"})
    assert list(groups) == ["email", "phone", "other", "other", "email", "messaging"]
    assert {e["value"]: (e["group"], e["known"]) for e in table} == {
        "email": ("email", True), "voice": ("phone", True), "google_rcs": ("other", False),
        "(none)": ("other", False), "api": ("email", True), "Native_Messaging": ("messaging", True)}
    fd, _ = map_channels(pd.Series([1, 3, 7, 13, 99, "Feedback Widget"]), "freshdesk")
    assert list(fd) == ["email", "phone", "chat", "messaging", "other", "email"]


# =================================================================================================
# Zendesk API importer on the fixture
# =================================================================================================
@pytest.fixture(scope="module")
def zd():
    return import_zendesk_api(ZD, ZD / "mapping.yaml")


CONTACT_ORDER = ["1001", "1002", "1003", "1005", "1006", "1007", "1004", "1008", "1009", "1010",
                 "1011", "1012", "1013", "1014", "1015", "1016", "1017", "1018", "1020"]


def _by_id(frame: pd.DataFrame, column: str) -> dict:
    return dict(zip(frame["contact_id"], frame[column]))


def test_zendesk_contacts_kept_in_order_with_typed_columns(zd):
    c = zd.contacts
    assert list(c["contact_id"]) == CONTACT_ORDER
    assert list(c.columns[:15]) == [
        "contact_id", "opened_at", "closed_at", "agent_id", "team", "channel", "policy", "product",
        "issue_type", "customer_id", "handle_time_sec", "n_interactions", "resolved_first_contact",
        "repeat_within_7d", "escalated"]
    assert list(c.columns[15:]) == ["agent_id_at_export", "vendor_channel", "vendor_status"]
    assert str(c["contact_id"].dtype) == "str" and c["opened_at"].dtype == "datetime64[us]"
    assert c["n_interactions"].dtype == "int64" and c["resolved_first_contact"].dtype == "bool"
    assert str(c["repeat_within_7d"].dtype) == "boolean"
    row = c.iloc[0]
    assert (row["opened_at"], row["closed_at"]) == (pd.Timestamp("2026-03-02 08:10"), pd.Timestamp("2026-03-02 10:40"))
    # ticket 1008 appears twice in the export: the solved copy is kept
    assert _by_id(c, "closed_at")["1008"] == pd.Timestamp("2026-03-09 17:00")
    assert "credit_issued" not in c.columns   # never invented


def test_zendesk_ratings_belong_to_the_agent_at_rating_time(zd):
    c = zd.contacts
    agent, at_export, team = _by_id(c, "agent_id"), _by_id(c, "agent_id_at_export"), _by_id(c, "team")
    moved = {k for k in agent if agent[k] != at_export[k]}
    assert moved == {"1003", "1007", "1014"}
    assert [(agent[k], at_export[k], team[k]) for k in sorted(moved)] == [
        ("9001", "9004", "Tier 1"), ("9002", "9003", "Tier 1"), ("9007", "9004", "Escalations")]
    assert zd.report.facts["reassigned_after_rating"] == 3
    assert zd.dataset["attribution"]["rule"] == "rating_time_assignee"
    assert zd.dataset["attribution"]["reassigned_after_rating"] == 3
    # offered (unanswered) surveys are attributed to the agent when the survey was offered
    assert (agent["1004"], team["1004"]) == ("9003", "Billing")
    # a contact without a rating keeps the export-time assignee
    assert agent["1012"] == at_export["1012"] == "9002"
    per_agent = c.merge(zd.surveys, on="contact_id").groupby("agent_id")["csat"].agg(
        lambda s: [int(v) for v in s.dropna()])
    assert per_agent.to_dict() == {"9001": [2, 1, 2], "9002": [1, 2, 2, 1], "9003": [1, 2], "9004": [1],
                                   "9005": [2, 2, 2], "9007": [2]}


def test_zendesk_surveys_scale_and_non_answers(zd):
    s = zd.surveys.set_index("contact_id")
    assert list(zd.surveys.columns) == ["contact_id", "sent_at", "responded_at", "csat", "nps", "comment"]
    assert sorted(s.index) == ["1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1009",
                               "1010", "1013", "1014", "1015", "1016", "1017", "1018"]
    assert s["csat"].dtype == "Int64" and s["nps"].isna().all()
    assert s["csat"].value_counts().to_dict() == {2: 9, 1: 5}
    offered = s[s["csat"].isna()]
    assert list(offered.index) == ["1004", "1016"] and offered["responded_at"].isna().all()
    assert (s.loc["1004", "sent_at"]) == pd.Timestamp("2026-03-07 13:45")
    assert (s.loc["1006", "sent_at"], s.loc["1006", "responded_at"]) == (
        pd.Timestamp("2026-03-07 11:00"), pd.Timestamp("2026-03-08 09:15"))
    assert s.loc["1010", "csat"] == 2   # the newer of its two rating records
    assert s.loc["1013", "comment"] == "<b>Refund</b> refused again. Call me on +44 7700 900123"
    assert (zd.surveys["responded_at"].dropna() >= zd.surveys.loc[zd.surveys["responded_at"].notna(), "sent_at"]).all()
    assert zd.dataset["csat"] == {
        "present": True, "kind": "binary", "points": 2, "labels": {1: "bad", 2: "good"}, "top_box": [2],
        "label_of_good": "good", "vendor_scale": "Zendesk legacy CSAT (good/bad)",
        "vendor_codes": {"bad": 1, "good": 2},
        "not_answers": {"offered": "survey sent, no answer", "unoffered": "no survey sent",
                        "not offered": "no survey sent"}}
    assert zd.dataset["nps"] == {"present": False, "range": [0, 10]}


def test_zendesk_dropped_rows_and_reasons(zd):
    r = zd.report
    assert (r.read, r.kept) == ({"contacts": 25, "surveys": 21, "agents": 6},
                                {"contacts": 19, "surveys": 16, "agents": 7})
    assert {(d.table, d.reason): (d.count, d.examples) for d in r.dropped} == {
        ("contacts", "an older copy of a ticket that appears again later in the export (incremental exports "
                     "repeat changed tickets)"): (1, ["1008"]),
        ("contacts", "deleted ticket"): (1, ["1022"]),
        ("contacts", "not solved or closed at export time (status new, open, pending or hold)"): (2, ["1021", "1024"]),
        ("contacts", "no ticket_metrics record (needed for solved_at, reopens, replies)"): (1, ["1019"]),
        ("contacts", "no assignee (neither on the rating nor assigned)"): (1, ["1023"]),
        ("surveys", "its ticket is not in tickets.json"): (1, ["70021"]),
        ("surveys", "an older rating record of a ticket that has a newer one"): (1, ["70010"]),
        ("surveys", "no survey was sent (score unoffered)"): (1, ["70011"]),
        ("surveys", "its ticket was dropped (see the contacts' reasons)"): (2, ["70019", "70020"]),
    }
    rows = r.to_dict()["rows"]
    assert rows["contacts"] == {"read": 25, "kept": 19, "dropped": 6}
    assert rows["surveys"] == {"read": 21, "kept": 16, "dropped": 5}
    assert [(f["name"], f["pages"], f["records"]) for f in r.to_dict()["files"]] == [
        ("ticket_fields.json", 1, 4), ("tickets.json", 2, 25), ("ticket_metrics.json", 1, 22),
        ("satisfaction_ratings.json", 3, 21), ("groups.json", 1, 3), ("users.json", 1, 9)]


def test_zendesk_mapped_columns_tags_fields_and_missing_time_tracking(zd):
    c = zd.contacts
    assert _by_id(c, "policy") == {
        "1001": "standard", "1002": "refund above cap", "1003": "warranty expired", "1005": "standard",
        "1006": "loyalty credit", "1007": "billing dispute", "1004": "standard", "1008": "standard",
        "1009": "warranty expired", "1010": "standard", "1011": "standard", "1012": "standard",
        "1013": "refund above cap", "1014": "standard", "1015": "unknown", "1016": "standard",
        "1017": "billing dispute", "1018": "standard", "1020": "standard"}
    assert _by_id(c, "product")["1016"] == "unknown" and _by_id(c, "product")["1003"] == "Camera C3"
    assert c["issue_type"].value_counts().to_dict() == {"how-to": 9, "billing": 5, "defect": 4, "account": 1}
    ht = _by_id(c, "handle_time_sec")
    assert sorted(k for k, v in ht.items() if np.isnan(v)) == ["1002", "1006", "1010", "1013", "1017"]
    assert (ht["1001"], ht["1009"], ht["1020"]) == (600.0, 2400.0, 240.0)
    missing = zd.report.missing
    assert missing["contacts.handle_time_sec"] == (
        "5 of 19 contacts have no value (custom field 'Total time spent (sec)'); left empty")
    assert missing["contacts.policy"] == (
        "1 of 19 contacts have no value (the first tag starting with 'policy_', prefix removed, values "
        "renamed by the mapping (4 entries)); set to 'unknown'")
    assert "contacts.credit_issued" in missing and "agents.site" in missing


def test_zendesk_channels_open_vocabulary(zd):
    c = zd.contacts
    assert c["channel"].value_counts().sort_index().to_dict() == {
        "chat": 4, "email": 9, "messaging": 2, "other": 2, "phone": 2}
    assert _by_id(c, "channel")["1014"] == "other" and _by_id(c, "vendor_channel")["1014"] == "google_rcs"
    assert [e for e in zd.report.channels if not e["known"]] == [
        {"value": "google_rcs", "group": "other", "contacts": 1, "known": False}]
    assert "channel values not known for Zendesk were put in 'other' (map them under `channels` in the mapping): google_rcs (1)" in zd.report.warnings
    assert zd.dataset["channel_groups"]["google_rcs"] == {"group": "other", "contacts": 1,
                                                          "note": "a channel value not known for Zendesk"}


def test_zendesk_derived_fcr_repeat_escalation(zd):
    c = zd.contacts
    fcr = _by_id(c, "resolved_first_contact")
    assert sorted(k for k, v in fcr.items() if not v) == ["1002", "1003", "1006", "1009", "1010", "1014"]
    assert _by_id(c, "n_interactions") == {
        "1001": 1, "1002": 3, "1003": 2, "1005": 1, "1006": 2, "1007": 1, "1004": 1, "1008": 1, "1009": 4,
        "1010": 2, "1011": 1, "1012": 1, "1013": 1, "1014": 2, "1015": 1, "1016": 1, "1017": 1, "1018": 1,
        "1020": 1}
    rep = _by_id(c, "repeat_within_7d")
    # 1018: its repeat is the open ticket 1021
    assert sorted(k for k, v in rep.items() if v is not pd.NA and v) == ["1001", "1006", "1018"]
    assert [k for k, v in rep.items() if v is pd.NA] == ["1020"]                      # window runs past the export
    assert sorted(k for k, v in _by_id(c, "escalated").items() if v) == ["1003", "1007", "1009", "1014"]
    assert zd.report.missing["contacts.repeat_within_7d"] == (
        "1 contacts opened in the last 7 days of the export have no answer yet (empty)")


def test_zendesk_agents_team_and_tenure(zd):
    a = zd.agents.set_index("agent_id")
    assert list(a.index) == ["9001", "9002", "9003", "9004", "9005", "9006", "9007"]
    assert a["team"].to_dict() == {"9001": "Tier 1", "9002": "Tier 1", "9003": "Billing", "9004": "Escalations",
                                   "9005": "Tier 1", "9006": "Billing", "9007": "Escalations"}
    # months of 30.4375 days from users.json created_at to the export time 2026-03-28T12:00:00
    assert a["tenure_months"].iloc[:6].tolist() == [24.9, 6.4, 38.5, 57.9, 2.7, 3.8]
    assert np.isnan(a.loc["9007", "tenure_months"])
    assert zd.dataset["source"]["exported_at"] == pd.Timestamp("2026-03-28 12:00")
    assert ("agents named by contacts but not in users.json (team from their contacts, tenure unknown): 9007"
            in zd.report.warnings)


def test_zendesk_without_mapping_fills_unknown_and_finds_the_time_tracking_field(tmp_path):
    r = import_zendesk_api(ZD)
    assert set(r.contacts["policy"]) == set(r.contacts["product"]) == set(r.contacts["issue_type"]) == {"unknown"}
    assert r.report.sources["contacts.policy"] == "constant 'unknown' (not mapped)"
    # the Time Tracking app's field is found by its title in ticket_fields.json
    assert r.report.sources["contacts.handle_time_sec"] == (
        "custom field 360003 'Total time spent (sec)' (the Time Tracking app's total, found by title in "
        "ticket_fields.json)")
    ref = import_zendesk_api(ZD, ZD / "mapping.yaml")
    pd.testing.assert_series_equal(r.contacts["handle_time_sec"], ref.contacts["handle_time_sec"])
    assert r.dataset["columns"]["contacts"]["missing"] == ["credit_issued"]
    # without ticket_fields.json the column is missing, and the report says how to get it
    export = _export_with(tmp_path, {"ticket_fields.json": None})
    r = import_zendesk_api(export)
    assert "handle_time_sec" not in r.contacts.columns
    assert r.report.missing["contacts.handle_time_sec"].startswith("not recorded: Zendesk has handle time only")
    assert r.dataset["columns"]["contacts"]["missing"] == ["handle_time_sec", "credit_issued"]


def test_zendesk_metrics_side_loaded_on_ticket_pages(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(ZD, export, ignore=shutil.ignore_patterns("bad", "ticket_metrics.json"))
    metrics = [m for p in iter_pages(ZD / "ticket_metrics.json", "ticket_metrics", expected="X") for m in p]
    lines = (ZD / "tickets.json").read_text().splitlines()
    pages = [json.loads(line) for line in lines]
    pages[0]["metric_sets"], pages[1]["metric_sets"] = metrics[:10], metrics[10:]
    (export / "tickets.json").write_text("\n".join(json.dumps(p) for p in pages) + "\n")
    r = import_zendesk_api(export, ZD / "mapping.yaml")
    ref = import_zendesk_api(ZD, ZD / "mapping.yaml")
    pd.testing.assert_frame_equal(r.contacts, ref.contacts)


# =================================================================================================
# Zendesk API importer: bad input
# =================================================================================================
def _export_with(tmp_path, replace: dict[str, Path | None]) -> Path:
    """A copy of the Zendesk fixture with files replaced (None = removed)."""
    export = tmp_path / "export"
    shutil.copytree(ZD, export, ignore=shutil.ignore_patterns("bad"))
    for name, source in replace.items():
        (export / name).unlink()
        if source is not None:
            shutil.copy(source, export / name)
    return export


@pytest.mark.parametrize("replace, message", [
    ({"ticket_metrics.json": None},
     "ticket_metrics.json: required file missing from {export}; a Zendesk API export needs tickets.json, "
     "ticket_metrics.json (or tickets pages with side-loaded metric_sets) and satisfaction_ratings.json or "
     "csat_survey_responses.json"),
    ({"satisfaction_ratings.json": None},
     "satisfaction_ratings.json: required file missing from {export}; a Zendesk API export needs its ratings: "
     "satisfaction_ratings.json (the legacy CSAT, GET /api/v2/satisfaction_ratings) or csat_survey_responses.json "
     "(Zendesk's CSAT since 2024: survey responses), or both"),
    ({"tickets.json": ZD_BAD / "tickets.intercom-page.json"},
     "tickets.json: line 1: found a JSON object with keys type, conversations, total_count, pages; " + EXPECTED_ZD),
    ({"tickets.json": ZD_BAD / "tickets.no-tickets.json"},
     "tickets.json: the export holds no tickets (1 page(s), all empty); expected at least one ticket"),
    ({"tickets.json": ZD_BAD / "tickets.empty.json"},
     "tickets.json: the export holds no tickets (0 page(s), all empty); expected at least one ticket"),
    ({"tickets.json": ZD_BAD / "tickets.truncated.json"},
     "tickets.json: not valid JSON at line 2, column 696: Unterminated string starting at "
     "(the file ends in the middle of a value: truncated?)"),
])
def test_zendesk_bad_export_messages(tmp_path, replace, message):
    export = _export_with(tmp_path, replace)
    with pytest.raises(ImportInputError) as err:
        import_zendesk_api(export, ZD / "mapping.yaml")
    assert _message(err) == message.replace("{export}", str(export))


@pytest.mark.parametrize("mapping, message", [
    ("mapping.unknown-field.yaml",
     "mapping.unknown-field.yaml: columns.product: no custom field 360999 in tickets.json or ticket_fields.json; "
     "fields present: 360001 (Product), 360002 (Issue type), 360003 (Total time spent (sec)), "
     "360004 (Time spent last update (sec))"),
    ("mapping.unknown-title.yaml",
     "mapping.unknown-title.yaml: columns.product: no custom field titled 'Product line' in ticket_fields.json; "
     "the titles are 'Product', 'Issue type', 'Total time spent (sec)', 'Time spent last update (sec)'"),
    ("mapping.two-sources.yaml",
     "mapping.two-sources.yaml: columns.product: a rule needs exactly one of tag_prefix, field, value, column; "
     "found field and value"),
    ("mapping.unknown-column.yaml",
     "mapping.unknown-column.yaml: columns.polcy: 'polcy' is not a column a mapping can fill; those are team, "
     "policy, product, issue_type, handle_time_sec, credit_issued, escalated, resolved_first_contact, n_interactions"),
    ("mapping.wrong-vendor.yaml",
     "mapping.wrong-vendor.yaml: the mapping is for vendor 'freshdesk', but this is a zendesk import; "
     "use a mapping with 'vendor: zendesk'"),
])
def test_zendesk_bad_mapping_messages(mapping, message):
    with pytest.raises(ImportInputError) as err:
        import_zendesk_api(ZD, ZD_BAD / mapping)
    assert _message(err) == message


def test_zendesk_field_title_needs_ticket_fields_and_column_rules_are_refused(tmp_path):
    export = _export_with(tmp_path, {"ticket_fields.json": None})
    with pytest.raises(ImportInputError) as err:
        import_zendesk_api(export, ZD / "mapping.yaml")
    assert _message(err) == ("mapping.yaml: columns.issue_type names the field by title 'Issue type'; naming a "
                             "field by title needs ticket_fields.json in the export (or give the field id)")
    without_titles = tmp_path / "m.yaml"
    without_titles.write_text("vendor: zendesk\ncolumns:\n  product: {field: 360999}\n")
    with pytest.raises(ImportInputError) as err:
        import_zendesk_api(export, without_titles)
    assert _message(err) == ("m.yaml: columns.product: no custom field 360999 in tickets.json; fields present: "
                             "360001, 360002, 360003, 360004")
    column_rule = tmp_path / "c.yaml"
    column_rule.write_text("vendor: zendesk\ncolumns:\n  product: {column: Product}\n")
    with pytest.raises(ImportInputError) as err:
        import_zendesk_api(ZD, column_rule)
    assert _message(err) == ("c.yaml: columns.product: 'column' rules are for table and CSV exports; a Zendesk "
                             "API export has custom fields (field:) and tags (tag_prefix:)")
    with pytest.raises(ImportInputError) as err:
        import_export("kayako", VENDORS / "intercom")
    assert _message(err) == ("unknown vendor 'kayako'; importers exist for zendesk, freshdesk, intercom, helpscout, "
                             "gorgias, csv")


# =================================================================================================
# writing
# =================================================================================================
def test_write_is_atomic_and_round_trips_through_load_dataset(tmp_path, zd, monkeypatch):
    out = zd.write(tmp_path / "acme")
    assert sorted(p.name for p in out.iterdir()) == [
        "agents.csv", "contacts.csv", "dataset.yaml", "import_report.html", "import_report.json",
        "mapping.yaml", "surveys.csv"]
    loaded = upstream.load_dataset(out, validate=False)
    for table in ("contacts", "surveys", "agents"):
        pd.testing.assert_frame_equal(getattr(loaded, table), getattr(zd, table), check_dtype=False)
    assert json.loads((out / "import_report.json").read_text())["rows"]["contacts"]["kept"] == 19
    assert "csat:\n  present: true\n  kind: binary\n  points: 2\n" in (out / "dataset.yaml").read_text()

    with pytest.raises(ImportInputError) as err:
        zd.write(out)
    assert _message(err) == (f"{out}: the output folder exists and is not empty; nothing was written (choose a new "
                             "folder)")

    def boom(self):
        raise RuntimeError("disk full")
    monkeypatch.setattr(ImportReport, "to_html", boom)
    with pytest.raises(RuntimeError):
        zd.write(tmp_path / "second")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acme"]   # no partial folder left behind


def test_report_html_escapes_vendor_text():
    report = ImportReport(vendor="zendesk", format="zendesk-api", export="<export>")
    report.drop("contacts", "status <script>alert(1)</script>", ["<b>1</b>"])
    report.channels = [{"value": "<img src=x>", "group": "other", "contacts": 1, "known": False}]
    page = report.to_html()
    assert "<script>" not in page and "<img" not in page and "<b>1" not in page
    assert "status &lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x&gt;" in page


# =================================================================================================
# Freshdesk API importer
# =================================================================================================
FD = VENDORS / "freshdesk-api"


@pytest.fixture(scope="module")
def fd():
    return import_export("freshdesk", FD, FD / "mapping.yaml")


def test_freshdesk_seven_point_scale_coded_worst_to_best(fd):
    s = fd.surveys.set_index("contact_id")
    # default_question codes 103, -103, -101, 101, 100, -102, 102, 103 (make_fixtures.FD_RATINGS)
    assert s["csat"].to_dict() == {"2001": 7, "2002": 1, "2003": 3, "2004": 5, "2005": 4, "2006": 2,
                                   "2008": 6, "2011": 7}
    assert (s["sent_at"] == s["responded_at"]).all() and s["nps"].isna().all()
    assert fd.dataset["csat"]["points"] == 7 and fd.dataset["csat"]["top_box"] == [6, 7]
    assert fd.dataset["csat"]["labels"][1] == "Extremely Unhappy"
    assert fd.dataset["csat"]["scale_source"] == "the mapping (csat.points)"
    assert ("Freshdesk lists only answered surveys: surveys sent without an answer cannot be seen, so response "
            "rates and non-response studies need the survey send log") in fd.report.warnings


def test_freshdesk_scale_from_surveys_json_without_mapping():
    r = import_export("freshdesk", FD)
    assert r.dataset["csat"]["scale_source"] == "surveys.json (survey 1: 7 accepted ratings)"
    assert _by_id(r.contacts, "product")["2003"] == "91" and _by_id(r.contacts, "issue_type")["2003"] == "incident"
    assert set(r.contacts["policy"]) == {"unknown"}


def test_freshdesk_attribution_handle_time_channels_and_drops(fd):
    c = fd.contacts
    assert list(c["contact_id"]) == ["2001", "2002", "2003", "2004", "2005", "2006", "2007", "2008", "2010",
                                     "2011", "2012"]
    agent, at_export = _by_id(c, "agent_id"), _by_id(c, "agent_id_at_export")
    assert {k: (agent[k], at_export[k]) for k in agent if agent[k] != at_export[k]} == {
        "2003": ("72", "73"), "2008": ("71", "74")}
    assert _by_id(c, "team")["2003"] == "Tier 1"  # group at rating time (81), not the ticket's 82
    assert fd.report.facts["reassigned_after_rating"] == 2
    ht = {k: v for k, v in _by_id(c, "handle_time_sec").items() if not np.isnan(v)}
    assert ht == {"2001": 900.0, "2003": 1500.0, "2004": 720.0, "2006": 3900.0, "2011": 480.0}  # hh:mm sums
    assert _by_id(c, "channel") == {"2001": "email", "2002": "email", "2003": "phone", "2004": "chat",
                                    "2005": "email", "2006": "email", "2007": "messaging", "2008": "email",
                                    "2010": "email", "2011": "phone", "2012": "other"}
    assert "channel values not known for Freshdesk were put in 'other' (map them under `channels` in the mapping): 99 (1)" in fd.report.warnings
    assert _by_id(c, "closed_at")["2001"] == pd.Timestamp("2026-03-02 09:00")   # resolved_at, not closed_at
    assert sorted(k for k, v in _by_id(c, "resolved_first_contact").items() if not v) == ["2002"]
    assert _by_id(c, "policy")["2003"] == "Warranty expired"    # not in the map: kept as is
    assert _by_id(c, "policy")["2007"] == "unknown"
    assert {(d.table, d.reason): d.examples for d in fd.report.dropped} == {
        ("surveys", "its ticket is not in tickets.json"): ["3009"],
        ("contacts", "not resolved or closed at export time (status open, pending or custom)"): ["2009"]}
    assert "n_interactions" not in c.columns and "escalated" not in c.columns


@pytest.mark.parametrize("replace, mapping, message", [
    ({"satisfaction_ratings.json": FD / "bad" / "satisfaction_ratings.ambiguous-scale.json", "surveys.json": None},
     None,
     "satisfaction_ratings.json: the survey scale cannot be told from the ratings (codes seen: -103, 100, 103); "
     "add 'csat: {points: 3}' (or 5 or 7) to the mapping, or include surveys.json"),
    ({"satisfaction_ratings.json": FD / "bad" / "satisfaction_ratings.code-not-on-scale.json", "surveys.json": None},
     "points5",
     "satisfaction_ratings.json: rating codes 101 are not on a 5-point Freshdesk survey (its codes are "
     "-103, -102, 100, 102, 103)"),
    ({"tickets.json": FD / "bad" / "tickets.zendesk-page.json"}, None,
     "tickets.json: line 1: found a JSON object with keys tickets, next_page; expected a Freshdesk API list "
     "response: a JSON array of records (several arrays one after another, or one per line, are fine)"),
    ({"tickets.json": FD / "bad" / "tickets.empty-array.json"}, None,
     "tickets.json: the export holds no tickets; expected at least one ticket"),
    ({"satisfaction_ratings.json": None}, None,
     "satisfaction_ratings.json: required file missing from {export}; a Freshdesk API export needs tickets.json "
     "and satisfaction_ratings.json"),
    ({}, FD / "bad" / "mapping.unknown-field.yaml",
     "mapping.unknown-field.yaml: columns.policy: no custom field 'cf_polcy' in tickets.json; fields present: "
     "cf_issue_type, cf_policy"),
])
def test_freshdesk_bad_input_messages(tmp_path, replace, mapping, message):
    export = tmp_path / "export"
    shutil.copytree(FD, export, ignore=shutil.ignore_patterns("bad"))
    for name, source in replace.items():
        (export / name).unlink()
        if source is not None:
            shutil.copy(source, export / name)
    if mapping == "points5":
        mapping = tmp_path / "m.yaml"
        mapping.write_text("vendor: freshdesk\ncsat: {points: 5}\n")
    with pytest.raises(ImportInputError) as err:
        import_export("freshdesk", export, mapping)
    assert _message(err) == message.replace("{export}", str(export))


# =================================================================================================
# the Arrow fast path gives the same columns as the streaming reader
# =================================================================================================
from upstream.data.importers import records as records_module  # noqa: E402
from upstream.data.importers.records import RecordSpec, read_records, rename_typed_values  # noqa: E402


def test_typed_custom_field_values_are_renamed_in_place_and_only_keys_followed_by_a_colon():
    text = ('{"custom_fields": [{"id": 1, "value": "text"}, {"id": 2, "value": 600}, {"id": 3, "value":true},'
            ' {"id": 4, "value" :  [ "a", "b"]}, {"id": 5, "value": null}, {"id": 6, "value": -1.5e3},'
            ' {"id": 7, "value": {"k": 1}}], "subject": "say \\"value\\": 5", "note": "value"}')
    data = bytearray(text.encode())
    assert rename_typed_values(data) == 5
    assert data.decode() == text.replace('"value": 600', '"v_num": 600').replace('"value":true', '"v_bol":true') \
        .replace('"value" :  [', '"v_lst" :  [').replace('"value": -1.5e3', '"v_num": -1.5e3') \
        .replace('"value": {', '"v_obj": {')
    assert len(data) == len(text.encode())


def test_fast_and_slow_paths_read_the_same_columns(tmp_path, monkeypatch):
    pages = [{"tickets": [
        {"id": 10, "status": "solved", "via": {"channel": "email"}, "tags": ["vip", "policy_a"],
         "custom_fields": [{"id": 1, "value": "x"}, {"id": 2, "value": 12}, {"id": 3, "value": True}]},
        {"id": 11, "status": "open", "via": {"channel": "voice"}, "tags": [],
         "custom_fields": [{"id": 1, "value": None}, {"id": 2, "value": 2.5}, {"id": 3, "value": ["p", "q"]}]}],
        "next_page": None},
        {"tickets": [{"id": 12, "status": "closed", "via": {"channel": "chat"}, "tags": ["policy_b", "policy_c"],
                      "custom_fields": [{"id": 3, "value": False}]}], "next_page": None}]
    path = tmp_path / "tickets.json"
    path.write_text(json.dumps(pages[0], indent=2) + json.dumps(pages[1]))   # pretty, then back to back
    import pyarrow as pa
    spec = RecordSpec(key=("tickets",), singular="ticket",
                      scalars={"id": (("id",), pa.int64()), "status": (("status",), pa.string()),
                               "channel": (("via", "channel"), pa.string())},
                      tags=("tags",), tag_prefixes=("policy_",), fields=("custom_fields",), field_ids=(1, 2, 3))
    fast = read_records(path, spec, FileRead(path.name, path))
    assert fast.fast
    monkeypatch.setattr(records_module, "_read_fast", lambda *a: (_ for _ in ()).throw(records_module.NotFast()))
    info = FileRead(path.name, path)
    slow = read_records(path, spec, info)
    assert not slow.fast and (info.pages, info.records) == (2, 3)
    expected = {"id": ["10", "11", "12"], "status": ["solved", "open", "closed"], "channel": ["email", "voice", "chat"],
                "tag:policy_": ["a", None, "b"], "field:1": ["x", None, None], "field:2": ["12", "2.5", None],
                "field:3": ["true", "p, q", "false"]}
    for result in (fast, slow):
        got = {k: [None if pd.isna(v) else str(v) for v in result.frame[k]] for k in expected}
        assert got == expected
        assert result.field_ids_seen == {1, 2, 3}


def test_fast_path_declines_what_it_cannot_read_and_the_slow_path_explains(tmp_path):
    import pyarrow as pa
    spec = RecordSpec(key=("tickets",), singular="ticket", scalars={"id": (("id",), pa.int64())},
                      expected="tickets pages")
    mixed = tmp_path / "mixed.json"   # ids as numbers and as text: only the slow path reads them
    mixed.write_text('{"tickets": [{"id": 1}, {"id": "A-2"}]}\n')
    r = read_records(mixed, spec, FileRead(mixed.name, mixed))
    assert not r.fast and list(r.frame["id"]) == ["1", "A-2"]
    other = tmp_path / "other.json"
    other.write_text('{"conversations": [{"id": 1}], "type": "conversation.list"}\n')
    with pytest.raises(ImportInputError) as err:
        read_records(other, spec, FileRead(other.name, other))
    assert _message(err) == ("other.json: line 1: found a JSON object with keys conversations, type; expected "
                             "tickets pages")


# =================================================================================================
# Zendesk UI CSV export
# =================================================================================================
ZCSV = VENDORS / "zendesk-csv"
ZCSV_FILE = ZCSV / "export-2026-03-28-tickets.csv"


@pytest.fixture(scope="module")
def zcsv():
    return import_export("zendesk", ZCSV_FILE, ZCSV / "mapping.yaml")


def test_zendesk_csv_credits_the_export_time_assignee_and_says_so(zcsv, zd):
    c = zcsv.contacts
    assert list(c["contact_id"]) == CONTACT_ORDER
    # the three tickets reassigned after the rating show the later agent (names: the CSV has no ids)
    assert {k: _by_id(c, "agent_id")[k] for k in ("1003", "1007", "1014")} == {
        "1003": "Dev Das", "1007": "Cleo Chen", "1014": "Dev Das"}
    assert zcsv.dataset["attribution"]["rule"] == "export_time_assignee"
    assert "reassigned_after_rating" not in zcsv.dataset["attribution"]
    assert zcsv.report.facts["reassigned_after_rating"] is None
    assert any(w.startswith("the CSV export names each ticket's assignee at export time") for w in zcsv.report.warnings)
    # the same scale, scores and times (Europe/London = UTC in March 2026) as the API export
    pd.testing.assert_series_equal(zcsv.surveys.set_index("contact_id")["csat"].sort_index(),
                                   zd.surveys.set_index("contact_id")["csat"].sort_index())
    assert _by_id(c, "opened_at") == _by_id(zd.contacts, "opened_at")
    s = zcsv.surveys.set_index("contact_id")
    assert s.loc["1006", "sent_at"] == pd.Timestamp("2026-03-06 11:00") and s["responded_at"].isna().all()
    assert _by_id(c, "channel")["1003"] == "phone" and _by_id(c, "channel")["1014"] == "other"
    assert {(d.table, d.reason): d.examples for d in zcsv.report.dropped} == {
        ("contacts", "not solved or closed at export time (status new, open, pending or hold)"): ["1021", "1024"],
        ("contacts", "no ticket metrics in the row (Reopens, Replies empty)"): ["1019"],
        ("contacts", "no assignee (neither on the rating nor assigned)"): ["1023"],
        ("surveys", "its ticket was dropped (see the contacts' reasons)"): ["1019"]}
    assert _by_id(c, "handle_time_sec")["1003"] == 1500.0 and np.isnan(_by_id(c, "handle_time_sec")["1002"])


def test_zendesk_csv_local_times_follow_the_mapping_time_zone(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("vendor: zendesk\ntimezone: America/New_York\n")
    r = import_export("zendesk", ZCSV_FILE, mapping)
    assert _by_id(r.contacts, "opened_at")["1001"] == pd.Timestamp("2026-03-02 13:10")   # EST = UTC-5
    r = import_export("zendesk", ZCSV_FILE)
    assert r.report.warnings[0].startswith("the CSV export writes times in the account's time zone without saying")


@pytest.mark.parametrize("name, message", [
    ("not-a-zendesk-export.csv",
     "not-a-zendesk-export.csv: not a Zendesk ticket export (Admin Center > Reports > CSV): the header has Ticket ID, "
     "Subject, Status, Priority, Source, Type, Agent, Group, ...; expected columns such as Id, Requester id, Assignee, "
     "Group, Status, Via"),
    ("header-only.csv",
     "header-only.csv: the export holds no tickets (a header row only); expected at least one ticket"),
    ("missing-satisfaction-column.csv",
     "missing-satisfaction-column.csv: a Zendesk ticket export (Admin Center > Reports > CSV) without the column "
     "'Satisfaction Score'; include it in the export"),
])
def test_zendesk_csv_bad_files(name, message):
    with pytest.raises(ImportInputError) as err:
        import_export("zendesk", ZCSV / "bad" / name)
    assert _message(err) == message


# =================================================================================================
# Freshdesk UI CSV export
# =================================================================================================
FCSV = VENDORS / "freshdesk-csv"


def test_freshdesk_csv_labels_scale_and_export_time_agent(fd):
    r = import_export("freshdesk", FCSV / "tickets.csv", FCSV / "mapping.yaml")
    assert r.surveys.set_index("contact_id")["csat"].to_dict() == fd.surveys.set_index("contact_id")["csat"].to_dict()
    assert r.dataset["csat"]["points"] == 7 and r.dataset["csat"]["scale_source"] == "the mapping (csat.points)"
    assert r.dataset["attribution"]["rule"] == "export_time_assignee"
    assert {k: v for k, v in _by_id(r.contacts, "agent_id").items() if k in ("2003", "2008")} == {
        "2003": "Cleo", "2008": "Dev"}
    assert {k: v for k, v in _by_id(r.contacts, "handle_time_sec").items() if not np.isnan(v)} == {
        "2001": 900.0, "2003": 1500.0, "2004": 720.0, "2006": 3900.0, "2011": 480.0}
    assert _by_id(r.contacts, "channel")["2012"] == "other" and "resolved_first_contact" not in r.contacts
    # without a declared scale the labels prove 7 points ("Extremely ..." exist only there)
    plain = tmp = FCSV / "tickets.csv"
    r = import_export("freshdesk", plain)
    assert r.dataset["csat"]["scale_source"] == "the labels in Survey results (only a 7-point survey has all of them)"
    del tmp


def test_freshdesk_csv_unknown_label():
    with pytest.raises(ImportInputError) as err:
        import_export("freshdesk", FCSV / "bad" / "unknown-survey-label.csv", FCSV / "mapping.yaml")
    assert _message(err) == (
        "unknown-survey-label.csv: column 'Survey results': 'Ecstatic' is not a label of a Freshdesk survey (labels "
        "such as 'Extremely Happy', 'Very Happy', 'Happy', 'Neutral', 'Unhappy')")


# =================================================================================================
# Intercom
# =================================================================================================
IC = VENDORS / "intercom"


@pytest.fixture(scope="module")
def ic():
    return import_export("intercom", IC, IC / "mapping.yaml")


def test_intercom_rating_belongs_to_the_teammate_when_rated(ic):
    c = ic.contacts
    assert list(c["contact_id"]) == ["215001", "215002", "215003", "215004", "215005", "215007", "215008",
                                     "215009", "215010"]
    agent, at_export = _by_id(c, "agent_id"), _by_id(c, "agent_id_at_export")
    assert {k: (agent[k], at_export[k]) for k in agent if agent[k] != at_export[k]} == {
        "215002": ("301", "302"), "215008": ("303", "302")}
    assert _by_id(c, "team")["215008"] == "Hardware"   # the rated teammate's team, not the later assignee's
    assert ic.report.facts["reassigned_after_rating"] == 2
    s = ic.surveys.set_index("contact_id")
    assert s["csat"].to_dict() == {"215001": 5, "215002": 1, "215003": None, "215004": 4, "215007": 3,
                                   "215008": 2, "215009": 5, "215010": 5}
    # 215003: rating requested, never answered; 215005: never requested -> no survey
    assert pd.isna(s.loc["215003", "responded_at"]) and s.loc["215003", "sent_at"] == pd.Timestamp("2026-03-04 08:00")
    assert (s.loc["215001", "sent_at"], s.loc["215001", "responded_at"]) == (
        pd.Timestamp("2026-03-02 10:00"), pd.Timestamp("2026-03-02 11:00"))
    assert ic.dataset["csat"]["points"] == 5 and ic.dataset["csat"]["top_box"] == [4, 5]
    assert _by_id(c, "channel") == {"215001": "chat", "215002": "email", "215003": "phone", "215004": "messaging",
                                    "215005": "chat", "215007": "other", "215008": "messaging", "215009": "phone",
                                    "215010": "chat"}
    assert _by_id(c, "issue_type")["215010"] == "unknown" and _by_id(c, "policy")["215002"] == "refund above cap"
    assert sorted(k for k, v in _by_id(c, "resolved_first_contact").items() if not v) == ["215002", "215008"]
    assert {(d.table, d.reason): d.examples for d in ic.report.dropped} == {
        ("contacts", "not closed at export time (state open or snoozed)"): ["215006"]}


@pytest.mark.parametrize("bad, message", [
    ("conversations.rating-out-of-range.json",
     "conversations.json: conversation_rating.rating must be 1 to 5 (Intercom's scale); found 6 (conversation 215001)"),
    ("conversations.zendesk-page.json",
     "conversations.json: line 1: found a JSON object with keys tickets; expected Intercom conversation "
     "list pages such as {\"type\": \"conversation.list\", \"conversations\": [...], \"pages\": ...} (one page "
     "object, several one after another, or one per line)"),
])
def test_intercom_bad_input(tmp_path, bad, message):
    export = tmp_path / "export"
    shutil.copytree(IC, export, ignore=shutil.ignore_patterns("bad"))
    shutil.copy(IC / "bad" / bad, export / "conversations.json")
    with pytest.raises(ImportInputError) as err:
        import_export("intercom", export, IC / "mapping.yaml")
    assert _message(err) == message


# =================================================================================================
# Help Scout
# =================================================================================================
HS = VENDORS / "helpscout"


def test_helpscout_rating_belongs_to_the_author_of_the_rated_reply():
    r = import_export("helpscout", HS, HS / "mapping.yaml")
    c = r.contacts
    agent, at_export = _by_id(c, "agent_id"), _by_id(c, "agent_id_at_export")
    assert {k: (agent[k], at_export[k]) for k in agent if agent[k] != at_export[k]} == {
        "88002": ("401", "402"), "88009": ("403", "402")}
    assert r.dataset["attribution"]["rule"] == "rated_reply_author"
    s = r.surveys.set_index("contact_id")
    # 88007 'unknown': no value on the scale, dropped (never an empty CSAT for an answered survey)
    assert s["csat"].to_dict() == {"88001": 3, "88002": 1, "88003": 2, "88004": 3, "88009": 1, "88010": 3}
    assert s.loc["88010", "comment"] == "<script>alert(1)</script>"            # kept; reports escape it
    assert r.dataset["csat"]["labels"] == {1: "not good", 2: "okay", 3: "great"}
    assert set(c["team"]) == {"Support"} and _by_id(c, "policy")["88006"] == "unknown"
    assert _by_id(c, "n_interactions") == {"88001": 3, "88002": 5, "88003": 2, "88004": 4, "88006": 6, "88007": 3,
                                           "88009": 4, "88010": 2}
    assert {(d.table, d.reason): d.examples for d in r.report.dropped} == {
        ("surveys", "rating 'unknown' (no value on the happiness scale)"): ["5505"],
        ("contacts", "spam"): ["88008"],
        ("contacts", "not closed at export time (status active or pending)"): ["88005"]}
    assert "resolved_first_contact" not in c.columns
    assert r.dataset["columns"]["contacts"]["missing"] == ["handle_time_sec", "resolved_first_contact", "escalated",
                                                           "credit_issued"]


@pytest.mark.parametrize("bad, target, message", [
    ("ratings.unknown-value.json", "ratings.json",
     "ratings.json: rating 'meh' is not a Help Scout happiness rating (great, okay, not_good or unknown)"),
    ("conversations.bare-array.json", "conversations.json",
     "conversations.json: line 1: found a JSON array of records, not a page object; expected Help Scout Mailbox "
     "API pages such as {\"_embedded\": {\"conversations\": [...]}, \"page\": {...}} (one page object, several one "
     "after another, or one per line)"),
])
def test_helpscout_bad_input(tmp_path, bad, target, message):
    export = tmp_path / "export"
    shutil.copytree(HS, export, ignore=shutil.ignore_patterns("bad"))
    shutil.copy(HS / "bad" / bad, export / target)
    with pytest.raises(ImportInputError) as err:
        import_export("helpscout", export, HS / "mapping.yaml")
    assert _message(err) == message


# =================================================================================================
# Gorgias
# =================================================================================================
GG = VENDORS / "gorgias"


def test_gorgias_without_messages_credits_the_export_time_assignee_and_says_so():
    r = import_export("gorgias", GG, GG / "mapping.yaml")
    assert r.dataset["attribution"]["rule"] == "export_time_assignee"
    assert r.report.warnings[0].startswith("Gorgias surveys name no agent: ratings are credited to each ticket's "
                                           "assignee at export time")
    s = r.surveys.set_index("contact_id")
    assert s["csat"].to_dict() == {"71001": 5, "71002": 1, "71003": None, "71004": 4, "71008": 2, "71010": 3}
    assert pd.isna(s.loc["71003", "responded_at"])        # sent, not answered
    assert {(d.table, d.reason): d.examples for d in r.report.dropped} == {
        ("surveys", "created but never sent (no sent_datetime)"): ["9105"],
        ("contacts", "not closed at export time (status open)"): ["71006"],
        ("contacts", "no assignee (neither on the rating nor assigned)"): ["71009"]}
    assert _by_id(r.contacts, "policy") == {
        "71001": "standard", "71002": "refund-above-cap", "71003": "standard", "71004": "unknown", "71005": "standard",
        "71007": "standard", "71008": "warranty-expired", "71010": "standard"}
    assert _by_id(r.contacts, "channel")["71007"] == "other"


def test_gorgias_messages_give_the_agent_who_replied_before_the_survey(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(GG, export, ignore=shutil.ignore_patterns("bad"))
    messages = [  # 71002 was answered by 201, then reassigned to 202 after the survey was sent
        {"id": 1, "ticket_id": 71002, "from_agent": False, "sender": {"id": 602},
         "created_datetime": "2026-03-03T09:00:00"},
        {"id": 2, "ticket_id": 71002, "from_agent": True, "sender": {"id": 201},
         "created_datetime": "2026-03-03T09:15:00"},
        {"id": 3, "ticket_id": 71002, "from_agent": True, "sender": {"id": 202},
         "created_datetime": "2026-03-05T08:00:00"},
        {"id": 4, "ticket_id": 71001, "from_agent": True, "sender": {"id": 201},
         "created_datetime": "2026-03-02T09:00:00"}]
    (export / "messages.json").write_text(json.dumps({"data": messages, "meta": {"next_cursor": None}}))
    r = import_export("gorgias", export, GG / "mapping.yaml")
    # the messages also give shared credit (contact_agents, tests/test_import_replies.py); the rating's
    # agent stays the last public agent reply before the survey
    assert r.dataset["attribution"]["rule"] == "shared"
    assert r.dataset["attribution"]["description"].startswith("A rated ticket's agent_id is the author of the last "
                                                              "public agent reply before the survey was sent")
    agent = _by_id(r.contacts, "agent_id")
    assert (agent["71002"], agent["71001"], agent["71004"]) == ("201", "201", "201")
    assert r.report.facts["reassigned_after_rating"] == 1
    assert ("4 surveys have no public agent reply before they were sent; they keep the export-time assignee"
            in r.report.warnings)


@pytest.mark.parametrize("bad, target, message", [
    ("satisfaction_surveys.score-zero.json", "satisfaction_surveys.json",
     "satisfaction_surveys.json: score must be 1 to 5 (Gorgias' scale); found 0 (survey 9101)"),
    ("tickets.truncated.json", "tickets.json",
     "tickets.json: not valid JSON at line 19, column 18: Unterminated string starting at (the file ends in the "
     "middle of a value: truncated?)"),
])
def test_gorgias_bad_input(tmp_path, bad, target, message):
    export = tmp_path / "export"
    shutil.copytree(GG, export, ignore=shutil.ignore_patterns("bad"))
    shutil.copy(GG / "bad" / bad, export / target)
    with pytest.raises(ImportInputError) as err:
        import_export("gorgias", export, GG / "mapping.yaml")
    assert _message(err) == message


# =================================================================================================
# any table (csv)
# =================================================================================================
TB = VENDORS / "table"


def test_table_with_dbt_zendesk_column_names_needs_no_mapping_but_the_tags():
    r = import_export("csv", TB / "dbt" / "zendesk__ticket_metrics.csv", TB / "dbt" / "mapping.yaml")
    assert list(r.contacts["contact_id"]) == ["1001", "1002", "1003", "1005", "1006", "1004"]
    assert r.dataset["csat"]["vendor_scale"] == "Zendesk legacy CSAT (good/bad)"
    assert r.surveys.set_index("contact_id")["csat"].to_dict() == {"1001": 2, "1005": 2, "1002": 1, "1003": 1,
                                                                   "1004": None}
    assert r.dataset["attribution"]["rule"] == "export_time_assignee"
    assert _by_id(r.contacts, "n_interactions") == {"1001": 1, "1002": 3, "1003": 2, "1005": 1, "1006": 2, "1004": 1}
    assert _by_id(r.contacts, "channel")["1005"] == "messaging"
    assert _by_id(r.contacts, "policy")["1002"] == "refund_above_cap"
    assert {(d.table, d.reason): d.examples for d in r.report.dropped} == {
        ("contacts", "no close or solve time"): ["1021"],
        ("contacts", "no agent (neither on the rating nor assigned)"): ["1023"]}


def test_table_with_every_column_mapped_and_a_stated_scale():
    r = import_export("csv", TB / "generic" / "contacts.csv", TB / "generic" / "mapping.yaml")
    c = r.contacts
    assert list(c["contact_id"]) == ["T-01", "T-02", "T-03", "T-04", "T-06"]
    assert _by_id(c, "opened_at")["T-01"] == pd.Timestamp("2026-03-02 08:00")   # Europe/Berlin (CET) -> UTC
    assert _by_id(c, "channel") == {"T-01": "phone", "T-02": "chat", "T-03": "email", "T-04": "phone", "T-06": "other"}
    s = r.surveys.set_index("contact_id")
    assert s["csat"].to_dict() == {"T-01": 5, "T-02": 2, "T-03": 3, "T-06": 1}
    assert r.dataset["csat"]["labels"][4] == "Satisfied" and r.dataset["csat"]["top_box"] == [4, 5]
    assert r.dataset["attribution"] == {
        "rule": "stated",
        "description": "agent_id is the ticket's owner in the survey tool's join (owner when the survey was sent)"}
    assert r.report.facts["reassigned_after_rating"] is None   # the table names one agent per contact
    assert r.agents.set_index("agent_id")[["site", "tenure_months"]].to_dict("index") == {
        "ana": {"site": "Leeds", "tenure_months": 12.0}, "ben": {"site": "Leeds", "tenure_months": 30.0},
        "cleo": {"site": "Manila", "tenure_months": 5.0}}


def test_table_errors(tmp_path):
    with pytest.raises(ImportInputError) as err:
        import_export("csv", TB / "bad" / "rating-off-scale.csv", TB / "generic" / "mapping.yaml")
    assert _message(err) == ("mapping.yaml: columns.policy: no column 'Policy' in rating-off-scale.csv; its columns "
                             "are 'Ticket', 'Opened', 'Closed', 'Agent', 'Queue', 'Medium', 'Customer', 'Rating'")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("vendor: csv\ncolumns:\n  contact_id: {column: Ticket}\n  opened_at: {column: Opened}\n"
                       "  closed_at: {column: Closed}\n  agent_id: {column: Agent}\n  customer_id: {column: Customer}\n"
                       "  csat: {column: Rating}\n")
    with pytest.raises(ImportInputError) as err:
        import_export("csv", TB / "bad" / "rating-off-scale.csv", mapping)
    assert _message(err) == ("rating-off-scale.csv: column 'Rating': the CSAT scale is not stated (values such as "
                             "'9'); add csat: {points: 5} (with labels, codes for words, and top_box) to the mapping")
    mapping.write_text(mapping.read_text() + "csat: {points: 5}\n")
    with pytest.raises(ImportInputError) as err:
        import_export("csv", TB / "bad" / "rating-off-scale.csv", mapping)
    assert _message(err) == ("rating-off-scale.csv: column 'Rating': '9' is not on the 5-point scale stated in the "
                             "mapping (codes 1 to 5)")
    with pytest.raises(ImportInputError) as err:
        import_export("csv", TB / "generic" / "contacts.csv")
    assert _message(err) == (
        "contacts.csv: no column for contact_id, opened_at, closed_at, agent_id, customer_id; name them in the "
        "mapping (columns: {contact_id: {column: ...}}); the table's columns are 'Ticket', 'Opened', 'Closed', "
        "'Agent', 'Queue', 'Medium', 'Customer', 'Policy', 'Product', 'Reason', 'Handle (s)', 'Rating', 'Rated at', "
        "'Comment', 'Site', ...")


# =================================================================================================
# the report page
# =================================================================================================
def test_report_page_is_offline_and_escapes_vendor_text(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(IC, export, ignore=shutil.ignore_patterns("bad"))
    text = (export / "conversations.json").read_text().replace('"carrier_api"', '"<img src=x onerror=alert(1)>"')
    (export / "conversations.json").write_text(text)
    page = import_export("intercom", export, IC / "mapping.yaml").report.to_html()
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page and "<link" not in page
    assert "<h2>CSAT scale</h2>" in page and "<td>rating_time_assignee</td>" in page


def test_zendesk_full_json_export_one_ticket_per_line_gzipped(tmp_path, zd):
    """Zendesk's full JSON export: one ticket per line (some wrapped as {"ticket": ...}), gzipped;
    the same contacts as the page export."""
    export = _export_with(tmp_path, {"tickets.json": None})
    tickets = [t for p in iter_pages(ZD / "tickets.json", "tickets", expected="X") for t in p]
    lines = [json.dumps({"ticket": t} if i % 2 else t) for i, t in enumerate(tickets)]
    (export / "tickets.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    r = import_zendesk_api(export, ZD / "mapping.yaml")
    pd.testing.assert_frame_equal(r.contacts, zd.contacts)
    info = next(f for f in r.report.files if f.name == "tickets.jsonl.gz")
    assert (info.pages, info.records) == (25, 25)


def test_table_of_rated_contacts_says_it_cannot_show_response_or_invitation_rates(tmp_path):
    """An export of rated tickets only (every row answered, no send time): dataset.yaml says response
    and invitation rates cannot be seen, so the survey screen does not read 100% as a rate."""
    table = tmp_path / "rated.csv"
    table.write_text("id,opened,closed,agent,channel,student,score\n"
                     "1,2026-03-02 09:00,2026-03-02 09:30,ana,course evaluation,s1,5\n"
                     "2,2026-03-02 10:00,2026-03-02 11:00,ben,course evaluation,s2,2\n", encoding="utf-8")
    mapping = {"vendor": "csv", "columns": {"contact_id": {"column": "id"}, "opened_at": {"column": "opened"},
                                            "closed_at": {"column": "closed"}, "agent_id": {"column": "agent"},
                                            "team": {"value": "One"}, "channel": {"column": "channel"},
                                            "customer_id": {"column": "student"}, "csat": {"column": "score"}},
               "csat": {"points": 5}, "channels": {"course evaluation": "other"}}
    r = import_export("csv", table, parse_mapping(mapping))
    note = ("the table has no unanswered surveys and no contacts that were never surveyed: it cannot show response "
            "rates or invitation rates (state `visibility` in the mapping if it does)")
    assert r.dataset["visibility"] == {"unanswered_invitations": False, "uninvited_contacts": False, "note": note}
    assert note in r.report.warnings
    assert not any("channel values" in w for w in r.report.warnings)      # mapped with its spaces: known
    stated = parse_mapping({**mapping, "visibility": {"unanswered_invitations": True}})
    assert import_export("csv", table, stated).dataset["visibility"] == {
        "unanswered_invitations": True, "uninvited_contacts": True, "note": "as the mapping states (visibility)"}
    with pytest.raises(ImportInputError, match=r"mapping: visibility: expected \{unanswered_invitations"):
        parse_mapping({**mapping, "visibility": {"answered": False}})


def test_table_without_send_times_cannot_show_response_rates():
    """T-04 has no rating and the table no send time: it is a contact never surveyed, not an unanswered one."""
    r = import_export("csv", TB / "generic" / "contacts.csv", TB / "generic" / "mapping.yaml")
    assert r.dataset["visibility"] == {
        "unanswered_invitations": False, "uninvited_contacts": True,
        "note": "the table has no unanswered surveys: it cannot show response rates (state `visibility` in the "
                "mapping if it does)"}
