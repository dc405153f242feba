"""agent_vs_system from aggregates (DuckDB) against the pandas path on the bundled sample.

Compared, with the pandas path run with the same choices (one-factor agent model without the customer
term, bootstrap drawn from the per-agent sums, n_boot 200, seed 11): the per-agent sufficient
statistics (exactly), the fit (fixed effects, covariance, θ, σ, REML criterion, Satterthwaite df,
conditional modes and SEs, reliability), the bootstrap replicates, and the published tables
agent_effects (every column), variance_shares (every column), policy_effects (every column but the
random-slope tests, which need rows) and survey_screen (the invitation and response columns and the
flags; the top-box expectation differs by design) — all within 1e-8."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from upstream.analysis.agents import agent_effects, fit_agent_model
from upstream.analysis.aggregated import fit_agent_model_from_sql, survey_screen_from_sql
from upstream.analysis.screen import survey_screen
from upstream.data import load_dataset
from upstream.data.frames import CONTACT_MIX, invitations, responses
from upstream.data.sql import open_dataset
from upstream.models import GroupStats
from upstream.studies import agent_vs_system, steps

TOL = dict(rtol=1e-8, atol=1e-10)


@pytest.fixture(scope="module")
def paths():
    pds = load_dataset("data/sample", validate=False)
    sds = open_dataset("data/sample", engine="duckdb", validate=False)
    rows = fit_agent_model(responses(pds), "csat", CONTACT_MIX, n_boot=200, seed=11, population=pds.contacts,
                           customer=None, boot_method="sums")
    sums = fit_agent_model_from_sql(sds, n_boot=200, seed=11, customer=None)
    return pds, sds, rows, sums


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), **TOL)


def test_sufficient_statistics_are_exactly_those_of_the_rows(paths):
    _, _, rows, sums = paths
    frame = rows.frame
    ref = GroupStats.from_arrays(rows.fit.model_matrix.to_numpy(), frame["csat"], frame["agent_id"])
    st = sums.stats
    assert list(st.names) == list(rows.fit.fixef.index) and list(st.levels) == list(ref.levels)
    for name in ("n", "s", "xtx", "xty", "sy", "yty"):
        assert np.array_equal(getattr(st, name), getattr(ref, name)), name


def test_fit_and_bootstrap_agree(paths):
    _, _, rows, sums = paths
    a, b = rows.fit, sums.fit
    close(a.fixef, b.fixef)
    close(a.vcov, b.vcov)
    close(a.theta, b.theta)
    assert a.sigma == pytest.approx(b.sigma, rel=1e-10) and a.reml_criterion == pytest.approx(b.reml_criterion,
                                                                                                rel=1e-12)
    close(a.coef_table[["std_error", "df", "p_value"]], b.coef_table[["std_error", "df", "p_value"]])
    close(a.ranef["agent_id"], b.ranef["agent_id"])
    close(a.reliability["agent_id"], b.reliability["agent_id"])
    close(rows.boot.samples, sums.boot.samples)
    close(rows.boot.errors["agent_id"], sums.boot.errors["agent_id"])
    assert rows.baseline == pytest.approx(sums.baseline, rel=1e-12)
    close(rows.agent_means(), sums.agent_means())
    close(rows.design_covariance(), sums.design_covariance())
    close(rows.reply_spread(), sums.reply_spread())          # each agent's own spread (verdicts' noise scale)


def numeric_equal(left: pd.DataFrame, right: pd.DataFrame, columns=None):
    columns = list(left.columns) if columns is None else columns
    assert list(left.index) == list(right.index)
    for col in columns:
        x, y = left[col], right[col]
        if pd.api.types.is_numeric_dtype(x.dtype) and not pd.api.types.is_bool_dtype(x.dtype):
            close(x.astype(float), y.astype(float))
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), col


def test_published_tables_agree(paths):
    pds, sds, rows, sums = paths
    numeric_equal(agent_effects(rows, pds.agents).table, agent_effects(sums, steps.agents_table(sds)).table)
    shares_rows, policy_rows, _, _ = agent_vs_system.linear_system(rows, pds.contacts)
    shares_sums, policy_sums, _, _ = agent_vs_system.linear_system(sums, steps.contact_counts(sds, "policy"),
                                                                   source=sds)
    numeric_equal(shares_rows.table, shares_sums.table)
    slopes = {"slope_sd", "lr", "agent_variation_p_raw", "agent_variation_p"}
    # the top quarter uses the agents' own SD under a policy whose effect varies between agents, which the
    # random-slope tests find from rows; from sums it uses τ: the two agree where no slope varies
    quarter = ["top_quarter", "top_quarter_lower_adj", "top_quarter_upper_adj", "top_quarter_agent_sd"]
    numeric_equal(policy_rows, policy_sums, [c for c in policy_rows.columns if c not in slopes | set(quarter)])
    steady = policy_rows["agent_variation_p"] >= 0.05        # neither varying nor the reference level
    assert steady.sum() >= 5
    numeric_equal(policy_rows.loc[steady], policy_sums.loc[steady], quarter)
    assert policy_sums[list(slopes)].isna().all().all()


def test_a_kernel_given_the_model_by_the_run_cache_makes_its_replies(paths):
    """A second notebook's kernel takes the agent model from the run cache and has not made `replies`; the policy
    model's residual spread and weighted refit read them: they are made again, and the tables are the same."""
    _, sds, _, sums = paths
    fresh = open_dataset("data/sample", engine="duckdb", validate=False)
    shares, policy, _, _ = agent_vs_system.linear_system(sums, steps.contact_counts(sds, "policy"), source=sds)
    again_shares, again, _, _ = agent_vs_system.linear_system(sums, steps.contact_counts(fresh, "policy"),
                                                              source=fresh)
    pd.testing.assert_frame_equal(policy, again)
    pd.testing.assert_frame_equal(shares.table, again_shares.table)


