"""The qa_sample study: the greedy allocation minimises the total posterior variance, the plan gives the
simulator's low-volume agents and the agents under survey review their reviews, the sample is random within
agent, reproducible and nested across budgets, and each Key-findings sentence is exact for constructed inputs."""
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from operations import larger_cache, larger_operation
from scipy.special import expit
from shared_data import shared_cache

from upstream.analysis import qa
from upstream.data.frames import responses
from upstream.simulate import truth_frame
from upstream.studies import ParameterError, RunCache, qa_sample
from upstream.studies.qa_sample import sentences as say

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
PARAMS = {"n_boot": 100, "seed": 7, "show_names": True}


@pytest.fixture(scope="module")
def cache():
    return shared_cache("sample")


@pytest.fixture(scope="module")
def result(sample, cache):
    return qa_sample.run(sample[0], PARAMS, cache)


def test_posterior_variance_is_the_random_intercept_formula():
    tau2, sigma2, n = 0.1, 1.8, np.arange(0, 50)
    pev0 = tau2 * sigma2 / (sigma2 + n * tau2)
    for r in (0, 1, 7):
        np.testing.assert_allclose(qa.posterior_variance(pev0, r, sigma2), tau2 * sigma2 / (sigma2 + (n + r) * tau2))


def test_greedy_allocation_minimises_the_total_posterior_variance():
    pev0 = pd.Series({"a": 0.13, "b": 0.05, "c": 0.11, "d": 0.02})
    capacity = pd.Series({"a": 2, "b": 6, "c": 6, "d": 6})
    sigma2, budget = 1.9, 7
    got = qa.allocate_reviews(pev0, capacity, budget, sigma2)
    best = min((r for r in itertools.product(*(range(capacity[k] + 1) for k in pev0.index)) if sum(r) == budget),
               key=lambda r: qa.posterior_variance(pev0.to_numpy(), np.array(r), sigma2).sum())
    assert tuple(got[list(pev0.index)]) == best and got["a"] == 2          # capacity respected
    flagged = pd.Series({"d": True})
    prio = qa.allocate_reviews(pev0, capacity, budget, sigma2, flagged, priority_reviews=3)
    first = qa.priority_first(pev0, capacity, budget, flagged, priority_reviews=3)
    assert prio["d"] >= 3 and prio.sum() == budget and first.to_dict() == {"a": 0, "b": 0, "c": 0, "d": 3}


def test_plan_reaches_the_agents_with_least_information(result, sample):
    ds, truth = sample
    plan = result.tables["qa_plan"]
    t = truth_frame(truth).reindex(plan.index)
    assert plan["reviews"].sum() == 200 and (plan["reviews"] <= plan["eligible"]).all()
    low = plan.index[t["low_volume"] & (plan["eligible"] > 0)]
    assert (plan.loc[low, "reviews"] > 0).all()                         # every low-volume agent is reviewed
    steering = plan.index[t["steering"]]
    assert plan.loc[steering, "survey_flag"].all() and (plan.loc[steering, "priority_reviews"] == 5).all()
    chosen = plan[(plan["reviews"] > plan["priority_reviews"])]
    assert chosen["reliability"].max() < plan["reliability"].median()
    fit = result.fits["agent model"]
    rel = fit.reliability["agent_id"]
    np.testing.assert_allclose(plan["reliability"].reindex(rel.index), rel, atol=1e-9)
    assert (plan["reliability_after"] >= plan["reliability"] - 1e-12).all()
    assert result.values.plan.mean_reliability_after > result.values.plan.mean_reliability_before
    assert result.values.plan.table is plan and result.values.plan.used == 200 == result.values.plan.budget


