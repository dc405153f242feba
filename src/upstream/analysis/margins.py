"""Effects of a contact-mix level on a rate or on NPS, in the outcome's own units, against the average contact.

Rates (repeat contact, escalation, first-contact resolution) are fitted by a logistic mixed model on
*all* contacts, `outcome ~ policy + product + channel + issue_type + (1 | agent_id)`, and their level
effects are ``latent.level_effects``: average marginal effects in probability (×100 = percentage
points) for an average agent. NPS is fitted by a cumulative-logit mixed model on the 0–10 replies (clmm),

    logit P(NPS ≤ k) = θ_k − x'β − u_agent,

and a level's effect on the NPS itself, 100·[P(Y ≥ 9) − P(Y ≤ 6)], is the same kind of average marginal
effect against the average contact of the period:

    effect_l = mean_i g(x_i with the variable set to l) − mean_i g(x_i),   g(η) = 100·[1 − F(θ₈|₉ − η) − F(θ₆|₇ − η)]

over all contacts i, for an average agent (u = 0) — every contact moved to level l, against every
contact as it was, the agent held fixed. The delta-method standard error uses the covariance of β̂ and of
the two thresholds that bound promoters and detractors; z intervals, Bonferroni intervals over the
levels (`lower_adj`/`upper_adj`) and Holm p-values, as in ``policies.level_effects``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from ..data.model_formula import model_formula, present_mix
from ..models import clmm
from ..survey.constants import AGENT, DETRACTOR_MAX, PROMOTER_MIN
from .contact_population import contacts_per_level, known_population
from .latent import LatentAgentModel, fit_latent_agent_model, moved_to_each_level
from .policies import holm


@dataclass
class NpsModel:
    """The NPS clmm and the mix it adjusts for."""

    fit: object
    mix: tuple[str, ...]
    agent: str
    frame: pd.DataFrame | None = None   # with `counts`: the cells fitted (agent × mix × NPS value)
    counts: str | None = None           # the frame's column of replies per cell (None: the fit's rows are replies)


def fit_rate_model(contacts: pd.DataFrame, outcome: str, mix) -> LatentAgentModel:
    """glmer of the boolean column `outcome` on the mix with an agent intercept, on every contact that
    records it (the average contact is still every contact of the period)."""
    frame = contacts[contacts[outcome].notna()]
    frame = frame.assign(**{outcome: frame[outcome].astype(float)})
    return fit_latent_agent_model(frame, outcome, mix, population=contacts)


def fit_nps_model(replies: pd.DataFrame, mix) -> NpsModel:
    """clmm of NPS (0–10, flexible thresholds) on the mix with an agent intercept, on the NPS replies."""
    data = replies[replies["nps"].notna()].copy()
    data["nps"] = data["nps"].astype(int)
    mix = present_mix(data, mix)
    fit = clmm(model_formula("nps", mix), data, levels=sorted(data["nps"].unique()))
    return NpsModel(fit=fit, mix=mix, agent=AGENT)


def _nps_score(fit, X: np.ndarray, w=None):
    """Per contact g(x'β̂) and the gradient of its mean (weights `w`: each row's contacts) over the parameters
    in fit.vcov's order."""
    th = fit.thresholds
    cut = {str(k).split("|")[0]: k for k in th.index}
    promoter, detractor = cut[str(PROMOTER_MIN - 1)], cut[str(DETRACTOR_MAX)]
    eta = X @ fit.fixef.to_numpy()
    fa, fb = expit(th[promoter] - eta), expit(th[detractor] - eta)
    da, db = fa * (1 - fa), fb * (1 - fb)
    w = np.full(len(eta), 1 / len(eta)) if w is None else np.asarray(w, float) / np.sum(w)
    grad = pd.Series(0.0, index=fit.vcov.index)
    grad[list(fit.fixef.index)] = 100 * (((da + db) * w) @ X)
    grad[promoter] -= 100 * (w @ da)
    grad[detractor] -= 100 * (w @ db)
    return 100 * (1 - fa - fb), grad.to_numpy()


