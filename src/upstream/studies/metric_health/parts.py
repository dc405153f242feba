"""What metric_health computes before its tables, from the rows (pandas) or from aggregates (SQL)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ...analysis import periods, speed


@dataclass
class MetricParts:
    """What the study computes from the rows (pandas) or from aggregates (SQL), before the tables: the change,
    the speed models and period changes, the monthly figures, contacts per agent, the contact-level model
    (table, fit), the resolution parts (overall, by_agent, screen) and the interactions curve (None where not
    made); `stop`: the one sentence of a data set without handle times or with constant repeats."""

    change: periods.PeriodChange | None = None
    models: speed.SpeedModels | None = None
    changes: pd.DataFrame | None = None
    monthly: pd.DataFrame | None = None
    counts: pd.Series | None = None
    contact: tuple | None = None
    resolution: tuple | None = None
    curve: object | None = None
    interactions_recorded: bool = False
    stop: str | None = None
