"""Responses and starting values of the latent-scale models (glmer, clmm), and the exact row
collapse that makes their likelihoods cheap.

- `binomial_response`, `ordinal_response`: the response as (successes, trials) or category codes;
- `check_separation`: indicator columns whose rows all succeed or all fail;
- `glm_start`: logistic-regression estimates, the start of the mixed model's fixed effects;
- `collapse_rows`: rows sharing the grouping level and the fixed-effect row (and, for clmm, the
  category) contribute identical terms to the log-likelihood, so they are fitted as one row with a
  count (binomial: the successes and trials summed). The likelihood, its gradient and every
  estimate are the same up to rounding; on ratings data with categorical predictors the rows drop
  by a factor of 10–20 (InstEval: 73,421 to 3,407 for glmer).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from .checks import ModelInputError, examples, numbers_of
from .design import ModelFrame


def binomial_response(frame: ModelFrame) -> tuple[np.ndarray, np.ndarray]:
    """(successes, trials) from a 0/1 (or boolean) column or cbind(successes, failures); a model
    frame of family 'binomial' has checked the values (checks.py)."""
    counts = [numbers_of(frame.data[v]).to_numpy(float) for v in frame.formula.response]
    if len(counts) == 2:
        return counts[0], counts[0] + counts[1]
    return counts[0], np.ones_like(counts[0])


def ordinal_response(frame: ModelFrame, levels=None) -> tuple[np.ndarray, list]:
    """Category codes 0..J−1 and the level labels. `levels` declares the scale (e.g. 1..5); a
    model frame of family 'ordinal' has checked that at least two categories occur."""
    name = frame.formula.response[0]
    col = frame.data[name]
    if levels is None:
        if isinstance(col.dtype, pd.CategoricalDtype):
            levels = list(col.cat.categories)
        else:
            levels = sorted(pd.unique(col))
    levels = list(levels)
    repeated = pd.Series(levels)[pd.Series(levels).duplicated()]
    if len(repeated):
        raise ModelInputError(f"levels lists {examples(repeated)} more than once; each category of the scale "
                              "must appear once")
    lookup = {v: i for i, v in enumerate(levels)}
    lookup.update({str(v): i for i, v in enumerate(levels)})
    values = col.astype(object) if isinstance(col.dtype, pd.CategoricalDtype) else col

    def code(v):
        if v in lookup:
            return lookup[v]
        if isinstance(v, float) and v.is_integer() and int(v) in lookup:
            return lookup[int(v)]
        return -1

    codes = np.array([code(v) for v in values], dtype=np.int64)
    bad = codes < 0
    if bad.any():
        raise ModelInputError(f"the response {name!r} has values outside its declared scale "
                              f"{', '.join(map(str, levels))}: {examples(values[bad])}")
    return codes, levels


def check_separation(X: np.ndarray, names: list[str], successes: np.ndarray, trials: np.ndarray) -> list[str]:
    """Indicator columns whose rows all succeed or all fail (quasi-complete separation)."""
    out = []
    for j, name in enumerate(names):
        col = X[:, j]
        if name == "(Intercept)" or not np.isin(col, (0.0, 1.0)).all():
            continue
        on = col == 1.0
        if not on.any():
            continue
        k, m = successes[on].sum(), trials[on].sum()
        if k == 0 or k == m:
            out.append(name)
    return out


def glm_start(X, k, m):
    """Logistic-regression estimates by Newton's method (the start for the mixed model)."""
    beta = np.zeros(X.shape[1])
    p = np.clip(k.sum() / m.sum(), 1e-3, 1 - 1e-3)
    if X.shape[1] and np.allclose(X[:, 0], 1):
        beta[0] = np.log(p / (1 - p))
    for _ in range(25):
        mu = expit(X @ beta)
        w = m * mu * (1 - mu)
        g = X.T @ (k - m * mu)
        H = (X * w[:, None]).T @ X + 1e-8 * np.eye(X.shape[1])
        step = np.linalg.solve(H, g)
        step = np.clip(step, -5, 5)
        beta = beta + step
        if np.abs(step).max() < 1e-10:
            break
    return beta


def collapse_rows(codes: np.ndarray, X: np.ndarray, extra: np.ndarray | None = None):
    """(first row of each distinct (code, X row[, extra]) combination, index of each row's combination).
    Exact: rows are merged only when every number is bitwise equal."""
    parts = [np.asarray(codes, dtype=np.float64)[:, None], np.asarray(X, dtype=np.float64)]
    if extra is not None:
        parts.append(np.asarray(extra, dtype=np.float64)[:, None])
    keys = np.ascontiguousarray(np.hstack(parts))
    keys[keys == 0] = 0.0                                   # −0.0 and 0.0 are the same number
    rows = keys.view(np.dtype((np.void, keys.dtype.itemsize * keys.shape[1]))).ravel()
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return first, inverse.ravel()
