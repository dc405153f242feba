"""Intercom conversations -> canonical contacts, surveys and agents.

The export is a folder of saved API responses (docs/importers/vendor_formats.md §3):

| file | required | content |
|---|---|---|
| ``conversations.json`` | yes | ``GET /conversations`` (or search) pages: ``conversation.list`` |
| ``admins.json`` | no | ``GET /admins`` (``admins``): the teammates and their teams |
| ``teams.json`` | no | ``GET /teams`` (``teams``): team names |

Conversations saved from ``GET /conversations/{id}`` carry ``conversation_parts``: the teammates'
public replies give ``contact_agents`` (shared credit; ``intercom_replies.py``).

Rules (each also written into the import report):

- Contacts: closed conversations (``state`` closed) with ``statistics.last_close_at``; times are
  Unix seconds (UTC).
- CSAT: ``conversation_rating.rating`` 1-5 (1..5, top box 4-5; Fin's words terrible .. amazing
  too); ``conversation_rating.created_at`` is when the rating was *requested* (``sent_at``) and
  ``updated_at`` when it was given (``responded_at``). API 2.0 and earlier have no ``updated_at``
  (``rating``, ``remark``, ``created_at``, ``customer``, ``teammate`` only): ``responded_at`` is
  then ``created_at``, with a warning; a rating with no time at all takes
  ``statistics.last_close_at``, with a warning, so every rating has a ``responded_at``. Requested
  and not answered = a survey without a reply; never requested = no survey. A rating outside 1-5
  or a rating time that is not Unix seconds stops the import.
- Attribution: ``conversation_rating.teammate.id`` -- the teammate associated with the
  conversation when it was rated; other conversations keep ``admin_assignee_id`` (export time).
- ``resolved_first_contact`` = ``statistics.count_reopens == 0`` (never reopened; the list
  response has no reply counts, so the one-reply condition is not applied). Handle time,
  ``n_interactions`` (``count_conversation_parts`` counts notes and assignments too),
  escalation and credit are missing unless mapped.
- ``customer_id``: the first of ``contacts`` (``customers`` or ``user`` in API 1.x); ``team``:
  ``team_assignee_id`` (name from teams.json); channel: ``source.type``. Mapping: ``tag_prefix``
  over tag names, ``field`` over ``custom_attributes``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .assemble import Extract, assemble
from .errors import ImportInputError
from .intercom_replies import add_part_credit, has_parts
from .mapping import Mapping
from .pages import FileRead, find_file, iter_pages
from .report import ImportReport
from .result import ImportResult
from .scales import INTERCOM
from .source import ids_as_text, open_api_export
from .vendor_times import unix_times

VENDOR = "intercom"
FORMAT = "intercom-api"
EXPECTED = ('Intercom conversation list pages such as {"type": "conversation.list", "conversations": [...], '
            '"pages": ...} (one page object, several one after another, or one per line)')


def import_intercom(export: str | Path, mapping: Mapping | str | Path | None = None) -> ImportResult:
    """Import an Intercom export folder; see the module docstring for the rules."""
    folder, mapping, mapping_text, paths = open_api_export(
        export, mapping, VENDOR, stems=("conversations",), required=("conversations",),
        needs="an Intercom export needs conversations.json (GET /conversations pages)",
        folder_hint="Intercom export (conversations.json; optionally admins.json, teams.json)",
        rule_hint="'column' rules are for table and CSV exports; an Intercom export has custom attributes "
                  "(field:) and tags (tag_prefix:)")
    report = ImportReport(vendor=VENDOR, format=FORMAT, export=str(folder))
    path = paths["conversations"]
    info, convs = _conversations(path, report, mapping)
    t = _tickets(convs, mapping)
    r, has_rating = _ratings(convs, t, path.name, report)
    staff = _teams_and_staff(folder, report, t)
    exported_at = max(v for v in (t["updated"].max(), r["updated"].max()) if pd.notna(v))
    x = Extract(
        vendor=VENDOR, format=FORMAT, export=folder, tickets_file=path.name, ratings_file=path.name,
        tickets=t, ratings=r, scale=INTERCOM, mapping=mapping, report=report, exported_at=exported_at,
        attribution_rule="rating_time_assignee",
        attribution_description=(
            "A rated conversation's agent_id is conversation_rating.teammate (the teammate associated with the "
            "conversation when it was rated); other conversations keep admin_assignee_id at export time."),
        drops=[(t["status"] != "closed", "not closed at export time (state open or snoozed)")],
        sources=_sources(path.name),
        vendor_columns={"resolved_first_contact": (
            "statistics.count_reopens == 0 (never reopened; replies per conversation are not in the list response, "
            "so the one-reply condition is not applied)", "derived")},
        missing={"handle_time_sec": "not recorded: Intercom has no handle time on a conversation",
                 "n_interactions": ("not derived: statistics.count_conversation_parts counts notes, assignments and "
                                    "closes as well as messages"),
                 "escalated": "not in an Intercom export; map a tag or attribute to import it",
                 "credit_issued": "not in an Intercom export; map a tag or attribute to import it"},
        nps_present=False, staff=staff, users_file="admins.json" if len(staff) else None,
        staff_team_source="admins.json: the first of team_ids (name from teams.json)",
        read={"contacts": len(convs), "surveys": int(has_rating.sum()), "agents": len(staff)},
        mapping_text=mapping_text, agent_noun="teammate")
    result = assemble(x)
    return add_part_credit(result, convs, path.name) if has_parts(convs) else result


def _conversations(path: Path, report: ImportReport, mapping: Mapping) -> tuple[FileRead, list[dict]]:
    """conversations.json's conversations (at least one); each custom attribute the mapping names
    must be in them."""
    info = FileRead(name=path.name, path=path)
    convs: list[dict] = []
    for page in iter_pages(path, "conversations", singular="conversation", expected=EXPECTED, info=info):
        convs.extend(page)
    report.files.append(info)
    if not convs:
        raise ImportInputError(f"{path.name}: the export holds no conversations ({info.pages} page(s), all empty); "
                               "expected at least one conversation", path.name)
    seen_attributes = set()
    for c in convs:
        seen_attributes.update((c.get("custom_attributes") or {}).keys())
    for column, rule in mapping.columns.items():
        if rule.kind == "field" and str(rule.source) not in seen_attributes:
            raise ImportInputError(
                f"{mapping.name}: columns.{column}: no custom attribute {rule.source!r} in {path.name}; attributes "
                f"present: {', '.join(sorted(seen_attributes)) or 'none'}", mapping.name)
    return info, convs


def _columns(convs: list[dict]):
    """Readers of one value per conversation as a Series: any (``col``), a statistic (``stat``), a
    field of the embedded rating (``rating``)."""

    def col(get):
        return pd.Series([get(c) for c in convs], dtype="object")

    def stat(key):
        return col(lambda c: (c.get("statistics") or {}).get(key))

    def rating(key):
        return col(lambda c: (c.get("conversation_rating") or {}).get(key))

    return col, stat, rating


def _tickets(convs: list[dict], mapping: Mapping) -> pd.DataFrame:
    """The conversations as ``assemble``'s tickets, with first-contact resolution and the mapping's
    tags and custom attributes."""
    col, stat, _ = _columns(convs)
    t = pd.DataFrame({
        "id": ids_as_text(col(lambda c: c.get("id"))),
        "status": col(lambda c: c.get("state")).astype("str").str.lower(),
        "assignee": ids_as_text(col(_assignee)),
        "team_id": ids_as_text(col(lambda c: c.get("team_assignee_id"))),
        "requester": ids_as_text(col(_customer)),
        "channel": col(lambda c: (c.get("source") or {}).get("type")).astype("str"),
    })
    t["opened"] = _unix(col(lambda c: c.get("created_at")))
    t["updated"] = _unix(col(lambda c: c.get("updated_at")))
    t["closed"] = _unix(stat("last_close_at"))
    reopens = pd.to_numeric(stat("count_reopens"), errors="coerce")
    t["v:resolved_first_contact"] = (reopens.fillna(0) == 0).to_numpy()
    for column, rule in mapping.columns.items():
        if rule.kind == "tag_prefix":
            n = len(rule.source)
            t[f"src:{column}"] = col(lambda c, p=rule.source, n=n: next(
                (name[n:] for name in _tag_names(c) if name.startswith(p)), None))
        elif rule.kind == "field":
            t[f"src:{column}"] = col(lambda c, k=str(rule.source): (c.get("custom_attributes") or {}).get(k))
    return t


def _ratings(convs: list[dict], t: pd.DataFrame, file_name: str, report: ImportReport):
    """The embedded conversation ratings as ``assemble``'s ratings (a rating outside 1 to 5 stops the
    import; times from what the API version exports, with a warning when one is missing), and which
    conversations have a rating or a rating request."""
    _, _, rating = _columns(convs)
    value = rating("rating")
    requested = unix_times(rating("created_at"), file_name, "conversation_rating.created_at", t["id"],
                           "conversation")
    answered_at = unix_times(rating("updated_at"), file_name, "conversation_rating.updated_at", t["id"],
                             "conversation")
    has_rating = value.notna() | requested.notna()
    codes = pd.Series(INTERCOM.codes_of(value)[0], index=value.index, dtype="object")
    off = value.notna() & codes.isna()
    if off.any():
        examples = ", ".join(f"{v!r} (conversation {i})" for v, i in zip(value[off][:5], t["id"][off][:5]))
        raise ImportInputError(f"{file_name}: conversation_rating.rating must be 1 to 5 (Intercom's scale); found "
                               f"{examples}", file_name)
    given = value.notna()
    # API 2.0 and earlier have no conversation_rating.updated_at: the answer's time is not exported,
    # and created_at (when the rating was requested) is the nearest documented time
    only_requested = given & answered_at.isna() & requested.notna()
    no_time = given & answered_at.isna() & requested.isna()
    responded = answered_at.where(given).fillna(requested.where(only_requested)).fillna(t["closed"].where(no_time))
    if only_requested.any():
        report.warnings.append(
            f"{int(only_requested.sum())} ratings have no conversation_rating.updated_at (Intercom API 2.0 and "
            "earlier): their responded_at is conversation_rating.created_at, when the rating was requested, so the "
            "time to answer cannot be measured")
    if no_time.any():
        report.warnings.append(
            f"{int(no_time.sum())} ratings have neither conversation_rating.created_at nor updated_at: their sent_at "
            "and responded_at are the conversation's statistics.last_close_at")
    teammate = ids_as_text(rating("teammate").map(lambda m: (m or {}).get("id") if isinstance(m, dict) else None))
    r = pd.DataFrame({
        "id": t["id"], "ticket_id": t["id"], "agent": teammate, "team": pd.Series(pd.NA, index=t.index, dtype="str"),
        "csat": pd.array(codes.where(given), dtype="Int64"),
        "nps": pd.array([pd.NA] * len(t), dtype="Int64"),
        "sent_at": requested.fillna(answered_at).fillna(t["closed"].where(no_time)),
        "responded_at": responded,
        "comment": rating("remark").astype("str").where(rating("remark").notna()),
        "updated": answered_at.fillna(requested).fillna(t["closed"].where(no_time))})[has_rating]
    return r, has_rating


def _teams_and_staff(folder: Path, report: ImportReport, t: pd.DataFrame) -> pd.DataFrame:
    """Team names (teams.json, else the team ids) on the tickets, and the admins (admins.json) with
    their first team's name."""
    teams: dict[str, str] = {}
    staff = pd.DataFrame(columns=["id", "team", "created_at"])
    for stem, key in (("teams", "teams"), ("admins", "admins")):
        p = find_file(folder, stem)
        if p is None:
            continue
        finfo = FileRead(name=p.name, path=p)
        recs = [rec for page in iter_pages(p, key, expected=f'Intercom {stem} list {{"{key}": [...]}}', info=finfo)
                for rec in page]
        report.files.append(finfo)
        if stem == "teams":
            teams = {str(rec.get("id")): str(rec.get("name", "")) for rec in recs}
        else:
            staff = pd.DataFrame({
                "id": [str(rec.get("id")) for rec in recs],
                "team": [teams.get(str((rec.get("team_ids") or [None])[0])) for rec in recs],
                "created_at": [None for _ in recs]})
    t["team"] = t["team_id"].map(teams).where(t["team_id"].isin(list(teams)), t["team_id"]) if teams else t["team_id"]
    return staff


