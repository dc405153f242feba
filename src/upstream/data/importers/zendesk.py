"""Zendesk Support API export -> canonical contacts, surveys and agents.

The export is a folder of saved API pages (docs/importers/vendor_formats.md §1):

| file | required | wrapper key |
|---|---|---|
| ``tickets.json`` | yes | ``tickets`` (list or incremental export pages; may side-load ``metric_sets``) |
| ``ticket_metrics.json`` | yes, unless the tickets pages side-load ``metric_sets`` | ``ticket_metrics`` |
| ``satisfaction_ratings.json`` | this or the next, or both | ``satisfaction_ratings`` (legacy CSAT) |
| ``csat_survey_responses.json`` | this or the previous | ``survey_responses`` (CSAT since 2024; ``zendesk_csat.py``) |
| ``users.json`` | no (agents' team and tenure) | ``users`` |
| ``groups.json`` | no (team names; ids otherwise) | ``groups`` |
| ``ticket_fields.json`` | no (custom fields by title; finds the Time Tracking field) | ``ticket_fields`` |
| ``ticket_comments.json`` | no (public comment authors -> ``contact_agents``; ``zendesk_comments.py``) | ``comments`` |

Each may also be ``.jsonl``/``.ndjson`` and gzipped; pages may be one object, several written one
after another, or one per line; Zendesk's full JSON export (one ticket per line) works too. Large
files are read by Arrow (``records.py``). Rules (each is also written into the import report):

- Attribution: a contact with a rating record (score ``offered``, ``good`` or ``bad``) belongs to
  the rating's ``assignee_id`` and ``group_id`` -- the agent and group *at rating time*; other
  contacts to the ticket's ``assignee_id``/``group_id`` at export time.
- Tickets repeated in an incremental export: the copy with the latest ``updated_at`` is kept.
- Contacts: solved or closed tickets with a ``solved_at``; ``closed_at`` = the last solve. A
  ticket closed by a merge (tag ``closed_by_merge``, or ``via.source.rel`` ``merge``) is neither a
  contact nor a repeat contact.
- CSAT: ``bad`` -> 1, ``good`` -> 2 (binary); ``offered`` = survey sent, no answer;
  ``unoffered`` = no survey; survey responses on their survey's 2-, 3- or 5-point scale; several
  scales joined by the mapping's ``csat.by_survey`` (``zendesk_csat.py``). One survey per ticket:
  the latest rating record. A list pulled with ``score=received`` takes non-response from the
  tickets' embedded ``satisfaction_rating``.
- ``resolved_first_contact`` = ``reopens == 0`` and ``replies <= 1``; ``escalated`` =
  ``group_stations > 1`` (a proxy); ``n_interactions`` = ``max(replies, 1)``;
  ``repeat_within_7d``: see :func:`upstream.data.importers.derive.repeat_within_7d`.
- ``handle_time_sec`` only from the Time Tracking app's ``Total time spent (sec)`` field (found by
  title in ticket_fields.json, or named in the mapping); ``credit_issued`` and agents' ``site``
  are missing.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .assemble import Extract, assemble
from .derive import to_utc_naive
from .errors import ImportInputError
from .mapping import ColumnRule, Mapping
from .pages import FileRead, iter_pages
from .records import RecordSpec, read_records
from .report import ImportReport
from .result import ImportResult
from .source import ids_as_text, latest_rows, open_api_export, positions, take
from .zendesk_comments import add_contact_agents
from .zendesk_csat import read_ratings

VENDOR = "zendesk"
FORMAT = "zendesk-api"
TIME_TRACKING_TITLE = "Total time spent (sec)"
NEEDS = ("a Zendesk API export needs tickets.json, ticket_metrics.json (or tickets pages with side-loaded "
         "metric_sets) and satisfaction_ratings.json or csat_survey_responses.json")
FILES = {  # stem -> (wrapper key, singular wrapper)
    "tickets": ("tickets", "ticket"),
    "ticket_metrics": ("ticket_metrics", "ticket_metric"),
    "satisfaction_ratings": ("satisfaction_ratings", "satisfaction_rating"),
    "users": ("users", "user"),
    "groups": ("groups", "group"),
    "ticket_fields": ("ticket_fields", "ticket_field"),
    "csat_survey_responses": ("survey_responses", "survey_response"),
    "ticket_comments": ("comments", "comment"),     # optional: public comment authors -> contact_agents
}
SOLVED = ("solved", "closed")
MERGED_TAG = "closed_by_merge"
_ID = pa.int64()
_TEXT = pa.string()
METRIC_SCALARS = {"ticket_id": (("ticket_id",), _ID), "solved_at": (("solved_at",), _TEXT),
                  "reopens": (("reopens",), pa.float64()), "replies": (("replies",), pa.float64()),
                  "group_stations": (("group_stations",), pa.float64()), "updated_at": (("updated_at",), _TEXT)}


def _expected(stem: str) -> str:
    key = FILES[stem][0]
    return (f'Zendesk API pages such as {{"{key}": [...], "next_page": ...}} (one page object, '
            f"several one after another, or one per line)")


#: The derived columns this importer fills from ticket_metrics, with the rule the report states.
VENDOR_COLUMNS = {
        "n_interactions": ("ticket_metrics.replies (public agent replies), at least 1", "derived"),
        "resolved_first_contact": ("ticket_metrics: reopens == 0 and replies <= 1 (solved with at most one "
                                   "public agent reply and never reopened)", "derived"),
        "escalated": ("ticket_metrics.group_stations > 1 (the ticket passed through more than one group; a "
                      "proxy for hand-over to a second-line team)", "derived")}
#: Optional columns a Zendesk API export does not have, and why.
MISSING = {"handle_time_sec": ("not recorded: Zendesk has handle time only through the Time Tracking app's "
                                 f"'{TIME_TRACKING_TITLE}' field (not in ticket_fields.json); name it in the "
                                 "mapping (handle_time_sec: {field: ...})"),
             "credit_issued": "not recorded by Zendesk; map a custom field to import it"}


def import_zendesk_api(export: str | Path, mapping: Mapping | str | Path | None = None) -> ImportResult:
    """Import a Zendesk Support API export folder; see the module docstring for the rules.

    Raises :class:`ImportInputError` (message naming the file and what was expected) for a
    missing required file, a file that is not the Zendesk format, an export without tickets,
    or a mapping that names a field or column the export does not have.
    """
    folder, mapping, mapping_text, paths = open_api_export(
        export, mapping, VENDOR, stems=FILES, required=("tickets",), needs=NEEDS,
        folder_hint="Zendesk API export (tickets.json, ticket_metrics.json, satisfaction_ratings.json; optionally "
                    "users.json, groups.json, ticket_fields.json) or the Admin Center CSV export (a .csv file)",
        rule_hint="'column' rules are for table and CSV exports; a Zendesk API export has custom fields (field:) "
                  "and tags (tag_prefix:)")
    report = ImportReport(vendor=VENDOR, format=FORMAT, export=str(folder))

    titles, rules, auto_time, field_rules, tag_rules = _field_rules(paths, mapping, report)
    t, group_id, read, info = _read_tickets(paths, report, mapping, titles, field_rules, tag_rules)
    m, has_metrics = _add_metrics(paths, read, t, report, folder)
    ratings = read_ratings(paths, t, mapping, report, info.name, folder, _expected("satisfaction_ratings"))
    r = ratings.frame
    rname = ratings.file
    n_rating_records = ratings.read
    groups, staff, n_staff = _teams_and_staff(paths, report, t, r, group_id)
    times = [t["updated"].max(), m["updated"].max(), r["updated"].max() if len(r) else pd.NaT]
    exported_at = max(x for x in times if pd.notna(x))
    sources = _sources(info.name, rname, ratings, groups, rules if auto_time else None)
    report.missing["surveys.nps"] = "Zendesk's satisfaction ratings have no NPS question"
    if not groups:
        report.missing["contacts.team"] = "groups.json is absent, so teams are group ids, not names"
    x = Extract(
        vendor=VENDOR, format=FORMAT, export=folder, tickets_file=info.name, ratings_file=rname,
        tickets=t, ratings=r, scale=ratings.scale, scale_source=ratings.scale_source,
        mapping=_with_rules(mapping, rules), report=report, exported_at=exported_at,
        attribution_rule="rating_time_assignee",
        attribution_description=(
            "A rated contact's agent_id is the agent assigned when the customer rated "
            "(satisfaction_ratings[].assignee_id); contacts without a rating record keep the ticket's assignee "
            "at export time." + (f" {ratings.attribution}." if ratings.attribution else "")),
        drops=_drops(t, has_metrics),
        alive=(t["status"] != "deleted") & ~t["merged"],
        sources=sources, visibility=ratings.visibility, rating_field=ratings.field,
        rating_not_answers=("offered", "unoffered", "not offered"),
        rating_expected="good, bad, offered or unoffered (legacy); a rating on the survey's scale (survey responses)",
        vendor_columns=VENDOR_COLUMNS,
        missing=MISSING,
        nps_present=False, staff=staff, users_file="users.json" if paths["users"] is not None else None,
        staff_team_source="users.json: default_group_id (name from groups.json)",
        read={"contacts": info.records, "surveys": n_rating_records, "agents": n_staff},
        mapping_text=mapping_text, agent_noun="assignee")
    result = assemble(x)
    if paths["ticket_comments"] is not None:
        comments = _records(paths["ticket_comments"], "ticket_comments", report)
        result = add_contact_agents(result, comments, paths["ticket_comments"].name)
    return result


def _field_rules(paths: dict, mapping: Mapping, report: ImportReport):
    """Ticket field titles (ticket_fields.json; a mapping may name fields by title), the mapping's rules
    (plus the Time Tracking field, found by title, for handle_time_sec), and the field ids and tag
    prefixes the tickets are read for."""
    titles: dict[int, str] = {}
    if paths["ticket_fields"] is not None:
        for rec in _records(paths["ticket_fields"], "ticket_fields", report):
            if rec.get("id") is not None:
                titles[_int(rec["id"])] = str(rec.get("title", ""))
    rules = dict(mapping.columns)
    auto_time = False
    if "handle_time_sec" not in rules:
        found = [fid for fid, title in titles.items() if title.strip().lower() == TIME_TRACKING_TITLE.lower()]
        if found:
            rules["handle_time_sec"] = ColumnRule("handle_time_sec", "field", found[0])
            auto_time = True
    field_rules = {c: _resolve_field(r, titles, mapping) for c, r in rules.items() if r.kind == "field"}
    tag_rules = {c: r.source for c, r in rules.items() if r.kind == "tag_prefix"}
    return titles, rules, auto_time, field_rules, tag_rules


def _read_tickets(paths: dict, report: ImportReport, mapping: Mapping, titles: dict, field_rules: dict,
                  tag_rules: dict):
    """tickets.json read into the tickets frame (the latest copy of each ticket) with its mapped
    tag and field columns, the group ids, the records read (with sideloaded metric sets) and the
    file's record of reading."""
    metric_spec = RecordSpec(key=("metric_sets",), scalars=METRIC_SCALARS)
    spec = RecordSpec(
        key=("tickets",), singular="ticket", expected=_expected("tickets"),
        scalars={"id": (("id",), _ID), "created_at": (("created_at",), _TEXT),
                 "updated_at": (("updated_at",), _TEXT), "status": (("status",), _TEXT),
                 "requester_id": (("requester_id",), _ID), "assignee_id": (("assignee_id",), _ID),
                 "group_id": (("group_id",), _ID), "channel": (("via", "channel"), _TEXT),
                 "via_rel": (("via", "source", "rel"), _TEXT), "sr_score": (("satisfaction_rating", "score"), _TEXT)},
        tags=("tags",), tag_prefixes=tuple(dict.fromkeys((*tag_rules.values(), MERGED_TAG))),
        fields=("custom_fields",), field_ids=tuple(dict.fromkeys(field_rules.values())),
        sideload="metric_sets", sideload_spec=metric_spec)
    info = FileRead(name=paths["tickets"].name, path=paths["tickets"])
    read = read_records(paths["tickets"], spec, info)
    report.files.append(info)
    raw = read.frame
    if len(raw) == 0:
        raise ImportInputError(
            f"{info.name}: the export holds no tickets ({info.pages} page(s), all empty); expected at "
            "least one ticket", info.name)
    for column, fid in field_rules.items():
        if fid not in read.field_ids_seen and fid not in titles:
            present = sorted(read.field_ids_seen | set(titles))
            listed = ", ".join(f"{f} ({titles[f]})" if f in titles else str(f) for f in present)
            raise ImportInputError(
                f"{mapping.name}: columns.{column}: no custom field {fid} in {info.name}"
                + (" or ticket_fields.json" if titles else "")
                + f"; fields present: {listed or 'none'}", mapping.name)
    t, group_id = _ticket_frame(raw, report, tag_rules, field_rules)
    return t, group_id, read, info


