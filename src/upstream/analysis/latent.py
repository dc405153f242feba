"""Satisfaction on a scale too coarse to average: good/bad (Zendesk's classic CSAT) or 3 points. The
agent model is a latent-scale mixed model — logistic (glmer) for good/bad, cumulative logit (clmm) for
an ordered scale — and every effect is reported on the scale's own terms for the average contact of
the period: the share of good ratings (percentage points), or the expected score (points).

    good ~ policy + product + channel + issue_type + (1 | agent_id)          (glmer, Laplace)
    csat ~ policy + product + channel + issue_type + (1 | agent_id)          (clmm, Laplace)

With m(η) the mean outcome at linear predictor η (logit⁻¹(η), or Σ_k s_k P(Y = k | η)) and
m̄(η) = E_b m(η + b), b ~ N(0, σ_b²), the outcome averaged over the agents (21-node Gauss–Hermite; at
b = 0 it would be the median agent's, 0.82 against 0.75 for a share of good ratings at σ_b = 1.5):
- The baseline: mean_i m̄(η_i) over all contacts i of the period.
- An agent's effect: mean_i m(η_i + b_j) − mean_i m̄(η_i). Its draws map draws of b_j from its
  conditional distribution N(b̂_j, se_j²) (latent scale) through that monotone function, so sign
  probabilities and verdicts are the same on both scales; agent_effects centres them on the plain mean
  of the agents.
- A level's effect (a policy's): the average marginal effect mean_i m̄(η_i with level l) − mean_i m̄(η_i),
  with a delta-method standard error over β̂, σ̂_b and (clmm) the thresholds, z intervals and
  Bonferroni family-wise intervals. The engine's glmer fits crossed agent × customer intercepts
  (Laplace, PIRLS), but took 100 s against 0.7 s on the bundled sample; so where customers repeat (at
  least MIN_REPEAT_CUSTOMERS with two replies) a logistic model's level effects carry a customer design
  effect instead (``customer_design_effects``): the ratio of the customer-clustered to the independent
  sandwich variance of the effect's estimating equation, Σ_k (Σ_{i∈k} a_i)² / Σ_i a_i² with
  a_i = (x_i'H⁻¹g)(y_i − p̂_i), g the effect's gradient in β, H = Σ p̂(1 − p̂)xx', p̂ with the agents'
  modes — the cluster-robust (CR0) correction for the customer clustering the model leaves out, floored
  at 1 — multiplies each effect's variance. With customers answering 4 times, σ_c = 1.5 (logit) and a
  customer's contacts mostly under one policy (tests/test_latent_inference.py), the model's SE was 0.82
  of the effect's SD over 60 simulated operations and its 95% interval covered 88%; with the design
  effect 1.03 and 95% (100 operations: 0.76 and 89% against 0.97 and 95%). The cumulative-logit (clmm)
  path has no such correction.
- Shares of variance on the latent scale (Nakagawa & Schielzeth 2013): agents σ_b², contact mix
  var(x'β̂) − tr(S·Cov β̂), residual π²/3. Intervals simulate (β, log σ_b) from their asymptotic
  normal distribution (the fit's covariance of all parameters) and put every draw through the same
  bias-corrected formula as the estimate. Corrected draws centre on the *uncorrected* plug-in share θ_b
  (E β*'Sβ* = β̂'Sβ̂ + tr(S·Cov β̂)), so, as on the linear path, the interval is moved onto the
  estimate: [q₂.₅ + θ̂ − θ_b, q₉₇.₅ + θ̂ − θ_b]. The percentiles keep the draws' own skew (σ_b is
  drawn on the log scale), which a reflected (basic) interval would turn the wrong way.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from ..data.model_formula import model_formula, present_mix
from ..models import clmm, glmer
from ..survey.constants import AGENT
from .agents import MIN_REPEAT_CUSTOMERS, means_by_agent, repeat_customers
from .contact_population import contacts_per_level, population_design
from .policies import holm
from .shares import Shares

LOGISTIC_VARIANCE = np.pi ** 2 / 3
#: Gauss–Hermite nodes for averaging over the agents' random effects (exact to < 1e-6 for σ_b ≤ 2).
AGENT_NODES = 21


class MeanFunction:
    """m(η) and dm/dη of a fitted latent model: logit⁻¹ for glmer; for clmm (P(Y ≤ j) = logit⁻¹(θ_j − η))
    E[Y | η] = s_K − Σ_j (s_{j+1} − s_j) logit⁻¹(θ_j − η) with the categories scored s."""

    def __init__(self, fit, scores=None):
        thresholds = getattr(fit, "thresholds", None)
        self.ordinal = thresholds is not None
        if self.ordinal:
            self.theta = thresholds.to_numpy()
            s = np.asarray(scores if scores is not None else [float(v) for v in fit.levels])
            self.top, self.steps = s[-1], np.diff(s)

    def __call__(self, eta):
        eta = np.asarray(eta, dtype=float)
        if not self.ordinal:
            return expit(eta)
        cum = expit(self.theta[None, :] - eta.reshape(-1, 1))
        return (self.top - cum @ self.steps).reshape(eta.shape)

    def slope(self, eta):
        eta = np.asarray(eta, dtype=float)
        if not self.ordinal:
            p = expit(eta)
            return p * (1 - p)
        cum = expit(self.theta[None, :] - eta.reshape(-1, 1))
        return ((cum * (1 - cum)) @ self.steps).reshape(eta.shape)

    def threshold_slopes(self, eta) -> np.ndarray:
        """(n, J) ∂m/∂θ_j at each η (clmm; an (n, 0) array for glmer)."""
        eta = np.asarray(eta, dtype=float).reshape(-1)
        if not self.ordinal:
            return np.zeros((eta.size, 0))
        cum = expit(self.theta[None, :] - eta[:, None])
        return -(cum * (1 - cum)) * self.steps[None, :]

    # -- averaged over the agents: b ~ N(0, sd²), Gauss–Hermite ------------------------------------
    @staticmethod
    def _nodes(sd: float):
        x, w = np.polynomial.hermite_e.hermegauss(AGENT_NODES)
        return sd * x, x, w / np.sqrt(2 * np.pi)

    def averaged(self, eta, sd: float) -> np.ndarray:
        """E_b m(η + b), b ~ N(0, sd²): the expected outcome of a contact over the agents (not at b = 0)."""
        eta = np.asarray(eta, dtype=float).reshape(-1)
        b, _, w = self._nodes(sd)
        return self(eta[:, None] + b[None, :]) @ w

    def averaged_gradient(self, eta, sd: float):
        """Per contact, the derivatives of E_b m(η + b) in η, in sd and (clmm) in each threshold θ_j."""
        eta = np.asarray(eta, dtype=float).reshape(-1)
        b, x, w = self._nodes(sd)
        at = eta[:, None] + b[None, :]
        slope = self.slope(at)
        d_eta, d_sd = slope @ w, (slope * x[None, :]) @ w
        d_theta = np.tensordot(self.threshold_slopes(at.reshape(-1)).reshape(*at.shape, -1), w, axes=([1], [0]))
        return d_eta, d_sd, d_theta


@dataclass
class LatentAgentModel:
    """A logistic or cumulative-logit agent model with what agent_effects needs, on the outcome's
    own scale (share of good ratings, or expected score)."""

    fit: object
    frame: pd.DataFrame
    outcome: str
    agent: str
    mix: tuple[str, ...]
    population_eta: np.ndarray          # the distinct x'β̂ of the period's contacts (no agent effect)
    baseline: float                     # outcome of the average contact averaged over the agents (b ~ N(0, σ_b²))
    n_draws: int = 1000
    seed: int = 2026
    draws_method: str = "conditional"
    population_weights: np.ndarray | None = None   # contacts behind each population_eta (None: one each)
    counts: str | None = None           # the frame's column of replies each row stands for (None: one each)

    @property
    def mean(self) -> MeanFunction:
        return MeanFunction(self.fit)

    @property
    def judged_by(self):
        return self.fit

    @property
    def formula(self) -> str:
        return self.fit.formula

    GRID = np.linspace(-10.0, 10.0, 1001)

    @cached_property
    def _grid_values(self) -> np.ndarray:
        m = self.mean
        w = self.population_weights
        return np.array([np.average(m(self.population_eta + g), weights=w) for g in self.GRID]) - self.baseline

    def share_effect(self, b) -> np.ndarray:
        """mean_i m(η_i + b) − baseline over every contact of the period, for latent agent effects b (any
        shape): exact on a fine grid of b (step 0.02), linear in between (error < 1e-4)."""
        return np.interp(np.asarray(b, dtype=float), self.GRID, self._grid_values)

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
        """Each reply's expected outcome over the agents (its contact mix alone, b averaged out)."""
        eta = self.fit.model_matrix.to_numpy() @ self.fit.fixef.to_numpy()
        return pd.Series(self.mean.averaged(eta, float(self.fit.sd)), index=self.frame.index)

    def scores(self) -> pd.Series:
        return self.frame[self.outcome].astype(float)

    def agent_means(self) -> pd.DataFrame:
        return means_by_agent(self)

    def design_covariance(self) -> np.ndarray:
        """S, the covariance (ddof 0) of the fixed-effect columns over the replies."""
        return np.cov(self.fit.model_matrix.to_numpy(), rowvar=False, ddof=0)

    def reply_counts(self, variable: str) -> pd.Series:
        if self.counts is None:
            return self.frame[variable].astype(str).value_counts()
        return self.frame.groupby(self.frame[variable].astype(str))[self.counts].sum()

    def customer_sandwich(self, customer: str = "customer_id"):
        """(H, A, B): H = Σ p̂(1 − p̂)xx', A = Σ r²xx', B = Σ_k u_k u_k', u_k = Σ_{i∈k} r_i x_i (customers k, r = y − p̂):
        the design effect of gradient g is v'Bv / v'Av, v = H⁻¹g; None as ``customer_design_effects`` is empty."""
        fit, frame = self.fit, self.frame
        if getattr(fit, "thresholds", None) is not None or customer not in frame:
            return None
        X = fit.model_matrix.to_numpy()
        if repeat_customers(frame, customer) < MIN_REPEAT_CUSTOMERS or len(X) != len(frame):
            return None
        p = fit.predict().to_numpy(dtype=float)
        r = frame[self.outcome].astype(float).to_numpy() - p
        u = pd.DataFrame(X * r[:, None]).groupby(pd.factorize(frame[customer].astype(str))[0]).sum().to_numpy()
        return X.T @ (X * (p * (1 - p))[:, None]), X.T @ (X * (r * r)[:, None]), u.T @ u

    def effect_draws(self) -> pd.DataFrame:
        re = self.fit.ranef[self.agent]
        z = np.random.default_rng(self.seed).standard_normal((self.n_draws, len(re)))
        latent = re["mode"].to_numpy() + z * re["cond_se"].to_numpy()
        return pd.DataFrame(self.share_effect(latent), columns=re.index)


