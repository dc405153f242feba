"""The input rules of the model entry points: lmer, glmer, clmm, a result's predict and bootstrap.

Every rule about the caller's input lives here and runs before any numerical work, mostly at the
model-frame stage (design.model_frame), where lme4 validates too. A broken rule raises
`ModelInputError`, a ValueError whose message names the argument or column, the rule, and a few
offending values with their row labels, e.g.

    the response 'Reaction' has 1 non-finite value (row 17: inf); a model needs finite numbers

The rules (lmer, glmer and clmm unless said otherwise):
- data is a DataFrame with rows; each column the formula uses is there, once; the formula has a
  random term and does not use its response on the right-hand side;
- no column the model uses is missing in every row;
- a predictor is a number column (int, float) or a factor (text, boolean, categorical, factor(x),
  or a grouping factor); other types (date-times, durations) are refused, not silently turned into
  nanoseconds; a factor's values are of one kind (not text mixed with numbers);
- in the rows used (after rows with missing values are dropped): numbers are finite and at most
  1e100 in size, so that their squares are finite (response, numeric predictors, weights); every
  factor of the fixed or random terms has at least 2 levels;
- the response suits the family: lmer needs numbers that vary (a constant response has zero
  residual variance, its REML criterion has no minimum: it is refused, not fitted); glmer needs
  0/1, true/false or cbind(successes, failures) with whole counts and both outcomes; clmm needs at
  least two categories;
- after the model matrices: each random term has fewer random effects than there are rows (lme4's
  check.nobs.vs.nRE for lmer; also for 0/1 and ordinal outcomes, not for binomial counts); for
  lmer, the fixed effects do not reproduce the response exactly (which also needs more rows than
  fixed-effect columns);
- weights (lmer): one number per row or a column name; finite, non-negative, not all zero;
- arguments: whole-number counts (bootstrap n ≥ 2, n_agq ≥ 1, max_evals ≥ 1), booleans, levels
  in (0, 1), start values of the right length;
- predict's newdata: a DataFrame with the model's columns, complete and finite; its factor levels
  must have been seen in the fit (unless allow_new_levels, for grouping factors; design.py).

The module is longer than 400 lines because every input rule of the engine lives here, in one
place, next to its message.
"""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import ModelInputError

if TYPE_CHECKING:
    from .formula import Formula


LARGEST = 1e100        # a number's square (and sums of squares) must stay finite in double precision
FAMILY_MODEL = {"gaussian": "a linear mixed model", "binomial": "a logistic model", "ordinal": "an ordinal model"}


# -- pieces of messages ------------------------------------------------------------------------------

def examples(values, k: int = 5) -> str:
    """Up to k distinct offending values as plain Python reprs ('S308', 3, inf)."""
    return ", ".join(map(repr, pd.Series(pd.unique(pd.Series(values))[:k]).tolist()))


def rows(values: pd.Series, k: int = 5) -> str:
    """'row 17: inf' or 'rows 3: inf, 9: -inf, ...': row labels of the caller's data with values."""
    shown = [f"{label}: {value!r}" for label, value in zip(values.index[:k], values.iloc[:k].tolist())]
    return f"{'row' if len(values) == 1 else 'rows'} {', '.join(shown)}{', ...' if len(values) > k else ''}"


def count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _forced(formula: Formula) -> set[str]:
    """Columns that are factors whatever their type: factor(x) and grouping factors."""
    return formula.fixed.categorical | {v for r in formula.random for v in (*r.lhs.categorical, *r.group)}


def _role(formula: Formula, name: str) -> str:
    if name in formula.response:
        return f"the response {name!r}"
    if any(name in r.group for r in formula.random):
        return f"the grouping factor {name!r}"
    return f"the predictor {name!r}"


# -- column kinds ------------------------------------------------------------------------------------

def is_factor(series: pd.Series, forced: bool = False) -> bool:
    """Is the column a factor: factor(x), a grouping factor, or text / boolean / categorical."""
    dt = series.dtype
    return forced or (isinstance(dt, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dt)
                      or pd.api.types.is_object_dtype(dt) or pd.api.types.is_string_dtype(dt))


