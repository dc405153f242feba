"""A simulated operation written as a helpdesk export, to test the importers against the truth.

``write_export(op, vendor, out)`` takes a :class:`~upstream.simulate.operation.SimulatedOperation`
(the generating model is not touched) and writes it in the shape of the vendor's export (the
files ``upstream import <vendor>`` reads, and a ``mapping.yaml`` for the account's tags and
custom fields), plus ``truth_contacts.csv`` (per contact: the vendor ids, the agent the rating
belongs to, the export-time assignee, the simulator's values) and ``truth.json``.

What the exports carry, as real ones do:

- **Reassignment after the rating**: about ``reassign_share`` (10%) of the contacts with a CSAT
  answer get a new assignee after the customer rated; the vendor's rating record keeps the
  original agent (Zendesk ``satisfaction_ratings[].assignee_id``, Freshdesk ``agent_id``,
  Intercom ``conversation_rating.teammate``, Help Scout ``user``, Gorgias: the author of the last
  agent message before the survey). The ticket's assignee is the new agent.
- **The vendor's scale**: the simulator's 5-point CSAT as the vendor records it -- Zendesk
  good/bad (4-5 good, 1-3 bad), Help Scout great/okay/not good (4-5 great, 3 okay, 1-2 not good),
  Freshdesk's 5-point codes (-103, -102, 100, 102, 103), Intercom and Gorgias 1-5.
  Zendesk and Intercom record unanswered survey requests; Freshdesk and Help Scout only answers.
- Policy in tags, product and issue type in custom fields (tags for Gorgias); channels in the
  vendor's words (phone -> voice, phone_call, 3 ...); handle time where the vendor tracks it
  (Zendesk Time Tracking seconds, Freshdesk time entries in whole minutes); reopens 1 for
  contacts not resolved on first contact; group stations 2 for escalated ones.

Ids: contact ``K0000001`` -> ticket 100001 (Intercom: ``"100001"``), agent ``A001`` -> user 9001,
customer ``C000001`` -> 5000001, team ``Team 01`` -> group 360001.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .operation import PRESETS, SimulatedOperation, simulate

VENDORS = ("zendesk", "zendesk-csv", "freshdesk", "intercom", "helpscout", "gorgias")
PAGE = 500

ZENDESK_CHANNEL = {"phone": "voice", "chat": "chat", "email": "email", "messaging": "native_messaging"}
ZENDESK_CSV_VIA = {"phone": "Phone call (incoming)", "chat": "Chat", "email": "Email", "messaging": "Messaging"}
FRESHDESK_SOURCE = {"phone": 3, "chat": 7, "email": 1, "messaging": 13}
INTERCOM_SOURCE = {"phone": "phone_call", "chat": "conversation", "email": "email", "messaging": "whatsapp"}
HELPSCOUT_TYPE = {"phone": "phone", "chat": "chat", "email": "email", "messaging": "chat"}  # no messaging type
GORGIAS_CHANNEL = {"phone": "phone", "chat": "chat", "email": "email", "messaging": "sms"}
FRESHDESK_CODES = {1: -103, 2: -102, 3: 100, 4: 102, 5: 103}
HELPSCOUT_RATING = {1: "not_good", 2: "not_good", 3: "okay", 4: "great", 5: "great"}


@dataclass
class ExportTruth:
    """What the export holds, per contact (``contacts``) and in total."""

    folder: Path
    vendor: str
    contacts: pd.DataFrame


def slug(text: str) -> str:
    return str(text).lower().replace(" ", "_").replace("-", "_")


def simulate_export(out: Path, vendor: str, preset: str = "sample", seed: int | None = None,
                    reassign_share: float = 0.10) -> Path:
    """Simulate with a named preset and write it as ``vendor``'s export into ``out`` (which must
    not exist or be empty)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if vendor not in VENDORS:
        raise ValueError(f"unknown vendor {vendor!r}; choose one of {', '.join(VENDORS)}")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: the folder exists and is not empty; choose a new one")
    op = simulate(PRESETS[preset], seed=seed)
    write_export(op, vendor, out, reassign_share=reassign_share)
    return out


