"""Checks every vendor importer runs on its ratings: an answered survey never gets an empty CSAT.

A rating field that is present but cannot be read (a value on no side of the scale, text where a
number belongs) stops the import with a message naming the file, the field and a few values,
instead of becoming an empty CSAT (which the studies would count as non-response) or a dropped
survey. Empty values and the vendor's documented non-answers (``offered``, ``unoffered`` ...)
are not errors: they say no answer was given.
"""
from __future__ import annotations

import pandas as pd

from .errors import ImportInputError

_EXAMPLES = 5


def refuse_unreadable_ratings(raw: pd.Series, csat: pd.Series, *, file: str, field: str,
                              not_answers=(), expected: str = "", ids: pd.Series | None = None) -> None:
    """Raise :class:`ImportInputError` when a rating value is present in ``raw`` (the vendor's
    value, one per rating record) but its canonical code in ``csat`` is missing.

    ``not_answers``: vendor values that mean "no answer" (compared as lower-cased text);
    ``expected``: what the field should hold (e.g. "good, bad, offered or unoffered"), quoted in
    the message; ``ids``: the rating records' ids, a few quoted. Every importer calls this (or
    ``assemble`` does, for an :class:`~upstream.data.importers.assemble.Extract` with
    ``raw_csat``), so no answered survey is written with an empty CSAT.
    """
    raw = pd.Series(raw).reset_index(drop=True)
    csat = pd.Series(csat).reset_index(drop=True)
    text = raw.astype("str").str.strip().where(raw.notna())
    present = text.notna() & (text != "")
    skip = {str(v).strip().lower() for v in not_answers}
    unread = present & ~text.str.lower().isin(skip) & csat.isna()
    if not unread.any():
        return
    values = list(dict.fromkeys(text[unread]))
    shown = ", ".join(repr(v) for v in values[:_EXAMPLES]) + (", ..." if len(values) > _EXAMPLES else "")
    which = ""
    if ids is not None:
        some = [str(i) for i in pd.Series(ids).reset_index(drop=True)[unread].head(_EXAMPLES)]
        which = f" (rating records {', '.join(some)})"
    n = int(unread.sum())
    raise ImportInputError(
        f"{file}: field '{field}': {n} rating{'s' if n > 1 else ''} cannot be read as CSAT: {shown}{which}"
        + (f"; expected {expected}" if expected else "")
        + ". Nothing was imported: an answered survey is never written with an empty CSAT", file)


def refuse_answered_without_score(ratings: pd.DataFrame, *, file: str, field: str) -> None:
    """Raise :class:`ImportInputError` when a rating record has a response time (``responded_at``:
    the customer answered) but neither a CSAT nor an NPS score: the importer did not read the
    answer (a field it looked for under another name, a value it could not code). ``assemble``
    runs this for every vendor export (not for tables, whose columns the mapping states)."""
    if not {"responded_at", "csat", "nps"} <= set(ratings.columns):
        return
    lost = ratings["responded_at"].notna() & ratings["csat"].isna() & ratings["nps"].isna()
    if not lost.any():
        return
    ids = ", ".join(str(i) for i in ratings.loc[lost, "id"].head(_EXAMPLES))
    n = int(lost.sum())
    raise ImportInputError(
        f"{file}: {n} answered rating{'s' if n > 1 else ''} (with a response time) "
        f"{'have' if n > 1 else 'has'} no score in field '{field}' (rating records {ids}). Nothing was imported: "
        "an answered survey is never written with an empty CSAT; check that the export holds the rating field", file)
