"""Profiled deviance of a linear mixed model, evaluated with a blocked Cholesky factor.

Model (Bates et al. 2015, lme4): y = Xβ + Zb + ε, b = Λ(θ)u, u ~ N(0, σ²I), ε ~ N(0, σ²W⁻¹).
For a given θ we factor the augmented cross-product matrix of [ZΛ, X, y] (with the identity added
to the ZΛ block):

    [ Λ'Z'ZΛ + I   Λ'Z'X   Λ'Z'y ]
    [ X'ZΛ         X'X     X'y   ]  =  L L'
    [ y'ZΛ         y'X     y'y   ]

Random terms are ordered by size. The first (largest) term's block Λ₁'Z₁'Z₁Λ₁ + I is block
diagonal — one k×k block per level, since each row belongs to one level — so its factor costs
O(levels·k³) and the coupling rows L_R1 are sparse. The remaining terms, X and y form a dense
Schur complement whose Cholesky factor is small for support data (a second factor of a few
thousand levels at most). From L:

    log|L_Z|²  (ldL2),  log|R_X|² (ldRX2),  r² = L_yy² (penalised weighted residual sum of squares)
    ML   deviance = ldL2 − log|W| + n·(1 + log(2π r²/n))
    REML criterion = ldL2 − log|W| + ldRX2 + (n−p)·(1 + log(2π r²/(n−p)))

exactly as lme4's `lmer` (`REMLcrit()` and `deviance()`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.linalg.lapack import dpotrf as _potrf
from threadpoolctl import ThreadpoolController

from .design import RandomBlock
from .lmm_matrices import block_diag_sparse, lambda_sparse, lower_triangle, theta_size, z_matrix  # noqa: F401
from .lmm_scalar import MAX_PAIRS, SCALAR_MAP_MIN, ScalarSchur
from .lmm_solutions import LmmSolutions

# OpenBLAS's threaded Cholesky of a ~1000² matrix is up to 30× slower than one thread when the
# other core is busy (measured on the 2-core target machine), so dense factorisations run on one.
_BLAS = ThreadpoolController()


def single_threaded_blas():
    """Context in which BLAS runs on one thread: the engine's dense matrices are small (a few hundred
    rows), where threading costs more than it gains — 5× per deviance evaluation on the 2-core target
    machine under load. Entered once per fit (optimisation, derivatives), not per evaluation."""
    return _BLAS.limit(limits=1, user_api="blas")


@dataclass
class Factor:
    """The blocked Cholesky factor at one θ, plus what the deviance needs."""

    theta: np.ndarray
    T: list[np.ndarray]           # per block (formula order): relative covariance factor
    l11: np.ndarray               # (ℓ₁, k₁, k₁) Cholesky blocks of the first term (k₁ = 1: (ℓ₁, 1, 1))
    right1: object                # Λ₁ L₁₁⁻ᵀ as sparse (ℓ₁k₁ × ℓ₁k₁)
    lr1_rand: sp.csr_matrix       # coupling rows of the other random terms (m_r × q₁)
    lr1_fix: np.ndarray           # coupling rows of X and y ((p+1) × q₁)
    lrr: np.ndarray               # dense Cholesky factor of the Schur complement ((m_r+p+1)²)
    ldL2: float
    ldRX2: float
    pwrss: float


@dataclass
class DevianceParts:
    """What the deviance and Cov(β̂) need from a factor (lme4's ldL2, ldRX2, pwrss)."""

    ldL2: float
    ldRX2: float
    pwrss: float
    rx_inverse: np.ndarray


class LmmStructure(LmmSolutions):
    """Everything about a linear mixed model that does not depend on θ."""

    def __init__(self, blocks: list[RandomBlock], X: np.ndarray, y: np.ndarray,
                 weights: np.ndarray | None = None, reuse: bool = True):
        """`reuse`: the structure will be factored at many θ (an optimisation), so precompute what
        makes each factorisation cheaper (lmm_scalar.py); PIRLS factors each structure once."""
        if not blocks:
            raise ValueError("a mixed model needs at least one random term, e.g. (1 | agent)")
        self.blocks = blocks
        self.n, self.p = X.shape
        self.X, self.weights = X, weights
        self.sw = None if weights is None else np.sqrt(weights)
        self.ldW = 0.0 if weights is None else float(np.sum(np.log(weights[weights > 0])))
        self.order = sorted(range(len(blocks)), key=lambda t: -blocks[t].q)
        # the first term must have one level per row (block-diagonal Z₁'Z₁); a multiple-membership
        # term never is, so it joins the dense rest, and a model of mm() terms alone has no first term
        single = [t for t in self.order if blocks[t].membership is None]
        self.first = single[0] if single else None
        self.rest = [t for t in self.order if t != self.first]
        self.first_block = blocks[self.first] if single else _NO_TERM
        # θ layout (formula order of the blocks)
        self.theta_slices, start = [], 0
        lower = []
        for b in blocks:
            size = theta_size(b.k)
            self.theta_slices.append(slice(start, start + size))
            start += size
            lower += [0.0 if i == j else -np.inf for j in range(b.k) for i in range(j, b.k)]
        self.n_theta = start
        self.lower = np.array(lower)
        # cross products
        self.Z = [z_matrix(b, self.sw) for b in blocks]
        self.Xw = X if self.sw is None else X * self.sw[:, None]
        Z1 = self.Z[self.first] if self.first is not None else sp.csr_matrix((self.n, 0))
        b1 = self.first_block
        Z1tZ1 = (Z1.T @ Z1).tocsr()
        k1 = b1.k
        if k1 == 1:
            self.d1 = Z1tZ1.diagonal().reshape(-1, 1, 1)
        else:
            dense = np.zeros((b1.n_levels, k1, k1))
            coo = Z1tZ1.tocoo()
            g = coo.row // k1
            dense[g, coo.row % k1, coo.col % k1] = coo.data
            self.d1 = dense
        self.m_r = sum(blocks[t].q for t in self.rest)
        self.rest_offsets = np.cumsum([0] + [blocks[t].q for t in self.rest])
        Zr = sp.hstack([self.Z[t] for t in self.rest]).tocsc() if self.rest else None
        self.Zr = Zr
        self.c_rand = (Zr.T @ Z1).tocsr() if Zr is not None else sp.csr_matrix((0, b1.q))
        self.c_rand.sort_indices()
        self._c_rand_rows = np.repeat(np.arange(self.c_rand.shape[0]), np.diff(self.c_rand.indptr))
        self.rest_scalar = all(blocks[t].k == 1 for t in self.rest)
        self._level_block = np.repeat(np.arange(len(self.rest)), [blocks[t].q for t in self.rest])
        self._scalar = None
        if (reuse and self.first is not None and self.rest and self.rest_scalar and k1 == 1
                and self.m_r >= SCALAR_MAP_MIN and ScalarSchur.pairs(self.c_rand) <= MAX_PAIRS):
            self._scalar = ScalarSchur(self.c_rand, (Zr.T @ Zr).tocsr(), self._level_block, self.m_r + self.p + 1)
        self._set_response(y)

    # -- response-dependent parts (recomputed for each bootstrap sample) -----------------------
    def _set_response(self, y: np.ndarray):
        self.y = y
        self._parts = {}                                    # θ → DevianceParts, for this response
        yw = y if self.sw is None else y * self.sw
        Z1 = self.Z[self.first] if self.first is not None else sp.csr_matrix((self.n, 0))
        m_r, p = self.m_r, self.p
        if not hasattr(self, "_design_products"):          # y-free parts, computed once
            Z1t = Z1.T.tocsr()
            xtx = self.Xw.T @ self.Xw
            z1x = np.asarray(Z1t @ self.Xw)
            zr = self.Zr
            self._design_products = (Z1t, xtx, z1x,
                                     (zr.T @ zr).toarray() if zr is not None else None,
                                     np.asarray(zr.T @ self.Xw) if zr is not None else None)
        Z1t, xtx, z1x, zrzr, zrx = self._design_products
        self.c_fix = np.vstack([z1x.T, (Z1t @ yw)[None, :]])           # (p+1) × q₁
        m = m_r + p + 1
        B = np.empty((m, m))
        B[m_r:m_r + p, m_r:m_r + p] = xtx
        xty = self.Xw.T @ yw
        B[m_r:m_r + p, -1] = xty
        B[-1, m_r:m_r + p] = xty
        B[-1, -1] = yw @ yw
        if m_r:
            B[:m_r, :m_r] = zrzr
            zry = np.asarray(self.Zr.T @ yw)
            B[:m_r, m_r:m_r + p] = zrx
            B[m_r:m_r + p, :m_r] = zrx.T
            B[:m_r, -1] = zry
            B[-1, :m_r] = zry
        self.B = B

    def with_response(self, y: np.ndarray) -> "LmmStructure":
        """A shallow copy with another response vector (same design): used by the bootstrap."""
        new = object.__new__(LmmStructure)
        new.__dict__.update(self.__dict__)
        new._set_response(np.asarray(y, dtype=float))
        return new

    def start_theta(self) -> np.ndarray:
        """Starting θ: lme4's (1 on diagonals, 0 off) except that a random intercept gets a one-way
        ANOVA moment estimate τ/σ from the OLS residuals — it saves a third of the evaluations."""
        theta = np.where(self.lower == 0, 1.0, 0.0)
        m_r, p = self.m_r, self.p
        try:
            beta = np.linalg.solve(self.B[m_r:m_r + p, m_r:m_r + p], self.B[m_r:m_r + p, -1])
        except np.linalg.LinAlgError:
            return theta
        e = self.y - self.X @ beta
        s2 = float(e.var())
        if s2 <= 0:
            return theta
        for blk, sl in zip(self.blocks, self.theta_slices):
            if blk.k != 1 or blk.terms != ["(Intercept)"]:
                continue
            if blk.membership is not None:                  # weighted counts and means (mm() term)
                counts = np.asarray(blk.membership.sum(axis=0)).ravel()
                means = (blk.membership.T @ e) / np.maximum(counts, 1)
            else:
                counts = np.bincount(blk.codes, minlength=blk.n_levels).astype(float)
                means = np.bincount(blk.codes, weights=e, minlength=blk.n_levels) / np.maximum(counts, 1)
            tau2 = means.var() - s2 * np.mean(1.0 / np.maximum(counts, 1))
            theta[sl] = np.sqrt(max(tau2, 0.01 * s2) / s2)
        return theta

    # -- θ → factor ------------------------------------------------------------------------------
    def tmats(self, theta: np.ndarray) -> list[np.ndarray]:
        return [lower_triangle(theta[s], b.k) for s, b in zip(self.theta_slices, self.blocks)]

    def factor(self, theta: np.ndarray) -> Factor | None:
        """Blocked Cholesky factor at θ; None if the Schur complement is not positive definite."""
        theta = np.asarray(theta, dtype=float)
        T = self.tmats(theta)
        b1 = self.first_block
        T1 = T[self.first] if self.first is not None else np.zeros((1, 1))
        if b1.k == 1:
            t = T1[0, 0]
            l = np.sqrt(t * t * self.d1[:, 0, 0] + 1.0)
            l11 = l.reshape(-1, 1, 1)
            scale = t / l
            right1 = sp.diags(scale, shape=(len(scale), len(scale))).tocsr()
            lr1_fix = self.c_fix * scale[None, :]
            ld1 = 2.0 * np.log(l).sum()
        else:
            M = np.einsum("ji,gjk,kl->gil", T1, self.d1, T1) + np.eye(b1.k)[None]
            l11 = np.linalg.cholesky(M)
            linv = np.linalg.inv(l11)                               # batched triangular inverses
            blocks_right = np.einsum("ij,gkj->gik", T1, linv)        # T₁ L_g⁻ᵀ
            right1 = block_diag_sparse(blocks_right)
            lr1_fix = np.asarray((right1.T @ self.c_fix.T).T)
            ld1 = 2.0 * np.log(np.diagonal(l11, axis1=1, axis2=2)).sum()
        m_r = self.m_r
        if m_r and self.rest_scalar:
            # every other term a random intercept: Λ_r is diagonal, so scale in place
            a_block = np.array([T[t][0, 0] for t in self.rest])
            a = a_block[self._level_block]
            if b1.k == 1:
                data = self.c_rand.data * a[self._c_rand_rows] * scale[self.c_rand.indices]
                lr1_rand = sp.csr_matrix((data, self.c_rand.indices, self.c_rand.indptr), shape=self.c_rand.shape)
            else:
                lr1_rand = (sp.diags(a) @ self.c_rand @ right1).tocsr()

            def build():
                if self._scalar is not None:                     # S_rr as a precomputed linear map
                    return self._scalar_schur(scale * scale, a_block, a, lr1_fix)
                af = np.concatenate([a, np.ones(self.p + 1)])
                return self._dense_schur(self.B * af[:, None] * af[None, :], lr1_rand, lr1_fix)
        elif m_r:
            lam_r = sp.block_diag([lambda_sparse(T[t], self.blocks[t].n_levels) for t in self.rest]).tocsr()
            lr1_rand = (lam_r.T @ self.c_rand @ right1).tocsr()

            def build():
                S = np.empty_like(self.B)
                lamB = np.asarray(lam_r.T @ self.B[:m_r, :])               # Λ_r' [B_rr B_rf]
                S[:m_r, :m_r] = np.asarray(lam_r.T @ lamB[:, :m_r].T).T
                S[:m_r, m_r:] = lamB[:, m_r:]
                S[m_r:, :m_r] = lamB[:, m_r:].T
                S[m_r:, m_r:] = self.B[m_r:, m_r:]
                return self._dense_schur(S, lr1_rand, lr1_fix)
        else:
            lr1_rand = sp.csr_matrix((0, b1.q))

            def build():
                S = self.B.copy()
                S -= lr1_fix @ lr1_fix.T
                return S
        lrr = _cholesky_lower(build)
        if lrr is None:
            return None
        diag = np.diag(lrr)
        if not np.all(np.isfinite(diag)) or np.any(diag[:-1] <= 0):
            return None
        ldL2 = ld1 + 2.0 * np.log(diag[:m_r]).sum()
        ldRX2 = 2.0 * np.log(diag[m_r:m_r + self.p]).sum()
        pwrss = float(diag[-1] ** 2)
        return Factor(theta=theta, T=T, l11=l11, right1=right1, lr1_rand=lr1_rand, lr1_fix=lr1_fix,
                      lrr=lrr, ldL2=float(ldL2), ldRX2=float(ldRX2), pwrss=pwrss)

    def _dense_schur(self, S: np.ndarray, lr1_rand, lr1_fix: np.ndarray) -> np.ndarray:
        """S − L_R1 L_R1' + I on the random block, from Λ'[Z_r X y]'W[Z_r X y]Λ (general path)."""
        m_r = self.m_r
        S[:m_r, :m_r] -= (lr1_rand @ lr1_rand.T).toarray()
        cross = np.asarray(lr1_rand @ lr1_fix.T)                     # m_r × (p+1)
        S[:m_r, m_r:] -= cross
        S[m_r:, :m_r] -= cross.T
        S[np.arange(m_r), np.arange(m_r)] += 1.0
        S[m_r:, m_r:] -= lr1_fix @ lr1_fix.T
        return S

    def _scalar_schur(self, v: np.ndarray, a_block: np.ndarray, a: np.ndarray, lr1_fix: np.ndarray) -> np.ndarray:
        """The lower triangle of S for all-scalar terms (v = (t₁/l_g)², a: the other terms' θ per level)."""
        m_r = self.m_r
        m = self.B.shape[0]
        S = np.zeros((m, m))
        self._scalar.fill(S, v, a_block)
        fv = self.c_fix * v[None, :]                                  # (p+1) × q₁
        cross = np.asarray(self.c_rand @ fv.T).T                      # c_fix diag(v) C'
        S[m_r:, :m_r] = (self.B[m_r:, :m_r] - cross) * a[None, :]
        S[m_r:, m_r:] = self.B[m_r:, m_r:] - fv @ self.c_fix.T
        return S

    # -- deviance ----------------------------------------------------------------------------------
    def objective(self, f: Factor | DevianceParts | None, reml: bool) -> float:
        """REML criterion (reml=True) or ML deviance (−2 log-likelihood) profiled over β and σ."""
        if f is None or f.pwrss <= 0:
            return np.inf
        n = self.n - (self.p if reml else 0)
        dev = f.ldL2 - self.ldW + n * (1.0 + np.log(2.0 * np.pi * f.pwrss / n))
        return float(dev + (f.ldRX2 if reml else 0.0))

    def parts(self, theta: np.ndarray) -> DevianceParts | None:
        """log|L_θ|², log|R_X|², r² and (R_X'R_X)⁻¹ at θ (None where S is not positive definite),
        remembered per θ: the convergence check, Satterthwaite's Hessian and Jacobian evaluate many
        of the same θ."""
        theta = np.asarray(theta, dtype=float)
        key = theta.tobytes()
        if key in self._parts:
            return self._parts[key]
        f = self.factor(theta)
        out = None if f is None else DevianceParts(f.ldL2, f.ldRX2, f.pwrss, self.rx_inverse(f))
        if len(self._parts) >= max(64, 20_000_000 // (8 * max(self.p, 1) ** 2)):
            self._parts.pop(next(iter(self._parts)))
        self._parts[key] = out
        return out

    def deviance(self, theta: np.ndarray, reml: bool) -> float:
        return self.objective(self.parts(theta), reml)

    def deviance_at(self, theta: np.ndarray, sigma: float, reml: bool) -> float:
        """−2 log-likelihood (REML: restricted) at given θ and σ, not profiled; lmerTest's devfun_vp."""
        f = self.parts(theta)
        if f is None:
            return np.inf
        s2 = sigma * sigma
        dev = f.ldL2 + f.pwrss / s2 + self.n * np.log(2 * np.pi * s2)
        if reml:
            dev += f.ldRX2 - self.p * np.log(2 * np.pi * s2)
        return float(dev)

    def rx_inverse_at(self, theta: np.ndarray) -> np.ndarray:
        """(R_X'R_X)⁻¹ at θ (Cov(β̂) = σ² times it), remembered as `parts`."""
        return self.parts(theta).rx_inverse


class _NoTerm:
    """The first term of a model whose random terms are all multiple-membership: none (zero levels)."""

    k, n_levels, q = 1, 0, 0


_NO_TERM = _NoTerm()


def _cholesky_lower(build) -> np.ndarray | None:
    """Lower Cholesky factor of the symmetric matrix `build()` returns, reading its lower triangle only
    (LAPACK on the transposed, Fortran-ordered array: no copy of a large one). If only the last pivot fails — the
    response row of an exact fit (the working response of a separated logistic model, say), whose
    residual r² is 0 up to rounding — its diagonal entry is √max(r², 0); None if an earlier pivot fails."""
    S = build()
    if S.shape[0] >= SCALAR_MAP_MIN:
        U, info = _potrf(S.T, lower=0, clean=1, overwrite_a=1)
        if info == 0:
            return U.T
        S = build()                                                  # the failed attempt overwrote it
    else:                                                            # small: as scipy.linalg.cholesky
        L, info = _potrf(S, lower=1, clean=1)
        if info == 0:
            return L
    try:
        lead = sla.cholesky(S[:-1, :-1], lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    last = sla.solve_triangular(lead, S[-1, :-1], lower=True, check_finite=False)
    L = np.zeros_like(S)
    L[:-1, :-1] = lead
    L[-1, :-1] = last
    L[-1, -1] = np.sqrt(max(S[-1, -1] - last @ last, 0.0))
    return L
