"""Key findings of the channel_audit study. Each sentence is computed from the study's tables
(channel_summary, channel_differences, channel_response) and states only what its condition supports."""
from __future__ import annotations

import pandas as pd

from ...analysis.channels import ResponseComparison
from ...reporting.sentences.common import POINTS, Units, listing, p_text, pct, pct_interval

METRIC_LABELS = {"csat": "CSAT", "nps": "NPS", "fcr": "first-contact resolution", "escalation": "escalation",
                 "repeat": "repeat contacts within 7 days"}


def duration(hours: float) -> str:
    """'4.2 hours', '12 minutes', '45 seconds' — the unit that keeps the number readable."""
    if hours >= 1:
        return f"{hours:.1f} hours"
    minutes = 60 * hours
    return f"{minutes:.0f} minutes" if minutes >= 1 else f"{60 * minutes:.0f} seconds"


def span(lo_hours: float, hi_hours: float) -> str:
    """An interval of durations in one unit where both ends share it: '4.1–4.3 hours', '8.6–9.0 minutes'."""
    if lo_hours >= 1:
        return f"{lo_hours:.1f}–{hi_hours:.1f} hours"
    lo, hi = 60 * lo_hours, 60 * hi_hours
    if lo >= 1 and hi < 60:
        digits = 0 if f"{lo:.0f}" != f"{hi:.0f}" else 1
        return f"{lo:.{digits}f}–{hi:.{digits}f} minutes"
    return f"{duration(lo_hours)} to {duration(hi_hours)}"


def volume_sentence(summary: pd.DataFrame) -> str:
    """Who carries the work (a census of the period: counts, no interval) and contacts per day."""
    s = summary.sort_values("contacts", ascending=False)
    parts = [f"{lab} {pct(r['share'])} ({r['per_day']:.0f} a day, 95% interval {r['per_day_lower']:.0f}–"
             f"{r['per_day_upper']:.0f})" for lab, r in s.iterrows()]
    return f"Of {int(s['contacts'].sum()):,} contacts, {listing(parts)}."


def speed_sentence(summary: pd.DataFrame) -> str:
    """The slowest and fastest channels by median resolution time — 'slowest' only when the two
    intervals do not overlap — with the first-response bound of the slowest."""
    s = summary.sort_values("resolution_hours")
    fast, slow = s.iloc[0], s.iloc[-1]
    f_name, s_name = s.index[0], s.index[-1]
    head = (f"Median time from opening to closing: {s_name} {duration(slow['resolution_hours'])} (95% interval "
            f"{span(slow['resolution_hours_lower'], slow['resolution_hours_upper'])}), {f_name} "
            f"{duration(fast['resolution_hours'])} "
            f"({span(fast['resolution_hours_lower'], fast['resolution_hours_upper'])})")
    if slow["resolution_hours_lower"] <= fast["resolution_hours_upper"]:
        return head + "; no channel is clearly slower than another."
    if pd.isna(slow["first_response_bound_hours"]):                 # no handle time recorded
        return head + "."
    return (head + f"; on {s_name} a contact sits a median {duration(slow['first_response_bound_hours'])} "
            f"({span(slow['first_response_bound_hours_lower'], slow['first_response_bound_hours_upper'])}) open "
            "with no agent working on it — an upper bound on its time to first response, which the data do not "
            "record.")


def _signed(x: float, unit: str) -> str:
    return f"{x:+.2f}" if unit == "CSAT points" else f"{x:+.1f}"


def csat_channel_sentence(differences: pd.DataFrame, outcome: str = "CSAT") -> str:
    """Channels whose adjusted CSAT difference has a family-wise interval excluding 0, each with its raw
    gap; or that none does, naming raw gaps that the adjustment explains away. `outcome` names the scale
    ('CSAT', or 'the share of good ratings' on a good/bad scale, whose rows are in percentage points)."""
    t = differences.loc["csat"]
    unit = t["unit"].iloc[0]
    word = "points" if unit == "CSAT points" else unit
    named = t[(t["upper_adj"] < 0) | (t["lower_adj"] > 0)].sort_values("effect")
    parts = [f"{lab} {_signed(r['effect'], unit)} {word} (family-wise 95% interval {_signed(r['lower_adj'], unit)} to "
             f"{_signed(r['upper_adj'], unit)}; raw {_signed(r['raw'], unit)}, 95% interval "
             f"{_signed(r['raw_lower'], unit)} to {_signed(r['raw_upper'], unit)})" for lab, r in named.iterrows()]
    held = "with the agent, policy, product and issue type held fixed"
    if len(named):
        text = f"Against the average contact of the period, {held}, {outcome} differs by channel: {listing(parts)}."
    else:
        text = (f"No channel's {outcome} differs from the average contact of the period {held} (family-wise 95% "
                f"intervals over the {len(t)} channels).")
    explained = t[((t["raw_upper"] < 0) | (t["raw_lower"] > 0)) & (t["upper_adj"] >= 0) & (t["lower_adj"] <= 0)]
    if len(explained):
        gaps = [f"{lab} ({_signed(r['raw'], unit)})" for lab, r in explained.iterrows()]
        text += (f" The raw gap of {listing(gaps)} is not distinguishable from zero once what the channel handles is "
                 "held fixed.")
    return text


