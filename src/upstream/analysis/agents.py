"""Agents once the contact mix is accounted for: the agent model and each agent's effect and verdict.

The agent model is a linear mixed model of a satisfaction score with the contact mix (policy,
product, channel, issue type) as fixed effects and the agent as a random intercept,

    csat ~ policy + product + channel + issue_type + (1 | agent_id),

fitted by REML with a parametric bootstrap (1,000 replicates by default: 2.5% tails need that many).
Where customers answer more than once (at least MIN_REPEAT_CUSTOMERS customers with two replies),
agents are judged with the crossed model `… + (1 | agent_id) + (1 | customer_id)`: a customer who rates
everyone low no longer counts against the agents who served them, and an agent's replies from one
customer are not treated as independent. Without repeat customers the agent effects' draws come from
the bootstrap (b̂ − (b̂* − b*), which carries the uncertainty of the variance components). The
crossed model's refits are too slow to bootstrap a thousand times, so its draws integrate over the
variance components instead (``upstream.models.random_intercept_draws``): θ (the relative SDs of agents and customers)
is drawn from its likelihood (the REML criterion D(θ), flat prior on θ ≥ 0, by sampling-importance-
resampling from a folded normal proposal fitted to D's curvature), σ² from pwrss(θ)/χ²_{n−p}, and
each agent's effect from its conditional distribution at those values. With τ, σ held at their
estimates (lme4's condVar alone) a 12-agent team's 95% intervals covered 68% when τ was small.

`agent_effects` turns it into one row per agent: the conditional mode with its 95% interval,
reliability, sign probabilities and the verdict (see ``verdicts``), ranks with intervals.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.frames import CONTACT_MIX
from ..data.model_formula import model_formula, present_mix
from ..models import BootstrapResult, LmerResult, lmer, random_intercept_draws
from ..survey.constants import AGENT, CUSTOMER
from . import verdicts
from .results import AnalysisResult, result

NOT_RANKABLE = verdicts.NOT_RANKABLE


#: Customers must answer at least twice this often before a customer effect is separated.
MIN_REPEAT_CUSTOMERS = 30


@dataclass
class AgentModel:
    """A fitted agent model: `fit` the one-factor model with its bootstrap `boot`, `crossed` the model
    with a customer intercept (None without repeat customers), the frame they were fitted to.
    `baseline` is the expected score for the average contact (mean fixed-effect prediction over
    `population`, all contacts of the period when given, else the replies)."""

    fit: LmerResult
    boot: BootstrapResult
    frame: pd.DataFrame
    outcome: str
    agent: str
    mix: tuple[str, ...]
    baseline: float
    crossed: LmerResult | None = None
    seed: int = 2026
    _draws: pd.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def formula(self) -> str:
        return self.fit.formula

    @property
    def judged_by(self) -> LmerResult:
        """The model agents are judged with: the crossed model where customers repeat."""
        return self.crossed if self.crossed is not None else self.fit

    @property
    def draws_method(self) -> str:
        return "conditional, variance components drawn" if self.crossed is not None else "bootstrap"

    # -- what agent_effects needs, on the score's own scale (a binary model gives shares instead) --
    def modes(self) -> pd.Series:
        """Each agent's conditional mode (score points)."""
        return self.judged_by.ranef[self.agent]["mode"]

    def cond_se(self) -> pd.Series:
        return self.judged_by.ranef[self.agent]["cond_se"]

    def reliability(self) -> pd.Series:
        return self.judged_by.reliability[self.agent]

    def mix_prediction(self) -> pd.Series:
        """Each reply's expected score with an average agent (its contact mix alone)."""
        return pd.Series(self.judged_by.predict(include_random=False).to_numpy(), index=self.frame.index)

    def scores(self) -> pd.Series:
        """Each reply's observed score."""
        return self.frame[self.outcome].astype(float)

    def agent_means(self) -> pd.DataFrame:
        return means_by_agent(self)

    def reply_spread(self) -> pd.DataFrame | None:
        """Per agent n and variance: the sample variance of its replies' score − mix prediction (the
        spread of its own replies around its mean), for ``verdicts.agent_noise_scale``."""
        residuals = self.scores() - self.mix_prediction()
        groups = residuals.groupby(self.frame[self.agent].astype(str).to_numpy())
        return pd.DataFrame({"n": groups.size(), "variance": groups.var(ddof=1)})

    def design_covariance(self) -> np.ndarray:
        """S, the covariance (ddof 0) of the agent model's fixed-effect columns over the replies."""
        return np.cov(self.fit.model_matrix.to_numpy(), rowvar=False, ddof=0)

    def effect_draws(self) -> pd.DataFrame:
        """Plausible true agent effects, one row per draw: from the crossed model's conditional
        distribution with its variance components drawn too (``upstream.models.random_intercept_draws``; as many draws
        as bootstrap replicates, seeded), or from the bootstrap's prediction errors. Made once per model and kept
        with it (the crossed model's take about a second on the sample; three studies of a run judge agents from
        them): do not change the frame returned."""
        if self._draws is None:
            self._draws = (self.boot.effect_draws(self.agent) if self.crossed is None
                           else random_intercept_draws(self.crossed, self.agent, self.boot.n, self.seed))
        return self._draws


