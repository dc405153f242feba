"""Gorgias -> canonical contacts, surveys and agents.

The export is a folder of saved API responses, cursor pages ``{"data": [...], "meta":
{"next_cursor": ...}}`` (docs/importers/vendor_formats.md §5):

| file | required | content |
|---|---|---|
| ``tickets.json`` | yes | ``GET /api/tickets`` |
| ``satisfaction_surveys.json`` | yes | ``GET /api/satisfaction-surveys`` |
| ``messages.json`` | no | ``GET /api/messages``: who wrote each message (attribution; ``contact_agents``) |
| ``users.json`` | no | ``GET /api/users``: agents and their creation dates |

Rules (each also written into the import report):

- Contacts: status ``closed`` with a ``closed_datetime``; ``spam`` tickets and tickets moved to
  the trash (``trashed_datetime``) are dropped. Times are ISO 8601, usually with microseconds and
  without an offset (UTC). Assignee, team and customer from the nested objects
  (``assignee_user.id``) or the flat ids of newer responses (``assignee_user_id``,
  ``assignee_team_id``, ``customer_id``).
- CSAT: ``score`` 1-5 (1..5, top box 4-5); ``sent_datetime`` = ``sent_at``, ``scored_datetime`` =
  ``responded_at`` (``sent_datetime``, with a warning, for a score without one); a survey created
  but never sent (no ``sent_datetime``) is no survey; a score outside 1-5 (``0``, ``"x"``) or a
  survey time that is not a time stops the import.
- **Attribution**: a Gorgias survey names no agent. With ``messages.json`` the rating belongs to
  the author of the last *public agent reply* before the survey was sent (``attribution.rule:
  last_agent_reply``): ``from_agent`` true, not an internal note (``public`` false, ``channel``
  or ``source.type`` ``internal-note``), not sent by a rule (``rule_id``) and not from a bot user
  (``users.json`` role ``bot``). Without it, to the ticket's ``assignee_user`` *at export time*
  (``export_time_assignee``, flagged: a reassignment after the survey moves the rating).
- Bots: users whose role is ``bot`` are not agents: they are left out of the agents table, and a
  ticket assigned to one keeps only an agent who replied publicly (or is dropped, no assignee).
- ``n_interactions`` = ``messages_count``; no reopen count or handle time in the ticket list, so
  ``resolved_first_contact`` and ``handle_time_sec`` are missing; ``team`` = ``assignee_team``.
- Mapping: ``tag_prefix`` over tag names. Gorgias keeps custom fields behind a separate
  endpoint, so ``field`` rules are refused.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .assemble import Extract, assemble
from .derive import to_utc_naive
from .errors import ImportInputError
from .gorgias_replies import add_message_credit
from .mapping import Mapping
from .pages import FileRead, iter_pages
from .report import ImportReport
from .result import ImportResult
from .scales import GORGIAS
from .source import ids_as_text, open_api_export
from .vendor_times import iso_times

VENDOR = "gorgias"
FORMAT = "gorgias-api"


def _expected(what: str) -> str:
    return (f'Gorgias {what} pages such as {{"data": [...], "meta": {{"next_cursor": ...}}}} (one page object, '
            "several one after another, or one per line)")


def import_gorgias(export: str | Path, mapping: Mapping | str | Path | None = None) -> ImportResult:
    """Import a Gorgias export folder; see the module docstring for the rules."""
    folder, mapping, mapping_text, paths = open_api_export(
        export, mapping, VENDOR, stems=("tickets", "satisfaction_surveys", "messages", "users"),
        required=("tickets", "satisfaction_surveys"), refused=("column", "field"),
        needs="a Gorgias export needs tickets.json and satisfaction_surveys.json",
        folder_hint="Gorgias export (tickets.json, satisfaction_surveys.json; optionally messages.json, users.json)",
        rule_hint="'{kind}' rules cannot be read from a Gorgias export (custom fields are behind a separate "
                  "endpoint); use tag_prefix or value")
    report = ImportReport(vendor=VENDOR, format=FORMAT, export=str(folder))

    tickets = _records(paths, report, "tickets", "ticket")
    if not tickets:
        raise ImportInputError(f"{paths['tickets'].name}: the export holds no tickets; expected at least one ticket",
                               paths["tickets"].name)
    surveys = _records(paths, report, "satisfaction_surveys", "satisfaction survey")

    t = _tickets(tickets, mapping)
    sname = paths["satisfaction_surveys"].name
    r = _ratings(surveys, sname, report)
    staff, bots = _staff_and_bots(paths, report, t)
    rule, description, agent_source, replies = _attribution(paths, report, r, bots)
    exported_at = max(v for v in (t["updated"].max(), r["updated"].max()) if pd.notna(v))
    tname = paths["tickets"].name
    x = Extract(
        vendor=VENDOR, format=FORMAT, export=folder, tickets_file=tname, ratings_file=sname, tickets=t, ratings=r,
        scale=GORGIAS, mapping=mapping, report=report, exported_at=exported_at, attribution_rule=rule,
        attribution_description=description,
        drops=[(t["trashed"], "deleted (moved to the trash: trashed_datetime)"), (t["spam"], "spam"),
               (t["status"] != "closed", "not closed at export time (status open)")],
        alive=~t["spam"] & ~t["trashed"],
        sources=_sources(tname, sname, agent_source),
        vendor_columns={"n_interactions": (f"{tname}: messages_count (customer and agent messages), at least 1",
                                           "derived")},
        missing={"handle_time_sec": "not recorded: Gorgias has no handle time on a ticket",
                 "resolved_first_contact": "not derivable: the ticket list has no reopen count (the events API has)",
                 "escalated": "not in a Gorgias export; map a tag to import it",
                 "credit_issued": "not in a Gorgias export; map a tag to import it"},
        nps_present=False, staff=staff, users_file="users.json" if paths["users"] is not None else None,
        read={"contacts": len(tickets), "surveys": len(surveys), "agents": len(staff)},
        mapping_text=mapping_text, agent_noun="assignee")
    result = assemble(x)
    return result if replies is None else add_message_credit(result, replies, paths["messages"].name)


def _records(paths: dict, report: ImportReport, stem: str, what: str) -> list[dict]:
    """The records of one export file (its "data" pages), the file's reading recorded in the report."""
    info = FileRead(name=paths[stem].name, path=paths[stem])
    out = [rec for page in iter_pages(paths[stem], "data", expected=_expected(what), info=info) for rec in page]
    report.files.append(info)
    return out


