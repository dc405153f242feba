"""Henderson's prediction error variances Var(b̂ − b) of the random effects, for either engine.

lme4's conditional variances (`ranef(condVar = TRUE)`, the structures' `conditional_variances`) treat
β̂ as known. The prediction error variance also counts its estimation: with C the system matrix of
[u, β] (u the spherical random effects, b = Λu), Var(b̂ − b) = σ²Λ(C⁻¹)_uuΛ' (Henderson 1975).
`LmerResult.pev_reliability` is 1 − PEV/τ² from it.

- one random intercept (grouped.py): PEV_j/σ² = ψ/d_j + (ψ/d_j)² s_j'(R_X'R_X)⁻¹s_j;
- any model (lmm.py's blocked factor [[L_Z, 0], [L_XZ, R_X']]): (C⁻¹)_uu = (L_ZL_Z')⁻¹ + W'W with
  W = R_X'⁻¹L_XZ L_Z⁻¹, i.e. the conditional variances plus W'W.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from .grouped import GroupedStructure


def prediction_error_variances(structure, f) -> list[np.ndarray]:
    """Per random term, the (levels, k, k) blocks of Var(b̂ − b)/σ²."""
    if isinstance(structure, GroupedStructure):
        t = float(f.theta[0])
        c = t * t / (1.0 + t * t * structure.w)
        s = structure.stats.s
        quad = np.einsum("gi,gi->g", s @ structure.rx_inverse(f), s)
        return [(c + c * c * quad).reshape(-1, 1, 1)]
    return _blocked(structure, f)


def _blocked(structure, f) -> list[np.ndarray]:
    """The blocked-Cholesky version: L_Z⁻¹ applied through its first (block-diagonal) term and the
    dense rest, as in `LmmStructure.conditional_variances`."""
    m_r, p = structure.m_r, structure.p
    b1 = structure.first_block
    k1, n1 = b1.k, b1.n_levels
    F1 = f.lr1_fix[:p, :]                                          # p × q₁
    Y2 = np.zeros((p, m_r))
    if m_r:
        F2 = f.lrr[m_r:m_r + p, :m_r]
        Y2 = sla.solve_triangular(f.lrr[:m_r, :m_r], F2.T, lower=True, trans="T").T
        F1 = F1 - np.asarray((f.lr1_rand.T @ Y2.T).T)
    if k1 == 1:
        Y1 = F1 / f.l11[:, 0, 0][None, :]
    else:
        linv = np.linalg.inv(f.l11)
        Y1 = np.einsum("pgi,gij->pgj", F1.reshape(p, n1, k1), linv).reshape(p, -1)
    Lxx = f.lrr[m_r:m_r + p, m_r:m_r + p]
    W = sla.solve_triangular(Lxx, np.hstack([Y1, Y2]), lower=True) if p else np.zeros((0, b1.q + m_r))
    cv = structure.conditional_variances(f)
    out = [None] * len(structure.blocks)
    W1 = W[:, :b1.q].reshape(p, n1, k1)
    if structure.first is not None:
        T1 = f.T[structure.first]
        out[structure.first] = cv[structure.first] + np.einsum("ij,rgj,rgk,lk->gil", T1, W1, W1, T1)
    for i, t in enumerate(structure.rest):
        blk = structure.blocks[t]
        lo, hi = structure.rest_offsets[i], structure.rest_offsets[i + 1]
        Wt = W[:, b1.q + lo:b1.q + hi].reshape(p, blk.n_levels, blk.k)
        Tt = f.T[t]
        out[t] = cv[t] + np.einsum("ij,rgj,rgk,lk->gil", Tt, Wt, Wt, Tt)
    return out
