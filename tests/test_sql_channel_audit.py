"""channel_audit from SQL aggregates (DuckDB) against the pandas path on the bundled sample.

With the DuckDB engine the study reads per-channel sums (contacts, days, ranked contact times, survey counts),
agent × mix cells of each rate and of NPS, invitations per channel × feature cell and the CSAT model's
per-agent sums — never the rows. The summary, the raw differences, the rate and NPS effects and the response
comparison equal the pandas path's within 1e-8. The CSAT effects come from the agent model without the
customer random effect (named in the model health): equal to the pandas path's with that model, and within
0.01 points of the pandas path's own (with customers) on the sample.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from study_data import PARAMS, sample, sample_with_empty_credit

from upstream.analysis import policies
from upstream.analysis.agents import fit_agent_model
from upstream.data.frames import CONTACT_MIX, responses
from upstream.data.sql import open_dataset
from upstream.studies import RunCache, channel_audit

TOL = dict(rtol=1e-8, atol=1e-10)
OTHER_METRICS = ["nps", "fcr", "escalation", "repeat"]


@pytest.fixture(scope="module")
def runs():
    ds, _, cache = sample()
    sds = open_dataset("data/sample", engine="duckdb", validate=False)
    return ds, channel_audit.run(ds, PARAMS, cache), channel_audit.run(sds, PARAMS, RunCache())


def same(left: pd.DataFrame, right: pd.DataFrame, columns=None):
    assert list(left.index) == list(right.index)
    assert list(left.columns) == list(right.columns)
    for col in columns or left.columns:
        if pd.api.types.is_numeric_dtype(left[col]):
            np.testing.assert_allclose(left[col].to_numpy(float), right[col].to_numpy(float), err_msg=col, **TOL)
        else:
            assert list(left[col]) == list(right[col]), col


def test_summary_raw_differences_rates_nps_and_response_equal_the_pandas_path(runs):
    _, rows, sums = runs
    assert set(rows.tables) == set(sums.tables) == {"channel_summary", "channel_differences", "channel_response"}
    same(rows.tables["channel_summary"], sums.tables["channel_summary"])
    assert list(sums.tables["channel_summary"]["contacts"]) == [17954, 15065, 5918, 21063]
    a, b = rows.tables["channel_differences"], sums.tables["channel_differences"]
    same(a.loc[OTHER_METRICS], b.loc[OTHER_METRICS])
    same(a.loc[["csat"]], b.loc[["csat"]], columns=["unit", "raw", "raw_lower", "raw_upper"])
    same(rows.tables["channel_response"], sums.tables["channel_response"],
         columns=["reply_share", "csat", "csat_weighted", "weighting_shift"])
    assert sums.values.comparison.chi2_p == pytest.approx(rows.values.comparison.chi2_p, rel=1e-8)
    escalation = b.loc["escalation"]
    assert escalation.loc["email", "effect"] == pytest.approx(a.loc[("escalation", "email"), "effect"], rel=1e-8)


def test_csat_effects_equal_the_pandas_path_with_the_same_model(runs):
    """Without the customer term on the pandas side too, the CSAT channel effects (level contrasts of the policy
    model, channel-specific residual variances where they differ) are the same numbers."""
    ds, _, sums = runs
    model = fit_agent_model(responses(ds), "csat", CONTACT_MIX, n_boot=2, seed=7, population=ds.contacts,
                            customer=None, boot_method="sums")
    fitted = policies.fit_policy_model(model, "channel")
    expected = policies.level_effects(fitted, ds.contacts)
    got = sums.tables["channel_differences"].loc["csat"].reindex(expected.index)
    for col in ["effect", "lower", "upper", "lower_adj", "upper_adj", "p_holm"]:
        np.testing.assert_allclose(got[col].to_numpy(float), expected[col].to_numpy(float), err_msg=col, **TOL)


def test_csat_effects_without_customers_are_named_and_close(runs):
    _, rows, sums = runs
    a, b = rows.tables["channel_differences"].loc["csat"], sums.tables["channel_differences"].loc["csat"]
    assert np.abs(a["effect"] - b["effect"]).max() < 0.01
    assert list(a["upper_adj"] < 0) == list(b["upper_adj"] < 0) and list(a["lower_adj"] > 0) == list(b["lower_adj"] > 0)
    note = ("CSAT model: fitted from per-agent sums in duckdb (7,765 replies, 146 agents) without a customer random "
            "effect (the crossed agent × customer model needs every reply in memory), so the channel effects do not "
            "allow for repeat customers.")
    assert note in sums.findings and note in sums.health and note not in rows.findings
    same_sentences = [f for f in rows.findings if "CSAT differs by channel" not in f and "pattern-mixture" not in f]
    assert all(f in sums.findings for f in same_sentences)


def test_a_rate_model_beyond_the_cell_limit_is_fitted_on_a_random_subset_of_agents(runs, monkeypatch):
    """Beyond EFFECT_CELLS agent × mix cells the rate model takes the cells of randomly drawn agents (as many as fit
    under the limit), says so, and its effects stay within 3 SDs of the all-agent fit's (the SD of the difference
    of nested estimates, √(se_subset² − se_all²)), with larger standard errors."""
    from upstream.analysis import latent, outcome_cells

    _, _, sums = runs
    full = sums.tables["channel_differences"].loc["repeat"]
    monkeypatch.setattr(outcome_cells, "EFFECT_CELLS", 20_000)
    sds = open_dataset("data/sample", engine="duckdb", validate=False)
    model = outcome_cells.fit_rate_model_from_sql(sds, "repeat_within_7d", CONTACT_MIX)
    assert (model.agents_used, model.agents_total, model.cells_total, len(model.frame)) == (72, 150, 44570, 19913)
    assert model.note() == ("fitted on the contacts of 72 of 150 agents drawn at random (all agents' contacts make "
                            "44,570 agent × mix cells, more than the 20,000 the fit takes within the review's time): "
                            "its channel and policy effects still average over every contact of the period, and their "
                            "intervals reflect the smaller sample")
    subset = latent.level_effects(model, outcome_cells.population_cells(sds, CONTACT_MIX), "channel",
                                  design_effects=lambda g: outcome_cells.customer_design_effects(sds, model, g))
    assert int(subset["n_responses"].sum()) == int(model.frame["n"].sum()) < 60_000 // 2
    all_se = (full["upper"] - full["lower"]) / (2 * 1.959963984540054) / 100          # percentage points → share
    se = subset["std_error"].reindex(full.index)
    assert (se > all_se).all()
    z = (subset["effect"].reindex(full.index) - full["effect"] / 100) / np.sqrt(se ** 2 - all_se ** 2)
    assert np.abs(z).max() < 3


def test_the_nps_model_beyond_the_effect_cells_is_fitted_on_a_random_subset_of_agents(runs, monkeypatch):
    """Beyond EFFECT_CELLS agent × mix × NPS cells the NPS model takes the cells of randomly drawn agents, the health
    notes say so, and its channel effects stay within 3 SDs of the all-agent fit's (nested estimates: the SD of the
    difference √(se_subset² − se_all²)), with larger standard errors."""
    from upstream.analysis import margins, outcome_cells
    from upstream.studies import steps

    _, _, sums = runs
    full = sums.tables["channel_differences"].loc["nps"]
    monkeypatch.setattr(outcome_cells, "EFFECT_CELLS", 3_000)
    sds = open_dataset("data/sample", engine="duckdb", validate=False)
    model = outcome_cells.fit_nps_model_from_sql(sds, CONTACT_MIX)
    assert (model.agents_used, model.agents_total, model.cells_total, len(model.frame)) == (57, 146, 7037, 2940)
    subset = margins.nps_level_effects(model, outcome_cells.population_cells(sds, CONTACT_MIX), "channel")
    all_se = (full["upper"] - full["lower"]) / (2 * 1.959963984540054)
    se = subset["std_error"].reindex(full.index)
    assert (se > all_se).all()
    z = (subset["effect"].reindex(full.index) - full["effect"]) / np.sqrt(se ** 2 - all_se ** 2)
    assert np.abs(z).max() < 3
    cache = RunCache()
    cache.get("nps_model", lambda: model, data=sds.fingerprint, engine="duckdb")
    note = (f"NPS model: fitted on the NPS replies of {model.agents_used:,} of 146 agents drawn at random (all agents' "
            f"NPS replies make {model.cells_total:,} agent × mix × NPS cells, more than the 3,000 the fit takes within "
            "the review's time): its channel and policy effects still average over every contact of the period, and "
            "their intervals reflect the smaller sample.")
    assert steps.sql_level_notes(sds, cache, None, "channel", {}, "NPS model") == [note]


def test_an_empty_credit_is_no_credit_in_the_response_comparison(tmp_path):
    """credit_issued empty on every 7th contact: the pandas path's `credit_issued > 0` is False there; SQL's
    comparison with NULL made a third `credited` cell, the propensity model then left the feature out and the
    weighted CSAT per channel moved away from the pandas path's."""
    from upstream.analysis import channel_sums, channels
    from upstream.analysis.nonresponse import fit_response_model
    from upstream.data import load_dataset
    from upstream.data.frames import invitations
    from upstream.data.sql import channels as sql_channels

    folder = sample_with_empty_credit(tmp_path / "sample")
    pds, sds = load_dataset(folder, validate=False), open_dataset(folder, engine="duckdb", validate=False)
    cells = sql_channels.response_cells(sds, "channel", ["credited"])
    assert sorted(cells["credited"].unique()) == [False, True]
    levels = sorted(pds.contacts["channel"].astype(str).unique())
    effects = pd.DataFrame({"effect": 0.0, "lower_adj": -0.1, "upper_adj": 0.1}, index=levels)
    inv = invitations(pds)
    rows = channels.response_comparison(pds.contacts, inv, fit_response_model(inv).weights, effects).table
    sums = channel_sums.response_comparison_from_sql(sds, effects).table
    same(rows, sums, columns=["reply_share", "csat", "csat_weighted", "weighting_shift"])
