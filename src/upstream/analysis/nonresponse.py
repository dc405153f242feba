"""Who answers the survey, and what that does to the scores.

- `response_rates`: response rate overall and by contact feature, with Wilson intervals.
- `fit_response_model`: a response-propensity model from contact features (who answers) and
  inverse-propensity weights for the replies, with Kish's effective n.
- `weighted_scores`: CSAT, top-box and NPS, unweighted and weighted, overall and by a feature.
- `weighted_agent_effects`: the agent model refitted with the weights, as a sensitivity analysis.
- `tipping_point` / `verdict_tipping_points`: a δ-adjusted pattern-mixture analysis (National
  Research Council 2010, ch. 5) for non-response that depends on the score itself: shift the
  non-respondents' mean by δ from what their contact features predict under MAR (the (1 − p)/p-weighted
  mean of the replies) and find the δ that moves mean CSAT over every contact by a stated amount, or at
  which the study's own verdict rule (P(beyond the margin) ≥ 1 − max_false_sign) withdraws a verdict.
  Non-respondents are counted per contact: contacts never invited have no reply either.

Weighting corrects only for what the contact features explain about who answers; it cannot correct
non-response that depends on satisfaction itself (the tipping-point analysis bounds that). Case-mix
adjustment, not weighting, is the main tool for comparing agents (Elliott et al. 2005, HSR 40), so
weighted results are reported as a sensitivity analysis.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..data.frames import CONTACT_MIX
from ..data.model_formula import complete_varying, model_formula, present_mix
from ..models import lmer
from ..survey import PropensityModel, cell_propensity, kish_effective_n, nps, wilson_interval
from ..survey.constants import AGENT, DETRACTOR_MAX, PROMOTER_MIN
from .results import AnalysisResult, result

RESPONSE_FEATURES = ("channel", "policy", "product", "issue_type", "escalated", "repeat_within_7d",
                     "resolved_first_contact", "credited")


def _with_credited(frame: pd.DataFrame) -> pd.DataFrame:
    if "credited" not in frame and "credit_issued" in frame:
        frame = frame.assign(credited=frame["credit_issued"] > 0)
    return frame


def response_rates(inv: pd.DataFrame, by=("channel", "escalated", "repeat_within_7d", "credited", "policy"),
                   level: float = 0.95) -> pd.DataFrame:
    """Share of invitations answered, overall and per level of each feature (those the data set has),
    with Wilson intervals."""
    inv = _with_credited(inv)
    rows = [("overall", "all", int(inv["responded"].sum()), len(inv))]
    for col in [c for c in by if c in inv.columns]:
        for lvl, grp in inv.groupby(col, sort=True):
            rows.append((col, str(lvl), int(grp["responded"].sum()), len(grp)))
    return response_rate_table(rows, level)


def response_rate_table(rows: list[tuple], level: float = 0.95) -> pd.DataFrame:
    """``response_rates``' table from its counts: rows of (feature, level, responses, invitations)."""
    table = pd.DataFrame(rows, columns=["feature", "level", "responses", "invitations"])
    lo, hi = wilson_interval(table["responses"].to_numpy(), table["invitations"].to_numpy(), level)
    table["rate"] = table["responses"] / table["invitations"]
    table["lower"], table["upper"] = lo, hi
    return table.set_index(["feature", "level"])


@dataclass
class ResponseModel:
    propensity: PropensityModel
    weights: pd.Series          # inverse-propensity weights of the replies (index = invitation rows)
    effective_n: float          # Kish effective number of replies under the weights
    n_responses: int
    references: dict            # feature -> its reference level (what an odds ratio compares with)

    def describe_term(self, term: str) -> str:
        """'channel email vs chat' for a dummy term, 'escalated vs not' for a boolean."""
        for feature, ref in self.references.items():
            if term == feature:
                return f"{feature.replace('_', ' ')} vs not"
            if term.startswith(feature + "_"):
                return f"{feature.replace('_', ' ')} {term[len(feature) + 1:]} vs {ref}"
        return term.replace("_", " ")


