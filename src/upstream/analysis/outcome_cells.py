"""The contact-level models of rates and NPS from cells counted in SQL (``upstream.data.sql.outcome_cells``),
for data sets that live in DuckDB or Spark: the same fits as ``margins.fit_rate_model`` and
``margins.fit_nps_model`` on the rows, and the same level effects.

- A rate (escalated, repeat_within_7d, resolved_first_contact): `cbind(k, n − k) ~ mix + (1 | agent_id)` on
  the agent × mix cells — the binomial likelihood of the cells is the Bernoulli likelihood of the contacts
  up to a constant, so the estimates are the row fit's (only the log-likelihood carries Σ log C(n, k)).
- NPS: clmm on agent × mix × NPS-value cells with `counts="n"` (exact: the engine merges identical rows).
- The average contact: contacts per mix cell (``contact_population.CELL_CONTACTS``), for ``latent.level_effects`` and
  ``margins.nps_level_effects``.
- Beyond EFFECT_CELLS agent × mix cells (a year of 20,000 agents has about as many cells as contacts) a rate
  model, and beyond EFFECT_CELLS agent × mix × NPS cells the NPS model, is fitted on the cells of a seeded random
  subset of agents, as many as fit under the limit: a different, named estimator — the fixed effects and σ̂ are
  estimated from fewer agents' contacts (their standard errors say so) and the effects still average over every
  contact of the period (b ~ N(0, σ̂²): no agent's own effect is needed); `note()` says it in the report.
- A rate's customer design effect (``latent.customer_design_effects``): H = Σ n p̂(1 − p̂) x x' and
  Σ a_i² = Σ_cells (x'h)² [k(1 − p̂)² + (n − k) p̂²] from the cells, Σ_customers (Σ a_i)² in one SQL pass.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.model_formula import model_formula, present_mix
from ..data.sql import outcome_cells as sql
from ..models import clmm, glmer
from ..survey.constants import AGENT
from .agents import MIN_REPEAT_CUSTOMERS
from .channel_sums import asked_once
from .channels import RATES
from .contact_population import known_population, population_cells
from .latent import LatentAgentModel, MeanFunction
from .margins import NpsModel

#: The response of the rate model on cells: contacts with the outcome (k) and without it.
CELL_RESPONSE = "cbind(k, failures)"
#: The most cells a model on agent × cell counts takes in memory (metric_health's repeat model; the rate models of
#: level effects take at most EFFECT_CELLS): beyond it, the cells of a random subset of agents (seed SUBSET_SEED).
#: The medium preset has 843,350 agent × mix cells per rate, the large one 7,122,566.
CELL_LIMIT = 1_000_000
SUBSET_SEED = 2026
#: The most cells a rate or NPS model behind level effects is fitted on: those effects need β̂, σ̂ and their
#: covariance, not every agent's mode. On the medium preset a rate's glmer on 399,870 cells took 9–12 CPU-s (on all
#: 843,350, 42–48 CPU-s before the engine's faster design sums); on the large preset 400,000 rate cells are about
#: 1,100 of 20,000 agents (intervals about √(2,809 / 1,100) ≈ 1.6 times those of the former 1,000,000-cell fit).
EFFECT_CELLS = 400_000


@dataclass
class CellRateModel(LatentAgentModel):
    """A rate model fitted on agent × mix cells: `agents_used` of `agents_total` agents (fewer when their cells,
    `cells_total`, exceed EFFECT_CELLS)."""

    agents_used: int = 0
    agents_total: int = 0
    cells_total: int = 0

    @property
    def subset(self) -> bool:
        return self.agents_used < self.agents_total

    def note(self) -> str | None:
        """The report's sentence when the model was fitted on a subset of agents (None otherwise)."""
        return subset_note(self, "contacts", "agent × mix")


@dataclass
class CellNpsModel(NpsModel):
    """The NPS model fitted on agent × mix × NPS-value cells: `agents_used` of `agents_total` agents (fewer when
    their cells, `cells_total`, exceed EFFECT_CELLS)."""

    agents_used: int = 0
    agents_total: int = 0
    cells_total: int = 0

    @property
    def subset(self) -> bool:
        return self.agents_used < self.agents_total

    def note(self) -> str | None:
        """The report's sentence when the model was fitted on a subset of agents (None otherwise)."""
        return subset_note(self, "NPS replies", "agent × mix × NPS")


def subset_note(model, what: str, cells: str) -> str | None:
    """'fitted on the <what> of a of b agents …' for a model fitted on a subset of agents, else None."""
    if not model.subset:
        return None
    return (f"fitted on the {what} of {model.agents_used:,} of {model.agents_total:,} agents drawn at random (all "
            f"agents' {what} make {model.cells_total:,} {cells} cells, more than the {EFFECT_CELLS:,} the fit takes "
            "within the review's time): its channel and policy effects still average over every contact of the "
            "period, and their intervals reflect the smaller sample")


def recorded(ds, column: str, table: str = "contacts") -> bool:
    """``steps.recorded`` in SQL: `table` has `column` and it holds more than one value."""
    if column not in ds.columns[table]:
        return False
    return int(ds.engine.rows(f"SELECT count(DISTINCT {ds.engine.dialect.ident(column)}) FROM {table}")[0][0]) > 1


def nps_answered(ds) -> bool:
    """Some survey carries an NPS."""
    if "nps" not in ds.columns["surveys"]:
        return False
    return int(ds.engine.rows(f"SELECT count({ds.engine.dialect.ident('nps')}) FROM surveys")[0][0]) > 0


