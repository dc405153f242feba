"""Fitted latent-scale models: `GlmerResult` (logistic) and `ClmmResult` (cumulative logit).

Both are fitted by maximum likelihood over the fixed parameters and the variance parameters jointly
(glmer with one random intercept and clmm: adaptive Gauss–Hermite quadrature, quadrature.py; glmer
with several random terms: the Laplace approximation by PIRLS, pirls.py), and both come out as the
same result type whichever path fitted them. Their random effects live on the latent logit scale:
`varcorr` holds the variances of the effects there (no residual row: the latent error is the
standard logistic, variance π²/3, which `icc` uses), `ranef` the conditional modes and conditional
SDs (lme4: `ranef(condVar = TRUE)`; ordinal: `ranef`, `condVar`), `reliability` 1 − conditional
variance / variance per level.

Tests are Wald z tests with Cov = 2·H⁻¹, H the Hessian of −2 log L over all fitted parameters
(lme4's `use.hessian`, ordinal's `vcov`); `vcov_all` is that covariance including the variance
parameters ("sd" for one random intercept, else named as `theta_names`).
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from ..checks import check_predict
from ..contrasts import WaldContrasts
from ..convergence import warn_fit
from ..design import FixedMatrix, ModelFrame, RandomBlock
from .base import MixedModelResult, RandomEffects
from .text import SIGNIF_LINE, Summary


def hessian_covariance(H: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Covariance of ML estimates from the Hessian of −2 log L: 2·H⁻¹ over the free parameters
    (NaN for parameters on a bound, and all NaN when H is not positive definite: there the
    likelihood is not curved like a maximum and the inverse gives no variances)."""
    cov = np.full(H.shape, np.nan)
    Hf = H[np.ix_(free, free)]
    try:
        np.linalg.cholesky(Hf)
        cov[np.ix_(free, free)] = 2.0 * np.linalg.inv(Hf)
    except np.linalg.LinAlgError:
        pass
    return cov


def wald_table(estimates: pd.Series, vcov: pd.DataFrame) -> pd.DataFrame:
    """Estimates with standard errors, Wald z and two-sided p-values."""
    se = np.sqrt(np.diag(vcov.to_numpy()))
    z = estimates.to_numpy() / se
    return pd.DataFrame({"estimate": estimates.to_numpy(), "std_error": se, "z": z,
                         "p_value": 2 * stats.norm.sf(np.abs(z))}, index=estimates.index)


