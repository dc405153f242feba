"""Survey health: who answers the survey, NPS with honest intervals, whose survey process looks
implausible, how weighting for non-response moves the scores, and how different non-respondents
would have to be to change a conclusion.

    response = steps.response_model(ds, cache)              # who answers, inverse-propensity weights
    screen   = steps.survey_screen(ds, params, cache)       # invitation and response rates per agent
    shifts   = weighted_agent_effects(...)                  # weighting as a sensitivity analysis
    tipping  = tipping_point(...), verdict_tipping_points   # δ-adjusted pattern mixture, per contact

On a DuckDB or Spark data set the same numbers come from counts per contact-feature cell, per-agent counts and the
weighted replies' per-agent sums (``measures.measures_from_sql``, ``analysis.nonresponse_cells``), never the rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ...analysis import nonresponse
from ...analysis.agents import agent_effects
from ...analysis.screen import ScreenResult
from ...data.frames import invitations
from .. import steps
from ..base import Parameters, RunCache, StudyDeclaration, StudyResult
from . import display, measures, plots
from . import sentences as say

NAME = "survey_health"
TITLE = "Survey health: who answers, and how it biases the scores"
GROUP = "Surveys"


def unanswered_hidden_sentence(visibility) -> str:
    """Why a data set that lists answered surveys only says nothing about who answers."""
    note = f" ({visibility.note})" if visibility.note else ""
    return (f"The data set lists answered surveys only{note}, so how many invitations went unanswered cannot be "
            "seen: response rates, who answers, weighting for non-response and how far non-response could move the "
            "scores are not estimated.")


@dataclass(frozen=True, eq=False)
class SurveyHealthValues:
    """What the notebook and the page quote: overall NPS, the survey screen, and where the data set shows unanswered
    invitations the overall scores unweighted and weighted, the response model and the tipping point."""

    nps: object
    screen: ScreenResult
    scores: pd.DataFrame | None = None
    response: object | None = None
    tipping: nonresponse.TippingPoint | None = None


@dataclass
class Nonresponse:
    """The non-response part of the study: response rates, the response model, weighting and tipping points
    (empty, with one sentence, where the data set lists answered surveys only). `opening`: the findings before
    the NPS sentence; `closing`: those after the screen's; `first_health`/`health`: model-health lines before and
    after the screen's."""

    opening: list[str]
    closing: list[str] = field(default_factory=list)
    first_health: list[str] = field(default_factory=list)
    health: list[str] = field(default_factory=list)
    tables: dict = field(default_factory=dict)
    scores: pd.DataFrame | None = None
    response: object | None = None
    tipping: nonresponse.TippingPoint | None = None
    figures: dict = field(default_factory=dict)
    fits: dict = field(default_factory=dict)


def nonresponse_part(ds, params: Parameters, cache: RunCache, inv, screen, units) -> Nonresponse:
    """Who answers and what it does to the scores (see the module docstring); nothing but a sentence when the
    data set cannot show unanswered invitations (dataset.yaml visibility). `inv`: the invitations (pandas path;
    None on a SQL data set, whose numbers come from cells and sums: ``measures.measures_from_sql``)."""
    visibility = steps.visibility_of(ds)
    if not visibility.response_rates:
        return Nonresponse(opening=[unanswered_hidden_sentence(visibility)])
    every_contact = bool(visibility.invitation_rates)
    m = (measures.measures_from_sql(ds, params, cache, every_contact) if inv is None
         else measures.measures_from_rows(ds, params, cache, inv, every_contact))
    rates, response, scores, by_channel, tipping = m.rates, m.response, m.scores, m.by_channel, m.tipping
    model = steps.agent_model(ds, params, cache)
    judged = agent_effects(model, steps.agents_table(ds), params.reliability_threshold,
                           steps.verdict_margin(params, steps.csat_scale(ds)),
                           params.max_false_sign, flagged=screen.table["flagged"])
    weighted, shifts = m.weighted, m.weighted.table
    fragile = nonresponse.verdict_tipping_points(judged.table, m.per_contact, model.effect_draws(),
                                                 practical_margin=judged.practical_margin,
                                                 max_false_sign=judged.max_false_sign, reply_share=m.reply_share)
    return Nonresponse(
        opening=say.response_sentences(rates, response),
        closing=[say.weighting_sentence(scores, shifts, units, response.propensity.features,
                                        every_answered=m.every_answered),
                 *say.tipping_sentences(tipping, fragile, units, max_false_sign=params.max_false_sign)],
        first_health=([] if response.propensity.result.converged else
                      ["Response model: the logistic regression did not converge."]),
        health=(steps.noted_health("Weighting", weighted.health) + steps.fit_health("Agent model", model.fit)
                + measures.scale_health(ds, model)),
        tables={"response_rates": rates, "response_model": response.propensity.coef_table.set_index("term"),
                "weighted_scores": by_channel, "weighted_agent_effects": shifts.rename_axis("agent_id"),
                "tipping_point": tipping.table, "verdict_tipping_points": fragile.rename_axis("agent_id")},
        scores=scores, response=response, tipping=tipping,
        figures={"response_rates": plots.response_rates(rates, f"{say.pct(rates.loc[('overall', 'all'), 'rate'])} "
                                                               "of invitations were answered"),
                 "weighting": plots.weighting_shift(shifts, f"Weighting moves agent effects by "
                                                            f"{units.size(shifts['shift'].abs().median())} (median)")},
        fits={"response model": response.propensity})


