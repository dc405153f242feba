"""Figures of the survey_health study."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .common import axes, finish


def response_rates(rates: pd.DataFrame, title: str):
    """Response rates by feature level with Wilson intervals."""
    r = rates.drop(index=("overall", "all"))
    labels = [f"{f.replace('_', ' ')}: {lvl}" for f, lvl in r.index]
    fig, ax = axes(7, 0.28 * len(r) + 1.2)
    y = np.arange(len(r))[::-1]
    ax.hlines(y, 100 * r["lower"], 100 * r["upper"], color="#4d4d4d")
    ax.scatter(100 * r["rate"], y, color="#2166ac", zorder=3, s=18)
    ax.axvline(100 * rates.loc[("overall", "all"), "rate"], color="black", linewidth=0.8, linestyle="--")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("Response rate (%), 95% Wilson interval; dashed: overall")
    return finish(fig, ax, title, left=True)


def nps_groups(table: pd.DataFrame, title: str):
    """NPS per group with intervals."""
    t = table.sort_values("nps")
    fig, ax = axes(6.5, 0.4 * len(t) + 1.2)
    y = np.arange(len(t))
    ax.hlines(y, t["lower"], t["upper"], color="#4d4d4d")
    ax.scatter(t["nps"], y, color="#2166ac", zorder=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, t.index)
    ax.set_xlabel("NPS, 95% adjusted-Wald interval")
    return finish(fig, ax, title, left=True)


def funnel(screen: pd.DataFrame, rate_col: str, n_col: str, title: str, z: float = 3.09):
    """Funnel plot of a per-agent rate against volume, with 95% and z-level limits around the pooled rate."""
    fig, ax = axes(7, 4.5)
    p0 = screen[rate_col].mul(screen[n_col]).sum() / screen[n_col].sum()
    n = np.linspace(max(1, screen[n_col].min()), screen[n_col].max(), 200)
    for zz, style in ((1.96, ":"), (z, "--")):
        half = zz * np.sqrt(p0 * (1 - p0) / n)
        ax.plot(n, p0 - half, color="grey", linestyle=style, linewidth=0.9)
        ax.plot(n, p0 + half, color="grey", linestyle=style, linewidth=0.9, label=f"z = {zz:g}")
    flagged = screen["flagged"] if "flagged" in screen else np.zeros(len(screen), bool)
    ax.scatter(screen.loc[~flagged, n_col], screen.loc[~flagged, rate_col], s=14, color="#4d4d4d", label="agents")
    ax.scatter(screen.loc[flagged, n_col], screen.loc[flagged, rate_col], s=30, color="#b2182b", label="flagged for review")
    ax.axhline(p0, color="black", linewidth=0.8)
    ax.set_xlabel("Contacts handled")
    ax.set_ylabel("Surveys sent per contact")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return finish(fig, ax, title)


def weighting_shift(shifts: pd.DataFrame, title: str):
    """Agent effects without and with non-response weights."""
    fig, ax = axes(5.5, 5)
    ax.scatter(shifts["effect"], shifts["effect_weighted"], s=14, color="#2166ac")
    lims = [min(shifts["effect"].min(), shifts["effect_weighted"].min()),
            max(shifts["effect"].max(), shifts["effect_weighted"].max())]
    ax.plot(lims, lims, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("Agent effect, unweighted")
    ax.set_ylabel("Agent effect, weighted for non-response")
    return finish(fig, ax, title)
