"""Model frame and model matrices with R's conventions.

`model_frame` checks the caller's input (checks.py: the rules and their messages, before any
numerical work, as lme4's model-frame stage), selects the formula's columns, drops rows with
missing values (and counts them),
and turns text, boolean and `factor()` columns into factors with fixed level orders (pandas
categorical order if the column is categorical, sorted unique values otherwise; unused levels
dropped, as lme4's `drop.unused.levels`). `fixed_matrix` builds X with treatment contrasts
(first level is the reference) and R's column names and order (`dept5`, `Information2:Product3`).
`random_blocks` builds one `RandomBlock` per random term: the grouping factor's level codes and
the term's own model-matrix columns.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .checks import (
    ModelInputError,
    check_data,
    check_newdata,
    check_rows,
    check_weights,
    examples,
    is_factor,
    numbers_of,
)
from .formula import Formula, Term, TermList
from .membership import Membership, check_memberships


@dataclass
class FactorInfo:
    """Level order of a categorical variable; `codes` index into `levels`."""

    levels: list
    labels: list[str]


@dataclass
class ModelFrame:
    formula: Formula
    data: pd.DataFrame            # the rows used, only the formula's columns (+ weights)
    factors: dict[str, FactorInfo]
    codes: dict[str, np.ndarray]
    weights: np.ndarray | None
    n_dropped: int                # rows dropped for missing values
    row_index: pd.Index           # index labels (in the caller's data) of the rows used
    memberships: dict[str, Membership] = field(default_factory=dict)   # mm() terms' weights, rows used


@dataclass
class RandomBlock:
    """One random term `(terms | group)`: b_g ~ N(0, Σ) for each level g of the group."""

    group: str                    # grouping factor as written, e.g. 'team:agent'
    terms: list[str]              # names of the term's columns, e.g. ['(Intercept)', 'Days']
    codes: np.ndarray | None      # (n,) level index of each row (None: fitted from group statistics)
    levels: pd.Index              # level labels
    values: np.ndarray | None     # (n, k) the term's model-matrix columns (None as codes)
    source: str = ""
    membership: sp.csr_matrix | None = None   # mm() term: (n, levels) weights, rows sum to 1 (codes None)

    def row_effects(self, b: np.ndarray) -> np.ndarray:
        """Each row's random part z_i'b from the term's effects b ((levels, k) or level-major flat)."""
        b = np.asarray(b).reshape(self.n_levels, self.k)
        per_row = self.membership @ b if self.membership is not None else b[self.codes]
        return np.einsum("ij,ij->i", self.values, per_row)

    @property
    def k(self) -> int:
        return len(self.terms)

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def q(self) -> int:
        return self.k * self.n_levels


@dataclass
class FixedMatrix:
    X: np.ndarray
    names: list[str]
    dropped: list[str] = field(default_factory=list)
    term_of_column: list[str] = field(default_factory=list)   # term label for each kept column


