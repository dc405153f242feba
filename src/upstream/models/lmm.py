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
from threadpoolctl import ThreadpoolController

from .design import RandomBlock

# OpenBLAS's threaded Cholesky of a ~1000² matrix is up to 30× slower than one thread when the
# other core is busy (measured on the 2-core target machine), so dense factorisations run on one.
_BLAS = ThreadpoolController()


def single_threaded_blas():
    """Context in which BLAS runs on one thread: the engine's dense matrices are small (a few hundred
    rows), where threading costs more than it gains — 5× per deviance evaluation on the 2-core target
    machine under load. Entered once per fit (optimisation, derivatives), not per evaluation."""
    return _BLAS.limit(limits=1, user_api="blas")


def theta_size(k: int) -> int:
    return k * (k + 1) // 2


def lower_triangle(values: np.ndarray, k: int) -> np.ndarray:
    """k×k lower-triangular matrix from θ entries in column-major order (lme4's layout)."""
    T = np.zeros((k, k))
    rows, cols = [], []
    for j in range(k):
        for i in range(j, k):
            rows.append(i)
            cols.append(j)
    T[rows, cols] = values
    return T


def z_matrix(block: RandomBlock, sw: np.ndarray | None) -> sp.csr_matrix:
    """Sparse Z for one term: column g·k + j holds the term's j-th column on rows of level g."""
    n, k = block.values.shape
    vals = block.values if sw is None else block.values * sw[:, None]
    rows = np.repeat(np.arange(n), k)
    cols = (block.codes[:, None] * k + np.arange(k)[None, :]).ravel()
    return sp.csr_matrix((vals.ravel(), (rows, cols)), shape=(n, block.q))


def _lambda_sparse(T: np.ndarray, n_levels: int) -> sp.csr_matrix:
    """I_levels ⊗ T as a sparse matrix."""
    k = T.shape[0]
    if k == 1:
        return sp.diags(np.full(n_levels, T[0, 0])).tocsr()
    ii, jj = np.nonzero(np.tril(np.ones((k, k))))
    base = np.arange(n_levels)[:, None] * k
    rows = (base + ii[None, :]).ravel()
    cols = (base + jj[None, :]).ravel()
    vals = np.tile(T[ii, jj], n_levels)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n_levels * k, n_levels * k))


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


