"""Key findings of the trends study: the change in expected CSAT split into the contact mix's part and the
within-mix part, what that means, the replies' own averages, and how much single weeks say. Each sentence
is computed from the study's tables and says only what its intervals support."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...analysis.trends import Decomposition
from ...reporting.sentences.common import MIX_LABELS, pct

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_scale_trend_sentence(points: int) -> str:
    return (f"CSAT here is on a {points}-point scale, too short to average, so the trend and its split into the "
            "contact mix's part and the part within the mix are not computed.")


def month_text(month: str) -> str:
    """'2026-07' → 'Jul 2026'."""
    year, m = month.split("-")
    return f"{_MONTHS[int(m) - 1]} {year}"


def _direction(row) -> int:
    return 1 if row["lower"] > 0 else -1 if row["upper"] < 0 else 0


def _part(row) -> str:
    return f"{row['estimate']:+.3f} (95% interval {row['lower']:+.3f} to {row['upper']:+.3f})"


def decomposition_sentence(decomposition: Decomposition, shares: pd.DataFrame) -> str:
    """The change in expected CSAT from the first to the last period (for an average agent: agents held
    fixed) and its two parts, naming the mix variable that contributes most and its level whose share moved
    most."""
    parts, first, last = decomposition.table, decomposition.first, decomposition.last
    mix_rows = parts[parts.index.str.startswith("mix: ")]
    text = (f"From {month_text(first)} to {month_text(last)}, expected CSAT over all contacts changed by "
            f"{_part(parts.loc['change'])} on the fitted model, with agents held fixed (the same average agent: a "
            f"change in which agents handled the contacts is not part of it): {_part(parts.loc['mix'])} because the "
            "contact mix changed")
    if len(mix_rows):
        top = mix_rows["estimate"].abs().idxmax()
        variable = top[len("mix: "):]
        label = MIX_LABELS.get(variable, variable.replace("_", " "))
        moved = shares.loc[variable]
        level = moved["change"].abs().idxmax()
        row = moved.loc[level]
        text += (f" — the largest contribution is the {label} ({mix_rows.loc[top, 'estimate']:+.3f}), as '{level}' "
                 f"went from {pct(row['share_first'])} to {pct(row['share_last'])} of contacts —")
    return text + f" and {_part(parts.loc['within'])} within the same mix."


VERDICTS = {
    (1, 0): "The easier contact mix lifted CSAT; on the same mix, CSAT changed by {within} — within ±{margin:.2f} "
            "either way — so a rise in the raw score is the mix's doing, not a change in service.",
    (1, -1): "The easier contact mix lifted CSAT while, on the same mix, CSAT fell: the mix hides a decline.",
    (1, 1): "CSAT rose on the same contact mix, and the easier mix added to it.",
    (0, 1): "CSAT rose on the same contact mix: better results on the same contacts; the mix itself changed CSAT by "
            "{mix}, within ±{margin:.2f} either way.",
    (0, -1): "CSAT fell on the same contact mix; the mix itself made no detectable difference.",
    (0, 0): "Neither the contact mix nor the level on the same mix changed CSAT detectably between the two periods.",
    (-1, 0): "The harder contact mix lowered CSAT; on the same mix, CSAT changed by {within} — within ±{margin:.2f} "
             "either way — so a fall in the raw score is the mix's doing.",
    (-1, 1): "The harder contact mix lowered CSAT while, on the same mix, CSAT rose: the mix hides an improvement.",
    (-1, -1): "CSAT fell both because the contact mix got harder and on the same mix.",
}
#: The same verdicts when the part read as "no change" has an interval reaching beyond ±margin: the split is
#: uncertain, not the mix's (or the service's) alone.
UNCERTAIN = {
    (1, 0): "The easier contact mix lifted CSAT; whether CSAT also changed on the same mix is uncertain: it "
            "changed by {within}, which does not rule out changes larger than ±{margin:.2f}, so how much of a rise in "
            "the raw score is the mix's doing cannot be told.",
    (-1, 0): "The harder contact mix lowered CSAT; whether CSAT also changed on the same mix is uncertain: it "
             "changed by {within}, which does not rule out changes larger than ±{margin:.2f}, so how much of a fall in "
             "the raw score is the mix's doing cannot be told.",
    (0, 1): "CSAT rose on the same contact mix; whether the mix helped or hurt as well is uncertain: it changed "
            "CSAT by {mix}, which does not rule out changes larger than ±{margin:.2f}.",
}


def _within(row, margin: float) -> bool:
    return -margin <= row["lower"] and row["upper"] <= margin


def trend_verdict_sentence(parts: pd.DataFrame, margin: float) -> str:
    """What the two parts mean together, by whether each interval lies above, below or around zero. A part
    around zero is called "no change" only when its interval lies within ±`margin` (score points; the
    studies' practical margin δ); otherwise the sentence says the split is uncertain."""
    mix, within = parts.loc["mix"], parts.loc["within"]
    key = (_direction(mix), _direction(within))
    texts = {"mix": _part(mix), "within": _part(within), "margin": margin}
    if key in UNCERTAIN:
        read_as_zero = within if key[1] == 0 else mix
        if not _within(read_as_zero, margin):
            return UNCERTAIN[key].format(**texts)
    return VERDICTS[key].format(**texts)


def raw_change_sentence(compared: pd.DataFrame) -> str:
    """The replies' own averages in the two periods and the change, each with an interval."""
    first, last = compared.index[0], compared.index[1]
    a, b, d = compared.loc[first], compared.loc[last], compared.loc["change"]
    text = (f"The replies' own averages went from {a['csat']:.2f} to {b['csat']:.2f} CSAT (change {d['csat']:+.2f}, "
            f"95% interval {d['csat_lower']:+.2f} to {d['csat_upper']:+.2f}) and from {pct(a['top_box'])} to "
            f"{pct(b['top_box'])} top-box ({100 * d['top_box']:+.1f} points, {100 * d['top_box_lower']:+.1f} to "
            f"{100 * d['top_box_upper']:+.1f})")
    if "nps" in compared and pd.notna(d.get("nps")) and pd.notna(a.get("nps")) and pd.notna(b.get("nps")):
        text += (f"; NPS went from {a['nps']:+.0f} to {b['nps']:+.0f} ({d['nps']:+.1f}, {d['nps_lower']:+.1f} to "
                 f"{d['nps_upper']:+.1f})")
    return text + "; these averages are not adjusted for the contact mix."


def weekly_sentence(weekly: pd.DataFrame, levels: pd.DataFrame, min_replies: int = 100) -> str:
    """The range of weekly CSAT, and whether single weeks say much: the median half-width of a week's
    interval against the median move from one week to the next."""
    w = weekly[weekly["replies"] >= min_replies]
    if len(w) < 3:
        return ""
    half = float(np.median((w["csat_upper"] - w["csat_lower"]) / 2))
    move = float(np.median(np.abs(np.diff(w["csat"].to_numpy()))))
    lo, hi = w["csat"].idxmin(), w["csat"].idxmax()
    text = (f"Week by week, the replies' CSAT ranged from {w.loc[lo, 'csat']:.2f} (week of {lo}) to "
            f"{w.loc[hi, 'csat']:.2f} (week of {hi}) over the {len(w)} weeks with at least {min_replies} replies; ")
    if half > move:
        return text + (f"a week's 95% interval is about ±{half:.2f} points, wider than the typical move of {move:.2f} "
                       "from one week to the next, so single weeks say little.")
    return text + (f"the typical move from one week to the next ({move:.2f}) is larger than a week's 95% interval "
                   f"(about ±{half:.2f} points), so weekly moves are worth a look.")


def decomposition_title(parts: pd.DataFrame) -> str:
    m, w = parts.loc["mix"], parts.loc["within"]
    return f"The contact mix moved expected CSAT by {m['estimate']:+.3f}; on the same mix it moved {w['estimate']:+.3f}"


def weekly_title(parts: pd.DataFrame) -> str:
    return {1: "Replies' weekly CSAT against the level on an unchanged contact mix: the mix flatters the raw score",
            -1: "Replies' weekly CSAT against the level on an unchanged contact mix: the mix drags the raw score down",
            0: "Replies' weekly CSAT and the level on an unchanged contact mix"}[_direction(parts.loc["mix"])]


def single_month_sentence(month: str) -> str:
    """Why the trends study has nothing to compare: every contact falls in one month."""
    return (f"The data cover a single month ({month}), so there is no change between months to measure or to "
            "split into contact mix and service; a trend needs contacts from at least two months.")
