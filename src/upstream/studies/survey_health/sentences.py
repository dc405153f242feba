"""Key findings of the survey_health study."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from ...analysis.nonresponse import TippingPoint
from ...analysis.screen import CALIBRATED_ORDINARY_RATE, DEFAULT_Z, ScreenResult
from ...data.frames import CONTACT_MIX
from ...reporting.sentences.common import MIX_LABELS, POINTS, Units, listing, pct, pct_interval, verb


def response_sentences(rates: pd.DataFrame, response) -> list[str]:
    """How many invitations were answered, and who answers (the strongest response-model terms)."""
    overall = rates.loc[("overall", "all")]
    out = [f"{pct(overall['rate'])} of {int(overall['invitations']):,} survey invitations were answered "
           f"(95% interval {pct_interval(overall['lower'], overall['upper'])}), with or without a CSAT score (a "
           "reply may answer only the NPS question or leave only a comment)."]
    coef = response.propensity.coef_table.set_index("term")
    sig = coef[(coef.index != "Intercept") & (coef["p_value"] < 0.001)]
    if len(sig):
        top = sig.reindex(sig["estimate"].abs().sort_values(ascending=False).index).head(3)
        parts = [f"{response.describe_term(t)} (odds ×{r['odds_ratio']:.2f})" for t, r in top.iterrows()]
        out.append("Who answers is not random: among contacts, the reply odds differ most for "
                   + "; ".join(parts) + ".")
    return out


def nps_sentence(nps_all) -> str:
    if nps_all.n == 0:
        return "No reply carries an NPS score, so NPS cannot be estimated from these data."
    lo, hi = nps_all.interval(method="adjusted-wald")
    return f"NPS is {nps_all.nps:+.0f} (95% interval {lo:+.0f} to {hi:+.0f}, adjusted Wald) from {nps_all.n:,} replies."


def screen_rule(screen: ScreenResult) -> str:
    """The screen's flag rule in words: each test's one-sided threshold and, when several tests ran, the chance
    of a flag they share for an ordinary agent (``analysis.screen.per_test_z``)."""
    z, n_tests = screen.z, screen.n_tests
    if n_tests <= 1:
        return f"one-sided z > {z:g}"
    if z == DEFAULT_Z:           # the calibrated default: Φ(−z) is a bound, the simulated rate is what it does
        return (f"one-sided z > {screen.z_test:.2f} on each of {n_tests} tests, at most a "
                f"{pct(float(norm.sf(z)))} chance of a flag for an ordinary agent in all, "
                f"{pct(CALIBRATED_ORDINARY_RATE)} on simulated operations")
    return (f"one-sided z > {screen.z_test:.2f} on each of {n_tests} tests, a {pct(float(norm.sf(z)))} "
            "chance of a flag for an ordinary agent in all")


def screen_sentence(screen: ScreenResult) -> str:
    """Agents under review, and the ordinary between-agent variation the screen allowed for (the parts it
    could not run say so in ``screen.skipped``)."""
    table = screen.table
    few = int(table["flag_invitations"].sum())
    both = int((table["flag_combined"] & ~table["flag_invitations"]).sum())
    n = int(table["flagged"].sum())
    sds = [f"{np.sqrt(tau2):.2f} in the log-odds of {what}"
           for tau2, what in ((screen.tau2_invitation, "sending a survey"), (screen.tau2_response, "a reply"))
           if np.isfinite(tau2)]
    if not sds and not n:
        return ("The survey screen could test neither invitations nor replies in these data, so no agent is under "
                "survey review.")
    ordinary = f"an ordinary between-agent SD of {' and '.join(sds)}"
    if not n:
        return ("No agent's invitation or response rate is implausible against its own expected rate, allowing for "
                f"{ordinary}.")
    parts = ([f"{few} send{'s' if few == 1 else ''} fewer surveys than their own contacts predict (overall or "
              "after unresolved, escalated or repeated contacts)"] if few else []) + (
        [f"{both} combine{'s' if both == 1 else ''} fewer surveys with more replies than predicted, each moderate "
         "alone"] if both else [])
    return (f"{n} of the {len(table)} agents with contacts {verb(n, 'is', 'are')} under review for their survey "
            f"process: {listing(parts)}, beyond {ordinary} "
            f"({screen_rule(screen)}). They get no verdict until the process is reviewed; more replies "
            "alone do not put an agent under review.")


def weighting_sentence(scores: pd.DataFrame, shifts: pd.DataFrame, units: Units = POINTS,
                       features: Sequence[str] = CONTACT_MIX, every_answered: bool = False) -> str:
    """How far weighting for who answers moves mean CSAT and agent effects, and what it can correct: the
    response model's `features` that are also in the agent model's contact mix are already adjusted for, so
    for agent effects the weights only reweight replies across them; only the other features can move an
    agent's effect, and no feature corrects non-response that depends on satisfaction itself."""
    if every_answered:
        return "Every invitation was answered, so there is no non-response to weight for."
    s = scores.iloc[0]
    move = float(shifts["shift"].abs().median())
    se = float(shifts["cond_se"].median())
    verdict = ("a small fraction of their own uncertainty" if move < 0.25 * se
               else "enough to matter against their own uncertainty")
    mean = "average CSAT" if units.scale == 1 else units.outcome
    adjusted = [_feature(f) for f in features if f in CONTACT_MIX]
    outside = [_feature(f) for f in features if f not in CONTACT_MIX]
    text = (f"Weighting replies for who answers (inverse response propensity on {listing([*adjusted, *outside])}) "
            f"moves {mean} from {units.scale * s['csat']:.{units.digits + 1}f} to "
            f"{units.scale * s['csat_weighted']:.{units.digits + 1}f} "
            f"and agent effects by a median {units.size(move)}, {verdict} (median SE {se:.3f}). ")
    if adjusted and outside:
        text += (f"The agent model already adjusts for {listing(adjusted)}, so for agent effects the weights only "
                 f"reweight replies across them and cannot move what that adjustment already did; an agent's effect "
                 f"can move only through {listing(outside)}")
    elif adjusted:
        text += (f"The weights use only {listing(adjusted)}, which the agent model already adjusts for, so for agent "
                 "effects they only reweight replies across them and cannot correct for who answers beyond the mix")
    else:
        text += f"An agent's effect can move only through {listing(outside)}"
    return text + "; no weighting can correct non-response that depends on satisfaction itself."


