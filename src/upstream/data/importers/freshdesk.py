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

Rules (each also written into the import report):

- CSAT scale: the mapping's ``csat.points``, else ``surveys.json``, else the codes when they prove
  it (a ±101 exists only on 7-point surveys); otherwise the import stops and asks. Codes map to
  1..k worst to best (:func:`upstream.data.importers.scales.freshdesk_scale`).
- Attribution: a rated ticket belongs to the rating's ``agent_id``/``group_id``; other tickets to
  ``responder_id``/``group_id`` at export time.
- Contacts: status Resolved (4) or Closed (5); ``closed_at`` = ``stats.resolved_at``, else
  ``stats.closed_at``.
- Surveys: Freshdesk lists only *answered* surveys, so ``sent_at`` = ``responded_at`` = the rating's
  ``created_at`` and non-response cannot be seen (reported).
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

from .channels import map_channels
from .common import (UNKNOWN, agents_table, id_text, isin_ids, mapped_column, mapping_and_text,
                     text_id)
from .derive import repeat_within_7d, to_utc_naive
from .errors import ImportInputError
from .mapping import Mapping
from .pages import FileRead, find_file, iter_pages
from .report import ImportReport
from .result import ImportResult
from .scales import freshdesk_points, freshdesk_scale

VENDOR = "freshdesk"
FORMAT = "freshdesk-api"
FILES = ("tickets", "satisfaction_ratings", "surveys", "time_entries", "agents", "groups")
EXPECTED = "a Freshdesk API list response: a JSON array of records (several arrays one after another, or one per line, are fine)"
DONE = (4, 5)  # Resolved, Closed
_HHMM = re.compile(r"^\s*(\d+):([0-5]\d)(?::([0-5]\d))?\s*$")


