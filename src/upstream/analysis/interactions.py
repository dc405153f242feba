"""Interactions per contact against CSAT as a smooth curve: is 5–9 interactions a sweet spot?

The number of interactions enters the agent model as a natural cubic spline (Hastie, Tibshirani &
Friedman, *Elements of Statistical Learning*, eq. 5.4–5.5: cubic between knots, linear beyond the
boundary knots), its basis columns added as fixed effects:

    csat ~ mix + ns_1(n) + … + ns_{K−1}(n) + (1 | agent_id)        on the replies

with K knots evenly spaced on the log scale between the smallest and the largest count (counts are
skewed: most contacts take one or two interactions). The curve is the expected CSAT of the average
reply's contact mix at each count, with Satterthwaite 95% intervals (contrasts L'β̂ of the fit).

The folk rule is tested as two contrasts: the expected CSAT of contacts in the band (5–9 by default)
minus that of contacts below it, and minus that of contacts above it — each band's expectation the
curve's average over its counts, weighted by how many contacts (all contacts, answered or not) took
each count. A sweet spot needs both differences above zero; a side with no contacts cannot be compared.
The curve is the total association given the mix: contacts that go unresolved take more interactions,
and that path is part of it (which is what the folk rule is about).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..data.frames import CONTACT_MIX
from ..data.model_formula import model_formula, present_mix
from ..models import lmer
from .results import AnalysisResult, result

PREFIX = "n_interactions_ns"


def spline_knots(values, n_knots: int = 5) -> np.ndarray:
    """K knots evenly spaced on the log scale between min and max of `values` (≥ 1), at most one per
    distinct value."""
    v = np.asarray(values, dtype=float)
    lo, hi = float(v.min()), float(v.max())
    k = int(min(n_knots, len(np.unique(v))))
    if k < 2 or hi <= lo:
        return np.array([lo, hi])
    return np.unique(np.exp(np.linspace(np.log(lo), np.log(hi), k)))


def natural_spline_basis(x, knots) -> np.ndarray:
    """Natural cubic spline basis without the constant (ESL eq. 5.4): columns N_1 = u and
    N_{k+1} = d_k(u) − d_{K−1}(u), d_k(u) = [(u − ξ_k)₊³ − (u − ξ_K)₊³]/(ξ_K − ξ_k), on u scaled so the
    boundary knots are 0 and 1. K knots give K − 1 columns."""
    knots = np.asarray(knots, dtype=float)
    a, b = knots[0], knots[-1]
    u = (np.asarray(x, dtype=float) - a) / (b - a)
    xi = (knots - a) / (b - a)
    K = len(xi)

    def d(k):
        return (np.clip(u - xi[k], 0, None) ** 3 - np.clip(u - xi[-1], 0, None) ** 3) / (xi[-1] - xi[k])

    cols = [u] + [d(k) - d(K - 2) for k in range(K - 2)]
    return np.column_stack(cols)


def with_spline(frame: pd.DataFrame, knots, column: str = "n_interactions") -> pd.DataFrame:
    """`frame` with the spline columns n_interactions_ns1, … added."""
    basis = natural_spline_basis(frame[column], knots)
    return frame.assign(**{f"{PREFIX}{j + 1}": basis[:, j] for j in range(basis.shape[1])})


def _interval(fit, L, level):
    c = fit.contrast(L)
    q = stats.t.ppf(0.5 + level / 2, c["df"])
    return c["estimate"], c["estimate"] - q * c["std_error"], c["estimate"] + q * c["std_error"], c["p_value"]


@result
class InteractionCurve(AnalysisResult):
    """Interactions per contact: expected CSAT by the number of interactions, on the same contact mix."""

    curve: pd.DataFrame        # per count: contacts, replies, raw_csat, expected, lower, upper
    bands: pd.DataFrame        # per side of the band (below, band, above): counts, contacts, expected, lower, upper
    comparisons: pd.DataFrame  # band − below, band − above: estimate, lower, upper, p_value
    band: tuple                # (low, high): the counts the folk rule calls the sweet spot
    knots: np.ndarray          # the natural spline's knots
    nonlinear_p: float         # Wald test that the curve is a straight line (NaN with one spline term)
    fit: object


def interaction_curve(replies: pd.DataFrame, contacts: pd.DataFrame, band=(5, 9), n_knots: int = 5,
                      mix=CONTACT_MIX, level: float = 0.95) -> InteractionCurve:
    """Fit the spline model (module docstring): curve — per count: contacts, replies, raw_csat, expected
    (average reply's mix), lower, upper; bands — per band (below, band, above): its counts and expected CSAT
    with interval; comparisons — band minus below and band minus above: estimate, lower, upper, p_value (rows only for
    sides with contacts); nonlinear_p — the Wald test that the curve is a straight line."""
    knots = spline_knots(contacts["n_interactions"], n_knots)
    data = with_spline(replies, knots)
    names = [f"{PREFIX}{j + 1}" for j in range(len(knots) - 1)]
    fit = lmer(model_formula("csat", [*present_mix(data, mix), *names]), data)
    by_n = replies.groupby("n_interactions")["csat"]
    return curve_from_fit(fit, knots, fit.model_matrix.mean(axis=0).to_numpy(),
                          contacts["n_interactions"].value_counts().sort_index(), by_n.size(), by_n.mean(), band, level)


def curve_from_fit(fit, knots, mean_row: np.ndarray, counts: pd.Series, reply_counts: pd.Series,
                   raw_csat: pd.Series, band=(5, 9), level: float = 0.95) -> InteractionCurve:
    """``interaction_curve`` from the spline model's fit: `mean_row` the mean row of its model matrix (the
    average reply's mix), `counts` the contacts per count of interactions, `reply_counts` and `raw_csat` the
    replies and their mean CSAT per count."""
    names = [f"{PREFIX}{j + 1}" for j in range(len(knots) - 1)]
    columns = list(fit.fixef.index)
    spline_at = [columns.index(n) for n in names]
    values = np.arange(int(counts.index.min()), int(counts.index.max()) + 1)

    def row(v):
        L = mean_row.copy()
        L[spline_at] = natural_spline_basis([v], knots)[0]
        return L

    rows = {v: row(v) for v in values}
    curve = pd.DataFrame(index=pd.Index(values, name="n_interactions"))
    curve["contacts"] = counts.reindex(values).fillna(0).astype(int)
    curve["replies"] = reply_counts.reindex(values).fillna(0).astype(int)
    curve["raw_csat"] = raw_csat.reindex(values)
    est = [_interval(fit, rows[v], level) for v in values]
    curve["expected"], curve["lower"], curve["upper"] = zip(*[(e, lo, hi) for e, lo, hi, _ in est])
    lo_b, hi_b = band
    sides = {"below": values[values < lo_b], "band": values[(values >= lo_b) & (values <= hi_b)],
             "above": values[values > hi_b]}
    band_L, band_rows = {}, {}
    for side, vs in sides.items():
        w = curve.loc[vs, "contacts"].astype(float) if len(vs) else pd.Series(dtype=float)
        if not len(vs) or w.sum() == 0:
            continue
        band_L[side] = sum(w[v] / w.sum() * rows[v] for v in vs)
        e, lo, hi, _ = _interval(fit, band_L[side], level)
        band_rows[side] = {"counts": f"{vs.min()}–{vs.max()}" if vs.min() != vs.max() else f"{vs.min()}",
                           "contacts": int(w.sum()), "expected": e, "lower": lo, "upper": hi}
    bands = pd.DataFrame.from_dict(band_rows, orient="index")
    comparisons = {}
    if "band" in band_L:
        for side in ("below", "above"):
            if side in band_L:
                e, lo, hi, p = _interval(fit, band_L["band"] - band_L[side], level)
                comparisons[f"band − {side}"] = {"estimate": e, "lower": lo, "upper": hi, "p_value": p}
    comp = pd.DataFrame.from_dict(comparisons, orient="index")
    comp.index.name = "comparison"
    nonlinear = fit.wald_test(names[1:]) if len(names) > 1 else float("nan")
    return InteractionCurve(curve=curve, bands=bands, comparisons=comp, band=(lo_b, hi_b), knots=knots,
                            nonlinear_p=nonlinear, fit=fit)