def test_sample_is_random_within_agent_reproducible_and_nested(result, sample, cache):
    ds, _ = sample
    s = result.tables["qa_sample"]
    plan = result.tables["qa_plan"]
    replied = set(responses(ds, "csat")["contact_id"])
    assert s["contact_id"].is_unique and not set(s["contact_id"]) & replied
    owner = ds.contacts.set_index("contact_id")["agent_id"]
    assert (owner.reindex(s["contact_id"]).to_numpy() == s["agent_id"].to_numpy()).all()
    assert s.groupby("agent_id").size().to_dict() == plan.loc[plan["reviews"] > 0, "reviews"].to_dict()
    again = qa_sample.run(ds, PARAMS, cache).tables["qa_sample"]
    pd.testing.assert_frame_equal(s, again)
    other = qa_sample.run(ds, {**PARAMS, "seed": 8}, cache).tables["qa_sample"]
    assert set(other["contact_id"]) != set(s["contact_id"])
    smaller = qa_sample.run(ds, {**PARAMS, "budget": 100}, cache).tables["qa_sample"]
    assert set(smaller["contact_id"]) <= set(s["contact_id"])            # a larger budget extends the sample


def test_larger_operation_plan(sample):
    ds, truth = larger_operation()
    res = qa_sample.run(ds, PARAMS, larger_cache())
    plan = res.tables["qa_plan"]
    t = truth_frame(truth).reindex(plan.index)
    assert (plan.loc[t["low_volume"] & (plan["eligible"] > 0), "reviews"] > 0).all()
    assert plan.loc[t["steering"], "survey_flag"].all()
    assert len(res.tables["qa_sample"]) == 200


def test_published_sample_names_the_reason(result, tmp_path):
    result.publish(tmp_path)
    table = pd.read_csv(tmp_path / "tables" / "qa_sample.csv", dtype=str)
    assert list(table.columns) == ["contact_id", "agent_id", "opened_at", "channel", "policy", "issue_type", "reason"]
    assert table["reason"].str.match(r"(survey process under review|few replies|no survey replies)").all()
    assert result.group == "Agents"


def test_findings_are_checkable_from_the_tables(result):
    plan, a = result.tables["qa_plan"], result.values.plan
    assert result.findings[0].startswith(
        f"All 200 reviews go to {int((plan['reviews'] > 0).sum())} of the {len(plan)} agents with contacts and would "
        f"raise the mean reliability of the agents' estimates from {a.mean_reliability_before:.2f} to "
        f"{a.mean_reliability_after:.2f}")


def test_parameters_are_checked():
    assert qa_sample.QaParameters.from_mapping({"budget": 50, "priority_reviews": 0}).priority_reviews == 0
    with pytest.raises(ParameterError, match="budget must be a whole number, got 'many'"):
        qa_sample.QaParameters.from_mapping({"budget": "many"})
    with pytest.raises(ParameterError, match="budget must be at least 1 review, got 0"):
        qa_sample.QaParameters.from_mapping({"budget": 0})


# -- sentences for constructed inputs ------------------------------------------------------------------

def plan_table(flagged=True, used=10, tau2=0.1):
    plan = pd.DataFrame({"n_replies": [0, 3, 40, 60], "reliability": [0.0, 0.2, 0.7, 0.8], "eligible": [5, 6, 9, 2],
                         "reviews": [4, 3, 3, 0], "priority_reviews": [0, 0, 2 if flagged else 0, 0],
                         "survey_flag": [False, False, flagged, False]}, index=["A1", "A2", "A3", "A4"])
    return qa.ReviewPlan(plan, tau2=tau2, sigma2=1.0, budget=10, used=used, priority_reviews=2,
                         reliability_threshold=0.7, mean_reliability_before=0.425, mean_reliability_after=0.5,
                         reach_before=2, reach_after=2)


