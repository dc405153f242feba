"""The O(N) crossed agent × customer fit (upstream.models.crossed) against exact fits where both run.

- InstEval (lecturer × student, 73,421 ratings) against lme4's REML fixture: the lecturers' conditional
  modes correlate above 0.9998 and lie within 0.07 (their SD is 0.47), conditional SEs within 2.5% (median
  within 1%), fixed effects within 0.005, their SEs within 7%; the lecturer SD is the moment estimate,
  within 8% of REML's (0.552 against 0.515).
- Given its variance components, the conjugate-gradient solution is the exact GLS/BLUP solution
  (a dense solve of the mixed-model equations, 1e-8), and the fixed effects' covariance the exact one; the
  agents' conditional SEs are a lower bound within 0.3% of the exact ones.
- The moment estimates are unbiased: on a simulated design with known components, within 4 standard errors
  of the truth averaged over replicate data sets.
- Through DuckDB on the bundled sample: the sums SQL computes are those of the rows, and agent_vs_system's
  agents are judged with the customer term: effects within 0.015 and SEs within 2% of the engine's exact
  crossed REML fit, and with 400 draws the same verdict for 142 of 146 agents (the test: 95%) and never the opposite
  one.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conformance import REFERENCE

from upstream.analysis.agents import agent_effects, fit_agent_model
from upstream.analysis.aggregated import crossed_sums, fit_agent_model_from_sql
from upstream.data import load_dataset
from upstream.data.frames import CONTACT_MIX, responses
from upstream.data.sql import open_dataset
from upstream.models.crossed import CrossedSums, crossed_fit
from upstream.studies import agent_vs_system, steps


def insteval():
    fx = json.loads((REFERENCE / "fixtures" / "insteval_sd_reml.json").read_text())
    df = pd.read_csv(REFERENCE / fx["data"], dtype=str)
    cols = {"(Intercept)": np.ones(len(df)), "service1": (df["service"] == "1").astype(float)}
    for level in fx["factors"]["dept"][1:]:
        cols[f"dept{level}"] = (df["dept"] == level).astype(float)
    X = pd.DataFrame(cols)
    return fx, CrossedSums.from_arrays(X.to_numpy(), df["y"].astype(float), df["d"], df["s"], X.columns)


def test_insteval_against_lme4_reml():
    fx, sums = insteval()
    fit = crossed_fit(sums, agent="d", customer="s", response="y")
    reml = {v["grp"]: v["sdcor"] for v in fx["varcorr"]}
    assert fit.varcorr.loc["d", "sd"] == pytest.approx(0.5524, abs=1e-4) and reml["d"] == pytest.approx(0.5149,
                                                                                                      abs=1e-4)
    assert fit.varcorr.loc["s", "sd"] == pytest.approx(reml["s"], rel=0.01)
    assert fit.sigma == pytest.approx(fx["sigma"], rel=0.01)
    d = fx["ranef"]["d"]["terms"]["(Intercept)"]
    ref = pd.DataFrame({"mode": d["mode"], "cond_se": d["cond_sd"]}, index=fx["ranef"]["d"]["levels"])
    ours = fit.ranef["d"].loc[ref.index]
    assert np.corrcoef(ours["mode"], ref["mode"])[0, 1] > 0.9998
    assert (ours["mode"] - ref["mode"]).abs().max() < 0.07
    rel = (ours["cond_se"] / ref["cond_se"] - 1).abs()
    assert rel.max() < 0.025 and rel.median() < 0.01
    fixef = pd.Series(fx["fixef"])
    assert (fit.fixef[fixef.index] - fixef).abs().max() < 0.005
    se = pd.Series({c["term"]: c["std_error"] for c in fx["coef"]})
    ratio = np.sqrt(np.diag(fit.vcov.loc[se.index, se.index])) / se
    assert ratio.between(0.99, 1.07).all()
    assert fit.ngroups == {"d": 1128, "s": 2972} and fit.nobs == 73421 and fit.health() == []


def simulated(seed: int, n: int = 4000, agents: int = 60, customers: int = 1500, sd=(0.5, 0.4, 1.0)):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, agents, n)
    c = rng.integers(0, customers, n)
    channel = rng.integers(0, 3, n)
    channel = np.where(rng.random(n) < 0.3, a % 3, channel)          # the mix differs between agents
    X = np.column_stack([np.ones(n), channel == 1, channel == 2]).astype(float)
    y = (X @ [4.0, -0.3, 0.2] + rng.normal(0, sd[0], agents)[a] + rng.normal(0, sd[1], customers)[c]
         + rng.normal(0, sd[2], n))
    return CrossedSums.from_arrays(X, y, [f"A{k:03d}" for k in a], [f"C{k:05d}" for k in c],
                                   ["(Intercept)", "channel1", "channel2"])


def dense_solution(s: CrossedSums, fit):
    """β̂, the modes and σ²·C⁻¹ from a dense solve of the mixed-model equations at the fit's components."""
    G, C = len(s.agent_levels), len(s.customer_levels)
    N = np.zeros((G, C))
    np.add.at(N, (s.cell_agent, s.cell_customer), s.cell_n)
    ve = fit.variances["Residual"]
    la, lc = ve / fit.variances["agent_id"], ve / fit.variances["customer_id"]
    M = np.block([[s.xtx, s.agent_s.T, s.customer_s.T],
                  [s.agent_s, np.diag(s.agent_n + la), N],
                  [s.customer_s, N.T, np.diag(s.customer_n + lc)]])
    sol = np.linalg.solve(M, np.concatenate([s.xty, s.agent_sy, s.customer_sy]))
    p = len(s.names)
    inv = np.linalg.inv(M)
    re_inv = np.linalg.inv(M[p:, p:])               # β known, as lme4's condVar
    return sol[:p], sol[p:p + G], ve * inv[:p, :p], np.sqrt(ve * np.diag(re_inv)[:G])


