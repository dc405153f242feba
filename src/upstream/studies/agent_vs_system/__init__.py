"""Agent or system? How much of CSAT is the agent and how much the contact mix, which agents really
differ once contact mix is accounted for, how raw rankings mislead, and which policies lower CSAT
whoever handles them.

    params  = Parameters.from_mapping(...)
    model   = steps.agent_model(ds, params, cache)          # csat ~ mix + (1 | agent), bootstrap
    screen  = steps.survey_screen(ds, params, cache)        # survey process under review?
    effects = agent_effects(model, ..., flagged=screen)     # effects, sign probabilities, verdicts
    shares  = variance_shares(model) (+ customers)          # agent / mix / customer / contact shares
    fitted  = policy_fits(ds, params, cache, model)         # policy model (shared with policy_friction), slope tests
    policy  = policy effects, agent variation, top quarter  # what the rules cost, whoever handles them
    shift   = rank_shift(effects)                           # how raw rankings mislead
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...analysis import aggregated, latent, policies, shared_credit
from ...analysis import shares as shares_module
from ...analysis.agent_trend import agent_trend
from ...analysis.agents import AgentEffects, agent_effects
from ...analysis.latent import LatentAgentModel
from ...analysis.mix_parts import mix_parts
from ...analysis.ranking import RankShift, rank_shift
from ...analysis.screen import ScreenResult
from ...data.description import SHARED_WEIGHTS
from .. import shared_step, steps
from ..base import ModelSummary, Parameters, RunCache, StudyDeclaration, StudyResult
from . import display, plots
from . import sentences as say

NAME = "agent_vs_system"
TITLE = "Agent or system? What drives CSAT"
GROUP = "Agents"
POLICY = "policy"


@dataclass(frozen=True, eq=False)
class AgentVsSystemValues:
    """What the notebook and the page quote: the variance shares (and the share difference of the largest mix
    part against the agents), the rank shift summary, the scale and its units, the agent model, how the effect
    draws were made, the method paragraphs, and the agents' effects and survey screen with their settings."""

    shares: object
    versus: object
    top_part: str | None
    shift: RankShift
    scale: object
    units: object
    model: ModelSummary
    draws: str
    method: list[str]
    effects: AgentEffects
    screen: ScreenResult


def no_policy_table() -> pd.DataFrame:
    """The policy table of a data set that does not record policies (one value, e.g. 'unknown')."""
    columns = ["n_contacts", "n_responses", "effect", "std_error", "lower", "upper", "lower_adj", "upper_adj",
               "p_value", "p_holm", "agent_variation_p", "top_quarter", "top_quarter_lower_adj",
               "top_quarter_upper_adj", "top_quarter_agent_sd"]
    return pd.DataFrame(columns=columns, index=pd.Index([], name=POLICY), dtype=float)


def linear_system(model, contacts, source=None, fitted=None):
    """Shares (bootstrap, customers split off where they repeat) and policy effects against the average
    contact of the period (`contacts`: the contacts, or their counts per policy), whether each varies by
    agent, how the top quarter of agents fare under it; and the health of every fit used. A model from
    per-agent sums (`source`: its SQL data set) has no customer split and no random-slope tests. `fitted`: the
    policy model and the random-slope tests already made (``policy_fits``: the run cache's), else made here."""
    split = steps.quietly(lambda: shares_module.customer_split(model))
    shares = shares_module.with_customers(shares_module.variance_shares(model), split)
    health = (steps.fit_health("Agent model", model.fit)
              + (steps.fit_health("Agent model with customers", model.crossed) if model.crossed is not None else []))
    fits = {"agent model": model.fit}
    if POLICY not in model.mix:
        return shares, no_policy_table(), health, fits
    if fitted is None:
        fitted = (steps.quietly(lambda: policies.fit_policy_model(model, POLICY, model.crossed, source=source)),
                  steps.quietly(lambda: policies.agent_variation(model, POLICY)) if model.frame is not None
                  else no_slope_tests())
    policy_model, variation = fitted
    effects = policies.level_effects(policy_model, contacts)
    varies = list(variation.table.index[variation.table["p_holm"] < 0.05])
    own_sd = (steps.quietly(lambda: policies.agent_sd_by_level(model, POLICY, [*varies, variation.reference]))
              if varies else None)      # where an effect varies by agent, τ is not the spread under that policy
    quarter = policies.top_quarter(model, effects, contacts, POLICY, agent_sd=own_sd)
    table = effects.join(variation.table.rename(columns={"p_value": "agent_variation_p_raw",
                                                         "p_holm": "agent_variation_p"})).join(quarter)
    health = (health + steps.fit_health("Policy model", policy_model.fit)
              + steps.noted_health("Policy model", variation.health)
              + ([f"Agent model: {model.boot.n_failed} of {model.boot.n} bootstrap refits failed and were left "
                  "out."] if model.boot.n_failed else []))
    return shares, table, health, {**fits, "policy model": policy_model.fit}


