"""What survey_health asks of the rows, asked in SQL (DuckDB or Spark): counts per contact-feature cell (also the
survey screen's: ``analysis.aggregated.screen_sums_from_sql``, whose per-agent counts give the reply shares), and the
weighted replies of the agent model — never one row per contact or reply.

- `survey_view`: the view `survey_rows`, one row per contact (contacts LEFT JOIN surveys) with whether it was
  invited, answered (a response time or a score: ``frames.invitations``' `responded`), scored (answered with a
  CSAT), its score y, top box, NPS class and the response model's contact features.
- `survey_cells`: per combination of those features and the channel: contacts, invitations, replies, CSAT
  replies with Σy and top-box count, NPS answers with promoters and detractors. Everything the response rates,
  the response model (a binomial GLM on these counts has the row-level fit's likelihood), the weighted scores
  (inverse-propensity weights are a function of the cell), NPS and the tipping point need.
- `weighted_replies`: the CSAT replies with the agent model's columns and their weight 1/p̂ of their cell, kept
  as a table for the weighted agent model's per-agent sums (``aggregates.agent_sums(table=...)``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...survey.constants import AGENT, DETRACTOR_MAX, PROMOTER_MIN
from ..description import DEFAULT_CSAT, CsatScale
from ..frames import CONTACT_MIX
from .aggregates import contact_feature

#: The response model's contact features (``analysis.nonresponse.RESPONSE_FEATURES``); credited = credit_issued > 0.
SURVEY_FEATURES = ("channel", "policy", "product", "issue_type", "escalated", "repeat_within_7d",
                   "resolved_first_contact", "credited")
#: The counts of ``survey_cells``, per cell.
CELL_COUNTS = ("n", "invited", "responded", "scored", "sum_y", "top", "nps_n", "promoters", "detractors")


def survey_view(ds, features=SURVEY_FEATURES, scale: CsatScale = DEFAULT_CSAT) -> list[str]:
    """Create the view `survey_rows` (see the module docstring) and return the features the contacts have. y is
    CSAT as a number, or on a good/bad scale 1 for a good rating and 0 otherwise (the share of good ratings);
    credited is credit_issued > 0 (an empty credit_issued is not a credit, as in pandas)."""
    d = ds.engine.dialect
    i = d.ident
    have = set(ds.columns["contacts"])
    feats = [f for f in features if f in have or (f == "credited" and "credit_issued" in have)]
    keys = list(dict.fromkeys([*feats, *[m for m in CONTACT_MIX if m in have]]))
    answered = f"(s.{i('responded_at')} IS NOT NULL OR s.{i('csat')} IS NOT NULL OR s.{i('nps')} IS NOT NULL)"
    scored = f"({answered} AND s.{i('csat')} IS NOT NULL)"
    top = scale.top_box_sql("s." + i("csat"))
    y = f"CAST(CASE WHEN {top} THEN 1 ELSE 0 END AS DOUBLE)" if scale.is_binary else f"CAST(s.{i('csat')} AS DOUBLE)"
    nps = f"s.{i('nps')}"
    cols = ", ".join(f"{contact_feature(ds, f)} AS {i(f)}" for f in keys)
    ds.engine.view("survey_rows",
                   f"SELECT c.{i(AGENT)} AS {i(AGENT)}, c.{i('customer_id')} AS {i('customer_id')}, "
                   f"CASE WHEN s.{i('contact_id')} IS NULL THEN 0 ELSE 1 END AS invited, "
                   f"CASE WHEN {answered} THEN 1 ELSE 0 END AS responded, "
                   f"CASE WHEN {scored} THEN 1 ELSE 0 END AS scored, "
                   f"CASE WHEN {scored} THEN {y} END AS y, "
                   f"CASE WHEN {scored} AND {top} THEN 1 ELSE 0 END AS top, "
                   f"CASE WHEN {answered} AND {nps} IS NOT NULL THEN 1 ELSE 0 END AS nps_n, "
                   f"CASE WHEN {answered} AND {nps} >= {PROMOTER_MIN} THEN 1 ELSE 0 END AS promoters, "
                   f"CASE WHEN {answered} AND {nps} <= {DETRACTOR_MAX} THEN 1 ELSE 0 END AS detractors, {cols} "
                   f"FROM contacts c LEFT JOIN surveys s ON c.{i('contact_id')} = s.{i('contact_id')}")
    return feats


def survey_cells(ds, features: list[str]) -> pd.DataFrame:
    """Per combination of `features` and the channel (NULL is a value; after ``survey_view``): CELL_COUNTS.
    At most a few tens of thousands of rows whatever the number of contacts."""
    i = ds.engine.dialect.ident
    keys = list(dict.fromkeys([*features, "channel"]))
    cols = ", ".join(i(k) for k in keys)
    frame = ds.engine.frame(f"SELECT {cols}, count(*) AS n, sum(invited) AS invited, sum(responded) AS responded, "
                            "sum(scored) AS scored, sum(y) AS sum_y, sum(top) AS top, sum(nps_n) AS nps_n, "
                            "sum(promoters) AS promoters, sum(detractors) AS detractors "
                            f"FROM survey_rows GROUP BY {cols}")
    frame["sum_y"] = frame["sum_y"].astype(float).fillna(0.0)
    counts = [c for c in CELL_COUNTS if c != "sum_y"]
    return frame.astype({c: np.int64 for c in counts})


def weighted_replies(ds, cells: pd.DataFrame, features: list[str], mix=CONTACT_MIX) -> int:
    """Materialise `weighted_replies` (after ``survey_view``): the CSAT replies with agent, `mix` and y, and rw,
    the weight of their feature cell (`cells`: `features` and a column `weight`); returns its row count."""
    i = ds.engine.dialect.ident
    ds.engine.register("survey_weights", cells[[*features, "weight"]])
    on = " AND ".join(f"t.{i(f)} = q.{i(f)}" for f in features) or "TRUE"
    complete = " AND ".join(f"t.{i(c)} IS NOT NULL" for c in (AGENT, *mix))
    ds.engine.table("weighted_replies",
                    f"SELECT {', '.join(f't.{i(c)}' for c in (AGENT, *mix))}, t.y AS y, q.weight AS rw "
                    f"FROM survey_rows t JOIN survey_weights q ON {on} WHERE t.scored = 1 AND {complete}")
    return int(ds.engine.rows("SELECT count(*) FROM weighted_replies")[0][0])


def per_agent_scaled_weight(ds) -> str:
    """The SQL weight of a row of `weighted_replies` scaled to sum to its agent's number of replies (the scaling
    of ``nonresponse.weighted_agent_effects``): rw · n_agent / Σ_agent rw."""
    agent = ds.engine.dialect.ident(AGENT)
    return f"rw * count(*) OVER (PARTITION BY {agent}) / sum(rw) OVER (PARTITION BY {agent})"