def _feature(name: str) -> str:
    return MIX_LABELS.get(name, name.replace("_", " ").replace("7d", "7 days"))


def tipping_sentences(tipping: TippingPoint, verdicts: pd.DataFrame, units: Units = POINTS,
                      max_false_sign: float = 0.05) -> list[str]:
    """The δ-adjusted pattern-mixture (tipping-point) results for mean CSAT and for agent verdicts. The reply
    share is per contact (never-invited contacts count), so it is not the share of invitations answered that
    the response sentence gives; `max_false_sign`: the verdicts' error bound, which the guidance on fragile
    verdicts refers to."""
    mean = "mean CSAT" if units.scale == 1 else units.outcome
    every = tipping.every_contact
    contacts = "the period's contacts" if every else "the surveyed contacts (the export lists no others)"
    over = "all contacts" if every else "all surveyed contacts"
    if tipping.response_share >= 1:
        out = [f"Every one of {contacts} has a CSAT reply, so there are no non-respondents whose scores could "
               "differ (a δ-adjusted pattern-mixture analysis needs some)."]
    else:
        out = [f"Only {pct(tipping.response_share)} of {contacts} have a CSAT reply, so if the others would "
               f"score just {units.size(tipping.delta_for_shift)} lower than replies from comparable contacts, "
               f"{mean} over {over} would be {units.size(tipping.shift)} lower than the replies say; the data "
               "cannot tell how large that difference is (a δ-adjusted pattern-mixture analysis)."]
    if len(verdicts):                   # an agent whose every contact has a reply has no tipping shift
        verdicts = verdicts[np.isfinite(verdicts["tipping_delta"].astype(float))]
    if len(verdicts):
        d = verdicts["tipping_delta"].abs()
        weakest = float(d.min())
        small, large = (0.25, 0.5) if units.scale == 1 else (0.05, 0.1)
        out.append(f"The most fragile of the {len(verdicts)} agent verdicts would no longer meet the study's rule if "
                   f"that agent's non-respondents scored {units.size(weakest)} differently from what the model "
                   "predicts for them; "
                   f"{int((d <= small).sum())} would fail at a shift of {units.size(small)} or less and "
                   f"{int((d <= large).sum())} at {units.size(large)} or less. The verdicts' 'at least "
                   f"{1 - max_false_sign:.0%} probability' assumes non-respondents score like comparable "
                   "respondents: a verdict that fails at a small shift is a reason to look closer (a QA review), "
                   "not settled.")
    return out
