"""The channel summary and the raw channel differences from SQL aggregates (``upstream.data.sql.channels``):
the same numbers as ``channels.channel_summary`` and the raw columns of ``channels.channel_differences``,
from a few sums per channel instead of the rows.

- volume: contacts per channel and calendar day (days without contacts count 0), the t interval over the days;
- medians of the contact times and their distribution-free intervals: the known times ranked within each
  channel in SQL and only the order statistics the interval needs (ranks j, n − j + 1 and the middle one
  or two, ``channels.order_statistic_rank``) fetched;
- CSAT mean and its t interval from n, Σy, Σy² (or, on a good/bad scale, the share of good ratings with its
  Wilson interval); NPS from promoter, passive and detractor counts (``nps_from_counts``); rates and the
  response rate from counts (Wilson);
- raw differences (``margins.raw_differences``) from per-channel n, Σy and Σy² of each metric: CSAT per reply,
  NPS points (±100, 0) per NPS answer, a rate's 0/1 per contact that records it.
"""
from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
from scipy import stats

from ..data.model_formula import complete_varying
from ..data.sql import channels as sql
from ..survey import wilson_interval
from ..survey.nps import nps_from_counts
from .channels import (
    RATES,
    ChannelSummary,
    ResponseComparison,
    comparison_from_parts,
    mean_interval,
    order_statistic_rank,
)
from .nonresponse import RESPONSE_FEATURES
from .screen import cell_probabilities

#: Answers already asked of a data set (its tables do not change under it): the summary, the raw differences and
#: the response comparison share one pass for the per-channel contact sums and one for the survey sums.
_ASKED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def asked_once(ds, key: tuple, ask) -> pd.DataFrame:
    """A copy of `ask()`'s frame for `ds` and `key`, asked of the engine once per data set."""
    answers = _ASKED.setdefault(ds, {})
    if key not in answers:
        answers[key] = ask()
    return answers[key].copy()


def contact_sums(ds, variable: str) -> pd.DataFrame:
    """``data.sql.channels.contact_sums`` of every rate the contacts record (asked once per data set)."""
    rates = rate_columns(ds)
    return asked_once(ds, ("contact_sums", variable, tuple(rates.items())),
                      lambda: sql.contact_sums(ds, variable, rates))


def mean_interval_from_sums(n: float, s: float, s2: float, level: float = 0.95) -> tuple[float, float, float]:
    """``channels.mean_interval`` from n, Σy and Σy²."""
    if n < 2:
        return (s / n if n else np.nan, np.nan, np.nan)
    mean = s / n
    sd = np.sqrt(max(s2 - s * s / n, 0.0) / (n - 1))
    half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n)
    return float(mean), float(mean - half), float(mean + half)


