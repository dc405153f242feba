"""Freshdesk API v2 export -> canonical contacts, surveys and agents.

The export is a folder of saved list responses (docs/importers/vendor_formats.md §2); Freshdesk's
list endpoints return bare JSON arrays:

| file | required | content |
|---|---|---|
| ``tickets.json`` | yes | ``GET /api/v2/tickets?include=stats`` |
| ``satisfaction_ratings.json`` | yes | ``GET /api/v2/surveys/satisfaction_ratings`` |
| ``surveys.json`` | no | ``GET /api/v2/surveys``: the default question's ``accepted_ratings`` give the scale |
| ``time_entries.json`` | no | ``GET /api/v2/time_entries``: handle time |
| ``agents.json``, ``groups.json`` | no | team and tenure; team names |
| ``conversations.json`` | no | ``GET /api/v2/tickets/{id}/conversations``: public agent replies -> ``contact_agents`` |

Rules (each also written into the import report):

- CSAT scale, per survey (each rating's ``survey_id``): ``surveys.json`` (every survey, active or
  not), else the mapping's ``csat.points``, else the codes when they prove it (a ±101 exists only on
  7-point surveys); otherwise the import stops and asks. Surveys on different scales are written
  onto one by the mapping's ``csat.by_survey`` or refused with the lines to write
  (:func:`upstream.data.importers.scales.one_scale`). Codes map to 1..k worst to best
  (:func:`upstream.data.importers.scales.freshdesk_scale`); a code that is not on its survey's
  scale stops the import.
- Attribution: a rated ticket belongs to the rating's ``agent_id``/``group_id``; other tickets to
  ``responder_id``/``group_id`` at export time.
- Contacts: status Resolved (4) or Closed (5); ``closed_at`` = ``stats.resolved_at``, else
  ``stats.closed_at``.
- Surveys: Freshdesk lists only *answered* surveys, so ``sent_at`` = ``responded_at`` = the rating's
  ``created_at`` and non-response cannot be seen (reported; ``dataset.yaml`` ``visibility``).
- ``resolved_first_contact`` = never reopened (``stats.reopened_at`` empty; agent replies are not
  in these files); ``handle_time_sec`` = the sum of ``time_entries.time_spent`` (``hh:mm``);
  ``issue_type`` defaults to the ticket ``type``, ``product`` to ``product_id``;
  ``n_interactions``, ``escalated`` and ``credit_issued`` are missing unless mapped.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .assemble import Extract, assemble
from .derive import to_utc_naive
from .errors import ImportInputError
from .freshdesk_replies import add_conversation_credit
from .mapping import Mapping
from .pages import FileRead, iter_pages
from .report import ImportReport
from .result import ImportResult
from .scales import SurveyScale, freshdesk_points, freshdesk_scale, one_scale
from .source import ids_as_text, open_api_export

VENDOR = "freshdesk"
FORMAT = "freshdesk-api"
FILES = ("tickets", "satisfaction_ratings", "surveys", "time_entries", "agents", "groups", "conversations")
EXPECTED = ("a Freshdesk API list response: a JSON array of records (several arrays one after another, or one "
            "per line, are fine)")
DONE = (4, 5)  # Resolved, Closed
NO_SURVEY = "(no survey_id)"
_HHMM = re.compile(r"^\s*(\d+):([0-5]\d)(?::([0-5]\d))?\s*$")


def import_freshdesk_api(export: str | Path, mapping: Mapping | str | Path | None = None) -> ImportResult:
    """Import a Freshdesk API export folder; see the module docstring for the rules. Raises
    :class:`ImportInputError` for bad input (message naming the file and what was expected)."""
    folder, mapping, mapping_text, paths = open_api_export(
        export, mapping, VENDOR, stems=FILES, required=("tickets", "satisfaction_ratings"),
        needs="a Freshdesk API export needs tickets.json and satisfaction_ratings.json",
        folder_hint="Freshdesk API export (tickets.json, satisfaction_ratings.json; optionally surveys.json, "
                    "time_entries.json, agents.json, groups.json) or the UI ticket export (a .csv file)",
        rule_hint="'column' rules are for table and CSV exports; a Freshdesk API export has custom fields "
                  "(field: cf_...) and tags (tag_prefix:)")
    report = ImportReport(vendor=VENDOR, format=FORMAT, export=str(folder))

    tickets_raw = _records(paths["tickets"], report)
    if not tickets_raw:
        raise ImportInputError(f"{paths['tickets'].name}: the export holds no tickets; expected at least one "
                               "ticket", paths["tickets"].name)
    ratings_raw = _records(paths["satisfaction_ratings"], report)

    t = _tickets(tickets_raw, mapping, paths["tickets"].name, report)
    ratings_name = paths["satisfaction_ratings"].name
    r, scale, maps, scale_source, points, n_rating_records = _ratings(ratings_raw, paths, mapping, report)
    groups = _teams(paths, report, t, r)
    vendor_columns, missing = _handle_time(paths, report, t)
    staff = pd.DataFrame(columns=["id", "team", "created_at"])
    if paths["agents"] is not None:
        recs = _records(paths["agents"], report)
        staff = pd.DataFrame({
            "id": [str(a.get("id")) for a in recs],
            "team": [groups.get(str((a.get("group_ids") or [None])[0])) for a in recs],
            "created_at": [a.get("created_at") for a in recs]})
    exported_at = max(v for v in (t["updated"].max(), r["updated"].max()) if pd.notna(v))
    tickets_name = paths["tickets"].name
    report.warnings.append("Freshdesk lists only answered surveys: surveys sent without an answer cannot be seen, "
                           "so response rates and non-response studies need the survey send log")
    x = Extract(
        vendor=VENDOR, format=FORMAT, export=folder, tickets_file=tickets_name, ratings_file=ratings_name,
        tickets=t, ratings=r, scale=scale, scale_source=scale_source, mapping=mapping, report=report,
        exported_at=exported_at, attribution_rule="rating_time_assignee",
        attribution_description=("A rated contact's agent_id is the rating's agent_id (set when the customer "
                                 "rated); other contacts keep the ticket's responder_id at export time."),
        drops=[(t["spam"], "spam or deleted ticket"),
               (~t["status_code"].isin(DONE),
                "not resolved or closed at export time (status open, pending or custom)")],
        alive=~t["spam"],
        sources=_sources(tickets_name, ratings_name, points, scale_source, maps),
        vendor_columns=vendor_columns, missing=missing,
        defaults={"product": ("product_id", f"{tickets_name}: product_id (ids; map a field for names)"),
                  "issue_type": ("type", f"{tickets_name}: type, lower-cased")},
        nps_present=False, staff=staff, users_file="agents.json" if paths["agents"] is not None else None,
        staff_team_source="agents.json: the first of group_ids (name from groups.json)",
        read={"contacts": len(tickets_raw), "surveys": n_rating_records, "agents": len(staff)},
        mapping_text=mapping_text, rating_field="ratings.default_question",
        rating_expected=("a Freshdesk rating code (-103 ... 103) of the survey's scale (the classic codes 1 Happy, "
                         "2 Neutral, 3 Unhappy need the mapping's csat.by_survey)"),
        visibility={"unanswered_invitations": False, "uninvited_contacts": True,
                    "note": ("Freshdesk's satisfaction_ratings list only answered surveys: a survey sent without an "
                             "answer is not in the export, so invitation and response rates cannot be computed")})
    result = assemble(x)
    if paths["conversations"] is not None:
        result = add_conversation_credit(result, _records(paths["conversations"], report), paths["conversations"].name)
    return result


def _tickets(tickets_raw: list[dict], mapping: Mapping, tickets_name: str, report: ImportReport) -> pd.DataFrame:
    """tickets.json's records as ``assemble``'s tickets (the latest copy of each; an older one is
    dropped), with the mapping's tags and custom fields (each must be in the export) and the status."""
    rules = mapping.columns
    seen_fields: set = set()
    for rec in tickets_raw:
        seen_fields.update((rec.get("custom_fields") or {}).keys())
    for column, rule in rules.items():
        if rule.kind == "field" and str(rule.source) not in seen_fields:
            raise ImportInputError(
                f"{mapping.name}: columns.{column}: no custom field {rule.source!r} in "
                f"{tickets_name}; fields present: {', '.join(sorted(seen_fields)) or 'none'}",
                mapping.name)

    def col(get):
        return pd.Series([get(r) for r in tickets_raw], dtype="object")

    t = pd.DataFrame({
        "id": ids_as_text(col(lambda r: r.get("id"))),
        "status_code": pd.to_numeric(col(lambda r: r.get("status")), errors="coerce"),
        "channel": col(lambda r: r.get("source")).map(lambda v: None if v is None else str(v)).astype("str"),
        "requester": ids_as_text(col(lambda r: r.get("requester_id"))),
        "assignee": ids_as_text(col(lambda r: r.get("responder_id"))),
        "group": ids_as_text(col(lambda r: r.get("group_id"))),
        "type": col(lambda r: r.get("type")).astype("str").str.lower(),
        "product_id": ids_as_text(col(lambda r: r.get("product_id"))),
        "reopened_at": col(lambda r: (r.get("stats") or {}).get("reopened_at")),
        "spam": col(lambda r: bool(r.get("spam")) or bool(r.get("deleted"))).astype(bool),
    })
    t["opened"], _ = to_utc_naive(col(lambda r: r.get("created_at")))
    t["updated"], _ = to_utc_naive(col(lambda r: r.get("updated_at")))
    resolved, _ = to_utc_naive(col(lambda r: (r.get("stats") or {}).get("resolved_at")))
    closed, _ = to_utc_naive(col(lambda r: (r.get("stats") or {}).get("closed_at")))
    t["closed"] = resolved.fillna(closed)
    for column, rule in rules.items():
        if rule.kind == "tag_prefix":
            n = len(rule.source)
            t[f"src:{column}"] = col(lambda r, p=rule.source, n=n: next(
                (tag[n:] for tag in (r.get("tags") or ()) if isinstance(tag, str) and tag.startswith(p)), None))
        elif rule.kind == "field":
            t[f"src:{column}"] = col(lambda r, f=str(rule.source): (r.get("custom_fields") or {}).get(f))
    t["_order"] = np.arange(len(t))
    t = t.sort_values(["id", "updated", "_order"], kind="stable", na_position="first")
    older = t.duplicated("id", keep="last")
    report.drop("contacts", "an older copy of a ticket that appears again later in the export", t.loc[older, "id"])
    t = t[~older].sort_values("_order", kind="stable").reset_index(drop=True)
    t["status"] = t["status_code"].map({2: "open", 3: "pending", 4: "resolved", 5: "closed"}).fillna(
        t["status_code"].astype("str"))
    return t