def test_plan_sentences():
    plan = plan_table()
    assert say.plan_sentence(plan) == (
        "All 10 reviews go to 3 of the 4 agents with contacts and would raise the mean reliability of the agents' "
        "estimates from 0.42 to 0.50; the number of agents at or above the 0.7 reliability threshold (agents "
        "under survey review included) would stay at 2 — expected gains if a review measures an agent as well as a "
        "survey reply does.")
    assert say.plan_sentence(plan_table(used=8)).startswith(
        "Only 8 of the 10 reviews could be placed (the agents have no more contacts without a survey reply), and they "
        "go to 3 of the 4 agents")
    flat = plan_table(used=2, tau2=0.0)
    assert say.plan_sentence(flat) == (
        "The agent model finds no detectable difference between agents in these data (the agents' SD is estimated "
        "at 0), so no review can sharpen an agent's estimate and the reliability rule places none of the 10 reviews; "
        "only reviews of agents under survey review are planned (2).")
    assert say.priority_sentence(plan) == (
        "The agent whose survey process is under review gets 2 reviews before anyone else (up to 2 each), and 1 "
        "more where the variance rule puts them, whatever their reliability: their survey scores may be steered, so "
        "an independent review is the check they need.")
    assert say.priority_sentence(plan_table(flagged=False)) == (
        "No agent's survey process is under review, so no reviews are reserved.")
    assert say.allocation_sentence(plan) == (
        "The other 8 reviews go where they reduce the posterior variance of agent effects most, agents with few "
        "replies first: the 3 agents chosen have a median of 3 replies (median reliability 0.20) against 21.5 replies "
        "(0.45) over all agents; 1 agent with no survey reply at all gets 4.")


def test_plan_on_a_good_bad_scale_uses_the_latent_model(sample):
    import dataclasses

    from upstream.data import CsatScale
    ds, _ = sample
    binary = dataclasses.replace(
        ds, surveys=ds.surveys.assign(csat=ds.surveys["csat"].map({1: 1, 2: 1, 3: 1, 4: 2, 5: 2}).astype("Int64")),
        description=dataclasses.replace(ds.description, csat=CsatScale(points=2, labels={1: "bad", 2: "good"},
                                                                       top_box=(2,))),
        fingerprint="good-bad")
    res = qa_sample.run(binary, PARAMS, RunCache())
    plan = res.tables["qa_plan"]
    assert plan["reviews"].sum() == 200
    fit = res.fits["agent model"]
    # issue 18 item 8: a good/bad rating carries p(1 − p) ≤ 1/4 about the agent, not 1/(π²/3) ≈ 0.30
    assert (plan["review_variance"] >= 4).all() and res.values.plan.sigma2 == pytest.approx(
        plan["review_variance"].mean())
    agent = plan.index[0]
    replied = responses(binary, "csat")["contact_id"]
    own = binary.contacts[(binary.contacts["agent_id"].astype(str) == agent) & ~binary.contacts["contact_id"].isin(replied)]
    p = expit(fit.fixed_design(own).to_numpy() @ fit.fixef.to_numpy() + fit.ranef["agent_id"].loc[agent, "mode"])
    assert plan.loc[agent, "review_variance"] == pytest.approx(1 / np.mean(p * (1 - p)))
    np.testing.assert_allclose(plan["reliability"].reindex(fit.reliability["agent_id"].index),
                               fit.reliability["agent_id"], atol=1e-9)


def test_published_sample_pseudonymises_repeated_agent_ids(sample, cache, tmp_path):
    ds, _ = sample
    res = qa_sample.run(ds, {**PARAMS, "show_names": False, "pseudonym_salt": "test-salt"}, cache)
    res.publish(tmp_path)
    table = pd.read_csv(tmp_path / "tables" / "qa_sample.csv", dtype=str)
    plan = pd.read_csv(tmp_path / "tables" / "qa_plan.csv", dtype=str)
    assert table["agent_id"].str.fullmatch(r"Agent [0-9A-F]{4,}").all()
    assert not set(table["agent_id"]) & set(ds.agents["agent_id"])
    assert set(table["agent_id"]) <= set(plan["agent_id"])          # the same pseudonym in both tables


def good_bad_operation(seed: int, agents: int = 200, contacts: int = 40) -> tuple[pd.DataFrame, pd.Index]:
    """A good/bad operation with a known truth: agent effects N(0, 0.8²) on the logit scale, 86% good on chat
    and 79% on email for the average agent, 40 contacts per agent of which a Poisson(8) number were rated."""
    rng = np.random.default_rng(seed)
    ids = np.repeat([f"A{i:03d}" for i in range(agents)], contacts)
    channel = rng.choice(["chat", "email"], agents * contacts)
    eta = 1.8 - 0.5 * (channel == "email") + np.repeat(rng.normal(0, 0.8, agents), contacts)
    frame = pd.DataFrame({"contact_id": np.arange(agents * contacts), "agent_id": ids, "channel": channel,
                          "good": (rng.random(eta.size) < expit(eta)).astype(int),
                          "opened_at": pd.Timestamp("2026-07-01"), "policy": "standard", "issue_type": "billing"})
    rated = np.concatenate([np.arange(i * contacts, i * contacts + min(k, contacts))
                            for i, k in enumerate(rng.poisson(8, agents))])
    return frame, frame["contact_id"].iloc[rated]


