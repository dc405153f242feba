"""Help Scout (Mailbox API 2.0) -> canonical contacts, surveys and agents.

The export is a folder of saved API responses (docs/importers/vendor_formats.md §4):

| file | required | content |
|---|---|---|
| ``conversations.json`` | yes | ``GET /v2/conversations?status=all`` HAL pages (``_embedded.conversations``) |
| ``ratings.json`` | yes | the happiness ratings report (``results``), or rating objects |
| ``users.json`` | no | ``GET /v2/users`` HAL pages (``_embedded.users``) |

Conversations listed with ``embed=threads`` carry ``_embedded.threads``: the users' published
replies give ``contact_agents`` (shared credit; ``helpscout_replies.py``).

``ratings.json`` is either ``GET /v2/reports/happiness/ratings`` (rows: ``id`` = the conversation,
``threadid``, ``ratingId`` 1 Great / 2 Okay / 3 Not Good, ``ratingUserId``, ``ratingCreatedAt``,
``ratingComments`` ...; the same columns in snake case as Stitch's tap-helpscout lands them) or
``GET /v2/ratings/{id}`` objects (``rating`` great / okay / not_good / unknown, ``user``,
``conversationId``, ``createdAt``, ``modifiedAt``).

Rules (each also written into the import report):

- Contacts: conversations with status ``closed`` and a ``closedAt``; ``spam`` is dropped.
- CSAT: Help Scout's happiness rating: report rows' ``ratingId`` 3 (Not Good) = 1, 2 (Okay) = 2,
  1 (Great) = 3; rating objects' ``not_good`` (also ``not-good``, ``Not Good``, ``Bad``) = 1,
  ``okay`` (``ok``) = 2, ``great`` = 3 (3-point, top box great); ``unknown`` has no value on the
  scale and is dropped (reported), never written as an empty CSAT. A rating record without a
  rating, a ``ratingId`` other than 1-3, or a rating time that is not a time stops the import.
  Ratings are links in the reply e-mails, so a rating's ``ratingCreatedAt``/``createdAt`` (UTC,
  with or without ``Z``; else the rated reply's ``threadCreatedAt``, with a warning) is both
  ``sent_at`` and ``responded_at``; a rating changed later keeps its first time (``modifiedAt``
  picks the latest record). Unanswered surveys cannot be seen:
  ``visibility.unanswered_invitations`` is false.
- Attribution: a rating belongs to ``user`` / ``ratingUserId`` -- the author of the reply the customer rated -- not
  necessarily the conversation's assignee; other conversations keep ``assignee`` (export time).
- ``n_interactions`` = ``threads`` (the number of published threads: customer messages, replies
  and notes); no reopen or handle time on conversations, so ``resolved_first_contact`` and
  ``handle_time_sec`` are missing; ``team`` = the mailbox (Help Scout has no teams on a
  conversation; map ``team: {value: ...}`` to name it).
- Mapping: ``tag_prefix`` over tag names (``tags[].tag``), ``field`` over ``customFields`` by name
  or id (its display text).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .assemble import Extract, assemble
from .derive import to_utc_naive
from .errors import ImportInputError
from .helpscout_replies import add_thread_credit, has_threads
from .mapping import Mapping
from .pages import FileRead, iter_pages
from .report import ImportReport
from .result import ImportResult
from .scales import HELPSCOUT
from .source import ids_as_text, open_api_export
from .vendor_times import iso_times

VENDOR = "helpscout"
FORMAT = "helpscout-api"
EXPECTED = ('Help Scout Mailbox API pages such as {"_embedded": {"conversations": [...]}, "page": {...}} '
            "(one page object, several one after another, or one per line)")
VISIBILITY_NOTE = ("Help Scout's happiness ratings list answered ratings only: a reply whose rating links got no "
                   "click leaves no record")
EXPECTED_RATINGS = ('the Help Scout happiness ratings report {"results": [...], "page": ...} with rows '
                    '{"id": ..., "ratingId": 1, ...} or rating objects {"id": ..., "rating": "great", ...}')


def import_helpscout(export: str | Path, mapping: Mapping | str | Path | None = None) -> ImportResult:
    """Import a Help Scout export folder; see the module docstring for the rules."""
    folder, mapping, mapping_text, paths = open_api_export(
        export, mapping, VENDOR, stems=("conversations", "ratings", "users"), required=("conversations", "ratings"),
        needs="a Help Scout export needs conversations.json (Mailbox API conversations) and ratings.json (the "
              "happiness ratings report)",
        folder_hint="Help Scout export (conversations.json, ratings.json; optionally users.json)",
        rule_hint="'column' rules are for table and CSV exports; a Help Scout export has custom fields (field:) "
                  "and tags (tag_prefix:)")
    report = ImportReport(vendor=VENDOR, format=FORMAT, export=str(folder))
    info, convs = _conversations(paths, report, mapping)
    t = _tickets(convs, mapping)
    r, rinfo, ratings = _ratings(paths, report)
    staff = _staff(paths, report)
    exported_at = max(v for v in (t["updated"].max(), r["updated"].max()) if pd.notna(v))
    report.warnings.append(VISIBILITY_NOTE + ": response rates and non-response studies are not possible with this "
                           "export (dataset.yaml visibility.unanswered_invitations: false)")
    x = Extract(
        vendor=VENDOR, format=FORMAT, export=folder, tickets_file=info.name, ratings_file=rinfo.name,
        tickets=t, ratings=r, scale=HELPSCOUT, mapping=mapping, report=report, exported_at=exported_at,
        attribution_rule="rated_reply_author",
        visibility={"unanswered_invitations": False, "uninvited_contacts": True, "note": VISIBILITY_NOTE},
        attribution_description=("A rated conversation's agent_id is the rating's user: the author of the reply the "
                                 "customer rated; other conversations keep the assignee at export time."),
        drops=[(t["status"] == "spam", "spam"),
               (t["status"] != "closed", "not closed at export time (status active or pending)")],
        alive=t["status"] != "spam",
        sources=_sources(info.name, rinfo.name),
        vendor_columns={"n_interactions": (
            f"{info.name}: threads (published threads: customer messages, replies and notes), at least 1", "derived")},
        missing={"handle_time_sec": "not recorded: Help Scout has no handle time on a conversation",
                 "resolved_first_contact": ("not derivable: conversations carry no reopen count, and the one-reply "
                                            "condition needs the threads"),
                 "escalated": "not in a Help Scout export; map a tag or field to import it",
                 "credit_issued": "not in a Help Scout export; map a tag or field to import it"},
        nps_present=False, staff=staff, users_file="users.json" if paths["users"] is not None else None,
        read={"contacts": len(convs), "surveys": len(ratings), "agents": len(staff)},
        mapping_text=mapping_text, agent_noun="agent")
    result = assemble(x)
    return add_thread_credit(result, convs, info.name) if has_threads(convs) else result


def _conversations(paths: dict, report: ImportReport, mapping: Mapping) -> tuple[FileRead, list[dict]]:
    """conversations.json's conversations (at least one); each custom field the mapping names must
    be in them."""
    info = FileRead(name=paths["conversations"].name, path=paths["conversations"])
    convs = [c for page in iter_pages(paths["conversations"], ("_embedded", "conversations"), expected=EXPECTED,
                                      info=info, bare_arrays=False) for c in page]
    report.files.append(info)
    if not convs:
        raise ImportInputError(f"{info.name}: the export holds no conversations ({info.pages} page(s), all empty); "
                               "expected at least one conversation", info.name)
    seen_fields = {f.get("name") for c in convs for f in c.get("customFields") or () if isinstance(f, dict)}
    seen_fields |= {str(f.get("id")) for c in convs for f in c.get("customFields") or () if isinstance(f, dict)}
    for column, rule in mapping.columns.items():
        if rule.kind == "field" and str(rule.source) not in seen_fields:
            names = sorted(n for n in seen_fields if n and not n.isdigit())
            raise ImportInputError(
                f"{mapping.name}: columns.{column}: no custom field {rule.source!r} in {info.name}; fields present: "
                f"{', '.join(names) or 'none'}", mapping.name)
    return info, convs


def _tickets(convs: list[dict], mapping: Mapping) -> pd.DataFrame:
    """The conversations as ``assemble``'s tickets, with the threads count and the mapping's tags and
    custom fields."""
    def col(get):
        return pd.Series([get(c) for c in convs], dtype="object")

    t = pd.DataFrame({
        "id": ids_as_text(col(lambda c: c.get("id"))),
        "status": col(lambda c: c.get("status")).astype("str").str.lower(),
        "assignee": ids_as_text(col(lambda c: (c.get("assignee") or {}).get("id"))),
        "team": col(lambda c: None if c.get("mailboxId") is None else f"mailbox {c.get('mailboxId')}").astype("str"),
        "requester": ids_as_text(col(lambda c: (c.get("primaryCustomer") or c.get("customer") or {}).get("id"))),
        "channel": col(lambda c: c.get("type")).astype("str"),
    })
    t["opened"], _ = to_utc_naive(col(lambda c: c.get("createdAt")))
    t["closed"], _ = to_utc_naive(col(lambda c: c.get("closedAt")))
    t["updated"], _ = to_utc_naive(col(lambda c: c.get("userUpdatedAt") or c.get("closedAt") or c.get("createdAt")))
    threads = pd.to_numeric(col(lambda c: c.get("threads") if isinstance(c.get("threads"), int)
                                else c.get("threadCount")), errors="coerce")
    if threads.notna().any():
        t["v:n_interactions"] = threads.clip(lower=1)
    for column, rule in mapping.columns.items():
        if rule.kind == "tag_prefix":
            n = len(rule.source)
            t[f"src:{column}"] = col(lambda c, p=rule.source, n=n: next(
                (tg["tag"][n:] for tg in c.get("tags") or () if isinstance(tg, dict)
                 and isinstance(tg.get("tag"), str) and tg["tag"].startswith(p)), None))
        elif rule.kind == "field":
            t[f"src:{column}"] = col(lambda c, k=str(rule.source): next(
                ((f.get("text") if f.get("text") not in (None, "") else f.get("value"))
                 for f in c.get("customFields") or () if isinstance(f, dict)
                 and (f.get("name") == k or str(f.get("id")) == k)), None))
    return t


def _ratings(paths: dict, report: ImportReport) -> tuple[pd.DataFrame, FileRead, list[dict]]:
    """ratings.json's happiness ratings as ``assemble``'s ratings ('unknown' ratings dropped), the
    file's record of reading and the records read."""
    rinfo = FileRead(name=paths["ratings"].name, path=paths["ratings"])
    ratings = [x for page in iter_pages(paths["ratings"], "results", singular="rating", expected=EXPECTED_RATINGS,
                                        info=rinfo) for x in page]
    report.files.append(rinfo)

    ratings = [_camel_keys(x) for x in ratings]
    r, unknown, n_thread_time = _ratings_frame(ratings, rinfo.name)
    # 'unknown' is on no side of the scale: an answer without a value is no CSAT answer
    report.drop("surveys", "rating 'unknown' (no value on the happiness scale)", r.loc[unknown, "id"])
    r = r[~unknown]
    if n_thread_time:
        report.warnings.append(f"{n_thread_time} ratings have no ratingCreatedAt/createdAt; their rating time is the "
                               "rated reply's threadCreatedAt")
    return r, rinfo, ratings