def nps_level_effects(model: NpsModel, population: pd.DataFrame, variable: str,
                      level: float = 0.95) -> pd.DataFrame:
    """One row per level of `variable`: n_contacts (in `population`), n_responses (NPS replies), effect
    (NPS points against the average contact of `population`), std_error, lower/upper, lower_adj/upper_adj
    (Bonferroni over the levels), p_value, p_holm; sorted by effect. `population` may be contacts per mix cell
    (``contact_population.CELL_CONTACTS``)."""
    fit = model.fit
    rows, w = known_population(population, model.mix, fit)
    X0 = fit.fixed_design(rows).to_numpy()
    g0, grad0 = _nps_score(fit, X0, w)
    base = np.average(g0, weights=w)
    V = fit.vcov.to_numpy()
    effects = {}
    for lab, Xl in moved_to_each_level(fit, X0, variable):   # every contact moved to level `lab`
        gl, gradl = _nps_score(fit, Xl, w)
        grad = gradl - grad0
        effects[lab] = {"effect": float(np.average(gl, weights=w) - base), "std_error": float(np.sqrt(grad @ V @ grad))}
    out = pd.DataFrame.from_dict(effects, orient="index")
    q = stats.norm.ppf(0.5 + level / 2)
    qa = stats.norm.ppf(1 - (1 - level) / (2 * max(len(out), 1)))
    out["lower"], out["upper"] = out["effect"] - q * out["std_error"], out["effect"] + q * out["std_error"]
    out["lower_adj"], out["upper_adj"] = out["effect"] - qa * out["std_error"], out["effect"] + qa * out["std_error"]
    out["p_value"] = 2 * stats.norm.sf(np.abs(out["effect"] / out["std_error"]))
    out["p_holm"] = holm(out["p_value"])
    replies = (fit.level_counts(variable) if model.counts is None
               else model.frame.groupby(model.frame[variable].astype(str))[model.counts].sum())
    out.insert(0, "n_responses", replies.reindex(out.index).fillna(0).astype(int))
    counts = contacts_per_level(population, variable)
    out.insert(0, "n_contacts", counts.reindex(out.index).fillna(0).astype(int))
    out.index.name = variable
    return out.sort_values("effect")


def raw_differences(values: pd.Series, groups: pd.Series, level: float = 0.95) -> pd.DataFrame:
    """Per group: n, mean, and raw = mean of the group − mean of all rows, with a normal interval.
    raw = (1 − w)(ȳ_g − ȳ_rest), w = n_g/n, so its SE is (1 − w)·√(s_g²/n_g + s_rest²/n_rest) — groups
    treated as independent samples of rows. For NPS pass 100·(promoter − detractor) per reply."""
    ok = values.notna()
    y, g = values[ok].astype(float), groups[ok].astype(str)
    n, total = len(y), float(y.mean())
    q = stats.norm.ppf(0.5 + level / 2)
    rows = {}
    for lab, part in y.groupby(g):
        rest = y[g != lab]
        w = len(part) / n
        se = (1 - w) * np.sqrt(part.var(ddof=1) / len(part) + (rest.var(ddof=1) / len(rest) if len(rest) > 1 else 0))
        d = float(part.mean() - total)
        rows[lab] = {"n": len(part), "mean": float(part.mean()), "raw": d, "raw_lower": d - q * se,
                     "raw_upper": d + q * se}
    out = pd.DataFrame.from_dict(rows, orient="index")
    return out


def nps_points(scores: pd.Series) -> pd.Series:
    """100 for a promoter (9–10), −100 for a detractor (0–6), 0 for a passive; NaN stays NaN. The
    mean of these is the NPS and their SD/√n its trinomial standard error."""
    s = scores.astype(float)
    return (100.0 * ((s >= PROMOTER_MIN).astype(float) - (s <= DETRACTOR_MAX).astype(float))).where(s.notna())


#: Units of each outcome's effects once stacked (rates in percentage points).
UNITS = {"csat": "CSAT points", "nps": "NPS points"}


def stack_effects(effects: dict[str, pd.DataFrame], variable: str,
                  csat_unit: tuple[str, float] = ("CSAT points", 1.0)) -> pd.DataFrame:
    """One long table from per-outcome level tables (``policies.level_effects`` or ``latent.level_effects``
    for CSAT, ``nps_level_effects`` for NPS, ``latent.level_effects`` for rates): outcome, level, unit,
    n_contacts, effect, std_error, lower, upper, lower_adj, upper_adj, p_value, p_holm. Rates (any
    outcome not in UNITS) are converted to percentage points; CSAT to `csat_unit` (name, scale factor:
    percentage points × 100 for the share of good ratings)."""
    cols = ["n_contacts", "effect", "std_error", "lower", "upper", "lower_adj", "upper_adj", "p_value", "p_holm"]
    numbers = ["effect", "std_error", "lower", "upper", "lower_adj", "upper_adj"]
    parts = []
    for outcome, table in effects.items():
        t = table[cols].copy()
        unit, scale = (csat_unit if outcome == "csat" else (UNITS[outcome], 1.0) if outcome in UNITS
                       else ("percentage points", 100.0))
        t[numbers] *= scale
        t.insert(0, "unit", unit)
        t.insert(0, "outcome", outcome)
        t.index.name = variable
        parts.append(t.reset_index())
    return pd.concat(parts, ignore_index=True).set_index(["outcome", variable])