def is_number(series: pd.Series) -> bool:
    """int or float (not boolean, not complex)."""
    dt = series.dtype
    return (pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_bool_dtype(dt)
            and not pd.api.types.is_complex_dtype(dt))


def numbers_of(series: pd.Series) -> pd.Series | None:
    """The column as floats if it holds numbers (also text that reads as numbers), else None."""
    if isinstance(series.dtype, pd.CategoricalDtype) or not (is_number(series) or is_factor(series)):
        return None
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(float)
    values = pd.to_numeric(series, errors="coerce")
    if (values.isna() & series.notna()).any():
        return None
    return values.astype(float)


def _value_kind(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, numbers.Number):
        return "number"
    return "text" if isinstance(value, str) else type(value).__name__


# -- model frame: before rows with missing values are dropped ----------------------------------------

def check_data(formula: Formula, data, weights, family: str) -> list[str]:
    """Rules on the data's shape and column types; returns the columns to take (formula order)."""
    if not isinstance(data, pd.DataFrame):
        raise ModelInputError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    if not formula.random:
        raise ModelInputError(f"the formula {formula.text!r} has no random term; a mixed model needs at least "
                              "one, e.g. (1 | agent)")
    needed = formula.variables
    missing = [v for v in needed if v not in data.columns]
    if missing:
        cols = ", ".join(map(str, list(data.columns)[:12])) + (" ..." if data.shape[1] > 12 else "")
        raise ModelInputError(f"the formula {formula.text!r} uses column(s) {', '.join(map(repr, missing))} "
                              f"that the data does not have; the data has: {cols}")
    for v in needed + ([weights] if isinstance(weights, str) else []):
        copies = int((data.columns == v).sum())
        if copies > 1:
            raise ModelInputError(f"the data has {copies} columns named {v!r}; a column the model uses must be "
                                  "unique (rename or drop the copies)")
    if len(data) == 0:
        raise ModelInputError("the data has no rows")
    _check_response_kind(formula, data, family)
    rhs = [v for v in needed if v not in formula.response]
    for v in formula.response:
        if v in {*formula.fixed.variables, *(x for r in formula.random for x in (*r.lhs.variables, *r.group))}:
            raise ModelInputError(f"the response {v!r} is also on the right-hand side of {formula.text!r}; a "
                                  "column cannot be the response and a predictor or grouping factor at once")
    forced = _forced(formula)
    for v in rhs:
        col = data[v]
        if not (is_factor(col, v in forced) or is_number(col)):
            raise ModelInputError(f"{_role(formula, v)} has type {col.dtype}; a predictor must be numbers or a "
                                  f"factor: convert it (e.g. date-times to days since a start date) or write "
                                  f"factor({v})")
        if is_factor(col, v in forced) and pd.api.types.is_object_dtype(col.dtype):
            _check_one_kind(_role(formula, v), col)
    for v in needed:
        if data[v].isna().all():
            raise ModelInputError(f"{_role(formula, v)} is missing in all {len(data):,} rows; the model has no "
                                  "complete row to use")
    return needed


def _check_one_kind(role: str, col: pd.Series) -> None:
    values = col.dropna()
    if len({_value_kind(v) for v in pd.unique(values)}) > 1:
        kinds = values.map(_value_kind)
        first = ~kinds.duplicated().to_numpy()
        raise ModelInputError(f"{role} mixes kinds of values ({', '.join(kinds[first])}: {rows(values[first])}); "
                              "give the column one type, e.g. .astype(str)")