def _ticket_frame(raw: pd.DataFrame, report: ImportReport, tag_rules: dict, field_rules: dict):
    """The tickets' columns for ``assemble`` from the records read, one row per ticket (an older
    copy of a ticket that appears again is dropped), and each ticket's group id."""
    t = pd.DataFrame({"id": ids_as_text(raw["id"])})
    t["updated"], _ = to_utc_naive(raw["updated_at"])
    # incremental exports repeat a ticket each time it changes: keep the latest copy
    keep = latest_rows(raw["id"], t["updated"])
    report.drop("contacts", "an older copy of a ticket that appears again later in the export "
                            "(incremental exports repeat changed tickets)", t.loc[~keep, "id"])
    raw = raw[keep].reset_index(drop=True)
    t = t[keep].reset_index(drop=True)
    t["opened"], _ = to_utc_naive(raw["created_at"])
    t["status"] = raw["status"].astype("str").str.lower()
    t["requester"] = ids_as_text(raw["requester_id"])
    t["assignee"] = ids_as_text(raw["assignee_id"])
    group_id = ids_as_text(raw["group_id"])
    t["channel"] = raw["channel"]
    t["sr_score"] = raw["sr_score"]
    # closed by a merge into another ticket: Zendesk closes the source ticket and tags it closed_by_merge
    t["merged"] = ((t["status"] == "closed")
                   & (raw[f"tag:{MERGED_TAG}"].notna().to_numpy()
                      | (raw["via_rel"].astype("str").str.lower() == "merge").fillna(False).to_numpy()))
    for column, prefix in tag_rules.items():
        t[f"src:{column}"] = raw[f"tag:{prefix}"]
    for column, fid in field_rules.items():
        t[f"src:{column}"] = raw[f"field:{fid}"]
    return t, group_id


