"""What policies cost whoever handles the contact: each policy's effect against the average contact, with
the agent held fixed.

- "The average contact" is the mix of *all* contacts in the period (answered or not): a level's
  effect is its expected score minus the expected score of contacts spread over the levels as all
  contacts were (`level_contrasts` with contact-count weights).
- The model is the agent model plus, where repeat customers identify it, a customer random intercept
  (repeat customers cluster the replies), and — where the residual variance differs between the
  levels (Brown–Forsythe test, p < 0.01, SDs differing by 10% or more) — level-specific residual
  variances (nlme's varIdent, here one feasible-GLS step: precision weights 1/σ̂²_level).
- Intervals use Satterthwaite df; `lower_adj`/`upper_adj` are Bonferroni intervals over the k
  estimable levels (family-wise 95%) and `p_holm` Holm-adjusted p-values. A level is "named" as
  lowering the score whoever handles the contact only when its family-wise interval lies below 0.
- `agent_variation`: does the level's effect (against the most common level) vary by agent? The
  random slope `(0 + [level] | agent)` added to the agent model on the replies under the two levels,
  REML likelihood ratio against the boundary mixture ½χ²₀ + ½χ²₁ (Self & Liang 1987; Stram & Lee
  1994), Holm-adjusted over the levels tested.
- `top_quarter`: the score of an agent at the 75th percentile of agents under each level, against the
  average contact: level effect + z₀.₇₅·SD, SD = τ, or, for a level whose effect the random-slope test
  found to vary between agents (and the level it was tested against), the agents' SD under that level
  (`agent_sd_by_level`), with a family-wise basic bootstrap interval — when its upper end is below 0, an
  agent better than three in four still scores below the average contact under that level. It says
  nothing about the best agents (at τ = 0.3 a 95th-percentile agent is 0.49 points better than the average
  agent, a 75th-percentile one 0.20).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..data.model_formula import model_formula, present_mix
from ..models import lmer, variance_lr_test
from .agents import AgentModel
from .results import AnalysisResult, result
from .shares import basic_interval

Z75 = float(stats.norm.ppf(0.75))
#: Levels with fewer replies are not tested for agent-to-agent variation.
MIN_SLOPE_REPLIES = 30


@dataclass
class PolicyModel:
    """The model behind the policy effects and how it was chosen."""

    fit: object
    variable: str
    customer_effect: bool
    weighted: bool
    residual_sd: pd.Series            # per level, from the unweighted fit's conditional residuals
    heterogeneity_p: float            # Brown–Forsythe test of equal residual variance across levels


def holm(p: pd.Series) -> pd.Series:
    """Holm step-down adjusted p-values (NaN stays NaN)."""
    q = p.dropna().sort_values()
    m = len(q)
    adj = np.minimum(1.0, np.maximum.accumulate(q.to_numpy() * (m - np.arange(m))))
    return pd.Series(adj, index=q.index).reindex(p.index)


def level_residuals(resid: pd.Series, groups: pd.Series) -> pd.DataFrame:
    """Per level (sorted): n, sum_e, sum_e2, median, sum_z, sum_z2 of residuals e and z = |e − median of
    the level| — what the Brown–Forsythe test and the level SDs need (``aggregates.level_residuals``
    computes the same in SQL)."""
    rows = {}
    for lab in sorted(groups.unique()):
        e = resid[groups == lab].to_numpy()
        med = float(np.median(e))
        z = np.abs(e - med)
        rows[lab] = {"n": len(e), "sum_e": e.sum(), "sum_e2": e @ e, "median": med, "sum_z": z.sum(), "sum_z2": z @ z}
    return pd.DataFrame.from_dict(rows, orient="index")


def brown_forsythe(spread: pd.DataFrame) -> float:
    """p-value of the Brown–Forsythe test of equal variances (Levene's test about the median, scipy's
    `levene(center="median")`) from per-level n, Σz and Σz² (z = |e − median|): W = (N − k)/(k − 1) ·
    Σ n_i (z̄_i − z̄)² / Σ_i (Σz²_i − n_i z̄_i²) ~ F(k − 1, N − k); levels with fewer than 3 values are left
    out, NaN with fewer than 2 levels left."""
    used = spread[spread["n"] >= 3]
    k, N = len(used), float(used["n"].sum())
    if k < 2:
        return float("nan")
    n, sz, sz2 = used["n"].to_numpy(float), used["sum_z"].to_numpy(float), used["sum_z2"].to_numpy(float)
    zbar_i, zbar = sz / n, sz.sum() / N
    within = float(np.sum(sz2 - n * zbar_i ** 2))
    W = (N - k) / (k - 1) * float(np.sum(n * (zbar_i - zbar) ** 2)) / within
    return float(stats.f.sf(W, k - 1, N - k))


def residual_sd(spread: pd.DataFrame) -> pd.Series:
    """Per level: the SD (ddof 1) of the residuals, from n, Σe and Σe²."""
    n = spread["n"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (spread["sum_e2"] - spread["sum_e"] ** 2 / n) / (n - 1)
    return np.sqrt(var.clip(lower=0)).where(n > 1)


def fit_policy_model(model: AgentModel, variable: str = "policy", crossed_fit=None, source=None) -> PolicyModel:
    """The policy model (see the module docstring). `crossed_fit`: the agent model with a customer
    intercept when repeat customers identify one (from ``shares.customer_split``), else None. A model
    fitted from per-agent sums (no rows) takes its residual spread and its weighted refit from the
    SQL data set `source` (``aggregated``)."""
    base = crossed_fit if crossed_fit is not None else model.fit
    if model.frame is None:
        from . import aggregated
        spread = aggregated.policy_residuals(source, model, base, variable)
    else:
        resid = base.resid
        spread = level_residuals(resid, model.frame.loc[resid.index, variable].astype(str))
    p_het = brown_forsythe(spread)
    sd = residual_sd(spread)
    spread_ratio = float(sd.max() / sd.min()) if len(sd) > 1 and sd.min() > 0 else 1.0
    weighted = bool(np.isfinite(p_het) and p_het < 0.01 and spread_ratio >= 1.1)
    fit = base
    if weighted:
        level_weight = sd.mean() ** 2 / sd ** 2
        if model.frame is None:
            fit = aggregated.weighted_fit(source, model, variable, level_weight)
        else:
            frame = model.frame
            w = level_weight.reindex(frame[variable].astype(str)).to_numpy()
            fit = lmer(base.formula, frame.assign(_level_weight=w / w.mean()), weights="_level_weight")
    return PolicyModel(fit=fit, variable=variable, customer_effect=crossed_fit is not None, weighted=weighted,
                       residual_sd=sd, heterogeneity_p=p_het)


def _counts(contacts, variable: str) -> pd.Series:
    """Contacts per level: `contacts` is the contacts table, or already the counts (a Series by level)."""
    if isinstance(contacts, pd.Series):
        return contacts
    return contacts[variable].astype(str).value_counts()


def level_effects(policy_model: PolicyModel, contacts: pd.DataFrame | pd.Series, level: float = 0.95) -> pd.DataFrame:
    """One row per level of the policy model's variable (`contacts`: the contacts, or their counts per
    level): n_contacts, n_responses, effect (score
    points against the average contact of the period), std_error, df, lower/upper (level CI),
    lower_adj/upper_adj (Bonferroni over the estimable levels), p_value, p_holm; sorted by effect."""
    fit, variable = policy_model.fit, policy_model.variable
    contact_counts = _counts(contacts, variable)
    tab = fit.level_contrasts(variable, weights=contact_counts.reindex(fit.factor_levels(variable)).fillna(0))
    k = int(tab["estimable"].sum())
    q = stats.t.ppf(0.5 + level / 2, tab["df"])
    qa = stats.t.ppf(1 - (1 - level) / (2 * max(k, 1)), tab["df"])
    out = pd.DataFrame({
        "n_contacts": contact_counts.reindex(tab.index).fillna(0).astype(int),
        "n_responses": fit.level_counts(variable).reindex(tab.index).astype(int),
        "effect": tab["estimate"], "std_error": tab["std_error"], "df": tab["df"],
        "lower": tab["estimate"] - q * tab["std_error"], "upper": tab["estimate"] + q * tab["std_error"],
        "lower_adj": tab["estimate"] - qa * tab["std_error"], "upper_adj": tab["estimate"] + qa * tab["std_error"],
        "p_value": tab["p_value"]})
    out["p_holm"] = holm(out["p_value"])
    out.index.name = variable
    return out.sort_values("effect")


@result
class SlopeTests(AnalysisResult):
    """Random-slope tests: does a level's effect against the reference level vary between agents?"""

    table: pd.DataFrame             # per level tested: slope_sd, lr, p_value, p_holm
    reference: str | None           # the level every other is compared with (None: no level tested)
    health: tuple[str, ...] = ()    # problems of the tests' fits


