"""The period's contacts as a latent model averages over them ("the average contact"): the rows of
``ds.contacts``, or — on a SQL data set — contacts counted per combination of the mix levels, the count in
CELL_CONTACTS (``aggregates.contact_cells``). Every function here takes either form."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.sql import aggregates
from ..data.sql.cells import CONTACTS as CELL_CONTACTS
from ..survey.constants import AGENT

__all__ = ["CELL_CONTACTS", "population_cells", "known_population", "population_design", "contacts_per_level"]


def population_cells(ds, mix) -> pd.DataFrame:
    """Contacts per combination of the mix levels (all contacts of the period), the count in CELL_CONTACTS; the
    agent column empty (a model's fixed part only: `fixed_design` asks for every column the model uses)."""
    return aggregates.contact_cells(ds, tuple(mix)).rename(columns={"n": CELL_CONTACTS}).assign(**{AGENT: ""})


def known_population(contacts: pd.DataFrame, mix, fit) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The rows of `contacts` (or of its mix cells) at levels the fit knows; each one's contacts (None: one each)."""
    for v in mix:
        contacts = contacts[contacts[v].astype(str).isin(fit.factor_levels(v))]
    return contacts, (contacts[CELL_CONTACTS].to_numpy(float) if CELL_CONTACTS in contacts else None)


def grouping_factors(fit) -> set[str]:
    """The variables of the fit's random terms' grouping factors (``a:b`` names two)."""
    return {v for group in fit.ngroups for v in str(group).split(":")}


def cell_design(fit, cells: pd.DataFrame) -> np.ndarray:
    """The fixed-effect rows X of contact-mix cells (the grouping factors, which X does not use, need not be there)."""
    return fit.fixed_design(cells.assign(**{g: "(not in the fit)" for g in grouping_factors(fit)
                                           if g not in cells})).to_numpy()


def population_design(model, contacts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The fixed-effect rows X of the contacts `model.fit` knows, one per contact-mix cell, and the contacts at each
    (rows are counted per cell first: on the sample's 70,000 contacts the distinct rows of X, sorted, took 0.3 s a
    call)."""
    population, w = known_population(contacts, model.mix, model.fit)
    if w is not None:
        return model.fit.fixed_design(population).to_numpy(), w
    mix = list(model.mix)
    counts = population.groupby(mix, dropna=False, sort=True).size() if mix else pd.Series([len(population)])
    cells = counts.index.to_frame(index=False) if mix else pd.DataFrame(index=range(1))
    return cell_design(model.fit, cells), counts.to_numpy(float)


def contacts_per_level(contacts: pd.DataFrame, variable: str) -> pd.Series:
    """Contacts per level of `variable` (rows, or contact cells)."""
    if CELL_CONTACTS in contacts:
        return contacts.groupby(contacts[variable].astype(str))[CELL_CONTACTS].sum()
    return contacts[variable].astype(str).value_counts()
