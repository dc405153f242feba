"""Minimise the profiled deviance over θ and check convergence the way lme4 does."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from .convergence import Verdict, check_optimum, optimiser_stop
from .lmm import single_threaded_blas
from .numderiv import hessian


@dataclass
class Optimum:
    theta: np.ndarray
    value: float
    n_evals: int
    converged: bool
    messages: list[str] = field(default_factory=list)


def optimize_theta(objective, n_theta: int, lower: np.ndarray, start=None, check: bool = True,
                   max_evals: int | None = None) -> Optimum:
    """Minimise objective(θ) subject to θ ≥ lower (diagonal entries of the relative covariance
    factors are ≥ 0, off-diagonals free), then convergence.py's checks (lme4's: the optimiser's own
    stop, a finite criterion, the scaled gradient below 2e-3 and a positive definite Hessian)."""
    x0 = np.ones(n_theta) if start is None else np.asarray(start, dtype=float)
    if start is None:
        x0[~(lower == 0)] = 0.0                 # off-diagonal entries start at 0, as lme4
    bounds = [(0.0 if lo == 0 else None, None) for lo in lower]
    evals = 0

    def f(theta):
        nonlocal evals
        evals += 1
        return objective(theta)

    # COBYQA (Powell's derivative-free trust-region method with quadratic models, successor of the
    # BOBYQA that lme4 uses): far fewer deviance evaluations than quasi-Newton with numerical
    # gradients, and it does not stall on the θ ≥ 0 bounds.
    res = minimize(f, x0, method="COBYQA", bounds=bounds,
                   options={"initial_tr_radius": 0.5, "final_tr_radius": 1e-7,
                            "maxfev": max_evals or 500 * (n_theta + 1)})
    theta = np.asarray(res.x, dtype=float)
    theta[(lower == 0) & (theta < 1e-10)] = 0.0
    value = float(f(theta))
    verdict = optimiser_stop(Verdict(), bool(res.success), str(res.message), value)
    if verdict.converged and check:
        g, H, free = _derivatives(f, theta, lower)
        check_optimum(verdict, g, H, free)
    return Optimum(theta=theta, value=value, n_evals=evals, converged=verdict.converged, messages=verdict.messages)


def optimize_structure(structure, reml: bool, start=None, max_evals: int | None = None,
                       check: bool = True) -> Optimum:
    """θ̂ for a model structure: its own optimiser when it has one (grouped.py's exact 1-d root),
    otherwise `optimize_theta` on its profiled deviance from `start` (default: its start_theta)."""
    own = getattr(structure, "optimize", None)
    if own is not None:
        return own(reml, start=start, max_evals=max_evals, check=check)
    with single_threaded_blas():
        return optimize_theta(lambda theta: structure.deviance(theta, reml), structure.n_theta, structure.lower,
                              start=structure.start_theta() if start is None else start, check=check,
                              max_evals=max_evals)


def _derivatives(f, theta: np.ndarray, lower: np.ndarray):
    """Gradient (central differences, step 1e-4 relative) and Hessian (numDeriv's Richardson rule,
    two levels) of the criterion over the parameters not on their bound, for convergence.py's checks."""
    free = ~((lower == 0) & (theta <= 0))
    if not free.any():
        return np.zeros(0), np.zeros((0, 0)), free
    x = theta.copy()

    def sub(z):
        y = x.copy()
        y[free] = z
        return f(y)

    z = x[free]
    h = 1e-4 * np.maximum(np.abs(z), 1e-2)
    g = np.array([(sub(z + h * e) - sub(z - h * e)) / (2 * h_i) for e, h_i in zip(np.eye(len(z)), h)])
    H = hessian(sub, z, r=2)
    full_g, full_H = np.zeros(len(x)), np.eye(len(x))
    full_g[free] = g
    full_H[np.ix_(free, free)] = H
    return full_g, full_H, free


def away_from_zero(value_at, x: np.ndarray, value: float, sds=(0.05, 0.1, 0.2, 0.5, 1.0)):
    """A start with a positive last parameter (a random-effect SD) that beats `x`, whose SD is on its
    bound 0; None when none does. `value_at(x)` is the criterion being minimised.

    A marginal likelihood is an even function of the SD, so SD = 0 is always a stationary point: an
    optimiser whose line search reaches the bound can stop there although the criterion falls away from
    it. Probe positive SDs with the other parameters fixed and restart from the best when it is lower."""
    best, best_value = None, value - 1e-8
    for sd in sds:
        trial = np.r_[x[:-1], sd]
        v = value_at(trial)
        if np.isfinite(v) and v < best_value:
            best, best_value = trial, v
    return best