def _factorise(series: pd.Series) -> tuple[np.ndarray, FactorInfo]:
    """Codes and levels with R's order; unused levels dropped."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        raw = series.cat.codes.to_numpy().astype(np.int64)
        categories = series.cat.categories
        used = np.bincount(raw, minlength=len(categories)) > 0
        remap = np.cumsum(used) - 1
        levels = list(categories[used])
        codes = remap[raw]
    elif pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=bool)
        present = [v for v in (False, True) if (values == v).any()]
        levels = present
        codes = np.searchsorted(np.array(present), values) if present else np.zeros(len(values), np.int64)
        return codes.astype(np.int64), FactorInfo(levels, ["TRUE" if v else "FALSE" for v in levels])
    else:
        codes, uniques = pd.factorize(series, sort=True)
        levels = list(uniques)
        codes = codes.astype(np.int64)
    return codes, FactorInfo(levels, [_label(v) for v in levels])


def _label(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def model_frame(formula: Formula, data: pd.DataFrame, weights=None, extra: tuple[str, ...] = (),
                family: str = "gaussian", membership=None) -> ModelFrame:
    """Select, check, clean and type the columns a formula needs. `family` ('gaussian', 'binomial'
    or 'ordinal') says which response the model takes; checks.py has the rules. `membership`: the
    weights of each mm() term (membership.py)."""
    needed = check_data(formula, data, weights, family)
    memberships = check_memberships(formula, data, membership)
    needed += [c for c in extra if c not in needed]
    frame = data[needed].copy()
    weights_name = None
    if weights is not None:
        frame["__weights__"] = check_weights(weights, data)
        weights_name = f"the weights column {weights!r}" if isinstance(weights, str) else "the weights argument"
    keep = frame.notna().all(axis=1).to_numpy()
    n_dropped = int((~keep).sum())
    if n_dropped:
        for g in dict.fromkeys(v for r in formula.random for v in r.group):
            before = pd.unique(frame[g].dropna())
            after = set(pd.unique(frame.loc[keep, g]))
            lost = [v for v in before if v not in after]
            if lost:
                warnings.warn(f"{len(lost)} level(s) of grouping factor {g!r} have no complete rows (their outcome "
                              f"or predictors are all missing) and are left out of the model: "
                              f"{', '.join(map(str, lost[:5]))}{' ...' if len(lost) > 5 else ''}",
                              MissingGroupWarning, stacklevel=3)
    frame = frame.loc[keep]
    memberships = {name: m.rows(np.flatnonzero(keep)) for name, m in memberships.items()}
    if len(frame) == 0:
        raise ModelInputError(f"no complete rows: every row has a missing value in one of {', '.join(needed)}"
                              + (" or the weights" if weights is not None else ""))
    check_rows(formula, frame, family, weights_name)
    w = frame.pop("__weights__").to_numpy(dtype=float) if "__weights__" in frame else None
    forced = formula.fixed.categorical | {v for r in formula.random for v in r.lhs.categorical}
    group_vars = {v for r in formula.random for v in r.group}
    factors, codes = {}, {}
    for v in needed:
        if v in formula.response:
            continue
        if is_factor(frame[v], v in forced or v in group_vars):
            codes[v], factors[v] = _factorise(frame[v])
    return ModelFrame(formula=formula, data=frame, factors=factors, codes=codes, weights=w,
                      n_dropped=n_dropped, row_index=frame.index, memberships=memberships)


def _term_columns(term: Term, frame: ModelFrame, present: set[frozenset], intercept: bool):
    """For each variable of the term: ('factor', codes, level positions, labels) or ('numeric', values)."""
    parts = []
    for v in term.variables:
        if v in frame.factors:
            info = frame.factors[v]
            rest = frozenset(term.variables) - {v}
            contrasts = (rest in present) if rest else intercept
            start = 1 if contrasts else 0
            idx = list(range(start, len(info.levels)))
            parts.append(("factor", v, frame.codes[v], idx, [f"{v}{info.labels[i]}" for i in idx]))
        else:
            values = pd.to_numeric(frame.data[v], errors="coerce").to_numpy(dtype=float)
            parts.append(("numeric", v, values, None, [v]))
    return parts


def term_matrix(terms: TermList, frame: ModelFrame) -> tuple[np.ndarray, list[str], list[str]]:
    """Model matrix of a term list (treatment contrasts, R naming). Returns (X, names, term labels)."""
    n = len(frame.data)
    present = {frozenset(t.variables) for t in terms.terms}
    plan = []                                   # (term label, parts, column names)
    if terms.intercept:
        plan.append(("(Intercept)", None, ["(Intercept)"]))
    for term in terms.terms:
        parts = _term_columns(term, frame, present, terms.intercept)
        names = [nm for nm, _ in _column_names(parts)]
        plan.append((term.label, parts, names))
    p = sum(len(names) for _, _, names in plan)
    X = np.zeros((n, p), dtype=float, order="F")
    names_out, owners = [], []
    j = 0
    for label, parts, names in plan:
        width = len(names)
        if parts is None:
            X[:, j] = 1.0
        elif len(parts) == 1 and parts[0][0] == "factor":
            _, _, codes, idx, _ = parts[0]
            col = codes - idx[0] if idx else codes
            rows = np.flatnonzero(col >= 0) if idx and idx[0] > 0 else np.arange(n)
            X[rows, j + col[rows]] = 1.0
        else:
            for k, col in enumerate(_columns_of_term(parts, n)):
                X[:, j + k] = col
        names_out += names
        owners += [label] * width
        j += width
    return X, names_out, owners


def _column_names(parts):
    """Column names of a term in R's order (first variable fastest)."""
    combos = [()]
    for part in parts:
        combos = [prefix + (c,) for c in range(len(part[4])) for prefix in combos]
    return [(":".join(part[4][c] for part, c in zip(parts, combo)), combo) for combo in combos]


