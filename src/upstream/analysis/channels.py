"""Channels side by side: what each handles, how fast, how well, who answers — raw and adjusted.

Times, from the contact's own fields (the data hold no first-response time stamp):

- resolution time = closed_at − opened_at: calendar time from opening to closing, queue and customer
  waiting included (hours);
- handle time = handle_time_sec: the agent's work on the contact, wrap-up included (minutes);
- first-response bound = max(0, resolution time − handle time): the time the contact was open with no
  agent working on it. Every minute of handle time falls after the first response, so the time to
  first response is at most this (hours); it equals it when the agent worked in one stretch at the end.

Each is summarised by its median with a distribution-free interval (binomial order statistics), volume
by contacts per calendar day with a t interval over the days of the period, CSAT by its mean (t
interval; on a good/bad scale the share of good ratings, Wilson interval), NPS with the adjusted-Wald
interval (Rocks 2016), rates (first-contact resolution, escalation, repeat within 7 days, survey
response) with Wilson intervals among the contacts that record them. These intervals treat contacts as
independent draws; the adjusted comparisons below hold the agent fixed instead. A column the data set
does not record (handle time, escalation, NPS ...) leaves its numbers empty.

Adjusted channel differences (channel against the average contact of the period, with policy, product
and issue type held fixed and the agent as a random effect) come from ``policies`` for CSAT, ``margins``
for NPS and ``latent`` for the rates; raw differences sit next to them (``margins.raw_differences``).
Where response rates differ by channel, `response_comparison` shows what that does to the CSAT
comparison: the inverse-propensity-weighted mean next to the raw one, and the tipping point δ — how
much lower (or higher) a channel's non-respondents (every contact without a reply, invited or not) would
have to score than the model predicts for them for the channel's adjusted difference to lose its
family-wise significance.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..data.frames import isin_text
from ..survey import nps_by_group, wilson_interval
from .margins import nps_points, raw_differences
from .results import AnalysisResult, result

RATES = {"fcr": "resolved_first_contact", "escalation": "escalated", "repeat": "repeat_within_7d"}


def median_interval(x, level: float = 0.95) -> tuple[float, float, float]:
    """(median, lower, upper): the distribution-free interval between order statistics x_(j) and
    x_(n−j+1), j the largest rank with P(Bin(n, ½) < j) ≤ (1 − level)/2 (coverage ≥ level)."""
    v = np.sort(np.asarray(x, dtype=float)[~np.isnan(np.asarray(x, dtype=float))])
    n = len(v)
    if n == 0:
        return (np.nan, np.nan, np.nan)
    j = order_statistic_rank(n, level)
    return float(np.median(v)), float(v[j - 1]), float(v[n - j])


def order_statistic_rank(n: int, level: float = 0.95) -> int:
    """j of ``median_interval``: the interval of n sorted values runs from the j-th to the (n − j + 1)-th."""
    return max(int(stats.binom.ppf((1 - level) / 2, n, 0.5)), 1)


def contact_times(contacts: pd.DataFrame) -> pd.DataFrame:
    """resolution_hours, handle_minutes and first_response_bound_hours per contact (see the module); the
    last two are empty where the handle time is not recorded."""
    elapsed = (contacts["closed_at"] - contacts["opened_at"]).dt.total_seconds()
    handle = (contacts["handle_time_sec"].astype(float) if "handle_time_sec" in contacts
              else pd.Series(np.nan, index=contacts.index))
    return pd.DataFrame({"resolution_hours": elapsed / 3600, "handle_minutes": handle / 60,
                         "first_response_bound_hours": (elapsed - handle).clip(lower=0) / 3600,
                         "handle_exceeds_elapsed": handle > elapsed}, index=contacts.index)


def mean_interval(y: pd.Series, level: float) -> tuple[float, float, float]:
    """(mean, lower, upper) of `y` (missing values left out) with its t interval; NaN ends below 2 values."""
    y = y.dropna().astype(float)
    if len(y) < 2:
        return (float(y.mean()) if len(y) else np.nan, np.nan, np.nan)
    half = stats.t.ppf(0.5 + level / 2, len(y) - 1) * y.std(ddof=1) / np.sqrt(len(y))
    return float(y.mean()), float(y.mean() - half), float(y.mean() + half)


def _daily(opened: pd.Series, days: pd.DatetimeIndex, level: float) -> tuple[float, float, float]:
    counts = opened.dt.floor("D").value_counts().reindex(days, fill_value=0)
    return mean_interval(counts, level)


@result
class ChannelSummary(AnalysisResult):
    """Channel summary: each channel's volume, speed, scores and outcomes with their intervals."""

    table: pd.DataFrame             # one row per channel (see ``channel_summary``)
    handle_exceeds_elapsed: int     # contacts whose handle time exceeds the time from opening to closing
    csat_measure: str               # "mean" (CSAT column: mean score) or "share good" (share of good ratings)


