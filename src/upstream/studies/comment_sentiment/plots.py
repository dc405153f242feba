"""Figures of the comment_sentiment study."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...reporting.plots.common import axes, finish


def sentiment_by_score(replies: pd.DataFrame, title: str):
    """Distribution of comment sentiment at each CSAT score (box: quartiles; whiskers: 5th–95th percentile)."""
    scores = sorted(replies["csat"].dropna().astype(int).unique())
    data = [replies.loc[replies["csat"].astype(float) == s, "sentiment"].dropna().to_numpy() for s in scores]
    fig, ax = axes(6.5, 4)
    ax.boxplot(data, positions=np.arange(len(scores)), whis=(5, 95), showfliers=False, widths=0.5)
    ax.set_xticks(np.arange(len(scores)), [f"{s}\n({len(d)})" for s, d in zip(scores, data)])
    ax.axhline(0, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xlabel("CSAT of the same reply (comments)")
    ax.set_ylabel("VADER compound sentiment (−1 to 1)")
    return finish(fig, ax, title)


def agent_agreement(agents: pd.DataFrame, title: str):
    """Each agent's CSAT effect (agent model) against its sentiment effect (sentiment model); agents whose
    customers write differently from how they score in red."""
    fig, ax = axes(6, 5)
    off = agents["disagrees"].astype(bool)
    ax.scatter(agents.loc[~off, "csat_effect"], agents.loc[~off, "sentiment_effect"], s=14, color="#4d4d4d",
               label="agree")
    if off.any():
        ax.scatter(agents.loc[off, "csat_effect"], agents.loc[off, "sentiment_effect"], s=30, color="#b2182b",
                   label="words and scores disagree")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("Agent's own effect on CSAT (points)")
    ax.set_ylabel("Agent's own effect on comment sentiment")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return finish(fig, ax, title)