def fit_latent_agent_model(frame: pd.DataFrame, outcome: str, mix, population: pd.DataFrame,
                           n_draws: int = 1000, seed: int = 2026, levels=None) -> LatentAgentModel:
    """Fit `outcome ~ mix + (1 | agent)`: logistic (glmer) when `levels` is None and `outcome` is
    0/1, cumulative logit (clmm) on the ordered `levels` otherwise."""
    mix = present_mix(frame, mix)
    formula = model_formula(outcome, mix)
    if levels is None:
        fit = glmer(formula, frame)
    else:
        present = [v for v in levels if (frame[outcome] == v).any()]
        fit = clmm(formula, frame.assign(**{outcome: frame[outcome].astype(int)}), levels=present)
    used = frame.loc[fit.rows]
    known = population
    for variable in mix:
        known = known[known[variable].astype(str).isin(fit.factor_levels(variable))]
    if known.empty:                                   # no contact the fit knows: the replies stand in
        known = used
    eta, where = np.unique(fit.fixed_design(known).to_numpy() @ fit.fixef.to_numpy(), return_inverse=True)
    weights = np.bincount(where.reshape(-1), minlength=len(eta)).astype(float)     # contacts per distinct x'β̂
    baseline = float(np.average(MeanFunction(fit).averaged(eta, float(fit.sd)), weights=weights))
    return LatentAgentModel(fit=fit, frame=used, outcome=outcome, agent=AGENT, mix=mix, population_eta=eta,
                            baseline=baseline, n_draws=n_draws, seed=seed, population_weights=weights)


