"""Zendesk and Freshdesk exports as the vendors document them (issue 16, part A), and broken
exports of any vendor.

Every fixture here is built in the test, field by field, from a documented shape; the comment next
to each says where the shape comes from. None comes from the project's simulator.
"""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from upstream.data.importers import ImportInputError, import_export

FIXTURES = Path(__file__).parent / "fixtures" / "vendors"


def _message(err) -> str:
    return str(err.value)


def _codes(csat: pd.Series) -> dict:
    return {k: None if pd.isna(v) else int(v) for k, v in csat.items()}


def _pages(path: Path) -> list[dict]:
    from upstream.data.importers.pages import iter_json_values
    return [value for value, _line in iter_json_values(path)]


# =================================================================================================
# broken exports (item 7): a message naming the file and what was expected, nothing written
# =================================================================================================
HTML_503 = (b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>\n"
            b"<body><h1>Service Unavailable</h1></body></html>\n")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)


def _broken(tmp_path: Path, vendor_dir: str, stem: str, name: str, content: bytes) -> Path:
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / vendor_dir, export, ignore=shutil.ignore_patterns("bad"))
    for old in export.glob(f"{stem}.*"):
        old.unlink()
    (export / name).write_bytes(content)
    return export


@pytest.mark.parametrize("vendor, folder, stem, name, content, message", [
    ("zendesk", "zendesk-api", "tickets", "tickets.json", HTML_503,
     "tickets.json: line 1, column 1: expected a JSON object or array, found '<!DOCTYPE html>' (an HTML or XML "
     "page, e.g. an error or sign-in page saved instead of the API response; expected the JSON the API returns)"),
    ("freshdesk", "freshdesk-api", "satisfaction_ratings", "satisfaction_ratings.json", PNG,
     "satisfaction_ratings.json: the file is a PNG image, not JSON text; expected a JSON export (API pages saved "
     "as .json, .jsonl or .ndjson, optionally gzipped)"),
    ("freshdesk", "freshdesk-api", "tickets", "tickets.json", b"Ticket ID,Subject,Status\n2001,Refund,Closed\n",
     "tickets.json: line 1, column 1: expected a JSON object or array, found 'Ticket ID,Subject,St' (it looks "
     "like a CSV table (a header row); expected the JSON pages the API returns)"),
    ("zendesk", "zendesk-api", "satisfaction_ratings", "satisfaction_ratings.json",
     b'{"satisfaction_ratings": [{"id": 35436, "score": "go',
     "satisfaction_ratings.json: not valid JSON at line 1, column 50: Unterminated string starting at (the file "
     "ends in the middle of a value: truncated?)"),
])
def test_broken_exports_name_the_file_and_what_was_expected(tmp_path, vendor, folder, stem, name, content,
                                                            message):
    export = _broken(tmp_path, folder, stem, name, content)
    with pytest.raises(ImportInputError) as err:
        import_export(vendor, export)
    assert _message(err) == message


def test_a_download_cut_off_mid_gzip_says_so(tmp_path):
    whole = (FIXTURES / "zendesk-api" / "tickets.json").read_bytes()
    export = _broken(tmp_path, "zendesk-api", "tickets", "tickets.json.gz", gzip.compress(whole)[:400])
    with pytest.raises(ImportInputError) as err:
        import_export("zendesk", export)
    assert _message(err) == (
        "tickets.json.gz: cannot be read (Compressed file ended before the end-of-stream marker was reached); the "
        "gzip file ends early: the download was cut off?; expected a JSON export (optionally gzipped)")


def test_gzipped_json_lines_import_and_a_gzip_saved_as_json_is_read(tmp_path):
    source = FIXTURES / "freshdesk-api" / "tickets.json"
    lines = "\n".join(json.dumps(r) for page in _pages(source) for r in page).encode()
    plain = import_export("freshdesk", FIXTURES / "freshdesk-api")
    export = _broken(tmp_path, "freshdesk-api", "tickets", "tickets.jsonl.gz", gzip.compress(lines))
    gzipped = import_export("freshdesk", export)
    pd.testing.assert_frame_equal(gzipped.contacts, plain.contacts)
    # a browser that saved the gzip body under the .json name: the content decides
    export2 = _broken(tmp_path / "b", "zendesk-api", "tickets", "tickets.json",
                      gzip.compress((FIXTURES / "zendesk-api" / "tickets.json").read_bytes()))
    assert len(import_export("zendesk", export2).contacts) == 19


def test_a_broken_export_writes_nothing(tmp_path):
    from upstream.cli import main

    export = _broken(tmp_path, "zendesk-api", "tickets", "tickets.json", HTML_503)
    out = tmp_path / "out"
    assert main(["import", "zendesk", str(export), "--out", str(out)]) == 2
    assert not out.exists() and not list(tmp_path.glob(".out.partial-*"))