def metric_sentences(differences: pd.DataFrame, metrics=("nps", "fcr", "escalation", "repeat")) -> list[str]:
    """Per metric, the channels whose adjusted difference (family-wise interval) excludes 0; the metrics
    with none are named together in one sentence."""
    out, quiet = [], []
    for metric in metrics:
        if metric not in differences.index.get_level_values(0):
            continue
        t = differences.loc[metric]
        unit = t["unit"].iloc[0]
        named = t[(t["upper_adj"] < 0) | (t["lower_adj"] > 0)].sort_values("effect")
        if named.empty:
            quiet.append(METRIC_LABELS[metric])
            continue
        parts = [f"{lab} {_signed(r['effect'], unit)} {unit} (family-wise 95% interval "
                 f"{_signed(r['lower_adj'], unit)} to {_signed(r['upper_adj'], unit)}; raw {_signed(r['raw'], unit)})"
                 for lab, r in named.iterrows()]
        out.append(f"{METRIC_LABELS[metric][0].upper() + METRIC_LABELS[metric][1:]}, against the average contact with "
                   f"the agent and the mix held fixed: {listing(parts)}.")
    if quiet:
        verb = "does" if len(quiet) == 1 else "do"
        out.append(f"{listing(quiet)[0].upper() + listing(quiet)[1:]} {verb} not differ by channel beyond chance once "
                   "the agent, policy, product and issue type are held fixed (family-wise 95% intervals).")
    return out


def channel_response_sentences(summary: pd.DataFrame, comparison: ResponseComparison,
                               units: Units = POINTS) -> list[str]:
    """Whether response rates differ by channel (χ² test), how far weighting moves channel CSAT, and the
    tipping point of each channel's adjusted CSAT difference, in `units` (score points, or the share of
    good ratings in percentage points)."""
    p, comparison = comparison.chi2_p, comparison.table
    r = summary.sort_values("response_rate")
    lo, hi = r.iloc[0], r.iloc[-1]
    rates = (f"from {pct(lo['response_rate'])} on {r.index[0]} (95% interval "
             f"{pct_interval(lo['response_rate_lower'], lo['response_rate_upper'])}) to {pct(hi['response_rate'])} on "
             f"{r.index[-1]} ({pct_interval(hi['response_rate_lower'], hi['response_rate_upper'])})")
    if not p < 0.05:
        return [f"Survey response rates do not differ detectably by channel (χ² p = {p_text(p)}; {rates})."]
    shift = comparison["weighting_shift"].abs()
    most = shift.idxmax()
    out = [f"Survey response rates differ by channel (χ² p {'< 0.001' if p < 0.001 else '= ' + p_text(p)}): {rates}. "
           f"Weighting each channel's replies for who answers (inverse response propensity on contact features) moves "
           f"{_mean_of(units)} by at most {units.size(shift.max())} ({most}: "
           f"{_level(comparison.loc[most, 'csat'], units)} → {_level(comparison.loc[most, 'csat_weighted'], units)})."]
    tipping = comparison.dropna(subset=["tipping_delta"])
    if len(tipping):
        parts = [f"{lab}'s would vanish if its non-respondents scored {units.size(abs(row['tipping_delta']))} "
                 f"{'higher' if row['effect'] < 0 else 'lower'} than the model predicts for them (only "
                 f"{pct(row['reply_share'])} of its contacts have a CSAT reply)" for lab, row in tipping.iterrows()]
        out.append(f"Replies cannot show how non-respondents would score: of the adjusted CSAT differences, "
                   f"{listing(parts)} — a δ-adjusted pattern-mixture bound, not an estimate.")
    return out


def _mean_of(units: Units) -> str:
    if units.unit == "percentage points":
        return "its " + units.outcome.removeprefix("the ")
    return f"its mean {units.outcome}"


def _level(x: float, units: Units) -> str:
    """A channel's level of the outcome: '3.95' or '71%'."""
    return pct(x) if units.unit == "percentage points" else f"{x:.2f}"
