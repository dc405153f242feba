"""Who answers the survey: a response-propensity model (logistic regression on contact features),
inverse-propensity weights, Kish's effective n and the Mann–Whitney AUC."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import as_binary, as_numbers, shown_values


def mann_whitney_auc(score: Any, label: Any) -> float:
    """Area under the ROC curve = P(score of a random positive > score of a random negative), ties
    counted ½, from the Mann–Whitney U statistic with mid-ranks: (R₁ − n₁(n₁ + 1)/2)/(n₁ n₀)."""
    s = np.asarray(score, dtype=float)
    y = np.asarray(label, dtype=float)
    n1, n0 = int(np.sum(y == 1)), int(np.sum(y == 0))
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = stats.rankdata(s)
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@dataclass
class PropensityModel:
    """A fitted response-propensity model (logistic regression of responded on contact features).

    ``propensity``: fitted P(respond | features) per row of the frame. ``weights``: inverse-propensity
    weights 1/propensity for responders, NaN for non-responders. ``coef_table``: one row per term
    (estimate and std_error on the log-odds scale, Wald z, two-sided p_value, odds_ratio = exp
    estimate). ``auc``: in-sample discrimination (Mann–Whitney form). ``effective_n``: Kish
    effective number of responders under the weights.
    """

    result: Any
    propensity: pd.Series
    weights: pd.Series
    coef_table: pd.DataFrame
    auc: float
    features: list[str]
    design_columns: list[str]

    @property
    def effective_n(self) -> float:
        return kish_effective_n(self.weights)

    def summary(self):
        return self.result.summary()


def response_propensity(frame: pd.DataFrame, responded_col: str, features: Sequence[str],
                        seed: int | None = None) -> PropensityModel:
    """Logistic regression (statsmodels GLM, Binomial family, logit link) of ``responded_col``
    (0/1 or boolean) on ``features``. Text/categorical features are one-hot encoded with
    ``pandas.get_dummies(drop_first=True)`` (terms named ``feature_level``; the first level —
    alphabetical for text, category order for categoricals — is the reference); boolean features
    enter as 0/1 and numeric features as they are; an ``Intercept`` is added. Missing feature
    values raise ValueError naming the column.

    ``seed`` is accepted for interface compatibility and not used: the fit and the AUC are
    deterministic.
    """
    from statsmodels.genmod.api import GLM, families

    features = list(features)
    missing_cols = [c for c in [responded_col, *features] if c not in frame.columns]
    if missing_cols:
        raise ValueError(f"column(s) not in the data frame: {', '.join(map(repr, missing_cols))}")
    y = as_binary(frame[responded_col], responded_col)
    for col in features:
        if frame[col].isna().any():
            rows = list(frame.index[frame[col].isna()][:5])
            raise ValueError(f"column {col!r} has {int(frame[col].isna().sum())} missing value(s) "
                             f"(rows {', '.join(map(str, rows))}); propensity features must be complete")
    X = propensity_design(frame, features)
    result = GLM(y, X, family=families.Binomial()).fit()
    p = pd.Series(np.asarray(result.fittedvalues, dtype=float), index=frame.index, name="propensity")
    weights = pd.Series(np.where(y == 1, 1 / p.to_numpy(), np.nan), index=frame.index, name="weight")
    params, bse = result.params, result.bse
    table = pd.DataFrame({"term": list(X.columns), "estimate": params.to_numpy(),
                          "std_error": bse.to_numpy(), "z": (params / bse).to_numpy(),
                          "p_value": result.pvalues.to_numpy(), "odds_ratio": np.exp(params.to_numpy())})
    return PropensityModel(result=result, propensity=p, weights=weights, coef_table=table,
                           auc=mann_whitney_auc(p.to_numpy(), y), features=features,
                           design_columns=list(X.columns))


def propensity_design(frame: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """The design of ``response_propensity``: an Intercept, booleans as 0/1, text and categorical features
    dummy-coded ``feature_level`` with the first level the reference, numbers as they are."""
    X = frame[list(features)].copy()
    for col in features:
        if pd.api.types.is_bool_dtype(X[col].dtype) or X[col].dtype == object and X[col].map(type).eq(bool).all():
            X[col] = X[col].astype("float64")
    X = pd.get_dummies(X, drop_first=True, dtype="float64").astype("float64")
    X.insert(0, "Intercept", 1.0)
    return X


def cell_auc(p: Any, positives: Any, negatives: Any) -> float:
    """``mann_whitney_auc`` of rows counted in cells: cell i's `positives` and `negatives` rows all score p_i;
    P(a positive outranks a negative), ties (equal scores) counted ½."""
    frame = pd.DataFrame({"p": np.asarray(p, float), "pos": np.asarray(positives, float),
                          "neg": np.asarray(negatives, float)}).groupby("p", sort=True).sum()
    n1, n0 = float(frame["pos"].sum()), float(frame["neg"].sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    below = frame["neg"].cumsum() - frame["neg"]
    return float((frame["pos"] * (below + 0.5 * frame["neg"])).sum() / (n1 * n0))


def cell_propensity(cells: pd.DataFrame, features: Sequence[str], n: str = "n", o: str = "o") -> PropensityModel:
    """``response_propensity`` fitted on counts: one row per combination of `features` (complete) with `n` rows,
    `o` of them responding. The binomial GLM on the counts has the rows' likelihood, so the same estimates,
    standard errors and p-values (fitted to a deviance change of 1e-12, so that SEs agree to 1e-12 whatever the
    grouping); ``propensity`` and ``weights`` (1/p̂) are per cell, the AUC is the rows' (``cell_auc``). Its
    ``effective_n`` is the cells' weights' own: the replies' Kish n needs each weight counted `o` times."""
    from statsmodels.genmod.api import GLM, families

    features = list(features)
    X = propensity_design(cells, features)
    counts, hits = cells[n].to_numpy(float), cells[o].to_numpy(float)
    result = GLM(np.column_stack([hits, counts - hits]), X, family=families.Binomial()).fit(tol=1e-12)
    p = pd.Series(np.asarray(result.mu, dtype=float), index=cells.index, name="propensity")   # 1 cell: no wrapper
    params, bse = result.params, result.bse
    table = pd.DataFrame({"term": list(X.columns), "estimate": params.to_numpy(),
                          "std_error": bse.to_numpy(), "z": (params / bse).to_numpy(),
                          "p_value": result.pvalues.to_numpy(), "odds_ratio": np.exp(params.to_numpy())})
    return PropensityModel(result=result, propensity=p, weights=(1 / p).rename("weight"), coef_table=table,
                           auc=cell_auc(p.to_numpy(), hits, counts - hits), features=features,
                           design_columns=list(X.columns))


def kish_effective_n(weights: Any) -> float:
    """Kish's effective sample size (Σw)²/Σw² of a set of weights, ignoring NaN: the number of
    equally weighted observations that would give the same variance of a weighted mean."""
    w = as_numbers(weights, "weights")
    w = w[~np.isnan(w)]
    if (w < 0).any() or np.isinf(w).any():
        bad = w[(w < 0) | np.isinf(w)]
        raise ValueError(f"weights must be finite and >= 0; offending value(s): {shown_values(bad)}")
    total_sq = float(np.sum(w ** 2))
    return float(np.sum(w) ** 2 / total_sq) if total_sq > 0 else float("nan")