def agent_variation(model: AgentModel, variable: str = "policy", reference: str | None = None) -> SlopeTests:
    """Per level with at least MIN_SLOPE_REPLIES replies: does its effect against the reference level
    (default: the most common level) vary between agents? On the replies under the two levels, the
    agent model plus the random slope `(0 + [level] | agent)`, REML likelihood ratio `lr` against the
    ½χ²₀ + ½χ²₁ mixture (`p_value`), Holm-adjusted over the levels (`p_holm`); `slope_sd` is the SD
    across agents of the level's effect (score points). Restricting each test to two levels keeps a
    level that varies from leaking into the others' tests. The reference level gets no test."""
    frame, agent = model.frame, model.agent
    values = frame[variable].astype(str)
    counts = values.value_counts()
    reference = counts.index[0] if reference is None else reference
    rows, health = {}, []
    for lab, n in counts.items():
        if lab == reference or n < MIN_SLOPE_REPLIES:
            continue
        pair = values.isin([lab, reference])
        data = frame[pair].assign(_slope=(values[pair] == lab).astype(float))
        if data[agent].nunique() < 3:
            continue
        null = lmer(model.formula, data)
        alt = lmer(model_formula(model.outcome, model.mix, slopes=[("_slope", agent)]), data,
                   start=np.r_[null.theta, 0.1])
        health += [f"random-slope test of '{lab}': {line}" for fit in (null, alt) for line in fit.health()
                   if not line.startswith("a variance component")]      # a zero slope variance is an answer
        lr, p = variance_lr_test(null.reml_criterion - alt.reml_criterion)
        slope_sd = float(alt.varcorr.query("term == '_slope'")["sd"].iloc[0])
        rows[lab] = {"slope_sd": slope_sd, "lr": lr, "p_value": p}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["slope_sd", "lr", "p_value"])
    out.index.name = variable
    out["p_holm"] = holm(out["p_value"])
    return SlopeTests(out, reference=reference, health=tuple(health))


