"""Agent scorecards: per agent, adjusted CSAT, top-box and NPS with intervals, reliability and the
verdict; agents below the reliability threshold are "not enough responses to rank" and agents under
survey review get no rank.

    model   = steps.agent_model(ds, params, cache)     # shared with agent_vs_system in one run
    screen  = steps.survey_screen(ds, params, cache)
    effects = agent_effects(model, ..., flagged=screen)
    card    = agent_scorecards(model, effects, nps_replies)   # + clmm and top-box glmer
    (a data set in DuckDB or Spark: scorecards_from_sql, the same columns from counts made in SQL)
"""
from __future__ import annotations

from ...analysis.agents import agent_effects
from ...analysis.aggregated import scale_note
from ...analysis.latent_cells import CellLatentAgentModel
from ...analysis.scorecards import agent_scorecards
from ...analysis.scorecards_cells import scorecards_from_sql
from ...analysis.shared_credit import scorecard_credit_sentence
from ...data.frames import responses
from .. import shared_step, steps
from ..agent_vs_system.sentences import attribution_sentence
from ..base import Parameters, RunCache, StudyDeclaration, StudyResult
from . import display, plots
from . import sentences as say

NAME = "agent_scorecards"
TITLE = "Agent scorecards"
GROUP = "Agents"


def run(ds, params: Parameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The agent_scorecards study on a validated data set."""
    params = params if isinstance(params, Parameters) else Parameters.from_mapping(params)
    cache = cache or RunCache()
    model = steps.agent_model(ds, params, cache)
    screen = steps.survey_screen(ds, params, cache)
    shared = shared_step.shared_agent_model(ds, params, model, cache)   # None without contact_agents
    credit = ds.contact_agents if shared is not None else None
    model = shared if shared is not None else model
    agents = steps.agents_table(ds)
    effects = agent_effects(model, agents, params.reliability_threshold,
                            steps.verdict_margin(params, steps.csat_scale(ds)),
                            params.max_false_sign, flagged=screen.table["flagged"]).table
    scale = steps.csat_scale(ds)
    card, fits = steps.quietly(lambda: scorecards(ds, model, effects, scale, contact_agents=credit,
                                                  ordinal_check=scale.linear and shared is None))
    health = (sql_note(ds, model) + steps.fit_health("Agent model", model.judged_by)
              + (steps.fit_health("Ordinal model", fits["ordinal"]) if "ordinal" in fits else [])
              + (steps.fit_health("Top-box model", fits["top_box"]) if "top_box" in fits else []))
    attribution = ds.description.attribution
    credit_sentence = scorecard_credit_sentence(card, ordinal_skipped=scale.linear) if shared is not None else ""
    findings = [*say.scorecard_sentences(card, params),
                *filter(None, [attribution_sentence(attribution), credit_sentence,
                               shared_step.sql_attribution_note(ds)]), *health]
    result = StudyResult(study=NAME, title=TITLE, group=GROUP, period=steps.period(ds), parameters=params,
                         agent_ids=tuple(agents["agent_id"].astype(str)), findings=findings,
                         health=health, fits={"agent model": model.judged_by, **fits})
    result.tables = {"scorecards": card.rename_axis("agent_id")}
    result.figures = {"shrinkage": plots.shrinkage(card, "Agents with few replies have the most extreme raw top-box "
                                                         "shares — and move most")}
    if "csat_ordinal_effect" in card:
        rho = card[["csat_adjusted", "csat_ordinal_effect"]].rank().corr().iloc[0, 1]
        result.figures["agreement"] = plots.model_agreement(card, f"Linear and ordinal models: rank correlation of "
                                                                  f"agent effects {rho:.2f}")
    return result


def scorecards(ds, model, effects, scale, ordinal_check: bool, contact_agents):
    """``agent_scorecards`` on the rows (pandas), or from counts made in SQL (``scorecards_cells``)."""
    if steps.in_sql(ds):
        return scorecards_from_sql(ds, model, effects, scale, ordinal_check=ordinal_check)
    nps = responses(ds, "nps") if ds.surveys["nps"].notna().any() else None
    return agent_scorecards(model, effects, scale, nps_replies=nps, ordinal_check=ordinal_check,
                            contact_agents=contact_agents)


def sql_note(ds, model) -> list[str]:
    """For a data set in SQL, the agent model's health note saying what it was fitted from; [] otherwise."""
    if not steps.in_sql(ds):
        return []
    return [f"Agent model: {model.note() if isinstance(model, CellLatentAgentModel) else scale_note(model)}."]


#: The study, declared once: the runner, the notebook test and `upstream studies` read it from here.
STUDY = StudyDeclaration(
    name=NAME, title=TITLE, group=GROUP, parameters=Parameters, run=run, page=display.page,
    tables=("scorecards",), engines=("pandas", "duckdb", "spark"))
