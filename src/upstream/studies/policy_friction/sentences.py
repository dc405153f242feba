"""Key findings of the policy_friction study: NPS, repeat contacts and escalation by policy, the goodwill-credit
cap and dose–response, and the words that tie comments to policies. (CSAT by policy uses the agent_vs_system
sentence, ``agents.policy_sentence``.) Each sentence is computed from the study's tables."""
from __future__ import annotations

import pandas as pd

from ...analysis.credit import DoseResponse, PileUp
from ...analysis.words import DistinctiveWords
from ...reporting.sentences.common import listing, pct, pct_interval, points


def _pp(x: float) -> str:
    return f"{x:+.1f}"


def nps_policy_sentence(nps: pd.DataFrame) -> str:
    """Policies whose NPS effect (NPS points, family-wise interval) lies below zero."""
    k = len(nps)
    bad = nps[nps["upper_adj"] < 0].sort_values("effect")
    if bad.empty:
        return (f"No policy lowers NPS below the average contact by more than chance allows across the {k} policies "
                "compared (family-wise 95% intervals).")
    parts = [f"'{lvl}' ({_pp(r['effect'])} NPS points, family-wise 95% interval {_pp(r['lower_adj'])} to "
             f"{_pp(r['upper_adj'])})" for lvl, r in bad.iterrows()]
    return (f"On NPS (promoters minus detractors, cumulative-logit model), {len(bad)} of the {k} policies cost points "
            f"against the average contact with the agent held fixed: {listing(parts)}.")


def repeat_sentence(repeat: pd.DataFrame) -> str:
    """The policy with the largest effect on repeat contacts within 7 days (percentage points) — called
    'more than any other policy' only when its family-wise interval lies above every other's — and every
    other policy that raises repeats beyond chance."""
    if repeat.empty:
        return ""
    r = repeat.sort_values("effect", ascending=False)
    top, name = r.iloc[0], r.index[0]
    if not top["lower_adj"] > 0:
        return (f"No policy raises repeat contacts within 7 days beyond chance with the agent held fixed "
                f"(largest: '{name}', {_pp(top['effect'])} percentage points, family-wise 95% interval "
                f"{_pp(top['lower_adj'])} to {_pp(top['upper_adj'])}).")
    clear = len(r) == 1 or top["lower_adj"] > r["upper_adj"].iloc[1:].max()
    rank = "more than any other policy" if clear else "the largest estimate, though not clearly above every other"
    text = (f"'{name}' raises the chance of a repeat contact within 7 days by {top['effect']:.1f} percentage points "
            f"against the average contact with the agent held fixed (family-wise 95% interval {top['lower_adj']:.1f} "
            f"to {top['upper_adj']:.1f}) — {rank}")
    others = r.iloc[1:][r.iloc[1:]["lower_adj"] > 0]
    if len(others):
        parts = [f"'{lvl}' ({_pp(x['effect'])}, {_pp(x['lower_adj'])} to {_pp(x['upper_adj'])})"
                 for lvl, x in others.iterrows()]
        return text + f"; {listing(parts)} also raise repeats beyond chance."
    return text + "; no other policy raises repeats beyond chance."


def escalation_sentence(escalation: pd.DataFrame) -> str:
    """Policies that raise the escalation rate beyond chance (family-wise), largest first."""
    up = escalation[escalation["lower_adj"] > 0].sort_values("effect", ascending=False)
    if up.empty:
        return ("No policy raises the escalation rate beyond chance with the agent held fixed (family-wise 95% "
                "intervals).")
    parts = [f"'{lvl}' ({_pp(r['effect'])} percentage points, family-wise 95% interval {_pp(r['lower_adj'])} to "
             f"{_pp(r['upper_adj'])})" for lvl, r in up.iterrows()]
    return (f"{len(up)} of the {len(escalation)} policies raise escalations against the average contact with the agent "
            f"held fixed: {listing(parts)}.")


