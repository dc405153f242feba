"""The random-effects block of lmm.py's Schur complement when every random term is scalar (k = 1).

With all terms scalar (crossed or nested random intercepts: `(1 | s) + (1 | d)`), Λ is diagonal:
the first term's levels get the factor t₁ and each other term's levels one value a_r. With
d_g = (Z₁'WZ₁)_gg, l_g = √(t₁² d_g + 1) and v_g = (t₁/l_g)² per level g of the first term, the
random-effects block of the Schur complement is

    S_rr = I + diag(a) (Z_r'WZ_r − C diag(v) C') diag(a),      C = Z_r'WZ₁ (sparse),

whose θ-dependence is only through v and a. Its lower triangle on the fixed sparsity pattern P of
Z_r'WZ_r + CC' is therefore a linear map of v, computed once:

    S_rr[P] = a_row a_col (b[P] − A v) (+1 on the diagonal),   A[(r, r'), g] = C[r, g] C[r', g],

so an evaluation costs one sparse matrix–vector product (nnz(A) = Σ_g n_g(n_g + 1)/2 for n_g the
other-term levels seen with level g) instead of a sparse matrix product and its densification; only
the lower triangle is written, which is all LAPACK's Cholesky reads. When A would be too large
(levels of the first term seen with thousands of other levels each), or not worth it (fewer than
SCALAR_MAP_MIN other-term levels: the dense path is as fast there), lmm.py keeps its general path.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

MAX_PAIRS = 30_000_000            # nnz(A) above which the general path is used (≈ 360 MB)
SCALAR_MAP_MIN = 400              # other-term levels below which the dense path is as fast (and kept)


class ScalarSchur:
    """The precomputed map v ↦ lower triangle of S_rr (see the module's docstring)."""

    def __init__(self, c_rand: sp.csr_matrix, b_rr: sp.spmatrix, level_block: np.ndarray, m: int):
        m_r, q1 = c_rand.shape
        C = c_rand.tocsc()
        C.sort_indices()
        n_g = np.diff(C.indptr)
        # all pairs (i ≤ j) of entries within each column g: rows r_j ≥ r_i (indices sorted)
        reps = np.repeat(n_g, n_g) - _ragged_arange(n_g)          # entries at or after each entry
        first = np.repeat(np.arange(C.nnz), reps)
        second = first + _ragged_arange(reps)
        rows, cols = C.indices[second], C.indices[first]
        vals = C.data[first] * C.data[second]
        g = np.repeat(np.repeat(np.arange(q1), n_g), reps)
        # the pattern P (pairs of C, the lower triangle of Z_r'WZ_r, the diagonal), row-major; a CSR
        # matrix with one row per position of S_rr sorts and sums the pairs in linear time
        b = sp.tril(b_rr).tocoo()
        diag = np.arange(m_r)
        keys = np.concatenate([rows.astype(np.int64) * m_r + cols, b.row.astype(np.int64) * m_r + b.col,
                               diag.astype(np.int64) * (m_r + 1)])
        values = np.concatenate([vals, np.zeros(b.nnz + m_r)])
        columns = np.concatenate([g, np.zeros(b.nnz + m_r, dtype=g.dtype)])
        full = sp.csr_matrix((values, (keys, columns)), shape=(m_r * m_r, q1))
        pattern = np.flatnonzero(np.diff(full.indptr))
        self.A = full[pattern]
        self.rows, self.cols = pattern // m_r, pattern % m_r
        self.b = np.asarray(sp.csr_matrix(b_rr)[self.rows, self.cols]).ravel()
        self.diag = np.flatnonzero(self.rows == self.cols)
        self.flat = self.rows * m + self.cols                        # positions in the (m × m) Schur complement
        self.level_block = level_block                               # other-term index of each row of S_rr
        self.row_block, self.col_block = level_block[self.rows], level_block[self.cols]

    @staticmethod
    def pairs(c_rand: sp.csr_matrix) -> int:
        """nnz(A) before duplicates are summed: Σ_g n_g(n_g + 1)/2."""
        n_g = np.diff(c_rand.tocsc().indptr).astype(np.int64)
        return int(np.sum(n_g * (n_g + 1) // 2))

    def fill(self, S: np.ndarray, v: np.ndarray, a_block: np.ndarray) -> None:
        """Write the lower triangle of S_rr into the zeroed (m × m) array S."""
        data = self.b - self.A @ v
        data *= a_block[self.row_block] * a_block[self.col_block]
        data[self.diag] += 1.0
        S.ravel()[self.flat] = data


def _ragged_arange(counts: np.ndarray) -> np.ndarray:
    """0..c−1 for each c in counts, concatenated."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts
