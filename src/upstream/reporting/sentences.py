"""Plain-language sentences generated from a study's numbers (for the "Key findings" sections)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.verdicts import NOT_RANKABLE


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


def _points(x: float) -> str:
    return f"{x:+.2f}"


def variance_sentence(shares, mix=("policy", "product", "channel", "issue_type"), outcome: str = "CSAT") -> str:
    """Agents, contact mix, customers (when separated) and the rest, each with its interval."""
    t = shares.table
    a, m = t.loc["agents"], t.loc["contact mix"]
    sd, sd_lo, sd_hi = shares.agent_sd
    parts = _listing([MIX_LABELS.get(v, v.replace("_", " ")) for v in mix])
    text = (f"About {pct(a['share'])} of the variation in {outcome} (95% interval {pct_interval(a['lower'], a['upper'])}) "
            f"is due to differences between agents — agents' own effects have a standard deviation of {sd:.2f} "
            f"points ({sd_lo:.2f}–{sd_hi:.2f}); {pct(m['share'])} ({pct_interval(m['lower'], m['upper'])}) is "
            f"explained by the contact mix they were given ({parts})")
    if "customers" in t.index:
        c, r = t.loc["customers"], t.loc["contact to contact"]
        text += (f"; {pct(c['share'])} ({pct_interval(c['lower'], c['upper'])}) is due to customers who rate "
                 f"every contact higher or lower (repeat customers make this visible); the remaining "
                 f"{pct(r['share'])} varies from contact to contact.")
    else:
        u = t.loc["unexplained"]
        text += (f"; the remaining {pct(u['share'])} varies from contact to contact (customers rarely answer twice, so "
                 "a customer effect cannot be told apart from it).")
    return text


def mix_part_sentence(shares, top: str | None, versus: pd.Series | None) -> str:
    """The largest part of the contact mix, compared with agents only when the bootstrap interval of
    the difference of the two shares excludes zero."""
    if top is None:
        return ""
    t = shares.table
    label = MIX_LABELS.get(top, top.replace("_", " "))
    row = t.loc[top]
    text = (f"Of the contact mix, {label} matters most: it accounts for {pct(row['share'])} "
            f"({pct_interval(row['lower'], row['upper'])}) of the variation")
    if not versus["clear"]:
        return text + (f"; whether that is more or less than differences between agents cannot be told from these "
                       f"data (difference {100 * versus['estimate']:+.1f} points of share, 95% interval "
                       f"{100 * versus['lower']:+.1f} to {100 * versus['upper']:+.1f}).")
    more = "more" if versus["estimate"] > 0 else "less"
    return text + (f", {more} than differences between agents (difference {100 * versus['estimate']:+.1f} points of "
                   f"share, 95% interval {100 * versus['lower']:+.1f} to {100 * versus['upper']:+.1f}).")


def policy_sentence(policy: pd.DataFrame, outcome: str = "CSAT") -> str:
    """Every policy whose family-wise (Bonferroni) interval lies below zero, with that interval."""
    k = int(policy["effect"].notna().sum())
    bad = policy[policy["upper_adj"] < 0].sort_values("effect")
    if bad.empty:
        return (f"No policy lowers {outcome} below the average contact by more than chance allows across the {k} "
                "policies compared (family-wise 95% intervals).")
    parts = [f"'{lvl}' ({_points(row['effect'])} points, family-wise 95% interval {_points(row['lower_adj'])} to "
             f"{_points(row['upper_adj'])})" for lvl, row in bad.iterrows()]
    return (f"{len(bad)} of the {k} policies lower {outcome} against the average contact of the period with the agent "
            f"held fixed, after adjusting for the {k} compared: {_listing(parts)}.")


def policy_variation_sentences(policy: pd.DataFrame) -> list[str]:
    """Whether any policy's effect varies between agents (random-slope tests, Holm-adjusted), and
    the policies under which even the top quarter of agents score below the average contact."""
    out = []
    tested = policy.dropna(subset=["agent_variation_p"])
    varies = tested[tested["agent_variation_p"] < 0.05]
    if len(tested) and varies.empty:
        out.append(f"No policy's effect detectably varies between agents (random-slope tests of the {len(tested)} "
                   "policies with enough replies, Holm-adjusted p ≥ 0.05), so 'whoever handles it' holds as far as "
                   "these data can tell.")
    elif len(varies):
        parts = [f"'{lvl}' (SD across agents {row['slope_sd']:.2f} points, p = {_p(row['agent_variation_p'])})"
                 for lvl, row in varies.iterrows()]
        out.append(f"The effect of {_listing(parts)} varies between agents: some agents handle "
                   f"{'it' if len(varies) == 1 else 'them'} better, so part of that cost is the agent's.")
    floor = policy[(policy["top_quarter_upper_adj"] < 0) & (policy["upper_adj"] < 0)]
    if len(floor):
        parts = [f"'{lvl}' ({_points(row['top_quarter'])} points, family-wise interval up to "
                 f"{_points(row['top_quarter_upper_adj'])})" for lvl, row in floor.sort_values("top_quarter").iterrows()]
        out.append(f"Under {_listing(parts)}, even an agent better than three in four scores below the average "
                   "contact: no agent can fix that.")
    return out


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def verdict_sentence(effects: pd.DataFrame, params) -> str:
    """Counts of every verdict, the error-rate rule and the expected number of wrong verdicts."""
    counts = effects["verdict"].value_counts()
    n = len(effects)
    above, below = int(counts.get("above average", 0)), int(counts.get("below average", 0))
    review, few = int(counts.get("survey process under review", 0)), int(counts.get(NOT_RANKABLE, 0))
    neutral = int(counts.get("not distinguishable from average", 0))
    margin = params.practical_margin
    beyond = f"beyond ±{margin:.2f} points" if margin > 0 else "on that side of average"
    text = f"Of {n} agents with survey replies, "
    if review:
        text += f"{review} {'is' if review == 1 else 'are'} under review for their survey process and get no verdict; "
    text += (f"{few} have too few replies to rank (reliability below {params.reliability_threshold:g}). "
             f"{above} are above average and {below} below average, each with at least a "
             f"{1 - params.max_false_sign:.0%} probability of being {beyond}")
    if above + below:
        wrong = float(effects.loc[effects['verdict'].isin(['above average', 'below average']), 'lfsr'].sum())
        text += (f"; about {wrong:.1f} of these {above + below} verdicts can be expected to have the wrong sign "
                 "(the sum of their false sign rates)")
    return text + f". The other {neutral} rankable agents cannot be told apart from average."


def rank_shift_sentence(shift: dict) -> str:
    """How a raw-average bottom 10% breaks down: too few replies, contact mix, shrinkage, and the
    probability of truly being in the bottom 10%."""
    k = shift["bottom_size"]
    if k == 0:
        return f"Only {shift['n_agents']} agents have replies, too few to compare bottom groups."
    text = (f"A raw-average ranking of all {shift['n_agents']} agents puts {k} in its bottom "
            f"{shift['fraction']:.0%}: {shift['n_not_rankable']} of them have too few replies to be ranked at all")
    r = shift["n_rankable"]
    if r:
        text += (f"; of the other {r}, contact mix alone moves {shift['n_moved_by_mix']} out of the bottom group and "
                 f"shrinkage for few replies alone moves {shift['n_moved_by_shrinkage']}, and once both are accounted "
                 f"for {shift['n_unlikely']} of the {r} have less than even odds of truly being in the bottom "
                 f"{shift['fraction']:.0%}")
    if np.isfinite(shift["spearman"]):
        text += f" (rank correlation of raw and adjusted scores among rankable agents {shift['spearman']:.2f})"
    return text + "."


def tenure_sentence(effects: pd.DataFrame) -> str:
    """Tenure against raw and adjusted scores, and whether experienced agents get harder contacts."""
    r = effects[effects["rankable"] & ~effects["survey_flag"]]
    if "tenure_months" not in r or len(r) < 10:
        return ""
    tenure = np.log1p(r["tenure_months"].astype(float))
    c_raw, lo_raw, hi_raw = _corr_ci(tenure, r["raw_score"])
    c_adj, lo_adj, hi_adj = _corr_ci(tenure, r["adjusted_score"])
    c_mix, lo_mix, hi_mix = _corr_ci(tenure, r["mix_expected"])
    text = (f"Tenure correlates {c_raw:+.2f} (95% CI {lo_raw:+.2f} to {hi_raw:+.2f}) with raw scores and {c_adj:+.2f} "
            f"({lo_adj:+.2f} to {hi_adj:+.2f}) with adjusted scores")
    if hi_mix < 0:
        return text + (f"; experienced agents are given harder contacts (tenure correlates {c_mix:+.2f}, {lo_mix:+.2f} "
                       f"to {hi_mix:+.2f}, with their contact mix's expected score), which raw averages hold against "
                       "them.")
    return text + "."


def _corr_ci(x, y) -> tuple[float, float, float]:
    """Pearson r with a Fisher-z 95% interval."""
    r = float(np.corrcoef(x, y)[0, 1])
    n = len(x)
    if n < 4 or not np.isfinite(r):
        return r, np.nan, np.nan
    z, se = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1 / np.sqrt(n - 3)
    return r, float(np.tanh(z - 1.96 * se)), float(np.tanh(z + 1.96 * se))


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
