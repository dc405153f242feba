"""metric_health's repeat model when its binomial cells (agent × mix × period) exceed ``outcome_cells.CELL_LIMIT``:
they barely aggregate (907,641 cells of 1,000,000 contacts on the medium preset, about 1 KB each in glmer), so at
ten million contacts the exact fit on every cell would need some 10 GB. Instead:

1. β̂ and the agent SD σ̂ from glmer on the cells of a seeded random subset of agents (``outcome_cells``'s
   subset, as many agents as fit under SUBSET_CELLS): the fixed effects from fewer agents' contacts;
2. every agent's effect given β̂, σ̂ from all its contacts: the Laplace mode b̂ of
   Σ_j [y_j η_j − log(1 + e^η_j)] − b²/(2σ̂²), η_j = x_j'β̂ + b, by Newton iterations
   b ← b + (Σ(y − p) − b/σ̂²) / (Σ p(1 − p) + 1/σ̂²) (steps of at most STEP_LIMIT log odds), each one GROUP BY
   agent in SQL (``data.sql.repeat_modes``); its conditional SD (Σ p(1 − p) + 1/σ̂²)^−½ at the mode and reliability
   1 − conditional variance / σ̂² — what glmer reports per agent (``models.quadrature``: σû, σ²/H). Given the
   full fit's β̂, σ̂ these are the full fit's numbers (tests: 1e-6); given the subset's they differ by what the
   subset's β̂, σ̂ differ (the sample with half its cells: modes within SUBSET_BOUND of the full fit's);
3. the period change averaged over the last period's contacts in SQL with every agent's mode.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.model_formula import model_formula
from ..data.sql import metric_sums as sql
from ..data.sql import outcome_cells as sql_cells
from ..data.sql import repeat_modes as sql_modes
from ..models import glmer
from ..survey.constants import AGENT
from . import outcome_cells

RESPONSE = "cbind(k, no_repeat)"
#: The most cells of the subset's fit: glmer needs about 1.5 KB per cell, and β̂, σ̂ need far fewer agents than every
#: agent's effect. The repeat model alone on the large preset (month periods, 9,567,909 cells) peaked at 3.38 GB with
#: 1,000,000 cells (2,081 agents), at 2.26 GB with 400,000 (824 agents, 190 s); 1.86 GB of either is metric_rows.
SUBSET_CELLS = 400_000
#: The most one Newton step moves an agent's mode (log odds): far from the mode a full step can overshoot.
STEP_LIMIT = 1.0
TOLERANCE = 1e-10
MAX_ITERATIONS = 50
#: On the bundled sample with CELL_LIMIT at half its cells (82 of 150 agents fitted): a bound on the largest
#: difference of an agent's repeat effect (log odds) from the full fit's, 0.029 measured, the effects' SD 0.17
#: (tests/test_sql_metric_health.py).
SUBSET_BOUND = 0.05


@dataclass
class AgentModes:
    """Every agent's conditional mode and SD given β̂, σ̂ (module docstring, step 2): `ranef[agent_id]` with mode
    and cond_se, `reliability[agent_id]`, and the Newton `iterations` (SQL scans) it took."""

    ranef: dict
    reliability: dict
    iterations: int
    converged: bool


def agent_modes(ds, dsg: sql.Design, beta: pd.Series, sd: float, where: str) -> AgentModes:
    """The Laplace modes and conditional SDs of every agent's repeat effect over the rows of `metric_rows` meeting
    `where` (module docstring), given the fixed effects `beta` (by design column name) and the agent SD `sd`."""
    sums = sql_modes.newton_sums(ds, dsg, beta, where, with_modes=False)
    modes = pd.Series(0.0, index=sums.index)
    iterations, converged = 1, sd <= 0
    while sd > 0 and iterations <= MAX_ITERATIONS:
        score = sums["score"].to_numpy() - modes.to_numpy() / sd ** 2
        information = sums["information"].to_numpy() + 1 / sd ** 2
        step = np.clip(score / information, -STEP_LIMIT, STEP_LIMIT)
        if np.max(np.abs(step)) < TOLERANCE:
            converged = True
            break
        modes = modes + step
        sql_modes.use_modes(ds, modes)
        sums = sql_modes.newton_sums(ds, dsg, beta, where, with_modes=True)
        iterations += 1
    cond_var = 1 / (sums["information"] + 1 / sd ** 2) if sd > 0 else pd.Series(0.0, index=modes.index)
    reliability = np.clip(1 - cond_var / sd ** 2, 0, 1) if sd > 0 else pd.Series(0.0, index=modes.index)
    ranef = {AGENT: pd.DataFrame({"mode": modes, "cond_se": np.sqrt(cond_var)}).rename_axis(None)}
    return AgentModes(ranef=ranef, reliability={AGENT: reliability.rename("reliability").rename_axis(None)},
                      iterations=iterations, converged=converged)


@dataclass
class SubsetRepeatModel:
    """The repeat model at scale: `fit` (glmer on the subset's cells) gives β̂, σ̂, the formula and whatever else a
    caller reads, `modes` every agent's effect; `agents_used` of `agents_total` agents fitted, whose contacts make
    `cells_total` cells; `design`, `where`: the model's columns in SQL and the rows it uses; `missing`: design
    columns the subset's fit lacks (a level none of its agents' contacts have)."""

    fit: object
    modes: AgentModes
    agents_used: int
    agents_total: int
    cells_total: int
    design: sql.Design
    where: str
    missing: tuple = ()

    def __getattr__(self, name):
        if name in ("fit", "modes", "agents_used", "agents_total", "cells_total", "design", "where", "missing"):
            raise AttributeError(name)
        return getattr(self.fit, name)

    @property
    def ranef(self) -> dict:
        return self.modes.ranef

    @property
    def reliability(self) -> dict:
        return self.modes.reliability

    def predict(self, *args, **kwargs):
        raise TypeError("the repeat model at scale has no cells in Python: its predictions are made in SQL")

    def health(self) -> list[str]:
        lines = [*self.fit.health(), (
            f"fitted on the cells of {self.agents_used:,} of {self.agents_total:,} agents drawn at random (all "
            f"agents' contacts make {self.cells_total:,} agent × mix × period cells, more than the "
            f"{outcome_cells.CELL_LIMIT:,} the exact fit takes in memory); every agent's repeat effect is its "
            f"conditional mode given those estimates from all its contacts ({self.modes.iterations} Newton "
            f"iterations in SQL; on the bundled sample, from half its agents, these were within {SUBSET_BOUND:g} "
            "log odds of the exact fit's)")]
        if not self.modes.converged:
            lines.append(f"the agents' modes did not converge in {MAX_ITERATIONS} Newton iterations")
        if self.missing:
            lines.append(f"{', '.join(self.missing)} absent from the agents fitted: taken as the reference level")
        return lines


def repeat_where(ds, factors) -> str:
    """The rows of `metric_rows` the repeat model uses: a repeat recorded, every factor known."""
    return " AND ".join(f"{_i(ds, c)} IS NOT NULL" for c in ("came_back", *factors))


def repeat_design(ds, factors, period_levels) -> sql.Design:
    """The repeat model's fixed-effect columns as SQL expressions (names as glmer gives them)."""
    return sql.design(ds, sql.METRIC_ROWS, factors, where=repeat_where(ds, factors),
                      order={"period": list(period_levels)})


