"""Laplace approximation for a logistic mixed model with any random-effects structure.

For fixed θ and β, penalised iteratively reweighted least squares (PIRLS) finds the conditional
mode û of the spherical random effects, each step a weighted penalised least-squares solve with
the blocked Cholesky factor of lmm.py (weights W = mμ(1−μ), no fixed effects in the solve). The
Laplace deviance is

    −2 log L(θ, β) ≈ −2 Σ log p(y_i | η̂_i) + ‖û‖² + log|Λ'Z'ŴZΛ + I|,

with Ŵ at û (lme4's nAGQ = 1 objective). As lme4 does, a first stage optimises θ with β updated
inside PIRLS, and a second stage optimises (θ, β) jointly from there.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, gammaln

from .checks import check_predict
from .design import FixedMatrix, ModelFrame, RandomBlock, newdata_matrices
from .lmm import LmmStructure, lower_triangle
from .numderiv import hessian
from .results import _fmt, _fmt_p, _stars, hessian_covariance, wald_table, warn_fit
from .health import health as _health
from .contrasts import FixedEffectQuestions, WaldContrasts


class LaplaceGlmm:
    def __init__(self, blocks: list[RandomBlock], X: np.ndarray, k: np.ndarray, m: np.ndarray):
        self.blocks, self.X, self.k, self.m = blocks, X, k, m
        self.const = float(np.sum(gammaln(m + 1) - gammaln(k + 1) - gammaln(m - k + 1)))
        self.empty = np.zeros((len(k), 0))
        probe = LmmStructure(blocks, self.empty, np.zeros(len(k)))
        self.n_theta, self.lower, self.slices = probe.n_theta, probe.lower, probe.theta_slices
        self._u = None

    def loglik_rows(self, eta):
        return self.k * -np.logaddexp(0.0, -eta) + (self.m - self.k) * -np.logaddexp(0.0, eta)

    def _zlam(self, theta, u_blocks):
        """ZΛu as a row vector."""
        out = np.zeros(len(self.k))
        for blk, sl, ut in zip(self.blocks, self.slices, u_blocks):
            b = ut.reshape(blk.n_levels, blk.k) @ lower_triangle(theta[sl], blk.k).T
            out += np.einsum("ij,ij->i", blk.values, b[blk.codes])
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
                s = LmmStructure(self.blocks, X, z, w)
                f = s.factor(theta)
                b_new, u_new, _ = s.solve(f)
            else:
                s = LmmStructure(self.blocks, self.empty, z - X @ beta, w)
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
        s = LmmStructure(self.blocks, self.empty, np.ones(len(eta)), w)     # y is irrelevant to log|L|
        f = s.factor(theta)
        value = -2 * (self.loglik_rows(eta).sum() + self.const) + sum(float(x @ x) for x in u) + f.ldL2
        self._u = u
        if joint:
            self._beta = beta
        return float(value), beta, u, (s, f)


class GlmerLaplaceResult(FixedEffectQuestions, WaldContrasts):
    """A logistic mixed model with several random terms fitted by the Laplace approximation."""

    kind = "glmer"
    n_agq = 1

    def __init__(self, formula, frame: ModelFrame, fixed: FixedMatrix, model: LaplaceGlmm, theta, beta, value, H,
                 converged, messages):
        self.formula, self.frame, self.fixed, self.model = formula, frame, fixed, model
        self.blocks = model.blocks
        self.theta = theta
        self.nobs, self.n_dropped = len(frame.data), frame.n_dropped
        self.ngroups = {b.group: b.n_levels for b in self.blocks}
        value_, beta_, u, (s, f) = model.pirls(theta, beta)
        self._u, self._structure, self._factor = u, s, f
        self.fixef = pd.Series(beta, index=fixed.names, name="estimate")
        self.loglik = -0.5 * value
        self.n_params = len(theta) + len(beta)
        self.aic = value + 2 * self.n_params
        self.bic = value + np.log(self.nobs) * self.n_params
        self.converged, self.messages = converged, messages
        nt = len(theta)
        free = np.r_[~((model.lower == 0) & (theta <= 0)), np.ones(len(beta), bool)]
        cov = hessian_covariance(H, free)
        self.vcov = pd.DataFrame(cov[nt:, nt:], index=fixed.names, columns=fixed.names)
        self.singular = bool(np.any(theta[model.lower == 0] < 1e-4))
        warn_fit(self.singular, converged, messages)

    def health(self) -> list[str]:
        """Statements a reader must know before trusting this fit (empty when all is well)."""
        return _health(self)

    @cached_property
    def coef_table(self):
        """Estimates with Wald z tests."""
        return wald_table(self.fixef, self.vcov)

    @cached_property
    def varcorr(self):
        rows = []
        for blk, T in zip(self.blocks, self._factor.T):
            cov = T @ T.T
            for j, term in enumerate(blk.terms):
                rows.append((blk.group, term, cov[j, j], np.sqrt(cov[j, j])))
        return pd.DataFrame(rows, columns=["group", "term", "variance", "sd"]).set_index("group")

    @cached_property
    def ranef(self):
        cv = self._structure.conditional_variances(self._factor)
        out = {}
        for t, (blk, T) in enumerate(zip(self.blocks, self._factor.T)):
            b = self._u[t].reshape(blk.n_levels, blk.k) @ T.T
            se = np.sqrt(np.maximum(np.diagonal(cv[t], axis1=1, axis2=2), 0))
            if blk.k == 1:
                out[blk.group] = pd.DataFrame({"mode": b[:, 0], "cond_se": se[:, 0]}, index=blk.levels)
            else:
                cols = {("mode", tm): b[:, j] for j, tm in enumerate(blk.terms)}
                cols.update({("cond_se", tm): se[:, j] for j, tm in enumerate(blk.terms)})
                frame = pd.DataFrame(cols, index=blk.levels)
                frame.columns = pd.MultiIndex.from_tuples(frame.columns)
                out[blk.group] = frame
        return out

    def predict(self, newdata=None, include_random=True, type="response", allow_new_levels=False):
        """Probability of success (type='response') or the linear predictor (type='link')."""
        check_predict(include_random, allow_new_levels, type)
        if newdata is None:
            eta = self.fixed.X @ self.fixef.to_numpy() + (self.model._zlam(self.theta, self._u) if include_random else 0)
            index = self.frame.row_index
        else:
            X, groups = newdata_matrices(self.frame, self.fixed, self.blocks, newdata, allow_new_levels)
            eta = X @ self.fixef.to_numpy()
            if include_random:
                for t, (codes, values) in enumerate(groups):
                    blk, T = self.blocks[t], self._factor.T[t]
                    b = self._u[t].reshape(blk.n_levels, blk.k) @ T.T
                    known = codes >= 0
                    add = np.zeros(len(codes))
                    add[known] = np.einsum("ij,ij->i", values[known], b[codes[known]])
                    eta = eta + add
            index = newdata.index
        return pd.Series(expit(eta) if type == "response" else eta, index=index)

    def summary(self) -> str:
        lines = ["Generalized linear mixed model fit by maximum likelihood (Laplace Approximation)",
                 " Family: binomial  ( logit )", f"Formula: {self.formula}", "",
                 f"{'AIC':>9} {'BIC':>9} {'logLik':>9}", f"{self.aic:9.1f} {self.bic:9.1f} {self.loglik:9.1f}", "",
                 "Random effects:", f" {'Groups':<12} {'Name':<12} {'Variance':>10} {'Std.Dev.':>10}"]
        for g, r in self.varcorr.iterrows():
            lines.append(f" {g:<12} {r['term']:<12} {_fmt(r['variance']):>10} {_fmt(r['sd']):>10}")
        lines.append(f"Number of obs: {self.nobs}, groups:  " + ", ".join(f"{g}, {n}" for g, n in self.ngroups.items()))
        lines += ["", "Fixed effects:"]
        w = max([12, *map(len, self.coef_table.index)])
        lines.append(f"{'':<{w}} {'Estimate':>10} {'Std. Error':>11} {'z value':>8} {'Pr(>|z|)':>10}")
        for name, r in self.coef_table.iterrows():
            lines.append(f"{name:<{w}} {_fmt(r['estimate']):>10} {_fmt(r['std_error']):>11} {r['z']:8.3f} "
                         f"{_fmt_p(r['p_value']):>10} {_stars(r['p_value'])}")
        lines += self.messages
        return "\n".join(lines)


def fit_laplace_glmer(formula, frame, fixed, blocks, k, m) -> GlmerLaplaceResult:
    model = LaplaceGlmm(blocks, fixed.X, k, m)
    lower = model.lower
    bounds_t = [(0.0 if lo == 0 else None, None) for lo in lower]
    nt = model.n_theta
    # stage 1: θ only, β inside PIRLS
    stage1 = minimize(lambda th: model.pirls(th)[0], np.where(lower == 0, 1.0, 0.0), method="COBYQA",
                      bounds=bounds_t, options={"initial_tr_radius": 0.5, "final_tr_radius": 1e-5})
    theta1 = np.asarray(stage1.x)
    beta1 = model.pirls(theta1)[1]

    def objective(x):
        return model.pirls(x[:nt], x[nt:])[0]

    x0 = np.r_[theta1, beta1]
    bounds = bounds_t + [(None, None)] * len(beta1)
    stage2 = minimize(objective, x0, method="COBYQA", bounds=bounds,
                      options={"initial_tr_radius": 0.1, "final_tr_radius": 1e-8, "maxfev": 4000})
    x = np.asarray(stage2.x)
    x[:nt][(lower == 0) & (x[:nt] < 1e-10)] = 0.0
    value = objective(x)
    H = hessian(objective, x, d=1e-3, r=2)      # a scalar θ enters as θ², so steps below 0 are harmless
    messages = []
    converged = bool(stage2.success)
    if not converged:
        messages.append(f"the optimiser stopped before converging: {stage2.message}")
    free = np.r_[~((lower == 0) & (x[:nt] <= 0)), np.ones(len(x) - nt, bool)]
    Hf = H[np.ix_(free, free)]
    if converged and not (np.isfinite(Hf).all() and np.all(np.linalg.eigvalsh(Hf) > 0)):
        converged = False
        messages.append("Model failed to converge: the Hessian is not positive definite")
    return GlmerLaplaceResult(formula, frame, fixed, model, x[:nt], x[nt:], value, H, converged, messages)
