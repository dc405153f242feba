"""Handoffs: contacts that two or three agents handled (`OperationSpec.handoff_share`, `upstream
simulate --handoffs`); see operation.py's module docstring for how they enter the satisfaction."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .model import logistic


def draw_handoffs(spec, staff: dict, routed: np.ndarray, complexity: np.ndarray, z_tenure: np.ndarray) -> dict:
    """Which contacts several agents handled, who and with what weight (see operation.py's module docstring):
    per contact the member rows (`contact`, `agent`, `weight`, in handling order) and the last agent.
    `spec`: the operation's ``OperationSpec`` (its seed, handoff_share and n_agents)."""
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 22]))
    n, m = len(routed), spec.n_agents
    hard = logistic(complexity - np.median(complexity))
    p = np.clip(spec.handoff_share * hard / hard.mean(), 0.0, 1.0)
    several = rng.random(n) < p
    extra = np.where(several, rng.integers(1, 3, n), 0)              # one or two more agents
    contact = [np.arange(n)]
    agent = [routed]
    order = [np.zeros(n, np.int64)]
    for step in (1, 2):
        rows = np.flatnonzero(extra >= step)
        w = staff["volume"][None, :] * np.exp(0.8 * np.clip(complexity[rows], 0, None)[:, None] * z_tenure[None, :])
        w[np.arange(len(rows)), routed[rows]] = 0.0                    # someone else takes over
        cum = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
        pick = np.minimum((cum < rng.random(len(rows))[:, None]).sum(axis=1), m - 1)
        contact.append(rows)
        agent.append(pick)
        order.append(np.full(len(rows), step))
    frame = pd.DataFrame({"contact": np.concatenate(contact), "agent": np.concatenate(agent),
                          "order": np.concatenate(order)})
    frame = frame.drop_duplicates(["contact", "agent"]).sort_values(["contact", "order"], kind="stable")
    frame["replies"] = 1 + rng.poisson(1.0, len(frame))
    frame["weight"] = frame["replies"] / frame.groupby("contact")["replies"].transform("sum")
    last = frame.groupby("contact")["agent"].last().to_numpy()
    return {"members": frame.reset_index(drop=True), "last": last}
