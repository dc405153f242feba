"""The fitted linear mixed model: estimates, tables, summary() and diagnostics in one object."""
from __future__ import annotations

import warnings
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from .contrasts import FixedEffectQuestions
from .checks import ModelInputError, check_predict
from .design import FixedMatrix, ModelFrame, RandomBlock, newdata_matrices
from .grouped import NoRowsError
from .prediction_error import prediction_error_variances
from .lmm import LmmStructure, single_threaded_blas
from .optimize import Optimum
from .health import health as _health

DDF_METHODS = ("satterthwaite", "kenward-roger", "residual")


class SingularFitWarning(UserWarning):
    pass


class ConvergenceWarning(UserWarning):
    pass


class LmerResult(FixedEffectQuestions):
    """A fitted `lmer` model.

    Attributes follow lme4: `fixef`, `varcorr`, `ranef`, `sigma`, `theta`, `loglik`,
    `reml_criterion` (lme4's REMLcrit), `aic`, `bic`, `nobs`, `ngroups`, `n_dropped`,
    `converged`, `singular`; `coef_table` has Satterthwaite (default), Kenward–Roger or residual df.

    The structure is lmm.py's `LmmStructure` (any model) or grouped.py's `GroupedStructure` (one
    random intercept, from per-group sums). A model fitted from group statistics alone
    (`lmer_from_stats`: `frame` is None) has every estimate, table and df except the row-level
    ones — fitted values, residuals, predictions, Kenward–Roger — which raise `NoRowsError`.
    """

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
        self._factor = structure.factor(self.theta)
        beta, self._u, self._b = structure.solve(self._factor)
        n, p = structure.n, structure.p
        self.nobs = n
        self.n_dropped = frame.n_dropped if frame is not None else 0
        self.sigma = float(np.sqrt(self._factor.pwrss / (n - p if reml else n)))
        self.fixef = pd.Series(beta, index=fixed.names, name="estimate")
        self.vcov = pd.DataFrame(self.sigma ** 2 * structure.rx_inverse(self._factor),
                                 index=fixed.names, columns=fixed.names)
        objective = structure.objective(self._factor, reml)
        self.reml_criterion = objective if reml else None
        self.deviance = None if reml else objective
        self.loglik = -0.5 * objective
        self.n_params = p + structure.n_theta + 1
        self.aic = objective + 2 * self.n_params
        self.bic = objective + np.log(n) * self.n_params
        self.ngroups = {b.group: b.n_levels for b in blocks}
        self.converged = optimum.converged
        self.messages = list(optimum.messages)
        lower = structure.lower
        self.singular = bool(np.any(self.theta[lower == 0] < 1e-4))
        warn_fit(self.singular, self.converged, self.messages)

    # -- variance components -----------------------------------------------------------------------
    def covariance(self, block: int) -> np.ndarray:
        """σ² T T' for one random term: the k×k covariance matrix of its random effects."""
        T = self._factor.T[block]
        return self.sigma ** 2 * (T @ T.T)

    def health(self) -> list[str]:
        """Statements a reader must know before trusting this fit (empty when all is well)."""
        return _health(self)

    @cached_property
    def varcorr(self) -> pd.DataFrame:
        """Variance components: one row per random-effect term, indexed by grouping factor as written,
        plus `Residual`. Columns: term, variance, sd, and corr (with the block's first term)."""
        rows = []
        for t, blk in enumerate(self.blocks):
            cov = self.covariance(t)
            sd = np.sqrt(np.diag(cov))
            for j, term in enumerate(blk.terms):
                corr = np.nan
                if j > 0:
                    corr = cov[j, 0] / (sd[j] * sd[0]) if sd[j] > 0 and sd[0] > 0 else np.nan
                rows.append((blk.group, term, cov[j, j], sd[j], corr))
        rows.append(("Residual", "", self.sigma ** 2, self.sigma, np.nan))
        out = pd.DataFrame(rows, columns=["group", "term", "variance", "sd", "corr"]).set_index("group")
        if out["corr"].isna().all():
            out = out.drop(columns="corr")
        return out

    @cached_property
    def correlations(self) -> dict[str, pd.DataFrame]:
        """Correlation matrices of the random effects, for terms with more than one column."""
        out = {}
        for t, blk in enumerate(self.blocks):
            if blk.k > 1:
                cov = self.covariance(t)
                sd = np.sqrt(np.diag(cov))
                with np.errstate(invalid="ignore", divide="ignore"):
                    corr = cov / np.outer(sd, sd)
                out[blk.group] = pd.DataFrame(corr, index=blk.terms, columns=blk.terms)
        return out

    # -- random effects ----------------------------------------------------------------------------
    @cached_property
    def _cond_var(self) -> list[np.ndarray]:
        return [self.sigma ** 2 * v for v in self.structure.conditional_variances(self._factor)]

    @cached_property
    def ranef(self) -> dict[str, pd.DataFrame]:
        """Conditional modes (BLUPs) and conditional SEs per grouping factor, indexed by level.
        One-column terms give columns `mode`, `cond_se`; slope terms give (mode|cond_se, term) columns."""
        out: dict[str, list] = {}
        for t, blk in enumerate(self.blocks):
            modes = self._b[t].reshape(blk.n_levels, blk.k)
            se = np.sqrt(np.maximum(np.diagonal(self._cond_var[t], axis1=1, axis2=2), 0.0))
            out.setdefault(blk.group, []).append((blk, modes, se))
        frames = {}
        for group, parts in out.items():
            if len(parts) == 1 and parts[0][0].k == 1:
                blk, modes, se = parts[0]
                frames[group] = pd.DataFrame({"mode": modes[:, 0], "cond_se": se[:, 0]}, index=blk.levels)
            else:
                cols = {}
                for blk, modes, se in parts:
                    for j, term in enumerate(blk.terms):
                        cols[("mode", term)] = pd.Series(modes[:, j], index=blk.levels)
                        cols[("cond_se", term)] = pd.Series(se[:, j], index=blk.levels)
                order = [c for c in cols if c[0] == "mode"] + [c for c in cols if c[0] == "cond_se"]
                frame = pd.DataFrame({c: cols[c] for c in order})
                frame.columns = pd.MultiIndex.from_tuples(order)
                frames[group] = frame
        return frames

    @cached_property
    def reliability(self) -> dict[str, pd.Series | pd.DataFrame]:
        """Per factor and level: 1 − conditional variance / variance component. For a random
        intercept this is τ²/(τ² + σ²/n_j) (with prior weights: n_j = the group's Σw): the share of an
        observed level difference that is real."""
        return self._reliability_from(self._cond_var)

    def _reliability_from(self, variances: list[np.ndarray]) -> dict[str, pd.Series | pd.DataFrame]:
        out = {}
        for t, blk in enumerate(self.blocks):
            var = np.diag(self.covariance(t))
            cv = np.diagonal(variances[t], axis1=1, axis2=2)
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.where(var > 0, 1.0 - cv / var, 0.0)
            rel = np.clip(rel, 0.0, 1.0)
            if blk.k == 1 and blk.group not in out:
                out[blk.group] = pd.Series(rel[:, 0], index=blk.levels, name="reliability")
            else:
                frame = pd.DataFrame(rel, index=blk.levels, columns=blk.terms)
                if blk.group in out:
                    prev = out[blk.group]
                    prev = prev.to_frame("(Intercept)") if isinstance(prev, pd.Series) else prev
                    frame = pd.concat([prev, frame], axis=1)
                out[blk.group] = frame
        return out

    @cached_property
    def pev_reliability(self) -> dict[str, pd.Series | pd.DataFrame]:
        """Per factor and level: 1 − PEV/variance component, where PEV = Var(b̂ − b) also counts the
        estimation of β (Henderson's prediction error variance; lme4's condVar leaves it out, so
        this is at most `reliability`). For an agent with few replies and an unusual contact mix
        the difference matters."""
        pev = [self.sigma ** 2 * v for v in prediction_error_variances(self.structure, self._factor)]
        return self._reliability_from(pev)

    @cached_property
    def icc(self) -> pd.Series:
        """Intraclass correlation per grouping factor: its intercept variance over the total
        (all intercept variances plus the residual variance)."""
        vc = self.varcorr
        intercepts = vc[vc["term"] == "(Intercept)"]
        total = intercepts["variance"].sum() + self.sigma ** 2
        return pd.Series(intercepts["variance"].to_numpy() / total, index=intercepts.index, name="icc")

    # -- fixed-effect inference ------------------------------------------------------------------
    @cached_property
    def _satterthwaite(self):
        from .inference import SatterthwaiteInfo
        return SatterthwaiteInfo.from_result(self)

    @cached_property
    def _kenward_roger(self):
        from .inference import KenwardRogerInfo
        return KenwardRogerInfo.from_result(self)

    def coef_table_for(self, ddf: str) -> pd.DataFrame:
        """Fixed effects with SE, denominator df, t and p for a df method."""
        ddf = _check_ddf(ddf)
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

    @cached_property
    def coef_table(self) -> pd.DataFrame:
        return self.coef_table_for(self.ddf)

    def confint(self, level: float = 0.95, ddf: str | None = None) -> pd.DataFrame:
        """Wald intervals for the fixed effects with t quantiles on the chosen df."""
        tab = self.coef_table_for(ddf or self.ddf)
        q = stats.t.ppf(0.5 + level / 2, tab["df"])
        return pd.DataFrame({"lower": tab["estimate"] - q * tab["std_error"],
                             "upper": tab["estimate"] + q * tab["std_error"]}, index=tab.index)

    def contrast(self, L, ddf: str | None = None) -> pd.Series:
        """Test of one linear combination L'β = 0 (L a vector over the fixed effects)."""
        L = np.asarray(L, dtype=float)
        method = _check_ddf(ddf or self.ddf)
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
    @cached_property
    def theta_names(self) -> list[str]:
        """Names of the θ entries (relative covariance factors, formula order), lme4's
        `getME(fit, "theta")` style: "<group>.<term>" for variances, "<group>.<term2>.<term1>" below."""
        names = []
        for blk in self.blocks:
            for j in range(blk.k):
                for i in range(j, blk.k):
                    names.append(f"{blk.group}.{blk.terms[i]}" if i == j else f"{blk.group}.{blk.terms[i]}.{blk.terms[j]}")
        return names

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
        return pd.Series(self.structure.fitted(self.fixef.to_numpy(), self._b), index=self.frame.row_index)

    @cached_property
    def resid(self) -> pd.Series:
        """Response residuals y − fitted."""
        self._need_rows("residuals")
        return pd.Series(self.structure.y, index=self.frame.row_index) - self.fitted

    def predict(self, newdata: pd.DataFrame | None = None, include_random: bool = True,
                allow_new_levels: bool = False) -> pd.Series:
        """Predictions for new rows: Xβ̂ plus, with include_random, the conditional modes of their
        levels. A level not seen in the fit raises unless allow_new_levels (then its effect is 0)."""
        check_predict(include_random, allow_new_levels)
        self._need_rows("predictions")
        if newdata is None:
            return self.fitted if include_random else pd.Series(self.fixed.X @ self.fixef.to_numpy(),
                                                                  index=self.frame.row_index)
        X, groups = newdata_matrices(self.frame, self.fixed, self.blocks, newdata, allow_new_levels)
        eta = X @ self.fixef.to_numpy()
        if include_random:
            for t, (codes, values) in enumerate(groups):
                blk = self.blocks[t]
                coef = self._b[t].reshape(blk.n_levels, blk.k)
                known = codes >= 0
                contrib = np.zeros(len(codes))
                contrib[known] = np.einsum("ij,ij->i", values[known], coef[codes[known]])
                eta = eta + contrib
        return pd.Series(eta, index=newdata.index)

    # -- tables ------------------------------------------------------------------------------------
    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """All estimates in one tidy table (broom.mixed style): fixed effects with df, t, p and
        intervals; variance parameters as SDs and correlations."""
        tab = self.coef_table
        ci = self.confint(level)
        fixed = pd.DataFrame({"effect": "fixed", "group": "", "term": tab.index,
                              "estimate": tab["estimate"].to_numpy(), "std_error": tab["std_error"].to_numpy(),
                              "df": tab["df"].to_numpy(), "statistic": tab["t"].to_numpy(),
                              "p_value": tab["p_value"].to_numpy(), "conf_low": ci["lower"].to_numpy(),
                              "conf_high": ci["upper"].to_numpy()})
        rows = []
        for t, blk in enumerate(self.blocks):
            cov = self.covariance(t)
            sd = np.sqrt(np.diag(cov))
            for j, term in enumerate(blk.terms):
                rows.append(("ran_pars", blk.group, f"sd__{term}", sd[j]))
            for j in range(blk.k):
                for i in range(j + 1, blk.k):
                    c = cov[i, j] / (sd[i] * sd[j]) if sd[i] > 0 and sd[j] > 0 else np.nan
                    rows.append(("ran_pars", blk.group, f"cor__{blk.terms[j]}.{blk.terms[i]}", c))
        rows.append(("ran_pars", "Residual", "sd__Observation", self.sigma))
        ran = pd.DataFrame(rows, columns=["effect", "group", "term", "estimate"])
        return pd.concat([fixed, ran], ignore_index=True)

    def summary(self) -> str:
        """Text summary in lme4's layout (with lmerTest's df and p-values)."""
        lines = []
        method = "REML" if self.reml else "maximum likelihood"
        ddf_name = {"satterthwaite": "Satterthwaite's method", "kenward-roger": "Kenward-Roger's method",
                    "residual": "residual df (n - p)"}[self.ddf]
        lines.append(f"Linear mixed model fit by {method}. t-tests use {ddf_name}")
        lines.append(f"Formula: {self.formula}")
        lines.append("")
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
        lines.append("")
        lines.append("Random effects:")
        vc = self.varcorr
        has_corr = "corr" in vc.columns
        lines.append(f" {'Groups':<12} {'Name':<12} {'Variance':>10} {'Std.Dev.':>10}" + ("  Corr" if has_corr else ""))
        prev = None
        for group, row in vc.iterrows():
            g = group if group != prev else ""
            prev = group
            corr = f"  {row['corr']:5.2f}" if has_corr and not pd.isna(row["corr"]) else ""
            lines.append(f" {g:<12} {row['term']:<12} {_fmt(row['variance']):>10} {_fmt(row['sd']):>10}{corr}")
        groups = ", ".join(f"{g}, {n}" for g, n in self.ngroups.items())
        lines.append(f"Number of obs: {self.nobs}, groups:  {groups}"
                     + (f"  ({self.n_dropped} rows with missing values dropped)" if self.n_dropped else ""))
        lines.append("")
        lines.append("Fixed effects:")
        tab = self.coef_table
        name_w = max([12, *map(len, tab.index)])
        lines.append(f"{'':<{name_w}} {'Estimate':>11} {'Std. Error':>11} {'df':>9} {'t value':>8} {'Pr(>|t|)':>10}")
        for name, row in tab.iterrows():
            lines.append(f"{name:<{name_w}} {_fmt(row['estimate']):>11} {_fmt(row['std_error']):>11} "
                         f"{row['df']:9.2f} {row['t']:8.3f} {_fmt_p(row['p_value']):>10} {_stars(row['p_value'])}")
        lines.append("---")
        lines.append("Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1")
        if self.fixed.dropped:
            lines.append(f"fixed-effect model matrix is rank deficient so dropping "
                         f"{len(self.fixed.dropped)} column(s): {', '.join(self.fixed.dropped)}")
        if self.singular:
            lines.append("boundary (singular) fit: see the variance components above")
        for m in self.messages:
            lines.append(m)
        return "\n".join(lines)

    def __repr__(self) -> str:
        crit = f"REML criterion {self.reml_criterion:.2f}" if self.reml else f"logLik {self.loglik:.2f}"
        return f"<LmerResult {self.formula!r}: n={self.nobs}, {crit}>"

    # -- bootstrap ---------------------------------------------------------------------------------
    def bootstrap(self, n: int = 500, seed: int | None = None, progress: bool = True, level: float = 0.95,
                  method: str = "auto"):
        """Parametric bootstrap of variance components, ICC and random effects (see bootstrap.py;
        method "auto" uses the fast grouped replicates for a one-random-intercept model): n replicates
        (a whole number ≥ 2), intervals at `level` (between 0 and 1)."""
        from .bootstrap import parametric_bootstrap
        return parametric_bootstrap(self, n=n, seed=seed, progress=progress, level=level, method=method)


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