def repeat_customers(frame: pd.DataFrame, customer: str = CUSTOMER) -> int:
    """Customers with at least two replies in `frame`."""
    if customer not in frame:
        return 0
    return int((frame[customer].value_counts() >= 2).sum())


def average_contact_prediction(fit, population: pd.DataFrame | None, mix) -> float:
    """Mean fixed-effect prediction x'β̂ over `population` (rows whose mix levels the fit knows)."""
    if population is None:
        return float(fit.predict(include_random=False).mean())
    rows = population
    for variable in mix:
        rows = rows[rows[variable].astype(str).isin(fit.factor_levels(variable))]
    if rows.empty:
        return float(fit.predict(include_random=False).mean())
    return float(fit.predict(rows, include_random=False, allow_new_levels=True).mean())


def fit_agent_model(frame: pd.DataFrame, outcome: str = "csat", mix=CONTACT_MIX,
                    n_boot: int = 1000, seed: int = 2026, population: pd.DataFrame | None = None,
                    customer: str | None = CUSTOMER, progress: bool = False,
                    boot_method: str = "auto") -> AgentModel:
    """Fit `outcome ~ mix + (1 | agent)` by REML and bootstrap it `n_boot` times (`boot_method`: see
    ``BootstrapResult``; "sums" draws as a fit from per-agent sums does); where at least
    MIN_REPEAT_CUSTOMERS customers answered twice (and `customer` is given), also the crossed model
    with `(1 | customer)`."""
    mix = present_mix(frame, mix)
    fit = lmer(model_formula(outcome, mix), frame)
    boot = fit.bootstrap(n_boot, seed=seed, progress=progress, method=boot_method)
    used = frame.loc[fit.rows]
    crossed = None
    if customer is not None and repeat_customers(used, customer) >= MIN_REPEAT_CUSTOMERS:
        crossed = lmer(model_formula(outcome, mix, random=(AGENT, customer)), used)
    return AgentModel(fit=fit, boot=boot, frame=used, outcome=outcome, agent=AGENT, mix=mix,
                      baseline=average_contact_prediction(crossed or fit, population, mix), crossed=crossed,
                      seed=seed)


def means_by_agent(model) -> pd.DataFrame:
    """Per agent with replies: n_responses, raw_score (mean score) and mix_expected (mean score of the
    agent's replies with an average agent: their contact mix alone), from a model fitted on rows."""
    ids = model.frame[model.agent].astype(str)
    table = model.scores().groupby(ids).agg(["size", "mean"]).rename(columns={"size": "n_responses",
                                                                             "mean": "raw_score"})
    table["mix_expected"] = model.mix_prediction().groupby(ids).mean().reindex(table.index)
    return table


@result
class AgentEffects(AnalysisResult):
    """Agent effects: each agent's own shift in the score once contact mix is accounted for, and its verdict."""

    table: pd.DataFrame               # one row per agent with replies (see ``agent_effects``), best effect first
    draws: str                        # how the effect draws were made (the model's draws_method)
    practical_margin: float           # δ of the verdicts, in score points
    max_false_sign: float             # the largest accepted chance of a verdict with the wrong sign
    reliability_threshold: float      # agents below it are not ranked
    baseline: float                   # the average contact's expected score with an average agent
    expected_wrong: float             # the expected number of wrong verdicts (the sum of their lfsr)


