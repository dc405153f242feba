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
def runs(sql_run):
    return sql_run[:2]


@pytest.fixture(scope="module")
def sql_run():
    """The pandas and the DuckDB study on the sample, and the SQL data set (its `metric_rows` as the study left it)."""
    pds, _, cache = sample()
    rows = metric_health.run(pds, PARAMS, cache)
    sds = open_dataset(pds.folder if hasattr(pds, "folder") else "data/sample", engine="duckdb", validate=False)
    params = metric_health.MetricHealthParameters.from_mapping(PARAMS)
    model = steps.agent_model(pds, params, cache)
    sql_cache = RunCache()
    sql_cache.get("agent_model", lambda: model, data=sds.fingerprint, outcome="csat", n_boot=params.n_boot,
                  seed=params.seed, scale=steps.csat_scale(sds), engine="duckdb")
    return rows, metric_health.run(sds, params, sql_cache), sds


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


def test_handle_time_model_within_its_bound(runs):
    """On the sample the break is clear and the moment estimate of the day variance is 0, so the handle-time
    model is the exact REML fit without the day term (as the rows' fit would be if its day variance were 0): the
    period change's estimate agrees to 1e-5 and its interval is 3.6% narrower (a 2.3% smaller standard error without
    the day term, and the t quantile on the residual df instead of Satterthwaite's 92.5)."""
    rows, sums = runs
    assert sums.values.formulas["handle-time model"].startswith("log_handle_time ~ policy")
    assert "(1 | day)" not in sums.values.formulas["handle-time model"]
    a, b = rows.tables["period_changes"].loc["handle_time"], sums.tables["period_changes"].loc["handle_time"]
    assert b["estimate"] == pytest.approx(-0.15092, abs=1e-5) and abs(a["estimate"] - b["estimate"]) < 1e-5
    assert (b["upper"] - b["lower"]) / (a["upper"] - a["lower"]) == pytest.approx(0.964, abs=0.002)
    ra, rb = rows.tables["agent_metrics"].sort_index(), sums.tables["agent_metrics"].sort_index()
    assert np.max(np.abs(ra["handle_time_effect"] - rb["handle_time_effect"])) < 3e-4       # their SD: 0.19
    assert np.max(np.abs(ra["p_quadrant"] - rb["p_quadrant"])) < 0.01
    assert set(ra.index[ra["p_quadrant"] >= 0.8]) == set(rb.index[rb["p_quadrant"] >= 0.8])
    assert rows.findings[1:] == sums.findings[1:len(rows.findings)]


@pytest.fixture(scope="module")
def months():
    """The handle-time model with month periods (the sample's mid-August break left to the day intercepts, so
    the day variance is clear): from SQL sums, and its mix and period columns from the rows."""
    from upstream.analysis import metric_sums
    from upstream.data.sql import metric_sums as sql

    sds = open_dataset("data/sample", engine="duckdb", validate=False)
    mix = ("policy", "product", "channel", "issue_type")
    sql.prepare_metric_rows(sds, mix)
    order = {"period": ["2026-07", "2026-08", "2026-09"]}
    fit = steps.quietly(lambda: metric_sums.handle_time_model(sds, [*mix, "period"], order, True))
    contacts = sample()[0].contacts
    frame = contacts.assign(period=contacts["opened_at"].dt.strftime("%Y-%m"),
                            day=contacts["opened_at"].dt.strftime("%Y-%m-%d"),
                            log_handle_time=np.log1p(contacts["handle_time_sec"].astype(float)))
    return fit, frame


def test_crossed_day_model_from_sql_is_the_moment_fit_of_the_rows(months):
    """The SQL sums (totals, per agent, per day, agent × day cells) give the crossed fit of the rows' own sums."""
    from upstream.models import CrossedSums, crossed_fit

    fit, frame = months
    X = np.column_stack([np.ones(len(frame))] + [
        (frame[var].astype(str) == name[len(var):]).to_numpy(float) for name in fit.fixef.index[1:]
        for var in [next(v for v in ("policy", "product", "channel", "issue_type", "period") if name.startswith(v))]])
    direct = crossed_fit(CrossedSums.from_arrays(X, frame["log_handle_time"], frame["agent_id"], frame["day"],
                                                 list(fit.fixef.index)), "agent_id", "day")
    np.testing.assert_allclose(fit.fixef.to_numpy(), direct.fixef.to_numpy(), **TOL)
    np.testing.assert_allclose(fit.vcov.to_numpy(), direct.vcov.to_numpy(), rtol=1e-7)
    for group in ("agent_id", "day", "Residual"):
        assert fit.variances[group] == pytest.approx(direct.variances[group], rel=1e-8)
    np.testing.assert_allclose(fit.ranef["agent_id"].to_numpy(), direct.ranef["agent_id"].to_numpy(), **TOL)