def median_intervals(ds, variable: str, time: str, known: pd.Series, level: float) -> pd.DataFrame:
    """Per level: the median of `time` and its distribution-free interval (``channels.median_interval``) from
    the order statistics fetched in SQL; `known`: the contacts whose time is known, per level."""
    wanted, spec = [], {}
    for lab, n in known.items():
        if n == 0:
            continue
        j = order_statistic_rank(int(n), level)
        middle = (n // 2, n // 2 + 1) if n % 2 == 0 else ((n + 1) // 2,)
        spec[lab] = (j, int(n) - j + 1, middle)
        wanted += [(lab, k) for k in {j, int(n) - j + 1, *middle}]
    rows = {}
    if wanted:
        got = sql.ranked_values(ds, variable, time, pd.DataFrame(wanted, columns=["lvl", "k"]))
        value = {(str(a), int(k)): float(x) for a, k, x in got[["lvl", "k", "x"]].itertuples(index=False)}
        for lab, (lo, hi, middle) in spec.items():
            rows[lab] = (float(np.mean([value[(lab, k)] for k in middle])), value[(lab, lo)], value[(lab, hi)])
    out = pd.DataFrame.from_dict(rows, orient="index", columns=[time, f"{time}_lower", f"{time}_upper"])
    return out.reindex(known.index)


def daily_volume(ds, variable: str, levels, level: float) -> pd.DataFrame:
    """Per level: contacts per calendar day of the period with its t interval (days without contacts count 0)."""
    counts = sql.daily_counts(ds, variable)
    first, last = ds.period()
    days = pd.date_range(pd.Timestamp(first).floor("D"), pd.Timestamp(last).floor("D"), freq="D").strftime("%Y-%m-%d")
    rows = {}
    for lab in levels:
        part = counts[counts["lvl"].astype(str) == lab]
        per_day = pd.Series(part["n"].to_numpy(float), index=part["day"].astype(str)).reindex(days, fill_value=0)
        rows[lab] = mean_interval(per_day, level)
    return pd.DataFrame.from_dict(rows, orient="index", columns=["per_day", "per_day_lower", "per_day_upper"])


def _with_wilson(k, n, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k, n = np.asarray(k, float), np.asarray(n, float)
    lo, hi = wilson_interval(k.astype(int), n.astype(int), level)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
    return rate, np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def rate_columns(ds) -> dict[str, str]:
    """The RATES the data set's contacts record (name → column)."""
    return {name: col for name, col in RATES.items() if col in ds.columns["contacts"]}


def channel_summary_from_sql(ds, variable: str = "channel", level: float = 0.95,
                             good: tuple | None = None) -> ChannelSummary:
    """``channels.channel_summary`` of a SQL data set, from the aggregates of ``data.sql.channels``."""
    rates = rate_columns(ds)
    sums = contact_sums(ds, variable)
    out = pd.DataFrame({"contacts": sums["contacts"], "share": sums["contacts"] / sums["contacts"].sum()})
    out = out.join(daily_volume(ds, variable, out.index, level))
    for time in sql.TIME_COLUMNS:
        if f"{time}_n" in sums:
            out = out.join(median_intervals(ds, variable, time, sums[f"{time}_n"], level))
        else:
            out[[time, f"{time}_lower", f"{time}_upper"]] = np.nan
    for name in RATES:
        if name in rates:
            out[name], out[f"{name}_lower"], out[f"{name}_upper"] = _with_wilson(sums[f"{name}_k"], sums[f"{name}_n"],
                                                                                 level)
        else:
            out[[name, f"{name}_lower", f"{name}_upper"]] = np.nan
    surveys = survey_sums(ds, variable, good).reindex(out.index)
    out["replies"] = surveys["replies"].fillna(0).astype(int)
    if good is None:
        csat = [mean_interval_from_sums(*r) if r[0] > 0 else (np.nan,) * 3
                for r in surveys[["replies", "csat_sum", "csat_sum2"]].fillna(0).to_numpy(float)]
        out["csat"], out["csat_lower"], out["csat_upper"] = np.array(csat, float).reshape(-1, 3).T
    else:
        out["csat"], out["csat_lower"], out["csat_upper"] = _with_wilson(surveys["csat_good"].fillna(0),
                                                                         out["replies"], level)
    scored = surveys[["promoters", "passives", "detractors"]].fillna(0)
    scored = scored[scored.sum(axis=1) > 0]
    nps = (nps_from_counts(scored, level) if len(scored)
           else pd.DataFrame(columns=["n", "nps", "lower", "upper"], dtype=float))
    out["nps_replies"] = nps["n"].reindex(out.index).fillna(0).astype(int)
    out["nps"], out["nps_lower"], out["nps_upper"] = (nps[c].reindex(out.index) for c in ("nps", "lower", "upper"))
    invited = surveys["invitations"].fillna(0).astype(int)
    replied = surveys["responses"].fillna(0).astype(int)
    lo, hi = wilson_interval(replied.to_numpy(), invited.to_numpy(), level)
    out["invitations"], out["responses"] = invited, replied
    out["response_rate"] = replied / invited.where(invited > 0)
    out["response_rate_lower"], out["response_rate_upper"] = lo, hi
    out.index.name = variable
    return ChannelSummary(out, handle_exceeds_elapsed=int(sums["handle_exceeds_elapsed"].sum()),
                          csat_measure="mean" if good is None else "share good")


def survey_sums(ds, variable: str, good: tuple | None) -> pd.DataFrame:
    """``data.sql.channels.survey_sums`` with the good ratings `good` (codes) as a condition."""
    good_sql = f"s.{ds.engine.dialect.ident('csat')} IN ({', '.join(str(int(g)) for g in good)})" if good else None
    return asked_once(ds, ("survey_sums", variable, good_sql), lambda: sql.survey_sums(ds, variable, good_sql))


def raw_from_sums(n: pd.Series, s: pd.Series, s2: pd.Series, level: float = 0.95) -> pd.DataFrame:
    """``margins.raw_differences`` from per-group n, Σy and Σy² (groups with n = 0 left out)."""
    keep = n > 0
    n, s, s2 = n[keep].astype(float), s[keep].astype(float), s2[keep].astype(float)
    N, S, S2 = n.sum(), s.sum(), s2.sum()
    q = stats.norm.ppf(0.5 + level / 2)

    def var(m, a, b):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(m > 1, (b - a * a / np.where(m > 0, m, 1)) / np.where(m > 1, m - 1, 1), np.nan)
    rest_n = N - n
    rest = np.where(rest_n > 1, var(rest_n, S - s, S2 - s2) / np.where(rest_n > 1, rest_n, 1), 0.0)
    w = n / N
    se = (1 - w) * np.sqrt(var(n, s, s2) / n + rest)
    d = s / n - S / N
    return pd.DataFrame({"n": n.astype(int), "mean": s / n, "raw": d, "raw_lower": d - q * se, "raw_upper": d + q * se})


def raw_differences_from_sql(ds, variable: str, metrics, good: tuple | None = None,
                             level: float = 0.95) -> dict[str, pd.DataFrame]:
    """Per metric of `metrics` (csat, nps, a RATES name): ``margins.raw_differences`` per level of `variable`."""
    sums = contact_sums(ds, variable)
    surveys = survey_sums(ds, variable, good)
    out = {}
    for metric in metrics:
        if metric == "csat":
            n = surveys["replies"]
            s = surveys["csat_sum"] if good is None else surveys["csat_good"]
            s2 = surveys["csat_sum2"] if good is None else surveys["csat_good"]
        elif metric == "nps":
            P, D = surveys["promoters"], surveys["detractors"]
            n, s, s2 = P + surveys["passives"] + D, 100.0 * (P - D), 10000.0 * (P + D)
        else:
            n, s, s2 = sums[f"{metric}_n"], sums[f"{metric}_k"], sums[f"{metric}_k"]
        out[metric] = raw_from_sums(n, s, s2, level)
    return out


def response_comparison_from_sql(ds, csat_effects: pd.DataFrame, variable: str = "channel",
                                 good: tuple | None = None) -> ResponseComparison:
    """``channels.response_comparison`` from invitations counted per channel × feature cell: the propensity
    model (``nonresponse.fit_response_model``: a logistic GLM of answering on the contact features that vary and
    are never missing) fitted on the cells has the row fit's estimates (``screen.cell_probabilities``), and a
    reply's weight 1/p̂ is its cell's, so Σw and Σwy per channel are sums over cells."""
    good_sql = f"s.{ds.engine.dialect.ident('csat')} IN ({', '.join(str(int(g)) for g in good)})" if good else None
    have = set(ds.columns["contacts"]) | ({"credited"} if "credit_issued" in ds.columns["contacts"] else set())
    cells = sql.response_cells(ds, variable, [f for f in RESPONSE_FEATURES if f in have], good_sql)
    features = complete_varying(cells, [f for f in RESPONSE_FEATURES if f in cells])
    coarse = cells.groupby(features, sort=True)[["n", "o"]].sum().reset_index() if features else cells
    coarse = coarse.assign(p=cell_probabilities(coarse, features))
    p = cells[features].merge(coarse[features + ["p"]], on=features, how="left")["p"].to_numpy() if features \
        else coarse["p"].to_numpy()[:1].repeat(len(cells))
    by = cells.assign(w=cells["scored"] / p, wy=cells["y_sum"] / p).groupby(variable)
    sums = by[["n", "o", "scored", "y_sum", "w", "wy"]].sum()
    contacts = contact_sums(ds, variable)["contacts"]
    share = (sums["scored"].reindex(contacts.index).fillna(0) / contacts)
    scored = sums[sums["scored"] > 0]
    responded = pd.DataFrame({False: sums["n"] - sums["o"], True: sums["o"]})
    responded = responded.loc[:, responded.sum() > 0]
    return comparison_from_parts(share, scored["y_sum"] / scored["scored"], scored["wy"] / scored["w"], csat_effects,
                                 responded, variable)
