"""One random intercept from per-group sums (models/grouped.py) against the blocked-Cholesky engine
(lmm.py), lme4/lmerTest, simulated truth and the row-by-row bootstrap."""
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conformance import REFERENCE, TOL, lmer_errors, load_case

from upstream import lmer
from upstream.data import load_dataset
from upstream.data.frames import responses
from upstream.models import GroupStats, NoRowsError, RankDeficiencyWarning, lmer_from_stats
from upstream.models.bootstrap import parametric_bootstrap
from upstream.models.design import model_frame, response_vector, term_matrix
from upstream.models.formula import parse_formula
from upstream.models.grouped import GroupedStructure
from upstream.models.lmm import LmmStructure, z_matrix
from upstream.models.numderiv import hessian, jacobian
from upstream.models.optimize import Optimum
from upstream.models.prediction_error import prediction_error_variances
from upstream.models.results import LmerResult

SAMPLE_FORMULA = "csat ~ policy + product + channel + issue_type + (1 | agent_id)"


def _case(name):
    if name == "sample":
        return responses(load_dataset(REFERENCE.parents[1] / "data" / "sample", validate=False), "csat"), \
            SAMPLE_FORMULA, None, True
    formula = {"sleepstudy": "Reaction ~ Days + (1|Subject)"}.get(name)
    fx, data = load_case({"sleepstudy": "sleepstudy_rankdef_reml"}.get(name, name))
    return data, formula or fx["formula"], fx.get("weights"), bool(fx["settings"]["REML"])


CASES = ["sleepstudy", "sleepstudy_weighted_reml", "dyestuff_reml", "dyestuff_ml", "dyestuff2_reml",
         "insteval_d_reml", "sample"]


@pytest.fixture(scope="module")
def fits():
    """Each case fitted by both engines (the blocked-Cholesky one is today's path for these models)."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in CASES:
            data, formula, weights, reml = _case(name)
            grouped = lmer(formula, data, reml=reml, weights=weights)
            general = lmer(formula, data, reml=reml, weights=weights, engine="general")
            out[name] = (grouped, general)
    return out


def _at(res, theta):
    """The fitted model's quantities at a given θ (same structure)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LmerResult(res.formula, res.frame, res.fixed, res.blocks, res.structure,
                          Optimum(np.asarray(theta, float), 0.0, 0, True), res.reml, res.ddf)


def _close(a, b, rtol):
    a, b = np.asarray(a, float), np.asarray(b, float)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.max(np.abs(b)))


# -- the same numbers as the current engine -----------------------------------------------------------

def test_lmer_picks_the_grouped_engine_for_one_random_intercept(fits):
    grouped, general = fits["sample"]
    assert isinstance(grouped.structure, GroupedStructure)
    assert isinstance(general.structure, LmmStructure)
    frame = grouped.frame.data
    assert grouped.ngroups == {"agent_id": frame["agent_id"].nunique()} and grouped.nobs == len(frame)
    assert grouped.structure.stats.n.sum() == len(frame) and grouped.structure.p == len(grouped.fixef) > 20


@pytest.mark.parametrize("name", CASES)
def test_same_numbers_as_the_current_engine_at_the_same_theta(fits, name):
    grouped, general = fits[name]
    a, b = _at(grouped, general.theta), _at(general, general.theta)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-12)
    if a.reml:
        assert a.reml_criterion == pytest.approx(b.reml_criterion, rel=1e-12)
    _close(a.fixef, b.fixef, 1e-9)
    assert a.sigma == pytest.approx(b.sigma, rel=1e-10)
    _close(a.vcov, b.vcov, 1e-9)
    group = list(a.ranef)[0]
    _close(a.ranef[group]["mode"], b.ranef[group]["mode"], 1e-9)
    _close(a.ranef[group]["cond_se"], b.ranef[group]["cond_se"], 1e-9)
    _close(a.reliability[group], b.reliability[group], 1e-9)
    _close(a.pev_reliability[group], b.pev_reliability[group], 1e-9)
    # grouped: exact derivatives; the current engine differentiates the deviance numerically
    # (Richardson), which is good to ~1e-8 relative (up to 1.4e-8 measured, dyestuff)
    _close(a.coef_table_for("satterthwaite")["df"], b.coef_table_for("satterthwaite")["df"], 5e-8)


