"""How much of the variation in a score is the agent, the contact mix, the customer and the contact.

`variance_shares` splits the variance of the score among the replies into agents (τ²), the contact
mix (the variance of the fixed-effect predictions, jointly and per variable) and the residual (σ²).
The plug-in mix variance β̂'Sβ̂ overstates the truth by tr(S·Cov β̂) (estimation noise is variance
too), so every mix variance is bias-corrected, β̂'Sβ̂ − tr(S·Cov β̂), truncated at 0.

Intervals are basic bootstrap intervals from the agent model's parametric bootstrap. The bootstrap
simulates from (β̂, τ̂, σ̂), so in the bootstrap world the true shares are the *plug-in* shares of
those values (β̂'Sβ̂ uncorrected), and the corrected replicate estimates are centred on them. The
interval for the share θ is therefore [θ̂ + θ_b − q₉₇.₅(θ̂*), θ̂ + θ_b − q₂.₅(θ̂*)] with θ_b the
plug-in share, not 2θ̂ − q (which would subtract the correction twice).

`customer_split` separates a customer component from the residual where repeat customers identify
it: the crossed model `… + (1 | agent) + (1 | customer)` and a profile-likelihood interval for the
customer share of the residual variation, ρ = σ_c²/(σ_c² + σ²), as lme4's `confint(method = "profile")`.
`share_difference` compares two shares with a bootstrap interval of their difference.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .agents import AgentModel, repeat_customers
from .results import AnalysisResult, result


def _mix_blocks(fit) -> dict[str, list[int]]:
    names = list(fit.fixef.index)
    blocks = {term: [names.index(c) for c in fit.term_columns(term)] for term in fit.fixed_terms}
    return {"contact mix": [j for cols in blocks.values() for j in cols], **blocks}


def _share_function(fit, S: np.ndarray):
    """The shares as a function of (β, τ, σ); S is the covariance of the fixed-effect columns over the
    replies (from the rows, or from the totals of per-agent sums: X'X/n − x̄x̄')."""
    V = fit.vcov.to_numpy()
    blocks = _mix_blocks(fit)
    noise = {k: float(np.trace(S[np.ix_(c, c)] @ V[np.ix_(c, c)])) for k, c in blocks.items()}

    def shares(beta: np.ndarray, tau: float, sigma: float, corrected: bool) -> dict[str, float]:
        var = {}
        for k, c in blocks.items():
            raw = float(beta[c] @ S[np.ix_(c, c)] @ beta[c])
            var[k] = max(0.0, raw - noise[k]) if corrected else raw
        total = var["contact mix"] + tau ** 2 + sigma ** 2
        out = {"agents": tau ** 2 / total}
        out.update({k: v / total for k, v in var.items()})
        out["unexplained"] = sigma ** 2 / total
        out["total variance"] = total
        return out

    return shares, blocks


def basic_interval(estimate, plug_in, draws: pd.DataFrame, level: float = 0.95):
    """Basic bootstrap interval [θ̂ + θ_b − q_hi, θ̂ + θ_b − q_lo], θ_b the bootstrap world's truth."""
    a = (1 - level) / 2
    return estimate + plug_in - draws.quantile(1 - a), estimate + plug_in - draws.quantile(a)


@dataclass
class Shares:
    """`table`: rows agents, contact mix, each mix variable, unexplained (or customers and contact to
    contact), total variance (score points²); columns share, lower, upper, p_value. `agent_sd`: τ in
    score points with its percentile interval. `draws`/`plug_in`: the bootstrap replicates' shares and
    the bootstrap world's true shares (for intervals of differences)."""

    table: pd.DataFrame
    agent_sd: tuple[float, float, float]
    level: float
    draws: pd.DataFrame = field(repr=False)
    plug_in: pd.Series = field(repr=False)
    customer: CustomerSplit | None = None
    method: str = "basic bootstrap"      # or "simulation" (draws from the estimates' normal, see latent.py)


def variance_shares(model: AgentModel, level: float = 0.95) -> Shares:
    """Shares of the variance of the score (see the module docstring): share, lower, upper (basic
    bootstrap interval, clipped to [0, 1]) and p_value (joint Wald test that the variable has no
    effect). Per-variable shares need not add up to the joint one when the variables are correlated."""
    fit, boot, agent = model.fit, model.boot, model.agent
    shares, blocks = _share_function(fit, model.design_covariance())
    beta = fit.fixef.to_numpy()
    tau = float(fit.varcorr.loc[agent, "sd"])
    est = pd.Series(shares(beta, tau, fit.sigma, corrected=True))
    plug = pd.Series(shares(beta, tau, fit.sigma, corrected=False))
    fixef, sd, sigma = boot.fixef().to_numpy(), boot.sd(agent).to_numpy(), boot.sigma.to_numpy()
    draws = pd.DataFrame([shares(fixef[r], sd[r], sigma[r], corrected=True) for r in range(len(sd))])[est.index]
    lower, upper = basic_interval(est, plug, draws, level)
    is_share = est.index != "total variance"
    lower[is_share], upper[is_share] = lower[is_share].clip(0, 1), upper[is_share].clip(0, 1)
    lower["total variance"] = max(lower["total variance"], 0.0)
    table = pd.DataFrame({"share": est, "lower": lower, "upper": upper})
    table["p_value"] = np.nan
    for k, cols in blocks.items():
        table.loc[k, "p_value"] = fit.wald_test([fit.fixef.index[j] for j in cols])
    table.index.name = "component"
    a = (1 - level) / 2
    return Shares(table=table, agent_sd=(tau, float(np.quantile(sd, a)), float(np.quantile(sd, 1 - a))),
                  level=level, draws=draws, plug_in=plug)


