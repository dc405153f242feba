"""Metric health — do the speed metrics tell the truth Handle time, first-contact resolution and repeat
contacts against CSAT, contact by contact and agent by agent, once the contact mix is accounted for;
the agents who are both fast and prone to repeat contacts; what a change in handle time did to
repeats; self-reported against measured resolution; and the interactions-per-contact folk rule.

    frame   = metric_frame(contacts)                         # log handle time, came back, marked resolved
    change  = change_point(daily_adjusted(frame))            # the break the daily handle times show
    speed   = steps: fit_speed_models(frame + period)        # lmer log HT, glmer repeat; cached
    csat    = steps.agent_model(ds, params, cache)           # shared with the other studies
    effects = agent_metric_effects → effect_correlations, quadrant_probabilities
    contact = contact_level_model(replies)                   # CSAT ~ the three metrics, same contact
    agree   = resolution_agreement, overclaim_screen
    curve   = interaction_curve(replies)                     # natural spline, 5–9 band contrasts

On a data set in DuckDB or Spark the same parts come from aggregates (``at_scale``, ``analysis.metric_sums``):
every table as from the rows, except that the handle-time model's crossed agent × day intercepts are fitted by
the method of moments and conjugate-gradient GLS (its model-health line says so), and that beyond
``outcome_cells.CELL_LIMIT`` repeat cells the repeat model's estimates come from a random subset of agents and
every agent's effect from Newton iterations in SQL given them (``analysis.repeat_modes``; its model-health line).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ...analysis import interactions, periods, resolution, speed
from ...data.frames import responses
from .. import steps
from ..allowed import allowed
from ..base import ParameterError, Parameters, RunCache, StudyDeclaration, StudyResult
from . import at_scale, display, plots
from . import sentences as say
from .parts import MetricParts

NAME = "metric_health"
TITLE = "Metric health — do the speed metrics tell the truth"
GROUP = "Operations"


@dataclass(frozen=True, eq=False)
class MetricHealthValues:
    """What the notebook and the page quote: the change point (its day and evidence), the fastest agents' share,
    the agents named fast and prone to repeats, the daily series, each model's formula, the over-claim screen
    (None without resolution codes) and the interactions spline's knots and non-linearity p (None without
    interaction counts or on a short scale)."""

    change: periods.PeriodChange
    fastest: speed.FastestShare
    named: pd.DataFrame
    daily: pd.DataFrame
    formulas: dict
    overclaim: resolution.OverclaimScreen | None = None
    knots: object | None = None
    nonlinear_p: float | None = None


@dataclass(frozen=True)
class MetricHealthParameters(Parameters):
    """fast_margin: "fast" is a handle time at least this much shorter than an average agent's on the same
    contacts (0.10 = 10%); repeat_margin: "creates repeats" is at least this much higher odds of a repeat
    (0.25 = 25%); quadrant_probability: an agent is named when P(both) reaches it. change_date: the date
    of a known change ('2026-08-16'); None finds the break in the data. band_low/band_high: the
    interactions band the folk rule calls the sweet spot; n_knots: spline knots. resolution_z: one-sided z
    of the screen for agents whose contacts marked resolved come back more than expected (3.09 = 0.1% per
    agent; a resolution code, unlike a survey, has no ordinary over-dispersion to calibrate on)."""

    fast_margin: float = field(default=0.10, metadata=allowed("number", 0, 1, low_open=True, high_open=True))
    repeat_margin: float = field(default=0.25, metadata=allowed("number", 0))
    quadrant_probability: float = field(default=0.8, metadata=allowed("number", 0.5, 1, high_open=True))
    change_date: str | None = field(default=None, metadata=allowed("date", none="finds the break in the data"))
    band_low: int = field(default=5, metadata=allowed("whole number", 1))
    band_high: int = field(default=9, metadata=allowed("whole number", 1))
    n_knots: int = field(default=5, metadata=allowed("whole number", 3))
    resolution_z: float = field(default=3.09, metadata=allowed("number", 0, low_open=True))

    @classmethod
    def from_mapping(cls, values: dict | None = None, **more) -> "MetricHealthParameters":
        params = super().from_mapping(values, **more)   # ranges: `allowed` on the fields
        if params.band_low > params.band_high:
            raise ParameterError(f"band_low must be at least 1 and at most band_high, got "
                                 f"{params.band_low}–{params.band_high}")
        if params.change_date is not None:
            try:
                pd.Timestamp(params.change_date)
            except ValueError:
                raise ParameterError(f"change_date must be a date such as 2026-08-16, got "
                                     f"{params.change_date!r}") from None
        return params


def change_step(daily: pd.DataFrame, params: MetricHealthParameters) -> periods.PeriodChange:
    """The change the period comparison uses: the given change_date, the break the data show (p < 0.05),
    or none (then months are compared); `daily`: the mix-adjusted daily handle times."""
    if params.change_date is not None:
        return periods.PeriodChange(daily=daily, source="given", day=pd.Timestamp(params.change_date))
    found = periods.change_point(daily, seed=params.seed)
    if found is None:
        return periods.PeriodChange(daily=daily, source="months", day=None)
    clear = found.p_value < 0.05
    return periods.PeriodChange(daily=daily, source="found" if clear else "months", day=found.day if clear else None,
                                found=found)


def speed_models(ds, frame: pd.DataFrame, day, cache: RunCache) -> speed.SpeedModels:
    return cache.get("speed_models", lambda: steps.quietly(lambda: speed.fit_speed_models(frame)),
                     data=ds.fingerprint, change=None if day is None else str(day))


def rows_parts(ds, params: MetricHealthParameters, cache: RunCache, linear: bool) -> MetricParts:
    """MetricParts from the contacts and replies in pandas."""
    frame = speed.metric_frame(ds.contacts)
    if not speed.recorded(frame, "log_handle_time"):
        return MetricParts(stop=say.NOT_RECORDED["handle_time_sec"])
    came_back = frame["came_back"].dropna()
    if came_back.nunique() < 2:           # no repeat ever (or always one): the repeat model has nothing to fit
        return MetricParts(stop=say.constant_repeats_sentence(len(came_back),
                                                              bool(len(came_back) and came_back.iloc[0])))
    has_fcr, has_ni = speed.recorded(frame, "marked_resolved"), speed.recorded(frame, "n_interactions")
    change = change_step(periods.daily_adjusted(frame, "log_handle_time"), params)
    frame["period"] = periods.period_labels(frame["opened_at"], change.day)
    frame["day"] = frame["opened_at"].dt.strftime("%Y-%m-%d")        # the handle-time model's day intercept
    models = speed_models(ds, frame, change.day, cache)
    parts = MetricParts(change=change, models=models, changes=periods.period_changes(models, frame),
                        monthly=periods.monthly_metrics(frame),
                        counts=frame["agent_id"].astype(str).value_counts().rename("contacts"),
                        interactions_recorded=has_ni)
    metrics = [c for c in ("contact_id", "log_handle_time", "came_back", "marked_resolved") if c in frame]
    replies = responses(ds, "csat").merge(frame[metrics], on="contact_id", how="inner")
    if linear:
        parts.contact = steps.quietly(lambda: speed.contact_level_model(replies))
    if has_fcr:
        screen = steps.quietly(lambda: resolution.overclaim_screen(frame, z=params.resolution_z))
        parts.resolution = (*resolution.resolution_agreement(frame), screen)
    if has_ni and linear:
        band = (params.band_low, params.band_high)
        parts.curve = steps.quietly(lambda: interactions.interaction_curve(replies, ds.contacts, band, params.n_knots))
    return parts


def run(ds, params: MetricHealthParameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The metric_health study on a validated data set (pandas, or aggregates in DuckDB/Spark: ``at_scale``).
    Without handle times there is nothing to check (one sentence says so); without resolution codes or
    interaction counts those parts say so instead; on a CSAT scale shorter than 5 points the
    contact-by-contact CSAT comparisons say they are not made."""
    params = params if isinstance(params, MetricHealthParameters) else MetricHealthParameters.from_mapping(params)
    cache = cache or RunCache()
    result = StudyResult(study=NAME, title=TITLE, period=steps.period(ds), parameters=params,
                         agent_ids=tuple(steps.agents_table(ds)["agent_id"].astype(str)), findings=[],
                         group=GROUP)
    scale = steps.csat_scale(ds)
    if steps.in_sql(ds):
        parts = at_scale.sql_parts(ds, params, cache, scale.linear, change_step)
    else:
        parts = rows_parts(ds, params, cache, scale.linear)
    if parts.stop:
        result.findings = [parts.stop]
        return result
    return assemble(result, parts, steps.agent_model(ds, params, cache), scale)