def fit_response_model(inv: pd.DataFrame, features=RESPONSE_FEATURES) -> ResponseModel:
    """Logistic model of responding on contact features (those that vary and are never missing), fitted on the
    counts per feature cell (``survey.cell_propensity``: the rows' estimates); weights 1/p̂ for the replies."""
    inv = _with_credited(inv)
    features = complete_varying(inv, features)
    responded = inv["responded"].astype(bool)
    if features:
        cells = (inv[features].assign(o=responded.astype(float)).groupby(features, sort=True, observed=True)["o"]
                 .agg(n="size", o="sum").reset_index())
    else:
        cells = pd.DataFrame({"n": [len(inv)], "o": [float(responded.sum())]})
    fitted = cell_propensity(cells, features)
    p = (inv[features].merge(cells[features].assign(_p=fitted.propensity.to_numpy()), on=features, how="left")["_p"]
         .to_numpy() if features else np.full(len(inv), fitted.propensity.iloc[0]))
    model = replace(fitted, propensity=pd.Series(p, index=inv.index, name="propensity"),
                    weights=pd.Series(np.where(responded, 1 / p, np.nan), index=inv.index, name="weight"))
    w = model.weights.dropna()
    refs = {}
    for f in features:
        col = inv[f]
        if pd.api.types.is_bool_dtype(col.dtype):
            refs[f] = False
        elif isinstance(col.dtype, pd.CategoricalDtype):
            refs[f] = col.cat.categories[0]
        elif not pd.api.types.is_numeric_dtype(col.dtype):
            refs[f] = sorted(col.dropna().unique())[0]
    return ResponseModel(propensity=model, weights=w, effective_n=kish_effective_n(w), n_responses=len(w),
                         references=refs)


def weighted_scores(inv: pd.DataFrame, weights: pd.Series, by: str | None = None) -> pd.DataFrame:
    """Mean CSAT, top-box share (the `top_box` column of ``data.frames.invitations``: CSAT in the data set's
    declared top box) and NPS among replies, unweighted and inverse-propensity weighted."""
    resp = inv.loc[weights.index]
    groups = [("all", resp)] if by is None else list(resp.groupby(by, sort=True))
    rows = []
    for name, g in groups:
        w = weights.loc[g.index]
        c = g["csat"].astype(float)
        ok = c.notna()
        top = g["top_box"].astype("boolean").fillna(False).astype(bool)[ok]
        nps_scores = g["nps"].astype(float)
        nok = nps_scores.notna()
        wn = w[nok]
        prom = ((nps_scores[nok] >= PROMOTER_MIN) * wn).sum() / wn.sum() if nok.any() else np.nan
        det = ((nps_scores[nok] <= DETRACTOR_MAX) * wn).sum() / wn.sum() if nok.any() else np.nan
        has = bool(ok.any())
        rows.append({by or "group": name, "replies": int(ok.sum()),
                     "csat": c[ok].mean() if has else np.nan,
                     "csat_weighted": np.average(c[ok], weights=w[ok]) if has else np.nan,
                     "top_box": top.mean() if has else np.nan,
                     "top_box_weighted": np.average(top, weights=w[ok]) if has else np.nan,
                     "nps": nps(nps_scores[nok]).nps if nok.any() else np.nan,
                     "nps_weighted": 100 * (prom - det) if nok.any() else np.nan,
                     "kish_n": kish_effective_n(w[ok]) if has else np.nan})
    return pd.DataFrame(rows).set_index(by or "group")


@result
class WeightedAgentEffects(AnalysisResult):
    """Agent effects without and with the inverse-propensity weights (a sensitivity analysis)."""

    table: pd.DataFrame            # per agent: effect, cond_se, effect_weighted, cond_se_weighted, shift
    sd: float                      # the agent SD without the weights
    sd_weighted: float             # and with them
    formula: str
    health: tuple[str, ...] = ()   # problems of either fit


