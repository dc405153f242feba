"""Quantiles of the NPS of a Dirichlet posterior, by quadrature instead of Monte Carlo draws.

With (promoter, passive, detractor) shares (p, q, d) ~ Dirichlet(a_p, a_q, a_d), NPS/100 = p − d = S(2R − 1),
where S = p + d ~ Beta(a_p + a_d, a_q) and R = p / S ~ Beta(a_p, a_d) are independent. So

    P(p − d ≤ t) = E_S[ P(R ≤ (1 + t/S)/2) ] = E_R[ P(S(2R − 1) ≤ t) ],

a one-dimensional integral of a regularized incomplete beta function. It is taken by Gauss–Legendre nodes in the
probability scale of the outer variable (its quantiles at the nodes), the outer variable being the one that moves
p − d less (so the integrand is smooth), and each quantile is solved by Newton's method kept inside a bracket.
Accurate to ~1e-5 in probability (a few thousandths of an NPS point; Dirichlet(1, 1, 1), whose quantiles are
known, within 0.005), where 20,000 draws carry ~0.1 points of Monte Carlo error;
20,000 agents take a few seconds instead of ~40 s of draws.
"""
from __future__ import annotations

import numpy as np
from scipy import special

#: Gauss–Legendre nodes of the outer integral.
NODES = 48
_X, _W = np.polynomial.legendre.leggauss(NODES)
_U, _WU = (_X + 1) / 2, _W / 2                       # nodes and weights on (0, 1)


def _beta_pdf(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The Beta(a, b) density at x (0 outside (0, 1))."""
    inside = (x > 0) & (x < 1)
    xc = np.where(inside, x, 0.5)
    log = (a - 1) * np.log(xc) + (b - 1) * np.log1p(-xc) - special.betaln(a, b)
    return np.where(inside, np.exp(log), 0.0)


def _cdf_and_density(t, outer, a_in, b_in, over_s):
    """P(p − d ≤ t) and its density at t (groups × levels), given the outer variable at the nodes (groups × NODES)
    and the inner Beta's parameters (groups × 1)."""
    t = t[:, :, None]
    o = outer[:, None, :]
    a, b = a_in[:, :, None], b_in[:, :, None]
    if over_s:                                        # R ≤ (1 + t/s)/2
        x = (1 + t / o) / 2
        cdf = special.betainc(a, b, np.clip(x, 0, 1))
        dens = _beta_pdf(x, a, b) / (2 * o)
    else:                                             # S(2r − 1) ≤ t
        c = 2 * o - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(c != 0, t / c, np.inf)
        below = special.betainc(a, b, np.clip(x, 0, 1))
        cdf = np.where(c > 0, below, np.where(c < 0, 1 - below, (t >= 0).astype(float)))
        dens = np.where(c != 0, _beta_pdf(x, a, b) / np.abs(np.where(c != 0, c, 1.0)), 0.0)
    return cdf @ _WU, dens @ _WU


def nps_posterior_quantiles(post: np.ndarray, probs, tol: float = 1e-9, max_iter: int = 60) -> np.ndarray:
    """Quantiles `probs` of 100 × (p − d) under Dirichlet(`post`) per row of `post` (groups × 3: promoters,
    passives, detractors, all > 0): an array groups × len(probs), in NPS points."""
    post = np.asarray(post, float)
    probs = np.asarray(probs, float)
    a_p, a_q, a_d = post.T
    total = post.sum(axis=1)
    a_s = a_p + a_d
    mean = (a_p - a_d) / total
    var = (a_p * (total - a_p) + a_d * (total - a_d) + 2 * a_p * a_d) / (total ** 2 * (total + 1))
    r_mean, s_mean = a_p / a_s, a_s / total
    var_s = a_s * a_q / (total ** 2 * (total + 1))
    var_r = a_p * a_d / (a_s ** 2 * (a_s + 1))
    from_s = (2 * r_mean - 1) ** 2 * var_s            # how much of p − d each variable moves
    from_r = 4 * (var_s + s_mean ** 2) * var_r
    over_s = from_s <= from_r
    out = np.empty((len(post), len(probs)))
    for outer_is_s in (True, False):
        rows = np.flatnonzero(over_s == outer_is_s)
        if not len(rows):
            continue
        if outer_is_s:
            outer = special.betaincinv(a_s[rows, None], a_q[rows, None], _U[None, :])
            a_in, b_in = a_p[rows, None], a_d[rows, None]
        else:
            outer = special.betaincinv(a_p[rows, None], a_d[rows, None], _U[None, :])
            a_in, b_in = a_s[rows, None], a_q[rows, None]
        out[rows] = _solve(probs, mean[rows], np.sqrt(var[rows]), outer, a_in, b_in, outer_is_s, tol, max_iter)
    return 100 * out


def _solve(probs, mean, sd, outer, a_in, b_in, over_s, tol, max_iter):
    """t with P(p − d ≤ t) = probs, per group: Newton from the normal approximation, bisecting whenever a step
    leaves the bracket of the root; groups leave the iteration as they converge."""
    lo = np.full((len(mean), len(probs)), -1.0)
    hi = np.full_like(lo, 1.0)
    t = np.clip(mean[:, None] + special.ndtri(probs)[None, :] * sd[:, None], -1 + 1e-12, 1 - 1e-12)
    active = np.arange(len(mean))
    for _ in range(max_iter):
        ta = t[active]
        cdf, dens = _cdf_and_density(ta, outer[active], a_in[active], b_in[active], over_s)
        low = cdf < probs[None, :]
        lo[active] = np.where(low, ta, lo[active])
        hi[active] = np.where(low, hi[active], ta)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = ta + (probs[None, :] - cdf) / dens
        bad = ~np.isfinite(new) | (new <= lo[active]) | (new >= hi[active])
        new = np.where(bad, (lo[active] + hi[active]) / 2, new)
        t[active] = new
        active = active[(np.abs(new - ta) >= tol).any(axis=1)]
        if not len(active):
            break
    return t