def test_survey_screen_agrees_except_the_top_box_model(paths):
    pds, sds, _, _ = paths
    rows = survey_screen(pds.contacts, invitations(pds))
    sums = survey_screen_from_sql(sds)
    same = ["contacts", "invitations", "invitation_rate", "expected_invitation_rate", "z_invitation", "n_responses",
            "response_rate", "expected_response_rate", "z_response", "z_steering", "flag_invitations",
            "flag_response", "flag_combined", "flagged", "top_box_rate"]
    numeric_equal(rows.table, sums.table, same)
    assert rows.tau2_response == pytest.approx(sums.tau2_response, rel=1e-8)
    # the top-box expectation: population-averaged logistic model of the mix (cells) vs the mixed model's marginal
    assert rows.table["expected_top_box_rate"].corr(sums.table["expected_top_box_rate"]) > 0.95
    assert sums.notes == ("top-box expectation from the population-averaged logistic model of the contact mix "
                          "(fitted on cells), not the marginal of a logistic mixed model",) and rows.notes == ()


@pytest.mark.slow
def test_upstream_run_with_the_duckdb_engine(tmp_path):
    """The runner validates with DuckDB, hands the engine to the notebook and says what the study did."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    upstream = Path(sys.executable).with_name("upstream")
    study = Path(__file__).resolve().parents[1] / "studies" / "agent_vs_system.yaml"
    proc = subprocess.run([str(upstream), "run", str(study), "--engine", "duckdb", "--reports", str(tmp_path),
                           "-p", "n_boot=100"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Validating" in proc.stderr and "with duckdb ... ok" in proc.stderr
    run = Path(proc.stdout.strip().splitlines()[-1]).parent
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["engine"] == "duckdb" and manifest["validation"]["engine"] == "duckdb"
    assert manifest["notebooks"][0]["parameters"]["engine"] == "duckdb"
    table = pd.read_csv(run / "tables" / "policy_effects.csv")
    assert table["agent_variation_p"].isna().all() and table["effect"].notna().all()
    assert "customer random effect too (5,428 customers, 1,066 of them answered more than once)" in (
        run / "agent_vs_system.html").read_text()


def test_study_file_and_command_line_choose_the_engine(tmp_path):
    from upstream import runner

    study = tmp_path / "s.yaml"
    root = Path(__file__).resolve().parents[1]
    study.write_text(f"name: s\ndata: {root / 'data' / 'sample'}\nengine: duckdb\n"
                     f"notebooks: [{root / 'notebooks' / 'agent_vs_system.ipynb'}]\n")
    assert runner.load_study(study).engine == "duckdb"
    assert runner.load_study(study, engine="pandas").engine == "pandas"
    with pytest.raises(runner.StudyError, match="--engine polars: choose one of auto, pandas, duckdb, spark"):
        runner.load_study(study, engine="polars")
    study.write_text(study.read_text().replace("engine: duckdb", "engine: sqlite"))
    with pytest.raises(runner.StudyError, match="'engine' must be one of auto, pandas, duckdb, spark, got 'sqlite'"):
        runner.load_study(study)
