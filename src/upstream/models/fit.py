"""`lmer`: fit a linear mixed model, in lme4's stages.

    formula   = parse_formula(text)                      # formula.py
    frame     = model_frame(formula, data, weights)      # design.py: columns, missing rows, factors
    fixed     = fixed_matrix(frame)                      # X with treatment contrasts, rank check
    blocks    = random_blocks(frame)                     # Z terms: level codes and term columns
    structure = LmmStructure(blocks, fixed.X, y, w)      # lmm.py: cross-products, blocked Cholesky
    optimum   = optimize_theta(deviance, ...)            # optimize.py: profiled REML/ML over θ
    result    = LmerResult(...)                          # results.py: estimates, tables, summary
"""
from __future__ import annotations

import pandas as pd

from .design import fixed_matrix, model_frame, random_blocks, response_vector
from .formula import parse_formula
from .lmm import LmmStructure
from .optimize import optimize_theta
from .results import LmerResult, _check_ddf


def lmer(formula: str, data: pd.DataFrame, reml: bool = True, weights=None, ddf: str = "satterthwaite",
         start=None, max_evals: int | None = None) -> LmerResult:
    """Fit a linear mixed model with lme4 formula syntax, e.g.
    `lmer("csat ~ policy + product + channel + (1 | agent)", df)`.

    reml: REML (default) or maximum likelihood. weights: prior weights (a column name or an array);
    the residual variance of row i is σ²/w_i. ddf: "satterthwaite" (default), "kenward-roger" or
    "residual", used by `coef_table`. start: starting θ (relative covariance factors). max_evals:
    cap on deviance evaluations (the fit is flagged `converged=False` if it is reached).
    """
    ddf = _check_ddf(ddf)
    spec = parse_formula(formula)
    frame = model_frame(spec, data, weights)
    fixed = fixed_matrix(frame)
    blocks = random_blocks(frame)
    y = response_vector(frame)
    structure = LmmStructure(blocks, fixed.X, y, frame.weights)
    optimum = optimize_theta(lambda theta: structure.deviance(theta, reml), structure.n_theta,
                             structure.lower,
                             start=structure.start_theta() if start is None else start, max_evals=max_evals)
    return LmerResult(formula, frame, fixed, blocks, structure, optimum, reml, ddf)
