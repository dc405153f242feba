"""Each agent's effect month by month, from the agent model the study already fits, and whether it changed.

For reply i of agent j in month m, the residual with the agent put back, r_i = y_i − x_i'β̂ − (the customer's
conditional mode, where the crossed model judges the agents), carries the agent's own effect and chance. The
agent's effect in month m is the mean of their r_i that month against the plain mean of the agents with replies
that month (as the period's effects are against the plain mean of the agents):

    d_jm = r̄_jm − (1/K_m) Σ_k r̄_km,    Var d_jm = (1 − 1/K_m)² v_jm + (1/K_m²) Σ_{k≠j} v_km,

with v_jm = σ̂²/n_jm (the agent model has one residual variance), β̂ and σ̂ taken as known. The months' d_jm
rest on different replies, so they are independent given the agent's true monthly effects; a month enters only
with at least MIN_MONTH_REPLIES replies (the mean's normal approximation).

Whether the agent's effect moved over the period is the weighted least-squares slope of d_jm on the month
(weights 1/Var d_jm; points a month, SE 1/√Σ w_m (t_m − t̄)², a z-test): a steady drift or a step part-way
through both show as a slope. As every agent is tested, `changed` uses Holm-adjusted p-values across the agents
tested: in at most 5% of runs does any steady agent's page say that their effect changed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .policies import holm
from .results import AnalysisResult, result
from .trends import month_of

#: Replies an agent needs in a month for the month to be shown and tested.
MIN_MONTH_REPLIES = 5
#: The level of the intervals and of the test (Holm-adjusted across agents).
LEVEL = 0.95


@result
class AgentTrend(AnalysisResult):
    """`monthly`: one row per agent and month with at least MIN_MONTH_REPLIES replies (agent_id index; month,
    n_responses, effect, std_error, lower, upper: the agent's effect that month against the average agent's,
    score points). `tests`: one row per agent with two such months or more (months, first_month, last_month, slope,
    slope_lower, slope_upper, slope_se: points a month; p_value, p_holm, changed: the effect moved beyond
    chance)."""

    monthly: pd.DataFrame
    tests: pd.DataFrame
    min_replies: int


def own_residuals(model) -> pd.Series:
    """y − x'β̂ (less the customer's mode where customers are in the model): each reply's score once the
    contact mix (and the customer) is accounted for, the agent's own effect still in it."""
    fit = model.judged_by
    residual = fit.resid.to_numpy() + model.modes().reindex(model.frame[model.agent].astype(str)).to_numpy()
    return pd.Series(residual, index=model.frame.index)


def residual_variances(model) -> pd.Series:
    """Each reply's residual variance: σ̂² of the model the agents are judged with (the agent model has one
    residual variance; the policy model's level-specific ones are not part of it)."""
    return pd.Series(model.judged_by.sigma ** 2, index=model.frame.index, dtype=float)


def monthly_effects(residuals: pd.Series, variances: pd.Series, agents: pd.Series, months: pd.Series,
                    min_replies: int = MIN_MONTH_REPLIES) -> pd.DataFrame:
    """The agent × month table (see AgentTrend.monthly) from each reply's residual, residual variance, agent and
    month (aligned Series)."""
    frame = pd.DataFrame({"agent_id": agents.astype(str).to_numpy(), "month": months.to_numpy(),
                          "r": residuals.to_numpy(), "v": variances.to_numpy()})
    cells = frame.groupby(["agent_id", "month"]).agg(n_responses=("r", "size"), mean=("r", "mean"),
                                                     v_sum=("v", "sum")).reset_index()
    cells = cells[cells["n_responses"] >= min_replies].copy()
    cells["v"] = cells["v_sum"] / cells["n_responses"] ** 2
    by_month = cells.groupby("month")
    k = by_month["mean"].transform("size").astype(float)
    centre = by_month["mean"].transform("mean")
    others = by_month["v"].transform("sum") - cells["v"]
    cells["effect"] = cells["mean"] - centre
    cells["std_error"] = np.sqrt((1 - 1 / k) ** 2 * cells["v"] + others / k ** 2)
    z = stats.norm.ppf(0.5 + LEVEL / 2)
    cells["lower"] = cells["effect"] - z * cells["std_error"]
    cells["upper"] = cells["effect"] + z * cells["std_error"]
    cells = cells[k > 1]                     # a month with one agent has no average agent to compare with
    columns = ["month", "n_responses", "effect", "std_error", "lower", "upper"]
    return cells.sort_values(["agent_id", "month"]).set_index("agent_id")[columns]


def month_number(month: str) -> int:
    """Months since year 0 of a 'YYYY-MM' month (so that differences count months)."""
    year, number = month.split("-")
    return 12 * int(year) + int(number) - 1


def change_tests(monthly: pd.DataFrame) -> pd.DataFrame:
    """Per agent with two months or more: the weighted least-squares slope of their monthly effects on the month
    (score points a month) with its 95% interval and p-value, and Holm across the agents tested (see the module
    docstring)."""
    z = stats.norm.ppf(0.5 + LEVEL / 2)
    rows = {}
    for agent, own in monthly.groupby(level=0, sort=False):
        if len(own) < 2:
            continue
        t = own["month"].map(month_number).astype(float).to_numpy()
        w = 1 / own["std_error"].to_numpy() ** 2
        t_bar = float((w * t).sum() / w.sum())
        spread = float((w * (t - t_bar) ** 2).sum())
        slope = float((w * (t - t_bar) * own["effect"].to_numpy()).sum() / spread)
        se = 1 / np.sqrt(spread)
        rows[agent] = {"months": len(own), "first_month": own["month"].iloc[0], "last_month": own["month"].iloc[-1],
                       "slope": slope, "slope_lower": slope - z * se, "slope_upper": slope + z * se,
                       "slope_se": se, "p_value": float(2 * stats.norm.sf(abs(slope) / se))}
    columns = ["months", "first_month", "last_month", "slope", "slope_lower", "slope_upper", "slope_se", "p_value"]
    tests = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    tests["p_holm"] = holm(tests["p_value"]) if len(tests) else pd.Series(dtype=float)
    tests["changed"] = tests["p_holm"] < 1 - LEVEL
    tests.index.name = "agent_id"
    return tests


def agent_trend(model, min_replies: int = MIN_MONTH_REPLIES) -> AgentTrend | None:
    """The agents' monthly effects and change tests from a linear agent model fitted on rows with their
    `opened_at`; None for a model without rows (fitted from per-agent sums) or without contact times."""
    frame = getattr(model, "frame", None)
    if frame is None or "opened_at" not in frame or not hasattr(model.judged_by, "sigma"):
        return None
    monthly = monthly_effects(own_residuals(model), residual_variances(model), frame[model.agent],
                              month_of(pd.to_datetime(frame["opened_at"])), min_replies)
    return AgentTrend(monthly=monthly, tests=change_tests(monthly), min_replies=min_replies)
