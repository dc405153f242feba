"""Issue 18 item 6: the survey screen's null under heavy-tailed agent variation, with a known truth.

Operations are simulated at the level of the screen's counts (benchmarks/screen_null.py: the project
simulator's survey process, ordinary agent shifts of SD 0.3 on the logit scale drawn normal, t(3) or
contaminated normal, five steering agents or none); each takes a few milliseconds."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from upstream.analysis import screen

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from screen_null import old_rule, simulate_counts  # noqa: E402

OPERATIONS = 40


def _shares(variation: str, n_steering: int):
    """Per operation: (ordinary share flagged now, by the old rule; steering agents caught now, by the old rule)."""
    rows = []
    for seed in range(OPERATIONS):
        g_inv, g_resp, g_adv, steer = simulate_counts(seed, variation, n_steering=n_steering)
        new = screen.screen_table(g_inv, g_resp, None, screen.DEFAULT_Z, [], g_adv).table["flagged"]
        old = old_rule(g_inv, g_resp, g_adv)
        rows.append((new[~steer].mean(), old[~steer].mean(), new[steer].sum(), old[steer].sum()))
    return np.array(rows, dtype=float)


@pytest.mark.parametrize("variation, old_over_5pct", [("t3", 9), ("contaminated", 2)])
def test_heavy_tailed_ordinary_agents_are_flagged_within_5_percent(variation, old_over_5pct):
    """No steering: at most 5% of operations flag more than 5% of their ordinary agents, where the old rule
    (normal null from the median |z|, every test at 2.17 alone) went beyond it in 9 of 40 operations with t(3)
    agents (the issue's "about a fifth") and 2 of 40 with contaminated ones, and flagged more on average."""
    rows = _shares(variation, n_steering=0)
    new, old = rows[:, 0], rows[:, 1]
    assert (new > 0.05).sum() <= 0.05 * OPERATIONS
    assert int((old > 0.05).sum()) == old_over_5pct
    assert new.mean() < old.mean()
    assert new.mean() <= 0.025


def test_the_default_z_flags_ordinary_agents_at_the_stated_rate():
    """Issue 18, second round: at z = 2.17 the winsorised null flagged 0.4% of ordinary agents with normal variation
    against a stated 1.5% (Φ(−z) split over correlated tests is a bound). The calibrated default (1.81,
    benchmarks/screen_calibration.py on seeds 0–99 and the project's simulator) on seeds it was not chosen on:
    normal 1.2%, t(3) 2.1%, contaminated 2.1% (at 2.17: 0.4%, 1.3%, 1.3%), none of 40 operations above 5%."""
    means = {}
    for variation in ("normal", "t3", "contaminated"):
        shares = []
        for seed in range(2000, 2000 + OPERATIONS):
            g_inv, g_resp, g_adv, steer = simulate_counts(seed, variation, n_steering=0)
            flagged = screen.screen_table(g_inv, g_resp, None, screen.DEFAULT_Z, [], g_adv).table["flagged"]
            shares.append(flagged[~steer].mean())
        shares = np.array(shares)
        assert (shares > 0.05).sum() <= 0.05 * OPERATIONS, variation
        means[variation] = shares.mean()
    assert means["normal"] >= 0.007, means                      # 0.4% at 2.17
    assert max(means.values()) <= 0.026, means
    assert 0.012 <= np.mean(list(means.values())) <= 0.021, means


@pytest.mark.parametrize("variation", ["normal", "t3", "contaminated"])
def test_steering_agents_are_still_caught(variation):
    """Five steering agents per operation: the new null keeps catching them (the old rule caught all)."""
    rows = _shares(variation, n_steering=5)
    caught_new, caught_old = rows[:, 2].sum() / (5 * OPERATIONS), rows[:, 3].sum() / (5 * OPERATIONS)
    assert caught_old >= 0.99
    assert caught_new >= 0.97
    assert rows[:, 0].max() <= 0.05


def test_winsorised_tau2_widens_for_heavy_tails_and_resists_steering_agents():
    rng = np.random.default_rng(8)
    m = 2000
    s2 = np.full(m, 0.01)
    e = np.zeros(m)
    normal = rng.normal(0, 0.3, m) + rng.normal(0, 0.1, m)
    # normal spread: both estimates find SD 0.3 (plus the binomial 0.1 in s²)
    assert np.sqrt(screen.winsorised_tau2(normal, e, s2)) == pytest.approx(0.3, abs=0.02)
    assert np.sqrt(screen.robust_tau2(normal, e, s2)) == pytest.approx(0.3, abs=0.02)
    # t(3) of SD 0.3: the median |z| sees only the centre (0.19); the winsorised z² sees the shoulders (0.22)
    heavy = rng.standard_t(3, m) * 0.3 / np.sqrt(3) + rng.normal(0, 0.1, m)
    robust, winsorised = np.sqrt(screen.robust_tau2(heavy, e, s2)), np.sqrt(screen.winsorised_tau2(heavy, e, s2))
    assert robust < 0.20 < 0.21 < winsorised
    # 3% of agents far out (steering) move it by little
    steered = normal.copy()
    steered[:60] -= 3.0
    assert np.sqrt(screen.winsorised_tau2(steered, e, s2)) < 0.345


def test_winsorised_normal_z2_and_per_test_z():
    z = stats.norm.rvs(size=400_000, random_state=np.random.default_rng(2))
    assert screen.winsorised_normal_z2(2.5) == pytest.approx(np.mean(np.minimum(z ** 2, 6.25)), abs=0.005)
    assert screen.winsorised_normal_z2(2.5) == pytest.approx(0.97756, abs=1e-5)
    assert screen.per_test_z(2.17, 1) == 2.17
    assert screen.per_test_z(2.17, 3) == pytest.approx(stats.norm.isf(stats.norm.sf(2.17) / 3), rel=1e-12)
    assert screen.per_test_z(2.17, 3) == pytest.approx(2.5758, abs=1e-4)


def _counts(o, n, p):
    o, n = np.asarray(o, float), np.asarray(n, float)
    return pd.DataFrame({"o": o, "e": n * p, "v": n * p * (1 - p), "n": n},
                        index=pd.Index([f"a{i:02d}" for i in range(len(o))], name="agent_id"))


def test_the_error_is_split_only_across_the_tests_that_ran():
    """Invitations only (every invitation answered, no adverse outcome): one test at z itself; with replies: two."""
    rng = np.random.default_rng(4)
    n = np.full(30, 400)
    inv = _counts(rng.binomial(400, 0.8, 30), n, 0.8)
    resp = _counts(rng.binomial(inv["o"].astype(int), 0.3), inv["o"], 0.3)
    answered = _counts(inv["o"], inv["o"], 1.0)
    alone = screen.screen_table(inv, answered, None, 2.17, [], None)
    assert (alone.n_tests, alone.z_test) == (1, 2.17)
    both = screen.screen_table(inv, resp, None, 2.17, [], None)
    assert both.n_tests == 2
    assert both.z_test == pytest.approx(stats.norm.isf(stats.norm.sf(2.17) / 2), rel=1e-12)
    assert both.table["flag_invitations"].equals(both.table["z_invitation"] < -both.z_test)