def agent_effects(model: AgentModel, agents: pd.DataFrame | None = None, reliability_threshold: float = 0.7,
                  practical_margin: float = 0.0, max_false_sign: float = 0.05, flagged: pd.Series | None = None,
                  level: float = 0.95, bottom_fraction: float = 0.1) -> AgentEffects:
    """One row per agent with replies (``AgentEffects.table``), with the settings its verdicts were made by.

    effect: the agent's own shift in the score once contact mix is accounted for, against the plain
    mean of the agents' shifts (the average agent; every draw is centred the same way, see
    ``verdicts``); lower/upper: bootstrap prediction interval of that effect; mix_expected: the mean
    score the agent's own contacts would get with an average agent (lower = a harder mix);
    adjusted_score (adjusted_lower/upper): the average contact's expected score with this agent
    (baseline plus the agent's conditional mode, not centred); reliability: τ²/(τ² + σ²/n);
    p_below/p_above: P(effect < −margin), P(effect > margin); lfsr: local false sign rate;
    p_bottom_decile: P(among the bottom `bottom_fraction` of the rankable, unflagged agents) — for those;
    survey_flag: the survey process is under review (`flagged`); verdict: see ``verdicts``;
    raw_rank / adjusted_rank (1 = best) with rank_lower/rank_upper: among rankable, unflagged agents."""
    agent = model.agent
    own = model.effect_draws()                     # each agent's own shift from the model's intercept
    own_mode = model.modes()
    draws = verdicts.against_agent_mean(own)       # the estimand: the effect against the plain mean of agents
    mode = own_mode - own_mode.mean()
    a = (1 - level) / 2

    def interval(point: pd.Series, d: pd.DataFrame):
        err = d.to_numpy() - point.to_numpy()[None, :]
        return point.to_numpy() + np.quantile(err, a, axis=0), point.to_numpy() + np.quantile(err, 1 - a, axis=0)

    lower, upper = interval(mode, draws)
    eff = pd.DataFrame({"effect": mode, "lower": lower, "upper": upper}, index=mode.index)
    own_lower, own_upper = interval(own_mode, own)
    means = model.agent_means()
    table = means[["n_responses", "raw_score"]].join(eff, how="inner")
    table["cond_se"] = model.cond_se().reindex(table.index)
    table["mix_expected"] = means["mix_expected"].reindex(table.index)
    table["reliability"] = model.reliability().reindex(table.index)
    own = pd.DataFrame({"adjusted_score": own_mode.to_numpy(), "adjusted_lower": own_lower,
                        "adjusted_upper": own_upper}, index=own_mode.index)
    for col in own:                                # the average contact's expected score with this agent
        table[col] = model.baseline + own[col].reindex(table.index)
    table["rankable"] = table["reliability"] >= reliability_threshold
    table["survey_flag"] = (pd.Series(False, index=table.index) if flagged is None
                            else flagged.reindex(table.index).fillna(False).astype(bool))
    draws = draws[table.index]
    # the verdict must hold under the model's normal agents and under a fitted scale mixture (verdicts)
    # each agent's own reply spread on a linear scale (a latent model's binomial variance is its own)
    spread = model.reply_spread() if isinstance(model, AgentModel) else None
    noise = None if spread is None else verdicts.agent_noise_scale(spread["n"], spread["variance"])
    mixture = verdicts.mixture_sign_probabilities(
        verdicts.unshrunk_estimates(own_mode, model.cond_se(), model.reliability(), noise_scale=noise),
        practical_margin)
    table = table.join(verdicts.cautious_sign_probabilities(verdicts.sign_probabilities(draws, practical_margin),
                                                            mixture))
    ranked = table.index[table["rankable"] & ~table["survey_flag"]]
    # among the agents that are ranked, as the rank intervals are: an unrankable agent's wide draws
    # would otherwise take bottom places from the ranked agents
    bottom = verdicts.bottom_probability(draws[ranked], bottom_fraction)
    table["p_bottom_decile"] = bottom.reindex(table.index)
    table["verdict"] = verdicts.assign_verdicts(table, table["rankable"], table["survey_flag"], max_false_sign)
    table["raw_rank"] = table.loc[ranked, "raw_score"].rank(ascending=False, method="min").astype("Int64")
    table["adjusted_rank"] = table.loc[ranked, "effect"].rank(ascending=False, method="min").astype("Int64")
    lo, hi = rank_intervals(draws[ranked], level)
    table["rank_lower"] = lo.reindex(table.index).astype("Int64")
    table["rank_upper"] = hi.reindex(table.index).astype("Int64")
    if agents is not None:
        extra = agents.set_index(agents[AGENT].astype(str))
        for col in ("team", "site", "tenure_months"):
            if col in extra:
                table[col] = extra[col].reindex(table.index)
    table.index.name = agent
    return AgentEffects(table.sort_values("effect", ascending=False), draws=model.draws_method,
                        practical_margin=practical_margin, max_false_sign=max_false_sign,
                        reliability_threshold=reliability_threshold, baseline=model.baseline,
                        expected_wrong=verdicts.expected_wrong_verdicts(table))


def rank_intervals(draws: pd.DataFrame, level: float = 0.95) -> tuple[pd.Series, pd.Series]:
    """Percentile interval of each agent's rank (1 = best) over the replicates of `draws`."""
    if draws.shape[1] == 0:
        empty = pd.Series(dtype=float)
        return empty, empty
    ranks = (-draws.to_numpy(dtype=float)).argsort(axis=1).argsort(axis=1) + 1
    a = (1 - level) / 2
    lo, hi = np.quantile(ranks, [a, 1 - a], axis=0, method="inverted_cdf")
    return pd.Series(lo, index=draws.columns), pd.Series(hi, index=draws.columns)
