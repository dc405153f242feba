"""Survey statistics: hand computations, published values, recovery of known truth on simulated
data, exact error messages."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from statsmodels.stats.proportion import proportion_confint

from upstream.survey import (
    KAPPA_MAX,
    beta_binomial_shrinkage,
    beta_posterior,
    funnel_flags,
    funnel_limits,
    jeffreys_interval,
    kish_effective_n,
    mann_whitney_auc,
    nps,
    nps_by_group,
    response_propensity,
    shrunken_nps,
    steering_flags,
    wilson_interval,
)

Z95 = 1.959963984540054


# ------------------------------------------------------------------------------------------------
# NPS
# ------------------------------------------------------------------------------------------------
SMALL = [10, 9, 9, 8, 7, 6, 3, 10, 0, 9, np.nan]


def test_nps_and_trinomial_se_by_hand():
    # promoters (9-10): 10, 9, 9, 10, 9 -> 5; passives (7-8): 8, 7 -> 2; detractors (0-6): 6, 3, 0 -> 3
    # n = 10 (the NaN is ignored); p = 0.5, d = 0.3; NPS = 100 (0.5 - 0.3) = 20
    # se = 100 sqrt((p + d - (p - d)^2) / n) = 100 sqrt((0.8 - 0.04) / 10) = 100 sqrt(0.076) = 27.56810
    est = nps(SMALL)
    assert (est.n, est.promoters, est.passives, est.detractors) == (10, 5, 2, 3)
    assert est.p_promoter == pytest.approx(0.5) and est.p_detractor == pytest.approx(0.3)
    assert est.nps == pytest.approx(20.0)
    assert est.se == pytest.approx(27.56810, abs=1e-5)
    # Wald: 20 -/+ 1.959964 * 27.56810 = 20 -/+ 54.03248
    assert est.interval() == pytest.approx((-34.03248, 74.03248), abs=1e-4)


def test_nps_adjusted_wald_by_hand():
    # Rocks (2016): add 3/4 promoter, 3/2 passive, 3/4 detractor -> 5.75, 3.5, 3.75 of n' = 13
    # p' = 5.75/13, d' = 3.75/13, p' - d' = 2/13 -> centre 15.38462
    # var = (p' + d' - (p' - d')^2) / n' = (9.5/13 - (2/13)^2) / 13 = 0.0543924 -> se' = 23.32217
    # 15.38462 -/+ 1.959964 * 23.32217 = 15.38462 -/+ 45.71061
    lower, upper = nps(SMALL).interval(level=0.95, method="adjusted-wald")
    assert lower == pytest.approx(15.38462 - 45.71061, abs=1e-4)
    assert upper == pytest.approx(15.38462 + 45.71061, abs=1e-4)


def test_nps_interval_is_clipped_and_level_changes_width():
    all_promoters = nps([10, 9, 10])  # NPS 100, Wald se 0 -> (100, 100)
    assert all_promoters.nps == 100 and all_promoters.se == 0
    assert all_promoters.interval() == (100.0, 100.0)
    lower, upper = all_promoters.interval(method="adjusted-wald")
    # P' = 3.75, D' = 0.75, n' = 6: centre 50, se' = 100 sqrt((0.75 - 0.25)/6) = 28.8675
    assert lower == pytest.approx(50 - Z95 * 28.86751, abs=1e-4)
    assert upper == pytest.approx(min(100.0, 50 + Z95 * 28.86751))
    est = nps(SMALL)
    w90 = np.diff(est.interval(level=0.90))[0]
    w95 = np.diff(est.interval(level=0.95))[0]
    assert w90 / w95 == pytest.approx(stats.norm.ppf(0.95) / stats.norm.ppf(0.975))


def test_nps_rejects_out_of_range_and_fractional_scores():
    with pytest.raises(ValueError) as err:
        nps([5, 11, 7.5, -1, 12, 13, 14, 11])
    assert str(err.value) == ("scores: NPS scores must be whole numbers from 0 to 10 (missing values are "
                              "ignored); 7 offending value(s): 11, 7.5, -1, 12, 13")
    with pytest.raises(ValueError) as err:
        nps(pd.Series([3, "ten"], name="nps"))
    assert str(err.value) == "column 'nps' must be numbers; 1 value(s) are not: 'ten'"
    with pytest.raises(ValueError, match="method must be one of 'wald', 'adjusted-wald', got 'exact'"):
        nps(SMALL).interval(method="exact")


def test_nps_accepts_nullable_integers():
    est = nps(pd.array([10, None, 0, 7], dtype="Int64"))
    assert (est.n, est.nps) == (3, 0.0)


def test_nps_by_group_matches_nps_per_group():
    df = pd.DataFrame({"agent": ["a"] * 11 + ["b"] * 3 + ["c"] * 2,
                       "nps": SMALL + [10, 9, 10] + [np.nan, np.nan]})
    out = nps_by_group(df, "nps", "agent")
    assert list(out.columns) == ["n", "p_promoter", "p_detractor", "nps", "se", "lower", "upper"]
    assert out.loc["a", "n"] == 10 and out.loc["a", "nps"] == pytest.approx(20.0)
    assert (out.loc["a", "lower"], out.loc["a", "upper"]) == pytest.approx(
        nps(SMALL).interval(method="adjusted-wald"))
    assert out.loc["b", "nps"] == 100.0 and out.loc["b", "upper"] == 100.0
    assert out.loc["c", "n"] == 0 and np.isnan(out.loc["c", "nps"])
    wald = nps_by_group(df, "nps", "agent", method="wald", level=0.9)
    assert (wald.loc["a", "lower"], wald.loc["a", "upper"]) == pytest.approx(nps(SMALL).interval(0.9, "wald"))
    bad = df.assign(nps=df["nps"].fillna(12))
    with pytest.raises(ValueError) as err:
        nps_by_group(bad, "nps", "agent")
    assert str(err.value) == ("column 'nps': NPS scores must be whole numbers from 0 to 10 (missing values "
                              "are ignored); 3 offending value(s): 12")


def _simulate_dirichlet_multinomial(rng, n_groups, n_per_group, kappa, shares):
    frames = []
    for g in range(n_groups):
        counts = rng.multinomial(n_per_group, rng.dirichlet(kappa * np.asarray(shares)))
        scores = np.concatenate([np.full(counts[0], 10), np.full(counts[1], 8), np.full(counts[2], 3)])
        frames.append(pd.DataFrame({"agent": f"a{g:03d}", "nps": scores}))
    return pd.concat(frames, ignore_index=True)


def test_shrunken_nps_pulls_small_groups_and_leaves_large_ones():
    rng = np.random.default_rng(20260301)
    df = _simulate_dirichlet_multinomial(rng, 60, 100, kappa=50, shares=(0.5, 0.2, 0.3))
    tiny = pd.DataFrame({"agent": "tiny", "nps": [10, 10]})  # raw NPS +100 from two responses
    huge = pd.DataFrame({"agent": "huge", "nps": [10] * 400 + [8] * 400 + [2] * 1200})  # raw -40
    a = shrunken_nps(pd.concat([df, tiny, huge], ignore_index=True), "nps", "agent", seed=1)
    out = a.table
    prior, pooled = a.prior_nps, a.pooled_nps
    # posterior mean is exactly the reliability-weighted average of raw and prior NPS
    w = out["n"] / (out["n"] + a.concentration)
    assert np.allclose(out["reliability"], w)
    assert np.allclose(out["shrunken_nps"], w * out["raw_nps"] + (1 - w) * prior)
    t, h = out.loc["tiny"], out.loc["huge"]
    assert t.reliability < 0.1
    assert abs(t.shrunken_nps - prior) < 0.1 * abs(t.raw_nps - prior)  # moved > 90% of the way
    # the prior mean is fitted (marginal ML), so it sits at the typical group's NPS: close to the
    # pooled NPS of the 60 typical groups, not to the all-response pooled NPS that the 2,000
    # detractor-heavy responses of "huge" drag down
    typical = nps(df["nps"]).nps
    assert abs(prior - typical) < 3 and pooled < typical - 10
    assert abs(t.shrunken_nps - typical) < 8 < 80 < abs(t.raw_nps - typical)
    assert h.reliability > 0.95
    assert abs(h.shrunken_nps - h.raw_nps) < 0.05 * abs(h.raw_nps - prior)  # barely moves
    # near-normal posterior for the big group: Monte Carlo interval ~ mean -/+ 1.96 sd
    assert h.lower == pytest.approx(h.shrunken_nps - Z95 * h.posterior_sd, abs=0.3)
    assert h.upper == pytest.approx(h.shrunken_nps + Z95 * h.posterior_sd, abs=0.3)
    assert (out["lower"] < out["shrunken_nps"]).all() and (out["shrunken_nps"] < out["upper"]).all()
    assert a.converged and not a.degenerate


def test_shrunken_nps_recovers_concentration_and_matches_scipy_loglik():
    rng = np.random.default_rng(7)
    kappa, shares = 30.0, np.array([0.5, 0.2, 0.3])
    a = shrunken_nps(_simulate_dirichlet_multinomial(rng, 300, 40, kappa, shares), "nps", "agent",
                     draws=500)
    out = a.table
    se = a.log_concentration_se  # from the observed information of log kappa
    assert 0 < se < 0.2  # the tolerance below is a real constraint, not a wide-open one
    assert abs(np.log(a.concentration) - np.log(kappa)) < 3 * se
    fitted = np.array(list(a.prior_shares.values()))
    assert np.abs(fitted - shares).max() < 0.03  # sd of a share estimate here is about 0.007
    counts = out[["promoters", "passives", "detractors"]].to_numpy()
    reference = stats.dirichlet_multinomial.logpmf(counts, a.concentration * fitted, counts.sum(axis=1)).sum()
    assert a.loglik == pytest.approx(reference, abs=1e-6)


# ------------------------------------------------------------------------------------------------
# Proportions with few responses
# ------------------------------------------------------------------------------------------------
# Newcombe (1998), Stat Med 17:857-872, Table I, method 3 (Wilson score interval, no correction).
NEWCOMBE = [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0000, 0.1611),
            (1, 29, 0.0061, 0.1718)]


@pytest.mark.parametrize(("x", "n", "low", "high"), NEWCOMBE)
def test_wilson_matches_newcombe_1998(x, n, low, high):
    lower, upper = wilson_interval(x, n)
    assert lower == pytest.approx(low, abs=5e-5) and upper == pytest.approx(high, abs=5e-5)


def test_wilson_vectorised_and_agrees_with_statsmodels():
    x = np.array([0, 1, 3, 17, 50, 20])
    n = np.array([20, 29, 10, 40, 100, 20])
    lower, upper = wilson_interval(x, n, level=0.9)
    ref_lower, ref_upper = proportion_confint(x, n, alpha=0.1, method="wilson")
    np.testing.assert_allclose(lower, ref_lower, atol=1e-12)
    np.testing.assert_allclose(upper, ref_upper, atol=1e-12)
    s_lower, s_upper = wilson_interval(pd.Series(x, index=list("abcdef")), n)
    assert list(s_lower.index) == list("abcdef") and s_upper["c"] == pytest.approx(upper[2], abs=0.1)
    # 5/10: symmetric about 1/2, half-width z sqrt(n/4 + z^2/4)/(n + z^2)
    lo, hi = wilson_interval(5, 10)
    assert (lo, hi) == pytest.approx((0.5 - Z95 * math.sqrt(2.5 + Z95 ** 2 / 4) / (10 + Z95 ** 2),
                                      0.5 + Z95 * math.sqrt(2.5 + Z95 ** 2 / 4) / (10 + Z95 ** 2)))
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_jeffreys_interior_values_agree_with_statsmodels():
    x = np.array([81, 15, 1, 3, 17])
    n = np.array([263, 148, 29, 10, 40])
    lower, upper = jeffreys_interval(x, n)
    ref_lower, ref_upper = proportion_confint(x, n, alpha=0.05, method="jeffreys")
    np.testing.assert_allclose(lower, ref_lower, rtol=1e-10)
    np.testing.assert_allclose(upper, ref_upper, rtol=1e-10)


def test_jeffreys_closed_form_for_one_success_in_one_trial():
    # x = n = 1: posterior Beta(3/2, 1/2), density (2/pi) sqrt(t/(1-t)),
    # cdf F(t) = (2/pi)(arcsin sqrt(t) - sqrt(t(1-t))); lower limit solves F(t) = 0.025; upper = 1
    cdf = lambda t: 2 / math.pi * (math.asin(math.sqrt(t)) - math.sqrt(t * (1 - t)))  # noqa: E731
    expected_lower = optimize.brentq(lambda t: cdf(t) - 0.025, 1e-9, 1 - 1e-9, xtol=1e-14)
    lower, upper = jeffreys_interval(1, 1)
    assert lower == pytest.approx(expected_lower, abs=1e-10) and upper == 1.0


def test_jeffreys_boundary_convention_differs_from_statsmodels():
    # Brown, Cai & DasGupta (2001): lower = 0 at x = 0 and upper = 1 at x = n
    lower, upper = jeffreys_interval(np.array([0, 20, 0]), np.array([20, 20, 0]))
    sm_lower, sm_upper = proportion_confint(np.array([0, 20]), np.array([20, 20]), method="jeffreys")
    assert lower[0] == 0.0 and sm_lower[0] > 0  # statsmodels: the Beta(1/2, 20.5) quantile
    assert upper[1] == 1.0 and sm_upper[1] < 1
    assert upper[0] == pytest.approx(sm_upper[0]) and lower[1] == pytest.approx(sm_lower[1])
    assert (lower[2], upper[2]) == (0.0, 1.0)


def test_interval_input_errors_name_the_groups():
    with pytest.raises(ValueError) as err:
        wilson_interval(pd.Series([3, 12, 11], index=["a", "b", "c"]), pd.Series([5, 10, 10], index=["a", "b", "c"]))
    assert str(err.value) == "successes must not exceed n; 2 offending group(s) (successes/n): b: 12/10, c: 11/10"
    with pytest.raises(ValueError) as err:
        jeffreys_interval([1, 2], [5, -3])
    assert str(err.value) == "n must be >= 0; 1 offending group(s) (successes/n): 1: 2/-3"


def test_beta_posterior_by_hand():
    # prior Beta(2, 8), 3 of 10 -> posterior Beta(5, 15): mean 5/20 = 0.25, reliability 10/20 = 0.5
    row = beta_posterior([3], [10], alpha=2.0, beta=8.0).iloc[0]
    assert row.shrunken_rate == pytest.approx(0.25) and row.reliability == pytest.approx(0.5)
    assert row.raw_rate == pytest.approx(0.3)
    # Beta(5, 15) cdf at t = P(Binomial(19, t) >= 5): solve for the 2.5% and 97.5% points
    expected = [optimize.brentq(lambda t, q=q: stats.binom.sf(4, 19, t) - q, 1e-9, 1 - 1e-9, xtol=1e-14)
                for q in (0.025, 0.975)]
    assert (row.lower, row.upper) == pytest.approx(expected, abs=1e-9)


def _simulate_beta_binomial(seed, n_groups=400, alpha=6.0, beta=14.0):
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 200, n_groups)
    return rng.binomial(n, rng.beta(alpha, beta, n_groups)), n


def test_beta_binomial_recovers_known_prior():
    x, n = _simulate_beta_binomial(11)
    fit = beta_binomial_shrinkage(x, n)
    se = np.sqrt(np.diag(fit.cov_params.to_numpy()))  # (logit mean, log concentration)
    assert fit.converged and not fit.degenerate
    assert se[0] < 0.05 and se[1] < 0.15
    assert abs(math.log(fit.prior_mean / (1 - fit.prior_mean)) - math.log(0.3 / 0.7)) < 3 * se[0]
    assert abs(math.log(fit.concentration) - math.log(20.0)) < 3 * se[1]
    assert fit.alpha + fit.beta == pytest.approx(fit.concentration)
    assert fit.prior_sd == pytest.approx(math.sqrt(0.3 * 0.7 / 21), rel=0.15)
    # log-likelihood is scipy's beta-binomial, and the fit is a maximum of it
    loglik = lambda a, b: stats.betabinom.logpmf(x, n, a, b).sum()  # noqa: E731
    assert fit.loglik == pytest.approx(loglik(fit.alpha, fit.beta), abs=1e-6)
    for da, db in [(1.02, 1.0), (0.98, 1.0), (1.0, 1.02), (1.0, 0.98), (1.02, 1.02), (0.98, 0.98)]:
        assert loglik(fit.alpha * da, fit.beta * db) < fit.loglik
    table = fit.table
    assert np.allclose(table["shrunken_rate"], (fit.alpha + x) / (fit.alpha + fit.beta + n))
    assert np.allclose(table["reliability"], n / (n + fit.concentration))


def test_beta_binomial_without_between_group_variation_is_degenerate():
    # every group at exactly 30%: less spread than binomial noise, so the likelihood rises as
    # between-group variance -> 0 and the concentration runs to its cap
    fit = beta_binomial_shrinkage([3, 6, 30, 0, 9], [10, 20, 100, 0, 30], index=list("abcde"))
    assert fit.degenerate and fit.converged
    assert fit.concentration == KAPPA_MAX
    assert fit.prior_mean == pytest.approx(0.3, abs=1e-6)
    assert fit.n_groups == 4
    assert np.isnan(fit.cov_params.to_numpy()).all()
    assert np.allclose(fit.table["shrunken_rate"], 0.3, atol=1e-6)
    assert (fit.table["reliability"] < 1e-4).all()
    assert np.isnan(fit.table.loc["d", "raw_rate"])
    assert "degenerate" in fit.summary()


def test_beta_binomial_bad_input():
    with pytest.raises(ValueError) as err:
        beta_binomial_shrinkage([3, 12], [10, 10], index=["ann", "bob"])
    assert str(err.value) == "successes must not exceed n; 1 offending group(s) (successes/n): bob: 12/10"
    with pytest.raises(ValueError) as err:
        beta_binomial_shrinkage([3, 0], [10, -1])
    assert str(err.value) == "n must be >= 0; 1 offending group(s) (successes/n): 1: 0/-1"
    with pytest.raises(ValueError) as err:
        beta_binomial_shrinkage([3, np.nan], [10, 4])
    assert str(err.value) == ("successes and n must be finite numbers; 1 offending group(s) "
                              "(successes/n): 1: nan/4")


# ------------------------------------------------------------------------------------------------
# Non-response
# ------------------------------------------------------------------------------------------------
def test_kish_effective_n_by_hand():
    # (1 + 2 + 3 + 4)^2 / (1 + 4 + 9 + 16) = 100 / 30
    assert kish_effective_n([1, 2, 3, 4, np.nan]) == pytest.approx(100 / 30)
    assert kish_effective_n(np.full(7, 2.5)) == pytest.approx(7.0)
    with pytest.raises(ValueError, match="weights must be finite and >= 0; offending value"):
        kish_effective_n([1.0, -2.0])


def test_mann_whitney_auc_by_hand():
    # positives 0.35, 0.8 vs negatives 0.1, 0.4: pairs won 0.35>0.1, 0.8>0.1, 0.8>0.4 -> 3/4
    assert mann_whitney_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert mann_whitney_auc([0.5, 0.5, 0.9], [1, 0, 0]) == pytest.approx(0.25)  # tie counts 1/2


def test_response_propensity_recovers_logistic_coefficients():
    rng = np.random.default_rng(5)
    n = 20_000
    frame = pd.DataFrame({
        "handle_min": rng.normal(0, 1, n),
        "channel": rng.choice(["chat", "email", "phone"], n),
        "escalated": rng.random(n) < 0.2,
    }, index=pd.Index([f"c{i:05d}" for i in range(n)], name="contact_id"))
    truth = {"Intercept": -1.5, "handle_min": 0.6, "escalated": 0.3, "channel_email": 0.4,
             "channel_phone": -0.5}
    eta = (truth["Intercept"] + truth["handle_min"] * frame["handle_min"]
           + truth["escalated"] * frame["escalated"]
           + truth["channel_email"] * (frame["channel"] == "email")
           + truth["channel_phone"] * (frame["channel"] == "phone"))
    frame["responded"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    model = response_propensity(frame, "responded", ["handle_min", "channel", "escalated"], seed=1)
    table = model.coef_table.set_index("term")
    assert set(table.index) == set(truth)
    for term, value in truth.items():
        assert abs(table.loc[term, "estimate"] - value) < 3 * table.loc[term, "std_error"], term
    assert np.allclose(table["odds_ratio"], np.exp(table["estimate"]))
    assert np.allclose(table["z"], table["estimate"] / table["std_error"])
    assert model.propensity.index.equals(frame.index)
    responders = frame["responded"] == 1
    assert model.weights[~responders].isna().all()
    assert np.allclose(model.weights[responders], 1 / model.propensity[responders])
    assert model.auc == pytest.approx(mann_whitney_auc(model.propensity, frame["responded"]))
    assert 0.6 < model.auc < 0.8
    assert model.effective_n == pytest.approx(kish_effective_n(model.weights))


def test_response_propensity_bad_input():
    frame = pd.DataFrame({"responded": [1, 0, 2, 1], "x": [0.1, 0.2, 0.3, np.nan]})
    with pytest.raises(ValueError) as err:
        response_propensity(frame, "responded", ["x"])
    assert str(err.value) == "column 'responded' must be 0/1 (or true/false); 1 offending value(s): 2"
    with pytest.raises(ValueError) as err:
        response_propensity(frame.assign(responded=[1, 0, 0, 1]), "responded", ["x"])
    assert str(err.value) == ("column 'x' has 1 missing value(s) (rows 3); propensity features must be "
                              "complete")


def test_funnel_limits_normal_by_hand():
    # p0 = 0.15, n = 100: sd = sqrt(0.15 * 0.85 / 100) = 0.0357071
    #   1.96 sd = 0.0699860 -> (0.0800140, 0.2199860); 3.09 sd = 0.1103351 -> (0.0396649, 0.2603351)
    # n = 10: 3.09 sd = 0.3489101 -> lower clipped to 0, upper 0.4989101
    out = funnel_limits([10, 100], 0.15)
    assert list(out.columns) == ["n", "p0", "lower_1.96", "upper_1.96", "lower_3.09", "upper_3.09"]
    row = out.iloc[1]
    assert (row["lower_1.96"], row["upper_1.96"]) == pytest.approx((0.0800140, 0.2199860), abs=1e-7)
    assert (row["lower_3.09"], row["upper_3.09"]) == pytest.approx((0.0396649, 0.2603351), abs=1e-7)
    assert out.iloc[0]["lower_3.09"] == 0.0
    assert out.iloc[0]["upper_3.09"] == pytest.approx(0.4989101, abs=1e-7)


def test_funnel_limits_exact_spiegelhalter_interpolation_by_hand():
    # Binomial(10, 0.15): F(3) = 0.9500302, F(4) = 0.9901259; p = Phi(1.96) = 0.9750021
    # r_p = 4 (smallest r with F(r) >= p); alpha = (F(4) - p) / (F(4) - F(3)) = 0.3771926
    # upper limit = (4 - alpha) / 10 = 0.3622807
    F = lambda r: sum(math.comb(10, k) * 0.15 ** k * 0.85 ** (10 - k) for k in range(r + 1))  # noqa: E731
    p = stats.norm.cdf(1.96)
    expected_upper = (4 - (F(4) - p) / (F(4) - F(3))) / 10
    assert expected_upper == pytest.approx(0.3622807, abs=1e-7)
    # lower: p = 0.0249979 -> r_p = 0 (F(0) = 0.85^10 = 0.1968744), alpha = (F(0) - p)/F(0) -> (0 - alpha)/10 < 0 -> 0
    out = funnel_limits([10], 0.15, z=1.96, method="exact")
    assert out.loc[0, "upper_1.96"] == pytest.approx(expected_upper, abs=1e-12)
    assert out.loc[0, "lower_1.96"] == 0.0
    # exact and normal limits converge for large n
    big = funnel_limits([20_000], 0.15, method="exact").iloc[0]
    normal = funnel_limits([20_000], 0.15).iloc[0]
    assert big["upper_3.09"] == pytest.approx(normal["upper_3.09"], abs=5e-4)


def test_funnel_flags_z_scores_and_winsorised_overdispersion_by_hand():
    # p0 = 0.5, n = 100: sd = 0.05, so successes 50 + 5k give z = k
    k = np.array([-4, -2, -1, 0, 0, 1, 1, 2, 3, 6])
    x, n = 50 + 5 * k, np.full(10, 100)
    screen = funnel_flags(x, n, p0=0.5)
    plain = screen.table
    assert np.allclose(plain["z"], k)
    assert list(plain["flag"]) == ["below"] + [""] * 8 + ["above"]
    assert screen.phi is None and screen.phi_used == 1.0 and (screen.p0, screen.z) == (0.5, 3.09)
    # 10% Winsorising: 10th percentile of z = -4 + 0.9 * 2 = -2.2, 90th = 3 + 0.1 * 3 = 3.3
    # phi = (2.2^2 + 2^2 + 1 + 0 + 0 + 1 + 1 + 2^2 + 3^2 + 3.3^2) / 10 = 35.73 / 10 = 3.573
    widened = funnel_flags(x, n, p0=0.5, overdispersion=True)
    wide = widened.table
    assert widened.phi == pytest.approx(3.573) == widened.phi_used
    # limits 0.5 -/+ 3.09 sqrt(3.573) 0.05: z = 6 is still above (6 > 5.841), z = -4 no longer below
    assert wide["upper"].iloc[0] == pytest.approx(0.5 + 3.09 * math.sqrt(3.573) * 0.05)
    assert list(wide["flag"]) == [""] * 9 + ["above"]
    pooled = funnel_flags([10, 30], [100, 100])
    assert pooled.p0 == pytest.approx(0.2)
    assert pooled.table["z"].to_numpy() == pytest.approx([-0.1 / 0.04, 0.1 / 0.04])


def _steering_data(seed=20260301):
    """150 agents; response 15%; top score (CSAT 5) with case-mix probability logistic(-0.2 + 1.5 easy).
    Honest agents: 30% easy contacts. 'easy' (honest, 1,500 contacts, 90% easy). 'steer1'/'steer2':
    response 30% and top-score probability + 0.3."""
    rng = np.random.default_rng(seed)
    frames = []
    agents = [f"h{i:03d}" for i in range(147)] + ["easy", "steer1", "steer2"]
    for agent in agents:
        n = 1500 if agent == "easy" else int(rng.integers(250, 550))
        easy = rng.random(n) < (0.9 if agent == "easy" else 0.3)
        p_top = 1 / (1 + np.exp(-(-0.2 + 1.5 * easy)))
        steer = agent.startswith("steer")
        responded = rng.random(n) < (0.30 if steer else 0.15)
        top = rng.random(n) < np.minimum(p_top + (0.3 if steer else 0.0), 1)
        csat = np.where(top, 5, rng.integers(1, 5, n)).astype(float)
        csat[~responded] = np.nan
        csat[responded & (rng.random(n) < 0.05)] = np.nan  # responses that skipped the question
        frames.append(pd.DataFrame({"agent_id": agent, "responded": responded, "csat": csat, "p_top": p_top}))
    return pd.concat(frames, ignore_index=True)


def test_steering_flags_find_the_two_steering_agents():
    df = _steering_data()
    screen = steering_flags(df, "agent_id", "responded", "csat", expected_score_col="p_top")
    assert screen.case_mix and screen.pooled_response_rate == pytest.approx(df["responded"].mean())
    out = screen.table.set_index("agent")
    assert list(out.reset_index().columns[:11]) == [
        "agent", "n_contacts", "n_responses", "response_rate", "top_box_rate", "expected_top_box_rate",
        "z_response", "z_top_box", "flag_response", "flag_scores", "flagged"]
    assert out.loc[["steer1", "steer2"], "flag_response"].all()
    assert out.loc[["steer1", "steer2"], "flag_scores"].all()
    honest = out.drop(index=["steer1", "steer2"])
    # one-sided z = 3.09 twice per agent: ~0.2% false positives expected, i.e. ~0.3 of 148 agents
    assert honest["flagged"].sum() <= 2
    assert not out.loc["easy", "flag_scores"]  # the case-mix model explains the easy agent's scores
    # the pieces, by hand for one agent
    a = df[df["agent_id"] == "h000"]
    scored = a[a["responded"] & a["csat"].notna()]
    o, e, v = (scored["csat"] == 5).sum(), scored["p_top"].sum(), (scored["p_top"] * (1 - scored["p_top"])).sum()
    assert out.loc["h000", "z_top_box"] == pytest.approx((o - e) / math.sqrt(v))
    r_bar = df["responded"].mean()
    assert out.loc["h000", "z_response"] == pytest.approx(
        (a["responded"].mean() - r_bar) / math.sqrt(r_bar * (1 - r_bar) / len(a)))
    assert out.loc["h000", "n_contacts"] == len(a) and out.loc["h000", "n_scored"] == len(scored)


def test_steering_flags_without_case_mix_mistake_an_easy_workload_for_steering():
    df = _steering_data()
    screen = steering_flags(df, "agent_id", "responded", "csat")
    out = screen.table.set_index("agent")
    assert out.loc["easy", "flag_scores"] and not out.loc["easy", "flag_response"]
    pooled = ((df["csat"] == 5).sum() / df["csat"].notna().sum())
    assert out["expected_top_box_rate"].to_numpy() == pytest.approx(np.full(len(out), pooled))
    assert screen.top_box == 5.0 and not screen.case_mix


def test_steering_flags_bad_expected_probabilities():
    df = _steering_data().head(300).copy()
    df.loc[df.index[df["responded"] & df["csat"].notna()][:2], "p_top"] = 1.5
    with pytest.raises(ValueError) as err:
        steering_flags(df, "agent_id", "responded", "csat", expected_score_col="p_top")
    assert str(err.value) == ("column 'p_top' must hold probabilities in [0, 1] for every scored response; "
                              "2 offending value(s): 1.5")
