"""What each part of the contact mix did to an agent's raw score: the agent model's fixed-effect prediction
split by term (policy, product, channel, issue type), averaged over the agent's replies, against the plain
mean of the agents (the average agent's mix).

For agent a and mix variable v, with x_v'β̂_v the columns of v in a reply's fixed-effect prediction,

    part_v(a) = mean over a's replies of x_v'β̂_v  −  mean over agents of that mean,

so the parts add up to the agent's `mix_expected` minus the plain mean of the agents' `mix_expected` (the
whole of what the mix did: negative = a harder mix than the average agent's). Only for a linear model fitted
on rows; a latent-scale or per-agent-sums model has no additive split (None)."""
from __future__ import annotations

import numpy as np
import pandas as pd

#: The column of the table with the sum of the parts.
TOTAL = "total"


def mix_parts(model) -> pd.DataFrame | None:
    """One row per agent with replies (index: agent id), a column per mix variable of the model plus
    `total`, in score points; None where the split is not additive (latent-scale models) or the model
    has no replies (fitted from per-agent sums)."""
    frame = getattr(model, "frame", None)
    fit = getattr(model, "judged_by", None)
    fixed = getattr(fit, "fixed", None)
    if frame is None or fixed is None or getattr(model, "thresholds", None) is not None or not model.mix:
        return None
    if type(model).__name__ != "AgentModel":  # latent models: the mix acts through a link function
        return None
    X = fixed.X.toarray() if hasattr(fixed.X, "toarray") else np.asarray(fixed.X, dtype=float)
    beta = fit.fixef.reindex(fixed.names).fillna(0.0).to_numpy(float)
    owners = np.asarray(fixed.term_of_column, dtype=object)
    ids = frame[model.agent].astype(str).to_numpy()
    parts = {}
    for variable in model.mix:
        columns = owners == variable
        parts[variable] = X[:, columns] @ beta[columns] if columns.any() else np.zeros(len(ids))
    by_agent = pd.DataFrame(parts).groupby(ids).mean()
    table = by_agent - by_agent.mean()
    table[TOTAL] = table.sum(axis=1)
    table.index.name = model.agent
    return table
