"""Any table (CSV, or Parquet) with one row per contact -> canonical contacts, surveys and agents.

``upstream import csv tickets.csv --mapping mapping.yaml`` with ``vendor: csv``. Each canonical
column comes from a ``column:`` rule (or ``value:``, ``tag_prefix:`` over a ``tags`` column,
with ``map:`` and ``default:``); without a rule, a column with the canonical name is used, then
the names of Fivetran's dbt_zendesk models (``zendesk__ticket_metrics``,
``zendesk__ticket_enriched``), which is how many teams hold Zendesk data in a warehouse:

| canonical | table column (first found) |
|---|---|
| contact_id | contact_id, ticket_id |
| opened_at | opened_at, created_at |
| closed_at | closed_at, last_solved_at, solved_at |
| agent_id | agent_id, assignee_id |
| team | team, group_name |
| channel | channel, created_channel |
| customer_id | customer_id, requester_id |
| csat | csat, ticket_satisfaction_score |
| n_interactions | n_interactions, total_agent_replies |
| resolved_first_contact | resolved_first_contact, is_one_touch_resolution |

Rules: rows without an open or close time, or an agent, are dropped (reported); a row becomes a
survey when it has ``sent_at``, a ``csat`` or an ``nps`` value (``sent_at`` = ``closed_at`` when
the table has no send time, stated in the report). The CSAT scale is the mapping's
``csat: {points, labels, codes, top_box}``; Zendesk's good/bad words need no statement; other
values without a stated scale stop the import rather than guess. Attribution is the mapping's
``attribution.rule`` (default ``stated``); the dbt models' ``assignee_id`` is the assignee at
export time and is recorded as such. Times are ISO 8601 (an offset is honoured; otherwise the
mapping's ``timezone``) or the mapping's ``date_format``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .assemble import Extract, assemble
from .errors import ImportInputError
from .mapping import TABLE_COLUMNS, ColumnRule, Mapping
from .report import ImportReport
from .result import ImportResult
from .scales import ZENDESK_LEGACY, declared_scale
from .source import file_info, local_to_utc, mapping_and_text

VENDOR = "csv"
FORMAT = "table"
ALIASES = {
    "contact_id": ("contact_id", "ticket_id"), "opened_at": ("opened_at", "created_at"),
    "closed_at": ("closed_at", "last_solved_at", "solved_at"), "agent_id": ("agent_id", "assignee_id"),
    "team": ("team", "group_name"), "channel": ("channel", "created_channel"),
    "customer_id": ("customer_id", "requester_id"), "csat": ("csat", "ticket_satisfaction_score"),
    "n_interactions": ("n_interactions", "total_agent_replies"),
    "resolved_first_contact": ("resolved_first_contact", "is_one_touch_resolution"),
}
DBT_MARKERS = ("ticket_satisfaction_score", "is_one_touch_resolution", "total_agent_replies", "last_solved_at")
REQUIRED = ("contact_id", "opened_at", "closed_at", "agent_id")
TAG_COLUMNS = ("tags", "ticket_tags")


def import_table(export: str | Path, mapping: Mapping | str | Path | None = None) -> ImportResult:
    """Import one table of contacts; see the module docstring."""
    path = Path(export)
    name = path.name
    mapping, mapping_text = mapping_and_text(mapping)
    mapping.check_vendor(VENDOR)
    if not path.is_file():
        raise ImportInputError(f"{name}: expected one table file (.csv, .csv.gz or .parquet) with one row per contact",
                               name)
    frame = _read(path)
    headers = [str(c) for c in frame.columns]
    rules, aliased = _column_rules(mapping, headers, name)
    if len(frame) == 0:
        raise ImportInputError(f"{name}: the table has no rows (a header only); expected one row per contact", name)
    dbt = any(h in headers for h in DBT_MARKERS)
    report = ImportReport(vendor=VENDOR, format=FORMAT, export=str(path))
    report.files.append(file_info(path))
    zone = mapping.timezone or "UTC"
    cols = _TableColumns(frame, headers, rules, zone, name, mapping.date_format)
    t = _tickets(cols, frame, headers, rules)
    duplicated = t["id"].duplicated(keep="last") & t["id"].notna()
    for column in FILLABLE:
        if column in rules:
            t[f"src:{column}"] = cols.raw(column)
    fillable = {c: r for c, r in rules.items() if c in FILLABLE}
    rule_name, description = _attribution(mapping, dbt, aliased, rules)
    scale, r, offered, answered = _ratings(cols, t, mapping, rules, duplicated)
    staff = None
    if "site" in rules or "tenure_months" in rules:
        staff = pd.DataFrame({"id": t["assignee"], "team": t["team"]}).dropna(subset=["id"])
    sources = _sources(name, rules, scale)
    if dbt:
        report.warnings.append("the table has the columns of Fivetran's dbt_zendesk models: their satisfaction "
                               "score is the latest one and their assignee_id the assignee at export time")
    if rule_name == "export_time_assignee":
        report.warnings.append("ratings are attributed to the assignee at export time: a rating given before a "
                               "reassignment is credited to the later agent")
    visibility = _visibility(mapping, offered, answered, report)
    x = Extract(
        vendor=VENDOR, format=FORMAT, export=path, tickets_file=name, ratings_file=name, tickets=t, ratings=r,
        scale=scale, scale_source="the mapping (csat)" if mapping.csat_points else None,
        mapping=_with_rules(mapping, fillable), report=report, exported_at=t["closed"].max(),
        attribution_rule=rule_name, attribution_description=description,
        drops=[(duplicated, "a later row has the same contact_id")], sources=sources,
        missing={c: "not in the table; map a column to import it" for c in
                 ("handle_time_sec", "n_interactions", "resolved_first_contact", "escalated", "credit_issued")},
        nps_present="nps" in rules, staff=staff, users_file=None,
        read={"contacts": len(frame), "surveys": int(offered.sum()), "agents": 0},
        timezone=zone, mapping_text=mapping_text, visibility=visibility)
    result = assemble(x)
    if staff is not None:
        _agent_columns(result, frame, t, rules, name)
        result.dataset = _redescribe(x, result)
    return result


#: Columns the mapping may fill from the table (as ``src:<column>``, typed by ``assemble``).
FILLABLE = ("team", "policy", "product", "issue_type", "handle_time_sec", "credit_issued", "escalated",
            "resolved_first_contact", "n_interactions")


def _column_rules(mapping: Mapping, headers: list[str], name: str) -> tuple[dict[str, ColumnRule], dict[str, str]]:
    """Each canonical column's rule: the mapping's (checked against the table's headers), else a
    header of the column's name or a known alias; the aliased ones separately. A required column
    without either stops the import."""
    rules: dict[str, ColumnRule] = {}
    for column, rule in mapping.columns.items():
        if rule.kind == "field":
            raise ImportInputError(f"{mapping.name}: columns.{column}: a table has columns, not custom fields; use "
                                   f"{column}: {{column: ...}}", mapping.name)
        if rule.kind == "column" and rule.source not in headers:
            raise ImportInputError(
                f"{mapping.name}: columns.{column}: no column {rule.source!r} in {name}; its columns are "
                f"{', '.join(repr(h) for h in headers)}", mapping.name)
        if rule.kind == "tag_prefix" and not any(h in headers for h in TAG_COLUMNS):
            raise ImportInputError(f"{mapping.name}: columns.{column}: tag_prefix reads a 'tags' (or dbt "
                                   f"'ticket_tags') column, which {name} does not have", mapping.name)
        rules[column] = rule
    aliased = {}
    for column in TABLE_COLUMNS:
        if column in rules:
            continue
        found = next((h for h in ALIASES.get(column, (column,)) if h in headers), None)
        if found is not None:
            rules[column] = ColumnRule(column, "column", found)
            aliased[column] = found
    missing = [c for c in REQUIRED if c not in rules]
    if "customer_id" not in rules and "repeat_within_7d" not in rules:
        missing.append("customer_id")
    if missing:
        raise ImportInputError(
            f"{name}: no column for {', '.join(missing)}; name {'them' if len(missing) > 1 else 'it'} in the mapping "
            f"(columns: {{{missing[0]}: {{column: ...}}}}); the table's columns are "
            f"{', '.join(repr(h) for h in headers[:15])}{', ...' if len(headers) > 15 else ''}", name)
    return rules, aliased


class _TableColumns:
    """A canonical column's values read from the table by its rule: the column, a constant, or the
    first tag with the rule's prefix (``raw``); as trimmed text, empty as missing (``text``); as UTC
    times from the account's zone (``times``)."""

    def __init__(self, frame: pd.DataFrame, headers: list[str], rules: dict, zone: str, name: str,
                 date_format: str | None):
        self.frame, self.headers, self.rules, self.zone, self.name = frame, headers, rules, zone, name
        self.date_format = date_format

    def raw(self, column: str) -> pd.Series:
        frame, rule = self.frame, self.rules[column]
        if rule.kind == "column":
            return frame[rule.source]
        if rule.kind == "value":
            return pd.Series(str(rule.source), index=frame.index)
        n = len(rule.source)
        tag_column = next(h for h in TAG_COLUMNS if h in self.headers)
        tags = frame[tag_column].fillna("").astype("str").str.replace(",", " ").str.split()
        return tags.map(lambda ts, p=rule.source, n=n: next((x[n:] for x in ts if x.startswith(p)), None))

    def text(self, column: str) -> pd.Series:
        values = self.raw(column).astype("str").str.strip()
        return values.where(values.notna() & (values != ""))

    def times(self, column: str) -> pd.Series:
        source = self.rules[column].source if self.rules[column].kind == "column" else column
        return local_to_utc(self.raw(column), self.zone, self.name, str(source), self.date_format)


def _tickets(cols: _TableColumns, frame: pd.DataFrame, headers: list[str], rules: dict) -> pd.DataFrame:
    """The rows as ``assemble``'s tickets: id, times, agent, team, customer, channel and status."""
    text, times = cols.text, cols.times
    t = pd.DataFrame({"id": text("contact_id")})
    t["opened"], t["closed"] = times("opened_at"), times("closed_at")
    t["updated"] = t["closed"]
    t["assignee"] = text("agent_id")
    t["team"] = text("team") if "team" in rules else pd.Series(pd.NA, index=frame.index, dtype="str")
    t["requester"] = text("customer_id") if "customer_id" in rules else pd.Series(pd.NA, index=frame.index, dtype="str")
    t["channel"] = text("channel") if "channel" in rules else pd.Series(pd.NA, index=frame.index, dtype="str")
    t["status"] = (frame["status"].astype("str").str.lower() if "status" in headers
                   else pd.Series(pd.NA, index=frame.index, dtype="str"))
    return t


def _attribution(mapping: Mapping, dbt: bool, aliased: dict, rules: dict) -> tuple[str, str]:
    """Whom a rating belongs to: the mapping's rule, else the assignee at export time for dbt models'
    assignee_id, else as the table states it; and the sentence that says so."""
    rule_name = mapping.attribution_rule or ("export_time_assignee" if dbt and aliased.get("agent_id") == "assignee_id"
                                             else "stated")
    agent_col = rules["agent_id"].source
    descriptions = {
        "stated": f"agent_id is the table's column {agent_col!r}; the table does not say whether it is the agent at "
                  "rating time",
        "export_time_assignee": (f"agent_id is the table's {agent_col!r}, the assignee when the data was exported "
                                 "(dbt_zendesk documents assignee_id as the agent currently assigned): a rating given "
                                 "before a reassignment is credited to the later agent"),
    }
    description = mapping.attribution_description or descriptions.get(
        rule_name, f"agent_id is the table's column {agent_col!r} ({rule_name})")
    return rule_name, description


def _ratings(cols: _TableColumns, t: pd.DataFrame, mapping: Mapping, rules: dict, duplicated: pd.Series):
    """The scale, the rows that were surveyed as ``assemble``'s ratings (a CSAT or NPS value or a send
    time; the last row of a repeated contact_id), which rows were surveyed and which answered."""
    text, times, frame, name = cols.text, cols.times, cols.frame, cols.name
    scale, csat_codes = _scale(mapping, text("csat") if "csat" in rules else None, name, rules)
    sent = times("sent_at") if "sent_at" in rules else None
    responded = times("responded_at") if "responded_at" in rules else pd.Series(pd.NaT, index=frame.index,
                                                                               dtype="datetime64[us]")
    nps = pd.to_numeric(text("nps"), errors="coerce") if "nps" in rules else pd.Series(float("nan"), index=frame.index)
    if "nps" in rules:
        bad_nps = text("nps").notna() & ~nps.isin(range(11))
        if bad_nps.any():
            raise ImportInputError(f"{name}: column {rules['nps'].source!r}: NPS must be a whole number 0 to 10; found "
                                   f"{', '.join(repr(v) for v in text('nps')[bad_nps].unique()[:5])}", name)
    csat_values = csat_codes if csat_codes is not None else pd.Series(pd.NA, index=frame.index, dtype="Int64")
    offered = pd.Series(False, index=frame.index)
    if csat_codes is not None and "csat" in rules:
        offered |= text("csat").notna() & ~text("csat").str.lower().isin(["unoffered", "not offered"])
    offered |= nps.notna()
    if sent is not None:
        offered |= sent.notna()
    r = pd.DataFrame({
        "id": t["id"], "ticket_id": t["id"], "agent": pd.Series(pd.NA, index=frame.index, dtype="str"),
        "team": pd.Series(pd.NA, index=frame.index, dtype="str"), "csat": pd.array(csat_values, dtype="Int64"),
        "nps": pd.array(nps.round(), dtype="Int64"),
        "sent_at": sent if sent is not None else t["closed"], "responded_at": responded,
        "comment": text("comment") if "comment" in rules else pd.Series(pd.NA, index=frame.index, dtype="str"),
        "updated": t["closed"]})[offered & ~duplicated]
    return scale, r, offered, csat_values.notna() | nps.notna()


def _sources(name: str, rules: dict, scale) -> dict[str, str]:
    """Where the contacts' and surveys' columns come from, for the report."""
    agent_col = rules["agent_id"].source
    sources = {f"contacts.{c}": f"{name}: column {r_.source!r}" for c, r_ in rules.items()
               if r_.kind == "column" and c in ("contact_id", "opened_at", "closed_at", "channel", "customer_id")}
    sources["contacts.agent_id"] = f"{name}: column {agent_col!r} ({{rated}} rated and {{unrated}} other contacts)"
    sources["surveys.sent_at"] = (f"{name}: column {rules['sent_at'].source!r}" if "sent_at" in rules else
                                  f"{name}: the close time (the table has no survey send time)")
    if "csat" in rules:
        sources["surveys.csat"] = f"{name}: column {rules['csat'].source!r} on the {scale.name}"
    return sources


def _agent_columns(result: ImportResult, frame: pd.DataFrame, t: pd.DataFrame, rules: dict, name: str) -> None:
    """The agents' site and tenure from each agent's last row of the table."""
    report = result.report
    per_agent = frame.assign(_agent=t["assignee"]).dropna(subset=["_agent"]).drop_duplicates("_agent", keep="last")
    per_agent = per_agent.set_index("_agent")
    for column in ("site", "tenure_months"):
        if column in rules:
            values = per_agent[rules[column].source].reindex(result.agents["agent_id"]).to_numpy()
            result.agents[column] = (pd.to_numeric(pd.Series(values), errors="coerce").to_numpy()
                                     if column == "tenure_months" else pd.array(values, dtype="str"))
            report.sources[f"agents.{column}"] = f"{name}: column {rules[column].source!r} (the agent's last row)"
            report.missing.pop(f"agents.{column}", None)


def _visibility(mapping: Mapping, surveyed: pd.Series, answered: pd.Series, report: ImportReport) -> dict:
    """What the table shows of the survey process: the mapping's ``visibility`` when stated, else read
    from the rows. A table whose every surveyed row is answered cannot show unanswered invitations, and
    one whose every row is surveyed cannot show contacts never surveyed (an export of rated tickets):
    the studies then skip the response and invitation screens instead of reading 100% as a rate."""
    if mapping.visibility is not None:
        shown = {"unanswered_invitations": True, "uninvited_contacts": True, **mapping.visibility}
        return {**shown, "note": "as the mapping states (visibility)"}
    shown = {"unanswered_invitations": bool((surveyed & ~answered).any()),
             "uninvited_contacts": bool((~surveyed).any())}
    hidden = [what for what, key in (("unanswered surveys", "unanswered_invitations"),
                                     ("contacts that were never surveyed", "uninvited_contacts")) if not shown[key]]
    if not hidden:
        return shown
    note = (f"the table has no {' and no '.join(hidden)}: it cannot show "
            f"{'response rates' if not shown['unanswered_invitations'] else ''}"
            f"{' or ' if len(hidden) == 2 else ''}"
            f"{'invitation rates' if not shown['uninvited_contacts'] else ''} (state `visibility` in the mapping "
            "if it does)")
    report.warnings.append(note)
    return {**shown, "note": note}


def _redescribe(x: Extract, result: ImportResult) -> dict:
    from .assemble import describe

    return describe(x, result.contacts, result.surveys, result.agents)


def _read(path: Path) -> pd.DataFrame:
    name = path.name
    try:
        if name.lower().endswith(".parquet"):
            frame = pd.read_parquet(path)
            return frame.astype("str").where(frame.notna())
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                           compression="infer")
    except UnicodeDecodeError as err:
        raise ImportInputError(f"{name}: not UTF-8 text (byte {err.start}); save the table as UTF-8 CSV", name) from err
    except pd.errors.EmptyDataError as err:
        raise ImportInputError(f"{name}: the file is empty; expected a header row, then one row per contact",
                               name) from err
    except Exception as err:  # noqa: BLE001 - any reader error: the file is not a readable table
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ImportInputError(f"{name}: not a readable table ({reason}); expected CSV (UTF-8, header row) or "
                               "Parquet", name) from err


