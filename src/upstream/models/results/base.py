"""What every fitted mixed model offers, with the same names and meanings: `MixedModelResult`.

lmer (results/lmer.py), glmer with one random intercept (adaptive quadrature) or several random
terms (Laplace via PIRLS), and clmm (results/latent.py) all derive from it. A fit describes its
random terms once, as `RandomEffects` per term (the covariance of the effects, and per level the
conditional mode and conditional covariance); every random-effect number below is computed from
those, so it means the same in each model:

- `varcorr`: per random term, the variance and SD of its effects (and correlations) — on the
  response scale for lmer, on the latent logit scale for glmer and clmm; lmer adds `Residual` (σ²).
- `ranef`: per grouping factor and level, the conditional mode (lmer: the BLUP) and its
  conditional SD `cond_se` (lme4's `ranef(condVar = TRUE)`; β treated as known).
- `reliability`: per level, 1 − conditional variance / variance of the effects: the share of the
  spread in the estimated effects that is real (0: pure shrinkage to 0; 1: measured exactly). For
  a random intercept in lmer, τ²/(τ² + σ²/n_j).
- `icc`: per grouping factor, its intercept variance over the total (all intercept variances plus
  the residual variance: σ² for lmer, π²/3 — the variance of the standard logistic — for the latent
  scale of glmer and clmm).
- `coef_table`, `confint(level)`: fixed effects (clmm: thresholds too) with SEs, tests and Wald
  intervals estimate ± q·SE (q: t quantile on the table's df for lmer, normal quantile otherwise).
- `health()`: sentences a reader must know before trusting the fit (convergence, boundary fits,
  aliased columns, dropped rows); empty when all is well.
- `ranef_frame()`: the same conditional modes as one tidy frame (group, level, term, mode, cond_se,
  reliability), one row per level and term.
- `summary()`: all of the above as text in lme4's / ordinal's layout (a `Summary`: the text, which
  Jupyter shows as tables); the fit itself shows as that summary in Jupyter (`_repr_html_`).
- `predict(newdata)`: the fitted mean for new rows (the family's scale; see each class).
- `converged`, `messages`: the verdict of convergence.py (the same lme4 checks for every fit).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from ..checks import ModelInputError, check_level
from ..contrasts import FixedEffectQuestions
from ..design import RandomBlock, newdata_matrices
from ..health import health as _health
from .text import coefficient_lines, random_effect_lines


@dataclass
class RandomEffects:
    """One random term's estimates. Units: the response's (lmer) or the latent logit scale's."""

    block: RandomBlock
    covariance: np.ndarray        # k×k: Var(b_g), the covariance of the term's effects
    modes: np.ndarray             # (levels, k): conditional modes b̂_g
    cond_cov: np.ndarray          # (levels, k, k): conditional covariance Var(b_g | y) at the estimates


def theta_names(blocks: list[RandomBlock]) -> list[str]:
    """θ's entry names, term by term in formula order, each term's lower triangle column by column."""
    names = []
    for blk in blocks:
        for j in range(blk.k):
            for i in range(j, blk.k):
                names.append(f"{blk.group}.{blk.terms[i]}" if i == j else f"{blk.group}.{blk.terms[i]}.{blk.terms[j]}")
    return names


