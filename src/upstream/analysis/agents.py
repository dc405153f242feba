"""Agent versus system: how much of satisfaction is the agent, and which agents really differ.

The model is a linear mixed model of a satisfaction score with the contact mix (policy, product,
channel, issue type) as fixed effects and the agent as a random intercept:

    csat ~ policy + product + channel + issue_type + (1 | agent_id)

`fit_agent_model` fits it and a parametric bootstrap; the functions below turn that into the
quantities a support leader asks for, each with an interval:

- `variance_shares`: share of the variation in scores due to agents, to the contact mix (and to
  each of its parts) and left unexplained;
- `agent_effects`: each agent's contact-mix-adjusted score with a prediction interval, reliability,
  raw and adjusted rank (with a rank interval), and a plain verdict;
- `mix_effects`: each level of a contact-mix variable (e.g. each policy) against the average
  contact, with Satterthwaite intervals;
- `rank_shift`: how the raw-average ranking misplaces agents.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..data.frames import CONTACT_MIX
from ..models import lmer
from ..models.bootstrap import BootstrapResult
from ..models.results import LmerResult

NOT_RANKABLE = "not enough responses to rank"


@dataclass
class AgentModel:
    """A fitted agent model with its bootstrap and the frame it was fitted to."""

    fit: LmerResult
    boot: BootstrapResult
    frame: pd.DataFrame
    outcome: str
    agent: str
    mix: tuple[str, ...]

    @property
    def formula(self) -> str:
        return self.fit.formula


def fit_agent_model(frame: pd.DataFrame, outcome: str = "csat", mix=CONTACT_MIX, agent: str = "agent_id",
                    n_boot: int = 200, seed: int = 2026, progress: bool = False) -> AgentModel:
    """Fit `outcome ~ mix + (1 | agent)` by REML and bootstrap it `n_boot` times."""
    mix = tuple(m for m in mix if frame[m].nunique() > 1)
    rhs = " + ".join(mix) if mix else "1"
    fit = lmer(f"{outcome} ~ {rhs} + (1 | {agent})", frame)
    boot = fit.bootstrap(n_boot, seed=seed, progress=progress)
    return AgentModel(fit=fit, boot=boot, frame=frame.loc[fit.frame.row_index], outcome=outcome,
                      agent=agent, mix=mix)


# -- variance shares ----------------------------------------------------------------------------

def _block_columns(fit: LmerResult) -> dict[str, list[int]]:
    blocks: dict[str, list[int]] = {}
    for j, owner in enumerate(fit.fixed.term_of_column):
        if owner != "(Intercept)":
            blocks.setdefault(owner, []).append(j)
    return blocks


def variance_shares(model: AgentModel, level: float = 0.95) -> pd.DataFrame:
    """Shares of the total variance of the score: agents (τ²), the contact mix (variance of the
    fixed-effect predictions over the responses, jointly and per variable) and residual (σ²).

    The plug-in β̂'Sβ̂ overstates a mix variance by tr(S·Cov β̂) (estimation noise is variance too),
    so each mix variance is bias-corrected, β̂'Sβ̂ − tr(S·Cov β̂), and truncated at 0; every bootstrap
    draw gets the same correction. Intervals are basic bootstrap intervals (2θ̂ − quantiles),
    clipped to [0, 1]. `p_value` is the joint Wald test that the variable has no effect. The
    per-variable shares need not add up to the joint one when the variables are correlated."""
    fit, boot = model.fit, model.boot
    X = fit.fixed.X
    cov = np.cov(X, rowvar=False, ddof=0)
    V = fit.vcov.to_numpy()
    blocks = {"contact mix": [j for cols in _block_columns(fit).values() for j in cols], **_block_columns(fit)}
    noise = {k: float(np.trace(cov[np.ix_(c, c)] @ V[np.ix_(c, c)])) for k, c in blocks.items()}
    names = list(fit.fixef.index)
    sd_col = f"sd_{model.agent}_(Intercept)"

    def shares(beta: np.ndarray, tau: float, sigma: float) -> dict:
        var = {k: max(0.0, float(beta[c] @ cov[np.ix_(c, c)] @ beta[c]) - noise[k]) for k, c in blocks.items()}
        total = var["contact mix"] + tau ** 2 + sigma ** 2
        out = {"agents": tau ** 2 / total}
        out.update({k: v / total for k, v in var.items()})
        out["unexplained"] = sigma ** 2 / total
        out["total variance"] = total
        return out

    est = pd.Series(shares(fit.fixef.to_numpy(), float(np.sqrt(fit.varcorr.loc[model.agent, "variance"])), fit.sigma))
    draws = pd.DataFrame([shares(row[names].to_numpy(dtype=float), row[sd_col], row["sigma"])
                          for _, row in boot.samples.iterrows()])[est.index]
    a = (1 - level) / 2
    lower = 2 * est - draws.quantile(1 - a)
    upper = 2 * est - draws.quantile(a)
    shares_rows = est.index != "total variance"
    lower[shares_rows] = lower[shares_rows].clip(0, 1)
    upper[shares_rows] = upper[shares_rows].clip(0, 1)
    lower["total variance"] = max(lower["total variance"], 0.0)
    table = pd.DataFrame({"share": est, "lower": lower, "upper": upper})
    table["p_value"] = np.nan
    for k, c in blocks.items():
        table.loc[k, "p_value"] = wald_test(fit, c)
    table.index.name = "component"
    return table


def wald_test(fit: LmerResult, columns: list[int]) -> float:
    """p-value of the joint Wald χ² test that the fixed effects in `columns` are all zero."""
    if not columns:
        return np.nan
    b = fit.fixef.to_numpy()[columns]
    V = fit.vcov.to_numpy()[np.ix_(columns, columns)]
    stat = float(b @ np.linalg.solve(V, b))
    return float(stats.chi2.sf(stat, len(columns)))


# -- agent effects ----------------------------------------------------------------------------------

def agent_effects(model: AgentModel, agents: pd.DataFrame | None = None, reliability_threshold: float = 0.7,
                  level: float = 0.95) -> pd.DataFrame:
    """One row per agent with responses.

    effect: conditional mode (BLUP) — the agent's own shift in the score once contact mix is
    accounted for; mix_expected: the mean score the agent's own contacts would get with an average
    agent (lower = a harder mix); lower/upper: bootstrap prediction interval of that effect; adjusted_score:
    the average contact's predicted score plus the effect; reliability: τ²/(τ² + σ²/n);
    raw_rank / adjusted_rank: 1 = best, among rankable agents; rank_lower/rank_upper: interval of
    the adjusted rank; verdict: above / below average, not distinguishable, or not rankable."""
    fit, boot = model.fit, model.boot
    agent = model.agent
    eff = boot.effects(agent)
    eff.columns = ["effect", "lower", "upper"]
    baseline = float(np.mean(fit.fixed.X @ fit.fixef.to_numpy()))
    y = model.frame[model.outcome].astype(float)
    raw = y.groupby(model.frame[agent].astype(str)).agg(["size", "mean"]).rename(
        columns={"size": "n_responses", "mean": "raw_score"})
    table = raw.join(eff, how="inner")
    table["cond_se"] = fit.ranef[agent]["cond_se"].reindex(table.index)
    # what the agent's own contacts would score with an average agent (the difficulty of their mix)
    mix_pred = pd.Series(fit.fixed.X @ fit.fixef.to_numpy(), index=model.frame.index)
    table["mix_expected"] = mix_pred.groupby(model.frame[agent].astype(str)).mean().reindex(table.index)
    table["reliability"] = fit.reliability[agent].reindex(table.index)
    table["adjusted_score"] = baseline + table["effect"]
    table["adjusted_lower"] = baseline + table["lower"]
    table["adjusted_upper"] = baseline + table["upper"]
    table["rankable"] = table["reliability"] >= reliability_threshold
    rankable = table.index[table["rankable"]]
    table["raw_rank"] = table.loc[rankable, "raw_score"].rank(ascending=False, method="min").astype("Int64")
    table["adjusted_rank"] = table.loc[rankable, "effect"].rank(ascending=False, method="min").astype("Int64")
    lo, hi = _rank_intervals(boot, agent, list(rankable), level)
    table["rank_lower"] = lo.reindex(table.index).astype("Int64")
    table["rank_upper"] = hi.reindex(table.index).astype("Int64")
    verdict = np.where(table["lower"] > 0, "above average",
                       np.where(table["upper"] < 0, "below average", "not distinguishable from average"))
    table["verdict"] = np.where(table["rankable"], verdict, NOT_RANKABLE)
    if agents is not None:
        extra = agents.set_index(agents["agent_id"].astype(str))
        for col in ("team", "site", "tenure_months"):
            if col in extra:
                table[col] = extra[col].reindex(table.index)
    table.index.name = agent
    return table.sort_values("effect", ascending=False)


def _rank_intervals(boot: BootstrapResult, agent: str, rankable: list[str], level: float):
    """Intervals for each rankable agent's rank: rank the plausible true effects b̂ − (b̂* − b*) of
    every bootstrap replicate and take percentiles."""
    if not rankable:
        empty = pd.Series(dtype=float)
        return empty, empty
    modes = boot.modes[agent]
    pos = modes.index.get_indexer(rankable)
    draws = modes.to_numpy()[pos][None, :] - boot.errors[agent][:, pos]
    ranks = (-draws).argsort(axis=1).argsort(axis=1) + 1
    a = (1 - level) / 2
    lo, hi = np.quantile(ranks, [a, 1 - a], axis=0, method="inverted_cdf")
    return pd.Series(lo, index=rankable), pd.Series(hi, index=rankable)


def rank_shift(effects: pd.DataFrame, fraction: float = 0.1) -> dict:
    """How the raw ranking misplaces rankable agents: who is in the bottom `fraction` by raw score
    but not by adjusted effect (and the reverse), and the rank correlation. With fewer than 10
    rankable agents there is no bottom group to compare (bottom_size 0)."""
    r = effects[effects["rankable"]]
    k = int(round(fraction * len(r))) if len(r) >= 10 else 0
    # ties broken by the other score, then by id, so the bottom group is well defined
    raw_order = r.assign(_id=r.index).sort_values(["raw_score", "effect", "_id"]).index
    adj_order = r.assign(_id=r.index).sort_values(["effect", "raw_score", "_id"]).index
    raw_bottom, adj_bottom = set(raw_order[:k]), set(adj_order[:k])
    rho = stats.spearmanr(r["raw_score"], r["effect"]).statistic if len(r) > 2 else np.nan
    change = (r["raw_rank"].astype(float) - r["adjusted_rank"].astype(float)).abs()
    return {"n_rankable": len(r), "bottom_size": k, "fraction": fraction,
            "raw_bottom_not_adjusted": sorted(raw_bottom - adj_bottom),
            "adjusted_bottom_not_raw": sorted(adj_bottom - raw_bottom),
            "spearman": float(rho),
            "median_abs_rank_change": float(change.median()) if len(r) else np.nan}


# -- contact-mix effects ------------------------------------------------------------------------------

def mix_effects(model: AgentModel, variable: str, level: float = 0.95) -> pd.DataFrame:
    """Each level of `variable` against the average contact: the difference in expected score
    between contacts at that level and the response-weighted average over levels, holding the
    agent and the rest of the mix fixed. SEs from the fixed-effect covariance, df by Satterthwaite;
    `lower_adj`/`upper_adj` are Bonferroni intervals over the k levels (family-wise 95%) and
    `p_holm` Holm-adjusted p-values. A level whose column was dropped as aliased with other terms
    is not estimable: its row is NaN (and it is left out of the average)."""
    fit = model.fit
    names = list(fit.fixef.index)
    info = fit.frame.factors[variable]
    codes = fit.frame.codes[variable]
    counts = pd.Series(np.bincount(codes, minlength=len(info.labels)), index=info.labels)
    column = {lab: f"{variable}{lab}" for lab in info.labels}
    estimable = {lab for lab in info.labels if column[lab] in names or lab == info.labels[0]}
    if column[info.labels[0]] in fit.fixed.dropped or info.labels[0] not in estimable:
        estimable.discard(info.labels[0])
    weights = counts[list(estimable)] / counts[list(estimable)].sum()
    avg = np.zeros(len(names))
    for lab, w in weights.items():
        if column[lab] in names:
            avg[names.index(column[lab])] += w
    k = len(estimable)
    rows = []
    for lab in info.labels:
        row = {variable: lab, "n_responses": int(counts[lab])}
        if lab in estimable:
            L = -avg.copy()
            if column[lab] in names:
                L[names.index(column[lab])] += 1.0
            test = fit.contrast(L)
            q = stats.t.ppf(0.5 + level / 2, test["df"])
            qa = stats.t.ppf(1 - (1 - level) / (2 * k), test["df"])
            row.update({"effect": test["estimate"], "std_error": test["std_error"], "df": test["df"],
                        "lower": test["estimate"] - q * test["std_error"],
                        "upper": test["estimate"] + q * test["std_error"],
                        "lower_adj": test["estimate"] - qa * test["std_error"],
                        "upper_adj": test["estimate"] + qa * test["std_error"], "p_value": test["p_value"]})
        rows.append(row)
    out = pd.DataFrame(rows).set_index(variable)
    p = out["p_value"].dropna().sort_values()
    holm = np.minimum(1.0, np.maximum.accumulate(p.to_numpy() * (len(p) - np.arange(len(p)))))
    out["p_holm"] = pd.Series(holm, index=p.index)
    out.attrs["not_estimable"] = [lab for lab in info.labels if lab not in estimable]
    return out.sort_values("effect")


def model_health(model: AgentModel) -> list[str]:
    """Plain statements of anything in the fit a reader must know before trusting the numbers."""
    fit, out = model.fit, []
    if not fit.converged:
        out.append("The model did not converge: " + "; ".join(fit.messages))
    if fit.singular:
        out.append("The agent variance is estimated at (nearly) zero: the data show no detectable differences "
                   "between agents after contact mix, so agent effects are all shrunk to the average.")
    if fit.fixed.dropped:
        out.append(f"Columns dropped because they are aliased with others: {', '.join(fit.fixed.dropped)}.")
    if model.boot.n_failed:
        out.append(f"{model.boot.n_failed} of {model.boot.n} bootstrap refits failed and were left out.")
    if fit.n_dropped:
        out.append(f"{fit.n_dropped} replies with missing values were left out.")
    return out
