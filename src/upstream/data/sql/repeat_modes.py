"""The repeat model's agent effects at scale, asked in SQL over `metric_rows` (``analysis.repeat_modes`` uses
them): the agent × cell count per agent, and for each Newton iteration per agent Σ(y − p) and Σ p(1 − p) with
p = expit(x'β̂ + b_agent) — x'β̂ written in SQL (``metric_sums.linear_prediction``), the agents' current modes
b joined from a registered table of per-agent numbers — and the period change averaged over the last period's
contacts. Only per-agent numbers (and single sums) come back, never a row per contact or per cell.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...survey.constants import AGENT
from .metric_sums import METRIC_ROWS, Design, linear_prediction

#: The registered table of the agents' current modes (mode_agent: id as text, mode_value: log odds).
MODES = "repeat_agent_modes"


def _i(ds, name: str) -> str:
    return ds.engine.dialect.ident(name)


def cells_per_agent(ds, factors, where: str) -> pd.Series:
    """Per agent (id as text, sorted): its cells of agent × `factors` among the rows of `metric_rows` meeting
    `where` (what the repeat model's binomial cells would number)."""
    keys = ", ".join(_i(ds, c) for c in (AGENT, *factors))
    rows = ds.engine.rows(f"SELECT a, count(*) FROM (SELECT {_i(ds, AGENT)} AS a FROM {METRIC_ROWS} WHERE {where} "
                          f"GROUP BY {keys}) t GROUP BY a")
    return pd.Series({str(a): int(n) for a, n in rows}, dtype=np.int64).sort_index()


def use_modes(ds, modes: pd.Series) -> None:
    """Register the agents' current modes (`modes`: log odds by agent id) for ``newton_sums(with_modes=True)``."""
    ds.engine.register(MODES, pd.DataFrame({"mode_agent": modes.index.astype(str),
                                            "mode_value": modes.to_numpy(dtype=float)}))


def _eta(ds, dsg: Design, beta: pd.Series, with_modes: bool) -> str:
    return f"({linear_prediction(ds, dsg, beta)}{' + mode_value' if with_modes else ''})"


def _rows(ds, where: str, with_modes: bool) -> str:
    join = f" JOIN {MODES} ON {_i(ds, AGENT)} = mode_agent" if with_modes else ""
    return f"{METRIC_ROWS}{join} WHERE {where}"


def newton_sums(ds, dsg: Design, beta: pd.Series, where: str, with_modes: bool) -> pd.DataFrame:
    """Per agent (index: id as text, sorted) over its rows meeting `where`: n, score = Σ(came_back − p) and
    information = Σ p(1 − p), p = expit(x'β + b) with b the agent's mode of ``use_modes`` (0 without
    `with_modes`)."""
    p = f"1.0 / (1.0 + exp(-{_eta(ds, dsg, beta, with_modes)}))"
    frame = ds.engine.frame(f"SELECT a, count(*) AS n, sum(came_back - p) AS score, sum(p * (1.0 - p)) AS information "
                            f"FROM (SELECT {_i(ds, AGENT)} AS a, came_back, {p} AS p FROM "
                            f"{_rows(ds, where, with_modes)}) t GROUP BY a")
    frame["a"] = frame["a"].astype(str)
    return frame.set_index("a").sort_index().astype({"n": np.int64, "score": float, "information": float})


def average_change(ds, dsg: Design, beta: pd.Series, column: str, shifts, where: str) -> list[float]:
    """For each value s of `shifts`: the mean over the rows meeting `where` (with every agent's mode of
    ``use_modes``) of expit(η − β_column + s) − expit(η − β_column), η = x'β + b: the change in the repeat share
    a period coefficient s makes on those contacts (``periods.change_rows``)."""
    eta0 = f"({_eta(ds, dsg, beta, True)} - CAST({float(beta[column])!r} AS DOUBLE))"
    base = f"1.0 / (1.0 + exp(-{eta0}))"
    parts = ", ".join(f"avg(1.0 / (1.0 + exp(-({eta0} + CAST({float(s)!r} AS DOUBLE)))) - {base})" for s in shifts)
    return [float(v) for v in ds.engine.rows(f"SELECT {parts} FROM {_rows(ds, where, True)}")[0]]