def _ratings(ratings_raw: list[dict], paths: dict, mapping: Mapping, report: ImportReport):
    """The satisfaction ratings that answer the default question, as ``assemble``'s ratings on one
    scale (surveys.json or the mapping tell each survey's); the scale, each survey's code map, where
    the scale came from, its points and the number of rating records read."""
    r = pd.DataFrame({
        "id": ids_as_text(pd.Series([x.get("id") for x in ratings_raw], dtype="object")),
        "ticket_id": ids_as_text(pd.Series([x.get("ticket_id") for x in ratings_raw], dtype="object")),
        "survey": ids_as_text(pd.Series([x.get("survey_id") for x in ratings_raw], dtype="object")),
        "agent": ids_as_text(pd.Series([x.get("agent_id") for x in ratings_raw], dtype="object")),
        "group": ids_as_text(pd.Series([x.get("group_id") for x in ratings_raw], dtype="object")),
        "code": pd.Series([_default_answer(x) for x in ratings_raw], dtype="object"),
        "comment": pd.Series([x.get("feedback") for x in ratings_raw], dtype="object"),
    })
    n_rating_records = len(r)
    r["sent_at"], _ = to_utc_naive(pd.Series([x.get("created_at") for x in ratings_raw], dtype="object"))
    r["updated"], _ = to_utc_naive(pd.Series([x.get("updated_at") for x in ratings_raw], dtype="object"))
    no_code = r["code"].isna()
    report.drop("surveys", "no answer to the default question (ratings.default_question)", r.loc[no_code, "id"])
    r = r[~no_code].copy()
    ratings_name = paths["satisfaction_ratings"].name
    survey_scales = _survey_scales(paths["surveys"], report) if paths["surveys"] is not None else {}
    scale, maps, scale_source, points = _one_freshdesk_scale(r, survey_scales, mapping, ratings_name)
    survey_key = r["survey"].fillna(NO_SURVEY)
    r["csat"] = pd.array([maps[k].get(_code_key(c)) for k, c in zip(survey_key, r["code"])], dtype="Int64")
    r["raw_csat"] = r["code"]
    r["nps"] = pd.array([pd.NA] * len(r), dtype="Int64")
    r["responded_at"] = r["sent_at"]
    return r, scale, maps, scale_source, points, n_rating_records


