"""Display tables of the reply_volume study."""
from __future__ import annotations


def page(r):
    """The tables this study's page shows, in page order: (name, caption, frame, source CSV, undefined note)."""
    table = r.tables["reply_volume"]
    yield ("reply_volume", "Contacts and CSAT replies by channel", table.round({"reply_rate": 3}), "reply_volume",
           None)