def _staff(paths: dict, report: ImportReport) -> pd.DataFrame:
    """The agents of users.json (Help Scout has no teams), or none without the file."""
    staff = pd.DataFrame(columns=["id", "team", "created_at"])
    if paths["users"] is not None:
        uinfo = FileRead(name=paths["users"].name, path=paths["users"])
        users = [u for page in iter_pages(paths["users"], ("_embedded", "users"), singular="user",
                                          expected='Help Scout users pages {"_embedded": {"users": [...]}}',
                                          info=uinfo) for u in page]
        report.files.append(uinfo)
        staff = pd.DataFrame({"id": [str(u.get("id")) for u in users], "team": [None] * len(users),
                              "created_at": [u.get("createdAt") for u in users]})
    return staff


def _sources(info_name: str, rname: str) -> dict[str, str]:
    """Where each canonical column comes from, for the report."""
    return {
        "contacts.contact_id": f"{info_name}: id",
        "contacts.opened_at": f"{info_name}: createdAt (UTC)",
        "contacts.closed_at": f"{info_name}: closedAt (UTC)",
        "contacts.agent_id": (f"{rname}: user, the author of the rated reply ({{rated}} rated conversations); "
                              f"{info_name}: assignee at export time ({{unrated}} without one)"),
        "contacts.team": f"{info_name}: mailboxId (Help Scout has no teams on a conversation)",
        "contacts.channel": f"{info_name}: type (email, chat, phone), grouped (see channels)",
        "contacts.customer_id": f"{info_name}: primaryCustomer.id",
        "surveys.sent_at": f"{rname}: ratingCreatedAt / createdAt (the rating time; send times are not "
                           "exported)",
        "surveys.responded_at": f"{rname}: ratingCreatedAt / createdAt (UTC)",
        "surveys.csat": (f"{rname}: ratingId (3 Not Good = 1, 2 Okay = 2, 1 Great = 3) or rating (not good = "
                         "1, okay = 2, great = 3; unknown: dropped)"),
        "surveys.comment": f"{rname}: ratingComments / comments"}


