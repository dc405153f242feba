"""Multiple-membership random terms: a row (a contact) shares one random effect among several levels.

`(1 | mm(agent_id))` gives row i the random part Σ_g w_ig b_g, with weights w_ig ≥ 0 that sum to 1
over the levels g the row belongs to (brms's `mm()`, MLwiN's multiple-membership models). In lme4's
terms the term's rows of Zt are the weighted membership matrix instead of 0/1 indicators; with one
level per row (every weight 1) the model is the ordinary `(1 | agent_id)`.

The weights come from the caller, `lmer(formula, data, membership={"agent_id": m})`, where `m` is

- a `Membership` (a sparse rows × levels matrix aligned with the data's rows, and the level labels),
  e.g. from `membership_from_table`, or
- a long table (DataFrame) with columns `contact_id`, `agent_id`, `weight` — one row per (row, level);
  `key` names the data column that matches `contact_id` (default `contact_id`): see
  `membership_from_table`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .checks import ModelInputError, examples

WEIGHT_SUM_TOL = 1e-6


@dataclass
class Membership:
    """Weights of each data row over the levels of a multiple-membership term."""

    matrix: sp.csr_matrix         # (rows of the data) × (levels); each row sums to 1
    levels: pd.Index              # level labels, in column order

    def rows(self, positions: np.ndarray) -> "Membership":
        """The rows at `positions`, with levels that keep no weight dropped (as drop.unused.levels)."""
        sub = self.matrix[positions].tocsc()
        used = np.diff(sub.indptr) > 0
        return Membership(sub[:, np.flatnonzero(used)].tocsr(), self.levels[used])


def membership_from_table(data: pd.DataFrame, table: pd.DataFrame, key: str = "contact_id",
                          group: str = "agent_id", weight: str = "weight", name: str = "membership") -> Membership:
    """A `Membership` aligned with `data`'s rows from a long table (`key`, `group`, `weight`), e.g. the
    canonical `contact_agents` table. Levels are sorted as R sorts a factor's levels."""
    for col in (key, group, weight):
        if col not in table.columns:
            raise ModelInputError(f"{name}: the column {col!r} is missing (it needs {key!r}, {group!r}, {weight!r})")
    if key not in data.columns:
        raise ModelInputError(f"{name}: the data have no column {key!r} to match the weights' {key!r}")
    w = pd.to_numeric(table[weight], errors="coerce")
    bad = table[weight][~np.isfinite(w.to_numpy(dtype=float)) | (w.to_numpy(dtype=float) < 0)]
    if len(bad):
        raise ModelInputError(f"{name}: column {weight!r} must be a number ≥ 0; found {examples(bad)}")
    key_codes = pd.Index(data[key]).get_indexer(table[key])
    if pd.Index(data[key]).has_duplicates:
        raise ModelInputError(f"{name}: the data's column {key!r} must identify each row once; repeated: "
                              f"{examples(data[key][data[key].duplicated()])}")
    unknown = key_codes < 0
    if unknown.any():
        raise ModelInputError(f"{name}: {int(unknown.sum())} weight row(s) name a {key!r} that is not in the "
                              f"data: {examples(table[key][unknown])}")
    group_codes, levels = pd.factorize(table[group], sort=True)
    if (group_codes < 0).any():
        raise ModelInputError(f"{name}: column {group!r} has missing values")
    matrix = sp.csr_matrix((w.to_numpy(dtype=float), (key_codes, group_codes)), shape=(len(data), len(levels)))
    matrix.sum_duplicates()
    return Membership(matrix, pd.Index([str(v) for v in levels], name=group))


def check_memberships(formula, data: pd.DataFrame, membership) -> dict[str, Membership]:
    """Each mm() term's `Membership`, checked: given, one row per data row, weights ≥ 0 summing to 1."""
    wanted = [r.membership for r in formula.random if r.membership]
    membership = membership or {}
    if not isinstance(membership, dict):
        raise ModelInputError("membership must be a dict {name in mm(): Membership or weights table}; "
                              f"got {type(membership).__name__}")
    extra = [k for k in membership if k not in wanted]
    if extra:
        raise ModelInputError(f"membership names {examples(pd.Series(extra))} but the formula "
                              f"{formula.text!r} has no mm() term of that name")
    out = {}
    for name in wanted:
        if name not in membership:
            raise ModelInputError(f"the formula's term mm({name}) needs its weights: "
                                  f"lmer(..., membership={{{name!r}: weights}})")
        m = membership[name]
        if isinstance(m, pd.DataFrame):
            m = membership_from_table(data, m, group=name if name in m.columns else "agent_id",
                                      name=f"membership[{name!r}]")
        if not isinstance(m, Membership):
            raise ModelInputError(f"membership[{name!r}] must be a Membership or a table with columns "
                                  f"contact_id, agent_id, weight; got {type(m).__name__}")
        matrix = sp.csr_matrix(m.matrix, dtype=float)
        if matrix.shape != (len(data), len(m.levels)):
            raise ModelInputError(f"membership[{name!r}] has shape {matrix.shape}; it needs one row per data row "
                                  f"and one column per level: ({len(data)}, {len(m.levels)})")
        if not np.all(np.isfinite(matrix.data)) or (matrix.data < 0).any():
            raise ModelInputError(f"membership[{name!r}]: weights must be finite numbers ≥ 0")
        sums = np.asarray(matrix.sum(axis=1)).ravel()
        off = np.flatnonzero(np.abs(sums - 1.0) > WEIGHT_SUM_TOL)
        if len(off):
            shown = ", ".join(f"row {data.index[i]!r}: {sums[i]:.4g}" for i in off[:5])
            raise ModelInputError(f"membership[{name!r}]: each row's weights must sum to 1; {len(off)} row(s) do "
                                  f"not ({shown}{' ...' if len(off) > 5 else ''})")
        out[name] = Membership(matrix, pd.Index(m.levels, name=name))
    return out