def run(ds, params: Parameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The survey_health study on a validated data set. Where the data set lists answered surveys only
    (dataset.yaml visibility) the non-response parts say so in a sentence instead of reporting 100% response;
    where every invitation has a CSAT reply, the tipping-point parts say there is no non-response to tip."""
    params = params if isinstance(params, Parameters) else Parameters.from_mapping(params)
    cache = cache or RunCache()
    scale = steps.csat_scale(ds)
    units = steps.units(scale)
    inv = None if steps.in_sql(ds) else invitations(ds)     # a SQL data set: counts per cell and per agent
    if inv is not None and scale.is_binary:                  # every CSAT mean below is the share of good ratings
        inv = inv.assign(csat=inv["top_box"].astype(float))
    nps_all, nps_channel = measures.nps_overall_and_by_channel(ds, cache, inv)
    screen = steps.survey_screen(ds, params, cache)
    part = nonresponse_part(ds, params, cache, inv, screen, units)
    health = (part.first_health + steps.noted_health("Survey screen", screen.health)
              + [f"Survey screen: {note}." for note in screen.notes] + part.health)
    findings = [*part.opening, say.nps_sentence(nps_all), say.screen_sentence(screen),
                *screen.skipped, *part.closing, *health]
    result = StudyResult(study=NAME, title=TITLE, group=GROUP, period=steps.period(ds), parameters=params,
                         agent_ids=tuple(steps.agents_table(ds)["agent_id"].astype(str)), findings=findings,
                         health=health, fits=part.fits)
    t = part.tables
    result.tables = {
        **{k: t[k] for k in ("response_rates", "response_model") if k in t},
        **({"nps_by_channel": nps_channel} if nps_channel is not None else {}),
        "survey_screen": screen.table,
        **{k: t[k] for k in ("weighted_scores", "weighted_agent_effects", "tipping_point", "verdict_tipping_points")
           if k in t},
    }
    result.values = SurveyHealthValues(nps=nps_all, screen=screen, scores=part.scores, response=part.response,
                                       tipping=part.tipping)
    flagged = int(screen.table["flagged"].sum())
    result.figures = {
        **{k: part.figures[k] for k in ("response_rates",) if k in part.figures},
        "screen": plots.screen_plot(screen.table, f"{flagged} agents' survey process is under review",
                                    z=params.screen_z),
        **{k: part.figures[k] for k in ("weighting",) if k in part.figures},
    }
    if nps_channel is not None:
        lo, hi = nps_all.interval(method="adjusted-wald")
        result.figures["nps"] = plots.nps_groups(nps_channel, f"NPS is {nps_all.nps:+.0f} (95% interval {lo:+.0f} to "
                                                              f"{hi:+.0f}); by channel:")
    return result


#: The study, declared once: the runner, the notebook test and `upstream studies` read it from here.
STUDY = StudyDeclaration(
    name=NAME, title=TITLE, group=GROUP, parameters=Parameters, run=run, page=display.page,
    tables=("response_rates", "response_model", "nps_by_channel", "survey_screen", "weighted_scores",
            "weighted_agent_effects", "tipping_point", "verdict_tipping_points"),
    engines=("pandas", "duckdb", "spark"))