def _add_metrics(paths: dict, read, t: pd.DataFrame, report: ImportReport, folder: Path):
    """ticket_metrics (sideloaded metric sets or ticket_metrics.json): the solve time and the derived
    interactions, first-contact resolution and escalation columns added to ``t``; the metrics frame and
    which tickets have metrics."""
    metric_frames = []
    if read.sideloaded is not None and len(read.sideloaded.frame):
        metric_frames.append(read.sideloaded.frame)
    if paths["ticket_metrics"] is not None:
        minfo = FileRead(name=paths["ticket_metrics"].name, path=paths["ticket_metrics"])
        mspec = RecordSpec(key=("ticket_metrics",), singular="ticket_metric", scalars=METRIC_SCALARS,
                           expected=_expected("ticket_metrics"))
        metric_frames.append(read_records(paths["ticket_metrics"], mspec, minfo).frame)
        report.files.append(minfo)
    elif not metric_frames:
        raise ImportInputError(f"ticket_metrics.json: required file missing from {folder}; {NEEDS}",
                               "ticket_metrics.json")
    m = pd.concat(metric_frames, ignore_index=True) if len(metric_frames) > 1 else metric_frames[0]
    m["ticket_id"] = ids_as_text(m["ticket_id"])
    m["updated"], _ = to_utc_naive(m["updated_at"])
    m = m[latest_rows(m["ticket_id"], m["updated"])].reset_index(drop=True)
    at = positions(t["id"], m["ticket_id"])
    has_metrics = pd.Series(at >= 0, index=t.index)
    t["closed"], _ = to_utc_naive(take(m["solved_at"], at))
    replies = take(m["replies"], at).astype("float64")
    reopens = take(m["reopens"], at).astype("float64")
    stations = take(m["group_stations"], at).astype("float64")
    t["v:n_interactions"] = np.maximum(replies.fillna(0).to_numpy(), 1)
    t["v:resolved_first_contact"] = ((reopens.fillna(0) == 0) & (replies.fillna(0) <= 1)).to_numpy()
    t["v:escalated"] = (stations.fillna(1) > 1).to_numpy()
    return m, has_metrics


