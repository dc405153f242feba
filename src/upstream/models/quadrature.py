"""Laplace and adaptive Gauss–Hermite likelihood for models with one random intercept factor.

With a single grouping factor the marginal likelihood factorises over groups,

    L = Π_j ∫ Π_{i∈j} p(y_i | η_i(ψ) + σu) φ(u) du,

so the Laplace approximation and adaptive Gauss–Hermite quadrature (AGQ) are a set of independent
one-dimensional problems. For group j let h_j(u) = Σ_{i∈j} log p(y_i | ·) − u²/2, û_j its mode
(Newton's method, all groups at once) and s_j = (−h_j''(û_j))^{-1/2}. With K Gauss–Hermite nodes
z_k and weights w_k (weight e^{−z²}),

    log L_j ≈ log(√2·s_j) − ½·log(2π) + log Σ_k w_k·exp(z_k² + h_j(û_j + √2·s_j·z_k)),

which for K = 1 is the Laplace approximation h_j(û_j) + log s_j (lme4's nAGQ = 1 and ordinal's
Laplace). The objective is −2 log L. Its gradient with respect to the fixed parameters ψ and σ is
exact: the dependence of û_j and s_j on the parameters is differentiated implicitly.

A `RowModel` supplies the per-row log-likelihood and its derivatives with respect to one or more
linear predictors ("channels") η_c = M_c ψ + s_c σ u; the binomial logit model has one channel, the
cumulative-logit model two (the upper and lower threshold of the observed category).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, gammaln, log_expit


def binomial_constant(successes: np.ndarray, trials: np.ndarray) -> float:
    """Σ log C(m, k): the binomial log-likelihood's part that does not depend on the parameters."""
    k, m = np.asarray(successes, float), np.asarray(trials, float)
    return float(np.sum(gammaln(m + 1) - gammaln(k + 1) - gammaln(m - k + 1)))


class BinomialLogit:
    """y successes out of m trials, P(success) = logistic(η); one channel, η = Xβ + σu."""

    signs = (1.0,)

    def __init__(self, successes: np.ndarray, trials: np.ndarray, X: np.ndarray, const: float | None = None):
        self.k = np.asarray(successes, float)
        self.m = np.asarray(trials, float)
        self.designs = [X]
        # Σ log C(m, k); rows merged by responses.collapse_rows pass the constant of the rows as given
        self.const = binomial_constant(self.k, self.m) if const is None else float(const)

    def rows(self, index: np.ndarray) -> BinomialLogit:
        """The model of the rows `index` only (its constant left out)."""
        return BinomialLogit(self.k[index], self.m[index], self.designs[0][index], const=0.0)

    def derivs(self, etas, order: int = 3):
        (eta,) = etas
        mu = expit(eta)
        # k log μ + (m − k) log(1 − μ), with log(1 − μ) = log μ − η
        ll = self.m * log_expit(eta) - (self.m - self.k) * eta
        out = [ll, [self.k - self.m * mu]]
        if order >= 2:
            w = self.m * mu * (1 - mu)
            out.append([[-w]])
        if order >= 3:
            out.append([[[-w * (1 - 2 * mu)]]])
        return out


