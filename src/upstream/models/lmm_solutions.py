"""From lmm.py's blocked Cholesky factor at θ̂ to the estimates: β̂, the random effects, Cov(β̂) and
the conditional variances of the random effects (lme4's `getME`, `vcov`, `ranef(condVar = TRUE)`).

`LmmSolutions` is a mixin of `LmmStructure`; it reads the structure's layout (`blocks`, `first`,
`rest`, `m_r`, `p`, `rest_offsets`) and a `Factor` (lmm.py).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla
from scipy.linalg.lapack import dpotri as _potri


class LmmSolutions:
    """Solutions from a factor: `solve`, `fitted`, `rx_inverse`, `conditional_variances`."""

    def solve(self, f) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
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
        if self.first is not None:
            u[self.first] = u1
        for i, t in enumerate(self.rest):
            u[t] = u_rest[self.rest_offsets[i]:self.rest_offsets[i + 1]]
        b = []
        for t, blk in enumerate(self.blocks):
            ut = u[t].reshape(blk.n_levels, blk.k)
            b.append((ut @ f.T[t].T).ravel())
        return beta, u, b

    def _solve_l11t(self, f, rhs: np.ndarray) -> np.ndarray:
        k1 = self.first_block.k
        if k1 == 1:
            return rhs / f.l11[:, 0, 0]
        r = rhs.reshape(-1, k1)
        out = np.linalg.solve(np.transpose(f.l11, (0, 2, 1)), r[..., None])[..., 0]
        return out.ravel()

    def fitted(self, beta: np.ndarray, b: list[np.ndarray]) -> np.ndarray:
        """Xβ + Zb on the original (unweighted) scale."""
        eta = self.X @ beta
        for blk, bt in zip(self.blocks, b):
            eta = eta + blk.row_effects(bt)
        return eta

    def rx_inverse(self, f) -> np.ndarray:
        """(R_X'R_X)⁻¹, so that Cov(β̂) = σ²·(R_X'R_X)⁻¹."""
        m_r, p = self.m_r, self.p
        Lxx = f.lrr[m_r:m_r + p, m_r:m_r + p]
        Li = sla.solve_triangular(Lxx, np.eye(p), lower=True)
        return Li.T @ Li

    def conditional_variances(self, f) -> list[np.ndarray]:
        """Per block, per level, the k×k blocks of Λ(Λ'Z'ZΛ + I)⁻¹Λ' — multiply by σ² for lme4's
        conditional variances of b given θ (ranef(condVar = TRUE))."""
        m_r = self.m_r
        b1 = self.first_block
        k1 = b1.k
        out = [None] * len(self.blocks)
        scalar = getattr(self, "_scalar", None)                       # lmm_scalar.py's pair map, if built
        if m_r and scalar is not None:
            # (L_rr L_rr')⁻¹ from the factor (LAPACK potri), and A'Sinv A's diagonal from the pairs of
            # the first term's levels: A[r, g] = a_r C[r, g] s_g (Σ_g n_g² work, not m_r·nnz(C))
            low, _ = _potri(np.asfortranarray(f.lrr[:m_r, :m_r]), lower=1)
            Sinv = np.tril(low)
            Sinv = Sinv + np.tril(Sinv, -1).T
            a = np.array([f.T[t][0, 0] for t in self.rest])[self._level_block]
            s = f.T[self.first][0, 0] / f.l11[:, 0, 0]
            w = Sinv[scalar.rows, scalar.cols] * a[scalar.rows] * a[scalar.cols]
            w[scalar.rows != scalar.cols] *= 2.0
        elif m_r:
            Lrr = f.lrr[:m_r, :m_r]
            Linv = sla.solve_triangular(Lrr, np.eye(m_r), lower=True)
            Sinv = Linv.T @ Linv                                      # (L_rr L_rr')⁻¹
            A = f.lr1_rand                                            # m_r × q₁ sparse
            SA = np.asarray((A.T @ Sinv).T)                           # Sinv A, dense m_r × q₁
        # first block: L₁₁⁻ᵀ (I + A' Sinv A) L₁₁⁻¹, per level (the k×k diagonal blocks)
        n1 = b1.n_levels
        inner = np.broadcast_to(np.eye(k1), (n1, k1, k1)).copy()
        if m_r and scalar is not None:
            inner[:, 0, 0] += s * s * (scalar.A.T @ w)
        elif m_r:
            if k1 == 1:
                inner[:, 0, 0] += np.asarray(A.multiply(SA).sum(axis=0)).ravel()
            else:
                # k×k blocks of A' Sinv A: sum over r of A[r, g·k+i]·(Sinv A)[r, g·k+j]
                Ad3 = A.toarray().reshape(m_r, n1, k1)
                inner += np.einsum("rgi,rgj->gij", Ad3, SA.reshape(m_r, n1, k1))
        linv = np.linalg.inv(f.l11)
        pre = np.einsum("gji,gjk,gkl->gil", linv, inner, linv)        # L⁻ᵀ inner L⁻¹
        if self.first is not None:
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