def repeat_model(ds, factors, period_levels, cells_for) -> tuple[object, pd.DataFrame | None]:
    """The repeat model `cbind(k, no_repeat) ~ factors + (1 | agent_id)` and its cells: glmer on every agent ×
    factor cell (`cells_for(extra_where)` gives them) within CELL_LIMIT, else a ``SubsetRepeatModel`` (cells
    None: they stay in SQL)."""
    where = repeat_where(ds, factors)
    per_agent = sql_modes.cells_per_agent(ds, factors, where)
    agents = outcome_cells.subset_agents(per_agent, SUBSET_CELLS)
    if agents is not None:
        sql_cells.use_agents(ds, agents)
    cells = cells_for("" if agents is None else
                      f" AND {_i(ds, AGENT)} IN (SELECT a FROM rate_agents)")
    if "period" in factors:
        cells["period"] = pd.Categorical(cells["period"], categories=list(period_levels), ordered=True)
    fit = glmer(model_formula(RESPONSE, factors), cells)
    if agents is None:
        return fit, cells
    dsg = repeat_design(ds, factors, period_levels)
    beta = fit.fixef.reindex(dsg.names)
    modes = agent_modes(ds, dsg, beta.fillna(0.0), float(fit.sd), where)
    model = SubsetRepeatModel(fit=fit, modes=modes, agents_used=int(cells[AGENT].nunique()),
                              agents_total=len(per_agent), cells_total=int(per_agent.sum()), design=dsg, where=where,
                              missing=tuple(beta.index[beta.isna()]))
    return model, None


def change_at_scale(ds, model: SubsetRepeatModel, last: str):
    """``periods.change_rows``'s `average_change` for a ``SubsetRepeatModel``: the mean change in the repeat share of
    the last period's contacts (every agent's mode) that a period coefficient makes, computed in SQL."""
    dsg, beta = model.design, model.fit.fixef.reindex(model.design.names).fillna(0.0)
    column = f"period{last}"
    where = f"{model.where} AND period = {ds.engine.dialect.literal(last)}"
    sql_modes.use_modes(ds, model.ranef[AGENT]["mode"])
    return lambda shift: sql_modes.average_change(ds, dsg, beta, column, [shift], where)[0]


def _i(ds, name: str) -> str:
    return ds.engine.dialect.ident(name)