def _sources(file_name: str) -> dict[str, str]:
    """Where each canonical column comes from, for the report."""
    return {
        "contacts.contact_id": f"{file_name}: id",
        "contacts.opened_at": f"{file_name}: created_at (Unix seconds, UTC)",
        "contacts.closed_at": f"{file_name}: statistics.last_close_at",
        "contacts.agent_id": (f"{file_name}: conversation_rating.teammate.id, the teammate when it was rated "
                              "({rated} contacts with a rating request); admin_assignee_id at export time "
                              "({unrated} without one)"),
        "contacts.team": f"{file_name}: team_assignee_id at export time (name from teams.json)",
        "contacts.channel": f"{file_name}: source.type, grouped (see channels)",
        "contacts.customer_id": f"{file_name}: the first of contacts",
        "surveys.sent_at": f"{file_name}: conversation_rating.created_at (when the rating was requested)",
        "surveys.responded_at": (f"{file_name}: conversation_rating.updated_at, for given ratings (created_at "
                                 "where updated_at is not exported: API 2.0 and earlier)"),
        "surveys.csat": f"{file_name}: conversation_rating.rating, 1 to 5",
        "surveys.comment": f"{file_name}: conversation_rating.remark"}


def _assignee(c: dict):
    """``admin_assignee_id``; API 1.x: ``assignee`` ``{type: admin, id}`` (``nobody_admin`` = none)."""
    if c.get("admin_assignee_id") is not None:
        return c["admin_assignee_id"]
    assignee = c.get("assignee")
    return assignee.get("id") if isinstance(assignee, dict) and assignee.get("type") == "admin" else None


def _customer(c: dict):
    contacts = c.get("contacts")
    if isinstance(contacts, dict):
        contacts = contacts.get("contacts")
    if not contacts:
        contacts = c.get("customers")                    # API 1.x: a list of customers
    if isinstance(contacts, list) and contacts and isinstance(contacts[0], dict):
        return contacts[0].get("id")
    if isinstance(c.get("user"), dict) and c["user"].get("id") is not None:   # API 1.x: the user
        return c["user"]["id"]
    author = (c.get("source") or {}).get("author") or {}
    return author.get("id") if author.get("type") in ("user", "lead", "contact") else None


def _tag_names(c: dict) -> list[str]:
    tags = c.get("tags")
    if isinstance(tags, dict):
        tags = tags.get("tags")
    return [t.get("name") for t in tags or () if isinstance(t, dict) and isinstance(t.get("name"), str)]


def _unix(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    return pd.to_datetime(numbers, unit="s", errors="coerce").astype("datetime64[us]")