class LatentResult(WaldContrasts, MixedModelResult):
    """What glmer and clmm fits share.

    `params`: every fixed parameter (clmm: thresholds, then β); `vcov_all`: their covariance with the
    variance parameters; `sd`: the SD of the random intercept (a float) when the model has one random
    term of one column, else a Series of the SDs of each term's columns ("<group>.<term>");
    `theta`: the variance parameters as fitted (one random intercept: its SD; lme4's θ otherwise);
    `n_agq`: quadrature nodes (1 = Laplace); `n_evals`: evaluations of the likelihood; `hessian`: of
    −2 log L over the fitted parameters (the optimiser's order).
    """

    residual_variance = np.pi ** 2 / 3

    def __init__(self, formula: str, frame: ModelFrame, fixed: FixedMatrix, blocks: list[RandomBlock], *,
                 params: pd.Series, theta: np.ndarray, variance_names: list[str], cov_all: np.ndarray,
                 value: float, random: list[RandomEffects], converged: bool, messages: list[str], n_agq: int,
                 n_evals: int, hessian: np.ndarray, lower: np.ndarray):
        self.formula, self.frame, self.fixed, self.blocks = formula, frame, fixed, blocks
        self.block = blocks[0]
        self.nobs = len(frame.data)
        self.n_dropped = frame.n_dropped
        self.ngroups = {b.group: b.n_levels for b in blocks}
        self.params = params
        self.theta = np.asarray(theta, dtype=float)
        self.n_agq = n_agq
        self.loglik = -0.5 * value
        self.n_params = len(params) + len(self.theta)
        self.aic = value + 2 * self.n_params
        self.bic = value + np.log(self.nobs) * self.n_params
        self.converged, self.messages = converged, list(messages)
        self.n_evals = n_evals
        self.hessian = hessian
        names = list(params.index)
        self.vcov_all = pd.DataFrame(cov_all, index=[*names, *variance_names], columns=[*names, *variance_names])
        self.vcov = self.vcov_all.loc[names, names]          # clmm: thresholds too, as ordinal's vcov
        self._random = random
        self.singular = bool(np.any(self.theta[np.asarray(lower) == 0] < 1e-4))
        warn_fit(self.singular, converged, self.messages)

    def count_rows(self, nobs: int) -> None:
        """Rows that stood for several identical replies (clmm's `counts`): the observations are the replies."""
        self.nobs = nobs
        self.bic = -2 * self.loglik + np.log(nobs) * self.n_params

    @cached_property
    def random_effects(self) -> list[RandomEffects]:
        return self._random

    @property
    def sd(self):
        if len(self.blocks) == 1 and self.blocks[0].k == 1:
            return float(np.sqrt(self.covariance(0)[0, 0]))
        vc = self.varcorr
        return pd.Series(vc["sd"].to_numpy(), index=[f"{g}.{t}" for g, t in zip(vc.index, vc["term"])], name="sd")

    def coef_table_for(self, ddf: str | None = None) -> pd.DataFrame:
        """Estimates with Wald z tests (no df: `ddf` does not apply to these fits)."""
        if ddf is not None:
            from ..checks import ModelInputError
            raise ModelInputError(f"ddf applies to lmer fits only; {self.kind} uses Wald z tests (got ddf={ddf!r})")
        return wald_table(self.params, self.vcov)

    def _summary(self, title: str, coefficient_blocks: list[str],
                 coefficient_tables: list[tuple[str, pd.DataFrame]]) -> Summary:
        lines = [title, f"Formula: {self.formula}", "", f"{'AIC':>9} {'BIC':>9} {'logLik':>9}",
                 f"{self.aic:9.1f} {self.bic:9.1f} {self.loglik:9.1f}", "", *self._random_lines(),
                 *coefficient_blocks, "---", SIGNIF_LINE, *self._notes()]
        return Summary("\n".join(lines), f"{title}\nFormula: {self.formula}\n{self._fit_line()}",
                       self._summary_tables(coefficient_tables), self._notes())

    def __repr__(self):
        return f"<{type(self).__name__} {self.formula!r}: n={self.nobs}, logLik {self.loglik:.2f}>"


class GlmerResult(LatentResult):
    """A fitted logistic mixed model (glmer, family binomial, logit link): P(y = 1) = logit⁻¹(Xβ + Zb).
    `fixef` are log-odds ratios; `predict` gives probabilities (type='response') or Xβ̂ + Zb̂ ('link')."""

    kind = "glmer"

    @property
    def fixef(self) -> pd.Series:
        return self.params.rename("estimate")

    def predict(self, newdata=None, include_random=True, type="response", allow_new_levels=False) -> pd.Series:
        """Probability of success (type='response') or the linear predictor (type='link')."""
        check_predict(include_random, allow_new_levels, type)
        eta = self._eta(newdata, include_random, allow_new_levels)
        return pd.Series(expit(eta) if type == "response" else eta, index=self._index(newdata))

    def summary(self) -> Summary:
        """Text summary in lme4's glmer layout."""
        method = ("Laplace Approximation" if self.n_agq == 1
                  else f"Adaptive Gauss-Hermite Quadrature (nAGQ = {self.n_agq})")
        title = f"Generalized linear mixed model fit by maximum likelihood ({method})\n Family: binomial  ( logit )"
        return self._summary(title, ["", "Fixed effects:", *self._coef_lines(self.coef_table)],
                             [("Fixed effects (log-odds)", self.coef_table)])


