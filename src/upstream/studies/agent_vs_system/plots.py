"""Figures of the agent_vs_system study."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...reporting.plots.common import PALETTE, axes, finish

#: The caterpillar chart's largest height in inches (about 200 agents at one row each).
MAX_HEIGHT = 14.0


def caterpillar(effects: pd.DataFrame, title: str, labels: pd.Series | None = None,
                xlabel: str = "Agent's own effect on CSAT (points, adjusted for contact mix)"):
    """Agents' adjusted effects with intervals, best at the top; colour = verdict. At most MAX_HEIGHT inches tall:
    beyond ~200 agents the rows merge into a band, drawn with thinner lines (20,000 agents made a figure 1,200
    inches tall)."""
    from matplotlib.lines import Line2D

    e = effects.sort_values("effect")
    fig_h = min(max(4.0, 0.06 * len(e) + 1.5), MAX_HEIGHT)
    dense = 0.06 * len(e) + 1.5 > MAX_HEIGHT
    fig, ax = axes(8, fig_h)
    y = np.arange(len(e))
    colors = e["verdict"].map(PALETTE).fillna("#4d4d4d")
    ax.hlines(y, e["lower"], e["upper"], colors=colors, linewidth=0.4 if dense else 1.2, alpha=0.8)
    ax.scatter(e["effect"], y, c=colors, s=2 if dense else 10, zorder=3, linewidths=0)
    ax.axvline(0, color="black", linewidth=0.8)
    if len(e) <= 40 and labels is not None:
        ax.set_yticks(y, labels.reindex(e.index).fillna(pd.Series(e.index, index=e.index)))
    else:
        ax.set_yticks([])
    ax.set_ylabel(f"{len(e)} agents, ordered by adjusted effect")
    ax.set_xlabel(xlabel)
    handles = [Line2D([0], [0], color=c, marker="o", linestyle="-", label=k) for k, c in PALETTE.items()
               if k in set(e["verdict"])]
    ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=False)
    return finish(fig, ax, title, left=True)


def raw_vs_adjusted(effects: pd.DataFrame, title: str):
    """Raw average score against contact-mix-adjusted score for each rankable agent, coloured by tenure."""
    r = effects[effects["rankable"]]
    fig, ax = axes(6.5, 5)
    hue = np.log2(r["tenure_months"].astype(float)) if "tenure_months" in r else None
    sc = ax.scatter(r["raw_score"], r["adjusted_score"], c=hue, cmap="viridis", s=22, edgecolor="none")
    lims = [min(r["raw_score"].min(), r["adjusted_score"].min()), max(r["raw_score"].max(), r["adjusted_score"].max())]
    ax.plot(lims, lims, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xlabel("Raw average score of the agent's replies")
    ax.set_ylabel("Adjusted score (average contact mix)")
    if hue is not None:
        cbar = fig.colorbar(sc, ax=ax)
        ticks = [t for t in (1, 3, 6, 12, 24, 48, 96, 192) if hue.min() <= np.log2(t) <= hue.max()]
        cbar.set_ticks(np.log2(ticks), labels=[str(t) for t in ticks])
        cbar.set_label("Tenure (months)")
    return finish(fig, ax, title)


def variance_bars(shares: pd.DataFrame, title: str):
    """Shares of variance with bootstrap intervals."""
    rows = [r for r in ["agents", "contact mix", "policy", "product", "channel", "issue_type", "unexplained",
                        "customers", "contact to contact"] if r in shares.index]
    s = shares.loc[rows]
    fig, ax = axes(7, 3.2)
    y = np.arange(len(s))[::-1]
    colors = ["#2166ac" if r == "agents" else "#b2182b" if r == "contact mix" else
              "#bababa" if r == "unexplained" else "#d9d9d9" if r in ("customers", "contact to contact")
              else "#f4a582" for r in rows]
    ax.barh(y, 100 * s["share"], color=colors)
    ax.errorbar(100 * s["share"], y, xerr=[100 * (s["share"] - s["lower"]), 100 * (s["upper"] - s["share"])],
                fmt="none", ecolor="black", capsize=3, linewidth=1)
    ax.set_yticks(y, [r.replace("_", " ") if r not in ("policy", "product", "channel", "issue_type", "customers",
                                                       "contact to contact")
                      else f"  of which {r.replace('_', ' ')}" for r in rows])
    ax.set_xlabel("Share of the variation in the score (%), 95% bootstrap interval")
    return finish(fig, ax, title)


def level_effects(effects: pd.DataFrame, variable: str, title: str):
    """Effects of the levels of one contact-mix variable against the average contact, with CIs."""
    e = effects.sort_values("effect")
    fig, ax = axes(7, 0.35 * len(e) + 1.2)
    y = np.arange(len(e))
    colors = np.where(e["upper"] < 0, "#b2182b", np.where(e["lower"] > 0, "#1b7837", "#4d4d4d"))
    ax.hlines(y, e["lower"], e["upper"], colors=colors)
    ax.scatter(e["effect"], y, c=colors, zorder=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, e.index)
    ax.set_xlabel("Difference from the average contact (points), 95% CI")
    return finish(fig, ax, title, left=True)
