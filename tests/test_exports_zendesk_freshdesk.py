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
        f"{str(bad)!r} (rating records 9002); expected a Freshdesk rating code (-103 ... 103) of the survey's scale. "
        "Nothing was imported: an answered survey is never written with an empty CSAT")


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
