"""Property: on any frame and formula, lmer / glmer / clmm either fit or raise ModelInputError.

Hypothesis builds small frames with random column types (float, int, bool, text, categorical,
date-time), missing and non-finite cells, empty and single-level factors, duplicated column names,
and degenerate designs (aliased copies of a column, one row per group, more columns than rows),
lme4-style formulas over them, and weights for lmer. No other exception (AttributeError, KeyError,
IndexError, LinAlgError, ZeroDivisionError, ...) and no NumPy RuntimeWarning may escape; a fit that
returns has a finite log-likelihood, a summary, and predicts its own rows or refuses them with
ModelInputError. A fixed seed (derandomize) and a small budget keep the test reproducible and to a
few seconds.

The strategies are written so that Hypothesis's simplest choices (the first option, 0, False) give a
well-posed model, and the degenerate variants are the other branches: the fixed-seed run then
exercises successful fits of all three models as well as the refusals.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from upstream import clmm, glmer, lmer
from upstream.models import ModelInputError

NAMES = ["y", "x", "z", "g", "h"]
LEVELS = ["a", "b", "c", "d", "e", "f"]
KINDS = ["float", "int", "binary", "rating", "bool", "text", "category", "datetime"]
RESPONSE_KIND = {"lmer": "float", "glmer": "binary", "clmm": "rating"}
FIT = {"lmer": lmer, "glmer": glmer, "clmm": clmm}


def rare(draw, one_in: int) -> bool:
    """True about once in `one_in` draws, and never in Hypothesis's simplest example."""
    return draw(st.integers(0, one_in - 1)) == one_in - 1


@st.composite
def cells(draw, n: int, kind: str, salt: int, dirty: bool):
    """One column of n cells: varied by default (the row pattern differs per column through
    `salt`), or constant or one value per row; if dirty, maybe all missing or with missing and
    ±inf cells."""
    pattern = draw(st.sampled_from(["varied"] * 6 + ["constant", "per-row"] + ["missing"] * dirty))
    noise = np.array(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), dtype=np.int64)
    step = (np.arange(n) * (salt + 2) + noise) % 97                    # varied even when noise is 0
    if kind == "float":
        col = pd.Series(np.sin(step + salt) * 10 + noise / 7, dtype=float)
    elif kind in ("int", "binary", "rating"):
        col = pd.Series(step % {"int": 31, "binary": 2, "rating": 5}[kind], dtype="int64")
    elif kind == "bool":
        col = pd.Series(step % 2 == 1, dtype=bool)
    elif kind in ("text", "category"):
        k = [3, 2, 4, 6, 5, 2, 1][draw(st.integers(0, 6))]           # 1 level is the degenerate one
        col = pd.Series(np.array(LEVELS[:k], dtype=object)[step % k], dtype=object)
        if kind == "category":
            col = pd.Series(pd.Categorical(col, categories=LEVELS if draw(st.booleans()) else LEVELS[:k]))
    else:
        col = pd.Series(pd.Timestamp("2026-01-01") + pd.to_timedelta(step % 30, unit="D"))
    if n and pattern == "constant":
        col = pd.Series([col.iloc[0]] * n, dtype=col.dtype)
    elif pattern == "per-row" and kind in ("text", "int", "float"):
        col = pd.Series([f"r{i}" for i in range(n)] if kind == "text" else np.arange(n), dtype=col.dtype)
    holes = ["keep"] * n
    if pattern == "missing":
        holes = ["missing"] * n
    elif dirty and draw(st.booleans()):                                # a dirty column
        holes = draw(st.lists(st.sampled_from(["keep"] * 5 + ["missing", "inf", "-inf"]), min_size=n, max_size=n))
    for i, hole in enumerate(holes):
        if hole == "missing":
            col = col.astype(object) if kind in ("int", "binary", "rating", "bool") else col
            col.iloc[i] = None
        elif hole != "keep" and kind == "float":
            col.iloc[i] = float(hole)
    return col


