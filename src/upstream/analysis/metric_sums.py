"""metric_health from aggregates, for data sets that live in SQL (DuckDB, Spark; ``data.sql.metric_sums``).

Only per-day, per-agent, per-cell, per-month and per-value sums reach Python; each step then runs the pandas
path's own code (``periods``, ``speed``, ``resolution``, ``interactions``):

- the daily series: β̂ of the mix from X'X, X'y over the contacts, then per day n, Σr, Σr² of r = y − x'β̂;
- the handle-time model `log_handle_time ~ mix + period + (1 | agent_id) + (1 | day)`: agent and day are
  crossed, and exact REML needs the rows, so at scale it is fitted from per-agent and per-day sums and the
  agent × day cell counts by the method of moments and conjugate-gradient GLS (``models.crossed``, as the
  agent model's customer term); the period contrast takes the containment df (days − periods: the period is
  a property of the day). Without a day term (one period, or a day variance of 0) it is the exact REML fit
  from per-agent sums;
- the repeat model: the same logistic GLMM (Laplace) on binomial cells `cbind(k, no_repeat)` per agent × mix ×
  period (the rows' likelihood, so the rows' estimates); the period change averages over the last period's
  cells weighted by their contacts. These cells barely aggregate (907,641 cells of 1,000,000 contacts on the
  medium preset; the fit needs about 1 KB per cell): beyond CELL_LIMIT cells β̂, σ̂ come from a random subset
  of agents and every agent's effect from Newton iterations in SQL (``repeat_modes``);
- the contact-level and interactions models: exact REML from per-agent sums over the replies (the spline
  basis of n_interactions, a whole number, written in SQL per value);
- resolution codes, the over-claim screen and the monthly figures: counts per agent, cell and month.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as st

from ..data.frames import CONTACT_MIX
from ..data.sql import aggregates
from ..data.sql import metric_sums as sql
from ..data.sql.metric_sums import METRIC_ROWS
from ..models import ColumnTerms, CrossedSums, GroupStats, crossed_fit, lmer_from_stats
from ..survey.constants import AGENT
from . import interactions, periods, repeat_modes, resolution, speed
from .screen import cell_probabilities


def daily_adjusted(ds, value: str = "log_handle_time", mix=CONTACT_MIX) -> pd.DataFrame:
    """``periods.daily_adjusted`` from sums: per day n, value (mean mix-adjusted), var."""
    where = f"{value} IS NOT NULL"
    dsg = sql.design(ds, METRIC_ROWS, [m for m in mix if m in ds.columns["contacts"]], where=where)
    tot = sql.totals(ds, METRIC_ROWS, dsg, value, where)
    beta, *_ = np.linalg.lstsq(tot["xtx"], tot["xty"], rcond=None)
    r = f"({value} - ({sql.linear_prediction(ds, dsg, pd.Series(beta, index=dsg.names))}))"
    days = sql.by_value(ds, METRIC_ROWS, "day", {"sr": f"sum({r})", "srr": f"sum({r} * {r})"}, where)
    n = days["n"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n > 1, (days["srr"] - days["sr"] ** 2 / n) / (n - 1), np.nan)
    out = pd.DataFrame({"n": days["n"].to_numpy(), "value": days["sr"].to_numpy() / n + tot["sy"] / tot["n"],
                        "var": var}, index=pd.DatetimeIndex(pd.to_datetime(days.index), name="day"))
    return out


@dataclass
class DayCrossedFit:
    """The handle-time model with crossed agent and day intercepts fitted from sums (``models.crossed``),
    with the contrasts ``periods`` asks for: a t test on the containment df (days − period levels)."""

    fit: object
    term_of_column: tuple
    df: float

    def __getattr__(self, name):
        if name in ("fit", "term_of_column", "df"):
            raise AttributeError(name)
        return getattr(self.fit, name)

    def term_columns(self, term: str) -> list[str]:
        return [n for n, t in zip(self.fit.fixef.index, self.term_of_column) if t == term]

    def contrast(self, L) -> pd.Series:
        L = np.asarray(L, float)
        est = float(L @ self.fit.fixef.to_numpy())
        se = float(np.sqrt(L @ self.fit.vcov.to_numpy() @ L))
        t = est / se
        return pd.Series({"estimate": est, "std_error": se, "df": self.df, "t": t,
                          "p_value": float(2 * st.t.sf(abs(t), self.df))})

    def health(self) -> list[str]:
        return [*self.fit.health(), "fitted from per-agent and per-day sums (agent and day crossed) by the method "
                "of moments and conjugate-gradient GLS, not REML; the period change is tested on the days' "
                f"containment df ({self.df:g})"]


def stats_fit(ds, table: str, dsg: sql.Design, y: str, where: str, response: str):
    """`response ~ design + (1 | agent_id)` by REML from per-agent sums (the total X'X) of the rows."""
    tot = sql.totals(ds, table, dsg, y, where)
    ag = sql.group_sums(ds, table, dsg, y, AGENT, where)
    terms = ColumnTerms(dsg.term_of_column, dsg.factors, dsg.level_counts)
    stats = GroupStats(levels=pd.Index(ag["levels"]), names=list(dsg.names), n=ag["n"], s=ag["s"], xtx=None,
                       xty=ag["xty"], sy=ag["sy"], yty=ag["yty"], group=AGENT, response=response,
                       xtx_sum=tot["xtx"], terms=terms)
    return lmer_from_stats(stats), tot, ag


def handle_time_model(ds, factors, order, crossed: bool):
    """The handle-time model (module docstring) with or without the day term (contacts with every column)."""
    where = " AND ".join(f"{c} IS NOT NULL" for c in ("log_handle_time", *factors))
    dsg = sql.design(ds, METRIC_ROWS, factors, where=where, order=order)
    if not crossed:
        return stats_fit(ds, METRIC_ROWS, dsg, "log_handle_time", where, "log_handle_time")[0]
    tot = sql.totals(ds, METRIC_ROWS, dsg, "log_handle_time", where)
    ag = sql.group_sums(ds, METRIC_ROWS, dsg, "log_handle_time", AGENT, where)
    dy = sql.group_sums(ds, METRIC_ROWS, dsg, "log_handle_time", "day", where)
    cells = sql.indexed_cells(ds, METRIC_ROWS, {AGENT: ag["levels"], "day": dy["levels"]}, where)
    sums = CrossedSums(dsg.names, tot["xtx"], tot["xty"], tot["yty"], ag["levels"], ag["n"], ag["s"], ag["sy"],
                       dy["levels"], dy["n"], dy["s"], dy["sy"], cells[AGENT].to_numpy(), cells["day"].to_numpy(),
                       cells["n"].to_numpy())
    fit = crossed_fit(sums, AGENT, "day", "log_handle_time", fixed_se=True, terms=dsg.terms)
    if fit.variances["day"] < (1e-4 * fit.sigma) ** 2:     # no day-to-day variation: drop the term, as on rows
        return handle_time_model(ds, factors, order, False)
    return DayCrossedFit(fit, dsg.term_of_column, float(len(dy["levels"]) - len(order.get("period", ("",)))))


def repeat_cells(ds, factors, extra_where: str = "") -> pd.DataFrame:
    """Contacts `n` and repeats `k` per agent × factor-level cell (contacts that record a repeat; and meet
    `extra_where`, " AND …")."""
    where = " AND ".join(f"{c} IS NOT NULL" for c in ("came_back", *factors)) + extra_where
    cells = sql.cells(ds, METRIC_ROWS, [AGENT, *factors], {"k": "came_back"}, where)
    cells[AGENT] = cells[AGENT].astype(str)
    cells["k"] = cells["k"].round().astype(np.int64)
    cells["no_repeat"] = cells["n"] - cells["k"]
    return cells.sort_values([AGENT, *factors], kind="stable").reset_index(drop=True)


def speed_models(ds, period_levels, mix=CONTACT_MIX) -> tuple[speed.SpeedModels, pd.DataFrame]:
    """``speed.fit_speed_models`` from aggregates (module docstring) and the repeat model's cells (None beyond
    CELL_LIMIT: ``repeat_modes``)."""
    present = sql.design(ds, METRIC_ROWS, [m for m in mix if m in ds.columns["contacts"]]).factors
    mix = tuple(present)
    compared = len(period_levels) > 1
    factors = [*mix, *(["period"] if compared else [])]
    days = int(ds.engine.rows(f"SELECT count(DISTINCT day) FROM {METRIC_ROWS}")[0][0])
    ht = handle_time_model(ds, factors, {"period": list(period_levels)}, compared and days > 2)
    rep, cells = repeat_modes.repeat_model(ds, factors, period_levels, lambda extra: repeat_cells(ds, factors, extra))
    return speed.SpeedModels(handle_time=ht, repeat=rep, mix=mix), cells


def period_changes(ds, models: speed.SpeedModels, cells: pd.DataFrame, period_levels) -> pd.DataFrame:
    """``periods.period_changes`` from the repeat model's cells and the raw means per period."""
    raw = sql.by_value(ds, METRIC_ROWS, "period", {"handle_time_sec": "avg(handle_time_sec)",
                                                   "came_back": "avg(came_back)"})
    levels = list(period_levels)
    if len(levels) < 2:
        return pd.DataFrame()
    if cells is None:
        return periods.change_rows(models, levels, raw, None, None,
                                   average_change=repeat_modes.change_at_scale(ds, models.repeat, levels[-1]))
    last = (cells["period"] == levels[-1]).to_numpy()
    eta = models.repeat.predict(type="link").to_numpy()[last]
    return periods.change_rows(models, levels, raw, eta, cells["n"].to_numpy(float)[last])


def monthly_metrics(ds) -> pd.DataFrame:
    """``periods.monthly_metrics`` from per-month sums."""
    have = sql.recorded_counts(ds, ("handle_time_sec", "marked_resolved"))
    sums = {}
    if have["handle_time_sec"]:
        sums |= {"ht_n": "count(handle_time_sec)", "ht_mean": "avg(handle_time_sec)",
                 "ht_median": "median(handle_time_sec)", "ht_sd": "stddev_samp(handle_time_sec)"}
    sums |= {"repeat_k": "sum(came_back)", "repeat_n": "count(came_back)"}
    if have["marked_resolved"]:
        sums |= {"marked_resolved_k": "sum(marked_resolved)", "marked_resolved_n": "count(marked_resolved)"}
    frame = sql.by_value(ds, METRIC_ROWS, "month", sums).rename(columns={"n": "contacts"})
    frame.index = frame.index.astype(str)
    return periods.monthly_from_sums(frame)


def resolution_agreement(ds) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``resolution.resolution_agreement`` from counts per agent."""
    both = "marked_resolved IS NOT NULL AND came_back IS NOT NULL"
    s = sql.by_value(ds, METRIC_ROWS, AGENT, {
        "marked": "sum(marked_resolved)", "back": "sum(came_back)",
        "disagree": "sum(CASE WHEN marked_resolved = came_back THEN 1 ELSE 0 END)",
        "over": "sum(marked_resolved * came_back)"}, both)
    s = s.astype(np.int64)
    s.index = s.index.astype(str)
    return resolution.agreement_from_counts(s.sort_index())


def overclaim_screen(ds, z: float, mix=CONTACT_MIX) -> resolution.OverclaimScreen:
    """``resolution.overclaim_screen`` from counts per feature cell (the propensity GLM) and per agent."""
    where = "marked_resolved = 1 AND came_back IS NOT NULL"
    d = ds.engine.dialect
    candidates = [m for m in (*mix, "escalated") if m in sql.metric_columns(ds)]
    per_feature = "".join(f"count(DISTINCT {d.ident(f)}), count({d.ident(f)}), " for f in candidates)
    counts = ds.engine.rows(f"SELECT {per_feature}count(*) FROM {METRIC_ROWS} WHERE {where}")[0]
    use = [f for k, f in enumerate(candidates)   # ``screen.usable_features``: varies and is never missing (one scan)
           if int(counts[2 * k]) > 1 and int(counts[2 * k + 1]) == int(counts[-1])]
    cells = sql.cells(ds, METRIC_ROWS, use, {"o": "came_back"}, where) if use else None
    total = sql.by_value(ds, METRIC_ROWS, AGENT, {"o": "sum(came_back)"}, where)
    rate = float(total["o"].sum() / total["n"].sum())
    if cells is None or rate in (0.0, 1.0):
        g = pd.DataFrame({"o": total["o"], "e": total["n"] * rate, "v": total["n"] * rate * (1 - rate)})
    else:
        cells = cells.sort_values(use, kind="stable").reset_index(drop=True)
        cells["p"] = cell_probabilities(cells, use)
        ds.engine.register("overclaim_p", cells[[*use, "p"]])
        on = " AND ".join(f"t.{d.ident(f)} = q.{d.ident(f)}" for f in use)
        g = ds.engine.frame(f"SELECT {d.text('t.' + d.ident(AGENT))} AS a, count(*) AS n, sum(t.came_back) AS o, "
                            f"sum(q.p) AS e, sum(q.p * (1 - q.p)) AS v FROM {METRIC_ROWS} t JOIN overclaim_p q ON {on} "
                            f"WHERE t.marked_resolved = 1 AND t.came_back IS NOT NULL GROUP BY t.{d.ident(AGENT)}")
        g = g.set_index("a")
    g = g.assign(n=total["n"].astype(float)) if "n" not in g else g
    g.index = g.index.astype(str)
    return resolution.screen_from_sums(g.sort_index()[["o", "e", "v", "n"]].astype(float), z)


def prepare_replies(ds, mix=CONTACT_MIX) -> None:
    """`replies` (``aggregates.prepare_replies``) with the contact's metrics (``speed.metric_frame``)."""
    have = set(ds.columns["contacts"])
    c = lambda col: f"c.{ds.engine.dialect.ident(col)}"  # noqa: E731
    extra = {"came_back": sql.flag(ds, "repeat_within_7d", "c.")}
    if "resolved_first_contact" in have:
        extra["marked_resolved"] = sql.flag(ds, "resolved_first_contact", "c.")
    if "handle_time_sec" in have:
        extra["log_handle_time"] = f"ln(1 + CAST({c('handle_time_sec')} AS DOUBLE))"
    if "n_interactions" in have:
        extra["n_interactions"] = f"CAST({c('n_interactions')} AS DOUBLE)"
    aggregates.prepare_replies(ds, "csat", tuple(m for m in mix if m in have), extra=extra)


def contact_level_model(ds, mix=CONTACT_MIX):
    """``speed.contact_level_model`` by REML from per-agent sums of the replies: (table, fit)."""
    columns = set(ds.engine.frame("SELECT * FROM replies LIMIT 0").columns)
    counts = {col: int(ds.engine.rows(f"SELECT count({col}) FROM replies")[0][0]) if col in columns else 0
              for _, col, _ in speed.CONTACT_METRICS}
    used = [(name, col, scale) for name, col, scale in speed.CONTACT_METRICS if counts[col]]
    where = " AND ".join(f"{col} IS NOT NULL" for _, col, _ in used) or "TRUE"
    dsg = sql.design(ds, "replies", [m for m in mix if m in columns], [(col, col) for _, col, _ in used], where)
    fit = stats_fit(ds, "replies", dsg, "y", where, "csat")[0]
    return speed.contact_metric_table(fit, used), fit


def interaction_curve(ds, band, n_knots: int, mix=CONTACT_MIX) -> interactions.InteractionCurve:
    """``interactions.interaction_curve`` from per-value counts and the spline model's per-agent sums."""
    counts = sql.by_value(ds, METRIC_ROWS, "n_interactions", {})["n"]
    counts.index = counts.index.astype(int)
    knots = interactions.spline_knots(counts.index.to_numpy(float), n_knots)
    by_n = sql.by_value(ds, "replies", "n_interactions", {"sum_y": "sum(y)"})
    values = by_n.index.to_numpy(float)
    basis = interactions.natural_spline_basis(values, knots)
    spline = [(f"{interactions.PREFIX}{j + 1}", "CASE " + " ".join(
        f"WHEN n_interactions = {float(v)!r} THEN CAST({float(b)!r} AS DOUBLE)" for v, b in zip(values, basis[:, j]))
        + " END") for j in range(basis.shape[1])]
    where = "n_interactions IS NOT NULL"
    columns = set(ds.engine.frame("SELECT * FROM replies LIMIT 0").columns)
    dsg = sql.design(ds, "replies", [m for m in mix if m in columns], spline, where)
    fit, tot, _ = stats_fit(ds, "replies", dsg, "y", where, "csat")
    keep = [list(dsg.names).index(c) for c in fit.fixef.index]
    mean_row = tot["xtx"][0, keep] / tot["n"]
    by_n.index = by_n.index.astype(int)
    return interactions.curve_from_fit(fit, knots, mean_row, counts, by_n["n"], by_n["sum_y"] / by_n["n"], band)


def contacts_per_agent(ds) -> pd.Series:
    """Contacts per agent (``metric_rows``)."""
    counts = sql.by_value(ds, METRIC_ROWS, AGENT, {})["n"].rename("contacts")
    counts.index = counts.index.astype(str)
    return counts.sort_values(ascending=False, kind="stable")