def moved_to_each_level(fit, X0: np.ndarray, variable: str):
    """(level, X) for each level of `variable`: the design X0 of every contact with `variable` set to
    that level (the counterfactual behind an average marginal effect)."""
    names = list(fit.fixef.index)
    own = [names.index(c) for c in fit.term_columns(variable)]
    for lab, column in fit.level_columns(variable).items():
        Xl = X0.copy()
        Xl[:, own] = 0.0
        if column is not None:
            Xl[:, names.index(column)] = 1.0
        yield lab, Xl


def parameter_covariance(fit) -> np.ndarray:
    """Covariance of (thresholds for clmm, β, σ_b), the order `averaged_gradient` uses."""
    thresholds = getattr(fit, "thresholds", None)
    names = ([] if thresholds is None else list(thresholds.index)) + list(fit.fixef.index) + ["sd"]
    return fit.vcov_all.loc[names, names].to_numpy()


def averaged_gradient(m: MeanFunction, X: np.ndarray, beta: np.ndarray, sd: float, w: np.ndarray) -> np.ndarray:
    """Gradient of mean_i E_b m(x_i'β + b) in (thresholds, β, σ_b), the rows of X weighted by `w` (contacts)."""
    d_eta, d_sd, d_theta = m.averaged_gradient(X @ beta, sd)
    return np.r_[w @ d_theta / w.sum(), (w * d_eta) @ X / w.sum(), np.average(d_sd, weights=w)]




