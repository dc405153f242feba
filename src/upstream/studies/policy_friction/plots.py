"""Figures of the policy_friction study."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...reporting.plots.common import axes, finish


def outcome_effects(effects: pd.DataFrame, title: str, xlabel: str):
    """One outcome's level effects against the average contact with family-wise 95% intervals; red
    where the interval lies above 0 (for a rate that is bad: more repeats, more escalations)."""
    e = effects.sort_values("effect")
    fig, ax = axes(7, 0.35 * len(e) + 1.2)
    y = np.arange(len(e))
    colors = np.where(e["lower_adj"] > 0, "#b2182b", np.where(e["upper_adj"] < 0, "#1b7837", "#4d4d4d"))
    ax.hlines(y, e["lower_adj"], e["upper_adj"], colors=colors)
    ax.scatter(e["effect"], y, c=colors, zorder=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, e.index)
    ax.set_xlabel(xlabel)
    return finish(fig, ax, title, left=True)


def credit_bands(bands: pd.DataFrame, title: str):
    """Mean CSAT of credited contacts by band of amount (the cap as its own band), 95% intervals; the
    bar under each point is the band's number of contacts."""
    b = bands.reset_index()
    fig, ax = axes(7, 4)
    x = np.arange(len(b))
    ax.errorbar(x, b["csat"], yerr=[b["csat"] - b["lower"], b["upper"] - b["csat"]], fmt="o", color="#2166ac",
                capsize=3)
    ax.set_xticks(x, b["band"], rotation=20, fontsize=8)
    ax.set_ylabel("Mean CSAT of replies, 95% interval")
    ax.set_xlabel("Credit issued (band of amount)")
    twin = ax.twinx()
    twin.bar(x, b["contacts"], color="#d9d9d9", alpha=0.6, zorder=0)
    twin.set_ylabel("Credited contacts")
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
    return finish(fig, ax, title)