# =================================================================================================
# Freshdesk: surveys on different scales (item 4), answered-only visibility (item 5), unreadable
# ratings (item 6)
# =================================================================================================
def _fd_ticket(tid: int, agent: int, *, created: str, resolved: str) -> dict:
    # GET /api/v2/tickets?include=stats (https://developers.freshdesk.com/api/#list_all_tickets): ids are
    # integers, status 4 Resolved / 5 Closed, source 1 Email, stats.resolved_at/closed_at/reopened_at;
    # field list as singer-io/tap-freshdesk tap_freshdesk/schemas/tickets.json
    return {"id": tid, "subject": "Order", "status": 5, "priority": 1, "source": 1, "type": "Question",
            "requester_id": 5000 + tid, "responder_id": agent, "group_id": 81, "product_id": None,
            "company_id": None, "tags": [], "custom_fields": {}, "spam": False, "deleted": False,
            "created_at": created, "updated_at": resolved,
            "stats": {"first_responded_at": created, "resolved_at": resolved, "closed_at": resolved,
                      "reopened_at": None}}


def _fd_rating(rid: int, tid: int, survey: int, code, agent: int, when: str) -> dict:
    # GET /api/v2/surveys/satisfaction_ratings (https://developers.freshdesk.com/api/#satisfaction-ratings, as
    # restated in docs/importers/vendor_formats.md §2.3): survey_id, user_id, agent_id, group_id, ticket_id,
    # feedback, ratings {"default_question": <code>, "question_<n>": <code>}, created_at, updated_at
    return {"id": rid, "survey_id": survey, "user_id": 5000 + tid, "agent_id": agent, "group_id": 81,
            "ticket_id": tid, "feedback": None, "ratings": {"default_question": code},
            "created_at": when, "updated_at": when}


def _fd_survey(sid: int, accepted: list[int], active: bool) -> dict:
    # GET /api/v2/surveys: singer-io/tap-freshdesk tap_freshdesk/schemas/surveys.json (id, title,
    # questions[{id, label, accepted_ratings}], created_at, updated_at); "active" from the API reference
    return {"id": sid, "title": f"Survey {sid}", "active": active,
            "questions": [{"id": "default_question", "label": "How would you rate our support?",
                           "accepted_ratings": accepted}],
            "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z"}


FIVE = [-103, -102, 100, 102, 103]
THREE = [-103, 100, 103]
# an account that moved from a 5-point survey (11) to a 3-point survey (12) on 2026-03-10
FD_CODES = [(11, 103), (11, 102), (11, 100), (11, -102), (11, -103), (11, 103),
            (12, 103), (12, 100), (12, -103), (12, 103)]


def _freshdesk_export(tmp_path: Path, codes=FD_CODES, surveys: list | None = None) -> Path:
    export = tmp_path / "fd"
    export.mkdir()
    tickets, ratings = [], []
    for i, (survey, code) in enumerate(codes):
        tid, day = 4001 + i, 2 + i
        tickets.append(_fd_ticket(tid, 71 + i % 3, created=f"2026-03-{day:02d}T08:00:00Z",
                                  resolved=f"2026-03-{day:02d}T10:00:00Z"))
        ratings.append(_fd_rating(9001 + i, tid, survey, code, 71 + i % 3, f"2026-03-{day:02d}T12:00:00Z"))
    (export / "tickets.json").write_text(json.dumps(tickets))
    (export / "satisfaction_ratings.json").write_text(json.dumps(ratings))
    if surveys is not None:
        (export / "surveys.json").write_text(json.dumps(surveys))
    return export


SURVEYS = [_fd_survey(11, FIVE, active=False), _fd_survey(12, THREE, active=True)]


def test_freshdesk_surveys_on_two_scales_are_refused_with_the_mapping_lines_to_write(tmp_path):
    export = _freshdesk_export(tmp_path, surveys=SURVEYS)
    with pytest.raises(ImportInputError) as err:
        import_export("freshdesk", export)
    assert _message(err) == (
        "satisfaction_ratings.json: the ratings come from surveys on different scales (survey 11: 5-point (6 "
        "ratings); survey 12: 3-point (4 ratings)); a data set has one CSAT scale, and an answer on one scale is not "
        "the same answer on another (a 3-point 'Happy' is not 5 of 5). Nothing was imported. State in the mapping "
        "how each survey's answers map onto one scale, for example (check every code; this is a suggestion, not "
        "applied):\n\ncsat:\n  points: 5\n  by_survey:\n    12: {-103: 1, 100: 3, 103: 5}")


def test_freshdesk_surveys_mapped_onto_one_scale_by_the_mapping(tmp_path):
    export = _freshdesk_export(tmp_path, surveys=SURVEYS)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("vendor: freshdesk\ncsat:\n  points: 5\n  by_survey:\n    12: {-103: 1, 100: 3, 103: 4}\n")
    result = import_export("freshdesk", export, mapping)
    csat = dict(zip(result.surveys["contact_id"], result.surveys["csat"].astype(int)))
    # survey 11 on its own 5-point scale; survey 12's Happy (103) is 4 because the mapping says so
    assert csat == {"4001": 5, "4002": 4, "4003": 3, "4004": 2, "4005": 1, "4006": 5,
                    "4007": 4, "4008": 3, "4009": 1, "4010": 4}
    assert result.dataset["csat"]["points"] == 5
    assert result.dataset["csat"]["scale_source"] == "the mapping (csat.points, csat.by_survey for survey 12)"


