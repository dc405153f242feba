"""Richardson-extrapolated numerical derivatives, the algorithms of R's numDeriv.

lmerTest computes Satterthwaite degrees of freedom from `numDeriv::hessian` of the deviance and
`numDeriv::jacobian` of the fixed-effects covariance; using the same step rules here keeps our
degrees of freedom within rounding of lmerTest's.
"""
from __future__ import annotations

import numpy as np

_ZERO_TOL = np.sqrt(np.finfo(float).eps / 7e-7)


def _steps(x, d, eps):
    return np.abs(d * x) + eps * (np.abs(x) < _ZERO_TOL)


def _richardson(a: np.ndarray) -> np.ndarray:
    """Extrapolate along axis 0 (successive halvings of the step)."""
    r = a.shape[0]
    for m in range(1, r):
        a = (a[1:] * 4.0 ** m - a[:-1]) / (4.0 ** m - 1.0)
    return a[0]


def jacobian(func, x, d: float = 1e-4, eps: float = 1e-4, r: int = 4) -> np.ndarray:
    """d func / dx as an (len(func(x)), len(x)) array; numDeriv::jacobian(method='Richardson')."""
    x = np.asarray(x, dtype=float)
    f0 = np.atleast_1d(np.asarray(func(x), dtype=float)).ravel()
    out = np.empty((f0.size, x.size))
    h0 = _steps(x, d, eps)
    for i in range(x.size):
        a = np.empty((r, f0.size))
        h = h0.copy()
        for k in range(r):
            e = np.zeros_like(x)
            e[i] = h[i]
            a[k] = (np.ravel(func(x + e)) - np.ravel(func(x - e))) / (2 * h[i])
            h = h / 2
        out[:, i] = _richardson(a)
    return out


def hessian(func, x, d: float = 0.1, eps: float = 1e-4, r: int = 4, gradient: bool = False):
    """Hessian of a scalar function; numDeriv::hessian (genD with d = 0.1). With gradient=True,
    (Hessian, gradient): genD's first derivatives, from the same evaluations (central differences,
    Richardson-extrapolated)."""
    x = np.asarray(x, dtype=float)
    n = x.size
    f0 = float(func(x))
    h0 = _steps(x, d, eps)
    H = np.zeros((n, n))
    g = np.zeros(n)
    for i in range(n):
        a = np.empty(r)
        b = np.empty(r)
        h = h0.copy()
        for k in range(r):
            e = np.zeros(n)
            e[i] = h[i]
            up, down = func(x + e), func(x - e)
            a[k] = (up - 2 * f0 + down) / h[i] ** 2
            b[k] = (up - down) / (2 * h[i])
            h = h / 2
        H[i, i] = _richardson(a)
        g[i] = _richardson(b)
    for i in range(n):
        for j in range(i):
            a = np.empty(r)
            h = h0.copy()
            for k in range(r):
                e = np.zeros(n)
                e[i] += h[i]
                e[j] += h[j]
                a[k] = (func(x + e) - 2 * f0 + func(x - e) - H[i, i] * h[i] ** 2 - H[j, j] * h[j] ** 2) \
                    / (2 * h[i] * h[j])
                h = h / 2
            H[i, j] = H[j, i] = _richardson(a)
    return (H, g) if gradient else H
