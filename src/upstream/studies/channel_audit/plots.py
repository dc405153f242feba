"""Figures of the channel_audit study."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...reporting.plots.common import axes, finish


def raw_and_adjusted(differences: pd.DataFrame, metric: str, title: str, xlabel: str):
    """Per channel: the raw difference from all contacts (open marker, 95% CI) and the adjusted effect
    against the average contact (filled marker, family-wise 95% CI)."""
    t = differences.loc[metric].sort_values("effect")
    fig, ax = axes(7, 0.55 * len(t) + 1.4)
    y = np.arange(len(t))
    ax.hlines(y + 0.12, t["raw_lower"], t["raw_upper"], color="#969696")
    ax.scatter(t["raw"], y + 0.12, facecolor="white", edgecolor="#636363", zorder=3, label="raw (95% CI)")
    ax.hlines(y - 0.12, t["lower_adj"], t["upper_adj"], color="#2166ac")
    ax.scatter(t["effect"], y - 0.12, color="#2166ac", zorder=3, label="adjusted (family-wise 95% CI)")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, t.index)
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return finish(fig, ax, title, left=True)


def resolution_times(summary: pd.DataFrame, title: str):
    """Median time to close and median time open with no agent working (first-response bound), with
    distribution-free 95% intervals, on a log scale."""
    s = summary.sort_values("resolution_hours")
    fig, ax = axes(7, 0.55 * len(s) + 1.4)
    y = np.arange(len(s))
    for col, shift, colour, label in (("resolution_hours", 0.12, "#2166ac", "opening to closing"),
                                      ("first_response_bound_hours", -0.12, "#b2182b",
                                       "open, no agent working (bound on first response)")):
        ax.hlines(y + shift, 60 * s[f"{col}_lower"], 60 * s[f"{col}_upper"], color=colour)
        ax.scatter(60 * s[col], y + shift, color=colour, zorder=3, label=label)
    ax.set_xscale("log")
    ax.set_yticks(y, s.index)
    ax.set_xlabel("Median minutes (log scale), 95% distribution-free interval")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return finish(fig, ax, title, left=True)
