"""comment_sentiment from a SQL data set (DuckDB) against the pandas path on the bundled sample.

The comment replies are streamed from the engine in batches (here of 2,048 rows, so the sample's 2,348 comments
come in two), redacted and scored with the pandas path's scorer; only counts per sentiment value × score and
per-agent sums are kept. The validation (DeLong's AUC from the counts), the table by score and the two agent
models fitted from the sums equal the pandas path's; with the pandas path's agent model of CSAT in the cache
(the SQL path's own is the crossed model from sums, docs/scale.md) every table and finding is the same.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from study_data import PARAMS, sample

from upstream.analysis import sentiment, sentiment_sums
from upstream.data.sql import open_dataset
from upstream.reporting.privacy import redact_comment
from upstream.studies import RunCache, comment_sentiment, steps
from upstream.studies.comment_sentiment import SentimentParameters, plots

TOL = dict(rtol=1e-8, atol=1e-12)


@pytest.fixture(scope="module")
def runs():
    pds, _, cache = sample()
    rows = comment_sentiment.run(pds, PARAMS, cache)
    sds = open_dataset("data/sample", engine="duckdb", validate=False)
    params = SentimentParameters.from_mapping(PARAMS)
    sql_cache = RunCache()
    model = steps.agent_model(pds, params, cache)
    sql_cache.get("agent_model", lambda: model, data=sds.fingerprint, outcome="csat", n_boot=params.n_boot,
                  seed=params.seed, scale=steps.csat_scale(sds), engine="duckdb")
    sql_cache.get("comment_sums", lambda: sentiment_sums.comment_sums(sds, ("policy", "product", "channel",
                                                                            "issue_type"), redact_comment, rows=2048),
                  data=sds.fingerprint, engine="duckdb")
    return rows, comment_sentiment.run(sds, params, sql_cache), sds


def same(left: pd.DataFrame, right: pd.DataFrame):
    assert list(left.index) == list(right.index) and list(left.columns) == list(right.columns)
    for col in left.columns:
        if left[col].dtype.kind in "biuf":
            np.testing.assert_allclose(left[col].to_numpy(float), right[col].to_numpy(float), err_msg=col, **TOL)
        else:
            assert list(left[col]) == list(right[col]), col


def test_every_table_and_finding_agrees_with_the_pandas_path(runs):
    rows, sums, _ = runs
    assert set(rows.tables) == set(sums.tables) == {"sentiment_validation", "sentiment_by_score", "agent_sentiment",
                                                    "sentiment_models"}
    same(rows.tables["sentiment_validation"], sums.tables["sentiment_validation"])
    same(rows.tables["sentiment_by_score"], sums.tables["sentiment_by_score"])
    same(rows.tables["sentiment_models"].drop(columns="formula").astype(float),
         sums.tables["sentiment_models"].drop(columns="formula").astype(float))
    assert list(rows.tables["sentiment_models"]["formula"]) == list(sums.tables["sentiment_models"]["formula"])
    # the sentiment-given-score model is singular on the sample (every agent's z is 0): rows tie, order aside
    same(rows.tables["agent_sentiment"].sort_index(), sums.tables["agent_sentiment"].sort_index())
    assert rows.findings == sums.findings
    assert sums.values.n_comments == 2348 and sums.values.n_replies == 7765 and sums.values.used


def test_a_boundary_fit_of_sentiment_given_the_score_is_the_answer_not_a_health_problem(runs):
    """On the sample no agent variance of sentiment beyond the score (agent SD 0): the finding says so, and the
    model health does not repeat it as a problem (on either path)."""
    rows, sums, _ = runs
    assert sums.values.disagreement.test.agent_sd == 0.0 and rows.values.disagreement.test.agent_sd == 0.0
    for result in (rows, sums):
        assert not [f for f in result.findings if f.startswith("Sentiment-given-score model:")]
        assert any(f.startswith("Agents' sentiment and CSAT effects agree") for f in result.findings)


def test_validation_in_numbers(runs):
    _, sums, _ = runs
    gate = sums.tables["sentiment_validation"].loc["CSAT 1–2"]
    assert (int(gate["n_positive"]), int(gate["n_negative"])) == (519, 1829)
    assert gate["auc"] == pytest.approx(0.970252, abs=1e-6) and bool(gate["passes"])
    assert int(sums.tables["sentiment_by_score"]["comments"].sum()) == 2348


def test_auc_from_counts_is_delongs_on_ties():
    """Hanley & McNeil's CT ratings (1982, Table 1): 58 normal and 51 abnormal cases on a 5-point scale."""
    normal, abnormal = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33]
    values = -np.arange(1.0, 6.0)       # higher rating = lower 'sentiment' = positive
    got = sentiment_sums.auc_from_counts(values, abnormal, normal)
    rating = np.repeat(values, np.add(normal, abnormal))
    positive = np.concatenate([np.r_[[True] * a, [False] * n] for a, n in zip(abnormal, normal)])
    ref = sentiment.auc_delong(rating, positive)
    assert got["auc"] == pytest.approx(0.8931, abs=1e-4)
    for key in ("auc", "se", "lower", "upper"):
        assert got[key] == pytest.approx(ref[key], rel=1e-12)


def test_box_statistics_from_counts_are_matplotlibs():
    from matplotlib import cbook

    x = np.round(np.random.default_rng(1).normal(size=997), 1)
    ref = cbook.boxplot_stats(x, whis=(5, 95))[0]
    values, counts = np.unique(x, return_counts=True)
    got = plots.box_stats(values, counts)
    assert [got[k] for k in ("med", "q1", "q3", "whislo", "whishi")] == \
        pytest.approx([ref[k] for k in ("med", "q1", "q3", "whislo", "whishi")], abs=1e-12)


def test_declares_the_sql_engines():
    assert comment_sentiment.STUDY.engines == ("pandas", "duckdb", "spark")
