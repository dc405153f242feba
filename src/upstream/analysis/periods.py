"""Period over period: when did handle time change, by how much, and what happened to repeat contacts?

- `daily_adjusted`: each day's mean of a contact metric after removing the contact mix (least squares
  on the mix's indicator columns over every contact), so a drift in the mix does not pass for a change.
- `change_point`: the single break in that daily series that least squares finds best (weighted by the
  day's contacts; each side at least 15% of the days), tested with the sup-F statistic (Andrews 1993,
  Econometrica 61) against its null distribution simulated on the same days and weights: AR(1) day
  effects plus each day's own sampling noise (a parametric bootstrap; days are serially dependent, and
  independent-day nulls find breaks in 26–44% of AR(1) series without one). The break date is an
  estimate: its interval comes from errors simulated around the fitted break (Bai 1997, Rev Econ Stat
  79, gives the asymptotic version), and the before/after handle-time model carries a day random
  intercept, so the changes below are not judged as if every contact of a day were independent.
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
from ..data.model_formula import present_mix
from ..survey import wilson_interval
from .results import AnalysisResult, result

TRIM = 0.15


def mix_adjusted(frame: pd.DataFrame, value: str, mix=CONTACT_MIX) -> np.ndarray:
    """Residuals of `value` from a least-squares fit on the mix's indicator columns (plus the mean)."""
    mix = list(present_mix(frame, mix))
    X = (pd.get_dummies(frame[mix].astype(str), drop_first=True, dtype=float).to_numpy() if mix
         else np.zeros((len(frame), 0)))
    X = np.column_stack([np.ones(len(frame)), X])
    y = frame[value].astype(float).to_numpy()
    beta, *_ = np.linalg.lstsq(X.T @ X, X.T @ y, rcond=None)     # normal equations: indicator columns, small p
    return y - X @ beta + y.mean()


def daily_adjusted(frame: pd.DataFrame, value: str, mix=CONTACT_MIX) -> pd.DataFrame:
    """Per day (of `opened_at`): contacts `n`, the mean mix-adjusted `value` and its within-day variance
    `var` (contacts with a value)."""
    frame = frame.dropna(subset=[value])
    adjusted = pd.Series(mix_adjusted(frame, value, mix), index=frame.index)
    day = frame["opened_at"].dt.floor("D")
    out = adjusted.groupby(day).agg(["size", "mean", "var"]).rename(columns={"size": "n", "mean": "value"})
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


#: Highest autoregressive order of the null's day effects. AR(1): with each day's sampling noise taken off
#: lag 0, orders up to a week chosen by BIC overfit 91 days (6.0% false breaks at φ = 0.5 against 4.0%).
MAX_AR_ORDER = 1


