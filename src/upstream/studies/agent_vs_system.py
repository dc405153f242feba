"""Agent or system? How much of CSAT is the agent and how much the contact mix, which agents really
differ once contact mix is accounted for, how raw rankings mislead, and which policies lower CSAT
whoever handles them.

    params  = Parameters.from_mapping(...)
    model   = steps.agent_model(ds, params, cache)          # csat ~ mix + (1 | agent), bootstrap
    screen  = steps.survey_screen(ds, params, cache)        # survey process under review?
    effects = agent_effects(model, ..., flagged=screen)     # effects, sign probabilities, verdicts
    shares  = variance_shares(model) (+ customers)          # agent / mix / customer / contact shares
    policy  = policy effects, agent variation, top quarter  # the rules no agent can fix
    shift   = rank_shift(effects)                           # how raw rankings mislead
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis import policies, shares as shares_module
from ..analysis.agents import agent_effects
from ..analysis.ranking import rank_shift
from ..reporting import plots
from ..reporting import sentences as say
from . import steps
from .base import Parameters, RunCache, StudyResult

NAME = "agent_vs_system"
TITLE = "Agent or system? What drives CSAT"
POLICY = "policy"


def policy_table(model, contacts, crossed_fit):
    """Policy effects against the average contact of the period, with whether each varies by agent
    and how the top quarter of agents fare under it."""
    policy_model = steps.quietly(lambda: policies.fit_policy_model(model, POLICY, crossed_fit))
    effects = policies.level_effects(policy_model, contacts)
    variation = steps.quietly(lambda: policies.agent_variation(model, POLICY))
    quarter = policies.top_quarter(model, effects, contacts, POLICY)
    table = effects.join(variation.rename(columns={"p_value": "agent_variation_p_raw",
                                                   "p_holm": "agent_variation_p"})).join(quarter)
    return table, policy_model, variation.attrs["health"]


def run(ds, params: Parameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The agent_vs_system study on a validated data set."""
    params = params if isinstance(params, Parameters) else Parameters.from_mapping(params)
    cache = cache or RunCache()
    model = steps.agent_model(ds, params, cache)
    screen = steps.survey_screen(ds, params, cache)
    effects = agent_effects(model, ds.agents, params.reliability_threshold, params.practical_margin,
                            params.max_false_sign, flagged=screen["flagged"])
    split = steps.quietly(lambda: shares_module.customer_split(model))
    shares = shares_module.with_customers(shares_module.variance_shares(model), split)
    parts = [v for v in model.mix if v in shares.table.index]
    top_part = max(parts, key=lambda v: shares.table.loc[v, "share"]) if parts else None
    versus = shares_module.share_difference(shares, top_part, "agents") if top_part else None
    policy, policy_model, slope_health = policy_table(model, ds.contacts, split["fit"] if split else None)
    bottom, shift = rank_shift(effects)
    health = (steps.fit_health("Agent model", model.fit)
              + (steps.fit_health("Agent model with customers", model.crossed) if model.crossed is not None else [])
              + steps.fit_health("Policy model", policy_model.fit)
              + steps.noted_health("Policy model", slope_health)
              + steps.noted_health("Survey screen", screen.attrs["health"])
              + ([f"Agent model: {model.boot.n_failed} of {model.boot.n} bootstrap refits failed and were left "
                  "out."] if model.boot.n_failed else []))
    findings = [
        say.variance_sentence(shares, model.mix),
        say.mix_part_sentence(shares, top_part, versus),
        say.policy_sentence(policy),
        *say.policy_variation_sentences(policy),
        say.verdict_sentence(effects, params, singular=model.fit.singular),
        say.rank_shift_sentence(shift),
        say.tenure_sentence(effects),
        *health,
    ]
    result = StudyResult(study=NAME, title=TITLE, period=steps.period(ds), parameters=params,
                         findings=[f for f in findings if f], health=health,
                         fits={"agent model": model.fit, "policy model": policy_model.fit})
    result.tables = {
        "agent_effects": agent_table(effects),
        "policy_effects": policy.reset_index().rename(columns={"index": POLICY}).set_index(POLICY),
        "variance_shares": shares.table,
        "survey_screen": screen,
        "rank_shift": bottom,
    }
    result.values = {"shares": shares, "versus": versus, "top_part": top_part, "shift": shift,
                     "policy_model": policy_model, "n_boot": model.boot.n, "formula": model.formula,
                     "varcorr": model.fit.varcorr, "nobs": model.fit.nobs,
                     "n_agents": model.fit.ngroups[model.agent]}
    result.figures = figures(result, effects, policy)
    return result


AGENT_COLUMNS = ["n_responses", "raw_score", "effect", "lower", "upper", "reliability", "p_below", "p_above",
                 "lfsr", "p_bottom_decile", "survey_flag", "verdict", "cond_se", "mix_expected", "adjusted_score",
                 "adjusted_lower", "adjusted_upper", "raw_rank", "adjusted_rank", "rank_lower", "rank_upper"]


def agent_table(effects: pd.DataFrame) -> pd.DataFrame:
    """tables/agent_effects.csv: the issue's columns first, then the rest (team, site, tenure)."""
    rest = [c for c in effects.columns if c not in AGENT_COLUMNS and c != "rankable"]
    table = effects[AGENT_COLUMNS + rest].copy()
    table.index.name = "agent_id"
    return table


def figures(result: StudyResult, effects: pd.DataFrame, policy: pd.DataFrame) -> dict:
    shares = result.values["shares"].table
    labels = result.labels(effects.index)
    a, m = shares.loc["agents", "share"], shares.loc["contact mix", "share"]
    named = policy[policy["upper_adj"] < 0]
    worst = named.index[0] if len(named) else None
    n_verdicts = int(effects["verdict"].isin(["above average", "below average"]).sum())
    return {
        "variance": plots.variance_bars(shares, f"Agents explain {say.pct(a)} of CSAT variation, the contact mix "
                                                f"{say.pct(m)}"),
        "policies": plots.level_effects(policy.dropna(subset=["effect"]), POLICY,
                                        f"'{worst}' costs {abs(policy.loc[worst, 'effect']):.2f} CSAT points "
                                        "against the average contact" if worst is not None
                                        else "No policy lowers CSAT beyond what chance allows"),
        "agents": plots.caterpillar(effects, f"{n_verdicts} of {len(effects)} agents get a verdict at a "
                                             f"{result.parameters.max_false_sign:.0%} false-sign rate", labels),
        "raw_vs_adjusted": plots.raw_vs_adjusted(
            effects, f"Adjustment moves the median rankable agent "
                     f"{np.nanmedian((effects['raw_rank'] - effects['adjusted_rank']).abs().astype(float)):.0f} places"),
    }
