"""Key findings of the agent_vs_system study: variance shares, the contact mix against agents,
policies, verdicts, raw rankings and tenure. Each sentence is computed from the study's tables."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...analysis.ranking import RankShift
from ...analysis.verdicts import NOT_RANKABLE
from ...reporting.sentences.common import (
    MIX_LABELS,
    POINTS,
    Units,
    expected_people,
    listing,
    p_text,
    pct,
    pct_interval,
    verb,
)


def variance_sentence(shares, mix=("policy", "product", "channel", "issue_type"), units: Units = POINTS,
                      customers_fitted: bool = True) -> str:
    """Agents, contact mix, customers (when separated) and the rest, each with its interval.
    `customers_fitted` False: the model had no customer term to try (a fit from per-agent sums)."""
    t = shares.table
    a, m = t.loc["agents"], t.loc["contact mix"]
    sd, sd_lo, sd_hi = shares.agent_sd
    parts = listing([MIX_LABELS.get(v, v.replace("_", " ")) for v in mix])
    text = (f"About {pct(a['share'])} of the variation in {units.outcome} (95% interval "
            f"{pct_interval(a['lower'], a['upper'])}) is due to differences between agents — agents' own effects "
            "have a "
            f"standard deviation of {sd:.2f} {units.sd_text} ({sd_lo:.2f}–{sd_hi:.2f}); {pct(m['share'])} "
            f"({pct_interval(m['lower'], m['upper'])}) is "
            f"explained by the contact mix they were given ({parts})")
    if "customers" in t.index:
        c, r = t.loc["customers"], t.loc["contact to contact"]
        text += (f"; {pct(c['share'])} ({pct_interval(c['lower'], c['upper'])}) is due to customers who rate "
                 f"every contact higher or lower (repeat customers make this visible); the remaining "
                 f"{pct(r['share'])} varies from contact to contact.")
    elif shares.method == "simulation":
        u = t.loc["unexplained"]
        text += (f"; the remaining {pct(u['share'])} varies from contact to contact (shares on the model's latent "
                 "logistic scale).")
    elif not customers_fitted:
        u = t.loc["unexplained"]
        text += (f"; the remaining {pct(u['share'])} varies from contact to contact (at this size no customer effect "
                 "is fitted, so customers who rate every contact higher or lower are part of it).")
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


def policy_sentence(policy: pd.DataFrame, units: Units = POINTS) -> str:
    """Every policy whose family-wise (Bonferroni) interval lies below zero, with that interval."""
    k = int(policy["effect"].notna().sum())
    if k == 0:
        return ("This data set does not record which policy governed a contact (a single value), so policy effects "
                "cannot be estimated; map a tag or custom field to 'policy' when importing.")
    bad = policy[policy["upper_adj"] < 0].sort_values("effect")
    if bad.empty:
        return (f"No policy lowers {units.outcome} below the average contact by more than chance allows across the {k} "
                "policies compared (family-wise 95% intervals).")
    parts = [f"'{lvl}' ({units.effect(row['effect'])}, family-wise 95% interval {units.value(row['lower_adj'])} to "
             f"{units.value(row['upper_adj'])})" for lvl, row in bad.iterrows()]
    return (f"{len(bad)} of the {k} policies lower {units.outcome} against the average contact of the period with "
            "the agent "
            f"held fixed, after adjusting for the {k} compared: {listing(parts)}.")


def policy_variation_sentences(policy: pd.DataFrame, units: Units = POINTS) -> list[str]:
    """Whether any policy's effect varies between agents (random-slope tests, Holm-adjusted), and the
    policies under which even an agent at the 75th percentile of agents (`top_quarter`, with the policy's own
    variation between agents where it was found) scores below the average contact — a claim about most
    agents, not the best ones."""
    out = []
    tested = policy.dropna(subset=["agent_variation_p"]) if "agent_variation_p" in policy else policy.iloc[:0]
    varies = tested[tested["agent_variation_p"] < 0.05]
    if len(tested) and varies.empty:
        out.append(f"No policy's effect detectably varies between agents (random-slope tests of the {len(tested)} "
                   "policies with enough replies, Holm-adjusted p ≥ 0.05), so 'whoever handles it' holds as far as "
                   "these data can tell.")
    elif len(varies):
        parts = [f"'{lvl}' (SD across agents {units.size(row['slope_sd'])}, p = {p_text(row['agent_variation_p'])})"
                 for lvl, row in varies.iterrows()]
        out.append(f"The effect of {listing(parts)} varies between agents: some agents handle "
                   f"{'it' if len(varies) == 1 else 'them'} better, so part of that cost is the agent's.")
    floor = policy[(policy["top_quarter_upper_adj"] < 0) & (policy["upper_adj"] < 0)]
    if len(floor):
        parts = [f"'{lvl}' ({units.effect(row['top_quarter'])}, family-wise interval up to "
                 f"{units.value(row['top_quarter_upper_adj'])}{_agent_sd(row, units)})"
                 for lvl, row in floor.sort_values("top_quarter").iterrows()]
        out.append(f"Under {listing(parts)}, even an agent better than three in four scores below the average "
                   "contact: most agents cannot make up for it, though the best few may.")
    return out


def _agent_sd(row, units: Units) -> str:
    """The agents' SD under the policy that the 75th-percentile agent was computed from (τ, or the policy's own
    where its effect varies between agents), when the table has it."""
    sd = row.get("top_quarter_agent_sd", np.nan)
    return "" if pd.isna(sd) else f"; agents' SD under it {units.size(sd)}"


def verdict_sentence(effects: pd.DataFrame, params, singular: bool = False, units: Units = POINTS,
                     margin: float | None = None) -> str:
    """Counts of every verdict, the error-rate rule and the expected number of wrong verdicts; with a
    zero agent variance (`singular`), that no agent can be told apart from any other. `margin`: the verdicts'
    δ (``AgentEffects.practical_margin``; default the parameters' own)."""
    counts = effects["verdict"].value_counts()
    n = len(effects)
    if singular:
        return (f"Once contact mix is accounted for, the {n} agents with survey replies show no detectable differences "
                "from one another (the agent variance is estimated at zero): no agent can be ranked on these replies.")
    above, below = int(counts.get("above average", 0)), int(counts.get("below average", 0))
    review, few = int(counts.get("survey process under review", 0)), int(counts.get(NOT_RANKABLE, 0))
    neutral = int(counts.get("not distinguishable from average", 0))
    margin = (params.practical_margin or 0.0) if margin is None else margin
    beyond = f"beyond ±{units.size(margin)}" if margin > 0 else "on that side of average"
    rankable = above + below + neutral
    text = f"Of the {n} agents with CSAT replies, "
    if review:
        text += (f"{review} {verb(review, 'is', 'are')} under review for their survey process and "
                 f"{verb(review, 'gets', 'get')} no verdict; ")
    text += (f"{few} {verb(few, 'has', 'have')} too few replies to rank (reliability below "
             f"{params.reliability_threshold:g}), which leaves {rankable} rankable. Of these, {above} "
             f"{verb(above, 'is', 'are')} above average and {below} below average, each with at least a "
             f"{1 - params.max_false_sign:.0%} probability of being {beyond}")
    if above + below:
        wrong = float(effects.loc[effects['verdict'].isin(['above average', 'below average']), 'lfsr'].sum())
        text += (f"; {expected_people(wrong, above + below, 'verdicts', 'the wrong sign')} (the sum of their false "
                 "sign rates; that count assumes the model is right — that who answers depends on the contact mix "
                 "alone — and response that depends on the score can make more wrong)")
    return text + f". The other {neutral} cannot be told apart from average."


def rank_shift_sentence(shift: RankShift) -> str:
    """How a raw-average bottom 10% breaks down: too few replies, contact mix, shrinkage, and the
    probability of truly being in the bottom 10%."""
    k = shift.bottom_size
    review = shift.n_under_review
    if k == 0 and review and not shift.n_agents:
        return (f"Every agent's survey process is under review ({review}), so no raw-average ranking is compared "
                "with the adjusted one.")
    if k == 0:
        outside = " outside survey review" if review else ""
        return f"Only {shift.n_agents} agents{outside} have replies, too few to compare bottom groups."
    few = shift.n_not_rankable
    text = (f"A raw-average ranking of the {shift.n_agents} agents with CSAT replies and no survey review puts {k} "
            f"in its bottom {shift.fraction:.0%}: {few} of them {verb(few, 'has', 'have')} too few replies to be "
            "ranked at all")
    r = shift.n_rankable
    if r:
        text += (f"; of the other {r}, contact mix alone moves {shift.n_moved_by_mix} out of the bottom group and "
                 f"shrinkage for few replies alone moves {shift.n_moved_by_shrinkage}, and once both are accounted "
                 f"for {shift.n_unlikely} of the {r} {verb(shift.n_unlikely, 'has', 'have')} less than even "
                 "odds of truly being in the bottom "
                 f"{shift.fraction:.0%}")
    if np.isfinite(shift.spearman):
        text += f" (rank correlation of raw and adjusted scores among rankable agents {shift.spearman:.2f})"
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




def attribution_sentence(attribution) -> str:
    """Say so when ratings sit with the agent assigned at export time rather than when the customer rated."""
    if attribution is None or attribution.rule != "export_time_assignee":
        return ""
    return ("Ratings are credited to the agent assigned when the data were exported, not when the customer rated "
            "(the export does not record the rating-time agent): a contact reassigned after its rating counts for the "
            "later agent, so agent verdicts may credit or blame the wrong person.")
