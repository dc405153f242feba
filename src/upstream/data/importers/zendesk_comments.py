"""Zendesk ticket comments -> the canonical ``contact_agents`` table (shared credit).

An optional ``ticket_comments.json`` in a Zendesk API export (wrapper key ``comments``) holds the
tickets' comments as the public connectors export them: tap-zendesk's ``ticket_comments`` stream and
Airbyte's source-zendesk-support add the ticket's ``ticket_id`` to each comment of
``GET /api/v2/tickets/{id}/comments`` (``id``, ``author_id``, ``public``, ``created_at``, ...).

Rule: a contact's agents are the authors of its public comments who are agents of the import (the
agents table: assignees, rating-time agents and users.json's agents); end users' and internal-note
authors do not count. Each agent's weight is its share of the contact's public agent comments
(``attribution: {rule: shared, weights: public_replies}``). A contact whose comments name no agent
is not listed (the studies give it its rating-time agent with weight 1).
"""
from __future__ import annotations

import pandas as pd

from .result import ImportResult


def add_contact_agents(result: ImportResult, comments: list[dict], file: str) -> ImportResult:
    """`result` with its contact_agents table (contact_id, agent_id, weight) from the comment records,
    dataset.yaml's attribution rule ``shared`` (weights ``public_replies``) and the report's facts: how
    many contacts and rated contacts had more than one agent, and how the weights were formed."""
    rows = pd.DataFrame({"ticket_id": [c.get("ticket_id") for c in comments],
                         "author_id": [c.get("author_id") for c in comments],
                         "public": [c.get("public") is True for c in comments]}).dropna(subset=["ticket_id",
                                                                                               "author_id"])
    text = pd.DataFrame({"contact_id": rows["ticket_id"].astype("int64").astype(str),
                         "agent_id": rows["author_id"].astype("int64").astype(str), "public": rows["public"]})
    kept = text[text["public"] & text["agent_id"].isin(set(result.agents["agent_id"].astype(str)))
                & text["contact_id"].isin(set(result.contacts["contact_id"].astype(str)))]
    counts = kept.groupby(["contact_id", "agent_id"], sort=False).size().rename("replies").reset_index()
    counts["weight"] = counts["replies"] / counts.groupby("contact_id")["replies"].transform("sum")
    table = counts[["contact_id", "agent_id", "weight"]].reset_index(drop=True)
    several = table.groupby("contact_id").size() > 1
    answered = set(result.surveys.loc[result.surveys["responded_at"].notna(), "contact_id"].astype(str))
    weights = (f"{file}: each agent's share of the contact's public comments by agents (end users' comments and "
               "internal notes do not count)")
    facts = result.report.facts
    facts["contacts_with_several_agents"] = int(several.sum())
    facts["rated_contacts_with_several_agents"] = int(several[several.index.isin(answered)].sum())
    facts["contact_agents_weights"] = weights
    attribution = dict(result.dataset.get("attribution") or {})
    attribution.update(rule="shared", weights="public_replies",
                       description=(f"{attribution.get('description', '')} Shared credit: contact_agents.csv lists "
                                    f"every agent with public comments on a contact ({weights}).").strip())
    result.dataset["attribution"] = attribution
    result.contact_agents = table
    return result