def customer_design_effects(model: LatentAgentModel, gradients: dict, customer: str = "customer_id") -> dict:
    """Per key of `gradients` (gradients of an effect in β): the customer design effect of its variance (see the
    module docstring), ≥ 1; empty for a clmm, without `customer` or with < MIN_REPEAT_CUSTOMERS repeat customers."""
    if (sandwich := model.customer_sandwich(customer)) is None:
        return {}
    H, independent, clustered = sandwich
    out = {}
    for key, g in gradients.items():
        v = np.linalg.lstsq(H, g, rcond=None)[0]
        a = float(v @ independent @ v)
        out[key] = max(1.0, float(v @ clustered @ v) / a) if a > 0 else 1.0
    return out


def level_effects(model: LatentAgentModel, contacts: pd.DataFrame, variable: str, level: float = 0.95,
                  design_effects=None) -> pd.DataFrame:
    """Average marginal effect of each level of `variable` on the outcome's scale (share of good
    ratings as a fraction, or expected score) against the average contact of the period, averaged over
    the agents (b ~ N(0, σ_b²), not the median agent b = 0); delta-method SEs over β, σ_b and (clmm)
    the thresholds:
    n_contacts, n_responses, effect, std_error, lower/upper, lower_adj/upper_adj (Bonferroni over
    the levels), p_value, p_holm. `contacts` may be contacts per mix cell (CELL_CONTACTS); `design_effects`:
    gradients → customer design effects where the model's frame cannot give them (cells from SQL)."""
    fit = model.fit
    beta, sd = fit.fixef.to_numpy(), float(fit.sd)
    V = np.nan_to_num(parameter_covariance(fit))
    m = model.mean
    X0, w = population_design(model, contacts)
    p0, g0 = np.average(m.averaged(X0 @ beta, sd), weights=w), averaged_gradient(m, X0, beta, sd, w)
    rows, in_beta = {}, {}
    n_theta = 0 if getattr(fit, "thresholds", None) is None else len(fit.thresholds)
    for lab, Xl in moved_to_each_level(fit, X0, variable):   # every contact moved to level `lab`
        grad = averaged_gradient(m, Xl, beta, sd, w) - g0
        rows[lab] = {"effect": float(np.average(m.averaged(Xl @ beta, sd), weights=w) - p0),
                     "std_error": float(np.sqrt(grad @ V @ grad))}
        in_beta[lab] = grad[n_theta:n_theta + len(beta)]
    deffs = design_effects(in_beta) if design_effects is not None else customer_design_effects(model, in_beta)
    for lab, deff in deffs.items():   # repeat customers (module docstring)
        rows[lab]["std_error"] *= float(np.sqrt(deff))
    out = pd.DataFrame.from_dict(rows, orient="index")
    k = len(out)
    q, qa = stats.norm.ppf(0.5 + level / 2), stats.norm.ppf(1 - (1 - level) / (2 * k))
    out["lower"], out["upper"] = out["effect"] - q * out["std_error"], out["effect"] + q * out["std_error"]
    out["lower_adj"], out["upper_adj"] = out["effect"] - qa * out["std_error"], out["effect"] + qa * out["std_error"]
    out["p_value"] = 2 * stats.norm.sf(np.abs(out["effect"] / out["std_error"]))
    out["p_holm"] = holm(out["p_value"])
    counts, replies = contacts_per_level(contacts, variable), model.reply_counts(variable)
    out.insert(0, "n_responses", replies.reindex(out.index).fillna(0).astype(int))
    out.insert(0, "n_contacts", counts.reindex(out.index).fillna(0).astype(int))
    out.index.name = variable
    return out.sort_values("effect")