def write_export(op: SimulatedOperation, vendor: str, out: Path, reassign_share: float = 0.10,
                 seed: int = 7) -> ExportTruth:
    """Write ``op`` as ``vendor``'s export into ``out``; returns the per-contact truth (also
    written as truth_contacts.csv)."""
    if vendor not in VENDORS:
        raise ValueError(f"unknown vendor {vendor!r}; choose one of {', '.join(VENDORS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame = _frame(op, reassign_share, seed)
    agents = _agents(op, frame)
    {"zendesk": _zendesk, "zendesk-csv": _zendesk_csv, "freshdesk": _freshdesk, "intercom": _intercom,
     "helpscout": _helpscout, "gorgias": _gorgias}[vendor](frame, agents, out)
    truth = frame[["contact_id", "sim_contact_id", "agent_id", "agent_id_at_export", "sim_agent_id", "reassigned",
                   "surveyed", "csat5", "nps", "channel", "policy", "product", "issue_type", "customer_id",
                   "handle_time_sec", "n_interactions", "resolved_first_contact", "escalated", "opened_at",
                   "closed_at", "sent_at", "responded_at"]].copy()
    truth.to_csv(out / "truth_contacts.csv", index=False, date_format="%Y-%m-%dT%H:%M:%S")
    (out / "truth.json").write_text(json.dumps(op.truth, indent=1) + "\n")
    return ExportTruth(folder=out, vendor=vendor, contacts=truth)


# ------------------------------------------------------------------------------------------------
# the operation as one frame with vendor ids


def _frame(op: SimulatedOperation, reassign_share: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    c = op.contacts.merge(op.surveys, on="contact_id", how="left", indicator=True)
    c["surveyed"] = c.pop("_merge") == "both"
    c["sim_contact_id"] = c["contact_id"]
    c["sim_agent_id"] = c["agent_id"]
    c["contact_id"] = (100000 + c["contact_id"].str[1:].astype(int)).astype(str)
    agent_number = c["agent_id"].str[1:].astype(int)
    c["agent_id"] = (9000 + agent_number).astype(str)
    c["customer_id"] = (5000000 + c["customer_id"].str[1:].astype(int)).astype(str)
    c["group_id"] = (360000 + c["team"].str[5:].astype(int)).astype(str)
    c["csat5"] = c["csat"].astype("Int64")
    rated = np.flatnonzero(c["csat5"].notna().to_numpy())
    moved = rng.choice(rated, size=int(round(reassign_share * len(rated))), replace=False) if len(rated) else []
    c["reassigned"] = False
    c.loc[c.index[moved], "reassigned"] = True
    agent_ids = np.sort(op.agents["agent_id"].str[1:].astype(int).to_numpy()) + 9000
    teams = op.agents.set_index((op.agents["agent_id"].str[1:].astype(int) + 9000).astype(str))["team"]
    new_agent = []
    for i in moved:
        current = int(c.at[c.index[i], "agent_id"])
        options = agent_ids[agent_ids != current]
        new_agent.append(str(int(rng.choice(options))))
    c["agent_id_at_export"] = c["agent_id"]
    c.loc[c.index[moved], "agent_id_at_export"] = new_agent
    c["team_at_export"] = c["agent_id_at_export"].map(teams)
    c["group_at_export"] = (360000 + c["team_at_export"].str[5:].astype(int)).astype(str)
    # the reassignment happens after the customer rated
    c["reassigned_at"] = (c["responded_at"] + pd.Timedelta(hours=2)).where(c["reassigned"])
    c["updated_at"] = c[["closed_at", "sent_at", "responded_at", "reassigned_at"]].max(axis=1)
    return c.reset_index(drop=True)


def _agents(op: SimulatedOperation, frame: pd.DataFrame) -> pd.DataFrame:
    a = op.agents.copy()
    a["user_id"] = (9000 + a["agent_id"].str[1:].astype(int)).astype(str)
    a["group_id"] = (360000 + a["team"].str[5:].astype(int)).astype(str)
    a["name"] = "Agent " + a["agent_id"]
    end = frame["updated_at"].max()
    a["created_at"] = end - pd.to_timedelta(a["tenure_months"] * 30.4375, unit="D")
    return a


def _iso(t, z: str = "Z") -> str | None:
    return None if pd.isna(t) else pd.Timestamp(t).strftime("%Y-%m-%dT%H:%M:%S") + z


def _unix(t) -> int | None:
    return None if pd.isna(t) else int(pd.Timestamp(t).timestamp())


def _write_pages(path: Path, pages) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for page in pages:
            fh.write(json.dumps(page, ensure_ascii=False) + "\n")


def _chunks(rows: list, size: int = PAGE):
    for lo in range(0, max(len(rows), 1), size):
        yield rows[lo:lo + size]


def _mapping_yaml(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _maps(frame: pd.DataFrame, column: str) -> str:
    values = sorted(frame[column].unique())
    return "{" + ", ".join(f"{slug(v)}: {json.dumps(v)}" for v in values) + "}"


# ------------------------------------------------------------------------------------------------
# vendors


def _zendesk(c: pd.DataFrame, agents: pd.DataFrame, out: Path) -> None:
    tickets = []
    for r in c.itertuples(index=False):
        fields = [{"id": 360001, "value": slug(r.product)}, {"id": 360002, "value": slug(r.issue_type)},
                  {"id": 360003, "value": int(r.handle_time_sec)}, {"id": 360004, "value": bool(r.escalated)}]
        tickets.append({
            "id": int(r.contact_id), "created_at": _iso(r.opened_at), "updated_at": _iso(r.updated_at),
            "status": "closed", "requester_id": int(r.customer_id), "assignee_id": int(r.agent_id_at_export),
            "group_id": int(r.group_at_export), "via": {"channel": ZENDESK_CHANNEL[r.channel], "source": {}},
            "tags": [f"policy_{slug(r.policy)}", "web_widget"], "custom_fields": fields, "fields": fields,
            "subject": f"Ticket {r.contact_id}", "type": "question"})
    _write_pages(out / "tickets.json", ({"tickets": page, "next_page": None, "end_of_stream": True}
                                        for page in _chunks(tickets, 1000)))
    metrics = [{"ticket_id": int(r.contact_id), "solved_at": _iso(r.closed_at), "updated_at": _iso(r.closed_at),
                "reopens": 0 if r.resolved_first_contact else 1, "replies": int(r.n_interactions),
                "group_stations": 2 if r.escalated else 1,
                "full_resolution_time_in_minutes": {"calendar": 1, "business": 1}}
               for r in c.itertuples(index=False)]
    with open(out / "ticket_metrics.json", "w", encoding="utf-8") as fh:  # pretty pages, back to back
        for page in _chunks(metrics):
            fh.write(json.dumps({"ticket_metrics": page, "next_page": None, "count": len(metrics)}, indent=1))
    ratings, n = [], 0
    for r in c[c["surveyed"]].itertuples(index=False):
        n += 1
        answered = not pd.isna(r.csat5)
        ratings.append({
            "id": 70000000 + n, "ticket_id": int(r.contact_id), "assignee_id": int(r.agent_id),
            "group_id": int(r.group_id), "requester_id": int(r.customer_id),
            "score": ("good" if int(r.csat5) >= 4 else "bad") if answered else "offered",
            "comment": (r.comment if isinstance(r.comment, str) else None) if answered else None,
            "created_at": _iso(r.sent_at), "updated_at": _iso(r.responded_at if answered else r.sent_at)})
    with open(out / "satisfaction_ratings.json", "w", encoding="utf-8") as fh:  # pages one after another
        for page in _chunks(ratings, 100):
            fh.write(json.dumps({"satisfaction_ratings": page, "next_page": None}))
    _write_pages(out / "users.json", [{"users": [
        {"id": int(a.user_id), "name": a.name, "role": "agent", "default_group_id": int(a.group_id),
         "created_at": _iso(a.created_at)} for a in agents.itertuples(index=False)]}])
    _write_pages(out / "groups.json", [{"groups": [{"id": int(g), "name": t} for g, t in sorted(
        set(zip(agents["group_id"], agents["team"])))]}])
    _write_pages(out / "ticket_fields.json", [{"ticket_fields": [
        {"id": 360001, "title": "Product"}, {"id": 360002, "title": "Issue type"},
        {"id": 360003, "title": "Total time spent (sec)"}, {"id": 360004, "title": "Escalated"}]}])
    _mapping_yaml(out / "mapping.yaml", (
        "vendor: zendesk\ncolumns:\n"
        f"  policy: {{tag_prefix: policy_, map: {_maps(c, 'policy')}}}\n"
        f"  product: {{field: Product, map: {_maps(c, 'product')}}}\n"
        f"  issue_type: {{field: Issue type, map: {_maps(c, 'issue_type')}}}\n"))


def _zendesk_csv(c: pd.DataFrame, agents: pd.DataFrame, out: Path) -> None:
    names = agents.set_index("user_id")["name"]
    score = np.where(~c["surveyed"], "Not Offered",
                     np.where(c["csat5"].isna(), "Offered", np.where(c["csat5"].fillna(0) >= 4, "Good", "Bad")))
    rows = pd.DataFrame({
        "Id": c["contact_id"], "Requester id": c["customer_id"], "Assignee": c["agent_id_at_export"].map(names),
        "Group": c["team_at_export"], "Tags": "policy_" + c["policy"].map(slug), "Status": "Closed",
        "Via": c["channel"].map(ZENDESK_CSV_VIA), "Created at": c["opened_at"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        "Updated at": c["updated_at"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        "Solved at": c["closed_at"].dt.strftime("%Y-%m-%d %H:%M:%S"), "Satisfaction Score": score,
        "Group stations": np.where(c["escalated"], 2, 1), "Reopens": np.where(c["resolved_first_contact"], 0, 1),
        "Replies": c["n_interactions"], "Product [list]": c["product"].map(slug),
        "Issue type [list]": c["issue_type"].map(slug), "Total time spent (sec)": c["handle_time_sec"].astype(int)})
    rows.to_csv(out / "tickets.csv", index=False)
    _mapping_yaml(out / "mapping.yaml", (
        "vendor: zendesk\ntimezone: UTC\ncolumns:\n"
        f"  policy: {{tag_prefix: policy_, map: {_maps(c, 'policy')}}}\n"
        f"  product: {{column: \"Product [list]\", map: {_maps(c, 'product')}}}\n"
        f"  issue_type: {{column: \"Issue type [list]\", map: {_maps(c, 'issue_type')}}}\n"))


def _freshdesk(c: pd.DataFrame, agents: pd.DataFrame, out: Path) -> None:
    tickets = [{
        "id": int(r.contact_id), "status": 5, "source": FRESHDESK_SOURCE[r.channel], "requester_id": int(r.customer_id),
        "responder_id": int(r.agent_id_at_export), "group_id": int(r.group_at_export), "type": "Question",
        "custom_fields": {"cf_policy": r.policy, "cf_product": r.product, "cf_issue_type": r.issue_type},
        "created_at": _iso(r.opened_at), "updated_at": _iso(r.updated_at), "spam": False,
        "stats": {"resolved_at": _iso(r.closed_at), "closed_at": _iso(r.closed_at),
                  "reopened_at": None if r.resolved_first_contact else _iso(r.closed_at)}}
        for r in c.itertuples(index=False)]
    _write_pages(out / "tickets.json", _chunks(tickets, 100))
    answered = c[c["csat5"].notna()]
    ratings = [{"id": 300000 + i, "survey_id": 1, "user_id": int(r.customer_id), "agent_id": int(r.agent_id),
                "group_id": int(r.group_id), "ticket_id": int(r.contact_id),
                "feedback": r.comment if isinstance(r.comment, str) else None,
                "ratings": {"default_question": FRESHDESK_CODES[int(r.csat5)]},
                "created_at": _iso(r.responded_at), "updated_at": _iso(r.responded_at)}
               for i, r in enumerate(answered.itertuples(index=False), start=1)]
    _write_pages(out / "satisfaction_ratings.json", _chunks(ratings, 100))
    _write_pages(out / "surveys.json", [[{"id": 1, "title": "Default Survey", "active": True, "questions": [
        {"id": "default_question", "default": True, "accepted_ratings": [-103, -102, 100, 102, 103]}]}]])
    entries = [{"id": 400000 + i, "ticket_id": int(r.contact_id), "agent_id": int(r.agent_id),
                "time_spent": f"{int(r.handle_time_sec) // 3600:02d}:{int(r.handle_time_sec) % 3600 // 60:02d}"}
               for i, r in enumerate(c.itertuples(index=False), start=1)]
    _write_pages(out / "time_entries.json", _chunks(entries, 100))
    _write_pages(out / "agents.json", [[{"id": int(a.user_id), "group_ids": [int(a.group_id)],
                                         "created_at": _iso(a.created_at), "contact": {"name": a.name}}
                                        for a in agents.itertuples(index=False)]])
    _write_pages(out / "groups.json", [[{"id": int(g), "name": t} for g, t in sorted(
        set(zip(agents["group_id"], agents["team"])))]])
    _mapping_yaml(out / "mapping.yaml", (
        "vendor: freshdesk\ncolumns:\n  policy: {field: cf_policy}\n  product: {field: cf_product}\n"
        "  issue_type: {field: cf_issue_type}\n"))


def _intercom(c: pd.DataFrame, agents: pd.DataFrame, out: Path) -> None:
    convs = []
    for r in c.itertuples(index=False):
        answered = not pd.isna(r.csat5)
        rating = {"rating": None, "remark": None, "created_at": None, "updated_at": None,
                  "contact": {"type": "contact", "id": None}, "teammate": {"type": None, "id": None}}
        if r.surveyed:
            rating.update({"created_at": _unix(r.sent_at), "contact": {"type": "contact", "id": f"c-{r.customer_id}"}})
        if answered:
            rating.update({"rating": int(r.csat5), "updated_at": _unix(r.responded_at),
                           "remark": r.comment if isinstance(r.comment, str) else None,
                           "teammate": {"type": "admin", "id": r.agent_id}})
        convs.append({
            "type": "conversation", "id": r.contact_id, "created_at": _unix(r.opened_at),
            "updated_at": _unix(r.updated_at),
            "state": "closed", "open": False, "admin_assignee_id": int(r.agent_id_at_export),
            "team_assignee_id": r.group_at_export,
            "source": {"type": INTERCOM_SOURCE[r.channel], "author": {"type": "user", "id": f"c-{r.customer_id}"}},
            "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": f"c-{r.customer_id}"}]},
            "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "1", "name": f"policy:{r.policy}"}]},
            "custom_attributes": {"product": r.product, "issue_type": r.issue_type},
            "conversation_rating": rating,
            "statistics": {"type": "conversation_statistics", "last_close_at": _unix(r.closed_at),
                           "count_reopens": 0 if r.resolved_first_contact else 1,
                           "count_conversation_parts": int(r.n_interactions) + 2}})
    _write_pages(out / "conversations.json", ({"type": "conversation.list", "conversations": page,
                                               "pages": {"type": "pages"}} for page in _chunks(convs)))
    _write_pages(out / "admins.json", [{"type": "admin.list", "admins": [
        {"type": "admin", "id": a.user_id, "name": a.name, "team_ids": [int(a.group_id)]}
        for a in agents.itertuples(index=False)]}])
    _write_pages(out / "teams.json", [{"type": "team.list", "teams": [
        {"type": "team", "id": g, "name": t} for g, t in sorted(set(zip(agents["group_id"], agents["team"])))]}])
    _mapping_yaml(out / "mapping.yaml", (
        "vendor: intercom\ncolumns:\n  policy: {tag_prefix: \"policy:\"}\n  product: {field: product}\n"
        "  issue_type: {field: issue_type}\n"))


def _helpscout(c: pd.DataFrame, agents: pd.DataFrame, out: Path) -> None:
    convs = [{
        "id": int(r.contact_id), "number": int(r.contact_id) - 100000, "type": HELPSCOUT_TYPE[r.channel],
        "status": "closed", "mailboxId": int(r.group_at_export) - 360000 + 100,
        "assignee": {"id": int(r.agent_id_at_export)}, "primaryCustomer": {"id": int(r.customer_id)},
        "createdAt": _iso(r.opened_at), "closedAt": _iso(r.closed_at), "userUpdatedAt": _iso(r.updated_at),
        "threads": int(r.n_interactions),
        "customFields": [{"id": 8001, "name": "Policy", "value": r.policy, "text": r.policy},
                         {"id": 8002, "name": "Product", "value": r.product, "text": r.product},
                         {"id": 8003, "name": "Issue type", "value": r.issue_type, "text": r.issue_type}],
        "tags": []} for r in c.itertuples(index=False)]
    _write_pages(out / "conversations.json", ({"_embedded": {"conversations": page}, "page": {"size": PAGE}}
                                              for page in _chunks(convs)))
    answered = c[c["csat5"].notna()]
    results = [{"ratingId": 550000 + i, "conversationId": int(r.contact_id), "user": {"id": int(r.agent_id)},
                "rating": HELPSCOUT_RATING[int(r.csat5)], "createdAt": _iso(r.responded_at, ""),
                "comments": r.comment if isinstance(r.comment, str) else None}
               for i, r in enumerate(answered.itertuples(index=False), start=1)]
    _write_pages(out / "ratings.json", ({"results": page, "page": 1} for page in _chunks(results)))
    _write_pages(out / "users.json", [{"_embedded": {"users": [
        {"id": int(a.user_id), "firstName": a.name, "createdAt": _iso(a.created_at)}
        for a in agents.itertuples(index=False)]}}])
    _mapping_yaml(out / "mapping.yaml", (
        "vendor: helpscout\ncolumns:\n  policy: {field: Policy}\n  product: {field: Product}\n"
        "  issue_type: {field: Issue type}\n"))


def _gorgias(c: pd.DataFrame, agents: pd.DataFrame, out: Path) -> None:
    teams = dict(zip(agents["group_id"], agents["team"]))
    tickets = [{
        "id": int(r.contact_id), "status": "closed", "channel": GORGIAS_CHANNEL[r.channel], "spam": False,
        "customer": {"id": int(r.customer_id)}, "assignee_user": {"id": int(r.agent_id_at_export)},
        "assignee_team": {"id": int(r.group_at_export), "name": teams[r.group_at_export]},
        "tags": [{"name": f"policy-{slug(r.policy)}"}, {"name": f"product-{slug(r.product)}"},
                 {"name": f"issue-{slug(r.issue_type)}"}],
        "created_datetime": _iso(r.opened_at, ".000000"), "closed_datetime": _iso(r.closed_at, ".000000"),
        "updated_datetime": _iso(r.updated_at, ".000000"), "messages_count": int(r.n_interactions)}
        for r in c.itertuples(index=False)]
    _write_pages(out / "tickets.json", ({"data": page, "meta": {"next_cursor": None}} for page in _chunks(tickets)))
    sent = c[c["surveyed"]]
    surveys = [{"id": 910000 + i, "ticket_id": int(r.contact_id), "customer_id": int(r.customer_id),
                "score": None if pd.isna(r.csat5) else int(r.csat5),
                "body_text": r.comment if isinstance(r.comment, str) and not pd.isna(r.csat5) else None,
                "sent_datetime": _iso(r.sent_at, ""),
                "scored_datetime": None if pd.isna(r.csat5) else _iso(r.responded_at, ""),
                "created_datetime": _iso(r.sent_at, "")}
               for i, r in enumerate(sent.itertuples(index=False), start=1)]
    _write_pages(out / "satisfaction_surveys.json", ({"data": page, "meta": {"next_cursor": None}}
                                                     for page in _chunks(surveys)))
    messages, n = [], 0
    for r in c.itertuples(index=False):
        n += 2
        messages.append({"id": n, "ticket_id": int(r.contact_id), "from_agent": False,
                         "sender": {"id": int(r.customer_id)}, "created_datetime": _iso(r.opened_at, "")})
        messages.append({"id": n + 1, "ticket_id": int(r.contact_id), "from_agent": True,
                         "sender": {"id": int(r.agent_id)}, "created_datetime": _iso(r.closed_at, "")})
        if r.reassigned:  # the new assignee writes after the survey was answered
            n += 1
            messages.append({"id": n + 1, "ticket_id": int(r.contact_id), "from_agent": True,
                             "sender": {"id": int(r.agent_id_at_export)},
                             "created_datetime": _iso(r.reassigned_at, "")})
    _write_pages(out / "messages.json", ({"data": page, "meta": {"next_cursor": None}}
                                         for page in _chunks(messages, 2000)))
    _write_pages(out / "users.json", [{"data": [{"id": int(a.user_id), "name": a.name,
                                                 "created_datetime": _iso(a.created_at, "")}
                                                for a in agents.itertuples(index=False)], "meta": {}}])
    _mapping_yaml(out / "mapping.yaml", (
        "vendor: gorgias\ncolumns:\n"
        f"  policy: {{tag_prefix: policy-, map: {_maps(c, 'policy')}}}\n"
        f"  product: {{tag_prefix: product-, map: {_maps(c, 'product')}}}\n"
        f"  issue_type: {{tag_prefix: issue-, map: {_maps(c, 'issue_type')}}}\n"))


__all__ = ["VENDORS", "write_export", "simulate_export", "ExportTruth", "slug"]
