"""agent_scorecards and the short CSAT scales from counts made in DuckDB, against the pandas path on the sample.

- The scorecards (5-point sample): given the same agent model and effects, every column within 1e-8 relative, the
  clmm and glmer columns within 1e-6 (agent effects from per-agent sums equal the pandas path's:
  tests/test_sql_study.py).
- Good/bad and 3-point versions of the sample (the same files read by pandas and by DuckDB): the latent agent model
  fitted to agent × mix × rating cells gives the pandas path's agent effects, shares, policy effects (with the
  customer design effect) and top quarter within 1e-6; agent_vs_system and agent_scorecards run with DuckDB.
"""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from upstream.analysis import latent
from upstream.analysis.agents import agent_effects, fit_agent_model
from upstream.analysis.latent_cells import CellLatentAgentModel
from upstream.analysis.scorecards import agent_scorecards
from upstream.analysis.scorecards_cells import adjusted_top_box_from_cells, scorecards_from_sql
from upstream.data import load_dataset
from upstream.data.frames import CONTACT_MIX, responses
from upstream.data.sql import open_dataset
from upstream.data.sql.cells import rating_cells
from upstream.studies import RunCache, agent_vs_system, steps
from upstream.studies import agent_scorecards as scorecards_study
from upstream.studies.base import Parameters

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
LINEAR = dict(rtol=1e-8, atol=1e-10)
GLMM = dict(rtol=1e-6, atol=1e-9)
GLMM_COLUMNS = {"csat_ordinal_effect", "top_box_adjusted"}


def same_table(left: pd.DataFrame, right: pd.DataFrame, tolerance=LINEAR, glmm_columns=()):
    assert list(left.index) == list(right.index) and list(left.columns) == list(right.columns)
    for col in left.columns:
        x, y = left[col], right[col]
        if pd.api.types.is_numeric_dtype(x.dtype) and not pd.api.types.is_bool_dtype(x.dtype):
            np.testing.assert_allclose(x.astype(float), y.astype(float), err_msg=col,
                                       **(GLMM if col in glmm_columns else tolerance))
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), col


