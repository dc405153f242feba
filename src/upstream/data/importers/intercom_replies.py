"""Intercom conversation parts -> the canonical ``contact_agents`` table (shared credit).

A conversation as ``GET /conversations/{id}`` returns it carries its parts: ``conversation_parts:
{"type": "conversation_part.list", "conversation_parts": [...]}``, each part with ``part_type``
(``comment``, ``note``, ``assignment``, ``close``, ...), ``author: {type, id, name, email,
from_ai_agent}`` (type ``admin``, ``user``, ``lead``, ``bot`` or ``team``) and ``created_at``
(intercom-client's ConversationPart and ConversationPartAuthor types). A conversations.json whose
conversations carry their parts (saved from the single-conversation endpoint) gives shared credit.

Rule: a public agent reply is a part with ``part_type`` ``comment`` written by an ``admin`` that
is not the AI agent (``from_ai_agent`` true; Fin replies on a teammate's behalf). Notes, assignments,
customers' (``user``, ``lead``) and bots' parts do not count. Weights and facts:
:func:`upstream.data.importers.reply_credit.add_reply_credit`.
"""
from __future__ import annotations

import pandas as pd

from .reply_credit import add_reply_credit
from .result import ImportResult


def has_parts(conversations: list[dict]) -> bool:
    """Whether any conversation carries its ``conversation_parts``."""
    return any(isinstance(c.get("conversation_parts"), dict) for c in conversations)


def add_part_credit(result: ImportResult, conversations: list[dict], file: str) -> ImportResult:
    """`result` with contact_agents from the admins' comment parts of ``conversations`` (records of ``file``)."""
    rows = []
    for conv in conversations:
        parts = (conv.get("conversation_parts") or {}).get("conversation_parts") or ()
        for part in parts:
            author = part.get("author") if isinstance(part.get("author"), dict) else {}
            if (part.get("part_type") == "comment" and author.get("type") == "admin"
                    and author.get("from_ai_agent") is not True):
                rows.append((conv.get("id"), author.get("id")))
    replies = pd.DataFrame(rows, columns=["contact_id", "agent_id"], dtype="object")
    how = ("each teammate's share of the conversation's public replies (conversation_parts with "
               "part_type comment by an admin; notes, customers' and bots' parts and AI agent answers do not count)")
    return add_reply_credit(result, replies, file, how, "every teammate with public replies on a conversation")
