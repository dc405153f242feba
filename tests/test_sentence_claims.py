"""Sentences that claim no more than their tables (issue 18 item 9): what weighting for who answers can
correct in agent effects, and how far the top quarter of agents fare under a policy."""
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from upstream.analysis.agents import fit_agent_model
from upstream.analysis.nonresponse import fit_response_model, weighted_agent_effects
from upstream.studies import agent_vs_system
from upstream.studies.agent_vs_system import sentences as say
from upstream.studies.survey_health import sentences as survey_say

SCORES = pd.DataFrame({"csat": [4.1234], "csat_weighted": [4.0567]}, index=["all"])
SHIFTS = pd.DataFrame({"shift": [0.01, -0.02, 0.03], "cond_se": [0.2, 0.25, 0.3]})
FEATURES = ["channel", "policy", "product", "issue_type", "escalated", "repeat_within_7d"]


def test_weighting_sentence_says_what_the_weights_can_move():
    assert survey_say.weighting_sentence(SCORES, SHIFTS, features=FEATURES) == (
        "Weighting replies for who answers (inverse response propensity on channel, policy, product, issue type, "
        "escalated and repeat within 7 days) moves average CSAT from 4.123 to 4.057 and agent effects by a median 0.02 "
        "points, a small fraction of their own uncertainty (median SE 0.250). The agent model already adjusts for "
        "channel, policy, product and issue type, so for agent effects the weights only reweight replies across them "
        "and cannot move what that adjustment already did; an agent's effect can move only through escalated and "
        "repeat within 7 days; no weighting can correct non-response that depends on satisfaction itself.")
    assert survey_say.weighting_sentence(SCORES, SHIFTS, features=["channel", "policy"]) == (
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
    shifts = weighted_agent_effects(inv, fit_response_model(inv, features=("channel", "escalated")).weights).table
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


def test_the_top_quarter_under_a_policy_whose_effect_varies_uses_the_agents_spread_under_it():
    """Known truth: agents' SD 0.3 under 'a' and 'b', and under 'c' (effect −1, varying between agents with SD
    1.0) √(0.3² + 1²) = 1.04. The 75th-percentile agent under 'c' then scores about +0.04 against the average
    contact; from the pooled τ (0.46) it would be −0.36 with a family-wise interval below 0, and the finding
    would say even an agent better than three in four scores below the average contact under 'c'."""
    rng = np.random.default_rng(11)
    agents = np.repeat(np.arange(60), 80)
    policy = rng.choice(["a", "b", "c"], agents.size)
    skill, slope = rng.normal(0, 0.3, 60), rng.normal(0, 1.0, 60)
    y = 4 + skill[agents] + (policy == "c") * (-1.0 + slope[agents]) + rng.normal(0, 1, agents.size)
    frame = pd.DataFrame({"csat": y, "policy": policy, "agent_id": [f"A{a:02d}" for a in agents]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit_agent_model(frame, mix=("policy",), customer=None, n_boot=200, seed=3)
        table = agent_vs_system.linear_system(model, frame)[1]
    truth = -1.0 * (1 - (policy == "c").mean()) + stats.norm.ppf(0.75) * np.sqrt(0.3 ** 2 + 1.0 ** 2)
    c = table.loc["c"]
    assert float(model.fit.varcorr.loc["agent_id", "sd"]) < 0.5                 # the pooled τ understates 'c'
    assert c["top_quarter_agent_sd"] == pytest.approx(np.sqrt(1.09), abs=0.1)
    assert table.loc[["a", "b"], "top_quarter_agent_sd"].between(0.2, 0.45).all()
    assert c["top_quarter"] == pytest.approx(truth, abs=0.1)
    assert c["top_quarter_lower_adj"] < truth < c["top_quarter_upper_adj"]
    assert not any("Under 'c'" in s for s in say.policy_variation_sentences(table))
