"""Small-sample inference for fixed effects: Satterthwaite and Kenward–Roger degrees of freedom.

Satterthwaite (Kuznetsova, Brockhoff & Christensen 2017, lmerTest): for a contrast L,
    df = 2 (L'CL)² / (g' A g),   g_i = L' (∂C/∂φ_i) L,   A = 2 H⁻¹,
where C(φ) = Cov(β̂) as a function of the variance parameters φ = (θ, σ) and H is the Hessian of the
(REML or ML) deviance in φ. Derivatives use numDeriv's Richardson rules (see numderiv.py), as lmerTest,
except for a structure that gives them exactly (`variance_derivatives`, grouped.py).

Kenward–Roger (Kenward & Roger 1997; pbkrtest's vcovAdj and Lb_ddf, Halekoh & Højsgaard 2014): an
adjusted covariance Φ_A = Φ + 2Φ U Φ for β̂ and a df from the A₁, A₂ moments, computed with the
covariance parameters of V = Σ γ_i G_i (variances, covariances and the residual variance). It needs
dense n×n matrices, so it is limited to n ≤ KR_MAX_N.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import stats

from .lmm import single_threaded_blas, z_matrix
from .numderiv import hessian, jacobian
from .optimize import optimize_structure

KR_MAX_N = 8000


@dataclass
class SatterthwaiteInfo:
    vcov_beta: np.ndarray
    vcov_varpar: np.ndarray          # A = 2 H⁻¹ (pseudo-inverse over positive eigenvalues)
    jacobians: list[np.ndarray]      # ∂C/∂φ_i, one p×p matrix per variance parameter

    @classmethod
    def from_result(cls, res) -> "SatterthwaiteInfo":
        with single_threaded_blas():
            return cls._from_result(res)

    @classmethod
    def _from_result(cls, res) -> "SatterthwaiteInfo":
        struct, reml = res.structure, res.reml
        varpar = np.r_[res.theta, res.sigma]
        p = struct.p

        if hasattr(struct, "variance_derivatives"):          # exact (grouped.py: one random intercept)
            H, jac = struct.variance_derivatives(res.theta, res.sigma, reml)
        else:
            def deviance(vp):
                return struct.deviance_at(vp[:-1], vp[-1], reml)

            def covbeta(vp):
                return (vp[-1] ** 2 * struct.rx_inverse_at(vp[:-1])).ravel()

            H = hessian(deviance, varpar)
            J = jacobian(covbeta, varpar)
            jac = [J[:, i].reshape(p, p) for i in range(J.shape[1])]
        vals, vecs = np.linalg.eigh(H)
        pos = vals > 1e-8
        A = 2.0 * (vecs[:, pos] / vals[pos]) @ vecs[:, pos].T
        return cls(vcov_beta=res.vcov.to_numpy(), vcov_varpar=A, jacobians=jac)

    def ddf(self, L: np.ndarray) -> float:
        """Satterthwaite df of the contrast L'β."""
        var = float(L @ self.vcov_beta @ L)
        grad = np.array([L @ J @ L for J in self.jacobians])
        denom = float(grad @ self.vcov_varpar @ grad)
        return 2.0 * var ** 2 / denom if denom > 0 else np.inf


