"""Figures of the qa_sample study."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...analysis.verdicts import UNDER_REVIEW
from ...reporting.plots.common import PALETTE, axes, finish


def reliability_gain(plan: pd.DataFrame, title: str, threshold: float):
    """Each agent's reliability now and after the planned reviews, ordered by reliability now; agents under
    survey review in orange; the dashed line is the reliability `threshold`."""
    p = plan.sort_values("reliability")
    fig, ax = axes(8, 4.5)
    x = np.arange(len(p))
    colour = np.where(p["survey_flag"], PALETTE[UNDER_REVIEW], "#2166ac")
    ax.vlines(x, p["reliability"], p["reliability_after"], color=colour, linewidth=1.2)
    ax.scatter(x, p["reliability"], s=8, color="#9e9e9e", zorder=3, label="now")
    got = p["reviews"] > 0
    ax.scatter(x[got], p.loc[got, "reliability_after"], s=14, color=colour[got.to_numpy()], zorder=4,
               label="after the reviews")
    ax.axhline(threshold, color="black", linestyle="--", linewidth=0.8)
    ax.set_xticks([])
    ax.set_xlabel(f"{len(p)} agents, ordered by reliability now (orange: survey process under review)")
    ax.set_ylabel("Reliability of the agent's estimate")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return finish(fig, ax, title)
