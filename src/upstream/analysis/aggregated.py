"""The agent model and the survey screen from aggregates, for data sets that live in SQL (DuckDB, Spark).

At a year of a large operation (millions of contacts, tens of thousands of agents) the rows stay in
the engine and only per-agent, per-level and per-cell sums reach Python (``upstream.data.sql.aggregates``):

- the agent model `y ~ mix + (1 | agent)` is fitted from the per-agent sufficient statistics
  (``lmer_from_stats``: the same REML fit, Satterthwaite df, conditional modes and reliability as
  from the rows) and bootstrapped from them (method "sums"). Where customers repeat (at least
  ``agents.MIN_REPEAT_CUSTOMERS`` with two replies) agents are judged with the crossed model
  `… + (1 | agent) + (1 | customer)` fitted in O(N) from per-customer sums and agent × customer cell
  counts (``upstream.models.crossed``: moment variance components, conjugate-gradient GLS) — exact REML
  for it needs the rows and a dense agent block; its draws are each agent's conditional normal at the
  estimated components. The variance shares and the policy model stay on the one-factor fit;
- each agent's n, raw mean and mix-expected mean come from the same sums (1'y_j/n_j, s_j'β̂/n_j); the
  average contact is the mean of x'β̂ over all contacts, from the contacts per mix cell;
- the covariance of the design over the replies is X'X/n − x̄x̄' from the totals (variance shares);
- the policy model's residual spread per level and its weighted refit run as SQL passes;
- the survey screen's propensity models are binomial GLMs on feature cells, their expected counts
  summed per agent in SQL; the top-box expectation is the population-averaged logistic model of the
  mix (cells) rather than the marginal of a logistic mixed model.

Everything downstream (effects, verdicts, ranks, shares, policy contrasts, the screen's tests) is
the pandas path's own code, given these inputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..data.description import csat_scale_of
from ..data.frames import CONTACT_MIX
from ..data.model_formula import complete_varying
from ..data.sql import aggregates as sql
from ..data.sql import survey as survey_sql
from ..models import BootstrapResult, ColumnTerms, CrossedFit, CrossedSums, GroupStats, crossed_fit, lmer_from_stats
from ..survey.constants import AGENT
from . import trends
from .agents import MIN_REPEAT_CUSTOMERS, AgentModel
from .screen import DEFAULT_Z, SCREEN_FEATURES, ScreenResult, cell_probabilities, screen_table

SCALE_NOTE = ("fitted from per-agent sums in {engine} ({nobs:,} replies, {agents:,} agents): no customer random "
              "effect (the crossed agent × customer model needs every reply in memory), so repeat customers are "
              "not separated from the residual and policy effects do not allow for them; random-slope tests "
              "(does a policy's effect vary by agent) are not run")
CROSSED_NOTE = ("fitted from per-agent sums in {engine} ({nobs:,} replies, {agents:,} agents); agents are judged with "
                "a customer random effect too ({customers:,} customers, {repeat:,} of them answered more than once), "
                "fitted from per-customer and agent × customer sums by the method of moments (variance components) "
                "and conjugate-gradient GLS (effects), not REML; the variance shares and policy effects come from the "
                "model without the customer effect, so policy effects do not allow for repeat customers; "
                "random-slope tests (does a policy's effect vary by agent) are not run")


def scale_note(model) -> str:
    """The health note of a model fitted from sums: which fit agents are judged with."""
    values = dict(engine=model.engine, nobs=model.fit.nobs, agents=model.fit.ngroups[model.agent])
    if model.customers is None:
        return SCALE_NOTE.format(**values)
    return CROSSED_NOTE.format(customers=model.customers.ngroups[list(model.customers.ngroups)[1]],
                               repeat=model.repeat, **values)


@dataclass
class StatsAgentModel(AgentModel):
    """An AgentModel fitted from per-agent sums (`frame` is None). `stats`: the sums; `means`: per agent
    n_responses, raw_score, mix_expected; `design`: the fixed-effect columns as built in SQL;
    `customers`: the crossed agent × customer fit agents are judged with (None without repeat customers);
    `repeat`: customers with two or more replies."""

    stats: GroupStats | None = field(default=None, repr=False)
    means: pd.DataFrame | None = field(default=None, repr=False)
    design: object = field(default=None, repr=False)
    engine: str = "duckdb"
    customers: CrossedFit | None = field(default=None, repr=False)
    repeat: int = 0
    replies_mix: tuple = CONTACT_MIX      # the mix `replies` were made with (``sql.prepare_replies``)

    def make_replies(self, ds) -> None:
        """`replies` in `ds`'s engine as this model was fitted to (made again only where they are not: a model
        from the run cache comes to a kernel that never made them, or made others since)."""
        sql.prepare_replies(ds, self.outcome, tuple(self.replies_mix))

    @property
    def judged_by(self):
        return self.customers if self.customers is not None else self.fit

    @property
    def draws_method(self) -> str:
        return "conditional, moment fit with customers" if self.customers is not None else "bootstrap"

    def effect_draws(self) -> pd.DataFrame:
        """Without customers the bootstrap's; with them each agent's conditional normal, mode + cond_se·z
        (as many draws as bootstrap replicates, seeded), at the estimated variance components."""
        if self.customers is None:
            return self.boot.effect_draws(self.agent)
        re = self.customers.ranef[self.agent]
        z = np.random.default_rng(self.seed).standard_normal((self.boot.n, len(re)))
        return pd.DataFrame(re["mode"].to_numpy()[None, :] + z * re["cond_se"].to_numpy()[None, :], columns=re.index)

    def agent_means(self) -> pd.DataFrame:
        return self.means

    def design_covariance(self) -> np.ndarray:
        """X'X/n − x̄x̄' from the totals of the per-agent sums (ddof 0, as from the rows)."""
        st = self.stats
        keep = [st.names.index(c) for c in self.fit.fixef.index]
        n = float(st.n.sum())
        mean = st.s.sum(axis=0)[keep] / n
        return st.xtx_total[np.ix_(keep, keep)] / n - np.outer(mean, mean)

    def reply_spread(self) -> pd.DataFrame | None:
        """Per agent n and the variance of y − x'β̂ around its mean, from the per-agent sums (None when they
        keep no per-agent X'X or carry weights)."""
        st = self.stats
        if st is None or st.xtx is None or st.sum_w is not None:
            return None
        keep = [st.names.index(c) for c in self.fit.fixef.index]
        beta = self.fit.fixef.to_numpy()
        xtx = st.xtx[:, keep][:, :, keep]
        total = st.yty - 2 * st.xty[:, keep] @ beta + np.einsum("i,gij,j->g", beta, xtx, beta)
        mean = (st.sy - st.s[:, keep] @ beta) / st.n
        with np.errstate(invalid="ignore", divide="ignore"):
            variance = np.where(st.n >= 2, (total - st.n * mean ** 2) / (st.n - 1), np.nan)
        return pd.DataFrame({"n": st.n, "variance": variance}, index=pd.Index(st.levels).astype(str))

    def mix_prediction(self) -> pd.Series:
        raise NotImplementedError("a model fitted from per-agent sums has no per-reply predictions; "
                                  "use agent_means()")

    def scores(self) -> pd.Series:
        raise NotImplementedError("a model fitted from per-agent sums has no replies; use agent_means()")