class CumulativeLogit:
    """Ordered categories 0..J−1 with P(Y ≤ j) = logistic(θ_j − xβ − σu) (ordinal::clmm's
    parameterisation). ψ = (θ_1..θ_{J−1}, β); channel a is the upper threshold of the observed
    category, channel b the lower one (±∞ at the ends)."""

    signs = (-1.0, -1.0)

    def __init__(self, codes: np.ndarray, n_categories: int, X: np.ndarray, counts: np.ndarray | None = None):
        codes = np.asarray(codes, dtype=np.int64)
        self.counts = None if counts is None else np.asarray(counts, dtype=float)   # rows each row stands for
        n, J = len(codes), n_categories
        self.codes, self.J = codes, J
        A = np.zeros((n, J - 1 + X.shape[1]))
        B = np.zeros_like(A)
        top, bottom = codes == J - 1, codes == 0
        rows = np.arange(n)
        A[rows[~top], codes[~top]] = 1.0
        B[rows[~bottom], codes[~bottom] - 1] = 1.0
        A[:, J - 1:] = -X
        B[:, J - 1:] = -X
        self.designs = [A, B]
        self.top, self.bottom = top, bottom
        self.X = X
        self.const = 0.0

    def rows(self, index: np.ndarray) -> CumulativeLogit:
        """The model of the rows `index` only."""
        counts = None if self.counts is None else self.counts[index]
        return CumulativeLogit(self.codes[index], self.J, self.X[index], counts=counts)

    def derivs(self, etas, order: int = 3):
        a, b = etas
        Fa, Fb = expit(a), expit(b)
        Fa[self.top] = 1.0
        Fb[self.bottom] = 0.0
        P = Fa - Fb
        fa, fb = Fa * (1 - Fa), Fb * (1 - Fb)
        tiny = P < 1e-8                      # far tails: recompute on the side without cancellation
        if tiny.any():
            at, bt = a[tiny], b[tiny]
            upper = (bt > 0) & ~self.bottom[tiny]          # the lowest category has no lower threshold
            alt = np.where(upper, expit(-bt) - np.where(self.top[tiny], 0.0, expit(-at)), P[tiny])
            # the densities from both sides too (1 − F cancels); P is kept ≥ 1e-100 × the densities so
            # that ∂log P (up to its cube) stays finite where the two thresholds coincide in floating point
            fa[tiny] = np.where(self.top[tiny], 0.0, expit(at) * expit(-at))
            fb[tiny] = np.where(self.bottom[tiny], 0.0, expit(bt) * expit(-bt))
            P[tiny] = np.maximum(alt, np.maximum(1e-300, 1e-100 * np.maximum(fa[tiny], fb[tiny])))
        iP = 1.0 / P
        la, lb = fa * iP, -fb * iP
        w = self.counts
        out = [np.log(P), [la, lb]]
        if order >= 2:
            fa1, fb1 = fa * (1 - 2 * Fa), fb * (1 - 2 * Fb)
            lab = -la * lb
            out.append([[fa1 * iP - la * la, lab], [lab, -fb1 * iP - lb * lb]])
        if order >= 3:
            fa2, fb2 = fa * (1 - 6 * Fa + 6 * Fa * Fa), fb * (1 - 6 * Fb + 6 * Fb * Fb)
            laaa = fa2 * iP - 3 * fa1 * la * iP + 2 * la ** 3
            lbbb = -fb2 * iP + 3 * fb1 * lb * iP + 2 * lb ** 3
            laab = -fa1 * lb * iP + 2 * la * la * lb           # ∂/∂a of lab = fa·fb/P²
            labb = la * fb1 * iP + 2 * la * lb * lb            # ∂/∂b of lab
            out.append([[[laaa, laab], [laab, labb]], [[laab, labb], [labb, lbbb]]])
        if w is not None:                                      # a merged row counts its rows
            out[0] = w * out[0]
            out[1] = [w * v for v in out[1]]
            if order >= 2:
                out[2] = [[w * v for v in row] for row in out[2]]
            if order >= 3:
                out[3] = [[[w * v for v in row] for row in mat] for mat in out[3]]
        return out


@dataclass
class GroupState:
    u: np.ndarray          # conditional modes û_j (standard-normal scale)
    H: np.ndarray          # −h_j''(û_j)
    value: float           # −2 log L