def weighted_agent_effects(resp: pd.DataFrame, weights: pd.Series, outcome: str = "csat",
                           mix=CONTACT_MIX) -> WeightedAgentEffects:
    """Agent effects (conditional modes) from the mixed model without and with the inverse-propensity
    weights. The weights enter lmer as precision weights scaled to sum to each agent's number of
    replies (the cluster-size scaling of Pfeffermann et al. 1998), a sensitivity analysis rather
    than a design-based estimator."""
    data = resp.loc[weights.index.intersection(resp.index)].copy()
    data = data[data[outcome].notna()]
    w = weights.loc[data.index]
    data["_w"] = w * data.groupby(AGENT)[AGENT].transform("size") / w.groupby(data[AGENT]).transform("sum")
    formula = model_formula(outcome, present_mix(data, mix))
    return compare_weighted(lmer(formula, data), lmer(formula, data, weights="_w"), formula)


def compare_weighted(base, weighted, formula: str) -> WeightedAgentEffects:
    """The agents' modes and conditional SEs of the unweighted and the weighted fit side by side, with the shift."""
    out = pd.DataFrame({"effect": base.ranef[AGENT]["mode"], "cond_se": base.ranef[AGENT]["cond_se"],
                        "effect_weighted": weighted.ranef[AGENT]["mode"],
                        "cond_se_weighted": weighted.ranef[AGENT]["cond_se"]})
    out["shift"] = out["effect_weighted"] - out["effect"]
    health = tuple(f"{label}: {line}" for label, fit in (("unweighted agent model", base),
                                                          ("weighted agent model", weighted)) for line in fit.health())
    return WeightedAgentEffects(out, sd=float(base.varcorr.loc[AGENT, "sd"]),
                                sd_weighted=float(weighted.varcorr.loc[AGENT, "sd"]), formula=formula, health=health)


#: Shifts δ (points) of the non-respondents' mean that the tipping-point table shows.
TIPPING_DELTAS = (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0)


def contact_replies(contacts: pd.DataFrame, inv: pd.DataFrame, outcome: str = "csat") -> pd.DataFrame:
    """Every contact of the period (invited or not) with `outcome` from its reply and `answered` (a reply
    with a value for `outcome`): the frame the tipping-point analysis counts non-respondents in."""
    cols = ["contact_id", outcome, "responded"]
    replies = inv.loc[inv["responded"] & inv[outcome].notna(), cols].drop_duplicates("contact_id")
    frame = _with_credited(contacts).drop(columns=[c for c in (outcome, "responded") if c in contacts])
    frame = frame.merge(replies, on="contact_id", how="left")
    frame["answered"] = frame[outcome].notna()
    return frame.drop(columns="responded")


def mar_nonrespondent_mean(y: np.ndarray, propensity: np.ndarray) -> float:
    """Mean of the non-respondents under MAR given the propensity model's features: the respondents'
    mean weighted by (1 − p)/p (each reply stands for (1 − p)/p contacts like it that did not reply).
    1/p weights would estimate the mean over everyone, respondents included."""
    w = (1 - propensity) / propensity
    return float(np.sum(w * y) / np.sum(w))


@result
class TippingPoint(AnalysisResult):
    """Tipping point of mean CSAT: a δ-adjusted pattern mixture over every contact of the period."""

    table: pd.DataFrame              # μ(δ) per δ (index delta, column mean)
    response_share: float            # r: contacts with a reply
    respondent_mean: float           # ȳ_R
    nonrespondent_mar_mean: float    # μ_NR under MAR given the contact features (NaN when every contact replied)
    mean_mar: float                  # μ(0)
    shift: float                     # the move of the mean the tipping point asks about
    delta_for_shift: float           # the δ that moves μ by `shift` (NaN when every contact replied)
    contacts: int
    every_contact: bool = True       # False: the contacts are only the surveyed ones (the data set lists no others)


