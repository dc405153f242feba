"""Display tables of the trends study."""
from __future__ import annotations

import pandas as pd

from ...reporting.display.common import interval
from ...reporting.display.pages import variance_components


def weekly_display(weekly: pd.DataFrame, levels: pd.DataFrame) -> pd.DataFrame:
    """Weekly replies, CSAT, top-box and NPS with intervals, and the level on the first period's mix."""
    out = pd.DataFrame({"replies": weekly["replies"], "CSAT": weekly["csat"].round(2),
                        "95% CI": interval(weekly["csat_lower"], weekly["csat_upper"]),
                        "top-box (%)": (100 * weekly["top_box"]).round(1),
                        "95% CI ": interval(weekly["top_box_lower"], weekly["top_box_upper"], ".1f", 100)},
                       index=weekly.index)
    if "nps" in weekly:
        out["NPS"] = weekly["nps"].round(0)
        out["95% CI  "] = interval(weekly["nps_lower"], weekly["nps_upper"], ".0f")
    lv = levels.reindex(weekly.index)
    out["same mix as the first period"] = lv["expected_first_mix"].round(2)
    out["95% CI   "] = interval(lv["lower"], lv["upper"])
    return out


PART_NAMES = {"first_level": "expected CSAT, first period", "last_level": "expected CSAT, last period",
              "change": "change", "mix": "because the contact mix changed", "within": "within the same mix"}


def decomposition_display(parts: pd.DataFrame) -> pd.DataFrame:
    names = [PART_NAMES.get(i, "   of which " + i.replace("mix: ", "").replace("_", " ")) for i in parts.index]
    out = pd.DataFrame({"estimate": parts["estimate"].round(3),
                        "95% interval (bootstrap)": interval(parts["lower"], parts["upper"], ".3f"),
                        "95% interval (Satterthwaite)": interval(parts["satterthwaite_lower"],
                                                                 parts["satterthwaite_upper"], ".3f")},
                       index=parts.index)
    out.index = pd.Index(names, name="part")
    return out


def shares_display(shares: pd.DataFrame, n: int = 8) -> pd.DataFrame:
    """The mix levels whose share of contacts moved most."""
    top = shares.reindex(shares["change"].abs().sort_values(ascending=False).index).head(n)
    out = pd.DataFrame({"first period (%)": (100 * top["share_first"]).round(1),
                        "last period (%)": (100 * top["share_last"]).round(1),
                        "change (points)": (100 * top["change"]).round(1)}, index=top.index)
    out.index = pd.Index([f"{v.replace('_', ' ')}: {lvl}" for v, lvl in top.index], name="contact mix")
    return out


def period_display(compared: pd.DataFrame) -> pd.DataFrame:
    c = compared
    out = pd.DataFrame({"replies": c["replies"], "CSAT": c["csat"].round(3),
                        "95% CI": interval(c["csat_lower"], c["csat_upper"], ".3f"),
                        "top-box (%)": (100 * c["top_box"]).round(1),
                        "95% CI ": interval(c["top_box_lower"], c["top_box_upper"], ".1f", 100)}, index=c.index)
    if "nps" in c:
        out["NPS"] = c["nps"].round(1)
        out["95% CI  "] = interval(c["nps_lower"], c["nps_upper"], ".1f")
    return out


def page(r):
    """The tables this study's page shows, in page order: (name, caption, frame, source CSV, undefined note)."""
    t = r.tables
    if "trend_decomposition" in t:
        yield ("trend_decomposition", "Oaxaca–Blinder decomposition on the fitted model (CSAT points); bootstrap "
               "percentile and Satterthwaite intervals", decomposition_display(t["trend_decomposition"]),
               "trend_decomposition", "no Satterthwaite interval for a sum of parts")
        yield ("mix_shares", "The contact-mix levels whose share of contacts moved most",
               shares_display(t["mix_shares"]), "mix_shares", None)
    if "weekly_scores" in t:
        yield ("weekly_scores", "Weekly scores of the replies (CSAT: t interval; top-box: Wilson; NPS: adjusted "
               "Wald) and the level on the first month's mix (bootstrap)",
               weekly_display(t["weekly_scores"], t["within_mix_weekly"]), "weekly_scores",
               "too few replies that week")
        yield ("period_scores", "The replies' own averages in the two months and the change (not adjusted for the "
               "contact mix)", period_display(t["period_scores"]), "period_scores",
               "the change has no count of replies")
    yield from variance_components(r)