# Help Scout's report rows give the rating as a number: 1 Great, 2 Okay, 3 Not Good
# (https://developer.helpscout.com/mailbox-api/endpoints/reports/happiness/reports-happiness-ratings)
RATING_IDS = {1: "great", 2: "okay", 3: "not_good"}


def _camel_keys(record: dict) -> dict:
    """Snake-case keys as Stitch's tap-helpscout lands the report (``rating_id``,
    ``conversation_id`` ...) -> the API's camelCase; camelCase keys are kept as they are."""
    if not isinstance(record, dict) or not any("_" in k for k in record):
        return record
    out = {}
    for key, value in record.items():
        head, *rest = key.split("_")
        out.setdefault(head + "".join(w[:1].upper() + w[1:] for w in rest), value)
    return out


def _first(record: dict, *keys):
    return next((record.get(k) for k in keys if record.get(k) is not None), None)


def _rating_id_value(value) -> str | None:
    """The happiness rating of a report row's ``ratingId`` (1, 2, 3, or the same as text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return RATING_IDS.get(value) if isinstance(value, int) else None


def _ratings_frame(ratings: list[dict], file: str) -> tuple[pd.DataFrame, pd.Series, int]:
    """The rating rows of either documented shape: the happiness ratings report (``id`` = the
    conversation, ``threadid``, ``ratingId`` 1-3, ``ratingUserId``, ``ratingCreatedAt``,
    ``ratingComments``) or rating objects (``id``, ``conversationId``, ``threadId``, ``rating``
    great/okay/not_good/unknown, ``user``, ``createdAt``, ``modifiedAt``, ``comments``). A rating
    record whose rating is missing or not on the scale stops the import. Also returns the mask of
    ``unknown`` ratings and how many rating times came from ``threadCreatedAt``."""
    values, ids, tickets, missing, off_ids = [], [], [], [], []
    for x in ratings:
        ticket = _first(x, "conversationId", "id")
        text = _first(x, "rating", "ratingRating")
        if text is not None:                                 # a rating object
            values.append(text)
            ids.append(_first(x, "ratingId", "id"))
        elif x.get("ratingId") is not None:                  # a report row
            value = _rating_id_value(x["ratingId"])
            if value is None:
                off_ids.append(f"{x['ratingId']!r} (conversation {ticket})")
            values.append(value)
            ids.append(_first(x, "threadid", "threadId", "id"))
        else:
            missing.append(str(ticket))
            values.append(None)
            ids.append(_first(x, "threadid", "threadId", "id"))
        tickets.append(ticket)
    if off_ids:
        raise ImportInputError(
            f"{file}: ratingId must be 1 (Great), 2 (Okay) or 3 (Not Good); found {', '.join(off_ids[:5])}"
            + (f" and {len(off_ids) - 5} more" if len(off_ids) > 5 else ""), file)
    if missing:
        raise ImportInputError(
            f"{file}: {len(missing)} rating record{'s have' if len(missing) > 1 else ' has'} no rating (neither "
            f"rating nor ratingId): conversation {', '.join(missing[:5])}", file)
    value = pd.Series(values, dtype="object")
    codes, off = HELPSCOUT.codes_of(value)
    if off:
        raise ImportInputError(
            f"{file}: rating {', '.join(repr(v) for v in off[:5])} is not a Help Scout happiness rating "
            "(great, okay, not_good or unknown)", file)

    def rcol(*keys):
        return pd.Series([_first(x, *keys) for x in ratings], dtype="object")

    user = pd.Series([(x["user"].get("id") if isinstance(x.get("user"), dict) else x.get("user"))
                      if x.get("user") is not None else x.get("ratingUserId") for x in ratings], dtype="object")
    tickets = ids_as_text(pd.Series(tickets, dtype="object"))
    created = iso_times(rcol("ratingCreatedAt", "createdAt"), file, "ratingCreatedAt", tickets, "conversation")
    thread_time = created.isna() & rcol("threadCreatedAt", "threadCreatedAt").notna()
    created = created.fillna(iso_times(rcol("threadCreatedAt"), file, "threadCreatedAt", tickets, "conversation"))
    modified = iso_times(rcol("modifiedAt"), file, "modifiedAt", tickets, "conversation")
    comments = rcol("ratingComments", "comments")
    r = pd.DataFrame({
        "id": ids_as_text(pd.Series(ids, dtype="object")), "ticket_id": tickets,
        "agent": ids_as_text(user), "team": pd.Series(pd.NA, index=range(len(ratings)), dtype="str"),
        "csat": pd.array(codes, dtype="Int64"), "nps": pd.array([pd.NA] * len(ratings), dtype="Int64"),
        "sent_at": created, "responded_at": created,
        "comment": comments.astype("str").where(comments.notna()),
        "updated": modified.fillna(created)})
    unknown = pd.Series(value.astype("str").str.strip().str.lower().eq("unknown").to_numpy(), index=r.index)
    return r, unknown, int(thread_time.sum())