def test_conjugate_gradients_give_the_exact_gls_solution():
    s = simulated(7, n=2500, customers=700)
    fit = crossed_fit(s)
    beta, modes, vcov, exact_se = dense_solution(s, fit)
    np.testing.assert_allclose(fit.fixef.to_numpy(), beta, rtol=1e-8)
    np.testing.assert_allclose(fit.ranef["agent_id"]["mode"].to_numpy(), modes, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(fit.vcov.to_numpy(), vcov, rtol=1e-7)
    # the SE approximation (customers eliminated, agent coupling left out: a lower bound) against the exact one
    rel = fit.ranef["agent_id"]["cond_se"].to_numpy() / exact_se - 1
    assert -0.003 < rel.min() and rel.max() <= 1e-12
    assert 1 <= fit.iterations < 60


def test_moment_estimates_are_unbiased():
    truth = np.array([0.25, 0.16, 1.0])
    est = np.array([[crossed_fit(simulated(seed), fixed_se=False).variances[g]
                     for g in ("agent_id", "customer_id", "Residual")] for seed in range(30)])
    se = est.std(axis=0, ddof=1) / np.sqrt(len(est))
    assert np.all(np.abs(est.mean(axis=0) - truth) < 4 * se), (est.mean(axis=0), se)


def test_a_negative_component_is_set_to_zero_and_reported():
    for seed in range(20):
        fit = crossed_fit(simulated(seed, sd=(0.5, 0.0, 1.0)), fixed_se=False)
        if fit.variances["customer_id"] == 0:
            break
    assert fit.variances["customer_id"] == 0 and fit.singular
    assert fit.health() == ["the customer_id variance's moment estimate was negative and is set to 0 (its effects "
                            "are not separated)"]
    assert (fit.ranef["customer_id"]["mode"] == 0).all()
    assert fit.variances["agent_id"] == pytest.approx(0.25, rel=0.5)


N_DRAWS = 400


@pytest.fixture(scope="module")
def sample():
    pds = load_dataset("data/sample", validate=False)
    sds = open_dataset("data/sample", engine="duckdb", validate=False)
    rows = fit_agent_model(responses(pds), "csat", CONTACT_MIX, n_boot=N_DRAWS, seed=11, population=pds.contacts,
                           boot_method="sums")
    sums = fit_agent_model_from_sql(sds, n_boot=N_DRAWS, seed=11)
    return pds, sds, rows, sums


def test_sql_sums_are_those_of_the_rows(sample):
    _, sds, rows, sums = sample
    frame = rows.frame
    X = rows.crossed.model_matrix
    ref = CrossedSums.from_arrays(X.to_numpy(), frame["csat"], frame["agent_id"], frame["customer_id"], X.columns)
    ours = crossed_sums(sds, sums.design, sums.stats)
    for name in ("names", "agent_levels", "agent_n", "agent_s", "agent_sy", "customer_levels", "customer_n",
                 "customer_s", "customer_sy", "xtx", "xty"):
        assert np.array_equal(np.asarray(getattr(ref, name)), np.asarray(getattr(ours, name))), name
    cells = lambda s: sorted(zip(s.cell_agent, s.cell_customer, s.cell_n))  # noqa: E731
    assert cells(ref) == cells(ours) and ref.yty == ours.yty


def test_agent_vs_system_at_scale_judges_agents_with_customers(sample):
    pds, sds, rows, sums = sample
    assert sums.repeat == 1066 and sums.customers.ngroups == {"agent_id": 146, "customer_id": 5428}
    exact, approx = rows.crossed.ranef["agent_id"], sums.customers.ranef["agent_id"].loc[
        rows.crossed.ranef["agent_id"].index.astype(str)]
    assert np.abs(exact["mode"].to_numpy() - approx["mode"].to_numpy()).max() < 0.015
    assert np.abs(approx["cond_se"].to_numpy() / exact["cond_se"].to_numpy() - 1).max() < 0.02
    a, judged = agent_effects(rows, pds.agents).table, agent_effects(sums, steps.agents_table(sds))
    a.index = a.index.astype(str)
    b = judged.table.loc[a.index]
    same = (a["verdict"] == b["verdict"]).mean()
    opposite = {("above average", "below average"), ("below average", "above average")}
    assert same >= 0.95 and not any(pair in opposite for pair in zip(a["verdict"], b["verdict"]))
    assert judged.draws == "conditional, moment fit with customers"
    assert sums.judged_by.formula == ("csat ~ policy + product + channel + issue_type + (1 | agent_id) "
                                      "+ (1 | customer_id)") == rows.crossed.formula
    text = agent_vs_system.method_text(sums, None)[0]
    assert "customer random effect too" in text and "method of moments" in text and "duckdb" in text
