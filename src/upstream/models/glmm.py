"""`glmer` (logistic mixed model) and `clmm` (cumulative-link mixed model for ordered outcomes).

Both maximise a Laplace or adaptive Gauss–Hermite approximation of the marginal likelihood over
the fixed parameters and the random-effect SDs jointly, as lme4's glmer (nAGQ ≥ 1, its second
stage) and ordinal's clmm do. With a single random-intercept factor the likelihood factorises over
groups (quadrature.py) and the exact gradient drives L-BFGS-B, then one Newton step from the
finite-difference Hessian of that gradient; the same Hessian gives the covariance of the estimates
(lme4's `use.hessian`, ordinal's `vcov`). With several factors, glmer uses the Laplace
approximation with penalised iteratively reweighted least squares on the blocked Cholesky factor of
lmm.py (pirls.py).
"""
from __future__ import annotations

import warnings
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import minimize
from scipy.special import expit

from .checks import ModelInputError, check_predict, check_random_terms, check_whole, examples, numbers_of
from .design import FixedMatrix, ModelFrame, RandomBlock, fixed_matrix, model_frame, newdata_matrices, random_blocks
from .formula import parse_formula
from .optimize import away_from_zero
from .quadrature import BinomialLogit, CumulativeLogit, SingleFactorQuadrature
from .results import _fmt, _fmt_p, _stars, hessian_covariance, wald_table, warn_fit
from .health import health as _health
from .contrasts import FixedEffectQuestions, WaldContrasts


class SeparationWarning(UserWarning):
    pass


# --------------------------------------------------------------------------------------------------
# responses
# --------------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------
# optimisation over (ψ, σ)
# --------------------------------------------------------------------------------------------------

def _numeric_hessian(grad, x, lower, g0=None):
    """Forward differences of an exact gradient (step 1e-5 relative; accurate to ~1e-5, ample
    for standard errors); the step goes up, away from a bound."""
    n = len(x)
    g0 = grad(x) if g0 is None else g0
    H = np.empty((n, n))
    for i in range(n):
        h = 1e-5 * max(1.0, abs(x[i]))
        e = np.zeros(n)
        e[i] = h
        H[:, i] = (grad(x + e) - g0) / h
    return 0.5 * (H + H.T)


class _Objective:
    """F(x) and ∇F(x) in the optimiser's coordinates; `to_natural` maps back."""

    def __init__(self, quad: SingleFactorQuadrature, n_thresholds: int = 0):
        self.quad, self.nt = quad, n_thresholds
        self.u = None
        self.evals = 0

    def to_natural(self, x):
        x = np.asarray(x, float).copy()
        if self.nt > 1:
            x[:self.nt] = x[0] + np.concatenate([[0.0], np.cumsum(np.exp(x[1:self.nt]))])
        return x

    def to_work(self, x):
        x = np.asarray(x, float).copy()
        if self.nt > 1:
            th = x[:self.nt]
            x[1:self.nt] = np.log(np.maximum(np.diff(th), 1e-8))
        return x

    def natural(self, x, gradient=True):
        self.evals += 1
        v, g, st = self.quad.objective(x[:-1], x[-1], gradient=gradient, u0=self.u)
        if np.isfinite(v):
            self.u = st.u
        return v, g

    def __call__(self, w):
        x = self.to_natural(w)
        v, g = self.natural(x)
        if self.nt > 1:
            gt = g[:self.nt]
            tail = np.cumsum(gt[::-1])[::-1]                   # Σ_{l ≥ j} ∂F/∂θ_l
            g = g.copy()
            g[0] = tail[0]
            g[1:self.nt] = tail[1:] * np.exp(w[1:self.nt])
        return v, g


