"""The latent-scale agent model (``analysis.latent``: logistic for good/bad, cumulative logit for 3–4 points)
from counts of identical replies, for data sets that live in SQL (DuckDB, Spark).

A reply enters the likelihood only through its agent, its contact-mix levels and its rating, so the replies
per agent × mix cell × rating (``data.sql.cells.rating_cells``) carry the whole fit:

- good/bad: ``glmer("cbind(good, bad) ~ mix + (1 | agent_id)", cells)`` on the binomial cells (good and bad
  replies per agent × mix cell); the same likelihood as the 0/1 rows up to the constant Σ log C(n, k), so the
  same estimates, modes and conditional SEs (on the bundled sample within 1e-11), and its log-likelihood and
  AIC include that constant;
- 3–4 points: ``clmm(..., counts="n")`` on the agent × mix × rating cells, exactly the fit of the rows;
- the average contact of the period: x'β̂ of every contact-mix cell with its count of contacts
  (``aggregates.contact_cells``), so baselines, agent effects on the scale's own terms, level effects and
  shares are the pandas path's weighted by counts;
- per agent n, the raw share of good ratings (or mean rating) and the mix-expected outcome from the cells.

Where customers repeat, a logistic model's level effects carry the customer design effect of the pandas path
(``latent.customer_design_effects``): its matrices H = Σ p̂(1 − p̂)xx' and A = Σ r²xx' from the cells, and
B = Σ_k u_k u_k' (u_k = Σ_{i∈k} r_i x_i over a customer's replies) summed per customer in SQL
(``cells.customer_residual_products``) — the same numbers as from the rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.model_formula import model_formula, present_mix
from ..data.sql import aggregates as sql
from ..data.sql.cells import REPLIES, customer_residual_products, rating_cells
from ..models import clmm, glmer
from ..survey.constants import AGENT
from .agents import MIN_REPEAT_CUSTOMERS
from .contact_population import CELL_CONTACTS, population_cells
from .latent import LatentAgentModel, MeanFunction

GOOD, BAD, RATING = "good", "bad", "rating"

CELLS_NOTE = ("fitted from {cells:,} agent × contact-mix × rating cells counted in {engine} ({nobs:,} replies, "
              "{agents:,} agents): the same likelihood and estimates as from the replies")


@dataclass
class CellLatentAgentModel(LatentAgentModel):
    """A LatentAgentModel fitted to cells (`frame`: AGENT, the mix, GOOD and BAD counts for glmer or RATING
    for clmm, and REPLIES); `contacts`: the contact-mix cells of the period with CELL_CONTACTS."""

    contacts: pd.DataFrame | None = None
    engine: str = "duckdb"
    sandwich: tuple | None = None          # (H, A, B) of the customer design effect, from cells and SQL

    def customer_sandwich(self, customer: str = "customer_id"):
        return self.sandwich

    @property
    def _counts(self) -> np.ndarray:
        return self.frame[REPLIES].to_numpy(float)

    def _cell_scores(self) -> np.ndarray:
        """Σ outcome over each cell's replies (good ratings, or the sum of the ratings)."""
        if RATING in self.frame:
            return (self.frame[RATING] * self.frame[REPLIES]).to_numpy(float)
        return self.frame[GOOD].to_numpy(float)

    def agent_means(self) -> pd.DataFrame:
        """Per agent n_responses, raw_score and mix_expected (``agents.means_by_agent``) from the cells."""
        eta = self.fit.model_matrix.to_numpy() @ self.fit.fixef.to_numpy()
        n = self._counts
        sums = pd.DataFrame({"n": n, "y": self._cell_scores(),
                             "m": n * self.mean.averaged(eta, float(self.fit.sd))})
        by = sums.groupby(self.frame[self.agent].astype(str).to_numpy()).sum()
        return pd.DataFrame({"n_responses": by["n"].astype(np.int64), "raw_score": by["y"] / by["n"],
                             "mix_expected": by["m"] / by["n"]})

    def design_covariance(self) -> np.ndarray:
        """S over the replies: the cells' design weighted by their replies (ddof 0)."""
        return np.cov(self.fit.model_matrix.to_numpy(), rowvar=False, aweights=self._counts, ddof=0)

    def reply_counts(self, variable: str) -> pd.Series:
        return self.frame.groupby(self.frame[variable].astype(str))[REPLIES].sum()

    def mix_prediction(self) -> pd.Series:
        raise NotImplementedError("a model fitted to cells has no per-reply predictions; use agent_means()")

    def scores(self) -> pd.Series:
        raise NotImplementedError("a model fitted to cells has no replies; use agent_means()")

    def note(self) -> str:
        """The model-health note: what the fit was made from."""
        return CELLS_NOTE.format(cells=len(self.frame), engine=self.engine, nobs=int(self._counts.sum()),
                                 agents=self.fit.ngroups[self.agent])