@dataclass
class KenwardRogerInfo:
    vcov_beta: np.ndarray            # Φ, the REML covariance of β̂
    vcov_adjusted: np.ndarray        # Φ_A
    P: list[np.ndarray]
    W: np.ndarray

    @classmethod
    def from_result(cls, res) -> "KenwardRogerInfo":
        struct = res.structure
        n, p = struct.n, struct.p
        if res.frame is None:
            from .grouped import NoRowsError
            raise NoRowsError("Kenward-Roger degrees of freedom need the data rows, but this model was fitted from "
                              "group statistics alone; use ddf='satterthwaite'")
        if n > KR_MAX_N:
            raise ValueError(f"Kenward-Roger degrees of freedom need dense {n}×{n} matrices; this model has "
                             f"n = {n:,} > {KR_MAX_N:,} rows. Use ddf='satterthwaite' (nearly identical at this size).")
        theta, sigma = res.theta, res.sigma
        if not res.reml:                          # pbkrtest refits with REML
            opt = optimize_structure(struct, True, start=theta, check=False)
            theta = opt.theta
            f = struct.factor(theta)
            sigma = float(np.sqrt(f.pwrss / (n - p)))
        f = struct.factor(theta)
        Phi = sigma ** 2 * struct.rx_inverse(f)
        X = struct.X
        # covariance parameters γ and their derivative matrices G (V = Σ γ_i G_i)
        G, gamma = [], []
        for t, blk in enumerate(struct.blocks):
            Z = z_matrix(blk, None)
            T = f.T[t]
            cov = sigma ** 2 * (T @ T.T)
            for j in range(blk.k):
                for i in range(j, blk.k):
                    E = np.zeros((blk.k, blk.k))
                    E[i, j] = E[j, i] = 1.0
                    ZE = Z @ sp.kron(sp.identity(blk.n_levels), sp.csr_matrix(E))
                    G.append(np.asarray((ZE @ Z.T).todense()))
                    gamma.append(cov[i, j])
        resid = np.diag(1.0 / struct.weights) if struct.weights is not None else np.eye(n)
        G.append(resid)
        gamma.append(sigma ** 2)
        Sigma = sum(g * Gi for g, Gi in zip(gamma, G))
        Sinv = np.linalg.inv(Sigma)
        Sinv = 0.5 * (Sinv + Sinv.T)
        TT = Sinv @ X
        HH = [Gi @ Sinv for Gi in G]
        OO = [Hi @ X for Hi in HH]
        m = len(G)
        PP = [-(O.T @ TT) for O in OO]
        PP = [0.5 * (P_ + P_.T) for P_ in PP]
        QQ = {(i, j): OO[i].T @ Sinv @ OO[j] for i in range(m) for j in range(i, m)}
        K = np.empty((m, m))
        for i in range(m):
            for j in range(i, m):
                K[i, j] = K[j, i] = np.sum(HH[i].T * HH[j])
        IE2 = np.empty((m, m))
        for i in range(m):
            PhiPi = Phi @ PP[i]
            for j in range(i, m):
                IE2[i, j] = IE2[j, i] = K[i, j] - 2 * np.sum(Phi * QQ[i, j]) + np.sum(PhiPi * (PP[j] @ Phi))
        if np.min(np.abs(np.linalg.eigvalsh(IE2))) > 1e-10:
            W = 2 * np.linalg.inv(IE2)
        else:
            W = 2 * np.linalg.pinv(IE2)
        W = 0.5 * (W + W.T)
        U = np.zeros((p, p))
        for i in range(m - 1):
            for j in range(i + 1, m):
                U += W[i, j] * (QQ[i, j] - PP[i] @ Phi @ PP[j])
        U = U + U.T
        for i in range(m):
            U += W[i, i] * (QQ[i, i] - PP[i] @ Phi @ PP[i])
        PhiA = Phi + 2 * Phi @ U @ Phi
        return cls(vcov_beta=Phi, vcov_adjusted=PhiA, P=PP, W=W)

    def ddf(self, L: np.ndarray) -> float:
        """Kenward–Roger denominator df for the hypothesis L'β = 0 (L a vector or a q×p matrix)."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        V0 = self.vcov_beta
        Theta = L.T @ np.linalg.solve(L @ V0 @ L.T, L)
        TV = Theta @ V0
        A1 = A2 = 0.0
        m = len(self.P)
        for i in range(m):
            ui = TV @ self.P[i] @ V0
            for j in range(i, m):
                e = 1.0 if i == j else 2.0
                uj = TV @ self.P[j] @ V0
                A1 += e * self.W[i, j] * np.trace(ui) * np.trace(uj)
                A2 += e * self.W[i, j] * np.sum(ui * uj.T)
        q = L.shape[0]
        B = (A1 + 6 * A2) / (2 * q)
        g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
        c1 = g / (3 * q + 2 * (1 - g))
        c2 = (q - g) / (3 * q + 2 * (1 - g))
        c3 = (q + 2 - g) / (3 * q + 2 * (1 - g))
        V0_ = 1 + c1 * B
        V1 = 1 - c2 * B
        V2 = 1 - c3 * B
        V0_ = 0.0 if abs(V0_) < 1e-10 else V0_
        x = 1 - A2 / q
        ratio = 1.0 if (abs(x) < 1e-14 and abs(V1) < 1e-14) else x / V1
        rho = ratio ** 2 * V0_ / V2 / q
        return float(4 + (q + 2) / (q * rho - 1))


#: Deviance differences below this are the optimiser's resolution, not evidence: the fits stop when
#: the criterion changes by less, so a boundary fit's LR of 1e-9 on one machine is 0 on another.
LR_RESOLUTION = 1e-6


def variance_lr_test(lr: float) -> tuple[float, float]:
    """The likelihood-ratio test of one variance parameter on its boundary (H0: variance = 0), with
    the ½χ²₀ + ½χ²₁ null (Self & Liang 1987; Stram & Lee 1994). Returns (LR, p-value): an LR within
    :data:`LR_RESOLUTION` of zero is zero, and its p-value 1 (half the null's mass sits at 0, so
    P(LR ≥ 0) = 1); a positive LR has p = ½ P(χ²₁ ≥ LR)."""
    lr = float(lr) if lr > LR_RESOLUTION else 0.0
    return lr, (0.5 * float(stats.chi2.sf(lr, 1)) if lr > 0 else 1.0)
