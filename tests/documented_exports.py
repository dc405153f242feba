"""Seeded exports in the shapes Help Scout, Gorgias, Intercom, Zendesk and Freshdesk document (not the project's
simulator): one operation -- ordinary agents, one harmful policy -- written field by field as
each vendor's API returns it, for end-to-end checks of the importers and the default study.

Sources of the shapes (read, not copied):

- Help Scout: conversations ``GET /v2/conversations`` HAL pages
  (https://developer.helpscout.com/mailbox-api/endpoints/conversations/list); the happiness ratings
  report ``GET /v2/reports/happiness/ratings``, rows ``number, threadid, threadCreatedAt, id, type,
  ratingId (1 Great, 2 Okay, 3 Not Good), ratingCustomerId, ratingComments, ratingCreatedAt,
  ratingCustomerName, ratingUserId, ratingUserName``
  (https://developer.helpscout.com/mailbox-api/endpoints/reports/happiness/reports-happiness-ratings);
  answered ratings only.
- Gorgias: tickets, satisfaction surveys, messages and users as cursor pages ``{"data", "meta"}``
  (https://developers.gorgias.com/reference/tickets, /the-satisfactionsurvey-object.md,
  /the-ticketmessage-object -- ``public``, ``channel`` ``internal-note``, ``rule_id``,
  ``from_agent``, ``sender`` --, /the-user-object -- ``role: {name}``); datetimes with
  microseconds and no offset.
- Intercom: ``conversation.list`` pages with conversations as airbytehq/airbyte
  ``airbyte-integrations/connectors/source-intercom/source_intercom/schemas/conversations.json``
  describes them for API 2.0 and earlier: ``conversation_rating`` has ``rating``, ``remark``,
  ``created_at``, ``customer``, ``teammate`` (integer id) and **no** ``updated_at``; Unix seconds.
- Zendesk: ``GET /api/v2/tickets`` pages ``{"tickets", "next_page", "count"}``
  (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/; ``via`` as airbytehq/airbyte
  ``source-zendesk-support`` ``schemas/shared/via.json``, merged tickets closed with the tag
  ``closed_by_merge``), ``GET /api/v2/ticket_metrics`` (the same connector's ``schemas/ticket_metrics.json``),
  the legacy ``GET /api/v2/satisfaction_ratings?score=received`` (answered records only; fields as its
  ``schemas/satisfaction_ratings.json``) with the ``offered`` state left on each ticket's embedded
  ``satisfaction_rating``; or, for an account on the CSAT of 2024, CSAT survey responses as
  singer-io/tap-zendesk ``tap_zendesk/schemas/csat_survey_responses.json`` lands them (string ids,
  ``subjects[{id, type, zrn}]``, ``answers[{type: rating_scale, rating, rating_category, created_at}]``,
  ``survey{id, version, state}``) -- answered responses only, the legacy rating left ``unoffered``.
- Freshdesk: ``GET /api/v2/tickets?include=stats`` and ``GET /api/v2/surveys/satisfaction_ratings`` as bare
  arrays (https://developers.freshdesk.com/api/#list_all_tickets, #satisfaction-ratings; singer-io/tap-freshdesk
  ``tap_freshdesk/schemas/tickets.json``), custom fields ``cf_*`` in a ``custom_fields`` object, rating codes
  -103 .. 103 under ``ratings.default_question`` (answered surveys only), ``GET /api/v2/surveys``
  (tap-freshdesk ``schemas/surveys.json``: ``questions[{id, accepted_ratings}]``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

HARMFUL = "refund-above-cap"
POLICIES = ("standard", "exchange", "warranty", HARMFUL)
POLICY_SHARE = (0.5, 0.2, 0.15, 0.15)
POLICY_EFFECT = {"standard": 0.0, "exchange": 0.0, "warranty": 0.0, HARMFUL: -1.3}   # latent satisfaction
START = pd.Timestamp("2026-01-05 08:00")


@dataclass
class Operation:
    """What was generated: one row per contact (the truth the export is built from)."""

    contacts: pd.DataFrame
    agents: list[int]
    facts: dict = field(default_factory=dict)


def operation(seed: int, n_contacts: int = 1400, n_agents: int = 20, points: int = 5, invited: float = 1.0,
              answered: float = 0.55, first_agent: int = 5001) -> Operation:
    """Contacts of ordinary agents (effects N(0, 0.25) on a latent scale) under four policies, one
    of which lowers satisfaction by 1.3 latent units; CSAT on a ``points``-point scale (1 = worst).
    ``invited``/``answered``: chance of a survey being sent / answered, the same for every agent."""
    rng = np.random.default_rng(seed)
    agents = list(range(first_agent, first_agent + n_agents))
    agent_effect = dict(zip(agents, rng.normal(0, 0.25, n_agents)))
    agent = rng.choice(agents, n_contacts)
    policy = rng.choice(POLICIES, n_contacts, p=POLICY_SHARE)
    latent = (0.9 + np.array([agent_effect[a] for a in agent]) + np.array([POLICY_EFFECT[p] for p in policy])
              + rng.normal(0, 1, n_contacts))
    cuts = {2: [0.2], 3: [-0.2, 1.0], 5: [-0.8, -0.1, 0.6, 1.4]}[points]
    csat = 1 + np.searchsorted(cuts, latent)
    opened = START + pd.to_timedelta(rng.uniform(0, 84 * 24 * 3600, n_contacts).round(), unit="s")
    closed = opened + pd.to_timedelta(rng.uniform(600, 36 * 3600, n_contacts).round(), unit="s")
    sent = closed + pd.to_timedelta(rng.uniform(60, 3600, n_contacts).round(), unit="s")
    responded = sent + pd.to_timedelta(rng.uniform(600, 48 * 3600, n_contacts).round(), unit="s")
    is_invited = rng.random(n_contacts) < invited
    is_answered = is_invited & (rng.random(n_contacts) < answered)
    # a tenth of the rated contacts are reassigned after the rating (to another ordinary agent)
    reassigned = is_answered & (rng.random(n_contacts) < 0.10)
    later = np.array([agents[(agents.index(a) + 1) % n_agents] for a in agent])
    contacts = pd.DataFrame({
        "n": np.arange(n_contacts), "agent": agent, "agent_at_export": np.where(reassigned, later, agent),
        "policy": policy, "csat": np.where(is_answered, csat, 0), "invited": is_invited, "answered": is_answered,
        "reassigned": reassigned, "opened": opened, "closed": closed, "sent": sent, "responded": responded,
        "customer": rng.integers(0, int(n_contacts * 0.7), n_contacts),
        "channel": rng.choice(["email", "chat", "phone"], n_contacts, p=[0.6, 0.3, 0.1])})
    return Operation(contacts=contacts, agents=agents)


def _write(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=None))


def _iso(t: pd.Timestamp, tail: str = "Z") -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S") + tail


def _micro(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _unix(t: pd.Timestamp) -> int:
    return int(t.timestamp())


# --------------------------------------------------------------------------------------------------
# Help Scout


HELPSCOUT_RATING_ID = {3: 1, 2: 2, 1: 3}    # canonical code (3 great .. 1 not good) -> report ratingId


def write_helpscout(folder: Path, seed: int = 16) -> Operation:
    """conversations.json (two HAL pages), ratings.json (the happiness ratings report, answered
    ratings only), users.json, mapping.yaml (policy from the custom field Policy)."""
    op = operation(seed, points=3, first_agent=5001)
    c = op.contacts
    folder.mkdir(parents=True, exist_ok=True)
    convs = [{
        "id": 700000 + int(r.n), "number": 1000 + int(r.n), "threads": 3, "type": r.channel, "folderId": 11,
        "status": "closed", "state": "published", "subject": "Order", "preview": "...", "mailboxId": 42,
        "assignee": {"id": int(r.agent_at_export), "first": "A", "last": "B", "email": "a@example.com",
                     "type": "user"},
        "createdBy": {"id": 900000 + int(r.customer), "type": "customer"},
        "createdAt": _iso(r.opened), "closedBy": int(r.agent_at_export), "closedAt": _iso(r.closed),
        "userUpdatedAt": _iso(r.closed), "source": {"type": r.channel, "via": "customer"},
        "tags": [], "cc": [], "bcc": [],
        "primaryCustomer": {"id": 900000 + int(r.customer), "type": "customer"},
        "customFields": [{"id": 8001, "name": "Policy", "value": str(POLICIES.index(r.policy)), "text": r.policy}],
    } for r in c.itertuples()]
    half = len(convs) // 2
    pages = [{"_embedded": {"conversations": part}, "_links": {},
              "page": {"size": half, "totalElements": len(convs), "totalPages": 2, "number": i + 1}}
             for i, part in enumerate((convs[:half], convs[half:]))]
    (folder / "conversations.json").write_text("\n".join(json.dumps(p) for p in pages))
    rows = [{
        "number": 1000 + int(r.n), "threadid": 3000000 + int(r.n), "threadCreatedAt": _iso(r.closed),
        "id": 700000 + int(r.n), "type": r.channel, "ratingId": HELPSCOUT_RATING_ID[int(r.csat)],
        "ratingCustomerId": 900000 + int(r.customer), "ratingComments": "" if r.n % 3 else "Thanks",
        "ratingCreatedAt": _iso(r.responded), "ratingCustomerName": "Customer", "ratingUserId": int(r.agent),
        "ratingUserName": f"Agent {int(r.agent)}",
    } for r in c[c["answered"]].itertuples()]
    _write(folder / "ratings.json", {"facets": {}, "results": rows, "page": 1, "pages": 1, "count": len(rows)})
    users = [{"id": a, "firstName": "Agent", "lastName": str(a), "email": f"{a}@example.com", "role": "user",
              "createdAt": "2025-06-01T09:00:00Z", "type": "user"} for a in op.agents]
    _write(folder / "users.json", {"_embedded": {"users": users}, "page": {"size": 50, "totalElements": len(users),
                                                                           "totalPages": 1, "number": 1}})
    (folder / "mapping.yaml").write_text("vendor: helpscout\ncolumns:\n  policy: {field: Policy}\n")
    op.facts = {"ratings": len(rows), "reassigned": int(c["reassigned"].sum())}
    return op


# --------------------------------------------------------------------------------------------------
# Gorgias

SUPERVISOR = 4900     # writes internal notes on a fifth of the tickets, after the agent's reply
BOT = 4999            # the Gorgias bot user (role bot): an auto-reply on every ticket


def write_gorgias(folder: Path, seed: int = 17) -> Operation:
    """tickets.json, satisfaction_surveys.json, messages.json (customer messages, a bot
    auto-reply, the agent's public reply, supervisors' internal notes after it, rule messages),
    users.json (agents, the supervisor, the bot), mapping.yaml (policy from tags policy-*)."""
    op = operation(seed, points=5, invited=0.9, first_agent=4001)
    c = op.contacts
    rng = np.random.default_rng(seed + 1)
    folder.mkdir(parents=True, exist_ok=True)
    tickets = [{
        "id": 80000 + int(r.n), "uri": f"/api/tickets/{80000 + int(r.n)}/", "external_id": None,
        "status": "closed", "channel": r.channel, "via": r.channel, "from_agent": False, "spam": False,
        "customer": {"id": 60000 + int(r.customer), "email": f"c{int(r.customer)}@example.com", "name": "C"},
        "assignee_user": {"id": int(r.agent_at_export), "name": "Agent", "email": "a@example.com"},
        "assignee_team": {"id": 1, "name": "Support"}, "language": "en", "subject": "Order",
        "tags": [{"id": 10 + POLICIES.index(r.policy), "name": f"policy-{r.policy}"}],
        "created_datetime": _micro(r.opened), "opened_datetime": _micro(r.opened),
        "closed_datetime": _micro(r.closed), "updated_datetime": _micro(r.responded), "messages_count": 4,
    } for r in c.itertuples()]
    _write(folder / "tickets.json", {"data": tickets, "meta": {"prev_cursor": None, "next_cursor": None}})
    surveys = [{
        "id": 90000 + int(r.n), "ticket_id": 80000 + int(r.n), "customer_id": 60000 + int(r.customer),
        "score": int(r.csat) if r.answered else None, "body_text": None,
        "created_datetime": _micro(r.closed), "sent_datetime": _micro(r.sent), "should_send_datetime": _micro(r.sent),
        "scored_datetime": _micro(r.responded) if r.answered else None, "meta": None,
        "uri": f"/api/satisfaction-surveys/{90000 + int(r.n)}/",
    } for r in c[c["invited"]].itertuples()]
    _write(folder / "satisfaction_surveys.json", {"data": surveys, "meta": {"next_cursor": None}})
    noted = rng.random(len(c)) < 0.2
    ruled = rng.random(len(c)) < 0.1
    messages, n = [], 1

    def message(r, sender: int, from_agent: bool, at: pd.Timestamp, public: bool = True,
                channel: str | None = None, rule_id: int | None = None) -> None:
        nonlocal n
        channel = channel or r.channel
        messages.append({
            "id": n, "uri": f"/api/tickets/{80000 + int(r.n)}/messages/{n}/", "message_id": None,
            "ticket_id": 80000 + int(r.n), "external_id": None, "public": public, "channel": channel,
            "via": "helpdesk" if from_agent else r.channel,
            "source": {"type": channel, "from": {"address": "x@example.com"}, "to": []},
            "sender": {"id": sender, "email": f"{sender}@example.com", "name": "N"}, "integration_id": None,
            "rule_id": rule_id, "from_agent": from_agent, "receiver": None, "subject": None, "body_text": "...",
            "created_datetime": _micro(at), "sent_datetime": _micro(at)})
        n += 1

    for i, r in enumerate(c.itertuples()):
        message(r, 60000 + int(r.customer), False, r.opened)
        message(r, BOT, True, r.opened + pd.Timedelta(seconds=5))                         # bot auto-reply
        message(r, int(r.agent), True, r.opened + (r.closed - r.opened) / 2)               # the agent's reply
        if noted[i]:
            message(r, SUPERVISOR, True, r.closed - pd.Timedelta(minutes=5), public=False, channel="internal-note")
        if ruled[i]:
            message(r, int(r.agent_at_export), True, r.closed - pd.Timedelta(minutes=1), rule_id=77)
    half = len(messages) // 2
    (folder / "messages.json").write_text(
        json.dumps({"data": messages[:half], "meta": {"next_cursor": "b2Zmc2V0PTE="}}) + "\n"
        + json.dumps({"data": messages[half:], "meta": {"next_cursor": None}}))
    users = ([{"id": a, "active": True, "created_datetime": "2025-06-01T09:00:00.000000", "email": f"{a}@example.com",
               "name": f"Agent {a}", "role": {"name": "basic-agent"}} for a in op.agents]
             + [{"id": SUPERVISOR, "active": True, "created_datetime": "2025-01-01T09:00:00.000000",
                 "email": "lead@example.com", "name": "Lead", "role": {"name": "admin"}},
                {"id": BOT, "active": True, "created_datetime": "2025-01-01T09:00:00.000000",
                 "email": "bot@example.com", "name": "Gorgias Bot", "role": {"name": "bot"}}])
    _write(folder / "users.json", {"data": users, "meta": {"next_cursor": None}})
    (folder / "mapping.yaml").write_text("vendor: gorgias\ncolumns:\n  policy: {tag_prefix: policy-}\n")
    answered = c["answered"].to_numpy()
    op.facts = {"ratings": int(answered.sum()), "surveys": len(surveys),
                "reassigned": int(c["reassigned"].sum()),
                "notes": int(noted.sum()), "rule_messages": int(ruled.sum()), "bot_messages": len(c),
                # the old rule (any agent-side message) would credit the supervisor or the later assignee
                "noted_ratings": int((noted & answered).sum())}
    return op


# --------------------------------------------------------------------------------------------------
# Intercom (API 2.0: no conversation_rating.updated_at)


def write_intercom(folder: Path, seed: int = 18) -> Operation:
    """conversations.json (``conversation.list`` pages, API 2.0 shape), mapping.yaml (policy from
    the custom attribute policy)."""
    op = operation(seed, points=5, invited=0.85, first_agent=3001)
    c = op.contacts
    folder.mkdir(parents=True, exist_ok=True)

    def rating(r) -> dict | None:
        if not r.invited:
            return {"rating": None, "remark": None, "created_at": None, "customer": None, "teammate": None}
        return {"rating": int(r.csat) if r.answered else None, "remark": None, "created_at": _unix(r.sent),
                "customer": {"type": "user", "id": f"u{int(r.customer)}"},
                "teammate": {"type": "admin", "id": int(r.agent)}}

    convs = [{
        "type": "conversation", "id": str(500000 + int(r.n)), "created_at": _unix(r.opened),
        "updated_at": _unix(r.responded), "waiting_since": None, "snoozed_until": None, "open": False,
        "state": "closed", "read": True, "admin_assignee_id": int(r.agent_at_export), "team_assignee_id": None,
        "source": {"type": {"email": "email", "chat": "conversation", "phone": "phone_call"}[r.channel],
                   "id": str(int(r.n)), "delivered_as": "customer_initiated", "subject": "", "body": "<p>Hi</p>",
                   "author": {"type": "user", "id": f"u{int(r.customer)}", "name": "C", "email": "c@example.com"}},
        "customers": [{"type": "user", "id": f"u{int(r.customer)}"}],
        "tags": {"type": "tag.list", "tags": []}, "custom_attributes": {"policy": r.policy},
        "conversation_rating": rating(r),
        "statistics": {"type": "conversation_statistics", "first_close_at": _unix(r.closed),
                       "last_close_at": _unix(r.closed), "count_reopens": 0, "count_assignments": 1,
                       "count_conversation_parts": 4},
    } for r in c.itertuples()]
    per = 500
    pages = [{"type": "conversation.list", "conversations": convs[i:i + per], "total_count": len(convs),
              "pages": {"type": "pages", "page": i // per + 1, "per_page": per,
                        "total_pages": (len(convs) + per - 1) // per}} for i in range(0, len(convs), per)]
    (folder / "conversations.json").write_text("\n".join(json.dumps(p) for p in pages))
    (folder / "mapping.yaml").write_text("vendor: intercom\ncolumns:\n  policy: {field: policy}\n")
    op.facts = {"ratings": int(c["answered"].sum()), "surveys": int(c["invited"].sum()),
                "reassigned": int(c["reassigned"].sum())}
    return op


# --------------------------------------------------------------------------------------------------
# Zendesk (legacy ratings pulled with score=received, or CSAT survey responses)

ZENDESK_GROUP = 360100


def _zendesk_ticket(r, satisfaction: dict, tid: int, status: str = "solved", tags: list | None = None,
                    rel: str | None = None) -> dict:
    return {"url": f"https://acme.zendesk.com/api/v2/tickets/{tid}.json", "id": tid, "external_id": None,
            "via": {"channel": {"email": "email", "chat": "chat", "phone": "voice"}[r.channel],
                    "source": {"from": {}, "to": {}, "rel": rel}},
            "created_at": _iso(r.opened), "updated_at": _iso(r.responded), "type": "question",
            "subject": "Order", "description": "...", "priority": "normal", "status": status,
            "requester_id": 900000 + int(r.customer), "submitter_id": 900000 + int(r.customer),
            "assignee_id": int(r.agent_at_export), "organization_id": None, "group_id": ZENDESK_GROUP,
            "tags": tags if tags is not None else [f"policy_{r.policy}"], "custom_fields": [],
            "satisfaction_rating": satisfaction}


def _zendesk_metric(tid: int, solved: pd.Timestamp, created: pd.Timestamp) -> dict:
    return {"url": f"https://acme.zendesk.com/api/v2/ticket_metrics/{800000 + tid}.json", "id": 800000 + tid,
            "ticket_id": tid, "created_at": _iso(created), "updated_at": _iso(solved), "group_stations": 1,
            "assignee_stations": 1, "reopens": 0, "replies": 1, "solved_at": _iso(solved),
            "assigned_at": _iso(created), "initially_assigned_at": _iso(created)}


SWITCH_DAY = 42      # csat="switch": legacy CSAT off and the CSAT survey of 2024 on, six weeks in


def write_zendesk(folder: Path, seed: int = 19, csat: str = "received", merged_share: float = 0.05) -> Operation:
    """tickets.json (two pages; a ``merged_share`` of extra tickets closed by a merge), ticket_metrics.json,
    users.json, mapping.yaml (policy from the tags ``policy_*``) and the ratings as ``csat`` says:

    - ``received``: satisfaction_ratings.json pulled with ``score=received`` (good/bad only; a survey
      sent without an answer shows only as ``offered`` on its ticket);
    - ``responses``: an account on the CSAT of 2024: csat_survey_responses.json (5-point, answered
      only), the tickets' legacy rating ``unoffered``;
    - ``switch``: ``received`` for tickets solved before ``SWITCH_DAY``, ``responses`` after, and the
      mapping's ``csat.by_survey`` joining legacy good/bad onto the 5-point scale (bad 1, good 5).

    ``op.contacts["csat"]`` is the CSAT as imported (legacy answers 1/2, or 1/5 under ``switch``)."""
    op = operation(seed, points=2 if csat == "received" else 5, invited=0.9, first_agent=6001)
    c = op.contacts
    rng = np.random.default_rng(seed + 1)
    folder.mkdir(parents=True, exist_ok=True)
    on_responses = (c["closed"] >= START + pd.Timedelta(days=SWITCH_DAY)) if csat == "switch" else \
        pd.Series(csat == "responses", index=c.index)
    c["on_responses"] = on_responses
    if csat == "switch":   # Zendesk's own collapse of a 5-point answer: 4 and 5 good (docs/importers/vendor_formats.md)
        c["score"] = np.where(c["csat"] >= 4, "good", "bad")
        c.loc[~on_responses & c["answered"], "csat"] = np.where(c.loc[~on_responses & c["answered"], "csat"] >= 4, 5, 1)
    else:
        c["score"] = np.where(c["csat"] == 2, "good", "bad")

    def legacy(r) -> dict:
        if r.on_responses or not r.invited:
            return {"score": "unoffered"}
        if not r.answered:
            return {"score": "offered"}
        return {"id": 70000 + int(r.n), "score": r.score, "comment": None, "reason": None}

    tickets = [_zendesk_ticket(r, legacy(r), 100000 + int(r.n), status=("solved", "closed")[int(r.n) % 2])
               for r in c.itertuples()]
    metrics = [_zendesk_metric(100000 + int(r.n), r.closed, r.opened) for r in c.itertuples()]
    # merged tickets: a customer's second ticket merged into the first (closed by the merge, tagged)
    merged = c[rng.random(len(c)) < merged_share]
    for r in merged.itertuples():
        tid = 200000 + int(r.n)
        tickets.append(_zendesk_ticket(r, {"score": "unoffered"}, tid, status="closed",
                                       tags=["closed_by_merge", f"policy_{r.policy}"]))
        metrics.append(_zendesk_metric(tid, r.opened + pd.Timedelta(hours=1), r.opened + pd.Timedelta(minutes=30)))
    half = len(tickets) // 2
    (folder / "tickets.json").write_text(
        json.dumps({"tickets": tickets[:half], "next_page": "https://acme.zendesk.com/api/v2/tickets.json?page=2",
                    "previous_page": None, "count": len(tickets)}) + "\n"
        + json.dumps({"tickets": tickets[half:], "next_page": None, "previous_page": None, "count": len(tickets)}))
    _write(folder / "ticket_metrics.json", {"ticket_metrics": metrics, "next_page": None, "count": len(metrics)})
    answered = c[c["answered"]]
    if csat != "received":
        responses = [{
            "id": f"01HR{int(r.n):08d}", "expires_at": _iso(r.sent + pd.Timedelta(days=28)),
            "responder_id": str(900000 + int(r.customer)), "survey": {"id": "01HZCSAT", "version": 1,
                                                                      "state": "enabled"},
            "subjects": [{"id": str(100000 + int(r.n)), "type": "ticket", "zrn": f"zen:ticket:{100000 + int(r.n)}"}],
            "answers": [{"id": f"01HA{int(r.n):08d}", "type": "rating_scale", "rating": int(r.csat),
                         "rating_category": "good" if r.csat >= 4 else "bad", "comment": None,
                         "created_at": _iso(r.responded), "updated_at": _iso(r.responded)}],
        } for r in answered[answered["on_responses"]].itertuples()]
        _write(folder / "csat_survey_responses.json",
               {"survey_responses": responses, "meta": {"has_more": False, "after_cursor": None}, "links": {}})
    if csat != "responses":
        ratings = [{
            "url": f"https://acme.zendesk.com/api/v2/satisfaction_ratings/{70000 + int(r.n)}.json",
            "id": 70000 + int(r.n), "assignee_id": int(r.agent), "group_id": ZENDESK_GROUP,
            "requester_id": 900000 + int(r.customer), "ticket_id": 100000 + int(r.n), "score": r.score,
            "comment": None, "reason": None, "created_at": _iso(r.sent), "updated_at": _iso(r.responded),
        } for r in answered[~answered["on_responses"]].itertuples()]
        _write(folder / "satisfaction_ratings.json",
               {"satisfaction_ratings": ratings, "next_page": None, "previous_page": None, "count": len(ratings)})
    users = [{"id": a, "name": f"Agent {a}", "email": f"{a}@example.com", "role": "agent", "active": True,
              "default_group_id": ZENDESK_GROUP, "created_at": "2025-06-01T09:00:00Z"} for a in op.agents]
    _write(folder / "users.json", {"users": users, "next_page": None, "count": len(users)})
    mapping = "vendor: zendesk\ncolumns:\n  policy: {tag_prefix: policy_}\n"
    if csat == "switch":
        mapping += "csat:\n  points: 5\n  by_survey:\n    legacy: {bad: 1, good: 5}\n"
    (folder / "mapping.yaml").write_text(mapping)
    offered = c["invited"] & ~c["answered"] & ~on_responses
    op.facts = {"ratings": len(answered), "surveys": len(answered) + int(offered.sum()), "offered": int(offered.sum()),
                "reassigned": int((c["reassigned"] & ~on_responses).sum()), "merged": len(merged),
                "on_responses": int(on_responses.sum())}
    return op


# --------------------------------------------------------------------------------------------------
# Freshdesk (answered surveys only)

FRESHDESK_FIVE = (-103, -102, 100, 102, 103)       # Very unhappy .. Very happy: CSAT 1 .. 5
FRESHDESK_SOURCE = {"email": 1, "phone": 3, "chat": 7}
FRESHDESK_SURVEY = 12


def write_freshdesk(folder: Path, seed: int = 20) -> Operation:
    """tickets.json (two bare arrays one after another, ``include=stats``), satisfaction_ratings.json
    (answered surveys of the 5-point survey 12 only), surveys.json (the survey and its accepted
    ratings), mapping.yaml (policy from the custom field ``cf_policy``)."""
    op = operation(seed, points=5, invited=0.85, first_agent=7001)
    c = op.contacts
    folder.mkdir(parents=True, exist_ok=True)
    tickets = [{
        "id": 40000 + int(r.n), "subject": "Order", "description_text": "...", "status": (4, 5)[int(r.n) % 2],
        "priority": 1, "source": FRESHDESK_SOURCE[r.channel], "type": "Question",
        "requester_id": 900000 + int(r.customer), "responder_id": int(r.agent_at_export), "group_id": 81,
        "company_id": None, "product_id": None, "email_config_id": None, "fr_escalated": False,
        "is_escalated": False, "spam": False, "deleted": False, "tags": [], "cc_emails": [],
        "custom_fields": {"cf_policy": r.policy}, "due_by": _iso(r.closed), "fr_due_by": _iso(r.closed),
        "created_at": _iso(r.opened), "updated_at": _iso(r.responded),
        "stats": {"agent_responded_at": _iso(r.opened + (r.closed - r.opened) / 2),
                  "requester_responded_at": None, "first_responded_at": _iso(r.opened + (r.closed - r.opened) / 2),
                  "status_updated_at": _iso(r.closed), "reopened_at": None, "resolved_at": _iso(r.closed),
                  "closed_at": _iso(r.closed), "pending_since": None},
    } for r in c.itertuples()]
    half = len(tickets) // 2
    (folder / "tickets.json").write_text(json.dumps(tickets[:half]) + "\n" + json.dumps(tickets[half:]))
    answered = c[c["answered"]]
    ratings = [{
        "id": 90000 + int(r.n), "survey_id": FRESHDESK_SURVEY, "user_id": 900000 + int(r.customer),
        "agent_id": int(r.agent), "group_id": 81, "ticket_id": 40000 + int(r.n),
        "feedback": None if r.n % 4 else "Thanks", "ratings": {"default_question": FRESHDESK_FIVE[int(r.csat) - 1]},
        "created_at": _iso(r.responded), "updated_at": _iso(r.responded),
    } for r in answered.itertuples()]
    _write(folder / "satisfaction_ratings.json", ratings)
    _write(folder / "surveys.json", [{
        "id": FRESHDESK_SURVEY, "title": "Default survey", "active": True,
        "questions": [{"id": "default_question", "label": "How would you rate our support?",
                       "accepted_ratings": list(FRESHDESK_FIVE)}],
        "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z"}])
    (folder / "mapping.yaml").write_text("vendor: freshdesk\ncolumns:\n  policy: {field: cf_policy}\n")
    op.facts = {"ratings": len(answered), "surveys": len(answered), "reassigned": int(c["reassigned"].sum())}
    return op


def import_and_study(vendor: str, writer, tmp_path_factory, name: str):
    """Write an export with `writer`, import it with the real importer and its mapping, validate the data
    set and run the default study on it (n_boot 100): (operation truth, import result, data set, study)."""
    import warnings

    import upstream
    from upstream.data.importers import import_export
    from upstream.studies import RunCache, agent_vs_system

    folder = tmp_path_factory.mktemp(name) / "export"
    op = writer(folder)
    result = import_export(vendor, folder, folder / "mapping.yaml")
    ds = upstream.load_dataset(result.write(tmp_path_factory.mktemp(f"{name}-data") / "dataset", validate=True),
                               validate=False)    # write() validated these bytes and refuses invalid data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = agent_vs_system.run(ds, {"n_boot": 100}, RunCache())
    return op, result, ds, study

