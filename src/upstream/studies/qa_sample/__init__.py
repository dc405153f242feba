"""QA sample: a review plan that spends a fixed number of QA reviews where they reduce the uncertainty of
agent estimates most, with the contacts to review drawn at random within each agent.

    model  = steps.agent_model(ds, params, cache)     # τ², σ² and each agent's conditional variance
    screen = steps.survey_screen(ds, params, cache)   # agents under survey review get priority reviews
    plan   = review_plan(model, contacts, ...)        # greedy on the marginal reduction of posterior variance
    sample = sample_contacts(plan, contacts, seed)    # tables/qa_sample.csv
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...analysis import qa
from ...analysis.latent import LatentAgentModel
from ...data.frames import responses
from ...data.sql import aggregates as sql
from ...data.sql.cells import unrated_cells
from .. import shared_step, steps
from ..allowed import allowed
from ..base import Parameters, RunCache, StudyDeclaration, StudyResult
from . import display, plots
from . import sentences as say

NAME = "qa_sample"
TITLE = "QA review plan: where reviews reduce uncertainty most"
GROUP = "Agents"


@dataclass(frozen=True)
class QaParameters(Parameters):
    """budget: QA reviews to place; priority_reviews: reviews each agent under survey review gets first
    (0: no priority)."""

    budget: int = field(default=200, metadata=allowed("whole number", 1, unit="review"))
    priority_reviews: int = field(default=5, metadata=allowed("whole number", 0))

    @classmethod
    def from_mapping(cls, values: dict | None = None, **more) -> "QaParameters":
        return super().from_mapping(values, **more)


@dataclass(frozen=True)
class QaValues:
    """What the notebook quotes: the review plan (τ², σ², reliability before and after) and the model formula."""

    plan: qa.ReviewPlan
    formula: str


def run(ds, params: QaParameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The qa_sample study on a validated data set."""
    params = params if isinstance(params, QaParameters) else QaParameters.from_mapping(params)
    cache = cache or RunCache()
    model = steps.agent_model(ds, params, cache)
    screen = steps.survey_screen(ds, params, cache)
    shared = shared_step.shared_agent_model(ds, params, model, cache)   # None without contact_agents
    model = shared if shared is not None else model
    if steps.in_sql(ds):                       # counts per agent and the reviewed agents' pool from SQL
        unrated = unrated_cells(ds, model.mix) if isinstance(model, LatentAgentModel) else None   # mix matters
        plan = qa.review_plan(model, unrated, None, params.budget, screen.table["flagged"], params.priority_reviews,
                              params.reliability_threshold, eligible=sql.unrated_counts(ds))
        pool = sql.unrated_contacts(ds, plan.table.index[plan.table["reviews"] > 0])
        sample = qa.sample_contacts(plan.table, pool, None, params.seed)
    else:
        replied = responses(ds, "csat")["contact_id"]
        plan = qa.review_plan(model, ds.contacts, replied, params.budget, screen.table["flagged"],
                              params.priority_reviews, params.reliability_threshold)
        sample = qa.sample_contacts(plan.table, ds.contacts, replied, params.seed)
    health = (steps.fit_health("Agent model", model.judged_by)
              + steps.noted_health("Survey screen", screen.health))
    findings = [say.plan_sentence(plan), say.priority_sentence(plan), say.allocation_sentence(plan),
                say.sample_sentence(sample, plan, params.seed),
                qa.SHARED_CREDIT_NOTE if shared is not None else "", shared_step.sql_attribution_note(ds), *health]
    result = StudyResult(study=NAME, title=TITLE, period=steps.period(ds), parameters=params,
                         agent_ids=tuple(steps.agents_table(ds)["agent_id"].astype(str)),
                         findings=[f for f in findings if f], health=health, group=GROUP,
                         fits={"agent model": model.judged_by})
    result.tables = {"qa_sample": sample, "qa_plan": plan.table}
    result.values = QaValues(plan=plan, formula=model.judged_by.formula)
    result.figures = {"reliability": plots.reliability_gain(plan.table, say.plan_title(plan),
                                                            plan.reliability_threshold)}
    return result


#: The study, declared once: the runner, the notebook test and `upstream studies` read it from here.
STUDY = StudyDeclaration(
    name=NAME, title=TITLE, group=GROUP, parameters=QaParameters, run=run, page=display.page,
    tables=("qa_sample", "qa_plan"), engines=("pandas", "duckdb", "spark"))