class MixedModelResult(FixedEffectQuestions):
    """A fitted mixed model (see the module's docstring for what each number means).

    Every fit has: `formula`, `fixef` (β̂), `vcov` (Cov(β̂)), `theta` (lme4's θ: relative covariance
    factors for lmer; covariance factors on the latent scale for glmer and clmm), `theta_names`,
    `loglik`, `aic`, `bic` (−2 log L + 2k or + k log n, k = `n_params`), `nobs`, `n_dropped` (rows
    left out for missing values), `ngroups` (levels per grouping factor), `converged`, `messages`,
    `singular` (a variance parameter at (nearly) 0, lme4's isSingular) and `kind`.
    """

    kind = ""
    #: variance of the observation-level error in the ICC's denominator (None: the fit's σ²)
    residual_variance: float | None = None

    # -- what a subclass provides ----------------------------------------------------------------
    @cached_property
    def random_effects(self) -> list[RandomEffects]:
        """One `RandomEffects` per random term, in formula order."""
        raise NotImplementedError

    def coef_table_for(self, ddf: str | None = None) -> pd.DataFrame:
        raise NotImplementedError

    def _residual(self) -> float:
        return float(self.residual_variance)

    # -- health ------------------------------------------------------------------------------------
    def health(self) -> list[str]:
        """Statements a reader must know before trusting this fit (empty when all is well)."""
        return _health(self)

    # -- variance components -----------------------------------------------------------------------
    def covariance(self, block: int) -> np.ndarray:
        """The k×k covariance matrix of the effects of random term `block` (formula order)."""
        return self.random_effects[block].covariance

    @cached_property
    def theta_names(self) -> list[str]:
        """Names of the θ entries (formula order), lme4's `getME(fit, "theta")` style:
        "<group>.<term>" for variances, "<group>.<term2>.<term1>" below the diagonal."""
        return theta_names(self.blocks)

    def _residual_row(self) -> list[tuple]:
        return []

    @cached_property
    def varcorr(self) -> pd.DataFrame:
        """Variance components: one row per random-effect term, indexed by grouping factor as
        written (lmer adds `Residual`). Columns: term, variance, sd, and corr (the correlation with
        the term's first column; only when some term has several columns)."""
        rows = []
        for t, blk in enumerate(self.blocks):
            cov = self.covariance(t)
            sd = np.sqrt(np.diag(cov))
            for j, term in enumerate(blk.terms):
                corr = np.nan
                if j > 0:
                    corr = cov[j, 0] / (sd[j] * sd[0]) if sd[j] > 0 and sd[0] > 0 else np.nan
                rows.append((blk.group, term, cov[j, j], sd[j], corr))
        rows += self._residual_row()
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

    @cached_property
    def icc(self) -> pd.Series:
        """Intraclass correlation per grouping factor: its intercept variance over the total (all
        intercept variances plus the residual variance: σ² for lmer, π²/3 on the latent scale)."""
        vc = self.varcorr
        intercepts = vc[(vc["term"] == "(Intercept)") & (vc.index != "Residual")]
        total = intercepts["variance"].sum() + self._residual()
        return pd.Series(intercepts["variance"].to_numpy() / total, index=intercepts.index, name="icc")

    # -- random effects ----------------------------------------------------------------------------
    @cached_property
    def ranef(self) -> dict[str, pd.DataFrame]:
        """Conditional modes and conditional SEs per grouping factor, indexed by level. One-column
        terms give columns `mode`, `cond_se`; slope terms give (mode|cond_se, term) columns."""
        out: dict[str, list] = {}
        for re in self.random_effects:
            se = np.sqrt(np.maximum(np.diagonal(re.cond_cov, axis1=1, axis2=2), 0.0))
            out.setdefault(re.block.group, []).append((re.block, re.modes, se))
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

    def ranef_frame(self) -> pd.DataFrame:
        """Every random effect in one tidy frame, one row per grouping factor, level and term: columns
        group, level, term, mode (the conditional mode; lmer: the BLUP), cond_se (its conditional SD) and
        reliability, in formula order. `ranef` gives the same numbers as a frame per grouping factor."""
        rows = []
        for t, (re, blk) in enumerate(zip(self.random_effects, self.blocks)):
            se = np.sqrt(np.maximum(np.diagonal(re.cond_cov, axis1=1, axis2=2), 0.0))
            var = np.diag(self.covariance(t))
            cv = np.diagonal(re.cond_cov, axis1=1, axis2=2)
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.clip(np.where(var > 0, 1.0 - cv / var, 0.0), 0.0, 1.0)
            for j, term in enumerate(blk.terms):
                rows.append(pd.DataFrame({"group": blk.group, "level": list(blk.levels),
                                          "term": term, "mode": re.modes[:, j], "cond_se": se[:, j],
                                          "reliability": rel[:, j]}))
        columns = ["group", "level", "term", "mode", "cond_se", "reliability"]
        return pd.concat(rows, ignore_index=True)[columns] if rows else pd.DataFrame(columns=columns)

    @cached_property
    def reliability(self) -> dict[str, pd.Series | pd.DataFrame]:
        """Per grouping factor and level: 1 − conditional variance / variance of the effects, the
        share of a level's estimated difference that is real (lmer random intercept: τ²/(τ² + σ²/n_j),
        with prior weights n_j = the group's Σw). A Series for a one-column term, else a frame."""
        return self._reliability_from([re.cond_cov for re in self.random_effects])

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

    # -- fixed effects -----------------------------------------------------------------------------
    @cached_property
    def coef_table(self) -> pd.DataFrame:
        """Estimates with standard errors and tests: lmer `estimate, std_error, df, t, p_value` (df by
        the fit's method); glmer and clmm `estimate, std_error, z, p_value` (Wald z)."""
        return self.coef_table_for(None)

    def confint(self, level: float = 0.95, ddf: str | None = None) -> pd.DataFrame:
        """Wald intervals estimate ± q·SE for every row of the coefficient table, at `level`: q is
        the t quantile on the row's df (lmer; `ddf` picks the df method) or the normal quantile."""
        level = check_level(level)
        tab = self.coef_table_for(ddf)
        if "df" in tab.columns:
            q = stats.t.ppf(0.5 + level / 2, tab["df"])
        else:
            q = stats.norm.ppf(0.5 + level / 2)
        return pd.DataFrame({"lower": tab["estimate"] - q * tab["std_error"],
                             "upper": tab["estimate"] + q * tab["std_error"]}, index=tab.index)

    # -- linear predictor --------------------------------------------------------------------------
    def _eta(self, newdata: pd.DataFrame | None, include_random: bool, allow_new_levels: bool) -> np.ndarray:
        """Xβ̂ (+ Zb̂ with include_random) for the fit's rows (newdata None) or for new rows; a level
        unseen in the fit raises unless allow_new_levels, and then gets no random effect."""
        beta = self.fixef.to_numpy()
        if newdata is None:
            self._need_rows("predictions")
            X = self.fixed.X
            groups = [(blk.codes, blk.values) for blk in self.blocks]
        else:
            self._need_rows("predictions")
            shared = [blk.source for blk in self.blocks if blk.membership is not None]
            if include_random and shared:
                raise ModelInputError(f"predictions for new data with random effects are not available with a "
                                      f"multiple-membership term ({', '.join(shared)}): new rows have no weights "
                                      "(use include_random=False)")
            X, groups = newdata_matrices(self.frame, self.fixed, self.blocks, newdata, allow_new_levels)
        eta = X @ beta
        if include_random and newdata is None:
            for re, blk in zip(self.random_effects, self.blocks):
                eta = eta + blk.row_effects(re.modes)
        elif include_random:
            for re, (codes, values) in zip(self.random_effects, groups):
                known = codes >= 0
                contrib = np.zeros(len(codes))
                contrib[known] = np.einsum("ij,ij->i", values[known], re.modes[codes[known]])
                eta = eta + contrib
        return eta

    def _index(self, newdata: pd.DataFrame | None) -> pd.Index:
        return self.frame.row_index if newdata is None else newdata.index

    # -- text --------------------------------------------------------------------------------------
    def _random_lines(self) -> list[str]:
        groups = ", ".join(f"{g}, {n}" for g, n in self.ngroups.items())
        return (["Random effects:", *random_effect_lines(self.varcorr),
                 f"Number of obs: {self.nobs}, groups:  {groups}"
                 + (f"  ({self.n_dropped} rows with missing values dropped)" if self.n_dropped else "")])

    def _notes(self) -> list[str]:
        lines = []
        if self.fixed.dropped:
            lines.append(f"fixed-effect model matrix is rank deficient so dropping "
                         f"{len(self.fixed.dropped)} column(s): {', '.join(self.fixed.dropped)}")
        if self.singular:
            lines.append("boundary (singular) fit: see the variance components above")
        return lines + list(self.messages)

    @staticmethod
    def _coef_lines(tab: pd.DataFrame) -> list[str]:
        return coefficient_lines(tab)

    def _fit_line(self) -> str:
        groups = ", ".join(f"{g}: {n:,} levels" for g, n in self.ngroups.items())
        return f"{self.nobs:,} observations; {groups}" + ("" if self.converged else "; did not converge")

    def _summary_tables(self, coefficients: list[tuple[str, pd.DataFrame]]) -> list[tuple[str, pd.DataFrame]]:
        scale = "" if self.kind in ("", "lmer") else " (latent logit scale)"
        return [(f"Random effects{scale}", self.varcorr), *coefficients]

    def _repr_html_(self) -> str:
        """Jupyter shows a fit as its summary's tables."""
        return self.summary()._repr_html_()

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """All estimates in one tidy table (broom.mixed style): fixed effects (clmm: and thresholds)
        with SE, df (lmer; ∞ for Wald z), statistic, p and intervals at `level`; variance parameters
        as SDs and correlations (`ran_pars`; lmer adds the residual SD)."""
        tab = self.coef_table
        ci = self.confint(level)
        fixed = pd.DataFrame({"effect": "fixed", "group": "", "term": tab.index,
                              "estimate": tab["estimate"].to_numpy(), "std_error": tab["std_error"].to_numpy(),
                              "df": tab["df"].to_numpy() if "df" in tab.columns else np.inf,
                              "statistic": tab["t" if "t" in tab.columns else "z"].to_numpy(),
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
        rows += [("ran_pars", "Residual", "sd__Observation", r[3]) for r in self._residual_row()]
        ran = pd.DataFrame(rows, columns=["effect", "group", "term", "estimate"])
        return pd.concat([fixed, ran], ignore_index=True)
