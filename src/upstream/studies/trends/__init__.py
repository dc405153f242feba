"""Trends — did CSAT get better Weekly CSAT, top-box and NPS with intervals, and the change between two
periods split into what the contact mix changed and what changed within the mix (an Oaxaca–Blinder
decomposition on the fitted model), so "CSAT rose because easy contacts rose" is told apart from
"CSAT rose".

    weekly  = score_table(replies, week)                  # raw weekly scores with intervals
    model   = fit_trend_model(replies)                    # csat ~ week + mix + (1 | agent); cached
    boot    = model.bootstrap(n_boot)                     # parametric bootstrap; cached
    parts   = oaxaca(model, boot, contacts, first, last)  # mix part (by variable) and within-mix part
    levels  = within_mix_weeks(...)                       # weekly level on the first period's mix
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...analysis import aggregated, trends
from ...data.frames import responses
from ...data.sql import aggregates as sql
from .. import steps
from ..allowed import allowed
from ..base import ModelSummary, ParameterError, Parameters, RunCache, StudyDeclaration, StudyResult
from . import display, plots
from . import sentences as say

NAME = "trends"
TITLE = "Trends — did CSAT get better"
GROUP = "Operations"


@dataclass(frozen=True)
class TrendValues:
    """What the page and notebook quote: the decomposition (with the months compared) and the trend model."""

    decomposition: trends.Decomposition
    model: ModelSummary


@dataclass(frozen=True)
class TrendParameters(Parameters):
    """first_period, last_period: the months compared ('2026-07'); None = the first and the last month with
    contacts."""

    first_period: str | None = field(default=None, metadata=allowed("month", none="the first month with contacts"))
    last_period: str | None = field(default=None, metadata=allowed("month", none="the last month with contacts"))

    @classmethod
    def from_mapping(cls, values: dict | None = None, **more) -> "TrendParameters":
        params = super().from_mapping(values, **more)
        for name in ("first_period", "last_period"):
            value = getattr(params, name)
            if value is not None and not trends.is_month(value):
                raise ParameterError(f"{name} must be a month written YYYY-MM (e.g. 2026-07), got {value!r}")
        if params.first_period and params.last_period and params.first_period >= params.last_period:
            raise ParameterError(f"first_period must come before last_period, got {params.first_period} and "
                                 f"{params.last_period}")
        return params


def periods_compared(ds, params: TrendParameters) -> tuple[str, str]:
    """The two months compared (by default the first and the last month with CSAT replies); a month without
    contacts or replies is a ParameterError."""
    if steps.in_sql(ds):                       # months from SQL (the replies also get their week and month)
        sql.prepare_trend_replies(ds, steps.csat_scale(ds))
        months, replied = sql.months(ds), set(sql.months(ds, "replies"))
    else:
        months = sorted(trends.month_of(ds.contacts["opened_at"]).unique())
        replied = set(trends.month_of(responses(ds, "csat")["opened_at"]).unique())
    answered = [m for m in months if m in replied] or months
    first, last = params.first_period or answered[0], params.last_period or answered[-1]
    for name, month in (("first_period", first), ("last_period", last)):
        if month not in months:
            raise ParameterError(f"{name} {month} has no contacts; the data cover {', '.join(months)}")
        if month not in replied:
            raise ParameterError(f"{name} {month} has no CSAT replies; months with replies: "
                                 f"{', '.join(sorted(replied))}")
    if first >= last and (params.first_period or params.last_period):
        raise ParameterError(f"the data cover a single month ({first}); a trend needs two")
    return first, last


def trend_model(ds, params: TrendParameters, cache: RunCache):
    """The trend model and its parametric bootstrap (cached per run)."""
    if steps.in_sql(ds):                       # from per-agent sums, bootstrapped from them
        return cache.get("trend_model", lambda: steps.quietly(lambda: aggregated.fit_trend_model_from_sql(
            ds, params.n_boot, params.seed)), data=ds.fingerprint, n_boot=params.n_boot, seed=params.seed,
            engine=ds.engine.name)

    def compute():
        fit = steps.quietly(lambda: trends.fit_trend_model(responses(ds, "csat")))
        return fit, steps.quietly(lambda: fit.bootstrap(params.n_boot, seed=params.seed, progress=False))
    return cache.get("trend_model", compute, data=ds.fingerprint, n_boot=params.n_boot, seed=params.seed)


def run(ds, params: TrendParameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The trends study on a validated data set (a CSAT scale of 5 points or more: the decomposition averages
    scores; on a shorter scale one sentence says it is not made)."""
    params = params if isinstance(params, TrendParameters) else TrendParameters.from_mapping(params)
    cache = cache or RunCache()
    first, last = periods_compared(ds, params)
    scale = steps.csat_scale(ds)
    if first == last:
        return StudyResult(study=NAME, title=TITLE, period=steps.period(ds), parameters=params,
                           agent_ids=tuple(steps.agents_table(ds)["agent_id"].astype(str)), group=GROUP,
                           findings=[say.single_month_sentence(first)])
    if not scale.linear:
        return StudyResult(study=NAME, title=TITLE, period=steps.period(ds), parameters=params,
                           agent_ids=tuple(steps.agents_table(ds)["agent_id"].astype(str)), group=GROUP,
                           findings=[say.short_scale_trend_sentence(scale.points)])
    fit, boot = trend_model(ds, params, cache)
    if steps.in_sql(ds):                       # sums per week, month and level from SQL (docs/scale.md)
        sql.prepare_trend_replies(ds, scale)
        weekly, compared = aggregated.trend_scores_from_sql(ds, first, last)
        counts = aggregated.trend_counts_from_sql(ds, (first, last))
    else:
        replies = responses(ds, "csat")
        weekly = trends.score_table(replies, trends.week_of(replies["opened_at"])).rename_axis("week")
        compared = trends.period_scores(replies, first, last)
        counts = trends.period_counts(ds.contacts, first), trends.period_counts(ds.contacts, last)
    decomposition = trends.oaxaca(fit, boot, None, first, last, counts=counts)
    parts = decomposition.table
    shares = trends.share_changes(None, first, last, counts=counts)
    levels = trends.within_mix_weeks(fit, boot, None, first, counts=counts[0])
    health = (steps.fit_health("Trend model", fit)
              + ([f"Trend model: {boot.note}."] if getattr(boot, "note", "") else [])
              + ([f"Trend model: {boot.n_failed} of {boot.n} bootstrap refits failed and were left out."]
                 if boot.n_failed else []))
    margin = steps.verdict_margin(params, scale)     # a part is "no change" only within ±δ
    findings = [say.decomposition_sentence(decomposition, shares), say.trend_verdict_sentence(parts, margin),
                say.raw_change_sentence(compared), say.weekly_sentence(weekly, levels), *health]
    result = StudyResult(study=NAME, title=TITLE, period=steps.period(ds), parameters=params,
                         agent_ids=tuple(steps.agents_table(ds)["agent_id"].astype(str)),
                         findings=[f for f in findings if f], health=health, group=GROUP,
                         fits={"trend model": fit})
    result.tables = {"weekly_scores": weekly, "period_scores": compared, "trend_decomposition": parts,
                     "mix_shares": shares, "within_mix_weekly": levels}
    result.values = TrendValues(decomposition=decomposition, model=ModelSummary(
        formula=fit.formula, nobs=fit.nobs, n_boot=boot.n, varcorr=fit.varcorr))
    result.figures = {
        "weekly": plots.weekly_scores(weekly, levels, say.weekly_title(parts)),
        "decomposition": plots.decomposition_bars(parts, say.decomposition_title(parts)),
    }
    return result


#: The study, declared once: the runner, the notebook test and `upstream studies` read it from here.
STUDY = StudyDeclaration(
    name=NAME, title=TITLE, group=GROUP, parameters=TrendParameters, run=run, page=display.page,
    tables=("weekly_scores", "period_scores", "trend_decomposition", "mix_shares", "within_mix_weekly"),
    engines=("pandas", "duckdb", "spark"))