def _check_response_kind(formula: Formula, data: pd.DataFrame, family: str) -> None:
    model = FAMILY_MODEL[family]
    if family != "binomial" and len(formula.response) != 1:
        kind = "numeric response" if family == "gaussian" else "response of ordered categories"
        raise ModelInputError(f"{model} needs a single {kind}, not cbind({', '.join(formula.response)})")
    for v in formula.response:
        col = data[v]
        if family == "ordinal":
            if pd.api.types.is_object_dtype(col.dtype):
                _check_one_kind(f"the response {v!r}", col)
            continue
        if family == "binomial" and len(formula.response) == 1:
            continue                                    # 0/1 or true/false: checked on the rows used
        if numbers_of(col) is not None:
            continue
        if isinstance(col.dtype, pd.CategoricalDtype):
            what = f"is categorical (levels {examples(col.cat.categories)})"
        elif is_factor(col):
            bad = col[col.notna() & pd.to_numeric(col, errors="coerce").isna()]
            what = f"holds text (e.g. {examples(bad, 3)})"
        else:
            what = f"has type {col.dtype}"
        if family == "gaussian":
            hint = " (for ordered ratings use clmm)" if is_factor(col) else ""
            raise ModelInputError(f"the response {v!r} {what}; {model} needs a numeric response{hint}")
        raise ModelInputError(f"the count {v!r} in cbind({', '.join(formula.response)}) {what}; {model} "
                              "needs whole numbers of successes and failures")


def check_weights(weights, data: pd.DataFrame) -> pd.Series:
    """Weights as a float Series on the data's index: a column name or one value per row."""
    if isinstance(weights, str):
        if weights not in data.columns:
            raise ModelInputError(f"weights column {weights!r} is not in the data")
        series, name = data[weights], f"the weights column {weights!r}"
    else:
        values = np.asarray(weights)
        if values.ndim != 1:
            raise ModelInputError(f"weights must be a column name or one value per row; got "
                                  f"{type(weights).__name__} of shape {values.shape}")
        if len(values) != len(data):
            raise ModelInputError(f"weights has {len(values):,} values but the data has {len(data):,} rows; give "
                                  "one weight per row (or the name of a weights column)")
        series, name = pd.Series(values, index=data.index), "the weights argument"
    if series.isna().all():
        raise ModelInputError(f"{name} is missing in all {len(data):,} rows; "
                              "the model has no complete row to use")
    out = numbers_of(series)
    if out is None:
        bad = series[series.notna() & pd.to_numeric(series, errors="coerce").isna()]
        raise ModelInputError(f"{name} must be numbers; found {count(len(bad), 'other value')} ({rows(bad)})")
    return out


# -- model frame: the rows used ----------------------------------------------------------------------

def check_rows(formula: Formula, frame: pd.DataFrame, family: str, weights_name: str | None) -> None:
    """Rules on the values of the complete rows (`frame` holds only those, weights as __weights__)."""
    forced = _forced(formula)
    for v in frame.columns:
        col = frame[v]
        numeric = numbers_of(col) if v in formula.response or v == "__weights__" else \
            (None if is_factor(col, v in forced) else col.astype(float))
        if numeric is None:
            continue
        role = weights_name if v == "__weights__" else _role(formula, v)
        bad = ~np.isfinite(numeric)
        if bad.any():
            raise ModelInputError(f"{role} has {count(int(bad.sum()), 'non-finite value')} ({rows(numeric[bad])}); "
                                  "a model needs finite numbers")
        huge = numeric.abs() > LARGEST
        if huge.any():
            raise ModelInputError(f"{role} has {count(int(huge.sum()), 'value')} above {LARGEST:.0e} in size "
                                  f"({rows(numeric[huge])}); their squares overflow: rescale the column")
    if "__weights__" in frame:
        w = frame["__weights__"]
        if (w < 0).any():
            negative = count(int((w < 0).sum()), "negative value")
            raise ModelInputError(f"{weights_name} must be non-negative; found {negative} ({rows(w[w < 0])})")
        if (w == 0).all():
            raise ModelInputError(f"{weights_name} is 0 in all {len(w):,} rows used; a model needs some weight")
    _check_response_values(formula, frame, family)
    for v in dict.fromkeys(x for t in (formula.fixed, *(r.lhs for r in formula.random)) for x in t.variables):
        col = frame[v]
        if is_factor(col, v in forced):
            levels = pd.unique(col)
            if len(levels) < 2:
                raise ModelInputError(f"{_role(formula, v)} has only 1 level in the {len(col):,} rows used "
                                      f"({examples(levels)}); a factor in a model needs at least 2 levels "
                                      "(drop it from the formula)")


