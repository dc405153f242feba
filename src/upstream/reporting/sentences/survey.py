"""Key findings of the survey_health study."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .common import POINTS, Units, listing, pct, pct_interval


def response_sentences(rates: pd.DataFrame, response) -> list[str]:
    """How many invitations were answered, and who answers (the strongest response-model terms)."""
    overall = rates.loc[("overall", "all")]
    out = [f"{pct(overall['rate'])} of {int(overall['invitations']):,} survey invitations were answered "
           f"(95% interval {pct_interval(overall['lower'], overall['upper'])})."]
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


def screen_sentence(screen: pd.DataFrame) -> str:
    """Agents under review, and the ordinary between-agent variation the screen allowed for (the parts it
    could not run say so in ``screen.attrs["skipped"]``)."""
    few = int(screen["flag_invitations"].sum())
    both = int((screen["flag_combined"] & ~screen["flag_invitations"]).sum())
    n = int(screen["flagged"].sum())
    sds = [f"{np.sqrt(screen.attrs[key]):.2f} in the log-odds of {what}"
           for key, what in (("tau2_invitation", "sending a survey"), ("tau2_response", "a reply"))
           if np.isfinite(screen.attrs.get(key, np.nan))]
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
    return (f"{n} of {len(screen)} agents' survey process is under review: {listing(parts)}, beyond {ordinary} "
            f"(one-sided z > {screen.attrs['z']:g}). They get no verdict until the process is reviewed; more replies "
            "alone do not put an agent under review.")


def weighting_sentence(scores: pd.DataFrame, shifts: pd.DataFrame, units: Units = POINTS,
                       every_answered: bool = False) -> str:
    if every_answered:
        return "Every invitation was answered, so there is no non-response to weight for."
    s = scores.iloc[0]
    move = float(shifts["shift"].abs().median())
    se = float(shifts["cond_se"].median())
    verdict = ("a small fraction of their own uncertainty" if move < 0.25 * se
               else "enough to matter against their own uncertainty")
    mean = "average CSAT" if units.scale == 1 else units.outcome
    return (f"Weighting replies for who answers (inverse response propensity on contact features) moves {mean} "
            f"from {units.scale * s['csat']:.{units.digits + 1}f} to "
            f"{units.scale * s['csat_weighted']:.{units.digits + 1}f} "
            f"and agent effects by a median {units.size(move)}, "
            f"{verdict} (median SE {se:.3f}); weighting cannot correct non-response that depends on satisfaction "
            "itself.")


def tipping_sentences(tipping: dict, verdicts: pd.DataFrame, units: Units = POINTS) -> list[str]:
    """The δ-adjusted pattern-mixture (tipping-point) results for mean CSAT and for agent verdicts."""
    mean = "mean CSAT" if units.scale == 1 else units.outcome
    if not np.isfinite(tipping["delta_for_shift"]):
        return [f"Every invitation has a CSAT reply, so non-response cannot move {mean} and no agent verdict rests on "
                "unanswered invitations."]
    out = [f"Only {pct(tipping['response_share'])} of invitations have a CSAT reply, so if the others would score "
           f"just {units.size(tipping['delta_for_shift'])} lower than replies from comparable contacts, {mean} over "
           f"all surveyed contacts would be {units.size(tipping['shift'])} lower than the replies say; the data cannot "
           "tell how large that difference is (a δ-adjusted pattern-mixture analysis)."]
    verdicts = verdicts[np.isfinite(verdicts["tipping_delta"].astype(float))]
    if len(verdicts):
        d = verdicts["tipping_delta"].abs()
        weakest = float(d.min())
        small, large = (0.25, 0.5) if units.scale == 1 else (0.05, 0.1)
        out.append(f"The most fragile of the {len(verdicts)} agent verdicts would no longer hold if that agent's "
                   f"non-respondents scored {units.size(weakest)} differently from what the model predicts for them; "
                   f"{int((d <= small).sum())} would fail at a shift of {units.size(small)} or less and "
                   f"{int((d <= large).sum())} at {units.size(large)} or less.")
    return out
