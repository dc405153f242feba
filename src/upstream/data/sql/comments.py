"""The customers' comments, asked in SQL: the words counted where the rows lie, and the comments streamed in
batches where Python must read them (``engines.SqlEngine.batches``) — never all at once.

- `commented_replies_sql`: the answered invitations with a comment that is not blank, joined to their contacts
  (``frames.invitations`` → ``responded & comment.notna()``; the study drops blank text after redaction, and
  redaction leaves non-blank text non-blank).
- `word_counts`: per group (a contact column: policy) × word, the tokens of ``analysis.words.tokens`` counted
  in SQL — masks dropped, lower case, runs of letters with an inner apostrophe, two letters or more, less
  the stop words — for the comments that redaction (``reporting.privacy.redact_comment``) cannot change: every
  pattern it masks (e-mail, IBAN, address, postcode, phone, card) needs an '@' or a digit, so printable ASCII
  text without either has the same words redacted or not. `needs_redaction` is the rest (at most a few in ten
  comments: product codes and order numbers carry digits); those are streamed to Python and redacted there.
- `comment_levels`: the levels of the mix and the CSAT scores among the comment replies (the models' design).
"""
from __future__ import annotations

import pandas as pd

from ...survey.constants import AGENT

#: Text Python must redact before its words are counted: a digit, an '@', or anything but printable ASCII
#: (non-ASCII lower-casing and Unicode whitespace are Python's own rules).
NEEDS_REDACTION = r"[0-9@]|[^\x20-\x7E]"
#: ``analysis.words._TOKEN`` and ``_MASK``.
TOKEN = r"[a-z]+(?:'[a-z]+)?"
MASK = r"\[(?:email|phone|card)\]"


def _i(ds, name: str) -> str:
    return ds.engine.dialect.ident(name)


def commented_replies_sql(ds, columns: dict[str, str]) -> str:
    """SELECT of `columns` (name → expression over the survey `s` and its contact `c`) for every answered
    invitation whose comment is not blank."""
    d, i = ds.engine.dialect, (lambda c: _i(ds, c))
    comment = f"s.{i('comment')}"
    given = [c for c in ("responded_at", "csat", "nps") if c in ds.columns["surveys"]]
    answered = "(" + " OR ".join(f"s.{i(c)} IS NOT NULL" for c in given) + ")"
    select = ", ".join(f"{expr} AS {i(name)}" for name, expr in columns.items())
    return (f"SELECT {select} FROM surveys s JOIN contacts c ON s.{i('contact_id')} = c.{i('contact_id')} "
            f"WHERE {answered} AND {comment} IS NOT NULL AND NOT {d.blank(comment)}")


def needs_redaction(ds, expr: str) -> str:
    """SQL: True when redaction could change the words of the text `expr` (see the module docstring)."""
    return ds.engine.dialect.regex(expr, NEEDS_REDACTION)


def has_comments(ds) -> bool:
    """The surveys table has a comment column."""
    return "comment" in ds.columns["surveys"]


def word_counts(ds, group: str, stopwords) -> tuple[pd.DataFrame, pd.Series]:
    """(per group × word of the comments redaction cannot change: group, word, count; and those comments per
    group). Groups are the contact column `group` as text; words in `stopwords` are not counted."""
    d = ds.engine.dialect
    rows = commented_replies_sql(ds, {"grp": d.text(f"c.{_i(ds, group)}"), "comment": f"s.{_i(ds, 'comment')}"})
    plain = f"SELECT grp, comment FROM ({rows}) r WHERE NOT {needs_redaction(ds, 'comment')}"
    text = f"lower({d.replace_all('comment', MASK, ' ')})"
    stop = ", ".join(d.literal(w) for w in sorted(stopwords))
    words = ds.engine.frame(
        f"SELECT grp, word, count(*) AS n FROM (SELECT grp, {d.unnest(d.find_all(text, TOKEN))} AS word "
        f"FROM ({plain}) p) t WHERE length(word) >= 2 AND word NOT IN ({stop}) GROUP BY grp, word")
    comments = ds.engine.frame(f"SELECT grp, count(*) AS n FROM ({plain}) p GROUP BY grp")
    words = words.astype({"grp": str, "word": str, "n": "int64"})
    return words, pd.Series(comments["n"].to_numpy("int64"), index=comments["grp"].astype(str), dtype="int64")


def comments_to_redact(ds, group: str, rows: int = 100_000):
    """Batches (group, comment) of the comments redaction could change, for Python to redact and tokenise."""
    d = ds.engine.dialect
    sql = commented_replies_sql(ds, {"grp": d.text(f"c.{_i(ds, group)}"), "comment": f"s.{_i(ds, 'comment')}"})
    yield from ds.engine.batches(f"SELECT grp, comment FROM ({sql}) r WHERE {needs_redaction(ds, 'comment')}", rows)


def csat_replies(ds) -> int:
    """Answered invitations with a CSAT score (with or without a comment)."""
    i = lambda c: _i(ds, c)  # noqa: E731
    given = [c for c in ("responded_at", "csat", "nps") if c in ds.columns["surveys"]]
    answered = " OR ".join(f"s.{i(c)} IS NOT NULL" for c in given)
    return int(ds.engine.rows(f"SELECT count(*) FROM surveys s JOIN contacts c ON s.{i('contact_id')} = "
                              f"c.{i('contact_id')} WHERE ({answered}) AND "
                              f"s.{i('csat')} IS NOT NULL")[0][0])


def comment_levels(ds, variables) -> dict[str, pd.Series]:
    """Comment replies with a CSAT score per level of each of `variables` (contact columns, or "csat": the
    score as a whole number), levels as text in sorted order — one scan (GROUPING SETS)."""
    d = ds.engine.dialect
    names = [f"v{k}" for k in range(len(variables))]
    columns = {n: d.text(d.bigint(f"s.{_i(ds, 'csat')}")) if var == "csat" else d.text(f"c.{_i(ds, var)}")
               for n, var in zip(names, variables)}
    sql = commented_replies_sql(ds, {**columns, "_csat": f"s.{_i(ds, 'csat')}"})
    sets = ", ".join(f"({n})" for n in names)
    frame = ds.engine.frame(f"SELECT {', '.join(names)}, count(*) AS n FROM ({sql}) r WHERE _csat IS NOT NULL "
                            f"GROUP BY GROUPING SETS ({sets})")
    out = {}
    for n, var in zip(names, variables):
        part = frame[frame[n].notna()]         # the rows of this variable's set (its NULL level left out)
        out[var] = pd.Series(part["n"].to_numpy("int64"), index=part[n].astype(str)).sort_index()
    return out


def scored_comment_batches(ds, mix, rows: int = 100_000):
    """Batches of the comment replies with a CSAT score: agent_id, the `mix` columns (text), csat, nps, comment."""
    i = lambda c: _i(ds, c)  # noqa: E731
    d = ds.engine.dialect
    columns = {AGENT: d.text(f"c.{i(AGENT)}"), **{m: d.text(f"c.{i(m)}") for m in mix},
               "csat": f"CAST(s.{i('csat')} AS DOUBLE)",
               "nps": f"CAST(s.{i('nps')} AS DOUBLE)" if "nps" in ds.columns["surveys"] else "CAST(NULL AS DOUBLE)",
               "comment": f"s.{i('comment')}"}
    yield from ds.engine.batches(f"SELECT * FROM ({commented_replies_sql(ds, columns)}) r WHERE csat IS NOT NULL",
                                 rows)
