"""The contact-level models of rates and NPS from cells counted in SQL (``upstream.data.sql.outcome_cells``),
for data sets that live in DuckDB or Spark: the same fits as ``margins.fit_rate_model`` and
``margins.fit_nps_model`` on the rows, and the same level effects.

- A rate (escalated, repeat_within_7d, resolved_first_contact): `cbind(k, n − k) ~ mix + (1 | agent_id)` on
  the agent × mix cells — the binomial likelihood of the cells is the Bernoulli likelihood of the contacts
  up to a constant, so the estimates are the row fit's (only the log-likelihood carries Σ log C(n, k)).
- NPS: clmm on agent × mix × NPS-value cells with `counts="n"` (exact: the engine merges identical rows).
- The average contact: contacts per mix cell (``contact_population.CELL_CONTACTS``), for ``latent.level_effects`` and
  ``margins.nps_level_effects``.
- Beyond CELL_LIMIT agent × mix cells (a year of 20,000 agents has about as many cells as contacts) a rate
  model is fitted on the cells of a seeded random subset of agents, as many as fit under the limit: a different,
  named estimator — the fixed effects are estimated from fewer agents' contacts (their standard errors say so)
  and the effects still average over every contact of the period; `CellRateModel.note` says it in the report.
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
from .contact_population import known_population, population_cells
from .latent import LatentAgentModel, MeanFunction
from .margins import NpsModel

#: The response of the rate model on cells: contacts with the outcome (k) and without it.
CELL_RESPONSE = "cbind(k, failures)"
#: The most agent × mix cells a rate model is fitted on (the medium preset's 843,350 cells per rate: the study
#: peaked at 2.9 GB); beyond it, the cells of a random subset of agents (seed SUBSET_SEED) — on the large preset
#: 2,809 of 20,000 agents (all make 7,122,566 cells), the study peaking at 4.1 GB.
CELL_LIMIT = 1_000_000
SUBSET_SEED = 2026


@dataclass
class CellRateModel(LatentAgentModel):
    """A rate model fitted on agent × mix cells: `agents_used` of `agents_total` agents (fewer when their cells,
    `cells_total`, exceed CELL_LIMIT)."""

    agents_used: int = 0
    agents_total: int = 0
    cells_total: int = 0

    @property
    def subset(self) -> bool:
        return self.agents_used < self.agents_total

    def note(self) -> str | None:
        """The report's sentence when the model was fitted on a subset of agents (None otherwise)."""
        if not self.subset:
            return None
        return (f"fitted on the contacts of {self.agents_used:,} of {self.agents_total:,} agents drawn at random (all "
                f"agents' contacts make {self.cells_total:,} agent × mix cells, more than the {CELL_LIMIT:,} the fit "
                "takes in memory): its channel and policy effects still average over every contact of the period, "
                "and their intervals reflect the smaller sample")


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


def subset_agents(cells_per_agent: pd.Series, size: int | None = None) -> pd.Index | None:
    """The agents a model on agent × cell counts is fitted on when their cells (`cells_per_agent`: per agent id,
    sorted) exceed CELL_LIMIT: the agents in a random order (seed SUBSET_SEED), as many as fit under the limit (or
    under `size` cells, when smaller); None (every agent) within it."""
    if int(cells_per_agent.sum()) <= CELL_LIMIT:
        return None
    shuffled = cells_per_agent.iloc[np.random.default_rng(SUBSET_SEED).permutation(len(cells_per_agent))]
    return shuffled.index[np.cumsum(shuffled.to_numpy()) <= min(CELL_LIMIT, size or CELL_LIMIT)]


def fit_rate_model_from_sql(ds, outcome: str, mix) -> CellRateModel:
    """``margins.fit_rate_model`` from agent × mix cells (see the module docstring); the model's frame is the
    cells (`counts` "n"), its population the contacts per mix cell."""
    mix = [m for m in mix if m in ds.columns["contacts"]]
    per_agent = sql.cells_per_agent(ds, outcome, mix)
    agents = subset_agents(per_agent)
    subset = agents is not None
    if subset:
        sql.use_agents(ds, agents)
    cells = sql.rate_cells(ds, outcome, mix, agents=subset)
    cells["failures"] = cells["n"] - cells["k"]
    used = present_mix(cells, mix)
    fit = glmer(model_formula(CELL_RESPONSE, used), cells)
    rows, w = known_population(population_cells(ds, used), used, fit)
    eta = fit.fixed_design(rows).to_numpy() @ fit.fixef.to_numpy()
    baseline = float(np.average(MeanFunction(fit).averaged(eta, float(fit.sd)), weights=w))
    frame = cells.loc[fit.rows]
    return CellRateModel(fit=fit, frame=frame, outcome=outcome, agent=AGENT, mix=used, population_eta=eta,
                         baseline=baseline, population_weights=w, counts="n", agents_used=frame[AGENT].nunique(),
                         agents_total=len(per_agent), cells_total=int(per_agent.sum()))


def fit_nps_model_from_sql(ds, mix) -> NpsModel:
    """``margins.fit_nps_model`` from agent × mix × NPS-value cells (clmm with `counts`)."""
    cells = sql.nps_cells(ds, [m for m in mix if m in ds.columns["contacts"]])
    used = present_mix(cells, mix)
    fit = clmm(model_formula("nps", used), cells, levels=sorted(cells["nps"].unique()), counts="n")
    return NpsModel(fit=fit, mix=used, agent=AGENT, frame=cells.loc[fit.rows], counts="n")


def customer_design_effects(ds, model: CellRateModel, gradients: dict) -> dict:
    """``latent.customer_design_effects`` of a rate model fitted from cells: per key of `gradients` (an effect's
    gradient in β) the ratio of the customer-clustered to the independent variance of its estimating equation,
    floored at 1; empty without customer ids or with fewer than MIN_REPEAT_CUSTOMERS repeat customers."""
    if sql.CUSTOMER not in ds.columns["contacts"] or not gradients:
        return {}
    fit, cells = model.fit, model.frame
    if model.subset:                               # the contacts of the agents fitted
        sql.use_agents(ds, cells[AGENT].unique())
    if sql.repeat_customers(ds, model.outcome, model.mix, model.subset) < MIN_REPEAT_CUSTOMERS:
        return {}
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
    clustered = sql.customer_squares(ds, model.outcome, model.mix, terms, [f"term{j}" for j in range(len(gradients))],
                                     model.subset)
    return {key: (max(1.0, float(c) / independent[key]) if independent[key] > 0 else 1.0)
            for key, c in zip(gradients, clustered)}