def test_totals_of_factors_per_level_combination_are_the_sums_over_the_rows():
    """X'X, X'y, y'y of a design of factors from n, Σy, Σy² per combination of levels (one GROUP BY) equal the
    p(p+1)/2 sums of products over the rows (the general path, taken here by adding a numeric column)."""
    from upstream.data.sql import metric_sums as sql

    sds = open_dataset("data/sample", engine="duckdb", validate=False)
    sql.prepare_metric_rows(sds, ("policy", "product", "channel", "issue_type"))
    sql.set_metric_period(sds, pd.Timestamp("2026-08-16"))
    where = "log_handle_time IS NOT NULL"
    dsg = sql.design(sds, sql.METRIC_ROWS, ["policy", "channel", "period"], where=where,
                     order={"period": ["before", "after"]})
    grouped = sql.totals(sds, sql.METRIC_ROWS, dsg, "log_handle_time", where)
    with_numeric = sql.design(sds, sql.METRIC_ROWS, ["policy", "channel", "period"], [("escalated", "escalated")],
                              where=where, order={"period": ["before", "after"]})
    by_rows = sql.totals(sds, sql.METRIC_ROWS, with_numeric, "log_handle_time", where)
    p = len(dsg.names)
    assert list(with_numeric.names[:p]) == list(dsg.names) and p == 16 and grouped["n"] == by_rows["n"] == 60000
    np.testing.assert_allclose(grouped["xtx"], by_rows["xtx"][:p, :p], rtol=1e-13)
    np.testing.assert_allclose(grouped["xty"], by_rows["xty"][:p], rtol=1e-12)
    assert grouped["sy"] == pytest.approx(by_rows["sy"], rel=1e-13)
    assert grouped["yty"] == pytest.approx(by_rows["yty"], rel=1e-13)


def test_crossed_day_model_against_reml(months):
    """Against lme4-style REML on the rows: the period contrast (containment df 88 against Satterthwaite's 88.2)
    and the day SD within 1.5%; the agent SD is 11% above REML's (moments are less efficient), which moves the
    agents' modes (their SD 0.19) by at most 0.015 (a low-volume agent), most by under 0.001."""
    from upstream.data.model_formula import model_formula
    from upstream.models import lmer

    fit, frame = months
    reml = steps.quietly(lambda: lmer(model_formula("log_handle_time", ["policy", "product", "channel", "issue_type",
                                                                        "period"], ("agent_id", "day")), frame))
    L = (fit.fixef.index == "period2026-09").astype(float)
    a, b = reml.contrast(L), fit.contrast(L)
    assert b["estimate"] == pytest.approx(a["estimate"], abs=1e-5)
    assert b["std_error"] / a["std_error"] == pytest.approx(0.987, abs=0.002)
    assert b["df"] == 88 and a["df"] == pytest.approx(88.25, abs=0.01)
    sd = fit.varcorr["sd"] / reml.varcorr["sd"]
    assert sd["day"] == pytest.approx(0.988, abs=0.003) and sd["agent_id"] == pytest.approx(1.108, abs=0.003)
    modes = reml.ranef["agent_id"]["mode"] - fit.ranef["agent_id"]["mode"].reindex(reml.ranef["agent_id"].index)
    assert np.max(np.abs(modes)) < 0.015 and np.median(np.abs(modes)) < 0.001
    assert "not REML" in fit.health()[-1]


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory):
    from upstream.simulate import PRESETS, simulate
    return simulate(PRESETS["small"], seed=3).write(tmp_path_factory.mktemp("small") / "data")


def without(folder, tmp_path, columns):
    import shutil
    out = tmp_path / "data"
    shutil.copytree(folder, out)
    contacts = pd.read_csv(out / "contacts.csv", dtype=str, keep_default_na=False)
    contacts.drop(columns=list(columns)).to_csv(out / "contacts.csv", index=False)
    return open_dataset(out, engine="duckdb", validate=False)


def test_parts_a_sql_data_set_does_not_record_say_so(small_folder, tmp_path):
    from upstream.studies.metric_health import sentences as say

    res = metric_health.run(without(small_folder, tmp_path / "a", ["resolved_first_contact", "n_interactions"]),
                            PARAMS, RunCache())
    assert say.NOT_RECORDED["resolved_first_contact"] in res.findings
    assert say.NOT_RECORDED["n_interactions"] in res.findings
    assert "resolution_agreement" not in res.tables and "interactions_curve" not in res.tables
    assert set(res.tables["contact_metrics"].index) == {"came back within 7 days", "10% longer handle time"}
    assert list(res.tables["monthly_metrics"].columns) == [
        "contacts", "handle_time_mean", "handle_time_median", "handle_time_lower", "handle_time_upper", "repeat_rate",
        "repeat_lower", "repeat_upper"]
    assert int(res.tables["monthly_metrics"]["contacts"].sum()) == 6000
    res = metric_health.run(without(small_folder, tmp_path / "b", ["handle_time_sec"]), PARAMS, RunCache())
    assert res.findings == [say.NOT_RECORDED["handle_time_sec"]] and res.tables == {}


