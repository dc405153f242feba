"""How a raw-average ranking misleads, separated into its two causes.

A dashboard that ranks every agent with replies by raw average puts some agents in its bottom 10%.
For each of them `rank_shift` says why that may be wrong:

- too few replies: the agent is below the reliability threshold (not rankable at all);
- contact mix: the agent leaves the bottom group once the raw average is adjusted for the difficulty
  of the agent's contacts alone (raw − mix_expected + baseline, no shrinkage);
- shrinkage: the agent leaves the bottom group once the raw average is shrunk toward the mean in
  proportion to its unreliability (grand mean + reliability × (raw − grand mean), no mix adjustment);
- and, for rankable agents, the probability of truly being in the bottom 10% once both are accounted
  for (`p_bottom_decile`, from the bootstrap draws) — the adjusted bottom group is itself uncertain.
Agents whose survey process is under review are left out.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .results import AnalysisResult, result


def _bottom(scores: pd.Series, k: int) -> set:
    order = scores.to_frame("s").assign(_id=scores.index).sort_values(["s", "_id"]).index
    return set(order[:k])


@result
class RankShift(AnalysisResult):
    """Rank shift: why the agents in a raw-average bottom group may not belong there."""

    table: pd.DataFrame         # the raw bottom group, one row per agent (see ``rank_shift``), lowest first
    n_agents: int               # agents judged (with replies and no survey review)
    bottom_size: int            # agents in the raw bottom group (0: fewer than 10 agents to judge)
    fraction: float             # the bottom group's share of the judged agents
    n_not_rankable: int         # agents of the bottom group below the reliability threshold
    n_rankable: int             # and the others
    n_moved_by_mix: int         # rankable agents that leave the bottom group once adjusted for contact mix alone
    n_moved_by_shrinkage: int   # ... once shrunk toward the mean alone
    n_likely: int               # rankable agents with P(bottom group) ≥ 0.5
    n_unlikely: int             # ... and < 0.5
    spearman: float             # rank correlation of raw and adjusted scores among rankable agents (NaN: ≤ 2)
    n_under_review: int         # agents left out because their survey process is under review


def rank_shift(effects: pd.DataFrame, fraction: float = 0.1, baseline: float | None = None) -> RankShift:
    """The raw bottom group (``table``: one row per agent in it: raw_score, n_responses, rankable,
    moved_by_mix, moved_by_shrinkage, p_bottom_decile) and its counts (see ``RankShift``). With fewer than
    10 agents to judge (none, when every agent is under review) there is no bottom group."""
    judged = effects[~effects["survey_flag"].astype(bool)]
    m = len(judged)
    k = max(1, int(np.ceil(fraction * m - 1e-9))) if m >= 10 else 0
    if baseline is None:         # ``AgentEffects.baseline``; else recovered from the judged agents
        baseline = float(judged["adjusted_score"].mean() - judged["effect"].mean())
    raw = judged["raw_score"]
    mix_only = raw - judged["mix_expected"] + baseline
    weights = judged["n_responses"].to_numpy(dtype=float)
    grand = float(np.average(raw, weights=weights)) if weights.sum() > 0 else np.nan
    shrunk_only = grand + judged["reliability"] * (raw - grand)
    raw_bottom, mix_bottom, shrunk_bottom = _bottom(raw, k), _bottom(mix_only, k), _bottom(shrunk_only, k)
    rows = judged.loc[sorted(raw_bottom, key=lambda a: (raw[a], a))]
    table = pd.DataFrame({
        "raw_score": rows["raw_score"], "n_responses": rows["n_responses"], "rankable": rows["rankable"],
        "moved_by_mix": [a not in mix_bottom for a in rows.index],
        "moved_by_shrinkage": [a not in shrunk_bottom for a in rows.index],
        "p_bottom_decile": rows["p_bottom_decile"]}, index=rows.index)
    rankable = table[table["rankable"]]
    ranked = judged[judged["rankable"]]
    rho = stats.spearmanr(ranked["raw_score"], ranked["effect"]).statistic if len(ranked) > 2 else np.nan
    return RankShift(table=table, n_agents=m, bottom_size=k, fraction=fraction,
                     n_not_rankable=int((~table["rankable"]).sum()), n_rankable=len(rankable),
                     n_moved_by_mix=int(rankable["moved_by_mix"].sum()),
                     n_moved_by_shrinkage=int(rankable["moved_by_shrinkage"].sum()),
                     n_likely=int((rankable["p_bottom_decile"] >= 0.5).sum()),
                     n_unlikely=int((rankable["p_bottom_decile"] < 0.5).sum()),
                     spearman=float(rho), n_under_review=int(len(effects) - m))
