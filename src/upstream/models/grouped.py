"""One random intercept, fitted from per-group sums: `y ~ X + (1 | g)` without the n rows.

Model: y_j = X_j β + 1 b_j + ε_j for group j, b_j ~ N(0, σ²θ²), ε_j ~ N(0, σ² W_j⁻¹) (prior
weights W_j = diag(w), 1 when unweighted). The likelihood depends on the data only through the
per-group sums (with weights: weighted sums)

    n_j = rows,  w_j = Σ w,  s_j = X_j'W1,  XtX_j = X_j'WX_j,  Xty_j = X_j'Wy_j,
    sy_j = 1'Wy_j,  yty_j = y_j'Wy_j,  Σ log w,

which `GroupStats` holds (group_stats.py: from arrays in one vectorised pass, from the output of
a SQL `GROUP BY g`, or by adding partial aggregates).

Profiled deviance (lme4's, Bates et al. 2015, with Λ = θ I and Z the group indicators). With
ψ = θ², d_j = 1 + ψ w_j and a_j = [s_j; sy_j], the Schur complement of the random-effect block of
lme4's augmented cross-product matrix is

    S(ψ) = [X y]'W[X y] − Σ_j (ψ/d_j) a_j a_j' = [[R_X'R_X, ·], [·, r² + ·]]   ((p+1)×(p+1))

so that log|L_θ|² = Σ_j log d_j, log|R_X|² = log|S_XX| and the penalised residual sum of squares
r² = S_yy − S_yX S_XX⁻¹ S_Xy; REML criterion = Σ log d_j − log|W| + log|R_X|² +
(n−p)(1 + log(2π r²/(n−p))), ML deviance the same without log|R_X|² and with n for n−p. Groups
sharing a w_j share ψ/d_j, so the θ-free sums P_k = Σ_{j: w_j = u_k} a_j a_j' are formed once and
an evaluation costs O(K p²) for K distinct group sizes (weights), plus one (p+1)² Cholesky.
Solutions: β̂ = S_XX⁻¹S_Xy, Cov(β̂) = σ² S_XX⁻¹, conditional modes b̂_j = ψ(sy_j − s_j'β̂)/d_j with
conditional variance σ²ψ/d_j (lme4's condVar), σ̂² = r²/(n−p) (REML) or r²/n (ML).

The optimum: the derivatives in ψ are exact and cheap (second derivative: `_psi_parts`),

    dD/dψ = Σ_j w_j/d_j − tr(S_XX⁻¹ Q_XX) − (n−p) v'Qv / r²,   Q = Σ_j a_j a_j'/d_j²,  v = [−β̂; 1]

(ML: no trace term, n for n−p), so θ̂ is its root, found to machine precision by Newton's method
from the start (3–5 steps), or — if Newton leaves the convex region or heads for ψ ≤ 0 — by a
sign change on a geometric grid refined with Brent's method. (A derivative-free minimiser of D
can only locate θ̂ to ~√eps: lmer's COBYQA stops up to ~1e-6 away, relative.) If dD/dψ ≥ 0 down
to ψ = 1e-20 the optimum is the boundary θ = 0, as lme4's bounded optimiser reports it; an
interior root is kept only if its deviance is below D(0). The same derivatives give lmerTest's
Satterthwaite df exactly (`variance_derivatives`).

`GroupedStructure` offers `LmmStructure`'s interface, so `LmerResult`, Satterthwaite df and the
bootstrap work unchanged on it; `lmer` uses it for a formula whose only random term is `(1 | g)`
and `lmer_from_stats` fits it from `GroupStats` alone (then row-level methods — fitted values,
residuals, predictions, Kenward–Roger — raise `NoRowsError`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.linalg.lapack import dpotrf as _potrf, dpotri as _potri, dtrtrs as _trtrs
from scipy.optimize import brentq

from .design import FixedMatrix, RandomBlock, RankDeficiencyWarning
from .group_stats import GroupStats, full_rank_from_crossproducts
from .lmm import _BLAS
from .optimize import Optimum

PSI_FLOOR = 1e-20            # θ below 1e-10 is the boundary θ = 0
PSI_CEILING = 1e16


class NoRowsError(ValueError):
    """A row-level quantity was asked of a model fitted from group statistics alone."""


# ---------------------------------------------------------------------------------------------------
# the structure (LmmStructure's interface)
# ---------------------------------------------------------------------------------------------------

@dataclass
class GroupedFactor:
    """The factorisation at one θ: Cholesky factor of S(θ) and the deviance pieces."""

    theta: np.ndarray
    T: list[np.ndarray]
    lrr: np.ndarray               # lower Cholesky factor of S ((p+1)×(p+1)); lme4's R_X' and r in its last row
    ldL2: float
    ldRX2: float
    pwrss: float


@dataclass
class _Rows:
    """The n-row arrays when the statistics were built from them (lmer's path)."""

    X: np.ndarray
    y: np.ndarray
    codes: np.ndarray
    weights: np.ndarray | None


class GroupedStructure:
    """Everything about `y ~ X + (1 | g)` that does not depend on θ, from `GroupStats`."""

    n_theta = 1

    def __init__(self, stats: GroupStats, rows: _Rows | None = None, block: RandomBlock | None = None):
        if stats.n_groups < 2:
            raise ValueError(f"the grouping factor {stats.group!r} has only {stats.n_groups} level; "
                             "a random effect needs at least 2 levels")
        if np.any(stats.n <= 0):
            bad = stats.levels[stats.n <= 0]
            raise ValueError(f"group statistics have groups without rows: {', '.join(map(str, bad[:5]))}")
        self.stats = stats
        self.rows = rows
        self.lower = np.array([0.0])
        self.n, self.p = int(stats.n.sum()), stats.p
        self.ldW = float(stats.sum_log_w.sum()) if stats.weighted else 0.0
        self.blocks = [block if block is not None else
                       RandomBlock(group=stats.group, terms=["(Intercept)"], codes=None, levels=stats.levels,
                                   values=None)]
        w = stats.w
        self.w = w
        # groups pooled by their Σw: ψ/d_j is shared within a pool
        self.pool_w, self.pool = np.unique(w, return_inverse=True)
        self.pool_size = np.bincount(self.pool).astype(float)
        K, G, p = len(self.pool_w), stats.n_groups, self.p
        self._pool_matrix = sp.csr_matrix((np.ones(G), (self.pool, np.arange(G))), shape=(K, G))
        order = np.argsort(self.pool, kind="stable")
        bounds = np.r_[0, np.cumsum(np.bincount(self.pool, minlength=K))]
        s_sorted = stats.s[order]
        P_xx = np.empty((K, p, p))
        with _BLAS.limit(limits=1, user_api="blas"):        # many small products: threads only cost
            for k in range(K):
                sk = s_sorted[bounds[k]:bounds[k + 1]]
                P_xx[k] = sk.T @ sk
        self._P_xx = P_xx
        self._xtx = stats.xtx_total
        self._set_sums(stats.sy, stats.xty.sum(axis=0), float(stats.yty.sum()))

    @classmethod
    def from_rows(cls, X: np.ndarray, y: np.ndarray, block: RandomBlock, weights: np.ndarray | None,
                  names: list[str]) -> "GroupedStructure":
        stats = GroupStats.from_arrays(X, y, block.codes, weights=weights, names=names, levels=block.levels,
                                       group=block.group, per_group_xtx=False)
        return cls(stats, rows=_Rows(X=X, y=np.asarray(y, dtype=float), codes=block.codes, weights=weights),
                   block=block)

    # -- response-dependent parts (recomputed for each bootstrap replicate) ---------------------
    def _set_sums(self, sy: np.ndarray, xty: np.ndarray, yty: float):
        """Install the response sums: per-group 1'Wy_j, and the totals X'Wy and y'Wy."""
        p = self.p
        self.sy = sy
        self._last = None
        B = np.empty((p + 1, p + 1))
        B[:p, :p] = self._xtx
        B[:p, p] = B[p, :p] = xty
        B[p, p] = yty
        self.B = B
        K = len(self.pool_w)
        P = np.empty((K, p + 1, p + 1))
        P[:, :p, :p] = self._P_xx
        sxy = self._pool_matrix @ (self.stats.s * sy[:, None])
        P[:, :p, p] = sxy
        P[:, p, :p] = sxy
        P[:, p, p] = self._pool_matrix @ (sy * sy)
        self.P = P.reshape(K, -1)

    def with_sums(self, sy: np.ndarray, xty: np.ndarray, yty: float) -> "GroupedStructure":
        """A shallow copy with another response, given by its sums (same design): the bootstrap."""
        new = object.__new__(GroupedStructure)
        new.__dict__.update(self.__dict__)
        new.rows = None
        new._set_sums(np.asarray(sy, dtype=float), np.asarray(xty, dtype=float), float(yty))
        return new

    def with_response(self, y: np.ndarray) -> "GroupedStructure":
        """A shallow copy with another response vector (same rows)."""
        r = self._need_rows("a new response vector")
        y = np.asarray(y, dtype=float)
        wy = y if r.weights is None else r.weights * y
        new = self.with_sums(np.bincount(r.codes, weights=wy, minlength=self.stats.n_groups), r.X.T @ wy,
                             float(wy @ y))
        new.rows = replace(r, y=y)
        return new

    def group_crossproducts(self) -> np.ndarray:
        """Per-group X_j'WX_j (G×p×p): from the statistics, or computed from the rows if they kept
        only the total."""
        if self.stats.xtx is not None:
            return self.stats.xtx
        r = self._need_rows("per-group X'WX (the statistics kept only their sum)")
        full = GroupStats.from_arrays(r.X, r.y, r.codes, weights=r.weights, levels=self.stats.levels)
        return full.xtx

    # -- rows (only when built from them) --------------------------------------------------------
    def _need_rows(self, what: str) -> _Rows:
        if self.rows is None:
            raise NoRowsError(f"{what} needs the data rows, but this model was fitted from group statistics "
                              "alone; refit with lmer(formula, data) for row-level results")
        return self.rows

    @property
    def has_rows(self) -> bool:
        return self.rows is not None

    @property
    def X(self) -> np.ndarray:
        return self._need_rows("the fixed-effect model matrix").X

    @property
    def y(self) -> np.ndarray:
        return self._need_rows("the response vector").y

    @property
    def weights(self) -> np.ndarray | None:
        return self._need_rows("the prior weights").weights

    @property
    def sw(self) -> np.ndarray | None:
        w = self.weights
        return None if w is None else np.sqrt(w)

    def fitted(self, beta: np.ndarray, b: list[np.ndarray]) -> np.ndarray:
        r = self._need_rows("fitted values")
        return r.X @ beta + b[0][r.codes]

    # -- θ → factor ------------------------------------------------------------------------------
    def _schur(self, psi: float) -> np.ndarray:
        c = psi / (1.0 + psi * self.pool_w)
        p1 = self.p + 1
        return self.B - (c @ self.P).reshape(p1, p1)

    def factor(self, theta) -> GroupedFactor | None:
        theta = np.atleast_1d(np.asarray(theta, dtype=float))
        t = float(theta[0])
        if self._last is not None and self._last[0] == t:          # the optimum is factored twice
            return self._last[1]
        psi = t * t
        lrr, info = _potrf(self._schur(psi), lower=1, clean=1)
        diag = np.diag(lrr)
        if info != 0 or not np.all(np.isfinite(diag)) or np.any(diag[:-1] <= 0):
            return None
        ldL2 = float(self.pool_size @ np.log1p(psi * self.pool_w))
        f = GroupedFactor(theta=theta, T=[np.array([[t]])], lrr=lrr, ldL2=ldL2,
                          ldRX2=float(2.0 * np.log(diag[:-1]).sum()), pwrss=float(diag[-1] ** 2))
        self._last = (t, f)
        return f

    # -- deviance (the formulas of LmmStructure) ---------------------------------------------------
    def objective(self, f: GroupedFactor | None, reml: bool) -> float:
        if f is None or f.pwrss <= 0:
            return np.inf
        n = self.n - (self.p if reml else 0)
        dev = f.ldL2 - self.ldW + n * (1.0 + np.log(2.0 * np.pi * f.pwrss / n))
        return float(dev + (f.ldRX2 if reml else 0.0))

    def deviance(self, theta, reml: bool) -> float:
        return self.objective(self.factor(theta), reml)

    def deviance_at(self, theta, sigma: float, reml: bool) -> float:
        f = self.factor(theta)
        if f is None:
            return np.inf
        s2 = sigma * sigma
        dev = f.ldL2 + f.pwrss / s2 + self.n * np.log(2 * np.pi * s2)
        if reml:
            dev += f.ldRX2 - self.p * np.log(2 * np.pi * s2)
        return float(dev)

    def _psi_parts(self, psi: float, reml: bool) -> "_PsiParts | None":
        """The profiled deviance's first and second derivatives in ψ = θ², exactly.

        With m = n − p (REML) or n, Q = Σ_j a_j a_j'/d_j², R = Σ_j w_j a_j a_j'/d_j³, v = [−β̂; 1]:
            ℓ  = Σ log d_j (+ log|S_XX| for REML):
            ℓ' = Σ w_j/d_j − tr(S_XX⁻¹Q_XX),
            ℓ'' = −Σ w_j²/d_j² − tr(S_XX⁻¹Q_XX S_XX⁻¹Q_XX) + 2 tr(S_XX⁻¹R_XX)   (ML: no trace terms),
            r²' = −v'Qv,   r²'' = 2 v'Rv − 2 (Qv)_X' S_XX⁻¹ (Qv)_X   (envelope theorem; dβ̂/dψ = S_XX⁻¹(Qv)_X),
            dD/dψ = ℓ' + m r²'/r²,   d²D/dψ² = ℓ'' + m (r²''/r² − (r²'/r²)²)."""
        p, p1 = self.p, self.p + 1
        d = 1.0 + psi * self.pool_w
        L, info = _potrf(self.B - ((psi / d) @ self.P).reshape(p1, p1), lower=1, clean=1)
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
        Q = ((1.0 / d ** 2) @ self.P).reshape(p1, p1)
        R = ((self.pool_w / d ** 3) @ self.P).reshape(p1, p1)
        m = self.n - p if reml else self.n
        l1 = float(self.pool_size @ (self.pool_w / d))
        l2 = -float(self.pool_size @ (self.pool_w / d) ** 2)
        SQ = Sinv @ Q[:p, :p]
        if reml:
            l1 -= float(np.trace(SQ))
            l2 += -float(np.sum(SQ * SQ.T)) + 2.0 * float(np.sum(Sinv * R[:p, :p]))
        Qv = Q @ v
        r1 = -float(v @ Qv)
        rdd = 2.0 * float(v @ R @ v) - 2.0 * float(Qv[:p] @ Sinv @ Qv[:p])
        return _PsiParts(g=l1 + m * r1 / r2, h=l2 + m * (rdd / r2 - (r1 / r2) ** 2), l1=l1, l2=l2, r2=r2, r1=r1,
                         rdd=rdd, m=m, Sinv=Sinv, SQ=SQ)

    def variance_derivatives(self, theta, sigma: float, reml: bool) -> tuple[np.ndarray, list[np.ndarray]]:
        """For lmerTest's Satterthwaite df, exactly: the Hessian of `deviance_at` in φ = (θ, σ) and
        the derivatives ∂Cov(β̂)/∂θ = 2θσ² S_XX⁻¹Q_XX S_XX⁻¹, ∂Cov(β̂)/∂σ = 2σ S_XX⁻¹.
        deviance_at = ℓ(ψ) + r²(ψ)/σ² + m log(2πσ²) (see `_psi_parts` for ℓ, r² and their
        ψ-derivatives); d/dθ = 2θ d/dψ and d²/dθ² = 2 d/dψ + 4ψ d²/dψ²."""
        t = float(np.atleast_1d(theta)[0])
        psi = t * t
        with _BLAS.limit(limits=1, user_api="blas"):
            q = self._psi_parts(psi, reml)
        l_tt, r_t, r_tt = 2 * q.l1 + 4 * psi * q.l2, 2 * t * q.r1, 2 * q.r1 + 4 * psi * q.rdd
        s2 = sigma * sigma
        H = np.array([[l_tt + r_tt / s2, -2.0 * r_t / sigma ** 3],
                      [-2.0 * r_t / sigma ** 3, 6.0 * q.r2 / s2 ** 2 - 2.0 * q.m / s2]])
        jac = [2.0 * t * s2 * q.SQ @ q.Sinv, 2.0 * sigma * q.Sinv]
        return H, jac

    # -- optimum -----------------------------------------------------------------------------------
    def start_theta(self) -> np.ndarray:
        """One-way ANOVA moment estimate of τ/σ from the OLS residuals (weighted sums)."""
        p = self.p
        try:
            beta = np.linalg.solve(self.B[:p, :p], self.B[:p, p])
        except np.linalg.LinAlgError:
            return np.ones(1)
        w = self.w
        W = w.sum()
        ss = self.B[p, p] - 2 * beta @ self.B[:p, p] + beta @ self.B[:p, :p] @ beta
        group_e = self.sy - self.stats.s @ beta
        mean = group_e.sum() / W
        s2 = ss / W - mean ** 2
        if not s2 > 0:
            return np.ones(1)
        means = group_e / w
        tau2 = means.var() - s2 * np.mean(1.0 / w)
        return np.array([np.sqrt(max(tau2, 0.01 * s2) / s2)])

    def optimize(self, reml: bool, start=None, max_evals: int | None = None, check: bool = True) -> Optimum:
        """θ̂ = √ψ̂, ψ̂ the root of dD/dψ: Newton's method from the start (exact second derivative;
        quadratic convergence, 3–5 steps from a good start such as θ̂ in the bootstrap); if a step
        leaves the region where D is convex or heads for ψ ≤ 0, a bracket on a geometric grid and
        Brent's method instead, with the boundary θ = 0 when dD/dψ ≥ 0 down to ψ = 1e-20. An
        interior root is kept only if its deviance is below D(θ = 0), the boundary lme4 allows.
        (`check` is accepted for LmmStructure's interface: the root needs no gradient check.)"""
        evals = 0
        cap = max_evals or 500

        def parts(psi):
            nonlocal evals
            evals += 1
            if evals > cap:
                raise _EvalCap
            return self._psi_parts(psi, reml)

        def g(psi):
            q = parts(psi)
            return np.nan if q is None else q.g

        t0 = float(np.atleast_1d(self.start_theta() if start is None else start)[0])
        psi0 = t0 * t0 if t0 != 0 else 1.0
        messages: list[str] = []
        psi = None
        try:
            with _BLAS.limit(limits=1, user_api="blas"):     # (p+1)² matrices: threads only cost (lmm.py)
                psi = self._newton(parts, psi0)
                if psi is None:
                    psi = self._bracket_and_brent(g, psi0)
        except _EvalCap:
            messages.append(f"the optimiser stopped before converging: it reached max_evals = {cap} evaluations")
        except (_NoBracket, ValueError, RuntimeError) as e:
            messages.append(f"the optimiser stopped before converging: {e}")
        if messages:
            theta = np.array([np.sqrt(psi0)])
            return Optimum(theta=theta, value=self.deviance(theta, reml), n_evals=evals, converged=False,
                           messages=messages)
        theta = np.array([0.0 if psi is None else np.sqrt(psi)])
        value = self.deviance(theta, reml)
        if psi is not None:
            at_zero = self.deviance(np.zeros(1), reml)
            if at_zero <= value:
                theta, value = np.zeros(1), at_zero
        evals += 2
        if not np.isfinite(value):
            messages.append("the deviance is not finite at the optimum")
        return Optimum(theta=theta, value=float(value), n_evals=evals, converged=not messages, messages=messages)

    @staticmethod
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

    @staticmethod
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

    # -- solutions ---------------------------------------------------------------------------------
    def solve(self, f: GroupedFactor) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """β̂, spherical modes u and conditional modes b = θu (one list entry: the intercept term)."""
        p = self.p
        lrr = f.lrr
        beta = sla.solve_triangular(lrr[:p, :p].T, lrr[p, :p], lower=False) if p else np.zeros(0)
        t = float(f.theta[0])
        d = 1.0 + t * t * self.w
        u = t * (self.sy - self.stats.s @ beta) / d
        return beta, [u], [t * u]

    def rx_inverse(self, f: GroupedFactor) -> np.ndarray:
        """(R_X'R_X)⁻¹ = S_XX⁻¹, so that Cov(β̂) = σ²·(R_X'R_X)⁻¹."""
        p = self.p
        Li = sla.solve_triangular(f.lrr[:p, :p], np.eye(p), lower=True)
        return Li.T @ Li

    def conditional_variances(self, f: GroupedFactor) -> list[np.ndarray]:
        """ψ/d_j per group (times σ²: lme4's conditional variance of b_j), as a (G, 1, 1) stack."""
        t = float(f.theta[0])
        return [(t * t / (1.0 + t * t * self.w)).reshape(-1, 1, 1)]

    def prediction_error_variances(self, f: GroupedFactor) -> list[np.ndarray]:
        """Var(b̂_j − b_j)/σ² including the estimation of β (Henderson's PEV):
        ψ/d_j + (ψ/d_j)² s_j'(R_X'R_X)⁻¹s_j, as a (G, 1, 1) stack."""
        t = float(f.theta[0])
        c = t * t / (1.0 + t * t * self.w)
        s = self.stats.s
        quad = np.einsum("gi,gi->g", s @ self.rx_inverse(f), s)
        return [(c + c * c * quad).reshape(-1, 1, 1)]


@dataclass
class _PsiParts:
    g: float          # dD/dψ
    h: float          # d²D/dψ²
    l1: float
    l2: float
    r2: float
    r1: float
    rdd: float
    m: int
    Sinv: np.ndarray
    SQ: np.ndarray


class _EvalCap(Exception):
    pass


class _NoBracket(Exception):
    pass


def is_single_intercept(blocks: list[RandomBlock]) -> bool:
    """True for models whose only random term is a scalar intercept `(1 | g)`."""
    return len(blocks) == 1 and blocks[0].terms == ["(Intercept)"]


def lmer_from_stats(stats: GroupStats, reml: bool = True, ddf: str = "satterthwaite", start=None,
                    max_evals: int | None = None):
    """Fit `y ~ X + (1 | g)` by REML (default) or ML from `GroupStats` alone (no rows): the same
    `LmerResult` as `lmer`, without fitted values, residuals, predictions or Kenward–Roger df.
    Linearly dependent columns are dropped with a warning, as lme4 does."""
    from .results import LmerResult, _check_ddf
    ddf = _check_ddf(ddf)
    keep = full_rank_from_crossproducts(stats.xtx_total)
    dropped = [nm for nm, k in zip(stats.names, keep) if not k]
    if dropped:
        warnings.warn(f"fixed-effect model matrix is rank deficient so dropping {len(dropped)} "
                      f"column{'s' if len(dropped) > 1 else ''} / coefficient{'s' if len(dropped) > 1 else ''}: "
                      f"{', '.join(dropped)}", RankDeficiencyWarning, stacklevel=2)
        stats = stats.drop_columns(keep)
    structure = GroupedStructure(stats)
    optimum = structure.optimize(reml, start=start, max_evals=max_evals)
    fixed = FixedMatrix(X=None, names=list(stats.names), dropped=dropped)
    columns = [nm for nm in stats.names if nm != "(Intercept)"]
    rhs = " + ".join(columns) if "(Intercept)" in stats.names else " + ".join(["0"] + columns)
    formula = f"{stats.response} ~ {rhs or '1'} + (1 | {stats.group})  [from group statistics]"
    return LmerResult(formula, None, fixed, structure.blocks, structure, optimum, reml, ddf)