def channel_summary(contacts: pd.DataFrame, inv: pd.DataFrame, variable: str = "channel",
                    level: float = 0.95, good: tuple | None = None) -> ChannelSummary:
    """One row per channel (see the module docstring for what each number is): contacts, share,
    per_day (+ lower/upper), resolution_hours, first_response_bound_hours, handle_minutes (medians +
    lower/upper), replies and csat (+ lower/upper), nps_replies and nps (+ lower/upper), fcr,
    escalation, repeat (rates among the contacts that record them + Wilson lower/upper), invitations and
    response_rate (+ Wilson lower/upper). `good`: the CSAT codes of a good rating on a good/bad scale —
    then csat is the share of good ratings. Also: handle_exceeds_elapsed (contacts whose handle time
    exceeds the time from opening to closing; their first-response bound is 0) and csat_measure."""
    times = contact_times(contacts)
    days = pd.date_range(contacts["opened_at"].min().floor("D"), contacts["opened_at"].max().floor("D"), freq="D")
    groups = contacts[variable].astype(str)
    rows = {}
    for lab, part in contacts.groupby(groups, sort=True):
        row = {"contacts": len(part), "share": len(part) / len(contacts)}
        row["per_day"], row["per_day_lower"], row["per_day_upper"] = _daily(part["opened_at"], days, level)
        for col in ("resolution_hours", "first_response_bound_hours", "handle_minutes"):
            row[col], row[f"{col}_lower"], row[f"{col}_upper"] = median_interval(times.loc[part.index, col], level)
        for name, col in RATES.items():
            known = part[col].dropna() if col in part else part.iloc[:0, :0]
            if len(known) == 0:
                row[name] = row[f"{name}_lower"] = row[f"{name}_upper"] = np.nan
                continue
            k = int(known.astype(bool).sum())
            lo, hi = wilson_interval(k, len(known), level)
            row[name], row[f"{name}_lower"], row[f"{name}_upper"] = k / len(known), float(lo), float(hi)
        rows[lab] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    inv_groups = inv[variable].astype(str)
    answered = inv[inv["responded"] & inv["csat"].notna()]
    if good is None:
        csat = {lab: mean_interval(g["csat"], level) for lab, g in answered.groupby(answered[variable].astype(str))}
    else:
        csat = {}
        for lab, g in answered.groupby(answered[variable].astype(str)):
            k = int(g["csat"].isin(good).sum())
            lo, hi = wilson_interval(k, len(g), level)
            csat[lab] = (k / len(g), float(lo), float(hi))
    out["replies"] = answered[variable].astype(str).value_counts().reindex(out.index).fillna(0).astype(int)
    for j, suffix in enumerate(("", "_lower", "_upper")):
        out[f"csat{suffix}"] = [csat.get(lab, (np.nan,) * 3)[j] for lab in out.index]
    scored = inv[inv["responded"] & inv["nps"].notna()]
    if len(scored):
        nps = nps_by_group(scored.assign(**{variable: scored[variable].astype(str)}), "nps", variable, level=level)
    else:
        nps = pd.DataFrame(columns=["n", "nps", "lower", "upper"], dtype=float)
    out["nps_replies"] = nps["n"].reindex(out.index).fillna(0).astype(int)
    out["nps"], out["nps_lower"], out["nps_upper"] = (nps[c].reindex(out.index) for c in ("nps", "lower", "upper"))
    invited = inv_groups.value_counts().reindex(out.index).fillna(0).astype(int)
    replied = inv.loc[inv["responded"], variable].astype(str).value_counts().reindex(out.index).fillna(0).astype(int)
    lo, hi = wilson_interval(replied.to_numpy(), invited.to_numpy(), level)
    out["invitations"], out["responses"] = invited, replied
    out["response_rate"] = replied / invited.where(invited > 0)
    out["response_rate_lower"], out["response_rate_upper"] = lo, hi
    out.index.name = variable
    return ChannelSummary(out, handle_exceeds_elapsed=int(times["handle_exceeds_elapsed"].sum()),
                          csat_measure="mean" if good is None else "share good")


def channel_differences(contacts: pd.DataFrame, inv: pd.DataFrame, adjusted: dict[str, pd.DataFrame],
                        variable: str = "channel", level: float = 0.95, good: tuple | None = None) -> pd.DataFrame:
    """Long table, one row per (metric, channel): raw difference from all contacts (replies for CSAT
    and NPS) with its interval, next to the adjusted effect against the average contact with its 95%
    and family-wise intervals and Holm p. `adjusted` maps metric → a ``policies.level_effects`` (csat,
    score points), ``margins.nps_level_effects`` (NPS points) or ``latent.level_effects`` table (rates
    in probability, shown here in percentage points). `good`: on a good/bad scale, the codes of a good
    rating — CSAT is then the share of good ratings, also in percentage points."""
    answered = inv[inv["responded"]]
    csat = answered["csat"] if good is None else answered["csat"].isin(good).astype(float).where(
        answered["csat"].notna())
    raw_inputs = {"csat": (csat, answered[variable]), "nps": (nps_points(answered["nps"]), answered[variable])}
    raw_inputs.update({m: (contacts[c].astype(float), contacts[variable]) for m, c in RATES.items() if c in contacts})
    raw = {metric: raw_differences(*raw_inputs[metric], level) for metric in adjusted}
    return combine_differences(raw, adjusted, variable, good)


