"""Plain-language sentences generated from a study's numbers (for the "Key findings" sections)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .agents import NOT_RANKABLE


def pct(x: float) -> str:
    """A share as a rounded percentage: 0.0912 → '9%', 0.004 → '0.4%'."""
    v = 100 * x
    return f"{v:.1f}%" if abs(v) < 1 else f"{v:.0f}%"


def pct_interval(lo: float, hi: float) -> str:
    """'4%–7%', or with one decimal when whole percentages would hide the width ('14.6%–15.4%')."""
    a, b = pct(lo), pct(hi)
    if a == b:
        return f"{100 * lo:.1f}%–{100 * hi:.1f}%"
    return f"{a}–{b}"


def variance_sentence(shares: pd.DataFrame, outcome: str = "CSAT") -> str:
    a, m, u = shares.loc["agents"], shares.loc["contact mix"], shares.loc["unexplained"]
    return (f"About {pct(a['share'])} of the variation in {outcome} (95% interval {pct_interval(a['lower'], a['upper'])}) "
            f"is due to differences between agents; {pct(m['share'])} ({pct_interval(m['lower'], m['upper'])}) is "
            f"explained by the contact mix they were given — policy, product, channel and issue type; "
            f"the remaining {pct(u['share'])} varies from contact to contact in ways neither explains.")


def mix_part_sentence(shares: pd.DataFrame, parts=("policy", "product", "channel", "issue_type")) -> str:
    present = [p for p in parts if p in shares.index]
    if not present:
        return ""
    ordered = sorted(present, key=lambda p: -shares.loc[p, "share"])
    top = ordered[0]
    agents = shares.loc["agents", "share"]
    ratio = shares.loc[top, "share"] / agents if agents > 0 else np.inf
    compare = (f"{ratio:.1f} times as much as differences between agents" if ratio >= 1.15
               else "about as much as differences between agents" if ratio > 0.87
               else "less than differences between agents")
    label = top.replace("_", " ")
    return (f"Of the contact mix, {label} matters most: it accounts for {pct(shares.loc[top, 'share'])} "
            f"({pct_interval(shares.loc[top, 'lower'], shares.loc[top, 'upper'])}) of the variation, {compare}.")


def worst_levels_sentence(effects: pd.DataFrame, variable: str, outcome: str = "CSAT", k: int = 2) -> str:
    bad = effects[effects["upper"] < 0].nsmallest(k, "effect")
    label = variable.replace("_", " ")
    if bad.empty:
        return f"No {label} lowers {outcome} clearly below the average contact."
    parts = [f"'{lvl}' ({row['effect']:+.2f} points, 95% CI {row['lower']:+.2f} to {row['upper']:+.2f})"
             for lvl, row in bad.iterrows()]
    return (f"Contacts governed by {' and '.join(parts)} score lower than the average contact whichever agent "
            f"handles them: that is the {label}, not the agent.")


def agent_verdict_sentence(effects: pd.DataFrame, threshold: float) -> str:
    counts = effects["verdict"].value_counts()
    n = len(effects)
    above = int(counts.get("above average", 0))
    below = int(counts.get("below average", 0))
    unranked = int(counts.get(NOT_RANKABLE, 0))
    ranked = n - unranked
    return (f"Of {n} agents with survey replies, {above + below} differ from the average agent once contact mix is "
            f"accounted for ({above} above, {below} below); the other {ranked - above - below} rankable agents cannot "
            f"be told apart from average, and {unranked} have too few replies to rank (reliability below {threshold:g}).")


def rank_shift_sentence(shift: dict, effects: pd.DataFrame) -> str:
    moved = len(shift["raw_bottom_not_adjusted"])
    k = shift["bottom_size"]
    text = (f"Ranking by raw average would put {moved} of the {k} agents in the bottom 10% who are not there once "
            f"contact mix is accounted for (rank correlation raw vs adjusted {shift['spearman']:.2f}).")
    if "tenure_months" in effects:
        r = effects[effects["rankable"]]
        tenure = np.log(r["tenure_months"].astype(float))
        c_raw = np.corrcoef(tenure, r["raw_score"])[0, 1]
        c_adj = np.corrcoef(tenure, r["adjusted_score"])[0, 1]
        if c_adj - c_raw > 0.05:
            text += (f" Experienced agents are the ones raw averages punish: tenure correlates {c_raw:+.2f} with raw "
                     f"scores but {c_adj:+.2f} with adjusted scores, because harder contacts are routed to them.")
    return text


def survey_sentences(rates: pd.DataFrame, response, scores: pd.DataFrame, nps_all, screen: pd.DataFrame,
                     shifts: pd.DataFrame) -> list[str]:
    """Key findings of the survey-health study."""
    overall = rates.loc[("overall", "all")]
    out = [f"{pct(overall['rate'])} of {int(overall['invitations']):,} survey invitations were answered "
           f"(95% interval {pct_interval(overall['lower'], overall['upper'])})."]
    coef = response.propensity.coef_table.set_index("term")
    sig = coef[(coef.index != "Intercept") & (coef["p_value"] < 0.001)]
    if len(sig):
        top = sig.reindex(sig["estimate"].abs().sort_values(ascending=False).index).head(3)
        parts = [f"{t.replace('_True', '').replace('_', ' ')} (odds ×{r['odds_ratio']:.2f})" for t, r in top.iterrows()]
        out.append("Who answers is not random: the reply odds differ most with " + ", ".join(parts) + ".")
    lo, hi = nps_all.interval(method="adjusted-wald")
    out.append(f"NPS is {nps_all.nps:+.0f} (95% interval {lo:+.0f} to {hi:+.0f}) from {nps_all.n:,} replies.")
    flagged = screen[screen["flagged"]]
    few = int(screen["flag_invitations"].sum())
    many = int(screen["flag_response"].sum())
    out.append(f"{len(flagged)} agents' survey process looks implausible for their volume ({few} send too few surveys, "
               f"{many} get too many replies) — review how they offer the survey before trusting their scores."
               if len(flagged) else "No agent's invitation or response rate is implausible for their volume.")
    s = scores.iloc[0]
    out.append(f"Weighting replies for who answers moves average CSAT from {s['csat']:.3f} to {s['csat_weighted']:.3f} "
               f"and agent effects by a median {shifts['shift'].abs().median():.3f} points: weighting on contact features "
               f"changes little, so non-response that depends on satisfaction itself stays a caveat.")
    return out


def scorecard_sentences(card: pd.DataFrame, threshold: float) -> list[str]:
    """Key findings of the agent-scorecard study."""
    n = len(card)
    rankable = card[card["rankable"]]
    out = [f"{len(rankable)} of {n} agents have enough replies to be ranked (reliability at least {threshold:g}); "
           f"the other {n - len(rankable)} are shown as 'not enough responses to rank'."]
    if len(rankable):
        width = (rankable["rank_upper"] - rankable["rank_lower"]).astype(float).median()
        out.append(f"Even among rankable agents a rank is uncertain: the median 95% rank interval spans {width:.0f} places.")
    small = card[card["n_responses"] < 20]
    if len(small) >= 3:
        out.append(f"Agents with fewer than 20 replies have raw top-box shares from {pct(small['top_box_raw'].min())} to "
                   f"{pct(small['top_box_raw'].max())}; after shrinkage the range is {pct(small['top_box_shrunken'].min())} "
                   f"to {pct(small['top_box_shrunken'].max())}.")
    both = card[["csat_adjusted", "csat_ordinal_effect"]].dropna()
    if len(both) > 2:
        rho = both.rank().corr().iloc[0, 1]
        out.append(f"The ordinal model of CSAT ranks agents almost exactly as the linear model does (rank correlation "
                   f"{rho:.2f}), so the scorecards do not hinge on averaging a 1–5 scale.")
    return out
