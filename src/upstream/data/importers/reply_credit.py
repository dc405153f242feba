"""Public agent replies -> the canonical ``contact_agents`` table (shared credit), for every vendor.

Each vendor's ``<vendor>_replies.py`` (``zendesk_comments.py`` for Zendesk) reads its export's
replies into rows of (contact_id, agent_id) -- one row per public reply by an agent, its own rule
for what counts written next to it -- and hands them here. The rule shared by all: a contact's
agents are the reply authors who are agents of the import (the agents table) on a contact of the
import; each agent's weight is its share of the contact's public agent replies
(``attribution: {rule: shared, weights: public_replies}``). A contact without such a reply is not
listed (the studies give it its rating-time agent with weight 1); ``contacts.agent_id`` stays the
vendor's rated agent.
"""
from __future__ import annotations

import pandas as pd

from .result import ImportResult
from .source import ids_as_text


def add_reply_credit(result: ImportResult, replies: pd.DataFrame, file: str, how: str, listed: str,
                     authors_are_agents: bool = True) -> ImportResult:
    """`result` with its contact_agents table (contact_id, agent_id, weight) from ``replies`` (columns
    contact_id, agent_id: one row per public agent reply, vendor ids), dataset.yaml's attribution rule
    ``shared`` (weights ``public_replies``) and the report's facts: how many contacts and rated contacts
    had more than one agent, and how the weights were formed (``file``: ``how``, e.g. "each agent's share of
    ..."). ``listed`` says whom contact_agents.csv lists, for dataset.yaml. Where the
    vendor marks the replies as agents' (``authors_are_agents``), replies by authors missing from the
    agents table are counted in a warning; otherwise (Zendesk's comments) they are end users. Without a single
    public agent reply on a contact of the import nothing is shared: `result` keeps rating-time attribution
    and the report says why."""
    text = pd.DataFrame({"contact_id": ids_as_text(replies["contact_id"].reset_index(drop=True)),
                         "agent_id": ids_as_text(replies["agent_id"].reset_index(drop=True))}).dropna()
    known = text["agent_id"].isin(set(result.agents["agent_id"].astype(str)))
    kept = text[known & text["contact_id"].isin(set(result.contacts["contact_id"].astype(str)))]
    counts = kept.groupby(["contact_id", "agent_id"], sort=False).size().rename("replies").reset_index()
    counts["weight"] = counts["replies"] / counts.groupby("contact_id")["replies"].transform("sum")
    table = counts[["contact_id", "agent_id", "weight"]].reset_index(drop=True)
    report = result.report
    if table.empty:
        report.warnings.append(f"{file}: no public agent reply on a contact of the import, so no contact_agents "
                               "table is written and ratings stay with the rating-time agent")
        return result
    weights = f"{file}: {how}"
    several = table.groupby("contact_id").size() > 1
    answered = set(result.surveys.loc[result.surveys["responded_at"].notna(), "contact_id"].astype(str))
    report.facts["contacts_with_several_agents"] = int(several.sum())
    report.facts["rated_contacts_with_several_agents"] = int(several[several.index.isin(answered)].sum())
    report.facts["contact_agents_weights"] = weights
    strangers = text.loc[~known, "agent_id"]
    if authors_are_agents and len(strangers):
        report.warnings.append(
            f"{len(strangers)} public agent replies are by authors who are not agents of the import (the agents "
            f"table); they do not count towards shared credit (authors {', '.join(strangers.unique()[:5])})")
    attribution = dict(result.dataset.get("attribution") or {})
    attribution.update(rule="shared", weights="public_replies",
                       description=(f"{attribution.get('description', '')} Shared credit: contact_agents.csv lists "
                                    f"{listed} ({weights}).").strip())
    result.dataset["attribution"] = attribution
    result.contact_agents = table
    return result