@pytest.mark.parametrize("name", CASES)
def test_grouped_optimum_is_the_exact_optimum_of_the_current_engines_deviance(fits, name):
    grouped, general = fits[name]
    theta_g, theta_c = grouped.theta[0], general.theta[0]
    if theta_g == 0:                           # boundary fit (Dyestuff2): both engines report θ = 0
        assert theta_c == 0 and grouped.singular and general.singular
        return
    # Newton's step on the current engine's own deviance from the grouped θ̂: rounding level
    def dev(th):
        return general.structure.deviance(th, general.reml)

    slope = jacobian(dev, grouped.theta, d=1e-3)[0, 0]
    curvature = hessian(dev, grouped.theta)[0, 0]
    assert curvature > 0
    assert abs(slope / curvature) < 1e-8 * theta_g
    # the current engine's derivative-free optimiser stops within its tolerance of it
    assert abs(theta_c - theta_g) < 2e-6 * theta_g
    assert grouped.optimum.value <= general.optimum.value + 1e-12 * abs(general.optimum.value)


@pytest.mark.parametrize("case", ["sleepstudy_weighted_reml", "sleepstudy_rankdef_reml", "dyestuff_ml",
                                  "insteval_d_reml"])
def test_fit_from_statistics_alone_matches_lme4_and_lmertest(case):
    fx, data = load_case(case)
    frame = model_frame(parse_formula(fx["formula"]), data, fx.get("weights"))
    X, names, _ = term_matrix(frame.formula.fixed, frame)             # all columns, Days2 included
    group = fx["formula"].split("|")[1].strip(" )")
    stats = GroupStats.from_arrays(X, response_vector(frame), data[group].astype(str), weights=frame.weights,
                                   names=names, group=group)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = lmer_from_stats(stats, reml=bool(fx["settings"]["REML"]))
    assert res.fixed.dropped == fx["dropped_columns"]
    assert any(issubclass(w.category, RankDeficiencyWarning) for w in caught) == bool(fx["dropped_columns"])
    errors = lmer_errors(fx, res)
    assert not {k: v for k, v in errors.items() if v > TOL[k]}
    ref_df = [c["df_satterthwaite"] for c in fx["coef"]]
    np.testing.assert_allclose(res.coef_table["df"], ref_df, rtol=2e-6)
    assert res.nobs == fx["nobs"] and res.ngroups == {group: fx["ngrps"][group]}


# -- statistics ------------------------------------------------------------------------------------

def _sim(n_groups=300, seed=11, tau=0.5, sigma=1.0, weights=False):
    rng = np.random.default_rng(seed)
    sizes = rng.poisson(12, n_groups) + 1
    g = np.repeat(np.arange(n_groups), sizes)
    n = g.size
    x = rng.normal(size=n)
    f = rng.integers(0, 3, n)
    X = np.column_stack([np.ones(n), x, f == 1, f == 2]).astype(float)
    beta = np.array([3.0, 0.4, -0.3, 0.2])
    b = rng.normal(0, tau, n_groups)
    w = rng.uniform(0.5, 2.0, n) if weights else None
    e = rng.normal(0, sigma, n) / (np.sqrt(w) if weights else 1.0)
    y = X @ beta + b[g] + e
    labels = np.array([f"a{i:04d}" for i in range(n_groups)])[g]
    return X, y, labels, w, beta, b


NAMES = ["(Intercept)", "x", "f1", "f2"]


def _sql_group_by(X, y, labels, w):
    """What `SELECT g, count(*), sum(w*x_a), sum(w*x_a*x_b), ... GROUP BY g` returns."""
    w = np.ones(len(y)) if w is None else w
    p = X.shape[1]
    cols = {"n": np.ones(len(y)), "sw": w, "slw": np.log(w), "sy": w * y, "yy": w * y * y}
    cols.update({f"s{a}": w * X[:, a] for a in range(p)})
    cols.update({f"xy{a}": w * X[:, a] * y for a in range(p)})
    cols.update({f"xx{a}_{b}": w * X[:, a] * X[:, b] for a in range(p) for b in range(p)})
    agg = pd.DataFrame(cols).groupby(labels).sum()
    xtx = np.stack([[agg[f"xx{a}_{b}"] for b in range(p)] for a in range(p)], axis=-1).transpose(1, 0, 2)
    return agg.index, agg, xtx


