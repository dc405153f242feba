"""Shared credit from every vendor export that has replies (issue 22): Freshdesk conversations, Intercom
conversation parts, Help Scout threads and Gorgias messages -> contact_agents, each agent's share of the
contact's public agent replies. Fixtures are written field by field in the documented shapes (the sources
are cited in each importer's ``*_replies.py`` module and in tests/test_import_vendor_shapes.py, whose
exports these extend); customers' messages, internal notes, drafts and bots never count."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from test_import_vendor_shapes import (
    GG_MESSAGES,
    HS_REPORT,
    _gorgias_export,
    _helpscout_export,
    _intercom_conversation,
    _intercom_export,
    _message,
    _rating,
)

from upstream import load_dataset
from upstream.data.importers import import_export

FRESHDESK = Path(__file__).parent / "fixtures" / "vendors" / "freshdesk-api"


def _records(result) -> list[tuple]:
    return [(r.contact_id, r.agent_id, round(r.weight, 12)) for r in result.contact_agents.itertuples()]


def _facts(result) -> tuple:
    f = result.report.facts
    return f["contacts_with_several_agents"], f["rated_contacts_with_several_agents"]


def _conversation(cid, ticket, user, incoming=False, private=False, source=0):
    # GET /api/v2/tickets/{id}/conversations, one conversation (https://developers.freshdesk.com/api/
    # #list_all_ticket_notes): incoming true = from outside (the requester), private true = a private note
    return {"id": cid, "body": "<div>...</div>", "body_text": "...", "incoming": incoming, "private": private,
            "user_id": user, "support_email": "support@example.com", "source": source, "category": 2,
            "ticket_id": ticket, "to_emails": ["c@example.com"], "from_email": "support@example.com",
            "cc_emails": [], "bcc_emails": [], "attachments": [],
            "created_at": f"2026-03-02T1{cid % 10}:00:00Z", "updated_at": f"2026-03-02T1{cid % 10}:00:00Z"}


def test_freshdesk_conversations_give_each_agent_its_share_of_public_replies(tmp_path):
    export = tmp_path / "fd"
    shutil.copytree(FRESHDESK, export, ignore=shutil.ignore_patterns("bad"))
    per_ticket = [
        [_conversation(1, 2001, 9001, incoming=True),                 # the requester writes again
         _conversation(2, 2001, 71), _conversation(3, 2001, 74), _conversation(4, 2001, 71),
         _conversation(5, 2001, 73, private=True, source=2)],         # a private note
        [_conversation(6, 2002, 72), _conversation(7, 2002, 99)],     # 99: not an agent of the import
        [_conversation(8, 2007, 71), _conversation(9, 2007, 73)],     # an unrated contact
        [_conversation(10, 2009, 71)]]                                # not a contact of the import
    # one saved response per ticket, one after another
    (export / "conversations.json").write_text("\n".join(json.dumps(page) for page in per_ticket))
    result = import_export("freshdesk", export, export / "mapping.yaml")
    assert _records(result) == [("2001", "71", round(2 / 3, 12)), ("2001", "74", round(1 / 3, 12)),
                                ("2002", "72", 1.0), ("2007", "71", 0.5), ("2007", "73", 0.5)]
    assert _facts(result) == (2, 1)
    assert result.report.facts["contact_agents_weights"] == (
        "conversations.json: each agent's share of the ticket's public agent replies (incoming false, private "
        "false; customers' messages and private notes do not count)")
    assert ("1 public agent replies are by authors who are not agents of the import (the agents table); they do "
            "not count towards shared credit (authors 99)") in result.report.warnings
    assert _by_id(result.contacts)["2001"] == "71"                   # the rated agent stays contacts.agent_id
    assert (result.dataset["attribution"]["rule"], result.dataset["attribution"]["weights"]) == (
        "shared", "public_replies")
    ds = load_dataset(result.write(tmp_path / "imported", validate=True))
    assert len(ds.contact_agents) == 5 and ds.description.attribution.rule == "shared"


def _by_id(contacts) -> dict:
    return dict(zip(contacts["contact_id"], contacts["agent_id"]))


def _part(pid, part_type, author_type, author_id, from_ai_agent=False):
    # a ConversationPart (intercom-client ConversationPart / ConversationPartAuthor): Unix seconds
    return {"type": "conversation_part", "id": str(pid), "part_type": part_type, "body": "<p>...</p>",
            "created_at": 1772438400 + 60 * pid, "updated_at": 1772438400 + 60 * pid,
            "notified_at": 1772438400 + 60 * pid, "assigned_to": None, "attachments": [], "external_id": None,
            "redacted": False, "author": {"type": author_type, "id": str(author_id), "name": "N",
                                          "email": "n@example.com", "from_ai_agent": from_ai_agent}}


def test_intercom_admin_comment_parts_make_shared_credit(tmp_path):
    one = _intercom_conversation("1", _rating(4, 1772445600, teammate=7002))
    two = _intercom_conversation("2", _rating(5, 1772445600, teammate=7003), assignee=7003)
    three = _intercom_conversation("3", None)                              # no parts saved for it
    one["conversation_parts"] = {"type": "conversation_part.list", "total_count": 8, "conversation_parts": [
        _part(1, "comment", "user", "u1"),                                 # the customer
        _part(2, "comment", "bot", 9100),                                  # a bot
        _part(3, "comment", "admin", 7002, from_ai_agent=True),            # Fin on a teammate's behalf
        _part(4, "comment", "admin", 7003), _part(5, "note", "admin", 7002),
        _part(6, "assignment", "admin", 7003), _part(7, "comment", "admin", 7002),
        _part(8, "comment", "admin", 7002)]}
    two["conversation_parts"] = {"type": "conversation_part.list", "total_count": 1, "conversation_parts": [
        _part(9, "comment", "admin", 7003)]}
    result = import_export("intercom", _intercom_export(tmp_path / "ic", [one, two, three]),
                           tmp_path / "ic" / "mapping.yaml")
    assert _records(result) == [("1", "7003", round(1 / 3, 12)), ("1", "7002", round(2 / 3, 12)), ("2", "7003", 1.0)]
    assert _facts(result) == (1, 1)
    assert _by_id(result.contacts) == {"1": "7002", "2": "7003", "3": "7001"}
    plain = import_export("intercom", _intercom_export(tmp_path / "plain", [three]), tmp_path / "plain" / "mapping.yaml")
    assert plain.contact_agents is None and plain.dataset["attribution"]["rule"] != "shared"


def _thread(tid, kind, by_type, by_id, state="published"):
    # a thread of _embedded.threads (https://developer.helpscout.com/mailbox-api/endpoints/conversations/threads/list)
    return {"id": tid, "type": kind, "status": "closed", "state": state, "action": None, "body": "...",
            "source": {"type": "email", "via": "user" if by_type == "user" else "customer"},
            "customer": {"id": 121198824}, "createdBy": {"id": by_id, "type": by_type, "first": "A", "last": "B"},
            "assignedTo": None, "savedReplyId": 0, "to": [], "cc": [], "bcc": [], "attachments": [],
            "createdAt": f"2017-09-15T10:{tid:02d}:00Z"}


def test_helpscout_published_reply_threads_by_users_make_shared_credit(tmp_path):
    folder = _helpscout_export(tmp_path / "hs", HS_REPORT)
    page = json.loads((folder / "conversations.json").read_text())
    convs = page["_embedded"]["conversations"]
    convs[0]["_embedded"] = {"threads": [                                  # 432207336, rated reply by 69013
        _thread(1, "customer", "customer", 121198824), _thread(2, "reply", "user", 69013),
        _thread(3, "note", "user", 69020), _thread(4, "reply", "user", 69020, state="draft"),
        _thread(5, "lineitem", "user", 69020), _thread(6, "reply", "user", 69013)]}
    convs[1]["_embedded"] = {"threads": [                                  # 432031326, rated reply by 69020
        _thread(7, "reply", "user", 69013), _thread(8, "reply", "user", 69020), _thread(9, "customer", "customer", 1),
        _thread(10, "reply", "user", 69020), _thread(11, "reply", "user", 69020)]}
    (folder / "conversations.json").write_text(json.dumps(page))
    result = import_export("helpscout", folder, folder / "mapping.yaml")
    assert _records(result) == [("432207336", "69013", 1.0), ("432031326", "69013", 0.25),
                                ("432031326", "69020", 0.75)]
    assert _facts(result) == (1, 1)
    assert _by_id(result.contacts)["432031326"] == "69020"
    assert result.report.facts["contact_agents_weights"].startswith(
        "conversations.json: each user's share of the conversation's published reply threads")


def test_gorgias_every_public_agent_reply_counts_towards_shared_credit(tmp_path):
    # ticket 3: Ana replied before the survey was sent, the lead and Ana again after it
    messages = [*GG_MESSAGES, _message(12, 3, 209, "2026-03-02T14:30:00"), _message(13, 3, 201, "2026-03-02T15:00:00"),
                _message(14, 3, 5003, "2026-03-02T15:30:00", from_agent=False)]      # the customer
    result = import_export("gorgias", _gorgias_export(tmp_path / "gg", messages), tmp_path / "gg" / "mapping.yaml")
    assert _records(result) == [("1", "201", 1.0), ("2", "202", 1.0), ("3", "201", round(2 / 3, 12)),
                                ("3", "209", round(1 / 3, 12))]
    assert _facts(result) == (1, 1)
    assert _by_id(result.contacts) == {"1": "201", "2": "202", "3": "201"}  # the last reply before the survey
    assert result.dataset["attribution"]["description"].endswith(
        "Shared credit: contact_agents.csv lists every agent with public replies on a ticket (messages.json: each "
        "agent's share of the ticket's public agent replies (from_agent true; internal notes, rule messages, bot "
        "users and customers' messages do not count)).")


def test_without_a_public_agent_reply_nothing_is_shared(tmp_path):
    conv = _intercom_conversation("1", _rating(4, 1772445600, teammate=7002))
    conv["conversation_parts"] = {"type": "conversation_part.list", "total_count": 2, "conversation_parts": [
        _part(1, "comment", "user", "u1"), _part(2, "note", "admin", 7002)]}
    result = import_export("intercom", _intercom_export(tmp_path / "ic", [conv]), tmp_path / "ic" / "mapping.yaml")
    assert result.contact_agents is None and result.dataset["attribution"]["rule"] == "rating_time_assignee"
    assert ("conversations.json: no public agent reply on a contact of the import, so no contact_agents table is "
            "written and ratings stay with the rating-time agent") in result.report.warnings
    assert "contacts_with_several_agents" not in result.report.facts
