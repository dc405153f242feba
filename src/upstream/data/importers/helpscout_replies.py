"""Help Scout threads -> the canonical ``contact_agents`` table (shared credit).

Conversations listed or fetched with ``embed=threads`` carry ``_embedded.threads``: each thread has
``type`` (``customer``, ``reply``, ``note``, ``lineitem``, ``chat``, ``phone``, ``forwardparent``,
...), ``state`` (``published``, ``draft``, ``underreview``, ``hidden``), ``createdBy: {id, type}``
(type ``user`` for a Help Scout user, ``customer`` for the customer) and ``createdAt``
(https://developer.helpscout.com/mailbox-api/endpoints/conversations/threads/list; the webhooks'
Thread object: "createdBy ... whether it was created by a 'user' or a 'customer'").

Rule: a public agent reply is a thread of ``type`` ``reply`` created by a ``user``, published (a
thread without ``state`` counts as published). Customers' threads, notes, line items and drafts do
not count. Weights and facts: :func:`upstream.data.importers.reply_credit.add_reply_credit`.
"""
from __future__ import annotations

import pandas as pd

from .reply_credit import add_reply_credit
from .result import ImportResult


def has_threads(conversations: list[dict]) -> bool:
    """Whether any conversation carries its ``_embedded.threads``."""
    return any(isinstance((c.get("_embedded") or {}).get("threads"), list) for c in conversations)


def add_thread_credit(result: ImportResult, conversations: list[dict], file: str) -> ImportResult:
    """`result` with contact_agents from the users' published reply threads of ``conversations`` (``file``)."""
    rows = []
    for conv in conversations:
        for thread in (conv.get("_embedded") or {}).get("threads") or ():
            by = thread.get("createdBy") if isinstance(thread.get("createdBy"), dict) else {}
            if (thread.get("type") == "reply" and by.get("type") == "user"
                    and thread.get("state", "published") == "published"):
                rows.append((conv.get("id"), by.get("id")))
    replies = pd.DataFrame(rows, columns=["contact_id", "agent_id"], dtype="object")
    how = ("each user's share of the conversation's published reply threads (_embedded.threads of "
               "type reply created by a user; customers' threads, notes and drafts do not count)")
    return add_reply_credit(result, replies, file, how, "every user with published replies on a conversation")
