"""Freshdesk ticket conversations -> the canonical ``contact_agents`` table (shared credit).

An optional ``conversations.json`` in a Freshdesk API export holds the tickets' conversations as
``GET /api/v2/tickets/{id}/conversations`` returns them (a bare JSON array per ticket; several arrays
one after another, or one per line): ``id``, ``ticket_id``, ``user_id`` (the author), ``incoming``
(true: it came from outside, the requester's e-mail or reply), ``private`` (true: a private note for
agents), ``source``, ``created_at`` ... (https://developers.freshdesk.com/api/#list_all_ticket_notes;
the Conversation model of Freshworks' freshdesk-sdk).

Rule: a public agent reply is a conversation with ``incoming`` false and ``private`` false; its author
is ``user_id``. Customers' messages (``incoming`` true) and private notes do not count. Weights and
facts: :func:`upstream.data.importers.reply_credit.add_reply_credit`.
"""
from __future__ import annotations

import pandas as pd

from .reply_credit import add_reply_credit
from .result import ImportResult


def add_conversation_credit(result: ImportResult, conversations: list[dict], file: str) -> ImportResult:
    """`result` with contact_agents from the public agent replies of ``conversations`` (records of ``file``)."""
    public = [c for c in conversations if c.get("incoming") is False and c.get("private") is False]
    replies = pd.DataFrame({"contact_id": pd.Series([c.get("ticket_id") for c in public], dtype="object"),
                            "agent_id": pd.Series([c.get("user_id") for c in public], dtype="object")})
    how = ("each agent's share of the ticket's public agent replies (incoming false, private false; "
               "customers' messages and private notes do not count)")
    return add_reply_credit(result, replies, file, how, "every agent with public replies on a ticket")
