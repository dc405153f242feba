"""Channel groups: every vendor's open channel vocabulary mapped onto the canonical groups.

The canonical ``channel`` column holds a group: ``phone``, ``chat``, ``email``, ``messaging``
or ``other``. A vendor value not in the vendor's table below nor among the generic words
(``GENERIC_CHANNELS``: phone, voice, e-mail, live chat, sms ...) is kept as ``other`` and reported
with its count, never refused; a mapping's ``channels:`` entries override the tables. Values are
compared lower-cased. Sources: docs/importers/vendor_formats.md (Zendesk via types, Freshdesk
source codes, Intercom ``source.type``, Help Scout ``type``, Gorgias ``channel``).
"""
from __future__ import annotations

import pandas as pd

CHANNEL_GROUPS: tuple[str, ...] = ("phone", "chat", "email", "messaging", "other")


def _table(**groups: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for group, values in groups.items():
        for value in values.split():
            out[value] = group
    return out


VENDOR_CHANNELS: dict[str, dict[str, str]] = {
    "zendesk": _table(
        email="email mail web web_form web_widget dropbox help_center batch",
        chat="chat chat_transcript",
        phone="voice phone voicemail phone_call_inbound phone_call_outbound phone_call_(incoming) "
              "phone_call_(outgoing)",
        messaging="native_messaging messaging mobile_sdk sms whatsapp facebook facebook_post "
                  "facebook_message twitter twitter_dm twitter_tweet instagram_dm line wechat "
                  "any_channel mobile",
        other="api web_service rule system closed_ticket sample_ticket side_conversation ticket_sharing",
    ),
    "freshdesk": _table(  # API source codes and the UI export's labels
        email="1 2 4 9 10 email portal forum feedback_widget outbound_email",
        chat="7 chat",
        phone="3 phone",
        messaging="5 6 8 13 twitter facebook mobihelp whatsapp",
    ),
    "intercom": _table(
        email="email", chat="conversation", phone="phone_call phone_switch",
        messaging="sms whatsapp facebook instagram twitter push",
    ),
    "helpscout": _table(email="email", chat="chat", phone="phone"),
    "gorgias": _table(
        email="email contact_form help-center",
        chat="chat",
        phone="phone aircall",
        messaging="sms facebook facebook-messenger facebook-mention instagram-direct-message "
                  "instagram-comment instagram-ad-comment whatsapp twitter twitter-direct-message",
        other="api internal-note",
    ),
}


# a table (csv import) may hold any vendor's words: the union of the named vendors' tables
VENDOR_CHANNELS["csv"] = {k: v for vendor in ("gorgias", "helpscout", "intercom", "zendesk")
                          for k, v in VENDOR_CHANNELS[vendor].items()}

#: words any vendor or table may use, tried after the vendor's own table
GENERIC_CHANNELS: dict[str, str] = _table(
    email="email e-mail mail web web_form webform portal contact_form",
    chat="chat live_chat livechat web_chat messenger_chat",
    phone="phone voice call telephone phone_call inbound_call outbound_call",
    messaging="messaging sms text whatsapp social facebook instagram twitter",
)


def map_channels(values: pd.Series, vendor: str, overrides: dict[str, str] | None = None
                 ) -> tuple[pd.Series, list[dict]]:
    """Map raw channel values to groups.

    Returns the group per row and a table with one entry per distinct raw value: ``value``,
    ``group``, ``contacts`` (count) and ``known`` (False when the value is in neither the vendor
    table nor the mapping, i.e. it was put in ``other`` by default). Missing values count as
    the raw value ``(none)``.
    """
    table = VENDOR_CHANNELS.get(vendor, {})
    overrides = {str(k).strip().lower().replace(" ", "_"): v for k, v in (overrides or {}).items()}
    raw = values.astype("str").where(values.notna(), "(none)")
    counts = raw.value_counts(sort=False)
    lookup: dict[str, str] = {}
    entries: list[dict] = []
    for value, count in counts.items():
        key = str(value).strip().lower().replace(" ", "_") if value != "(none)" else value
        if key in overrides:
            group, known = overrides[key], True
        elif key in table:
            group, known = table[key], True
        elif key.replace("_", "-") in table:
            group, known = table[key.replace("_", "-")], True
        elif key in GENERIC_CHANNELS or key.replace("-", "_") in GENERIC_CHANNELS:
            group, known = GENERIC_CHANNELS.get(key, GENERIC_CHANNELS.get(key.replace("-", "_"))), True
        else:
            group, known = "other", False
        lookup[value] = group
        entries.append({"value": str(value), "group": group, "contacts": int(count), "known": known})
    entries.sort(key=lambda e: (-e["contacts"], e["value"]))
    return raw.map(lookup).astype("str"), entries
