"""Maximum likelihood for one random-intercept factor (glmer, clmm): optimise, polish, check, summarise.

The parameters are x = (ψ, σ): the fixed parameters ψ (clmm: thresholds, then β) and the SD σ of the
random intercept, bounded at 0. quadrature.py gives −2 log L and its exact gradient; L-BFGS-B
minimises it (clmm's thresholds as θ₁ and log-increments, so they stay ordered), then one Newton step
from the forward-difference Hessian of the exact gradient sharpens the estimates to ~1e-8. The same
Hessian gives the covariance of the estimates (lme4's `use.hessian`, ordinal's `vcov`) and, with the
exact gradient, convergence.py's checks. A large likelihood (agent × mix cells of a year: ~1.3 million rows)
gets to the same optimum by a shorter path: the optimum over a seeded subset of the groups, then Newton steps
on every group with that subset's Hessian (``newton_from_subset``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from .convergence import Verdict, check_optimum, optimiser_stop
from .design import RandomBlock
from .optimize import away_from_zero
from .quadrature import SingleFactorQuadrature
from .results import RandomEffects, hessian_covariance

#: Above 3 × this many rows (merged cells) the optimum is found from the optimum over a seeded random subset of
#: the groups with about this many rows (``newton_from_subset``): a year of 20,000 agents has ~1.3 million cells,
#: and Newton steps from near the optimum save most of the full likelihood's evaluations. The estimates are the
#: full fit's.
WARM_START_ROWS = 150_000
WARM_START_SEED = 2026
NEWTON_STEPS = 25


def _numeric_hessian(grad, x, lower, g0=None):
    """Forward differences of an exact gradient (step 1e-5 relative; accurate to ~1e-5, ample
    for standard errors); the step goes up, away from a bound."""
    n = len(x)
    g0 = grad(x) if g0 is None else g0
    H = np.empty((n, n))
    for i in range(n):
        h = 1e-5 * max(1.0, abs(x[i]))
        e = np.zeros(n)
        e[i] = h
        H[:, i] = (grad(x + e) - g0) / h
    return 0.5 * (H + H.T)


class _Objective:
    """F(x) and ∇F(x) in the optimiser's coordinates; `to_natural` maps back."""

    def __init__(self, quad: SingleFactorQuadrature, n_thresholds: int = 0):
        self.quad, self.nt = quad, n_thresholds
        self.u = None
        self.evals = 0

    def to_natural(self, x):
        x = np.asarray(x, float).copy()
        if self.nt > 1:
            x[:self.nt] = x[0] + np.concatenate([[0.0], np.cumsum(np.exp(x[1:self.nt]))])
        return x

    def to_work(self, x):
        x = np.asarray(x, float).copy()
        if self.nt > 1:
            th = x[:self.nt]
            x[1:self.nt] = np.log(np.maximum(np.diff(th), 1e-8))
        return x

    def natural(self, x, gradient=True):
        self.evals += 1
        v, g, st = self.quad.objective(x[:-1], x[-1], gradient=gradient, u0=self.u)
        if np.isfinite(v):
            self.u = st.u
        return v, g

    def __call__(self, w):
        x = self.to_natural(w)
        v, g = self.natural(x)
        if self.nt > 1:
            gt = g[:self.nt]
            tail = np.cumsum(gt[::-1])[::-1]                   # Σ_{l ≥ j} ∂F/∂θ_l
            g = g.copy()
            g[0] = tail[0]
            g[1:self.nt] = tail[1:] * np.exp(w[1:self.nt])
        return v, g


@dataclass
class QuadratureFit:
    x: np.ndarray                 # (ψ, σ) at the optimum
    value: float                  # −2 log L there
    hessian: np.ndarray           # of −2 log L over x
    verdict: Verdict
    n_evals: int
    modes: np.ndarray             # û_j (standard-normal scale)
    curvature: np.ndarray         # H_j = −h_j''(û_j)


def subset_groups(quad: SingleFactorQuadrature, rows: int | None = None) -> np.ndarray | None:
    """The groups of a warm start (a boolean mask): groups in a seeded random order, as many as fit in `rows`
    rows (default WARM_START_ROWS); None when the likelihood has no more than 3 × `rows` rows, or when the groups
    leave some column of the design (a level, a category) without a row."""
    rows = WARM_START_ROWS if rows is None else rows
    if quad.n <= 3 * rows:
        return None
    sizes = np.bincount(quad.codes, minlength=quad.G)
    order = np.random.default_rng(WARM_START_SEED).permutation(quad.G)
    chosen = np.zeros(quad.G, bool)
    chosen[order[np.cumsum(sizes[order]) <= rows]] = True
    rows_in = chosen[quad.codes]
    for M in quad.model.designs:
        if ((M != 0).any(axis=0) & ~(M[rows_in] != 0).any(axis=0)).any():
            return None
    return chosen


def ordered(x: np.ndarray, n_thresholds: int) -> bool:
    """The thresholds (the first `n_thresholds` numbers of x) strictly increase and the SD is positive."""
    return bool(x[-1] > 0 and (n_thresholds < 2 or np.all(np.diff(x[:n_thresholds]) > 0)))