def _teams(paths: dict, report: ImportReport, t: pd.DataFrame, r: pd.DataFrame) -> dict[str, str]:
    """Team names (groups.json, else the group ids) on tickets and ratings; the names by group id."""
    groups: dict[str, str] = {}
    if paths["groups"] is not None:
        groups = {str(g.get("id")): str(g.get("name", "")) for g in _records(paths["groups"], report)}
    t["team"] = t["group"].map(groups).where(t["group"].isin(list(groups)), t["group"]) if groups else t["group"]
    r["team"] = r["group"].map(groups).where(r["group"].isin(list(groups)), r["group"]) if groups else r["group"]
    return groups


def _handle_time(paths: dict, report: ImportReport, t: pd.DataFrame):
    """Handle time (time_entries.json) and first-contact resolution added to ``t``, with their rules;
    the optional columns the export does not have, and why."""
    vendor_columns = {}
    missing = {"escalated": "not in a Freshdesk export; map a field or tag to import it",
               "credit_issued": "not in a Freshdesk export; map a field or tag to import it",
               "n_interactions": "agent replies are not in tickets.json (conversations are per ticket)"}
    if paths["time_entries"] is not None:
        spent = _time_spent(paths["time_entries"], report)
        t["v:handle_time_sec"] = t["id"].map(spent).astype("float64")
        vendor_columns["handle_time_sec"] = (
            f"{paths['time_entries'].name}: sum of time_spent (hh:mm) per ticket, all agents", "source")
    else:
        missing["handle_time_sec"] = "not recorded: time_entries.json is absent"
    t["v:resolved_first_contact"] = t["reopened_at"].isna().to_numpy()
    vendor_columns["resolved_first_contact"] = (
        "never reopened (tickets.json stats.reopened_at empty); the number of agent replies is not in these "
        "files, so the one-reply condition is not applied", "derived")
    return vendor_columns, missing


