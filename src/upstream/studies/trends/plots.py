"""Figures of the trends study."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...reporting.plots.common import axes, finish


def weekly_scores(weekly: pd.DataFrame, levels: pd.DataFrame, title: str):
    """Weekly CSAT of the replies with 95% intervals, and the weekly level on the first period's contact
    mix (trend model, bootstrap intervals)."""
    fig, ax = axes(8, 4.5)
    x = pd.to_datetime(weekly.index)
    ax.errorbar(x, weekly["csat"], yerr=[weekly["csat"] - weekly["csat_lower"], weekly["csat_upper"] - weekly["csat"]],
                fmt="o", color="#4d4d4d", markersize=4, linewidth=0.8, capsize=2, label="replies' CSAT (raw)")
    lx = pd.to_datetime(levels.index) + pd.Timedelta(days=1)
    ax.plot(lx, levels["expected_first_mix"], color="#2166ac", linewidth=1.5,
            label="same contact mix as the first period")
    ax.fill_between(lx, levels["lower"], levels["upper"], color="#2166ac", alpha=0.15)
    ax.set_ylabel("CSAT")
    ax.set_xlabel("Week starting")
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    return finish(fig, ax, title)


def decomposition_bars(parts: pd.DataFrame, title: str):
    """The change in expected CSAT and its parts (mix by variable, within the mix) with bootstrap intervals."""
    rows = ["change", "mix", *[i for i in parts.index if i.startswith("mix: ")], "within"]
    p = parts.loc[rows]
    labels = {"change": "total change", "mix": "contact mix", "within": "within the mix"}
    names = [labels.get(r, "  " + r.replace("mix: ", "").replace("_", " ")) for r in rows]
    fig, ax = axes(7, 0.45 * len(rows) + 1.3)
    y = np.arange(len(rows))[::-1]
    colors = ["#4d4d4d" if r == "change" else "#e08214" if r.startswith("mix") else "#2166ac" for r in rows]
    ax.barh(y, p["estimate"], color=colors, alpha=0.8)
    ax.hlines(y, p["lower"], p["upper"], color="black", linewidth=1.0)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, names)
    ax.set_xlabel("Change in expected CSAT (points), 95% bootstrap interval")
    return finish(fig, ax, title, left=True)
