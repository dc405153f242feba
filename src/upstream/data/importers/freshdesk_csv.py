"""Freshdesk UI ticket export (Tickets > Export, CSV) -> canonical tables.

The exporting admin chooses the columns; the headers below are the ones Freshdesk writes
(docs/importers/vendor_formats.md §2.5, indicative: the official article was not available).
What the CSV cannot tell, and how the import says so:

- **Attribution**: ``Agent`` is the agent *at export time*, by name: ``attribution.rule:
  export_time_assignee`` (the API's ``satisfaction_ratings.agent_id`` is the rating-time agent).
- **Scale**: ``Survey results`` holds labels (``Extremely Happy`` ...); the scale is the mapping's
  ``csat.points``, else the one the labels prove (``Extremely ...`` only on 7-point surveys).
- **Times** in the account's time zone (``timezone:`` in the mapping). There is no survey time:
  ``sent_at`` is the resolve time, ``responded_at`` empty; only answered surveys are listed.
- ``handle_time_sec`` from ``Time tracked`` (``hh:mm:ss``); ``n_interactions`` from ``Agent
  interactions`` when exported; no reopen information, so ``resolved_first_contact`` is missing.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .assemble import Extract, assemble
from .errors import ImportInputError
from .mapping import Mapping
from .report import ImportReport
from .result import ImportResult
from .scales import freshdesk_label_points, freshdesk_scale
from .source import file_info, local_to_utc, mapping_and_text, read_csv_export

VENDOR = "freshdesk"
FORMAT = "freshdesk-csv"
WHAT = "a Freshdesk ticket export (Tickets > Export, CSV)"
REQUIRED = ("Ticket ID", "Status", "Source", "Agent", "Group", "Created time", "Resolved time", "Survey results")
_HMS = re.compile(r"^\s*(\d+):([0-5]\d)(?::([0-5]\d))?\s*$")


def import_freshdesk_csv(export: str | Path, mapping: Mapping | str | Path | None = None) -> ImportResult:
    """Import a Freshdesk UI CSV export file; see the module docstring."""
    path = Path(export)
    mapping, mapping_text = mapping_and_text(mapping)
    mapping.check_vendor(VENDOR)
    frame = read_csv_export(path, VENDOR, REQUIRED, ("Ticket ID", "Survey results", "Resolved time"), WHAT)
    name = path.name
    headers = list(frame.columns)
    _check_columns(mapping, headers, name)
    report = ImportReport(vendor=VENDOR, format=FORMAT, export=str(path))
    report.files.append(file_info(path))
    zone = mapping.timezone or "UTC"
    if mapping.timezone is None:
        report.warnings.append("the CSV export writes times in the account's time zone without saying which; they "
                               "were taken as UTC (state timezone: in the mapping)")
    t, customer = _tickets(frame, headers, mapping, zone, name)
    vendor_columns, missing = _vendor_columns(frame, headers, name, t)
    r, scale, scale_source, points, answered = _ratings(frame, t, mapping, name)
    report.warnings.append("Freshdesk lists only answered surveys: surveys sent without an answer cannot be seen, "
                           "so response rates and non-response studies need the survey send log")
    report.warnings.append(
        "the CSV export names each ticket's agent at export time: a rating given before a reassignment is credited "
        "to the later agent, and the CSV cannot show how often that happened; use the API export "
        "(satisfaction_ratings.agent_id) to attribute ratings to the agent at rating time")
    x = Extract(
        vendor=VENDOR, format=FORMAT, export=path, tickets_file=name, ratings_file=name, tickets=t, ratings=r,
        scale=scale, scale_source=scale_source, mapping=mapping, report=report, exported_at=t["updated"].max(),
        attribution_rule="export_time_assignee",
        attribution_description=(
            "agent_id is the ticket's Agent when the CSV was exported (a name). A rating given before a reassignment "
            "is credited to the later agent; how many were reassigned is not visible."),
        drops=[(~t["status"].isin(("resolved", "closed")), "not resolved or closed at export time")],
        sources=_sources(name, zone, customer, points, scale_source),
        vendor_columns=vendor_columns, missing=missing,
        defaults={"issue_type": ("type", f"{name}: Type, lower-cased")} if "Type" in headers else {},
        nps_present=False, read={"contacts": len(frame), "surveys": int(answered.sum()), "agents": 0},
        timezone=zone, mapping_text=mapping_text,
        visibility={"unanswered_invitations": False, "uninvited_contacts": True,
                    "note": ("Freshdesk's ticket export shows a survey result only for answered surveys: a survey sent "
                             "without an answer looks like no survey, so invitation and response rates cannot be "
                             "computed")})
    report.missing["surveys.comment"] = "the CSV export has no survey comments"
    return assemble(x)


def _check_columns(mapping: Mapping, headers: list, name: str) -> None:
    """The mapping names columns (a CSV export has no custom field ids) that the export has."""
    for column, rule in mapping.columns.items():
        if rule.kind == "field":
            raise ImportInputError(
                f"{mapping.name}: columns.{column}: a CSV export has its custom fields as columns; name the column "
                f"({column}: {{column: ...}})", mapping.name)
        if rule.kind == "column" and rule.source not in headers:
            raise ImportInputError(
                f"{mapping.name}: columns.{column}: no column {rule.source!r} in {name}; its columns are "
                f"{', '.join(repr(h) for h in headers)}", mapping.name)


def _tickets(frame: pd.DataFrame, headers: list, mapping: Mapping, zone: str, name: str):
    """The rows as ``assemble``'s tickets (times from the account's zone to UTC) with the mapping's
    tag and column values; the column that names the customer (None when there is none)."""
    t = pd.DataFrame({"id": frame["Ticket ID"].astype("str").str.strip()})
    t["opened"] = local_to_utc(frame["Created time"], zone, name, "Created time", mapping.date_format)
    resolved = local_to_utc(frame["Resolved time"], zone, name, "Resolved time", mapping.date_format)
    closed = (local_to_utc(frame["Closed time"], zone, name, "Closed time", mapping.date_format)
              if "Closed time" in headers else resolved)
    t["closed"] = resolved.fillna(closed)
    t["updated"] = (local_to_utc(frame["Last update time"], zone, name, "Last update time", mapping.date_format)
                    if "Last update time" in headers else t["closed"])
    t["status"] = frame["Status"].astype("str").str.strip().str.lower()
    t["assignee"] = frame["Agent"].astype("str").str.strip().where(frame["Agent"].notna())
    t["team"] = frame["Group"].astype("str").where(frame["Group"].notna())
    customer = "Contact ID" if "Contact ID" in headers else ("Requester" if "Requester" in headers else None)
    t["requester"] = frame[customer].astype("str").where(frame[customer].notna()) if customer else pd.NA
    t["channel"] = frame["Source"].astype("str").where(frame["Source"].notna())
    if "Type" in headers:
        t["type"] = frame["Type"].astype("str").str.lower().where(frame["Type"].notna())
    tags = frame["Tags"].fillna("").astype("str").str.split(",") if "Tags" in headers else None
    for column, rule in mapping.columns.items():
        if rule.kind == "tag_prefix":
            if tags is None:
                raise ImportInputError(f"{name}: {WHAT} without the column 'Tags', which the mapping's tag_prefix "
                                       "rules read; include it in the export", name)
            n = len(rule.source)
            t[f"src:{column}"] = tags.map(lambda ts, p=rule.source, n=n: next(
                (x.strip()[n:] for x in ts if x.strip().startswith(p)), None))
        elif rule.kind == "column":
            t[f"src:{column}"] = frame[rule.source]
    return t, customer


def _vendor_columns(frame: pd.DataFrame, headers: list, name: str, t: pd.DataFrame):
    """Handle time and interactions when the export has them (added to ``t``), with their rules; the
    optional columns it does not have, and why."""
    vendor_columns, missing = {}, {
        "resolved_first_contact": "the CSV export has no reopen information",
        "escalated": "not in a Freshdesk export; map a column to import it",
        "credit_issued": "not in a Freshdesk export; map a column to import it"}
    if "Time tracked" in headers:
        t["v:handle_time_sec"] = frame["Time tracked"].map(_seconds).astype("float64")
        vendor_columns["handle_time_sec"] = (f"{name}: Time tracked (hh:mm:ss)", "source")
    else:
        missing["handle_time_sec"] = "not recorded: the export has no 'Time tracked' column"
    if "Agent interactions" in headers:
        t["v:n_interactions"] = np.maximum(pd.to_numeric(frame["Agent interactions"], errors="coerce").fillna(1), 1)
        vendor_columns["n_interactions"] = (f"{name}: Agent interactions, at least 1", "source")
    else:
        missing["n_interactions"] = "the export has no 'Agent interactions' column"
    return vendor_columns, missing


def _ratings(frame: pd.DataFrame, t: pd.DataFrame, mapping: Mapping, name: str):
    """One rating per answered survey (Survey results), the scale its labels (or the mapping) imply,
    where the scale came from, its points, and which rows are answered."""
    labels = frame["Survey results"].astype("str").str.strip().where(frame["Survey results"].notna())
    points = freshdesk_label_points(labels.dropna(), mapping.csat_points, name, "Survey results")
    scale = freshdesk_scale(points)
    answered = labels.notna()
    r = pd.DataFrame({
        "id": t["id"][answered], "ticket_id": t["id"][answered],
        "agent": pd.Series(pd.NA, index=t.index, dtype="str")[answered],
        "team": pd.Series(pd.NA, index=t.index, dtype="str")[answered],
        "csat": pd.array([scale.code(v) for v in labels[answered]], dtype="Int64"),
        "nps": pd.array([pd.NA] * int(answered.sum()), dtype="Int64"),
        "sent_at": t["closed"][answered],
        "responded_at": pd.Series(pd.NaT, index=t.index, dtype="datetime64[us]")[answered],
        "comment": pd.Series(pd.NA, index=t.index, dtype="str")[answered], "updated": t["updated"][answered]})
    scale_source = ("the mapping (csat.points)" if mapping.csat_points else
                    f"the labels in Survey results (only a {points}-point survey has all of them)")
    return r, scale, scale_source, points, answered


def _sources(name: str, zone: str, customer: str | None, points: int, scale_source: str) -> dict[str, str]:
    """Where each canonical column comes from, for the report."""
    return {
        "contacts.contact_id": f"{name}: Ticket ID",
        "contacts.opened_at": f"{name}: Created time ({zone} local time, converted to UTC)",
        "contacts.closed_at": f"{name}: Resolved time, else Closed time ({zone} local time)",
        "contacts.agent_id": (f"{name}: Agent, a name, at export time ({{rated}} rated and {{unrated}} other "
                              "contacts)"),
        "contacts.team": f"{name}: Group at export time",
        "contacts.channel": f"{name}: Source (labels), grouped (see channels)",
        "contacts.customer_id": f"{name}: {customer}" if customer else "not in the export",
        "surveys.csat": f"{name}: Survey results on the {points}-point scale from {scale_source}",
        "surveys.sent_at": f"{name}: Resolved time (the export has no survey times)",
        "surveys.responded_at": "not in the CSV export (empty; a result still counts as a reply)"}


def _seconds(value) -> float:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    m = _HMS.match(str(value))
    if m is None:
        return np.nan
    return 3600 * int(m[1]) + 60 * int(m[2]) + int(m[3] or 0)
