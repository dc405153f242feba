"""Per-agent scorecards: adjusted CSAT, top-box and NPS with intervals and reliability.

One row per agent with survey replies:

- adjusted CSAT (linear mixed model, bootstrap prediction interval) and, as a check that does not
  treat the 1–5 scale as interval data, the expected-CSAT effect from a cumulative-logit mixed
  model (clmm);
- top-box share (CSAT in the data set's declared top box, ``CsatScale.top_box``):
  raw with a Wilson interval, empirical-Bayes shrunken (beta-binomial
  prior fitted by marginal ML) with its posterior interval, and contact-mix adjusted (logistic
  mixed model, the agent's predicted share for the average contact);
- NPS: raw with the adjusted-Wald interval and shrunken (Dirichlet–multinomial prior);
- reliability (τ²/(τ² + σ²/n) from the CSAT model) and the reporting rule: below the threshold
  the agent is "not enough responses to rank" and gets no rank.

With shared credit (a ``contact_agents`` table) the CSAT model is the multiple-membership model of
``shared_credit`` (adjusted CSAT, reliability, ranks, verdicts), and each agent's rated contacts worked on
(``n_shared``), summed weight (``weighted_responses``) and rated contacts worked on that rating-time
attribution gives to another agent (``n_others``) are added. Raw and shrunken scores, NPS and the adjusted
top-box share still count each reply for its rating-time agent: the logistic model with ``(1 | mm(agent))``
takes 14 s on 782 replies and 20 agents (general Laplace engine) against 0.04 s for ``(1 | agent)``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from ..data.description import CsatScale
from ..data.model_formula import model_formula
from ..models import clmm, glmer
from ..survey import beta_binomial_shrinkage, nps_from_counts, shrunken_nps_from_counts, wilson_interval
from ..survey.constants import AGENT
from ..survey.nps import nps_counts
from .agents import AgentModel
from .shared_credit import handled_counts


def ordinal_agent_effects(frame: pd.DataFrame, mix, counts: str | None = None):
    """Cumulative-logit mixed model of CSAT 1–5: each agent's latent effect and its effect on
    expected CSAT for the average contact. Returns the effects and the fit. `counts`: a column of the
    replies each row stands for (cells of identical replies)."""
    formula = model_formula("csat", mix)
    present = sorted(int(v) for v in frame["csat"].dropna().unique())     # a scale point nobody used has no threshold
    fit = clmm(formula, frame.assign(csat=frame["csat"].astype(int)), levels=present, counts=counts)
    eff = fit.group_effects()
    return eff.rename(columns={"mode": "latent_effect", "cond_se": "latent_se"}), fit


def adjusted_top_box(frame: pd.DataFrame, mix, scale: CsatScale):
    """Each agent's predicted top-box share for the average contact (logistic mixed model of CSAT in the
    scale's top box on the contact mix with an agent intercept): mean over all replies of logistic(xβ + b_agent).
    Returns the shares and the fit (None when every reply is in the top box, or none is: the share is 1 or 0 for
    every agent and there is nothing to model)."""
    data = frame.assign(top=scale.in_top_box(frame["csat"]).astype(int))
    if data["top"].nunique() < 2:
        ids = pd.Index(sorted(data[AGENT].astype(str).unique()), name=AGENT)
        return pd.Series(float(data["top"].iloc[0]), index=ids, name="top_box_adjusted"), None
    fit = glmer(model_formula("top", mix), data)
    eta = fit.predict(include_random=False, type="link").to_numpy()
    b = fit.ranef[AGENT]["mode"]
    return pd.Series([expit(eta + v).mean() for v in b], index=b.index, name="top_box_adjusted"), fit


def agent_scorecards(model: AgentModel, eff: pd.DataFrame, scale: CsatScale, level: float = 0.95,
                     nps_replies: pd.DataFrame | None = None, ordinal_check: bool = True,
                     contact_agents: pd.DataFrame | None = None):
    """The scorecard table (see module docstring), sorted by adjusted CSAT with unranked agents last,
    and the fits it used ({"ordinal": clmm, "top_box": glmer}); top box: ``scale.top_box``.
    `eff`: the agents' effects and verdicts (``agents.agent_effects``). `nps_replies`: every reply
    with an NPS score (frames.responses(ds, "nps")); by default the NPS scores of the CSAT replies.
    `contact_agents`: shared credit (module docstring); `model` is then the shared agent model."""
    agent = model.agent
    frame = model.frame
    card = scorecard_base(eff)
    if contact_agents is not None:
        handled = handled_counts(frame.assign(contact_id=frame["contact_id"].astype(str)), contact_agents)
        card["n_shared"] = handled["n_shared"].reindex(card.index).fillna(0).astype(int)
        card["weighted_responses"] = handled["weighted_responses"].reindex(card.index).fillna(0.0)
        card["n_others"] = handled["n_others"].reindex(card.index).fillna(0).astype(int)
    # the linear model's check: does treating CSAT as a number matter?
    ordinal, ordinal_fit = ordinal_agent_effects(frame, model.mix) if ordinal_check else (None, None)
    ids = frame[agent].astype(str)
    top = pd.Series(scale.in_top_box(frame["csat"]), index=frame.index).groupby(ids).agg(["sum", "size"])
    adjusted, top_fit = adjusted_top_box(frame, model.mix, scale)
    source = frame if nps_replies is None else nps_replies
    with_nps = source[source["nps"].notna()].assign(_agent=lambda d: d[agent].astype(str))
    counts = nps_counts(with_nps, "nps", "_agent") if len(with_nps) else None
    return complete_scorecards(card, level, ordinal, top, adjusted, counts,
                               {"ordinal": ordinal_fit, "top_box": top_fit})


def scorecard_base(eff: pd.DataFrame) -> pd.DataFrame:
    """The scorecard's columns from the agent effects (adjusted CSAT, reliability, ranks, verdict, team)."""
    card = eff[["n_responses", "raw_score", "adjusted_score", "adjusted_lower", "adjusted_upper", "reliability",
                "rankable", "survey_flag", "raw_rank", "adjusted_rank", "rank_lower", "rank_upper", "lfsr",
                "p_bottom_decile", "verdict"]].rename(
        columns={"raw_score": "csat_raw", "adjusted_score": "csat_adjusted", "adjusted_lower": "csat_lower",
                 "adjusted_upper": "csat_upper"})
    for col in ("team", "tenure_months"):
        if col in eff:
            card[col] = eff[col]
    return card


