"""`lmer`: fit a linear mixed model, in lme4's stages.

    formula   = parse_formula(text)                      # formula.py
    frame     = model_frame(formula, data, weights)      # design.py + checks.py: columns, rules, missing rows, factors
    fixed     = fixed_matrix(frame)                      # X with treatment contrasts, rank check
    blocks    = random_blocks(frame)                     # Z terms: level codes and term columns
    check_random_terms, check_exact_fit                  # checks.py: identifiable variances (lme4's rules)
    structure = LmmStructure(blocks, fixed.X, y, w)      # lmm.py: cross-products, blocked Cholesky
              | GroupedStructure.from_rows(...)          # grouped.py: (1 | g) alone, per-group sums
    optimum   = optimize_structure(structure, reml)      # optimize.py: profiled REML/ML over θ
    result    = LmerResult(...)                          # results.py: estimates, tables, summary
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .checks import (
    ModelInputError,
    check_choice,
    check_exact_fit,
    check_flag,
    check_random_terms,
    check_start,
    check_whole,
)
from .design import FixedMatrix, RankDeficiencyWarning, fixed_matrix, model_frame, random_blocks, response_vector
from .formula import parse_formula
from .group_stats import GroupStats, full_rank_from_crossproducts
from .grouped import GroupedStructure, is_single_intercept
from .lmm import LmmStructure, single_threaded_blas
from .optimize import optimize_structure
from .results import LmerResult, check_ddf

ENGINES = ("auto", "grouped", "general")


def lmer(formula: str, data: pd.DataFrame, reml: bool = True, weights=None, ddf: str = "satterthwaite",
         start=None, max_evals: int | None = None, engine: str = "auto", membership=None) -> LmerResult:
    """Fit a linear mixed model with lme4 formula syntax, e.g.
    `lmer("csat ~ policy + product + channel + (1 | agent)", df)`.

    reml: REML (default) or maximum likelihood. weights: prior weights (a column name or an array);
    the residual variance of row i is σ²/w_i. ddf: "satterthwaite" (default), "kenward-roger" or
    "residual", used by `coef_table`. start: starting θ (relative covariance factors). max_evals:
    cap on deviance evaluations (the fit is flagged `converged=False` if it is reached).
    engine: "auto" (default) fits a model whose only random term is `(1 | g)` from per-group sums
    (grouped.py: a 1-d exact optimum, O(groups·p²) per step) and any other model with the blocked
    Cholesky factor (lmm.py); "grouped" or "general" force one (the same numbers, see
    tests/test_grouped.py). With prior weights, a zero weight sends "auto" to the general engine.
    membership: the weights of each multiple-membership term `(1 | mm(agent_id))`, as
    `{"agent_id": Membership or a contact_id/agent_id/weight table}` (membership.py): a contact
    handled by several agents shares its random part Σ_g w_g b_g among them (general engine).

    Input that breaks a rule of checks.py raises `ModelInputError` (a ValueError) naming the column
    or argument, the rule and a few offending rows, before any fitting. A response with the same
    value in every row is refused, not fitted: its residual variance is 0 and the REML criterion
    has no minimum. As lme4, each random term needs fewer random effects than rows.
    """
    ddf = check_ddf(ddf)
    engine = check_choice(engine, "engine", ENGINES)
    reml = check_flag(reml, "reml")
    if max_evals is not None:
        max_evals = check_whole(max_evals, "max_evals", 1, "deviance evaluations")
    spec = parse_formula(formula)
    frame = model_frame(spec, data, weights, membership=membership)
    fixed = fixed_matrix(frame)
    blocks = random_blocks(frame)
    y = response_vector(frame)
    check_random_terms(blocks, len(y), "gaussian")
    check_exact_fit(spec.response[0], fixed.X, y, frame.weights)
    grouped_ok = is_single_intercept(blocks) and (frame.weights is None or bool(np.all(frame.weights > 0)))
    if engine == "grouped" and not grouped_ok:
        raise ModelInputError(f"engine='grouped' fits one random intercept (1 | g) with positive weights; "
                              f"{formula!r} needs engine='general'")
    with single_threaded_blas():                    # small dense blocks: threads only cost (lmm.py)
        if engine == "grouped" or (engine == "auto" and grouped_ok):
            structure = GroupedStructure.from_rows(fixed.X, y, blocks[0], frame.weights, fixed.names)
        else:
            structure = LmmStructure(blocks, fixed.X, y, frame.weights)
        if start is not None:
            start = check_start(start, structure.lower)
        optimum = optimize_structure(structure, reml, start=start, max_evals=max_evals)
        return LmerResult(formula, frame, fixed, blocks, structure, optimum, reml, ddf)


def lmer_from_stats(stats: GroupStats, reml: bool = True, ddf: str = "satterthwaite", start=None,
                    max_evals: int | None = None):
    """Fit `y ~ X + (1 | g)` by REML (default) or ML from `GroupStats` alone (no rows): the same
    `LmerResult` as `lmer`, without fitted values, residuals, predictions or Kenward–Roger df.
    Linearly dependent columns are dropped with a warning, as lme4 does."""
    ddf = check_ddf(ddf)
    keep = full_rank_from_crossproducts(stats.xtx_total)
    dropped = [nm for nm, k in zip(stats.names, keep) if not k]
    if dropped:
        warnings.warn(f"fixed-effect model matrix is rank deficient so dropping {len(dropped)} "
                      f"column{'s' if len(dropped) > 1 else ''} / coefficient{'s' if len(dropped) > 1 else ''}: "
                      f"{', '.join(dropped)}", RankDeficiencyWarning, stacklevel=2)
        stats = stats.drop_columns(keep)
    with single_threaded_blas():
        structure = GroupedStructure(stats)
        optimum = structure.optimize(reml, start=start, max_evals=max_evals)
    fixed = FixedMatrix(X=None, names=list(stats.names), dropped=dropped,
                        term_of_column=list(stats.terms.term_of_column) if stats.terms is not None else [])
    columns = [nm for nm in stats.names if nm != "(Intercept)"]
    rhs = " + ".join(columns) if "(Intercept)" in stats.names else " + ".join(["0"] + columns)
    formula = f"{stats.response} ~ {rhs or '1'} + (1 | {stats.group})  [from group statistics]"
    return LmerResult(formula, None, fixed, structure.blocks, structure, optimum, reml, ddf)
