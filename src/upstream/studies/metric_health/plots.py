"""Figures of the metric_health study."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...reporting.plots.common import axes, finish

RATIO_TICKS = (0.25, 0.33, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)


def speed_quadrant(agents: pd.DataFrame, fast_margin: float, repeat_margin: float, threshold: float, title: str):
    """Each agent's handle time against repeat odds relative to an average agent on the same contacts
    (log scales); colour = P(fast and prone to repeats); dashed lines = the margins."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    a = agents.dropna(subset=["handle_time_ratio", "repeat_odds_ratio"])
    fig, ax = axes(7, 5.5)
    sc = ax.scatter(a["handle_time_ratio"], a["repeat_odds_ratio"], c=a["p_quadrant"], cmap="OrRd", vmin=0, vmax=1,
                    s=22, edgecolor="#4d4d4d", linewidth=0.3)
    named = a[a["p_quadrant"] >= threshold]
    ax.scatter(named["handle_time_ratio"], named["repeat_odds_ratio"], facecolor="none", edgecolor="black", s=70,
               linewidth=1.0, label=f"P ≥ {threshold:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):                   # ratios as plain numbers, not powers of ten
        axis.set_major_locator(FixedLocator(RATIO_TICKS))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())
    ax.axvline(1 - fast_margin, color="grey", linestyle="--", linewidth=0.8)
    ax.axhline(1 + repeat_margin, color="grey", linestyle="--", linewidth=0.8)
    ax.axvline(1, color="black", linewidth=0.6)
    ax.axhline(1, color="black", linewidth=0.6)
    ax.set_xlabel("Handle time relative to an average agent on the same contacts")
    ax.set_ylabel("Odds of a repeat contact relative to an average agent")
    fig.colorbar(sc, ax=ax).set_label("P(fast and prone to repeats)")
    if len(named):
        ax.legend(fontsize=8, frameon=False, loc="upper right")
    return finish(fig, ax, title)


def daily_change(daily: pd.DataFrame, day, title: str):
    """Daily handle time on the same contact mix (geometric mean, seconds) with the break and the mean
    on each side."""
    fig, ax = axes(8, 4)
    seconds = np.expm1(daily["value"])
    ax.plot(daily.index, seconds, color="#2166ac", linewidth=1.0, marker="o", markersize=2.5)
    if day is not None:
        d = pd.Timestamp(day)
        before, after = daily[daily.index < d], daily[daily.index >= d]
        for part in (before, after):
            if len(part):
                level = np.expm1(np.average(part["value"], weights=part["n"]))
                ax.hlines(level, part.index.min(), part.index.max(), color="black", linewidth=1.2)
        ax.axvline(d, color="#b2182b", linestyle="--", linewidth=1.0)
    ax.set_ylabel("Handle time, seconds (same contact mix)")
    ax.tick_params(axis="x", labelsize=8)
    return finish(fig, ax, title)


def disagreement(by_agent: pd.DataFrame, title: str):
    """Per agent: the share of contacts where the resolution code and the 7-day repeat disagree, with
    Jeffreys intervals, ordered."""
    b = by_agent.sort_values("disagree_rate")
    fig, ax = axes(7, max(4.0, 0.03 * len(b) + 1.5))
    y = np.arange(len(b))
    ax.hlines(y, 100 * b["disagree_lower"], 100 * b["disagree_upper"], color="#9e9e9e", linewidth=1.0)
    ax.scatter(100 * b["disagree_rate"], y, color="#2166ac", s=8, zorder=3)
    pooled = (b["disagree_rate"] * b["contacts"]).sum() / b["contacts"].sum()
    ax.axvline(100 * pooled, color="black", linewidth=0.8, linestyle="--")
    ax.set_yticks([])
    ax.set_ylabel(f"{len(b)} agents")
    ax.set_xlabel("Contacts where the resolution code and the 7-day repeat disagree (%), 95% Jeffreys interval")
    return finish(fig, ax, title, left=True)


def interaction_curve(curve: pd.DataFrame, band, title: str):
    """Expected CSAT by interactions per contact (spline, average contact mix) with 95% intervals, the
    raw mean of the replies at each count, and the band the folk rule names shaded."""
    fig, ax = axes(7, 4.5)
    x = curve.index.to_numpy()
    ax.axvspan(band[0] - 0.5, band[1] + 0.5, color="#fee8c8", alpha=0.7, label=f"{band[0]}–{band[1]} interactions")
    ax.fill_between(x, curve["lower"], curve["upper"], color="#2166ac", alpha=0.2)
    ax.plot(x, curve["expected"], color="#2166ac", linewidth=1.5, label="expected CSAT, same contact mix")
    shown = curve[curve["replies"] > 0]
    ax.scatter(shown.index, shown["raw_csat"], s=np.clip(shown["replies"] / 20, 8, 80), color="#4d4d4d", zorder=3,
               label="raw mean of replies (size = replies)")
    ax.set_xticks(x)
    ax.set_xlabel("Interactions in the contact")
    ax.set_ylabel("CSAT")
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    return finish(fig, ax, title)
