"""From what a vendor importer extracted to the canonical tables, the data set's description and
the import report: the steps every vendor shares, each rule written into the report.

A vendor importer reads its files into two frames of vendor-neutral columns (an
:class:`Extract`) and hands them here:

``tickets`` (one row per ticket record, the latest copy of each ticket):
    ``id``, ``opened``, ``closed`` (datetime64, NaT when missing), ``assignee`` (the export-time
    assignee), ``team`` (export-time team name), ``requester``, ``channel`` (the raw vendor
    value), ``status``; ``src:<column>`` raw values for the mapping's rules (tags, custom fields,
    table columns); ``v:<column>`` vendor values of canonical columns (e.g. ``v:n_interactions``).
``ratings`` (one row per rating record):
    ``id``, ``ticket_id``, ``agent`` (the agent the rating belongs to: the rating-time assignee,
    the rated reply's author ..., or missing), ``team`` (team at rating time, or missing),
    ``csat`` (canonical code, Int64), ``nps`` (Int64), ``sent_at``, ``responded_at``,
    ``comment``, ``updated`` (to keep the latest of several records of one ticket).

Shared rules: one survey per ticket (the latest record); a rated ticket belongs to the rating's
agent and team, other tickets to the export-time assignee and team; tickets the vendor marks
deleted, unsolved ... are dropped by the importer's ``drops``, then tickets without an open or
close time, closed before opened, or without an agent; channels are grouped (``channels.py``);
``repeat_within_7d`` is derived (``derive.py``); the mapping's rules win over vendor values.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..frames import isin_text
from ..schema import SCHEMA
from .agents import agents_table
from .channels import map_channels
from .derive import repeat_within_7d
from .extract import Extract
from .mapped import mapped_values, typed_column
from .ratings import refuse_answered_without_score, refuse_unreadable_ratings
from .report import ImportReport
from .result import ImportResult
from .source import latest_rows, positions, take

UNKNOWN = "unknown"
VENDOR_NAMES = {"zendesk": "Zendesk", "freshdesk": "Freshdesk", "intercom": "Intercom", "helpscout": "Help Scout",
                "gorgias": "Gorgias", "csv": "the table"}
MONTH_DAYS = 30.4375
OPTIONAL = ("handle_time_sec", "n_interactions", "resolved_first_contact", "escalated", "credit_issued")
CATEGORIES = ("policy", "product", "issue_type")


def assemble(x: Extract) -> ImportResult:
    """The canonical tables, dataset.yaml and the report from an :class:`Extract`."""
    report = x.report
    t, rating = _tickets_and_ratings(x)
    rated, rating_agent = _attribute(x, t, rating)
    keep = _contacts_kept(x, t, rating, rated, rating_agent)
    alive = x.alive if x.alive is not None else pd.Series(True, index=t.index)
    c = t[keep].copy()
    contacts = _contacts(x, c, rated[keep])
    _repeats(x, t[alive], c, contacts)
    order = [col.name for col in SCHEMA["contacts"] if col.name in contacts.columns]
    contacts = contacts[order + [col for col in contacts.columns if col not in order]]
    contacts["agent_id_at_export"] = c["assignee"].astype("str").to_numpy()
    contacts["vendor_channel"] = c["channel"].astype("str").to_numpy()
    contacts["vendor_status"] = c["status"].astype("str").to_numpy()
    contacts = contacts.sort_values(["opened_at", "contact_id"], kind="stable").reset_index(drop=True)
    surveys = _surveys(x, rating, contacts)
    agents = agents_table(contacts, x.staff, x.exported_at, report, x.users_file, x.staff_team_source)
    _count_and_warn(x, contacts, surveys, agents)
    dataset = describe(x, contacts, surveys, agents)
    return ImportResult(contacts=contacts, surveys=surveys, agents=agents, dataset=dataset, report=report,
                        mapping_text=x.mapping_text)


def _tickets_and_ratings(x: Extract) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tickets, and their ratings: readable (else the import stops), attached to a ticket of the
    export, one per ticket (the latest record); the others are dropped with their reason."""
    report = x.report
    t = x.tickets.reset_index(drop=True)
    r = x.ratings.reset_index(drop=True)
    if "raw_csat" in r.columns:
        refuse_unreadable_ratings(r["raw_csat"], r["csat"], file=x.ratings_file, field=x.rating_field,
                                  not_answers=tuple(x.scale.not_answers) + tuple(x.rating_not_answers),
                                  expected=x.rating_expected, ids=r["id"])
    elif x.vendor != "csv" and not x.scale.not_answers:
        # without the raw values: an answered record (a response time) must have a score
        refuse_answered_without_score(r, file=x.ratings_file, field=x.rating_field)
    t["id"] = t["id"].astype("str")
    outside = ~isin_text(r["ticket_id"], t["id"])
    report.drop("surveys", f"its ticket is not in {x.tickets_file}", r.loc[outside, "id"])
    r = r[~outside]
    superseded = ~latest_rows(r["ticket_id"], r["updated"])
    report.drop("surveys", "an older rating record of a ticket that has a newer one", r.loc[superseded, "id"])
    rating = r[~superseded].reset_index(drop=True)
    return t, rating


