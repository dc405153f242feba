"""One results base for every fit: lmer, glmer by quadrature (one random intercept), glmer by PIRLS
(several random terms) and clmm offer the same methods meaning the same things (results/base.py),
and go through the same convergence checks (convergence.py).

The multi-factor glmer's methods are held to lme4 (tests/reference/fixtures/cbpp_obs_laplace.json:
its confint, reliability, icc and predictions derived from lme4's estimates, SEs, variances and
conditional modes/SDs) and, on a one-factor model, to the independent single-factor quadrature path.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from conformance import GLMM_TOL, fit_glmm_case, fit_lmer_case, load_case
from scipy import stats
from scipy.optimize import OptimizeResult
from scipy.special import expit

from upstream import clmm, glmer
from upstream.models import MixedModelResult
from upstream.models.convergence import Verdict, check_optimum
from upstream.models.design import fixed_matrix, model_frame, random_blocks
from upstream.models.formula import parse_formula
from upstream.models.glmm import binomial_response

Z975 = stats.norm.ppf(0.975)


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


@pytest.fixture(scope="module")
def fits():
    out = {}
    for name, case in [("lmer", "sleepstudy_reml"), ("glmer quadrature", "cbpp_laplace"),
                       ("glmer PIRLS", "cbpp_obs_laplace"), ("clmm", "wine_laplace")]:
        fx, data = load_case(case)
        fit = quiet(fit_lmer_case if name == "lmer" else fit_glmm_case, fx, data)
        out[name] = (fx, data, fit)
    return out


@pytest.mark.parametrize("name", ["lmer", "glmer quadrature", "glmer PIRLS", "clmm"])
def test_every_fit_offers_the_same_methods(fits, name):
    fx, data, fit = fits[name]
    assert isinstance(fit, MixedModelResult)
    assert fit.converged and fit.health() == []
    tab = fit.coef_table
    ci = fit.confint(0.9)
    assert list(ci.columns) == ["lower", "upper"] and list(ci.index) == list(tab.index)
    assert ((ci["lower"] < tab["estimate"]) & (tab["estimate"] < ci["upper"])).all()
    groups = list(fit.ngroups)
    assert sorted(fit.ranef) == sorted(groups) and sorted(fit.reliability) == sorted(groups)
    for g in groups:
        rel = fit.reliability[g]                                # a frame for slope terms (sleepstudy)
        assert ((rel.to_numpy() >= 0) & (rel.to_numpy() <= 1)).all() and rel.index.equals(fit.ranef[g].index)
    assert (fit.icc > 0).all() and fit.icc.sum() < 1
    assert {"term", "variance", "sd"} <= set(fit.varcorr.columns)
    text = fit.summary()
    assert "Random effects:" in text and ("Coefficients:" if name == "clmm" else "Fixed effects:") in text
    pred = fit.predict()
    assert len(pred) == fit.nobs
    tidy = fit.to_frame()
    assert (tidy["effect"] == "fixed").sum() == len(tab) and (tidy["effect"] == "ran_pars").any()
    assert len(fit.theta) == len(fit.theta_names)


def test_multi_factor_glmer_against_lme4(fits):
    """cbpp with herd and observation-level intercepts, Laplace: what lme4 would print for each method."""
    fx, data, fit = fits["glmer PIRLS"]
    coef = {c["term"]: c for c in fx["coef"]}
    names = list(coef)
    est = np.array([coef[n]["estimate"] for n in names])
    se = np.array([coef[n]["std_error"] for n in names])
    # θ by name (lme4's getME(fit, "theta"), the SDs of scalar terms on the logit scale)
    ours = dict(zip(fit.theta_names, fit.theta))
    for n, v in zip(fx["theta_names"], fx["theta"]):
        assert ours[n] == pytest.approx(v, rel=GLMM_TOL["sd"])
    # Cov(β̂) from the Hessian over (θ, β), as lme4's use.hessian
    np.testing.assert_allclose(fit.vcov.loc[names, names], np.array(fx["vcov"]), rtol=GLMM_TOL["std_error"] * 2)
    # Wald intervals: lme4's confint(method = "Wald") is estimate ± z·SE
    ci = fit.confint()
    slack = Z975 * GLMM_TOL["std_error"] * se + GLMM_TOL["estimate"] * np.maximum(np.abs(est), se)
    assert np.all(np.abs(ci.loc[names, "lower"].to_numpy() - (est - Z975 * se)) <= slack)
    assert np.all(np.abs(ci.loc[names, "upper"].to_numpy() - (est + Z975 * se)) <= slack)
    # reliability = 1 − condVar / variance, ICC = variance / (Σ variances + π²/3), from lme4's numbers
    variance = {row["grp"]: row["vcov"] for row in fx["varcorr"]}
    for g, info in fx["ranef"].items():
        cond_sd = np.asarray(info["terms"]["(Intercept)"]["cond_sd"])
        ref = 1 - cond_sd ** 2 / variance[g]
        got = fit.reliability[g].loc[[str(v) for v in info["levels"]]].to_numpy()
        # the conditional SDs (tolerance 1e-3) and variance move reliability by at most this much
        tol = 2 * cond_sd * GLMM_TOL["cond_se"] / variance[g] + (1 - ref) * 2 * GLMM_TOL["sd"] + 1e-9
        assert np.all(np.abs(got - ref) <= tol), g
        assert fit.icc[g] == pytest.approx(variance[g] / (sum(variance.values()) + np.pi ** 2 / 3),
                                           rel=2 * GLMM_TOL["sd"])
    # predictions: logit⁻¹(Xβ̂ + b̂_herd + b̂_obs) with lme4's estimates and conditional modes
    eta = pd.Series(est[0], index=data.index)
    for lev, name in zip(fx["factors"]["period"][1:], names[1:]):
        eta += np.where(data["period"].astype(str) == lev, coef[name]["estimate"], 0.0)
    for g, info in fx["ranef"].items():
        modes = dict(zip(map(str, info["levels"]), info["terms"]["(Intercept)"]["mode"]))
        eta += data[g].astype(str).map(modes).to_numpy()
    np.testing.assert_allclose(fit.predict(type="link"), eta, atol=5 * GLMM_TOL["mode"])
    np.testing.assert_allclose(fit.predict(), expit(eta), atol=5 * GLMM_TOL["mode"])
    assert fit.aic == pytest.approx(fx["aic"], abs=2 * GLMM_TOL["loglik"])
    assert fit.bic == pytest.approx(fx["bic"], abs=2 * GLMM_TOL["loglik"])
    assert list(fit.vcov_all.index) == names + fit.theta_names
    text = fit.summary()
    assert "Laplace Approximation" in text and " herd " in text and " obs " in text


def _laplace_path(formula, data):
    from upstream.models.pirls import fit_laplace_glmer
    frame = model_frame(parse_formula(formula), data, family="binomial")
    fixed = fixed_matrix(frame)
    k, m = binomial_response(frame)
    return quiet(fit_laplace_glmer, formula, frame, fixed, random_blocks(frame), k, m)


def test_pirls_path_methods_equal_the_quadrature_paths_on_one_factor(fits):
    """The same model by both glmer paths: the PIRLS path's confint, reliability, icc, vcov_all and
    predictions agree with the independent single-factor quadrature path's."""
    fx, data, quad = fits["glmer quadrature"]
    pirls = _laplace_path(fx["formula"], data)
    assert type(pirls) is type(quad) and pirls.converged
    assert pirls.loglik == pytest.approx(quad.loglik, abs=1e-6)
    np.testing.assert_allclose(pirls.confint(), quad.confint(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(pirls.reliability["herd"], quad.reliability["herd"], atol=1e-5)
    assert pirls.icc["herd"] == pytest.approx(quad.icc["herd"], rel=1e-4)
    assert pirls.sd == pytest.approx(quad.sd, rel=1e-4)
    names = list(quad.fixef.index)
    np.testing.assert_allclose(pirls.vcov_all.loc[names, names], quad.vcov_all.loc[names, names], rtol=1e-3)
    assert pirls.vcov_all.loc["herd.(Intercept)", "herd.(Intercept)"] == \
        pytest.approx(quad.vcov_all.loc["sd", "sd"], rel=1e-3)
    np.testing.assert_allclose(pirls.predict(), quad.predict(), atol=1e-5)


def test_the_pirls_path_checks_its_optimum_like_lme4(monkeypatch):
    """An optimiser that stops at its start reports success; the scaled-gradient check must catch it."""
    import upstream.models.pirls as pirls

    def stops_at_once(fun, x0, **kw):
        return OptimizeResult(x=np.asarray(x0, float), fun=fun(np.asarray(x0, float)), success=True, message="")

    monkeypatch.setattr(pirls, "minimize", stops_at_once)
    fx, data = load_case("cbpp_obs_laplace")
    fit = _laplace_path(fx["formula"], data)
    assert not fit.converged
    assert any(m.startswith("Model failed to converge with max|grad|") for m in fit.messages)
    assert fit.health()[0].startswith("did not converge: Model failed to converge with max|grad|")


def test_lme4s_gradient_and_hessian_checks():
    # max_i min(|R⁻¹g|_i, |g|_i) with H = R'R: 0.01/2 = 0.005 > 2e-3 fails, 0.01/10 = 0.001 passes
    v = check_optimum(Verdict(), np.array([0.01, 0.0]), np.diag([4.0, 1.0]), np.array([True, True]))
    assert v.messages == ["Model failed to converge with max|grad| = 0.005 (tol = 0.002)"]
    assert check_optimum(Verdict(), np.array([0.01, 0.0]), np.diag([100.0, 1.0]), np.array([True, True])).converged
    v = check_optimum(Verdict(), np.zeros(2), np.diag([1.0, -1.0]), np.array([True, True]))
    assert not v.converged and "degenerate Hessian with 1 negative eigenvalue" in v.messages[0]
    # a parameter on its bound is left out, as lme4 does
    assert check_optimum(Verdict(), np.array([0.0, 5.0]), np.diag([1.0, -1.0]), np.array([True, False])).converged


def separated_ratings():
    """20 ratings, 3 agents: one agent's are nearly all good, and a slope on x per agent."""
    rng = np.random.default_rng(2)
    n = 20
    df = pd.DataFrame({"g": rng.choice(["a", "b", "c"], n), "f": rng.choice(["p", "q", "r"], n),
                       "x": rng.normal(size=n)})
    df["y"] = (df["g"].isin(["a"]) | (rng.random(n) < 0.2)).astype(int)
    return df


def test_pirls_stops_when_the_estimates_diverge():
    """Separated, over-parameterised data used to run the Laplace fit to its cap (4,000 evaluations,
    30–90 s); the fit now stops as the linear predictor passes ±30 and says why."""
    fit = quiet(glmer, "y ~ f + (1 + x | g)", separated_ratings())
    assert not fit.converged
    assert fit.n_evals < 300
    problem = fit.health()[0]
    assert problem.startswith("did not converge: the estimates diverge") and "separate the outcomes" in problem
    assert np.isnan(fit.coef_table["std_error"]).all()          # no curvature at a point that is not an optimum
    with pytest.warns(UserWarning, match="the estimates diverge"):
        glmer("y ~ f + (1 + x | g)", separated_ratings())


def test_clmm_icc_is_on_the_latent_logistic_scale(fits):
    fit = fits["clmm"][2]
    assert fit.icc["judge"] == pytest.approx(fit.sd ** 2 / (fit.sd ** 2 + np.pi ** 2 / 3))
    assert fit.vcov_all.index[-1] == "sd" and list(fit.vcov.index) == list(fit.coef_table.index)


def test_collapsed_rows_give_the_row_by_row_likelihood():
    """glmer and clmm fit rows merged by (group, X row[, category]); the likelihood at the estimates
    equals the row-by-row one, and a 0/1 response gives the same fit as its binomial counts."""
    from upstream.models.quadrature import BinomialLogit, CumulativeLogit, SingleFactorQuadrature
    rng = np.random.default_rng(3)
    n = 600
    df = pd.DataFrame({"g": rng.choice([f"a{i}" for i in range(30)], n), "c": rng.choice(["x", "y", "z"], n)})
    u = dict(zip(sorted(df["g"].unique()), rng.normal(0, 0.8, 30)))
    latent = df["g"].map(u) + np.where(df["c"] == "y", 0.7, 0.0) + rng.logistic(size=n)
    df["top"] = (latent > 0.5).astype(int)
    df["csat"] = 1 + np.searchsorted([-1.5, 0.0, 1.5], latent)
    fit = glmer("top ~ c + (1 | g)", df)
    frame = model_frame(parse_formula("top ~ c + (1 | g)"), df, family="binomial")
    X, block = fixed_matrix(frame).X, random_blocks(frame)[0]
    full = SingleFactorQuadrature(BinomialLogit(df["top"].to_numpy(float), np.ones(n), X), block.codes,
                                  block.n_levels)
    assert full.objective(fit.fixef.to_numpy(), fit.sd, gradient=False)[0] == pytest.approx(-2 * fit.loglik, abs=1e-8)
    counts = df.groupby(["g", "c"], as_index=False)["top"].agg(["sum", "count"])
    counts["miss"] = counts["count"] - counts["sum"]
    binomial = glmer("cbind(sum, miss) ~ c + (1 | g)", counts)
    np.testing.assert_allclose(binomial.coef_table, fit.coef_table, rtol=1e-6, atol=1e-9)
    assert binomial.sd == pytest.approx(fit.sd, rel=1e-6)
    ordinal = clmm("csat ~ c + (1 | g)", df, levels=[1, 2, 3, 4])
    frame = model_frame(parse_formula("csat ~ c + (1 | g)"), df, family="ordinal")
    full = SingleFactorQuadrature(CumulativeLogit(df["csat"].to_numpy() - 1, 4, fixed_matrix(frame).X[:, 1:]),
                                  block.codes, block.n_levels)
    value = full.objective(ordinal.params.to_numpy(), ordinal.sd, gradient=False)[0]
    assert value == pytest.approx(-2 * ordinal.loglik, abs=1e-8)