def subset_agents(cells_per_agent: pd.Series, size: int | None = None, limit: int | None = None) -> pd.Index | None:
    """The agents a model on agent × cell counts is fitted on when their cells (`cells_per_agent`: per agent id,
    sorted) exceed `limit` (default CELL_LIMIT): the agents in a random order (seed SUBSET_SEED), as many as fit
    under the limit (or under `size` cells, when smaller); None (every agent) within it."""
    limit = limit or CELL_LIMIT
    if int(cells_per_agent.sum()) <= limit:
        return None
    shuffled = cells_per_agent.iloc[np.random.default_rng(SUBSET_SEED).permutation(len(cells_per_agent))]
    return shuffled.index[np.cumsum(shuffled.to_numpy()) <= min(limit, size or limit)]


def cells_per_agent(ds, outcome: str, mix) -> pd.Series:
    """``data.sql.outcome_cells.cells_per_agent``, asked once for every rate the contacts record (``channels.RATES``)
    and kept per data set, so that the rate models share one pass."""
    outcomes = tuple(sorted({c for c in RATES.values() if c in ds.columns["contacts"]} | {outcome}))
    per_agent = asked_once(ds, ("cells_per_agent", outcomes, tuple(mix)),
                           lambda: sql.cells_per_agent_of(ds, outcomes, mix))[outcome]
    return per_agent[per_agent > 0]


def fit_rate_model_from_sql(ds, outcome: str, mix) -> CellRateModel:
    """``margins.fit_rate_model`` from agent × mix cells (see the module docstring); the model's frame is the
    cells (`counts` "n"), its population the contacts per mix cell."""
    mix = [m for m in mix if m in ds.columns["contacts"]]
    per_agent = cells_per_agent(ds, outcome, mix)
    agents = subset_agents(per_agent, limit=EFFECT_CELLS)
    subset = agents is not None
    if subset:
        sql.use_agents(ds, agents)
    cells = sql.rate_cells(ds, outcome, mix, agents=subset)
    cells["failures"] = cells["n"] - cells["k"]
    used = present_mix(cells, mix)
    fit = glmer(model_formula(CELL_RESPONSE, used), cells)
    population = asked_once(ds, ("population_cells", tuple(used)), lambda: population_cells(ds, used))
    rows, w = known_population(population, used, fit)
    eta = fit.fixed_design(rows).to_numpy() @ fit.fixef.to_numpy()
    baseline = float(np.average(MeanFunction(fit).averaged(eta, float(fit.sd)), weights=w))
    frame = cells.loc[fit.rows]
    return CellRateModel(fit=fit, frame=frame, outcome=outcome, agent=AGENT, mix=used, population_eta=eta,
                         baseline=baseline, population_weights=w, counts="n", agents_used=frame[AGENT].nunique(),
                         agents_total=len(per_agent), cells_total=int(per_agent.sum()))


def fit_nps_model_from_sql(ds, mix) -> CellNpsModel:
    """``margins.fit_nps_model`` from agent × mix × NPS-value cells (clmm with `counts`), on a random subset of
    agents beyond EFFECT_CELLS cells (see the module docstring)."""
    mix = [m for m in mix if m in ds.columns["contacts"]]
    per_agent = sql.nps_cells_per_agent(ds, mix)
    agents = subset_agents(per_agent, limit=EFFECT_CELLS)
    if agents is not None:
        sql.use_agents(ds, agents)
    cells = sql.nps_cells(ds, mix, agents=agents is not None)
    used = present_mix(cells, mix)
    fit = clmm(model_formula("nps", used), cells, levels=sorted(cells["nps"].unique()), counts="n")
    frame = cells.loc[fit.rows]
    return CellNpsModel(fit=fit, mix=used, agent=AGENT, frame=frame, counts="n", agents_used=frame[AGENT].nunique(),
                        agents_total=len(per_agent), cells_total=int(per_agent.sum()))


def customer_design_effects(ds, model: CellRateModel, gradients: dict) -> dict:
    """``latent.customer_design_effects`` of a rate model fitted from cells: per key of `gradients` (an effect's
    gradient in β) the ratio of the customer-clustered to the independent variance of its estimating equation,
    floored at 1; empty without customer ids or with fewer than MIN_REPEAT_CUSTOMERS repeat customers."""
    if sql.CUSTOMER not in ds.columns["contacts"] or not gradients:
        return {}
    fit, cells = model.fit, model.frame
    if model.subset:                               # the contacts of the agents fitted
        sql.use_agents(ds, cells[AGENT].unique())
    X = fit.model_matrix.to_numpy()
    p = fit.predict().to_numpy(dtype=float)
    n, k = cells["n"].to_numpy(float), cells["k"].to_numpy(float)
    H = X.T @ (X * (n * p * (1 - p))[:, None])
    terms = cells[[AGENT, *model.mix]].assign(p=p)
    independent = {}
    for j, (key, g) in enumerate(gradients.items()):
        xh = X @ np.linalg.lstsq(H, g, rcond=None)[0]
        terms[f"term{j}"] = xh
        independent[key] = float(xh ** 2 @ (k * (1 - p) ** 2 + (n - k) * p ** 2))
    clustered, repeat = sql.customer_squares(ds, model.outcome, model.mix, terms,
                                             [f"term{j}" for j in range(len(gradients))], model.subset)
    if repeat < MIN_REPEAT_CUSTOMERS:
        return {}
    return {key: (max(1.0, float(c) / independent[key]) if independent[key] > 0 else 1.0)
            for key, c in zip(gradients, clustered)}