def group_stats(ds, design: sql.MixDesign, outcome: str, weight: str | None = None, per_group_xtx: bool = True,
                table: str = "replies"):
    """GroupStats of `y ~ mix + (1 | agent)` aggregated in SQL from `table` (optionally with prior weights; without
    the per-agent X'X when `per_group_xtx` is False: enough to fit, not to bootstrap from the sums)."""
    sums = sql.agent_sums(ds, design, weight=weight, per_group_xtx=per_group_xtx, table=table)
    terms = ColumnTerms(design.term_of_column, {k: tuple(v) for k, v in design.levels.items()},
                        {k: tuple(v) for k, v in design.level_counts.items()})
    if not per_group_xtx:
        return GroupStats(levels=sums["levels"], names=list(design.names), n=sums["n"], s=sums["s"], xtx=None,
                          xty=sums["xty"], sy=sums["sy"], yty=sums["yty"], sum_w=sums.get("sum_w"),
                          sum_log_w=sums.get("sum_log_w"), group=AGENT, response=outcome, xtx_sum=sums["xtx_sum"],
                          terms=terms)
    return GroupStats.from_sums(sums["levels"], design.names, sums["n"], sums["s"], sums["xtx"], sums["xty"],
                                sums["sy"], sums["yty"], sum_w=sums.get("sum_w"), sum_log_w=sums.get("sum_log_w"),
                                group=AGENT, response=outcome, terms=terms)