def _col(rows: list[dict], get) -> pd.Series:
    """One value per record, as an object Series."""
    return pd.Series([get(x) for x in rows], dtype="object")


def _tickets(tickets: list[dict], mapping: Mapping) -> pd.DataFrame:
    """tickets.json's tickets as ``assemble``'s tickets, with the message count and the mapping's tags."""
    t = pd.DataFrame({
        "id": ids_as_text(_col(tickets, lambda x: x.get("id"))),
        "status": _col(tickets, lambda x: x.get("status")).astype("str").str.lower(),
        "spam": _col(tickets, lambda x: bool(x.get("spam"))).astype(bool),
        "trashed": _col(tickets, lambda x: x.get("trashed_datetime") is not None).astype(bool),
        "assignee": ids_as_text(_col(tickets, lambda x: _first_id(x.get("assignee_user"), x.get("assignee_user_id")))),
        "team": _col(tickets, lambda x: (x.get("assignee_team") or {}).get("name") or (
            None if x.get("assignee_team_id") is None else f"team {x['assignee_team_id']}")).astype("str"),
        "requester": ids_as_text(_col(tickets, lambda x: _first_id(x.get("customer"), x.get("customer_id")))),
        "channel": _col(tickets, lambda x: x.get("channel")).astype("str"),
    })
    t["opened"], _ = to_utc_naive(_col(tickets, lambda x: x.get("created_datetime")))
    t["closed"], _ = to_utc_naive(_col(tickets, lambda x: x.get("closed_datetime")))
    t["updated"], _ = to_utc_naive(_col(tickets, lambda x: x.get("updated_datetime")))
    count = pd.to_numeric(_col(tickets, lambda x: x.get("messages_count")), errors="coerce")
    t["v:n_interactions"] = count.clip(lower=1)
    for column, rule in mapping.columns.items():
        if rule.kind == "tag_prefix":
            n = len(rule.source)
            t[f"src:{column}"] = _col(tickets, lambda x, p=rule.source, n=n: next(
                (tg["name"][n:] for tg in x.get("tags") or () if isinstance(tg, dict)
                 and isinstance(tg.get("name"), str) and tg["name"].startswith(p)), None))
    return t


