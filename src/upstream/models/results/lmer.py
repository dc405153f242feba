"""The fitted linear mixed model: `LmerResult`, lme4's merMod with lmerTest's df."""
from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from ..checks import ModelInputError, check_predict
from ..convergence import warn_fit
from ..design import FixedMatrix, ModelFrame, RandomBlock
from ..grouped import NoRowsError
from ..lmm import LmmStructure, single_threaded_blas
from ..optimize import Optimum
from ..prediction_error import prediction_error_variances
from .base import MixedModelResult, RandomEffects
from .text import SIGNIF_LINE, Summary

DDF_METHODS = ("satterthwaite", "kenward-roger", "residual")


class LmerResult(MixedModelResult):
    """A fitted `lmer` model (see results/base.py for what every fit offers).

    Numbers, as lme4: `fixef` (β̂), `vcov` (σ̂²(R_X'R_X)⁻¹), `sigma` (residual SD σ̂), `theta`
    (relative covariance factors: the random-effect SDs over σ for scalar terms), `varcorr` (variances
    in the response's units, plus `Residual`), `ranef` (BLUPs and conditional SEs), `loglik`,
    `reml_criterion` (lme4's REMLcrit; None for ML), `deviance` (ML; None for REML), `aic`, `bic`,
    `nobs`, `ngroups`, `n_dropped`, `converged`, `singular`; `coef_table` has Satterthwaite
    (default), Kenward–Roger or residual df (lmerTest). For the engine's own modules (bootstrap,
    prediction variances), as lme4's getME: `factor` (the blocked Cholesky factor at θ̂) and `b` (the
    conditional modes b = Λu, one array per random term, level-major).

    The structure is lmm.py's `LmmStructure` (any model) or grouped.py's `GroupedStructure` (one
    random intercept, from per-group sums). A model fitted from group statistics alone
    (`lmer_from_stats`: `frame` is None) has every estimate, table and df except the row-level
    ones — fitted values, residuals, predictions, Kenward–Roger — which raise `NoRowsError`.
    """

    kind = "lmer"

    def __init__(self, formula: str, frame: ModelFrame | None, fixed: FixedMatrix, blocks: list[RandomBlock],
                 structure: LmmStructure, optimum: Optimum, reml: bool, ddf: str):
        self.formula = formula
        self.frame = frame
        self.fixed = fixed
        self.blocks = blocks
        self.structure = structure
        self.optimum = optimum
        self.reml = reml
        self.ddf = ddf
        self.theta = optimum.theta
        self.factor = structure.factor(self.theta)
        beta, self._u, self.b = structure.solve(self.factor)
        n, p = structure.n, structure.p
        self.nobs = n
        self.n_dropped = frame.n_dropped if frame is not None else 0
        self.sigma = float(np.sqrt(self.factor.pwrss / (n - p if reml else n)))
        self.fixef = pd.Series(beta, index=fixed.names, name="estimate")
        self.vcov = pd.DataFrame(self.sigma ** 2 * structure.rx_inverse(self.factor),
                                 index=fixed.names, columns=fixed.names)
        objective = structure.objective(self.factor, reml)
        self.reml_criterion = objective if reml else None
        self.deviance = None if reml else objective
        self.loglik = -0.5 * objective
        self.n_params = p + structure.n_theta + 1
        self.aic = objective + 2 * self.n_params
        self.bic = objective + np.log(n) * self.n_params
        self.ngroups = {b.group: b.n_levels for b in blocks}
        self.n_evals = optimum.n_evals
        self.converged = optimum.converged
        self.messages = list(optimum.messages)
        lower = structure.lower
        self.singular = bool(np.any(self.theta[lower == 0] < 1e-4))
        warn_fit(self.singular, self.converged, self.messages)

    # -- variance components -----------------------------------------------------------------------
    def _residual(self) -> float:
        return self.sigma ** 2

    def _residual_row(self) -> list[tuple]:
        return [("Residual", "", self.sigma ** 2, self.sigma, np.nan)]

    def covariance(self, block: int) -> np.ndarray:
        """σ² T T' for one random term: the k×k covariance matrix of its random effects."""
        T = self.factor.T[block]
        return self.sigma ** 2 * (T @ T.T)

    @cached_property
    def random_effects(self) -> list[RandomEffects]:
        """Per random term: covariance σ²TT', BLUPs b̂ = Λû and conditional covariances
        σ²Λ(Λ'Z'WZΛ + I)⁻¹Λ' blocks (lme4's condVar)."""
        with single_threaded_blas():
            cond = self.structure.conditional_variances(self.factor)
        return [RandomEffects(block=blk, covariance=self.covariance(t), modes=self.b[t].reshape(blk.n_levels, blk.k),
                              cond_cov=self.sigma ** 2 * cond[t]) for t, blk in enumerate(self.blocks)]

    @cached_property
    def pev_reliability(self) -> dict[str, pd.Series | pd.DataFrame]:
        """Per factor and level: 1 − PEV/variance component, where PEV = Var(b̂ − b) also counts the
        estimation of β (Henderson's prediction error variance; lme4's condVar leaves it out, so
        this is at most `reliability`). For an agent with few replies and an unusual contact mix
        the difference matters."""
        with single_threaded_blas():
            pev = [self.sigma ** 2 * v for v in prediction_error_variances(self.structure, self.factor)]
        return self._reliability_from(pev)

    # -- fixed-effect inference ------------------------------------------------------------------
    @cached_property
    def _satterthwaite(self):
        from ..inference import SatterthwaiteInfo
        return SatterthwaiteInfo.from_result(self)

    @cached_property
    def _kenward_roger(self):
        from ..inference import KenwardRogerInfo
        return KenwardRogerInfo.from_result(self)

    def coef_table_for(self, ddf: str | None = None) -> pd.DataFrame:
        """Fixed effects with SE, denominator df, t and p for a df method (default: the fit's)."""
        ddf = check_ddf(ddf or self.ddf)
        beta = self.fixef.to_numpy()
        p = len(beta)
        if ddf == "satterthwaite":
            se = np.sqrt(np.diag(self.vcov.to_numpy()))
            df = np.array([self._satterthwaite.ddf(np.eye(p)[i]) for i in range(p)])
        elif ddf == "kenward-roger":
            kr = self._kenward_roger
            se = np.sqrt(np.diag(kr.vcov_adjusted))
            df = np.array([kr.ddf(np.eye(p)[i]) for i in range(p)])
        else:
            se = np.sqrt(np.diag(self.vcov.to_numpy()))
            df = np.full(p, float(self.nobs - p))
        t = beta / se
        pval = 2 * stats.t.sf(np.abs(t), df)
        return pd.DataFrame({"estimate": beta, "std_error": se, "df": df, "t": t, "p_value": pval},
                            index=self.fixef.index)

    def contrast(self, L, ddf: str | None = None) -> pd.Series:
        """Test of one linear combination L'β = 0 (L a vector over the fixed effects)."""
        L = np.asarray(L, dtype=float)
        method = check_ddf(ddf or self.ddf)
        est = float(L @ self.fixef.to_numpy())
        if method == "kenward-roger":
            var = float(L @ self._kenward_roger.vcov_adjusted @ L)
            df = self._kenward_roger.ddf(L)
        else:
            var = float(L @ self.vcov.to_numpy() @ L)
            df = self._satterthwaite.ddf(L) if method == "satterthwaite" else float(self.nobs - len(L))
        t = est / np.sqrt(var)
        return pd.Series({"estimate": est, "std_error": np.sqrt(var), "df": df, "t": t,
                          "p_value": 2 * stats.t.sf(abs(t), df)})

    # -- the deviance as a function of θ ---------------------------------------------------------
    def criterion_at(self, theta) -> float:
        """The profiled REML criterion (ML deviance for an ML fit) at θ: what the optimiser minimised.
        For profiles and likelihood-ratio intervals of variance parameters."""
        with single_threaded_blas():
            return float(self.structure.deviance(np.asarray(theta, dtype=float), self.reml))

    # -- predictions -------------------------------------------------------------------------------
    def _need_rows(self, what: str) -> None:
        if self.frame is None:
            raise NoRowsError(f"{what} cannot be computed without the data rows: this model was fitted from "
                              "group statistics alone; refit with lmer(formula, data) for row-level results")

    @cached_property
    def fitted(self) -> pd.Series:
        """Fitted values Xβ̂ + Zb̂ for the rows used in the fit."""
        self._need_rows("fitted values")
        return pd.Series(self.structure.fitted(self.fixef.to_numpy(), self.b), index=self.frame.row_index)

    @cached_property
    def resid(self) -> pd.Series:
        """Response residuals y − fitted."""
        self._need_rows("residuals")
        return pd.Series(self.structure.y, index=self.frame.row_index) - self.fitted

    def predict(self, newdata: pd.DataFrame | None = None, include_random: bool = True,
                allow_new_levels: bool = False) -> pd.Series:
        """Predictions Xβ̂ (response units) plus, with include_random, the conditional modes of the
        rows' levels. A level not seen in the fit raises unless allow_new_levels (then its effect is 0)."""
        check_predict(include_random, allow_new_levels)
        self._need_rows("predictions")
        if newdata is None and include_random:
            return self.fitted
        return pd.Series(self._eta(newdata, include_random, allow_new_levels), index=self._index(newdata))

    # -- tables ------------------------------------------------------------------------------------
    def summary(self) -> Summary:
        """Summary in lme4's layout (with lmerTest's df and p-values): the text, shown as tables in Jupyter."""
        method = "REML" if self.reml else "maximum likelihood"
        ddf_name = {"satterthwaite": "Satterthwaite's method", "kenward-roger": "Kenward-Roger's method",
                    "residual": "residual df (n - p)"}[self.ddf]
        lines = [f"Linear mixed model fit by {method}. t-tests use {ddf_name}", f"Formula: {self.formula}", ""]
        if self.reml:
            lines.append(f"REML criterion at convergence: {self.reml_criterion:.1f}")
        else:
            lines.append(f"{'AIC':>9} {'BIC':>9} {'logLik':>9} {'deviance':>9} {'df.resid':>9}")
            lines.append(f"{self.aic:9.1f} {self.bic:9.1f} {self.loglik:9.1f} {self.deviance:9.1f} "
                         f"{self.nobs - self.n_params:9d}")
        lines.append("")
        if self.frame is not None:
            r = (self.resid / self.sigma).to_numpy()
            if self.structure.sw is not None:
                r = r * self.structure.sw
            qs = np.quantile(r, [0, 0.25, 0.5, 0.75, 1])
            lines.append("Scaled residuals: ")
            lines.append("     Min       1Q   Median       3Q      Max ")
            lines.append(" ".join(f"{v:8.4f}" for v in qs))
        else:
            lines.append("Scaled residuals: not available (fitted from group statistics)")
        lines += ["", *self._random_lines(), "", "Fixed effects:", *self._coef_lines(self.coef_table), "---",
                  SIGNIF_LINE, *self._notes()]
        return Summary("\n".join(lines), f"{lines[0]}\nFormula: {self.formula}\n{self._fit_line()}",
                       self._summary_tables([("Fixed effects", self.coef_table)]), self._notes())

    def __repr__(self) -> str:
        crit = f"REML criterion {self.reml_criterion:.2f}" if self.reml else f"logLik {self.loglik:.2f}"
        return f"<LmerResult {self.formula!r}: n={self.nobs}, {crit}>"

    # -- bootstrap ---------------------------------------------------------------------------------
    def bootstrap(self, n: int = 500, seed: int | None = None, progress: bool = True, level: float = 0.95,
                  method: str = "auto"):
        """Parametric bootstrap of variance components, ICC and random effects (see bootstrap.py;
        method "auto" uses the fast grouped replicates for a one-random-intercept model): n replicates
        (a whole number ≥ 2), intervals at `level` (between 0 and 1)."""
        from ..bootstrap import parametric_bootstrap
        return parametric_bootstrap(self, n=n, seed=seed, progress=progress, level=level, method=method)


def check_ddf(ddf: str) -> str:
    key = str(ddf).lower().replace("_", "-").replace(" ", "-")
    aliases = {"kr": "kenward-roger", "kenward-roger": "kenward-roger", "satterthwaite": "satterthwaite",
               "residual": "residual", "satt": "satterthwaite"}
    if key not in aliases:
        raise ModelInputError(f"ddf must be one of {', '.join(DDF_METHODS)}; got {ddf!r}")
    return aliases[key]
