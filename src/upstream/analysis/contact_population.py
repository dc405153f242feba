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


def population_design(model, contacts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The distinct fixed-effect rows X of the contacts `model.fit` knows, and the contacts at each."""
    population, w = known_population(contacts, model.mix, model.fit)
    X = model.fit.fixed_design(population).to_numpy()
    if w is not None:
        return X, w
    X, counts = np.unique(X, axis=0, return_counts=True)
    return X, counts.astype(float)


def contacts_per_level(contacts: pd.DataFrame, variable: str) -> pd.Series:
    """Contacts per level of `variable` (rows, or contact cells)."""
    if CELL_CONTACTS in contacts:
        return contacts.groupby(contacts[variable].astype(str))[CELL_CONTACTS].sum()
    return contacts[variable].astype(str).value_counts()
