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

from .frames import CONTACT_MIX
from .mixed import lmer
from .mixed.bootstrap import BootstrapResult
from .mixed.results import LmerResult

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
    The per-variable shares need not add up to the joint one when the variables are correlated.
    Intervals are bootstrap percentiles."""
    fit, boot = model.fit, model.boot
    X = fit.fixed.X
    cov = np.cov(X, rowvar=False, ddof=0)
    blocks = _block_columns(fit)
    names = list(fit.fixef.index)
    sd_col = f"sd_{model.agent}_(Intercept)"

    def shares(beta: np.ndarray, tau: float, sigma: float) -> dict:
        mix_var = float(beta @ cov @ beta)
        total = mix_var + tau ** 2 + sigma ** 2
        out = {"agents": tau ** 2 / total, "contact mix": mix_var / total}
        for term, cols in blocks.items():
            b = beta[cols]
            out[term] = float(b @ cov[np.ix_(cols, cols)] @ b) / total
        out["unexplained"] = sigma ** 2 / total
        out["total variance"] = total
        return out

    est = shares(fit.fixef.to_numpy(), float(np.sqrt(fit.varcorr.loc[model.agent, "variance"])), fit.sigma)
    draws = pd.DataFrame([shares(row[names].to_numpy(dtype=float), row[sd_col], row["sigma"])
                          for _, row in boot.samples.iterrows()])
    a = (1 - level) / 2
    table = pd.DataFrame({"share": pd.Series(est), "lower": draws.quantile(a), "upper": draws.quantile(1 - a)})
    table.index.name = "component"
    return table


# -- agent effects ----------------------------------------------------------------------------------

def agent_effects(model: AgentModel, agents: pd.DataFrame | None = None, reliability_threshold: float = 0.7,
                  level: float = 0.95) -> pd.DataFrame:
    """One row per agent with responses.

    effect: conditional mode (BLUP) — the agent's own shift in the score once contact mix is
    accounted for; lower/upper: bootstrap prediction interval of that effect; adjusted_score:
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
    but not by adjusted effect (and the reverse), and the rank correlation."""
    r = effects[effects["rankable"]]
    k = max(1, int(round(fraction * len(r))))
    raw_bottom = set(r.nlargest(k, "raw_rank").index)
    adj_bottom = set(r.nlargest(k, "adjusted_rank").index)
    rho = stats.spearmanr(r["raw_rank"], r["adjusted_rank"]).statistic if len(r) > 2 else np.nan
    return {"n_rankable": len(r), "bottom_size": k,
            "raw_bottom_not_adjusted": sorted(raw_bottom - adj_bottom),
            "adjusted_bottom_not_raw": sorted(adj_bottom - raw_bottom),
            "spearman": float(rho),
            "median_abs_rank_change": float((r["raw_rank"] - r["adjusted_rank"]).abs().median())}


# -- contact-mix effects ------------------------------------------------------------------------------

def mix_effects(model: AgentModel, variable: str, level: float = 0.95) -> pd.DataFrame:
    """Each level of `variable` against the average contact: the difference in expected score
    between contacts at that level and the response-weighted average over levels, holding the
    rest of the mix fixed. SEs from the fixed-effect covariance, df by Satterthwaite."""
    fit = model.fit
    names = list(fit.fixef.index)
    counts = model.frame[variable].astype(str).value_counts()
    levels = list(counts.index)
    weights = counts / counts.sum()
    col = {lvl: names.index(f"{variable}{lvl}") for lvl in levels if f"{variable}{lvl}" in names}
    avg = np.zeros(len(names))
    for lvl, w in weights.items():
        if lvl in col:
            avg[col[lvl]] += w
    rows = []
    for lvl in levels:
        L = -avg.copy()
        if lvl in col:
            L[col[lvl]] += 1.0
        test = fit.contrast(L)
        q = stats.t.ppf(0.5 + level / 2, test["df"])
        rows.append({variable: lvl, "n_responses": int(counts[lvl]), "effect": test["estimate"],
                     "std_error": test["std_error"], "df": test["df"],
                     "lower": test["estimate"] - q * test["std_error"],
                     "upper": test["estimate"] + q * test["std_error"], "p_value": test["p_value"]})
    return pd.DataFrame(rows).set_index(variable).sort_values("effect")
