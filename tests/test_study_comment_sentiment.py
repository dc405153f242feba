"""comment_sentiment: the scorer validated on the data's own replies (AUC with DeLong's interval), the gate, the
agent model of sentiment and where agents' words and scores disagree — against the simulator's truth, whose
comments follow the score and not the agent; exact sentences and their conditions."""
import dataclasses

import numpy as np
import pandas as pd
import pytest
from study_data import PARAMS, larger_operation, sample

from upstream.analysis import sentiment
from upstream.data.frames import CONTACT_MIX
from upstream.simulate import truth_frame
from upstream.studies import ParameterError, comment_sentiment
from upstream.studies.comment_sentiment import SentimentParameters, commented_replies
from upstream.studies.comment_sentiment import sentences as say
from upstream.survey import mann_whitney_auc

#: Hanley & McNeil (1982, Radiology 143, Table 1): CT ratings 1 (definitely normal) .. 5 (definitely abnormal).
HM_NORMAL, HM_ABNORMAL = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33]


@pytest.fixture(scope="module")
def on_sample():
    ds, truth, cache = sample()
    return comment_sentiment.run(ds, PARAMS, cache), truth


def test_publishes_the_validation_and_the_agent_tables(on_sample, tmp_path):
    result, _ = on_sample
    written = sorted(p.name for p in result.publish(tmp_path))
    assert written == ["agent_sentiment.csv", "sentiment_by_score.csv", "sentiment_models.csv",
                       "sentiment_validation.csv"]
    agents = pd.read_csv(tmp_path / "tables" / "agent_sentiment.csv")
    assert agents.columns[0] == "agent_id" and {"csat_effect", "sentiment_effect", "beyond_score", "disagrees"} <= set(
        agents.columns)


def test_the_scorer_passes_on_the_sample_and_the_auc_is_reported(on_sample):
    result, _ = on_sample
    v = result.tables["sentiment_validation"]
    gate = v.loc["CSAT 1–2"]
    assert gate["auc"] > 0.95 and gate["lower"] >= 0.7 and gate["passes"]
    replies, _ = commented_replies(sample()[0])
    assert gate["auc"] == pytest.approx(mann_whitney_auc(-replies["sentiment"], replies["csat"] <= 2))
    assert int(gate["n_positive"]) == int((replies["csat"] <= 2).sum())
    text = result.findings[1]
    assert text.startswith(f"VADER's compound sentiment separates dissatisfied customers (CSAT 1–2) from the rest with "
                           f"an AUC of {gate['auc']:.3f} (95% DeLong interval {gate['lower']:.3f}–{gate['upper']:.3f})")
    means = result.tables["sentiment_by_score"]["sentiment"]
    assert means.is_monotonic_increasing                            # tone follows the score


def test_recovers_that_words_follow_the_score_not_the_agent(on_sample):
    result, truth = on_sample
    agents = result.tables["agent_sentiment"]
    assert not agents["disagrees"].any()                          # the simulator's tone depends on the score only
    models = result.tables["sentiment_models"]
    assert models.loc["sentiment given the score", "p_value"] > 0.05
    assert models.loc["sentiment", "p_value"] < 0.001            # agents move sentiment through their scores
    true = truth_frame(truth)["effect_csat"]
    busy = agents[agents["comments"] >= 10]
    assert np.corrcoef(busy["sentiment_effect"], true.reindex(busy.index))[0, 1] > 0.4


def test_recovers_the_same_on_a_larger_operation():
    ds, truth, cache = larger_operation()
    result = comment_sentiment.run(ds, PARAMS, cache)
    assert result.tables["sentiment_validation"].loc["CSAT 1–2", "lower"] > 0.95
    agents = result.tables["agent_sentiment"]
    assert not agents["disagrees"].any()
    busy = agents[agents["comments"] >= 30]
    assert np.corrcoef(busy["sentiment_effect"], truth_frame(truth)["effect_csat"].reindex(busy.index))[0, 1] > 0.6


def test_an_agent_whose_customers_write_harshly_is_found():
    """Agents whose satisfied customers' comments are rewritten as complaints (scores kept) disagree."""
    replies, _ = commented_replies(sample()[0])
    busy = replies["agent_id"].value_counts().index[:3]
    harsh = replies["agent_id"].isin(busy) & (replies["csat"] >= 4)
    replies.loc[harsh, "sentiment"] = sentiment.score_comments(
        pd.Series("Awful. I am angry and disappointed.", index=replies.index[harsh]))
    info = sentiment.disagreement(replies, CONTACT_MIX)
    table = info.table
    assert info.test.p_value < 0.001 and info.min_comments == 5 and info.formula.startswith("sentiment ~ csat_score")
    assert set(table.index[table["disagrees"]]) == set(busy)
    assert (table.loc[busy, "z"] < 0).all()


def test_the_gate_keeps_a_scorer_that_fails_the_bar_out(on_sample):
    ds, _, cache = sample()
    result = comment_sentiment.run(ds, {**PARAMS, "auc_bar": 0.99}, cache)
    assert not result.values.used and "agent_sentiment" not in result.tables
    assert result.findings[1].endswith("the lower end does not clear the bar of 0.99, so sentiment is not used as an "
                                       "outcome in this study.")
    with pytest.raises(ParameterError, match="auc_bar must be at least 0.5 and below 1, got 1.2"):
        SentimentParameters.from_mapping({"auc_bar": 1.2})