def _scale(mapping: Mapping, values: pd.Series | None, name: str, rules: dict):
    """The table's CSAT scale and the canonical codes of its values."""
    if mapping.csat_points:
        scale = declared_scale(mapping.csat_points, mapping.csat_labels, mapping.csat_codes, mapping.csat_top_box,
                               f"{mapping.csat_points}-point scale stated in the mapping")
    else:
        scale = None
    if values is None:
        return scale or ZENDESK_LEGACY, None
    given = values.dropna()
    lowered = given.str.lower()
    if scale is None:
        words = set(ZENDESK_LEGACY.vendor_codes) | set(ZENDESK_LEGACY.not_answers)
        if len(given) and lowered.isin(words).all():
            scale = ZENDESK_LEGACY
        else:
            shown = ", ".join(repr(v) for v in list(dict.fromkeys(given))[:5])
            raise ImportInputError(
                f"{name}: column {rules['csat'].source!r}: the CSAT scale is not stated (values such as {shown}); add "
                "csat: {points: 5} (with labels, codes for words, and top_box) to the mapping", name)
    codes, off = scale.codes_of(given)
    if off:
        raise ImportInputError(
            f"{name}: column {rules['csat'].source!r}: {', '.join(repr(v) for v in off[:5])} "
            f"{'is' if len(off) == 1 else 'are'} not on the {scale.name} (codes 1 to {scale.points}"
            + (f"; words {', '.join(k for k in scale.vendor_codes if not k.isdigit())}" if any(
                not k.isdigit() for k in scale.vendor_codes) else "") + ")", name)
    out = pd.Series(pd.NA, index=values.index, dtype="Int64")
    out[given.index] = pd.array(codes, dtype="Int64")
    return scale, out


def _with_rules(mapping: Mapping, rules: dict) -> Mapping:
    from dataclasses import replace

    return replace(mapping, columns=rules)
