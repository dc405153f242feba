"""Net Promoter Score: the point estimate with its trinomial standard error, Wald and adjusted-Wald
intervals (Rocks 2016, The American Statistician 70(2)), per group.

NPS = 100 (p − d), p = share of 9–10 (promoters), d = share of 0–6 (detractors); trinomial
standard error 100·sqrt([p + d − (p − d)²] / n). The adjusted-Wald interval adds 3/4 pseudo-responses
to promoters and to detractors and 3/2 to passives (n + 3), the defaults of Rocks' R package *NPS*."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._checks import as_numbers, shown_values, z_of_level
from .constants import DETRACTOR_MAX, PROMOTER_MIN

ADJUSTED_WALD_PSEUDO = (0.75, 1.5, 0.75)  # (promoters, passives, detractors), Rocks 2016
NPS_METHODS = ("wald", "adjusted-wald")


def _nps_categories(scores: Any, what: str) -> np.ndarray:
    """Validated scores without missing values: whole numbers 0–10."""
    values = as_numbers(scores, what)
    present = ~np.isnan(values)
    bad = present & ((values < 0) | (values > 10) | (values != np.round(values)))
    if bad.any():
        raise ValueError(f"{what}: NPS scores must be whole numbers from 0 to 10 (missing values are "
                         f"ignored); {int(bad.sum())} offending value(s): {shown_values(values[bad])}")
    return values[present]


def nps_point(promoters, passives, detractors):
    """(n, p, d, nps, se) from counts (arrays or scalars); NaN where n = 0."""
    P, Pa, D = (np.asarray(x, dtype=float) for x in (promoters, passives, detractors))
    n = P + Pa + D
    with np.errstate(invalid="ignore", divide="ignore"):
        p, d = P / n, D / n
        se = 100 * np.sqrt((p + d - (p - d) ** 2) / n)
    return n, p, d, 100 * (p - d), se


def _nps_interval(promoters, passives, detractors, level: float, method: str):
    """(lower, upper) on the −100..100 scale, clipped."""
    if method not in NPS_METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, NPS_METHODS))}, got {method!r}")
    z = z_of_level(level)
    if method == "adjusted-wald":
        add_p, add_pa, add_d = ADJUSTED_WALD_PSEUDO
        promoters = np.asarray(promoters, float) + add_p
        passives = np.asarray(passives, float) + add_pa
        detractors = np.asarray(detractors, float) + add_d
    _, _, _, centre, se = nps_point(promoters, passives, detractors)
    return np.clip(centre - z * se, -100, 100), np.clip(centre + z * se, -100, 100)


@dataclass(frozen=True)
class NpsEstimate:
    """Net Promoter Score of one set of responses.

    ``nps`` = 100 (p_promoter − p_detractor) on −100..100; ``se`` is its trinomial standard error,
    100·sqrt([p + d − (p − d)²] / n), in NPS points. Counts exclude missing scores.
    """

    n: int
    promoters: int
    passives: int
    detractors: int
    p_promoter: float
    p_detractor: float
    nps: float
    se: float

    def interval(self, level: float = 0.95, method: str = "wald") -> tuple[float, float]:
        """Two-sided ``level`` interval for the NPS, on −100..100 and clipped to it.

        ``"wald"``: nps ± z·se. ``"adjusted-wald"`` (Rocks 2016): the Wald interval after adding
        3/4 promoter, 3/2 passive and 3/4 detractor pseudo-responses (n + 3); its centre is
        100 (P − D)/(n + 3), pulled slightly toward 0. Wald with n = 0 is (NaN, NaN); adjusted
        Wald with n = 0 is the pseudo-responses' interval around 0.
        """
        lower, upper = _nps_interval(self.promoters, self.passives, self.detractors, level, method)
        return float(lower), float(upper)


def nps(scores: Any) -> NpsEstimate:
    """NPS of 0–10 likelihood-to-recommend scores. Missing values (NaN/NA) are ignored; anything
    outside 0–10 or not a whole number raises ValueError naming up to five offending values."""
    name = scores.name if isinstance(scores, pd.Series) and scores.name is not None else None
    values = _nps_categories(scores, f"column {name!r}" if name is not None else "scores")
    P = int(np.sum(values >= PROMOTER_MIN))
    D = int(np.sum(values <= DETRACTOR_MAX))
    Pa = len(values) - P - D
    n, p, d, score, se = nps_point(P, Pa, D)
    return NpsEstimate(n=int(n), promoters=P, passives=Pa, detractors=D, p_promoter=float(p),
                       p_detractor=float(d), nps=float(score), se=float(se))


def nps_counts(df: pd.DataFrame, score_col: str, group_col: str) -> pd.DataFrame:
    """Promoters, passives and detractors per group of a 0-10 score column."""
    for col in (score_col, group_col):
        if col not in df.columns:
            raise ValueError(f"column {col!r} is not in the data frame (columns: {', '.join(map(str, df.columns))})")
    if df[group_col].isna().any():
        raise ValueError(f"column {group_col!r} has {int(df[group_col].isna().sum())} missing group label(s)")
    values = as_numbers(df[score_col], f"column {score_col!r}")
    _nps_categories(values, f"column {score_col!r}")  # validation only
    category = np.where(np.isnan(values), "missing",
                        np.where(values >= PROMOTER_MIN, "promoters",
                                 np.where(values <= DETRACTOR_MAX, "detractors", "passives")))
    counts = pd.crosstab(df[group_col].to_numpy(), category)
    counts.index.name = group_col
    counts.columns.name = None
    for col in ("promoters", "passives", "detractors"):
        if col not in counts.columns:
            counts[col] = 0
    return counts[["promoters", "passives", "detractors"]].astype("int64")


def nps_by_group(df: pd.DataFrame, score_col: str, group_col: str, level: float = 0.95,
                 method: str = "adjusted-wald") -> pd.DataFrame:
    """Raw NPS per group, indexed by group: ``n`` (non-missing scores), ``p_promoter``,
    ``p_detractor``, ``nps`` (−100..100), ``se`` (trinomial) and the ``level`` interval
    ``lower``/``upper`` by ``method`` ("adjusted-wald" by default, or "wald")."""
    return nps_from_counts(nps_counts(df, score_col, group_col), level, method)


def nps_from_counts(counts: pd.DataFrame, level: float = 0.95, method: str = "adjusted-wald") -> pd.DataFrame:
    """``nps_by_group`` from counts already made (columns promoters, passives, detractors; one row per group)."""
    P, Pa, D = (counts[c].to_numpy() for c in ("promoters", "passives", "detractors"))
    n, p, d, score, se = nps_point(P, Pa, D)
    lower, upper = _nps_interval(P, Pa, D, level, method)
    return pd.DataFrame({"n": n.astype("int64"), "p_promoter": p, "p_detractor": d, "nps": score,
                         "se": se, "lower": lower, "upper": upper}, index=counts.index)