def cell_prediction(fit, cells: pd.DataFrame, mix, beta: pd.Series | None = None) -> np.ndarray:
    """x'β̂ of each mix cell (columns aliased in the fit count 0; `beta`: other fixed effects than the fit's)."""
    beta = fit.fixef if beta is None else beta
    out = np.full(len(cells), float(beta.get("(Intercept)", 0.0)))
    for var in mix:
        out += cells[var].map(lambda lab, v=var: float(beta.get(f"{v}{lab}", 0.0))).to_numpy(float)
    return out


def average_contact(fit, cells: pd.DataFrame, mix, beta: pd.Series | None = None) -> float:
    """Mean x'β̂ over all contacts whose levels the fit knows (``agents.average_contact_prediction``)."""
    known = np.ones(len(cells), bool)
    for var in mix:
        known &= cells[var].isin(fit.factor_levels(var)).to_numpy()
    rows = cells[known]
    if rows.empty or rows["n"].sum() == 0:
        raise ValueError("no contact has contact-mix levels the agent model knows")
    return float(np.average(cell_prediction(fit, rows, mix, beta), weights=rows["n"].to_numpy(float)))


def crossed_sums(ds, design: sql.MixDesign, stats: GroupStats, customer: str = "customer_id") -> CrossedSums:
    """The sums of the crossed agent × customer model: totals and per-agent sums from `stats`, per-customer
    sums and the agent × customer cells from SQL."""
    cust = sql.group_sums(ds, design, customer)
    cells = sql.agent_customer_cells(ds, stats.group, customer)
    agents = np.asarray(stats.levels).astype(str)
    return CrossedSums(tuple(design.names), stats.xtx_total, stats.xty.sum(axis=0), float(stats.yty.sum()),
                       agents, stats.n, stats.s, stats.sy, cust["levels"], cust["n"], cust["s"], cust["sy"],
                       np.searchsorted(agents, cells["agent"].to_numpy(dtype=object)),
                       np.searchsorted(cust["levels"], cells["customer"].to_numpy(dtype=object)),
                       cells["n"].to_numpy())


def fit_agent_model_from_sql(ds, outcome: str = "csat", mix=CONTACT_MIX, n_boot: int = 1000, seed: int = 2026,
                             progress: bool = False, customer: str | None = "customer_id") -> StatsAgentModel:
    """`outcome ~ mix + (1 | agent)` by REML from per-agent sums aggregated in the data set's engine,
    bootstrapped `n_boot` times from the sums; where at least MIN_REPEAT_CUSTOMERS customers answered
    twice (and `customer` is given), also the crossed model with `(1 | customer)` in O(N) (see the module
    docstring)."""
    sql.prepare_replies(ds, outcome, tuple(mix))
    design = sql.mix_design(ds, mix)
    stats = group_stats(ds, design, outcome)
    fit = lmer_from_stats(stats)
    boot = fit.bootstrap(n_boot, seed=seed, progress=progress, method="sums")
    repeat = sql.repeat_customers(ds, customer) if customer is not None else 0
    customers = None
    if repeat >= MIN_REPEAT_CUSTOMERS:
        customers = crossed_fit(crossed_sums(ds, design, stats, customer), AGENT, customer, outcome, fixed_se=False,
                                terms=design.mix)
    beta = (customers or fit).fixef.reindex(fit.fixef.index)
    n = stats.n.astype(float)
    keep = [stats.names.index(c) for c in fit.fixef.index]
    means = pd.DataFrame({"n_responses": stats.n, "raw_score": stats.sy / n,
                          "mix_expected": stats.s[:, keep] @ beta.to_numpy() / n},
                         index=pd.Index(stats.levels.astype(str), name=AGENT))
    cells = sql.contact_cells(ds, design.mix)
    return StatsAgentModel(fit=fit, boot=boot, frame=None, outcome=outcome, agent=AGENT, mix=design.mix,
                           baseline=average_contact(fit, cells, design.mix, beta), crossed=None, seed=seed,
                           stats=stats, means=means, design=design, engine=ds.engine.name, customers=customers,
                           repeat=repeat, replies_mix=tuple(mix))


def contact_counts(ds, variable: str) -> pd.Series:
    """Contacts per level of `variable` (all contacts of the period)."""
    i = ds.engine.dialect.ident(variable)
    rows = ds.engine.rows(f"SELECT {i}, count(*) FROM contacts GROUP BY {i}")
    return pd.Series({str(k): int(n) for k, n in rows}, name="count").sort_values(ascending=False)


