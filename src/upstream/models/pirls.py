"""Laplace approximation for a logistic mixed model with any random-effects structure.

For fixed θ and β, penalised iteratively reweighted least squares (PIRLS) finds the conditional
mode û of the spherical random effects, each step a weighted penalised least-squares solve with
the blocked Cholesky factor of lmm.py (weights W = mμ(1−μ), no fixed effects in the solve). The
Laplace deviance is

    −2 log L(θ, β) ≈ −2 Σ log p(y_i | η̂_i) + ‖û‖² + log|Λ'Z'ŴZΛ + I|,

with Ŵ at û (lme4's nAGQ = 1 objective). As lme4 does, a first stage optimises θ with β updated
inside PIRLS, and a second stage optimises (θ, β) jointly from there. At the optimum, the
Richardson Hessian of the deviance over (θ, β) gives the covariance of the estimates and — with the
gradient from the same evaluations — convergence.py's lme4 checks. Estimates that run away
(separation, or more variance parameters than the data identify: the linear predictor beyond ±30)
stop the optimisation at once and are reported as not converged, instead of running to the cap.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, gammaln

from .convergence import Verdict, check_optimum, diverged, optimiser_stop
from .lmm import LmmStructure, lower_triangle
from .numderiv import hessian
from .results import GlmerResult, RandomEffects, hessian_covariance, theta_names


class LaplaceGlmm:
    def __init__(self, blocks, X: np.ndarray, k: np.ndarray, m: np.ndarray):
        self.blocks, self.X, self.k, self.m = blocks, X, k, m
        self.const = float(np.sum(gammaln(m + 1) - gammaln(k + 1) - gammaln(m - k + 1)))
        self.empty = np.zeros((len(k), 0))
        probe = LmmStructure(blocks, self.empty, np.zeros(len(k)), reuse=False)
        self.n_theta, self.lower, self.slices = probe.n_theta, probe.lower, probe.theta_slices
        self._u = None

    def loglik_rows(self, eta):
        return self.k * -np.logaddexp(0.0, -eta) + (self.m - self.k) * -np.logaddexp(0.0, eta)

    def _zlam(self, theta, u_blocks):
        """ZΛu as a row vector."""
        out = np.zeros(len(self.k))
        for blk, sl, ut in zip(self.blocks, self.slices, u_blocks):
            b = ut.reshape(blk.n_levels, blk.k) @ lower_triangle(theta[sl], blk.k).T
            out += blk.row_effects(b)
        return out

    def random_sd_rows(self, theta) -> np.ndarray:
        """Per row, the largest SD of one random term's part of the linear predictor, √(z_i'ΛΛ'z_i)."""
        out = np.zeros(len(self.k))
        for blk, sl in zip(self.blocks, self.slices):
            zt = blk.values @ lower_triangle(theta[sl], blk.k)
            if blk.membership is not None:                 # Σ_g w_g b_g: SD scales with ‖w_i‖
                zt = zt * np.sqrt(np.asarray(blk.membership.multiply(blk.membership).sum(axis=1)))
            out = np.maximum(out, np.sqrt(np.einsum("ij,ij->i", zt, zt)))
        return out

    def pirls(self, theta, beta=None, tol=1e-10, max_iter=60):
        """Conditional modes for θ (and β; with beta=None β is updated jointly, stage 1).
        Returns (objective, beta, u blocks, factor structure)."""
        X = self.X
        joint = beta is None
        beta = np.zeros(X.shape[1]) if joint else beta
        u = self._u if self._u is not None else [np.zeros(b.q) for b in self.blocks]
        if joint and getattr(self, "_beta", None) is not None:
            beta = self._beta.copy()
        eta = X @ beta + self._zlam(theta, u)
        pdev = -2 * self.loglik_rows(eta).sum() + sum(float(x @ x) for x in u)
        for _ in range(max_iter):
            mu = expit(eta)
            w = np.maximum(self.m * mu * (1 - mu), 1e-12)
            z = eta + (self.k - self.m * mu) / w
            if joint:
                s = LmmStructure(self.blocks, X, z, w, reuse=False)
                f = s.factor(theta)
                b_new, u_new, _ = s.solve(f)
            else:
                s = LmmStructure(self.blocks, self.empty, z - X @ beta, w, reuse=False)
                f = s.factor(theta)
                _, u_new, _ = s.solve(f)
                b_new = beta
            step_u = [un - uo for un, uo in zip(u_new, u)]
            step_b = b_new - beta
            for _ in range(30):
                cu = [uo + su for uo, su in zip(u, step_u)]
                cb = beta + step_b
                ceta = X @ cb + self._zlam(theta, cu)
                cdev = -2 * self.loglik_rows(ceta).sum() + sum(float(x @ x) for x in cu)
                if cdev <= pdev + 1e-10 * abs(pdev):
                    break
                step_u = [0.5 * x for x in step_u]
                step_b = 0.5 * step_b
            done = abs(pdev - cdev) < tol * (abs(cdev) + 1)
            u, beta, eta, pdev = cu, cb, ceta, cdev
            if done:
                break
        mu = expit(eta)
        w = np.maximum(self.m * mu * (1 - mu), 1e-12)
        s = LmmStructure(self.blocks, self.empty, np.ones(len(eta)), w, reuse=False)   # y: irrelevant to log|L|
        f = s.factor(theta)
        value = -2 * (self.loglik_rows(eta).sum() + self.const) + sum(float(x @ x) for x in u) + f.ldL2
        self._u = u
        if joint:
            self._beta = beta
        return float(value), beta, u, (s, f)

    def random_effects(self, theta, beta) -> list[RandomEffects]:
        """Per term: covariance ΛΛ' (latent scale), modes Λû and conditional covariances
        Λ(Λ'Z'ŴZΛ + I)⁻¹Λ' at the estimates (lme4's condVar for a GLMM)."""
        _, _, u, (s, f) = self.pirls(theta, beta)
        cond = s.conditional_variances(f)
        out = []
        for t, (blk, T) in enumerate(zip(self.blocks, f.T)):
            out.append(RandomEffects(block=blk, covariance=T @ T.T, modes=u[t].reshape(blk.n_levels, blk.k) @ T.T,
                                     cond_cov=cond[t]))
        return out


