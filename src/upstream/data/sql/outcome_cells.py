"""The contact-level models of rates and NPS asked in SQL (``analysis.outcome_cells`` fits them): a logistic
or cumulative-logit model with one agent intercept depends on the rows only through the counts per agent × mix
cell (× outcome), so those counts are all that come back — at most agents × mix cells rows, however many
contacts. And, for the customer design effect of a rate's level effects (``latent.customer_design_effects``),
one pass that sums each customer's estimating-equation contributions given the fitted probabilities.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...survey.constants import AGENT

CUSTOMER = "customer_id"


def _i(ds, name: str) -> str:
    return ds.engine.dialect.ident(name)


def _used(ds, outcome: str, mix, alias: str = "", agents: bool = False) -> str:
    """The contacts a rate model of `outcome` uses: the outcome, the agent and every mix variable known (and,
    with `agents`, the agent one of the table `rate_agents`)."""
    known = " AND ".join(f"{alias}{_i(ds, c)} IS NOT NULL" for c in (outcome, AGENT, *mix))
    text = ds.engine.dialect.text(f"{alias}{_i(ds, AGENT)}")
    return known + (f" AND {text} IN (SELECT a FROM rate_agents)" if agents else "")


def use_agents(ds, agents) -> None:
    """The agents (ids as text) a rate model's cells are limited to (``rate_cells(..., agents=True)``)."""
    ds.engine.register("rate_agents", pd.DataFrame({"a": [str(a) for a in agents]}))


def cells_per_agent_of(ds, outcomes, mix) -> pd.DataFrame:
    """The number of agent × mix cells of each agent among the contacts recording each of `outcomes`, in one pass:
    per agent (id as text, sorted; the agents with a known agent and mix), one column per outcome (0: none)."""
    text = ds.engine.dialect.text(_i(ds, AGENT))
    keys = ", ".join(_i(ds, c) for c in (AGENT, *mix))
    known = " AND ".join(f"{_i(ds, c)} IS NOT NULL" for c in (AGENT, *mix))
    counts = ", ".join(f"count({_i(ds, o)}) AS n{j}" for j, o in enumerate(outcomes))
    cells = ", ".join(f"sum(CASE WHEN n{j} > 0 THEN 1 ELSE 0 END)" for j in range(len(outcomes)))
    rows = ds.engine.rows(f"SELECT a, {cells} FROM (SELECT {text} AS a, {counts} FROM contacts WHERE {known} "
                          f"GROUP BY {keys}) t GROUP BY a")
    frame = pd.DataFrame([[int(v) for v in r[1:]] for r in rows], index=[str(r[0]) for r in rows],
                         columns=list(outcomes), dtype=np.int64)
    return frame.sort_index()


def rate_cells(ds, outcome: str, mix, agents: bool = False) -> pd.DataFrame:
    """Per agent × mix cell of the contacts that record `outcome` (a boolean column): the agent and mix levels
    as text, n (contacts) and k (true); with `agents`, only the agents of ``use_agents``."""
    text = ds.engine.dialect.text
    cols = [AGENT, *mix]
    keys = ", ".join(_i(ds, c) for c in cols)
    select = ", ".join(f"{text(_i(ds, c))} AS {_i(ds, c)}" for c in cols)
    frame = ds.engine.frame(f"SELECT {select}, count(*) AS n, sum(CASE WHEN {_i(ds, outcome)} THEN 1 ELSE 0 END) "
                            f"AS k FROM contacts WHERE {_used(ds, outcome, mix, agents=agents)} GROUP BY {keys}")
    return frame.sort_values(cols, kind="stable").reset_index(drop=True).astype({"n": np.int64, "k": np.int64})


