"""Help Scout, Gorgias and Intercom exports in the shapes the vendors (and the connectors that copy
them) document -- issue 16, part B. Every fixture is built here, field by field, from the source
cited next to it (not from the project's simulator); the end-to-end checks use the seeded
generator in tests/documented_exports.py."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from documented_exports import (
    BOT,
    HARMFUL,
    SUPERVISOR,
    import_and_study,
    write_gorgias,
    write_helpscout,
    write_intercom,
)

from upstream.data.importers import ImportInputError, import_export


def _by_id(frame: pd.DataFrame, column: str) -> dict:
    return dict(zip(frame["contact_id"], frame[column]))


def _refused(vendor: str, folder: Path) -> str:
    with pytest.raises(ImportInputError) as err:
        import_export(vendor, folder, folder / "mapping.yaml")
    return str(err.value)


# =================================================================================================
# Help Scout
# =================================================================================================

def _helpscout_conversation(cid: int, assignee: int | None, created: str, closed: str, policy: str) -> dict:
    # GET /v2/conversations, one conversation (https://developer.helpscout.com/mailbox-api/endpoints/
    # conversations/list): ids are integers, times ISO 8601 with Z
    return {"id": cid, "number": cid - 432200000, "threads": 4, "type": "email", "folderId": 1234, "status": "closed",
            "state": "published", "subject": "Refund", "mailboxId": 85,
            "assignee": None if assignee is None else {"id": assignee, "first": "Amanda", "last": "H",
                                                       "email": "amanda@example.com", "type": "user"},
            "createdBy": {"id": 121198824, "type": "customer"}, "createdAt": created, "closedBy": assignee,
            "closedAt": closed, "userUpdatedAt": closed, "source": {"type": "email", "via": "customer"},
            "tags": [{"id": 1, "color": "#929499", "tag": "vip"}], "cc": [], "bcc": [],
            "primaryCustomer": {"id": 121198824, "type": "customer"},
            "customFields": [{"id": 8001, "name": "Policy", "value": "1", "text": policy}]}


def _helpscout_export(folder: Path, ratings: dict, users: list | None = None) -> Path:
    folder.mkdir()
    convs = [_helpscout_conversation(432207336, 69013, "2017-09-15T09:00:00Z", "2017-09-15T11:57:14Z", "standard"),
             _helpscout_conversation(432031326, 69013, "2017-09-15T01:00:00Z", "2017-09-15T03:52:30Z", "refund"),
             _helpscout_conversation(432031327, 69020, "2017-09-16T01:00:00Z", "2017-09-16T03:52:30Z", "standard"),
             _helpscout_conversation(432031328, None, "2017-09-16T02:00:00Z", "2017-09-16T04:00:00Z", "standard")]
    (folder / "conversations.json").write_text(json.dumps(
        {"_embedded": {"conversations": convs}, "_links": {},
         "page": {"size": 25, "totalElements": len(convs), "totalPages": 1, "number": 1}}))
    (folder / "ratings.json").write_text(json.dumps(ratings))
    if users is not None:
        (folder / "users.json").write_text(json.dumps({"_embedded": {"users": users}}))
    (folder / "mapping.yaml").write_text("vendor: helpscout\ncolumns:\n  policy: {field: Policy}\n")
    return folder


def _report_row(conversation: int, thread: int, rating_id, user: int | None, at: str, comments=None) -> dict:
    # GET /v2/reports/happiness/ratings, one row of "results", field for field as the documented
    # example (https://developer.helpscout.com/mailbox-api/endpoints/reports/happiness/reports-happiness-ratings):
    # "id" is the conversation, "ratingId" the rating: 1 Great, 2 Okay, 3 Not Good
    return {"number": conversation - 432200000, "threadid": thread, "threadCreatedAt": "2017-09-15T11:57:14Z",
            "id": conversation, "type": "email", "ratingId": rating_id, "ratingCustomerId": 121198824,
            "ratingComments": comments, "ratingCreatedAt": at, "ratingCustomerName": "Alexander the Great",
            "ratingUserId": user, "ratingUserName": "Amanda Herrington"}


HS_REPORT = {"facets": {}, "results": [
    _report_row(432207336, 1169815634, 1, 69013, "2017-09-15T12:26:53Z", "Thanks for the clear reply, Amanda!"),
    _report_row(432031326, 1169298612, 3, 69020, "2017-09-15T04:10:00Z"),   # rated reply by 69020, assignee 69013
    _report_row(432031327, 1169298613, 2, 69020, "2017-09-16T05:00:00Z"),
    _report_row(432031328, 1169298614, 1, None, "2017-09-16T06:00:00Z")],     # a deleted user: no ratingUserId
    "page": 1, "pages": 1, "count": 4}


def test_helpscout_report_rows_carry_the_rating_as_rating_id(tmp_path):
    r = import_export("helpscout", _helpscout_export(tmp_path / "hs", HS_REPORT),
                      tmp_path / "hs" / "mapping.yaml")
    s = r.surveys.set_index("contact_id")
    # 1 Great -> 3, 2 Okay -> 2, 3 Not Good -> 1; no answered rating is lost
    assert s["csat"].to_dict() == {"432207336": 3, "432031326": 1, "432031327": 2}
    assert s.loc["432207336", "responded_at"] == pd.Timestamp("2017-09-15 12:26:53")
    assert s.loc["432207336", "comment"] == "Thanks for the clear reply, Amanda!"
    assert s["responded_at"].notna().all() and s["sent_at"].equals(s["responded_at"])
    agent = _by_id(r.contacts, "agent_id")
    assert agent == {"432031326": "69020", "432207336": "69013", "432031327": "69020"}   # the rated reply's author
    assert r.report.facts["reassigned_after_rating"] == 1
    # 432031328: rated, but neither the rated reply's author (a deleted user) nor an assignee is known
    assert {(d.table, d.reason): d.examples for d in r.report.dropped} == {
        ("contacts", "no agent (neither on the rating nor assigned)"): ["432031328"],
        ("surveys", "its ticket was dropped (see the contacts' reasons)"): ["1169298614"]}
    assert r.dataset["visibility"] == {
        "unanswered_invitations": False, "uninvited_contacts": True,
        "note": "Help Scout's happiness ratings list answered ratings only: a reply whose rating links got no click "
                "leaves no record"}
    assert r.report.warnings[0] == (
        "Help Scout's happiness ratings list answered ratings only: a reply whose rating links got no click leaves "
        "no record: response rates and non-response studies are not possible with this export (dataset.yaml "
        "visibility.unanswered_invitations: false)")


def test_helpscout_report_as_stitch_lands_it(tmp_path):
    # the same report as singer-io/tap-helpscout writes it (stitchdata/docs
    # _integration-schemas/helpscout/v1/happiness_ratings_report.md): snake-case columns,
    # conversation_id, rating_id 1 Great / 2 Ok / 3 Not Good, rating_user_id, thread_id
    rows = [{"conversation_id": 432207336, "rating_comments": None, "rating_created_at": "2017-09-15T12:26:53Z",
             "rating_customer_id": 121198824, "rating_customer_name": "A", "rating_id": 2, "rating_user_id": 69020,
             "rating_user_name": "B", "thread_created_at": "2017-09-15T11:57:14Z", "thread_id": 1169815634,
             "type": "email"}]
    folder = _helpscout_export(tmp_path / "hs", {"results": rows})
    (folder / "ratings.json").write_text(json.dumps(rows))                  # a bare array of rows
    r = import_export("helpscout", folder, folder / "mapping.yaml")
    assert r.surveys["csat"].tolist() == [2]
    assert _by_id(r.contacts, "agent_id")["432207336"] == "69020"


def test_helpscout_ids_as_text_and_times_with_an_offset(tmp_path):
    # the same report row with its ids written as text (as a warehouse copy may hold them) and
    # the rating time with an explicit offset: the conversation is still found, the time is UTC
    row = {**_report_row(432207336, 1169815634, 3, 69020, "2017-09-15T14:26:53+02:00"),
           "id": "432207336", "ratingUserId": "69020", "ratingId": "3"}
    folder = _helpscout_export(tmp_path / "hs", {"results": [row]})
    r = import_export("helpscout", folder, folder / "mapping.yaml")
    assert r.surveys[["contact_id", "csat", "responded_at"]].values.tolist() == [
        ["432207336", 1, pd.Timestamp("2017-09-15 12:26:53")]]
    assert _by_id(r.contacts, "agent_id")["432207336"] == "69020"


def test_helpscout_rating_objects_changed_later_keep_the_latest(tmp_path):
    # GET /v2/ratings/{id} (https://developer.helpscout.com/mailbox-api/endpoints/ratings/get):
    # rating great/okay/not_good/unknown, user = the author of the rated reply, createdAt without Z;
    # the customer changed 432207336 from great to not_good (modifiedAt picks the newer record)
    def obj(rid, conv, rating, user, created, modified):
        return {"id": rid, "customer": {"id": 121198824}, "threadId": 1, "conversationId": conv,
                "conversationNumber": 7, "mailboxId": 85, "rating": rating, "user": {"id": user},
                "comments": None, "createdAt": created, "modifiedAt": modified}
    ratings = [obj(10, 432207336, "great", 69013, "2017-12-12T12:12:13", "2017-12-12T12:12:13"),
               obj(11, 432207336, "not_good", 69013, "2017-12-12T12:12:13", "2017-12-13T08:00:00"),
               obj(12, 432031327, "okay", 69020, "2017-12-14T10:00:00.123456", "2017-12-14T10:00:00.123456")]
    folder = _helpscout_export(tmp_path / "hs", {"results": ratings})
    r = import_export("helpscout", folder, folder / "mapping.yaml")
    assert r.surveys.set_index("contact_id")["csat"].to_dict() == {"432207336": 1, "432031327": 2}
    assert r.surveys.set_index("contact_id").loc["432207336", "responded_at"] == pd.Timestamp("2017-12-12 12:12:13")
    assert {(d.table, d.reason): d.examples for d in r.report.dropped if d.table == "surveys"} == {
        ("surveys", "an older rating record of a ticket that has a newer one"): ["10"]}


def test_helpscout_unknown_is_dropped_and_a_missing_rating_time_takes_the_rated_reply(tmp_path):
    # rating "unknown" is one of the documented values of GET /v2/ratings/{id}; a report row without
    # ratingCreatedAt keeps the documented threadCreatedAt of the rated reply
    unknown = {"id": 13, "conversationId": 432031327, "threadId": 5, "rating": "unknown", "user": {"id": 69020},
               "createdAt": "2017-09-16T05:00:00"}
    row = {**_report_row(432207336, 1169815634, 2, 69013, None), "threadCreatedAt": "2017-09-15T11:57:14Z"}
    folder = _helpscout_export(tmp_path / "hs", {"results": [row, unknown]})
    r = import_export("helpscout", folder, folder / "mapping.yaml")
    assert r.surveys.set_index("contact_id")["csat"].to_dict() == {"432207336": 2}
    assert r.surveys["responded_at"].tolist() == [pd.Timestamp("2017-09-15 11:57:14")]
    assert {(d.table, d.reason): d.examples for d in r.report.dropped if d.table == "surveys"} == {
        ("surveys", "rating 'unknown' (no value on the happiness scale)"): ["13"]}
    assert ("1 ratings have no ratingCreatedAt/createdAt; their rating time is the rated reply's threadCreatedAt"
            in r.report.warnings)


@pytest.mark.parametrize("rows, message", [
    ([_report_row(432207336, 1, 7, 69013, "2017-09-15T12:26:53Z"),
      _report_row(432031326, 2, "x", 69013, "2017-09-15T12:26:53Z")],
     "ratings.json: ratingId must be 1 (Great), 2 (Okay) or 3 (Not Good); found 7 (conversation 432207336), 'x' "
     "(conversation 432031326)"),
    ([{**_report_row(432207336, 1, 1, 69013, "2017-09-15T12:26:53Z"), "ratingId": None}],
     "ratings.json: 1 rating record has no rating (neither rating nor ratingId): conversation 432207336"),
    ([_report_row(432207336, 1, 1, 69013, "15/09/2017 12:26")],
     "ratings.json: ratingCreatedAt must be an ISO 8601 date and time such as 2026-03-02T14:00:00Z; found "
     "'15/09/2017 12:26' (conversation 432207336)"),
])
def test_helpscout_unreadable_rating_stops_the_import(tmp_path, rows, message):
    assert _refused("helpscout", _helpscout_export(tmp_path / "hs", {"results": rows})) == message


# =================================================================================================
# Gorgias
# =================================================================================================

def _gorgias_export(folder: Path, messages: list, scores: dict | None = None) -> Path:
    folder.mkdir()
    scores = scores or {}

    def ticket(tid, assignee):
        # GET /api/tickets (https://developers.gorgias.com/reference/tickets): microseconds, no offset
        return {"id": tid, "uri": f"/api/tickets/{tid}/", "status": "closed", "channel": "email", "via": "email",
                "from_agent": False, "spam": False, "customer": {"id": 5000 + tid, "email": "c@example.com"},
                "assignee_user": None if assignee is None else {"id": assignee, "name": "N", "email": "n@x"},
                "assignee_team": {"id": 1, "name": "Support"}, "subject": "Order",
                "tags": [{"id": 1, "name": "policy-standard"}],
                "created_datetime": "2026-03-02T08:00:00.000000", "opened_datetime": "2026-03-02T08:00:00.000000",
                "closed_datetime": "2026-03-02T12:00:00.000000", "updated_datetime": "2026-03-03T09:00:00.123456",
                "messages_count": 4}

    def survey(tid):
        # GET /api/satisfaction-surveys (https://developers.gorgias.com/reference/the-satisfactionsurvey-object.md)
        return {"id": 900 + tid, "ticket_id": tid, "customer_id": 5000 + tid, "score": scores.get(tid, 4),
                "body_text": None, "created_datetime": "2026-03-02T12:00:00.000000",
                "sent_datetime": "2026-03-02T13:00:00.000000", "should_send_datetime": "2026-03-02T13:00:00.000000",
                "scored_datetime": "2026-03-02T18:30:00.000000", "meta": None, "uri": f"/api/satisfaction-surveys/{tid}/"}

    tickets = [ticket(1, 201), ticket(2, 202), ticket(3, 209), ticket(4, 299)]
    (folder / "tickets.json").write_text(json.dumps({"data": tickets, "meta": {"next_cursor": None}}))
    (folder / "satisfaction_surveys.json").write_text(json.dumps(
        {"data": [survey(t["id"]) for t in tickets], "meta": {"next_cursor": None}}))
    (folder / "messages.json").write_text(json.dumps({"data": messages, "meta": {"next_cursor": None}}))
    # GET /api/users (https://developers.gorgias.com/reference/the-user-object): role {name}
    users = [{"id": 201, "name": "Ana", "created_datetime": "2025-01-01T00:00:00", "role": {"name": "basic-agent"}},
             {"id": 202, "name": "Ben", "created_datetime": "2025-01-01T00:00:00", "role": {"name": "lite-agent"}},
             {"id": 209, "name": "Lead", "created_datetime": "2025-01-01T00:00:00", "role": {"name": "admin"}},
             {"id": 299, "name": "Gorgias Bot", "created_datetime": "2025-01-01T00:00:00", "role": {"name": "bot"}}]
    (folder / "users.json").write_text(json.dumps({"data": users, "meta": {"next_cursor": None}}))
    (folder / "mapping.yaml").write_text("vendor: gorgias\ncolumns:\n  policy: {tag_prefix: policy-}\n")
    return folder


def _message(mid, ticket, sender, at, from_agent=True, public=True, channel="email", rule_id=None):
    # GET /api/messages (https://developers.gorgias.com/reference/the-ticketmessage-object): public is
    # false for internal notes ("Internal notes are not public"), whose channel and source.type are
    # internal-note; rule_id names the rule that sent a message
    return {"id": mid, "uri": f"/api/tickets/{ticket}/messages/{mid}/", "ticket_id": ticket, "public": public,
            "channel": channel, "via": "helpdesk", "source": {"type": channel, "from": {}, "to": []},
            "sender": {"id": sender, "email": "s@example.com"}, "integration_id": None, "rule_id": rule_id,
            "from_agent": from_agent, "receiver": None, "body_text": "...",
            "created_datetime": at, "sent_datetime": at}


GG_MESSAGES = [
    _message(1, 1, 5001, "2026-03-02T08:00:00", from_agent=False),
    _message(2, 1, 299, "2026-03-02T08:00:05"),                                    # the bot's auto-reply
    _message(3, 1, 201, "2026-03-02T09:00:00"),                                    # Ana replies
    _message(4, 1, 209, "2026-03-02T11:00:00", public=False, channel="internal-note"),   # the lead's note
    _message(5, 2, 202, "2026-03-02T09:00:00"),                                    # Ben replies
    _message(6, 2, 202, "2026-03-02T11:30:00", rule_id=77),                        # a rule's message, Ben's name
    _message(7, 2, 209, "2026-03-02T12:00:00", public=False, channel="email"),     # a note on the email channel
    _message(8, 3, 201, "2026-03-02T09:30:00"),                                    # Ana replies; the lead takes it
    _message(9, 3, 209, "2026-03-02T12:30:00", public=False, channel="internal-note"),
    _message(10, 4, 299, "2026-03-02T09:00:00"),                                   # only the bot answered
    _message(11, 4, 209, "2026-03-02T14:00:00")]                                   # after the survey was sent


def test_gorgias_only_public_agent_replies_attribute_a_rating(tmp_path):
    r = import_export("gorgias", _gorgias_export(tmp_path / "gg", GG_MESSAGES), tmp_path / "gg" / "mapping.yaml")
    # the supervisor's notes and the bot never get a rating; ticket 3 was reassigned to 209 after
    # Ana's reply and counts as reassigned; ticket 4 (the bot's, nobody replied) has no agent
    assert _by_id(r.contacts, "agent_id") == {"1": "201", "2": "202", "3": "201"}
    assert r.report.facts["reassigned_after_rating"] == 1
    assert {(d.table, d.reason): d.examples for d in r.report.dropped} == {
        ("contacts", "no assignee (neither on the rating nor assigned)"): ["4"],
        ("surveys", "its ticket was dropped (see the contacts' reasons)"): ["904"]}
    assert sorted(r.agents["agent_id"]) == ["201", "202", "209"]                  # the bot is not an agent
    assert r.report.warnings[:3] == [
        "1 tickets are assigned to a bot user (users.json role bot); a bot is not an agent, so they keep only an "
        "agent who replied publicly (or are dropped for having no assignee)",
        "agent-side messages that are not public replies do not attribute ratings: 3 internal notes (public false "
        "or channel internal-note), 1 messages sent by a rule (rule_id), 2 messages from bot users (role bot)",
        "1 surveys have no public agent reply before they were sent; they keep the export-time assignee"]
    assert r.surveys.set_index("contact_id")["responded_at"].to_dict() == {
        k: pd.Timestamp("2026-03-02 18:30") for k in ("1", "2", "3")}


def test_gorgias_trashed_tickets_are_dropped_and_flat_ids_read(tmp_path):
    folder = _gorgias_export(tmp_path / "gg", GG_MESSAGES)
    page = json.loads((folder / "tickets.json").read_text())
    one, two = page["data"][0], page["data"][1]
    # the Ticket object (https://developers.gorgias.com/reference/the-ticket-object): trashed_datetime,
    # "When the ticket was moved to the trash"; newer responses carry flat ids (assignee_user_id,
    # assignee_team_id, customer_id) next to, or instead of, the nested objects
    one["trashed_datetime"] = "2026-03-04T10:00:00.000000"
    two.update(assignee_user=None, assignee_user_id=202, assignee_team=None, assignee_team_id=7, customer=None,
               customer_id=5002)
    (folder / "tickets.json").write_text(json.dumps(page))
    r = import_export("gorgias", folder, folder / "mapping.yaml")
    assert {(d.table, d.reason): d.examples for d in r.report.dropped if d.table == "contacts"} == {
        ("contacts", "deleted (moved to the trash: trashed_datetime)"): ["1"],
        ("contacts", "no assignee (neither on the rating nor assigned)"): ["4"]}
    c = r.contacts.set_index("contact_id")
    assert (c.loc["2", "agent_id_at_export"], c.loc["2", "team"], c.loc["2", "customer_id"]) == (
        "202", "team 7", "5002")


def test_gorgias_score_without_scored_datetime_takes_the_send_time(tmp_path):
    folder = _gorgias_export(tmp_path / "gg", GG_MESSAGES)
    page = json.loads((folder / "satisfaction_surveys.json").read_text())
    page["data"][0]["scored_datetime"] = None
    (folder / "satisfaction_surveys.json").write_text(json.dumps(page))
    r = import_export("gorgias", folder, folder / "mapping.yaml")
    s = r.surveys.set_index("contact_id")
    assert (s.loc["1", "csat"], s.loc["1", "responded_at"]) == (4, pd.Timestamp("2026-03-02 13:00"))
    assert "1 scored surveys have no scored_datetime; their responded_at is sent_datetime" in r.report.warnings


@pytest.mark.parametrize("scores, messages, message", [
    ({2: "x"}, GG_MESSAGES,
     "satisfaction_surveys.json: score must be 1 to 5 (Gorgias' scale); found 'x' (survey 902)"),
    ({}, [*GG_MESSAGES[:-1], {**GG_MESSAGES[-1], "sent_datetime": "yesterday", "created_datetime": None}],
     "messages.json: sent_datetime must be an ISO 8601 date and time such as 2026-03-02T14:00:00Z; found 'yesterday' "
     "(message 11)"),
])
def test_gorgias_unreadable_values_stop_the_import(tmp_path, scores, messages, message):
    assert _refused("gorgias", _gorgias_export(tmp_path / "gg", messages, scores)) == message


# =================================================================================================
# Intercom
# =================================================================================================

def _intercom_conversation(cid: str, rating: dict | None, assignee: int = 7001) -> dict:
    # a conversation of API 2.0 as airbytehq/airbyte airbyte-integrations/connectors/source-intercom/
    # source_intercom/schemas/conversations.json describes it: Unix seconds, admin_assignee_id and
    # teammate.id integers, customers a list, conversation_rating WITHOUT updated_at
    return {"type": "conversation", "id": cid, "created_at": 1772438400, "updated_at": 1772460000,
            "waiting_since": None, "snoozed_until": None, "open": False, "state": "closed", "read": True,
            "admin_assignee_id": assignee, "team_assignee_id": None,
            "source": {"type": "conversation", "id": "1", "delivered_as": "customer_initiated",
                       "author": {"type": "user", "id": "u1", "name": "C", "email": "c@example.com"}},
            "customers": [{"type": "user", "id": "u1"}], "user": {"type": "user", "id": "u1"},
            "tags": {"type": "tag.list", "tags": []}, "custom_attributes": {"policy": "standard"},
            "conversation_rating": rating or {"rating": None, "remark": None, "created_at": None, "customer": None,
                                              "teammate": None},
            "statistics": {"type": "conversation_statistics", "last_close_at": 1772442000, "count_reopens": 0}}


def _intercom_export(folder: Path, convs: list) -> Path:
    folder.mkdir()
    (folder / "conversations.json").write_text(json.dumps(
        {"type": "conversation.list", "conversations": convs, "total_count": len(convs),
         "pages": {"type": "pages", "page": 1, "per_page": 20, "total_pages": 1}}))
    (folder / "mapping.yaml").write_text("vendor: intercom\ncolumns:\n  policy: {field: policy}\n")
    return folder


def _rating(value, created, teammate=7002, updated=None):
    out = {"rating": value, "remark": None, "created_at": created, "customer": {"type": "user", "id": "u1"},
           "teammate": {"type": "admin", "id": teammate}}
    if updated is not None:                       # API 2.1 and later (ConversationRating in intercom-client 7)
        out["updated_at"] = updated
    return out


def test_intercom_api_2_0_ratings_all_get_a_responded_at(tmp_path):
    convs = [_intercom_conversation("1", _rating(5, 1772445600)),                      # 2.0: no updated_at
             _intercom_conversation("2", _rating(2, 1772445600, updated=1772449200)),  # 2.1+
             _intercom_conversation("3", _rating(None, 1772445600)),                   # requested, not answered
             _intercom_conversation("4", _rating(4, None)),                            # no rating time at all
             _intercom_conversation("5", None)]                                        # never requested
    r = import_export("intercom", _intercom_export(tmp_path / "ic", convs), tmp_path / "ic" / "mapping.yaml")
    s = r.surveys.set_index("contact_id")
    assert s["csat"].to_dict() == {"1": 5, "2": 2, "3": None, "4": 4}
    at = pd.Timestamp
    assert s["responded_at"].to_dict() == {"1": at("2026-03-02 10:00"), "2": at("2026-03-02 11:00"), "3": pd.NaT,
                                           "4": at("2026-03-02 09:00")}
    assert s["sent_at"].to_dict() == {"1": at("2026-03-02 10:00"), "2": at("2026-03-02 10:00"),
                                      "3": at("2026-03-02 10:00"), "4": at("2026-03-02 09:00")}
    assert r.report.warnings[:2] == [
        "1 ratings have no conversation_rating.updated_at (Intercom API 2.0 and earlier): their responded_at is "
        "conversation_rating.created_at, when the rating was requested, so the time to answer cannot be measured",
        "1 ratings have neither conversation_rating.created_at nor updated_at: their sent_at and responded_at are "
        "the conversation's statistics.last_close_at"]
    assert _by_id(r.contacts, "agent_id") == {str(i): ("7001" if i == 5 else "7002") for i in range(1, 6)}
    assert set(r.contacts["customer_id"]) == {"u1"}                                   # from customers[]


@pytest.mark.parametrize("rating, message", [
    (_rating("x", 1772445600),
     "conversations.json: conversation_rating.rating must be 1 to 5 (Intercom's scale); found 'x' (conversation 1)"),
    (_rating(4, "2026-03-02T10:00:00Z"),
     "conversations.json: conversation_rating.created_at must be Unix seconds such as 1772445600; found "
     "'2026-03-02T10:00:00Z' (conversation 1)"),
])
def test_intercom_unreadable_rating_stops_the_import(tmp_path, rating, message):
    assert _refused("intercom", _intercom_export(tmp_path / "ic", [_intercom_conversation("1", rating)])) == message


def test_intercom_api_1_assignee_object(tmp_path):
    # API 1.x conversations name the assignee as an object; nobody_admin means unassigned
    # (airbyte source-intercom schemas/conversations.json keeps "assignee": {id, type, name, email})
    convs = [_intercom_conversation("1", None), _intercom_conversation("2", None)]
    for conv, assignee in zip(convs, [{"type": "admin", "id": "7005"}, {"type": "nobody_admin", "id": None}]):
        del conv["admin_assignee_id"]
        conv["assignee"] = assignee
    r = import_export("intercom", _intercom_export(tmp_path / "ic", convs), tmp_path / "ic" / "mapping.yaml")
    assert _by_id(r.contacts, "agent_id") == {"1": "7005"}
    assert [(d.reason, d.examples) for d in r.report.dropped] == [
        ("no teammate (neither on the rating nor assigned)", ["2"])]


def test_intercom_fin_words_are_on_the_scale(tmp_path):
    # Fin's CSAT keys terrible .. amazing
    # (https://developers.intercom.com/docs/references/rest-api/api.intercom.io/fin-agent/submitfincsat)
    convs = [_intercom_conversation(str(i), _rating(word, 1772445600))
             for i, word in enumerate(["terrible", "bad", "ok", "good", "amazing"], start=1)]
    r = import_export("intercom", _intercom_export(tmp_path / "ic", convs), tmp_path / "ic" / "mapping.yaml")
    assert r.surveys.set_index("contact_id")["csat"].to_dict() == {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5}


# =================================================================================================
# end to end: a documented-shape export big enough for the default study
# =================================================================================================

WRITERS = {"helpscout": write_helpscout, "gorgias": write_gorgias, "intercom": write_intercom}


@pytest.fixture(scope="module", params=list(WRITERS))
def studied(request, tmp_path_factory):
    vendor = request.param
    return (vendor, *import_and_study(vendor, WRITERS[vendor], tmp_path_factory, vendor))


def test_every_answered_rating_arrives_with_its_agent(studied):
    vendor, op, result, ds, _ = studied
    truth = op.contacts
    ids = {"helpscout": 700000, "gorgias": 80000, "intercom": 500000}[vendor] + truth["n"]
    answered = truth[truth["answered"]]
    s = ds.surveys.set_index("contact_id")
    rated = s[s["csat"].notna()]
    assert len(rated) == op.facts["ratings"] == len(answered)
    assert rated["responded_at"].notna().all()
    expected_csat = dict(zip(ids[truth["answered"]].astype(str), answered["csat"]))
    assert rated["csat"].astype(int).to_dict() == expected_csat
    agent = _by_id(ds.contacts, "agent_id")
    assert {k: agent[k] for k in expected_csat} == dict(zip(ids[truth["answered"]].astype(str),
                                                            answered["agent"].astype(str)))
    assert result.report.facts["reassigned_after_rating"] == op.facts["reassigned"]
    assert len(ds.surveys) == op.facts.get("surveys", op.facts["ratings"])      # no unanswered survey invented
    if vendor == "gorgias":
        assert {str(SUPERVISOR), str(BOT)}.isdisjoint(set(ds.contacts["agent_id"]))
        assert str(BOT) not in set(ds.agents["agent_id"])


def test_the_default_study_names_the_harmful_policy(studied):
    vendor, op, _, _, study = studied
    policy = study.tables["policy_effects"]
    assert list(policy.index[policy["upper_adj"] < 0]) == [HARMFUL]
    sentence = next(f for f in study.findings if "of the 4 policies lower CSAT" in f)
    assert sentence.startswith("1 of the 4 policies lower CSAT") and f"'{HARMFUL}'" in sentence


def test_no_ordinary_agent_is_put_under_survey_review(studied):
    vendor, _, _, ds, study = studied
    screen = study.tables["survey_screen"]
    assert not screen["flagged"].any()
    assert study.tables["agent_effects"]["survey_flag"].fillna(False).astype(bool).sum() == 0
    if vendor == "helpscout":
        assert ds.description.visibility.response_rates is False
