"""Zendesk Admin Center CSV export (Account > Tools > Reports) -> canonical tables.

One row per ticket (deleted tickets are not exported); columns and meanings:
https://support.zendesk.com/hc/en-us/articles/4408886165402 (docs/importers/vendor_formats.md
§1.6). What the CSV cannot tell, and how the import says so:

- **Attribution**: ``Assignee`` is the assignee *at export time*, by name (the CSV has no user
  ids), so a rating given before a reassignment is credited to the later agent.
  ``dataset.yaml`` says ``attribution.rule: export_time_assignee``; prefer the API export.
- **Times** are in the account's time zone without an offset: ``timezone:`` in the mapping
  (UTC when not given, with a warning).
- ``Satisfaction Score``: Good = 2, Bad = 1 (binary), Offered = sent, not answered, Not Offered =
  no survey. There is no rating time: ``sent_at`` is the solve time (``Solved at``; Zendesk sends
  the survey after the solve) and ``responded_at`` is empty (a score still counts as a reply).
- ``resolved_first_contact`` = ``Reopens`` 0 and ``Replies`` <= 1, ``n_interactions`` =
  max(``Replies``, 1), ``escalated`` = ``Group stations`` > 1 (a proxy), handle time from the
  ``Total time spent (sec)`` column when the Time Tracking app exported it.
- Mapping ``column:`` rules name CSV columns (custom fields appear as ``<title> [list]``);
  ``tag_prefix:`` reads the space-separated ``Tags``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .assemble import Extract, assemble
from .errors import ImportInputError
from .mapping import ColumnRule, Mapping
from .report import ImportReport
from .result import ImportResult
from .scales import ZENDESK_LEGACY
from .source import file_info, local_to_utc, mapping_and_text, read_csv_export

VENDOR = "zendesk"
FORMAT = "zendesk-csv"
WHAT = "a Zendesk ticket export (Admin Center > Reports > CSV)"
REQUIRED = ("Id", "Requester id", "Assignee", "Group", "Status", "Via", "Created at", "Solved at",
            "Satisfaction Score", "Reopens", "Replies")
TIME_TRACKING = "Total time spent (sec)"
SCORES = {"good": "good", "bad": "bad", "offered": "offered", "not offered": "unoffered", "unoffered": "unoffered"}


def import_zendesk_csv(export: str | Path, mapping: Mapping | str | Path | None = None) -> ImportResult:
    """Import a Zendesk UI CSV export file; see the module docstring for what it can and cannot tell."""
    path = Path(export)
    mapping, mapping_text = mapping_and_text(mapping)
    mapping.check_vendor(VENDOR)
    for column, rule in mapping.columns.items():
        if rule.kind == "field":
            raise ImportInputError(
                f"{mapping.name}: columns.{column}: a CSV export has no custom field ids; name the CSV column "
                f"instead ({column}: {{column: \"{rule.source} [list]\"}} for a drop-down)", mapping.name)
    frame = read_csv_export(path, VENDOR, REQUIRED, ("Summation column", "Requester id", "Satisfaction Score"), WHAT)
    headers = list(frame.columns)
    _check_columns(mapping, headers, path)
    report = ImportReport(vendor=VENDOR, format=FORMAT, export=str(path))
    report.files.append(file_info(path))
    name = path.name
    zone = mapping.timezone or "UTC"
    if mapping.timezone is None:
        report.warnings.append("the CSV export writes times in the account's time zone without saying which; they "
                               "were taken as UTC (state timezone: in the mapping)")

    t, has_metrics, vendor_columns = _tickets(frame, headers, mapping, zone, name)
    rules, missing = _time_tracking(frame, headers, mapping, t)
    r, offered = _ratings(frame, t, name, report)
    exported_at = t["updated"].max()
    report.warnings.append(
        "the CSV export names each ticket's assignee at export time: a rating given before a reassignment is "
        "credited to the later agent, and the CSV cannot show how often that happened; use the API export "
        "(satisfaction_ratings.assignee_id) to attribute ratings to the agent at rating time")
    x = Extract(
        vendor=VENDOR, format=FORMAT, export=path, tickets_file=name, ratings_file=name, tickets=t, ratings=r,
        scale=ZENDESK_LEGACY, mapping=_with_rules(mapping, rules), report=report, exported_at=exported_at,
        attribution_rule="export_time_assignee",
        attribution_description=(
            "agent_id is the ticket's Assignee when the CSV was exported (a name; the CSV has no user ids). A rating "
            "given before a reassignment is credited to the later agent; how many were reassigned is not visible."),
        drops=[(~t["status"].isin(("solved", "closed")), "not solved or closed at export time (status new, open, "
                                                        "pending or hold)"),
               (~has_metrics, "no ticket metrics in the row (Reopens, Replies empty)")],
        sources=_sources(name, zone),
        vendor_columns=vendor_columns, missing=missing, nps_present=False, staff=None, users_file=None,
        read={"contacts": len(frame), "surveys": int(offered.sum()), "agents": 0},
        timezone=zone, mapping_text=mapping_text, agent_noun="assignee")
    report.missing["surveys.comment"] = "the CSV export has no survey comments"
    return assemble(x)


def _check_columns(mapping: Mapping, headers: list, path: Path) -> None:
    """Every column the mapping names is in the export, and 'Tags' when it has tag_prefix rules."""
    for column, rule in mapping.columns.items():
        if rule.kind == "column" and rule.source not in headers:
            raise ImportInputError(
                f"{mapping.name}: columns.{column}: no column {rule.source!r} in {path.name}; its columns are "
                f"{', '.join(repr(h) for h in headers)}", mapping.name)
    if any(r.kind == "tag_prefix" for r in mapping.columns.values()) and "Tags" not in headers:
        raise ImportInputError(f"{path.name}: {WHAT} without the column 'Tags', which the mapping's tag_prefix "
                               "rules read; include it in the export", path.name)


def _tickets(frame: pd.DataFrame, headers: list, mapping: Mapping, zone: str, name: str):
    """The rows as ``assemble``'s tickets (times from the account's zone to UTC), with the mapping's
    tag and column values and the derived interactions, first-contact resolution and escalation; which
    rows have ticket metrics; the derived columns' rules."""
    t = pd.DataFrame({"id": frame["Id"].astype("str").str.strip()})
    t["opened"] = local_to_utc(frame["Created at"], zone, name, "Created at", mapping.date_format)
    t["closed"] = local_to_utc(frame["Solved at"], zone, name, "Solved at", mapping.date_format)
    t["updated"] = (local_to_utc(frame["Updated at"], zone, name, "Updated at", mapping.date_format)
                    if "Updated at" in headers else t["closed"])
    t["status"] = frame["Status"].astype("str").str.strip().str.lower()
    t["assignee"] = frame["Assignee"].astype("str").str.strip().where(frame["Assignee"].notna())
    t["team"] = frame["Group"].astype("str").where(frame["Group"].notna())
    t["requester"] = frame["Requester id"].astype("str").str.strip().where(frame["Requester id"].notna())
    t["channel"] = frame["Via"].astype("str").where(frame["Via"].notna())
    tags = frame["Tags"].fillna("").astype("str").str.split() if "Tags" in headers else None
    for column, rule in mapping.columns.items():
        if rule.kind == "tag_prefix":
            n = len(rule.source)
            t[f"src:{column}"] = tags.map(lambda ts, p=rule.source, n=n: next(
                (x[n:] for x in ts if x.startswith(p)), None))
        elif rule.kind == "column":
            t[f"src:{column}"] = frame[rule.source]
    replies = pd.to_numeric(frame["Replies"], errors="coerce")
    reopens = pd.to_numeric(frame["Reopens"], errors="coerce")
    has_metrics = replies.notna() & reopens.notna()
    t["v:n_interactions"] = np.maximum(replies.fillna(0).to_numpy(), 1)
    t["v:resolved_first_contact"] = ((reopens.fillna(0) == 0) & (replies.fillna(0) <= 1)).to_numpy()
    vendor_columns = {
        "n_interactions": ("Replies (public agent replies), at least 1", "derived"),
        "resolved_first_contact": ("Reopens == 0 and Replies <= 1 (solved with at most one public agent reply and "
                                   "never reopened)", "derived")}
    if "Group stations" in headers:
        t["v:escalated"] = (pd.to_numeric(frame["Group stations"], errors="coerce").fillna(1) > 1).to_numpy()
        vendor_columns["escalated"] = ("Group stations > 1 (the ticket passed through more than one group; a "
                                       "proxy for hand-over to a second-line team)", "derived")
    return t, has_metrics, vendor_columns