def _sources(tickets_name: str, ratings_name: str, points: int, scale_source: str, maps: dict) -> dict[str, str]:
    """Where each canonical column comes from, for the report."""
    return {
        "contacts.contact_id": f"{tickets_name}: id",
        "contacts.opened_at": f"{tickets_name}: created_at (UTC)",
        "contacts.closed_at": f"{tickets_name}: stats.resolved_at, else stats.closed_at",
        "contacts.agent_id": (f"{ratings_name}: agent_id ({{rated}} rated contacts); {tickets_name}: "
                              "responder_id, the agent at export time ({unrated} without one)"),
        "contacts.team": "group names (groups.json) of the rating's group_id, else the ticket's group_id",
        "contacts.channel": (f"{tickets_name}: source (1 Email, 2 Portal, 3 Phone, 7 Chat, 9 Feedback Widget, "
                             "10 Outbound Email, ...), grouped (see channels)"),
        "contacts.customer_id": f"{tickets_name}: requester_id",
        "surveys.csat": (f"{ratings_name}: ratings.default_question on the {points}-point scale from "
                         f"{scale_source}; -103 = 1 ... 103 = {points}"
                         + ("" if len(maps) < 2 else f"; surveys {', '.join(sorted(maps))} (survey_id)")),
        "surveys.sent_at": f"{ratings_name}: created_at (the send time is not exported)",
        "surveys.responded_at": f"{ratings_name}: created_at",
        "surveys.comment": f"{ratings_name}: feedback"}


def _records(path: Path, report: ImportReport) -> list[dict]:
    info = FileRead(name=path.name, path=path)
    out: list[dict] = []
    for page in iter_pages(path, None, expected=EXPECTED, info=info):
        out.extend(page)
    report.files.append(info)
    return out


def _default_answer(rating: dict):
    """The answer to the default question: ``ratings.default_question`` (the API), or the
    ``{"question": "default_question", "value": ...}`` item of a list of ratings (as singer-io/tap-freshdesk
    lands them, tap_freshdesk/schemas/satisfaction_ratings.json)."""
    ratings = rating.get("ratings")
    if isinstance(ratings, dict):
        return ratings.get("default_question")
    if isinstance(ratings, list):
        for item in ratings:
            if isinstance(item, dict) and item.get("question") == "default_question":
                return item.get("value")
    return None


