"""Rating and message times as the vendors write them, read strictly: a time that is present but
not a time stops the import (naming the file, the field and a few values) instead of becoming an
empty ``responded_at``.

ISO 8601 with ``Z``, with an offset, without one (taken as UTC) or with microseconds (Help Scout,
Gorgias), or Unix seconds (Intercom).
"""
from __future__ import annotations

import pandas as pd

from .derive import to_utc_naive
from .errors import ImportInputError

_EXAMPLES = 3


def iso_times(values: pd.Series, file: str, field: str, ids: pd.Series, noun: str) -> pd.Series:
    """ISO 8601 text -> naive UTC; raises :class:`ImportInputError` for a value that is not a time."""
    times, bad = to_utc_naive(pd.Series(values, dtype="object").reset_index(drop=True))
    _refuse(bad, values, file, field, ids, noun, "an ISO 8601 date and time such as 2026-03-02T14:00:00Z")
    return pd.Series(times.to_numpy(), index=values.index)


def unix_times(values: pd.Series, file: str, field: str, ids: pd.Series, noun: str) -> pd.Series:
    """Unix seconds (numbers, or digits as text) -> naive UTC; raises for a value that is not."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = (values.notna() & numbers.isna()).to_numpy()
    _refuse(bad, values, file, field, ids, noun, "Unix seconds such as 1772445600")
    return pd.to_datetime(numbers, unit="s", errors="coerce").astype("datetime64[us]")


def _refuse(bad, values: pd.Series, file: str, field: str, ids: pd.Series, noun: str, expected: str) -> None:
    if not bad.any():
        return
    shown = [f"{v!r} ({noun} {i})" for v, i in zip(values[bad][:_EXAMPLES], ids[bad][:_EXAMPLES])]
    more = f" and {int(bad.sum()) - _EXAMPLES} more" if bad.sum() > _EXAMPLES else ""
    raise ImportInputError(f"{file}: {field} must be {expected}; found {', '.join(shown)}{more}", file)