def day_effect_ar(u: np.ndarray, noise: np.ndarray, max_order: int = MAX_AR_ORDER) -> tuple[np.ndarray, float]:
    """An AR(p) model of the day effects behind the daily residuals u = day effect + sampling noise (the
    noise independent, with known variances `noise`: the within-day variance over the day's contacts):
    Yule–Walker on the residuals' autocovariances with the mean noise variance taken off lag 0
    (Durbin–Levinson), p ≤ max_order by BIC, the coefficients' sum bias-corrected to first order
    ((1 + 3·sum)/T, Kendall 1954, shared equally) and kept stationary. Returns (coefficients, innovation
    variance of the day effects)."""
    u = np.asarray(u, float) - np.mean(u)
    T = len(u)
    top = int(min(max_order, max(0, (T - 10) // 4)))
    gamma = np.array([np.dot(u[:T - k], u[k:]) / T for k in range(top + 1)])
    gamma[0] = max(gamma[0] - float(np.mean(noise)), 1e-12 * max(gamma[0], 1e-300))
    best, best_bic, best_coef, best_var = 0, T * np.log(gamma[0]), np.zeros(0), gamma[0]
    coef, var = np.zeros(0), gamma[0]
    for p in range(1, top + 1):                       # Durbin–Levinson
        kappa = (gamma[p] - np.dot(coef, gamma[p - 1:0:-1])) / var
        if not -0.99 < kappa < 0.99:
            break
        coef = np.r_[coef - kappa * coef[::-1], kappa]
        var = var * (1 - kappa ** 2)
        bic = T * np.log(var) + np.log(T) * p
        if bic < best_bic or p == 1:                 # at least AR(1): a weak dependence is still there
            best, best_bic, best_coef, best_var = p, bic, coef.copy(), var
    if best == 0:
        return np.zeros(0), float(best_var)
    total = best_coef.sum()
    target = min(total + (1 + 3 * total) / T, 0.95)
    coef = best_coef + (target - total) / best
    companion = np.vstack([coef, np.eye(best)[:-1]]) if best > 1 else coef.reshape(1, 1)
    radius = np.max(np.abs(np.linalg.eigvals(companion)))
    if radius >= 0.97:                                 # keep the simulated series stationary
        coef = coef * (0.97 / radius) ** np.arange(1, best + 1)
    # the innovation variance that keeps the day effects' variance at γ(0) under the corrected coefficients
    var = float(gamma[0] - np.dot(coef, gamma[1:best + 1]))
    return coef, max(var, 0.05 * gamma[0])


def simulate_days(coef: np.ndarray, innovation_var: float, noise: np.ndarray, n_sim: int, rng,
                  burn_in: int = 100) -> np.ndarray:
    """n_sim no-break daily series: AR day effects (Gaussian innovations) plus each day's independent
    sampling noise N(0, noise_t) — a parametric bootstrap of the error model ``day_effect_ar`` fits."""
    T = len(noise)
    e = rng.standard_normal((n_sim, T + burn_in)) * np.sqrt(innovation_var)
    p = len(coef)
    out = e.copy()
    if p:
        for t in range(1, T + burn_in):
            for i in range(1, min(p, t) + 1):
                out[:, t] += coef[i - 1] * out[:, t - i]
    return out[:, burn_in:] + rng.standard_normal((n_sim, T)) * np.sqrt(noise)[None, :]


@result
class ChangePoint(AnalysisResult):
    """Change point: the best single break of a daily series, tested against serially dependent days."""

    day: pd.Timestamp        # the first day after the break
    index: int               # its position in the series
    sup_f: float
    p_value: float           # share of simulated no-break series with a larger sup-F
    before: float            # weighted means of the series before and after the break
    after: float
    n_days: int
    critical_95: float       # the null's 95% quantile of sup-F
    ar_order: int            # the null's AR order (0: independent days)
    ar_sum: float            # and the sum of its coefficients
    day_lower: pd.Timestamp  # the break date's interval
    day_upper: pd.Timestamp


@result
class PeriodChange(AnalysisResult):
    """Period change: the change a period comparison uses — a given date, the break the data show, or months."""

    daily: pd.DataFrame               # the mix-adjusted daily series (``daily_adjusted``)
    source: str                       # "given", "found" (the break, p < 0.05) or "months" (no clear break)
    day: pd.Timestamp | None          # the change day (None: months are compared)
    found: ChangePoint | None = None  # the break search (None: a date was given, or fewer than 10 days)

    @property
    def p_value(self) -> float | None:
        """The break search's p (None when there was none)."""
        return self.found.p_value if self.found is not None else None

    @property
    def candidate(self) -> pd.Timestamp | None:
        """The best break day, whether or not it is clear enough to use."""
        return self.found.day if self.found is not None else None


def change_point(daily: pd.DataFrame, n_sim: int = 2000, seed: int = 2026, trim: float = TRIM,
                 level: float = 0.95) -> ChangePoint | None:
    """The best single break of `daily["value"]` (see the module docstring). Returns day (the first day
    after the break), index, sup_f; p_value: the share of no-break series with a larger sup-F, simulated
    from an AR model of the day effects in the residuals around the overall mean (``day_effect_ar``: order
    up to MAX_AR_ORDER, each day's sampling noise `var`/`n` kept apart) so that serially dependent days
    are not taken for a break; critical_95; ar_order and ar_sum (the null's AR order and the sum of its
    coefficients: 0 for independent days); before/after (weighted means of the series);
    day_lower/day_upper: the break date's `level` interval (where the break is found again in series
    rebuilt from the fitted break plus errors simulated from an AR model of the residuals around it);
    n_days; None when there are fewer than 10 days."""
    T = len(daily)
    if T < 10:
        return None
    w = daily["n"].to_numpy(float)
    y = daily["value"].to_numpy(float)
    lo, hi = max(1, int(np.floor(trim * T))), min(T - 1, int(np.ceil((1 - trim) * T)))
    F, ks = _sup_f(y[None, :], w, lo, hi + 1)
    best = int(np.argmax(F[0]))
    k = int(ks[best])
    before, after = float(np.average(y[:k], weights=w[:k])), float(np.average(y[k:], weights=w[k:]))
    fitted = np.where(np.arange(T) < k, before, after)
    # sampling noise of each day's mean: the within-day variance over its contacts (none given: every
    # bit of day-to-day variation is treated as day effect)
    noise = (daily["var"].fillna(0).to_numpy(float) / w if "var" in daily else np.zeros(T))
    # the test: errors modelled under its null (no break), so a wandering series is not taken for a break
    coef, innovation_var = day_effect_ar(y - np.average(y, weights=w), noise)
    rng = np.random.default_rng(seed)
    F0, _ = _sup_f(simulate_days(coef, innovation_var, noise, n_sim, rng), w, lo, hi + 1)
    sup0 = F0.max(axis=1)
    # the date: errors modelled around the fitted break, added to it, and the break found again
    coef_k, innovation_var_k = day_effect_ar(y - fitted, noise)
    rebuilt = fitted[None, :] + simulate_days(coef_k, innovation_var_k, noise, n_sim, rng)
    Fb, _ = _sup_f(rebuilt, w, lo, hi + 1)
    found = ks[np.argmax(Fb, axis=1)]
    a = (1 - level) / 2
    k_lo, k_hi = np.quantile(found, [a, 1 - a], method="inverted_cdf")
    return ChangePoint(day=daily.index[k], index=k, sup_f=float(F[0, best]),
                       p_value=float((1 + np.sum(sup0 >= F[0, best])) / (1 + n_sim)),
                       before=before, after=after, n_days=T, critical_95=float(np.quantile(sup0, 0.95)),
                       ar_order=len(coef), ar_sum=float(coef.sum()),
                       day_lower=daily.index[int(k_lo)], day_upper=daily.index[int(k_hi)])


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
    raw = frame.groupby(period, observed=True)[["handle_time_sec", "came_back"]].mean()
    eta = models.repeat.predict(type="link")           # rows of the repeat model (contacts with a value)
    last = eta[(frame.loc[eta.index, period] == levels[-1]).to_numpy()].to_numpy()
    return change_rows(models, levels, raw, last, None, period, level)


def change_rows(models, levels: list, raw: pd.DataFrame, eta_last: np.ndarray | None, weights: np.ndarray | None,
                period: str = "period", level: float = 0.95, average_change=None) -> pd.DataFrame:
    """``period_changes`` from its inputs: the period `levels`, the `raw` means per period (handle_time_sec,
    came_back), the repeat model's linear predictor η of the last period's contacts (`weights`: contacts per
    value, None: one each) — or `average_change`, a function of the period coefficient giving that mean change
    in the repeat share itself (η left in SQL at scale)."""
    first, last = levels[0], levels[-1]
    ht, rep = models.handle_time, models.repeat
    col = ht.term_columns(period)[-1] if len(levels) > 1 else None
    rows = {}
    q = stats.norm.ppf(0.5 + level / 2)
    if col is None:
        return pd.DataFrame()
    L = (ht.fixef.index == col).astype(float)
    c = ht.contrast(L)
    tq = stats.t.ppf(0.5 + level / 2, c["df"])
    rows["handle_time"] = {"estimate": np.expm1(c["estimate"]), "lower": np.expm1(c["estimate"] - tq * c["std_error"]),
                           "upper": np.expm1(c["estimate"] + tq * c["std_error"]), "p_value": c["p_value"],
                           "raw_first": raw.loc[first, "handle_time_sec"], "raw_last": raw.loc[last, "handle_time_sec"]}
    b, se = rep.coef_table.loc[col, "estimate"], rep.coef_table.loc[col, "std_error"]
    eta0 = None if eta_last is None else eta_last - b  # the last period's contacts, before

    def points(beta):
        if average_change is not None:
            return float(average_change(beta))
        change = expit(eta0 + beta) - expit(eta0)
        return float(np.mean(change) if weights is None else np.average(change, weights=weights))

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
    sums = pd.DataFrame({"contacts": g.size()})
    if "handle_time_sec" in frame:
        sums["ht_n"], sums["ht_mean"] = g["handle_time_sec"].count(), g["handle_time_sec"].mean()
        sums["ht_median"], sums["ht_sd"] = g["handle_time_sec"].median(), g["handle_time_sec"].std()
    for name, col in (("repeat", "came_back"), ("marked_resolved", "marked_resolved")):
        if col in frame:
            sums[f"{name}_k"], sums[f"{name}_n"] = g[col].sum(), g[col].count()
    return monthly_from_sums(sums, level)


def monthly_from_sums(sums: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """``monthly_metrics`` from per-month contacts, ht_n, ht_mean, ht_median, ht_sd (handle time: contacts
    with a value, mean, median, SD) and <metric>_k, <metric>_n (repeat, marked_resolved: count and contacts
    with a value); a metric without its columns is left out."""
    out = pd.DataFrame({"contacts": sums["contacts"]})
    if "ht_n" in sums:
        n = sums["ht_n"]
        out["handle_time_mean"], out["handle_time_median"] = sums["ht_mean"], sums["ht_median"]
        se = sums["ht_sd"] / np.sqrt(n)
        tq = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
        out["handle_time_lower"] = out["handle_time_mean"] - tq * se
        out["handle_time_upper"] = out["handle_time_mean"] + tq * se
    for name in ("repeat", "marked_resolved"):
        if f"{name}_k" not in sums:
            continue
        k, n = sums[f"{name}_k"], sums[f"{name}_n"]
        out[f"{name}_rate"] = k / n
        lo, hi = wilson_interval(k.to_numpy(), n.to_numpy(), level)
        out[f"{name}_lower"], out[f"{name}_upper"] = lo, hi
    out.index.name = "month"
    return out
