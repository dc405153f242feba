"""`glmer` (logistic mixed model) and `clmm` (cumulative-link mixed model for ordered outcomes).

Both maximise a Laplace or adaptive Gauss–Hermite approximation of the marginal likelihood over
the fixed parameters and the random-effect SDs jointly, as lme4's glmer (nAGQ ≥ 1, its second
stage) and ordinal's clmm do, in stages:

    frame, fixed, blocks        # design.py + checks.py, as lmer
    response                    # responses.py: (successes, trials) or category codes
    rows                        # responses.collapse_rows: identical rows merged (exact)
    likelihood                  # quadrature.py: one random intercept, exact gradient
                                # | pirls.py: several random terms (glmer), Laplace via PIRLS
    optimum                     # quadrature_fit.py | pirls.py, with convergence.py's checks
    result                      # results/latent.py: GlmerResult, ClmmResult

With a single random-intercept factor the likelihood factorises over groups (quadrature.py) and the
exact gradient drives L-BFGS-B, then one Newton step from the finite-difference Hessian of that
gradient; the same Hessian gives the covariance of the estimates (lme4's `use.hessian`, ordinal's
`vcov`). With several factors, glmer uses the Laplace approximation with penalised iteratively
reweighted least squares on the blocked Cholesky factor of lmm.py (pirls.py).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .checks import ModelInputError, check_random_terms, check_whole
from .design import FixedMatrix, RandomBlock, fixed_matrix, model_frame, random_blocks
from .formula import parse_formula
from .lmm import single_threaded_blas
from .quadrature import BinomialLogit, CumulativeLogit, SingleFactorQuadrature, binomial_constant
from .quadrature_fit import fit_single_factor, result_fields
from .responses import binomial_response, check_separation, collapse_rows, glm_start, ordinal_response
from .results import ClmmResult, GlmerResult

__all__ = ["glmer", "clmm", "SeparationWarning", "binomial_response", "ordinal_response"]


class SeparationWarning(UserWarning):
    pass


def _single_intercept_block(blocks, what: str, n_agq: int) -> RandomBlock | None:
    if len(blocks) == 1 and blocks[0].terms == ["(Intercept)"] and blocks[0].membership is None:
        return blocks[0]
    if n_agq > 1:
        raise ModelInputError(f"{what} with n_agq > 1 needs exactly one random-intercept term, e.g. (1 | agent); "
                              "use n_agq=1 (Laplace) for crossed, nested or slope terms")
    return None


def glmer(formula: str, data: pd.DataFrame, family: str = "binomial", n_agq: int = 1, weights=None,
          membership=None) -> GlmerResult:
    """Logistic mixed model, e.g. `glmer("top_box ~ policy + channel + (1 | agent_id)", df)`.

    The response is 0/1 (or boolean) or `cbind(successes, failures)`. n_agq = 1 is the Laplace
    approximation; n_agq > 1 is adaptive Gauss–Hermite quadrature (one random-intercept factor).
    The reported log-likelihood is the full binomial one (lme4 reports it for nAGQ = 1; for
    nAGQ > 1 lme4 leaves out the saturated-model constant). `membership`: the weights of a
    multiple-membership term `(1 | mm(agent_id))`, as for lmer (Laplace only). Bad input raises `ModelInputError`
    before fitting (checks.py); with 0/1 outcomes each random term needs more rows than random
    effects (binomial counts may have an observation-level effect). A fit whose estimates diverge
    (separation, too many variance parameters for the data) is stopped and flagged: see health()."""
    if family != "binomial":
        raise ModelInputError(f"family {family!r} is not supported; glmer fits family='binomial' (logit link)")
    if weights is not None:
        raise ModelInputError("glmer does not take weights; give binomial counts with cbind(successes, failures)")
    n_agq = check_whole(n_agq, "n_agq", 1, "quadrature points per random effect")
    spec = parse_formula(formula)
    frame = model_frame(spec, data, family="binomial", membership=membership)
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
    with single_threaded_blas():
        if block is None:
            from .pirls import fit_laplace_glmer
            res = fit_laplace_glmer(formula, frame, fixed, blocks, k, m)
        else:
            first, rows = collapse_rows(block.codes, fixed.X)
            model = BinomialLogit(np.bincount(rows, weights=k), np.bincount(rows, weights=m), fixed.X[first],
                                  const=binomial_constant(k, m))
            quad = SingleFactorQuadrature(model, block.codes[first], block.n_levels, n_agq)
            fit = fit_single_factor(quad, np.r_[glm_start(fixed.X, k, m), 1.0])
            res = GlmerResult(formula, frame, fixed, [block], n_agq=n_agq,
                              **result_fields(fit, block, list(fixed.names)))
    big = [n for n, b in res.fixef.items() if abs(b) > 15]
    if big and not separated:
        warnings.warn(f"possible separation: |estimate| > 15 on the logit scale for {', '.join(big)}",
                      SeparationWarning, stacklevel=2)
    return res


def clmm(formula: str, data: pd.DataFrame, link: str = "logit", n_agq: int = 1, levels=None,
         counts: str | None = None) -> ClmmResult:
    """Cumulative-logit mixed model for an ordered outcome (CSAT 1–5, NPS 0–10), flexible
    thresholds, one random-intercept factor: logit P(Y ≤ j) = θ_j − xβ − u, u ~ N(0, σ²).
    `levels` declares the scale (values outside it are an error); by default the categories
    present (or the categorical's own order) are used. `counts`: a column of whole numbers ≥ 1, the
    replies each row stands for (cells of identical rows, e.g. counted in SQL); the fit is the one of
    the rows written out (`nobs` counts replies). Bad input raises `ModelInputError` before fitting
    (checks.py), e.g. a response with one category or one rating per group level."""
    if link != "logit":
        raise ModelInputError(f"link {link!r} is not supported; clmm fits the logit link")
    n_agq = check_whole(n_agq, "n_agq", 1, "quadrature points per random effect")
    spec = parse_formula(formula)
    if any(r.membership for r in spec.random):
        raise ModelInputError("clmm does not fit a multiple-membership term (1 | mm(...)) yet; use lmer, or glmer "
                              "for a top-box outcome")
    frame = model_frame(spec, data, weights=counts, family="ordinal")
    freq = None if counts is None else frequency_weights(frame.weights, counts)
    fixed = fixed_matrix(frame)
    if "(Intercept)" in fixed.names:                       # thresholds take the intercept's place
        keep = [j for j, n in enumerate(fixed.names) if n != "(Intercept)"]
        fixed = FixedMatrix(X=np.asfortranarray(fixed.X[:, keep]), names=[fixed.names[j] for j in keep],
                            dropped=fixed.dropped, term_of_column=[fixed.term_of_column[j] for j in keep])
    blocks = random_blocks(frame)
    check_random_terms(blocks, len(frame.data) if freq is None else int(freq.sum()), "ordinal")
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
    first, rows = collapse_rows(block.codes, fixed.X, codes)
    merged = np.bincount(rows, weights=freq).astype(float)
    quad = SingleFactorQuadrature(CumulativeLogit(codes[first], J, fixed.X[first], counts=merged),
                                  block.codes[first], block.n_levels, n_agq)
    per_category = np.bincount(codes, weights=freq, minlength=J)
    cum = np.cumsum(per_category)[:-1] / per_category.sum()
    x0 = np.r_[np.log(cum / (1 - cum)), np.zeros(fixed.X.shape[1]), 1.0]
    names = [f"{labels[j]}|{labels[j + 1]}" for j in range(J - 1)] + list(fixed.names)
    with single_threaded_blas():
        fit = fit_single_factor(quad, x0, n_thresholds=J - 1)
    result = ClmmResult(formula, frame, fixed, [block], n_agq=n_agq, levels=labels, n_thresholds=J - 1,
                        **result_fields(fit, block, names))
    if freq is not None:
        result.count_rows(int(freq.sum()))
    return result


def frequency_weights(values: np.ndarray, column: str) -> np.ndarray:
    """The `counts` column of clmm as whole numbers ≥ 1 (float), or ModelInputError naming a few bad values."""
    bad = values[(values < 1) | (values != np.round(values))]
    if len(bad):
        shown = ", ".join(f"{v:g}" for v in pd.unique(bad)[:5])
        raise ModelInputError(f"counts column {column!r} must hold whole numbers of at least 1 (the replies each row "
                              f"stands for); found {len(bad):,} other value(s): {shown}")
    return values