def repeat_parts(sds, sums):
    """The repeat model's factors, periods, SQL design and rows as the sample's DuckDB study used them."""
    from upstream.analysis import repeat_modes

    levels = ["before", "after"]
    factors = [*sums.fits["repeat model"].fixef.index.str.extract(r"^(policy|product|channel|issue_type)")[0]
               .dropna().unique(), "period"]
    return factors, levels, repeat_modes.repeat_design(sds, factors, levels), repeat_modes.repeat_where(sds, factors)


def test_repeat_modes_in_sql_are_glmers_given_its_estimates(sql_run):
    """Given the exact fit's β̂, σ̂, the Newton iterations in SQL give glmer's own modes, conditional SDs and
    reliabilities for all 150 agents (1e-6; 1e-15 measured, 5 scans), and the period change averaged in SQL is the
    cells' (1e-8)."""
    from upstream.analysis import metric_sums, repeat_modes, speed

    _, sums, sds = sql_run
    full = sums.fits["repeat model"]
    factors, levels, dsg, where = repeat_parts(sds, sums)
    assert list(dsg.names) == list(full.fixef.index)
    modes = repeat_modes.agent_modes(sds, dsg, full.fixef, float(full.sd), where)
    assert modes.converged and modes.iterations == 5
    got, want = modes.ranef["agent_id"], full.ranef["agent_id"]
    assert list(got.index) == sorted(want.index.astype(str)) and len(got) == 150
    for col in ("mode", "cond_se"):
        np.testing.assert_allclose(got[col], want[col].reindex(got.index), rtol=0, atol=1e-6, err_msg=col)
    np.testing.assert_allclose(modes.reliability["agent_id"], full.reliability["agent_id"].reindex(got.index),
                               rtol=0, atol=1e-6)
    model = repeat_modes.SubsetRepeatModel(fit=full, modes=modes, agents_used=150, agents_total=150, cells_total=0,
                                           design=dsg, where=where)
    models = speed.SpeedModels(handle_time=sums.fits["handle-time model"], repeat=model, mix=tuple(factors[:-1]))
    same(sums.tables["period_changes"].loc[["repeat"]],
         metric_sums.period_changes(sds, models, None, levels).loc[["repeat"]])


def test_repeat_model_on_a_subset_of_agents(sql_run, monkeypatch):
    """With CELL_LIMIT at half the sample's cells, β̂ and σ̂ come from the cells of 82 of the 150 agents and every
    agent's effect from all its contacts: the modes within repeat_modes.SUBSET_BOUND = 0.05 log odds of the exact
    fit's (0.029 measured; their SD 0.17), the conditional SDs within 5% (3.9%); the period change in the repeat
    share 0.039 against the exact 0.035 (within 0.004, inside the subset's interval, which is 1.45 times as wide)."""
    from upstream.analysis import metric_sums, outcome_cells, repeat_modes, speed
    from upstream.data.sql import repeat_modes as sql_modes

    _, sums, sds = sql_run
    full = sums.fits["repeat model"]
    factors, levels, _, where = repeat_parts(sds, sums)
    cells = int(sql_modes.cells_per_agent(sds, factors, where).sum())
    monkeypatch.setattr(outcome_cells, "CELL_LIMIT", cells // 2)
    model, none = steps.quietly(lambda: repeat_modes.repeat_model(
        sds, factors, levels, lambda extra: metric_sums.repeat_cells(sds, factors, extra)))
    assert none is None and (model.agents_used, model.agents_total, model.cells_total) == (82, 150, cells)
    got, want = model.ranef["agent_id"], full.ranef["agent_id"].reindex(model.ranef["agent_id"].index)
    assert len(got) == 150 and np.max(np.abs(got["mode"] - want["mode"])) < repeat_modes.SUBSET_BOUND
    assert np.max(np.abs(got["cond_se"] / want["cond_se"] - 1)) < 0.05
    assert model.health()[-1] == (
        f"fitted on the cells of 82 of 150 agents drawn at random (all agents' contacts make {cells:,} agent × mix × "
        f"period cells, more than the {cells // 2:,} the exact fit takes in memory); every agent's repeat effect is its "
        "conditional mode given those estimates from all its contacts (5 Newton iterations in SQL; on the bundled "
        "sample, from half its agents, these were within 0.05 log odds of the exact fit's)")
    models = speed.SpeedModels(handle_time=sums.fits["handle-time model"], repeat=model, mix=tuple(factors[:-1]))
    effects = speed.agent_metric_effects(models, sums.fits["agent model"])
    assert effects["repeat"].notna().sum() == 150
    change = metric_sums.period_changes(sds, models, None, levels).loc["repeat"]
    exact = sums.tables["period_changes"].loc["repeat"]
    assert abs(change["estimate"] - exact["estimate"]) < 0.004 and change["lower"] < exact["estimate"] < change["upper"]
    width = (change["upper"] - change["lower"]) / (exact["upper"] - exact["lower"])
    assert width == pytest.approx(1.45, abs=0.01)