def _ratings(surveys: list[dict], sname: str, report: ImportReport) -> pd.DataFrame:
    """The satisfaction surveys that were sent, as ``assemble``'s ratings (a score outside 1 to 5 stops
    the import; a survey never sent is dropped)."""
    s = pd.DataFrame({
        "id": ids_as_text(_col(surveys, lambda x: x.get("id"))),
        "ticket_id": ids_as_text(_col(surveys, lambda x: x.get("ticket_id"))),
        "score": _col(surveys, lambda x: x.get("score")),
        "comment": _col(surveys, lambda x: x.get("body_text")),
    })
    for name, key in (("sent_at", "sent_datetime"), ("scored", "scored_datetime"), ("created", "created_datetime")):
        s[name] = iso_times(_col(surveys, lambda x, k=key: x.get(k)), sname, key, s["id"], "survey")
    codes = pd.to_numeric(s["score"], errors="coerce")
    off = s["score"].notna() & ~codes.isin([1, 2, 3, 4, 5])
    if off.any():
        examples = ", ".join(f"{v!r} (survey {i})" for v, i in zip(s["score"][off][:5], s["id"][off][:5]))
        raise ImportInputError(f"{sname}: score must be 1 to 5 (Gorgias' scale); found {examples}", sname)
    never_sent = s["sent_at"].isna()
    report.drop("surveys", "created but never sent (no sent_datetime)", s.loc[never_sent, "id"])
    s = s[~never_sent]
    no_score_time = codes[s.index].notna() & s["scored"].isna()
    if no_score_time.any():
        report.warnings.append(f"{int(no_score_time.sum())} scored surveys have no scored_datetime; their responded_at "
                               "is sent_datetime")
    r = pd.DataFrame({
        "id": s["id"], "ticket_id": s["ticket_id"], "agent": pd.Series(pd.NA, index=s.index, dtype="str"),
        "team": pd.Series(pd.NA, index=s.index, dtype="str"),
        "csat": pd.array(codes[s.index], dtype="Int64"), "nps": pd.array([pd.NA] * len(s), dtype="Int64"),
        "sent_at": s["sent_at"],
        "responded_at": s["scored"].fillna(s["sent_at"]).where(codes[s.index].notna()),
        "comment": s["comment"].astype("str").where(s["comment"].notna()),
        "updated": s["scored"].fillna(s["sent_at"])})
    return r


def _staff_and_bots(paths: dict, report: ImportReport, t: pd.DataFrame) -> tuple[pd.DataFrame, set[str]]:
    """The agents of users.json and its bot users; a ticket assigned to a bot loses its assignee."""
    staff = pd.DataFrame(columns=["id", "team", "created_at"])
    bots: set[str] = set()
    if paths["users"] is not None:
        users = _records(paths, report, "users", "user")
        bots = {str(u.get("id")) for u in users if _is_bot(u)}
        people = [u for u in users if str(u.get("id")) not in bots]
        staff = pd.DataFrame({"id": [str(u.get("id")) for u in people], "team": [None] * len(people),
                              "created_at": [u.get("created_datetime") for u in people]})
    bot_assigned = t["assignee"].isin(bots)
    if bot_assigned.any():
        t.loc[bot_assigned, "assignee"] = pd.NA
        report.warnings.append(
            f"{int(bot_assigned.sum())} tickets are assigned to a bot user (users.json role bot); a bot is not an "
            "agent, so they keep only an agent who replied publicly (or are dropped for having no assignee)")
    return staff, bots


def _attribution(paths: dict, report: ImportReport, r: pd.DataFrame, bots: set[str]):
    """Whom each rating belongs to: with messages.json, the author of the last public agent reply
    before the survey was sent (set on ``r``); without it, the assignee at export time. The rule, its
    description, the agent's source text and the public agent replies (None without messages.json)."""
    m = None
    if paths["messages"] is not None:
        messages = _records(paths, report, "messages", "message")
        mname = paths["messages"].name
        m = pd.DataFrame({
            "id": ids_as_text(_col(messages, lambda x: x.get("id"))),
            "ticket_id": ids_as_text(_col(messages, lambda x: x.get("ticket_id"))),
            "from_agent": _col(messages, lambda x: x.get("from_agent") is True).astype(bool),
            "sender": ids_as_text(_col(messages, lambda x: (x.get("sender") or {}).get("id"))),
        })
        m["at"] = iso_times(_col(messages, lambda x: x.get("sent_datetime") or x.get("created_datetime")), mname,
                            "sent_datetime", m["id"], "message")
        kind = _message_kinds(messages, m["sender"], bots)
        m = m[m["from_agent"] & kind.eq("reply")]
        r["agent"] = _last_agent_before(m, r)
        rule = "last_agent_reply"
        description = ("A rated ticket's agent_id is the author of the last public agent reply before the survey was "
                       "sent (messages.json; internal notes, rule messages and bot users do not count); tickets "
                       "without a survey keep assignee_user at export time.")
        agent_source = (f"{mname}: the author of the last public agent reply before the survey was sent ({{rated}} "
                        f"tickets with a survey); {paths['tickets'].name}: assignee_user at export time "
                        "({unrated} without one)")
        from_agents = _col(messages, lambda x: x.get("from_agent") is True).astype(bool)
        not_replies = {k: int((from_agents & kind.eq(k)).sum()) for k in NOT_REPLIES}
        if any(not_replies.values()):
            report.warnings.append(
                "agent-side messages that are not public replies do not attribute ratings: "
                + ", ".join(f"{n} {NOT_REPLIES[k]}" for k, n in not_replies.items() if n))
        n_without = int((r["agent"].isna()).sum())
        if n_without:
            report.warnings.append(f"{n_without} surveys have no public agent reply before they were sent; they keep "
                                   "the export-time assignee")
    else:
        rule = "export_time_assignee"
        description = ("A Gorgias survey names no agent and messages.json was not in the export, so agent_id is the "
                       "ticket's assignee_user when it was exported: a rating given before a reassignment is credited "
                       "to the later agent; how many were reassigned is not visible.")
        agent_source = (f"{paths['tickets'].name}: assignee_user at export time (all {{rated}} rated and "
                        "{unrated} other tickets)")
        report.warnings.append(
            "Gorgias surveys name no agent: ratings are credited to each ticket's assignee at export time, so a "
            "reassignment after the survey moves the rating to the later agent; export messages.json "
            "(GET /api/messages) to attribute each rating to the last agent who replied before it was sent")
    return rule, description, agent_source, m


