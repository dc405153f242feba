"""Latent-scale (good/bad, 3–4 point) inference checked on data with a known truth: variance-share
intervals, and baselines and effects averaged over the agents rather than at the median agent."""
import warnings

import numpy as np
import pandas as pd

from upstream.analysis.latent import LOGISTIC_VARIANCE, LatentAgentModel, latent_shares
from upstream.models import glmer


def logistic_team(seed: int, n_agents: int = 60, per_agent: int = 30, n_products: int = 30, tau: float = 0.5,
                  spread: float = 0.4):
    """Good/bad replies from a logistic agent model with a 30-level product mix; returns the frame, the
    design matrix and the true coefficients."""
    rng = np.random.default_rng(seed)
    agent = np.repeat(np.arange(n_agents), per_agent)
    product = rng.integers(0, n_products, agent.size)
    beta = np.r_[0.3, spread * np.linspace(-1, 1, n_products - 1)]
    X = np.column_stack([np.ones(agent.size)] + [(product == j).astype(float) for j in range(1, n_products)])
    eta = X @ beta + rng.normal(0, tau, n_agents)[agent]
    good = (rng.random(agent.size) < 1 / (1 + np.exp(-eta))).astype(int)
    frame = pd.DataFrame({"good": good, "product": [f"p{j:02d}" for j in product],
                          "agent_id": [f"a{i:03d}" for i in agent]})
    return frame, X, beta


def test_latent_share_intervals_cover_the_true_shares():
    """Item 4 (issue 18): the draws went through the bias-corrected formula but the interval was their
    percentiles, centred on the uncorrected plug-in β̂'Sβ̂ — tr(S·Cov β̂) above the estimate. On these 20
    logistic fits with a 30-level mix the contact-mix share's 95% interval covered 13 (and one estimate
    fell below its own interval); centred on the corrected estimate it covers 20, the agents' share 19."""
    warnings.simplefilter("ignore")
    tau, hits = 0.5, {"contact mix": 0, "agents": 0}
    for seed in range(20):
        frame, X, beta = logistic_team(seed, tau=tau)
        fit = glmer("good ~ product + (1 | agent_id)", frame)
        model = LatentAgentModel(fit=fit, frame=frame, outcome="good", agent="agent_id", mix=("product",),
                                 population_eta=X @ fit.fixef.to_numpy(), baseline=0.5)
        table = latent_shares(model, n_sim=1000, seed=seed).table
        mix = float(beta @ np.cov(X, rowvar=False, ddof=0) @ beta)
        total = mix + tau ** 2 + LOGISTIC_VARIANCE
        for component, truth in (("contact mix", mix / total), ("agents", tau ** 2 / total)):
            hits[component] += int(table.loc[component, "lower"] <= truth <= table.loc[component, "upper"])
        assert table.loc["contact mix", "lower"] <= table.loc["contact mix", "share"] \
            <= table.loc["contact mix", "upper"]
    assert hits["contact mix"] >= 17, hits
    assert hits["agents"] >= 17, hits