def _check_response_values(formula: Formula, frame: pd.DataFrame, family: str) -> None:
    resp = formula.response
    if family == "gaussian":
        y = numbers_of(frame[resp[0]])
        if (y == y.iloc[0]).all():
            raise ModelInputError(f"the response {resp[0]!r} has the same value ({examples(frame[resp[0]][:1])}) in "
                                  f"all {len(y):,} rows used; a linear mixed model needs a response that varies "
                                  "(its residual variance would be 0)")
        if y.max() - y.min() < 1 / LARGEST:
            raise ModelInputError(f"the response {resp[0]!r} varies by only {y.max() - y.min():.3g} in the rows "
                                  f"used; its squares underflow: rescale it (a model needs a spread above "
                                  f"{1 / LARGEST:.0e})")
    elif family == "binomial" and len(resp) == 2:
        s, f = (numbers_of(frame[v]) for v in resp)
        bad = (s < 0) | (f < 0) | (s != np.round(s)) | (f != np.round(f))
        if bad.any():
            pairs = pd.Series(list(zip(s[bad].tolist(), f[bad].tolist())), index=s.index[bad])
            raise ModelInputError(f"cbind({resp[0]}, {resp[1]}) needs non-negative whole counts; found "
                                  f"{count(int(bad.sum()), 'bad row')} ({rows(pairs)})")
        if s.sum() == 0 or f.sum() == 0:
            which = "0 successes" if s.sum() == 0 else "0 failures"
            raise ModelInputError(f"the response cbind({resp[0]}, {resp[1]}) has only one outcome ({which} in all "
                                  f"{len(s):,} rows used); a logistic model needs both outcomes")
    elif family == "binomial":
        col = frame[resp[0]]
        y = numbers_of(col)
        bad = ~np.isin(y, (0.0, 1.0)) if y is not None else np.ones(len(col), bool)
        if bad.any():
            raise ModelInputError(f"the response {resp[0]!r} of a logistic model must be 0/1 (or true/false); "
                                  f"found {count(int(bad.sum()), 'other value')} ({rows(col[bad])})")
        if (y == y.iloc[0]).all():
            which = "0s" if y.iloc[0] == 0 else "1s"
            raise ModelInputError(f"the response {resp[0]!r} has only one category (all {which}); a logistic "
                                  "model needs both outcomes")
    else:
        col = frame[resp[0]]
        present = pd.unique(col)
        if len(present) < 2:
            raise ModelInputError(f"the response {resp[0]!r} has only one category present ({examples(present)}); "
                                  "an ordinal model needs at least two")


# -- after the model matrices: what the model can identify -------------------------------------------

def check_random_terms(blocks, n: int, family: str, counts: bool = False) -> None:
    """More rows than random effects in each term: lme4's check.nobs.vs.nRE for lmer (otherwise the
    random-effect and residual variances cannot be told apart), and for 0/1 or ordinal outcomes,
    where one outcome per level says nothing about the variance between levels. Binomial counts
    (cbind) are exempt: an observation-level effect is how their over-dispersion is modelled."""
    if counts:
        return
    rule = {"gaussian": "lmer needs more rows than random effects in each term, or the random-effect and "
                        "residual variances cannot be told apart",
            "binomial": "with 0/1 outcomes a model needs more rows than random effects in each term (binomial "
                        "counts, cbind(successes, failures), may have one row per level)",
            "ordinal": "an ordinal model needs more rows than random effects in each term"}[family]
    for blk in blocks:
        if blk.q >= n:
            raise ModelInputError(f"the random term {blk.source} has {blk.q:,} random effects "
                                  f"({count(blk.n_levels, 'level')} of {blk.group!r} × {count(blk.k, 'column')}) "
                                  f"for only {count(n, 'row')}; {rule}")


def check_exact_fit(response: str, X: np.ndarray, y: np.ndarray, weights: np.ndarray | None) -> None:
    """lmer: the fixed effects must not reproduce the response exactly (the residual variance would
    be 0); this also needs more rows than fixed-effect columns."""
    sw = np.ones(len(y)) if weights is None else np.sqrt(weights)
    Xw, yw = X * sw[:, None], y * sw
    yw = yw / np.abs(yw).max()                              # tiny responses: norms must not underflow
    resid = yw - Xw @ np.linalg.lstsq(Xw, yw, rcond=None)[0] if X.shape[1] else yw
    if np.linalg.norm(resid) <= 1e-9 * np.linalg.norm(yw - yw.mean()) + 1e-12 * np.linalg.norm(yw):
        raise ModelInputError(
            f"the fixed effects reproduce the response {response!r} exactly ({count(len(y), 'row')}, "
            f"{count(X.shape[1], 'fixed-effect column')}); lmer needs residual variation to estimate the "
            "variances (use fewer fixed effects or more rows)")


