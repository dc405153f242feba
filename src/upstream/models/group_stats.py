"""Per-group sums of a one-random-intercept model `y ~ X + (1 | g)`: all its likelihood needs.

For group j, with prior weights w (1 when unweighted):

    n_j = rows,  Σw,  s_j = X_j'W1,  XtX_j = X_j'WX_j,  Xty_j = X_j'Wy_j,  sy_j = 1'Wy_j,
    yty_j = y_j'Wy_j,  Σ log w.

`GroupStats` holds them with the group labels and fixed-effect column names. It is built from
arrays in one vectorised pass (`from_arrays`), from what a SQL `GROUP BY g` returns (`from_sums`),
or by adding partial aggregates (`merge`: shards, months). grouped.py fits the model from it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass(frozen=True)
class ColumnTerms:
    """What a formula says about the fixed-effect columns, for statistics aggregated without one (SQL):
    the formula term of each column (`term_of_column`, "(Intercept)" for the intercept), and for each
    factor its level labels, reference level first (`factors`), and the rows at each level
    (`level_counts`). With it a fit from group statistics answers questions in the model's own terms
    (terms, levels, level contrasts) as a fit from rows does."""

    term_of_column: tuple[str, ...]
    factors: dict = field(default_factory=dict)          # variable -> tuple of level labels
    level_counts: dict = field(default_factory=dict)     # variable -> tuple of row counts per level

    def subset(self, keep) -> "ColumnTerms":
        return ColumnTerms(tuple(t for t, k in zip(self.term_of_column, keep) if k), self.factors, self.level_counts)


@dataclass
class GroupStats:
    """Per-group sums of a one-random-intercept model (weighted sums with prior weights).

    levels: group labels (G); names: fixed-effect column names (p); n: rows per group; s: X_j'W1
    (G×p); xtx: X_j'WX_j (G×p×p, or None when only the total is kept); xty: X_j'Wy_j (G×p);
    sy: 1'Wy_j; yty: y_j'Wy_j; sum_w: Σ w per group (None: unweighted, = n); sum_log_w: Σ log w
    per group (None when unweighted)."""

    levels: pd.Index
    names: list[str]
    n: np.ndarray
    s: np.ndarray
    xtx: np.ndarray | None
    xty: np.ndarray
    sy: np.ndarray
    yty: np.ndarray
    sum_w: np.ndarray | None = None
    sum_log_w: np.ndarray | None = None
    group: str = "group"
    response: str = "y"
    xtx_sum: np.ndarray | None = field(default=None, repr=False)   # Σ_j XtX_j when xtx is None
    terms: ColumnTerms | None = field(default=None, repr=False)    # the formula's terms and levels (SQL)

    def __post_init__(self):
        self.levels = pd.Index(self.levels, name=self.group)
        self.names = list(self.names)
        G, p = len(self.levels), len(self.names)

        def shaped(name, value, shape, dtype=float):
            a = np.asarray(value, dtype=dtype)
            if a.size != int(np.prod(shape)):
                raise ValueError(f"group statistics: {name} has shape {a.shape}, expected {shape} "
                                 f"for {G} groups and {p} fixed-effect columns")
            a = a.reshape(shape)
            if not np.all(np.isfinite(a)):
                raise ValueError(f"group statistics: {name} has non-finite values")
            return a

        self.n = shaped("n", self.n, (G,), np.int64)
        self.s = shaped("s", self.s, (G, p))
        self.xty = shaped("xty", self.xty, (G, p))
        self.sy = shaped("sy", self.sy, (G,))
        self.yty = shaped("yty", self.yty, (G,))
        if self.xtx is not None:
            self.xtx = shaped("xtx", self.xtx, (G, p, p))
        elif self.xtx_sum is None:
            raise ValueError("group statistics: give the per-group X'X (xtx) or at least their sum (xtx_sum)")
        if self.xtx_sum is not None:
            self.xtx_sum = shaped("xtx_sum", self.xtx_sum, (p, p))
        if (self.sum_w is None) != (self.sum_log_w is None):
            raise ValueError("group statistics: weighted statistics need both sum_w and sum_log_w")
        if self.sum_w is not None:
            self.sum_w = shaped("sum_w", self.sum_w, (G,))
            self.sum_log_w = shaped("sum_log_w", self.sum_log_w, (G,))
        if self.terms is not None and len(self.terms.term_of_column) != p:
            raise ValueError(f"group statistics: terms name {len(self.terms.term_of_column)} columns, expected {p}")

    # -- constructors --------------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, X, y, groups, weights=None, names=None, levels=None, group: str = "group",
                    response: str = "y", per_group_xtx: bool = True, chunk_rows: int = 200_000) -> "GroupStats":
        """Sums from the rows. groups: labels (levels sorted as R's factor()) or, with `levels`,
        integer codes 0..G−1. weights: positive prior weights. Vectorised: every sum is a sparse
        group-indicator product; rows are processed in chunks so memory stays O(chunk·p)."""
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError("X must be a 2-d array (rows × fixed-effect columns)")
        y = np.asarray(y, dtype=float).ravel()
        nrow, p = X.shape
        if len(y) != nrow:
            raise ValueError(f"y has {len(y)} values but X has {nrow} rows")
        if levels is None:
            codes, uniques = pd.factorize(pd.Series(np.asarray(groups)), sort=True)
            if (codes < 0).any():
                raise ValueError("groups has missing values")
            levels = pd.Index(uniques)
        else:
            codes = np.asarray(groups, dtype=np.int64)
            levels = pd.Index(levels)
            if len(codes) and (codes.min() < 0 or codes.max() >= len(levels)):
                raise ValueError(f"group codes must lie in 0..{len(levels) - 1}")
        if len(codes) != nrow:
            raise ValueError(f"groups has {len(codes)} values but X has {nrow} rows")
        G = len(levels)
        w = None
        if weights is not None:
            w = np.asarray(weights, dtype=float).ravel()
            if len(w) != nrow:
                raise ValueError(f"weights has {len(w)} values but X has {nrow} rows")
            if not np.all(np.isfinite(w)) or np.any(w <= 0):
                raise ValueError("group statistics need finite, positive weights")
        names = list(names) if names is not None else [f"x{j}" for j in range(p)]
        n = np.bincount(codes, minlength=G)
        s = np.zeros((G, p))
        xty = np.zeros((G, p))
        sy = np.zeros(G)
        yty = np.zeros(G)
        sum_w = np.zeros(G) if w is not None else None
        sum_log_w = np.zeros(G) if w is not None else None
        xtx = np.zeros((G, p, p)) if per_group_xtx else None
        xtx_sum = None if per_group_xtx else np.zeros((p, p))
        for lo in range(0, nrow, chunk_rows):
            hi = min(lo + chunk_rows, nrow)
            c, Xc, yc = codes[lo:hi], X[lo:hi], y[lo:hi]
            wc = np.ones(hi - lo) if w is None else w[lo:hi]
            # W-weighted group indicators, one entry per row: CSC needs no sorting
            Zt = sp.csc_matrix((wc, c, np.arange(hi - lo + 1)), shape=(G, hi - lo))
            s += Zt @ Xc
            xty += Zt @ (Xc * yc[:, None])
            sy += Zt @ yc
            yty += Zt @ (yc * yc)
            if w is not None:
                sum_w += np.bincount(c, weights=wc, minlength=G)
                sum_log_w += np.bincount(c, weights=np.log(wc), minlength=G)
            if per_group_xtx:
                for a in range(p):
                    xtx[:, a, a:] += Zt @ (Xc[:, a:] * Xc[:, a:a + 1])
            else:
                xtx_sum += (Xc * wc[:, None]).T @ Xc
        if per_group_xtx:
            iu = np.triu_indices(p, 1)
            xtx[:, iu[1], iu[0]] = xtx[:, iu[0], iu[1]]
        return cls(levels=levels, names=names, n=n, s=s, xtx=xtx, xty=xty, sy=sy, yty=yty, sum_w=sum_w,
                   sum_log_w=sum_log_w, group=group, response=response, xtx_sum=xtx_sum)

    @classmethod
    def from_sums(cls, levels, names, n, s, xtx, xty, sy, yty, sum_w=None, sum_log_w=None,
                  group: str = "group", response: str = "y", terms: ColumnTerms | None = None) -> "GroupStats":
        """Statistics already aggregated elsewhere, e.g. by DuckDB or Spark:

            SELECT g, count(*) AS n, sum(w) AS sum_w, sum(ln(w)) AS sum_log_w,
                   sum(w*x_a) ...,  sum(w*x_a*x_b) ...,  sum(w*x_a*y) ...,  sum(w*y), sum(w*y*y)
            FROM replies GROUP BY g

        with s, xty as (G, p) arrays, xtx as a (G, p, p) array (both triangles); `terms` (optional) the
        formula's terms and factor levels of the columns (``ColumnTerms``)."""
        return cls(levels=levels, names=names, n=n, s=s, xtx=xtx, xty=xty, sy=sy, yty=yty, sum_w=sum_w,
                   sum_log_w=sum_log_w, group=group, response=response, terms=terms)

    # -- shape and totals ----------------------------------------------------------------------
    @property
    def n_groups(self) -> int:
        return len(self.levels)

    @property
    def p(self) -> int:
        return len(self.names)

    @property
    def weighted(self) -> bool:
        return self.sum_w is not None

    @property
    def w(self) -> np.ndarray:
        """Σ w per group (the row count when unweighted)."""
        return self.n.astype(float) if self.sum_w is None else self.sum_w

    @property
    def xtx_total(self) -> np.ndarray:
        return self.xtx.sum(axis=0) if self.xtx is not None else self.xtx_sum

    # -- combining -----------------------------------------------------------------------------
    def reindex(self, levels) -> "GroupStats":
        """The statistics of `levels`, in that order (a level not present gets zero sums)."""
        levels = pd.Index(levels, name=self.group)
        pos = self.levels.get_indexer(levels)
        have = pos >= 0

        def take(a):
            if a is None:
                return None
            out = np.zeros((len(levels),) + a.shape[1:], dtype=a.dtype)
            out[have] = a[pos[have]]
            return out

        return replace(self, levels=levels, n=take(self.n), s=take(self.s), xtx=take(self.xtx),
                       xty=take(self.xty), sy=take(self.sy), yty=take(self.yty), sum_w=take(self.sum_w),
                       sum_log_w=take(self.sum_log_w))

    def merge(self, other: "GroupStats") -> "GroupStats":
        """Sum of two partial aggregates (e.g. two months, two shards) over the union of groups."""
        if list(other.names) != list(self.names):
            raise ValueError(f"cannot merge statistics with different fixed-effect columns: "
                             f"{self.names[:5]} vs {other.names[:5]}")
        if other.weighted != self.weighted:
            raise ValueError("cannot merge weighted with unweighted statistics")
        levels = self.levels.append(other.levels[~other.levels.isin(self.levels)])
        a, b = self.reindex(levels), other.reindex(levels)

        def add(x, y):
            return None if x is None or y is None else x + y

        xtx = add(a.xtx, b.xtx)
        return replace(a, n=a.n + b.n, s=a.s + b.s, xtx=xtx, xty=a.xty + b.xty, sy=a.sy + b.sy,
                       yty=a.yty + b.yty, sum_w=add(a.sum_w, b.sum_w), sum_log_w=add(a.sum_log_w, b.sum_log_w),
                       xtx_sum=None if xtx is not None else a.xtx_total + b.xtx_total)

    __add__ = merge

    def drop_columns(self, keep: np.ndarray) -> "GroupStats":
        """The statistics of a subset of the fixed-effect columns."""
        k = np.asarray(keep, dtype=bool)
        return replace(self, names=[nm for nm, kk in zip(self.names, k) if kk], s=self.s[:, k],
                       terms=None if self.terms is None else self.terms.subset(k),
                       xtx=None if self.xtx is None else self.xtx[:, k][:, :, k], xty=self.xty[:, k],
                       xtx_sum=None if self.xtx is not None else self.xtx_sum[np.ix_(k, k)])


def full_rank_from_crossproducts(XtX: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Which columns to keep, from X'X alone: in column order, a column is dropped when the norm of
    its part orthogonal to the kept columns before it is below tol × its own norm — the rule of
    `design.full_rank_columns` (lme4's), which decides it on X with tol = 1e-7. From X'X the squared
    ratio is resolved only to ~1e-15·cond (an exactly dependent dummy column of the agent model
    gives 1e-15), hence the default tol = 1e-6 here."""
    p = XtX.shape[0]
    d = np.sqrt(np.maximum(np.diag(XtX), 0.0))
    keep = np.zeros(p, bool)
    for j in range(p):
        if d[j] <= 0:
            continue
        idx = np.flatnonzero(keep)
        resid2 = 1.0
        if len(idx):
            C = XtX[np.ix_(idx, idx)] / np.outer(d[idx], d[idx])      # correlation scale
            v = XtX[idx, j] / (d[idx] * d[j])
            resid2 = 1.0 - v @ np.linalg.solve(C, v)
        keep[j] = resid2 > tol * tol
    return keep
