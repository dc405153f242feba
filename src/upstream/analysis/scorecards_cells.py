"""Agent scorecards (``analysis.scorecards``) from counts, for data sets that live in SQL (DuckDB, Spark).

Every scorecard column but the agent model's comes from counts of identical replies, made in SQL
(``data.sql.cells``) and fitted exactly as the rows would be:

- the ordinal check: clmm of CSAT on the mix with an agent intercept, on agent × mix × rating cells with their
  counts (``clmm(..., counts=)``: the fit of the rows written out);
- raw top-box shares (Wilson intervals, beta-binomial shrinkage): top-box and all replies per agent;
- the adjusted top-box share: glmer of binomial cells (top-box and other replies per agent × mix cell), each
  agent's share the count-weighted mean over the replies' mix cells of logit⁻¹(x'β̂ + b̂);
- NPS raw and shrunken: promoters, passives and detractors per agent.

The agent model is ``steps.agent_model``'s (per-agent sums for a linear scale, ``latent_cells`` otherwise).
Shared credit (``contact_agents``) needs the rows and is not used on this path.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from ..data.description import CsatScale
from ..data.frames import CONTACT_MIX
from ..data.model_formula import model_formula
from ..data.sql import aggregates as sql
from ..data.sql.cells import REPLIES, nps_counts, rating_cells
from ..models import glmer
from ..survey.constants import AGENT
from .latent_cells import BAD, GOOD, RATING, CellLatentAgentModel, binomial_cells
from .scorecards import complete_scorecards, ordinal_agent_effects, scorecard_base


def top_box_counts(cells: pd.DataFrame, scale: CsatScale) -> pd.DataFrame:
    """Per agent (sorted as text): `sum` top-box replies and `size` all replies, from rating cells."""
    top = np.where(scale.in_top_box(cells["csat"]), cells[REPLIES], 0)
    counts = pd.DataFrame({"sum": top, "size": cells[REPLIES].to_numpy()}).groupby(cells[AGENT].to_numpy()).sum()
    counts.index.name = AGENT
    return counts


def adjusted_top_box_from_cells(cells: pd.DataFrame, mix, scale: CsatScale, fit=None):
    """``scorecards.adjusted_top_box`` from rating cells (module docstring): the shares and the glmer (None when
    every reply is in the top box, or none is). `fit`: that glmer when it is already made (the good/bad agent
    model of ``latent_cells`` is this very fit: the same binomial cells, formula and likelihood)."""
    data = binomial_cells(cells.rename(columns={"csat": RATING}), mix, scale.in_top_box)
    ids = pd.Index(sorted(data[AGENT].unique()), name=AGENT)
    if data[GOOD].sum() == 0 or data[BAD].sum() == 0:
        return pd.Series(float(data[GOOD].sum() > 0), index=ids, name="top_box_adjusted"), None
    if fit is None:
        fit = glmer(model_formula(f"cbind({GOOD}, {BAD})", mix), data)
        fit.count_rows(int(data[REPLIES].sum()))
    eta, where = np.unique(fit.predict(include_random=False, type="link").to_numpy(), return_inverse=True)
    weights = np.bincount(where.reshape(-1), weights=data.loc[fit.rows, REPLIES].to_numpy(float), minlength=len(eta))
    b = fit.ranef[AGENT]["mode"]
    shares = [np.average(expit(eta + v), weights=weights) for v in b]
    return pd.Series(shares, index=b.index, name="top_box_adjusted"), fit


def scorecards_from_sql(ds, model, eff: pd.DataFrame, scale: CsatScale, level: float = 0.95,
                        ordinal_check: bool = True):
    """``scorecards.agent_scorecards`` for a data set in SQL (module docstring): the table and its fits."""
    sql.prepare_replies(ds, "csat", CONTACT_MIX)                     # the agent model's replies
    cells = rating_cells(ds, tuple(model.mix), "csat")
    card = scorecard_base(eff)
    ordinal, ordinal_fit = ordinal_agent_effects(cells, model.mix, counts=REPLIES) if ordinal_check else (None, None)
    good_bad = isinstance(model, CellLatentAgentModel) and model.outcome == GOOD    # its glmer is the top-box fit
    adjusted, top_fit = adjusted_top_box_from_cells(cells, model.mix, scale, fit=model.fit if good_bad else None)
    nps = nps_counts(ds) if "nps" in ds.columns["surveys"] else None
    return complete_scorecards(card, level, ordinal, top_box_counts(cells, scale), adjusted,
                               nps if nps is not None and len(nps) else None,
                               {"ordinal": ordinal_fit, "top_box": top_fit})
