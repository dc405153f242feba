"""Shared credit as a step of a run: where the data set has a ``contact_agents`` table and agents are
judged by the linear model on rows (pandas), the agent model with shared credit
(``analysis.shared_credit.fit_shared_agent_model``) is fitted once and shared through the run cache by
agent_vs_system, agent_scorecards and qa_sample, as ``steps.agent_model`` is. Elsewhere (no table, a
good/bad or short ordered scale, the SQL path) it is None and the studies use rating-time attribution."""
from __future__ import annotations

from ..analysis.latent import LatentAgentModel
from ..analysis.shared_credit import SharedAgentModel, fit_shared_agent_model
from . import steps
from .base import Parameters, RunCache


def shared_agent_model(ds, params: Parameters, model, cache: RunCache | None = None) -> SharedAgentModel | None:
    """The agent model with shared credit for `model`'s replies (``steps.agent_model``), or None (see module)."""
    table = getattr(ds, "contact_agents", None)
    if table is None or isinstance(model, LatentAgentModel) or steps.in_sql(ds):
        return None

    def compute() -> SharedAgentModel:
        return steps.quietly(lambda: fit_shared_agent_model(
            model.frame, table, model.outcome, model.mix, model.agent, n_draws=params.n_boot, seed=params.seed,
            population=ds.contacts, customer="customer_id" if model.crossed is not None else None))
    if cache is None:
        return compute()
    return cache.get("shared_agent_model", compute, data=ds.fingerprint, outcome=model.outcome, n_boot=params.n_boot,
                     seed=params.seed, scale=steps.csat_scale(ds))
