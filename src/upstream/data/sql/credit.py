"""Goodwill credit and the policy column, asked in SQL (``analysis.credit_sums`` turns the answers into the
pandas path's credit tables):

- `recorded`: a contact column is present and takes more than one value (``steps.recorded``);
- `first_value`: the column's value on the first contact (the one policy when there is only one);
- `credit_cells`: credited contacts per distinct amount × the CSAT of their reply (NULL: no scored reply) — the
  pile-up, the amount bands and the raw comparison at the cap need nothing else;
- `prepare_credited_replies`, `credited_reply_batches`: the credited replies kept as a table with their mix
  levels counted, then read in batches for the dose–response model's per-agent sums.
"""
from __future__ import annotations

import pandas as pd

from ...survey.constants import AGENT


def _i(ds, name: str) -> str:
    return ds.engine.dialect.ident(name)


def first_value(ds, column: str):
    """`column` on the first contact (file order)."""
    return ds.engine.rows(f"SELECT {_i(ds, column)} FROM contacts ORDER BY _row LIMIT 1")[0][0]


def _answered(ds) -> str:
    given = [c for c in ("responded_at", "csat", "nps") if c in ds.columns["surveys"]]
    return "(" + " OR ".join(f"s.{_i(ds, c)} IS NOT NULL" for c in given) + ")"


def credit_cells(ds) -> tuple[pd.DataFrame, int]:
    """(credited contacts per credit_issued × csat of the reply — NULL without a scored reply — with n; every
    contact's count)."""
    i = lambda c: _i(ds, c)  # noqa: E731
    scored = (f"SELECT s.{i('contact_id')} AS cid, CAST(s.{i('csat')} AS DOUBLE) AS csat FROM surveys s "
              f"WHERE {_answered(ds)} AND s.{i('csat')} IS NOT NULL")
    frame = ds.engine.frame(f"SELECT CAST(c.{i('credit_issued')} AS DOUBLE) AS credit, r.csat AS csat, count(*) AS n "
                            f"FROM contacts c LEFT JOIN ({scored}) r ON c.{i('contact_id')} = r.cid "
                            f"WHERE c.{i('credit_issued')} > 0 GROUP BY 1, 2")
    total = int(ds.engine.rows("SELECT count(*) FROM contacts")[0][0])
    return frame.astype({"credit": float, "csat": float, "n": "int64"}), total


def _credited_replies(ds, columns: dict[str, str]) -> str:
    i = lambda c: _i(ds, c)  # noqa: E731
    select = ", ".join(f"{expr} AS {i(name)}" for name, expr in columns.items())
    return (f"SELECT {select} FROM surveys s JOIN contacts c ON s.{i('contact_id')} = c.{i('contact_id')} "
            f"WHERE {_answered(ds)} AND s.{i('csat')} IS NOT NULL AND c.{i('credit_issued')} > 0")


def reply_columns(ds, mix) -> dict[str, str]:
    """The dose–response model's columns of a credited reply: agent, mix (text), credit, csat, escalated_ and
    unresolved_ as 0/1 (``credit.credited_replies``)."""
    i, d = (lambda c: _i(ds, c)), ds.engine.dialect
    return {AGENT: d.text(f"c.{i(AGENT)}"), **{m: d.text(f"c.{i(m)}") for m in mix},
            "credit": f"CAST(c.{i('credit_issued')} AS DOUBLE)", "csat": f"CAST(s.{i('csat')} AS DOUBLE)",
            "escalated_": f"CASE WHEN c.{i('escalated')} THEN 1.0 ELSE 0.0 END",
            "unresolved_": f"CASE WHEN c.{i('resolved_first_contact')} = FALSE THEN 1.0 ELSE 0.0 END"}


def prepare_credited_replies(ds, mix) -> dict[str, pd.Series]:
    """Materialise `credited_replies` (the columns of `reply_columns`; a few per cent of the replies) and return
    its rows per level of each mix variable and of escalated_ / unresolved_ (levels as text, sorted)."""
    ds.engine.table("credited_replies", _credited_replies(ds, reply_columns(ds, mix)))
    out = {}
    for var in (*mix, "escalated_", "unresolved_"):
        v = _i(ds, var)
        frame = ds.engine.frame(f"SELECT {ds.engine.dialect.text(v)} AS lvl, count(*) AS n FROM credited_replies "
                                f"WHERE {v} IS NOT NULL GROUP BY {v}")
        out[var] = pd.Series(frame["n"].to_numpy("int64"), index=frame["lvl"].astype(str)).sort_index()
    return out


def credited_reply_batches(ds, rows: int = 100_000):
    """Batches of `credited_replies` (``prepare_credited_replies``)."""
    yield from ds.engine.batches("SELECT * FROM credited_replies", rows)