def newton_from_subset(obj: _Objective, x0: np.ndarray, bounds, options) -> np.ndarray | None:
    """The optimum of a large likelihood (None for a small one, or where this does not converge): the optimum
    over a seeded subset of the groups (``subset_groups``) and its Hessian scaled to every group, then Newton
    steps on the full likelihood with that Hessian (each one full gradient; a step that raises −2 log L is
    halved) until a step moves no estimate by more than 1e-8 relative. Only the path differs: the optimum is
    the full likelihood's (L-BFGS-B from x0 needs 40–90 full evaluations, this 5–10)."""
    quad, nt = obj.quad, obj.nt
    chosen = subset_groups(quad)
    if chosen is None:
        return None
    part = _Objective(quad.groups(chosen), nt)
    res = minimize(part, part.to_work(x0), jac=True, method="L-BFGS-B", bounds=bounds, options=options)
    x = part.to_natural(res.x)
    if not (res.success or res.status == 0) or not np.all(np.isfinite(x)) or not ordered(x, nt):
        return None
    lower = np.r_[np.full(len(x) - 1, -np.inf), 0.0]
    H = _numeric_hessian(lambda z: part.natural(np.maximum(z, lower))[1], x, lower) * (quad.G / chosen.sum())
    value, g = obj.natural(x)
    for _ in range(NEWTON_STEPS):
        try:
            step = np.linalg.solve(H, -g)
        except np.linalg.LinAlgError:
            return None
        for _ in range(30):
            cand = x + step
            if ordered(cand, nt):
                v, gc = obj.natural(cand)
                if np.isfinite(v) and v <= value + 1e-12 * abs(value):
                    break
            step = 0.5 * step
        else:
            return None
        x, value, g = cand, v, gc
        if np.max(np.abs(step) / np.maximum(1.0, np.abs(x))) < 1e-8:
            return x
    return None


def fit_single_factor(quad: SingleFactorQuadrature, x0: np.ndarray, n_thresholds: int = 0) -> QuadratureFit:
    """Minimise −2 log L over (ψ, σ) from x0 (by L-BFGS-B, or for a large likelihood ``newton_from_subset``),
    polish with one Newton step and check the optimum."""
    obj = _Objective(quad, n_thresholds)
    bounds = [(None, None)] * (len(x0) - 1) + [(0.0, None)]
    options = {"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20}
    x = newton_from_subset(obj, x0, bounds, options)
    success, message = True, ""
    if x is None:
        x, success, message = _lbfgsb(obj, x0, bounds, options)
    lower = np.r_[np.full(len(x) - 1, -np.inf), 0.0]

    def grad(z):
        return obj.natural(np.maximum(z, lower))[1]

    value, g = obj.natural(x)
    H = _numeric_hessian(grad, x, lower, g0=g)
    # one Newton step from the optimum found sharpens the estimates to ~1e-8; the Hessian
    # barely changes over such a step, so it is kept for the covariance
    free = ~((x[-1] <= 0) & (np.arange(len(x)) == len(x) - 1))
    try:
        step = np.zeros_like(x)
        step[free] = np.linalg.solve(H[np.ix_(free, free)], -g[free])
        cand = np.maximum(x + step, lower)
        if n_thresholds > 1 and np.any(np.diff(cand[:n_thresholds]) <= 0):
            raise np.linalg.LinAlgError
        v2, g2 = obj.natural(cand)
        if v2 <= value:
            x, value, g = cand, v2, g2
    except np.linalg.LinAlgError:
        pass
    verdict = optimiser_stop(Verdict(), success, message, value)
    if verdict.converged:
        check_optimum(verdict, g, H, free)
    u, Hg = quad.modes(x[:-1], x[-1])
    return QuadratureFit(x=x, value=float(value), hessian=H, verdict=verdict, n_evals=obj.evals, modes=u, curvature=Hg)


def _lbfgsb(obj: _Objective, x0: np.ndarray, bounds, options) -> tuple[np.ndarray, bool, str]:
    """L-BFGS-B from x0, restarted away from SD = 0 where the criterion falls: (x, success, message)."""
    res = minimize(obj, obj.to_work(x0), jac=True, method="L-BFGS-B", bounds=bounds, options=options)
    x = obj.to_natural(res.x)
    if x[-1] <= 0:      # SD = 0 is a stationary point; restart when the criterion falls away from it
        start = away_from_zero(lambda z: obj.natural(z, gradient=False)[0], x, float(res.fun))
        if start is not None:
            again = minimize(obj, obj.to_work(start), jac=True, method="L-BFGS-B", bounds=bounds, options=options)
            if again.fun < res.fun:
                res, x = again, obj.to_natural(again.x)
    return x, bool(res.success or res.status == 0), str(res.message)


def result_fields(fit: QuadratureFit, block: RandomBlock, names: list[str]) -> dict:
    """The keyword arguments of a latent result (results/latent.py) for a one-factor fit: the
    parameters, their covariance with "sd", and the random effects σû_j with conditional variances σ²/H_j."""
    x = fit.x
    sd = float(x[-1])
    free = np.ones(len(x), bool)
    free[-1] = sd > 0
    random = RandomEffects(block=block, covariance=np.array([[sd * sd]]), modes=(sd * fit.modes)[:, None],
                           cond_cov=(sd * sd / fit.curvature)[:, None, None])
    return dict(params=pd.Series(x[:-1], index=names), theta=np.array([sd]), variance_names=["sd"],
                cov_all=hessian_covariance(fit.hessian, free), value=fit.value, random=[random],
                converged=fit.verdict.converged, messages=fit.verdict.messages, n_evals=fit.n_evals,
                hessian=fit.hessian, lower=np.array([0.0]))
