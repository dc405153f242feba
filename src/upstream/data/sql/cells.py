"""Counts of identical replies, asked in SQL: what the latent-scale agent models (logistic, cumulative logit)
and the scorecards need instead of the rows.

- `rating_cells`: replies per agent × contact-mix cell × rating (after ``aggregates.prepare_replies``): a
  glmer of binomial cells and a clmm with frequency weights fitted to them are the fits of the rows written
  out (the engine merges identical rows into these cells anyway). On a 5-point scale there are at most
  agents × mix cells × 5 of them, and usually far fewer (most agents meet a few hundred mix cells).
- `nps_counts`: promoters, passives and detractors per agent among the replies with an NPS score
  (``frames.responses(ds, "nps")``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...survey.constants import AGENT

#: The column of a cell's count of replies.
REPLIES = "n"


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
        f"sum(CASE WHEN s.{i('nps')} >= 9 THEN 1 ELSE 0 END) AS promoters, "
        f"sum(CASE WHEN s.{i('nps')} > 6 AND s.{i('nps')} < 9 THEN 1 ELSE 0 END) AS passives, "
        f"sum(CASE WHEN s.{i('nps')} <= 6 THEN 1 ELSE 0 END) AS detractors "
        f"FROM surveys s JOIN contacts c ON s.{i('contact_id')} = c.{i('contact_id')} "
        f"WHERE {answered} AND s.{i('nps')} IS NOT NULL AND c.{i(AGENT)} IS NOT NULL GROUP BY c.{i(AGENT)}")
    frame = frame.astype({"agent": str}).set_index("agent").sort_index()
    frame.index.name = AGENT
    return frame.astype(np.int64)