def latent_shares(model: LatentAgentModel, n_sim: int = 4000, level: float = 0.95, seed: int = 2026) -> Shares:
    """Shares of the latent-scale variance: agents, contact mix (bias-corrected) and each mix
    variable, unexplained (π²/3); intervals from simulating the estimates' asymptotic normal
    distribution (β and log σ_b), moved onto the estimate (see the module docstring), clipped to
    [0, 1]. Table columns share, lower, upper, p_value (joint Wald test); agent_sd on the log-odds scale."""
    fit = model.fit
    names = list(fit.fixef.index)
    S = model.design_covariance()
    V = fit.vcov.loc[names, names].to_numpy()
    blocks = {t: [names.index(c) for c in fit.term_columns(t)] for t in fit.fixed_terms}
    blocks = {"contact mix": [j for c in blocks.values() for j in c], **blocks}
    noise = {k: float(np.trace(S[np.ix_(c, c)] @ V[np.ix_(c, c)])) for k, c in blocks.items()}

    def shares(beta, sd, corrected=True):
        var = {k: max(0.0, float(beta[c] @ S[np.ix_(c, c)] @ beta[c]) - (noise[k] if corrected else 0.0))
               for k, c in blocks.items()}
        total = var["contact mix"] + sd ** 2 + LOGISTIC_VARIANCE
        return {"agents": sd ** 2 / total, **{k: v / total for k, v in var.items()},
                "unexplained": LOGISTIC_VARIANCE / total}

    beta, sd = fit.fixef.to_numpy(), float(fit.sd)
    est = pd.Series(shares(beta, sd))
    plug = pd.Series(shares(beta, sd, corrected=False))       # the simulated world's true shares
    sd_var = float(fit.vcov_all.loc["sd", "sd"])
    log_sd_var = sd_var / sd ** 2 if sd > 0 and np.isfinite(sd_var) else 0.0
    rng = np.random.default_rng(seed)
    b_draws = rng.multivariate_normal(beta, V, n_sim, method="cholesky")
    sd_draws = sd * np.exp(rng.normal(0, np.sqrt(log_sd_var), n_sim)) if sd > 0 else np.zeros(n_sim)
    draws = pd.DataFrame([shares(b_draws[i], sd_draws[i]) for i in range(n_sim)])[est.index]
    a = (1 - level) / 2
    lower, upper = est - plug + draws.quantile(a), est - plug + draws.quantile(1 - a)
    table = pd.DataFrame({"share": est, "lower": lower.clip(0, 1), "upper": upper.clip(0, 1)})
    table["p_value"] = np.nan
    for k, cols in blocks.items():
        table.loc[k, "p_value"] = fit.wald_test([names[j] for j in cols])
    table.index.name = "component"
    sd_lo, sd_hi = (np.quantile(sd_draws, a), np.quantile(sd_draws, 1 - a)) if sd > 0 else (0.0, 0.0)
    return Shares(table=table, agent_sd=(sd, float(sd_lo), float(sd_hi)), level=level, draws=draws, plug_in=plug,
                  method="simulation")


def latent_top_quarter(model: LatentAgentModel, effects: pd.DataFrame, contacts: pd.DataFrame, variable: str,
                       level: float = 0.95) -> pd.DataFrame:
    """Per level: the outcome of an agent at the 75th percentile of agents under that level, against
    the average contact with the agents averaged over: mean_i m(η_il + z₀.₇₅σ_b) − mean_i E_b m(η_i + b),
    with a family-wise (Bonferroni) delta-method interval over (thresholds, β, σ_b)."""
    fit, m = model.fit, model.mean
    beta, sd = fit.fixef.to_numpy(), float(fit.sd)
    cov = parameter_covariance(fit)
    z = float(stats.norm.ppf(0.75))
    X0, w = population_design(model, contacts)
    p0, g0 = np.average(m.averaged(X0 @ beta, sd), weights=w), averaged_gradient(m, X0, beta, sd, w)
    levels = [lab for lab in fit.level_columns(variable) if lab in effects.index]
    k = max(len(levels), 1)
    qa = stats.norm.ppf(1 - (1 - level) / (2 * k))
    rows = {}
    for lab, Xl in moved_to_each_level(fit, X0, variable):
        if lab not in levels:
            continue
        eta = Xl @ beta + z * sd
        value = float(np.average(m(eta), weights=w) - p0)
        slope = m.slope(eta) * w / w.sum()
        grad = np.r_[w @ m.threshold_slopes(eta) / w.sum(), slope @ Xl, z * slope.sum()] - g0
        se = float(np.sqrt(grad @ np.nan_to_num(cov) @ grad))
        rows[lab] = {"top_quarter": value, "top_quarter_lower_adj": value - qa * se,
                     "top_quarter_upper_adj": value + qa * se}
    return pd.DataFrame.from_dict(rows, orient="index")