def test_freshdesk_three_point_first_then_five_point_needs_the_mapping_too(tmp_path):
    codes = [(12, 103), (12, -103), (11, 102), (11, 103)]
    export = _freshdesk_export(tmp_path, codes=codes, surveys=SURVEYS)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("vendor: freshdesk\ncsat: {points: 3}\n")
    with pytest.raises(ImportInputError) as err:
        import_export("freshdesk", export, mapping)
    assert _message(err).endswith("csat:\n  points: 3\n  by_survey:\n    11: {-103: 1, -102: 1, 100: 2, 102: 3, "
                                  "103: 3}")
    mapping.write_text("vendor: freshdesk\ncsat: {points: 3, by_survey: {11: {-103: 1, -102: 1, 100: 2, 102: 3, "
                       "103: 3}}}\n")
    result = import_export("freshdesk", export, mapping)
    assert list(result.surveys.sort_values("contact_id")["csat"].astype(int)) == [3, 1, 3, 3]


def test_freshdesk_two_surveys_without_surveys_json_cannot_be_told_apart(tmp_path):
    export = _freshdesk_export(tmp_path)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("vendor: freshdesk\ncsat: {points: 5}\n")
    with pytest.raises(ImportInputError) as err:
        import_export("freshdesk", export, mapping)
    assert _message(err) == (
        "satisfaction_ratings.json: the ratings come from surveys 11, 12 (survey_id), and the scale of survey 11 "
        "cannot be told from its codes (-103, -102, 100, 102, 103): a 3-point 'Happy' and a 5-point 'Very Happy' "
        "are both 103. Include surveys.json, or state the survey's codes in the mapping (csat: {points: 5, "
        "by_survey: {11: {-103: 1, 100: 3, 103: 5}}})")


@pytest.mark.parametrize("text, message", [
    ("csat: {by_survey: {12: {103: 5}}}\n", "mapping.yaml: csat.by_survey: needs points: the scale every survey's "
                                            "answers are written onto"),
    ("csat: {points: 5, by_survey: {12: {103: 6}}}\n",
     "mapping.yaml: csat.by_survey.12: expected vendor code: code pairs with codes 1 to 5, e.g. {-103: 1, 100: 3, "
     "103: 5}"),
    ("csat: {points: 5, by_survey: {13: {103: 5}}}\n",
     "mapping.yaml: csat.by_survey.13: no ratings of survey 13 in satisfaction_ratings.json; the surveys there are "
     "11, 12"),
    ("csat: {points: 5, by_survey: {12: {103: 5, -103: 1}}}\n",
     "mapping.yaml: csat.by_survey.12: no code for '100' (ratings.default_question values of survey 12 in "
     "satisfaction_ratings.json); list every value the survey uses"),
])
def test_freshdesk_by_survey_mapping_errors(tmp_path, text, message):
    export = _freshdesk_export(tmp_path, surveys=SURVEYS)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("vendor: freshdesk\n" + text)
    with pytest.raises(ImportInputError) as err:
        import_export("freshdesk", export, mapping)
    assert _message(err) == message


def test_freshdesk_lists_answered_surveys_only_and_says_so(tmp_path):
    export = _freshdesk_export(tmp_path, codes=[(12, c) for c in (103, 100, -103, 103)], surveys=SURVEYS)
    result = import_export("freshdesk", export)
    assert result.dataset["visibility"] == {
        "unanswered_invitations": False, "uninvited_contacts": True,
        "note": ("Freshdesk's satisfaction_ratings list only answered surveys: a survey sent without an answer is "
                 "not in the export, so invitation and response rates cannot be computed")}
    assert result.surveys["csat"].notna().all()
    assert ("Freshdesk lists only answered surveys: surveys sent without an answer cannot be seen, so response "
            "rates and non-response studies need the survey send log") in result.report.warnings


@pytest.mark.parametrize("bad", ["Happy!", 104, True])
def test_freshdesk_unreadable_rating_stops_the_import(tmp_path, bad):
    codes = [(12, 103), (12, bad), (12, 100)]
    export = _freshdesk_export(tmp_path, codes=codes, surveys=SURVEYS)
    with pytest.raises(ImportInputError) as err:
        import_export("freshdesk", export)
    assert _message(err) == (
        f"satisfaction_ratings.json: field 'ratings.default_question': 1 rating cannot be read as CSAT: "
        f"{str(bad)!r} (rating records 9002); expected a Freshdesk rating code (-103 ... 103) of the survey's scale "
        "(the classic codes 1 Happy, 2 Neutral, 3 Unhappy need the mapping's csat.by_survey). Nothing was imported: "
        "an answered survey is never written with an empty CSAT")