@pytest.mark.parametrize("weighted", [False, True])
def test_aggregated_input_equals_the_arrays_constructor(weighted):
    X, y, labels, w, _, _ = _sim(weights=weighted)
    whole = GroupStats.from_arrays(X, y, labels, weights=w, names=NAMES, group="agent")
    levels, agg, xtx = _sql_group_by(X, y, labels, w)
    p = len(NAMES)
    sql = GroupStats.from_sums(levels, NAMES, agg["n"].astype(int), agg[[f"s{a}" for a in range(p)]], xtx,
                               agg[[f"xy{a}" for a in range(p)]], agg["sy"], agg["yy"],
                               sum_w=agg["sw"] if weighted else None, sum_log_w=agg["slw"] if weighted else None,
                               group="agent")
    assert list(sql.levels) == list(whole.levels)
    for field in ["n", "s", "xtx", "xty", "sy", "yty"] + (["sum_w", "sum_log_w"] if weighted else []):
        np.testing.assert_allclose(getattr(sql, field), getattr(whole, field), rtol=1e-12, atol=1e-9)
    a, b = lmer_from_stats(sql), lmer_from_stats(whole)
    assert a.reml_criterion == pytest.approx(b.reml_criterion, rel=1e-13)
    _close(a.fixef, b.fixef, 1e-10)
    # and the rows' own fit (lmer on a data frame) agrees
    df = pd.DataFrame({"y": y, "x": X[:, 1], "f": np.select([X[:, 2] == 1, X[:, 3] == 1], ["1", "2"], "0"),
                       "agent": labels, "w": w if weighted else 1.0})
    rows = lmer("y ~ x + f + (1 | agent)", df, weights="w" if weighted else None)
    assert rows.reml_criterion == pytest.approx(a.reml_criterion, rel=1e-12)
    _close(rows.ranef["agent"]["mode"], a.ranef["agent"]["mode"], 1e-9)


def test_merge_of_partial_aggregates_equals_the_whole():
    X, y, labels, w, _, _ = _sim(weights=True)
    whole = GroupStats.from_arrays(X, y, labels, weights=w, names=NAMES, group="agent")
    # two shards (e.g. two months): some agents only in the second, rows of the rest split
    first = (labels < "a0200") & (np.arange(len(y)) % 3 != 0)
    parts = [GroupStats.from_arrays(X[m], y[m], labels[m], weights=w[m], names=NAMES, group="agent")
             for m in (first, ~first)]
    assert parts[0].n_groups == 200 and parts[1].n_groups == 300
    merged = (parts[0] + parts[1]).reindex(whole.levels)
    for field in ["n", "s", "xtx", "xty", "sy", "yty", "sum_w", "sum_log_w"]:
        np.testing.assert_allclose(getattr(merged, field), getattr(whole, field), rtol=1e-12, atol=1e-9)
    assert lmer_from_stats(merged).reml_criterion == pytest.approx(lmer_from_stats(whole).reml_criterion, rel=1e-13)
    with pytest.raises(ValueError, match="different fixed-effect columns"):
        parts[0].merge(GroupStats.from_arrays(X[:, :3], y, labels, weights=w, group="agent"))
    with pytest.raises(ValueError, match="weighted with unweighted"):
        parts[0].merge(GroupStats.from_arrays(X, y, labels, names=NAMES, group="agent"))


def test_dependent_columns_are_dropped_from_statistics_as_lmer_drops_them(fits):
    res = fits["sample"][0]
    X = res.fixed.X
    dependent = np.column_stack([X[:, :5], X[:, 1] + X[:, 3], X[:, 5:]])    # column 5 = column 1 + column 3
    names = list(res.fixef.index[:5]) + ["dup"] + list(res.fixef.index[5:])
    stats = GroupStats.from_arrays(dependent, res.structure.y, res.blocks[0].codes, levels=res.blocks[0].levels,
                                   names=names, group="agent_id")
    with pytest.warns(RankDeficiencyWarning, match="dropping 1 column / coefficient: dup"):
        alone = lmer_from_stats(stats)
    assert alone.fixed.dropped == ["dup"]
    _close(alone.fixef, res.fixef, 1e-9)
    assert alone.reml_criterion == pytest.approx(res.reml_criterion, rel=1e-12)
    G = stats.n_groups
    with pytest.raises(ValueError, match=rf"group statistics: xty has shape \({G}, 26\), expected \({G}, 28\)"):
        GroupStats.from_sums(stats.levels, names, stats.n, stats.s, stats.xtx, stats.xty[:, :26], stats.sy,
                             stats.yty)