def _sources(tname: str, sname: str, agent_source: str) -> dict[str, str]:
    """Where each canonical column comes from, for the report."""
    return {
        "contacts.contact_id": f"{tname}: id",
        "contacts.opened_at": f"{tname}: created_datetime (UTC)",
        "contacts.closed_at": f"{tname}: closed_datetime (UTC)",
        "contacts.agent_id": agent_source,
        "contacts.team": f"{tname}: assignee_team.name at export time",
        "contacts.channel": f"{tname}: channel, grouped (see channels)",
        "contacts.customer_id": f"{tname}: customer.id",
        "surveys.sent_at": f"{sname}: sent_datetime",
        "surveys.responded_at": f"{sname}: scored_datetime, for answered surveys (else sent_datetime)",
        "surveys.csat": f"{sname}: score, 1 to 5",
        "surveys.comment": f"{sname}: body_text"}


def _last_agent_before(messages: pd.DataFrame, surveys: pd.DataFrame) -> pd.Series:
    """Per survey, the sender of the last agent message of its ticket at or before ``sent_at``."""
    m = messages[messages["from_agent"] & messages["sender"].notna() & messages["at"].notna()]
    m = m.sort_values("at", kind="stable")
    left = pd.DataFrame({"ticket_id": surveys["ticket_id"].to_numpy(), "sent_at": surveys["sent_at"].to_numpy(),
                         "row": np.arange(len(surveys))}).sort_values("sent_at", kind="stable")
    merged = pd.merge_asof(left, m[["ticket_id", "at", "sender"]].rename(columns={"at": "sent_at"}),
                           on="sent_at", by="ticket_id", direction="backward")
    out = pd.Series(pd.NA, index=range(len(surveys)), dtype="str")
    out.iloc[merged["row"].to_numpy()] = merged["sender"].to_numpy()
    return pd.Series(out.to_numpy(), index=surveys.index, dtype="str")


#: agent-side messages that are not replies (the TicketMessage object,
#: https://developers.gorgias.com/reference/the-ticketmessage-object: ``public`` is false for
#: internal notes, whose ``channel`` / ``source.type`` is ``internal-note``; ``rule_id`` names the
#: rule that sent a message) and messages from bot users (the User object's ``role.name``).
NOT_REPLIES = {"note": "internal notes (public false or channel internal-note)",
               "rule": "messages sent by a rule (rule_id)",
               "bot": "messages from bot users (role bot)"}


def _first_id(obj, fallback):
    """The id of a nested object (``assignee_user: {id}``), else the flat id (``assignee_user_id``)."""
    if isinstance(obj, dict) and obj.get("id") is not None:
        return obj["id"]
    return fallback


def _is_bot(user: dict) -> bool:
    """A Gorgias user whose role is ``bot`` (``role: {name}``, or the v1.1 ``roles`` object or list)."""
    roles = user.get("role") or user.get("roles")
    roles = roles if isinstance(roles, list) else [roles]
    return any((r.get("name") if isinstance(r, dict) else r) == "bot" for r in roles if r)


def _message_kinds(messages: list[dict], sender: pd.Series, bots: set[str]) -> pd.Series:
    """Per message: ``note``, ``rule``, ``bot`` or ``reply`` (a public message; whether it came
    from an agent is ``from_agent``)."""
    def kind(x: dict, who) -> str:
        source = x.get("source") if isinstance(x.get("source"), dict) else {}
        if x.get("public") is False or "internal-note" in (x.get("channel"), source.get("type")):
            return "note"
        if x.get("rule_id") is not None:
            return "rule"
        if isinstance(who, str) and who in bots:
            return "bot"
        return "reply"
    return pd.Series([kind(x, who) for x, who in zip(messages, sender)], index=sender.index, dtype="object")
