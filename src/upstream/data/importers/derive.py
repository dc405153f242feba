"""Derived contact columns, vectorised (pandas), each rule stated where it is used."""
from __future__ import annotations

import numpy as np
import pandas as pd

REPEAT_WINDOW = pd.Timedelta(days=7)


def repeat_within_7d(customer: pd.Series, opened: pd.Series, all_customer: pd.Series,
                     all_opened: pd.Series, observed_until: pd.Timestamp,
                     issue: pd.Series | None = None, all_issue: pd.Series | None = None) -> pd.Series:
    """True when the same customer opened another contact strictly later and at most 7 days
    (168 h) after this one; False when none did and the 7 days lie inside the export; missing
    (``<NA>``) when none did but the window runs past ``observed_until`` (the last contact
    opened in the export), because the answer is not known yet.

    ``all_customer``/``all_opened`` are every contact in the export (including ones dropped
    from the table, e.g. still open), so repeats are counted whatever became of them. With
    ``issue``/``all_issue`` a repeat must also have the same issue type.
    """
    left = pd.DataFrame({"customer": customer.to_numpy(), "opened": opened.to_numpy(),
                         "row": np.arange(len(customer))})
    right = pd.DataFrame({"customer": all_customer.to_numpy(), "next_opened": all_opened.to_numpy()})
    by = ["customer"]
    if issue is not None:
        left["issue"] = issue.to_numpy()
        right["issue"] = all_issue.to_numpy()
        by.append("issue")
    left = left.dropna(subset=["opened"]).sort_values("opened", kind="stable")
    right = right.dropna(subset=["next_opened"]).sort_values("next_opened", kind="stable")
    merged = pd.merge_asof(left, right, left_on="opened", right_on="next_opened", by=by,
                           direction="forward", allow_exact_matches=False)
    merged = merged.sort_values("row")
    gap = merged["next_opened"] - merged["opened"]
    repeat = pd.array((gap <= REPEAT_WINDOW).to_numpy(), dtype="boolean")
    censored = ~(gap <= REPEAT_WINDOW).to_numpy() & (
        (merged["opened"] + REPEAT_WINDOW) > observed_until).to_numpy()
    repeat[censored] = pd.NA
    out = pd.Series(pd.NA, index=customer.index, dtype="boolean")
    out.iloc[merged["row"].to_numpy()] = repeat
    return out


_UNIX_SECONDS = r"-?\d{9,11}(?:\.\d+)?"


def to_utc_naive(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """ISO 8601 text (trailing Z or offset allowed, microseconds kept; no offset = UTC) or Unix
    seconds (a number, or its digits as text, as incremental exports write them) -> naive UTC
    datetime64[us]; also returns the mask of non-empty values that did not parse."""
    text = values.astype("str").where(values.notna())
    times = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce").dt.tz_localize(None)
    times = times.astype("datetime64[us]")
    failed = text.notna() & times.isna()
    if failed.any():   # only values ISO 8601 did not read are tried as Unix seconds
        candidate = text[failed].str.strip()
        unix = candidate[candidate.str.fullmatch(_UNIX_SECONDS).fillna(False).astype(bool)]
        if len(unix):
            times[unix.index] = pd.to_datetime(pd.to_numeric(unix), unit="s").astype("datetime64[us]")
    bad = (text.notna() & times.isna()).to_numpy()
    return times, bad
