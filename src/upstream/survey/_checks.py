"""Argument checks shared by the survey statistics: levels, numbers, counts, 0/1 columns;
every error names the offending values."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd
from scipy.special import ndtri


def z_of_level(level: float) -> float:
    """The two-sided normal quantile for a confidence level in (0, 1) (1.96 for 0.95)."""
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise ValueError(f"level must be a number strictly between 0 and 1, got {level!r}")
    return float(ndtri(0.5 + level / 2))       # scipy.stats' norm.ppf, without importing scipy.stats (0.5 s)


def shown_values(values: Iterable[Any], limit: int = 5) -> str:
    """The first ``limit`` distinct values, in order of appearance, as text."""
    seen: list[Any] = []
    for v in values:
        if v not in seen:
            seen.append(v)
        if len(seen) == limit:
            break
    return ", ".join(f"{v:g}" if isinstance(v, (float, np.floating)) else repr(v) if isinstance(v, str)
                     else str(v) for v in seen)


def as_numbers(values: Any, what: str) -> np.ndarray:
    """``values`` as a 1-d float array (NaN for missing); text that is not a number is an error."""
    if not isinstance(values, pd.Series):
        array = np.atleast_1d(np.asarray(values))
        if array.dtype.kind in "fiub":
            return array.astype("float64").reshape(-1)
        values = pd.Series(array.reshape(-1).astype(object))
    series = values.astype("float64") if pd.api.types.is_bool_dtype(values.dtype) else values
    numbers = pd.to_numeric(series, errors="coerce")
    not_numbers = series.notna().to_numpy() & numbers.isna().to_numpy()
    if not_numbers.any():
        bad = series[not_numbers].tolist()
        raise ValueError(f"{what} must be numbers; {int(not_numbers.sum())} value(s) are not: {shown_values(bad)}")
    return numbers.to_numpy(dtype="float64", na_value=np.nan)



def checked_counts(successes: Any, n: Any, index: Any = None) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Validated (successes, n) as float arrays of a common shape; labels for messages."""
    if index is None:
        index = successes.index if isinstance(successes, pd.Series) else (
            n.index if isinstance(n, pd.Series) else None)
    x, m = as_numbers(successes, "successes"), as_numbers(n, "n")
    x, m = np.broadcast_arrays(x, m)
    labels = pd.Index(index) if index is not None and len(index) == x.size else pd.RangeIndex(x.size)

    def where(mask):
        return ", ".join(f"{labels[i]!s}: {xv:g}/{nv:g}" for i, xv, nv in
                         list(zip(np.flatnonzero(mask), x[mask], m[mask]))[:5])

    missing = np.isnan(x) | np.isnan(m) | np.isinf(x) | np.isinf(m)
    if missing.any():
        raise ValueError(f"successes and n must be finite numbers; {int(missing.sum())} offending "
                         f"group(s) (successes/n): {where(missing)}")
    if (m < 0).any():
        raise ValueError(f"n must be >= 0; {int((m < 0).sum())} offending group(s) (successes/n): {where(m < 0)}")
    if (x < 0).any():
        raise ValueError(f"successes must be >= 0; {int((x < 0).sum())} offending group(s) "
                         f"(successes/n): {where(x < 0)}")
    if (x > m).any():
        raise ValueError(f"successes must not exceed n; {int((x > m).sum())} offending group(s) "
                         f"(successes/n): {where(x > m)}")
    return x.astype(float), m.astype(float), labels


def shaped_like(successes: Any, n: Any, values: np.ndarray):
    """``values`` in the caller's shape: a Series on the input's index, a float for scalars, else the array."""
    if isinstance(successes, pd.Series):
        return pd.Series(values, index=successes.index)
    if isinstance(n, pd.Series):
        return pd.Series(values, index=n.index)
    if np.ndim(successes) == 0 and np.ndim(n) == 0:
        return float(values.reshape(-1)[0])
    return values



def as_binary(series: pd.Series, col: str) -> np.ndarray:
    """A 0/1 (or true/false) column as floats; missing or other values are an error naming them."""
    if series.isna().any():
        raise ValueError(f"column {col!r} must be 0/1 (or true/false) for every row; "
                         f"{int(series.isna().sum())} missing value(s)")
    values = series.to_numpy()
    if pd.api.types.is_bool_dtype(series.dtype):
        return values.astype(float)
    numbers = as_numbers(series, f"column {col!r}")
    bad = ~np.isin(numbers, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"column {col!r} must be 0/1 (or true/false); {int(bad.sum())} offending "
                         f"value(s): {shown_values(numbers[bad])}")
    return numbers


