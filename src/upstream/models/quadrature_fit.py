"""Maximum likelihood for one random-intercept factor (glmer, clmm): optimise, polish, check, summarise.

The parameters are x = (ψ, σ): the fixed parameters ψ (clmm: thresholds, then β) and the SD σ of the
random intercept, bounded at 0. quadrature.py gives −2 log L and its exact gradient; L-BFGS-B
minimises it (clmm's thresholds as θ₁ and log-increments, so they stay ordered), then one Newton step
from the forward-difference Hessian of the exact gradient sharpens the estimates to ~1e-8. The same
Hessian gives the covariance of the estimates (lme4's `use.hessian`, ordinal's `vcov`) and, with the
exact gradient, convergence.py's checks.
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


def fit_single_factor(quad: SingleFactorQuadrature, x0: np.ndarray, n_thresholds: int = 0) -> QuadratureFit:
    """Minimise −2 log L over (ψ, σ) from x0, polish with one Newton step and check the optimum."""
    obj = _Objective(quad, n_thresholds)
    w0 = obj.to_work(x0)
    bounds = [(None, None)] * (len(x0) - 1) + [(0.0, None)]
    options = {"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20}
    res = minimize(obj, w0, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
    x = obj.to_natural(res.x)
    if x[-1] <= 0:      # SD = 0 is a stationary point; restart when the criterion falls away from it
        start = away_from_zero(lambda z: obj.natural(z, gradient=False)[0], x, float(res.fun))
        if start is not None:
            again = minimize(obj, obj.to_work(start), jac=True, method="L-BFGS-B", bounds=bounds, options=options)
            if again.fun < res.fun:
                res, x = again, obj.to_natural(again.x)
    lower = np.r_[np.full(len(x) - 1, -np.inf), 0.0]

    def grad(z):
        return obj.natural(np.maximum(z, lower))[1]

    value, g = obj.natural(x)
    H = _numeric_hessian(grad, x, lower, g0=g)
    # one Newton step from the L-BFGS-B optimum sharpens the estimates to ~1e-8; the Hessian
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
    verdict = optimiser_stop(Verdict(), bool(res.success or res.status == 0), str(res.message), value)
    if verdict.converged:
        check_optimum(verdict, g, H, free)
    u, Hg = quad.modes(x[:-1], x[-1])
    return QuadratureFit(x=x, value=float(value), hessian=H, verdict=verdict, n_evals=obj.evals, modes=u, curvature=Hg)


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
