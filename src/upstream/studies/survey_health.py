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


def run(ds, params: Parameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The survey_health study on a validated data set."""
    params = params if isinstance(params, Parameters) else Parameters.from_mapping(params)
    cache = cache or RunCache()
    inv = invitations(ds)
    rates = nonresponse.response_rates(inv)
    response = steps.response_model(ds, cache)
    scores = nonresponse.weighted_scores(inv, response.weights)
    by_channel = nonresponse.weighted_scores(inv, response.weights, by="channel")
    answered_nps = inv[inv["responded"] & inv["nps"].notna()]
    nps_all = nps(answered_nps["nps"])
    nps_channel = nps_by_group(answered_nps, "nps", "channel")
    screen = steps.survey_screen(ds, params, cache)
    model = steps.agent_model(ds, params, cache)
    effects = agent_effects(model, ds.agents, params.reliability_threshold, params.practical_margin,
                            params.max_false_sign, flagged=screen["flagged"])
    shifts = steps.quietly(lambda: nonresponse.weighted_agent_effects(inv.assign(csat=inv["csat"].astype(float)),
                                                                      response.weights))
    tipping = nonresponse.tipping_point(inv, response.weights, shift=params.tipping_shift)
    fragile = nonresponse.verdict_tipping_points(effects, inv)
    health = (([] if response.propensity.result.converged else
               ["Response model: the logistic regression did not converge."])
              + steps.noted_health("Survey screen", screen.attrs["health"])
              + steps.noted_health("Weighting", shifts.attrs["health"]) + steps.fit_health("Agent model", model.fit))
    findings = [*say.response_sentences(rates, response), say.nps_sentence(nps_all), say.screen_sentence(screen),
                say.weighting_sentence(scores, shifts), *say.tipping_sentences(tipping, fragile), *health]
    result = StudyResult(study=NAME, title=TITLE, period=steps.period(ds), parameters=params, findings=findings,
                         health=health, fits={"response model": response.propensity})
    coef = response.propensity.coef_table.set_index("term")
    result.tables = {
        "response_rates": rates, "response_model": coef, "nps_by_channel": nps_channel,
        "survey_screen": screen, "weighted_scores": by_channel, "weighted_agent_effects": shifts.rename_axis("agent_id"),
        "tipping_point": tipping["table"], "verdict_tipping_points": fragile.rename_axis("agent_id"),
    }
    result.values = {"nps": nps_all, "scores": scores, "response": response, "tipping": tipping}
    lo, hi = nps_all.interval(method="adjusted-wald")
    flagged = int(screen["flagged"].sum())
    result.figures = {
        "response_rates": plots.response_rates(rates, f"{say.pct(rates.loc[('overall', 'all'), 'rate'])} of "
                                                      "invitations were answered"),
        "nps": plots.nps_groups(nps_channel, f"NPS is {nps_all.nps:+.0f} (95% interval {lo:+.0f} to {hi:+.0f}); "
                                             "by channel:"),
        "screen": plots.funnel(screen, "invitation_rate", "contacts", f"{flagged} agents' survey process is under "
                               "review", z=params.screen_z),
        "weighting": plots.weighting_shift(shifts, f"Weighting moves agent effects by {shifts['shift'].abs().median():.3f} "
                                                   "points (median)"),
    }
    return result
