"""Who answers the survey, from counts per contact-feature cell (``data.sql.survey``): the same estimates as
``analysis.nonresponse`` computes from the rows, for data sets that live in DuckDB or Spark.

- the response model: the logistic regression of replying on the contact features, fitted as a binomial GLM on
  the replies out of the invitations of each cell (the row-level likelihood, so the same estimates, standard
  errors and p-values); its inverse-propensity weight 1/p̂ is a function of the cell;
- response rates, NPS, and unweighted and weighted scores: sums of the cells' counts (weighted: each cell's sums
  times its weight);
- the tipping point: the reply share, the respondents' mean and the non-respondents' MAR mean
  Σ (1 − p̂)/p̂ · Σy / Σ (1 − p̂)/p̂ · replies over the cells, p̂ from the model of a CSAT reply per contact;
- the weighted agent model: per-agent sums of the replies with their cell's weight scaled to sum to each
  agent's replies (SQL window sums), fitted by ``lmer_from_stats`` — lmer's weighted REML from the rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.frames import CONTACT_MIX
from ..data.model_formula import complete_varying, model_formula
from ..data.sql import aggregates as sql
from ..data.sql import survey as survey_sql
from ..models import lmer_from_stats
from ..survey import NpsEstimate, cell_propensity, nps_from_counts
from ..survey.nps import nps_point
from .aggregated import group_stats
from .nonresponse import (
    RESPONSE_FEATURES,
    ResponseModel,
    TippingPoint,
    WeightedAgentEffects,
    compare_weighted,
    response_rate_table,
    tipping_point_of,
)


@dataclass
class CellResponseModel(ResponseModel):
    """A ResponseModel fitted on feature cells: `weights` and `propensity.propensity` are per cell (index of
    `cells`), `cells` the cells of the features used with invitations, responses, p (p̂) and weight (1/p̂)."""

    cells: pd.DataFrame = field(default=None, repr=False)


def _coarse(cells: pd.DataFrame, features: list[str], counts: list[str]) -> pd.DataFrame:
    """The cells merged to the combinations of `features` (one row when none), `counts` summed."""
    if not features:
        return cells[counts].sum().to_frame().T.astype(cells[counts].dtypes.to_dict())
    return cells.groupby(features, sort=True)[counts].sum().reset_index()


def response_model_from_cells(cells: pd.DataFrame, features=RESPONSE_FEATURES) -> CellResponseModel:
    """``nonresponse.fit_response_model`` from ``survey_sql.survey_cells``: the features that vary and are never
    missing among the invitations, the GLM on the invitations' cells, weights 1/p̂ per cell."""
    invited = cells[cells["invited"] > 0]
    use = complete_varying(invited, features)
    coarse = _coarse(invited, use, ["invited", "responded"])
    model = cell_propensity(coarse, use, n="invited", o="responded")
    coarse["p"], coarse["weight"] = model.propensity, model.weights
    responses = coarse["responded"].to_numpy(float)
    w = coarse["weight"].to_numpy()
    refs = {f: False if pd.api.types.is_bool_dtype(coarse[f].dtype) or coarse[f].map(type).eq(bool).all()
            else sorted(coarse[f].unique())[0] for f in use}
    effective_n = float((responses @ w) ** 2 / (responses @ w ** 2))
    return CellResponseModel(propensity=model, weights=model.weights, effective_n=effective_n,
                             n_responses=int(responses.sum()), references=refs, cells=coarse)


def response_rates_from_cells(cells: pd.DataFrame, by=("channel", "escalated", "repeat_within_7d", "credited",
                                                       "policy"), level: float = 0.95) -> pd.DataFrame:
    """``nonresponse.response_rates`` from the cells: replies out of invitations overall and per feature level."""
    invited = cells[cells["invited"] > 0]
    rows = [("overall", "all", int(invited["responded"].sum()), int(invited["invited"].sum()))]
    for col in [c for c in by if c in cells.columns]:
        for lvl, grp in invited.groupby(col, sort=True):
            rows.append((col, str(lvl), int(grp["responded"].sum()), int(grp["invited"].sum())))
    return response_rate_table(rows, level)


def nps_from_cells(cells: pd.DataFrame) -> NpsEstimate:
    """``survey.nps`` of every answered NPS score, from the cells' promoters, detractors and answers."""
    P, D, n = (int(cells[c].sum()) for c in ("promoters", "detractors", "nps_n"))
    _, p, d, score, se = nps_point(P, n - P - D, D)
    return NpsEstimate(n=n, promoters=P, passives=n - P - D, detractors=D, p_promoter=float(p),
                       p_detractor=float(d), nps=float(score), se=float(se))