def test_freshdesk_classic_codes_are_read_through_by_survey(tmp_path):
    # API v1 / classic ratings: 1 Happy, 2 Neutral, 3 Unhappy (1 is best; docs/importers/vendor_formats.md §2.3)
    export = _freshdesk_export(tmp_path, codes=[(1, 1), (1, 3), (1, 2)])
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("vendor: freshdesk\ncsat: {points: 3, by_survey: {1: {1: 3, 2: 2, 3: 1}}}\n")
    result = import_export("freshdesk", export, mapping)
    assert list(result.surveys.sort_values("contact_id")["csat"].astype(int)) == [3, 1, 2]


def test_freshdesk_ratings_as_singer_tap_lands_them(tmp_path):
    # singer-io/tap-freshdesk tap_freshdesk/schemas/satisfaction_ratings.json: ratings is a list of
    # {"question": ..., "value": ...} items
    export = _freshdesk_export(tmp_path, codes=[(12, 103), (12, -103)], surveys=SURVEYS)
    ratings = json.loads((export / "satisfaction_ratings.json").read_text())
    for r in ratings:
        r["ratings"] = [{"question": "default_question", "value": r["ratings"]["default_question"]},
                        {"question": "question_2", "value": 100}]
    (export / "satisfaction_ratings.json").write_text(json.dumps(ratings))
    result = import_export("freshdesk", export)
    assert list(result.surveys["csat"].astype(int)) == [3, 1]


# =================================================================================================
# Zendesk: merged tickets (item 1), CSAT survey responses (item 2), score=received (item 3), scores
# and timestamps as documented (items 6, 8)
# =================================================================================================
def _zd_ticket(tid, requester, assignee, *, created, status="solved", tags=(), rel=None, score="unoffered"):
    # GET /api/v2/tickets (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/): integer ids,
    # ISO 8601 UTC times, via {channel, source {from, to, rel}} (airbytehq/airbyte source-zendesk-support
    # schemas/shared/via.json), tags, custom_fields, embedded satisfaction_rating {score}
    return {"id": tid, "created_at": created, "updated_at": created, "type": "question", "status": status,
            "requester_id": requester, "submitter_id": requester, "assignee_id": assignee, "group_id": 360100,
            "via": {"channel": "email", "source": {"from": {}, "to": {}, "rel": rel}},
            "tags": list(tags), "custom_fields": [], "satisfaction_rating": {"score": score}}


def _zd_metric(tid, *, solved, replies=1, reopens=0):
    # GET /api/v2/ticket_metrics: airbytehq/airbyte source-zendesk-support schemas/ticket_metrics.json
    return {"id": 800000 + tid, "ticket_id": tid, "created_at": solved, "updated_at": solved, "solved_at": solved,
            "reopens": reopens, "replies": replies, "group_stations": 1, "assignee_stations": 1}


def _zd_rating(rid, tid, assignee, score, *, created, updated):
    # GET /api/v2/satisfaction_ratings: airbytehq/airbyte source-zendesk-support schemas/satisfaction_ratings.json
    # (id, assignee_id, group_id, requester_id, ticket_id, score, comment, created_at, updated_at, url)
    return {"url": f"https://acme.zendesk.com/api/v2/satisfaction_ratings/{rid}.json", "id": rid,
            "assignee_id": assignee, "group_id": 360100, "requester_id": 5000, "ticket_id": tid, "score": score,
            "comment": None, "reason": None, "created_at": created, "updated_at": updated}


def _zd_response(rid, tid, rating, *, at, survey="01HZCSAT", version=1):
    # CSAT survey responses: singer-io/tap-zendesk tap_zendesk/schemas/csat_survey_responses.json (string ids,
    # subjects[{id, type, zrn}], answers[{id, type, rating, rating_category, comment, created_at, updated_at}],
    # survey {id, version, state}, responder_id, expires_at)
    category = "good" if rating >= 4 else "bad"
    return {"id": rid, "expires_at": "2026-05-01T00:00:00Z", "responder_id": "5000",
            "survey": {"id": survey, "version": version, "state": "enabled"},
            "subjects": [{"id": str(tid), "type": "ticket", "zrn": f"zen:ticket:{tid}"}],
            "answers": [{"id": f"a{rid}", "type": "rating_scale", "rating": rating, "rating_category": category,
                         "comment": None, "created_at": at, "updated_at": at}]}


def _zendesk_export(tmp_path: Path, tickets, metrics, ratings=None, responses=None) -> Path:
    export = tmp_path / "zd"
    export.mkdir(exist_ok=True)
    (export / "tickets.json").write_text(json.dumps({"tickets": tickets, "next_page": None, "count": len(tickets)}))
    (export / "ticket_metrics.json").write_text(json.dumps({"ticket_metrics": metrics, "next_page": None}))
    if ratings is not None:
        (export / "satisfaction_ratings.json").write_text(
            json.dumps({"satisfaction_ratings": ratings, "next_page": None, "count": len(ratings)}))
    if responses is not None:
        (export / "csat_survey_responses.json").write_text(json.dumps({"survey_responses": responses}))
    return export


