"""Figures of the agent_scorecards study."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...reporting.plots.common import axes, finish


def shrinkage(card: pd.DataFrame, title: str):
    """Raw and shrunken top-box share against number of replies, one arrow per agent."""
    fig, ax = axes(7, 4.5)
    n = card["n_responses"]
    ax.scatter(n, 100 * card["top_box_raw"], s=12, color="#bdbdbd", label="raw")
    ax.scatter(n, 100 * card["top_box_shrunken"], s=12, color="#2166ac", label="shrunken")
    ax.vlines(n, 100 * card["top_box_raw"], 100 * card["top_box_shrunken"], color="#9ecae1", linewidth=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("Replies (log scale)")
    ax.set_ylabel("Top-box share (%)")
    ax.legend(fontsize=8, frameon=False)
    return finish(fig, ax, title)


def model_agreement(card: pd.DataFrame, title: str):
    """Linear-model adjusted CSAT against the ordinal model's expected-CSAT effect."""
    fig, ax = axes(5.5, 5)
    colors = np.where(card["rankable"], "#2166ac", "#bdbdbd")
    ax.scatter(card["csat_adjusted"] - card["csat_adjusted"].mean(), card["csat_ordinal_effect"], s=14, c=colors)
    ax.axline((0, 0), slope=1, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("Linear model: agent effect on CSAT")
    ax.set_ylabel("Ordinal model: effect on expected CSAT")
    return finish(fig, ax, title)
