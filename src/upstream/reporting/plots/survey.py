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


def screen_plot(screen: pd.DataFrame, title: str, z: float = 1.81):
    """Each agent's invitation deficit against its reply excess, both as z-scores against the agent's
    own expected rates with the ordinary between-agent variation allowed for (the survey screen's
    statistics); the dashed lines are the flag thresholds, red points the agents under review."""
    fig, ax = axes(7, 4.8)
    deficit = -np.fmin(screen["z_invitation"], screen["z_invitation_adverse"]).fillna(0)
    excess = screen["z_response"].fillna(0)
    flagged = screen["flagged"].to_numpy(bool)
    ax.scatter(deficit[~flagged], excess[~flagged], s=14, color="#4d4d4d", label="agents")
    ax.scatter(deficit[flagged], excess[flagged], s=30, color="#b2182b", label="under review")
    ax.axvline(z, color="grey", linestyle="--", linewidth=0.9)
    ax.axhline(z, color="grey", linestyle="--", linewidth=0.9)
    lim = max(float(np.nanmax(np.abs(np.r_[deficit, excess]))), z) + 0.5
    line = np.linspace(-lim, lim, 50)
    ax.plot(line, np.sqrt(2) * z - line, color="grey", linestyle=":", linewidth=0.9, label="combined threshold")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("Fewer surveys sent than expected (z)")
    ax.set_ylabel("More replies than expected (z)")
    ax.legend(fontsize=8, frameon=False, loc="lower left")
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
