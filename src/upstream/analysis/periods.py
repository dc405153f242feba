"""Period over period: when did handle time change, by how much, and what happened to repeat contacts?

- `daily_adjusted`: each day's mean of a contact metric after removing the contact mix (least squares
  on the mix's indicator columns over every contact), so a drift in the mix does not pass for a change.
- `change_point`: the single break in that daily series that least squares finds best (weighted by the
  day's contacts; each side at least 15% of the days), tested with the sup-F statistic (Andrews 1993,
  Econometrica 61) against its null distribution simulated on the same days and weights (no break,
  normal daily errors). The break date is an estimate: the intervals of the changes below condition on
  it (a clear break is located to within days; Bai 1997, Rev Econ Stat 79).
- `period_labels`: "before"/"after" the break when the data show one (p < 0.05), otherwise the month.
- `period_changes`: the change from the first to the last period in the agent models of ``speed``
  (same contact mix, same agent): handle time as a percentage change of the geometric mean,
  exp(β) − 1 with the Satterthwaite interval transformed; repeat contacts in percentage points, the
  average over the last period's contacts of logit⁻¹(η_i) − logit⁻¹(η_i − β) (η_i with the agent's
  effect), with the Wald interval of β carried through that monotone map.
- `monthly_metrics`: the raw monthly figures with intervals (Wilson for rates; contacts treated as
  independent, a description rather than a model).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from ..data.frames import CONTACT_MIX
from ..survey import wilson_interval

TRIM = 0.15


def mix_adjusted(frame: pd.DataFrame, value: str, mix=CONTACT_MIX) -> np.ndarray:
    """Residuals of `value` from a least-squares fit on the mix's indicator columns (plus the mean)."""
    mix = [m for m in mix if m in frame and frame[m].nunique() > 1]
    X = (pd.get_dummies(frame[mix].astype(str), drop_first=True, dtype=float).to_numpy() if mix
         else np.zeros((len(frame), 0)))
    X = np.column_stack([np.ones(len(frame)), X])
    y = frame[value].astype(float).to_numpy()
    beta, *_ = np.linalg.lstsq(X.T @ X, X.T @ y, rcond=None)     # normal equations: indicator columns, small p
    return y - X @ beta + y.mean()


def daily_adjusted(frame: pd.DataFrame, value: str, mix=CONTACT_MIX) -> pd.DataFrame:
    """Per day (of `opened_at`): contacts `n` and the mean mix-adjusted `value` (contacts with a value)."""
    frame = frame.dropna(subset=[value])
    adjusted = pd.Series(mix_adjusted(frame, value, mix), index=frame.index)
    day = frame["opened_at"].dt.floor("D")
    out = adjusted.groupby(day).agg(["size", "mean"]).rename(columns={"size": "n", "mean": "value"})
    out.index.name = "day"
    return out


