"""Plots for study notebooks. Each function returns the matplotlib Figure; titles state the takeaway.

Figures are made with `matplotlib.figure.Figure`, not pyplot, so a study can build them all in one
step without the notebook's inline backend showing them there; a notebook shows one with `display`."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
import pandas as pd
import seaborn as sns

from ..analysis.verdicts import ABOVE, BELOW, NEUTRAL, NOT_RANKABLE, UNDER_REVIEW

PALETTE = {ABOVE: "#1b7837", BELOW: "#b2182b", NEUTRAL: "#4d4d4d", NOT_RANKABLE: "#bdbdbd", UNDER_REVIEW: "#e08214"}


def _axes(width: float, height: float):
    """A new figure (not registered with pyplot) and its axes."""
    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


def _finish(fig, ax, title: str, left: bool = False):
    """Takeaway title on the left, no top/right (and optionally left) spines, tight layout."""
    ax.set_title(title, loc="left", fontsize=11)
    sns.despine(ax=ax, left=left)
    fig.tight_layout()
    return fig


def caterpillar(effects: pd.DataFrame, title: str, labels: pd.Series | None = None,
                xlabel: str = "Agent's own effect on CSAT (points, adjusted for contact mix)"):
    """Agents' adjusted effects with intervals, best at the top; colour = verdict."""
    e = effects.sort_values("effect")
    fig_h = max(4.0, 0.06 * len(e) + 1.5)
    fig, ax = _axes(8, fig_h)
    y = np.arange(len(e))
    colors = e["verdict"].map(PALETTE).fillna("#4d4d4d")
    ax.hlines(y, e["lower"], e["upper"], colors=colors, linewidth=1.2, alpha=0.8)
    ax.scatter(e["effect"], y, c=colors, s=10, zorder=3)
    ax.axvline(0, color="black", linewidth=0.8)
    if len(e) <= 40 and labels is not None:
        ax.set_yticks(y, labels.reindex(e.index).fillna(pd.Series(e.index, index=e.index)))
    else:
        ax.set_yticks([])
    ax.set_ylabel(f"{len(e)} agents, ordered by adjusted effect")
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=11)
    handles = [Line2D([0], [0], color=c, marker="o", linestyle="-", label=k) for k, c in PALETTE.items()
               if k in set(e["verdict"])]
    ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=False)
    sns.despine(ax=ax, left=True)
    fig.tight_layout()
    return fig


def raw_vs_adjusted(effects: pd.DataFrame, title: str):
    """Raw average score against contact-mix-adjusted score for each rankable agent, coloured by tenure."""
    r = effects[effects["rankable"]]
    fig, ax = _axes(6.5, 5)
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
    return _finish(fig, ax, title)


def variance_bars(shares: pd.DataFrame, title: str):
    """Shares of variance with bootstrap intervals."""
    rows = [r for r in ["agents", "contact mix", "policy", "product", "channel", "issue_type", "unexplained",
                        "customers", "contact to contact"] if r in shares.index]
    s = shares.loc[rows]
    fig, ax = _axes(7, 3.2)
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
    return _finish(fig, ax, title)


def level_effects(effects: pd.DataFrame, variable: str, title: str):
    """Effects of the levels of one contact-mix variable against the average contact, with CIs."""
    e = effects.sort_values("effect")
    fig, ax = _axes(7, 0.35 * len(e) + 1.2)
    y = np.arange(len(e))
    colors = np.where(e["upper"] < 0, "#b2182b", np.where(e["lower"] > 0, "#1b7837", "#4d4d4d"))
    ax.hlines(y, e["lower"], e["upper"], colors=colors)
    ax.scatter(e["effect"], y, c=colors, zorder=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, e.index)
    ax.set_xlabel("Difference from the average contact (points), 95% CI")
    return _finish(fig, ax, title, left=True)


def response_rates(rates: pd.DataFrame, title: str):
    """Response rates by feature level with Wilson intervals."""
    r = rates.drop(index=("overall", "all"))
    labels = [f"{f.replace('_', ' ')}: {lvl}" for f, lvl in r.index]
    fig, ax = _axes(7, 0.28 * len(r) + 1.2)
    y = np.arange(len(r))[::-1]
    ax.hlines(y, 100 * r["lower"], 100 * r["upper"], color="#4d4d4d")
    ax.scatter(100 * r["rate"], y, color="#2166ac", zorder=3, s=18)
    ax.axvline(100 * rates.loc[("overall", "all"), "rate"], color="black", linewidth=0.8, linestyle="--")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("Response rate (%), 95% Wilson interval; dashed: overall")
    return _finish(fig, ax, title, left=True)


def nps_groups(table: pd.DataFrame, title: str):
    """NPS per group with intervals."""
    t = table.sort_values("nps")
    fig, ax = _axes(6.5, 0.4 * len(t) + 1.2)
    y = np.arange(len(t))
    ax.hlines(y, t["lower"], t["upper"], color="#4d4d4d")
    ax.scatter(t["nps"], y, color="#2166ac", zorder=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, t.index)
    ax.set_xlabel("NPS, 95% adjusted-Wald interval")
    return _finish(fig, ax, title, left=True)


def funnel(screen: pd.DataFrame, rate_col: str, n_col: str, title: str, z: float = 3.09):
    """Funnel plot of a per-agent rate against volume, with 95% and z-level limits around the pooled rate."""
    fig, ax = _axes(7, 4.5)
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
    return _finish(fig, ax, title)


def weighting_shift(shifts: pd.DataFrame, title: str):
    """Agent effects without and with non-response weights."""
    fig, ax = _axes(5.5, 5)
    ax.scatter(shifts["effect"], shifts["effect_weighted"], s=14, color="#2166ac")
    lims = [min(shifts["effect"].min(), shifts["effect_weighted"].min()),
            max(shifts["effect"].max(), shifts["effect_weighted"].max())]
    ax.plot(lims, lims, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("Agent effect, unweighted")
    ax.set_ylabel("Agent effect, weighted for non-response")
    return _finish(fig, ax, title)


def shrinkage(card: pd.DataFrame, title: str):
    """Raw and shrunken top-box share against number of replies, one arrow per agent."""
    fig, ax = _axes(7, 4.5)
    n = card["n_responses"]
    ax.scatter(n, 100 * card["top_box_raw"], s=12, color="#bdbdbd", label="raw")
    ax.scatter(n, 100 * card["top_box_shrunken"], s=12, color="#2166ac", label="shrunken")
    for x, a, b in zip(n, card["top_box_raw"], card["top_box_shrunken"]):
        ax.plot([x, x], [100 * a, 100 * b], color="#9ecae1", linewidth=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("Replies (log scale)")
    ax.set_ylabel("Top-box share (%)")
    ax.legend(fontsize=8, frameon=False)
    return _finish(fig, ax, title)


def model_agreement(card: pd.DataFrame, title: str):
    """Linear-model adjusted CSAT against the ordinal model's expected-CSAT effect."""
    fig, ax = _axes(5.5, 5)
    colors = np.where(card["rankable"], "#2166ac", "#bdbdbd")
    ax.scatter(card["csat_adjusted"] - card["csat_adjusted"].mean(), card["csat_ordinal_effect"], s=14, c=colors)
    ax.axline((0, 0), slope=1, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("Linear model: agent effect on CSAT")
    ax.set_ylabel("Ordinal model: effect on expected CSAT")
    return _finish(fig, ax, title)