def _teams_and_staff(paths: dict, report: ImportReport, t: pd.DataFrame, r: pd.DataFrame, group_id: pd.Series):
    """Team names (groups.json, else the group ids) on tickets and ratings, and the agents and admins
    of users.json with their default group's name."""
    groups: dict[str, str] = {}
    if paths["groups"] is not None:
        for rec in _records(paths["groups"], "groups", report):
            if rec.get("id") is not None:
                groups[str(_int(rec["id"]))] = str(rec.get("name", ""))
    t["team"] = group_id.map(groups).where(group_id.isin(list(groups)), group_id) if groups else group_id
    r["team"] = r["group"].map(groups).where(r["group"].isin(list(groups)), r["group"]) if groups else r["group"]
    staff = pd.DataFrame(columns=["id", "team", "created_at"])
    n_staff = 0
    if paths["users"] is not None:
        users = [u for u in _records(paths["users"], "users", report) if u.get("role") in ("agent", "admin")]
        n_staff = len(users)
        staff = pd.DataFrame({
            "id": [str(_int(u.get("id"))) for u in users],
            "team": [groups.get(str(_int(u.get("default_group_id")))) if u.get("default_group_id") is not None
                     else None for u in users],
            "created_at": [u.get("created_at") for u in users]})
    return groups, staff, n_staff


