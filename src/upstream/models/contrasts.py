"""Questions about the fixed effects of a fitted model, asked in the model's own terms (formula terms
and factor levels) so that callers never rebuild column names or read engine internals:

- `term_columns(fit, term)`: the fixed-effect columns a formula term produced (aliased ones excluded);
- `wald_test(fit, term)`: the joint Wald χ² test that a term has no effect;
- `level_contrasts(fit, variable, weights)`: each level of a factor against a weighted average of its
  levels ("the average contact"), holding the other terms fixed, with Satterthwaite (or the fit's) df;
- `fixed_design(fit, newdata)`: the fixed-effect model matrix of new rows (for predictions and
  marginal effects over a population of contacts).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .design import newdata_matrices


def _stats_terms(fit):
    """The ColumnTerms of a fit from group statistics that came with them (None otherwise)."""
    stats = getattr(getattr(fit, "structure", None), "stats", None)
    return getattr(stats, "terms", None)


def _need_formula(fit) -> None:
    if fit.frame is None and _stats_terms(fit) is None:
        raise ValueError("this model was fitted from group statistics alone: it has fixed-effect columns "
                         f"({', '.join(list(fit.fixef.index)[:4])}, ...) but no formula terms or factor levels; "
                         "test columns with fit.contrast(L) or fit.wald_test([column names])")


def _term_labels(fit) -> set[str]:
    if fit.frame is not None:
        return {t.label for t in fit.frame.formula.fixed.terms}
    terms = _stats_terms(fit)
    return set(terms.term_of_column) | set(terms.factors)


def term_columns(fit, term: str) -> list[str]:
    """Names of the fixed-effect columns that belong to formula term `term` (e.g. "policy")."""
    _need_formula(fit)
    owners = fit.fixed.term_of_column
    if term not in owners and term not in _term_labels(fit):
        raise KeyError(f"{term!r} is not a fixed-effect term of {fit.formula!r}")
    return [name for name, owner in zip(fit.fixed.names, owners) if owner == term]


def fixed_terms(fit) -> list[str]:
    """The fixed-effect terms with at least one estimable column, in formula order (no intercept)."""
    seen: list[str] = []
    for owner in fit.fixed.term_of_column:
        if owner != "(Intercept)" and owner not in seen:
            seen.append(owner)
    return seen


def wald_test(fit, term: str | list[str]) -> float:
    """p-value of the joint Wald χ² test that every column of `term` (a term label, or a list of column
    names) is zero; NaN when the term has no estimable column."""
    columns = term_columns(fit, term) if isinstance(term, str) else list(term)
    if not columns:
        return float("nan")
    b = fit.fixef[columns].to_numpy()
    V = fit.vcov.loc[columns, columns].to_numpy()
    stat = float(b @ np.linalg.solve(V, b))
    return float(stats.chi2.sf(stat, len(columns)))


def factor_names(fit) -> list[str]:
    """The categorical variables of the fit (fixed and grouping factors), in the model frame's order."""
    _need_formula(fit)
    return list(fit.frame.factors) if fit.frame is not None else list(_stats_terms(fit).factors)


def factor_levels(fit, variable: str) -> list[str]:
    """The levels (as text labels) of a categorical variable of the fit, reference level first."""
    _need_formula(fit)
    factors = ({v: f.labels for v, f in fit.frame.factors.items()} if fit.frame is not None
               else _stats_terms(fit).factors)
    if variable not in factors:
        raise KeyError(f"{variable!r} is not a categorical variable of {fit.formula!r}")
    return list(factors[variable])


def level_columns(fit, variable: str) -> dict[str, str | None]:
    """For each level of factor `variable`, the fixed-effect column that is 1 for it (treatment
    contrasts): None for the reference level; levels whose column was aliased are left out."""
    labels = factor_levels(fit, variable)
    owned = set(term_columns(fit, variable))
    out: dict[str, str | None] = {labels[0]: None}
    out.update({lab: f"{variable}{lab}" for lab in labels[1:] if f"{variable}{lab}" in owned})
    return out


def level_counts(fit, variable: str) -> pd.Series:
    """Rows of the fit at each level of `variable` (levels as labels)."""
    labels = factor_levels(fit, variable)
    if fit.frame is None:
        return pd.Series(np.asarray(_stats_terms(fit).level_counts[variable], dtype=np.int64), index=labels, name="n")
    counts = np.bincount(fit.frame.codes[variable], minlength=len(labels))
    return pd.Series(counts, index=labels, name="n")


def level_weights(fit, variable: str, weights: pd.Series | None = None) -> pd.Series:
    """The weights of `level_contrasts`: `weights` (default: the fit's row counts) over the estimable levels of
    `variable` (the reference level and those whose column was not dropped as aliased), summing to 1."""
    labels = factor_levels(fit, variable)
    owned = term_columns(fit, variable)
    estimable = [labels[0]] + [lab for lab in labels[1:] if f"{variable}{lab}" in owned]
    w = level_counts(fit, variable).astype(float) if weights is None else pd.Series(weights, dtype=float)
    w = w.reindex(estimable).fillna(0.0)
    if w.sum() <= 0:
        raise ValueError(f"level_contrasts: no weight on any estimable level of {variable!r}")
    return w / w.sum()