def warn_fit(singular: bool, converged: bool, messages: list[str]) -> None:
    """lme4-style warnings for a boundary fit and for non-convergence."""
    if singular:
        warnings.warn("boundary (singular) fit: a variance component is estimated as (nearly) zero",
                      SingularFitWarning, stacklevel=4)
    if not converged:
        warnings.warn("; ".join(messages) or "the optimiser did not converge", ConvergenceWarning, stacklevel=4)


def _check_ddf(ddf: str) -> str:
    key = str(ddf).lower().replace("_", "-").replace(" ", "-")
    aliases = {"kr": "kenward-roger", "kenward-roger": "kenward-roger", "satterthwaite": "satterthwaite",
               "residual": "residual", "satt": "satterthwaite"}
    if key not in aliases:
        raise ModelInputError(f"ddf must be one of {', '.join(DDF_METHODS)}; got {ddf!r}")
    return aliases[key]


def _fmt(x: float) -> str:
    """Four significant digits, keeping trailing zeros (42.00, 0.2455), as R prints them."""
    if x == 0 or not np.isfinite(x):
        return f"{x:.4g}"
    return f"{x:#.4g}".rstrip(".") if abs(x) < 1e6 else f"{x:.4e}"


def _fmt_p(p: float) -> str:
    return "< 2e-16" if p < 2e-16 else f"{p:.3g}"


def _stars(p: float) -> str:
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "." if p < 0.1 else ""
