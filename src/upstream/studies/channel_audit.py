"""Channel audit: one table per channel — volume, speed, scores, outcomes and who answers — and the channel
differences with what each channel handles (policy, product, issue type) and the agent held fixed, next to
the raw ones.

    summary  = channel_summary(contacts, invitations)             # each number with its interval
    csat     = steps.policy_model(ds, params, cache, "channel")   # agent model + customers, level effects
    nps      = steps.nps_model(ds, cache)                         # clmm, AME in NPS points
    rates    = steps.rate_model(ds, cache, outcome)               # glmer on all contacts, AME in pp
    response = response_comparison(...)                          # weighting and the tipping point δ
"""
from __future__ import annotations

from ..analysis import binary, channels, margins, policies
from ..data.frames import invitations
from ..reporting import plots
from ..reporting import sentences as say
from . import steps
from .base import Parameters, RunCache, StudyResult

NAME = "channel_audit"
TITLE = "Channel audit: what each channel handles, how fast and how well"
CHANNEL = "channel"
RATE_LABELS = {"fcr": "First-contact resolution model", "escalation": "Escalation model",
               "repeat": "Repeat-contact model"}


def adjusted_effects(ds, params: Parameters, cache: RunCache) -> tuple[dict, dict]:
    """Per metric, the channel effects against the average contact (csat: score points; nps: NPS points;
    rates: probability), and the fits behind them."""
    csat_model = steps.policy_model(ds, params, cache, CHANNEL)
    nps_model = steps.nps_model(ds, cache)
    effects = {"csat": policies.level_effects(csat_model, ds.contacts),
               "nps": margins.nps_level_effects(nps_model, ds.contacts, CHANNEL)}
    fits = {"CSAT model": csat_model.fit, "NPS model": nps_model.fit}
    for metric, column in channels.RATES.items():
        model = steps.rate_model(ds, cache, column)
        effects[metric] = binary.level_effects(model, ds.contacts, CHANNEL)
        fits[RATE_LABELS[metric]] = model.fit
    return effects, fits


def run(ds, params: Parameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The channel_audit study on a validated data set."""
    params = params if isinstance(params, Parameters) else Parameters.from_mapping(params)
    cache = cache or RunCache()
    inv = invitations(ds)
    summary = channels.channel_summary(ds.contacts, inv, CHANNEL)
    if len(summary) < 2:
        return single_channel(ds, params, summary)
    effects, fits = adjusted_effects(ds, params, cache)
    differences = channels.channel_differences(ds.contacts, inv, effects, CHANNEL)
    response = steps.response_model(ds, cache)
    comparison = channels.response_comparison(inv, response.weights, effects["csat"], CHANNEL)
    odd = summary.attrs["handle_exceeds_elapsed"]
    health = ([line for label, fit in fits.items() for line in steps.fit_health(label, fit)]
              + ([f"Data: {odd:,} contacts record more handle time than time from opening to closing; their "
                  "first-response bound is set to 0."] if odd else []))
    findings = [say.volume_sentence(summary), say.speed_sentence(summary), say.csat_channel_sentence(differences),
                *say.metric_sentences(differences), *say.channel_response_sentences(summary, comparison), *health]
    result = StudyResult(study=NAME, title=TITLE, period=steps.period(ds), parameters=params, findings=findings,
                         health=health, fits=fits)
    result.tables = {"channel_summary": summary, "channel_differences": differences, "channel_response": comparison}
    result.values = {"effects": effects, "chi2_p": comparison.attrs["chi2_p"], "response": response}
    result.figures = figures(summary, differences)
    return result


def single_channel(ds, params: Parameters, summary) -> StudyResult:
    """All contacts came through one channel: its table, and no comparison."""
    only = summary.index[0]
    findings = [say.volume_sentence(summary),
                f"All contacts came through one channel ('{only}'), so there are no channel differences to estimate."]
    result = StudyResult(study=NAME, title=TITLE, period=steps.period(ds), parameters=params, findings=findings)
    result.tables = {"channel_summary": summary}
    closing = say.duration(summary.loc[only, "resolution_hours"])
    result.figures = {"times": plots.resolution_times(summary, f"{only}: median time to close {closing}")}
    return result


def figures(summary, differences) -> dict:
    csat = differences.loc["csat"]
    worst = csat["effect"].idxmin()
    w = csat.loc[worst]
    clear = w["upper_adj"] < 0
    slow = summary["resolution_hours"].idxmax()
    return {
        "csat": plots.raw_and_adjusted(
            differences, "csat", f"{worst} scores {abs(w['effect']):.2f} CSAT points below the average contact once "
                                 "its mix and agents are held fixed" if clear else
            "No channel's CSAT differs from the average contact once its mix and agents are held fixed",
            "CSAT points against all contacts"),
        "repeat": plots.raw_and_adjusted(differences, "repeat", "Repeat contacts within 7 days by channel, raw and "
                                         "adjusted", "Percentage points against all contacts"),
        "times": plots.resolution_times(summary, f"{slow} takes longest to close: median "
                                                 f"{say.duration(summary.loc[slow, 'resolution_hours'])}"),
    }