def level_contrast_matrix(fit, variable: str, weights: pd.Series | None = None) -> pd.DataFrame:
    """The contrast vectors of `level_contrasts`: one row per estimable level of `variable`, one column
    per fixed effect, so that row l times β is level l minus the weighted average of the levels
    (``level_weights``)."""
    labels = factor_levels(fit, variable)
    names = list(fit.fixef.index)
    w = level_weights(fit, variable, weights)
    estimable = list(w.index)
    column = {lab: f"{variable}{lab}" for lab in estimable[1:]}
    avg = np.zeros(len(names))
    for lab, share in w.items():
        if lab != labels[0]:
            avg[names.index(column[lab])] += share
    rows = {}
    for lab in estimable:
        L = -avg.copy()
        if lab != labels[0]:
            L[names.index(column[lab])] += 1.0
        rows[lab] = L
    out = pd.DataFrame.from_dict(rows, orient="index", columns=names)
    out.index.name = variable
    return out


def level_contrasts(fit, variable: str, weights: pd.Series | None = None, ddf: str | None = None) -> pd.DataFrame:
    """Each level of factor `variable` against the weighted average of its levels.

    The contrast of level l is β_l − Σ_m w_m β_m (β of the reference level = 0): the difference in
    expected outcome between rows at level l and rows spread over the levels in proportions w, with
    every other term held fixed. `weights` (indexed by level label; default: the fit's own row counts)
    are renormalised over the estimable levels. A level whose column was dropped as aliased with other
    terms is not estimable: its row is NaN with `estimable` False, and it gets no weight.
    Columns: estimate, std_error, df, t, p_value, estimable, weight."""
    labels = factor_levels(fit, variable)
    Ls = level_contrast_matrix(fit, variable, weights)
    w = level_weights(fit, variable, weights)
    rows = []
    for lab in labels:
        if lab not in Ls.index:
            rows.append({"estimate": np.nan, "std_error": np.nan, "df": np.nan, "t": np.nan, "p_value": np.nan,
                         "estimable": False, "weight": 0.0})
            continue
        test = fit.contrast(Ls.loc[lab].to_numpy(), ddf=ddf)
        rows.append({**test.to_dict(), "estimable": True, "weight": float(w[lab])})
    out = pd.DataFrame(rows, index=pd.Index(labels, name=variable))
    out["estimable"] = out["estimable"].astype(bool)
    return out


def fixed_design(fit, newdata: pd.DataFrame) -> pd.DataFrame:
    """X for `newdata` with the fit's columns (levels unseen by a grouping factor are allowed; unseen
    levels of a fixed-effect factor raise, naming them)."""
    blocks = getattr(fit, "blocks", None) or [fit.block]
    X, _ = newdata_matrices(fit.frame, fit.fixed, blocks, newdata, allow_new_levels=True)
    return pd.DataFrame(X, index=newdata.index, columns=list(fit.fixed.names))


class FixedEffectQuestions:
    """Methods every fitted model (lmer, glmer, clmm) offers about its fixed effects, in the model's
    own terms; they rely on `fixef`, `vcov`, `contrast(L)` and the model frame."""

    def _need_rows(self, what: str) -> None:          # models fitted from group sums override this
        return None

    @property
    def rows(self) -> pd.Index:
        """Row labels (in the caller's data) of the rows the fit used (rows with missing values are left out)."""
        self._need_rows("row labels")
        return self.frame.row_index

    @property
    def model_matrix(self) -> pd.DataFrame:
        """The fixed-effect model matrix X of the rows used (named columns, the caller's row labels)."""
        self._need_rows("the model matrix")
        return pd.DataFrame(self.fixed.X, index=self.frame.row_index, columns=list(self.fixef.index))

    def term_columns(self, term: str) -> list[str]:
        """Fixed-effect column names produced by formula term `term` (aliased columns excluded)."""
        return term_columns(self, term)

    @property
    def fixed_terms(self) -> list[str]:
        """Fixed-effect terms with an estimable column, in formula order (no intercept)."""
        return fixed_terms(self)

    def wald_test(self, term) -> float:
        """p-value of the joint Wald χ² test that a term (or a list of columns) has no effect."""
        return wald_test(self, term)

    def factor_names(self) -> list[str]:
        """The categorical variables of the fit."""
        return factor_names(self)

    def factor_levels(self, variable: str) -> list[str]:
        """Levels of a categorical variable, reference first."""
        return factor_levels(self, variable)

    def level_counts(self, variable: str) -> pd.Series:
        """Rows of the fit at each level of a categorical variable."""
        return level_counts(self, variable)

    def level_columns(self, variable: str) -> dict[str, str | None]:
        """Level → its fixed-effect column (None for the reference level; aliased levels left out)."""
        return level_columns(self, variable)

    def level_contrasts(self, variable: str, weights: pd.Series | None = None, ddf: str | None = None) -> pd.DataFrame:
        """Each level of `variable` against the weighted average of its levels (see level_contrasts)."""
        return level_contrasts(self, variable, weights, ddf)

    def level_contrast_matrix(self, variable: str, weights: pd.Series | None = None) -> pd.DataFrame:
        """The contrast vectors behind `level_contrasts` (levels × fixed effects)."""
        return level_contrast_matrix(self, variable, weights)

    def fixed_design(self, newdata: pd.DataFrame) -> pd.DataFrame:
        """The fixed-effect model matrix of new rows, with this fit's columns."""
        return fixed_design(self, newdata)


class WaldContrasts:
    """`contrast(L)` for models fitted by maximum likelihood without a df method (glmer, clmm): the
    Wald z test of L'β = 0 with the covariance of the fixed effects."""

    def contrast(self, L, ddf: str | None = None) -> pd.Series:
        L = np.asarray(L, dtype=float)
        names = list(self.fixef.index)
        est = float(L @ self.fixef.to_numpy())
        var = float(L @ self.vcov.loc[names, names].to_numpy() @ L)
        z = est / np.sqrt(var)
        return pd.Series({"estimate": est, "std_error": np.sqrt(var), "df": np.inf, "t": z,
                          "p_value": 2 * stats.norm.sf(abs(z))})
