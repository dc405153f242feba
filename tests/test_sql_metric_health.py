"""metric_health from SQL aggregates (DuckDB) against the pandas path on the bundled sample.

With DuckDB the study reads per-day, per-month, per-agent, per-cell and per-value sums — never the rows. Given
the same agent model (the pandas path's, so the CSAT columns are the same fit), every table equals the pandas
path's within 1e-8 except what the handle-time model feeds: at scale its crossed agent × day intercepts are
fitted from sums by the method of moments and conjugate-gradient GLS (not REML), and the period change is
tested on the days' containment df; those columns are bounded here."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from study_data import sample

from upstream.data.sql import open_dataset
from upstream.studies import RunCache, metric_health, steps

TOL = dict(rtol=1e-8, atol=1e-10)
PARAMS = {"n_boot": 100, "seed": 7, "show_names": True}
HANDLE_TIME = ("handle_time_ratio", "p_fast", "p_quadrant", "handle_time_effect", "handle_time_se", "handle_time_rel")


@pytest.fixture(scope="module")
def runs():
    pds, _, cache = sample()
    rows = metric_health.run(pds, PARAMS, cache)
    sds = open_dataset(pds.folder if hasattr(pds, "folder") else "data/sample", engine="duckdb", validate=False)
    params = metric_health.MetricHealthParameters.from_mapping(PARAMS)
    model = steps.agent_model(pds, params, cache)
    sql_cache = RunCache()
    sql_cache.get("agent_model", lambda: model, data=sds.fingerprint, outcome="csat", n_boot=params.n_boot,
                  seed=params.seed, scale=steps.csat_scale(sds), engine="duckdb")
    return rows, metric_health.run(sds, params, sql_cache)


def same(left: pd.DataFrame, right: pd.DataFrame, skip=()):
    left, right = left.sort_index(), right.sort_index()
    assert list(left.index) == list(right.index) and list(left.columns) == list(right.columns)
    for col in left.columns:
        if col in skip:
            continue
        if pd.api.types.is_numeric_dtype(left[col]) and left[col].dtype != bool:
            np.testing.assert_allclose(left[col].to_numpy(float), right[col].to_numpy(float), err_msg=col, **TOL)
        else:
            assert list(left[col].astype(str)) == list(right[col].astype(str)), col


def test_tables_agree_with_the_pandas_path(runs):
    rows, sums = runs
    assert set(rows.tables) == set(sums.tables) == set(metric_health.STUDY.tables)
    for name in ("change_point", "monthly_metrics", "contact_metrics", "resolution_agreement", "interactions_curve",
                 "interactions_bands", "interactions_comparisons"):
        same(rows.tables[name], sums.tables[name])
    same(rows.tables["agent_metrics"], sums.tables["agent_metrics"], skip=HANDLE_TIME)
    same(rows.tables["period_changes"].loc[["repeat"]], sums.tables["period_changes"].loc[["repeat"]])
    same(rows.tables["effect_correlations"].loc[["repeat~csat"]], sums.tables["effect_correlations"].loc[["repeat~csat"]])
    assert len(sums.tables["agent_metrics"]) == 150 and int(sums.tables["agent_metrics"]["contacts"].sum()) == 60000
    assert sums.tables["resolution_agreement"].loc["disagree", "contacts"] == 4534
    assert sums.tables["interactions_curve"].loc[1, ["contacts", "replies"]].tolist() == [30554, 4034]