def _code_key(code) -> str:
    if isinstance(code, float) and code.is_integer():
        code = int(code)
    return str(code).strip().lower()


def _survey_scales(path: Path, report: ImportReport) -> dict[str, tuple[int, bool]]:
    """survey id -> (points of its default question's accepted_ratings, active) for every survey of
    surveys.json, active or not (an account that changed surveys keeps the old survey's ratings)."""
    out: dict[str, tuple[int, bool]] = {}
    for survey in _records(path, report):
        for q in survey.get("questions") or ():
            if q.get("default") or q.get("id") == "default_question":
                accepted = q.get("accepted_ratings") or []
                if len(accepted) in (3, 5, 7):
                    out[str(survey.get("id"))] = (len(accepted), survey.get("active") is not False)
                break
    return out


def _one_freshdesk_scale(r: pd.DataFrame, survey_scales: dict, mapping: Mapping, file: str):
    """The export's one scale, each survey's code map, where the scale came from, its points.

    Each survey's own scale comes from surveys.json, else (one survey only) from the mapping's
    ``csat.points`` or from codes that prove it (±101: 7-point); surveys on different scales must be
    mapped onto one (``csat.by_survey``) or the import stops showing the lines to write."""
    declared, by_survey = mapping.csat_points, mapping.csat_by_survey
    keys = r["survey"].fillna(NO_SURVEY)
    active = [k for k, (_p, on) in survey_scales.items() if on]
    surveys, sources = [], []
    for key in dict.fromkeys(keys):
        codes = r.loc[keys == key, "code"]
        values = tuple(dict.fromkeys(_code_key(c) for c in codes))
        numeric = pd.to_numeric(codes, errors="coerce").dropna().astype(int)
        own = survey_scales.get(key)
        if own is None and key == NO_SURVEY and len(active) == 1:
            own = survey_scales[active[0]]
        if key in by_survey:
            surveys.append(SurveyScale(key, None, values, len(codes)))
            continue
        if own is not None:
            sources.append(f"survey {key}: {own[0]} accepted ratings")
            surveys.append(SurveyScale(key, freshdesk_scale(own[0]), values, len(codes)))
            continue
        if len(set(keys)) > 1 and not any(abs(c) == 101 for c in numeric):
            raise ImportInputError(
                f"{file}: the ratings come from surveys {', '.join(dict.fromkeys(keys))} (survey_id), and the scale "
                f"of survey {key} cannot be told from its codes ({', '.join(map(str, sorted(set(numeric))))}): "
                "a 3-point 'Happy' and a 5-point 'Very Happy' are both 103. Include surveys.json, or state the "
                "survey's codes in the mapping (csat: {points: 5, by_survey: {"
                f"{key}: {{-103: 1, 100: 3, 103: 5}}}}}})",
                file)
        points = freshdesk_points(numeric, declared, file)
        surveys.append(SurveyScale(key, freshdesk_scale(points), values, len(codes)))
    scale, maps = one_scale(surveys, declared, by_survey, freshdesk_scale, file=file, mapping=mapping.name,
                            field="ratings.default_question")
    if by_survey:
        source = f"the mapping (csat.points, csat.by_survey for survey {', '.join(by_survey)})"
    elif declared is not None:
        source = "the mapping (csat.points)"
    elif sources:
        source = f"surveys.json ({'; '.join(sources)})"
    else:
        source = "the rating codes (a ±101 code exists only on 7-point surveys)"
    return scale, maps, source, scale.points


def _time_spent(path: Path, report: ImportReport) -> pd.Series:
    """Seconds of tracked time per ticket id (text), from ``hh:mm`` (or ``hh:mm:ss``) entries."""
    seconds: dict[str, float] = {}
    bad: list[str] = []
    for e in _records(path, report):
        m = _HHMM.match(str(e.get("time_spent") or ""))
        if m is None:
            bad.append(str(e.get("id")))
            continue
        tid = str(e.get("ticket_id"))
        seconds[tid] = seconds.get(tid, 0.0) + 3600 * int(m[1]) + 60 * int(m[2]) + int(m[3] or 0)
    if bad:
        report.warnings.append(f"time_entries.json: {len(bad)} entries without an hh:mm time_spent were ignored "
                               f"(ids {', '.join(bad[:5])})")
    return pd.Series(seconds, dtype="float64")