class SingleFactorQuadrature:
    """−2 log-likelihood (Laplace or AGQ) and its gradient for one random-intercept factor."""

    def __init__(self, model, codes: np.ndarray, n_groups: int, n_agq: int = 1):
        if n_agq < 1:
            raise ValueError("n_agq must be at least 1")
        self.model = model
        self.codes = np.asarray(codes, dtype=np.int64)
        self.G = n_groups
        self.n = len(codes)
        self.n_agq = n_agq
        z, w = np.polynomial.hermite.hermgauss(n_agq)
        self.z, self.logw = z, np.log(w)
        self.signs = np.asarray(model.signs)
        self.dim = model.designs[0].shape[1]

    def groups(self, chosen: np.ndarray) -> SingleFactorQuadrature:
        """The same likelihood over the groups `chosen` (a boolean mask over the groups) only."""
        index = np.flatnonzero(chosen[self.codes])
        renumber = np.cumsum(chosen) - 1
        return SingleFactorQuadrature(self.model.rows(index), renumber[self.codes[index]], int(chosen.sum()),
                                      self.n_agq)

    def _etas(self, psi, sigma, u_rows):
        key = psi.tobytes()
        if getattr(self, "_fixed_key", None) != key:
            self._fixed_key = key
            self._fixed = [M @ psi for M in self.model.designs]
        return [f + s * sigma * u_rows for f, s in zip(self._fixed, self.signs)]

    def _gsum(self, v):
        return np.bincount(self.codes, weights=v, minlength=self.G)

    def _combine(self, d1=None, d2=None, d3=None):
        """Σ_c s_c ℓ_c, Σ s_c s_d ℓ_cd, Σ s_c s_d s_e ℓ_cde (derivatives along u, per row)."""
        s = self.signs
        out = []
        if d1 is not None:
            out.append(sum(s[c] * d1[c] for c in range(len(s))))
        if d2 is not None:
            out.append(sum(s[c] * s[d] * d2[c][d] for c in range(len(s)) for d in range(len(s))))
        if d3 is not None:
            out.append(sum(s[c] * s[d] * s[e] * d3[c][d][e] for c in range(len(s)) for d in range(len(s))
                           for e in range(len(s))))
        return out

    def modes(self, psi, sigma, u0=None, tol=1e-10, max_iter=100) -> tuple[np.ndarray, np.ndarray]:
        """û_j and H_j = −h_j''(û_j) by Newton's method on all groups at once, halving the step of
        any group whose h_j would decrease."""
        if sigma == 0:
            return np.zeros(self.G), np.ones(self.G)
        u = np.zeros(self.G) if u0 is None else u0.copy()
        codes = self.codes
        ll, d1, d2 = self.model.derivs(self._etas(psi, sigma, u[codes]), order=2)
        h = self._gsum(ll) - 0.5 * u * u
        for _ in range(max_iter):
            g1, g2 = self._combine(d1, d2)
            grad = sigma * self._gsum(g1) - u
            H = 1.0 - sigma * sigma * self._gsum(g2)
            if np.max(np.abs(grad)) < tol:
                return u, H
            step = grad / H
            for _ in range(40):
                new = u + step
                ll_n, d1_n, d2_n = self.model.derivs(self._etas(psi, sigma, new[codes]), order=2)
                h_n = self._gsum(ll_n) - 0.5 * new * new
                worse = h_n < h - 1e-12 * np.abs(h)
                if not worse.any():
                    break
                step = np.where(worse, 0.5 * step, step)
            u, ll, d1, d2, h = new, ll_n, d1_n, d2_n, h_n
        g2 = self._combine(d2=d2)[0]
        return u, 1.0 - sigma * sigma * self._gsum(g2)

    def objective(self, psi, sigma, gradient: bool = True, u0=None):
        """(−2 log L, gradient over (ψ, σ) or None, GroupState)."""
        psi = np.asarray(psi, float)
        u, H = self.modes(psi, sigma, u0)
        s = 1.0 / np.sqrt(H)
        codes = self.codes
        # nodes
        K = self.n_agq
        lw = np.empty((self.G, K))
        node_d1 = []
        # the derivatives at the mode (for the gradient); Laplace's one node is the mode itself (z = 0)
        at_mode = self.model.derivs(self._etas(psi, sigma, u[codes]), order=3) if gradient else None
        for k in range(K):
            v = u + np.sqrt(2.0) * s * self.z[k]
            if at_mode is not None and self.z[k] == 0:
                out = at_mode[:2]
            else:
                out = self.model.derivs(self._etas(psi, sigma, v[codes]), order=1)
            lw[:, k] = self.logw[k] + self.z[k] ** 2 + self._gsum(out[0]) - 0.5 * v * v
            node_d1.append((v, out[1]))
        top = lw.max(axis=1, keepdims=True)
        log_sum = top[:, 0] + np.log(np.exp(lw - top).sum(axis=1))
        logL = np.log(np.sqrt(2.0) * s) - 0.5 * np.log(2 * np.pi) + log_sum
        value = float(-2.0 * (logL.sum() + self.model.const))
        state = GroupState(u=u, H=H, value=value)
        if not gradient:
            return value, None, state
        omega = np.exp(lw - log_sum[:, None])                       # normalised node weights
        # derivatives at the mode
        ll, d1, d2, d3 = at_mode
        c1, c2, c3 = self._combine(d1, d2, d3)
        ur = u[codes]
        nch = len(self.signs)
        # ∂h'/∂ψ, ∂h''/∂ψ at û (groups × dim)
        row_h1 = [sigma * sum(self.signs[d] * d2[c][d] for d in range(nch)) for c in range(nch)]
        row_h2 = [sigma ** 2 * sum(self.signs[d] * self.signs[e] * d3[c][d][e] for d in range(nch) for e in range(nch))
                  for c in range(nch)]
        dh1_dsig = self._gsum(c1 + sigma * ur * c2)
        dh2_dsig = self._gsum(2 * sigma * c2 + sigma ** 2 * ur * c3)
        h3 = sigma ** 3 * self._gsum(c3)
        du_dsig = dh1_dsig / H
        dhh_dsig = dh2_dsig + h3 * du_dsig                          # d h''(û)/dσ
        ds_dsig = 0.5 * s ** 3 * dhh_dsig
        dlogs_dsig = 0.5 * s ** 2 * dhh_dsig
        # node terms: Σ_k ω_k [∂h/∂φ(v_k) + h'(v_k)(dû/dφ + √2 z_k ds/dφ)]
        row_coef = [np.zeros(self.n) for _ in range(nch)]
        dh_dsig_nodes = np.zeros(self.G)
        a1 = np.zeros(self.G)                                       # Σ ω h'(v)
        a2 = np.zeros(self.G)                                       # Σ ω z h'(v)
        for k, (v, nd1) in enumerate(node_d1):
            om = omega[:, k]
            omr = om[codes]
            for c in range(nch):
                row_coef[c] += omr * nd1[c]
            comb = self._combine(d1=nd1)[0]
            gsum_comb = self._gsum(comb)
            dh_dsig_nodes += om * v * gsum_comb
            hprime = sigma * gsum_comb - v
            a1 += om * hprime
            a2 += om * self.z[k] * hprime
        # the ψ terms of the groups, Σ_j [a1 dû/dψ + √2 a2 ds/dψ + dlog s/dψ], with dû/dψ = ∂h'/∂ψ / H,
        # d h''/dψ = ∂h''/∂ψ + h''' dû/dψ and ds/dψ = s³/2 · d h''/dψ, are sums over rows of the designs times
        # per-row weights (∂h'/∂ψ and ∂h''/∂ψ sum row_h1·M and row_h2·M over the group's rows): one product
        # per channel instead of groups × ψ matrices
        w2 = 0.5 * s ** 2 * (np.sqrt(2) * a2 * s + 1.0)             # weight of ∂h''/∂ψ
        w1 = (a1 + w2 * h3) / H                                     # weight of ∂h'/∂ψ
        w1r, w2r = w1[codes], w2[codes]
        g_psi = sum(self.model.designs[c].T @ (row_coef[c] + row_h1[c] * w1r + row_h2[c] * w2r) for c in range(nch))
        g_sig = (dh_dsig_nodes + a1 * du_dsig + np.sqrt(2) * a2 * ds_dsig + dlogs_dsig).sum()
        grad = -2.0 * np.concatenate([g_psi, [g_sig]])
        return value, grad, state
