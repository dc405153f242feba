"""Zendesk Support API export -> canonical contacts, surveys and agents.

The export is a folder of saved API pages (docs/importers/vendor_formats.md §1):

| file | required | wrapper key |
|---|---|---|
| ``tickets.json`` | yes | ``tickets`` (list or incremental export pages; may side-load ``metric_sets``) |
| ``ticket_metrics.json`` | yes, unless the tickets pages side-load ``metric_sets`` | ``ticket_metrics`` |
| ``satisfaction_ratings.json`` | yes | ``satisfaction_ratings`` |
| ``users.json`` | no (agents' team and tenure) | ``users`` |
| ``groups.json`` | no (team names; ids otherwise) | ``groups`` |
| ``ticket_fields.json`` | no (lets a mapping name custom fields by title) | ``ticket_fields`` |

Each may also be ``.jsonl``/``.ndjson`` and gzipped. Rules (each one is also written into the
import report):

- Attribution: a contact with a rating record (score ``offered``, ``good`` or ``bad``) belongs to
  the rating's ``assignee_id`` and ``group_id`` -- the agent and group *at rating time*; other
  contacts to the ticket's ``assignee_id``/``group_id`` at export time.
- Tickets repeated in an incremental export: the copy with the latest ``updated_at`` is kept.
- Contacts: solved or closed tickets with a ``solved_at``; ``closed_at`` = the last solve.
- CSAT: ``bad`` -> 1, ``good`` -> 2 (binary); ``offered`` = survey sent, no answer;
  ``unoffered`` = no survey. One survey per ticket: the latest rating record.
- ``resolved_first_contact`` = ``reopens == 0`` and ``replies <= 1``; ``escalated`` =
  ``group_stations > 1`` (a proxy); ``n_interactions`` = ``max(replies, 1)``;
  ``repeat_within_7d`` see :func:`upstream.data.importers.derive.repeat_within_7d`.
- ``handle_time_sec`` only when the mapping names the Time Tracking field; ``credit_issued``
  and agents' ``site`` are missing.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .channels import map_channels
from .common import (UNKNOWN, agents_table, id_text, int_id, isin_ids, mapped_column,
                     mapping_and_text, text_id)
from .derive import repeat_within_7d, to_utc_naive
from .errors import ImportInputError
from .mapping import ColumnRule, Mapping
from .pages import FileRead, find_file, iter_pages
from .report import ImportReport
from .result import ImportResult
from .scales import ZENDESK_LEGACY

VENDOR = "zendesk"
FORMAT = "zendesk-api"
FILES = {  # stem -> (wrapper key, singular wrapper, required)
    "tickets": ("tickets", "ticket", True),
    "ticket_metrics": ("ticket_metrics", "ticket_metric", True),
    "satisfaction_ratings": ("satisfaction_ratings", "satisfaction_rating", True),
    "users": ("users", "user", False),
    "groups": ("groups", "group", False),
    "ticket_fields": ("ticket_fields", "ticket_field", False),
}
SOLVED = ("solved", "closed")
ANSWERED = ("good", "bad")


def _expected(stem: str) -> str:
    key = FILES[stem][0]
    return (f'Zendesk API pages such as {{"{key}": [...], "next_page": ...}} (one page object, '
            f"several one after another, or one per line)")


def import_zendesk_api(export: str | Path, mapping: Mapping | str | Path | None = None) -> ImportResult:
    """Import a Zendesk Support API export folder; see the module docstring for the rules.

    Raises :class:`ImportInputError` (message naming the file and what was expected) for a
    missing required file, a file that is not the Zendesk format, an export without tickets,
    or a mapping that names a field or column the export does not have.
    """
    folder = Path(export)
    if not folder.is_dir():
        raise ImportInputError(
            f"{folder.name}: expected a folder holding the Zendesk API export (tickets.json, "
            "ticket_metrics.json, satisfaction_ratings.json; optionally users.json, groups.json, "
            "ticket_fields.json)", folder.name)
    mapping, mapping_text = mapping_and_text(mapping)
    mapping.check_vendor(VENDOR)
    for column, rule in mapping.columns.items():
        if rule.kind == "column":
            raise ImportInputError(
                f"{mapping.name}: columns.{column}: 'column' rules are for table and CSV exports; "
                "a Zendesk API export has custom fields (field:) and tags (tag_prefix:)", mapping.name)

    report = ImportReport(vendor=VENDOR, format=FORMAT, export=str(folder))
    paths = {stem: find_file(folder, stem) for stem in FILES}

    # --- ticket fields first: a mapping may name fields by title --------------------------------
    field_titles: dict[int, str] = {}
    if paths["ticket_fields"] is not None:
        for rec in _records(paths["ticket_fields"], "ticket_fields", report):
            if rec.get("id") is not None:
                field_titles[int_id(rec["id"])] = str(rec.get("title", ""))
    field_rules = {c: _resolve_field(r, field_titles, mapping) for c, r in mapping.columns.items()
                   if r.kind == "field"}
    tag_rules = {c: r.source for c, r in mapping.columns.items() if r.kind == "tag_prefix"}

    # --- tickets ----------------------------------------------------------------------------------
    for stem in ("tickets", "satisfaction_ratings"):
        if paths[stem] is None:
            raise _missing(stem, folder)
    metric_sets: list = []
    tickets_info = FileRead(name=paths["tickets"].name, path=paths["tickets"])
    cols: dict[str, list] = {k: [] for k in ("id", "created_at", "updated_at", "status",
                                             "requester_id", "assignee_id", "group_id", "channel")}
    for c in tag_rules:
        cols[f"tag:{c}"] = []
    for c in field_rules:
        cols[f"field:{c}"] = []
    seen_fields: set = set()
    wanted = {c: fid for c, fid in field_rules.items()}
    for page in iter_pages(paths["tickets"], "tickets", singular="ticket", expected=_expected("tickets"),
                           info=tickets_info, sideloads={"metric_sets": metric_sets}):
        _extract_tickets(page, cols, tag_rules, wanted, seen_fields, tickets_info.name)
    report.files.append(tickets_info)
    n_ticket_records = len(cols["id"])
    if n_ticket_records == 0:
        raise ImportInputError(
            f"{tickets_info.name}: the export holds no tickets ({tickets_info.pages} page(s), all "
            "empty); expected at least one ticket", tickets_info.name)
    for column, fid in field_rules.items():
        if fid not in seen_fields and fid not in field_titles:
            present = sorted(seen_fields | set(field_titles))
            listed = ", ".join(f"{f} ({field_titles[f]})" if f in field_titles else str(f) for f in present)
            raise ImportInputError(
                f"{mapping.name}: columns.{column}: no custom field {fid} in {tickets_info.name}"
                + (" or ticket_fields.json" if field_titles else "")
                + f"; fields present: {listed or 'none'}", mapping.name)

    tickets = pd.DataFrame(cols)
    tickets["id"] = id_text(tickets["id"])
    tickets["updated"], _ = to_utc_naive(tickets["updated_at"])
    tickets["_order"] = np.arange(len(tickets))
    # incremental exports repeat a ticket each time it changes: keep the latest copy
    tickets = tickets.sort_values(["id", "updated", "_order"], kind="stable")
    older = tickets.duplicated("id", keep="last")
    report.drop("contacts", "an older copy of a ticket that appears again later in the export "
                            "(incremental exports repeat changed tickets)", tickets.loc[older, "id"])
    tickets = tickets[~older].sort_values("_order", kind="stable").reset_index(drop=True)

    # --- metrics ----------------------------------------------------------------------------------
    metrics = _metrics(paths, metric_sets, report, folder)

    # --- ratings ----------------------------------------------------------------------------------
    ratings = pd.DataFrame(_rating_rows(paths["satisfaction_ratings"], report))
    n_rating_records = len(ratings)

    # --- users, groups ------------------------------------------------------------------------------
    groups: dict[str, str] = {}
    if paths["groups"] is not None:
        for rec in _records(paths["groups"], "groups", report):
            if rec.get("id") is not None:
                groups[text_id(rec["id"])] = str(rec.get("name", ""))
    users = pd.DataFrame(
        [(text_id(u.get("id")), u.get("role"), text_id(u.get("default_group_id")), u.get("created_at"))
         for u in _records(paths["users"], "users", report)] if paths["users"] is not None else [],
        columns=["id", "role", "default_group_id", "created_at"])

    # --- export time ------------------------------------------------------------------------------
    times = [tickets["updated"].max()]
    if len(metrics):
        times.append(metrics["updated"].max())
    if len(ratings):
        times.append(ratings["updated"].max())
    exported_at = max(t for t in times if pd.notna(t))

    contacts, surveys, kept_ratings = _build(tickets, metrics, ratings, groups, mapping, report)
    staff = users[users["role"].isin(["agent", "admin"])].assign(
        team=lambda u: u["default_group_id"].map(lambda g: groups.get(g) if isinstance(g, str) else None))
    agents = agents_table(contacts, staff[["id", "team", "created_at"]], exported_at, report, "users.json",
                          "users.json: default_group_id (name from groups.json)")

    report.read = {"contacts": n_ticket_records, "surveys": n_rating_records,
                   "agents": int((users["role"].isin(["agent", "admin"])).sum()) if len(users) else 0}
    report.kept = {"contacts": len(contacts), "surveys": len(surveys), "agents": len(agents)}

    dataset = _dataset(folder, report, contacts, surveys, exported_at, mapping)
    return ImportResult(contacts=contacts, surveys=surveys, agents=agents, dataset=dataset,
                        report=report, mapping_text=mapping_text)


# =================================================================================================
# reading
# =================================================================================================
def _missing(stem: str, folder: Path) -> ImportInputError:
    return ImportInputError(
        f"{stem}.json: required file missing from {folder}; a Zendesk API export needs "
        "tickets.json, ticket_metrics.json (or tickets pages with side-loaded metric_sets) and "
        "satisfaction_ratings.json", f"{stem}.json")


def _records(path: Path, stem: str, report: ImportReport) -> list[dict]:
    info = FileRead(name=path.name, path=path)
    out: list[dict] = []
    key, singular, _required = FILES[stem]
    for page in iter_pages(path, key, singular=singular, expected=_expected(stem), info=info):
        out.extend(page)
    report.files.append(info)
    return out


def _extract_tickets(page: list, cols: dict[str, list], tag_rules: dict[str, str],
                     field_rules: dict[str, int], seen_fields: set, file: str) -> None:
    cols["id"].extend(t.get("id") for t in page)
    for key in ("created_at", "updated_at", "status", "requester_id", "assignee_id", "group_id"):
        cols[key].extend(t.get(key) for t in page)
    cols["channel"].extend((t.get("via") or {}).get("channel") for t in page)
    for column, prefix in tag_rules.items():
        n = len(prefix)
        cols[f"tag:{column}"].extend(
            next((tag[n:] for tag in (t.get("tags") or ()) if isinstance(tag, str)
                  and tag.startswith(prefix)), None) for t in page)
    if field_rules:
        for t in page:
            values = {}
            for f in t.get("custom_fields") or ():
                if isinstance(f, dict) and "id" in f:
                    fid = int_id(f["id"])
                    values[fid] = f.get("value")
            seen_fields.update(values)
            for column, fid in field_rules.items():
                cols[f"field:{column}"].append(values.get(fid))
    else:
        for t in page:
            seen_fields.update(int_id(f["id"]) for f in t.get("custom_fields") or ()
                               if isinstance(f, dict) and "id" in f)


def _metrics(paths: dict, metric_sets: list, report: ImportReport, folder: Path) -> pd.DataFrame:
    keys = ("ticket_id", "solved_at", "reopens", "replies", "group_stations", "updated_at")
    cols: dict[str, list] = {k: [] for k in keys}

    def take(page: list) -> None:  # columns only: the records themselves are not kept
        for k in keys:
            cols[k].extend(m.get(k) for m in page)

    take(metric_sets)
    if paths["ticket_metrics"] is not None:
        info = FileRead(name=paths["ticket_metrics"].name, path=paths["ticket_metrics"])
        for page in iter_pages(paths["ticket_metrics"], "ticket_metrics", singular="ticket_metric",
                               expected=_expected("ticket_metrics"), info=info):
            take(page)
        report.files.append(info)
    elif not metric_sets:
        raise _missing("ticket_metrics", folder)
    frame = pd.DataFrame({
        "ticket_id": id_text(pd.Series(cols["ticket_id"], dtype="object")),
        "solved_at": pd.Series(cols["solved_at"], dtype="object"),
        "updated_at": pd.Series(cols["updated_at"], dtype="object"),
        **{k: pd.to_numeric(pd.Series(cols[k], dtype="object"), errors="coerce")
           for k in ("reopens", "replies", "group_stations")},
    })
    frame["updated"], _ = to_utc_naive(frame["updated_at"])
    frame["_order"] = np.arange(len(frame))
    frame = frame.sort_values(["ticket_id", "updated", "_order"], kind="stable")
    return frame.drop_duplicates("ticket_id", keep="last").set_index("ticket_id")


def _rating_rows(path: Path, report: ImportReport) -> dict[str, list]:
    info = FileRead(name=path.name, path=path)
    keys = ("id", "ticket_id", "assignee_id", "group_id", "score", "comment", "created_at", "updated_at")
    cols: dict[str, list] = {k: [] for k in keys}
    for page in iter_pages(path, "satisfaction_ratings", singular="satisfaction_rating",
                           expected=_expected("satisfaction_ratings"), info=info):
        for k in keys:
            cols[k].extend(r.get(k) for r in page)
    report.files.append(info)
    frame = pd.DataFrame(cols)
    for k in ("id", "ticket_id", "assignee_id", "group_id"):
        frame[k] = id_text(frame[k])
    frame["score"] = frame["score"].astype("str").str.strip().str.lower().where(frame["score"].notna())
    frame["created"], bad_c = to_utc_naive(frame["created_at"])
    frame["updated"], bad_u = to_utc_naive(frame["updated_at"])
    return frame


# =================================================================================================
# building the tables
# =================================================================================================
def _build(tickets: pd.DataFrame, metrics: pd.DataFrame, ratings: pd.DataFrame,
           groups: dict[str, str], mapping: Mapping, report: ImportReport):
    t = tickets.copy()
    t["requester"] = id_text(t["requester_id"])
    t["assignee"] = id_text(t["assignee_id"])
    t["group"] = id_text(t["group_id"])
    t["opened"], bad_created = to_utc_naive(t["created_at"])
    status = t["status"].astype("str").str.lower().where(t["status"].notna())

    # --- ratings: one per ticket (the latest record), attached to known tickets -----------------
    r = ratings.copy()
    outside = ~isin_ids(r["ticket_id"], t["id"])
    report.drop("surveys", "its ticket is not in tickets.json", r.loc[outside, "id"])
    r = r[~outside]
    r["_order"] = np.arange(len(r))
    r = r.sort_values(["ticket_id", "updated", "_order"], kind="stable")
    superseded = r.duplicated("ticket_id", keep="last")
    report.drop("surveys", "an older rating record of a ticket that has a newer one",
                r.loc[superseded, "id"])
    r = r[~superseded]
    unoffered = r["score"] == "unoffered"
    report.drop("surveys", "no survey was sent (score unoffered)", r.loc[unoffered, "id"])
    unknown_score = ~r["score"].isin(("offered",) + ANSWERED) & ~unoffered
    if unknown_score.any():
        examples = ", ".join(sorted(set(r.loc[unknown_score, "score"].fillna("(none)")))[:5])
        report.drop("surveys", f"score is not offered, good or bad ({examples})",
                    r.loc[unknown_score, "id"])
    rating_by_ticket = r[~unoffered & ~unknown_score].set_index("ticket_id")

    # --- attribution ------------------------------------------------------------------------------
    rated = isin_ids(t["id"], rating_by_ticket.index)
    rating_agent = t["id"].map(rating_by_ticket["assignee_id"])
    rating_group = t["id"].map(rating_by_ticket["group_id"])
    t["agent"] = rating_agent.where(rated & rating_agent.notna(), t["assignee"])
    t["team_group"] = rating_group.where(rated & rating_group.notna(), t["group"])
    no_rating_agent = rated & rating_agent.isna()

    # --- which tickets become contacts -------------------------------------------------------------
    m = metrics.reindex(t["id"])
    solved_at, bad_solved = to_utc_naive(pd.Series(m["solved_at"].to_numpy(), index=t.index))
    t["closed"] = solved_at
    keep = pd.Series(True, index=t.index)

    def drop(mask, reason: str) -> None:
        mask = mask & keep
        report.drop("contacts", reason, t.loc[mask, "id"])
        keep[mask] = False

    drop(status == "deleted", "deleted ticket")
    drop(~status.isin(SOLVED), "not solved or closed at export time (status new, open, pending or hold)")
    drop(pd.Series(bad_created, index=t.index) | t["opened"].isna(), "created_at is missing or not an ISO 8601 time")
    drop(~isin_ids(t["id"], metrics.index), "no ticket_metrics record (needed for solved_at, reopens, replies)")
    drop(t["closed"].isna(), "ticket_metrics has no solved_at")
    drop(t["closed"] < t["opened"], "solved_at is before created_at")
    drop(t["agent"].isna(), "no assignee (neither at rating time nor at export time)")
    report.facts["reassigned_after_rating"] = int((keep & rated & rating_agent.notna()
                                                   & (rating_agent != t["assignee"])).sum())

    # every contact the customers made, for repeats: all tickets but deleted ones
    alive = status != "deleted"
    all_customer, all_opened = t.loc[alive, "requester"], t.loc[alive, "opened"]
    observed_until = all_opened.max()

    c = t[keep].copy()
    mk = metrics.reindex(c["id"])
    reopens = pd.Series(mk["reopens"].to_numpy(), index=c.index)
    replies = pd.Series(mk["replies"].to_numpy(), index=c.index)
    group_stations = pd.Series(mk["group_stations"].to_numpy(), index=c.index)

    contacts = pd.DataFrame({
        "contact_id": c["id"].astype("str"),
        "opened_at": c["opened"],
        "closed_at": c["closed"],
        "agent_id": c["agent"].astype("str"),
        "team": c["team_group"].map(lambda g: groups.get(g, g) if isinstance(g, str) else UNKNOWN).astype("str"),
    })
    report.sources["contacts.contact_id"] = "tickets.json: id"
    report.sources["contacts.opened_at"] = "tickets.json: created_at (UTC)"
    report.sources["contacts.closed_at"] = "ticket_metrics.json: solved_at (the last solve)"
    n_rated = int((rated[keep]).sum())
    report.sources["contacts.agent_id"] = (
        f"satisfaction_ratings.json: assignee_id, the agent at rating time ({n_rated} contacts "
        f"with a survey); tickets.json: assignee_id, the agent at export time "
        f"({len(c) - n_rated} contacts without one)")
    report.sources["contacts.team"] = (
        "name (groups.json) of satisfaction_ratings.json group_id (group at rating time), else of "
        "tickets.json group_id (group at export time)" if groups else
        "group ids (groups.json absent): satisfaction_ratings.json group_id, else tickets.json group_id")
    if not groups:
        report.missing["contacts.team"] = "groups.json is absent, so teams are group ids, not names"
    if int(no_rating_agent[keep].sum()):
        report.warnings.append(f"{int(no_rating_agent[keep].sum())} rated contacts have no assignee_id on "
                               "the rating; they keep the export-time assignee")

    groups_col, channel_table = map_channels(c["channel"], VENDOR, mapping.channels)
    contacts["channel"] = groups_col.to_numpy()
    report.channels = channel_table
    report.sources["contacts.channel"] = "tickets.json: via.channel, grouped (see channels)"
    unknown_channels = [e for e in channel_table if not e["known"]]
    if unknown_channels:
        report.warnings.append(
            "channel values not known for Zendesk were put in 'other': "
            + ", ".join(f"{e['value']} ({e['contacts']})" for e in unknown_channels))

    for column in ("policy", "product", "issue_type"):
        contacts[column] = mapped_column(column, mapping.columns.get(column), c, report).astype("str")
    if "team" in mapping.columns:
        contacts["team"] = mapped_column("team", mapping.columns["team"], c, report).astype("str")
    contacts["customer_id"] = c["requester"].fillna(UNKNOWN).astype("str")
    report.sources["contacts.customer_id"] = "tickets.json: requester_id"

    if "handle_time_sec" in mapping.columns:
        contacts["handle_time_sec"] = mapped_column("handle_time_sec", mapping.columns["handle_time_sec"], c, report)
    else:
        report.missing["contacts.handle_time_sec"] = (
            "not recorded: Zendesk has handle time only through the Time Tracking app's "
            "'Total time spent (sec)' field; name it in the mapping (handle_time_sec: {field: ...})")

    contacts["n_interactions"] = np.maximum(replies.fillna(0).to_numpy(), 1).astype("int64")
    report.derived["contacts.n_interactions"] = "ticket_metrics.replies (public agent replies), at least 1"
    if "resolved_first_contact" in mapping.columns:
        contacts["resolved_first_contact"] = mapped_column(
            "resolved_first_contact", mapping.columns["resolved_first_contact"], c, report).astype("bool")
    else:
        contacts["resolved_first_contact"] = ((reopens.fillna(0) == 0) & (replies.fillna(0) <= 1)).to_numpy()
        report.derived["contacts.resolved_first_contact"] = (
            "ticket_metrics: reopens == 0 and replies <= 1 (solved with at most one public agent "
            "reply and never reopened)")
    same_issue = mapping.repeat_same_issue_type
    contacts["repeat_within_7d"] = pd.array(repeat_within_7d(
        c["requester"], c["opened"], all_customer, all_opened, observed_until,
        issue=contacts["issue_type"] if same_issue else None,
        all_issue=None if not same_issue else _issue_of_all(t, alive, mapping, report)).to_numpy(),
        dtype="boolean")
    n_censored = int(contacts["repeat_within_7d"].isna().sum())
    report.derived["contacts.repeat_within_7d"] = (
        "the same requester opened another ticket (any status except deleted"
        + (", same issue type" if same_issue else "")
        + ") later and within 7 days (168 h); empty when no repeat was seen and the 7 days run "
        f"past the last ticket opened in the export ({observed_until:%Y-%m-%dT%H:%M:%S})")
    if n_censored:
        report.missing["contacts.repeat_within_7d"] = (
            f"{n_censored} contacts opened in the last 7 days of the export have no answer yet (empty)")
    if "escalated" in mapping.columns:
        contacts["escalated"] = mapped_column("escalated", mapping.columns["escalated"], c, report).astype("bool")
    else:
        contacts["escalated"] = (group_stations.fillna(1) > 1).to_numpy()
        report.derived["contacts.escalated"] = (
            "ticket_metrics.group_stations > 1 (the ticket passed through more than one group; a proxy "
            "for hand-over to a second-line team)")
    if "credit_issued" in mapping.columns:
        contacts["credit_issued"] = mapped_column("credit_issued", mapping.columns["credit_issued"], c, report)
    else:
        report.missing["contacts.credit_issued"] = "not recorded by Zendesk; map a custom field to import it"

    contacts["agent_id_at_export"] = c["assignee"].astype("str").to_numpy()
    contacts["vendor_channel"] = c["channel"].astype("str").where(c["channel"].notna()).to_numpy()
    contacts["vendor_status"] = status[keep].astype("str").to_numpy()
    contacts = contacts.sort_values(["opened_at", "contact_id"], kind="stable").reset_index(drop=True)

    # --- surveys ------------------------------------------------------------------------------------
    s = rating_by_ticket.reset_index()
    on_dropped = ~isin_ids(s["ticket_id"], contacts["contact_id"])
    report.drop("surveys", "its ticket was dropped (see the contacts' reasons)", s.loc[on_dropped, "id"])
    s = s[~on_dropped]
    bad_times = s["created"].isna()
    report.drop("surveys", "created_at is missing or not an ISO 8601 time", s.loc[bad_times, "id"])
    s = s[~bad_times]
    answered = s["score"].isin(ANSWERED)
    csat = s["score"].map(lambda v: ZENDESK_LEGACY.vendor_codes.get(v))
    surveys = pd.DataFrame({
        "contact_id": s["ticket_id"].astype("str"),
        "sent_at": s["created"],
        "responded_at": s["updated"].where(answered),
        "csat": pd.array(csat.where(answered), dtype="Int64"),
        "nps": pd.array([pd.NA] * len(s), dtype="Int64"),
        "comment": s["comment"].astype("str").where(s["comment"].notna()),
    }).sort_values(["sent_at", "contact_id"], kind="stable").reset_index(drop=True)
    report.sources["surveys.contact_id"] = "satisfaction_ratings.json: ticket_id"
    report.sources["surveys.sent_at"] = "satisfaction_ratings.json: created_at (when the rating record was created, i.e. the survey offered)"
    report.sources["surveys.responded_at"] = "satisfaction_ratings.json: updated_at, for scores good and bad"
    report.sources["surveys.csat"] = "satisfaction_ratings.json: score; bad = 1, good = 2 (offered = sent, no answer)"
    report.sources["surveys.comment"] = "satisfaction_ratings.json: comment"
    report.missing["surveys.nps"] = "Zendesk's satisfaction ratings have no NPS question"
    n_reassigned = report.facts["reassigned_after_rating"]
    if n_reassigned:
        report.warnings.append(
            f"{n_reassigned} rated contacts were reassigned after the rating; they are attributed to "
            "the agent at rating time (the UI CSV export would credit the current assignee)")
    return contacts, surveys, rating_by_ticket


def _issue_of_all(t, alive, mapping, report):
    rule = mapping.columns.get("issue_type")
    return mapped_column("issue_type", rule, t[alive], ImportReport(VENDOR, FORMAT, ""))


def _dataset(folder: Path, report: ImportReport, contacts: pd.DataFrame, surveys: pd.DataFrame,
             exported_at: pd.Timestamp, mapping: Mapping) -> dict:
    optional = ("handle_time_sec", "credit_issued", "escalated")
    return {
        "upstream_dataset": 1,
        "name": folder.name,
        "source": {
            "vendor": VENDOR, "format": FORMAT, "exported_at": exported_at,
            "imported_at": pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s"),
            "importer": "upstream.data.importers.zendesk", "timezone": "UTC",
            "files": [{"name": f.name, "bytes": f.bytes, "sha256": f.sha256} for f in report.files],
            "mapping": None if mapping.path is None else "mapping.yaml",
        },
        "period": {"first_opened_at": contacts["opened_at"].min(), "last_opened_at": contacts["opened_at"].max()},
        "attribution": {
            "rule": "rating_time_assignee",
            "description": ("A contact's agent_id is the agent assigned when the customer rated "
                            "(satisfaction_ratings[].assignee_id); contacts without a rating record keep "
                            "the ticket's assignee at export time."),
            "reassigned_after_rating": report.facts.get("reassigned_after_rating", 0),
        },
        "csat": ZENDESK_LEGACY.describe(),
        "nps": {"present": False, "range": [0, 10]},
        "columns": {
            "contacts": {
                "missing": [c for c in optional if c not in contacts.columns],
                "derived": {k.split(".", 1)[1]: v for k, v in report.derived.items() if k.startswith("contacts.")},
            },
        },
        "channel_groups": {e["value"]: {"group": e["group"], "contacts": e["contacts"],
                                        **({} if e["known"] else {"note": "not a known Zendesk channel"})}
                           for e in report.channels},
    }


# =================================================================================================
# helpers
# =================================================================================================
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