def fit_single_factor(quad: SingleFactorQuadrature, x0: np.ndarray, n_thresholds: int = 0):
    """Maximise the approximate likelihood; returns (x, value, Hessian, converged, messages)."""
    obj = _Objective(quad, n_thresholds)
    w0 = obj.to_work(x0)
    bounds = [(None, None)] * (len(x0) - 1) + [(0.0, None)]
    options = {"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20}
    res = minimize(obj, w0, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
    x = obj.to_natural(res.x)
    if x[-1] <= 0:
        start = away_from_zero(lambda z: obj.natural(z, gradient=False)[0], x, float(res.fun))
        if start is not None:
            again = minimize(obj, obj.to_work(start), jac=True, method="L-BFGS-B", bounds=bounds, options=options)
            if again.fun < res.fun:
                res, x = again, obj.to_natural(again.x)
    lower = np.r_[np.full(len(x) - 1, -np.inf), 0.0]

    def grad(z):
        return obj.natural(np.maximum(z, lower))[1]

    value, g = obj.natural(x)
    H = _numeric_hessian(grad, x, lower, g0=g)
    # one Newton step from the L-BFGS-B optimum sharpens the estimates to ~1e-8; the Hessian
    # barely changes over such a step, so it is kept for the covariance
    free = ~((x[-1] <= 0) & (np.arange(len(x)) == len(x) - 1))
    try:
        step = np.zeros_like(x)
        step[free] = np.linalg.solve(H[np.ix_(free, free)], -g[free])
        cand = np.maximum(x + step, lower)
        if n_thresholds > 1 and np.any(np.diff(cand[:n_thresholds]) <= 0):
            raise np.linalg.LinAlgError
        v2, g2 = obj.natural(cand)
        if v2 <= value:
            x, value, g = cand, v2, g2
    except np.linalg.LinAlgError:
        pass
    messages = []
    converged = bool(res.success or res.status == 0)
    gfree = np.abs(g[free]).max() if free.any() else 0.0
    if not np.isfinite(value):
        converged = False
        messages.append("the likelihood is not finite at the optimum")
    elif gfree > 1e-3 * max(1.0, abs(value)) ** 0.5:
        converged = False
        messages.append(f"Model failed to converge: max|gradient| = {gfree:.2g}")
    if converged and np.any(np.linalg.eigvalsh(H[np.ix_(free, free)]) <= 0):
        converged = False
        messages.append("Model failed to converge: the Hessian is not positive definite")
    return x, value, H, converged, messages, obj.evals


# --------------------------------------------------------------------------------------------------
# results shared by glmer and clmm
# --------------------------------------------------------------------------------------------------

class _QuadratureResult(FixedEffectQuestions, WaldContrasts):
    """Fields common to glmer and clmm fits with one random-intercept factor."""

    kind = ""

    def __init__(self, formula, frame: ModelFrame, fixed: FixedMatrix, block: RandomBlock, quad, x, value, H,
                 converged, messages, n_agq, names, evals):
        self.formula = formula
        self.frame, self.fixed, self.block, self._quad = frame, fixed, block, quad
        self.n_agq = n_agq
        self.nobs = len(frame.data)
        self.n_dropped = frame.n_dropped
        self.ngroups = {block.group: block.n_levels}
        self.params = pd.Series(x[:-1], index=names)
        self.sd = float(x[-1])
        self.theta = np.array([self.sd])
        self.loglik = -0.5 * value
        self.n_params = len(x)
        self.aic = value + 2 * self.n_params
        self.bic = value + np.log(self.nobs) * self.n_params
        self.converged = converged
        self.messages = messages
        self.n_evals = evals
        self.hessian = H
        free = np.ones(len(x), bool)
        if x[-1] <= 0:
            free[-1] = False
        cov = hessian_covariance(H, free)
        self.vcov_all = pd.DataFrame(cov, index=[*names, "sd"], columns=[*names, "sd"])   # incl. the random-effect SD
        self.vcov = pd.DataFrame(cov[:-1, :-1], index=names, columns=names)
        u, Hg = quad.modes(x[:-1], x[-1])
        self._u, self._H = u, Hg
        self.singular = bool(self.sd < 1e-4)
        warn_fit(self.singular, converged, messages)

    def health(self) -> list[str]:
        """Statements a reader must know before trusting this fit (empty when all is well)."""
        return _health(self)

    @cached_property
    def coef_table(self) -> pd.DataFrame:
        """Estimates with Wald z tests."""
        return wald_table(self.params, self.vcov)

    def confint(self, level: float = 0.95) -> pd.DataFrame:
        q = stats.norm.ppf(0.5 + level / 2)
        t = self.coef_table
        return pd.DataFrame({"lower": t["estimate"] - q * t["std_error"], "upper": t["estimate"] + q * t["std_error"]})

    @cached_property
    def varcorr(self) -> pd.DataFrame:
        return pd.DataFrame({"term": ["(Intercept)"], "variance": [self.sd ** 2], "sd": [self.sd]},
                            index=pd.Index([self.block.group], name="group"))

    @cached_property
    def ranef(self) -> dict[str, pd.DataFrame]:
        """Conditional modes σ·û_j and conditional SDs σ/√H_j (latent scale), as lme4/ordinal."""
        return {self.block.group: pd.DataFrame({"mode": self.sd * self._u, "cond_se": self.sd / np.sqrt(self._H)},
                                               index=self.block.levels)}

    @cached_property
    def reliability(self) -> dict[str, pd.Series]:
        """1 − conditional variance / σ² per level (latent scale)."""
        rel = 1.0 - 1.0 / self._H if self.sd > 0 else np.zeros(self.block.n_levels)
        return {self.block.group: pd.Series(rel, index=self.block.levels, name="reliability")}

    def _newdata_eta(self, newdata, include_random, allow_new_levels, type="response"):
        check_predict(include_random, allow_new_levels, type)
        if newdata is None:
            X, codes = self.fixed.X, self.block.codes
        else:
            X, groups = newdata_matrices(self.frame, self.fixed, [self.block], newdata, allow_new_levels)
            codes = groups[0][0]
        eta = X @ self.fixef.to_numpy()
        if include_random:
            b = self.ranef[self.block.group]["mode"].to_numpy()
            eta = eta + np.where(codes >= 0, b[np.maximum(codes, 0)], 0.0)
        return eta

    def _summary_common(self, title, extra_lines):
        lines = [title, f"Formula: {self.formula}", ""]
        lines.append(f"{'AIC':>9} {'BIC':>9} {'logLik':>9}")
        lines.append(f"{self.aic:9.1f} {self.bic:9.1f} {self.loglik:9.1f}")
        lines.append("")
        lines.append("Random effects:")
        lines.append(f" {'Groups':<12} {'Name':<12} {'Variance':>10} {'Std.Dev.':>10}")
        lines.append(f" {self.block.group:<12} {'(Intercept)':<12} {_fmt(self.sd ** 2):>10} {_fmt(self.sd):>10}")
        lines.append(f"Number of obs: {self.nobs}, groups:  {self.block.group}, {self.block.n_levels}"
                     + (f"  ({self.n_dropped} rows with missing values dropped)" if self.n_dropped else ""))
        lines += extra_lines
        for m in self.messages:
            lines.append(m)
        return "\n".join(lines)

    @staticmethod
    def _coef_lines(tab):
        w = max([12, *map(len, tab.index)])
        out = [f"{'':<{w}} {'Estimate':>10} {'Std. Error':>11} {'z value':>8} {'Pr(>|z|)':>10}"]
        for name, r in tab.iterrows():
            out.append(f"{name:<{w}} {_fmt(r['estimate']):>10} {_fmt(r['std_error']):>11} {r['z']:8.3f} "
                       f"{_fmt_p(r['p_value']):>10} {_stars(r['p_value'])}")
        return out


class GlmerResult(_QuadratureResult):
    """A fitted logistic mixed model (glmer, family binomial, logit link)."""

    kind = "glmer"

    @property
    def fixef(self) -> pd.Series:
        return self.params.rename("estimate")

    @cached_property
    def icc(self) -> pd.Series:
        """Latent-scale ICC: σ²/(σ² + π²/3)."""
        return pd.Series([self.sd ** 2 / (self.sd ** 2 + np.pi ** 2 / 3)], index=[self.block.group], name="icc")

    def predict(self, newdata=None, include_random=True, type="response", allow_new_levels=False) -> pd.Series:
        """Probability of success (type='response') or the linear predictor (type='link')."""
        eta = self._newdata_eta(newdata, include_random, allow_new_levels, type)
        index = self.frame.row_index if newdata is None else newdata.index
        return pd.Series(expit(eta) if type == "response" else eta, index=index)

    def summary(self) -> str:
        method = "Laplace Approximation" if self.n_agq == 1 else f"Adaptive Gauss-Hermite Quadrature (nAGQ = {self.n_agq})"
        title = f"Generalized linear mixed model fit by maximum likelihood ({method})\n Family: binomial  ( logit )"
        return self._summary_common(title, ["", "Fixed effects:", *self._coef_lines(self.coef_table)])

    def __repr__(self):
        return f"<GlmerResult {self.formula!r}: n={self.nobs}, logLik {self.loglik:.2f}>"


class ClmmResult(_QuadratureResult):
    """A fitted cumulative-link mixed model: logit P(Y ≤ j) = θ_j − xβ − u (ordinal::clmm)."""

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
        """Predicted probability of each category."""
        eta = self._newdata_eta(newdata, include_random, allow_new_levels)
        index = self.frame.row_index if newdata is None else newdata.index
        return pd.DataFrame(self._category_probs(eta), index=index, columns=self.levels)

    def expected_score(self, newdata=None, include_random=True, scores=None, allow_new_levels=False) -> pd.Series:
        """E[Y] with the categories scored as their labels (e.g. CSAT 1–5) or `scores`."""
        probs = self.predict(newdata, include_random, allow_new_levels)
        s = np.asarray(scores if scores is not None else [float(v) for v in self.levels])
        return pd.Series(probs.to_numpy() @ s, index=probs.index)

    def group_effects(self, scores=None) -> pd.DataFrame:
        """Per level of the grouping factor: the latent effect (mode, cond_se) and the change in
        expected score it makes for the average contact of the data (the mean over all rows of
        E[Y | x_i, u_j] − E[Y | x_i, u = 0])."""
        s = np.asarray(scores if scores is not None else [float(v) for v in self.levels])
        eta0 = self.fixed.X @ self.fixef.to_numpy()
        sample = eta0 if len(eta0) <= 5000 else eta0[np.random.default_rng(0).choice(len(eta0), 5000, replace=False)]
        base = (self._category_probs(sample) @ s).mean()
        re = self.ranef[self.block.group].copy()
        re["expected_score_effect"] = [(self._category_probs(sample + b) @ s).mean() - base for b in re["mode"]]
        re["expected_score"] = base + re["expected_score_effect"]
        return re

    def summary(self) -> str:
        method = "Laplace approximation" if self.n_agq == 1 else f"adaptive Gauss-Hermite quadrature (nAGQ = {self.n_agq})"
        title = f"Cumulative Link Mixed Model fitted with the {method}\n link: logit, threshold: flexible"
        tab = self.coef_table
        extra = ["", "Coefficients:", *self._coef_lines(tab.iloc[self.n_thresholds:]), "",
                 "Threshold coefficients:", *self._coef_lines(tab.iloc[:self.n_thresholds])]
        return self._summary_common(title, extra)

    def __repr__(self):
        return f"<ClmmResult {self.formula!r}: n={self.nobs}, logLik {self.loglik:.2f}>"


# --------------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------------

def _single_intercept_block(blocks, what: str, n_agq: int) -> RandomBlock | None:
    if len(blocks) == 1 and blocks[0].terms == ["(Intercept)"]:
        return blocks[0]
    if n_agq > 1:
        raise ModelInputError(f"{what} with n_agq > 1 needs exactly one random-intercept term, e.g. (1 | agent); "
                         "use n_agq=1 (Laplace) for crossed, nested or slope terms")
    return None


def _glm_start(X, k, m):
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


def glmer(formula: str, data: pd.DataFrame, family: str = "binomial", n_agq: int = 1, weights=None) -> GlmerResult:
    """Logistic mixed model, e.g. `glmer("top_box ~ policy + channel + (1 | agent_id)", df)`.

    The response is 0/1 (or boolean) or `cbind(successes, failures)`. n_agq = 1 is the Laplace
    approximation; n_agq > 1 is adaptive Gauss–Hermite quadrature (one random-intercept factor).
    The reported log-likelihood is the full binomial one (lme4 reports it for nAGQ = 1; for
    nAGQ > 1 lme4 leaves out the saturated-model constant). Bad input raises `ModelInputError`
    before fitting (checks.py); with 0/1 outcomes each random term needs more rows than random
    effects (binomial counts may have an observation-level effect)."""
    if family != "binomial":
        raise ModelInputError(f"family {family!r} is not supported; glmer fits family='binomial' (logit link)")
    if weights is not None:
        raise ModelInputError("glmer does not take weights; give binomial counts with cbind(successes, failures)")
    n_agq = check_whole(n_agq, "n_agq", 1, "quadrature points per random effect")
    spec = parse_formula(formula)
    frame = model_frame(spec, data, family="binomial")
    fixed = fixed_matrix(frame)
    blocks = random_blocks(frame)
    k, m = binomial_response(frame)
    check_random_terms(blocks, len(k), "binomial", counts=bool((m > 1).any()))
    separated = check_separation(fixed.X, fixed.names, k, m)
    if separated:
        warnings.warn(f"perfect separation: every response is the same where {', '.join(separated)} = 1; "
                      "their estimates run to ±∞ and their Wald tests are meaningless", SeparationWarning,
                      stacklevel=2)
    block = _single_intercept_block(blocks, "glmer", n_agq)
    if block is None:
        from .pirls import fit_laplace_glmer
        return fit_laplace_glmer(formula, frame, fixed, blocks, k, m)
    quad = SingleFactorQuadrature(BinomialLogit(k, m, fixed.X), block.codes, block.n_levels, n_agq)
    x0 = np.r_[_glm_start(fixed.X, k, m), 1.0]
    x, value, H, conv, msgs, evals = fit_single_factor(quad, x0)
    res = GlmerResult(formula, frame, fixed, block, quad, x, value, H, conv, msgs, n_agq, list(fixed.names), evals)
    big = [n for n, b in res.fixef.items() if abs(b) > 15]
    if big and not separated:
        warnings.warn(f"possible separation: |estimate| > 15 on the logit scale for {', '.join(big)}",
                      SeparationWarning, stacklevel=2)
    return res


def clmm(formula: str, data: pd.DataFrame, link: str = "logit", n_agq: int = 1, levels=None) -> ClmmResult:
    """Cumulative-logit mixed model for an ordered outcome (CSAT 1–5, NPS 0–10), flexible
    thresholds, one random-intercept factor: logit P(Y ≤ j) = θ_j − xβ − u, u ~ N(0, σ²).
    `levels` declares the scale (values outside it are an error); by default the categories
    present (or the categorical's own order) are used. Bad input raises `ModelInputError` before
    fitting (checks.py), e.g. a response with one category or one rating per group level."""
    if link != "logit":
        raise ModelInputError(f"link {link!r} is not supported; clmm fits the logit link")
    n_agq = check_whole(n_agq, "n_agq", 1, "quadrature points per random effect")
    spec = parse_formula(formula)
    frame = model_frame(spec, data, family="ordinal")
    fixed = fixed_matrix(frame)
    if "(Intercept)" in fixed.names:                       # thresholds take the intercept's place
        keep = [j for j, n in enumerate(fixed.names) if n != "(Intercept)"]
        fixed = FixedMatrix(X=np.asfortranarray(fixed.X[:, keep]), names=[fixed.names[j] for j in keep],
                            dropped=fixed.dropped, term_of_column=[fixed.term_of_column[j] for j in keep])
    blocks = random_blocks(frame)
    check_random_terms(blocks, len(frame.data), "ordinal")
    block = _single_intercept_block(blocks, "clmm", n_agq)
    if block is None:
        raise ModelInputError("clmm supports one random-intercept term, e.g. (1 | agent)")
    codes, labels = ordinal_response(frame, levels)
    present = np.unique(codes)
    if len(present) < len(labels):
        missing = [labels[i] for i in range(len(labels)) if i not in set(present)]
        raise ModelInputError(f"categories {', '.join(map(repr, missing))} of the response never occur; flexible "
                         "thresholds between them are not identified (drop them from `levels`)")
    J = len(labels)
    quad = SingleFactorQuadrature(CumulativeLogit(codes, J, fixed.X), block.codes, block.n_levels, n_agq)
    cum = np.cumsum(np.bincount(codes, minlength=J))[:-1] / len(codes)
    th0 = np.log(cum / (1 - cum))
    x0 = np.r_[th0, np.zeros(fixed.X.shape[1]), 1.0]
    x, value, H, conv, msgs, evals = fit_single_factor(quad, x0, n_thresholds=J - 1)
    names = [f"{labels[j]}|{labels[j + 1]}" for j in range(J - 1)] + list(fixed.names)
    return ClmmResult(formula, frame, fixed, block, quad, x, value, H, conv, msgs, n_agq, names, evals,
                      levels=labels, n_thresholds=J - 1)