def complete_scorecards(card: pd.DataFrame, level: float, ordinal: pd.DataFrame | None, top: pd.DataFrame,
                        adjusted: pd.Series, nps: pd.DataFrame | None, fits: dict):
    """The scorecard from its per-agent inputs — `ordinal` (``ordinal_agent_effects``, or None), `top` (top-box
    replies `sum` and all replies `size` per agent), `adjusted` (``adjusted_top_box``), `nps` (promoters, passives,
    detractors per agent, or None) — sorted by adjusted CSAT with unranked agents last, and the fits that are not
    None."""
    if ordinal is not None:
        card["csat_ordinal_effect"] = ordinal["expected_score_effect"].reindex(card.index)
    lo, hi = wilson_interval(top["sum"].to_numpy(), top["size"].to_numpy(), level)
    card["top_box_raw"] = (top["sum"] / top["size"]).reindex(card.index)
    card["top_box_lower"] = pd.Series(lo, index=top.index).reindex(card.index)
    card["top_box_upper"] = pd.Series(hi, index=top.index).reindex(card.index)
    eb = beta_binomial_shrinkage(top["sum"].to_numpy(), top["size"].to_numpy(), index=top.index, level=level)
    card["top_box_shrunken"] = eb.table["shrunken_rate"].reindex(card.index)
    card["top_box_shrunken_lower"] = eb.table["lower"].reindex(card.index)
    card["top_box_shrunken_upper"] = eb.table["upper"].reindex(card.index)
    card["top_box_adjusted"] = adjusted.reindex(card.index)
    if nps is not None:                          # replies with an NPS score
        raw = nps_from_counts(nps, level=level, method="adjusted-wald")
        shr = shrunken_nps_from_counts(nps, level=level).table
        card["nps_n"] = raw["n"].reindex(card.index)
        card["nps_raw"] = raw["nps"].reindex(card.index)
        card["nps_lower"] = raw["lower"].reindex(card.index)
        card["nps_upper"] = raw["upper"].reindex(card.index)
        card["nps_shrunken"] = shr["shrunken_nps"].reindex(card.index)
        card["nps_shrunken_lower"] = shr["lower"].reindex(card.index)
        card["nps_shrunken_upper"] = shr["upper"].reindex(card.index)
    ranked = card["rankable"] & ~card["survey_flag"]
    order = card.assign(_u=~ranked).sort_values(["_u", "csat_adjusted"], ascending=[True, False])
    return order.drop(columns="_u"), {name: fit for name, fit in fits.items() if fit is not None}


def display_scorecards(card: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """A readable version for reports: intervals as text, ranks only for rankable agents."""
    def iv(a, b, fmt):
        return [f"{x:{fmt}}–{y:{fmt}}" if pd.notna(x) and pd.notna(y) else "" for x, y in zip(a, b)]

    out = pd.DataFrame(index=labels.reindex(card.index).to_numpy())
    out.index.name = "agent"
    out["replies"] = card["n_responses"].to_numpy()
    out["CSAT raw"] = card["csat_raw"].round(2).to_numpy()
    out["CSAT adjusted"] = card["csat_adjusted"].round(2).to_numpy()
    out["95% interval"] = iv(card["csat_lower"], card["csat_upper"], ".2f")
    def whole(x):
        return pd.array(np.round(np.asarray(x, dtype=float)), dtype="Int64")

    out["top-box raw %"] = whole(100 * card["top_box_raw"])
    out["top-box shrunken %"] = whole(100 * card["top_box_shrunken"])
    out["top-box adjusted %"] = whole(100 * card["top_box_adjusted"])
    if "nps_raw" in card:
        out["NPS raw"] = whole(card["nps_raw"])
        out["NPS interval"] = iv(card["nps_lower"], card["nps_upper"], ".0f")
        out["NPS shrunken"] = whole(card["nps_shrunken"])
    out["reliability"] = (np.floor(100 * card["reliability"]) / 100).to_numpy()   # never shows 0.70 for 0.698
    rank = card["adjusted_rank"].astype("Int64").astype(str)
    rank_iv = [f"{a}–{b}" if pd.notna(a) else "" for a, b in zip(card["rank_lower"], card["rank_upper"])]
    out["rank (interval)"] = [f"{r} ({i})" if pd.notna(a) else verdict
                              for r, i, a, verdict in zip(rank, rank_iv, card["adjusted_rank"], card["verdict"])]
    out["verdict"] = card["verdict"].to_numpy()
    return out