def policy_fits(ds, params: Parameters, cache: RunCache, model) -> tuple | None:
    """The policy model (``steps.policy_model``: one fit per run, shared with policy_friction) and the random-slope
    tests of the policies (``steps.slope_tests``; none for a model from per-agent sums), or None when the model has
    no policy term."""
    if POLICY not in model.mix:
        return None
    tests = steps.slope_tests(ds, params, cache, POLICY) if model.frame is not None else no_slope_tests()
    return steps.policy_model(ds, params, cache, POLICY), tests


def no_slope_tests() -> policies.SlopeTests:
    """The random-slope tests of a model without rows: no level tested."""
    empty = pd.DataFrame(columns=["slope_sd", "lr", "p_value", "p_holm"], index=pd.Index([], name=POLICY), dtype=float)
    return policies.SlopeTests(empty, reference=None)


def latent_system(model, contacts):
    """The same for a good/bad or short ordinal scale (see analysis.latent): latent-scale shares,
    average marginal policy effects on the scale's own terms; no random-slope tests (agent_variation_p
    empty)."""
    shares = latent.latent_shares(model)
    if POLICY not in model.mix:
        return shares, no_policy_table(), steps.fit_health("Agent model", model.fit), {"agent model": model.fit}
    effects = latent.level_effects(model, contacts, POLICY)
    table = effects.join(latent.latent_top_quarter(model, effects, contacts, POLICY))
    table["agent_variation_p"] = float("nan")
    return shares, table, steps.fit_health("Agent model", model.fit), {"agent model": model.fit}


LINEAR_METHOD = [
    "A linear mixed model fitted by REML with Upstream's engine (checked against lme4 on its reference data sets). "
    "Fixed effects: policy, product, channel, issue type (treatment contrasts). Random effect: agent; where customers "
    "answer more than once, a customer random effect too, which also gives the policy effects standard errors that "
    "respect repeat customers; where residual variance differs by policy, policy-specific residual variances are used.",
    "Agent effects are against the plain mean of the agents (every draw centred on it), with 95% intervals from "
    "draws of each agent's effect: the parametric bootstrap's prediction errors, or, with the customer effect, the "
    "conditional distribution with the variance components drawn from their likelihood. Reliability is "
    "1 − conditional variance / τ². A verdict needs P(effect beyond ±δ) ≥ 1 − the false-sign limit (δ: 1.25% of the "
    "scale's range unless set), both from the draws and when agents' effects follow a scale mixture of normals "
    "fitted to them (adaptive shrinkage; a few agents far out and many near the middle); the expected number of "
    "wrong verdicts is the sum of their local false sign rates (the larger of the two), which assumes the model is "
    "right.",
    "Variance shares of the contact mix are bias-corrected (β̂'Sβ̂ − tr(S·Cov β̂)) with basic bootstrap intervals "
    "pivoted on the bootstrap world's plug-in shares; the customer share has a profile-likelihood interval. Policy "
    "intervals use Satterthwaite degrees of freedom; random-slope tests use the ½χ²₀ + ½χ²₁ boundary mixture.",
    "Agents who send fewer surveys than their own contacts predict (overall or after adverse contacts), or fewer "
    "surveys together with more replies (propensity model, robust over-dispersion), are under review and get no "
    "verdict.",
]
LATENT_METHOD = [
    "A {model} mixed model fitted by maximum likelihood (Laplace approximation) with Upstream's engine (checked "
    "against lme4::glmer and ordinal::clmm). Fixed effects: policy, product, channel, issue type. "
    "Random effect: agent. No customer random effect (a crossed agent × customer model of this kind took 100 s "
    "against 0.7 s on the bundled sample): where customers repeat, a logistic model's policy intervals are widened "
    "by a customer design effect (the customer-clustered over the independent sandwich variance); a cumulative-logit "
    "model's are not, and are then a few per cent too narrow.",
    "Agent and policy effects are reported on the scale's own terms ({outcome}) for the average contact of the period, "
    "averaged over the agents' random-effect distribution (Gauss–Hermite), not for the median agent: "
    "average marginal effects with delta-method intervals over the coefficients, the agent SD and any thresholds "
    "(policies), and draws from each agent's conditional distribution mapped through the model, against the plain "
    "mean of the agents (agents). A verdict needs P(effect beyond ±δ) ≥ 1 − the false-sign limit, under the model "
    "and under a scale mixture of normals fitted to the agents.",
    "Variance shares are on the model's latent logistic scale (contact-to-contact variance π²/3), bias-corrected, "
    "with intervals from simulating the estimates' asymptotic normal distribution, moved onto the estimate. "
    "Random-slope tests are not run on this scale.",
    "Agents who send fewer surveys than their own contacts predict (overall or after adverse contacts), or fewer "
    "surveys together with more replies (propensity model, robust over-dispersion), are under review and get no "
    "verdict.",
]


