"""Counts of identical replies, asked in SQL: what the latent-scale agent models (logistic, cumulative logit)
and the scorecards need instead of the rows.

- `rating_cells`: replies per agent × contact-mix cell × rating (after ``aggregates.prepare_replies``): a
  glmer of binomial cells and a clmm with frequency weights fitted to them are the fits of the rows written
  out (the engine merges identical rows into these cells anyway). On a 5-point scale there are at most
  agents × mix cells × 5 of them, and usually far fewer (most agents meet a few hundred mix cells).
- `unrated_cells`: contacts without a CSAT reply per agent × contact-mix cell (what a QA review of a latent-scale
  model weighs: a rating's information depends on the contact's mix), each distinct mix once (`MixCounts`).
- `nps_counts`: promoters, passives and detractors per agent among the replies with an NPS score
  (``frames.responses(ds, "nps")``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...survey.constants import AGENT, DETRACTOR_MAX, PROMOTER_MIN
from .aggregates import rated_contacts

#: The column of a cell's count of replies.
REPLIES = "n"
#: The column of a cell's count of contacts (``analysis.latent`` reads contact cells by it).
CONTACTS = "n_contacts"
#: The column of `MixCounts.counts` that names a row of `MixCounts.mix`.
CELL = "cell"


@dataclass(frozen=True)
class MixCounts:
    """Contacts per agent × contact-mix cell with each distinct mix written once: `mix` one row per mix cell
    (the mix variables), `counts` one row per agent × cell: AGENT, CELL (a row number of `mix`) and CONTACTS."""

    mix: pd.DataFrame
    counts: pd.DataFrame


def rating_cells(ds, mix, rating: str = "rating") -> pd.DataFrame:
    """Replies per agent × `mix` levels × outcome value of the table `replies` (column y): AGENT and the mix
    (strings), `rating` (the outcome as a whole number) and REPLIES, sorted by agent, mix and rating."""
    d = ds.engine.dialect
    keys = [AGENT, *mix]
    cols = ", ".join(f"{d.text(d.ident(c))} AS {d.ident(c)}" for c in keys)
    group = ", ".join(d.ident(c) for c in keys)
    frame = ds.engine.frame(f"SELECT {cols}, CAST(y AS BIGINT) AS {d.ident(rating)}, count(*) AS {REPLIES} "
                            f"FROM replies GROUP BY {group}, y")
    frame = frame.astype({**{c: str for c in keys}, rating: np.int64, REPLIES: np.int64})
    return frame.sort_values([*keys, rating], kind="stable").reset_index(drop=True)


def nps_counts(ds) -> pd.DataFrame:
    """Per agent (index, sorted as text): promoters (9–10), passives (7–8) and detractors (0–6) among the
    answered surveys with an NPS score whose contact has an agent."""
    d = ds.engine.dialect
    i = d.ident
    answered = f"(s.{i('responded_at')} IS NOT NULL OR s.{i('csat')} IS NOT NULL OR s.{i('nps')} IS NOT NULL)"
    frame = ds.engine.frame(
        f"SELECT {d.text('c.' + i(AGENT))} AS agent, "
        f"sum(CASE WHEN s.{i('nps')} >= {PROMOTER_MIN} THEN 1 ELSE 0 END) AS promoters, "
        f"sum(CASE WHEN s.{i('nps')} > {DETRACTOR_MAX} AND s.{i('nps')} < {PROMOTER_MIN} THEN 1 ELSE 0 END) "
        "AS passives, "
        f"sum(CASE WHEN s.{i('nps')} <= {DETRACTOR_MAX} THEN 1 ELSE 0 END) AS detractors "
        f"FROM surveys s JOIN contacts c ON s.{i('contact_id')} = c.{i('contact_id')} "
        f"WHERE {answered} AND s.{i('nps')} IS NOT NULL AND c.{i(AGENT)} IS NOT NULL GROUP BY c.{i(AGENT)}")
    frame = frame.astype({"agent": str}).set_index("agent").sort_index()
    frame.index.name = AGENT
    return frame.astype(np.int64)


def customer_residual_products(ds, columns, beta, modes: pd.Series, outcome: str) -> np.ndarray:
    """B = Σ_k u_k u_k' (p × p) over the customers k of the table `replies`, u_k = Σ_{i∈k} x_i e_i: the design
    `columns` (None: the intercept; (variable, level): its dummy) times each reply's logistic residual
    e = `outcome` − logit⁻¹(x'β + b_agent), `outcome` a SQL expression of the reply's 0/1 value (over `r.y`),
    `beta` the coefficients in `columns` order, `modes` the agents' conditional modes b (index: agent ids)."""
    d = ds.engine.dialect
    ds.engine.register("latent_agent_modes", pd.DataFrame({"g": modes.index.astype(str), "b": modes.to_numpy(float)}))

    def dummy(column, then: str, prefix: str = "r.") -> str:
        variable, level = column
        return f"CASE WHEN {prefix}{d.ident(variable)} = {d.literal(level)} THEN {then} ELSE 0.0 END"

    eta = " + ".join(repr(float(b)) if c is None else dummy(c, repr(float(b))) for c, b in zip(columns, beta))
    mix = "".join(f", r.{d.ident(v)}" for v in dict.fromkeys(c[0] for c in columns if c is not None))
    u = ", ".join(("sum(e)" if c is None else f"sum({dummy(c, 'e', '')})") + f" AS u{j}" for j, c in enumerate(columns))
    pairs = [(a, b) for a in range(len(columns)) for b in range(a, len(columns))]
    residual = f"({outcome}) - 1.0 / (1.0 + exp(-({eta} + coalesce(m.b, 0.0))))"
    agent = d.text("r." + d.ident(AGENT))
    row = ds.engine.rows(
        f"WITH e AS (SELECT r.{d.ident('customer_id')} AS k{mix}, {residual} AS e FROM replies r "
        f"LEFT JOIN latent_agent_modes m ON {agent} = m.g), u AS (SELECT {u} FROM e GROUP BY k) "
        f"SELECT {', '.join(f'sum(u{a} * u{b})' for a, b in pairs)} FROM u")[0]
    out = np.zeros((len(columns), len(columns)))
    for (a, b), value in zip(pairs, row):
        out[a, b] = out[b, a] = float(value)
    return out


def unrated_cells(ds, mix) -> MixCounts:
    """Contacts with an agent and without a CSAT reply per agent × `mix` levels, each distinct mix once: `mix`
    one row per mix cell (the mix as text), `counts` AGENT (text), CELL (the row of `mix`) and CONTACTS.
    At 10 million contacts there are about 6 million agent × mix cells but a few thousand mix cells: a frame
    of the mix as text per agent × cell took 4.7 GB in the QA study's kernel, this one about 0.3 GB."""
    d = ds.engine.dialect
    mix = list(mix)
    keys = [AGENT, *mix]
    cols = ", ".join(f"{d.text('c.' + d.ident(k))} AS {d.ident(k)}" for k in keys)
    group = ", ".join(f"c.{d.ident(k)}" for k in keys)
    unrated = f"r.cid IS NULL AND c.{d.ident(AGENT)} IS NOT NULL"
    ds.engine.table("unrated_agent_mix", f"SELECT {cols}, count(*) AS {CONTACTS} FROM contacts c LEFT JOIN "
                                         f"({rated_contacts(ds)}) r ON c.{d.ident('contact_id')} = r.cid "
                                         f"WHERE {unrated} GROUP BY {group}")
    m = ", ".join(d.ident(k) for k in mix)
    if mix:
        ds.engine.table("unrated_mix", f"SELECT {m}, row_number() OVER (ORDER BY {m}) - 1 AS {CELL} "
                                       f"FROM (SELECT DISTINCT {m} FROM unrated_agent_mix) t")
        on = " AND ".join(f"u.{d.ident(k)} IS NOT DISTINCT FROM x.{d.ident(k)}" for k in mix)
        counts = ds.engine.frame(f"SELECT u.{d.ident(AGENT)} AS {d.ident(AGENT)}, x.{CELL} AS {CELL}, "
                                 f"u.{CONTACTS} AS {CONTACTS} FROM unrated_agent_mix u JOIN unrated_mix x ON {on}")
        cells = ds.engine.frame(f"SELECT {m} FROM unrated_mix ORDER BY {CELL}")
    else:
        counts = ds.engine.frame(f"SELECT {d.ident(AGENT)}, 0 AS {CELL}, {CONTACTS} FROM unrated_agent_mix")
        cells = pd.DataFrame(index=pd.RangeIndex(1 if len(counts) else 0))
    counts = counts.astype({AGENT: str, CELL: np.int64, CONTACTS: np.int64})
    return MixCounts(mix=cells.astype({k: str for k in mix}), counts=counts)
