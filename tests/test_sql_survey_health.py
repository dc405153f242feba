"""survey_health from SQL aggregates (DuckDB) against the pandas path on the bundled sample.

With the DuckDB engine the study reads counts per contact-feature cell (contacts, invitations, replies, CSAT
replies with Σy and top box, NPS classes), each agent's contacts and CSAT replies, and the per-agent sums of the
weighted replies — never the rows. Given the same agent model and survey screen (here both from SQL in both runs:
their own equality with the rows' is tests/test_sql_study.py's), every published table agrees within 1e-8 and the
findings are the same sentences.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapes import write_shape
from study_data import sample_with_empty_credit

from upstream.analysis.aggregated import fit_agent_model_from_sql
from upstream.analysis.nonresponse import RESPONSE_FEATURES
from upstream.data import load_dataset
from upstream.data.frames import invitations
from upstream.data.sql import open_dataset
from upstream.data.sql import survey as survey_sql
from upstream.studies import Parameters, RunCache, steps, survey_health

PARAMS = {"n_boot": 100, "seed": 3}


def with_model(pds, sds, n_boot: int = 100, seed: int = 3):
    """Run caches for the pandas and the DuckDB data set holding the same agent model (one factor, from the sums)
    and the same survey screen (from SQL: its equality with the rows' screen is tests/test_sql_study.py's)."""
    model = fit_agent_model_from_sql(sds, n_boot=n_boot, seed=seed, customer=None)
    scale, params = steps.csat_scale(pds), Parameters.from_mapping(PARAMS)
    rows_cache, sums_cache = RunCache(), RunCache()
    screen = steps.survey_screen(sds, params, sums_cache)
    rows_cache.get("survey_screen", lambda: screen, data=pds.fingerprint, z=params.screen_z,
                   visibility=steps.visibility_of(pds), scale=scale)
    rows_cache.get("agent_model", lambda: model, data=pds.fingerprint, outcome="csat", n_boot=n_boot, seed=seed,
                   scale=scale)
    sums_cache.get("agent_model", lambda: model, data=sds.fingerprint, outcome="csat", n_boot=n_boot, seed=seed,
                   scale=scale, engine="duckdb")
    return rows_cache, sums_cache


@pytest.fixture(scope="module")
def runs():
    pds = load_dataset("data/sample", validate=False)
    sds = open_dataset("data/sample", engine="duckdb", validate=False)
    rows_cache, sums_cache = with_model(pds, sds)
    return pds, sds, survey_health.run(pds, PARAMS, rows_cache), survey_health.run(sds, PARAMS, sums_cache)


def same(left: pd.DataFrame, right: pd.DataFrame, name: str, skip=()):
    assert list(left.index) == list(right.index) and list(left.columns) == list(right.columns), name
    for col in left.columns:
        if col in skip:
            continue
        if pd.api.types.is_numeric_dtype(left[col]) and not pd.api.types.is_bool_dtype(left[col]):
            np.testing.assert_allclose(left[col].to_numpy(float), right[col].to_numpy(float), rtol=1e-8, atol=1e-12,
                                       err_msg=f"{name}.{col}")
        else:
            assert left[col].astype(str).tolist() == right[col].astype(str).tolist(), f"{name}.{col}"


def test_every_table_and_finding_agrees(runs):
    _, _, rows, sums = runs
    assert list(rows.tables) == list(sums.tables) == list(survey_health.STUDY.tables)
    for name in rows.tables:
        same(rows.tables[name], sums.tables[name], name)
    at_scale = ("Agent model: in duckdb the verdicts whose tipping points are shown come from the one-factor model "
                "fitted by REML from per-agent sums.")
    assert rows.findings == [f for f in sums.findings if f != at_scale] and sums.findings[-1] == at_scale
    screen_note = ("Survey screen: top-box expectation from the population-averaged logistic model of the contact mix "
                   "(fitted on cells), not the marginal of a logistic mixed model.")   # the shared SQL screen's
    assert screen_note in rows.health and screen_note in sums.health
    assert "duckdb" in survey_health.STUDY.engines and "spark" in survey_health.STUDY.engines
    a, b = rows.values, sums.values
    assert (a.nps.n, a.nps.promoters, a.nps.detractors) == (b.nps.n, b.nps.promoters, b.nps.detractors)
    assert b.response.effective_n == pytest.approx(a.response.effective_n, rel=1e-10)
    assert b.response.propensity.auc == pytest.approx(a.response.propensity.auc, rel=1e-12)
    assert b.response.references == a.response.references
    for field in ("response_share", "respondent_mean", "nonrespondent_mar_mean", "delta_for_shift"):
        assert getattr(b.tipping, field) == pytest.approx(getattr(a.tipping, field), rel=1e-10), field
    assert b.tipping.contacts == a.tipping.contacts


def test_the_cells_count_every_contact_invitation_and_reply(runs):
    pds, _, _, sums = runs
    inv = invitations(pds)
    replied = inv["responded"] & inv["csat"].notna()
    response = sums.values.response
    assert response.n_responses == int(inv["responded"].sum()) == 7939
    assert int(response.cells["invited"].sum()) == len(inv)
    rates = sums.tables["response_rates"]
    assert rates.loc[("overall", "all"), "rate"] == pytest.approx(7939 / len(inv), rel=1e-15)
    tip = sums.values.tipping
    assert tip.contacts == len(pds.contacts)
    assert tip.response_share == pytest.approx(replied.sum() / len(pds.contacts), rel=1e-15)
    assert tip.respondent_mean == pytest.approx(inv.loc[replied, "csat"].astype(float).mean(), rel=1e-12)
    assert int(sums.tables["weighted_scores"]["replies"].sum()) == int(replied.sum()) == 7765


def test_weighted_replies_carry_their_cells_weight_scaled_to_each_agents_replies(runs):
    """Each CSAT reply's weight is its cell's 1/p̂, scaled in SQL window sums to add up to its agent's replies (the
    precision weights of ``nonresponse.weighted_agent_effects``), and it moves agents little on the sample."""
    pds, sds, _, sums = runs
    survey_sql.survey_view(sds, RESPONSE_FEATURES, steps.csat_scale(sds))
    survey_sql.weighted_replies(sds, sums.values.response.cells, sums.values.response.propensity.features)
    scaled = sds.engine.frame(f"SELECT agent_id, sum(w) AS w, count(*) AS n, min(rw) AS low, max(rw) AS high FROM "
                              f"(SELECT agent_id, rw, {survey_sql.per_agent_scaled_weight(sds)} AS w "
                              "FROM weighted_replies) t GROUP BY agent_id")
    assert len(scaled) == 146 and int(scaled["n"].sum()) == 7765
    np.testing.assert_allclose(scaled["w"], scaled["n"], rtol=1e-12)
    weights = 1 / sums.values.response.cells["p"]
    assert scaled["low"].min() == pytest.approx(weights.min()) and scaled["high"].max() <= weights.max()
    weighted = sums.tables["weighted_agent_effects"]
    assert weighted.index.name == "agent_id" and len(weighted) == 146
    assert 0 < weighted["shift"].abs().median() < 0.25 * weighted["cond_se"].median()


def visibility_runs(tmp_path, shape: str):
    folder = write_shape(tmp_path / shape, shape, seed=3)
    pds, sds = load_dataset(folder, validate=False), open_dataset(folder, engine="duckdb", validate=False)
    rows_cache, sums_cache = with_model(pds, sds)
    return survey_health.run(pds, PARAMS, rows_cache), survey_health.run(sds, PARAMS, sums_cache)


def same_sentences(rows, sums) -> bool:
    """The same findings but the health line only the SQL path has (which agent model it used at scale)."""
    return rows.findings == [f for f in sums.findings if not f.startswith("Agent model: in duckdb")]


def test_answered_surveys_only_says_so_on_the_sql_path(tmp_path):
    rows, sums = visibility_runs(tmp_path, "answered_surveys_only")
    assert same_sentences(rows, sums)
    assert sums.findings[0] == (
        "The data set lists answered surveys only (the survey API lists answered surveys only), so how many "
        "invitations went unanswered cannot be seen: response rates, who answers, weighting for non-response and how "
        "far non-response could move the scores are not estimated.")
    assert not {"response_rates", "response_model", "weighted_scores", "tipping_point"} & set(sums.tables)


def test_every_invitation_answered_says_so_on_the_sql_path(tmp_path):
    rows, sums = visibility_runs(tmp_path, "every_contact_rated")
    assert same_sentences(rows, sums)
    assert "Every invitation was answered, so there is no non-response to weight for." in sums.findings
    assert ("Every one of the period's contacts has a CSAT reply, so there are no non-respondents whose scores could "
            "differ (a δ-adjusted pattern-mixture analysis needs some).") in sums.findings


def test_an_empty_credit_is_no_credit_on_both_paths(tmp_path):
    """credit_issued empty on every 7th contact: the pandas path's `credit_issued > 0` is False there, and SQL's
    comparison with NULL must not make a third `credited` value (the screen's cells then dropped the feature, moving
    the expected rates by up to 0.0036 and z_response by 0.048 on this data set). The top-box part (a GLMM on the
    rows, another estimator in SQL) is left out: no CSAT on the pandas side."""
    from upstream.analysis.aggregated import survey_screen_from_sql
    from upstream.analysis.screen import survey_screen

    folder = sample_with_empty_credit(tmp_path / "sample")
    pds, sds = load_dataset(folder, validate=False), open_dataset(folder, engine="duckdb", validate=False)
    assert int(pds.contacts["credit_issued"].isna().sum()) == 8572
    rows = steps.quietly(lambda: survey_screen(pds.contacts, invitations(pds).assign(csat=np.nan))).table
    sums = steps.quietly(lambda: survey_screen_from_sql(sds)).table          # BLAS on one thread: 2× faster here
    columns = ["contacts", "invitations", "expected_invitation_rate", "z_invitation", "z_invitation_adverse",
               "n_responses", "expected_response_rate", "z_response", "z_steering", "flag_invitations",
               "flag_response", "flag_combined"]
    same(rows[columns], sums[columns], "survey_screen")
    cells = survey_sql.survey_cells(sds, survey_sql.survey_view(sds, RESPONSE_FEATURES))
    assert sorted(cells["credited"].unique()) == [False, True]
    shared = steps.quietly(lambda: survey_screen_from_sql(sds, cells=cells)).table     # one pass fewer
    same(rows[columns], shared[columns], "survey_screen from the shared cells")
    same(sums, shared, "survey_screen from its own and the shared cells")