def _time_tracking(frame: pd.DataFrame, headers: list, mapping: Mapping, t: pd.DataFrame):
    """The rules, with the Time Tracking column for handle_time_sec when the mapping has none and the
    export has it; the optional columns the export does not have, and why."""
    rules = dict(mapping.columns)
    missing = {"credit_issued": "not recorded by Zendesk; map a column to import it"}
    if "handle_time_sec" not in rules:
        if TIME_TRACKING in headers:
            rules["handle_time_sec"] = ColumnRule("handle_time_sec", "column", TIME_TRACKING)
            t["src:handle_time_sec"] = frame[TIME_TRACKING]
        else:
            missing["handle_time_sec"] = (f"not recorded: no '{TIME_TRACKING}' column (Zendesk's Time Tracking app); "
                                          "map one to import it")
    return rules, missing


def _ratings(frame: pd.DataFrame, t: pd.DataFrame, name: str, report: ImportReport):
    """One rating per ticket offered a survey, from the Satisfaction Score column (Good, Bad, Offered;
    another value stops the import); which tickets were offered one."""
    raw_score = frame["Satisfaction Score"].astype("str").str.strip().str.lower().where(
        frame["Satisfaction Score"].notna())
    off = sorted(set(raw_score.dropna()) - set(SCORES))
    if off:
        raise ImportInputError(
            f"{name}: column 'Satisfaction Score': {', '.join(repr(v) for v in off[:5])} "
            f"{'is' if len(off) == 1 else 'are'} not Good, Bad, Offered or Not Offered", name)
    score = raw_score.map(SCORES)
    offered = score.isin(("offered", "good", "bad"))
    r = pd.DataFrame({
        "id": t["id"][offered], "ticket_id": t["id"][offered],
        "agent": pd.Series(pd.NA, index=t.index, dtype="str")[offered],
        "team": pd.Series(pd.NA, index=t.index, dtype="str")[offered],
        "csat": pd.array(score[offered].map(ZENDESK_LEGACY.vendor_codes), dtype="Int64"),
        "nps": pd.array([pd.NA] * int(offered.sum()), dtype="Int64"),
        "sent_at": t["closed"][offered],
        "responded_at": pd.Series(pd.NaT, index=t.index, dtype="datetime64[us]")[offered],
        "comment": pd.Series(pd.NA, index=t.index, dtype="str")[offered], "updated": t["updated"][offered],
    })
    report.read["surveys"] = int(offered.sum())
    n_not_offered = int((score == "unoffered").sum())
    if n_not_offered:
        report.facts["tickets_not_offered_a_survey"] = n_not_offered
    return r, offered


