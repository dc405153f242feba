"""Helpers shared by the vendor importers: ids as text, mapped columns, the agents table."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .derive import to_utc_naive
from .mapping import MAPPABLE, ColumnRule, Mapping, load_mapping
from .report import ImportReport

UNKNOWN = "unknown"
MONTH_DAYS = 30.4375


def mapping_and_text(mapping: Mapping | str | Path | None) -> tuple[Mapping, str | None]:
    """A parsed mapping and, when it came from a file, its text (copied beside the output)."""
    if isinstance(mapping, Mapping):
        return mapping, None
    text = Path(mapping).read_text(encoding="utf-8") if mapping is not None and Path(mapping).is_file() else None
    return load_mapping(mapping), text


def mapped_column(column: str, rule: ColumnRule | None, c: pd.DataFrame, report: ImportReport) -> pd.Series:
    """Values of the canonical ``column`` for the contact rows ``c`` under ``rule``.

    ``c`` holds the raw extracted source values in columns ``tag:<column>`` (first tag with the
    rule's prefix, prefix removed) or ``field:<column>`` (the custom field's value). Categorical
    columns get ``default`` (else ``unknown``) where empty; numbers stay empty; every gap is
    written into ``report.missing``.
    """
    kind = MAPPABLE[column]
    n = len(c)
    if rule is None:
        report.missing[f"contacts.{column}"] = (
            f"not in the export: every contact is '{UNKNOWN}'; map a tag prefix or a custom field "
            f"to import it")
        report.sources[f"contacts.{column}"] = f"constant '{UNKNOWN}' (not mapped)"
        return pd.Series(UNKNOWN, index=c.index)
    report.sources[f"contacts.{column}"] = rule.describe()
    if rule.kind == "value":
        value = rule.source
        return pd.Series([value] * n, index=c.index, dtype="object" if kind != "number" else "float64")
    raw = c[f"tag:{column}" if rule.kind == "tag_prefix" else f"field:{column}"]
    if kind == "bool":
        if rule.kind == "tag_prefix":
            return raw.notna()
        text = raw.astype("str").str.strip().str.lower().where(raw.notna())
        return text.isin(["true", "1", "yes"])
    values = raw.map(field_text)
    empty = values.isna() | (values == "")
    if rule.map:
        passed = sorted(set(values[~empty]) - set(rule.map))
        values = values.map(lambda v: rule.map.get(v, v) if isinstance(v, str) else v)
        if passed and kind == "category":
            report.sources[f"contacts.{column}"] += ("; values not in the map kept as they are: "
                                                     + ", ".join(passed[:10]))
    if kind == "number":
        numbers = pd.to_numeric(values.where(~empty), errors="coerce").astype("float64")
        not_number = ~empty & numbers.isna()
        if not_number.any():
            report.warnings.append(f"{column}: {int(not_number.sum())} values are not numbers and were "
                                   f"left empty (e.g. {values[not_number].iloc[0]!r})")
        if rule.default is not None:
            numbers = numbers.fillna(float(rule.default))
        n_empty = int(numbers.isna().sum())
        if n_empty:
            report.missing[f"contacts.{column}"] = (
                f"{n_empty} of {n} contacts have no value ({rule.describe()}); left empty")
        return numbers
    default = UNKNOWN if rule.default is None else str(rule.default)
    n_empty = int(empty.sum())
    if n_empty:
        report.missing[f"contacts.{column}"] = (
            f"{n_empty} of {n} contacts have no value ({rule.describe()}); set to '{default}'")
    return values.where(~empty, default).astype("str")


def field_text(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def agents_table(contacts: pd.DataFrame, staff: pd.DataFrame, exported_at: pd.Timestamp,
                 report: ImportReport, users_file: str, team_source: str) -> pd.DataFrame:
    """The agents table: every staff member (``staff``: columns ``id``, ``team`` -- a name or
    missing -- and ``created_at``) and every agent a contact names. ``team``: the staff team, else
    the agent's most frequent contact team (ties: alphabetical); ``tenure_months``: months of
    30.4375 days from ``created_at`` to ``exported_at``; ``site`` is not recorded by helpdesks."""
    staff = staff.drop_duplicates("id", keep="last").set_index("id")
    ids = sorted(set(staff.index.dropna()) | set(contacts["agent_id"]))
    counts = contacts.groupby(["agent_id", "team"]).size().reset_index(name="n")
    counts = counts.sort_values(["agent_id", "n", "team"], ascending=[True, False, True], kind="stable")
    main_team = counts.drop_duplicates("agent_id").set_index("agent_id")["team"]
    created, _ = to_utc_naive(staff["created_at"]) if len(staff) else (pd.Series(dtype="datetime64[us]"), None)
    teams, tenure = [], []
    for agent in ids:
        team = staff["team"].get(agent) if agent in staff.index else None
        if isinstance(team, str) and team:
            teams.append(team)
        elif agent in main_team.index:
            teams.append(main_team[agent])
        else:
            teams.append(UNKNOWN)
        start = created.get(agent) if agent in staff.index else None
        tenure.append(round((exported_at - start) / pd.Timedelta(days=1) / MONTH_DAYS, 1)
                      if start is not None and pd.notna(start) else np.nan)
    agents = pd.DataFrame({"agent_id": pd.array(ids, dtype="str"), "team": pd.array(teams, dtype="str"),
                           "tenure_months": np.array(tenure, dtype="float64")})
    not_in_users = sorted(set(contacts["agent_id"]) - set(staff.index))
    report.sources["agents.agent_id"] = f"{users_file}: agents, and every agent a contact names"
    report.sources["agents.team"] = f"{team_source}, else the agent's most frequent contact team"
    report.derived["agents.tenure_months"] = (
        f"months (30.4375 days) from {users_file} created_at to the export time "
        f"({exported_at:%Y-%m-%dT%H:%M:%S}); the account's creation date stands in for the start date")
    report.missing["agents.site"] = "not recorded by the helpdesk"
    if not_in_users:
        report.warnings.append(f"agents named by contacts but not in {users_file} (team from their contacts, "
                               "tenure unknown): " + ", ".join(not_in_users[:10]))
        report.missing["agents.tenure_months"] = f"{len(not_in_users)} agents are not in {users_file}"
    return agents


def isin_ids(values: pd.Series, pool) -> pd.Series:
    """Membership test of text ids, via a hash index (pandas' isin on Arrow strings with a Python
    set is slow)."""
    index = pd.Index(pd.Series(pool, dtype="object").dropna().unique())
    return pd.Series(index.get_indexer(values.astype("object")) >= 0, index=values.index)


def int_id(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def text_id(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def id_text(values: pd.Series) -> pd.Series:
    """Vendor ids (ints or strings) as text; missing stays missing."""
    return pd.Series([text_id(v) for v in values], index=values.index, dtype="object").astype("str").where(
        values.notna().to_numpy())
