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

from .reply_credit import add_reply_credit
from .result import ImportResult


def add_contact_agents(result: ImportResult, comments: list[dict], file: str) -> ImportResult:
    """`result` with its contact_agents table (contact_id, agent_id, weight) from the comment records,
    dataset.yaml's attribution rule ``shared`` (weights ``public_replies``) and the report's facts: how
    many contacts and rated contacts had more than one agent, and how the weights were formed."""
    public = [c for c in comments if c.get("public") is True]
    replies = pd.DataFrame({"contact_id": pd.Series([c.get("ticket_id") for c in public], dtype="object"),
                            "agent_id": pd.Series([c.get("author_id") for c in public], dtype="object")})
    how = ("each agent's share of the contact's public comments by agents (end users' comments and "
               "internal notes do not count)")
    return add_reply_credit(result, replies, file, how, "every agent with public comments on a contact",
                            authors_are_agents=False)
