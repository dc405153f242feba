"""glmer and clmm: truth recovery on simulated data, predictions, and bad input."""
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from upstream import clmm, glmer
from upstream.models import MissingGroupWarning, ModelInputError, SeparationWarning
from upstream.models.quadrature import BinomialLogit, CumulativeLogit, SingleFactorQuadrature


def sim_logistic(n_groups=200, per_group=40, sd=0.8, beta=(-0.5, 0.7), seed=11):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    b = rng.normal(0, sd, n_groups)
    x = rng.normal(size=g.size)
    y = rng.random(g.size) < expit(beta[0] + beta[1] * x + b[g])
    return pd.DataFrame({"y": y.astype(int), "x": x, "g": [f"g{i:03d}" for i in g]}), b


def sim_ordinal(n_groups=150, per_group=40, sd=0.7, beta=0.8, thresholds=(-2.0, -0.5, 0.6, 2.0), seed=5):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    u = rng.normal(0, sd, n_groups)
    x = rng.normal(size=g.size)
    latent = beta * x + u[g] + rng.logistic(size=g.size)
    y = 1 + np.searchsorted(np.asarray(thresholds), latent)
    return pd.DataFrame({"csat": y, "x": x, "agent": [f"a{i:03d}" for i in g]}), u


def test_glmer_recovers_truth():
    df, b = sim_logistic()
    res = glmer("y ~ x + (1 | g)", df)
    tab = res.coef_table
    assert abs(tab.loc["(Intercept)", "estimate"] + 0.5) < 3 * tab.loc["(Intercept)", "std_error"]
    assert abs(tab.loc["x", "estimate"] - 0.7) < 3 * tab.loc["x", "std_error"]
    assert res.varcorr.loc["g", "sd"] == pytest.approx(0.8, rel=0.15)
    assert np.corrcoef(res.ranef["g"]["mode"], b)[0, 1] > 0.8
    assert res.converged