def assemble(result: StudyResult, parts: MetricParts, model, scale) -> StudyResult:
    """The findings, tables, values and figures from the parts and the shared agent model."""
    params, change, changes = result.parameters, parts.change, parts.changes
    effects = speed.agent_metric_effects(parts.models, model.judged_by)
    correlations = speed.effect_correlations(effects, seed=params.seed)
    quadrant = speed.quadrant_probabilities(effects, params.fast_margin, params.repeat_margin)
    fastest = speed.fastest_share(effects, quadrant)
    fits = {"handle-time model": parts.models.handle_time, "repeat model": parts.models.repeat,
            "agent model": model.judged_by}
    if parts.contact is not None:
        contact, fits["contact model"] = parts.contact
    overall, by_agent, screen = parts.resolution or (None, None, None)
    curve = parts.curve
    if curve is not None:
        fits["interactions model"] = curve.fit
    result.health = [line for label, fit in fits.items()
                     for line in steps.fit_health(label[0].upper() + label[1:], fit)]
    result.fits = fits
    agents = agent_table(effects, quadrant, parts.counts, by_agent, screen)
    named = quadrant[quadrant["p_quadrant"] >= params.quadrant_probability]
    result.findings = [f for f in [
        say.period_change_sentence(changes, change),
        say.speed_quality_sentence(correlations),
        say.speed_csat_sentence(correlations),
        say.rushing_sentence(named, result.labels(named.index), params),
        say.ranking_sentence(fastest, correlations),
        say.contact_metrics_sentence(contact) if scale.linear else say.short_scale_sentence(scale.points),
        (say.resolution_sentence(overall, screen) if by_agent is not None
         else say.NOT_RECORDED["resolved_first_contact"]),
        (say.interactions_sentence(curve.comparisons, curve.bands, curve.band) if curve is not None
         else "" if parts.interactions_recorded else say.NOT_RECORDED["n_interactions"]),
        *result.health] if f]
    result.tables = {"period_changes": changes, "change_point": change_table(change),
                     "monthly_metrics": parts.monthly, "agent_metrics": agents,
                     "effect_correlations": correlations}
    if scale.linear:
        result.tables["contact_metrics"] = contact
    if by_agent is not None:
        result.tables["resolution_agreement"] = overall
    if curve is not None:
        result.tables.update({"interactions_curve": curve.curve,
                              "interactions_bands": curve.bands.rename_axis("band"),
                              "interactions_comparisons": curve.comparisons})
    spline = {"knots": curve.knots, "nonlinear_p": curve.nonlinear_p} if curve is not None else {}
    result.values = MetricHealthValues(change=change, fastest=fastest, named=named, daily=change.daily,
                                       formulas={label: fit.formula for label, fit in fits.items()},
                                       overclaim=screen, **spline)
    result.figures = figures(result, agents, changes, curve, by_agent)
    return result