def _sup_f(values: np.ndarray, w: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """F statistic of a mean shift at each candidate break k in [lo, hi) for each row of `values`
    (weighted least squares, weights w). Returns (F per row and k, candidate k)."""
    ks = np.arange(lo, hi)
    W = np.cumsum(w)
    S = np.cumsum(values * w, axis=-1)
    total_w, total_s = W[-1], S[..., -1:]
    mean_all = total_s / total_w
    rss0 = np.sum(w * (values - mean_all) ** 2, axis=-1, keepdims=True)
    w1, s1 = W[ks - 1], S[..., ks - 1]
    w2, s2 = total_w - w1, total_s - s1
    gain = s1 ** 2 / w1 + s2 ** 2 / w2 - total_s ** 2 / total_w        # RSS0 − RSS_k
    rss = rss0 - gain
    T = values.shape[-1]
    return gain / (rss / (T - 2)), ks


def change_point(daily: pd.DataFrame, n_sim: int = 2000, seed: int = 2026, trim: float = TRIM) -> dict:
    """The best single break of `daily["value"]` (see the module docstring). Returns day (the first day
    after the break), index, sup_f, p_value (share of simulated no-break series with a larger sup-F),
    before/after (weighted means of the series), n_days; None when there are fewer than 10 days."""
    T = len(daily)
    if T < 10:
        return None
    w = daily["n"].to_numpy(float)
    y = daily["value"].to_numpy(float)
    lo, hi = max(1, int(np.floor(trim * T))), min(T - 1, int(np.ceil((1 - trim) * T)))
    F, ks = _sup_f(y[None, :], w, lo, hi + 1)
    best = int(np.argmax(F[0]))
    k = int(ks[best])
    rng = np.random.default_rng(seed)
    null = rng.standard_normal((n_sim, T)) / np.sqrt(w)[None, :]
    F0, _ = _sup_f(null, w, lo, hi + 1)
    sup0 = F0.max(axis=1)
    return {"day": daily.index[k], "index": k, "sup_f": float(F[0, best]),
            "p_value": float((1 + np.sum(sup0 >= F[0, best])) / (1 + n_sim)),
            "before": float(np.average(y[:k], weights=w[:k])), "after": float(np.average(y[k:], weights=w[k:])),
            "n_days": T, "critical_95": float(np.quantile(sup0, 0.95))}


def period_labels(opened: pd.Series, change_day=None) -> pd.Series:
    """An ordered categorical period per contact: 'before'/'after' `change_day` when given, else the
    month ('2026-07', ...)."""
    if change_day is not None:
        after = opened >= pd.Timestamp(change_day)
        return pd.Series(pd.Categorical(np.where(after, "after", "before"), categories=["before", "after"],
                                        ordered=True), index=opened.index)
    month = opened.dt.strftime("%Y-%m")
    return pd.Series(pd.Categorical(month, categories=sorted(month.unique()), ordered=True), index=opened.index)


def period_changes(models, frame: pd.DataFrame, period: str = "period", level: float = 0.95) -> pd.DataFrame:
    """The change from the first to the last level of `period` on the same contact mix and agent (see the
    module docstring). Rows handle_time (estimate etc. as a proportion: −0.15 = 15% shorter) and repeat
    (percentage points as a proportion: 0.036 = 3.6 points); columns first, last (period labels), estimate,
    lower, upper, p_value, raw_first, raw_last (the raw means: seconds; repeat share)."""
    levels = list(frame[period].cat.categories)
    first, last = levels[0], levels[-1]
    ht, rep = models.handle_time, models.repeat
    col = ht.term_columns(period)[-1] if len(levels) > 1 else None
    rows = {}
    q = stats.norm.ppf(0.5 + level / 2)
    raw = frame.groupby(period, observed=True)[["handle_time_sec", "came_back"]].mean()
    if col is None:
        return pd.DataFrame()
    L = (ht.fixef.index == col).astype(float)
    c = ht.contrast(L)
    tq = stats.t.ppf(0.5 + level / 2, c["df"])
    rows["handle_time"] = {"estimate": np.expm1(c["estimate"]), "lower": np.expm1(c["estimate"] - tq * c["std_error"]),
                           "upper": np.expm1(c["estimate"] + tq * c["std_error"]), "p_value": c["p_value"],
                           "raw_first": raw.loc[first, "handle_time_sec"], "raw_last": raw.loc[last, "handle_time_sec"]}
    b, se = rep.coef_table.loc[col, "estimate"], rep.coef_table.loc[col, "std_error"]
    eta = rep.predict(type="link")                     # rows of the repeat model (contacts with a value)
    eta0 = eta[(frame.loc[eta.index, period] == last).to_numpy()].to_numpy() - b   # the last period's contacts, before

    def points(beta):
        return float(np.mean(expit(eta0 + beta) - expit(eta0)))

    rows["repeat"] = {"estimate": points(b), "lower": points(b - q * se), "upper": points(b + q * se),
                      "p_value": float(2 * stats.norm.sf(abs(b / se))),
                      "raw_first": raw.loc[first, "came_back"], "raw_last": raw.loc[last, "came_back"]}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.insert(0, "last", last)
    out.insert(0, "first", first)
    out.index.name = "metric"
    return out


def monthly_metrics(frame: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per month: contacts, mean and median handle time (seconds) with a t interval of the mean, the repeat
    share and the share the agents marked resolved, each with a Wilson interval — each over the contacts
    that record it (a metric the data set does not record is left out)."""
    month = frame["opened_at"].dt.strftime("%Y-%m")
    g = frame.groupby(month)
    out = pd.DataFrame({"contacts": g.size()})
    if "handle_time_sec" in frame:
        n = g["handle_time_sec"].count()
        out["handle_time_mean"], out["handle_time_median"] = g["handle_time_sec"].mean(), g["handle_time_sec"].median()
        se = g["handle_time_sec"].std() / np.sqrt(n)
        tq = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
        out["handle_time_lower"] = out["handle_time_mean"] - tq * se
        out["handle_time_upper"] = out["handle_time_mean"] + tq * se
    for name, col in (("repeat", "came_back"), ("marked_resolved", "marked_resolved")):
        if col not in frame:
            continue
        k, n = g[col].sum(), g[col].count()
        out[f"{name}_rate"] = k / n
        lo, hi = wilson_interval(k.to_numpy(), n.to_numpy(), level)
        out[f"{name}_lower"], out[f"{name}_upper"] = lo, hi
    out.index.name = "month"
    return out