def _columns_of_term(parts, n: int):
    """Yield the term's columns in R's order (first variable fastest)."""
    for _, combo in _column_names(parts):
        col = np.ones(n)
        for part, c in zip(parts, combo):
            kind, v, data, idx, labels = part
            col = col * (data == idx[c]) if kind == "factor" else col * data
        yield col


def fixed_matrix(frame: ModelFrame, tol: float = 1e-7) -> FixedMatrix:
    """X for the fixed part; rank-deficient columns are dropped with a warning naming them (as lme4)."""
    X, names, owners = term_matrix(frame.formula.fixed, frame)
    keep = full_rank_columns(X, tol)
    dropped = [nm for nm, k in zip(names, keep) if not k]
    if dropped:
        warnings.warn(f"fixed-effect model matrix is rank deficient so dropping {len(dropped)} "
                      f"column{'s' if len(dropped) > 1 else ''} / coefficient{'s' if len(dropped) > 1 else ''}: "
                      f"{', '.join(dropped)}", RankDeficiencyWarning, stacklevel=3)
        X = np.asfortranarray(X[:, keep])
        names = [nm for nm, k in zip(names, keep) if k]
        owners = [o for o, k in zip(owners, keep) if k]
    return FixedMatrix(X=X, names=names, dropped=dropped, term_of_column=owners)


class RankDeficiencyWarning(UserWarning):
    pass


class MissingGroupWarning(UserWarning):
    pass


