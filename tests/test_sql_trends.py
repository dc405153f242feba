"""trends from SQL aggregates (DuckDB) against the pandas path on the bundled sample.

With the DuckDB engine the study reads per-week and per-month sums of the replies, the contacts per week and
mix level of the two months compared, and the trend model's per-agent sums — never the rows. With the pandas
path's trend model bootstrapped the same way (from the sums, same seed), every published table agrees within
1e-8, and the findings are the same sentences; with each path's own bootstrap (rows: "grouped", sums: "sums")
the bootstrap interval columns differ by a different random stream (about 0.03 on the sample).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from upstream.analysis import trends as analysis
from upstream.data import load_dataset
from upstream.data.frames import responses
from upstream.data.sql import open_dataset
from upstream.studies import RunCache, trends

TOL = dict(rtol=1e-8, atol=1e-10)
PARAMS = {"n_boot": 100, "seed": 3}


@pytest.fixture(scope="module")
def runs():
    pds = load_dataset("data/sample", validate=False)
    sds = open_dataset("data/sample", engine="duckdb", validate=False)
    cache = RunCache()
    fit = analysis.fit_trend_model(responses(pds, "csat"))
    cache.get("trend_model", lambda: (fit, fit.bootstrap(100, seed=3, progress=False, method="sums")),
              data=pds.fingerprint, n_boot=100, seed=3)
    return trends.run(pds, PARAMS, cache), trends.run(sds, PARAMS, RunCache())


def same(left: pd.DataFrame, right: pd.DataFrame, skip=()):
    assert list(left.index) == list(right.index) and list(left.columns) == list(right.columns)
    for col in left.columns:
        if col not in skip:
            np.testing.assert_allclose(left[col].to_numpy(float), right[col].to_numpy(float), err_msg=col, **TOL)


def test_every_table_agrees_with_the_same_bootstrap(runs):
    rows, sums = runs
    assert set(rows.tables) == set(sums.tables) == {"weekly_scores", "period_scores", "trend_decomposition",
                                                    "mix_shares", "within_mix_weekly"}
    for name in rows.tables:
        same(rows.tables[name], sums.tables[name])
    assert rows.values.model.nobs == sums.values.model.nobs == 7765
    assert rows.values.model.n_boot == sums.values.model.n_boot == 100
    assert rows.findings == sums.findings


def test_weekly_table_from_sums_in_numbers(runs):
    _, sums = runs
    weekly = sums.tables["weekly_scores"]
    assert len(weekly) == 14 and weekly.index[0] == "2026-06-29" and int(weekly["replies"].sum()) == 7765
    compared = sums.tables["period_scores"]
    assert list(compared.index) == ["2026-07", "2026-09", "change"]
    assert compared.loc["change", "csat"] == pytest.approx(compared.loc["2026-09", "csat"]
                                                           - compared.loc["2026-07", "csat"], abs=1e-12)


def test_a_wide_design_with_many_agents_draws_the_fixed_effects(runs, monkeypatch):
    """Above PER_GROUP_XTX_LIMIT the trend model is fitted from the total X'X (the same fit) and its intervals
    come from normal draws of β̂, which the report says; the estimates and Satterthwaite columns are unchanged."""
    from upstream.analysis import aggregated

    _, sums = runs
    monkeypatch.setattr(aggregated, "PER_GROUP_XTX_LIMIT", 1000)
    sds = open_dataset("data/sample", engine="duckdb", validate=False)
    wide = trends.run(sds, PARAMS, RunCache())
    same(sums.tables["trend_decomposition"], wide.tables["trend_decomposition"], skip=("lower", "upper"))
    same(sums.tables["within_mix_weekly"], wide.tables["within_mix_weekly"], skip=("lower", "upper"))
    part = wide.tables["trend_decomposition"].loc["mix"]
    assert part["lower"] == pytest.approx(part["satterthwaite_lower"], abs=0.005)
    assert part["upper"] == pytest.approx(part["satterthwaite_upper"], abs=0.005)
    note = ("Trend model: fitted from per-agent sums in duckdb (146 agents × 40 columns: too many for every agent's "
            "X'X), so the intervals of the decomposition and the weekly levels come from 100 draws of the fixed "
            "effects from their normal distribution (REML estimate and covariance), not from a parametric bootstrap.")
    assert note in wide.health and note in wide.findings