def test_a_good_bad_plan_predicts_the_reliability_the_reviews_deliver():
    """Issue 18 item 8: a 0/1 review carries p(1 − p) about the agent, not 1/(π²/3). Twelve simulated
    operations: plan 1,200 reviews on the logistic agent model, rate the sampled contacts from the truth,
    refit; the plan's mean reliability_after must match the refit's own (1 − PEV/τ²). The old 1/(π²/3)
    predicted 0.631 against 0.531 realised; p(1 − p) predicts 0.530 against 0.532."""
    from upstream.analysis.latent import fit_latent_agent_model
    from upstream.models import glmer
    predicted, realised = [], []
    for seed in range(12):
        frame, rated = good_bad_operation(seed)
        replies = frame[frame["contact_id"].isin(rated)]
        model = fit_latent_agent_model(replies, "good", ("channel",), frame)
        plan = qa.review_plan(model, frame.drop(columns="good"), rated, budget=1200, priority_reviews=0).table
        sample = qa.sample_contacts(plan, frame, rated, seed)
        assert len(sample) == 1200 and not sample["contact_id"].isin(rated).any()
        refit = glmer("good ~ channel + (1 | agent_id)", pd.concat([replies, frame[frame["contact_id"].isin(
            sample["contact_id"])]]))
        pev = refit.ranef["agent_id"]["cond_se"].reindex(plan.index) ** 2
        predicted.append(plan["reliability_after"].mean())
        realised.append(float((1 - pev / refit.varcorr.loc["agent_id", "variance"]).mean()))
    assert np.mean(predicted) == pytest.approx(np.mean(realised), abs=0.02)
    assert np.mean(realised) == pytest.approx(0.532, abs=0.01)


def test_rating_information_is_the_fisher_information_of_one_rating():
    """p(1 − p) for a 0/1 rating; for an ordered one, E[(∂ log P(Y)/∂η)²], here by numerical derivatives of
    the cumulative-logit probabilities; both at most 1/4 on two categories, below 1/(π²/3) ≈ 0.30."""
    from types import SimpleNamespace
    eta = np.array([-1.0, 0.0, 0.7, 2.5])
    p = expit(eta)
    np.testing.assert_allclose(qa.rating_information(SimpleNamespace(), eta), p * (1 - p))
    theta = pd.Series([-1.2, 0.3, 1.9])

    def probs(e):
        cum = np.r_[0.0, expit(theta.to_numpy() - e), 1.0]
        return np.diff(cum)
    h = 1e-6
    expected = [np.sum(((probs(e + h) - probs(e - h)) / (2 * h)) ** 2 / probs(e)) for e in eta]
    np.testing.assert_allclose(qa.rating_information(SimpleNamespace(thresholds=theta), eta), expected, rtol=1e-6)
    two = qa.rating_information(SimpleNamespace(thresholds=pd.Series([0.4])), eta)
    np.testing.assert_allclose(two, expit(eta - 0.4) * (1 - expit(eta - 0.4)))


def test_a_small_gain_in_reliability_is_stated_with_the_digits_that_show_it():
    from upstream.studies.qa_sample.sentences import before_after

    assert before_after(0.7912, 0.8034) == ("0.79", "0.80")
    assert before_after(0.7912, 0.7941) == ("0.791", "0.794")      # '0.79 to 0.79' at two decimals
    assert before_after(0.79121, 0.79138) == ("0.7912", "0.7914")
    assert before_after(0.79121, 0.79122) == ("0.7912", "0.7912")  # no visible change at four: stated as it is


