"""Every table a study's page shows, built once from the study's result (the notebooks only call
`StudyView.show(name)`), so a test can compare each one with the CSV the study publishes.

`page_tables(result, page)` gives, in page order, the tables the data allow: `page` is the study's own
``display.page(result)`` (in its package, ``upstream.studies.<name>.display``), which yields (name, caption,
frame, source, undefined note); each becomes a `ShownTable` with its caption, the readable frame (every cell
text, a dash where a value is undefined), the notes under it and the `tables/<source>.csv` its numbers come
from (None for the model details of the analyst notes)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd

from .common import readable


@dataclass
class ShownTable:
    """One table of a page: the readable frame, its caption and notes, and the published CSV it shows."""

    name: str
    caption: str
    frame: pd.DataFrame
    source: str | None
    notes: list[str] = field(default_factory=list)


def page_tables(result, page: Callable[[object], Iterable[tuple]]) -> dict[str, ShownTable]:
    """The tables `result`'s page shows (`page`: the study's ``display.page``), by name, in page order."""
    shown: dict[str, ShownTable] = {}
    for name, caption, frame, source, undefined in page(result):
        table, notes = readable(frame, undefined) if undefined else readable(frame)
        shown[name] = ShownTable(name, caption, table, source, notes)
    return shown


def agent_labels(result, table: pd.DataFrame) -> pd.Series:
    """The labels (pseudonyms, or ids with show_names) of the agents indexing `table`."""
    return result.labels(table.index)


def variance_components(r):
    """The variance-components table of a study's model (``studies.base.ModelSummary``; none when the study
    has no values or no model)."""
    model = r.values.model if r.values is not None else None
    if model is not None:
        agents = f", {model.n_agents} agents" if model.n_agents is not None else ""
        yield ("variance_components", f"Variance components — {model.formula}; {model.nobs:,} replies{agents}, "
               f"{model.n_boot} bootstrap replicates", model.varcorr.round(4), None, "not a parameter of this term")