def combine_differences(raw: dict[str, pd.DataFrame], adjusted: dict[str, pd.DataFrame], variable: str = "channel",
                        good: tuple | None = None) -> pd.DataFrame:
    """``channel_differences`` from each metric's raw differences (``margins.raw_differences``, or the same
    from sums) and its adjusted effects."""
    units = {"csat": "CSAT points" if good is None else "percentage points", "nps": "NPS points"}
    parts = []
    for metric, table in adjusted.items():
        scale = 100.0 if metric in RATES or (metric == "csat" and good is not None) else 1.0
        adj = table[["effect", "lower", "upper", "lower_adj", "upper_adj", "p_holm"]].copy()
        adj[["effect", "lower", "upper", "lower_adj", "upper_adj"]] *= scale
        both = raw[metric][["raw", "raw_lower", "raw_upper"]].mul(scale).join(adj, how="outer")
        both.insert(0, "unit", units.get(metric, "percentage points"))
        both.insert(0, "metric", metric)
        both.index.name = variable
        parts.append(both.reset_index())
    return pd.concat(parts, ignore_index=True).set_index(["metric", variable])


@result
class ResponseComparison(AnalysisResult):
    """Who answers by channel: reply shares, weighting and the tipping point of each channel's CSAT effect."""

    table: pd.DataFrame     # per channel (see ``response_comparison``)
    chi2_p: float           # χ² test that response rates (per invitation) are equal across channels (NaN: not testable)


def response_comparison(contacts: pd.DataFrame, inv: pd.DataFrame, weights: pd.Series, csat_effects: pd.DataFrame,
                        variable: str = "channel", level: float = 0.95) -> ResponseComparison:
    """Per channel: reply_share (contacts with a CSAT reply, per contact: contacts never invited have no
    reply either, as in ``nonresponse.tipping_point``), csat and csat_weighted (replies' mean, unweighted
    and inverse-propensity weighted), weighting_shift, the adjusted CSAT effect (against the average
    contact of the period) and tipping_delta: for a channel whose family-wise interval excludes 0, the
    shift of its non-respondents' mean (against what the model predicts for them) at which the interval
    reaches 0 — −bound/(1 − reply_share), bound the interval end nearest 0; the channel's effect over all
    its contacts is effect + (1 − reply_share)·δ. With chi2_p, the χ² test that response rates (per
    invitation) are equal across channels."""
    groups = inv[variable].astype(str)
    answered = inv.loc[inv["responded"] & inv["csat"].notna(), "contact_id"].unique()
    share = isin_text(contacts["contact_id"], answered).groupby(contacts[variable].astype(str)).mean()
    replies = inv.loc[weights.index.intersection(inv.index)]
    replies = replies[replies["csat"].notna()]
    w = weights.loc[replies.index]
    g = replies[variable].astype(str)
    y = replies["csat"].astype(float)
    return comparison_from_parts(share, y.groupby(g).mean(), (y * w).groupby(g).sum() / w.groupby(g).sum(),
                                 csat_effects, pd.crosstab(groups, inv["responded"]), variable)


def comparison_from_parts(reply_share: pd.Series, csat: pd.Series, csat_weighted: pd.Series,
                          csat_effects: pd.DataFrame, responded: pd.DataFrame,
                          variable: str = "channel") -> ResponseComparison:
    """``response_comparison`` from its parts per channel: the reply share, the replies' mean CSAT unweighted and
    weighted, the adjusted CSAT effects and `responded` (invitations per channel × responded, as a crosstab)."""
    out = pd.DataFrame({"reply_share": reply_share, "csat": csat, "csat_weighted": csat_weighted})
    out["weighting_shift"] = out["csat_weighted"] - out["csat"]
    eff = csat_effects.reindex(out.index)
    out["effect"], out["lower_adj"], out["upper_adj"] = eff["effect"], eff["lower_adj"], eff["upper_adj"]
    bound = np.where(eff["upper_adj"] < 0, eff["upper_adj"], np.where(eff["lower_adj"] > 0, eff["lower_adj"], np.nan))
    out["tipping_delta"] = -bound / (1 - out["reply_share"].to_numpy())
    out.index.name = variable
    table = responded
    chi2_p = float(stats.chi2_contingency(table.to_numpy())[1]) if table.shape == (len(out), 2) else np.nan
    return ResponseComparison(out, chi2_p=chi2_p)