def test_truth_is_recovered_from_statistics():
    X, y, labels, _, beta, b = _sim(n_groups=600, seed=5, tau=0.5, sigma=1.0)
    res = lmer_from_stats(GroupStats.from_arrays(X, y, labels, names=NAMES, group="agent"))
    z = (res.fixef.to_numpy() - beta) / np.sqrt(np.diag(res.vcov.to_numpy()))
    assert np.all(np.abs(z) < 3.5)
    tau = float(res.varcorr.loc["agent", "sd"])
    assert abs(tau - 0.5) < 4 * 0.5 / np.sqrt(2 * 600)          # SE(τ̂) ≈ τ/√(2G) at this reliability
    assert abs(res.sigma - 1.0) < 4 / np.sqrt(2 * (len(y) - 600))
    modes = res.ranef["agent"]
    assert np.corrcoef(modes["mode"], b)[0, 1] > 0.85
    cover = np.abs(modes["mode"].to_numpy() - b) < 1.96 * modes["cond_se"].to_numpy()
    assert 0.92 < cover.mean() < 0.98


def test_row_level_results_need_rows():
    X, y, labels, _, _, _ = _sim(n_groups=40)
    res = lmer_from_stats(GroupStats.from_arrays(X, y, labels, names=NAMES, group="agent"))
    for what in ("fitted", "resid", "model_matrix", "rows"):
        with pytest.raises(NoRowsError, match="without the data rows: this model was fitted from group statistics"):
            getattr(res, what)
    with pytest.raises(NoRowsError, match="predictions cannot be computed without the data rows"):
        res.predict()
    with pytest.raises(ValueError, match=r"no formula terms or factor levels; test columns with fit.contrast\(L\)"):
        res.wald_test("x")
    assert res.wald_test(["x"]) < 1e-6 and res.health() == []
    assert res.theta_names == ["agent.(Intercept)"] and res.criterion_at(res.theta) == res.reml_criterion
    with pytest.raises(NoRowsError, match="Kenward-Roger degrees of freedom need the data rows"):
        res.coef_table_for("kenward-roger")
    text = res.summary()
    assert "Scaled residuals: not available" in text and "y ~ x + f1 + f2 + (1 | agent)" in text
    with pytest.raises(ValueError, match="method='grouped' draws residuals row by row"):
        res.bootstrap(10, method="grouped", progress=False)


# -- reliability ------------------------------------------------------------------------------------

def _dense_pev(res):
    """σ²Λ(C⁻¹)_uuΛ' diagonal blocks by brute force: C = [ZΛ X]'W[ZΛ X] + diag(I, 0)."""
    st = res.structure
    Z = np.hstack([z_matrix(b, st.sw).toarray() @ np.kron(np.eye(b.n_levels), T)
                   for b, T in zip(res.blocks, res.factor.T)])
    Xw = st.X if st.sw is None else st.X * st.sw[:, None]
    A = np.hstack([Z, Xw])
    q = Z.shape[1]
    C = A.T @ A + np.diag(np.r_[np.ones(q), np.zeros(Xw.shape[1])])
    Cinv = np.linalg.inv(C)[:q, :q]
    lam = np.zeros((q, q))
    start = 0
    for b, T in zip(res.blocks, res.factor.T):
        lam[start:start + b.q, start:start + b.q] = np.kron(np.eye(b.n_levels), T)
        start += b.q
    full = res.sigma ** 2 * lam @ Cinv @ lam.T
    out, start = [], 0
    for b in res.blocks:
        d = np.diag(full)[start:start + b.q].reshape(b.n_levels, b.k)
        out.append(d)
        start += b.q
    return out


@pytest.mark.parametrize("case, engine", [("sleepstudy_reml", "general"), ("penicillin_reml", "general"),
                                          ("dyestuff_reml", "grouped"), ("sleepstudy_weighted_reml", "grouped")])