# -- arguments ---------------------------------------------------------------------------------------

def check_whole(value, name: str, minimum: int, what: str = "") -> int:
    """A whole number ≥ minimum (True/False and 2.5 are refused)."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if not ok or value < minimum:
        label = f"{name} ({what})" if what else name
        raise ModelInputError(f"{label} must be a whole number ≥ {minimum}; got {value!r}")
    return int(value)


def check_flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ModelInputError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_choice(value, name: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ModelInputError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return value


def check_level(level) -> float:
    if not isinstance(level, numbers.Real) or isinstance(level, bool) or not 0 < level < 1:
        raise ModelInputError(f"level must be a probability between 0 and 1 (e.g. 0.95); got {level!r}")
    return float(level)


def check_start(start, lower: np.ndarray) -> np.ndarray:
    """Starting θ for lmer: one finite value per covariance parameter, diagonal entries ≥ 0."""
    values = np.asarray(start, dtype=float).ravel()
    if len(values) != len(lower):
        raise ModelInputError(f"start has {count(len(values), 'value')} but the model has "
                              f"{count(len(lower), 'covariance parameter')} θ (one per entry of the relative "
                              "covariance factors, lme4's getME(fit, 'theta'))")
    if not np.isfinite(values).all() or (values < lower).any():
        raise ModelInputError(f"start must be finite with diagonal entries ≥ 0; got {values.tolist()}")
    return values


# -- predict -----------------------------------------------------------------------------------------

def check_newdata(formula: Formula, factors, newdata) -> pd.DataFrame:
    """The model's columns of newdata: present once, complete, numbers where the fit had numbers."""
    if not isinstance(newdata, pd.DataFrame):
        raise ModelInputError(f"newdata must be a pandas DataFrame; got {type(newdata).__name__}")
    needed = [v for v in formula.variables if v not in formula.response]
    missing = [v for v in needed if v not in newdata.columns]
    if missing:
        raise ModelInputError(f"newdata lacks column(s) {', '.join(map(repr, missing))} that the model uses")
    for v in needed:
        if (newdata.columns == v).sum() > 1:
            raise ModelInputError(f"newdata has {int((newdata.columns == v).sum())} columns named {v!r}; a column "
                                  "the model uses must be unique")
    sub = newdata[needed]
    incomplete = sub.isna().any(axis=1)
    if incomplete.any():
        bad = [c for c in needed if sub[c].isna().any()]
        labels = ", ".join(map(str, sub.index[incomplete][:5])) + (", ..." if incomplete.sum() > 5 else "")
        raise ModelInputError(f"newdata has missing values in {', '.join(map(repr, bad))} "
                              f"({count(int(incomplete.sum()), 'row')}: {labels}); predictions need complete rows")
    for v in needed:
        if v in factors:
            continue
        values = numbers_of(sub[v])
        if values is None:
            other = sub[v][pd.to_numeric(sub[v].astype(object), errors="coerce").isna()]
            raise ModelInputError(f"newdata column {v!r} must hold numbers, as in the fit; found "
                                  f"{count(len(other), 'other value')} ({rows(other)})")
        bad = ~np.isfinite(values)
        if bad.any():
            raise ModelInputError(f"newdata column {v!r} has {count(int(bad.sum()), 'non-finite value')} "
                                  f"({rows(values[bad])}); predictions need finite numbers")
    return sub


def check_predict(include_random, allow_new_levels, type: str = "response") -> None:
    """predict's switches: booleans, and type 'response' or 'link'."""
    check_flag(include_random, "include_random")
    check_flag(allow_new_levels, "allow_new_levels")
    check_choice(type, "type", ("response", "link"))