def full_rank_columns(X: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Which columns to keep: a column is dropped when its part orthogonal to the columns before it
    has norm below tol × its own norm (the rule of R's LINPACK qr used by lme4).

    The Cholesky factor of X'X gives those residual norms cheaply; when every ratio is far above
    tol (≥ 1e-4) that settles it, otherwise the exact Householder QR of X decides."""
    p = X.shape[1]
    if p == 0:
        return np.zeros(0, bool)
    XtX = X.T @ X
    norms2 = np.diag(XtX).copy()
    try:
        R = np.linalg.cholesky(XtX)
        ratio2 = np.diag(R) ** 2 / np.where(norms2 > 0, norms2, 1.0)
        if np.all(norms2 > 0) and np.all(ratio2 > 1e-8):
            return np.ones(p, bool)
    except np.linalg.LinAlgError:
        pass
    norms = np.sqrt(norms2)
    keep = norms > 0
    while True:
        idx = np.flatnonzero(keep)
        if len(idx) == 0:
            return keep
        R = np.linalg.qr(X[:, idx], mode="r")
        d = np.abs(np.diag(R))                  # min(n, p) entries: with more columns than rows,
        bad = np.r_[d < tol * norms[idx[:len(d)]], np.ones(len(idx) - len(d), bool)]   # the rest are aliased
        if not bad.any():
            return keep
        keep[idx[np.argmax(bad)]] = False       # drop the first deficient column, then recheck


def random_blocks(frame: ModelFrame) -> list[RandomBlock]:
    """One RandomBlock per random term, in formula order."""
    blocks = []
    for rt in frame.formula.random:
        if rt.membership:
            blocks.append(_membership_block(rt, frame))
            continue
        if len(rt.group) == 1:
            codes = frame.codes[rt.group[0]]
            info = frame.factors[rt.group[0]]
            levels = pd.Index(info.labels, name=rt.group_label)
        else:
            sizes = [len(frame.factors[g].levels) for g in rt.group]
            combined = np.zeros(len(frame.data), dtype=np.int64)
            for g, size in zip(rt.group, sizes):
                combined = combined * size + frame.codes[g]
            uniq, codes = np.unique(combined, return_inverse=True)
            labels = []
            for u in uniq:
                parts = []
                for g, size in zip(reversed(rt.group), reversed(sizes)):
                    parts.append(frame.factors[g].labels[u % size])
                    u //= size
                labels.append(":".join(reversed(parts)))
            levels = pd.Index(labels, name=rt.group_label)
        if len(levels) < 2:
            raise ModelInputError(f"the grouping factor {rt.group_label!r} in {rt.source} has only "
                             f"{len(levels)} level; a random effect needs at least 2 levels")
        values, names, _ = term_matrix(rt.lhs, frame)
        blocks.append(RandomBlock(group=rt.group_label, terms=names, codes=np.asarray(codes, dtype=np.int64),
                                  levels=levels, values=np.ascontiguousarray(values), source=rt.source))
    return blocks


def _membership_block(rt, frame: ModelFrame) -> RandomBlock:
    """The RandomBlock of `(lhs | mm(g))`: the weights matrix in place of level codes."""
    m = frame.memberships[rt.membership]
    if len(m.levels) < 2:
        raise ModelInputError(f"the grouping factor {rt.group_label!r} in {rt.source} has only "
                              f"{len(m.levels)} level; a random effect needs at least 2 levels")
    values, names, _ = term_matrix(rt.lhs, frame)
    return RandomBlock(group=rt.group_label, terms=names, codes=None, levels=pd.Index(m.levels, name=rt.group_label),
                       values=np.ascontiguousarray(values), source=rt.source, membership=m.matrix)


def response_vector(frame: ModelFrame) -> np.ndarray:
    """The response as floats (a model frame of family 'gaussian' has checked it is one numeric column)."""
    return numbers_of(frame.data[frame.formula.response[0]]).to_numpy(dtype=float)


def newdata_matrices(frame: ModelFrame, fixed: FixedMatrix, blocks: list[RandomBlock], newdata: pd.DataFrame,
                     allow_new_levels: bool = False):
    """X and, per random term, (level codes, term columns) for new rows, using the fit's factor
    levels. Unknown levels of a fixed-effect factor always raise; of a grouping factor they raise
    unless allow_new_levels, and get code −1 (no random effect)."""
    formula = frame.formula
    group_vars = {v for r in formula.random for v in r.group}
    sub = check_newdata(formula, frame.factors, newdata)
    codes = {}
    for v, info in frame.factors.items():
        if v not in sub.columns:
            continue
        by_label = {lab: i for i, lab in enumerate(info.labels)}
        row_codes, uniques = pd.factorize(sub[v])           # label each distinct value once
        lookup = np.array([by_label.get(_label(u), -1) for u in uniques] + [-1], dtype=np.int64)
        c = lookup[row_codes]                                # code −1 (missing) picks the trailing −1
        unknown = c < 0
        if unknown.any() and (v not in group_vars or not allow_new_levels):
            found = examples(sub[v][unknown])
            what = "grouping factor" if v in group_vars else "factor"
            hint = " (use allow_new_levels=True to predict them with a zero random effect)" if v in group_vars else ""
            raise ModelInputError(f"newdata has levels of {what} {v!r} that were not in the fitted data: {found}{hint}")
        codes[v] = c
    nf = ModelFrame(formula=formula, data=sub, factors=frame.factors, codes=codes, weights=None,
                    n_dropped=0, row_index=sub.index)
    X_all, names, _ = term_matrix(formula.fixed, nf)
    position = {nm: j for j, nm in enumerate(names)}
    X = X_all[:, [position[nm] for nm in fixed.names]]
    groups = []
    for rt, blk in zip(formula.random, blocks):
        if rt.membership:                       # new rows have no weights: no random effect (see results)
            gc = np.full(len(sub), -1, dtype=np.int64)
        elif len(rt.group) == 1:
            gc = codes[rt.group[0]]
        else:
            parts = []
            for g in rt.group:
                info = frame.factors[g]
                labs = np.array(info.labels, dtype=object)
                cg = codes[g]
                parts.append(np.where(cg >= 0, labs[np.maximum(cg, 0)], sub[g].map(_label).to_numpy()))
            combined = pd.Index([":".join(map(str, t)) for t in zip(*parts)])
            gc = blk.levels.get_indexer(combined).astype(np.int64)
            if (gc < 0).any() and not allow_new_levels:
                raise ModelInputError(f"newdata has levels of grouping factor {blk.group!r} that were not in the "
                                      f"fitted data: {examples(combined[gc < 0])} (use allow_new_levels=True to "
                                      "predict them with a zero random effect)")
        values, _, _ = term_matrix(rt.lhs, nf)
        groups.append((gc, values))
    return X, groups