def test_scorecards_from_counts_equal_the_pandas_path():
    """Given the same agent model and effects, every count-based column agrees."""
    pds = load_dataset(SAMPLE, validate=False)
    sds = open_dataset(SAMPLE, engine="duckdb", validate=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit_agent_model(responses(pds), "csat", CONTACT_MIX, n_boot=100, seed=11, population=pds.contacts,
                                customer=None, boot_method="sums")
        effects = agent_effects(model, pds.agents).table
        scale = steps.csat_scale(pds)
        card, fits = agent_scorecards(model, effects, scale, nps_replies=responses(pds, "nps"))
        counted, counted_fits = scorecards_from_sql(sds, model, effects, scale)
    same_table(card, counted, glmm_columns=GLMM_COLUMNS)
    assert card["nps_n"].sum() == counted["nps_n"].sum() == 7125
    for name in ("ordinal", "top_box"):
        assert fits[name].nobs == counted_fits[name].nobs == 7765
        np.testing.assert_allclose(fits[name].params, counted_fits[name].params, **GLMM)


def recoded(folder: Path, mapping: dict, points: int, labels: dict) -> Path:
    """The sample with CSAT recoded by `mapping` onto a `points`-point scale (top box: the best point)."""
    folder.mkdir(parents=True)
    for name in ("contacts.csv", "agents.csv"):
        shutil.copy(SAMPLE / name, folder / name)
    surveys = pd.read_csv(SAMPLE / "surveys.csv", dtype=str, keep_default_na=False)
    surveys["csat"] = [str(mapping[int(v)]) if v else "" for v in surveys["csat"]]
    surveys.to_csv(folder / "surveys.csv", index=False)
    description = {"upstream_dataset": 1, "name": folder.name,
                   "csat": {"points": points, "labels": labels, "top_box": [points]}}
    (folder / "dataset.yaml").write_text(yaml.safe_dump(description), encoding="utf-8")
    return folder


SCALES = {"good_bad": ({1: 1, 2: 1, 3: 1, 4: 2, 5: 2}, 2, {1: "bad", 2: "good"}),
          "three_point": ({1: 1, 2: 1, 3: 2, 4: 2, 5: 3}, 3, {1: "1", 2: "2", 3: "3"})}


@pytest.fixture(scope="module", params=sorted(SCALES))
def short_scale(request, tmp_path_factory):
    folder = recoded(tmp_path_factory.mktemp("scales") / request.param, *SCALES[request.param])
    pds, sds = load_dataset(folder, validate=False), open_dataset(folder, engine="duckdb", validate=False)
    params = Parameters.from_mapping({"n_boot": 100})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return request.param, pds, sds, steps.agent_model(pds, params, RunCache()), steps.agent_model(sds, params,
                                                                                                   RunCache())


def test_latent_agent_model_from_cells_equals_the_rows(short_scale):
    name, pds, sds, rows, cells = short_scale
    assert isinstance(cells, CellLatentAgentModel) and not isinstance(rows, CellLatentAgentModel)
    assert cells.fit.nobs == rows.fit.nobs == 7765 and cells.baseline == pytest.approx(rows.baseline, rel=1e-12)
    np.testing.assert_allclose(cells.fit.params, rows.fit.params, **GLMM)
    same_table(agent_effects(rows, pds.agents).table, agent_effects(cells, steps.agents_table(sds)).table, GLMM)
    same_table(latent.latent_shares(rows, n_sim=200).table, latent.latent_shares(cells, n_sim=200).table, GLMM)
    policy = latent.level_effects(rows, pds.contacts, "policy")
    counted = latent.level_effects(cells, cells.contacts, "policy")
    same_table(policy, counted, GLMM)
    same_table(latent.latent_top_quarter(rows, policy, pds.contacts, "policy"),
               latent.latent_top_quarter(cells, counted, cells.contacts, "policy"), GLMM)
    design = latent.customer_design_effects(cells, {"x": np.ones(len(cells.fit.fixef))})
    assert (design["x"] > 1.0) if name == "good_bad" else design == {}       # clmm: no design effect


@pytest.mark.parametrize("short_scale", ["good_bad"], indirect=True)
def test_studies_run_on_a_good_bad_scale_with_duckdb(short_scale):
    _, pds, sds, rows, cells = short_scale
    cache = RunCache()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = agent_vs_system.run(sds, {"n_boot": 100}, cache)
        cards = scorecards_study.run(sds, {"n_boot": 100}, cache)
    note = ("Agent model: fitted from 7,338 agent × contact-mix × rating cells counted in duckdb (7,765 replies, 146 "
            "agents): the same likelihood and estimates as from the replies.")
    assert note in study.findings and note in cards.findings
    channel, _ = steps.csat_level_effects(sds, Parameters.from_mapping({"n_boot": 100}), cache, "channel")
    same_table(latent.level_effects(rows, pds.contacts, "channel"), channel, GLMM)     # the step other studies use
    policy = study.tables["policy_effects"]            # the pandas path's numbers: the latent test above
    assert policy.loc["refund above cap", "effect"] == pytest.approx(-0.192490, abs=1e-6)
    assert policy.loc["refund above cap", ["n_contacts", "n_responses"]].tolist() == [4206, 582]
    card = cards.tables["scorecards"]
    assert "csat_ordinal_effect" not in card and card["n_responses"].sum() == 7765
    assert card["top_box_raw"].to_numpy() == pytest.approx(card["csat_raw"].to_numpy(), rel=1e-12)
    assert cards.fits["top_box"] is cards.fits["agent model"]          # one glmer: the good/bad agent model's
    own, _ = adjusted_top_box_from_cells(rating_cells(sds, tuple(cells.mix), "csat"), cells.mix,
                                         steps.csat_scale(sds))                 # a glmer of its own: the same shares
    np.testing.assert_allclose(card["top_box_adjusted"], own.reindex(card.index), rtol=0, atol=1e-12)
