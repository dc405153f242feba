"""Funnel limits for comparing rates across agents (Spiegelhalter 2005, Stat Med 24:1185–1202):
normal or exact binomial limits, multiplicative over-dispersion from Winsorised z-scores, and the
survey-steering screen."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import as_binary, as_numbers, checked_counts, shown_values


def _z_label(z: float) -> str:
    return f"{z:g}"


def _exact_limit(n: np.ndarray, p0: float, prob: float) -> np.ndarray:
    """Spiegelhalter (2005) exact binomial limit for a proportion at tail probability ``prob``:
    r = the ``prob`` quantile of Binomial(n, p0) (smallest r with P(R ≤ r) ≥ prob),
    α = [P(R ≤ r) − prob] / [P(R ≤ r) − P(R ≤ r − 1)], limit = (r − α)/n."""
    r = stats.binom.ppf(prob, n, p0)
    F_r = stats.binom.cdf(r, n, p0)
    F_below = stats.binom.cdf(r - 1, n, p0)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = np.where(F_r > F_below, (F_r - prob) / (F_r - F_below), 0.0)
    return np.clip((r - alpha) / n, 0, 1)


def funnel_limits(n: Any, p0: float, z: float | Sequence[float] = (1.96, 3.09),
                  method: str = "normal") -> pd.DataFrame:
    """Funnel-plot control limits for a rate with target ``p0`` at each denominator ``n``.

    One row per n: ``n``, ``p0`` and ``lower_<z>``/``upper_<z>`` for each z (e.g. ``lower_1.96``,
    ``upper_3.09``; 1.96 ↔ 95%, 3.09 ↔ 99.8% two-sided). ``method="normal"``:
    p0 ± z·sqrt(p0(1 − p0)/n), clipped to [0, 1]. ``method="exact"``: binomial limits at tail
    probabilities Φ(−z) and Φ(z) with Spiegelhalter's (2005, Appendix) interpolation between
    attainable counts (see ``_exact_limit``), clipped to [0, 1].
    """
    if method not in ("normal", "exact"):
        raise ValueError(f"method must be 'normal' or 'exact', got {method!r}")
    if not (0 < p0 < 1):
        raise ValueError(f"p0 must be strictly between 0 and 1, got {p0!r}")
    m = as_numbers(n, "n")
    if np.isnan(m).any() or (m <= 0).any():
        bad = m[np.isnan(m) | (m <= 0)]
        raise ValueError(f"n must be > 0 for funnel limits; offending value(s): {shown_values(bad)}")
    zs = [float(v) for v in np.atleast_1d(z)]
    out = pd.DataFrame({"n": m, "p0": p0})
    for zv in zs:
        if method == "normal":
            half = zv * np.sqrt(p0 * (1 - p0) / m)
            lower, upper = np.clip(p0 - half, 0, 1), np.clip(p0 + half, 0, 1)
        else:
            lower = _exact_limit(m, p0, float(stats.norm.cdf(-zv)))
            upper = _exact_limit(m, p0, float(stats.norm.cdf(zv)))
        out[f"lower_{_z_label(zv)}"] = lower
        out[f"upper_{_z_label(zv)}"] = upper
    return out


def _winsorised_phi(zscores: np.ndarray, winsor: float) -> float:
    lo, hi = np.quantile(zscores, [winsor, 1 - winsor])
    return float(np.mean(np.clip(zscores, lo, hi) ** 2))


@dataclass(frozen=True, eq=False)
class FunnelScreen:
    """A funnel screen (``funnel_flags``): the per-group table and the settings and estimates behind its limits."""

    table: pd.DataFrame      # successes, n, rate, p0, z, lower, upper, flag per group
    phi: float | None        # the over-dispersion estimate (None: not estimated)
    phi_used: float          # the factor the limits were widened by (1 unless φ > 1)
    p0: float                # the target rate
    z: float                 # the limits' z


def funnel_flags(successes: Any, n: Any, p0: float | None = None, z: float = 3.09, *,
                 overdispersion: bool = False, winsor: float = 0.1, index: Any = None) -> FunnelScreen:
    """Per-group funnel screen of a rate against a target ``p0`` (default: the pooled rate Σx/Σn).

    Columns: successes, n, rate, p0, z (= (rate − p0)/sqrt(p0(1 − p0)/n)), lower/upper (the control
    limits p0 ± z·sqrt(φ·p0(1 − p0)/n), clipped to [0, 1]) and flag ("above", "below" or "").
    With ``overdispersion=True`` a multiplicative over-dispersion factor φ is estimated as the mean
    of the squared z-scores after Winsorising the lowest and highest ``winsor`` fraction (10%) to the
    corresponding percentiles (Spiegelhalter 2005); the limits are widened by sqrt(φ) only when
    φ > 1. The result also carries phi (the estimate, or None), phi_used (1 unless widened), p0 and z.
    Groups with n = 0 get rate/z NaN and no flag.
    """
    x, m, labels = checked_counts(successes, n, index)
    target = float(x.sum() / m.sum()) if p0 is None else float(p0)
    if not (0 < target < 1):
        raise ValueError(f"p0 must be strictly between 0 and 1, got {target!r}")
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(m > 0, x / m, np.nan)
        sd = np.where(m > 0, np.sqrt(target * (1 - target) / m), np.nan)
        zs = (rate - target) / sd
    phi = None
    phi_used = 1.0
    if overdispersion:
        phi = _winsorised_phi(zs[~np.isnan(zs)], winsor)
        phi_used = max(phi, 1.0)
    lower = np.clip(target - z * np.sqrt(phi_used) * sd, 0, 1)
    upper = np.clip(target + z * np.sqrt(phi_used) * sd, 0, 1)
    flag = np.where(rate > upper, "above", np.where(rate < lower, "below", ""))
    out = pd.DataFrame({"successes": x, "n": m, "rate": rate, "p0": target, "z": zs, "lower": lower,
                        "upper": upper, "flag": flag}, index=labels)
    return FunnelScreen(out, phi=phi, phi_used=phi_used, p0=target, z=z)


@dataclass(frozen=True, eq=False)
class SteeringScreen:
    """A survey-steering screen (``steering_flags``): the per-agent table and what it was computed with."""

    table: pd.DataFrame              # one row per agent (see ``steering_flags``)
    pooled_response_rate: float      # r̄, the funnel's target
    top_box: float                   # the lowest score counted as a top score
    z: float                         # both tests' one-sided threshold
    case_mix: bool                   # whether the top-score expectation came from a case-mix model


def steering_flags(df: pd.DataFrame, agent_col: str, responded_col: str, score_col: str,
                   expected_score_col: str | None = None, z: float = 3.09, *,
                   top_box: float | None = None) -> SteeringScreen:
    """Screen agents for possible survey steering: a response rate, or a share of top scores, that
    is implausibly high given the agent's volume (and contact mix).

    One row per survey invitation in ``df``. Per agent: n_contacts (invitations = rows),
    n_responses, response_rate, top_box_rate (share of top scores among responses with a score),
    expected_top_box_rate, z_response, z_top_box, flag_response, flag_scores, flagged, n_scored.

    - z_response = (r − r̄)/sqrt(r̄(1 − r̄)/n_contacts), r̄ = pooled response rate (a funnel against
      the pooled rate); flag_response = z_response > z.
    - Top scores are scores ≥ ``top_box`` (default: the highest score observed among responses —
      5 on a 1–5 CSAT scale; pass 9 for NPS promoters). With ``expected_score_col`` (each contact's
      case-mix-predicted probability of a top score): O = observed top scores, E = Σp,
      z_top_box = (O − E)/sqrt(Σp(1 − p)) over the agent's scored responses; without it p is the
      pooled top-box rate for every response. flag_scores = z_top_box > z.

    Both tests are one-sided at z (3.09 ↔ 0.1% per agent per test). This is a screening tool: a flag
    says "look at this agent's survey process", not "this agent steers"; real differences in
    contact mix not captured by the case-mix model, chance (with many agents), or team practices
    can all produce flags.
    """
    for col in [agent_col, responded_col, score_col] + ([expected_score_col] if expected_score_col else []):
        if col not in df.columns:
            raise ValueError(f"column {col!r} is not in the data frame")
    if df[agent_col].isna().any():
        raise ValueError(f"column {agent_col!r} has {int(df[agent_col].isna().sum())} missing agent id(s)")
    responded = as_binary(df[responded_col], responded_col) == 1
    score = as_numbers(df[score_col], f"column {score_col!r}")
    scored = responded & ~np.isnan(score)
    if not scored.any():
        raise ValueError(f"column {score_col!r} has no scores among responses")
    cut = float(np.nanmax(score[scored])) if top_box is None else float(top_box)
    top = scored & (score >= cut)
    if expected_score_col is not None:
        expected = as_numbers(df[expected_score_col], f"column {expected_score_col!r}")
        bad = scored & (np.isnan(expected) | (expected < 0) | (expected > 1))
        if bad.any():
            raise ValueError(f"column {expected_score_col!r} must hold probabilities in [0, 1] for every "
                             f"scored response; {int(bad.sum())} offending value(s): {shown_values(expected[bad])}")
    else:
        expected = np.full(len(df), top.sum() / scored.sum())
    frame = pd.DataFrame({
        "agent": df[agent_col].to_numpy(), "contact": 1, "responded": responded.astype(int),
        "scored": scored.astype(int), "top": top.astype(int),
        "e": np.where(scored, expected, 0.0), "v": np.where(scored, expected * (1 - expected), 0.0),
    })
    g = frame.groupby("agent", sort=True)[["contact", "responded", "scored", "top", "e", "v"]].sum()
    r_bar = g["responded"].sum() / g["contact"].sum()
    response_rate = g["responded"] / g["contact"]
    with np.errstate(invalid="ignore", divide="ignore"):
        z_response = (response_rate - r_bar) / np.sqrt(r_bar * (1 - r_bar) / g["contact"])
        top_rate = (g["top"] / g["scored"]).where(g["scored"] > 0)
        expected_rate = (g["e"] / g["scored"]).where(g["scored"] > 0)
        z_top = ((g["top"] - g["e"]) / np.sqrt(g["v"])).where(g["v"] > 0)
    out = pd.DataFrame({
        "agent": g.index.to_numpy(), "n_contacts": g["contact"].to_numpy(),
        "n_responses": g["responded"].to_numpy(), "response_rate": response_rate.to_numpy(),
        "top_box_rate": top_rate.to_numpy(), "expected_top_box_rate": expected_rate.to_numpy(),
        "z_response": z_response.to_numpy(), "z_top_box": z_top.to_numpy(),
    })
    out["flag_response"] = out["z_response"].to_numpy() > z
    out["flag_scores"] = (out["z_top_box"] > z).to_numpy()
    out["flagged"] = out["flag_response"] | out["flag_scores"]
    out["n_scored"] = g["scored"].to_numpy()
    return SteeringScreen(out, pooled_response_rate=float(r_bar), top_box=cut, z=z,
                          case_mix=expected_score_col is not None)
