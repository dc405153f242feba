"""Gorgias messages -> the canonical ``contact_agents`` table (shared credit).

``messages.json`` (``GET /api/messages``, the TicketMessage object: ``ticket_id``, ``sender: {id}``,
``from_agent``, ``public``, ``channel``, ``source.type``, ``rule_id``) already gives the importer
the public agent replies it attributes ratings with (``gorgias.py``): ``from_agent`` true, not an
internal note (``public`` false, or ``channel`` / ``source.type`` ``internal-note``), not sent by a
rule (``rule_id``), not from a bot user (``users.json`` role ``bot``). Every such reply of a ticket,
not only the last before the survey, counts towards shared credit; customers' messages do not.
Weights and facts: :func:`upstream.data.importers.reply_credit.add_reply_credit`.
"""
from __future__ import annotations

import pandas as pd

from .reply_credit import add_reply_credit
from .result import ImportResult


def add_message_credit(result: ImportResult, agent_replies: pd.DataFrame, file: str) -> ImportResult:
    """`result` with contact_agents from ``agent_replies`` (columns ticket_id, sender: the public agent
    replies of ``file`` as gorgias.py selects them)."""
    replies = pd.DataFrame({"contact_id": agent_replies["ticket_id"], "agent_id": agent_replies["sender"]})
    how = ("each agent's share of the ticket's public agent replies (from_agent true; internal notes, "
               "rule messages, bot users and customers' messages do not count)")
    return add_reply_credit(result, replies, file, how, "every agent with public replies on a ticket")
