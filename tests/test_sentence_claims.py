"""Sentences that claim no more than their tables (issue 18 item 9): what weighting for who answers can
correct in agent effects, and how far the top quarter of agents fare under a policy."""
import warnings

import numpy as np
import pandas as pd

from upstream.analysis.nonresponse import fit_response_model, weighted_agent_effects
from upstream.reporting import sentences as say

SCORES = pd.DataFrame({"csat": [4.1234], "csat_weighted": [4.0567]}, index=["all"])
SHIFTS = pd.DataFrame({"shift": [0.01, -0.02, 0.03], "cond_se": [0.2, 0.25, 0.3]})
FEATURES = ["channel", "policy", "product", "issue_type", "escalated", "repeat_within_7d"]


def test_weighting_sentence_says_what_the_weights_can_move():
    assert say.weighting_sentence(SCORES, SHIFTS, features=FEATURES) == (
        "Weighting replies for who answers (inverse response propensity on channel, policy, product, issue type, "
        "escalated and repeat within 7 days) moves average CSAT from 4.123 to 4.057 and agent effects by a median 0.02 "
        "points, a small fraction of their own uncertainty (median SE 0.250). The agent model already adjusts for "
        "channel, policy, product and issue type, so for agent effects the weights only reweight replies across them "
        "and cannot move what that adjustment already did; an agent's effect can move only through escalated and "
        "repeat within 7 days; no weighting can correct non-response that depends on satisfaction itself.")
    assert say.weighting_sentence(SCORES, SHIFTS, features=["channel", "policy"]) == (
        "Weighting replies for who answers (inverse response propensity on channel and policy) moves average CSAT "
        "from 4.123 to 4.057 and agent effects by a median 0.02 points, a small fraction of their own uncertainty "
        "(median SE 0.250). The weights use only channel and policy, which the agent model already adjusts for, so "
        "for agent effects they only reweight replies across them and cannot correct for who answers beyond the mix; "
        "no weighting can correct non-response that depends on satisfaction itself.")


def _weighted_shifts(seed: int, answers_more: str) -> tuple[np.ndarray, np.ndarray]:
    """One operation of 30 agents × 120 contacts whose chat contacts and escalated contacts both score lower;
    replies come more often from one of them (`answers_more`). Returns each agent's shift under the weights
    and how far that feature is over-represented among the agent's replies (share among replies − among
    contacts)."""
    rng = np.random.default_rng(seed)
    n_agents, per_agent = 30, 120
    agent = np.repeat([f"A{i:02d}" for i in range(n_agents)], per_agent)
    chat = rng.random(agent.size) < np.repeat(rng.uniform(0.1, 0.9, n_agents), per_agent)
    escalated = rng.random(agent.size) < np.repeat(rng.uniform(0.05, 0.5, n_agents), per_agent)
    csat = (3.8 + np.repeat(rng.normal(0, 0.3, n_agents), per_agent) - 0.5 * chat - 0.8 * escalated
            + rng.normal(0, 0.8, agent.size))
    feature = chat if answers_more == "chat" else escalated
    responded = rng.random(agent.size) < 1 / (1 + np.exp(1.0 - 1.5 * feature))
    inv = pd.DataFrame({"agent_id": agent, "policy": "standard", "product": "one", "issue_type": "how-to",
                        "channel": np.where(chat, "chat", "email"), "escalated": escalated,
                        "csat": np.where(responded, csat, np.nan), "responded": responded})
    shifts = weighted_agent_effects(inv, fit_response_model(inv, features=("channel", "escalated")).weights)
    f = pd.Series(feature.astype(float), index=inv.index)
    over = f[responded].groupby(inv.loc[responded, "agent_id"]).mean() - f.groupby(inv["agent_id"]).mean()
    return shifts["shift"].to_numpy(), over.reindex(shifts.index).to_numpy()


def test_weights_move_agent_effects_only_through_features_outside_the_mix():
    """What the sentence says, on simulated operations: where replies over-represent chat (in the agent model's
    mix) the weights do not move agents systematically (slope of shift on over-representation ≈ 0); where they
    over-represent escalated contacts (not in the mix) they lift the agents whose replies over-represent them."""
    slopes = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for answers_more in ("chat", "escalated"):
            shift, over = map(np.concatenate, zip(*[_weighted_shifts(seed, answers_more) for seed in range(1, 9)]))
            slopes[answers_more] = np.polyfit(over, shift, 1)[0]
    assert abs(slopes["chat"]) < 0.1                         # 0.01 measured
    assert slopes["escalated"] > 0.15                        # 0.31 measured (0.8 points × shrinkage)