def test_review_information_from_mix_cells_is_the_mean_over_the_agents_own_contacts():
    """Counted per agent × mix cell (each mix once: what SQL hands over at scale), each agent's information is the
    mean over its own unrated contacts of p(1 − p) at x'β̂ + b̂_j, computed here row by row; contacts with a level
    the fit never saw are left out, and an agent with only such contacts gets the mean over every known contact."""
    from scipy.special import expit

    from upstream.analysis.latent import fit_latent_agent_model

    frame, rated = good_bad_operation(3)
    replies = frame[frame["contact_id"].isin(rated)]
    model = fit_latent_agent_model(replies, "good", ("channel",), frame)
    fit = model.judged_by
    unrated = frame[~frame["contact_id"].isin(rated)].drop(columns="good").copy()
    unrated.loc[unrated.index[:7], "channel"] = "phone"                 # a level the fit never saw
    unrated.loc[unrated["agent_id"] == "A005", "channel"] = "phone"     # an agent with no known contact left
    agents = sorted(frame["agent_id"].unique())
    got = qa.review_information(fit, "agent_id", qa.mix_counts(unrated, fit, "agent_id"), agents)
    known = unrated[unrated["channel"] != "phone"]
    modes = fit.ranef["agent_id"]["mode"]
    xb = fit.fixef["(Intercept)"] + fit.fixef["channelemail"] * (known["channel"] == "email").to_numpy()
    p = expit(xb + modes.reindex(known["agent_id"]).fillna(0.0).to_numpy())
    expected = pd.Series(p * (1 - p)).groupby(known["agent_id"].to_numpy()).mean().reindex(agents)
    pooled = expit(np.add.outer(modes.reindex(agents).fillna(0.0).to_numpy(), xb))
    expected = expected.fillna(pd.Series((pooled * (1 - pooled)).mean(axis=1), index=agents))
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert np.isnan(pd.Series(p * (1 - p)).groupby(known["agent_id"].to_numpy()).mean().reindex(agents)["A005"])


def test_a_budget_smaller_than_the_priority_reviews_says_whom_it_leaves_out():
    """At 20,000 agents 547 were under survey review and the 200 reviews reached 40 of them: the sentence said 'the
    547 agents ... get 200 reviews'. Mean reliability moved by less than 0.0001 and read 'from 0.7522 to 0.7522'."""
    plan = pd.DataFrame({"n_replies": [2, 3, 4, 50], "reliability": [0.1, 0.2, 0.3, 0.8], "eligible": [5, 6, 0, 2],
                         "reviews": [2, 2, 0, 0], "priority_reviews": [2, 2, 0, 0],
                         "survey_flag": [True, True, True, False]}, index=["A1", "A2", "A3", "A4"])
    made = qa.ReviewPlan(plan, tau2=0.1, sigma2=1.0, budget=4, used=4, priority_reviews=2,
                         reliability_threshold=0.7, mean_reliability_before=0.75221, mean_reliability_after=0.75223,
                         reach_before=15687, reach_after=15687)
    assert say.priority_sentence(made) == (            # A3 has no contact to review: the budget did not leave it out
        "The 3 agents whose survey process is under review get 4 reviews before anyone else (up to 2 each), whatever "
        "their reliability: their survey scores may be steered, so an independent review is the check they need.")
    plan.loc["A3", "eligible"] = 7
    assert say.priority_sentence(made) == (
        "The budget reaches 2 of the 3 agents whose survey process is under review, the least reliable estimates "
        "first (4 reviews, up to 2 each); the other 1 get none (a budget of 6 would give each 2). Their survey "
        "scores may be steered, so an independent review is the check they need.")
    assert say.plan_sentence(made) == (
        "All 4 reviews go to 2 of the 4 agents with contacts and would raise the mean reliability of the agents' "
        "estimates by less than 0.0001 (from 0.7522); the number of agents at or above the 0.7 reliability threshold "
        "(agents under survey review included) would stay at 15,687 — expected gains if a review measures an agent as "
        "well as a survey reply does.")
    assert say.plan_title(made) == "4 reviews raise mean reliability by less than 0.0001 (from 0.7522)"
    assert say.plan_title(plan_table()) == "10 reviews raise mean reliability from 0.42 to 0.50"