def binomial_cells(cells: pd.DataFrame, mix, in_top_box) -> pd.DataFrame:
    """Rating cells merged to good and bad replies per agent × mix cell (`in_top_box`: rating → good)."""
    good = np.where(in_top_box(cells[RATING]), cells[REPLIES], 0)
    merged = cells.assign(**{GOOD: good}).groupby([AGENT, *mix], sort=True)[[GOOD, REPLIES]].sum().reset_index()
    return merged.assign(**{BAD: merged[REPLIES] - merged[GOOD]})


def fit_latent_agent_model_from_cells(cells: pd.DataFrame, mix, contacts: pd.DataFrame, scale, n_draws: int = 1000,
                                      seed: int = 2026, engine: str = "duckdb") -> CellLatentAgentModel:
    """``latent.fit_latent_agent_model`` from rating cells (``rating_cells``) and the contact-mix cells of the
    period (`contacts`: the mix and CELL_CONTACTS): glmer on binomial cells for a good/bad `scale`, clmm with
    frequency weights on its ordered levels otherwise."""
    mix = present_mix(cells, mix)
    if scale.is_binary:
        frame = binomial_cells(cells, mix, scale.in_top_box)
        fit = glmer(model_formula(f"cbind({GOOD}, {BAD})", mix), frame)
        fit.count_rows(int(frame[REPLIES].sum()))
    else:
        frame = cells.groupby([AGENT, *mix, RATING], sort=True)[REPLIES].sum().reset_index()
        present = [v for v in range(1, scale.points + 1) if (frame[RATING] == v).any()]
        fit = clmm(model_formula(RATING, mix), frame, levels=present, counts=REPLIES)
    used = frame.loc[fit.rows]
    known = contacts
    for variable in mix:
        known = known[known[variable].astype(str).isin(fit.factor_levels(variable))]
    if known.empty or known[CELL_CONTACTS].sum() == 0:          # no contact the fit knows: the replies stand in
        known = used.rename(columns={REPLIES: CELL_CONTACTS})
    weights = known[CELL_CONTACTS].to_numpy(float)
    eta = fit.fixed_design(known).to_numpy() @ fit.fixef.to_numpy()
    baseline = float(np.average(MeanFunction(fit).averaged(eta, float(fit.sd)), weights=weights))
    return CellLatentAgentModel(fit=fit, frame=used, outcome=GOOD if scale.is_binary else RATING, agent=AGENT,
                                mix=mix, population_eta=eta, baseline=baseline, n_draws=n_draws, seed=seed,
                                population_weights=weights, contacts=contacts, engine=engine)


def customer_sandwich_from_sql(ds, model: CellLatentAgentModel, scale) -> tuple:
    """(H, A, B) of ``LatentAgentModel.customer_sandwich`` for a logistic model of binomial cells: H and A from
    the cells, B summed per customer in SQL (after ``aggregates.prepare_replies``)."""
    fit, frame = model.fit, model.frame
    X = fit.model_matrix.to_numpy()
    p = fit.predict().to_numpy(dtype=float)                      # each cell's p̂ with its agent's mode
    n, k = frame[REPLIES].to_numpy(float), frame[GOOD].to_numpy(float)
    H = X.T @ (X * (n * p * (1 - p))[:, None])
    A = X.T @ (X * (k * (1 - p) ** 2 + (n - k) * p ** 2)[:, None])
    design = sql.mix_design(ds, model.mix)
    columns = dict(zip(design.names, design.columns))
    good = f"CASE WHEN {scale.top_box_sql('r.y')} THEN 1.0 ELSE 0.0 END"
    B = customer_residual_products(ds, [columns[name] for name in fit.fixef.index], fit.fixef.to_numpy(),
                                   fit.ranef[AGENT]["mode"], good)
    return H, A, B


def fit_latent_agent_model_from_sql(ds, scale, mix, n_draws: int = 1000, seed: int = 2026) -> CellLatentAgentModel:
    """The latent agent model of CSAT on `scale` (good/bad or 3–4 points) from cells counted in the data set's
    engine (see the module docstring)."""
    sql.prepare_replies(ds, "csat", tuple(mix))
    cells = rating_cells(ds, tuple(mix), RATING)
    model = fit_latent_agent_model_from_cells(cells, mix, population_cells(ds, mix), scale, n_draws=n_draws,
                                              seed=seed, engine=ds.engine.name)
    if scale.is_binary and sql.repeat_customers(ds) >= MIN_REPEAT_CUSTOMERS:
        model.sandwich = customer_sandwich_from_sql(ds, model, scale)
    return model
