"""metric_health on a data set that lives in SQL (DuckDB, Spark): the study's parts from aggregates
(``analysis.metric_sums``; docs/scale.md says what differs from the rows)."""
from __future__ import annotations

import pandas as pd

from ...analysis import metric_sums as sums
from ...data.frames import CONTACT_MIX
from ...data.sql import metric_sums as sql
from .. import steps
from . import sentences as say
from .parts import MetricParts


def period_levels(ds, change_day) -> list[str]:
    """The periods compared: before/after `change_day`, else the months with contacts (sorted)."""
    if change_day is not None:
        return ["before", "after"]
    return sorted(str(m) for (m,) in ds.engine.rows(f"SELECT DISTINCT month FROM {sql.METRIC_ROWS} "
                                                   "WHERE month IS NOT NULL"))


def speed_models(ds, change_day, cache, levels):
    """The handle-time and repeat models from aggregates, and the repeat model's cells (cached per run)."""
    return cache.get("speed_models", lambda: steps.quietly(lambda: sums.speed_models(ds, levels)),
                     data=ds.fingerprint, change=None if change_day is None else str(change_day),
                     engine=ds.engine.name)


def sql_parts(ds, params, cache, linear: bool, change_step):
    """``MetricParts`` from aggregates (the pandas path's ``rows_parts`` at scale)."""
    mix = tuple(m for m in CONTACT_MIX if m in ds.columns["contacts"])
    sql.prepare_metric_rows(ds, mix)
    have = sql.recorded_counts(ds, ("log_handle_time", "came_back", "marked_resolved", "n_interactions"))
    if not have["log_handle_time"]:
        return MetricParts(stop=say.NOT_RECORDED["handle_time_sec"])
    if len(have["came_back_values"]) < 2:
        values = have["came_back_values"]
        return MetricParts(stop=say.constant_repeats_sentence(have["came_back"], bool(values and values[0])))
    change = change_step(steps.quietly(lambda: sums.daily_adjusted(ds, "log_handle_time", mix)), params)
    if change.day is not None:
        sql.set_metric_period(ds, pd.Timestamp(change.day))
    levels = period_levels(ds, change.day)
    models, cells = speed_models(ds, change.day, cache, levels)
    parts = MetricParts(change=change, models=models, changes=sums.period_changes(ds, models, cells, levels),
                        monthly=sums.monthly_metrics(ds), counts=sums.contacts_per_agent(ds),
                        interactions_recorded=bool(have["n_interactions"]))
    sums.prepare_replies(ds, mix)
    if linear:
        parts.contact = steps.quietly(lambda: sums.contact_level_model(ds, mix))
    if have["marked_resolved"]:
        screen = steps.quietly(lambda: sums.overclaim_screen(ds, params.resolution_z, mix))
        parts.resolution = (*sums.resolution_agreement(ds), screen)
    if have["n_interactions"] and linear:
        parts.curve = steps.quietly(lambda: sums.interaction_curve(ds, (params.band_low, params.band_high),
                                                                   params.n_knots, mix))
    return parts
