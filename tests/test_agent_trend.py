"""An agent's effect month by month (analysis.agent_trend): the centring and its variance by hand, recovered
truth on a simulated operation (an agent whose effect jumps part-way through shows a change, steady agents do
not), and the page's trend section (numbers as in the CSV, the sentences; test_agent_pages holds the page)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from upstream.analysis.agent_trend import agent_trend, change_tests, monthly_effects
from upstream.analysis.agents import fit_agent_model


def test_monthly_effects_against_the_plain_mean_of_the_agents_by_hand():
    # three agents in one month, two in the next (B has 5 replies in February, below the 6 needed)
    agents = pd.Series(["A"] * 6 + ["B"] * 6 + ["C"] * 6 + ["A"] * 6 + ["B"] * 5 + ["C"] * 6)
    months = pd.Series(["2026-01"] * 18 + ["2026-02"] * 17)
    residuals = pd.Series([1.0] * 6 + [0.0] * 6 + [-0.4] * 6 + [2.0] * 6 + [9.0] * 5 + [1.0] * 6)
    variances = pd.Series([0.6] * 35)
    table = monthly_effects(residuals, variances, agents, months, min_replies=6)
    assert table.index.tolist() == ["A", "A", "B", "C", "C"]
    assert table["month"].tolist() == ["2026-01", "2026-02", "2026-01", "2026-01", "2026-02"]
    january = table[table["month"] == "2026-01"]
    centre = (1.0 + 0.0 - 0.4) / 3
    assert np.allclose(january["effect"], [1.0 - centre, 0.0 - centre, -0.4 - centre], atol=1e-12)
    v = 0.6 / 6                                   # each agent's mean: σ²/n
    se = math.sqrt((2 / 3) ** 2 * v + 2 * v / 9)  # (1 − 1/K)² v_j + Σ_{k≠j} v_k / K²
    assert np.allclose(january["std_error"], se, atol=1e-12)
    february = table[table["month"] == "2026-02"]
    assert np.allclose(february["effect"], [0.5, -0.5], atol=1e-12)
    assert np.allclose(february["std_error"], math.sqrt(v / 4 + v / 4), atol=1e-12)
    assert np.allclose(table["upper"] - table["effect"], 1.959963985 * table["std_error"], atol=1e-8)


def test_the_slope_and_its_test_by_hand():
    monthly = pd.DataFrame({"month": ["2026-01", "2026-02", "2026-04"], "effect": [0.0, 0.2, 0.5],
                            "std_error": [0.1, 0.2, 0.1]}, index=pd.Index(["A"] * 3, name="agent_id"))
    tests = change_tests(monthly)
    w, t, d = np.array([100.0, 25.0, 100.0]), np.array([0.0, 1.0, 3.0]), np.array([0.0, 0.2, 0.5])
    t_bar = (w * t).sum() / w.sum()
    slope = (w * (t - t_bar) * d).sum() / (w * (t - t_bar) ** 2).sum()
    se = 1 / math.sqrt((w * (t - t_bar) ** 2).sum())
    row = tests.loc["A"]
    assert (row["months"], row["first_month"], row["last_month"]) == (3, "2026-01", "2026-04")
    assert math.isclose(row["slope"], slope, abs_tol=1e-12) and math.isclose(row["slope_se"], se, abs_tol=1e-12)
    assert math.isclose(row["p_value"], math.erfc(abs(slope) / se / math.sqrt(2)), rel_tol=1e-9)
    assert row["p_holm"] == row["p_value"] < 0.05 and bool(row["changed"])


def _operation(seed: int, jump: float) -> pd.DataFrame:
    """3,000 replies over a quarter, 20 agents; agent A00's effect rises by `jump` from 15 February."""
    rng = np.random.default_rng(seed)
    n = 3000
    agents = [f"A{i:02d}" for i in range(20)]
    frame = pd.DataFrame({"agent_id": rng.choice(agents, n), "policy": rng.choice(["p1", "p2", "p3"], n),
                          "channel": rng.choice(["chat", "phone"], n),
                          "opened_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.uniform(0, 90, n), unit="D")})
    own = frame["agent_id"].map(dict(zip(agents, rng.normal(0, 0.3, len(agents)))))
    own = own + jump * ((frame["agent_id"] == "A00") & (frame["opened_at"] >= "2026-02-15"))
    frame["csat"] = np.clip(np.round(3.0 + 0.6 * (frame["policy"] == "p2") - 0.4 * (frame["channel"] == "phone")
                                     + own + rng.normal(0, 0.8, n)), 1, 5)
    return frame


@pytest.fixture(scope="module")
def jumped():
    model = fit_agent_model(_operation(11, 1.0), mix=("policy", "channel"), customer=None, n_boot=2, seed=1)
    return agent_trend(model)


def test_an_agent_whose_effect_jumps_shows_the_change_and_steady_agents_do_not(jumped):
    tests = jumped.tests
    assert len(tests) == 20 and (tests["months"] == 3).all()
    assert bool(tests.loc["A00", "changed"]) and tests.loc["A00", "slope_lower"] > 0
    # a step of 1 point from mid-February: about +0.5 points a month over January to March, less 1/20 for the
    # average agent it lifts; the estimate: +0.365 (95% interval +0.216 to +0.514; Holm p 3e-5, the others ≥ 0.18)
    assert tests.loc["A00", "slope_lower"] < 0.95 * 0.5 < tests.loc["A00", "slope_upper"]
    assert not tests.drop("A00")["changed"].any()
    own = jumped.monthly.loc["A00"].set_index("month")
    # January (no jump) against March (all jumped): 0.95 points apart, up to chance and the 1–5 clipping
    assert 0.5 < own.loc["2026-03", "effect"] - own.loc["2026-01", "effect"] < 1.2


def test_a_steady_operation_shows_no_change():
    model = fit_agent_model(_operation(12, 0.0), mix=("policy", "channel"), customer=None, n_boot=2, seed=1)
    tests = agent_trend(model).tests
    assert len(tests) == 20 and not tests["changed"].any()
    assert 0.2 < tests["p_value"].median() < 0.8
