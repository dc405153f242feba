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

The optimum θ̂ is the exact root of dD/dψ (Newton, else Brent on a bracket; the boundary θ = 0
as lme4) and Satterthwaite's derivatives are exact too: grouped_optimum.py.

`GroupedStructure` offers `LmmStructure`'s interface, so `LmerResult`, Satterthwaite df and the
bootstrap work unchanged on it; `lmer` uses it for a formula whose only random term is `(1 | g)`
and `lmer_from_stats` fits it from `GroupStats` alone (then row-level methods — fitted values,
residuals, predictions, Kenward–Roger — raise `NoRowsError`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.linalg.lapack import dpotrf as _potrf

from .design import RandomBlock
from .group_stats import GroupStats
from .grouped_optimum import optimize_grouped, variance_derivatives
from .lmm import single_threaded_blas
from .optimize import Optimum


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
        with single_threaded_blas():        # many small products: threads only cost
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

    def variance_derivatives(self, theta, sigma: float, reml: bool) -> tuple[np.ndarray, list[np.ndarray]]:
        """Exact Satterthwaite ingredients (grouped_optimum.py)."""
        return variance_derivatives(self, theta, sigma, reml)

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
        """θ̂, the exact root of dD/dψ (grouped_optimum.py); `check` is not needed for it."""
        return optimize_grouped(self, reml, start=start, max_evals=max_evals)

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


def is_single_intercept(blocks: list[RandomBlock]) -> bool:
    """True for models whose only random term is a scalar intercept `(1 | g)`."""
    return len(blocks) == 1 and blocks[0].terms == ["(Intercept)"] and blocks[0].membership is None
