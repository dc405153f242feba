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
            model.frame, table, model.outcome, model.mix, n_draws=params.n_boot, seed=params.seed,
            population=ds.contacts, customer="customer_id" if model.crossed is not None else None))
    if cache is None:
        return compute()
    return cache.get("shared_agent_model", compute, data=ds.fingerprint, outcome=model.outcome, n_boot=params.n_boot,
                     seed=params.seed, scale=steps.csat_scale(ds))


def sql_attribution_note(ds) -> str:
    """For a data set in DuckDB or Spark with a contact_agents table: the sentence saying its agents are judged
    with rating-time attribution (the agent model from per-agent sums gives each rating to one agent) and how
    many rated contacts that leaves unshared; "" otherwise."""
    if not steps.in_sql(ds) or "contact_agents" not in ds.tables:
        return ""
    i = ds.engine.dialect.ident
    shared = ds.engine.rows(
        f"SELECT count(*) FROM (SELECT x.{i('contact_id')} FROM contact_agents x JOIN surveys s "
        f"ON s.{i('contact_id')} = x.{i('contact_id')} WHERE s.{i('csat')} IS NOT NULL "
        f"GROUP BY x.{i('contact_id')} HAVING count(DISTINCT x.{i('agent_id')}) > 1) t")[0][0]
    return (f"Shared credit is not used: contact_agents lists {int(shared):,} rated contacts handled by more than "
            f"one agent, but the {ds.engine.name} engine fits the agent model from per-agent sums, which give each "
            "rating to one agent, so agents are judged with rating-time attribution (contacts.agent_id). Run the "
            "study with --engine pandas to judge them with shared credit.")