def import_freshdesk_api(export: str | Path, mapping: Mapping | str | Path | None = None) -> ImportResult:
    """Import a Freshdesk API export folder; see the module docstring for the rules. Raises
    :class:`ImportInputError` for bad input (message naming the file and what was expected)."""
    folder = Path(export)
    if not folder.is_dir():
        raise ImportInputError(
            f"{folder.name}: expected a folder holding the Freshdesk API export (tickets.json, "
            "satisfaction_ratings.json; optionally surveys.json, time_entries.json, agents.json, "
            "groups.json)", folder.name)
    mapping, mapping_text = mapping_and_text(mapping)
    mapping.check_vendor(VENDOR)
    for column, rule in mapping.columns.items():
        if rule.kind == "column":
            raise ImportInputError(
                f"{mapping.name}: columns.{column}: 'column' rules are for table and CSV exports; "
                "a Freshdesk API export has custom fields (field: cf_...) and tags (tag_prefix:)", mapping.name)
    report = ImportReport(vendor=VENDOR, format=FORMAT, export=str(folder))
    paths = {stem: find_file(folder, stem) for stem in FILES}
    for stem in ("tickets", "satisfaction_ratings"):
        if paths[stem] is None:
            raise ImportInputError(
                f"{stem}.json: required file missing from {folder}; a Freshdesk API export needs "
                "tickets.json and satisfaction_ratings.json", f"{stem}.json")

    tickets_raw = _records(paths["tickets"], report)
    if not tickets_raw:
        raise ImportInputError(f"{paths['tickets'].name}: the export holds no tickets; expected at least one "
                               "ticket", paths["tickets"].name)
    ratings_raw = _records(paths["satisfaction_ratings"], report)

    # --- tickets -----------------------------------------------------------------------------------
    rules = mapping.columns
    seen_fields: set = set()
    for rec in tickets_raw:
        seen_fields.update((rec.get("custom_fields") or {}).keys())
    for column, rule in rules.items():
        if rule.kind == "field" and str(rule.source) not in seen_fields:
            raise ImportInputError(
                f"{mapping.name}: columns.{column}: no custom field {rule.source!r} in "
                f"{paths['tickets'].name}; fields present: {', '.join(sorted(seen_fields)) or 'none'}",
                mapping.name)
    t = pd.DataFrame({
        "id": id_text(pd.Series([r.get("id") for r in tickets_raw], dtype="object")),
        "created_at": [r.get("created_at") for r in tickets_raw],
        "updated_at": [r.get("updated_at") for r in tickets_raw],
        "status": pd.to_numeric(pd.Series([r.get("status") for r in tickets_raw], dtype="object"), errors="coerce"),
        "source": [r.get("source") for r in tickets_raw],
        "requester": id_text(pd.Series([r.get("requester_id") for r in tickets_raw], dtype="object")),
        "assignee": id_text(pd.Series([r.get("responder_id") for r in tickets_raw], dtype="object")),
        "group": id_text(pd.Series([r.get("group_id") for r in tickets_raw], dtype="object")),
        "type": [r.get("type") for r in tickets_raw],
        "product_id": id_text(pd.Series([r.get("product_id") for r in tickets_raw], dtype="object")),
        "resolved_at": [(r.get("stats") or {}).get("resolved_at") for r in tickets_raw],
        "closed_at_raw": [(r.get("stats") or {}).get("closed_at") for r in tickets_raw],
        "reopened_at": [(r.get("stats") or {}).get("reopened_at") for r in tickets_raw],
        "spam": [bool(r.get("spam")) or bool(r.get("deleted")) for r in tickets_raw],
    })
    for column, rule in rules.items():
        if rule.kind == "tag_prefix":
            n = len(rule.source)
            t[f"tag:{column}"] = [next((tag[n:] for tag in (r.get("tags") or ()) if isinstance(tag, str)
                                        and tag.startswith(rule.source)), None) for r in tickets_raw]
        elif rule.kind == "field":
            t[f"field:{column}"] = pd.Series([(r.get("custom_fields") or {}).get(str(rule.source))
                                              for r in tickets_raw], dtype="object")
    t["updated"], _ = to_utc_naive(t["updated_at"])
    t["_order"] = np.arange(len(t))
    t = t.sort_values(["id", "updated", "_order"], kind="stable")
    older = t.duplicated("id", keep="last")
    report.drop("contacts", "an older copy of a ticket that appears again later in the export", t.loc[older, "id"])
    t = t[~older].sort_values("_order", kind="stable").reset_index(drop=True)
    t["opened"], bad_created = to_utc_naive(t["created_at"])
    resolved, _ = to_utc_naive(t["resolved_at"])
    closed, _ = to_utc_naive(t["closed_at_raw"])
    t["closed"] = resolved.fillna(closed)

    # --- ratings and the scale -------------------------------------------------------------------------
    r = pd.DataFrame({
        "id": id_text(pd.Series([x.get("id") for x in ratings_raw], dtype="object")),
        "ticket_id": id_text(pd.Series([x.get("ticket_id") for x in ratings_raw], dtype="object")),
        "agent_id": id_text(pd.Series([x.get("agent_id") for x in ratings_raw], dtype="object")),
        "group_id": id_text(pd.Series([x.get("group_id") for x in ratings_raw], dtype="object")),
        "code": [(x.get("ratings") or {}).get("default_question") for x in ratings_raw],
        "feedback": [x.get("feedback") for x in ratings_raw],
        "created_at": [x.get("created_at") for x in ratings_raw],
        "updated_at": [x.get("updated_at") for x in ratings_raw],
    })
    n_rating_records = len(r)
    r["created"], _ = to_utc_naive(r["created_at"])
    r["updated"], _ = to_utc_naive(r["updated_at"])
    no_code = r["code"].isna()
    report.drop("surveys", "no answer to the default question (ratings.default_question)", r.loc[no_code, "id"])
    r = r[~no_code]
    declared, scale_source = mapping.csat_points, "the mapping (csat.points)"
    if declared is None and paths["surveys"] is not None:
        declared, scale_source = _scale_from_surveys(paths["surveys"], report)
    points = freshdesk_points(pd.to_numeric(r["code"], errors="coerce").dropna().astype(int),
                              declared, paths["satisfaction_ratings"].name)
    if declared is None:
        scale_source = "the rating codes (a ±101 code exists only on 7-point surveys)"
    scale = freshdesk_scale(points)
    r["csat"] = r["code"].map(lambda c: scale.code(c))

    outside = ~isin_ids(r["ticket_id"], t["id"])
    report.drop("surveys", "its ticket is not in tickets.json", r.loc[outside, "id"])
    r = r[~outside]
    r["_order"] = np.arange(len(r))
    r = r.sort_values(["ticket_id", "updated", "_order"], kind="stable")
    superseded = r.duplicated("ticket_id", keep="last")
    report.drop("surveys", "an older rating of a ticket that has a newer one", r.loc[superseded, "id"])
    rating = r[~superseded].set_index("ticket_id")

    # --- attribution and contacts ------------------------------------------------------------------------
    rated = isin_ids(t["id"], rating.index)
    rating_agent = t["id"].map(rating["agent_id"])
    rating_group = t["id"].map(rating["group_id"])
    t["agent"] = rating_agent.where(rated & rating_agent.notna(), t["assignee"])
    t["team_group"] = rating_group.where(rated & rating_group.notna(), t["group"])

    keep = pd.Series(True, index=t.index)

    def drop(mask, reason: str) -> None:
        mask = mask & keep
        report.drop("contacts", reason, t.loc[mask, "id"])
        keep[mask] = False

    drop(t["spam"], "spam or deleted ticket")
    drop(~t["status"].isin(DONE), "not resolved or closed at export time (status open, pending or custom)")
    drop(pd.Series(bad_created, index=t.index) | t["opened"].isna(), "created_at is missing or not an ISO 8601 time")
    drop(t["closed"].isna(), "no stats.resolved_at or stats.closed_at (export without include=stats?)")
    drop(t["closed"] < t["opened"], "resolved before created")
    drop(t["agent"].isna(), "no agent (neither on the rating nor responder_id)")
    report.facts["reassigned_after_rating"] = int((keep & rated & rating_agent.notna()
                                                   & (rating_agent != t["assignee"])).sum())

    groups = {}
    if paths["groups"] is not None:
        groups = {text_id(g.get("id")): str(g.get("name", "")) for g in _records(paths["groups"], report)}
    alive = ~t["spam"]
    c = t[keep].copy()
    contacts = pd.DataFrame({
        "contact_id": c["id"].astype("str"),
        "opened_at": c["opened"],
        "closed_at": c["closed"],
        "agent_id": c["agent"].astype("str"),
        "team": c["team_group"].map(lambda g: groups.get(g, g) if isinstance(g, str) else UNKNOWN).astype("str"),
    })
    n_rated = int(rated[keep].sum())
    report.sources.update({
        "contacts.contact_id": "tickets.json: id",
        "contacts.opened_at": "tickets.json: created_at (UTC)",
        "contacts.closed_at": "tickets.json: stats.resolved_at, else stats.closed_at",
        "contacts.agent_id": (f"satisfaction_ratings.json: agent_id ({n_rated} rated contacts); tickets.json: "
                              f"responder_id, the agent at export time ({len(c) - n_rated} others)"),
        "contacts.team": "group names (groups.json) of the rating's group_id, else the ticket's group_id",
        "contacts.channel": "tickets.json: source (1 Email, 2 Portal, 3 Phone, 7 Chat, 9 Feedback Widget, "
                            "10 Outbound Email, ...), grouped (see channels)",
        "contacts.customer_id": "tickets.json: requester_id",
    })
    channel, table = map_channels(c["source"], VENDOR, mapping.channels)
    contacts["channel"] = channel.to_numpy()
    report.channels = table
    unknown = [e for e in table if not e["known"]]
    if unknown:
        report.warnings.append("channel values not known for Freshdesk were put in 'other': "
                               + ", ".join(f"{e['value']} ({e['contacts']})" for e in unknown))
    contacts["policy"] = mapped_column("policy", rules.get("policy"), c, report).astype("str")
    contacts["product"] = (mapped_column("product", rules["product"], c, report).astype("str")
                           if "product" in rules else c["product_id"].fillna(UNKNOWN).astype("str"))
    if "product" not in rules:
        report.sources["contacts.product"] = "tickets.json: product_id (ids; map a field for names)"
    contacts["issue_type"] = (mapped_column("issue_type", rules["issue_type"], c, report).astype("str")
                              if "issue_type" in rules else
                              c["type"].astype("str").where(c["type"].notna(), UNKNOWN).str.lower())
    if "issue_type" not in rules:
        report.sources["contacts.issue_type"] = "tickets.json: type, lower-cased"
    if "team" in rules:
        contacts["team"] = mapped_column("team", rules["team"], c, report).astype("str")
    contacts["customer_id"] = c["requester"].fillna(UNKNOWN).astype("str")

    if "handle_time_sec" in rules:
        contacts["handle_time_sec"] = mapped_column("handle_time_sec", rules["handle_time_sec"], c, report)
    elif paths["time_entries"] is not None:
        spent = _time_spent(paths["time_entries"], report)
        contacts["handle_time_sec"] = c["id"].map(spent).astype("float64").to_numpy()
        n_empty = int(contacts["handle_time_sec"].isna().sum())
        report.sources["contacts.handle_time_sec"] = "time_entries.json: sum of time_spent (hh:mm) per ticket, all agents"
        if n_empty:
            report.missing["contacts.handle_time_sec"] = f"{n_empty} of {len(c)} contacts have no time entries; left empty"
    else:
        report.missing["contacts.handle_time_sec"] = "not recorded: time_entries.json is absent"

    if "resolved_first_contact" in rules:
        contacts["resolved_first_contact"] = mapped_column(
            "resolved_first_contact", rules["resolved_first_contact"], c, report).astype("bool")
    else:
        contacts["resolved_first_contact"] = c["reopened_at"].isna().to_numpy()
        report.derived["contacts.resolved_first_contact"] = (
            "never reopened (tickets.json stats.reopened_at empty); the number of agent replies is not in "
            "these files, so the one-reply condition is not applied")
    observed_until = t.loc[alive, "opened"].max()
    contacts["repeat_within_7d"] = pd.array(repeat_within_7d(
        c["requester"], c["opened"], t.loc[alive, "requester"], t.loc[alive, "opened"], observed_until).to_numpy(),
        dtype="boolean")
    report.derived["contacts.repeat_within_7d"] = (
        "the same requester opened another ticket (not spam) later and within 7 days (168 h); empty when "
        f"none was seen and the 7 days run past the last ticket opened ({observed_until:%Y-%m-%dT%H:%M:%S})")
    n_censored = int(contacts["repeat_within_7d"].isna().sum())
    if n_censored:
        report.missing["contacts.repeat_within_7d"] = (
            f"{n_censored} contacts opened in the last 7 days of the export have no answer yet (empty)")
    for column in ("escalated", "credit_issued"):
        if column in rules:
            contacts[column] = mapped_column(column, rules[column], c, report)
        else:
            report.missing[f"contacts.{column}"] = "not in a Freshdesk export; map a field or tag to import it"
    report.missing["contacts.n_interactions"] = "agent replies are not in tickets.json (conversations are per ticket)"
    contacts["agent_id_at_export"] = c["assignee"].astype("str").to_numpy()
    contacts["vendor_channel"] = c["source"].map(lambda v: None if v is None else str(v)).astype("str").to_numpy()
    contacts = contacts.sort_values(["opened_at", "contact_id"], kind="stable").reset_index(drop=True)

    # --- surveys ------------------------------------------------------------------------------------------
    s = rating.reset_index()
    on_dropped = ~isin_ids(s["ticket_id"], contacts["contact_id"])
    report.drop("surveys", "its ticket was dropped (see the contacts' reasons)", s.loc[on_dropped, "id"])
    s = s[~on_dropped]
    surveys = pd.DataFrame({
        "contact_id": s["ticket_id"].astype("str"),
        "sent_at": s["created"],
        "responded_at": s["created"],
        "csat": pd.array(s["csat"], dtype="Int64"),
        "nps": pd.array([pd.NA] * len(s), dtype="Int64"),
        "comment": s["feedback"].astype("str").where(s["feedback"].notna()),
    }).sort_values(["sent_at", "contact_id"], kind="stable").reset_index(drop=True)
    report.sources.update({
        "surveys.csat": f"satisfaction_ratings.json: ratings.default_question on the {points}-point scale "
                        f"from {scale_source}; -103 = 1 ... 103 = {points}",
        "surveys.sent_at": "satisfaction_ratings.json: created_at (the send time is not exported)",
        "surveys.responded_at": "satisfaction_ratings.json: created_at",
        "surveys.comment": "satisfaction_ratings.json: feedback",
    })
    report.missing["surveys.nps"] = "not in Freshdesk's CSAT ratings"
    report.warnings.append("Freshdesk lists only answered surveys: surveys sent without an answer cannot be seen, "
                           "so response rates and non-response studies need the survey send log")
    if report.facts["reassigned_after_rating"]:
        report.warnings.append(
            f"{report.facts['reassigned_after_rating']} rated contacts were reassigned after the rating; they are "
            "attributed to the rating's agent_id")

    # --- agents -------------------------------------------------------------------------------------------
    staff = pd.DataFrame(columns=["id", "team", "created_at"])
    if paths["agents"] is not None:
        recs = _records(paths["agents"], report)
        staff = pd.DataFrame({
            "id": [text_id(a.get("id")) for a in recs],
            "team": [groups.get(text_id((a.get("group_ids") or [None])[0])) for a in recs],
            "created_at": [a.get("created_at") for a in recs]})
    exported_at = max(x for x in (t["updated"].max(), r["updated"].max()) if pd.notna(x))
    agents = agents_table(contacts, staff, exported_at, report, "agents.json",
                          "agents.json: the first of group_ids (name from groups.json)")

    report.read = {"contacts": len(tickets_raw), "surveys": n_rating_records, "agents": len(staff)}
    report.kept = {"contacts": len(contacts), "surveys": len(surveys), "agents": len(agents)}
    dataset = {
        "upstream_dataset": 1, "name": folder.name,
        "source": {"vendor": VENDOR, "format": FORMAT, "exported_at": exported_at,
                   "imported_at": pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s"),
                   "importer": "upstream.data.importers.freshdesk", "timezone": "UTC",
                   "files": [{"name": f.name, "bytes": f.bytes, "sha256": f.sha256} for f in report.files],
                   "mapping": None if mapping.path is None else "mapping.yaml"},
        "period": {"first_opened_at": contacts["opened_at"].min(), "last_opened_at": contacts["opened_at"].max()},
        "attribution": {"rule": "rating_time_assignee",
                        "description": "A rated contact's agent_id is the rating's agent_id; other contacts keep "
                                       "the ticket's responder_id at export time.",
                        "reassigned_after_rating": report.facts["reassigned_after_rating"]},
        "csat": {**scale.describe(), "scale_source": scale_source},
        "nps": {"present": False, "range": [0, 10]},
        "columns": {"contacts": {
            "missing": [x for x in ("handle_time_sec", "n_interactions", "escalated", "credit_issued")
                        if x not in contacts.columns],
            "derived": {k.split(".", 1)[1]: v for k, v in report.derived.items() if k.startswith("contacts.")}}},
        "channel_groups": {e["value"]: {"group": e["group"], "contacts": e["contacts"],
                                        **({} if e["known"] else {"note": "not a known Freshdesk source"})}
                           for e in report.channels},
    }
    return ImportResult(contacts=contacts, surveys=surveys, agents=agents, dataset=dataset, report=report,
                        mapping_text=mapping_text)


