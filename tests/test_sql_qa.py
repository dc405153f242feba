"""qa_sample from SQL (DuckDB) against the pandas path on the bundled sample.

With the DuckDB engine the study reads per agent the contacts without a CSAT reply (counted in SQL) and only
the unrated contacts of the agents that get reviews; the plan and the seeded draw within each agent are the
pandas path's own code. Given the same agent model (the one-factor fit, bootstrapped from the sums), both
publish the same qa_plan and qa_sample (every column) and the same findings; by default the model at scale
is the O(N) crossed fit (tests/test_crossed.py), whose variances the plan then uses.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from upstream.analysis.agents import fit_agent_model
from upstream.analysis.aggregated import fit_agent_model_from_sql
from upstream.data import load_dataset
from upstream.data.frames import CONTACT_MIX, responses
from upstream.data.sql import aggregates as sql
from upstream.data.sql import open_dataset
from upstream.studies import RunCache, qa_sample, steps

PARAMS = {"n_boot": 100, "seed": 3}


@pytest.fixture(scope="module")
def runs():
    pds = load_dataset("data/sample", validate=False)
    sds = open_dataset("data/sample", engine="duckdb", validate=False)
    scale = steps.csat_scale(pds)
    rows_cache, sums_cache = RunCache(), RunCache()
    rows_cache.get("agent_model", lambda: fit_agent_model(responses(pds), "csat", CONTACT_MIX, n_boot=100, seed=3,
                                                          population=pds.contacts, customer=None,
                                                          boot_method="sums"),
                   data=pds.fingerprint, outcome="csat", n_boot=100, seed=3, scale=scale)
    sums_cache.get("agent_model", lambda: fit_agent_model_from_sql(sds, n_boot=100, seed=3, customer=None),
                   data=sds.fingerprint, outcome="csat", n_boot=100, seed=3, scale=scale, engine="duckdb")
    return pds, sds, qa_sample.run(pds, PARAMS, rows_cache), qa_sample.run(sds, PARAMS, sums_cache)


def test_plan_and_sample_agree(runs):
    _, _, rows, sums = runs
    for name in ("qa_plan", "qa_sample"):
        left, right = rows.tables[name], sums.tables[name]
        assert list(left.index) == list(right.index) and list(left.columns) == list(right.columns)
        for col in left.columns:
            if pd.api.types.is_numeric_dtype(left[col]) and not pd.api.types.is_bool_dtype(left[col]):
                np.testing.assert_allclose(left[col].to_numpy(float), right[col].to_numpy(float), rtol=1e-8,
                                           err_msg=col)
            else:
                assert left[col].astype(str).tolist() == right[col].astype(str).tolist(), col
    assert rows.findings == sums.findings
    assert len(sums.tables["qa_sample"]) == 200 and sums.tables["qa_plan"]["reviews"].sum() == 200


def test_unrated_counts_are_those_of_the_rows(runs):
    pds, sds, _, _ = runs
    replied = responses(pds, "csat")["contact_id"]
    unrated = ~pds.contacts["contact_id"].isin(replied)
    expected = unrated.groupby(pds.contacts["agent_id"].astype(str)).sum().astype(np.int64)
    counts = sql.unrated_counts(sds)
    assert counts.equals(expected.sort_index().rename(None).rename_axis(None))
    assert int(counts.sum()) == len(pds.contacts) - 7765


def test_eligible_counts_alone_need_a_linear_model():
    """A latent-scale model's review variance comes from each unrated contact's mix: counts are not enough."""
    from types import SimpleNamespace

    from upstream.analysis import qa

    fit = SimpleNamespace(varcorr=pd.DataFrame({"variance": [0.4]}, index=["agent_id"]),
                          ranef={"agent_id": pd.DataFrame({"cond_se": [0.3]}, index=["a1"])})
    model = SimpleNamespace(judged_by=fit, agent="agent_id", frame=None,
                            agent_means=lambda: pd.DataFrame({"n_responses": [4]}, index=["a1"]))
    with pytest.raises(ValueError, match=r"^review_plan: a latent-scale agent model needs the contacts and replied "
                                         r"\(a rating's information depends on each unrated contact's mix\); "
                                         r"eligible alone serves a linear model$"):
        qa.review_plan(model, None, None, 10, eligible=pd.Series({"a1": 3}))


def test_unrated_cells_count_the_rows_per_agent_and_mix(runs):
    """The unrated contacts per agent × contact-mix cell from SQL, each mix written once, are the rows' counts
    (every mix cell of the rows is there once; empty mix values and agents without replies included)."""
    from upstream.data.sql.cells import CELL, CONTACTS, unrated_cells

    pds, sds, _, _ = runs
    mix = ["policy", "channel", "issue_type"]
    cells = unrated_cells(sds, mix)
    assert not cells.mix.duplicated().any()
    assert set(cells.counts[CELL]) == set(range(len(cells.mix)))
    got = (cells.counts.join(cells.mix, on=CELL).groupby(["agent_id", *mix])[CONTACTS].sum().sort_index())
    rows = pds.contacts[~pds.contacts["contact_id"].isin(responses(pds, "csat")["contact_id"])]
    rows = rows[rows["agent_id"].notna()]
    expected = rows.assign(agent_id=rows["agent_id"].astype(str), **{m: rows[m].astype(str) for m in mix}) \
        .groupby(["agent_id", *mix]).size().sort_index()
    assert got.to_dict() == expected.to_dict()
    assert int(got.sum()) == len(pds.contacts) - 7765