def test_adaptive_quadrature_converges_to_the_exact_marginal_likelihood():
    """The n_agq = 25 log-likelihood equals the marginal likelihood integrated by brute force at the
    same parameters, and the approximation error shrinks as nodes are added (Laplace = 1 node)."""
    from scipy import integrate
    df, _ = sim_logistic(30, 10)
    fits = {k: glmer("y ~ x + (1 | g)", df, n_agq=k) for k in (1, 3, 25)}
    best = fits[25]
    beta, sd = best.fixef.to_numpy(), best.sd
    total = 0.0
    for _, grp in df.groupby("g"):
        eta = beta[0] + beta[1] * grp["x"].to_numpy()
        y = grp["y"].to_numpy()

        def integrand(b, eta=eta, y=y):
            p = expit(eta + b)
            return np.prod(np.where(y == 1, p, 1 - p)) * np.exp(-0.5 * (b / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
        value, _ = integrate.quad(integrand, -10 * sd, 10 * sd, epsabs=1e-14, epsrel=1e-12)
        total += np.log(value)
    assert best.loglik == pytest.approx(total, abs=1e-6)
    assert abs(fits[3].loglik - best.loglik) < abs(fits[1].loglik - best.loglik)
    assert abs(fits[1].loglik - best.loglik) > 1e-4         # Laplace is an approximation here


def test_analytic_gradient_matches_finite_differences():
    df, _ = sim_ordinal(20, 15)
    codes = df["csat"].to_numpy() - 1
    X = df[["x"]].to_numpy()
    gcodes = pd.factorize(df["agent"], sort=True)[0]
    for n_agq in (1, 7):
        quad = SingleFactorQuadrature(CumulativeLogit(codes, 5, X), gcodes, 20, n_agq)
        x = np.array([-1.9, -0.4, 0.5, 2.1, 0.7, 0.6])
        _, grad, _ = quad.objective(x[:-1], x[-1])
        num = []
        for i in range(len(x)):
            e = np.zeros(len(x))
            e[i] = 1e-6
            up = quad.objective((x + e)[:-1], (x + e)[-1], gradient=False)[0]
            dn = quad.objective((x - e)[:-1], (x - e)[-1], gradient=False)[0]
            num.append((up - dn) / 2e-6)
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-6)
    quad = SingleFactorQuadrature(BinomialLogit(df["x"].gt(0).to_numpy(float), np.ones(len(df)), np.ones((len(df), 1))),
                                  gcodes, 20, 5)
    _, grad, _ = quad.objective(np.array([0.1]), 0.9)
    up = quad.objective(np.array([0.1 + 1e-6]), 0.9, gradient=False)[0]
    dn = quad.objective(np.array([0.1 - 1e-6]), 0.9, gradient=False)[0]
    assert grad[0] == pytest.approx((up - dn) / 2e-6, rel=1e-5)


def test_clmm_recovers_truth_and_predicts():
    df, u = sim_ordinal()
    res = clmm("csat ~ x + (1 | agent)", df, levels=[1, 2, 3, 4, 5])
    tab = res.coef_table
    for name, truth in zip(["1|2", "2|3", "3|4", "4|5", "x"], [-2.0, -0.5, 0.6, 2.0, 0.8]):
        assert abs(tab.loc[name, "estimate"] - truth) < 3 * tab.loc[name, "std_error"], name
    assert res.varcorr.loc["agent", "sd"] == pytest.approx(0.7, rel=0.2)
    probs = res.predict()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    score = res.expected_score()
    assert score.between(1, 5).all()
    eff = res.group_effects()
    assert np.corrcoef(eff["mode"], u)[0, 1] > 0.8
    # a positive latent effect raises the expected score
    assert (np.sign(eff["expected_score_effect"]) == np.sign(eff["mode"])).all()
    # the mean over the replies of E[Y | x_i, u_j] − E[Y | x_i, 0], E from the category probabilities
    eta = res.fixed.X @ res.fixef.to_numpy()
    cum = expit(res.thresholds.to_numpy()[None, :] - (eta[:, None] + eff["mode"].iloc[[0, -1]].to_numpy()[:, None, None]))
    base = expit(res.thresholds.to_numpy()[None, :] - eta[:, None])
    expected = [(np.diff(c, axis=1, prepend=0, append=1) @ np.arange(1, 6)).mean() for c in (*cum, base)]
    np.testing.assert_allclose(eff["expected_score_effect"].iloc[[0, -1]], np.array(expected[:2]) - expected[2],
                               rtol=1e-12, atol=1e-14)


def test_clmm_from_counted_cells_is_the_fit_of_the_rows():
    """Cells of identical rows with a count (as a SQL GROUP BY gives them) fit exactly as the rows written out:
    the same estimates, SEs, log-likelihood, modes and number of observations."""
    df, _ = sim_ordinal()
    df["x"] = np.round(df["x"], 0)                       # few distinct x: the cells merge many rows
    rows = clmm("csat ~ x + (1 | agent)", df, levels=[1, 2, 3, 4, 5])
    cells = df.groupby(["agent", "x", "csat"], as_index=False).size().rename(columns={"size": "n"})
    assert len(cells) < len(df) / 2
    counted = clmm("csat ~ x + (1 | agent)", cells.sample(frac=1, random_state=1), levels=[1, 2, 3, 4, 5],
                   counts="n")
    assert counted.nobs == rows.nobs == len(df)
    assert counted.loglik == pytest.approx(rows.loglik, abs=1e-8)
    assert counted.bic == pytest.approx(rows.bic, abs=1e-7)
    np.testing.assert_allclose(counted.coef_table.to_numpy(), rows.coef_table.to_numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(counted.varcorr["sd"], rows.varcorr["sd"], rtol=1e-6)
    modes = counted.group_effects()["mode"].sort_index()
    np.testing.assert_allclose(modes, rows.group_effects()["mode"].sort_index(), rtol=1e-6, atol=1e-9)


def test_clmm_counts_must_be_whole_and_positive():
    df, _ = sim_ordinal(10, 10)
    df["n"] = 1.0
    df.loc[[2, 5, 7], "n"] = [0.5, 0.0, 2.5]
    with pytest.raises(ModelInputError) as err:
        clmm("csat ~ x + (1 | agent)", df, levels=[1, 2, 3, 4, 5], counts="n")
    assert str(err.value) == ("counts column 'n' must hold whole numbers of at least 1 (the replies each row stands "
                              "for); found 3 other value(s): 0.5, 0, 2.5")


def test_clmm_value_outside_declared_scale():
    df, _ = sim_ordinal(10, 10)
    df.loc[3, "csat"] = 7
    df.loc[8, "csat"] = 0
    with pytest.raises(ValueError) as err:
        clmm("csat ~ x + (1 | agent)", df, levels=[1, 2, 3, 4, 5])
    assert str(err.value) == "the response 'csat' has values outside its declared scale 1, 2, 3, 4, 5: 7, 0"


def test_only_one_category():
    df, _ = sim_ordinal(10, 10)
    df["csat"] = 5
    with pytest.raises(ValueError, match="the response 'csat' has only one category present \\(5\\); an ordinal "
                                         "model needs at least two"):
        clmm("csat ~ x + (1 | agent)", df, levels=[1, 2, 3, 4, 5])
    logit, _ = sim_logistic(10, 10)
    logit["y"] = 1
    with pytest.raises(ModelInputError) as err:
        glmer("y ~ x + (1 | g)", logit)
    assert str(err.value) == "the response 'y' has only one category (all 1s); a logistic model needs both outcomes"


def test_logistic_response_must_be_binary():
    df, _ = sim_logistic(10, 10)
    df.loc[0, "y"] = 3
    with pytest.raises(ModelInputError) as err:
        glmer("y ~ x + (1 | g)", df)
    assert str(err.value) == ("the response 'y' of a logistic model must be 0/1 (or true/false); found 1 other value "
                              "(row 0: 3)")


def test_perfect_separation_warns_naming_the_term():
    df, _ = sim_logistic(40, 20)
    df["channel"] = np.where(np.arange(len(df)) % 4 == 0, "email", "chat")
    df.loc[df["channel"] == "email", "y"] = 1
    with pytest.warns(SeparationWarning, match="perfect separation: every response is the same where channelemail = 1"):
        glmer("y ~ x + channel + (1 | g)", df)


def test_group_with_all_outcomes_missing_is_named():
    df, _ = sim_logistic(30, 10)
    df.loc[df["g"] == "g007", "y"] = np.nan
    with pytest.warns(MissingGroupWarning, match="1 level\\(s\\) of grouping factor 'g' have no complete rows .* g007"):
        res = glmer("y ~ x + (1 | g)", df)
    assert "g007" not in res.ranef["g"].index
    assert res.n_dropped == 10


def test_quadrature_needs_a_single_intercept():
    df, _ = sim_logistic(20, 10)
    df["h"] = np.where(np.arange(len(df)) % 3 == 0, "a", "b")
    with pytest.raises(ValueError, match="glmer with n_agq > 1 needs exactly one random-intercept term"):
        glmer("y ~ x + (1 | g) + (1 | h)", df, n_agq=5)


def test_multi_factor_laplace_agrees_with_single_factor_engine():
    """The general PIRLS Laplace path and the one-factor quadrature path compute the same thing."""
    from upstream.models.design import fixed_matrix, model_frame, random_blocks
    from upstream.models.formula import parse_formula
    from upstream.models.glmm import binomial_response
    from upstream.models.pirls import fit_laplace_glmer
    df, _ = sim_logistic(25, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = glmer("y ~ x + (1 | g)", df)
        frame = model_frame(parse_formula("y ~ x + (1 | g)"), df)
        fixed = fixed_matrix(frame)
        k, m = binomial_response(frame)
        general = fit_laplace_glmer("y ~ x + (1 | g)", frame, fixed, random_blocks(frame), k, m)
    assert general.loglik == pytest.approx(fast.loglik, abs=1e-6)
    np.testing.assert_allclose(general.fixef, fast.fixef, rtol=1e-4)
    np.testing.assert_allclose(general.ranef["g"]["mode"], fast.ranef["g"]["mode"], atol=1e-4)


def test_glmer_does_not_stop_at_a_zero_sd_when_the_likelihood_rises_away_from_it():
    """SD = 0 is a stationary point of the (even) marginal likelihood in the SD; a line search that reaches
    the bound used to stop there (this data set, true SD 0.2, gave SD 0). The fit now probes positive SDs
    and restarts, and its log-likelihood beats the logistic regression without agent effects."""
    import statsmodels.api as sm

    from upstream.models.optimize import away_from_zero

    rng = np.random.default_rng(4)
    n, m = 10000, 50
    g, x1, x2 = rng.integers(0, m, n), rng.integers(0, 12, n), rng.integers(0, 6, n)
    y = (rng.random(n) < expit(-1.7 + 0.1 * x1 - 0.05 * x2 + rng.normal(0, 0.2, m)[g])).astype(int)
    d = pd.DataFrame({"y": y, "g": [f"a{i:03d}" for i in g], "x1": [f"p{i:02d}" for i in x1],
                      "x2": [f"q{i}" for i in x2]})
    fit = glmer("y ~ x1 + x2 + (1 | g)", d)
    X = pd.get_dummies(d[["x1", "x2"]], drop_first=True, dtype=float)
    plain = sm.Logit(d["y"], sm.add_constant(X)).fit(disp=0)
    assert 0.05 < fit.sd < 0.4 and fit.loglik > plain.llf + 1
    assert away_from_zero(lambda z: (z[-1] - 0.3) ** 2, np.array([1.0, 0.0]), 0.09)[-1] == 0.2
    assert away_from_zero(lambda z: z[-1] ** 2, np.array([1.0, 0.0]), 0.0) is None


@pytest.mark.parametrize("model", ["glmer", "clmm"])
def test_newton_from_a_subset_of_groups_finds_the_same_optimum(model, monkeypatch):
    """Above 3 × WARM_START_ROWS rows the optimum is reached by Newton steps from a subset's optimum: the same
    estimates, covariance and modes as L-BFGS-B from the start (fewer evaluations of the full likelihood with
    ~25 parameters, as on agent × mix cells: 42 against 78 for the clmm of the medium preset)."""
    from upstream.models import quadrature_fit

    df, _ = sim_logistic() if model == "glmer" else sim_ordinal()          # 8,000 and 6,000 rows

    def fit():
        if model == "glmer":
            return glmer("y ~ x + (1 | g)", df)
        return clmm("csat ~ x + (1 | agent)", df, levels=[1, 2, 3, 4, 5])

    direct = fit()
    monkeypatch.setattr(quadrature_fit, "WARM_START_ROWS", 1_000)
    chosen = []
    monkeypatch.setattr(quadrature_fit, "subset_groups",
                        lambda quad, pick=quadrature_fit.subset_groups: chosen.append(pick(quad)) or chosen[-1])
    stepped = fit()
    assert 0 < chosen[0].sum() < len(chosen[0]) // 3                  # the groups of about 1,000 rows
    assert stepped.converged and direct.converged
    np.testing.assert_allclose(stepped.params, direct.params, rtol=0, atol=1e-8)
    assert stepped.sd == pytest.approx(direct.sd, abs=1e-8)
    np.testing.assert_allclose(stepped.vcov_all, direct.vcov_all, rtol=1e-4, atol=1e-9)
    group = "g" if model == "glmer" else "agent"
    np.testing.assert_allclose(stepped.ranef[group]["mode"], direct.ranef[group]["mode"], rtol=0, atol=1e-8)
