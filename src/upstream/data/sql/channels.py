"""The channel summary asked in SQL (``analysis.channel_sums`` turns the answers into the pandas path's table):
per level of a variable (the channel) the contacts, the rate columns' known and true counts, the contacts whose
handle time exceeds the time from opening to closing, contacts per calendar day, the order statistics of the
contact times that the medians and their distribution-free intervals need, and the survey counts and sums
(invitations, replies, Σ CSAT, Σ CSAT², good ratings, promoters / passives / detractors). Only a few numbers
per level come back, whatever the number of contacts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...survey.constants import DETRACTOR_MAX, PROMOTER_MIN
from .aggregates import contact_feature

#: The contact times of ``analysis.channels.contact_times`` (their SQL: ``time_expressions``).
TIME_COLUMNS = ("resolution_hours", "first_response_bound_hours", "handle_minutes")


def _i(ds, name: str) -> str:
    return ds.engine.dialect.ident(name)


def time_expressions(ds) -> dict[str, str]:
    """resolution_hours, first_response_bound_hours (max(0, elapsed − handle) in hours) and handle_minutes of
    a contact in SQL; the last two only where the contacts record handle_time_sec."""
    elapsed = ds.engine.dialect.seconds_between(_i(ds, "opened_at"), _i(ds, "closed_at"))
    out = {"resolution_hours": f"({elapsed} / 3600)"}
    if "handle_time_sec" in ds.columns["contacts"]:
        handle = f"CAST({_i(ds, 'handle_time_sec')} AS DOUBLE)"
        gap = f"({elapsed} - {handle})"
        out["first_response_bound_hours"] = f"(CASE WHEN {gap} < 0 THEN 0.0 ELSE {gap} END / 3600)"
        out["handle_minutes"] = f"({handle} / 60)"
        out["_exceeds"] = f"CASE WHEN {handle} > {elapsed} THEN 1 ELSE 0 END"
    return out


def contact_sums(ds, variable: str, rates: dict[str, str]) -> pd.DataFrame:
    """Per level of `variable` (text, sorted): contacts; `<time>_n`, the contacts whose time is known; for each
    rate (name → boolean contact column the data set has) `<name>_n` (known) and `<name>_k` (true);
    handle_exceeds_elapsed."""
    d, times = ds.engine.dialect, time_expressions(ds)
    parts = ["count(*) AS contacts"]
    parts += [f"count({times[t]}) AS {t}_n" for t in TIME_COLUMNS if t in times]
    for name, column in rates.items():
        parts += [f"count({_i(ds, column)}) AS {name}_n", f"sum(CASE WHEN {_i(ds, column)} THEN 1 ELSE 0 END) "
                  f"AS {name}_k"]
    parts.append(f"sum({times.get('_exceeds', '0')}) AS handle_exceeds_elapsed")
    v = _i(ds, variable)
    frame = ds.engine.frame(f"SELECT {d.text(v)} AS lvl, {', '.join(parts)} FROM contacts GROUP BY {v}")
    return frame.set_index("lvl").sort_index().fillna(0).astype(np.int64)


def daily_counts(ds, variable: str) -> pd.DataFrame:
    """Contacts per level of `variable` and calendar day of opening (columns lvl, day as 'YYYY-MM-DD', n)."""
    d, v, opened = ds.engine.dialect, _i(ds, variable), _i(ds, "opened_at")
    day = d.text(f"CAST({opened} AS DATE)")
    return ds.engine.frame(f"SELECT {d.text(v)} AS lvl, {day} AS day, count(*) AS n FROM contacts "
                           f"WHERE {opened} IS NOT NULL GROUP BY {v}, {day}")


def ranked_values(ds, variable: str, time: str, ranks: pd.DataFrame) -> pd.DataFrame:
    """The `time` of the contacts at the given 1-based ranks (`ranks`: lvl, k) within each level of `variable`,
    the known times sorted ascending (columns lvl, k, x)."""
    d, v = ds.engine.dialect, _i(ds, variable)
    expr = time_expressions(ds)[time]
    ds.engine.register("channel_ranks", ranks.astype({"lvl": str, "k": np.int64}))
    return ds.engine.frame(
        f"WITH t AS (SELECT {d.text(v)} AS lvl, {expr} AS x FROM contacts WHERE {expr} IS NOT NULL), "
        "r AS (SELECT lvl, x, row_number() OVER (PARTITION BY lvl ORDER BY x) AS k FROM t) "
        "SELECT r.lvl AS lvl, r.k AS k, r.x AS x FROM r JOIN channel_ranks w ON r.lvl = w.lvl AND r.k = w.k")


def survey_sums(ds, variable: str, good_sql: str | None) -> pd.DataFrame:
    """Per level of `variable` of the contacts (text, sorted) over their surveys (``frames.invitations``):
    invitations, responses (answered: a response time or a score), replies (answered with a CSAT), csat_sum,
    csat_sum2, csat_good (CSAT in `good_sql`, a condition on `s.csat`; 0 without one), and among the answers
    with an NPS: promoters (9–10), passives, detractors (0–6)."""
    d = ds.engine.dialect
    i = lambda c: _i(ds, c)  # noqa: E731
    has_nps = "nps" in ds.columns["surveys"]
    nps = f"s.{i('nps')}" if has_nps else "CAST(NULL AS DOUBLE)"
    answered = f"(s.{i('responded_at')} IS NOT NULL OR s.{i('csat')} IS NOT NULL OR {nps} IS NOT NULL)"
    scored = f"({answered} AND s.{i('csat')} IS NOT NULL)"
    rated = f"({answered} AND {nps} IS NOT NULL)"
    y = f"CAST(s.{i('csat')} AS DOUBLE)"

    def when(cond, value="1"):
        return f"sum(CASE WHEN {cond} THEN {value} ELSE 0 END)"
    parts = ["count(*) AS invitations", f"{when(answered)} AS responses", f"{when(scored)} AS replies",
             f"{when(scored, y)} AS csat_sum", f"{when(scored, f'{y} * {y}')} AS csat_sum2",
             f"{when(f'{scored} AND {good_sql}') if good_sql else '0'} AS csat_good",
             f"{when(f'{rated} AND {nps} >= {PROMOTER_MIN}')} AS promoters",
             f"{when(f'{rated} AND {nps} > {DETRACTOR_MAX} AND {nps} < {PROMOTER_MIN}')} AS passives",
             f"{when(f'{rated} AND {nps} <= {DETRACTOR_MAX}')} AS detractors"]
    v = f"c.{i(variable)}"
    frame = ds.engine.frame(f"SELECT {d.text(v)} AS lvl, {', '.join(parts)} FROM surveys s JOIN contacts c "
                            f"ON s.{i('contact_id')} = c.{i('contact_id')} GROUP BY {v}")
    frame = frame.set_index("lvl").sort_index().fillna(0)
    counts = ["invitations", "responses", "replies", "csat_good", "promoters", "passives", "detractors"]
    return frame.astype({c: np.int64 for c in counts} | {"csat_sum": float, "csat_sum2": float})


def response_cells(ds, variable: str, features, good_sql: str | None = None) -> pd.DataFrame:
    """Invitations (surveys with their contact) per `variable` × combination of `features` (contact columns;
    `credited` = credit_issued > 0, an empty credit_issued no credit; another NULL is a value): n (invitations),
    o (answered: a response time or a score), scored (answered with a CSAT) and y_sum (their Σ CSAT, or with
    `good_sql` the good ratings)."""
    i = lambda c: _i(ds, c)  # noqa: E731
    cols = list(dict.fromkeys([variable, *features]))
    expr = {c: contact_feature(ds, c) for c in cols}
    select = ", ".join(f"{e} AS {i(c)}" for c, e in expr.items())
    nps = f"s.{i('nps')}" if "nps" in ds.columns["surveys"] else "NULL"
    answered = f"(s.{i('responded_at')} IS NOT NULL OR s.{i('csat')} IS NOT NULL OR {nps} IS NOT NULL)"
    scored = f"({answered} AND s.{i('csat')} IS NOT NULL)"
    y = f"CASE WHEN {good_sql} THEN 1.0 ELSE 0.0 END" if good_sql else f"CAST(s.{i('csat')} AS DOUBLE)"
    frame = ds.engine.frame(f"SELECT {select}, count(*) AS n, sum(CASE WHEN {answered} THEN 1 ELSE 0 END) AS o, "
                            f"sum(CASE WHEN {scored} THEN 1 ELSE 0 END) AS scored, "
                            f"sum(CASE WHEN {scored} THEN {y} ELSE 0.0 END) AS y_sum FROM surveys s JOIN contacts c "
                            f"ON s.{i('contact_id')} = c.{i('contact_id')} GROUP BY {', '.join(expr.values())}")
    frame[variable] = frame[variable].astype(str)
    return frame.astype({"n": np.int64, "o": np.int64, "scored": np.int64, "y_sum": float})