def cap_sentence(pile: PileUp) -> str:
    """Whether credited amounts pile up at one value, and whether that value is a cap."""
    if not pile.n_credited:
        return "No contact in the period received goodwill credit."
    head = (f"{pct(pile.share)} of the {pile.n_credited:,} credited contacts (95% interval "
            f"{pct_interval(pile.share_lower, pile.share_upper)}) received exactly {pile.value:.2f}")
    if pile.is_cap:
        return (head + f", the largest amount issued — a cap: a smooth spread of amounts would put about "
                f"{pile.expected_count:.1f} contacts on any one value there, not {pile.count:,}.")
    if pile.point_mass:
        return (head + f", a pile-up at one value; {pct(pile.above_share)} received more, so it is a common amount "
                "rather than a cap.")
    return (f"Credited amounts show no pile-up at one value and so no cap: the most common amount, "
            f"{pile.value:.2f}, went to {pct(pile.share)} of the {pile.n_credited:,} credited contacts.")


def dose_sentence(dose: DoseResponse | None) -> str:
    """CSAT per doubling of the credit among credited contacts with a reply; 'rises'/'falls' only when
    the interval excludes 0."""
    d = dose.term("per_doubling") if dose is not None else None
    if d is None:
        return ""
    ci = f"95% interval {points(d['lower'])} to {points(d['upper'])}"
    if d["lower"] > 0 or d["upper"] < 0:
        verb = "rises" if d["estimate"] > 0 else "falls"
        return (f"Among the {dose.n:,} credited contacts with a CSAT reply, CSAT {verb} by {abs(d['estimate']):.2f} "
                f"points per doubling of the credit ({ci}), with policy, product, channel, issue type, escalation, "
                "resolution and the agent held fixed.")
    return (f"Among the {dose.n:,} credited contacts with a CSAT reply, CSAT shows no clear dose–response: "
            f"{points(d['estimate'])} points per doubling of the credit ({ci}).")


def cap_effect_sentence(dose: DoseResponse | None, near: pd.DataFrame | None) -> str:
    """Contacts at the cap against the dose–response line at the cap (i.e. against contacts just below it)."""
    c = dose.term("at_cap") if dose is not None else None
    if c is None or near is None:
        return ""
    at, below = near.loc["at cap"], near.loc["just below"]
    raw = (f"raw means {at['mean']:.2f} at the cap ({int(at['n'])} replies) and {below['mean']:.2f} in the "
           f"half-doubling just below it ({int(below['n'])})")
    ci = f"95% interval {points(c['lower'])} to {points(c['upper'])}"
    if c["upper"] < 0 or c["lower"] > 0:
        word = "lower" if c["estimate"] < 0 else "higher"
        return (f"Contacts at the cap score {abs(c['estimate']):.2f} points {word} than the dose–response line "
                f"predicts for that amount, that is than contacts just below the cap ({ci}; {raw}).")
    return (f"Contacts at the cap do not score detectably differently from contacts just below it: "
            f"{points(c['estimate'])} points against the dose–response line at the cap ({ci}; {raw}).")


def words_sentence(result: DistinctiveWords, per_policy: int = 3) -> str:
    """For each policy with distinctive words, its top ones with their z-scores; then how many have none."""
    words = result.table
    if words.empty:
        return ""
    hits = words[words["distinctive"]]
    groups = list(dict.fromkeys(words["group"]))
    named = [g for g in groups if g in set(hits["group"])]
    threshold, vocab = result.z_threshold, result.vocabulary
    if not named:
        return (f"No policy's comments use any word distinctively (z above {threshold:.2f}, the Bonferroni bound over "
                f"the {vocab:,}-word vocabulary).")
    parts = []
    for g in sorted(named, key=lambda g: -hits.loc[hits["group"] == g, "z"].max()):
        top = hits[hits["group"] == g].head(per_policy)
        parts.append(f"'{g}': " + ", ".join(f"'{w}' (z = {z:.1f})" for w, z in zip(top["word"], top["z"])))
    rest = len(groups) - len(named)
    return (f"Comments name the rules: the words that most distinguish each policy's comments from all others "
            f"(log-odds with an informative Dirichlet prior, z above {threshold:.2f}, the Bonferroni bound over the "
            f"{vocab:,}-word vocabulary) are {'; '.join(parts)}"
            + (f"; the comments under the other {rest} policies use no word distinctively." if rest else "."))