class _Diverged(Exception):
    pass


class _Watch:
    """The objective, remembering the best point so far and stopping as soon as it diverges."""

    def __init__(self, model: LaplaceGlmm, stage: int):
        self.model, self.stage = model, stage
        self.best = (np.inf, None, None)
        self.evals = 0
        self.reason = ""

    def __call__(self, x):
        nt = self.model.n_theta
        self.evals += 1
        if self.stage == 1:
            value, beta, _, _ = self.model.pirls(x)
            theta = x
        else:
            theta, beta = x[:nt], x[nt:]
            value = self.model.pirls(theta, beta)[0]
        if value < self.best[0]:
            self.best = (value, np.array(theta, float), np.array(beta, float))
            reason = diverged(self.model.X @ beta, self.model.random_sd_rows(theta))
            if reason:
                self.reason = reason
                raise _Diverged
        return value


def fit_laplace_glmer(formula, frame, fixed, blocks, k, m) -> GlmerResult:
    """Fit by the two stages of lme4's glmer (see the module's docstring) and check the optimum."""
    model = LaplaceGlmm(blocks, fixed.X, k, m)
    lower = model.lower
    bounds_t = [(0.0 if lo == 0 else None, None) for lo in lower]
    nt = model.n_theta
    verdict = Verdict()
    evals = 0
    # stage 1: θ only, β inside PIRLS
    watch = _Watch(model, 1)
    try:
        stage1 = minimize(watch, np.where(lower == 0, 1.0, 0.0), method="COBYQA", bounds=bounds_t,
                          options={"initial_tr_radius": 0.5, "final_tr_radius": 1e-5})
        theta1 = np.asarray(stage1.x)
        beta1 = model.pirls(theta1)[1]
    except _Diverged:
        verdict.fail(watch.reason)
        _, theta1, beta1 = watch.best
    evals += watch.evals
    x = np.r_[theta1, beta1]
    if verdict.converged:
        # stage 2: (θ, β) jointly
        watch = _Watch(model, 2)
        bounds = bounds_t + [(None, None)] * len(beta1)
        try:
            stage2 = minimize(watch, x, method="COBYQA", bounds=bounds,
                              options={"initial_tr_radius": 0.1, "final_tr_radius": 1e-8, "maxfev": 4000})
            x = np.asarray(stage2.x)
            optimiser_stop(verdict, bool(stage2.success), str(stage2.message), float(stage2.fun))
        except _Diverged:
            verdict.fail(watch.reason)
            x = np.r_[watch.best[1], watch.best[2]]
        evals += watch.evals
    x[:nt][(lower == 0) & (x[:nt] < 1e-10)] = 0.0

    def objective(z):
        nonlocal evals
        evals += 1
        return model.pirls(z[:nt], z[nt:])[0]

    value = objective(x)
    free = np.r_[~((lower == 0) & (x[:nt] <= 0)), np.ones(len(x) - nt, bool)]
    if verdict.converged:
        # a scalar θ enters as θ², so steps below 0 are harmless
        H, g = hessian(objective, x, d=1e-3, r=2, gradient=True)
        optimiser_stop(verdict, True, "", value)
        check_optimum(verdict, g, H, free)
    else:
        H = np.full((len(x), len(x)), np.nan)           # no curvature at a point that is not an optimum
    theta, beta = x[:nt], x[nt:]
    # covariance over (β, θ) for vcov_all
    order = np.r_[np.arange(nt, len(x)), np.arange(nt)]
    cov = hessian_covariance(H, free)[np.ix_(order, order)]
    params = pd.Series(beta, index=list(fixed.names))
    return GlmerResult(formula, frame, fixed, blocks, params=params, theta=theta, variance_names=theta_names(blocks),
                       cov_all=cov, value=value, random=model.random_effects(theta, beta),
                       converged=verdict.converged, messages=verdict.messages, n_agq=1, n_evals=evals,
                       hessian=H, lower=lower)
