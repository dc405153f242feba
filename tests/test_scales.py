"""The studies on every survey scale: a good/bad scale gets a logistic agent model and speaks in shares
of good ratings, a 3-point scale a cumulative-logit model, a 5-point scale the linear model as before."""
import dataclasses
import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from upstream.analysis.latent import LatentAgentModel, MeanFunction
from upstream.data import CsatScale, load_dataset
from upstream.studies import RunCache, agent_scorecards, agent_vs_system, steps, survey_health

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def recoded(mapping: dict, points: int, kind: str, labels: dict, top_box: tuple, drop_nps: bool = False):
    ds = load_dataset(SAMPLE, validate=False)
    s = ds.surveys.copy()
    s["csat"] = s["csat"].map(mapping).astype("Int64")
    if drop_nps:
        s["nps"] = pd.array([pd.NA] * len(s), dtype="Int64")
    ds.surveys = s
    scale = CsatScale(points=points, labels=labels, top_box=top_box)
    assert scale.kind == kind
    ds.description = dataclasses.replace(ds.description, csat=scale)
    ds.fingerprint = f"recoded-{kind}-{points}-{drop_nps}"
    return ds


@pytest.fixture(scope="module")
def good_bad():
    return recoded({1: 1, 2: 1, 3: 1, 4: 2, 5: 2}, 2, "binary", {1: "bad", 2: "good"}, (2,), drop_nps=True)


@pytest.fixture(scope="module")
def binary_study(good_bad):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return agent_vs_system.run(good_bad, {"n_boot": 200, "show_names": True}, RunCache())


def test_scale_from_the_description(good_bad):
    scale = steps.csat_scale(good_bad)
    assert scale.kind == "binary" and scale.top_box == (2,) and scale.label_of_good == "good" and not scale.linear
    assert steps.csat_scale(load_dataset(SAMPLE, validate=False)).linear     # no description: CSAT 1–5


def test_good_bad_scale_speaks_in_shares_of_good_ratings(binary_study):
    truth = json.loads((SAMPLE / "truth.json").read_text())
    f = binary_study.findings
    assert f[0].startswith("About ") and "of the variation in the share of good ratings" in f[0]
    assert "on the log-odds scale" in f[0]
    policy = binary_study.tables["policy_effects"]
    sentence = next(s for s in f if "policies lower the share of good ratings" in s)
    worst = policy.index[0]
    assert f"'{worst}' ({100 * policy.loc[worst, 'effect']:+.1f} percentage points" in sentence
    named = set(policy.index[policy["upper_adj"] < 0])
    true = pd.Series(truth["policy_effect_csat"])
    assert set(true.index[true <= -0.3]) <= named and not named & set(true.index[true.abs() < 0.05])
    assert policy["agent_variation_p"].isna().all()
    agents = binary_study.tables["agent_effects"]
    assert agents["raw_score"].between(0, 1).all()                 # raw score = share of good ratings
    assert (agents["lower"] <= agents["effect"]).all() and (agents["effect"] <= agents["upper"]).all()
    assert agents["verdict"].isin(["above average", "below average"]).sum() >= 15


def test_share_effects_are_averages_over_the_period(good_bad):
    model = steps.agent_model(good_bad, steps.Parameters(n_boot=100), RunCache())
    assert isinstance(model, LatentAgentModel) and model.fit.kind == "glmer"
    b = model.fit.ranef["agent_id"]["mode"]
    eta, contacts = model.population_eta, model.population_weights         # distinct x'β̂ and their contacts
    assert contacts.sum() == 60000 and len(eta) == 2292          # mix cells with contacts
    direct = np.array([np.average(1 / (1 + np.exp(-(eta + v))), weights=contacts) for v in b[:5]]) - model.baseline
    np.testing.assert_allclose(model.modes().to_numpy()[:5], direct, atol=1e-5)


def test_other_studies_run_on_a_good_bad_scale_without_nps(good_bad):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cache = RunCache()
        card = agent_scorecards.run(good_bad, {"n_boot": 200}, cache)
        health = survey_health.run(good_bad, {"n_boot": 200}, cache)
    assert "csat_ordinal_effect" not in card.tables["scorecards"] and "agreement" not in card.figures
    assert "nps_by_channel" not in health.tables
    assert "No reply carries an NPS score, so NPS cannot be estimated from these data." in health.findings
    weighting = next(s for s in health.findings if s.startswith("Weighting replies"))
    assert "moves the share of good ratings from" in weighting


def test_three_point_scale_uses_the_cumulative_logit_model():
    ds = recoded({1: 1, 2: 1, 3: 2, 4: 3, 5: 3}, 3, "ordinal", {1: "unhappy", 2: "neutral", 3: "happy"}, (3,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = agent_vs_system.run(ds, {"n_boot": 200}, RunCache())
    model = steps.agent_model(ds, steps.Parameters(n_boot=200), RunCache())
    assert isinstance(model, LatentAgentModel) and model.fit.kind == "clmm"
    m = MeanFunction(model.fit)
    assert m(np.array([-50.0]))[0] == pytest.approx(1.0) and m(np.array([50.0]))[0] == pytest.approx(3.0)
    assert "of the variation in CSAT (1–3)" in result.findings[0]
    assert any("policies lower CSAT (1–3)" in s and " points, family-wise" in s for s in result.findings)


def test_attribution_sentence_only_for_export_time_assignees():
    from upstream.studies.agent_vs_system.sentences import attribution_sentence
    assert attribution_sentence(None) == ""
    assert attribution_sentence(SimpleNamespace(rule="stated")) == ""
    assert attribution_sentence(SimpleNamespace(rule="rating_time_assignee")) == ""
    assert attribution_sentence(SimpleNamespace(rule="export_time_assignee")).startswith(
        "Ratings are credited to the agent assigned when the data were exported, not when the customer rated")