def test_zendesk_merged_tickets_are_not_contacts_nor_repeats(tmp_path):
    # customer 5001: ticket 101, two days later 102 (merged into 103, opened 9 days after 101)
    tickets = [_zd_ticket(101, 5001, 9001, created="2026-03-02T08:00:00Z"),
               _zd_ticket(102, 5001, 9001, created="2026-03-04T08:00:00Z", status="closed",
                          tags=["closed_by_merge", "billing"]),
               _zd_ticket(103, 5001, 9002, created="2026-03-11T08:00:00Z"),
               _zd_ticket(104, 5002, 9002, created="2026-03-12T08:00:00Z", status="closed", rel="merge"),
               _zd_ticket(105, 5003, 9002, created="2026-03-20T08:00:00Z")]
    metrics = [_zd_metric(t["id"], solved=t["created_at"].replace("08:00", "10:00")) for t in tickets]
    ratings = [_zd_rating(70001, 101, 9001, "good", created="2026-03-03T10:00:00Z", updated="2026-03-03T11:00:00Z"),
               _zd_rating(70002, 102, 9001, "offered", created="2026-03-05T10:00:00Z",
                          updated="2026-03-05T10:00:00Z"),
               _zd_rating(70003, 103, 9002, "unoffered", created="2026-03-12T10:00:00Z",
                          updated="2026-03-12T10:00:00Z")]
    result = import_export("zendesk", _zendesk_export(tmp_path, tickets, metrics, ratings))
    c = result.contacts.set_index("contact_id")
    assert list(c.index) == ["101", "103", "105"]
    # with 102 counted, 101 would be a repeat (2 days) and 102 a first-contact resolution
    assert c.loc["101", "repeat_within_7d"] == False  # noqa: E712 - a nullable boolean
    assert result.report.dropped_by_reason("contacts")[
        "merged into another ticket (closed by a merge: tag closed_by_merge); not a contact of its own, nor a "
        "repeat"] == 2
    assert result.report.dropped_by_reason("surveys") == {
        "no survey was sent (score unoffered)": 1, "its ticket was dropped (see the contacts' reasons)": 1}


def _switch_export(tmp_path: Path, with_legacy=True):
    """An account on the legacy CSAT until 2026-03-10, then on a 5-point CSAT survey."""
    tickets, metrics, ratings, responses = [], [], [], []
    legacy = [(201, "good"), (202, "bad"), (203, "good"), (204, "offered")]
    new = [(205, 5), (206, 4), (207, 2), (208, 3), (209, 1)]
    for i, (tid, _v) in enumerate(legacy + new):
        day = 2 + 2 * i
        tickets.append(_zd_ticket(tid, 5100 + i, 9001 + i % 2, created=f"2026-03-{day:02d}T08:00:00Z"))
        metrics.append(_zd_metric(tid, solved=f"2026-03-{day:02d}T10:00:00Z"))
    for rid, (tid, score) in enumerate(legacy, start=71001):
        day = 2 + 2 * (tid - 201)
        ratings.append(_zd_rating(rid, tid, 9001 + (tid - 201) % 2, score, created=f"2026-03-{day + 1:02d}T10:00:00Z",
                                  updated=f"2026-03-{day + 1:02d}T12:30:00Z"))
    for tid, rating in new:
        day = 2 + 2 * (tid - 201)
        responses.append(_zd_response(f"01HR{tid}", tid, rating, at=f"2026-03-{day + 1:02d}T09:15:00.123456Z"))
    return _zendesk_export(tmp_path, tickets, metrics, ratings if with_legacy else [], responses)


def test_zendesk_new_csat_responses_alone(tmp_path):
    result = import_export("zendesk", _switch_export(tmp_path, with_legacy=False))
    s = result.surveys.set_index("contact_id")
    assert s["csat"].astype(int).to_dict() == {"205": 5, "206": 4, "207": 2, "208": 3, "209": 1}
    assert s.loc["205", "responded_at"] == pd.Timestamp("2026-03-11 09:15:00.123456")   # microseconds kept
    assert s["responded_at"].notna().all()
    assert result.dataset["csat"]["points"] == 5 and result.dataset["csat"]["top_box"] == [4, 5]
    assert result.dataset["csat"]["scale_source"] == (
        "the survey responses' ratings (a 4 or 5 exists only on 5-choice surveys)")
    # a response names no agent: the export-time assignee, said in the attribution
    c = result.contacts.set_index("contact_id")
    assert (c["agent_id"] == c["agent_id_at_export"]).all()
    assert "csat_survey_responses.json: a survey response names no agent" in result.dataset["attribution"][
        "description"]
    # survey responses are answers only and the tickets' legacy score stays unoffered on the new CSAT:
    # non-response cannot be seen (an 'unoffered' there does not mean that no survey was sent)
    assert result.dataset["visibility"]["unanswered_invitations"] is False
    assert result.dataset["visibility"]["note"].startswith("csat_survey_responses.json lists answered survey "
                                                           "responses only")