def _nps_replies(ds, mix, agents: bool = False) -> str:
    """FROM … WHERE of the answered surveys with an NPS whose agent and mix are known (surveys s, contacts c; with
    `agents`, only the agents of ``use_agents``)."""
    i = lambda c: _i(ds, c)  # noqa: E731
    nps = f"s.{i('nps')}"
    answered = f"(s.{i('responded_at')} IS NOT NULL OR s.{i('csat')} IS NOT NULL OR {nps} IS NOT NULL)"
    complete = " AND ".join(f"c.{i(c)} IS NOT NULL" for c in (AGENT, *mix))
    chosen = f" AND {ds.engine.dialect.text('c.' + i(AGENT))} IN (SELECT a FROM rate_agents)" if agents else ""
    return (f"FROM surveys s JOIN contacts c ON s.{i('contact_id')} = c.{i('contact_id')} WHERE {answered} AND "
            f"{nps} IS NOT NULL AND {complete}{chosen}")


def nps_cells_per_agent(ds, mix) -> pd.Series:
    """The number of agent × mix × NPS-value cells of each agent (id as text, sorted) among ``nps_cells``'s replies."""
    text = ds.engine.dialect.text(f"c.{_i(ds, AGENT)}")
    keys = ", ".join(f"c.{_i(ds, c)}" for c in (AGENT, *mix))
    rows = ds.engine.rows(f"SELECT a, count(*) FROM (SELECT {text} AS a {_nps_replies(ds, mix)} GROUP BY {keys}, "
                          f"s.{_i(ds, 'nps')}) t GROUP BY a")
    return pd.Series({str(a): int(n) for a, n in rows}, dtype=np.int64).sort_index()


def nps_cells(ds, mix, agents: bool = False) -> pd.DataFrame:
    """Per agent × mix cell × NPS value of the answered surveys with an NPS (``frames.responses(ds, "nps")``)
    whose agent and mix are known: the agent and mix levels as text, nps (whole number) and n (replies); with
    `agents`, only the agents of ``use_agents``."""
    d = ds.engine.dialect
    i = lambda c: _i(ds, c)  # noqa: E731
    cols = [AGENT, *mix]
    keys = ", ".join(f"c.{i(c)}" for c in cols)
    select = ", ".join(f"{d.text('c.' + i(c))} AS {i(c)}" for c in cols)
    nps = f"s.{i('nps')}"
    frame = ds.engine.frame(f"SELECT {select}, {d.bigint(nps)} AS nps, count(*) AS n {_nps_replies(ds, mix, agents)} "
                            f"GROUP BY {keys}, {nps}")
    return frame.sort_values([*cols, "nps"], kind="stable").reset_index(drop=True).astype({"n": np.int64,
                                                                                          "nps": np.int64})


def customer_squares(ds, outcome: str, mix, cells: pd.DataFrame, columns: list[str],
                     agents: bool = False) -> tuple[np.ndarray, int]:
    """Σ over customers of (Σ over the customer's contacts of h·(y − p))², one number per column h of `columns`:
    `cells` (agent × mix cell, as ``rate_cells``) carries the fitted probability `p` and each column's value;
    y is the contact's outcome (1/0). Contacts without a customer id count as one customer, as in pandas. And, from
    the same pass, ``repeat_customers``: the customers (with an id) with two or more of those contacts."""
    d = ds.engine.dialect
    keys = [AGENT, *mix]
    table = cells[keys + ["p", *columns]].rename(columns={c: f"h{j}" for j, c in enumerate(columns)})
    ds.engine.register("rate_cell_terms", table)
    on = " AND ".join(f"{d.text('c.' + _i(ds, k))} = q.{_i(ds, k)}" for k in keys)
    y = f"CASE WHEN c.{_i(ds, outcome)} THEN 1.0 ELSE 0.0 END"
    c = f"c.{_i(ds, CUSTOMER)}"
    per = ", ".join(f"sum(q.h{j} * ({y} - q.p)) AS a{j}" for j in range(len(columns)))
    squares = ", ".join(f"sum(a{j} * a{j})" for j in range(len(columns)))
    row = ds.engine.rows(f"SELECT {squares}, sum(CASE WHEN customer IS NOT NULL AND used >= 2 THEN 1 ELSE 0 END) FROM "
                         f"(SELECT {c} AS customer, count(*) AS used, {per} FROM contacts c JOIN rate_cell_terms q ON "
                         f"{on} WHERE {_used(ds, outcome, mix, 'c.', agents)} GROUP BY {c}) t")[0]
    return np.array([float(v) for v in row[:-1]]), int(row[-1] or 0)
