"""Did it get better? Weekly scores with intervals, and the change between two periods split into what
the contact mix changed and what changed within the mix (Oaxaca 1973; Blinder 1973).

The trend model is the agent model with the week as a fixed effect, fitted to the replies,

    csat ~ week + policy + product + channel + issue_type + (1 | agent_id),

so the contact mix's effects β are estimated from the whole period (a pooled Oaxaca–Blinder reference
with the group indicator in the model — Fortin 2006; Jann 2008, Stata Journal 8) and the week effects γ
are the level on the same mix. For a period P (a month by default), x̄_P is the mean design row over
*all* its contacts (answered or not: the mix the operation handled) and π_P its contacts' shares of the
weeks. Expected CSAT of period P for an average agent is x̄_P'β + π_P'γ, and between the first (F) and
the last (L) period

    change = (x̄_L − x̄_F)'β          [the contact mix changed: "explained"]
           + (π_L − π_F)'γ          [within the mix: the same contacts scored differently]

with the explained part also split by mix variable. Every part is a linear contrast L'β̂ of the fit.
Intervals: percentile intervals from a parametric bootstrap of the fit (refits of data simulated from
it; conditional on the contacts handled, which are the whole population rather than a sample); the
Satterthwaite interval of the same contrast is kept beside it as a check. The decomposition assumes the
mix's effects did not change between the periods (what changed is in the within part's level); replies
are assumed ignorable given the mix and week (survey_health weighs that assumption).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

from ..data.frames import CONTACT_MIX
from ..data.model_formula import model_formula, present_mix
from ..models import lmer
from ..survey import nps, nps_by_group, nps_from_counts, wilson_interval
from .results import AnalysisResult, result

TIME = "week"


def week_of(opened: pd.Series) -> pd.Series:
    """The Monday that starts each timestamp's week, as text ('2026-06-29')."""
    return (opened.dt.floor("D") - pd.to_timedelta(opened.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")


def month_of(opened: pd.Series) -> pd.Series:
    """The month of each timestamp as text ('2026-07')."""
    return opened.dt.strftime("%Y-%m")


def is_month(text) -> bool:
    """True for a month written YYYY-MM."""
    return isinstance(text, str) and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text) is not None


def in_top_box(replies: pd.DataFrame) -> pd.Series:
    """1 for a reply in the data set's declared top box (the `top_box` column of ``data.frames.responses``,
    from ``CsatScale.top_box``), else 0."""
    return replies["top_box"].astype("boolean").fillna(False).astype(int)


def score_table(replies: pd.DataFrame, by: pd.Series, level: float = 0.95) -> pd.DataFrame:
    """Per group of `by`: replies, mean CSAT with a t interval, top-box share (CSAT in the declared top box)
    with a Wilson interval, and NPS of the replies with an NPS score with its adjusted-Wald interval."""
    data = replies.assign(_g=by.to_numpy())
    g = data.groupby("_g")["csat"]
    out = pd.DataFrame({"replies": g.size(), "csat": g.mean()})
    se = g.std() / np.sqrt(out["replies"])
    tq = stats.t.ppf(0.5 + level / 2, np.maximum(out["replies"] - 1, 1))
    out["csat_lower"], out["csat_upper"] = out["csat"] - tq * se, out["csat"] + tq * se
    top = in_top_box(data).groupby(data["_g"]).sum()
    out["top_box"] = top / out["replies"]
    lo, hi = wilson_interval(top.to_numpy(), out["replies"].to_numpy(), level)
    out["top_box_lower"], out["top_box_upper"] = lo, hi
    scored = data[data["nps"].notna()]
    if len(scored):
        n = nps_by_group(scored, "nps", "_g", level=level)
        out["nps_replies"] = n["n"].reindex(out.index).fillna(0).astype(int)
        out["nps"], out["nps_lower"], out["nps_upper"] = (n[c].reindex(out.index) for c in ("nps", "lower", "upper"))
    out.index.name = None
    return out


def score_table_from_sums(sums: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """``score_table`` from per-group sums (``data.sql.aggregates.score_sums``: replies, sum_y, sum_y2, top,
    promoters, passives, detractors): the same columns, the SD from Σy and Σy²."""
    n = sums["replies"].astype(float)
    out = pd.DataFrame({"replies": sums["replies"], "csat": sums["sum_y"] / n})
    var = (sums["sum_y2"] - n * out["csat"] ** 2) / (n - 1)
    se = np.sqrt(var.clip(lower=0)) / np.sqrt(n)
    tq = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
    out["csat_lower"], out["csat_upper"] = out["csat"] - tq * se, out["csat"] + tq * se
    out["top_box"] = sums["top"] / n
    lo, hi = wilson_interval(sums["top"].to_numpy(), sums["replies"].to_numpy(), level)
    out["top_box_lower"], out["top_box_upper"] = lo, hi
    answered = sums[["promoters", "passives", "detractors"]].sum(axis=1)
    if answered.sum() > 0:
        scored = nps_from_counts(sums[answered > 0], level=level)
        out["nps_replies"] = scored["n"].reindex(out.index).fillna(0).astype(int)
        out["nps"], out["nps_lower"], out["nps_upper"] = (scored[c].reindex(out.index) for c in ("nps", "lower",
                                                                                               "upper"))
    out.index.name = None
    return out


def period_scores_from_sums(sums: pd.DataFrame, first: str, last: str, level: float = 0.95) -> pd.DataFrame:
    """``period_scores`` from per-month sums (``score_table_from_sums``'s input, one row per month)."""
    table = score_table_from_sums(sums.loc[[first, last]], level)
    q = stats.norm.ppf(0.5 + level / 2)
    a, b = sums.loc[first], sums.loc[last]

    def mean_var(s):
        n = float(s["replies"])
        m = s["sum_y"] / n
        return m, (s["sum_y2"] - n * m * m) / (n - 1), n

    (ma, va, na), (mb, vb, nb) = mean_var(a), mean_var(b)
    d_csat = mb - ma
    se_csat = np.sqrt(vb / nb + va / na)
    pa, pb = a["top"] / na, b["top"] / nb
    se_top = np.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
    change = {"replies": np.nan, "csat": d_csat, "csat_lower": d_csat - q * se_csat, "csat_upper": d_csat + q * se_csat,
              "top_box": pb - pa, "top_box_lower": pb - pa - q * se_top, "top_box_upper": pb - pa + q * se_top}
    cats = ["promoters", "passives", "detractors"]
    if a[cats].sum() > 0 and b[cats].sum() > 0:
        est = nps_from_counts(sums.loc[[first, last], cats])
        d_nps = est.loc[last, "nps"] - est.loc[first, "nps"]
        se_nps = np.sqrt(est.loc[first, "se"] ** 2 + est.loc[last, "se"] ** 2)
        change.update({"nps": d_nps, "nps_lower": d_nps - q * se_nps, "nps_upper": d_nps + q * se_nps})
    table.loc["change"] = pd.Series(change)
    table.index.name = "period"
    return table


def period_scores(replies: pd.DataFrame, first: str, last: str, level: float = 0.95) -> pd.DataFrame:
    """The replies' raw scores in the first and last period and the change, each with an interval (the
    change: Welch for CSAT, Wald for the top-box share and for NPS with the trinomial SEs)."""
    month = month_of(replies["opened_at"])
    table = score_table(replies[month.isin([first, last])], month[month.isin([first, last])], level).loc[[first, last]]
    q = stats.norm.ppf(0.5 + level / 2)
    a, b = (replies[month == p] for p in (first, last))
    d_csat = b["csat"].mean() - a["csat"].mean()
    se_csat = np.sqrt(b["csat"].var() / len(b) + a["csat"].var() / len(a))
    pa, pb = in_top_box(a).mean(), in_top_box(b).mean()
    se_top = np.sqrt(pa * (1 - pa) / len(a) + pb * (1 - pb) / len(b))
    change = {"replies": np.nan, "csat": d_csat, "csat_lower": d_csat - q * se_csat, "csat_upper": d_csat + q * se_csat,
              "top_box": pb - pa, "top_box_lower": pb - pa - q * se_top, "top_box_upper": pb - pa + q * se_top}
    if a["nps"].notna().any() and b["nps"].notna().any():
        na, nb = nps(a["nps"].dropna()), nps(b["nps"].dropna())
        se_nps = np.sqrt(na.se ** 2 + nb.se ** 2)
        change.update({"nps": nb.nps - na.nps, "nps_lower": nb.nps - na.nps - q * se_nps,
                       "nps_upper": nb.nps - na.nps + q * se_nps})
    table.loc["change"] = pd.Series(change)
    table.index.name = "period"
    return table


def fit_trend_model(replies: pd.DataFrame, mix=CONTACT_MIX):
    """The trend model (module docstring) on the replies; `week` is added from `opened_at`."""
    data = replies.assign(**{TIME: week_of(replies["opened_at"])})
    return lmer(model_formula("csat", [TIME, *present_mix(data, mix)]), data)


def level_counts(contacts: pd.DataFrame, variables) -> dict:
    """Contacts per level (as text) of each variable: what ``mean_row`` needs of the contacts."""
    return {v: contacts[v].astype(str).value_counts() for v in variables}


def mean_row(fit, contacts: pd.DataFrame | dict, variables) -> np.ndarray:
    """x̄: the mean design row of `contacts` (the rows, or their ``level_counts``) for the fit's main-effect
    factors `variables` (shares of their levels among the contacts; levels the fit does not know are left
    out), intercept 1."""
    counts = contacts if isinstance(contacts, dict) else level_counts(contacts, variables)
    row = pd.Series(0.0, index=fit.fixef.index)
    if "(Intercept)" in row.index:
        row["(Intercept)"] = 1.0
    for v in variables:
        levels = fit.factor_levels(v)
        shares = counts[v].reindex(levels).fillna(0.0)
        if shares.sum() == 0:
            continue
        L = fit.level_contrast_matrix(v, shares)
        row -= L.iloc[0]                   # the reference row is −(Σ_l w_l e_l): minus it is the average
    return row.to_numpy()


def period_counts(contacts: pd.DataFrame, month: str, mix=CONTACT_MIX) -> dict:
    """``level_counts`` of the week and the mix variables among the contacts opened in `month`."""
    c = contacts[month_of(contacts["opened_at"]) == month]
    c = c.assign(**{TIME: week_of(c["opened_at"])})
    return level_counts(c, [TIME, *[m for m in mix if m in c]])


@result
class Decomposition(AnalysisResult):
    """Oaxaca–Blinder decomposition of the change in expected CSAT between two months."""

    table: pd.DataFrame    # per part: estimate, lower, upper, satterthwaite_lower/upper, p_value
    first: str             # the months compared (YYYY-MM)
    last: str
    n_boot: int            # bootstrap replicates behind lower/upper


def oaxaca(fit, boot, contacts: pd.DataFrame | None, first: str, last: str, mix=CONTACT_MIX,
           level: float = 0.95, counts: tuple[dict, dict] | None = None) -> Decomposition:
    """The decomposition of the change in expected CSAT from period `first` to `last` (months of
    `opened_at`; module docstring), from the contacts or `counts` (``period_counts`` of the two months).
    Rows: first_level, last_level, change, mix (explained), one row per mix variable (`mix: <variable>`),
    within. Columns: estimate, lower, upper (bootstrap percentile), satterthwaite_lower/upper, p_value
    (Satterthwaite)."""
    a, b = counts or (period_counts(contacts, first, mix), period_counts(contacts, last, mix))
    mix = [m for m in mix if m in fit.fixed_terms]
    names = list(fit.fixef.index)

    def only(row, variables):
        keep = np.zeros(len(names), bool)
        for v in variables:
            keep |= np.isin(names, fit.term_columns(v))
        return np.where(keep, row, 0.0)

    xa, xb = mean_row(fit, a, [TIME, *mix]), mean_row(fit, b, [TIME, *mix])
    rows = {"first_level": xa, "last_level": xb, "change": xb - xa, "mix": only(xb - xa, mix)}
    for v in mix:
        rows[f"mix: {v}"] = only(xb - xa, [v])
    rows["within"] = only(xb - xa, [TIME])
    draws = boot.fixef()[names].to_numpy()
    al = (1 - level) / 2
    out = {}
    for name, L in rows.items():
        s = fit.contrast(L)
        tq = stats.t.ppf(0.5 + level / 2, s["df"])
        d = draws @ L
        out[name] = {"estimate": s["estimate"], "lower": np.quantile(d, al), "upper": np.quantile(d, 1 - al),
                     "satterthwaite_lower": s["estimate"] - tq * s["std_error"],
                     "satterthwaite_upper": s["estimate"] + tq * s["std_error"], "p_value": s["p_value"]}
    table = pd.DataFrame.from_dict(out, orient="index")
    table.index.name = "part"
    return Decomposition(table, first=first, last=last, n_boot=int(len(draws)))


def share_changes(contacts: pd.DataFrame | None, first: str, last: str, mix=CONTACT_MIX,
                  counts: tuple[dict, dict] | None = None) -> pd.DataFrame:
    """Each mix level's share of all contacts in the first and the last period and the change (from the
    contacts or `counts`, ``period_counts`` of the two months)."""
    ca, cb = counts or (period_counts(contacts, first, mix), period_counts(contacts, last, mix))
    rows = []
    for v in mix:
        if v not in ca:
            continue
        a, b = ca[v] / ca[v].sum(), cb[v] / cb[v].sum()
        for lvl in sorted(set(a.index) | set(b.index)):
            rows.append({"variable": v, "level": lvl, "share_first": a.get(lvl, 0.0), "share_last": b.get(lvl, 0.0)})
    out = pd.DataFrame(rows)
    out["change"] = out["share_last"] - out["share_first"]
    return out.set_index(["variable", "level"])


def within_mix_weeks(fit, boot, contacts: pd.DataFrame | None, first: str, mix=CONTACT_MIX,
                     level: float = 0.95, counts: dict | None = None) -> pd.DataFrame:
    """Per week: expected CSAT of the first period's contact mix (x̄_F with that week's effect) — the
    weekly level on an unchanged mix — with bootstrap percentile intervals (`counts`: ``period_counts``
    of the first month, instead of the contacts)."""
    mix = [m for m in mix if m in fit.fixed_terms]
    base = mean_row(fit, counts or period_counts(contacts, first, mix), mix)
    names = list(fit.fixef.index)
    draws = boot.fixef()[names].to_numpy()
    al = (1 - level) / 2
    rows = {}
    weeks = fit.factor_levels(TIME)
    columns = dict(zip(weeks[1:], [f"{TIME}{w}" for w in weeks[1:]]))
    for w in weeks:
        L = base.copy()
        if w in columns and columns[w] in names:
            L[names.index(columns[w])] = 1.0
        elif w in columns:
            continue
        d = draws @ L
        rows[w] = {"expected_first_mix": float(L @ fit.fixef.to_numpy()), "lower": np.quantile(d, al),
                   "upper": np.quantile(d, 1 - al)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = TIME
    return out