class LmmStructure:
    """Everything about a linear mixed model that does not depend on θ."""

    def __init__(self, blocks: list[RandomBlock], X: np.ndarray, y: np.ndarray,
                 weights: np.ndarray | None = None):
        if not blocks:
            raise ValueError("a mixed model needs at least one random term, e.g. (1 | agent)")
        self.blocks = blocks
        self.n, self.p = X.shape
        self.X, self.weights = X, weights
        self.sw = None if weights is None else np.sqrt(weights)
        self.ldW = 0.0 if weights is None else float(np.sum(np.log(weights[weights > 0])))
        self.order = sorted(range(len(blocks)), key=lambda t: -blocks[t].q)
        self.first, self.rest = self.order[0], self.order[1:]
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
        Z1 = self.Z[self.first]
        b1 = blocks[self.first]
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
        self._set_response(y)

    # -- response-dependent parts (recomputed for each bootstrap sample) -----------------------
    def _set_response(self, y: np.ndarray):
        self.y = y
        yw = y if self.sw is None else y * self.sw
        Z1 = self.Z[self.first]
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
        b1 = self.blocks[self.first]
        T1 = T[self.first]
        if b1.k == 1:
            t = T1[0, 0]
            l = np.sqrt(t * t * self.d1[:, 0, 0] + 1.0)
            l11 = l.reshape(-1, 1, 1)
            scale = t / l
            right1 = sp.diags(scale).tocsr()
            lr1_fix = self.c_fix * scale[None, :]
            ld1 = 2.0 * np.log(l).sum()
        else:
            M = np.einsum("ji,gjk,kl->gil", T1, self.d1, T1) + np.eye(b1.k)[None]
            l11 = np.linalg.cholesky(M)
            linv = np.linalg.inv(l11)                               # batched triangular inverses
            blocks_right = np.einsum("ij,gkj->gik", T1, linv)        # T₁ L_g⁻ᵀ
            right1 = _block_diag_sparse(blocks_right)
            lr1_fix = np.asarray((right1.T @ self.c_fix.T).T)
            ld1 = 2.0 * np.log(np.diagonal(l11, axis1=1, axis2=2)).sum()
        m_r = self.m_r
        if m_r and self.rest_scalar:
            # every other term is a random intercept: Λ_r is diagonal, so scale in place
            a = np.concatenate([np.full(self.blocks[t].n_levels, T[t][0, 0]) for t in self.rest])
            col_scale = scale if b1.k == 1 else None
            if col_scale is not None:
                data = self.c_rand.data * a[self._c_rand_rows] * col_scale[self.c_rand.indices]
                lr1_rand = sp.csr_matrix((data, self.c_rand.indices, self.c_rand.indptr), shape=self.c_rand.shape)
            else:
                lr1_rand = (sp.diags(a) @ self.c_rand @ right1).tocsr()
            af = np.concatenate([a, np.ones(self.p + 1)])
            S = self.B * af[:, None]
            S *= af[None, :]
            S[:m_r, :m_r] -= (lr1_rand @ lr1_rand.T).toarray()
            cross = np.asarray(lr1_rand @ lr1_fix.T)                 # m_r × (p+1)
            S[:m_r, m_r:] -= cross
            S[m_r:, :m_r] -= cross.T
            S[np.arange(m_r), np.arange(m_r)] += 1.0
        elif m_r:
            lam_r = sp.block_diag([_lambda_sparse(T[t], self.blocks[t].n_levels) for t in self.rest]).tocsr()
            lr1_rand = (lam_r.T @ self.c_rand @ right1).tocsr()
            S = np.empty_like(self.B)
            lamB = np.asarray(lam_r.T @ self.B[:m_r, :])               # Λ_r' [B_rr B_rf]
            S[:m_r, :m_r] = np.asarray(lam_r.T @ lamB[:, :m_r].T).T
            S[:m_r, m_r:] = lamB[:, m_r:]
            S[m_r:, :m_r] = lamB[:, m_r:].T
            S[m_r:, m_r:] = self.B[m_r:, m_r:]
            S[:m_r, :m_r] -= (lr1_rand @ lr1_rand.T).toarray()
            cross = np.asarray((lr1_rand @ lr1_fix.T))               # m_r × (p+1)
            S[:m_r, m_r:] -= cross
            S[m_r:, :m_r] -= cross.T
            S[np.arange(m_r), np.arange(m_r)] += 1.0
        else:
            lr1_rand = sp.csr_matrix((0, b1.q))
            S = self.B.copy()
        S[m_r:, m_r:] -= lr1_fix @ lr1_fix.T
        try:
            lrr = sla.cholesky(S, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            lrr = _cholesky_exact_fit(S)
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

    # -- deviance ----------------------------------------------------------------------------------
    def objective(self, f: Factor | None, reml: bool) -> float:
        """REML criterion (reml=True) or ML deviance (−2 log-likelihood) profiled over β and σ."""
        if f is None or f.pwrss <= 0:
            return np.inf
        n = self.n - (self.p if reml else 0)
        dev = f.ldL2 - self.ldW + n * (1.0 + np.log(2.0 * np.pi * f.pwrss / n))
        return float(dev + (f.ldRX2 if reml else 0.0))

    def deviance(self, theta: np.ndarray, reml: bool) -> float:
        return self.objective(self.factor(theta), reml)

    def deviance_at(self, theta: np.ndarray, sigma: float, reml: bool) -> float:
        """−2 log-likelihood (REML: restricted) at given θ and σ, not profiled; lmerTest's devfun_vp."""
        f = self.factor(theta)
        if f is None:
            return np.inf
        s2 = sigma * sigma
        dev = f.ldL2 + f.pwrss / s2 + self.n * np.log(2 * np.pi * s2)
        if reml:
            dev += f.ldRX2 - self.p * np.log(2 * np.pi * s2)
        return float(dev)

    # -- solutions ---------------------------------------------------------------------------------
    def solve(self, f: Factor) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """β̂, spherical modes u (per block, formula order) and b = Λu (per block, level-major)."""
        m_r, p = self.m_r, self.p
        lrr = f.lrr
        Lxx = lrr[m_r:m_r + p, m_r:m_r + p]
        ly = lrr[-1, :]
        beta = sla.solve_triangular(Lxx.T, ly[m_r:m_r + p], lower=False) if p else np.zeros(0)
        if m_r:
            rhs = ly[:m_r] - lrr[m_r:m_r + p, :m_r].T @ beta
            u_rest = sla.solve_triangular(lrr[:m_r, :m_r].T, rhs, lower=False)
        else:
            u_rest = np.zeros(0)
        rhs1 = f.lr1_fix[-1, :] - f.lr1_fix[:p, :].T @ beta
        if m_r:
            rhs1 = rhs1 - f.lr1_rand.T @ u_rest
        u1 = self._solve_l11t(f, rhs1)
        u = [None] * len(self.blocks)
        u[self.first] = u1
        for i, t in enumerate(self.rest):
            u[t] = u_rest[self.rest_offsets[i]:self.rest_offsets[i + 1]]
        b = []
        for t, blk in enumerate(self.blocks):
            ut = u[t].reshape(blk.n_levels, blk.k)
            b.append((ut @ f.T[t].T).ravel())
        return beta, u, b

    def _solve_l11t(self, f: Factor, rhs: np.ndarray) -> np.ndarray:
        k1 = self.blocks[self.first].k
        if k1 == 1:
            return rhs / f.l11[:, 0, 0]
        r = rhs.reshape(-1, k1)
        out = np.linalg.solve(np.transpose(f.l11, (0, 2, 1)), r[..., None])[..., 0]
        return out.ravel()

    def fitted(self, beta: np.ndarray, b: list[np.ndarray]) -> np.ndarray:
        """Xβ + Zb on the original (unweighted) scale."""
        eta = self.X @ beta
        for blk, bt in zip(self.blocks, b):
            coef = bt.reshape(blk.n_levels, blk.k)[blk.codes]
            eta = eta + np.einsum("ij,ij->i", blk.values, coef)
        return eta

    def rx_inverse(self, f: Factor) -> np.ndarray:
        """(R_X'R_X)⁻¹, so that Cov(β̂) = σ²·(R_X'R_X)⁻¹."""
        m_r, p = self.m_r, self.p
        Lxx = f.lrr[m_r:m_r + p, m_r:m_r + p]
        Li = sla.solve_triangular(Lxx, np.eye(p), lower=True)
        return Li.T @ Li

    def conditional_variances(self, f: Factor) -> list[np.ndarray]:
        """Per block, per level, the k×k blocks of Λ(Λ'Z'ZΛ + I)⁻¹Λ' — multiply by σ² for lme4's
        conditional variances of b given θ (ranef(condVar = TRUE))."""
        m_r = self.m_r
        b1 = self.blocks[self.first]
        k1 = b1.k
        out = [None] * len(self.blocks)
        if m_r:
            Lrr = f.lrr[:m_r, :m_r]
            Linv = sla.solve_triangular(Lrr, np.eye(m_r), lower=True)
            Sinv = Linv.T @ Linv                                      # (L_rr L_rr')⁻¹
            A = f.lr1_rand                                            # m_r × q₁ sparse
            SA = np.asarray((A.T @ Sinv).T)                           # Sinv A, dense m_r × q₁
        # first block: L₁₁⁻ᵀ (I + A' Sinv A) L₁₁⁻¹, per level (the k×k diagonal blocks)
        n1 = b1.n_levels
        inner = np.broadcast_to(np.eye(k1), (n1, k1, k1)).copy()
        if m_r:
            if k1 == 1:
                inner[:, 0, 0] += np.asarray(A.multiply(SA).sum(axis=0)).ravel()
            else:
                # k×k blocks of A' Sinv A: sum over r of A[r, g·k+i]·(Sinv A)[r, g·k+j]
                Ad3 = A.toarray().reshape(m_r, n1, k1)
                inner += np.einsum("rgi,rgj->gij", Ad3, SA.reshape(m_r, n1, k1))
        linv = np.linalg.inv(f.l11)
        pre = np.einsum("gji,gjk,gkl->gil", linv, inner, linv)        # L⁻ᵀ inner L⁻¹
        T1 = f.T[self.first]
        out[self.first] = np.einsum("ij,gjk,lk->gil", T1, pre, T1)
        for i, t in enumerate(self.rest):
            blk = self.blocks[t]
            lo, hi = self.rest_offsets[i], self.rest_offsets[i + 1]
            S_tt = Sinv[lo:hi, lo:hi]
            k = blk.k
            g = np.arange(blk.n_levels)[:, None, None] * k
            diag_blocks = S_tt[g + np.arange(k)[None, :, None], g + np.arange(k)[None, None, :]]
            Tt = f.T[t]
            out[t] = np.einsum("ij,gjk,lk->gil", Tt, diag_blocks, Tt)
        return out


def _cholesky_exact_fit(S: np.ndarray) -> np.ndarray | None:
    """Cholesky factor of S when only its last pivot fails: the response row of an exact fit
    (the working response of a separated logistic model, say), whose residual r² is 0 up to
    rounding. The last diagonal entry is then √max(r², 0); None if an earlier pivot fails too."""
    try:
        lead = sla.cholesky(S[:-1, :-1], lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    last = sla.solve_triangular(lead, S[:-1, -1], lower=True, check_finite=False)
    L = np.zeros_like(S)
    L[:-1, :-1] = lead
    L[-1, :-1] = last
    L[-1, -1] = np.sqrt(max(S[-1, -1] - last @ last, 0.0))
    return L


def _block_diag_sparse(blocks: np.ndarray) -> sp.csr_matrix:
    """Sparse block-diagonal matrix from an (n, k, k) stack."""
    n, k, _ = blocks.shape
    base = np.arange(n)[:, None, None] * k
    rows = np.broadcast_to(base + np.arange(k)[None, :, None], blocks.shape).ravel()
    cols = np.broadcast_to(base + np.arange(k)[None, None, :], blocks.shape).ravel()
    return sp.csr_matrix((blocks.ravel(), (rows, cols)), shape=(n * k, n * k))
