"""lmer behaviour beyond the reference cases: formulas, bad input, predictions, truth recovery."""
import warnings

import numpy as np
import pandas as pd
import pytest
from conformance import load_case

from upstream import lmer
from upstream.models import FormulaError, RankDeficiencyWarning, SingularFitWarning, parse_formula
from upstream.models.optimize import optimize_theta


def sim_lmm(n_groups=300, per_group=30, tau=0.5, sigma=1.0, beta=(3.0, 0.4), seed=7):
    """y = β0 + β1·x + b_g + ε with known truth."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    b = rng.normal(0, tau, n_groups)
    x = rng.normal(size=g.size)
    y = beta[0] + beta[1] * x + b[g] + rng.normal(0, sigma, g.size)
    return pd.DataFrame({"y": y, "x": x, "g": [f"g{i:03d}" for i in g]}), b


# -- formulas -------------------------------------------------------------------------------------

def test_formula_expansion_follows_r():
    f = parse_formula("y ~ a * b + x - 1 + (1 + x | g) + (1 | team/agent) + (x || h)")
    assert not f.fixed.intercept
    assert [t.label for t in f.fixed.terms] == ["a", "b", "x", "a:b"]
    assert [(r.group, r.lhs.intercept, [t.label for t in r.lhs.terms]) for r in f.random] == [
        (("g",), True, ["x"]), (("team",), True, []), (("team", "agent"), True, []),
        (("h",), True, []), (("h",), False, ["x"])]


def test_interaction_variables_ordered_by_first_appearance():
    assert [t.label for t in parse_formula("y ~ b:a + a + (1|g)").fixed.terms] == ["a", "b:a"]


@pytest.mark.parametrize("text, message", [
    ("y ~ x + (1 | )", "malformed formula 'y ~ x + (1 | )': unexpected ')'"),
    ("y ~ x + (1 | a + b)", "malformed random term (1 | a + b): the grouping factor must be a variable, "
                            "an interaction a:b or a nesting a/b"),
    ("y ~ log(x) + (1|g)", "malformed formula 'y ~ log(x) + (1|g)': the function log() is not supported here "
                           "(supported: factor(x); cbind(a, b) on the left-hand side)"),
    ("~ x", "the formula '~ x' has no response on the left of '~'"),
])
def test_malformed_formula_messages(text, message):
    with pytest.raises(FormulaError) as err:
        parse_formula(text)
    assert str(err.value) == message


# -- bad input ------------------------------------------------------------------------------------

def test_unknown_column_is_named():
    df, _ = sim_lmm(20, 5)
    with pytest.raises(ValueError) as err:
        lmer("y ~ x + z + (1 | agent)", df)
    assert str(err.value) == ("the formula 'y ~ x + z + (1 | agent)' uses column(s) 'z', 'agent' that the data "
                              "does not have; the data has: y, x, g")


def test_grouping_factor_with_one_level():
    df, _ = sim_lmm(20, 5)
    df["one"] = "only"
    with pytest.raises(ValueError, match=r"the grouping factor 'one' in \(1 \| one\) has only 1 level; "
                                         r"a random effect needs at least 2 levels"):
        lmer("y ~ x + (1 | one)", df)


def test_rank_deficient_columns_dropped_with_warning():
    fx, data = load_case("sleepstudy_rankdef_reml")
    with pytest.warns(RankDeficiencyWarning, match="dropping 1 column / coefficient: Days2"):
        res = lmer(fx["formula"], data)
    assert list(res.fixef.index) == ["(Intercept)", "Days"]
    assert res.fixed.dropped == ["Days2"] == fx["dropped_columns"]


def test_missing_rows_dropped_and_counted():
    df, _ = sim_lmm(40, 10)
    df.loc[[3, 17, 250], "x"] = np.nan
    df.loc[[5], "y"] = np.nan
    res = lmer("y ~ x + (1 | g)", df)
    assert res.n_dropped == 4
    assert res.nobs == len(df) - 4
    assert "4 rows with missing values dropped" in res.summary()


def test_non_convergence_is_flagged():
    df, _ = sim_lmm(40, 10)
    with pytest.warns(UserWarning, match="the optimiser stopped before converging"):
        res = lmer("y ~ x + (1 | g)", df, max_evals=2)
    assert res.converged is False


def test_gradient_check_flags_a_false_optimum():
    # a "converged" point that is not a minimum: the check must catch it
    opt = optimize_theta(lambda th: float((th[0] - 3.0) ** 2), 1, np.array([0.0]), start=[0.5], max_evals=3)
    assert not opt.converged


def test_singular_fit_warns_like_lme4():
    fx, data = load_case("dyestuff2_reml")
    with pytest.warns(SingularFitWarning, match="boundary \\(singular\\) fit"):
        res = lmer(fx["formula"], data)
    assert res.singular and res.theta[0] == 0.0


# -- results ---------------------------------------------------------------------------------------

def test_truth_recovered_on_simulated_data():
    df, b = sim_lmm()
    res = lmer("y ~ x + (1 | g)", df)
    tab = res.coef_table
    assert abs(tab.loc["(Intercept)", "estimate"] - 3.0) < 3 * tab.loc["(Intercept)", "std_error"]
    assert abs(tab.loc["x", "estimate"] - 0.4) < 3 * tab.loc["x", "std_error"]
    assert res.varcorr.loc["g", "sd"] == pytest.approx(0.5, rel=0.1)
    assert res.sigma == pytest.approx(1.0, rel=0.03)
    modes = res.ranef["g"]["mode"].to_numpy()
    assert np.corrcoef(modes, b)[0, 1] > 0.9
    # 95% conditional intervals cover the realised effects close to the nominal rate
    se = res.ranef["g"]["cond_se"].to_numpy()
    cover = np.mean(np.abs(modes - (b - b.mean())) <= 1.96 * se)
    assert 0.92 <= cover <= 0.98


def test_reliability_is_tau2_over_tau2_plus_sigma2_over_n():
    df, _ = sim_lmm(50, 1)
    df = pd.concat([df, sim_lmm(50, 12, seed=8)[0]], ignore_index=True)   # unequal group sizes
    res = lmer("y ~ x + (1 | g)", df)
    tau2 = res.varcorr.loc["g", "variance"]
    n_j = df.groupby("g").size().loc[res.reliability["g"].index]
    # one factor: conditional variance is σ²τ²/(σ² + n τ²) exactly, so reliability = τ²/(τ² + σ²/n)
    expected = tau2 / (tau2 + res.sigma ** 2 / n_j)
    np.testing.assert_allclose(res.reliability["g"].to_numpy(), expected.to_numpy(), rtol=1e-8)
    assert res.icc["g"] == pytest.approx(tau2 / (tau2 + res.sigma ** 2))


def test_predict_reproduces_fitted_and_handles_new_levels():
    df, _ = sim_lmm(30, 8)
    res = lmer("y ~ x + (1 | g)", df)
    np.testing.assert_allclose(res.predict(df).to_numpy(), res.fitted.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose((res.fitted + res.resid).to_numpy(), df["y"].to_numpy(), rtol=1e-12)
    new = pd.DataFrame({"x": [0.0, 1.0], "g": ["g000", "brand-new"]})
    with pytest.raises(ValueError, match="levels of grouping factor 'g' that were not in the fitted data: 'brand-new'"):
        res.predict(new)
    pred = res.predict(new, allow_new_levels=True)
    beta = res.fixef
    assert pred.iloc[1] == pytest.approx(beta["(Intercept)"] + beta["x"])
    assert pred.iloc[0] == pytest.approx(beta["(Intercept)"] + res.ranef["g"].loc["g000", "mode"])


def test_summary_has_lme4_layout():
    fx, data = load_case("dyestuff_reml")
    text = lmer(fx["formula"], data).summary()
    assert "REML criterion at convergence: 319.7" in text
    assert " Batch        (Intercept)        1764      42.00" in text
    assert "Number of obs: 30, groups:  Batch, 6" in text


def test_to_frame_is_tidy():
    fx, data = load_case("sleepstudy_reml")
    tidy = lmer(fx["formula"], data).to_frame()
    assert list(tidy.columns) == ["effect", "group", "term", "estimate", "std_error", "df", "statistic",
                                  "p_value", "conf_low", "conf_high"]
    cor = tidy[(tidy.group == "Subject") & (tidy.term == "cor__(Intercept).Days")]["estimate"].iloc[0]
    ref = [r["sdcor"] for r in fx["varcorr"] if r["var2"] is not None][0]
    assert cor == pytest.approx(ref, abs=1e-4)


def test_bootstrap_is_reproducible_and_covers_truth():
    df, b = sim_lmm(80, 10, tau=0.6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lmer("y ~ x + (1 | g)", df)
        one = res.bootstrap(60, seed=3, progress=False)
        two = res.bootstrap(60, seed=3, progress=False)
    pd.testing.assert_frame_equal(one.samples, two.samples)
    iv = one.intervals()
    assert iv.loc["sd_g_(Intercept)", "lower"] < 0.6 < iv.loc["sd_g_(Intercept)", "upper"]
    assert iv.loc["sigma", "lower"] < 1.0 < iv.loc["sigma", "upper"]
    eff = one.effects("g")
    realised = b - b.mean()
    assert np.mean((eff["lower"] <= realised) & (realised <= eff["upper"])) >= 0.9
