"""The optimum of the one-random-intercept deviance (grouped.py) and its exact derivatives.

With ψ = θ², d_j = 1 + ψw_j, a_j = [s_j; sy_j], S(ψ) = [X y]'W[X y] − Σ_j (ψ/d_j) a_j a_j',
Q = Σ_j a_j a_j'/d_j², R = Σ_j w_j a_j a_j'/d_j³, β̂ = S_XX⁻¹S_Xy, v = [−β̂; 1], r² = v'Sv and
m = n − p (REML) or n, the profiled deviance is D = ℓ(ψ) + m log r² + const with
ℓ = Σ log d_j (+ log|S_XX| for REML), and

    ℓ'  = Σ w_j/d_j − tr(S_XX⁻¹Q_XX),
    ℓ'' = −Σ w_j²/d_j² − tr(S_XX⁻¹Q_XX S_XX⁻¹Q_XX) + 2 tr(S_XX⁻¹R_XX)        (ML: no trace terms),
    r²' = −v'Qv,   r²'' = 2 v'Rv − 2 (Qv)_X' S_XX⁻¹ (Qv)_X    (envelope theorem; dβ̂/dψ = S_XX⁻¹(Qv)_X),
    dD/dψ = ℓ' + m r²'/r²,   d²D/dψ² = ℓ'' + m (r²''/r² − (r²'/r²)²),

each O(K p²) for K distinct group sizes plus a (p+1)² Cholesky. θ̂ = √ψ̂ is the root of dD/dψ, to
machine precision: Newton from the start (3–5 steps); if Newton leaves the convex region or heads
for ψ ≤ 0, a sign change on a geometric grid refined by Brent's method. (A derivative-free
minimiser of D locates θ̂ only to ~√eps; lmer's COBYQA stops up to ~1e-6 away, relative.) If
dD/dψ ≥ 0 down to ψ = 1e-20 the optimum is the boundary θ = 0, as lme4's bounded optimiser
reports it; an interior root is kept only if its deviance is below D(0). The root then passes
convergence.py's checks (the scaled gradient and the curvature, here exact) like every other fit.

The same pieces give lmerTest's Satterthwaite ingredients exactly: the Hessian of the unprofiled
deviance in (θ, σ) and ∂Cov(β̂)/∂θ, ∂Cov(β̂)/∂σ (`variance_derivatives`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg.lapack import dpotrf as _potrf
from scipy.linalg.lapack import dpotri as _potri
from scipy.linalg.lapack import dtrtrs as _trtrs
from scipy.optimize import brentq

from .convergence import Verdict, check_optimum, optimiser_stop
from .lmm import single_threaded_blas
from .optimize import Optimum

PSI_FLOOR = 1e-20            # θ below 1e-10 is the boundary θ = 0
PSI_CEILING = 1e16


@dataclass
class PsiDerivatives:
    g: float          # dD/dψ
    h: float          # d²D/dψ²
    l1: float         # ℓ'
    l2: float         # ℓ''
    r2: float         # r²
    r1: float         # r²'
    rdd: float        # r²''
    m: int
    Sinv: np.ndarray  # S_XX⁻¹
    SQ: np.ndarray    # S_XX⁻¹Q_XX


def psi_derivatives(structure, psi: float, reml: bool) -> PsiDerivatives | None:
    """dD/dψ and d²D/dψ² of the profiled REML criterion (ML deviance) at ψ, with their pieces;
    None where S(ψ) is not positive definite."""
    p, p1 = structure.p, structure.p + 1
    d = 1.0 + psi * structure.pool_w
    L, info = _potrf(structure.B - ((psi / d) @ structure.P).reshape(p1, p1), lower=1, clean=1)
    if info != 0 or not np.isfinite(L[p, p]) or L[p, p] == 0:
        return None
    Lxx = L[:p, :p]
    if p:
        beta, _ = _trtrs(Lxx, L[p, :p], lower=1, trans=1)
        low, _ = _potri(Lxx, lower=1)                   # lower triangle; the upper is Lxx's zeros
        Sinv = low + low.T
        Sinv.flat[::p + 1] *= 0.5
    else:
        beta, Sinv = np.zeros(0), np.zeros((0, 0))
    v = np.empty(p1)
    v[:p], v[p] = -beta, 1.0
    r2 = L[p, p] ** 2
    Q = ((1.0 / d ** 2) @ structure.P).reshape(p1, p1)
    R = ((structure.pool_w / d ** 3) @ structure.P).reshape(p1, p1)
    m = structure.n - p if reml else structure.n
    l1 = float(structure.pool_size @ (structure.pool_w / d))
    l2 = -float(structure.pool_size @ (structure.pool_w / d) ** 2)
    SQ = Sinv @ Q[:p, :p]
    if reml:
        l1 -= float(np.trace(SQ))
        l2 += -float(np.sum(SQ * SQ.T)) + 2.0 * float(np.sum(Sinv * R[:p, :p]))
    Qv = Q @ v
    r1 = -float(v @ Qv)
    rdd = 2.0 * float(v @ R @ v) - 2.0 * float(Qv[:p] @ Sinv @ Qv[:p])
    return PsiDerivatives(g=l1 + m * r1 / r2, h=l2 + m * (rdd / r2 - (r1 / r2) ** 2), l1=l1, l2=l2, r2=r2,
                          r1=r1, rdd=rdd, m=m, Sinv=Sinv, SQ=SQ)


def variance_derivatives(structure, theta, sigma: float, reml: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    """For lmerTest's Satterthwaite df: the Hessian of `deviance_at` = ℓ(ψ) + r²(ψ)/σ² + m log(2πσ²)
    in φ = (θ, σ), and ∂Cov(β̂)/∂θ = 2θσ² S_XX⁻¹Q_XX S_XX⁻¹, ∂Cov(β̂)/∂σ = 2σ S_XX⁻¹
    (d/dθ = 2θ d/dψ, d²/dθ² = 2 d/dψ + 4ψ d²/dψ²)."""
    t = float(np.atleast_1d(theta)[0])
    psi = t * t
    with single_threaded_blas():
        q = psi_derivatives(structure, psi, reml)
    l_tt, r_t, r_tt = 2 * q.l1 + 4 * psi * q.l2, 2 * t * q.r1, 2 * q.r1 + 4 * psi * q.rdd
    s2 = sigma * sigma
    H = np.array([[l_tt + r_tt / s2, -2.0 * r_t / sigma ** 3],
                  [-2.0 * r_t / sigma ** 3, 6.0 * q.r2 / s2 ** 2 - 2.0 * q.m / s2]])
    jac = [2.0 * t * s2 * q.SQ @ q.Sinv, 2.0 * sigma * q.Sinv]
    return H, jac


def optimize_grouped(structure, reml: bool, start=None, max_evals: int | None = None) -> Optimum:
    """θ̂ of a GroupedStructure (module doc), from `start` (default: its moment estimate)."""
    evals = 0
    cap = max_evals or 500

    def parts(psi):
        nonlocal evals
        evals += 1
        if evals > cap:
            raise _EvalCap
        return psi_derivatives(structure, psi, reml)

    def g(psi):
        q = parts(psi)
        return np.nan if q is None else q.g

    t0 = float(np.atleast_1d(structure.start_theta() if start is None else start)[0])
    psi0 = t0 * t0 if t0 != 0 else 1.0
    messages: list[str] = []
    psi = None
    try:
        with single_threaded_blas():     # (p+1)² matrices: threads only cost (lmm.py)
            psi = _newton(parts, psi0)
            if psi is None:
                psi = _bracket_and_brent(g, psi0)
    except _EvalCap:
        messages.append(f"the optimiser stopped before converging: it reached max_evals = {cap} evaluations")
    except (_NoBracket, ValueError, RuntimeError) as e:
        messages.append(f"the optimiser stopped before converging: {e}")
    if messages:
        theta = np.array([np.sqrt(psi0)])
        return Optimum(theta=theta, value=structure.deviance(theta, reml), n_evals=evals, converged=False,
                       messages=messages)
    theta = np.array([0.0 if psi is None else np.sqrt(psi)])
    value = structure.deviance(theta, reml)
    if psi is not None:
        at_zero = structure.deviance(np.zeros(1), reml)
        if at_zero <= value:
            theta, value = np.zeros(1), at_zero
    evals += 2
    verdict = optimiser_stop(Verdict(), True, "", value)
    if verdict.converged and theta[0] > 0:
        # convergence.py's checks with the exact derivatives: dD/dθ = 2θ dD/dψ, d²D/dθ² = 2 dD/dψ + 4ψ d²D/dψ²
        with single_threaded_blas():
            q = psi_derivatives(structure, float(theta[0]) ** 2, reml)
        evals += 1
        if q is None:
            verdict.fail("the deviance is not finite at the optimum")
        else:
            t = float(theta[0])
            check_optimum(verdict, np.array([2 * t * q.g]), np.array([[2 * q.g + 4 * t * t * q.h]]), np.array([True]))
    return Optimum(theta=theta, value=float(value), n_evals=evals, converged=verdict.converged,
                   messages=verdict.messages)


def _newton(parts, psi: float, max_steps: int = 30) -> float | None:
    """Safeguarded Newton on dD/dψ; None when it cannot be trusted (then bracket instead)."""
    lo, hi = 0.0, np.inf                               # g(lo) < 0 < g(hi) once seen
    for _ in range(max_steps):
        q = parts(psi)
        if q is None or not (np.isfinite(q.g) and np.isfinite(q.h)):
            return None
        if q.g == 0.0:
            return psi
        if q.g < 0:
            lo = max(lo, psi)
        else:
            hi = min(hi, psi)
        if q.h <= 0:
            return None
        new = psi - q.g / q.h
        if new <= lo or new >= hi:
            if lo > 0 and np.isfinite(hi):
                new = 0.5 * (lo + hi)                  # bisect inside the bracket
            else:
                return None                            # heading for the boundary or out of range
        if abs(new - psi) <= 1e-10 * psi:
            return new                                 # quadratic convergence: the next step is at rounding level
        psi = new
    return None


def _bracket_and_brent(g, psi0: float) -> float | None:
    """A sign change of dD/dψ on a geometric grid from ψ₀, refined by Brent's method; None for the
    boundary ψ = 0 (dD/dψ ≥ 0 down to PSI_FLOOR)."""
    g0 = g(psi0)
    if not np.isfinite(g0):
        raise _NoBracket("the deviance derivative is not finite at the start")
    if g0 < 0:                                          # the minimum is further out
        lo, hi = psi0, psi0 * 4.0
        while (ghi := g(hi)) < 0:
            lo, hi = hi, hi * 4.0
            if hi > PSI_CEILING:
                raise _NoBracket("the deviance keeps decreasing as θ grows (no residual variation?)")
        if not np.isfinite(ghi):
            raise _NoBracket("the deviance derivative is not finite")
    else:                                               # the minimum is closer to 0, or at 0
        hi, lo = psi0, psi0 / 4.0
        while lo >= PSI_FLOOR and (glo := g(lo)) >= 0:
            hi, lo = lo, lo / 4.0
        if lo < PSI_FLOOR:
            return None
        if not np.isfinite(glo):
            raise _NoBracket("the deviance derivative is not finite")
    return brentq(g, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=200)


class _EvalCap(Exception):
    pass


class _NoBracket(Exception):
    pass