class ClmmResult(LatentResult):
    """A fitted cumulative-link mixed model: logit P(Y ≤ j) = θ_j − xβ − u (ordinal::clmm).
    `thresholds` are the θ_j (cut points on the latent scale), `fixef` the β (a positive β raises
    the rating); `predict` gives the probability of each category."""

    kind = "clmm"

    def __init__(self, *args, levels, n_thresholds, **kw):
        self.levels = levels
        self.n_thresholds = n_thresholds
        super().__init__(*args, **kw)

    @property
    def thresholds(self) -> pd.Series:
        return self.params.iloc[:self.n_thresholds].rename("estimate")

    @property
    def fixef(self) -> pd.Series:
        return self.params.iloc[self.n_thresholds:].rename("estimate")

    def _category_probs(self, eta):
        th = self.thresholds.to_numpy()
        cum = expit(th[None, :] - eta[:, None])
        cum = np.hstack([np.zeros((len(eta), 1)), cum, np.ones((len(eta), 1))])
        return np.diff(cum, axis=1)

    def predict(self, newdata=None, include_random=True, allow_new_levels=False) -> pd.DataFrame:
        """Predicted probability of each category (columns: the levels)."""
        check_predict(include_random, allow_new_levels)
        eta = self._eta(newdata, include_random, allow_new_levels)
        return pd.DataFrame(self._category_probs(eta), index=self._index(newdata), columns=self.levels)

    def expected_score(self, newdata=None, include_random=True, scores=None, allow_new_levels=False) -> pd.Series:
        """E[Y] with the categories scored as their labels (e.g. CSAT 1–5) or `scores`."""
        probs = self.predict(newdata, include_random, allow_new_levels)
        s = np.asarray(scores if scores is not None else [float(v) for v in self.levels])
        return pd.Series(probs.to_numpy() @ s, index=probs.index)

    def group_effects(self, scores=None) -> pd.DataFrame:
        """Per level of the (first) grouping factor: the latent effect (mode, cond_se) and the change in
        expected score it makes for the average contact of the data (the mean over all replies of
        E[Y | x_i, u_j] − E[Y | x_i, u = 0]; rows fitted with `counts` stand for that many replies)."""
        s = np.asarray(scores if scores is not None else [float(v) for v in self.levels])
        eta, where = np.unique(self.fixed.X @ self.fixef.to_numpy(), return_inverse=True)   # a few mix cells
        w = np.bincount(where.reshape(-1), weights=self.frame.weights, minlength=len(eta))
        base = np.average(self._category_probs(eta) @ s, weights=w)
        re = self.ranef[self.block.group].copy()
        # E[Y | η] = s_J − Σ_j (s_{j+1} − s_j)·logit⁻¹(θ_j − η), for blocks of agents × the mix cells' η
        th, rise = self.thresholds.to_numpy(), np.diff(s)
        modes = re["mode"].to_numpy(float)
        step = max(1, 2_000_000 // max(len(eta), 1))

        def mean_score(b):
            lin = b[:, None] + eta[None, :]
            expected = s[-1] - sum(r * expit(t - lin) for r, t in zip(rise, th))
            return expected @ (w / w.sum())

        re["expected_score_effect"] = np.concatenate([mean_score(modes[i:i + step]) - base
                                                      for i in range(0, len(modes), step)])
        re["expected_score"] = base + re["expected_score_effect"]
        return re

    def summary(self) -> Summary:
        """Text summary in ordinal's clmm layout."""
        method = ("Laplace approximation" if self.n_agq == 1
                  else f"adaptive Gauss-Hermite quadrature (nAGQ = {self.n_agq})")
        title = f"Cumulative Link Mixed Model fitted with the {method}\n link: logit, threshold: flexible"
        tab = self.coef_table
        return self._summary(title, ["", "Coefficients:", *self._coef_lines(tab.iloc[self.n_thresholds:]), "",
                                     "Threshold coefficients:", *self._coef_lines(tab.iloc[:self.n_thresholds])],
                             [("Coefficients (log-odds)", tab.iloc[self.n_thresholds:]),
                              ("Threshold coefficients", tab.iloc[:self.n_thresholds])])