def _attribute(x: Extract, t: pd.DataFrame, rating: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each ticket's agent and team: the rating's when it names them, else the assignee's (a rating
    credited to another agent without a team of its own: that agent's team). Adds ``agent`` and
    ``team_at_contact`` to ``t``; returns which tickets are rated and the rating's agent."""
    at = positions(t["id"], rating["ticket_id"])
    rated = pd.Series(at >= 0, index=t.index)
    rating_agent = take(rating["agent"], at).astype("str")
    rating_team = take(rating["team"], at).astype("str")
    t["agent"] = rating_agent.where(rating_agent.notna(), t["assignee"])
    t["team_at_contact"] = rating_team.where(rating_team.notna(), t["team"])
    # a rating without its own team, credited to another agent than the assignee: that agent's team
    if x.staff is not None and len(x.staff):
        staff_team = x.staff.dropna(subset=["id", "team"]).drop_duplicates("id").set_index("id")["team"]
        other_agent = rating_team.isna() & rating_agent.notna() & (rating_agent != t["assignee"])
        their_team = t["agent"].map(staff_team)
        use = other_agent & their_team.notna()
        t.loc[use, "team_at_contact"] = their_team[use]
    return rated, rating_agent


def _contacts_kept(x: Extract, t: pd.DataFrame, rating: pd.DataFrame, rated: pd.Series,
                   rating_agent: pd.Series) -> pd.Series:
    """Which tickets become contacts: the vendor's drops, then those without times, closed before
    opened, or without an agent, each reported with its reason; counts reassignments after a rating."""
    report = x.report
    keep = pd.Series(True, index=t.index)

    def drop(mask, reason: str) -> None:
        mask = pd.Series(np.asarray(mask, dtype=bool), index=t.index) & keep
        report.drop("contacts", reason, t.loc[mask, "id"])
        keep[mask] = False

    for mask, reason in x.drops:
        drop(mask, reason)
    drop(t["opened"].isna(), "no creation time (missing or not a date/time)")
    drop(t["closed"].isna(), "no close or solve time")
    drop(t["closed"] < t["opened"], "closed before it was opened")
    drop(t["agent"].isna(), f"no {x.agent_noun} (neither on the rating nor assigned)")
    reassigned = keep & rating_agent.notna() & t["assignee"].notna() & (rating_agent != t["assignee"])
    # when the ratings name no agent of their own (export-time assignee, a table's stated agent),
    # a reassignment after the rating cannot be seen at all
    visible = x.attribution_rule != "export_time_assignee" and bool(rating["agent"].notna().any())
    report.facts["reassigned_after_rating"] = int(reassigned.sum()) if visible else None
    report.facts["rated_contacts"] = int((keep & rated).sum())
    return keep


def _contacts(x: Extract, c: pd.DataFrame, rated: pd.Series) -> pd.DataFrame:
    """The contacts table's columns from the kept tickets ``c``: ids, times, agent and team, channel
    group, the mapped categories, customer and the optional columns, with their sources in the report."""
    report = x.report
    n = len(c)
    contacts = pd.DataFrame({
        "contact_id": c["id"].astype("str"),
        "opened_at": c["opened"].astype("datetime64[us]"),
        "closed_at": c["closed"].astype("datetime64[us]"),
        "agent_id": c["agent"].astype("str"),
        "team": c["team_at_contact"].fillna(UNKNOWN).astype("str"),
    })
    report.sources.update(x.sources)
    n_rated = int(rated.sum())
    agent_text = report.sources.get("contacts.agent_id", "")
    report.sources["contacts.agent_id"] = agent_text.format(rated=n_rated, unrated=n - n_rated)
    if c["team_at_contact"].isna().any():
        report.missing["contacts.team"] = (f"{int(c['team_at_contact'].isna().sum())} of {n} contacts have no "
                                           f"team; set to '{UNKNOWN}'")
    _channel_groups(x, c, contacts)
    rules = x.mapping.columns
    for column in CATEGORIES:
        if column in rules:
            contacts[column] = mapped_values(column, rules[column], c.get(f"src:{column}"), report, n).to_numpy()
        elif column in x.defaults:
            source_col, text = x.defaults[column]
            values = c[source_col].astype("str").where(c[source_col].notna())
            n_empty = int(values.isna().sum())
            contacts[column] = values.fillna(UNKNOWN).astype("str").to_numpy()
            report.sources[f"contacts.{column}"] = text
            if n_empty:
                report.missing[f"contacts.{column}"] = f"{n_empty} of {n} contacts have no value; set to '{UNKNOWN}'"
        else:
            contacts[column] = UNKNOWN
            report.sources[f"contacts.{column}"] = f"constant '{UNKNOWN}' (not mapped)"
            report.missing[f"contacts.{column}"] = (
                f"not in the export: every contact is '{UNKNOWN}'; map a tag prefix or a custom field "
                "to import it")
    if "team" in rules:
        contacts["team"] = mapped_values("team", rules["team"], c.get("src:team"), report, n).to_numpy()
    contacts["customer_id"] = c["requester"].fillna(UNKNOWN).astype("str").to_numpy()
    if c["requester"].isna().any():
        report.missing["contacts.customer_id"] = (f"{int(c['requester'].isna().sum())} of {n} contacts have no "
                                                  f"customer; set to '{UNKNOWN}'")
    _optional_columns(x, c, contacts)
    return contacts


def _channel_groups(x: Extract, c: pd.DataFrame, contacts: pd.DataFrame) -> None:
    """The contacts' channel groups; vendor values not known are put in 'other', with a warning."""
    report = x.report
    groups, table = map_channels(c["channel"], x.vendor, x.mapping.channels)
    contacts["channel"] = groups.to_numpy()
    report.channels = table
    unknown = [e for e in table if not e["known"]]
    if unknown:
        report.warnings.append(
            f"channel values {_not_known(x.vendor)} were put in 'other' (map them under `channels` in the mapping): "
            + ", ".join(f"{e['value']} ({e['contacts']})" for e in unknown))


def _optional_columns(x: Extract, c: pd.DataFrame, contacts: pd.DataFrame) -> None:
    """The optional canonical columns: the mapping's rule, else the vendor's value, else missing."""
    report, rules, n = x.report, x.mapping.columns, len(c)
    for column in OPTIONAL:
        if column in rules:
            values = mapped_values(column, rules[column], c.get(f"src:{column}"), report, n)
            if f"contacts.{column}" in x.sources:  # a vendor default rule says more than the bare rule
                report.sources[f"contacts.{column}"] = x.sources[f"contacts.{column}"]
        elif f"v:{column}" in c.columns:
            values = c[f"v:{column}"]
            text, how = x.vendor_columns[column]
            (report.derived if how == "derived" else report.sources)[f"contacts.{column}"] = text
        else:
            report.missing[f"contacts.{column}"] = x.missing.get(column, "not in this export")
            continue
        contacts[column] = typed_column(column, values)
        n_empty = int(pd.isna(contacts[column]).sum())
        if n_empty and f"contacts.{column}" not in report.missing:
            how = f" ({rules[column].describe()})" if column in rules else ""
            report.missing[f"contacts.{column}"] = f"{n_empty} of {n} contacts have no value{how}; left empty"


def _repeats(x: Extract, alive: pd.DataFrame, c: pd.DataFrame, contacts: pd.DataFrame) -> None:
    """``repeat_within_7d``: the same customer (and issue type, when the mapping says so) opened
    another ticket of ``alive`` within 7 days; empty when the 7 days run past the export."""
    report = x.report
    all_customer, all_opened = alive["requester"], alive["opened"]
    observed_until = all_opened.max()
    same_issue = x.mapping.repeat_same_issue_type
    all_issue = None
    if same_issue:
        all_issue = _issue_type_of(alive, x)
    contacts["repeat_within_7d"] = pd.array(repeat_within_7d(
        c["requester"], c["opened"], all_customer, all_opened, observed_until,
        issue=contacts["issue_type"] if same_issue else None, all_issue=all_issue).to_numpy(), dtype="boolean")
    report.derived["contacts.repeat_within_7d"] = (
        "the same customer opened another ticket (any status, not deleted or spam"
        + (", same issue type" if same_issue else "")
        + ") later and within 7 days (168 h); empty when none was seen and the 7 days run past the last "
        f"ticket opened in the export ({observed_until:%Y-%m-%dT%H:%M:%S})")
    n_censored = int(contacts["repeat_within_7d"].isna().sum())
    if n_censored:
        report.missing["contacts.repeat_within_7d"] = (
            f"{n_censored} contacts opened in the last 7 days of the export have no answer yet (empty)")


def _surveys(x: Extract, rating: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """The surveys table: the ratings of kept contacts that have a send time."""
    report = x.report
    s = rating
    on_dropped = ~isin_text(s["ticket_id"], contacts["contact_id"])
    report.drop("surveys", "its ticket was dropped (see the contacts' reasons)", s.loc[on_dropped, "id"])
    s = s[~on_dropped]
    no_time = s["sent_at"].isna()
    report.drop("surveys", "no send time (missing or not a date/time)", s.loc[no_time, "id"])
    s = s[~no_time]
    surveys = pd.DataFrame({
        "contact_id": s["ticket_id"].astype("str"),
        "sent_at": s["sent_at"].astype("datetime64[us]"),
        "responded_at": s["responded_at"].astype("datetime64[us]"),
        "csat": pd.array(s["csat"], dtype="Int64"),
        "nps": pd.array(s["nps"], dtype="Int64"),
        "comment": s["comment"].astype("str").where(s["comment"].notna()),
    }).sort_values(["sent_at", "contact_id"], kind="stable").reset_index(drop=True)
    if not x.nps_present:
        report.missing.setdefault("surveys.nps", f"{VENDOR_NAMES.get(x.vendor, x.vendor)} exports have no NPS question")
    return surveys


def _count_and_warn(x: Extract, contacts: pd.DataFrame, surveys: pd.DataFrame, agents: pd.DataFrame) -> None:
    """The report's rows read and kept, the reassignment warning, the attribution and the scale."""
    report = x.report
    report.read = {"contacts": x.read.get("contacts", len(x.tickets)), "surveys": x.read.get("surveys", len(x.ratings)),
                   "agents": x.read.get("agents", 0 if x.staff is None else len(x.staff))}
    report.kept = {"contacts": len(contacts), "surveys": len(surveys), "agents": len(agents)}
    moved = report.facts["reassigned_after_rating"]
    if moved:
        report.warnings.append(
            f"{moved} rated contacts were reassigned after the rating; they are attributed to the agent the rating "
            "belongs to (an export-time assignee would credit the later agent)")
    report.attribution = {"rule": x.attribution_rule, "description": x.attribution_description,
                          "reassigned_after_rating": moved}
    report.scale = x.scale.describe(x.scale_source)


def describe(x: Extract, contacts: pd.DataFrame, surveys: pd.DataFrame, agents: pd.DataFrame) -> dict:
    """dataset.yaml's content (data/README.md, "dataset.yaml")."""
    report = x.report
    columns = {}
    for table, frame in (("contacts", contacts), ("surveys", surveys), ("agents", agents)):
        missing = [c.name for c in SCHEMA[table] if c.optional and c.name not in frame.columns]
        partial = {c.name: report.missing.get(f"{table}.{c.name}", "empty for some rows")
                   for c in SCHEMA[table] if c.partial_ok and c.name in frame.columns and frame[c.name].isna().any()}
        derived = {k.split(".", 1)[1]: v for k, v in report.derived.items() if k.startswith(f"{table}.")}
        entry = {}
        if missing:
            entry["missing"] = missing
        if partial:
            entry["partial"] = partial
        if derived:
            entry["derived"] = derived
        if entry:
            columns[table] = entry
    moved = report.facts.get("reassigned_after_rating")
    return {
        "upstream_dataset": 1,
        "name": x.export.name if x.export.name else str(x.export),
        "source": {
            "vendor": x.vendor, "format": x.format, "exported_at": x.exported_at,
            "imported_at": pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s"),
            "importer": f"upstream.data.importers ({x.format})", "timezone": x.timezone,
            "files": [{"name": f.name, "bytes": f.bytes, "sha256": f.sha256} for f in report.files],
            "mapping": None if x.mapping.path is None else "mapping.yaml",
        },
        "period": {"first_opened_at": contacts["opened_at"].min(), "last_opened_at": contacts["opened_at"].max()},
        "attribution": {
            "rule": x.attribution_rule, "description": x.attribution_description,
            **({"reassigned_after_rating": int(moved)} if moved is not None else {}),
        },
        "csat": x.scale.describe(x.scale_source),
        "nps": {"present": bool(x.nps_present), "range": [0, 10]},
        "visibility": dict(x.visibility),
        **({"columns": columns} if columns else {}),
        "channel_groups": {e["value"]: {"group": e["group"], "contacts": e["contacts"],
                                        **({} if e["known"] else
                                           {"note": f"a channel value {_not_known(x.vendor)}"})}
                           for e in report.channels},
    }


def _not_known(vendor: str) -> str:
    """'not known for Zendesk', or for a table import 'not among the known channel names'."""
    if vendor == "csv":
        return "not among the known channel names"
    return f"not known for {VENDOR_NAMES.get(vendor, vendor)}"


def _issue_type_of(t: pd.DataFrame, x: Extract) -> pd.Series:
    rule = x.mapping.columns.get("issue_type")
    if rule is not None:
        return mapped_values("issue_type", rule, t.get("src:issue_type"), ImportReport(x.vendor, x.format, ""),
                             len(t))
    if "issue_type" in x.defaults:
        col = x.defaults["issue_type"][0]
        return t[col].astype("str").where(t[col].notna()).fillna(UNKNOWN)
    return pd.Series(UNKNOWN, index=range(len(t)))