def tipping_point(frame: pd.DataFrame, shift: float = 0.1, outcome: str = "csat", deltas=TIPPING_DELTAS,
                  features=RESPONSE_FEATURES) -> TippingPoint:
    """Mean `outcome` over every contact of the period under a δ-adjusted pattern mixture (`frame`:
    ``contact_replies``, one row per contact, invited or not). r = replies per contact; respondents as
    observed (ȳ_R); non-respondents at the mean their contact features predict (``mar_nonrespondent_mean``
    from a model of replying on contact features, MAR) plus δ: μ(δ) = r·ȳ_R + (1 − r)(μ_NR + δ). Gives
    response_share r, respondent_mean, nonrespondent_mar_mean μ_NR, mean_mar μ(0), shift, delta_for_shift
    (the δ that moves μ by `shift` points: shift/(1 − r); NaN when every contact replied), contacts and
    the table of μ(δ) for `deltas`."""
    answered = frame["answered"].astype(bool)
    r = float(answered.mean())
    y = frame.loc[answered, outcome].astype(float).to_numpy()
    mean_r = float(y.mean())
    if r < 1:
        model = fit_response_model(frame.assign(responded=answered), features)
        p = model.propensity.propensity.loc[answered[answered].index].to_numpy(float)
        mar = mar_nonrespondent_mean(y, p)
    else:
        mar = np.nan
    return tipping_point_of(r, mean_r, mar, len(frame), shift, deltas)


def tipping_point_of(r: float, mean_r: float, mar: float, contacts: int, shift: float = 0.1,
                     deltas=TIPPING_DELTAS) -> TippingPoint:
    """The TippingPoint of ``tipping_point`` from its inputs: the reply share r, the respondents' mean ȳ_R and the
    non-respondents' MAR mean μ_NR (NaN when every contact replied) over `contacts` contacts."""
    nonresp = 0.0 if r == 1 else 1 - r
    table = pd.DataFrame({"delta": deltas, "mean": [r * mean_r + nonresp * (mar + d) if r < 1 else mean_r
                                                     for d in deltas]})
    return TippingPoint(table.set_index("delta"), response_share=r, respondent_mean=mean_r,
                        nonrespondent_mar_mean=mar, mean_mar=r * mean_r + nonresp * mar if r < 1 else mean_r,
                        shift=shift, delta_for_shift=shift / (1 - r) if r < 1 else np.nan, contacts=contacts)


def verdict_tipping_points(effects: pd.DataFrame, frame: pd.DataFrame | None, draws: pd.DataFrame,
                           practical_margin: float = 0.0, max_false_sign: float = 0.05,
                           reply_share: pd.Series | None = None) -> pd.DataFrame:
    """For each agent with an above/below-average verdict: reply_share r_j (replies per contact of the
    agent, contacts never invited included) and tipping_delta, the shift of that agent's non-respondents
    alone (against what the model predicts for them) at which the study's own rule withdraws the verdict.
    The agent's effect over all its contacts is b_j + (1 − r_j)δ; "above average" needs
    P(b_j + (1 − r_j)δ > m) ≥ 1 − α (m `practical_margin`, α `max_false_sign`: the verdicts' own), which
    fails once (1 − r_j)δ < m − q_α,j with q_α,j the α-quantile of the agent's draws; "below average"
    likewise at (1 − r_j)δ > −m − q_1−α,j. `draws`: the effect draws the verdicts were made from; `reply_share`:
    r_j per agent id when `frame` is None (counted elsewhere, e.g. in SQL)."""
    judged = effects[effects["verdict"].isin(["above average", "below average"])]
    margin, alpha = float(practical_margin), float(max_false_sign)
    share = (frame["answered"].groupby(frame[AGENT].astype(str)).mean() if frame is not None
             else reply_share).reindex(judged.index)
    d = draws[judged.index].to_numpy(float)
    above = (judged["verdict"] == "above average").to_numpy()
    # the quantile at which the draws' share beyond the margin is exactly 1 − α
    q = np.where(above, np.quantile(d, alpha, axis=0), np.quantile(d, 1 - alpha, axis=0))
    move = np.where(above, margin - q, -margin - q)
    with np.errstate(divide="ignore", invalid="ignore"):
        # an agent whose every contact has a reply: nothing unanswered can undo the verdict
        delta = np.where(share.to_numpy() < 1, move / (1 - share.to_numpy()), np.nan)
    return pd.DataFrame({"verdict": judged["verdict"], "reply_share": share, "tipping_delta": delta},
                        index=judged.index)