def policy_residuals(ds, model: StatsAgentModel, fit, variable: str) -> pd.DataFrame:
    """Per level: n, Σe, Σe², median, Σz, Σz² of the conditional residuals (``policies.level_residuals``)."""
    if ds is None:
        raise ValueError("a model fitted from per-agent sums needs its SQL data set for the policy model")
    model.make_replies(ds)
    return sql.level_residuals(ds, model.design, fit.fixef, fit.ranef[model.agent]["mode"], variable)


def weighted_fit(ds, model: StatsAgentModel, variable: str, level_weight: pd.Series):
    """The agent model refitted with precision weights per level of `variable`, normalised to mean 1
    over the replies (as ``policies.fit_policy_model`` does with rows)."""
    model.make_replies(ds)
    counts = pd.Series(model.design.level_counts[variable], index=model.design.levels[variable], dtype=float)
    w = level_weight.reindex(counts.index)
    scale = float((w * counts).sum() / counts.sum())
    d = ds.engine.dialect
    whens = " ".join(f"WHEN {d.literal(lab)} THEN {float(v / scale)!r}" for lab, v in w.items())
    stats = group_stats(ds, model.design, model.outcome, weight=f"CASE {d.ident(variable)} {whens} END")
    return lmer_from_stats(stats)


def _cell_fit(cells: pd.DataFrame, n: str, o: str, candidates: list[str]) -> np.ndarray:
    """p̂ of every row of `cells` from the GLM of `o` out of `n` on the candidates that vary (and are
    never missing) among the cells with `n` > 0, fitted on those cells merged to the features used."""
    rows = cells[cells[n] > 0]
    use = complete_varying(rows, candidates)
    if not use:
        coarse = pd.DataFrame({"n": [rows[n].sum()], "o": [rows[o].sum()]})
        return np.full(len(cells), cell_probabilities(coarse, [])[0])
    coarse = rows.groupby(use, sort=True)[[n, o]].sum().reset_index().rename(columns={n: "n", o: "o"})
    coarse["_p"] = cell_probabilities(coarse, use)
    return cells[use].merge(coarse[use + ["_p"]], on=use, how="left")["_p"].fillna(0.0).to_numpy()


def screen_sums_from_sql(ds, mix=CONTACT_MIX, features=SCREEN_FEATURES, cells: pd.DataFrame | None = None
                         ) -> pd.DataFrame:
    """The survey screen's per-agent observed and expected counts (``sql.screen_agent_sums``, indexed by agent) in two
    passes over the contacts: counts per feature cell, the propensity models fitted on the cells
    (``screen.cell_probabilities``), then per agent the observed counts, Σp̂ and Σp̂(1 − p̂). `cells`: survey_health's
    ``survey_sql.survey_cells`` (the same counts per cell of the same features, with more columns), which spare
    the first pass when they are grouped by exactly the screen's features."""
    feats = sql.screen_view(ds, [f for f in features if f in sql.SCREEN_FEATURES], csat_scale_of(ds))
    keys = None if cells is None else [c for c in cells.columns if c not in survey_sql.CELL_COUNTS]
    if keys is not None and sorted(keys) == sorted(feats):
        cells = cells[[*feats, *sql.SCREEN_COUNTS]].copy()
    else:
        cells = sql.screen_cells(ds, feats)
    cells["p_inv"] = _cell_fit(cells, "n", "invited", feats)
    cells["p_resp"] = _cell_fit(cells, "invited", "responded", feats)
    has_top = cells["scored"].sum() > 0
    cells["p_top"] = _cell_fit(cells, "scored", "top", [m for m in mix if m in feats]) if has_top else 0.0
    sums = sql.screen_agent_sums(ds, feats, cells)
    sums.index.name = AGENT
    return sums


def survey_screen_from_sql(ds, z: float = DEFAULT_Z, mix=CONTACT_MIX, features=SCREEN_FEATURES,
                           visibility=None, cells: pd.DataFrame | None = None,
                           sums: pd.DataFrame | None = None) -> ScreenResult:
    """``screen.survey_screen`` from aggregates: the per-agent counts of ``screen_sums_from_sql`` (`sums`, made here
    from `cells` when not given); the top-box expectation from the population-averaged logistic model of the mix;
    top box: the data set's declared one (``CsatScale.top_box_sql``)."""
    sums = screen_sums_from_sql(ds, mix, features, cells) if sums is None else sums

    def counts(n, o, name):
        return pd.DataFrame({"o": sums[o], "e": sums[f"e_{name}"], "v": sums[f"v_{name}"], "n": sums[n]})

    g_top, notes = None, []
    if sums["scored"].sum() > 0 and (sums["scored"] > 0).sum() > 1:
        g_top = counts("scored", "top", "top")
        notes = ["top-box expectation from the population-averaged logistic model of the contact mix (fitted on "
                 "cells), not the marginal of a logistic mixed model"]
    g_adverse = counts("adverse", "adverse_invited", "adv") if sums["adverse"].sum() > 0 else None
    out = screen_table(counts("contacts", "invited", "inv"), counts("invited", "responded", "resp"), g_top, z, [],
                       g_adverse, visibility)
    return replace(out, notes=tuple(notes))