def test_zendesk_switch_to_new_csat_mid_period_keeps_both(tmp_path):
    export = _switch_export(tmp_path)
    with pytest.raises(ImportInputError) as err:
        import_export("zendesk", export)
    assert _message(err) == (
        "csat_survey_responses.json: the ratings come from surveys on different scales (survey legacy: 2-point (3 "
        "ratings); survey 01HZCSAT:1: 5-point (5 ratings)); a data set has one CSAT scale, and an answer on one "
        "scale is not the same answer on another (a 3-point 'Happy' is not 5 of 5). Nothing was imported. State in "
        "the mapping how each survey's answers map onto one scale, for example (check every code; this is a "
        "suggestion, not applied):\n\ncsat:\n  points: 5\n  by_survey:\n    legacy: {bad: 1, good: 5}")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("vendor: zendesk\ncsat: {points: 5, by_survey: {legacy: {bad: 1, good: 4}}}\n")
    result = import_export("zendesk", export, mapping)
    s = result.surveys.set_index("contact_id")
    assert _codes(s["csat"]) == {
        "201": 4, "202": 1, "203": 4, "204": None, "205": 5, "206": 4, "207": 2, "208": 3, "209": 1}
    assert pd.isna(s.loc["204", "responded_at"]) and s.loc["204", "sent_at"] == pd.Timestamp("2026-03-09 10:00")
    assert result.report.read["surveys"] == 9


def test_zendesk_switch_with_legacy_ratings_pulled_with_score_received(tmp_path):
    # the legacy list without its offered record (score=received); ticket 204 still says offered
    export = _switch_export(tmp_path)
    page = json.loads((export / "satisfaction_ratings.json").read_text())
    page["satisfaction_ratings"] = [r for r in page["satisfaction_ratings"] if r["score"] != "offered"]
    (export / "satisfaction_ratings.json").write_text(json.dumps(page))
    page = json.loads((export / "tickets.json").read_text())
    next(t for t in page["tickets"] if t["id"] == 204)["satisfaction_rating"] = {"score": "offered"}
    (export / "tickets.json").write_text(json.dumps(page))
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("vendor: zendesk\ncsat: {points: 5, by_survey: {legacy: {bad: 1, good: 4}}}\n")
    result = import_export("zendesk", export, mapping)   # the offered survey needs no code in by_survey
    s = result.surveys.set_index("contact_id")
    assert _codes(s["csat"]) == {
        "201": 4, "202": 1, "203": 4, "204": None, "205": 5, "206": 4, "207": 2, "208": 3, "209": 1}
    assert result.report.facts["offered_from_tickets"] == 1
    assert result.dataset["visibility"]["unanswered_invitations"] is False     # survey responses hide it


def test_zendesk_export_without_any_rating_names_both_sources(tmp_path):
    tickets = [_zd_ticket(301, 5001, 9001, created="2026-03-02T08:00:00Z")]
    export = _zendesk_export(tmp_path, tickets, [_zd_metric(301, solved="2026-03-02T10:00:00Z")], ratings=[])
    with pytest.raises(ImportInputError) as err:
        import_export("zendesk", export)
    message = (
        "satisfaction_ratings.json: the export holds no ratings (satisfaction_ratings.json list no answered or "
        "offered survey); an account on Zendesk's CSAT since 2024 answers through CSAT survey responses (save them "
        "as csat_survey_responses.json), the legacy CSAT through satisfaction_ratings.json")
    assert _message(err) == message
    only_unoffered = [_zd_rating(76001, 301, 9001, "unoffered", created="2026-03-02T10:00:00Z",
                                 updated="2026-03-02T10:00:00Z")]
    export = _zendesk_export(tmp_path, tickets, [_zd_metric(301, solved="2026-03-02T10:00:00Z")], only_unoffered)
    with pytest.raises(ImportInputError) as err:
        import_export("zendesk", export)
    assert _message(err) == message


def test_zendesk_three_choice_survey_needs_its_scale_stated(tmp_path):
    export = _switch_export(tmp_path, with_legacy=False)
    page = json.loads((export / "csat_survey_responses.json").read_text())
    for r in page["survey_responses"]:
        r["answers"][0]["rating"] = min(r["answers"][0]["rating"], 3)
    (export / "csat_survey_responses.json").write_text(json.dumps(page))
    with pytest.raises(ImportInputError) as err:
        import_export("zendesk", export)
    assert _message(err) == (
        "csat_survey_responses.json: the scale of CSAT survey 01HZCSAT:1 cannot be told from its ratings (1, 2, 3): "
        "Zendesk's CSAT has 2, 3 or 5 choices; state it in the mapping (csat: {points: 3}, or 2 or 5)")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("vendor: zendesk\ncsat: {points: 3}\n")
    result = import_export("zendesk", export, mapping)
    assert sorted(result.surveys["csat"].astype(int)) == [1, 2, 3, 3, 3]
    assert result.dataset["csat"]["top_box"] == [3]


