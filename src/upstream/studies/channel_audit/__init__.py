"""Channel audit: one table per channel — volume, speed, scores, outcomes and who answers — and the channel
differences with what each channel handles (policy, product, issue type) and the agent held fixed, next to
the raw ones.

    summary  = channel_summary(contacts, invitations)             # each number with its interval
    csat     = steps.policy_model(ds, params, cache, "channel")   # agent model + customers, level effects
    nps      = steps.nps_model(ds, cache)                         # clmm, AME in NPS points
    rates    = steps.rate_model(ds, cache, outcome)               # glmer on all contacts, AME in pp
    response = response_comparison(...)                          # weighting and the tipping point δ

With a SQL engine (DuckDB, Spark) every step works from aggregates: the summary, the raw differences and the
response comparison from per-channel (× feature cell) sums (``analysis.channel_sums``), the rate and NPS models
from agent × mix cells (``analysis.outcome_cells``), the CSAT model from per-agent sums without the customer
random effect (the health notes say so).
"""
from __future__ import annotations

from dataclasses import dataclass

from ...analysis import channel_sums, channels
from ...data.frames import invitations
from .. import steps
from ..base import Parameters, RunCache, StudyDeclaration, StudyResult
from . import display, plots
from . import sentences as say

NAME = "channel_audit"
TITLE = "Channel audit: what each channel handles, how fast and how well"
GROUP = "Operations"
CHANNEL = "channel"
RATE_LABELS = {"fcr": "First-contact resolution model", "escalation": "Escalation model",
               "repeat": "Repeat-contact model"}


@dataclass(frozen=True)
class ChannelValues:
    """What the page and notebook quote: the summary (with its CSAT measure), the adjusted effects per metric,
    the outcome's name and, where response rates can be compared, the comparison and the response model."""

    summary: channels.ChannelSummary
    effects: dict
    outcome: str
    comparison: channels.ResponseComparison | None = None
    response: object | None = None


def adjusted_effects(ds, params: Parameters, cache: RunCache) -> tuple[dict, dict]:
    """Per metric the data set records, the channel effects against the average contact (csat: on the
    scale's own terms; nps: NPS points; rates: probability), and the fits behind them."""
    return steps.outcome_effects(ds, params, cache, CHANNEL, channels.RATES,
                                 {"csat": "CSAT model", "nps": "NPS model", **RATE_LABELS})