def _records(path: Path, report: ImportReport) -> list[dict]:
    info = FileRead(name=path.name, path=path)
    out: list[dict] = []
    for page in iter_pages(path, None, expected=EXPECTED, info=info):
        out.extend(page)
    report.files.append(info)
    return out


def _scale_from_surveys(path: Path, report: ImportReport) -> tuple[int | None, str]:
    for survey in _records(path, report):
        if survey.get("active") is False:
            continue
        for q in survey.get("questions") or ():
            if q.get("default") or q.get("id") == "default_question":
                accepted = q.get("accepted_ratings") or []
                if len(accepted) in (3, 5, 7):
                    return len(accepted), f"surveys.json (survey {survey.get('id')}: {len(accepted)} accepted ratings)"
    return None, ""


def _time_spent(path: Path, report: ImportReport) -> pd.Series:
    """Seconds of tracked time per ticket id (text), from ``hh:mm`` (or ``hh:mm:ss``) entries."""
    seconds: dict[str, float] = {}
    bad: list[str] = []
    for e in _records(path, report):
        m = _HHMM.match(str(e.get("time_spent") or ""))
        if m is None:
            bad.append(str(e.get("id")))
            continue
        tid = text_id(e.get("ticket_id"))
        seconds[tid] = seconds.get(tid, 0.0) + 3600 * int(m[1]) + 60 * int(m[2]) + int(m[3] or 0)
    if bad:
        report.warnings.append(f"time_entries.json: {len(bad)} entries without an hh:mm time_spent were ignored "
                               f"(ids {', '.join(bad[:5])})")
    return pd.Series(seconds, dtype="float64")
