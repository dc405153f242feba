"""Satisfaction on a good/bad scale (Zendesk's classic CSAT, or any scale reduced to its top box): the
agent model is a logistic mixed model, and every effect is reported as a difference in the share of
good ratings (percentage points) for the average contact of the period.

    good ~ policy + product + channel + issue_type + (1 | agent_id)          (glmer, Laplace)

- An agent's effect: the share of good ratings the period's contacts would get from this agent minus
  the share they would get from an average agent, mean_i logit⁻¹(η_i + b_j) − mean_i logit⁻¹(η_i),
  over all contacts i of the period. Its draws map draws of b_j from its conditional distribution
  N(b̂_j, se_j²) (latent scale) through that monotone function, so sign probabilities and verdicts
  are the same on both scales.
- A level's effect (a policy's): the average marginal effect mean_i logit⁻¹(η_i with level l) −
  mean_i logit⁻¹(η_i), with a delta-method standard error from the covariance of β̂, z intervals and
  Bonferroni family-wise intervals.
- Shares of variance on the latent scale (Nakagawa & Schielzeth 2013): agents σ_b², contact mix
  var(x'β̂) − tr(S·Cov β̂), residual π²/3; intervals by simulating (β, log σ_b) from their
  asymptotic normal distribution (the fit's covariance of all parameters).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from ..models import glmer
from .agents import present_mix
from .policies import holm

LOGISTIC_VARIANCE = np.pi ** 2 / 3


@dataclass
class BinaryAgentModel:
    """A logistic agent model with what agent_effects needs, on the share-of-good scale."""

    fit: object
    frame: pd.DataFrame
    outcome: str
    agent: str
    mix: tuple[str, ...]
    population_eta: np.ndarray          # x'β̂ of every contact of the period (no agent effect)
    baseline: float                     # share of good ratings of the average contact, average agent
    n_draws: int = 1000
    seed: int = 2026
    draws_method: str = "conditional"

    @property
    def judged_by(self):
        return self.fit

    @property
    def formula(self) -> str:
        return self.fit.formula

    def share_effect(self, b) -> np.ndarray:
        """mean_i logit⁻¹(η_i + b) − baseline for latent agent effects b (any shape), by interpolation
        on a fine grid of b (the function is smooth and increasing)."""
        b = np.asarray(b, dtype=float)
        lo, hi = min(-8.0, float(np.min(b)) - 1), max(8.0, float(np.max(b)) + 1)
        grid = np.linspace(lo, hi, 801)
        eta = self.population_eta
        rows = eta if len(eta) <= 20_000 else eta[np.linspace(0, len(eta) - 1, 20_000).astype(int)]
        values = expit(rows[None, :] + grid[:, None]).mean(axis=1) - self.baseline
        return np.interp(b, grid, values)

    def modes(self) -> pd.Series:
        b = self.fit.ranef[self.agent]["mode"]
        return pd.Series(self.share_effect(b.to_numpy()), index=b.index)

    def cond_se(self) -> pd.Series:
        """Conditional SE on the share scale (delta method at the mode)."""
        re = self.fit.ranef[self.agent]
        h = 1e-4
        slope = (self.share_effect(re["mode"] + h) - self.share_effect(re["mode"] - h)) / (2 * h)
        return pd.Series(slope * re["cond_se"].to_numpy(), index=re.index)

    def reliability(self) -> pd.Series:
        return self.fit.reliability[self.agent]

    def mix_prediction(self) -> pd.Series:
        return pd.Series(self.fit.predict(include_random=False).to_numpy(), index=self.frame.index)

    def scores(self) -> pd.Series:
        return self.frame[self.outcome].astype(float)

    def effect_draws(self) -> pd.DataFrame:
        re = self.fit.ranef[self.agent]
        z = np.random.default_rng(self.seed).standard_normal((self.n_draws, len(re)))
        latent = re["mode"].to_numpy() + z * re["cond_se"].to_numpy()
        return pd.DataFrame(self.share_effect(latent), columns=re.index)


def fit_binary_agent_model(frame: pd.DataFrame, outcome: str, mix, population: pd.DataFrame,
                           agent: str = "agent_id", n_draws: int = 1000, seed: int = 2026) -> BinaryAgentModel:
    """Fit `outcome ~ mix + (1 | agent)` as a logistic mixed model (`outcome` 0/1)."""
    mix = present_mix(frame, mix)
    fit = glmer(f"{outcome} ~ {' + '.join(mix) or '1'} + (1 | {agent})", frame)
    used = frame.loc[fit.rows]
    known = population
    for variable in mix:
        known = known[known[variable].astype(str).isin(fit.factor_levels(variable))]
    if known.empty:                                   # no contact the fit knows: the replies stand in
        known = used
    eta = fit.predict(known, include_random=False, type="link", allow_new_levels=True).to_numpy()
    baseline = float(expit(eta).mean())
    return BinaryAgentModel(fit=fit, frame=used, outcome=outcome, agent=agent, mix=mix, population_eta=eta,
                            baseline=baseline, n_draws=n_draws, seed=seed)


def level_effects(model: BinaryAgentModel, contacts: pd.DataFrame, variable: str, level: float = 0.95) -> pd.DataFrame:
    """Average marginal effect of each level of `variable` on the share of good ratings against the
    average contact of the period (percentage-point differences as fractions), with delta-method SEs:
    n_contacts, n_responses, effect, std_error, lower/upper, lower_adj/upper_adj (Bonferroni over
    the levels), p_value, p_holm."""
    fit = model.fit
    population = contacts
    for v in model.mix:
        population = population[population[v].astype(str).isin(fit.factor_levels(v))]
    beta = fit.fixef.to_numpy()
    V = fit.vcov.to_numpy()
    names = list(fit.fixef.index)
    X0 = fit.fixed_design(population).to_numpy()
    p0 = expit(X0 @ beta)
    g0 = (p0 * (1 - p0)) @ X0 / len(p0)
    own = [names.index(c) for c in fit.term_columns(variable)]
    rows = {}
    for lab, column in fit.level_columns(variable).items():
        Xl = X0.copy()                                 # every contact moved to level `lab`
        Xl[:, own] = 0.0
        if column is not None:
            Xl[:, names.index(column)] = 1.0
        pl = expit(Xl @ beta)
        grad = (pl * (1 - pl)) @ Xl / len(pl) - g0
        rows[lab] = {"effect": float(pl.mean() - p0.mean()), "std_error": float(np.sqrt(grad @ V @ grad))}
    out = pd.DataFrame.from_dict(rows, orient="index")
    k = len(out)
    q, qa = stats.norm.ppf(0.5 + level / 2), stats.norm.ppf(1 - (1 - level) / (2 * k))
    out["lower"], out["upper"] = out["effect"] - q * out["std_error"], out["effect"] + q * out["std_error"]
    out["lower_adj"], out["upper_adj"] = out["effect"] - qa * out["std_error"], out["effect"] + qa * out["std_error"]
    out["p_value"] = 2 * stats.norm.sf(np.abs(out["effect"] / out["std_error"]))
    out["p_holm"] = holm(out["p_value"])
    counts = contacts[variable].astype(str).value_counts()
    out.insert(0, "n_responses", model.frame[variable].astype(str).value_counts().reindex(out.index).fillna(0).astype(int))
    out.insert(0, "n_contacts", counts.reindex(out.index).fillna(0).astype(int))
    out.index.name = variable
    return out.sort_values("effect")


def latent_shares(model: BinaryAgentModel, n_sim: int = 4000, level: float = 0.95, seed: int = 2026) -> pd.DataFrame:
    """Shares of the latent-scale variance: agents, contact mix (bias-corrected) and each mix
    variable, unexplained (π²/3); intervals from simulating the estimates' asymptotic normal
    distribution (β and log σ_b). Columns share, lower, upper, p_value (joint Wald test)."""
    fit = model.fit
    names = list(fit.fixef.index)
    X = fit.model_matrix.to_numpy()
    S = np.cov(X, rowvar=False, ddof=0)
    V = fit.vcov.to_numpy()
    blocks = {t: [names.index(c) for c in fit.term_columns(t)] for t in fit.fixed_terms}
    blocks = {"contact mix": [j for c in blocks.values() for j in c], **blocks}
    noise = {k: float(np.trace(S[np.ix_(c, c)] @ V[np.ix_(c, c)])) for k, c in blocks.items()}

    def shares(beta, sd):
        var = {k: max(0.0, float(beta[c] @ S[np.ix_(c, c)] @ beta[c]) - noise[k]) for k, c in blocks.items()}
        total = var["contact mix"] + sd ** 2 + LOGISTIC_VARIANCE
        return {"agents": sd ** 2 / total, **{k: v / total for k, v in var.items()},
                "unexplained": LOGISTIC_VARIANCE / total}

    beta, sd = fit.fixef.to_numpy(), float(fit.sd)
    est = pd.Series(shares(beta, sd))
    cov = fit.vcov_all.to_numpy()
    p = len(beta)
    log_sd_var = cov[-1, -1] / sd ** 2 if sd > 0 and np.isfinite(cov[-1, -1]) else 0.0
    rng = np.random.default_rng(seed)
    b_draws = rng.multivariate_normal(beta, V, n_sim, method="cholesky")
    sd_draws = sd * np.exp(rng.normal(0, np.sqrt(log_sd_var), n_sim)) if sd > 0 else np.zeros(n_sim)
    draws = pd.DataFrame([shares(b_draws[i], sd_draws[i]) for i in range(n_sim)])[est.index]
    a = (1 - level) / 2
    table = pd.DataFrame({"share": est, "lower": draws.quantile(a), "upper": draws.quantile(1 - a)})
    table["p_value"] = np.nan
    for k, cols in blocks.items():
        table.loc[k, "p_value"] = fit.wald_test([names[j] for j in cols])
    table.index.name = "component"
    table.attrs["n_parameters"] = p
    return table