def test_delong_against_the_placement_values_and_hanley_mcneil():
    ratings = np.repeat([1, 2, 3, 4, 5, 1, 2, 3, 4, 5], HM_NORMAL + HM_ABNORMAL)
    abnormal = np.repeat([False, True], [sum(HM_NORMAL), sum(HM_ABNORMAL)])
    out = sentiment.auc_delong(-ratings, abnormal)                # abnormal rate higher: lower "sentiment"
    assert out["auc"] == pytest.approx(0.8932, abs=5e-5)          # Hanley & McNeil's 0.893
    x, y = ratings[abnormal], ratings[~abnormal]                   # by definition, pair by pair
    psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    se = np.sqrt(v10.var(ddof=1) / len(x) + v01.var(ddof=1) / len(y))
    assert out["se"] == pytest.approx(se) and out["auc"] == pytest.approx(psi.mean())
    assert out["lower"] == pytest.approx(out["auc"] - 1.959963984540054 * se)
    assert np.isnan(sentiment.auc_delong([0.1], [True])["auc"])


def test_vader_scores_the_simulators_tone_banks_in_order():
    scores = sentiment.score_comments(pd.Series(["Terrible service, nobody could help.", "It was ok.",
                                                 "Excellent service, thank you!", "", None]))
    assert scores.iloc[0] < -0.05 < 0.05 < scores.iloc[2] and scores.iloc[3:].isna().all()


# -- sentences: exact text and the condition behind each ------------------------------------------

def _validation(auc, lower, upper, passes):
    v = pd.DataFrame({"auc": [auc, 0.595], "lower": [lower, 0.566], "upper": [upper, 0.624], "n_positive": [519, 508],
                      "n_negative": [1829, 1568], "passes": [passes, False]}, index=["CSAT 1–2", "NPS 0–6"])
    return sentiment.SentimentValidation(v, bar=0.7, gate="CSAT 1–2")


def test_validation_and_coverage_sentences():
    assert say.comment_coverage_sentence(2348, 7765) == (
        "2,348 of 7,765 CSAT replies (30%) carry a comment; everything below rests on those, and customers who write "
        "may differ from those who do not.")
    assert say.validation_sentence(_validation(0.970, 0.963, 0.978, True)) == (
        "VADER's compound sentiment separates dissatisfied customers (CSAT 1–2) from the rest with an AUC of 0.970 "
        "(95% DeLong interval 0.963–0.978) on 2,348 comments (NPS detractors, 0–6: 0.595, 0.566–0.624); the lower "
        "end clears the bar of 0.70, so sentiment is used as a second outcome below.")
    assert say.validation_sentence(_validation(0.72, 0.68, 0.76, False)).endswith(
        "the lower end does not clear the bar of 0.70, so sentiment is not used as an outcome in this study.")


def test_agent_and_disagreement_sentences():
    test = sentiment.AgentVariance(lr=40.0, p_value=1e-9, agent_sd=0.133, sigma=0.5, icc=0.064, icc_lower=0.040,
                                   icc_upper=0.097)
    assert say.sentiment_agent_sentence(test) == (
        "With the contact mix held fixed, agents account for 6.4% (95% profile interval 4.0%–9.7%) of the variation "
        "in comment sentiment (agent SD 0.133 on the −1 to 1 scale; likelihood-ratio p < 0.001).")
    flat = dataclasses.replace(test, icc=0.0, icc_lower=0.0, icc_upper=0.008, p_value=1.0)
    assert say.sentiment_agent_sentence(flat).startswith("Comment sentiment shows no detectable differences")
    table = pd.DataFrame({"z": [-5.0, 0.3, 4.1], "disagrees": [True, False, True]}, index=["a", "b", "c"])
    info = sentiment.Disagreement(table=table, test=dataclasses.replace(test, p_value=2e-4), z_threshold=2.39,
                                  formula="sentiment ~ csat_score + (1 | agent_id)", min_comments=5, fit=None)
    assert say.disagreement_sentence(info) == (
        "The part of sentiment that the score does not explain varies between agents (agent share 6.4%, 95% profile "
        "interval 4.0%–9.7%; likelihood-ratio p < 0.001): of 3 agents with at least 5 comments, 1 has customers who "
        "write more harshly and 1 more warmly than they score (|z| > 2.39, Bonferroni over the agents) — worth a look "
        "at their comments, not a verdict.")
    agree = dataclasses.replace(info, table=table.assign(disagrees=False), test=flat)
    assert say.disagreement_sentence(agree) == (
        "Agents' sentiment and CSAT effects agree: on the same comment replies, the part of sentiment that the score "
        "does not explain shows no detectable agent-to-agent variation (agent share 0.0%, 95% profile interval "
        "0.0%–0.8%; likelihood-ratio p = 1.000), so none of the 3 agents with at least 5 comments can be said to have "
        "customers who write more warmly or harshly than they score.")


def test_runs_on_a_good_bad_scale_without_nps():
    from study_data import good_bad_without_extras

    ds, cache = good_bad_without_extras()
    result = comment_sentiment.run(ds, PARAMS, cache)
    validation = result.tables["sentiment_validation"]
    assert list(validation.index) == ["CSAT 1 = bad"] and validation.loc["CSAT 1 = bad", "passes"]
    assert result.values.validation.gate == "CSAT 1 = bad" and result.values.validation.passes
    assert result.findings[1].startswith("VADER's compound sentiment separates dissatisfied customers (CSAT 1 = bad) "
                                         "from the rest with an AUC of ")
    from upstream.data import CsatScale
    assert sentiment.dissatisfied_codes(CsatScale(points=7)) == (3, "CSAT 1–3")
    assert sentiment.dissatisfied_codes(CsatScale(points=5)) == (2, "CSAT 1–2")
    assert [CsatScale(points=k).dissatisfied for k in (2, 3, 4, 11)] == [(1,), (1,), (1, 2), (1, 2, 3, 4, 5)]