SCALE_METHOD = [
    "A linear mixed model fitted by REML with Upstream's engine from per-agent sums aggregated in {engine} (the same "
    "fit, Satterthwaite df and conditional modes as from the rows; checked against the pandas path on the sample). "
    "Fixed effects: policy, product, channel, issue type (treatment contrasts). Random effect: agent. At this size "
    "there is no customer random effect: the crossed agent × customer model needs every reply in memory, so repeat "
    "customers stay in the residual and the policy effects' standard errors do not allow for them; where residual "
    "variance differs by policy, policy-specific residual variances are used.",
    LINEAR_METHOD[1],
    "Variance shares of the contact mix are bias-corrected (β̂'Sβ̂ − tr(S·Cov β̂), S the covariance of the design over "
    "the replies from the sums) with basic bootstrap intervals pivoted on the bootstrap world's plug-in shares; the "
    "bootstrap draws from the sums. Policy intervals use Satterthwaite degrees of freedom; whether a policy's effect "
    "varies by agent (random-slope tests) is not tested at this size.",
    "Agents who send fewer surveys than their own contacts predict (overall or after adverse contacts), or fewer "
    "surveys together with more replies (propensity models fitted on feature cells, robust over-dispersion), are "
    "under review and get no verdict.",
]


SCALE_CUSTOMER_METHOD = (
    "A linear mixed model fitted by REML with Upstream's engine from per-agent sums aggregated in {engine} (the same "
    "fit, Satterthwaite df and conditional modes as from the rows; checked against the pandas path on the sample). "
    "Fixed effects: policy, product, channel, issue type (treatment contrasts). Random effect: agent. Agents are "
    "judged with a customer random effect too, since customers answer more than once: the crossed agent × customer "
    "model is fitted from per-customer and agent × customer sums in O(N), its variance components by the method of "
    "moments (Gao & Owen 2017) and its effects by conjugate-gradient GLS (the backfitting fixed point; Ghosh, Hastie "
    "& Owen 2022) rather than REML (on the bundled sample agents' effects within 0.02 and SEs within 2% of REML's); "
    "each agent's draws come from its conditional normal at those variance components. The variance shares and "
    "policy effects use the model without the customer effect, so policy intervals do not allow for repeat "
    "customers; where residual variance differs by policy, policy-specific residual variances are used.")


def method_text(model, units) -> list[str]:
    if model.frame is None:
        first = SCALE_CUSTOMER_METHOD if model.customers is not None else SCALE_METHOD[0]
        return [line.format(engine=model.engine) for line in [first, *SCALE_METHOD[1:]]]
    if not isinstance(model, LatentAgentModel):
        return LINEAR_METHOD
    kind = "cumulative-logit" if getattr(model.fit, "thresholds", None) is not None else "logistic"
    return [line.format(model=kind, outcome=units.outcome) for line in LATENT_METHOD]