def _sources(name: str, zone: str) -> dict[str, str]:
    """Where each canonical column comes from, for the report."""
    return {
        "contacts.contact_id": f"{name}: Id",
        "contacts.opened_at": f"{name}: Created at ({zone} local time, converted to UTC)",
        "contacts.closed_at": f"{name}: Solved at ({zone} local time, converted to UTC)",
        "contacts.agent_id": (f"{name}: Assignee, a name, at export time (all {{rated}} rated and {{unrated}} "
                              "other contacts)"),
        "contacts.team": f"{name}: Group at export time",
        "contacts.channel": f"{name}: Via (labels), grouped (see channels)",
        "contacts.customer_id": f"{name}: Requester id",
        "surveys.contact_id": f"{name}: Id of tickets whose Satisfaction Score is Offered, Good or Bad",
        "surveys.sent_at": (f"{name}: Solved at (the CSV has no survey time; Zendesk sends the survey after the "
                            "solve)"),
        "surveys.responded_at": "not in the CSV export (empty; a Good or Bad score still counts as a reply)",
        "surveys.csat": f"{name}: Satisfaction Score; Bad = 1, Good = 2 (Offered = sent, no answer)"}


def _with_rules(mapping: Mapping, rules: dict) -> Mapping:
    from dataclasses import replace

    return replace(mapping, columns=rules)