def share_difference(shares: Shares, first: str, second: str) -> pd.Series:
    """share(first) − share(second) with the basic bootstrap interval of the difference (for simulated
    latent shares, its percentiles moved onto the estimate): estimate, lower, upper, and `clear` — the
    interval excludes 0."""
    table, draws, plug = shares.table, shares.draws, shares.plug_in
    est = float(table.loc[first, "share"] - table.loc[second, "share"])
    diff = draws[first] - draws[second]
    a = (1 - shares.level) / 2
    plug_diff = float(plug[first] - plug[second])
    if shares.method == "simulation":          # percentiles moved onto the estimate, as latent_shares does
        lower, upper = est - plug_diff + float(diff.quantile(a)), est - plug_diff + float(diff.quantile(1 - a))
        return pd.Series({"estimate": est, "lower": lower, "upper": upper, "clear": bool(lower > 0 or upper < 0)})
    lower = est + plug_diff - float(diff.quantile(1 - a))
    upper = est + plug_diff - float(diff.quantile(a))
    return pd.Series({"estimate": est, "lower": lower, "upper": upper, "clear": bool(lower > 0 or upper < 0)})


@result
class CustomerSplit(AnalysisResult):
    """Customer split: the customer share ρ of the variation the agent model leaves unexplained."""

    rho: float                 # σ_c²/(σ_c² + σ²), with its profile-likelihood interval
    rho_lower: float
    rho_upper: float
    customer_sd: float         # σ_c in score points
    n_repeat_customers: int    # customers with more than one reply (they identify σ_c)
    level: float
    fit: object                # the crossed model (agent and customer terms)


def customer_split(model: AgentModel, customer: str = "customer_id", level: float = 0.95) -> CustomerSplit | None:
    """Separate customers from the residual with the agent model's crossed model (None when it has
    none: too few repeat customers). Returns the fit and ρ = σ_c²/(σ_c² + σ²), the
    customer share of the variation the agent model leaves unexplained, with a profile-likelihood
    interval: {θ_c : D(θ_c) − D_min ≤ χ²₁(level)}, D the REML criterion profiled over the agent θ."""
    if model.crossed is None:
        return None
    fit = model.crossed
    n_repeat = repeat_customers(model.frame, customer)
    names = fit.theta_names
    c_index, a_index = names.index(f"{customer}.(Intercept)"), names.index(f"{model.agent}.(Intercept)")
    cutoff = float(stats.chi2.ppf(level, 1))

    start = {"theta_a": max(float(fit.theta[a_index]), 0.05)}

    def profile(theta_c: float) -> float:
        """The REML criterion minimised over the agent θ, from the last minimiser. The criterion depends on
        θ only through θ², so Brent's search may step below zero; at the minimum the criterion is flat, so
        a relative tolerance of 1e-4 on θ_a leaves it within ~1e-8 of its minimum."""
        def deviance(theta_a):
            theta = np.empty(2)
            theta[c_index], theta[a_index] = theta_c, abs(theta_a)
            return fit.criterion_at(theta)
        a0 = start["theta_a"]
        best = optimize.minimize_scalar(deviance, bracket=(a0, 1.1 * a0), method="brent", tol=1e-4)
        start["theta_a"] = max(abs(float(best.x)), 1e-3)
        return float(best.fun)

    theta_hat = float(fit.theta[c_index])
    d_min = min(fit.reml_criterion, profile(theta_hat))
    root_cutoff = np.sqrt(cutoff)

    @functools.cache
    def signed_root(theta_c: float) -> float:
        """sign(θ_c − θ̂)·√(D(θ_c) − D_min): nearly linear in θ_c, so Brent's root finder needs few steps."""
        return float(np.sign(theta_c - theta_hat) * np.sqrt(max(profile(theta_c) - d_min, 0.0)))

    lower = 0.0
    if theta_hat > 0 and signed_root(0.0) < -root_cutoff:
        lower = optimize.brentq(lambda t: signed_root(t) + root_cutoff, 0.0, theta_hat, xtol=1e-6)
    hi = max(theta_hat, 0.05)
    while signed_root(hi) < root_cutoff and hi < 100:
        hi *= 2
    upper = optimize.brentq(lambda t: signed_root(t) - root_cutoff, theta_hat, hi, xtol=1e-6)

    def rho(t):
        return t * t / (1 + t * t)

    vc = fit.varcorr
    return CustomerSplit(rho=rho(theta_hat), rho_lower=rho(lower), rho_upper=rho(upper),
                         customer_sd=float(vc.loc[customer, "sd"]), n_repeat_customers=n_repeat, level=level, fit=fit)


def with_customers(shares: Shares, split: CustomerSplit | None) -> Shares:
    """`shares` with rows for the two parts of `unexplained`, customers and contact to contact (when a
    customer effect is identified): share = ρ × unexplained, interval from ρ's profile interval."""
    if split is None:
        return shares
    table = shares.table
    u = table.loc["unexplained", "share"]
    rows = pd.DataFrame({"share": [split.rho * u, (1 - split.rho) * u],
                         "lower": [split.rho_lower * u, (1 - split.rho_upper) * u],
                         "upper": [split.rho_upper * u, (1 - split.rho_lower) * u],
                         "p_value": [np.nan, np.nan]}, index=["customers", "contact to contact"])
    out = pd.concat([table.drop(index="total variance"), rows, table.loc[["total variance"]]])
    out.index.name = table.index.name
    return Shares(table=out, agent_sd=shares.agent_sd, level=shares.level, draws=shares.draws,
                  plug_in=shares.plug_in, customer=split,
                  method=shares.method)
