"""The distinctive words per policy from a data set that lives in SQL: the words of most comments are counted
in the engine (``data.sql.comments.word_counts``), the few comments that redaction could change (a digit, an
'@', non-ASCII text) are streamed in batches, redacted and tokenised here exactly as on the pandas path; only
counts per group × word are kept, and ``words.words_from_counts`` ranks them — the same table as
``words.distinctive_words`` on the rows."""
from __future__ import annotations

from collections import Counter
from typing import Callable

import pandas as pd

from ..data.sql import comments as sql
from .words import PRIOR_SHARE, STOPWORDS, DistinctiveWords, tokens, words_from_counts


def group_word_counts(ds, group: str, redact: Callable[[str], str],
                      rows: int = 100_000) -> tuple[dict[str, Counter], pd.Series]:
    """(group → Counter of words over its comments, comments with text per group), groups in sorted order;
    `redact` is the pandas path's redaction (``reporting.privacy.redact_comment``)."""
    words, n_comments = sql.word_counts(ds, group, STOPWORDS)
    per_group: dict[str, Counter] = {}
    for g, part in words.groupby("grp", sort=False):
        per_group[g] = Counter(dict(zip(part["word"], part["n"].astype(int))))
    n_comments = n_comments.copy()
    for batch in sql.comments_to_redact(ds, group, rows):
        redacted = batch["comment"].map(redact)
        ok = redacted.str.strip() != ""
        for g, text in zip(batch.loc[ok, "grp"].astype(str), redacted[ok]):
            per_group.setdefault(g, Counter()).update(tokens(text))
            n_comments[g] = n_comments.get(g, 0) + 1
    n_comments = n_comments.astype("int64").sort_values(ascending=False, kind="stable")
    return {g: per_group.get(g, Counter()) for g in sorted(n_comments.index)}, n_comments


def distinctive_words_from_sql(ds, group: str, redact: Callable[[str], str], min_comments: int = 20, top: int = 10,
                               prior_share: float = PRIOR_SHARE, rows: int = 100_000) -> DistinctiveWords:
    """``words.distinctive_words`` of the comment replies grouped by the contact column `group` (redacted by
    `redact`), from counts."""
    per_group, n_comments = group_word_counts(ds, group, redact, rows)
    return words_from_counts(per_group, n_comments, min_comments, top, prior_share)