def nps_by_channel_from_cells(cells: pd.DataFrame, by: str = "channel") -> pd.DataFrame:
    """``survey.nps_by_group`` of the NPS answers by `by`, from the cells."""
    answered = cells[cells["nps_n"] > 0].assign(passives=lambda c: c["nps_n"] - c["promoters"] - c["detractors"])
    counts = answered.groupby(by, sort=True)[["promoters", "passives", "detractors"]].sum().astype("int64")
    counts.index = counts.index.astype(object)
    return nps_from_counts(counts)


def weighted_scores_from_cells(cells: pd.DataFrame, response: CellResponseModel, by: str | None = None
                               ) -> pd.DataFrame:
    """``nonresponse.weighted_scores`` from the cells: each cell's sums unweighted and times its weight 1/p̂."""
    use = response.propensity.features
    replied = cells[cells["responded"] > 0]
    if use:
        replied = replied.merge(response.cells[use + ["weight"]], on=use, how="left")
    else:
        replied = replied.assign(weight=float(response.cells["weight"].iloc[0]))
    groups = [("all", replied)] if by is None else list(replied.groupby(by, sort=True))
    rows = []
    for name, g in groups:
        w = g["weight"].to_numpy(float)
        scored, n_nps = g["scored"].to_numpy(float), g["nps_n"].to_numpy(float)
        has, nok = scored.sum() > 0, n_nps.sum() > 0
        ws, wn = w @ scored, w @ n_nps
        prom, det = g["promoters"].to_numpy(float), g["detractors"].to_numpy(float)
        rows.append({by or "group": name, "replies": int(scored.sum()),
                     "csat": g["sum_y"].sum() / scored.sum() if has else np.nan,
                     "csat_weighted": w @ g["sum_y"].to_numpy(float) / ws if has else np.nan,
                     "top_box": g["top"].sum() / scored.sum() if has else np.nan,
                     "top_box_weighted": w @ g["top"].to_numpy(float) / ws if has else np.nan,
                     "nps": 100 * (prom.sum() - det.sum()) / n_nps.sum() if nok else np.nan,
                     "nps_weighted": 100 * (w @ prom / wn - w @ det / wn) if nok else np.nan,
                     "kish_n": ws ** 2 / (w ** 2 @ scored) if has else np.nan})
    return pd.DataFrame(rows).set_index(by or "group")


def tipping_point_from_cells(cells: pd.DataFrame, shift: float = 0.1, features=RESPONSE_FEATURES) -> TippingPoint:
    """``nonresponse.tipping_point`` over every contact from the cells (n contacts, scored with a CSAT reply,
    sum_y): the MAR mean of the non-respondents from the logistic model of a reply on the contact features."""
    n, scored = float(cells["n"].sum()), float(cells["scored"].sum())
    r, mean_r = scored / n, float(cells["sum_y"].sum()) / scored
    mar = np.nan
    if r < 1:
        use = complete_varying(cells, features)
        coarse = _coarse(cells, use, ["n", "scored", "sum_y"])
        p = cell_propensity(coarse, use, n="n", o="scored").propensity.to_numpy()
        answered = coarse["scored"].to_numpy(float) > 0
        odds = (1 - p[answered]) / p[answered]
        mar = float(odds @ coarse["sum_y"].to_numpy(float)[answered]
                    / (odds @ coarse["scored"].to_numpy(float)[answered]))
    return tipping_point_of(r, mean_r, mar, int(n), shift)


def weighted_agent_effects_from_sql(ds, response: CellResponseModel, mix=CONTACT_MIX) -> WeightedAgentEffects:
    """``nonresponse.weighted_agent_effects`` from per-agent sums (after ``survey_sql.survey_view``): the CSAT
    replies with their cell's weight, scaled to sum to each agent's replies, in the agent model's weighted REML
    (from the total X'WX: the fits need no agent's own, which at 20,000 agents would be millions of numbers)."""
    survey_sql.weighted_replies(ds, response.cells, response.propensity.features, mix)
    design = sql.mix_design(ds, mix, table="weighted_replies")
    base = lmer_from_stats(group_stats(ds, design, "csat", per_group_xtx=False, table="weighted_replies"))
    weighted = lmer_from_stats(group_stats(ds, design, "csat", weight=survey_sql.per_agent_scaled_weight(ds),
                                           per_group_xtx=False, table="weighted_replies"))
    return compare_weighted(base, weighted, model_formula("csat", design.mix))


def reply_shares(counts: pd.DataFrame) -> pd.Series:
    """Per agent: the share of its contacts with a CSAT reply, from per-agent `contacts` and `scored` (the survey
    screen's sums, ``aggregated.screen_sums_from_sql``)."""
    return counts["scored"] / counts["contacts"]
