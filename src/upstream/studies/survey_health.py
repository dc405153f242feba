"""Survey health: who answers the survey, NPS with honest intervals, whose survey process looks
implausible, how weighting for non-response moves the scores, and how different non-respondents
would have to be to change a conclusion.

    response = steps.response_model(ds, cache)              # who answers, inverse-propensity weights
    screen   = steps.survey_screen(ds, params, cache)       # invitation and response rates per agent
    shifts   = weighted_agent_effects(...)                  # weighting as a sensitivity analysis
    tipping  = tipping_point(...), verdict_tipping_points   # δ-adjusted pattern mixture, per contact
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


def run(ds, params: Parameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The survey_health study on a validated data set."""
    params = params if isinstance(params, Parameters) else Parameters.from_mapping(params)
    cache = cache or RunCache()
    scale = steps.csat_scale(ds)
    units = scale.units
    inv = invitations(ds)
    if scale.kind == "binary":              # every CSAT mean below is the share of good ratings
        inv = inv.assign(csat=inv["csat"].isin(scale.top_box).astype(float).where(inv["csat"].notna()))
    rates = nonresponse.response_rates(inv)
    response = steps.response_model(ds, cache)
    top = (1.0,) if scale.kind == "binary" else scale.top_box
    scores = nonresponse.weighted_scores(inv, response.weights, top_box=top)
    by_channel = nonresponse.weighted_scores(inv, response.weights, by="channel", top_box=top)
    answered_nps = inv[inv["responded"] & inv["nps"].notna()]
    nps_all = nps(answered_nps["nps"])
    nps_channel = nps_by_group(answered_nps, "nps", "channel") if len(answered_nps) else None
    screen = steps.survey_screen(ds, params, cache)
    model = steps.agent_model(ds, params, cache)
    effects = agent_effects(model, ds.agents, params.reliability_threshold,
                            steps.verdict_margin(params, steps.csat_scale(ds)),
                            params.max_false_sign, flagged=screen["flagged"])
    shifts = steps.quietly(lambda: nonresponse.weighted_agent_effects(inv.assign(csat=inv["csat"].astype(float)),
                                                                      response.weights))
    per_contact = nonresponse.contact_replies(ds.contacts, inv)
    tipping = nonresponse.tipping_point(per_contact, shift=params.tipping_shift)
    visibility = getattr(getattr(ds, "description", None), "visibility", None)
    tipping["every_contact"] = visibility is None or bool(visibility.invitation_rates)
    fragile = nonresponse.verdict_tipping_points(effects, per_contact, model.effect_draws())
    health = (([] if response.propensity.result.converged else
               ["Response model: the logistic regression did not converge."])
              + steps.noted_health("Survey screen", screen.attrs["health"])
              + steps.noted_health("Weighting", shifts.attrs["health"]) + steps.fit_health("Agent model", model.fit))
    findings = [*say.response_sentences(rates, response), say.nps_sentence(nps_all), say.screen_sentence(screen),
                say.weighting_sentence(scores, shifts, units, response.propensity.features),
                *say.tipping_sentences(tipping, fragile, units, max_false_sign=params.max_false_sign), *health]
    result = StudyResult(study=NAME, title=TITLE, group=GROUP, period=steps.period(ds), parameters=params,
                         agent_ids=tuple(ds.agents["agent_id"].astype(str)), findings=findings,
                         health=health, fits={"response model": response.propensity})
    coef = response.propensity.coef_table.set_index("term")
    result.tables = {
        "response_rates": rates, "response_model": coef,
        **({"nps_by_channel": nps_channel} if nps_channel is not None else {}),
        "survey_screen": screen, "weighted_scores": by_channel,
        "weighted_agent_effects": shifts.rename_axis("agent_id"),
        "tipping_point": tipping["table"], "verdict_tipping_points": fragile.rename_axis("agent_id"),
    }
    result.values = {"nps": nps_all, "scores": scores, "response": response, "tipping": tipping}
    flagged = int(screen["flagged"].sum())
    result.figures = {
        "response_rates": plots.response_rates(rates, f"{say.pct(rates.loc[('overall', 'all'), 'rate'])} of "
                                                      "invitations were answered"),
        "screen": plots.screen_plot(screen, f"{flagged} agents' survey process is under review",
                                    z=params.screen_z),
        "weighting": plots.weighting_shift(shifts, f"Weighting moves agent effects by "
                                                   f"{units.size(shifts['shift'].abs().median())} (median)"),
    }
    if nps_channel is not None:
        lo, hi = nps_all.interval(method="adjusted-wald")
        result.figures["nps"] = plots.nps_groups(nps_channel, f"NPS is {nps_all.nps:+.0f} (95% interval {lo:+.0f} to "
                                                              f"{hi:+.0f}); by channel:")
    return result
