"""Plain-language sentences generated from a study's numbers (for the "Key findings" sections)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.agents import NOT_RANKABLE


def pct(x: float) -> str:
    """A share as a percentage: one decimal below 10% (0.0912 → '9.1%'), whole above (0.413 → '41%')."""
    v = 100 * x
    return f"{v:.1f}%" if abs(v) < 10 else f"{v:.0f}%"


def pct_interval(lo: float, hi: float) -> str:
    """'4%–7%', or with one decimal when whole percentages would hide the width ('14.6%–15.4%')."""
    a, b = pct(lo), pct(hi)
    if a == b:
        return f"{100 * lo:.1f}%–{100 * hi:.1f}%"
    return f"{a}–{b}"


MIX_LABELS = {"policy": "policy", "product": "product", "channel": "channel", "issue_type": "issue type"}


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def variance_sentence(shares: pd.DataFrame, outcome: str = "CSAT", mix=("policy", "product", "channel", "issue_type")) -> str:
    a, m, u = shares.loc["agents"], shares.loc["contact mix"], shares.loc["unexplained"]
    parts = _listing([MIX_LABELS.get(v, v.replace("_", " ")) for v in mix])
    return (f"About {pct(a['share'])} of the variation in {outcome} (95% interval {pct_interval(a['lower'], a['upper'])}) "
            f"is due to differences between agents; {pct(m['share'])} ({pct_interval(m['lower'], m['upper'])}) is "
            f"explained by the contact mix they were given — {parts}; "
            f"the remaining {pct(u['share'])} varies from contact to contact in ways neither explains.")


def mix_part_sentence(shares: pd.DataFrame, parts=("policy", "product", "channel", "issue_type")) -> str:
    present = [p for p in parts if p in shares.index]
    if not present:
        return ""
    detectable = [p for p in present if shares.loc[p, "p_value"] < 0.05] if "p_value" in shares else present
    if not detectable:
        return (f"None of {_listing([MIX_LABELS.get(p, p) for p in present])} has a detectable effect on the score "
                "(joint Wald tests, p ≥ 0.05).")
    top = max(detectable, key=lambda p: shares.loc[p, "share"])
    agents = shares.loc["agents", "share"]
    ratio = shares.loc[top, "share"] / agents if agents > 0 else np.inf
    compare = ("while differences between agents are not detectable" if not np.isfinite(ratio)
               else f"{ratio:.1f} times as much as differences between agents" if ratio >= 1.15
               else "about as much as differences between agents" if ratio > 0.87
               else "less than differences between agents")
    label = MIX_LABELS.get(top, top.replace("_", " "))
    return (f"Of the contact mix, {label} matters most: it accounts for {pct(shares.loc[top, 'share'])} "
            f"({pct_interval(shares.loc[top, 'lower'], shares.loc[top, 'upper'])}) of the variation, {compare}.")


def worst_levels_sentence(effects: pd.DataFrame, variable: str, outcome: str = "CSAT", k: int = 2) -> str:
    """Levels whose whole family-wise (Bonferroni) interval lies below the average contact."""
    label = MIX_LABELS.get(variable, variable.replace("_", " "))
    bad = effects[effects["upper_adj"] < 0].nsmallest(k, "effect")
    if bad.empty:
        return (f"No {label} lowers {outcome} below the average contact by more than chance would allow across "
                f"{effects['effect'].notna().sum()} {label} levels.")
    parts = [f"'{lvl}' ({row['effect']:+.2f} points, 95% CI {row['lower']:+.2f} to {row['upper']:+.2f})"
             for lvl, row in bad.iterrows()]
    return (f"Contacts governed by {' and '.join(parts)} score lower than the average contact with the agent held "
            f"fixed — significant after adjusting for the {effects['effect'].notna().sum()} {label} levels compared: "
            f"that is the {label}, not the agent.")


def agent_verdict_sentence(effects: pd.DataFrame, threshold: float, singular: bool = False) -> str:
    n = len(effects)
    if singular:
        return (f"Once contact mix is accounted for, the {n} agents with survey replies show no detectable differences "
                "from one another (the agent variance is estimated at zero): no agent can be ranked on these replies.")
    counts = effects["verdict"].value_counts()
    above = int(counts.get("above average", 0))
    below = int(counts.get("below average", 0))
    unranked = int(counts.get(NOT_RANKABLE, 0))
    ranked = n - unranked
    return (f"Of {n} agents with survey replies, {above + below} differ from the average agent once contact mix is "
            f"accounted for ({above} above, {below} below); the other {ranked - above - below} rankable agents cannot "
            f"be told apart from average, and {unranked} have too few replies to rank (reliability below {threshold:g}).")


def _corr_ci(x, y) -> tuple[float, float, float]:
    """Pearson r with a Fisher-z 95% interval."""
    r = float(np.corrcoef(x, y)[0, 1])
    n = len(x)
    if n < 4 or not np.isfinite(r):
        return r, np.nan, np.nan
    z, se = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1 / np.sqrt(n - 3)
    return r, float(np.tanh(z - 1.96 * se)), float(np.tanh(z + 1.96 * se))


def rank_shift_sentence(shift: dict, effects: pd.DataFrame) -> str:
    k = shift["bottom_size"]
    if k == 0:
        text = (f"Only {shift['n_rankable']} agents are rankable, too few to compare raw and adjusted bottom groups.")
    else:
        moved = len(shift["raw_bottom_not_adjusted"])
        text = (f"Ranking by raw average would put {moved} of the {k} agents in the bottom {shift['fraction']:.0%} who "
                f"are not there once contact mix is accounted for (rank correlation raw vs adjusted "
                f"{shift['spearman']:.2f}).")
    r = effects[effects["rankable"]]
    if "tenure_months" in r and len(r) >= 10:
        tenure = np.log1p(r["tenure_months"].astype(float))
        c_raw, lo_raw, hi_raw = _corr_ci(tenure, r["raw_score"])
        c_adj, lo_adj, hi_adj = _corr_ci(tenure, r["adjusted_score"])
        c_mix = _corr_ci(tenure, r["mix_expected"])[0] if "mix_expected" in r else np.nan
        text += (f" Tenure correlates {c_raw:+.2f} (95% CI {lo_raw:+.2f} to {hi_raw:+.2f}) with raw scores and "
                 f"{c_adj:+.2f} ({lo_adj:+.2f} to {hi_adj:+.2f}) with adjusted scores")
        if c_mix < -0.3 and c_adj - c_raw > 0.1:
            text += (f"; experienced agents are given harder contacts (tenure correlates {c_mix:+.2f} with their "
                     "contact mix's expected score), which raw averages hold against them.")
        else:
            text += "."
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
        parts = [f"{response.describe_term(t)} (odds ×{r['odds_ratio']:.2f})" for t, r in top.iterrows()]
        out.append("Who answers is not random: among contacts, the reply odds differ most for " + "; ".join(parts) + ".")
    lo, hi = nps_all.interval(method="adjusted-wald")
    out.append(f"NPS is {nps_all.nps:+.0f} (95% interval {lo:+.0f} to {hi:+.0f}) from {nps_all.n:,} replies.")
    flagged = screen[screen["flagged"]]
    few = int(screen["flag_invitations"].sum())
    many = int(screen["flag_response"].sum())
    out.append(f"{len(flagged)} agents' survey process looks implausible for their volume ({few} send too few surveys, "
               f"{many} get too many replies) — review how they offer the survey before trusting their scores."
               if len(flagged) else "No agent's invitation or response rate is implausible for their volume.")
    s = scores.iloc[0]
    move = float(shifts["shift"].abs().median())
    se = float(shifts["cond_se"].median())
    verdict = ("a small fraction of their own uncertainty" if move < 0.25 * se
               else "enough to matter against their own uncertainty")
    out.append(f"Weighting replies for who answers moves average CSAT from {s['csat']:.3f} to {s['csat_weighted']:.3f} "
               f"and agent effects by a median {move:.3f} points, {verdict} (median SE {se:.3f}). Weighting on contact "
               "features cannot correct non-response that depends on satisfaction itself, so that remains a caveat.")
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
        if rho >= 0.9:
            out.append(f"The ordinal model of CSAT ranks agents almost as the linear model does (rank correlation "
                       f"{rho:.2f}), so the scorecards do not hinge on averaging a 1–5 scale.")
        else:
            out.append(f"The ordinal model of CSAT ranks agents differently from the linear model (rank correlation "
                       f"{rho:.2f}): treat rankings built on average CSAT with caution.")
    return out