def test_prediction_error_variances_are_hendersons(case, engine):
    fx, data = load_case(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lmer(fx["formula"], data, weights=fx.get("weights"), engine=engine)
    dense = _dense_pev(res)
    pev = [res.sigma ** 2 * v for v in prediction_error_variances(res.structure, res.factor)]
    for d, v in zip(dense, pev):
        np.testing.assert_allclose(np.diagonal(v, axis1=1, axis2=2), d, rtol=1e-9)
        cv = [res.sigma ** 2 * c for c in res.structure.conditional_variances(res.factor)]
    assert all(np.all(np.diagonal(v, axis1=1, axis2=2) > np.diagonal(c, axis1=1, axis2=2))
               for v, c in zip(pev, cv))


def test_reliability_is_the_closed_form_for_one_random_intercept(fits):
    res = fits["sample"][0]
    tau2, s2 = float(res.varcorr.loc["agent_id", "variance"]), res.sigma ** 2
    n_j = res.frame.data.groupby("agent_id", observed=True).size().reindex(res.ranef["agent_id"].index)
    np.testing.assert_allclose(res.reliability["agent_id"], tau2 / (tau2 + s2 / n_j.to_numpy()), rtol=1e-12)
    assert np.all(res.pev_reliability["agent_id"] < res.reliability["agent_id"])


# -- the bootstrap ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, n", [("sample", 12), ("sleepstudy_weighted_reml", 12)])
def test_fast_bootstrap_makes_the_same_draws_as_the_refit(fits, name, n):
    grouped, general = fits[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        naive = parametric_bootstrap(general, n, seed=42, progress=False)       # today's row-by-row refit
        fast = grouped.bootstrap(n, seed=42, progress=False)
    assert naive.n_failed == fast.n_failed == 0
    assert list(fast.samples.columns) == list(naive.samples.columns)
    # the same y*, so the same estimates up to the refit's optimiser tolerance (COBYQA stops ~1e-7
    # relative from the optimum in θ; the grouped refit is exact): within 1e-6 of the quantity's
    # scale (CSAT: absolute; sleepstudy reaction times in the hundreds: relative)
    a, b = fast.samples.to_numpy(), naive.samples.to_numpy()
    assert np.all(np.abs(a - b) < 1e-6 * np.maximum(1.0, np.abs(b)))
    group = list(fast.errors)[0]
    scale = max(1.0, float(np.abs(naive.modes[group]).max()))
    assert np.max(np.abs(fast.errors[group] - naive.errors[group])) < 1e-6 * scale
    pd.testing.assert_series_equal(fast.estimates, naive.estimates, rtol=2e-6)


def test_bootstrap_from_statistics_has_the_row_bootstraps_distribution():
    """"sums" draws the noise sums from their exact distribution (a different random stream). Over
    R replicates each, means and variances of σ*, τ* and a slope must agree within Monte Carlo
    error: |Δmean| < 4.5·√(v₁/R + v₂/R), |log(v₁/v₂)| < 4.5·√(4/(R−1)) (normal approximation)."""
    X, y, labels, w, _, _ = _sim(n_groups=60, seed=3, weights=True)
    df = pd.DataFrame({"y": y, "x": X[:, 1], "f": X[:, 2] + 2 * X[:, 3], "agent": labels, "w": w})
    df["f"] = df["f"].astype(int).astype(str)
    fit = lmer("y ~ x + f + (1 | agent)", df, weights="w")
    R = 800
    rows = fit.bootstrap(R, seed=1, progress=False)
    sums = fit.bootstrap(R, seed=2, progress=False, method="sums")
    for col in ["sigma", "sd_agent_(Intercept)", "x"]:
        a, b = rows.samples[col], sums.samples[col]
        assert abs(a.mean() - b.mean()) < 4.5 * np.sqrt((a.var() + b.var()) / R), col
        assert abs(np.log(a.var() / b.var())) < 4.5 * np.sqrt(4 / (R - 1)), col
    # a fit from the statistics alone bootstraps this way by default: the same M_j, the same draws
    stats = replace(fit.structure.stats, xtx=fit.structure.group_crossproducts(), xtx_sum=None)
    alone = lmer_from_stats(stats).bootstrap(50, seed=2, progress=False)
    np.testing.assert_allclose(alone.samples.to_numpy(), sums.samples.iloc[:50].to_numpy(), rtol=1e-7)


# -- choosing the engine -----------------------------------------------------------------------------

def test_engine_choice_and_messages():
    fx, data = load_case("sleepstudy_reml")
    with pytest.raises(ValueError, match=r"engine='grouped' fits one random intercept \(1 \| g\)"):
        lmer(fx["formula"], data, engine="grouped")
    with pytest.raises(ValueError, match="engine must be one of auto, grouped, general"):
        lmer(fx["formula"], data, engine="fast")
    w = np.ones(len(data))
    w[0] = 0.0
    assert isinstance(lmer("Reaction ~ Days + (1|Subject)", data, weights=w).structure, LmmStructure)
    with pytest.raises(ValueError, match="finite, positive weights"):
        GroupStats.from_arrays(np.ones((len(data), 1)), data["Reaction"], data["Subject"], weights=w)