@st.composite
def problems(draw, model: str, dirty: bool):
    """(formula, frame, keyword arguments) for a model. Clean frames have the response and groups
    the model expects and no holes, but degenerate designs; dirty ones anything."""
    n = 0 if dirty and rare(draw, 25) else (draw(st.integers(0, 19)) + 12) % 20 + 1   # 13 rows first
    names = list(NAMES)
    if dirty and rare(draw, 8):
        names.remove(draw(st.sampled_from(NAMES)))                     # a column the formula may need is absent
    if dirty and rare(draw, 8):
        names.append(draw(st.sampled_from(NAMES)))                     # a duplicated column name
    random = draw(st.sampled_from(["(1 | g)", "(1 | g)", "(1 | g)", "(1 + x | g)", "(x || g)", "(1 | g/h)",
                                   "(1 | g) + (1 | h)", "(1 | g:h)", "(0 + x | g)"]))
    # A random slope on x is kept numeric: slopes on a factor (one variance per level) over a few
    # separated groups send the Laplace fit of glmer to its evaluation cap, a minute per example.
    slope = "x |" in random
    columns = []
    for salt, name in enumerate(names):
        if name == "y" and not (dirty and rare(draw, 4)):
            kind = RESPONSE_KIND[model]
        elif name in ("g", "h") and not (dirty and rare(draw, 4)):
            kind = "text"
        elif name == "x" and slope:
            kind = "float"
        else:
            kind = draw(st.sampled_from(KINDS[:-1] + KINDS[-1:] * dirty))   # date-times only when dirty
        if columns and not (name == "x" and slope) and rare(draw, 8):
            col = columns[draw(st.integers(0, len(columns) - 1))].copy()   # an aliased copy
        else:
            col = draw(cells(n, kind, salt, dirty))
        columns.append(col.reset_index(drop=True))
    frame = pd.concat(columns, axis=1, ignore_index=True) if n else pd.DataFrame({i: [] for i in range(len(names))})
    frame.columns = names                                              # duplicated names are allowed
    if n and draw(st.booleans()):
        frame.index = pd.Index([f"row{i}" for i in range(n)])

    predictors = draw(st.lists(st.sampled_from(["x", "z", "factor(x)", "x:z", "x*z", "g", "h"]), max_size=3))
    intercept = draw(st.sampled_from(["", "", "0 + ", "1 + "]))
    fixed = intercept + (" + ".join(dict.fromkeys(predictors)) or "1")
    response = draw(st.sampled_from(["y"] * 6 + ["x", "g", "cbind(y, z)"] * dirty))
    if model == "glmer" and rare(draw, 5):
        response = "cbind(y, z)"
    options = {}
    if model == "lmer" and dirty and rare(draw, 4):                    # weights: a column, or values (maybe too few)
        options["weights"] = draw(st.sampled_from(["z", "h", "w", "array"]))
        if options["weights"] == "array":
            m = max(n + draw(st.sampled_from([0, 0, 0, -1, 1])), 0)
            options["weights"] = np.array(draw(st.lists(st.floats(-1, 5), min_size=m, max_size=m)))
    return f"{response} ~ {fixed} + {random}", frame, options


BUDGET = settings(max_examples=15, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("dirty", [False, True], ids=["degenerate", "dirty"])
@pytest.mark.parametrize("model", ["lmer", "glmer", "clmm"])
@BUDGET
@given(data=st.data())
def test_fits_or_raises_model_input_error(model, dirty, data):
    formula, frame, options = data.draw(problems(model, dirty), label="formula, frame, options")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                     # singular fits, rank deficiency, ... are fine
        warnings.simplefilter("error", RuntimeWarning)      # but no NumPy overflow / invalid value
        try:
            res = FIT[model](formula, frame, **options)
        except ModelInputError as err:
            assert str(err)                                 # the documented error, with a message
            return
        assert np.isfinite(res.loglik), f"{model}({formula!r}) returned a fit with log-likelihood {res.loglik}"
        assert res.summary().startswith(("Linear", "Generalized", "Cumulative"))
        try:
            res.predict(frame)                              # newdata with the fit's own rows
        except ModelInputError:                             # e.g. the rows with missing values
            pass
