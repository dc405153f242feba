"""The agents table of an import: every staff member the export lists and every agent a contact
names, with their team and (where the export has creation dates) tenure."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .derive import to_utc_naive
from .report import ImportReport

UNKNOWN = "unknown"
MONTH_DAYS = 30.4375


def agents_table(contacts: pd.DataFrame, staff: pd.DataFrame | None, exported_at: pd.Timestamp,
                 report: ImportReport, users_file: str | None, team_source: str) -> pd.DataFrame:
    """Every staff member and every agent a contact names. ``team``: the staff team, else the
    agent's most frequent contact team (ties: alphabetical); ``tenure_months``: months of 30.4375
    days from the account's creation to the export time (a stand-in for the start date);
    ``site`` is not recorded by helpdesks (missing)."""
    staff = staff if staff is not None else pd.DataFrame(columns=["id", "team", "created_at"])
    staff = staff.dropna(subset=["id"]).drop_duplicates("id", keep="last").set_index("id")
    counts = contacts.groupby(["agent_id", "team"]).size().reset_index(name="n")
    counts = counts.sort_values(["agent_id", "n", "team"], ascending=[True, False, True], kind="stable")
    main_team = counts.drop_duplicates("agent_id").set_index("agent_id")["team"]
    named = pd.Index(contacts["agent_id"].unique(), dtype="str")
    known = pd.Index(staff.index.astype("str"), dtype="str")
    ids = named.union(known).sort_values()
    staff_team = staff["team"].reindex(ids) if len(staff) else pd.Series(np.nan, index=ids)
    staff_team = staff_team.where(staff_team.astype("str").str.len() > 0) if len(staff) else staff_team
    team = staff_team.where(staff_team.notna(), main_team.reindex(ids)).fillna(UNKNOWN)
    agents = pd.DataFrame({"agent_id": pd.array(ids, dtype="str"), "team": pd.array(team.to_numpy(), dtype="str")})
    not_in_users = list(named.difference(known).sort_values())
    report.sources["agents.agent_id"] = (f"{users_file}: the agents, and every agent a contact names" if users_file
                                         else "every agent a contact names")
    report.sources["agents.team"] = (f"{team_source}, else the agent's most frequent contact team" if team_source
                                     else "the agent's most frequent contact team")
    has_created = len(staff) and "created_at" in staff.columns and staff["created_at"].notna().any()
    if has_created and exported_at is not None and pd.notna(exported_at):
        created, _bad = to_utc_naive(staff["created_at"].reindex(ids))
        months = ((exported_at - created) / pd.Timedelta(days=1) / MONTH_DAYS).round(1)
        agents["tenure_months"] = months.clip(lower=0).to_numpy(dtype="float64")
        report.derived["agents.tenure_months"] = (
            f"months (30.4375 days) from {users_file} created_at to the export time "
            f"({exported_at:%Y-%m-%dT%H:%M:%S}); the account's creation date stands in for the start date")
        if agents["tenure_months"].isna().any():
            report.missing["agents.tenure_months"] = (f"{int(agents['tenure_months'].isna().sum())} agents are not in "
                                                      f"{users_file}; left empty")
    else:
        report.missing["agents.tenure_months"] = "the export has no agent start or creation dates"
    report.missing["agents.site"] = "not recorded by the helpdesk"
    if not_in_users and users_file:
        report.warnings.append(f"agents named by contacts but not in {users_file} (team from their contacts, "
                               "tenure unknown): " + ", ".join(not_in_users[:10]))
    return agents