def _received_export(tmp_path: Path, embedded: bool) -> Path:
    """Ratings pulled with ?score=received: only good/bad records; 3 of 5 tickets were offered a survey
    and 1 of them answered nothing (offered on the ticket)."""
    tickets, metrics = [], []
    states = {401: "good", 402: "bad", 403: "offered", 404: "unoffered", 405: "good"}
    for i, (tid, state) in enumerate(states.items()):
        t = _zd_ticket(tid, 5200 + i, 9001, created=f"2026-03-{2 + i:02d}T08:00:00Z", score=state)
        if not embedded:
            del t["satisfaction_rating"]
        tickets.append(t)
        metrics.append(_zd_metric(tid, solved=f"2026-03-{2 + i:02d}T10:00:00Z"))
    ratings = [_zd_rating(72001 + i, tid, 9001, state, created=f"2026-03-{3 + i:02d}T10:00:00Z",
                          updated=f"2026-03-{3 + i:02d}T11:00:00Z")
               for i, (tid, state) in enumerate(states.items()) if state in ("good", "bad") and tid != 405]
    return _zendesk_export(tmp_path, tickets, metrics, ratings)


def test_zendesk_score_received_takes_non_response_from_the_tickets(tmp_path):
    result = import_export("zendesk", _received_export(tmp_path, embedded=True))
    s = result.surveys.set_index("contact_id")
    assert sorted(s.index) == ["401", "402", "403"]
    assert pd.isna(s.loc["403", "csat"]) and s.loc["403", "sent_at"] == pd.Timestamp("2026-03-04 10:00")
    assert s["csat"].notna().sum() == 2       # response rate 2 of 3 surveys, not 100%
    # ticket 405 is rated good on the ticket but its rating record is not in the list: said, not invented
    assert ("1 ticket(s) carry an answered satisfaction_rating (good or bad) in tickets.json that is in none of "
            "satisfaction_ratings.json (tickets 405); they have no rating time and were not imported as ratings: "
            "export the ratings for the whole period") in result.report.warnings
    assert result.dataset["visibility"]["unanswered_invitations"] is True
    assert result.report.facts["offered_from_tickets"] == 1
    assert ("satisfaction_ratings.json list answered ratings only (pulled with score=received?): the 1 surveys "
            "offered without an answer were taken from the tickets' embedded satisfaction_rating (score offered) in "
            "tickets.json; their send time is the solve time") in result.report.warnings


def test_zendesk_score_received_without_ticket_states_says_non_response_is_not_visible(tmp_path):
    result = import_export("zendesk", _received_export(tmp_path, embedded=False))
    note = ("satisfaction_ratings.json list answered ratings only and tickets.json carries no embedded "
            "satisfaction_rating, so surveys sent without an answer cannot be seen")
    assert result.dataset["visibility"] == {"unanswered_invitations": False, "uninvited_contacts": True,
                                            "note": note}
    assert any(w.startswith(note) for w in result.report.warnings)
    assert result.surveys["csat"].notna().all() and len(result.surveys) == 2


def test_zendesk_unknown_score_stops_and_comment_variants_are_answers(tmp_path):
    tickets = [_zd_ticket(500 + i, 5300 + i, 9001, created=f"2026-03-{2 + i:02d}T08:00:00Z") for i in range(4)]
    metrics = [_zd_metric(t["id"], solved=t["created_at"].replace("08:00", "10:00")) for t in tickets]
    scores = ["good_with_comment", "bad_without_comment", "offered", "great"]
    ratings = [_zd_rating(73000 + i, 500 + i, 9001, s, created=f"2026-03-{3 + i:02d}T10:00:00Z",
                          updated=f"2026-03-{3 + i:02d}T11:00:00Z") for i, s in enumerate(scores)]
    export = _zendesk_export(tmp_path, tickets, metrics, ratings)
    with pytest.raises(ImportInputError) as err:
        import_export("zendesk", export)
    assert _message(err) == (
        "satisfaction_ratings.json: field 'score': 1 rating cannot be read as CSAT: 'great' (rating records 73003); "
        "expected good, bad, offered or unoffered. Nothing was imported: an answered survey is never written with "
        "an empty CSAT")
    ratings[3]["score"] = "unoffered"
    export = _zendesk_export(tmp_path, tickets, metrics, ratings)
    result = import_export("zendesk", export)
    assert _codes(result.surveys.set_index("contact_id")["csat"]) == {"500": 2, "501": 1, "502": None}