def agent_sd_by_level(model: AgentModel, variable: str, levels) -> pd.Series:
    """The SD of agents' effects under each of `levels`, from the agent model refitted on that level's
    replies alone (the other mix variables as fixed effects): where a level's effect varies between agents
    the pooled τ is not the spread of agents under it (nor under the level it was tested against)."""
    frame, agent = model.frame, model.agent
    values = frame[variable].astype(str)
    out = {}
    for lab in levels:
        data = frame[values == lab]
        if len(data) < MIN_SLOPE_REPLIES or data[agent].nunique() < 3:
            continue
        mix = present_mix(data, [m for m in model.mix if m != variable])
        fit = lmer(model_formula(model.outcome, mix), data)
        out[lab] = float(fit.varcorr.loc[agent, "sd"])
    return pd.Series(out, dtype=float, name="agent_sd").rename_axis(variable)


def top_quarter(model: AgentModel, effects: pd.DataFrame, contacts: pd.DataFrame, variable: str = "policy",
                level: float = 0.95, agent_sd: pd.Series | None = None) -> pd.DataFrame:
    """Per level: top_quarter, the score of an agent at the 75th percentile of agents under that level
    against the average contact (score points): level effect + z₀.₇₅·SD, SD the agents' SD under the level —
    `agent_sd` where given (by level: `agent_sd_by_level`, for levels whose effect varies between agents),
    else τ from the agent model. A family-wise (Bonferroni over the levels) basic bootstrap interval
    top_quarter_lower_adj/upper_adj (τ's draws, scaled by SD/τ for a level's own SD), and
    top_quarter_agent_sd, the SD used."""
    fit, boot = model.fit, model.boot
    counts = _counts(contacts, variable)
    L = fit.level_contrast_matrix(variable, weights=counts.reindex(fit.factor_levels(variable)).fillna(0))
    L = L.reindex(effects.index.intersection(L.index))
    tau = float(fit.varcorr.loc[model.agent, "sd"])
    own = (agent_sd if agent_sd is not None else pd.Series(dtype=float)).reindex(L.index)
    sd = own.fillna(tau).to_numpy()
    est = pd.Series(L.to_numpy() @ fit.fixef.to_numpy() + Z75 * sd, index=L.index)
    scale = sd / tau if tau > 0 else np.ones_like(sd)
    draws = pd.DataFrame(boot.fixef()[list(L.columns)].to_numpy() @ L.to_numpy().T
                         + Z75 * boot.sd(model.agent).to_numpy()[:, None] * scale[None, :], columns=L.index)
    family = 1 - (1 - level) / max(len(L), 1)
    lower, upper = basic_interval(est, est, draws, family)
    return pd.DataFrame({"top_quarter": est, "top_quarter_lower_adj": lower, "top_quarter_upper_adj": upper,
                         "top_quarter_agent_sd": pd.Series(sd, index=L.index)})
