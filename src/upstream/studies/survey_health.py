"""Survey health: who answers the survey, NPS with honest intervals, whose survey process looks
implausible, how weighting for non-response moves the scores, and how different non-respondents
would have to be to change a conclusion.

    response = steps.response_model(ds, cache)              # who answers, inverse-propensity weights
    screen   = steps.survey_screen(ds, params, cache)       # invitation and response rates per agent
    shifts   = weighted_agent_effects(...)                  # weighting as a sensitivity analysis
    tipping  = tipping_point(...), verdict_tipping_points   # δ-adjusted pattern mixture
"""
from __future__ import annotations

from ..analysis import nonresponse
from ..analysis.agents import agent_effects
from ..data.frames import invitations
from ..reporting import plots
from ..reporting import sentences as say
from ..survey import nps, nps_by_group
from . import steps
from .base import Parameters, RunCache, StudyResult

NAME = "survey_health"
TITLE = "Survey health: who answers, and how it biases the scores"
GROUP = "Surveys"


def unanswered_hidden_sentence(visibility) -> str:
    """Why a data set that lists answered surveys only says nothing about who answers."""
    note = f" ({visibility.note})" if visibility.note else ""
    return (f"The data set lists answered surveys only{note}, so how many invitations went unanswered cannot be "
            "seen: response rates, who answers, weighting for non-response and how far non-response could move the "
            "scores are not estimated.")


def run(ds, params: Parameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The survey_health study on a validated data set. Where the data set lists answered surveys only
    (dataset.yaml visibility) the non-response parts say so in a sentence instead of reporting 100% response;
    where every invitation has a CSAT reply, the tipping-point parts say there is no non-response to tip."""
    params = params if isinstance(params, Parameters) else Parameters.from_mapping(params)
    cache = cache or RunCache()
    scale = steps.csat_scale(ds)
    units = steps.units(scale)
    visibility = steps.visibility_of(ds)
    inv = invitations(ds)
    if scale.is_binary:                     # every CSAT mean below is the share of good ratings
        inv = inv.assign(csat=inv["top_box"].astype(float))
    answered_nps = inv[inv["responded"] & inv["nps"].notna()]
    nps_all = nps(answered_nps["nps"])
    nps_channel = nps_by_group(answered_nps, "nps", "channel") if len(answered_nps) else None
    screen = steps.survey_screen(ds, params, cache)
    health = steps.noted_health("Survey screen", screen.attrs["health"])
    tables, values, figures, fits = {}, {"nps": nps_all}, {}, {}
    if visibility.response_rates:
        nonresponse_findings = nonresponse_part(ds, params, cache, inv, screen, units, tables, values, figures,
                                                fits, health)
        findings_head, findings_tail = nonresponse_findings
    else:
        findings_head, findings_tail = [unanswered_hidden_sentence(visibility)], []
    findings = [*findings_head, say.nps_sentence(nps_all), say.screen_sentence(screen),
                *screen.attrs.get("skipped", []), *findings_tail, *health]
    result = StudyResult(study=NAME, title=TITLE, group=GROUP, period=steps.period(ds), parameters=params,
                         agent_ids=tuple(ds.agents["agent_id"].astype(str)), findings=findings,
                         health=health, fits=fits)
    result.tables = {
        **{k: tables[k] for k in ("response_rates", "response_model") if k in tables},
        **({"nps_by_channel": nps_channel} if nps_channel is not None else {}),
        "survey_screen": screen,
        **{k: tables[k] for k in ("weighted_scores", "weighted_agent_effects", "tipping_point",
                                  "verdict_tipping_points") if k in tables},
    }
    result.values = values
    flagged = int(screen["flagged"].sum())
    result.figures = {
        **{k: figures[k] for k in ("response_rates",) if k in figures},
        "screen": plots.screen_plot(screen, f"{flagged} agents' survey process is under review",
                                    z=params.screen_z),
        **{k: figures[k] for k in ("weighting",) if k in figures},
    }
    if nps_channel is not None:
        lo, hi = nps_all.interval(method="adjusted-wald")
        result.figures["nps"] = plots.nps_groups(nps_channel, f"NPS is {nps_all.nps:+.0f} (95% interval {lo:+.0f} to "
                                                              f"{hi:+.0f}); by channel:")
    return result


def nonresponse_part(ds, params, cache, inv, screen, units, tables, values, figures, fits, health):
    """Response rates, the response model, weighting and the tipping points (filled into `tables`, `values`,
    `figures`, `fits` and `health`); returns (the findings before the NPS sentence, those after the screen's)."""
    rates = nonresponse.response_rates(inv)
    response = steps.response_model(ds, cache)
    scores = nonresponse.weighted_scores(inv, response.weights)
    by_channel = nonresponse.weighted_scores(inv, response.weights, by="channel")
    model = steps.agent_model(ds, params, cache)
    effects = agent_effects(model, ds.agents, params.reliability_threshold,
                            steps.verdict_margin(params, steps.csat_scale(ds)),
                            params.max_false_sign, flagged=screen["flagged"])
    shifts = steps.quietly(lambda: nonresponse.weighted_agent_effects(inv.assign(csat=inv["csat"].astype(float)),
                                                                      response.weights))
    tipping = nonresponse.tipping_point(inv, response.weights, shift=params.tipping_shift)
    fragile = nonresponse.verdict_tipping_points(effects, inv)
    health[:0] = ([] if response.propensity.result.converged else
                  ["Response model: the logistic regression did not converge."])
    health.extend(steps.noted_health("Weighting", shifts.attrs["health"]) + steps.fit_health("Agent model", model.fit))
    fits["response model"] = response.propensity
    tables.update({"response_rates": rates, "response_model": response.propensity.coef_table.set_index("term"),
                   "weighted_scores": by_channel, "weighted_agent_effects": shifts.rename_axis("agent_id"),
                   "tipping_point": tipping["table"], "verdict_tipping_points": fragile.rename_axis("agent_id")})
    values.update({"scores": scores, "response": response, "tipping": tipping})
    figures["response_rates"] = plots.response_rates(rates, f"{say.pct(rates.loc[('overall', 'all'), 'rate'])} of "
                                                            "invitations were answered")
    figures["weighting"] = plots.weighting_shift(shifts, f"Weighting moves agent effects by "
                                                         f"{units.size(shifts['shift'].abs().median())} (median)")
    return (say.response_sentences(rates, response),
            [say.weighting_sentence(scores, shifts, units, every_answered=bool(inv["responded"].all())),
             *say.tipping_sentences(tipping, fragile, units)])
