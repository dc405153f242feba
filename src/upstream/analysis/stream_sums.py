"""Per-agent sufficient statistics of `y ~ X + (1 | agent_id)` accumulated over batches of rows streamed from a
SQL engine, for models whose response or columns are computed in Python (a sentiment score) or are numeric
(log2 of a credit): per agent n, X'1, X'y, 1'y, y'y and the total X'X — what ``lmer_from_stats`` needs to give
the same REML fit as ``lmer`` on the rows. Only these sums are kept between batches.

A design column is None (the intercept), (variable, level) (a treatment dummy of a factor) or (name, None) (a
numeric column of the batch)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..models import ColumnTerms, GroupStats
from ..survey.constants import AGENT


def factor_design(levels: dict, numeric=()) -> tuple[list, list]:
    """(names, columns): the intercept, the `numeric` columns in order, then a dummy for every non-reference
    level of each factor (`levels`: variable → labels, reference first) — lmer's column names."""
    names, columns = ["(Intercept)", *numeric], [None, *((n, None) for n in numeric)]
    for var, labels in levels.items():
        for lab in labels[1:]:
            names.append(f"{var}{lab}")
            columns.append((var, lab))
    return names, columns


def design_matrix(batch: pd.DataFrame, columns: list) -> np.ndarray:
    """X of a batch for the design `columns`."""
    X = np.ones((len(batch), len(columns)))
    for k, col in enumerate(columns):
        if col is None:
            continue
        var, lab = col
        X[:, k] = batch[var].to_numpy(float) if lab is None else (batch[var].to_numpy(object) == lab)
    return X


@dataclass
class AgentSums:
    """Per-agent sums of one design over the batches added so far."""

    names: list
    columns: list
    agents: pd.DataFrame | None = None        # per agent: n, s0…, t0… (X'1, X'y), sy, yty
    xtx: np.ndarray = field(default=None)

    def __post_init__(self):
        if self.xtx is None:
            self.xtx = np.zeros((len(self.names), len(self.names)))

    def add(self, batch: pd.DataFrame, y: np.ndarray) -> None:
        """Add the rows of `batch` (its agent_id and the design's columns) with responses `y`."""
        X = design_matrix(batch, self.columns)
        p = len(self.columns)
        parts = {"n": np.ones(len(y)), **{f"s{k}": X[:, k] for k in range(p)},
                 **{f"t{k}": X[:, k] * y for k in range(p)}, "sy": y, "yty": y * y}
        grouped = pd.DataFrame(parts).groupby(batch[AGENT].astype(str).to_numpy()).sum()
        self.agents = grouped if self.agents is None else self.agents.add(grouped, fill_value=0.0)
        self.xtx += X.T @ X

    @property
    def n(self) -> int:
        return 0 if self.agents is None else int(self.agents["n"].sum())

    def group_stats(self, response: str, levels: dict, level_counts: dict, keep=None) -> GroupStats:
        """GroupStats of the columns `keep` (default all), agents sorted as text; `levels`/`level_counts` of the
        factors kept (for ``ColumnTerms``)."""
        keep = list(range(len(self.names))) if keep is None else list(keep)
        a = self.agents.sort_index()
        terms = ColumnTerms(tuple("(Intercept)" if self.columns[k] is None else self.columns[k][0] for k in keep),
                            {v: tuple(lv) for v, lv in levels.items()},
                            {v: tuple(level_counts[v]) for v in levels})
        return GroupStats(levels=a.index.to_numpy(object), names=[self.names[k] for k in keep],
                          n=a["n"].to_numpy(np.int64), s=a[[f"s{k}" for k in keep]].to_numpy(float), xtx=None,
                          xty=a[[f"t{k}" for k in keep]].to_numpy(float), sy=a["sy"].to_numpy(float),
                          yty=a["yty"].to_numpy(float), group=AGENT, response=response,
                          xtx_sum=self.xtx[np.ix_(keep, keep)], terms=terms)