def run(ds, params: Parameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The channel_audit study on a validated data set."""
    params = params if isinstance(params, Parameters) else Parameters.from_mapping(params)
    cache = cache or RunCache()
    scale = steps.csat_scale(ds)
    inv = None if steps.in_sql(ds) else invitations(ds)
    good = scale.top_box if scale.is_binary else None    # CSAT below is the share of good ratings
    summarised = (channel_sums.channel_summary_from_sql(ds, CHANNEL, good=good) if inv is None
                  else channels.channel_summary(ds.contacts, inv, CHANNEL, good=good))
    summary = summarised.table
    visibility = steps.visibility_of(ds)
    if not visibility.response_rates:     # answered surveys only: a 100% response rate would be an artefact
        summary[["response_rate", "response_rate_lower", "response_rate_upper"]] = float("nan")
    if len(summary) < 2:
        return single_channel(ds, params, summarised)
    effects, fits = adjusted_effects(ds, params, cache)
    if inv is None:
        raw = channel_sums.raw_differences_from_sql(ds, CHANNEL, effects, good)
        differences = channels.combine_differences(raw, effects, CHANNEL, good)
    else:
        differences = channels.channel_differences(ds.contacts, inv, effects, CHANNEL, good=good)
    comparison = response = None
    if visibility.response_rates and (summary["responses"] < summary["invitations"]).any():
        if inv is None:
            comparison = channel_sums.response_comparison_from_sql(ds, effects["csat"], CHANNEL, good)
        else:
            response = steps.response_model(ds, cache)
            shares = inv.assign(csat=inv["top_box"].astype(float)) if scale.is_binary else inv
            comparison = channels.response_comparison(ds.contacts, shares, response.weights, effects["csat"], CHANNEL)
    odd = summarised.handle_exceeds_elapsed
    health = (scale_notes(ds, cache, fits)
              + [line for label, fit in fits.items() for line in steps.fit_health(label, fit)]
              + ([f"Data: {odd:,} contacts record more handle time than time from opening to closing; their "
                  "first-response bound is set to 0."] if odd else []))
    outcome = steps.units(scale).outcome
    findings = [say.volume_sentence(summary), say.speed_sentence(summary),
                say.csat_channel_sentence(differences, outcome), *say.metric_sentences(differences),
                *(say.channel_response_sentences(summary, comparison, steps.units(scale)) if comparison is not None
                  else [no_response_comparison_sentence(visibility)]), *health]
    result = StudyResult(study=NAME, title=TITLE, group=GROUP, period=steps.period(ds), parameters=params,
                         findings=findings, health=health, fits=fits)
    result.tables = {"channel_summary": summary, "channel_differences": differences,
                     **({"channel_response": comparison.table} if comparison is not None else {})}
    result.values = ChannelValues(summary=summarised, effects=effects, outcome=outcome, comparison=comparison,
                                  response=response)
    result.figures = figures(summary, differences, outcome)
    return result


def scale_notes(ds, cache: RunCache, fits: dict) -> list[str]:
    """With a SQL engine: which CSAT model the channel effects come from and the NPS and rate models fitted on a
    subset of agents (``steps.sql_level_notes``)."""
    return steps.sql_level_notes(ds, cache, fits["CSAT model"] if "CSAT model" in fits else None, "channel",
                                 {RATE_LABELS[name]: column for name, column in channels.RATES.items()
                                  if RATE_LABELS[name] in fits}, "NPS model" if "NPS model" in fits else None)


def no_response_comparison_sentence(visibility) -> str:
    """Why the channels' response rates are not compared: the data cannot show them, or nothing went unanswered."""
    if not visibility.response_rates:
        note = f" ({visibility.note})" if visibility.note else ""
        return (f"The data set lists answered surveys only{note}, so the channels' response rates, and what unequal "
                "response does to the channel comparison, cannot be seen.")
    return ("Every survey invitation was answered on every channel, so unequal response cannot bias the channel "
            "comparison.")


def single_channel(ds, params: Parameters, summarised: channels.ChannelSummary) -> StudyResult:
    """All contacts came through one channel: its table, and no comparison."""
    summary = summarised.table
    only = summary.index[0]
    findings = [say.volume_sentence(summary),
                f"All contacts came through one channel ('{only}'), so there are no channel differences to estimate."]
    result = StudyResult(study=NAME, title=TITLE, group=GROUP, period=steps.period(ds), parameters=params,
                         findings=findings)
    result.tables = {"channel_summary": summary}
    result.values = ChannelValues(summary=summarised, effects={}, outcome=steps.units(steps.csat_scale(ds)).outcome)
    closing = say.duration(summary.loc[only, "resolution_hours"])
    result.figures = {"times": plots.resolution_times(summary, f"{only}: median time to close {closing}")}
    return result


def figures(summary, differences, outcome: str = "CSAT") -> dict:
    csat = differences.loc["csat"]
    unit = csat["unit"].iloc[0]
    worst = csat["effect"].idxmin()
    w = csat.loc[worst]
    size = f"{abs(w['effect']):.2f} {unit}" if unit == "CSAT points" else f"{abs(w['effect']):.1f} {unit}"
    slow = summary["resolution_hours"].idxmax()
    out = {
        "csat": plots.raw_and_adjusted(
            differences, "csat", f"On {worst}, {outcome} is {size} below the average contact once its mix and agents "
                                 "are held fixed" if w["upper_adj"] < 0 else
            f"No channel's {outcome} differs from the average contact once its mix and agents are held fixed",
            f"{unit[0].upper() + unit[1:]} against all contacts"),
        "times": plots.resolution_times(summary, f"{slow} takes longest to close: median "
                                                 f"{say.duration(summary.loc[slow, 'resolution_hours'])}"),
    }
    if "repeat" in differences.index.get_level_values(0):
        out["repeat"] = plots.raw_and_adjusted(differences, "repeat", "Repeat contacts within 7 days by channel, raw "
                                               "and adjusted", "Percentage points against all contacts")
    return out


#: The study, declared once: the runner, the notebook test and `upstream studies` read it from here.
STUDY = StudyDeclaration(
    name=NAME, title=TITLE, group=GROUP, parameters=Parameters, run=run, page=display.page,
    tables=("channel_summary", "channel_differences", "channel_response"), engines=("pandas", "duckdb", "spark"))
