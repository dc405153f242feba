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


def _percentile(values: np.ndarray, cum: np.ndarray, q: float) -> float:
    """np.percentile (linear) of the data set in which sorted `values` occur with cumulative counts `cum`."""
    h = (cum[-1] - 1) * q / 100
    lo = int(np.floor(h))
    at = lambda k: values[np.searchsorted(cum, k, side="right")]  # noqa: E731 - the k-th smallest (0-based)
    return float(at(lo) + (h - lo) * (at(min(lo + 1, cum[-1] - 1)) - at(lo)))


def box_stats(values, counts, whis=(5, 95)) -> dict:
    """matplotlib's boxplot statistics (quartiles; whiskers at the data points inside the `whis` percentiles)
    of values that occur `counts` times, without expanding them."""
    order = np.argsort(values, kind="stable")
    v, cum = np.asarray(values, float)[order], np.cumsum(np.asarray(counts, np.int64)[order])
    q1, med, q3 = (_percentile(v, cum, q) for q in (25, 50, 75))
    low, high = _percentile(v, cum, whis[0]), _percentile(v, cum, whis[1])
    inside_high, inside_low = v[v <= high], v[v >= low]
    return {"med": med, "q1": q1, "q3": q3, "whislo": float(inside_low.min()) if len(inside_low) else q1,
            "whishi": float(inside_high.max()) if len(inside_high) else q3, "fliers": []}


def sentiment_by_score_counts(counts: pd.DataFrame, title: str):
    """``sentiment_by_score`` from the counts per sentiment value and CSAT score (data sets in SQL)."""
    scores = sorted(counts["csat"].dropna().astype(int).unique())
    parts = [counts[counts["csat"].astype(int) == s].groupby("sentiment")["n"].sum() for s in scores]
    fig, ax = axes(6.5, 4)
    ax.bxp([box_stats(p.index.to_numpy(float), p.to_numpy()) for p in parts], positions=np.arange(len(scores)),
           showfliers=False, widths=0.5)
    ax.set_xticks(np.arange(len(scores)), [f"{s}\n({int(p.sum())})" for s, p in zip(scores, parts)])
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