def _sources(info_name: str, rname: str, ratings, groups: dict, time_rules: dict | None) -> dict[str, str]:
    """Where each canonical column comes from, for the report (``time_rules``: the rules when the
    Time Tracking field was found by title)."""
    sources = {
        "contacts.contact_id": f"{info_name}: id",
        "contacts.opened_at": f"{info_name}: created_at (UTC)",
        "contacts.closed_at": "ticket_metrics: solved_at (the last solve)",
        "contacts.agent_id": (f"{rname}: assignee_id, the agent at rating time ({{rated}} contacts with a "
                              f"survey); {info_name}: assignee_id, the agent at export time ({{unrated}} contacts "
                              "without one)"),
        "contacts.team": ("name (groups.json) of the rating's group_id (group at rating time), else of the "
                          "ticket's group_id (group at export time)" if groups else
                          "group ids (groups.json absent): the rating's group_id, else the ticket's group_id"),
        "contacts.channel": f"{info_name}: via.channel, grouped (see channels)",
        "contacts.customer_id": f"{info_name}: requester_id",
        "surveys.contact_id": f"{rname}: ticket_id" + (" / subjects[type ticket].id" if "survey" in rname else ""),
        "surveys.sent_at": (f"{rname}: created_at (when the rating record was created, i.e. the survey offered)"
                            + ("; survey responses: the rating answer's created_at (the send time is not exported)"
                               if "survey" in rname else "")),
        "surveys.responded_at": f"{rname}: updated_at, for answered ratings",
        "surveys.csat": (f"{rname}: score; bad = 1, good = 2 (offered = sent, no answer)" if ratings.field == "score"
                         else f"{rname}: {ratings.field} on the {ratings.scale.points}-point scale from "
                              f"{ratings.scale_source or 'the vendor'}"),
        "surveys.comment": f"{rname}: comment",
        **ratings.sources,
    }
    if time_rules is not None:
        sources["contacts.handle_time_sec"] = (
            f"custom field {time_rules['handle_time_sec'].source} '{TIME_TRACKING_TITLE}' (the Time Tracking app's "
            "total, found by title in ticket_fields.json)")
    return sources


def _drops(t: pd.DataFrame, has_metrics: pd.Series) -> list:
    """The tickets that are not contacts, in order, with the reason the report gives."""
    return [(t["status"] == "deleted", "deleted ticket"),
               (t["merged"], "merged into another ticket (closed by a merge: tag closed_by_merge); not a contact "
                             "of its own, nor a repeat"),
               (~t["status"].isin(SOLVED), "not solved or closed at export time (status new, open, pending or hold)"),
               (~has_metrics, "no ticket_metrics record (needed for solved_at, reopens, replies)")]


def _with_rules(mapping: Mapping, rules: dict) -> Mapping:
    from dataclasses import replace

    return replace(mapping, columns=rules)


# =================================================================================================
# helpers
# =================================================================================================
def _records(path: Path, stem: str, report: ImportReport) -> list[dict]:
    info = FileRead(name=path.name, path=path)
    out: list[dict] = []
    key, singular = FILES[stem]
    for page in iter_pages(path, key, singular=singular, expected=_expected(stem), info=info):
        out.extend(page)
    report.files.append(info)
    return out


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _resolve_field(rule: ColumnRule, titles: dict[int, str], mapping: Mapping) -> int:
    source = rule.source
    if isinstance(source, int) or (isinstance(source, str) and source.strip().isdigit()):
        return int(source)
    if not titles:
        raise ImportInputError(
            f"{mapping.name}: columns.{rule.column} names the field by title {source!r}; naming a "
            "field by title needs ticket_fields.json in the export (or give the field id)", mapping.name)
    matches = [fid for fid, title in titles.items() if title == source] or [
        fid for fid, title in titles.items() if title.strip().lower() == str(source).strip().lower()]
    if not matches:
        raise ImportInputError(
            f"{mapping.name}: columns.{rule.column}: no custom field titled {source!r} in "
            f"ticket_fields.json; the titles are {', '.join(repr(t) for t in titles.values())}", mapping.name)
    return matches[0]
