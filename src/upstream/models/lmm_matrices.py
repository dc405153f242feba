"""Sparse and small dense building blocks of lmm.py: θ's layout (`theta_size`, `lower_triangle`),
Z of one random term (`z_matrix`), Λ = I ⊗ T (`lambda_sparse`) and block-diagonal stacks."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .design import RandomBlock


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
    """Sparse Z for one term: column g·k + j holds the term's j-th column on rows of level g (for a
    multiple-membership term, times the row's weight on level g)."""
    n, k = block.values.shape
    vals = block.values if sw is None else block.values * sw[:, None]
    if block.membership is not None:
        w = block.membership.tocoo()
        rows = np.repeat(w.row, k)
        cols = (w.col[:, None] * k + np.arange(k)[None, :]).ravel()
        entries = (w.data[:, None] * vals[w.row]).ravel()
        return sp.csr_matrix((entries, (rows, cols)), shape=(n, block.q))
    rows = np.repeat(np.arange(n), k)
    cols = (block.codes[:, None] * k + np.arange(k)[None, :]).ravel()
    return sp.csr_matrix((vals.ravel(), (rows, cols)), shape=(n, block.q))


def lambda_sparse(T: np.ndarray, n_levels: int) -> sp.csr_matrix:
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


def block_diag_sparse(blocks: np.ndarray) -> sp.csr_matrix:
    """Sparse block-diagonal matrix from an (n, k, k) stack."""
    n, k, _ = blocks.shape
    base = np.arange(n)[:, None, None] * k
    rows = np.broadcast_to(base + np.arange(k)[None, :, None], blocks.shape).ravel()
    cols = np.broadcast_to(base + np.arange(k)[None, None, :], blocks.shape).ravel()
    return sp.csr_matrix((blocks.ravel(), (rows, cols)), shape=(n * k, n * k))