def change_table(change: periods.PeriodChange) -> pd.DataFrame:
    """tables/change_point.csv: the change the period comparison used and the evidence for it (sup-F against
    a null with serially dependent days: its AR order and coefficient sum; the break date's 95% interval)."""
    found = change.found
    evidence = (lambda name: getattr(found, name)) if found is not None else (lambda name: None)  # noqa: E731
    row = {"date": _day(change.day), "source": change.source, "candidate": _day(change.candidate),
           "sup_f": evidence("sup_f"), "critical_95": evidence("critical_95"), "p_value": evidence("p_value"),
           "date_lower": _day(evidence("day_lower")), "date_upper": _day(evidence("day_upper")),
           "ar_order": evidence("ar_order"), "ar_sum": evidence("ar_sum")}
    return pd.DataFrame([row]).set_index("date")


def _day(value) -> str | None:
    return None if value is None else pd.Timestamp(value).strftime("%Y-%m-%d")


def agent_table(effects, quadrant, counts, by_agent, screen) -> pd.DataFrame:
    """tables/agent_metrics.csv: per agent the contacts handled, the three effects with their SEs and
    reliabilities, the quadrant probabilities, and (where resolution codes are recorded) the codes against
    repeats with the over-claim screen."""
    table = counts.to_frame().join(quadrant[["handle_time_ratio", "repeat_odds_ratio", "p_fast", "p_repeats",
                                             "p_quadrant"]], how="inner")
    table = table.join(effects.rename(columns={"handle_time": "handle_time_effect", "repeat": "repeat_effect",
                                               "csat": "csat_effect"}))
    if by_agent is not None:
        table = table.join(by_agent.drop(columns="contacts"))
        table = table.join(screen.table[["expected_rate", "z", "flag"]].rename(
            columns={"expected_rate": "overclaim_expected", "z": "overclaim_z", "flag": "overclaim_flag"}))
    table.index.name = "agent_id"
    return table.sort_values("p_quadrant", ascending=False)


def figures(result: StudyResult, agents, changes, curve, by_agent) -> dict:
    named, p = result.values.named, result.parameters
    daily = result.values.daily
    change = result.values.change
    ht = changes.loc["handle_time"] if len(changes) else None
    out = {
        "speed_vs_repeats": plots.speed_quadrant(
            agents, p.fast_margin, p.repeat_margin, p.quadrant_probability,
            f"{len(named)} agents are probably both fast and prone to repeat contacts"),
        "period": plots.daily_change(daily, change.day, say.period_title(ht, changes, change)),
    }
    if by_agent is not None:
        overall = result.tables["resolution_agreement"]
        out["resolution"] = plots.disagreement(by_agent, f"Resolution codes and 7-day repeats disagree on "
                                                         f"{say.pct(overall.loc['disagree', 'share'])} of contacts")
    if curve is not None:
        out["interactions"] = plots.interaction_curve(curve.curve, curve.band,
                                                      say.interactions_title(curve.comparisons))
    return out


#: The study, declared once: the runner, the notebook test and `upstream studies` read it from here.
STUDY = StudyDeclaration(
    name=NAME, title=TITLE, group=GROUP, parameters=MetricHealthParameters, run=run, page=display.page,
    tables=("period_changes", "change_point", "monthly_metrics", "agent_metrics", "effect_correlations",
            "contact_metrics", "resolution_agreement", "interactions_curve", "interactions_bands",
            "interactions_comparisons"),
    engines=("pandas", "duckdb", "spark"))