def run(ds, params: Parameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The agent_vs_system study on a validated data set."""
    params = params if isinstance(params, Parameters) else Parameters.from_mapping(params)
    cache = cache or RunCache()
    scale = steps.csat_scale(ds)
    units = steps.units(scale)
    model = steps.agent_model(ds, params, cache)
    screen = steps.survey_screen(ds, params, cache)
    agents = steps.agents_table(ds)
    judged = agent_effects(model, agents, params.reliability_threshold,
                           steps.verdict_margin(params, steps.csat_scale(ds)),
                           params.max_false_sign, flagged=screen.table["flagged"])
    judged, credit = shared_effects(ds, params, model, agents, screen, judged, cache)
    effects = judged.table
    if isinstance(model, LatentAgentModel) and steps.in_sql(ds):      # fitted to cells counted in SQL
        shares, policy, health, fits = latent_system(model, model.contacts)
        health = [f"Agent model: {model.note()}."] + health
    elif isinstance(model, LatentAgentModel):
        shares, policy, health, fits = latent_system(model, ds.contacts)
    elif steps.in_sql(ds):
        shares, policy, health, fits = linear_system(model, steps.contact_counts(ds, POLICY), source=ds,
                                                     fitted=policy_fits(ds, params, cache, model))
        note = aggregated.scale_note(model)
        health = ([f"Agent model: {note}."] + health
                  + (steps.fit_health("Agent model with customers", model.customers) if model.customers else []))
    else:
        shares, policy, health, fits = linear_system(model, ds.contacts, fitted=policy_fits(ds, params, cache, model))
    attribution = ds.description.attribution
    health = (health + steps.noted_health("Survey screen", screen.health)
              + [f"Survey screen: {note}." for note in screen.notes])
    parts = [v for v in model.mix if v in shares.table.index]
    top_part = max(parts, key=lambda v: shares.table.loc[v, "share"]) if parts else None
    versus = shares_module.share_difference(shares, top_part, "agents") if top_part else None
    shift = rank_shift(effects, baseline=judged.baseline)
    findings = [
        say.variance_sentence(shares, model.mix, units, customers_fitted=not steps.in_sql(ds)),
        say.mix_part_sentence(shares, top_part, versus),
        say.policy_sentence(policy, units),
        *say.policy_variation_sentences(policy, units),
        say.verdict_sentence(effects, params, singular=model.judged_by.singular, units=units,
                             margin=judged.practical_margin),
        *screen.skipped,
        say.attribution_sentence(attribution),
        shared_credit.shared_credit_sentence(credit, units, _weights_text(ds)) if credit is not None else "",
        shared_step.sql_attribution_note(ds),
        say.rank_shift_sentence(shift),
        say.tenure_sentence(effects),
        *health,
    ]
    result = StudyResult(study=NAME, title=TITLE, group=GROUP, period=steps.period(ds), parameters=params,
                         agent_ids=tuple(agents["agent_id"].astype(str)),
                         findings=[f for f in findings if f], health=health, fits=fits)
    result.tables = {
        "agent_effects": agent_table(effects),
        "policy_effects": policy.reset_index().rename(columns={"index": POLICY}).set_index(POLICY),
        "variance_shares": shares.table,
        "survey_screen": screen.table,
        "rank_shift": shift.table,
        "verdict_rule": verdict_rule(judged, units),
        **({"agent_mix_parts": parts} if (parts := mix_parts(model)) is not None else {}),
    }
    if credit is not None:
        result.tables["shared_credit"] = credit.table
    if not isinstance(model, LatentAgentModel) and (trend := agent_trend(model)) is not None:
        result.tables |= {"agent_monthly_effects": trend.monthly, "agent_trend": trend.tests}
    method = method_text(model, units) + ([shared_credit.SHARED_METHOD.format(weights=_weights_text(ds))]
                                          if credit is not None else [])
    result.values = AgentVsSystemValues(
        shares=shares, versus=versus, top_part=top_part, shift=shift, scale=scale, units=units,
        model=ModelSummary(formula=model.judged_by.formula, nobs=model.judged_by.nobs, n_boot=params.n_boot,
                           varcorr=model.judged_by.varcorr, n_agents=model.judged_by.ngroups[model.agent]),
        draws=model.draws_method, method=method, effects=judged, screen=screen)
    result.figures = figures(result, effects, policy)
    return result


def shared_effects(ds, params, model, agents, screen: ScreenResult, judged: AgentEffects,
                   cache: RunCache | None = None):
    """(judged, comparison): where the data set has a contact_agents table and the linear pandas model,
    the agent effects with shared credit (analysis.shared_credit; the run's ``shared_step`` model) and how
    they differ from `judged` (rating-time attribution); otherwise `judged` unchanged and None."""
    shared = shared_step.shared_agent_model(ds, params, model, cache)
    if shared is None:
        return judged, None
    table = ds.contact_agents
    shared_judged = agent_effects(shared, agents, params.reliability_threshold,
                                  steps.verdict_margin(params, steps.csat_scale(ds)),
                                  params.max_false_sign, flagged=screen.table["flagged"])
    return shared_judged, shared_credit.compare_attributions(model.frame, table, shared_judged.table, judged.table)


def _weights_text(ds) -> str:
    attribution = getattr(getattr(ds, "description", None), "attribution", None)
    weights = getattr(attribution, "weights", None)
    return SHARED_WEIGHTS.get(weights, "as the contact_agents table gives them")


AGENT_COLUMNS = ["n_responses", "raw_score", "effect", "lower", "upper", "reliability", "p_below", "p_above",
                 "lfsr", "p_bottom_decile", "survey_flag", "verdict", "cond_se", "mix_expected", "adjusted_score",
                 "adjusted_lower", "adjusted_upper", "raw_rank", "adjusted_rank", "rank_lower", "rank_upper"]


def agent_table(effects: pd.DataFrame) -> pd.DataFrame:
    """tables/agent_effects.csv: the issue's columns first, then the rest (team, site, tenure)."""
    rest = [c for c in effects.columns if c not in AGENT_COLUMNS and c != "rankable"]
    table = effects[AGENT_COLUMNS + rest].copy()
    table.index.name = "agent_id"
    return table


def verdict_rule(judged: AgentEffects, units) -> pd.DataFrame:
    """tables/verdict_rule.csv: the rule the verdicts followed (margin δ, false-sign limit, reliability needed),
    the expected number of wrong verdicts, the average contact's expected score, and how effects read (outcome,
    unit, unit_scale: 100 for percentage points of a share); one row, which the agent pages read."""
    keys = ["practical_margin", "max_false_sign", "reliability_threshold", "expected_wrong", "baseline"]
    return pd.DataFrame([{**{k: getattr(judged, k) for k in keys}, "outcome": units.outcome, "unit": units.unit,
                          "unit_scale": units.scale}])


def figures(result: StudyResult, effects: pd.DataFrame, policy: pd.DataFrame) -> dict:
    shares = result.values.shares.table
    units = result.values.units
    labels = result.labels(effects.index)
    a, m = shares.loc["agents", "share"], shares.loc["contact mix", "share"]
    named = policy[policy["upper_adj"] < 0]
    worst = named.index[0] if len(named) else None
    n_verdicts = int(effects["verdict"].isin(["above average", "below average"]).sum())
    median_move = np.nanmedian((effects["raw_rank"] - effects["adjusted_rank"]).abs().astype(float))
    out = {
        "variance": plots.variance_bars(shares, f"Agents explain {say.pct(a)} of the variation in {units.outcome}, "
                                                f"the contact mix {say.pct(m)}"),
        "agents": plots.caterpillar(effects, f"{n_verdicts} of {len(effects)} agents get a verdict at a "
                                             f"{result.parameters.max_false_sign:.0%} false-sign rate", labels),
        "raw_vs_adjusted": plots.raw_vs_adjusted(
            effects, f"Adjustment moves the median rankable agent {median_move:.0f} places"),
    }
    estimated = policy.dropna(subset=["effect"])
    if len(estimated):
        out["policies"] = plots.level_effects(estimated, POLICY,
                                              f"'{worst}' costs {units.size(abs(policy.loc[worst, 'effect']))} of "
                                              f"{units.outcome} against the average contact" if worst is not None
                                              else f"No policy lowers {units.outcome} beyond what chance allows")
    return out


#: The study, declared once: the runner, the notebook test and `upstream studies` read it from here.
STUDY = StudyDeclaration(
    name=NAME, title=TITLE, group=GROUP, parameters=Parameters, run=run, page=display.page,
    tables=("agent_effects", "policy_effects", "variance_shares", "survey_screen", "rank_shift", "verdict_rule",
            "agent_mix_parts", "shared_credit", "agent_monthly_effects", "agent_trend"),
    engines=("pandas", "duckdb", "spark"))