def test_zendesk_ids_times_null_assignees_and_changed_ratings_as_documented(tmp_path):
    tickets = [_zd_ticket(601, 5001, 9001, created="2026-03-02T08:00:00Z"),
               _zd_ticket(602, 5002, 9001, created="2026-03-03T10:00:00+02:00"),   # an offset
               _zd_ticket(603, 5003, None, created="2026-03-04T08:00:00"),         # no offset = UTC; no assignee
               _zd_ticket(604, 5004, 9002, created=1772784000)]                    # Unix seconds
    tickets[1]["id"] = "602"                                                       # an id as text
    metrics = [_zd_metric(int(t["id"]), solved="2026-03-06T10:00:00.250Z") for t in tickets]
    ratings = [
        # a rating changed later (good, then bad): the latest record decides
        _zd_rating(74001, 601, 9001, "good", created="2026-03-07T10:00:00Z", updated="2026-03-07T11:00:00Z"),
        _zd_rating(74002, 601, 9001, "bad", created="2026-03-07T10:00:00Z", updated="2026-03-08T11:00:00Z"),
        _zd_rating(74003, 603, None, "good", created="2026-03-07T10:00:00Z", updated="2026-03-07T11:00:00Z"),
        _zd_rating(74004, 604, 9002, "offered", created=1772870400, updated=1772870400)]
    result = import_export("zendesk", _zendesk_export(tmp_path, tickets, metrics, ratings))
    c = result.contacts.set_index("contact_id")
    assert c["opened_at"].to_dict() == {"601": pd.Timestamp("2026-03-02 08:00"), "602": pd.Timestamp("2026-03-03 08:00"),
                                        "604": pd.Timestamp("2026-03-06 08:00")}
    assert c.loc["601", "closed_at"] == pd.Timestamp("2026-03-06 10:00:00.250")
    s = result.surveys.set_index("contact_id")
    assert _codes(s["csat"]) == {"601": 1, "604": None}
    assert s.loc["604", "sent_at"] == pd.Timestamp("2026-03-07 08:00")
    dropped = result.report.dropped_by_reason("contacts")
    assert dropped == {"no assignee (neither on the rating nor assigned)": 1}
    assert result.report.dropped_by_reason("surveys") == {
        "an older rating record of a ticket that has a newer one": 1,
        "its ticket was dropped (see the contacts' reasons)": 1}


def test_freshdesk_ids_as_text_and_times_with_offsets(tmp_path):
    export = _freshdesk_export(tmp_path, codes=[(12, 103), (12, -103)], surveys=SURVEYS)
    tickets = json.loads((export / "tickets.json").read_text())
    ratings = json.loads((export / "satisfaction_ratings.json").read_text())
    tickets[0]["id"], ratings[0]["ticket_id"], ratings[0]["survey_id"] = "4001", "4001", "12"
    tickets[1]["created_at"] = "2026-03-03T09:30:00+01:30"
    (export / "tickets.json").write_text(json.dumps(tickets))
    (export / "satisfaction_ratings.json").write_text(json.dumps(ratings))
    result = import_export("freshdesk", export)
    assert _codes(result.surveys.set_index("contact_id")["csat"]) == {"4001": 3, "4002": 1}
    assert result.contacts.set_index("contact_id").loc["4002", "opened_at"] == pd.Timestamp("2026-03-03 08:00")


def test_shared_rating_checks_name_file_field_and_records():
    from upstream.data.importers.ratings import refuse_answered_without_score, refuse_unreadable_ratings

    ratings = pd.DataFrame({"id": ["r1", "r2", "r3", "r4"],
                            "responded_at": pd.to_datetime(["2026-03-02", None, "2026-03-03", "2026-03-04"]),
                            "csat": pd.array([3, pd.NA, pd.NA, pd.NA], dtype="Int64"),
                            "nps": pd.array([pd.NA, pd.NA, pd.NA, 9], dtype="Int64")})
    with pytest.raises(ImportInputError) as err:
        refuse_answered_without_score(ratings, file="ratings.json", field="rating")
    assert _message(err) == (
        "ratings.json: 1 answered rating (with a response time) has no score in field 'rating' (rating records r3). "
        "Nothing was imported: an answered survey is never written with an empty CSAT; check that the export holds "
        "the rating field")
    refuse_answered_without_score(ratings.drop(index=2), file="ratings.json", field="rating")   # no error
    raw = pd.Series(["great", None, "offered", "meh", "meh", "5 stars"], dtype="object")
    csat = pd.Series([3, None, None, None, None, None], dtype="Int64")
    with pytest.raises(ImportInputError) as err:
        refuse_unreadable_ratings(raw, csat, file="x.json", field="rating", not_answers=("offered",),
                                  expected="great, okay or not good")
    assert _message(err) == (
        "x.json: field 'rating': 3 ratings cannot be read as CSAT: 'meh', '5 stars'; expected great, okay or not "
        "good. Nothing was imported: an answered survey is never written with an empty CSAT")


def test_freshdesk_csv_export_lists_answered_surveys_only_too():
    result = import_export("freshdesk", FIXTURES / "freshdesk-csv" / "tickets.csv",
                           FIXTURES / "freshdesk-csv" / "mapping.yaml")
    assert result.dataset["visibility"]["unanswered_invitations"] is False
    assert result.dataset["visibility"]["uninvited_contacts"] is True
    assert result.surveys["csat"].notna().all()


def test_zendesk_survey_response_rating_off_its_scale_stops(tmp_path):
    export = _switch_export(tmp_path, with_legacy=False)
    page = json.loads((export / "csat_survey_responses.json").read_text())
    page["survey_responses"][1]["answers"][0]["rating"] = 7
    (export / "csat_survey_responses.json").write_text(json.dumps(page))
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("vendor: zendesk\ncsat: {points: 5}\n")
    with pytest.raises(ImportInputError) as err:
        import_export("zendesk", export, mapping)
    assert _message(err) == (
        "csat_survey_responses.json: field 'answers[].rating': 1 rating cannot be read as CSAT: '7' (rating records "
        "01HR206); expected a rating of 1 to 5 (the 5-point scale). Nothing was imported: an answered survey is "
        "never written with an empty CSAT")