#: Above this many numbers in the per-agent X'X (agents × columns²) the trend model is fitted from the total
#: X'X and its fixed effects drawn from their normal distribution instead of bootstrapped from the sums
#: (20,000 agents × 80 weekly and mix columns: 128 million, 1 GB per copy; the bootstrap keeps several).
PER_GROUP_XTX_LIMIT = 20_000_000

NORMAL_DRAWS_NOTE = ("fitted from per-agent sums in {engine} ({agents:,} agents × {columns} columns: too many for "
                     "every agent's X'X), so the intervals of the decomposition and the weekly levels come from "
                     "{n:,} draws of the fixed effects from their normal distribution (REML estimate and covariance), "
                     "not from a parametric bootstrap")


@dataclass
class NormalDraws(BootstrapResult):
    """Draws of β̂ from N(β̂, Cov β̂) in a BootstrapResult's shape (``fixef()``), with the note saying so."""

    note: str = ""


def normal_draws(fit, n: int, seed: int, note: str = "") -> NormalDraws:
    """`n` seeded draws of the fixed effects from their estimated normal distribution."""
    names = list(fit.fixef.index)
    chol = np.linalg.cholesky(fit.vcov.loc[names, names].to_numpy() + 1e-14 * np.eye(len(names)))
    z = np.random.default_rng(seed).standard_normal((n, len(names)))
    samples = pd.DataFrame(fit.fixef.to_numpy()[None, :] + z @ chol.T, columns=names)
    return NormalDraws(n=n, n_failed=0, level=0.95, samples=samples, estimates=fit.fixef.copy(), modes={}, errors={},
                       fixef_names=tuple(names), note=note)


def fit_trend_model_from_sql(ds, n_boot: int, seed: int, mix=CONTACT_MIX):
    """``trends.fit_trend_model`` (`csat ~ week + mix + (1 | agent_id)`) from per-agent sums, and its
    bootstrap from the sums (method "sums") — or, above PER_GROUP_XTX_LIMIT, normal draws of β̂
    (``NormalDraws``, its note for the report); `replies` is left with the week, month, NPS and top box."""
    sql.prepare_trend_replies(ds, csat_scale_of(ds), tuple(mix))
    design = sql.mix_design(ds, ("week", *mix))
    agents = int(ds.engine.rows(f"SELECT count(DISTINCT {ds.engine.dialect.ident('agent_id')}) FROM replies")[0][0])
    if agents * len(design.names) ** 2 <= PER_GROUP_XTX_LIMIT:
        fit = lmer_from_stats(group_stats(ds, design, "csat"))
        return fit, fit.bootstrap(n_boot, seed=seed, progress=False, method="sums")
    fit = lmer_from_stats(group_stats(ds, design, "csat", per_group_xtx=False))
    note = NORMAL_DRAWS_NOTE.format(engine=ds.engine.name, agents=agents, columns=len(design.names), n=n_boot)
    return fit, normal_draws(fit, n_boot, seed, note)


def trend_scores_from_sql(ds, first: str, last: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``trends.score_table`` by week and ``trends.period_scores`` of the two months, from per-week and
    per-month sums of the replies (after ``fit_trend_model_from_sql`` or ``sql.prepare_trend_replies``)."""
    weekly = trends.score_table_from_sums(sql.score_sums(ds, "week")).rename_axis("week")
    return weekly, trends.period_scores_from_sums(sql.score_sums(ds, "month"), first, last)


def trend_counts_from_sql(ds, months, mix=CONTACT_MIX) -> tuple[dict, ...]:
    """``trends.period_counts`` of each of `months` (contacts per week and per mix level) from one query."""
    counts = sql.period_level_counts(ds, list(months), ["week", *[m for m in mix if m in ds.columns["contacts"]]])
    return tuple(counts[m] for m in months)
