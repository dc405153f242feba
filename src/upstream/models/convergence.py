"""One convergence verdict for every fit (lmer, glmer by quadrature or by PIRLS, clmm): lme4's checks.

A fit is reported `converged` only when all of these hold at the returned estimates:

1. the optimiser stopped on its own tolerance (not on its evaluation cap, not on a failure);
2. the criterion (REML criterion, −2 log-likelihood) is finite;
3. the estimates did not run away (glmer's Laplace path: see `diverged`): a linear predictor
   beyond ±DIVERGED_ETA on the logit scale means probabilities within e^-30 of 0 or 1 —
   separation, or more variance parameters than the data can identify;
4. lme4's `check.conv.grad`: with g the gradient and H = R'R (Cholesky) the Hessian of the
   criterion over the parameters not on a bound, max_i min(|(R⁻¹g)_i|, |g_i|) < 2e-3;
5. lme4's `check.conv.hess`: H has no negative eigenvalue (a saddle or a ridge is not an optimum).

The parameters checked are those the optimiser moved: θ for lmer (σ and β are profiled out),
(θ, β) for glmer's Laplace path, (β, σ) — (thresholds, β, σ) for clmm — for the one-factor
quadrature path. A parameter on its bound (a variance at 0) is left out of 4 and 5, as lme4 does.
Failures are sentences in `messages`, shown by `health()` and raised as a `ConvergenceWarning`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

GRADIENT_TOL = 2e-3
DIVERGED_ETA = 30.0


class SingularFitWarning(UserWarning):
    pass


class ConvergenceWarning(UserWarning):
    pass


@dataclass
class Verdict:
    """Whether a fit converged, and if not, why (one sentence per failed check)."""

    converged: bool = True
    messages: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.converged = False
        if message not in self.messages:
            self.messages.append(message)


def scaled_gradient(gradient: np.ndarray, hessian: np.ndarray) -> tuple[float, str]:
    """lme4's check.conv.grad statistic max_i min(|(R⁻¹g)_i|, |g_i|) (H = R'R), or the failure's text."""
    g = np.asarray(gradient, dtype=float)
    if g.size == 0:
        return 0.0, ""
    try:
        R = np.linalg.cholesky(hessian).T                  # upper: H = R'R, as R's chol()
        scaled = np.linalg.solve(R, g)
    except np.linalg.LinAlgError:
        return float(np.max(np.abs(g))), "unable to evaluate scaled gradient"
    return float(np.max(np.minimum(np.abs(scaled), np.abs(g)))), ""


def check_optimum(verdict: Verdict, gradient: np.ndarray, hessian: np.ndarray, free: np.ndarray,
                  tol: float = GRADIENT_TOL) -> Verdict:
    """Checks 4 and 5 on the free parameters (`free`: a boolean mask); adds failures to `verdict`."""
    free = np.asarray(free, dtype=bool)
    if not free.any():
        return verdict
    g = np.asarray(gradient, dtype=float)[free]
    H = np.asarray(hessian, dtype=float)[np.ix_(free, free)]
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
        verdict.fail("Model failed to converge: the gradient or Hessian of the criterion is not finite")
        return verdict
    eig = np.linalg.eigvalsh(0.5 * (H + H.T))
    negative = int(np.sum(eig < 0))
    if negative:
        verdict.fail(f"Model failed to converge: degenerate Hessian with {negative} negative "
                     f"eigenvalue{'s' if negative > 1 else ''} (the criterion is not curved like a minimum)")
        return verdict
    worst, problem = scaled_gradient(g, H)
    if problem:
        verdict.fail(f"Model failed to converge: {problem}")
    elif worst > tol:
        verdict.fail(f"Model failed to converge with max|grad| = {worst:.3g} (tol = {tol:g})")
    return verdict


def optimiser_stop(verdict: Verdict, success: bool, message: str, value: float) -> Verdict:
    """Checks 1 and 2."""
    if not np.isfinite(value):
        verdict.fail("the criterion is not finite at the optimum")
    elif not success:
        verdict.fail(f"the optimiser stopped before converging: {message}")
    return verdict


def diverged(eta_fixed: np.ndarray, eta_random_sd: np.ndarray, limit: float = DIVERGED_ETA) -> str:
    """Check 3: the sentence for estimates that run away, or "" — the fixed part of the linear
    predictor (max |x_i'β| over the rows) or the SD of a row's random part (√(z_i'Σz_i)) beyond
    `limit` on the logit scale."""
    fixed = float(np.max(np.abs(eta_fixed))) if np.size(eta_fixed) else 0.0
    random = float(np.max(eta_random_sd)) if np.size(eta_random_sd) else 0.0
    if not (np.isfinite(fixed) and np.isfinite(random)) or max(fixed, random) > limit:
        part = "fixed effects" if not np.isfinite(fixed) or fixed >= random else "random-effect SDs"
        return (f"the estimates diverge: the {part} put the linear predictor beyond ±{limit:g} on the logit scale "
                "(probabilities within e^-30 of 0 or 1): the data separate the outcomes, or the model has more "
                "variance parameters than they identify; the fit was stopped there")
    return ""


def warn_fit(singular: bool, converged: bool, messages: list[str]) -> None:
    """lme4-style warnings for a boundary fit and for non-convergence."""
    if singular:
        warnings.warn("boundary (singular) fit: a variance component is estimated as (nearly) zero",
                      SingularFitWarning, stacklevel=4)
    if not converged:
        warnings.warn("; ".join(messages) or "the optimiser did not converge", ConvergenceWarning, stacklevel=4)
